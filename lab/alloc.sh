# shellcheck shell=sh
# The lab's stand-in for a container runtime: runs one task of a rendered Nomad job inside a
# lab host, in a mount namespace of its own (unshare -m, entered by the lab before this script).
# $1 is the allocation's directory; each further argument up to "--" is either bind:SRC:DST, a
# bind mount of SRC (a file or directory) at DST inside the task's view, as the job's docker
# volumes and host volumes ask, or dir:DST:USER, a directory the image would have (owned by
# USER, empty at first, kept in the allocation's directory); after "--": the user to run as
# ("-" for root), then the command. The machine's files are never changed: a DST whose parent is
# missing gets it on an overlay of the nearest existing directory, visible only in this mount
# namespace.
set -eu
exec 3<&- # the descriptor of the task's network namespace, entered by nsenter before this script
alloc=$1
shift
n=0
writable= # directories of this view where creating a path changes nothing of the machine
# ensure makes path $1 exist (a file when $2 is "file") in this mount namespace only.
ensure() {
	[ -e "$1" ] && return 0
	anc=$(dirname "$1")
	while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
	anc=$(realpath "$anc")
	case $anc in
	/) echo "alloc: $1: no directory to lay an overlay on" >&2 && exit 1 ;;
	/run | /run/*) # the host's own tmpfs: writable, and no overlay over its mounts
		create "$1" "$2"
		return 0
		;;
	/tmp | /tmp/*) echo "alloc: $1: the task's /tmp is its own and empty" >&2 && exit 1 ;;
	esac
	for o in $writable; do
		case $anc in "$o" | "$o"/*)
			create "$1" "$2"
			return 0
			;;
		esac
	done
	n=$((n + 1))
	mkdir -p "$alloc/ovl/$n/upper" "$alloc/ovl/$n/work"
	mount -t overlay overlay -o "lowerdir=$anc,upperdir=$alloc/ovl/$n/upper,workdir=$alloc/ovl/$n/work" "$anc"
	writable="$writable $anc" # a second overlay on top would exceed the kernel's stacking depth
	create "$1" "$2"
}

create() {
	if [ "$2" = file ]; then
		mkdir -p "$(dirname "$1")"
		: >"$1"
	else
		mkdir -p "$1"
	fi
}

while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
	kind=${1%%:*}
	rest=${1#*:}
	shift
	case $kind in
	bind)
		src=${rest%%:*}
		dst=${rest#*:}
		if [ -d "$src" ]; then ensure "$dst" dir; else ensure "$dst" file; fi
		mount --bind "$src" "$dst"
		;;
	dir) # the container's own layer: a directory of the allocation, never the machine's
		dst=${rest%%:*}
		n=$((n + 1))
		layer=$alloc/fs/$n
		mkdir -p "$layer"
		chown "${rest#*:}" "$layer"
		ensure "$dst" dir
		mount --bind "$layer" "$dst"
		writable="$writable $(realpath "$dst")"
		;;
	*) echo "alloc: unknown argument $kind:$rest" >&2 && exit 1 ;;
	esac
done
shift # --
# A container has its own /tmp, mounted last: the sources above may live under the machine's.
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
user=$1
shift
if [ "$user" = - ]; then
	exec "$@"
fi
exec setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
