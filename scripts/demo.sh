#!/usr/bin/env bash
# The main job (`make demo`): a real three-host Corosync + Pacemaker cluster on this machine,
# each host in its own namespaces, the VIP held by vipctl's agent; then the VIP holder is powered
# off and the VIP moves to a survivor while a client probes VIP:port every 20 ms. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
vipctl=bin/vipctl

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root: the lab creates network namespaces and runs Corosync and Pacemaker" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

"$vipctl" lab down # a lab left behind by an interrupted run
trap 'step "vipctl lab down"; "$vipctl" lab down' EXIT

step "vipctl lab up   (3 hosts lab-1..lab-3, VIP 192.0.2.100 held by ocf:vipctl:vip)"
"$vipctl" lab up
step "vipctl lab status"
"$vipctl" lab status
step "vipctl lab fail --holder lab   (power off whichever host holds the VIP; measure the outage)"
"$vipctl" lab fail --holder lab
step "vipctl lab status   (the VIP runs on a survivor; the failed host is offline)"
"$vipctl" lab status
