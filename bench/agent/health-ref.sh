#!/bin/sh
# Reference for bench/agent: the checks of ocf:vipctl:health written the way shell resource
# agents usually are (bash's /dev/tcp for the port, curl and awk for HAProxy's stats), with
# the same state file and the same attrd_updater calls, only when the value changes.
# Parameters as the agent's: OCF_RESKEY_attribute, OCF_RESKEY_clusters (NAME:PORT:STATS ...).
state=${HA_RSCTMP:-/run/resource-agents}/health-ref-$OCF_RESKEY_attribute
check() {
	for c in $OCF_RESKEY_clusters; do
		name=${c%%:*} rest=${c#*:} port=${rest%%:*} stats=${rest#*:}
		timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
		curl -s --max-time 1 "http://127.0.0.1:$stats/;csv" |
			awk -F, -v px="$name" '$1 == px && $2 == "BACKEND" { up = ($18 == "UP") } END { exit !up }' || return 1
	done
}
publish() {
	if check; then v=1; else v=0; fi
	[ "$1" != force ] && [ -f "$state" ] && [ "$(cat "$state")" = "$v" ] && return 0
	attrd_updater --name "$OCF_RESKEY_attribute" --update "$v" || return 1
	mkdir -p "$(dirname "$state")" && echo "$v" >"$state"
}
case $1 in
start) publish force ;;
stop) attrd_updater --name "$OCF_RESKEY_attribute" --delete; rm -f "$state" ;;
monitor) [ -f "$state" ] || exit 7; publish ;;
*) exit 3 ;;
esac
