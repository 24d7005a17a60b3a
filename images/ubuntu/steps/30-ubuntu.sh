#!/bin/sh
# What only Ubuntu needs on top of the steps it shares with Debian 12.
set -eu
export DEBIAN_FRONTEND=noninteractive

# Ubuntu's locale-gen builds the locales it is given (Debian's reads /etc/locale.gen)
locale-gen "${LOCALE}" >/dev/null

# uid 1000 belongs to `metal` (created by the installer); some Ubuntu bases ship `ubuntu`
if getent passwd ubuntu >/dev/null; then
  userdel -f -r ubuntu 2>/dev/null || userdel -f ubuntu
fi
holder=$(getent passwd 1000 | cut -d: -f1 || true)
if [ -n "$holder" ]; then
  echo "uid 1000 is held by '$holder'; the installer needs it for metal" >&2
  exit 1
fi

# Networking is systemd-networkd, written by the installer: no netplan, no DHCP client.
# cloud-init depends on both (isc-dhcp-client up to 22.04, dhcpcd-base from 24.04 on), so
# a stand-in package takes their place in dpkg's books
# (apt stays consistent for images built on this one) and the real ones go.
standin=/tmp/metal-ubuntu-standin
mkdir -p "$standin/DEBIAN"
cat > "$standin/DEBIAN/control" <<CONTROL
Package: metal-network-standin
Version: 1.0
Architecture: all
Maintainer: metal-images <root@localhost>
Provides: netplan.io, isc-dhcp-client, dhcpcd-base
Conflicts: netplan.io, isc-dhcp-client, dhcpcd-base
Replaces: netplan.io, isc-dhcp-client, dhcpcd-base
Description: stand-in for netplan.io and the DHCP clients on metal-stack images
 metal-stack configures the network with systemd-networkd; this package satisfies
 the dependencies of cloud-init without installing netplan or a DHCP client.
CONTROL
dpkg-deb --build --root-owner-group "$standin" /tmp/metal-network-standin.deb >/dev/null
apt-get install -y -q --no-install-recommends /tmp/metal-network-standin.deb
apt-get autoremove -y -q --purge
dpkg --purge netplan.io isc-dhcp-client dhcpcd-base >/dev/null 2>&1 || true
rm -rf "$standin" /tmp/metal-network-standin.deb
rm -rf /etc/netplan
# networking.service (ifupdown) calls dhclient; it must find one that does nothing
ln -sf /bin/true /usr/sbin/dhclient

# systemd-resolved as upstream: static servers, no LLMNR (the installer writes resolv.conf)
mkdir -p /etc/systemd/resolved.conf.d
cat > /etc/systemd/resolved.conf.d/dns.conf <<RESOLVED
[Resolve]
DNS=8.8.8.8 8.8.4.4
LLMNR=no
RESOLVED

# exactly one kernel: the HWE kernel, no other linux-image left behind
kernels=$(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-[0-9]*' 2>/dev/null | grep -c 'install ok installed' || true)
if [ "$kernels" != 1 ]; then
  echo "expected exactly one kernel package, found $kernels" >&2
  dpkg-query -W 'linux-image-[0-9]*' >&2 || true
  exit 1
fi
