# The two entry points of the README. Both need root on Debian 12 (lab hosts
# are real sshd + PostgreSQL 15 processes on 127.0.0.x).

LAB_DIR ?= /var/tmp/sshplay-lab
HOSTS   ?= 3
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: demo test setup build bench

PG_BIN ?= /usr/lib/postgresql/15/bin

# Install what lab hosts need (Debian packages: OpenSSH server, sudo,
# PostgreSQL 15), once; nothing is installed when it is already there.
setup:
	@pkgs=""; \
	  command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || pkgs="$$pkgs openssh-server"; \
	  command -v sudo >/dev/null 2>&1 || pkgs="$$pkgs sudo"; \
	  [ -x $(PG_BIN)/postgres ] || pkgs="$$pkgs postgresql-15"; \
	  if [ -n "$$pkgs" ]; then \
	    echo "setup: installing$$pkgs"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null; \
	  fi
	@mkdir -p /run/sshd

# `make build VERSION=v1.2.3` stamps the version `sshplay --version` prints;
# without it the binary reports what Go recorded (module version, commit).
build:
	go build $(if $(VERSION),-ldflags "-X main.version=$(VERSION)") -o bin/sshplay ./cmd/sshplay

# Bring up $(HOSTS) lab hosts and turn on TLS on all of them, ending with the proof.
demo: setup build
	bin/sshplay lab up $(HOSTS) --dir $(LAB_DIR)
	bin/sshplay play postgres-tls -i $(LAB_DIR)/inventory.ini
	bin/sshplay pg status -i $(LAB_DIR)/inventory.ini

# Every test: unit, real OpenSSH sshd, real PostgreSQL; then every fuzz
# target for a few seconds.
test: setup
	go vet ./...
	go test -race -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory fuzz-short

bench: setup
	go run ./bench

# Every fuzz target for FUZZTIME each (one target per go test: -fuzz takes
# one; a target missing from its package fails the run). Inputs that once
# broke a property live in each package's testdata/fuzz/ and run with
# plain `go test` too. A run that fails with "context deadline exceeded"
# and writes no failing input is Go's own race at the end of -fuzztime
# (golang/go#75804), reported and not counted.
FUZZTIME ?= 3s
FUZZ_TARGETS = \
	inventory:FuzzINIInventory inventory:FuzzYAMLInventory inventory:FuzzPythonLiteral \
	inventory:FuzzHostRange inventory:FuzzHostPattern \
	pg:FuzzConninfo pg:FuzzPassfile pg:FuzzScanReloadLog pg:FuzzSplitSeverity \
	pg/pgconf:FuzzLexLine pg/pgconf:FuzzSetGet pg/pgconf:FuzzRemove pg/pgconf:FuzzParse \
	pg/pghba:FuzzEnforceSSL pg/pghba:FuzzParseHBA pg/pghba:FuzzPlainVerdict \
	pki:FuzzDNSName internal/yamlx:FuzzValueMatchesYAMLv3 internal/yamlx:FuzzCheckCountsWhatAliasesAdd \
	playbooks:FuzzParse playbooks:FuzzParseKV playbooks:FuzzParseDoc \
	internal/shlex:FuzzSplit tasks/core:FuzzParseMode transport:FuzzSSHArgs

.PHONY: fuzz-short
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t#*:}; \
	  go test -list=^$$name$$ ./$$pkg | grep -qx $$name || { echo "fuzz-short: no $$name in ./$$pkg"; exit 1; }; \
	  if out=$$(go test -run=^$$ -fuzz=^$$name$$ -fuzztime=$(FUZZTIME) ./$$pkg 2>&1); then \
	    echo "fuzz $$pkg $$name: $$(echo "$$out" | grep '^fuzz: elapsed' | tail -1)"; continue; \
	  fi; \
	  echo "$$out"; \
	  if ! echo "$$out" | grep -q 'Failing input written to' && echo "$$out" | grep -q '^    context deadline exceeded$$'; then \
	    echo "fuzz-short: $$name: Go's -fuzztime deadline race (golang/go#75804), no failing input; not counted"; continue; \
	  fi; \
	  exit 1; \
	done
