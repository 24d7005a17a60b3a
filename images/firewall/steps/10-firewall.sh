#!/bin/sh
# Firewall setup that needs the packages in place (files they own are replaced here,
# not by the context overlay, which runs before they are installed).
set -eu

# -- suricata: logs moved to /var/lib/suricata/log (tmpfiles.d keeps the link), rotated hourly
mkdir -p /var/lib/suricata/log
if [ -d /var/log/suricata ] && [ ! -L /var/log/suricata ]; then
  cp -a /var/log/suricata/. /var/lib/suricata/log/
  rm -rf /var/log/suricata
fi
ln -sfn /var/lib/suricata/log /var/log/suricata
cat > /etc/logrotate.d/suricata <<'LOGROTATE'
# suricata writes fast on a firewall: logrotate.timer runs hourly, keep nothing old
/var/log/suricata/*.log /var/log/suricata/*.json {
    hourly
    rotate 0
    minsize 500k
    missingok
    notifempty
    sharedscripts
    postrotate
        /bin/kill -HUP "$(cat /run/suricata.pid 2>/dev/null)" 2>/dev/null || true
    endscript
}
LOGROTATE

# suricata.service reads these; lan0 (an uplink, present on every metal firewall) until
# the installer names the internet VRF's interface
cat > /etc/default/suricata <<'DEFAULTS'
SURCONF=/etc/suricata/suricata.yaml
IFACE=lan0
PIDFILE=/run/suricata.pid
DEFAULTS

# -- chrony: a template unit per VRF (the generator), configured for the internet
# chrony conflicts with systemd-timesyncd, so apt removed that; purge its enablement links too
if dpkg-query -W -f='${db:Status-Status}' systemd-timesyncd 2>/dev/null | grep -q config-files; then
  dpkg --purge systemd-timesyncd >/dev/null
fi
cat > /etc/chrony/chrony.conf <<'CHRONY'
# chrony on a metal-stack firewall: runs as chrony@<internet vrf>.service
pool time.cloudflare.com iburst
keyfile /etc/chrony/chrony.keys
driftfile /var/lib/chrony/chrony.drift
ntsdumpdir /var/lib/chrony
logdir /var/log/chrony
maxupdateskew 100.0
# step the clock during the first three updates if it is off by more than a second
makestep 1 3
rtcsync
leapsectz right/UTC
CHRONY
# The generator writes chrony@.service at every boot (into /run/systemd/generator, which
# wins over /usr/lib); a copy made now, where the installer looks for it, lets it enable
# chrony@vrf<id> in the chroot before the machine ever booted (as upstream's renamed unit).
/etc/systemd/system-generators/systemd-vrf-generator /usr/lib/systemd/system
for service in $(sed -e 's/#.*//' /etc/vrf/systemd.conf); do
  unit="/usr/lib/systemd/system/${service%.service}@.service"
  grep -q '^ExecStart=.*/bin/ip vrf exec %i ' "$unit" || { echo "no VRF template made for $service" >&2; exit 1; }
done
ip vrf help 2>&1 | grep -q "ip vrf exec" || { echo "this iproute2 has no VRF support" >&2; exit 1; }

# -- Prometheus node exporter: Ubuntu's binary where the installer's unit expects it
ln -sfn /usr/bin/prometheus-node-exporter /usr/local/bin/node_exporter

# -- downloads (artifacts); a build allowed to miss them goes on without
if [ -x /usr/local/lib/tailscale/tailscaled ]; then
  ln -sfn ../lib/tailscale/tailscaled /usr/local/bin/tailscaled
  ln -sfn ../lib/tailscale/tailscale /usr/local/bin/tailscale
fi
if [ -f /etc/systemd/system/nftables-exporter.service ]; then
  systemctl enable nftables-exporter.service
fi
mkdir -p /etc/firewall-controller /etc/droptailer-client

# the ubuntu image switches iptables to the legacy backend for Kubernetes workers; the
# firewall filters with nftables, so anything calling iptables here uses nft as well
update-alternatives --set iptables /usr/sbin/iptables-nft
update-alternatives --set ip6tables /usr/sbin/ip6tables-nft
