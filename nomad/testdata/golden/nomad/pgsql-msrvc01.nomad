job "pgsql-msrvc01" {
  type        = "service"
  datacenters = ["dc1"]
  meta {
    vipctl_cluster = "msrvc01"
  }

  group "pgsql" {
    count = 3
    constraint {
      attribute = "${node.unique.name}"
      operator  = "regexp"
      value     = "^(pg-01|pg-02|pg-03)$"
    }
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }
    network {
      port "patroni" {
        static = 8008
      }
      port "pgsql" {
        to = 5432
      }
    }
    volume "pgbackrest-msrvc01" {
      type      = "host"
      source    = "pgbackrest-msrvc01"
      read_only = false
    }
    volume "pgdata-msrvc01" {
      type      = "host"
      source    = "pgdata-msrvc01"
      read_only = false
    }
    ephemeral_disk {
      size = 1024
    }
    restart {
      attempts = 3
      interval = "5m"
      delay    = "25s"
      mode     = "delay"
    }
    reschedule {
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = true
    }
    disconnect {
      stop_on_client_after = "30s"
      replace              = false
    }
    update {
      max_parallel      = 1
      health_check      = "checks"
      min_healthy_time  = "30s"
      healthy_deadline  = "10m"
      progress_deadline = "15m"
      auto_revert       = false
    }
    migrate {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "30s"
      healthy_deadline = "10m"
    }
    service {
      name     = "pgsql-msrvc01-api"
      port     = "patroni"
      provider = "consul"
      check {
        name     = "patroni readiness"
        type     = "http"
        port     = "patroni"
        path     = "/readiness"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "patroni" {
      driver       = "docker"
      kill_timeout = "1m"
      kill_signal  = "SIGTERM"
      config {
        image = "registry.example/sa-pgsql:15"
        labels = [{
          "vipctl.cluster" = "msrvc01"
        }]
        ports = ["patroni", "pgsql"]
        volumes = [
          "local/patroni.yml:/etc/patroni/patroni.yml",
          "local/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf",
          "local/stanza_init.sh:/usr/local/bin/stanza_init.sh",
          "local/backup_if_primary.sh:/usr/local/bin/backup_if_primary.sh",
        ]
      }
      env {
        PATRONI_CONSUL_HOST                = "${attr.unique.network.ip-address}:8500"
        PATRONI_CONSUL_REGISTER_SERVICE    = "true"
        PATRONI_NAME                       = "pgsql-${NOMAD_ALLOC_INDEX}"
        PATRONI_POSTGRESQL_CONNECT_ADDRESS = "${NOMAD_ADDR_pgsql}"
        PATRONI_POSTGRESQL_DATA_DIR        = "/var/lib/postgresql/data/pgdata"
        PATRONI_POSTGRESQL_LISTEN          = "0.0.0.0:${NOMAD_PORT_pgsql}"
        PATRONI_REPLICATION_USERNAME       = "replicator"
        PATRONI_RESTAPI_CONNECT_ADDRESS    = "${NOMAD_IP_patroni}:8008"
        PATRONI_RESTAPI_LISTEN             = "0.0.0.0:8008"
        PATRONI_SCOPE                      = "${NOMAD_JOB_NAME}"
        PATRONI_SUPERUSER_USERNAME         = "postgres"
      }
      template {
        destination = "secrets/patroni.env"
        env         = true
        change_mode = "noop"
        data        = <<EOT
{{ with nomadVar "nomad/jobs/pgsql-msrvc01" -}}
PATRONI_SUPERUSER_PASSWORD={{ .superuser_password }}
PATRONI_REPLICATION_PASSWORD={{ .replication_password }}
{{ with .consul_token }}PATRONI_CONSUL_TOKEN={{ . }}
{{ end -}}
{{- end }}
EOT
      }
      template {
        destination = "local/patroni.yml"
        change_mode = "noop"
        perms       = "0644"
        data        = <<EOT
# Patroni configuration of cluster msrvc01: rendered by vipctl, do not edit (render again).
# In the container at /etc/patroni/patroni.yml. Everything that differs between members (name, scope,
# addresses, Consul agent, passwords) comes from PATRONI_* environment variables.
# bootstrap.dcs seeds Patroni's dynamic configuration when the cluster is first created; later
# changes of the topology's patroni block take effect with patronictl edit-config.
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    primary_start_timeout: 300
    synchronous_mode: false
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - data-checksums

postgresql:
  pgpass: /tmp/pgpass
  # Local parameters win over the bootstrap ones and follow every render: turning backups on
  # or off later needs no patronictl edit-config (archive_mode takes effect on a restart).
  parameters:
    unix_socket_directories: "/var/run/postgresql"
    archive_mode: "on"
    archive_command: "pgbackrest --stanza=msrvc01 archive-push %p"
    archive_timeout: 60
  pg_hba:
    - local all all peer
    - host replication replicator 0.0.0.0/0 scram-sha-256
    - host replication replicator ::/0 scram-sha-256
    - host all all 0.0.0.0/0 scram-sha-256
    - host all all ::/0 scram-sha-256
EOT
      }
      template {
        destination = "local/pgbackrest.conf"
        change_mode = "noop"
        perms       = "0644"
        data        = <<EOT
# pgbackrest.conf for cluster msrvc01: rendered by vipctl, do not edit (render again).
# In every Patroni container of the cluster at /etc/pgbackrest/pgbackrest.conf.
# repo1-path must be storage shared by every host of group db-a, mounted at the same
# path in the container: after a failover the new primary archives into the same repository.

[global]
repo1-type=posix
repo1-path=/var/lib/pgbackrest
repo1-retention-full=2
compress-type=zst
start-fast=y
process-max=2
log-level-console=info
log-level-file=detail

[msrvc01]
pg1-path=/var/lib/postgresql/data/pgdata
pg1-port=5432
pg1-socket-path=/var/run/postgresql
EOT
      }
      template {
        destination = "local/stanza_init.sh"
        change_mode = "noop"
        perms       = "0755"
        data        = <<EOT
#!/bin/bash
# stanza_init.sh for cluster msrvc01: rendered by vipctl, do not edit (render again).
# Runs in every Patroni container at start, in the background. It waits for PostgreSQL, then
# creates the pgbackrest stanza on the Patroni leader only (stanza-create is safe to rerun).
# A replica polls until it becomes the leader or finds the stanza in the shared repository.
# Overrides (environment): VIPCTL_PATRONI_URL, VIPCTL_PGHOST, VIPCTL_PGPORT,
# VIPCTL_STANZA_INIT_TIMEOUT (seconds, whole run), VIPCTL_STANZA_INIT_INTERVAL (seconds).
set -euo pipefail

stanza=msrvc01
patroni_url=$${VIPCTL_PATRONI_URL:-http://127.0.0.1:8008}
pghost=$${VIPCTL_PGHOST:-/var/run/postgresql}
pgport=$${VIPCTL_PGPORT:-5432}
timeout_s=$${VIPCTL_STANZA_INIT_TIMEOUT:-3600}
interval_s=$${VIPCTL_STANZA_INIT_INTERVAL:-10}
deadline=$((SECONDS + timeout_s))

log() {
	printf '%s stanza_init[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$stanza" "$*"
}

# give_up_if_late ends the run with an error once the deadline has passed.
give_up_if_late() {
	if ((SECONDS >= deadline)); then
		log "error: gave up after $${timeout_s}s: $1"
		exit 1
	fi
}

# patroni_role prints primary, replica, unreachable or http-<code>, from the local Patroni REST API.
patroni_role() {
	local code
	if ! code=$(curl -sS -o /dev/null -w '%%{http_code}' --max-time 5 "$patroni_url/primary" 2>/dev/null); then
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
EOT
      }
      template {
        destination = "local/backup_if_primary.sh"
        change_mode = "noop"
        perms       = "0755"
        data        = <<EOT
#!/bin/bash
# backup_if_primary.sh for cluster msrvc01: rendered by vipctl, do not edit (render again).
# Runs in a Patroni container. Asks the local Patroni REST API whether this member is the
# primary: on the primary it runs a pgbackrest backup, on a replica it prints
# "skipped: replica" and exits 0. Patroni unreachable: exit 1.
# Usage: backup_if_primary.sh [full|diff|incr]   (none: pgbackrest's default, incr, which is
# a full backup when the repository has none yet). Override: VIPCTL_PATRONI_URL.
set -euo pipefail

stanza=msrvc01
patroni_url=$${VIPCTL_PATRONI_URL:-http://127.0.0.1:8008}
type=$${1:-}

case $type in
'' | full | diff | incr) ;;
*)
	echo "usage: backup_if_primary.sh [full|diff|incr]" >&2
	exit 2
	;;
esac

if ! code=$(curl -sS -o /dev/null -w '%%{http_code}' --max-time 5 "$patroni_url/primary" 2>/dev/null); then
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
echo "primary: pgbackrest $${type:-incr} backup of stanza $stanza"
exec pgbackrest "$${args[@]}" backup
EOT
      }
      volume_mount {
        volume      = "pgdata-msrvc01"
        destination = "/var/lib/postgresql/data"
        read_only   = false
      }
      volume_mount {
        volume      = "pgbackrest-msrvc01"
        destination = "/var/lib/pgbackrest"
        read_only   = false
      }
      resources {
        cpu    = 4400
        memory = 512
      }
    }
  }
}
