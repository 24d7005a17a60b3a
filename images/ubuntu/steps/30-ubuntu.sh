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

# (no netplan and no DHCP client: the shared step 40-network-standin.sh)

# Ubuntu 26.04 moved its console log level to /usr/lib/sysctl.d/55-console-messages.conf,
# which sorts after our 11-console-logging.conf: an empty /etc file of that name hides it
if [ -e /usr/lib/sysctl.d/55-console-messages.conf ]; then
  ln -sf /dev/null /etc/sysctl.d/55-console-messages.conf
fi

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
