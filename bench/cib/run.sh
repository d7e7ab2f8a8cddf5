#!/usr/bin/env bash
# Benchmark: building the example topology's CIB with vipctl vs with pcs, the tool people use
# today. Both build the same configuration into a file (no cluster is touched):
#   vipctl: `vipctl cib render -f examples/vipctl.hcl > cib.xml`, and render + crm_verify;
#   pcs:    `cibadmin --empty > cib.xml`, then one `pcs -f cib.xml …` command per property set,
#           rsc_defaults, fence device, fence location, VIP and VIP location rule, then crm_verify.
# Prints each side's median wall time and the ratio. Installs the Debian package pcs when missing
# (as root; pcsd is kept from starting). Usage: bench/cib/run.sh [pcs-runs] [vipctl-runs]
# (default 5 and 50).
set -euo pipefail
pcs_runs=${1:-5}
vipctl_runs=${2:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
topo=$root/examples/vipctl.hcl
work=$(mktemp -d)
policy=/usr/sbin/policy-rc.d
made_policy=
cleanup() {
  rm -rf "$work"
  if [[ -n $made_policy ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT

if ! command -v pcs >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench/cib: pcs is not installed; run as root to install it (apt-get install pcs)" >&2
    exit 1
  fi
  echo "bench/cib: installing pcs (Debian package; only for this benchmark)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [[ ! -e $policy ]]; then # keep pcsd from starting; leave someone else's policy alone
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  apt-get install -y -qq pcs >/dev/null || { apt-get update -qq && apt-get install -y -qq pcs >/dev/null; }
fi

cd "$root"
go build -o "$work/vipctl" ./cmd/vipctl

now() { date +%s%N; }
# median of the numbers (nanoseconds) on stdin, in milliseconds with one decimal
median_ms() { sort -n | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.1f", m/1e6}'; }

# The pcs commands that build what `vipctl cib render` builds for examples/vipctl.hcl: the same
# properties, defaults, three fence_ipmilan devices (pcmk_host_list, a 60 s monitor, each kept
# off its own host) and the VIP of group db-a (same instance and meta attributes and operations,
# a -INFINITY rule keeping it on pg-01..pg-03). The one difference is the agent: IPaddr2 instead
# of ocf:vipctl:vip, which pcs would only accept with --force. fence_ipmilan is not installed
# here, so the stonith commands need --force (pcs then skips reading the agent's metadata).
pcs_build() {
  local f=$1
  cibadmin --empty >"$f"
  pcs -f "$f" property set stonith-enabled=true no-quorum-policy=stop
  pcs -f "$f" resource defaults update resource-stickiness=100
  local h ip
  for h in 1 2 3; do
    ip=10.20.1.1$h
    pcs -f "$f" stonith create "ipmi-pg-0$h" fence_ipmilan ip="$ip" username=admin \
      password_script=/etc/vipctl/ipmi-pass pcmk_host_list="pg-0$h" \
      op monitor interval=60s meta vipctl-managed=true --force
    pcs -f "$f" constraint location "ipmi-pg-0$h" avoids "pg-0$h"
  done
  pcs -f "$f" resource create vip-db-a ocf:heartbeat:IPaddr2 ip=10.20.0.100 cidr_netmask=24 nic=eth0 \
    op monitor interval=10s timeout=20s op start interval=0s timeout=20s op stop interval=0s timeout=20s \
    meta migration-threshold=3 failure-timeout=60s \
    vipctl-cluster-msrvc01=port=5001,patroni=8008,stats=6001 \
    vipctl-cluster-msrvc02=port=5002,patroni=8009,stats=7002 vipctl-managed=true
  pcs -f "$f" constraint location vip-db-a rule score=-INFINITY \
    '#uname' ne pg-01 and '#uname' ne pg-02 and '#uname' ne pg-03
}
pcs_commands=10 # in pcs_build

echo "$(nproc) CPUs, $(go version | cut -d' ' -f3), pcs $(pcs --version), $(crm_verify --version | head -1)"

# Each side once, checked: crm_verify must accept both documents without a word.
"$work/vipctl" cib render -f "$topo" >"$work/vipctl.xml"
pcs_build "$work/pcs.xml" >"$work/pcs.out" 2>&1 || { cat "$work/pcs.out" >&2; exit 1; }
for side in vipctl pcs; do
  if ! out=$(crm_verify --xml-file "$work/$side.xml" 2>&1) || [[ -n $out ]]; then
    echo "bench/cib: crm_verify does not accept the $side CIB: $out" >&2
    exit 1
  fi
done
echo "both documents pass crm_verify --xml-file with exit 0 and no output"
echo "pcs document: $(grep -c '<primitive' "$work/pcs.xml") primitives, $(grep -c '<rsc_location' "$work/pcs.xml") locations, $(grep -c '<nvpair' "$work/pcs.xml") nvpairs;" \
  "vipctl document: $(grep -c '<primitive' "$work/vipctl.xml") primitives, $(grep -c '<rsc_location' "$work/vipctl.xml") locations, $(grep -c '<nvpair' "$work/vipctl.xml") nvpairs"

: >"$work/t.render"
: >"$work/t.verify"
for ((i = 0; i < vipctl_runs; i++)); do
  t0=$(now)
  "$work/vipctl" cib render -f "$topo" >"$work/v.xml"
  t1=$(now)
  crm_verify --xml-file "$work/v.xml"
  t2=$(now)
  echo $((t1 - t0)) >>"$work/t.render"
  echo $((t2 - t0)) >>"$work/t.verify"
done
: >"$work/t.pcs"
: >"$work/t.pcsverify"
for ((i = 0; i < pcs_runs; i++)); do
  rm -f "$work/p.xml"
  t0=$(now)
  pcs_build "$work/p.xml" >/dev/null 2>&1
  t1=$(now)
  crm_verify --xml-file "$work/p.xml"
  t2=$(now)
  echo $((t1 - t0)) >>"$work/t.pcs"
  echo $((t2 - t0)) >>"$work/t.pcsverify"
done

render=$(median_ms <"$work/t.render")
verify=$(median_ms <"$work/t.verify")
pcs=$(median_ms <"$work/t.pcs")
pcsverify=$(median_ms <"$work/t.pcsverify")
printf '%-44s %10s\n' "median wall time" "ms"
printf '%-44s %10s\n' "vipctl cib render ($vipctl_runs runs)" "$render"
printf '%-44s %10s\n' "vipctl cib render + crm_verify" "$verify"
printf '%-44s %10s\n' "pcs -f: $pcs_commands commands ($pcs_runs runs)" "$pcs"
printf '%-44s %10s\n' "pcs -f: $pcs_commands commands + crm_verify" "$pcsverify"
awk -v p="$pcs" -v r="$render" -v pv="$pcsverify" -v v="$verify" -v n="$pcs_commands" 'BEGIN {
  printf "pcs per command: %.0f ms\n", p / n
  printf "ratio pcs / vipctl: build %.0fx, build + crm_verify %.0fx\n", p / r, pv / v
}'
