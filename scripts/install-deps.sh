#!/usr/bin/env bash
# Installs, from Debian packages (and two builds, below), what vipctl's tests and lab need, when it is missing.
# Runs `apt-get update` at most once, and only when something has to be installed.
set -euo pipefail

# command-or-file -> Debian package
declare -A need=(
  [crm_verify]=pacemaker-cli-utils
  [crm_simulate]=pacemaker-cli-utils
  [cibadmin]=pacemaker-cli-utils
  [pacemakerd]=pacemaker
  [corosync]=corosync
  [/usr/sbin/fence_ipmilan]=fence-agents
  [ocf-tester]=resource-agents
  [/usr/lib/ocf/resource.d/heartbeat/IPaddr2]=resource-agents
  [haproxy]=haproxy
  [docker-compose]=docker-compose
  [pgbackrest]=pgbackrest
  [patroni]=patroni
  [/usr/lib/python3/dist-packages/pysyncobj]=python3-pysyncobj
  [/usr/lib/python3/dist-packages/consul]=python3-consul
  [/usr/lib/postgresql/15/bin/initdb]=postgresql-15
  [xmllint]=libxml2-utils
  [shellcheck]=shellcheck
  [ip]=iproute2
  [bridge]=iproute2
  [nsenter]=util-linux
  [unshare]=util-linux
  [curl]=curl
  [tcpdump]=tcpdump
  [nft]=nftables
  [make]=make
  [gcc]=gcc
)

missing=()
for what in "${!need[@]}"; do
  if [[ $what == /* ]]; then
    [[ -e $what ]] && continue
  else
    PATH="$PATH:/usr/sbin:/sbin" command -v "$what" >/dev/null 2>&1 && continue
  fi
  missing+=("${need[$what]}")
done

here=$(dirname "$0")
# Consul (the stack lab) and Nomad (the real-Nomad tests) are not Debian packages: each is built
# once from the Go module proxy into the cache (gcc is for Nomad's cgo); each script does nothing
# when its binary is already there.
# Consul runs in the stack lab (make demo and the tests); Nomad only in the tests (--with-nomad).
with_nomad=false
[[ ${1:-} == --with-nomad ]] && with_nomad=true
build_missing() {
  "$here/build-consul.sh"
  if $with_nomad; then
    "$here/build-nomad.sh"
  fi
}

if ((${#missing[@]} == 0)); then
  echo "install-deps: every Debian package is installed"
  build_missing
  exit 0
fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-deps: installing ${pkgs[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: must run as root to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's packaging would start services; vipctl starts its own, in namespaces.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq "${pkgs[@]}" >/dev/null
echo "install-deps: done"
build_missing
