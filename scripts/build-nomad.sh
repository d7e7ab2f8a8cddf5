#!/usr/bin/env bash
# Builds Nomad v1.6.1 (MPL-2.0) from the Go module proxy into $VIPCTL_CACHE/bin/nomad, once.
# Nomad is not a Debian package. v1.6.1 is the last line used here: 1.7 and later are not open
# source and are never built. `go install github.com/hashicorp/nomad@v1.6.1` is refused because
# Nomad's go.mod carries replace directives, among them `github.com/hashicorp/nomad/api => ./api`;
# a small wrapper module that requires Nomad v1.6.1, pins nomad/api to the pseudo-version of the
# same commit (the v1.6.1 tag is commit 515895c7690c, committed 2023-07-21 13:49:42 UTC) and repeats
# Nomad's other replace directives builds it. A second run finds the binary and does nothing.
set -euo pipefail

version=v1.6.1
api=v0.0.0-20230721134942-515895c7690c
cache="${VIPCTL_CACHE:-/var/cache/vipctl}"
out="$cache/bin/nomad"
export PATH="$PATH:/usr/local/go/bin"

# reports reads the first line of `nomad version` (whole: a pipe into head would cut it short).
reports() {
  local v
  v=$("$1" version 2>/dev/null) || return 1
  [[ ${v%%$'\n'*} == "Nomad $version" ]]
}

if [[ -x $out ]] && reports "$out"; then
  echo "build-nomad: $out is Nomad $version"
  exit 0
fi

mkdir -p "$cache/bin"
work=$(mktemp -d "$cache/nomad-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/go.mod" <<EOF
module vipctl.local/nomadbuild

go 1.20

require (
	github.com/hashicorp/nomad $version
	github.com/hashicorp/nomad/api $api
)

replace (
	github.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948
	github.com/armon/go-metrics => github.com/armon/go-metrics v0.0.0-20230509193637-d9ca9af9f1f9
	github.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-0.20201016140508-a07e7d50bbee
	github.com/hashicorp/nomad/api => github.com/hashicorp/nomad/api $api
)
EOF
cat >"$work/tools.go" <<'EOF'
//go:build tools

package nomadbuild

import _ "github.com/hashicorp/nomad"
EOF

# cgo is needed: with CGO_ENABLED=0 the build stops at runc's libcontainer/nsenter ("build
# constraints exclude all Go files"), which Nomad's executor imports. So this needs gcc.
command -v gcc >/dev/null || { echo "build-nomad: gcc is needed (cgo)" >&2; exit 1; }
echo "build-nomad: building Nomad $version"
start=$SECONDS
(
  cd "$work"
  nice -n 19 go mod tidy
  echo "build-nomad: modules resolved in $((SECONDS - start)) s"
  GOFLAGS=-mod=mod CGO_ENABLED=1 nice -n 19 go build -trimpath -o "$work/nomad" github.com/hashicorp/nomad
)
reports "$work/nomad" || {
  echo "build-nomad: the built binary does not report Nomad $version" >&2
  exit 1
}
mv -f "$work/nomad" "$out"
echo "build-nomad: $out built in $((SECONDS - start)) s"
