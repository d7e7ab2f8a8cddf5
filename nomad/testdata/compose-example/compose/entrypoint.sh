#!/bin/bash
# entrypoint.sh of the postgres-patroni image: rendered by vipctl, do not edit (render again).
# Starts stanza_init.sh in the background (when the image carries a pgbackrest
# configuration), then replaces itself with Patroni, which runs PostgreSQL. As PID 1 Patroni
# also reaps the finished stanza_init.sh.
set -euo pipefail

if [[ -x /usr/local/bin/stanza_init.sh && -f /etc/pgbackrest/pgbackrest.conf ]]; then
	/usr/local/bin/stanza_init.sh &
fi
exec patroni /etc/patroni/patroni.yml
