#!/bin/sh
# Debian ships the ignition binary inside its dracut module only; the installer calls
# `ignition` from PATH, so link it into /usr/local/bin.
set -eu
binary=$(dpkg-query -L ignition | grep '/ignition$' | head -n 1)
test -x "$binary"
ln -sf "$binary" /usr/local/bin/ignition
/usr/local/bin/ignition -version
