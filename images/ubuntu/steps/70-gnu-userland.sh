#!/bin/sh
# Ubuntu 26.04 (resolute) bootstraps the Rust coreutils (coreutils-from-uutils) and prefers
# sudo-rs where it is installed; our images keep GNU coreutils and the original sudo, whose
# behaviour our steps, the installer and the sudoers Defaults were written and tested
# against (docs/build.md, "Releases of a family").
set -eu
export DEBIAN_FRONTEND=noninteractive
installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'
}
if installed coreutils-from-uutils; then
  # coreutils-from-uutils is protected: the swap names its removal and says it means it
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends --allow-remove-essential coreutils-from-gnu coreutils-from-uutils-
  apt-get autoremove -y -q --purge
fi
if installed sudo-rs; then
  apt-get purge -y -q sudo-rs
fi
if update-alternatives --query sudo >/dev/null 2>&1; then
  update-alternatives --set sudo /usr/bin/sudo.ws
fi
ls --version | head -n 1 | grep -q 'GNU coreutils' || { echo "ls is not GNU coreutils" >&2; exit 1; }
sudo -V | head -n 1 | grep -q '^Sudo version' || { echo "sudo is not the original sudo" >&2; exit 1; }
