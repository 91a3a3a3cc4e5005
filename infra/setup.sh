#!/usr/bin/env bash
# Sets up a fresh Debian machine for vipflow: the Debian packages that the
# daemon, the demo lab and the tests use, then the npm dependencies and the
# build. Idempotent; run as root (the lab needs network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "infra/setup.sh: run as root (apt-get and network namespaces need it)" >&2
  exit 1
fi

# Real peers and tools, from Debian:
#   iproute2, nftables  network namespaces, veth, bridges, packet-drop rules for the lab
#   keepalived          the reference VRRP implementation we interoperate with and benchmark against
#   nats-server         JetStream for the event stream
#   nginx-light         the service the demo keeps highly available
#   tcpdump, tshark     packet captures for fixtures, tests and failover benchmarks
#   iputils-arping      checks of gratuitous ARP in the lab
#   curl                the demo's first request to the VIP
#   bind9, bind9-dnsutils  an authoritative DNS server with a TSIG key for the DNS notifier's
#                       tests; nsupdate (RFC 2136 updates) and dig come with bind9-dnsutils
#   prometheus-alertmanager  the paging notifier's tests post alerts to a real one
#   socat, opensmtpd    real peers for the checkers' tests: UDP_CHECK (socat) and SMTP_CHECK (OpenSMTPD);
#                       openssl makes the SSL_GET tests' certificates
#   ipvsadm             the IPVS load-balancer backend (infra/lb/ipvs-backend.ts) programs the kernel with it
#                       where IPVS exists; its tests run the binary here even without IPVS in the kernel
#   conntrackd, conntrack  connection-state sync between LVS-NAT load balancers (notifiers/conntrackd,
#                       keepalived's primary-backup.sh as a step); conntrack lists the kernel table in its lab test
#   chromium            the live status page's test drives it headless (puppeteer-core, no browser download)
#   g++, make, python3  node-gyp builds the raw-socket addon under wire/native (the developer's
#                       set-up only: the npm and Debian packages carry it prebuilt)
packages=(iproute2 nftables keepalived nats-server nginx-light tcpdump tshark iputils-arping curl bind9 bind9-dnsutils prometheus-alertmanager socat opensmtpd openssl ipvsadm conntrackd conntrack chromium procps zsh g++ make python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's keepalived, nginx, bind9, alertmanager, opensmtpd and conntrackd packages start system services
# on install; vipflow's tests run their own instances, so stop those.
for svc in keepalived nginx named prometheus-alertmanager opensmtpd conntrackd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# npm ci runs the package's install script (node-gyp-build in wire/native), which
# compiles the addon when no build or prebuild is there yet, as in a fresh clone:
# against Debian's Node headers, so nothing is downloaded.
export npm_config_nodedir=/usr
npm ci --no-audit --no-fund
# `npm run build` starts with `npm run build:native`: prebuildify runs node-gyp (npm's
# bundled copy) on the raw-socket addon in wire/native against Debian's Node headers
# and leaves the Node-API prebuild in wire/native/prebuilds/linux-x64/ (what `npm pack`
# ships), then tsc compiles to dist/.
npm run build
