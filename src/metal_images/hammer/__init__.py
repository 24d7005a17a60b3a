"""metal-hammer emulation: disk -> pull -> burn -> install (chroot) -> fstab -> umount.

Each step mirrors what metal-hammer does on a real server (contract section 7.2), so an
image that installs here installs there.
"""
