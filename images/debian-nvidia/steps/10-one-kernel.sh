#!/bin/sh
# Exactly one kernel: the parent's is purged now that $METAL_IMAGE_KERNEL (with its headers
# and the DKMS-built nvidia module) is in place. The module must exist for that kernel,
# or the image is useless on a GPU machine: fail the build here rather than at boot.
set -eu
export DEBIAN_FRONTEND=noninteractive
: "${METAL_IMAGE_KERNEL:?the image must name its kernel}"
old=$(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-*' 2>/dev/null \
  | awk -v keep="$METAL_IMAGE_KERNEL" '$NF == "installed" && $1 != keep { print $1 }')
if [ -n "$old" ]; then
  # shellcheck disable=SC2086 # one package name per word
  apt-get purge -y -q $old
fi
release=${METAL_IMAGE_KERNEL#linux-image-}
for module in nvidia nvidia-modeset nvidia-uvm; do
  found=$(find "/lib/modules/$release" -name "$module.ko*" | head -n 1)
  if [ -z "$found" ]; then
    echo "no $module module for $release: DKMS did not build it" >&2
    exit 1
  fi
done
