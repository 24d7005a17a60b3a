#!/bin/sh
# A node Kubernetes can use: containerd's complete default configuration for the packaged
# version (Debian's own config.toml is a fragment with CNI in /usr/lib/cni and runc without
# systemd cgroups; Ubuntu's package ships none), with what a kubelet on cgroup v2 needs:
# runc in systemd cgroups, CNI plugins from /opt/cni/bin.
set -eu
config=/etc/containerd/config.toml
mkdir -p /etc/containerd /opt/cni/bin
containerd config default > "$config.new"
sed -i -e 's/^\([[:space:]]*\)SystemdCgroup = false$/\1SystemdCgroup = true/' "$config.new"
if grep -q "^[[:space:]]*bin_dirs = " "$config.new"; then
  # containerd 2 (config version 3): a list, and /opt/cni/bin is its default
  grep -q "^[[:space:]]*bin_dirs = \[.*['\"]/opt/cni/bin['\"]" "$config.new" || {
    echo "$config: CNI bin_dirs does not list /opt/cni/bin" >&2; exit 1; }
else
  # containerd 1.x: the CRI plugin's one CNI bin_dir
  sed -i -e 's|^\([[:space:]]*\)bin_dir = ".*"$|\1bin_dir = "/opt/cni/bin"|' "$config.new"
  grep -q '^[[:space:]]*bin_dir = "/opt/cni/bin"$' "$config.new"
fi
grep -q '^[[:space:]]*SystemdCgroup = true$' "$config.new"
if grep -q '^[[:space:]]*SystemdCgroup = false$' "$config.new"; then
  echo "$config: a runtime still runs without systemd cgroups" >&2
  exit 1
fi
chmod 644 "$config.new"
mv "$config.new" "$config"
