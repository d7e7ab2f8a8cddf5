#!/bin/bash
# pgsql_backup.sh for cluster msrvc02: rendered by vipctl, do not edit (render again).
# Runs on every host of group db-a (cron or the Nomad job backup-msrvc02). Finds the
# running containers of the cluster on this host and runs backup_if_primary.sh in each through
# docker exec: only the Patroni primary backs up, replicas print "skipped: replica".
# No container of the cluster on this host is not an error (exit 0): the cluster may run
# fewer members than the group has hosts. Arguments are passed on: [full|diff|incr].
set -euo pipefail

cluster=msrvc02
job=pgsql-msrvc02
label=vipctl.cluster
inner=/usr/local/bin/backup_if_primary.sh

log() {
	printf '%s pgsql_backup[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$cluster" "$*"
}

ids=$(docker ps -q --filter "label=$label=$cluster")
if [[ -z $ids ]]; then
	ids=$(docker ps -q --filter "label=com.hashicorp.nomad.job_name=$job")
fi
if [[ -z $ids ]]; then
	log "no running container of cluster $cluster on this host: nothing to do"
	exit 0
fi

rc=0
while IFS= read -r id; do
	log "container $id: $inner $*"
	if ! docker exec --user postgres "$id" "$inner" "$@"; then
		rc=1
		log "error: backup step failed in container $id"
	fi
done <<<"$ids"
exit "$rc"
