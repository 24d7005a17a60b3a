#!/bin/sh
# The kernel metal-hammer kexecs into needs an initramfs with every driver: the build
# host's hardware says nothing about the server's. So dracut runs without host-only and
# takes all of /lib/modules/<version> (as upstream's Dockerfile does).
set -eu
set -- /lib/modules/*
if [ "$#" -ne 1 ] || [ ! -d "$1" ]; then
  echo "expected exactly one kernel in /lib/modules, found: $*" >&2
  exit 1
fi
version=${1##*/}
dracut --force --no-hostonly \
  --fscks "umount mount /sbin/fsck* e2fsck" \
  --include "/lib/modules/${version}" "/lib/modules/${version}" \
  "/boot/initramfs-${version}.img" "${version}"
