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

build:
	go build -o bin/sshplay ./cmd/sshplay

# Bring up $(HOSTS) lab hosts and turn on TLS on all of them, ending with the proof.
demo: setup build
	bin/sshplay lab up $(HOSTS) --dir $(LAB_DIR)
	bin/sshplay play postgres-tls -i $(LAB_DIR)/inventory.ini
	bin/sshplay pg status -i $(LAB_DIR)/inventory.ini

# Every test: unit, real OpenSSH sshd, real PostgreSQL.
test: setup
	go vet ./...
	go test -race -count=1 -timeout 25m ./...

bench: setup
	go run ./bench
