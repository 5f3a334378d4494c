# callrec — the two set-up commands are `make run` and `make test`.

GO       ?= go
BIN      := bin/callrec
CONFIG   ?= callrec.yaml
# System packages callrec builds against: PocketSphinx (the offline engine,
# through cgo).
RUN_PKGS := libpocketsphinx-dev pocketsphinx-en-us pkg-config
# System packages the test suite drives: SIPp (phones and trunk), flite and
# sox (speech and tones), PostgreSQL (the shared-database tests),
# LibreOffice and poppler (reports rendered to PDF and read back), fonts,
# Chromium (the web UI driven by a real browser), baresip and linphone-cli
# (real softphones as the owner's phone, a stranger and the far party),
# Kamailio and rtpengine (a real SIP proxy and media relay in front of callrec),
# iproute2 and iptables (network namespaces with a NAT router).
TEST_PKGS := $(RUN_PKGS) sip-tester flite sox postgresql \
	libreoffice-writer-nogui poppler-utils fonts-dejavu-core fonts-crosextra-carlito \
	chromium fonts-liberation baresip linphone-cli kamailio rtpengine-daemon \
	iproute2 iptables
TEST_DB_URL := postgres://callrec:callrec@127.0.0.1:5432/callrec_test
STATICCHECK_VERSION := v0.8.2
# A real SMTP server (with an HTTP API to read mail back) for the email tests.
MAILPIT_VERSION := v1.27.11

.PHONY: run build test deps-run deps-test install-pkgs lint unit e2e fuzz bench clean

## run: build callrec and serve on the defaults (SQLite + local objects in ./data)
run: deps-run build $(CONFIG)
	./$(BIN) serve --config $(CONFIG)

$(CONFIG):
	./$(BIN) config example > $(CONFIG)
	@echo "wrote $(CONFIG) from 'callrec config example': edit the numbers and trunk.address for your provider"

build:
	$(GO) build -o $(BIN) ./cmd/callrec

## test: everything CI runs (installs the system packages it needs and
## starts PostgreSQL on loopback when run as root)
test: deps-test lint
	@if [ -z "$$TEST_POSTGRES_URL" ] && [ "$$(id -u)" = 0 ]; then bash scripts/postgres-test.sh; fi
	@# Unit tests first, then the end-to-end tests on their own: SIPp calls
	@# measure real time and must not share the two cores with the speech
	@# recogniser's tests.
	TEST_POSTGRES_URL="$${TEST_POSTGRES_URL:-$(if $(filter 0,$(shell id -u)),$(TEST_DB_URL),)}" \
		$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /e2e)
	TEST_POSTGRES_URL="$${TEST_POSTGRES_URL:-$(if $(filter 0,$(shell id -u)),$(TEST_DB_URL),)}" \
		$(GO) test -count=1 -timeout 20m ./e2e/

deps-run:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(RUN_PKGS)"

deps-test:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(TEST_PKGS)"
	@command -v mailpit >/dev/null || [ -x "$$($(GO) env GOPATH)/bin/mailpit" ] || $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

install-pkgs:
	@missing=""; \
	for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "missing Debian packages:$$missing (install them as root)"; exit 1; fi; \
	fi

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go mod tidy would change go.mod or go.sum:"; $(GO) mod tidy -diff; exit 1; }
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

## unit: unit tests only (no SIPp)
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

## e2e: end-to-end tests against the real binary with SIPp peers
e2e: deps-test
	$(GO) test -count=1 -timeout 15m ./e2e/

## fuzz: run every fuzz target for FUZZTIME each (default 20s)
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## bench: concurrent call benchmark (see bench/RESULTS.md)
N ?= 100
bench: build deps-test
	bash bench/calls.sh $(N)

clean:
	rm -rf bin
