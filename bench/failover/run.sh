#!/usr/bin/env bash
# Failover benchmark on a real lab (root): fails the VIP's holder again and again, with the
# vipctl agent and then with IPaddr2 (nic set), in one lab run, and prints every drill and
# the medians. A probe in the lab's client namespace connects to VIP:port every 20 ms.
#   bench/failover/run.sh [-drills N] [-mode link|power] [-keep]
# Needs no lab up (it builds its own and removes it afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
case " $* " in
*" -keep "*) echo "the lab stays up; its vipctl binary stays in $tmp" >&2 ;;
*) trap 'rm -rf "$tmp"' EXIT ;;
esac
CGO_ENABLED=0 go build -o "$tmp/vipctl" ./cmd/vipctl   # as `make build` does
go build -o "$tmp/failover" ./bench/failover
"$tmp/failover" -vipctl "$tmp/vipctl" "$@"
