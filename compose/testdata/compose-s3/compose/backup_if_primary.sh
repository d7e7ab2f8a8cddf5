#!/bin/bash
# backup_if_primary.sh for cluster msrvc02: rendered by vipctl, do not edit (render again).
# Runs in a Patroni container. Asks the local Patroni REST API whether this member is the
# primary: on the primary it runs a pgbackrest backup, on a replica it prints
# "skipped: replica" and exits 0. Patroni unreachable: exit 1.
# Usage: backup_if_primary.sh [full|diff|incr]   (none: pgbackrest's default, incr, which is
# a full backup when the repository has none yet). Override: VIPCTL_PATRONI_URL.
set -euo pipefail

stanza=msrvc02
patroni_url=${VIPCTL_PATRONI_URL:-http://127.0.0.1:8009}
type=${1:-}

case $type in
'' | full | diff | incr) ;;
*)
	echo "usage: backup_if_primary.sh [full|diff|incr]" >&2
	exit 2
	;;
esac

if ! code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$patroni_url/primary" 2>/dev/null); then
	echo "error: Patroni REST API at $patroni_url is unreachable: no backup" >&2
	exit 1
fi
case $code in
200) ;;
503)
	echo "skipped: replica"
	exit 0
	;;
*)
	echo "error: Patroni REST API at $patroni_url/primary answered HTTP $code: no backup" >&2
	exit 1
	;;
esac

args=(--stanza="$stanza")
if [[ -n $type ]]; then
	args+=(--type="$type")
fi
echo "primary: pgbackrest ${type:-incr} backup of stanza $stanza"
exec pgbackrest "${args[@]}" backup
