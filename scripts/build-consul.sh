#!/usr/bin/env bash
# Builds Consul v1.14.0 (MPL-2.0) from the Go module proxy into $VIPCTL_CACHE/bin/consul, once.
# Consul is not a Debian package, and `go install github.com/hashicorp/consul@v1.14.0` is refused
# because its go.mod carries a replace directive; a small wrapper module that requires it and
# repeats that one directive builds it. Later 1.14.x and 1.15+ are not used (see
# docs/stack-lab.md). A second run finds the binary and does nothing.
set -euo pipefail

version=v1.14.0
cache="${VIPCTL_CACHE:-/var/cache/vipctl}"
out="$cache/bin/consul"
export PATH="$PATH:/usr/local/go/bin"

# reports reads the first line of `consul version` (whole: a pipe into head would cut it short).
reports() {
  local v
  v=$("$1" version 2>/dev/null) || return 1
  [[ ${v%%$'\n'*} == "Consul $version" ]]
}

if [[ -x $out ]] && reports "$out"; then
  echo "build-consul: $out is Consul $version"
  exit 0
fi

mkdir -p "$cache/bin"
work=$(mktemp -d "$cache/consul-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/go.mod" <<EOF
module vipctl.local/consulbuild

go 1.19

require github.com/hashicorp/consul $version

replace launchpad.net/gocheck => github.com/go-check/check v0.0.0-20140225173054-eb6ee6f84d0a
EOF
cat >"$work/tools.go" <<'EOF'
//go:build tools

package consulbuild

import _ "github.com/hashicorp/consul"
EOF

echo "build-consul: building Consul $version (takes about 6 minutes on 2 cores)"
start=$SECONDS
(
  cd "$work"
  go mod tidy
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$work/consul" github.com/hashicorp/consul
)
reports "$work/consul" || {
  echo "build-consul: the built binary does not report Consul $version" >&2
  exit 1
}
mv -f "$work/consul" "$out"
echo "build-consul: $out built in $((SECONDS - start)) s"
