#!/bin/sh
# Apply the cloud-config parts metal-stack supports (write_files and runcmd) from the
# machine's userdata. The userdata is cloud-config when line 1 or 2 is "#cloud-config".
set -eu
USERDATA=/etc/metal/userdata
[ -f "$USERDATA" ] || exit 0
if ! head -n 2 "$USERDATA" | grep -qx '#cloud-config'; then
  exit 0
fi
cloud-init --file "$USERDATA" single --name write_files --frequency always
cloud-init --file "$USERDATA" single --name runcmd --frequency always
RUNCMD=/var/lib/cloud/instances/iid-datasource-none/scripts/runcmd
if [ -x "$RUNCMD" ]; then
  "$RUNCMD"
fi
