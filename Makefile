# The two entry points of the README. Both need root on Debian 12 (lab hosts
# are real sshd + PostgreSQL 15 processes on 127.0.0.x).

LAB_DIR ?= /var/tmp/sshplay-lab
HOSTS   ?= 3
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: demo test setup build bench

# Install what lab hosts need (Debian packages), once.
setup:
	@command -v sshd >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server sudo >/dev/null; }
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
