# The supervisor of one lab host. It runs as pid 1 of the host's pid namespace, inside the
# host's private mount and UTS namespaces and its network namespace. $1 is the mode, $2 the
# host name, $3 the host's state directory (prepared by pcmkhost.Start), the rest are
# directories of the machine that stay visible at their path (even under /run, which is the
# host's own).
# Mode "running": the host's /etc/corosync holds the lab's configuration and key; the
# supervisor runs corosync -f and pacemakerd -f. Mode "fresh": a host with the packages
# installed and nothing else: its own empty /etc/corosync, /etc/cron.d, /root, /var/lib and OCF
# directory of vipctl's agent, no daemon; the host's systemctl (systemctl.sh) starts them.
set -eu
mode=$1
name=$2
state=$3
shift 3

# The stop handler comes first: as pid 1 of its pid namespace the supervisor ignores a TERM it
# has no handler for, and a TERM during the start must still stop whatever already runs.
corosync=
pacemakerd=
stop() {
	if [ -n "$pacemakerd" ]; then
		kill -TERM "$pacemakerd" 2>/dev/null || true
		wait "$pacemakerd" || true
	fi
	if [ -n "$corosync" ]; then
		kill -TERM "$corosync" 2>/dev/null || true
		wait "$corosync" || true
	fi
	exit 0
}
fresh_stop() {
	systemctl stop pacemaker corosync || true
	exit 0
}
if [ "$mode" = fresh ]; then
	trap fresh_stop TERM INT
else
	trap stop TERM INT
fi

hostname "$name"
# From here on the state directory is the working directory: it may itself live under /run.
cd "$state"
mount --bind etc/corosync /etc/corosync
if [ "$mode" = fresh ]; then
	mkdir -p /etc/cron.d
	mount --bind etc/cron.d /etc/cron.d
	mount --bind root /root
	mount --bind var/lib /var/lib
	# The OCF agents of the machine stay; vipctl's directory is the host's own.
	ocf=/usr/lib/ocf/resource.d
	if [ -d "$ocf" ]; then
		for d in "$ocf"/*; do
			[ -d "$d" ] || continue
			b=${d##*/}
			[ "$b" = vipctl ] && continue
			mkdir -p "ocf/$b"
			mount --bind "$d" "ocf/$b"
		done
		mount --rbind ocf "$ocf"
	fi
	# The host's service manager.
	if sc=$(command -v systemctl); then
		mount --bind systemctl "$sc"
	else
		mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
		cp systemctl /usr/local/sbin/systemctl
	fi
else
	mount --bind var/lib/corosync /var/lib/corosync
	mount --bind var/lib/pacemaker /var/lib/pacemaker
fi
mount --bind var/log/pacemaker /var/log/pacemaker
# Programs of the host's own (Config.Sbin) appear in its /usr/sbin beside the machine's: a
# read-only overlay, so the machine's /usr/sbin is never written.
if [ -d sbin ]; then
	mount -t overlay overlay -o "lowerdir=$state/sbin:/usr/sbin" /usr/sbin
fi
mkdir -p /var/lib/vipctl
mount --bind var/lib/vipctl /var/lib/vipctl
i=0
for dir in "$@"; do
	mkdir -p "share/$i"
	mount --bind "$dir" "share/$i"
	i=$((i + 1))
done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock /run/resource-agents
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
i=0
for dir in "$@"; do
	mkdir -p "$dir"
	mount --move "share/$i" "$dir"
	i=$((i + 1))
done
ip link set lo up

if [ "$mode" = fresh ]; then
	mkdir -p /run/lab-services
	echo "$state/host.log" >/run/lab-services/log
	: >started
	# As pid 1, reap the daemons systemctl started (they are orphans here) until TERM.
	while :; do
		sleep 1 &
		wait $! || true
	done
fi

# alive PID COMM: the process PID runs COMM and is not a zombie.
alive() {
	[ -n "$1" ] && [ "$(cat /proc/"$1"/comm 2>/dev/null)" = "$2" ] || return 1
	st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -c1)
	case $st in "" | Z | X) return 1 ;; esac
}

# gone PID: the process PID has exited (no such process, or a zombie). Unlike alive, it does
# not look at the name: a child forked a moment ago still carries this script's until its exec.
gone() {
	st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -c1)
	case $st in "" | Z | X) return 0 ;; esac
	return 1
}

start_corosync() {
	corosync -f &
	corosync=$!
	# pacemakerd gives up when Corosync does not answer yet: wait (bounded) for its IPC.
	tries=0
	until corosync-cfgtool -s >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -gt 300 ] || gone "$corosync"; then
			echo "pcmkhost: corosync did not come up" >&2
			return 1
		fi
		sleep 0.1
	done
}

# revive (on USR1, from vipctl lab heal) starts again whichever of corosync and pacemakerd is
# dead, corosync first, as an operator's systemctl start pacemaker would. A pacemakerd started
# again finds the subdaemons that outlived the old one and keeps them.
revive() {
	if ! alive "$corosync" corosync; then
		echo "pcmkhost: $name: corosync is dead: starting it again" >&2
		start_corosync || return 0
	fi
	if ! alive "$pacemakerd" pacemakerd; then
		echo "pcmkhost: $name: pacemakerd is dead: starting it again" >&2
		pacemakerd -f &
		pacemakerd=$!
	fi
}

start_corosync || exit 1
pacemakerd -f &
pacemakerd=$!
# Check tells the daemons by name: say "started" once pacemakerd has replaced the shell that
# forked it (until its exec, the child still carries this script's name and looks dead).
tries=0
while [ "$(cat "/proc/$pacemakerd/comm" 2>/dev/null)" != pacemakerd ]; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ] || ! kill -0 "$pacemakerd" 2>/dev/null; then
		echo "pcmkhost: pacemakerd did not start" >&2
		break
	fi
	sleep 0.05
done
: >started
trap revive USR1
# A machine stays up when its cluster daemons die: so does the host (Dead names the dead one;
# Revive, or a command inside the host, starts it again). As pid 1, reap until TERM.
while :; do
	sleep 1 &
	wait $! || true
done
