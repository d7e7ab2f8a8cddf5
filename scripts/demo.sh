#!/usr/bin/env bash
# The main job (`make demo`): the whole PostgreSQL stack on this machine. Three lab hosts, each
# in its own namespaces, run real Corosync + Pacemaker (the VIP held by vipctl's agent), a real
# Consul server, a real Patroni + PostgreSQL 15 member and a real HAProxy, all started from the
# bundle vipctl renders. A client commits a numbered row every 20 ms through VIP:port; the host
# holding both the VIP and the primary is powered off; the client's writes stop, resume on a new
# primary, and every acknowledged row is checked. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
vipctl=$PWD/bin/vipctl

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root: the lab creates network namespaces and runs the stack's daemons" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

tmp=$(mktemp -d)
"$vipctl" lab down # a lab left behind by an interrupted run
trap 'step "vipctl lab down"; "$vipctl" lab down; rm -rf "$tmp"' EXIT
go build -o "$tmp/writer" ./bench/stack/writer
go build -o "$tmp/stack" ./bench/stack

start=$SECONDS
step "vipctl lab up --stack   (3 hosts lab-1..lab-3: Corosync + Pacemaker, Consul, Patroni + PostgreSQL 15, HAProxy; VIP 192.0.2.100)"
"$vipctl" lab up --stack
echo "demo: the stack answered SQL through 192.0.2.100:5001 after $((SECONDS - start)) s"

step "vipctl status   (run on lab-1: Pacemaker, the VIP, Consul's view of the Patroni members, HAProxy)"
"$vipctl" lab exec lab-1 -- "$vipctl" status -f /run/vipctl-lab/vipctl.hcl || true

step "drill (a): a client commits a row every 20 ms through 192.0.2.100:5001; the host with the VIP and the primary is powered off"
"$tmp/stack" -existing -writer "$tmp/writer" -drills 1 -kinds a -progress

step "vipctl status   (run on a survivor: the powered-off host rejoined, a new primary leads)"
"$vipctl" lab exec lab-2 -- "$vipctl" status -f /run/vipctl-lab/vipctl.hcl || true
echo "demo: done in $((SECONDS - start)) s"
