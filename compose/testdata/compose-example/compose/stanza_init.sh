#!/bin/bash
# stanza_init.sh for cluster msrvc01: rendered by vipctl, do not edit (render again).
# Runs in every Patroni container at start, in the background. It waits for PostgreSQL, then
# creates the pgbackrest stanza on the Patroni leader only (stanza-create is safe to rerun).
# A replica polls until it becomes the leader or finds the stanza in the shared repository.
# Overrides (environment): VIPCTL_PATRONI_URL, VIPCTL_PGHOST, VIPCTL_PGPORT,
# VIPCTL_STANZA_INIT_TIMEOUT (seconds, whole run), VIPCTL_STANZA_INIT_INTERVAL (seconds).
set -euo pipefail

stanza=msrvc01
patroni_url=${VIPCTL_PATRONI_URL:-http://127.0.0.1:8008}
pghost=${VIPCTL_PGHOST:-/var/run/postgresql}
pgport=${VIPCTL_PGPORT:-5432}
timeout_s=${VIPCTL_STANZA_INIT_TIMEOUT:-3600}
interval_s=${VIPCTL_STANZA_INIT_INTERVAL:-10}
deadline=$((SECONDS + timeout_s))

log() {
	printf '%s stanza_init[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$stanza" "$*"
}

# give_up_if_late ends the run with an error once the deadline has passed.
give_up_if_late() {
	if ((SECONDS >= deadline)); then
		log "error: gave up after ${timeout_s}s: $1"
		exit 1
	fi
}

# patroni_role prints primary, replica, unreachable or http-<code>, from the local Patroni REST API.
patroni_role() {
	local code
	if ! code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$patroni_url/primary" 2>/dev/null); then
		echo unreachable
		return
	fi
	case $code in
	200) echo primary ;;
	503) echo replica ;;
	*) echo "http-$code" ;;
	esac
}

# stanza_exists succeeds when the repository already holds the stanza (created by some leader).
stanza_exists() {
	local out
	out=$(pgbackrest --stanza="$stanza" --output=json info 2>/dev/null) || return 1
	[[ $out == *'"db":[{'* ]]
}

until pg_isready -q -h "$pghost" -p "$pgport"; do
	give_up_if_late "PostgreSQL at $pghost:$pgport is not ready"
	sleep "$interval_s"
done
log "PostgreSQL is ready"

while :; do
	role=$(patroni_role)
	if [[ $role == primary ]]; then
		log "this member is the Patroni leader: stanza-create"
		if ! pgbackrest --stanza="$stanza" stanza-create; then
			log "error: pgbackrest stanza-create failed"
			exit 1
		fi
		if ! pgbackrest --stanza="$stanza" check; then
			log "error: pgbackrest check failed: WAL archiving does not reach the repository"
			exit 1
		fi
		log "stanza is ready"
		exit 0
	fi
	if stanza_exists; then
		log "member is $role and the repository holds the stanza: nothing to do"
		exit 0
	fi
	give_up_if_late "member stayed $role and no leader created the stanza"
	log "member is $role: waiting for the leader to create the stanza"
	sleep "$interval_s"
done
