#!/bin/sh
# Tighten permissions the overlay cannot express: secrets readable by root only,
# and sshd checked against the hardened config.
set -eu
chmod 600 /etc/ssh/sshd_config
chown root:root /etc/sudoers /etc/sudoers.d/*
chmod 440 /etc/sudoers /etc/sudoers.d/*
visudo -c >/dev/null
chmod 700 /etc/metal/networker
# sshd must accept the hardened config (host keys are created at first boot)
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/sshd -t
rmdir /run/sshd
# ...then dropped again: ssh-hostkeys.service creates per-machine keys at first boot
rm -f /etc/ssh/ssh_host_*
