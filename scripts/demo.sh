#!/usr/bin/env bash
# The main job: render, verify and simulate the example topology.
set -euo pipefail
cd "$(dirname "$0")/.."
vipctl=bin/vipctl
topo=examples/vipctl.hcl

echo "== vipctl cib verify -f $topo"
"$vipctl" cib verify -f "$topo"
echo "== vipctl cib simulate -f $topo --fail pg-01"
"$vipctl" cib simulate -f "$topo" --fail pg-01
out=$(mktemp -d)
echo "== vipctl render -f $topo -d $out"
"$vipctl" render -f "$topo" -d "$out"
find "$out" -type f | sort
