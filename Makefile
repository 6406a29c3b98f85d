# The single entry point for building, running and testing chatd. CI runs
# `.ci/run`, which installs the services' binaries and then calls `make test`.
# Every variable below can be overridden: `make test TEST_TIMEOUT=20m`.

GO       ?= go
PKGS     ?= ./...
BIN      ?= bin/chatd
# Arguments for `make run`, e.g. `make run ARGS='--listen :9090'`.
ARGS     ?=

# Each test binary's limit. The whole of `make test` stays well under 20 minutes
# on a 2-core machine: the suite takes a few minutes, fuzzing 10 s per target.
TEST_TIMEOUT ?= 10m
# Race-detector builds run several times slower.
RACE_TIMEOUT ?= 20m
# CI never reuses a cached test result: the run must really run.
ifneq ($(CI),)
TESTFLAGS ?= -count=1
endif
TESTFLAGS ?=

# Fuzz targets, one word each: <package>:<FuzzFunc>. Add new targets here; `make test`
# runs each for FUZZTIME and fails if a listed target no longer exists (so a rename
# cannot silently turn fuzzing off); `make fuzz` runs each for FUZZTIME_LONG.
FUZZ ?= \
	./api:FuzzDecodeRequest \
	./api:FuzzRenderMarkdown \
	./api:FuzzWSCommand \
	./wsconn:FuzzReadFrames \
	./ring:FuzzOwner \
	./loadtest:FuzzParseStamp \
	./node:FuzzPeerDecoder \
	./node:FuzzPeerFrames \
	./scan:FuzzParseReply \
	./media:FuzzCleanFilename \
	./persist:FuzzSearchQuery
FUZZTIME      ?= 10s
FUZZTIME_LONG ?= 5m

BENCH         ?= .
BENCHTIME     ?= 1s
BENCH_TIMEOUT ?= 30m

# staticcheck runs from the module proxy at a pinned version, so every machine
# lints with the same rules without installing anything by hand.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run one node on the embedded store at http://localhost:8080
	$(GO) run ./cmd/chatd $(ARGS)

.PHONY: build
build: ## build the node binary into bin/chatd
	$(GO) build -o $(BIN) ./cmd/chatd

.PHONY: test
test: vet ## the whole suite: vet, unit and integration tests (real Postgres and Redis), short fuzzing
	$(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) $(PKGS)
	@$(MAKE) --no-print-directory fuzz-run FUZZ_FOR=$(FUZZTIME)

.PHONY: test-short
test-short: ## the fast tests only (-short): no long timed or load tests
	$(GO) test $(TESTFLAGS) -short -timeout $(TEST_TIMEOUT) $(PKGS)

# The long fault tests (internal/clustertest, build tag faultlong: a 90 s partition)
# with the others, FAULT_COUNT times each: `make test-faultlong FAULT_COUNT=5`.
FAULT_COUNT ?= 1
.PHONY: test-faultlong
test-faultlong: ## every fault test on real processes, the long ones too (root: network namespaces)
	$(GO) test $(TESTFLAGS) -tags faultlong -count=$(FAULT_COUNT) -run '^TestFault' -v -timeout 90m ./internal/clustertest

.PHONY: race
race: ## the suite under the race detector
	$(GO) test $(TESTFLAGS) -race -timeout $(RACE_TIMEOUT) $(PKGS)

.PHONY: bench
bench: ## benchmarks with allocations (BENCH=regexp, BENCHTIME=1s)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -timeout $(BENCH_TIMEOUT) $(PKGS)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME_LONG each
	@$(MAKE) --no-print-directory fuzz-run FUZZ_FOR=$(FUZZTIME_LONG)

# fuzz-run fuzzes each target of FUZZ for FUZZ_FOR. Go's fuzzing engine sometimes fails
# with "context deadline exceeded" when its workers stall at the deadline on a busy
# machine, without any finding: such a run (no failing input written) is repeated once.
# A target that matches nothing
# would "pass" without fuzzing, so each is first looked up with -list.
.PHONY: fuzz-run
fuzz-run:
	@set -e; for t in $(FUZZ); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		if ! $(GO) test -list "^$$fn$$" $$pkg | grep -qx "$$fn"; then \
			echo "make: fuzz target $$fn not found in $$pkg (see FUZZ in the Makefile)" >&2; exit 1; \
		fi; \
		echo "fuzz: $$fn in $$pkg for $(FUZZ_FOR)"; \
		log=$$(mktemp); st=0; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZ_FOR) $$pkg >$$log 2>&1 || st=$$?; \
		cat $$log; \
		if [ $$st -ne 0 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
			echo "fuzz: $$fn: the engine missed its own deadline (a loaded machine), no finding; once more"; \
			st=0; $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZ_FOR) $$pkg || st=$$?; \
		fi; \
		rm -f $$log; [ $$st -eq 0 ]; \
	done

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: lint
lint: vet ## go vet, gofmt and staticcheck (skipped with a note if it cannot be fetched)
	@out=$$(gofmt -s -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed (make fmt):" >&2; echo "$$out" >&2; exit 1; fi
	@if $(STATICCHECK) -version >/dev/null 2>&1; then \
		echo "staticcheck $(STATICCHECK_VERSION)"; $(STATICCHECK) $(PKGS); \
	else \
		echo "lint: staticcheck $(STATICCHECK_VERSION) could not be fetched from the module proxy; skipped"; \
	fi

.PHONY: fmt
fmt: ## gofmt -s every Go file
	gofmt -s -w .

.PHONY: tidy
tidy: ## fail if go.mod or go.sum would change under `go mod tidy` (changes nothing)
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result" >&2; exit 1; }

# Arguments for `make cluster`: `--reset` (fresh data and secrets) or `--smoke` (start,
# check end to end, stop); NODES=5 and the other variables of deploy/local/cluster.sh
# pass through the environment.
CLUSTER_ARGS ?=

.PHONY: cluster
cluster: ## a local 3-node cluster on Postgres and Redis, until Ctrl-C (deploy/local/cluster.sh)
	@GO='$(GO)' BIN='$(BIN)' deploy/local/cluster.sh $(CLUSTER_ARGS)

.PHONY: clean
clean: ## remove build output (never ./data)
	rm -rf bin
