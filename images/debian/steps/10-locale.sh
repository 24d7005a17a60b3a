#!/bin/sh
# Generate the image's locale and set its time zone (LOCALE and TIMEZONE come from args).
set -eu
locale-gen
ln -sf "/usr/share/zoneinfo/${TIMEZONE}" /etc/localtime
echo "${TIMEZONE}" > /etc/timezone
update-ca-certificates --fresh >/dev/null
