#!/bin/sh
# systemctl of a fresh lab host (vipctl lab up --fresh). It answers what vipctl bootstrap and
# the runbooks call on a real host, for the units corosync and pacemaker, with systemd's
# dependency rules of the Debian units: pacemaker requires corosync (starting pacemaker starts
# corosync; stopping or restarting corosync stops or restarts pacemaker too), corosync's start
# returns once Corosync answers (Type=notify), pacemaker's at once (Type=simple).
# The daemons run in the host's pid namespace, detached; /run/lab-services holds their pids.
#   systemctl start|stop|restart|is-active|status UNIT...
set -u
svc=/run/lab-services
log=$(cat "$svc/log" 2>/dev/null || echo /dev/null)

say() { echo "systemctl (lab): $*" >&2; }

# daemon UNIT: the process a unit runs.
daemon() {
	case $1 in
	corosync) echo corosync ;;
	pacemaker) echo pacemakerd ;;
	esac
}

# pidof_unit UNIT: prints the unit's pid and succeeds while its daemon runs (not a zombie,
# and the pid still is that daemon).
pidof_unit() {
	f=$svc/$1.pid
	[ -f "$f" ] || return 1
	p=$(cat "$f")
	[ -n "$p" ] || return 1
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$(daemon "$1")" ] || return 1
	st=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | cut -c1)
	case $st in "" | Z | X) return 1 ;; esac
	echo "$p"
}

start_unit() {
	if [ "$1" = pacemaker ]; then
		start_unit corosync || return 1
	fi
	pidof_unit "$1" >/dev/null && return 0
	mkdir -p "$svc"
	case $1 in
	corosync) setsid corosync -f >>"$log" 2>&1 </dev/null & ;;
	pacemaker) setsid pacemakerd -f >>"$log" 2>&1 </dev/null & ;;
	esac
	echo $! >"$svc/$1.pid"
	# As systemd, return once the daemon is exec'd (at most 5 s).
	tries=0
	until pidof_unit "$1" >/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 50 ]; then
			say "Job for $1.service failed (see $log)"
			return 1
		fi
		sleep 0.1
	done
	[ "$1" = corosync ] || return 0
	# Type=notify: ready once Corosync answers its configuration map (at most 30 s).
	# (corosync-cfgtool -s is no test: it fails while a link to another node is down.)
	tries=0
	until corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -gt 300 ] || ! pidof_unit corosync >/dev/null; then
			say "Job for corosync.service failed (see $log)"
			return 1
		fi
		sleep 0.1
	done
}

stop_unit() {
	if [ "$1" = corosync ]; then
		stop_unit pacemaker || return 1
	fi
	p=$(pidof_unit "$1") || { rm -f "$svc/$1.pid"; return 0; }
	kill -TERM "$p" 2>/dev/null
	tries=0
	while pidof_unit "$1" >/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 1200 ]; then # 120 s, then as systemd: SIGKILL
			kill -KILL "$p" 2>/dev/null
		fi
		sleep 0.1
	done
	rm -f "$svc/$1.pid"
}

restart_unit() {
	again=
	if [ "$1" = corosync ] && pidof_unit pacemaker >/dev/null; then
		again=pacemaker
	fi
	stop_unit "$1" || return 1
	start_unit "$1" || return 1
	[ -z "$again" ] || start_unit "$again"
}

[ $# -ge 1 ] || { say "usage: systemctl start|stop|restart|is-active|status UNIT..."; exit 2; }
verb=$1
shift
[ $# -ge 1 ] || { say "$verb: no unit named"; exit 2; }
rc=0
for unit in "$@"; do
	unit=${unit%.service}
	case $unit in
	corosync | pacemaker) ;;
	*) say "unit $unit is not one the lab runs (corosync, pacemaker)"; exit 5 ;;
	esac
	case $verb in
	start) start_unit "$unit" || rc=1 ;;
	stop) stop_unit "$unit" || rc=1 ;;
	restart) restart_unit "$unit" || rc=1 ;;
	is-active | status)
		if pidof_unit "$unit" >/dev/null; then
			echo active
		else
			echo inactive
			rc=3
		fi
		;;
	*) say "$verb is not a command the lab answers (start, stop, restart, is-active, status)"; exit 1 ;;
	esac
done
exit $rc
