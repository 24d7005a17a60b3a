"""The installer that runs inside an image, in metal-hammer's chroot.

metal-hammer extracts the image, writes /etc/metal/install.yaml (and userdata), and runs
/install.sh in a chroot. This package is that program: it configures the user, the
network (what metal-networker renders upstream), userdata, GRUB and writes
/etc/metal/boot-info.yaml, which the hammer reads to kexec into the image's kernel.

It runs with the image's Python (3.9 or newer) and PyYAML only, so it never imports the
rest of metal_images and only uses relative imports; the build ships it as a zipapp.
"""
