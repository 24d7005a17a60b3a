#!/bin/sh
# containerd uses NVIDIA's runtime only where the container toolkit is in the image (the
# download, see image.yaml); without it containerd stays on runc and a cluster brings the
# toolkit with NVIDIA's GPU operator (docs/nvidia.md).
set -eu
# NVIDIA's release tarball holds the toolkit's .deb packages (unpacked here by the artifact)
toolkit=/usr/local/lib/nvidia-container-toolkit
debs=$(find "$toolkit" -name '*.deb' 2>/dev/null | sort)
if [ -n "$debs" ]; then
  # shellcheck disable=SC2086 # one path per word, no spaces in NVIDIA's file names
  dpkg -i $debs
fi
rm -rf "$toolkit"
runtime=/usr/bin/nvidia-container-runtime
dropin=/etc/containerd/conf.d/nvidia.toml
if [ ! -x "$runtime" ]; then
  rm -f "$dropin"
  echo "nvidia-container-toolkit not in the image: containerd keeps runc"
  exit 0
fi
mkdir -p /etc/containerd/conf.d
cat > "$dropin" <<TOML
# written by the debian-nvidia build: the toolkit is present
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "nvidia"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
  BinaryName = "$runtime"
  SystemdCgroup = true
TOML
config=/etc/containerd/config.toml
# `containerd config default` writes `imports = []`: point it at the drop-ins
if grep -q '^imports = \[\]$' "$config"; then
  sed -i 's|^imports = \[\]$|imports = ["/etc/containerd/conf.d/*.toml"]|' "$config"
elif ! grep -q '^imports = .*/etc/containerd/conf.d/' "$config"; then
  sed -i '1i imports = ["/etc/containerd/conf.d/*.toml"]' "$config"
fi
