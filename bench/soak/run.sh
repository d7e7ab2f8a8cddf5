#!/usr/bin/env bash
# Randomized soak on a real lab (root): N random faults (power-off, link cut, 2+1 partition, the
# VIP removed behind Pacemaker's back, pacemakerd or corosync killed, the holder's processes
# stopped for 1-4 s), each healed, while the lab's client samples the VIP every 50 ms (ARP and
# TCP to VIP:port). Every drill prints its seed: `-seed SEED -drills 1` replays it.
# The lab runs with fencing on (lab.FencedTopology: the lab's BMC powers a lost host off and on
# before the VIP moves); -fencing=false runs it without.
#   bench/soak/run.sh [-drills N] [-seed S] [-dir STATE_DIR] [-kinds k1,k2] [-slack D] [-fencing=false] [-log FILE]
# The last line is: soak: drills=N violations=V (exit 1 when V > 0).
# Needs no lab up: it brings its own up in -dir (default /run/vipctl-soak) and takes it down.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/vipctl" ./cmd/vipctl # as `make build` does
go build -o "$tmp/soak" ./bench/soak
"$tmp/soak" -vipctl "$tmp/vipctl" "$@"
