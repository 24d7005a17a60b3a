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
status=$(dkms status -k "$release" 2>&1 || true)
printf '%s\n' "$status"
if ! printf '%s\n' "$status" | grep -q ': installed$'; then
  echo "DKMS has no module installed for $release: the driver would not load" >&2
  exit 1
fi
