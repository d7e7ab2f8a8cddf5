# vipctl: the two set-up commands are `make demo` (the main job) and `make test` (the tests).
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:/usr/sbin:/sbin
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT ?= 75m

.PHONY: all build deps test-deps lint test unit soak-short demo clean

all: build

# vipctl-metrics (the Prometheus exporter) is built beside vipctl: `vipctl metrics` runs it from
# there, and it is a program of its own so that vipctl, the OCF agent, never links client_golang.
build:
	CGO_ENABLED=0 $(GO) build -o bin/vipctl ./cmd/vipctl
	CGO_ENABLED=0 $(GO) build -o bin/vipctl-metrics ./cmd/vipctl-metrics

deps:
	scripts/install-deps.sh

# The tests also need a real Nomad (built once into the cache, like Consul).
test-deps:
	scripts/install-deps.sh --with-nomad

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Installs what the tests need (Debian packages), then runs every test, the live ones included
# (never -short). Tests that need a real component fail when it is missing in CI (CI=true) and
# skip elsewhere.
test: test-deps build lint
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) soak-short

# Ten random faults against a real lab (bench/soak, docs/reliability.md): fails on any violation.
SOAK_SEED ?= 1
soak-short:
	timeout 10m bench/soak/run.sh -drills 10 -seed $(SOAK_SEED)

# The unit tests alone: -short skips every live test (root, namespaces, real Pacemaker, Corosync,
# Consul, Nomad; internal/testenv.Live), so this starts no daemon, even as root.
unit:
	$(GO) test -short -count=1 ./...

# The main job: a real 3-host Corosync + Pacemaker lab on this machine, a failover, and tear-down.
demo: deps build
	scripts/demo.sh

clean:
	rm -rf bin
