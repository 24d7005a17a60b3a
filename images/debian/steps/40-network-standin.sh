#!/bin/sh
# Networking is systemd-networkd, written by the installer: no DHCP client (a lease on a
# BGP uplink is what upstream removes it for; isc-dhcp-client up to 22.04, dhcpcd-base from
# 24.04 on) and, on Ubuntu, no netplan. cloud-init
# depends on them, so a stand-in package takes their place in dpkg's books (apt stays
# consistent for images built on this one) and the real ones go.
set -eu
export DEBIAN_FRONTEND=noninteractive
replaced=""
for package in isc-dhcp-client dhcpcd-base netplan.io; do
  if dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    replaced="${replaced:+$replaced, }$package"
  fi
done
if [ -n "$replaced" ]; then
  standin=/tmp/metal-network-standin
  mkdir -p "$standin/DEBIAN"
  cat > "$standin/DEBIAN/control" <<CONTROL
Package: metal-network-standin
Version: 1.0
Architecture: all
Maintainer: metal-images <root@localhost>
Provides: $replaced
Conflicts: $replaced
Replaces: $replaced
Description: stand-in for $replaced on metal-stack images
 metal-stack configures the network with systemd-networkd; this package satisfies
 the dependencies of cloud-init without a DHCP client or netplan.
CONTROL
  dpkg-deb --build --root-owner-group "$standin" /tmp/metal-network-standin.deb >/dev/null
  apt-get install -y -q --no-install-recommends /tmp/metal-network-standin.deb
  apt-get autoremove -y -q --purge
  for package in isc-dhcp-client dhcpcd-base netplan.io; do
    dpkg --purge "$package" >/dev/null 2>&1 || true
  done
  rm -rf "$standin" /tmp/metal-network-standin.deb
fi
rm -rf /etc/netplan
# networking.service (ifupdown) calls dhclient; it must find one that does nothing
ln -sf /bin/true /usr/sbin/dhclient
if dpkg-query -W -f='${Status}\n' isc-dhcp-client 2>/dev/null | grep -q 'install ok installed'; then
  echo "isc-dhcp-client is still installed" >&2
  exit 1
fi
