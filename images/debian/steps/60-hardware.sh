#!/bin/sh
# Hardware and operations as upstream: iptables-legacy on machines, no baked NVMe host
# identity, the Intel E810 DDP package for `ice`.
set -eu

# kube-proxy and CNI plugins on the workers expect the legacy backend (upstream's choice)
if [ "${METAL_IMAGE_ROLE}" = machine ]; then
  update-alternatives --set iptables /usr/sbin/iptables-legacy
  update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy
fi

# nvme-cli's postinst wrote one identity for every machine built from this tree;
# nvme-host-identity.service generates a machine's own at its first boot
rm -f /etc/nvme/hostnqn /etc/nvme/hostid

# the E810 (`ice`) falls back to safe mode without its DDP package: keep only that from
# the firmware package that carries it (Debian: firmware-misc-nonfree), drop the rest
if [ -n "${ICE_FIRMWARE_PACKAGE:-}" ]; then
  dpkg-query -L "$ICE_FIRMWARE_PACKAGE" | while read -r path; do
    case "$path" in
      */firmware/intel/ice/*) ;;
      # only the package's firmware files and links (its directories are shared, and
      # /lib itself is a link on merged /usr)
      /lib/firmware/?*|/usr/lib/firmware/?*)
        if [ ! -d "$path" ] && { [ -f "$path" ] || [ -L "$path" ]; }; then rm -f "$path"; fi ;;
    esac
  done
  find /lib/firmware/ -depth -type d -empty -delete
fi
if ! ls /lib/firmware/intel/ice/ddp/ice*.pkg* >/dev/null 2>&1; then
  echo "no E810 DDP package in /lib/firmware/intel/ice/ddp (the ice driver would run in safe mode)" >&2
  exit 1
fi
