#!/bin/sh
# Regenerates the crm_mon captures of this directory from the example topology, with
# Pacemaker's own simulator: crm_simulate computes each state, crm_mon reads it from the file
# (CIB_file) and prints it as it does for a live cluster. Needs vipctl on PATH (go build
# ./cmd/vipctl), pacemaker-cli-utils. not-connected.xml is crm_mon run where no cluster runs;
# multiple.xml is healthy.xml edited (a second node under vip-db-a), as crm_mon shows a
# multi-active resource.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
vipctl cib render -f "$here/../../../examples/vipctl.hcl" >cib.xml 2>/dev/null
sim() { crm_simulate "$@" >/dev/null 2>&1; }
mon() {
	# crm_mon shows no DC for a file without dc-uuid: name pg-01, as a live cluster would.
	sed -i '0,/<cib /s/<cib \(dc-uuid="[^"]*" \)\{0,1\}/<cib dc-uuid="pg-01" /' "$1"
	CIB_file=$1 crm_mon --output-as=xml --one-shot | sed 's/request="[^"]*"/request="crm_mon --output-as=xml --one-shot"/' >"$here/$2"
}
sim -x cib.xml -S -u pg-01 -u pg-02 -u pg-03 -q 1 -O up.xml
mon up.xml healthy.xml
sim -x up.xml -S -f pg-03 -O failed.xml
mon failed.xml holder-failed.xml
cp up.xml standby.xml
CIB_file=standby.xml crm_attribute --node pg-02 --name standby --update on
sim -x standby.xml -S -u pg-01 -O standby-out.xml
mon standby-out.xml standby.xml
sim -x up.xml -S -i vip-db-a_monitor_10000@pg-03=7 -O monfail.xml
mon monfail.xml monitor-failed.xml
sim -x up.xml -S -f pg-02 -f pg-03 -q 0 -O noquorum.xml
mon noquorum.xml no-quorum.xml
sim -x cib.xml -S -u pg-01 -q 0 -O stopped.xml
mon stopped.xml stopped.xml
sed '/id="vip-db-a" resource_agent/{s/nodes_running_on="1"/nodes_running_on="2"/;n;p;s/pg-03/pg-01/g;}' "$here/healthy.xml" >"$here/multiple.xml"
crm_mon --output-as=xml --one-shot >"$here/not-connected.xml" || true
