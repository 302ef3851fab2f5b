# mdlc — the two commands a user needs are `make demo` (run the pipelines locally) and `make test`.
SHELL := /bin/bash

# Pinned Temporal CLI (dev server + web UI). v1.5.1 is the newest that `go install` builds (see README).
TEMPORAL_CLI_VERSION ?= v1.5.1
BIN := $(CURDIR)/.bin
TEMPORAL := $(BIN)/temporal
APT_PACKAGES := xgboost awscli python3-sklearn python3-xgboost docker-compose

.PHONY: deps apt-deps temporal test test-short build lambdas

## deps: install everything the tests and the demo need (Debian packages, the pinned Temporal CLI).
deps: apt-deps temporal

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

temporal: $(TEMPORAL)
$(TEMPORAL):
	@echo "building Temporal CLI $(TEMPORAL_CLI_VERSION) into $(BIN) (about 3 minutes, once)"
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

build:
	go build ./...

## test: the whole suite (unit, integration against real servers it starts itself).
test: deps
	go vet ./...
	MDLC_TEMPORAL_BIN=$(TEMPORAL) go test -race -count=1 -timeout 60m ./...
