#!/usr/bin/env bash
# Stack benchmark on a real lab (root): a client in the lab's client namespace commits one
# numbered row every 20 ms through VIP:port while drills a..e fail parts of the stack, first
# with Patroni's stock timings, then with vipctl's defaults, each in a lab of its own; every
# acknowledged row is checked afterwards.
#   bench/stack/run.sh [-drills N] [-kinds abcde] [-profiles stock,vipctl[,sync]] [-steady 10m]
# The last line is: stack: drills=N lost=L median_outage_ms=M stock_median_outage_ms=S
# Needs no lab up (it builds its own and removes it afterwards); Consul as for `vipctl lab up --stack`.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/vipctl" ./cmd/vipctl # as `make build` does
go build -o "$tmp/writer" ./bench/stack/writer
go build -o "$tmp/stack" ./bench/stack
"$tmp/stack" -vipctl "$tmp/vipctl" -writer "$tmp/writer" "$@"
