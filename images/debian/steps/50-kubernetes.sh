#!/bin/sh
# A node Kubernetes can use: containerd's complete default configuration for the packaged
# version (the package's own config.toml is a fragment: CNI in /usr/lib/cni, runc without
# systemd cgroups), with the two settings a kubelet on cgroup v2 needs.
set -eu
config=/etc/containerd/config.toml
# (Ubuntu's containerd package ships no /etc/containerd; Debian's does)
mkdir -p "${config%/*}"
containerd config default > "$config.new"
sed -i -e 's/^\([[:space:]]*\)SystemdCgroup = false$/\1SystemdCgroup = true/' \
       -e 's|^\([[:space:]]*\)bin_dir = ".*"$|\1bin_dir = "/opt/cni/bin"|' "$config.new"
grep -q '^[[:space:]]*SystemdCgroup = true$' "$config.new"
# containerd 1.x: bin_dir = "..." (set above); 2.x (TOML v3): bin_dirs, /opt/cni/bin by default
grep -Eq "^[[:space:]]*(bin_dir = \"/opt/cni/bin\"|bin_dirs = \['/opt/cni/bin'\])$" "$config.new"
if grep -q '^[[:space:]]*SystemdCgroup = false$' "$config.new"; then
  echo "$config: a runtime still runs without systemd cgroups" >&2
  exit 1
fi
chmod 644 "$config.new"
mv "$config.new" "$config"
mkdir -p /opt/cni/bin
