#!/bin/sh
# Locale, time zone and the CA store, the RHEL way (LOCALE and TIMEZONE come from args);
# the directory metal-networker keeps its temporary files in.
set -eu
echo "LANG=${LOCALE}" > /etc/locale.conf
ln -sf "../usr/share/zoneinfo/${TIMEZONE}" /etc/localtime
update-ca-trust
mkdir -p /etc/metal/networker
