# The supervisor of one lab host. It runs as pid 1 of the host's pid namespace, inside the
# host's private mount and UTS namespaces and its network namespace. $1 is the host name,
# $2 the host's state directory (prepared by pcmkhost.Start), the rest are directories of the
# machine that stay visible at their path (even under /run, which is the host's own).
set -eu
name=$1
state=$2
shift 2

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
trap stop TERM INT

hostname "$name"
# From here on the state directory is the working directory: it may itself live under /run.
cd "$state"
mount --bind etc/corosync /etc/corosync
mount --bind var/lib/corosync /var/lib/corosync
mount --bind var/lib/pacemaker /var/lib/pacemaker
mount --bind var/log/pacemaker /var/log/pacemaker
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

corosync -f &
corosync=$!

# pacemakerd gives up when Corosync does not answer yet: wait (bounded) for its IPC.
tries=0
until corosync-cfgtool -s >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 300 ] || ! kill -0 "$corosync" 2>/dev/null; then
		echo "pcmkhost: corosync did not come up" >&2
		exit 1
	fi
	sleep 0.1
done

pacemakerd -f &
pacemakerd=$!
: >started
wait
