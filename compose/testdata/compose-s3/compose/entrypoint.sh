#!/bin/bash
# entrypoint.sh of the postgres-patroni image: rendered by vipctl, do not edit (render again).
# Starts stanza_init.sh in the background when the cluster's pgbackrest files are bound into
# the container, then replaces itself with Patroni, which runs PostgreSQL. As PID 1 Patroni
# also reaps the finished stanza_init.sh.
set -euo pipefail

patroni_conf=/etc/patroni/patroni.yml
pgbackrest_conf=/etc/pgbackrest/pgbackrest.conf
stanza_init=/usr/local/bin/stanza_init.sh

if [[ ! -f $patroni_conf ]]; then
	echo "entrypoint: no Patroni configuration at $patroni_conf: bind the cluster's patroni.yml there" >&2
	exit 1
fi
if [[ -x $stanza_init && -f $pgbackrest_conf ]]; then
	"$stanza_init" &
fi
exec patroni "$patroni_conf"
