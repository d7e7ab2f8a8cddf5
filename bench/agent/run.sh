#!/usr/bin/env bash
# Benchmark: the vipctl OCF agent vs ocf:heartbeat:IPaddr2, same VIP and nic, in one throw-away
# network namespace (a veth pair whose peer sits in a second namespace). Needs root.
# Then the monitor of ocf:vipctl:health against a real HAProxy in the same namespace, with a
# shell agent doing the same checks as the reference (bench/agent/health-ref.sh).
# Usage: bench/agent/run.sh [iterations]   (default 200)
set -euo pipefail
n=${1:-200}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"
a=vipbench-a-$$ b=vipbench-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cd "$root"
CGO_ENABLED=0 go build -o "$work/vipctl" ./cmd/vipctl          # as `make build` does
CGO_ENABLED=1 go build -o "$work/cgo/vipctl" ./cmd/vipctl      # diagnostic: the same with cgo
CGO_ENABLED=0 go build -o "$work/agentonly" ./bench/agent/agentonly  # diagnostic: vip alone
go build -o "$work/agentbench" ./bench/agent
# Every agent runs from a copy, as `vipctl ocf install` makes it: a file written by the Go
# linker (through mmap) starts ~1.3 ms slower per run than a copy of it, here.
"$work/vipctl" ocf install --dest "$work/ocf/resource.d/vipctl/vip"
install -D -m 755 "$work/cgo/vipctl" "$work/cgo/ocf/vip"
install -D -m 755 "$work/agentonly" "$work/alone/vip"
# The same installed binary once more, dropped from the page cache: its first exec pages it in
# through page faults, as Pacemaker's first run does after a reboot.
install -D -m 755 "$work/ocf/resource.d/vipctl/vip" "$work/boot/vip"
sync "$work/boot/vip"
dd if="$work/boot/vip" iflag=nocache count=0 status=none

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add veth0 type veth peer name veth1 netns "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" addr add 10.98.0.1/24 dev veth0
ip -n "$b" addr add 10.98.0.2/24 dev veth1
ip -n "$a" link set veth0 up
ip -n "$b" link set veth1 up

echo "kernel $(uname -r), $(nproc) CPUs, $(go version | cut -d' ' -f3)"
ip netns exec "$a" "$work/agentbench" -n "$n" -ip 10.98.0.100 -cidr 24 -nic veth0 \
  -agent "vipctl=$work/ocf/resource.d/vipctl/vip" \
  -agent "vipctl, paged in by exec=$work/boot/vip" \
  -agent "diagnostic: vipctl built with cgo=$work/cgo/ocf/vip" \
  -agent "diagnostic: vip package alone=$work/alone/vip"

# The health agent's monitor: a real HAProxy on 127.0.0.1 in namespace a, whose one server
# (its own stats port) passes its check, so the backend is UP. Pacemaker's attribute manager
# does not run here: attrd_updater is a stub, called only by start and stop (a monitor whose
# value did not change forks nothing).
mkdir -p "$work/stub" "$work/hap"
printf '#!/bin/sh\nexit 0\n' >"$work/stub/attrd_updater"
chmod 755 "$work/stub/attrd_updater"
cat >"$work/hap/haproxy.cfg" <<'CFG'
global
    maxconn 100
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen demo
    bind 127.0.0.1:15001
    server pg1 127.0.0.1:16001 check inter 1s
listen demo-stats
    bind 127.0.0.1:16001
    mode http
    stats enable
    stats uri /
CFG
ip netns exec "$a" haproxy -D -p "$work/hap/pid" -f "$work/hap/haproxy.cfg"
trap 'kill "$(cat "$work/hap/pid")" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do
	ip netns exec "$a" curl -s "http://127.0.0.1:16001/;csv" | grep -q '^demo,BACKEND,.*,UP,' && break
	sleep 0.1
done
echo
PATH="$work/stub:$PATH" ip netns exec "$a" "$work/agentbench" -n "$n" -clusters demo:15001:16001 \
  -health "shell (curl, awk)=$root/bench/agent/health-ref.sh" \
  -health "vipctl health=$work/ocf/resource.d/vipctl/health"
