#!/usr/bin/env bash
# Installs what metal-images and its tests need on a Debian 12 machine (run as root):
# the system packages (apt) and a Python virtual environment in .venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build: root trees from the Debian/Ubuntu archives, Dockerfile builds
  mmdebstrap arch-test uidmap buildah debian-archive-keyring
  # build: AlmaLinux/CentOS root trees with dnf --installroot; the tests build, sign
  # (rpmsign, in rpm) and index (createrepo_c) an RPM repository of their own
  dnf rpm createrepo-c
  # ...whose test image gets a shell (for rpm scriptlets and build steps) from busybox
  busybox-static
  # Ubuntu suites: mmdebstrap knows jammy from distro-info-data; gpg reads archive keys
  distro-info-data gnupg
  # export/check: the reference tools our output must satisfy
  lz4 tar coreutils
  # tests: unpack an image's initrd (Debian and Ubuntu compress it with zstd)
  zstd xz-utils
  # test: hammer emulation (disk, partitions, file systems), boot, switch
  qemu-system-x86 qemu-utils ovmf gdisk fdisk dosfstools mtools e2fsprogs mdadm kpartx
  frr dnsmasq-base iproute2 openssh-client
  # test: `nft --check` of the rendered firewall rules, rulesets loaded into test namespaces
  nftables
  # store/cache-sync benchmarks compare against these
  nginx-light curl
  # the store page's test renders it in a real (headless) browser
  chromium
  # python
  python3 python3-venv python3-dev gcc
  # installer tests run /install.sh (a zipapp) with the system python, as an image does
  python3-yaml
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# FRR runs only as the test switch, inside namespaces the tests create
if systemctl is-enabled frr >/dev/null 2>&1; then
  systemctl disable --now frr >/dev/null 2>&1 || true
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "bootstrap: ready (.venv/bin/metal-images)"
