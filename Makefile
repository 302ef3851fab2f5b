# mdlc — `make demo` runs the pipelines locally end to end; `make test` runs the whole test suite.
# Both install what they need first (`make deps`).
SHELL := /bin/bash

# Pinned Temporal CLI (dev server + web UI). v1.5.1 is the newest release that `go install` builds.
TEMPORAL_CLI_VERSION ?= v1.5.1
# Built once per machine into a versioned cache, shared by every clone of the repository.
TOOLS_DIR ?= $(HOME)/.cache/mdlc/tools
TEMPORAL := $(TOOLS_DIR)/temporal-$(TEMPORAL_CLI_VERSION)
# Cluster mode (MDLC_TEMPORAL=cluster): Temporal's own server on PostgreSQL, at the server version inside the
# pinned CLI, its schema tool, and the web UI server at the version the CLI embeds (builds with Go 1.26).
TEMPORAL_SERVER_VERSION ?= v1.29.1
TEMPORAL_SERVER := $(TOOLS_DIR)/temporal-server-$(TEMPORAL_SERVER_VERSION)
TEMPORAL_SQL_TOOL := $(TOOLS_DIR)/temporal-sql-tool-$(TEMPORAL_SERVER_VERSION)
TEMPORAL_UI_VERSION ?= v2.42.1
TEMPORAL_UI := $(TOOLS_DIR)/temporal-ui-server-$(TEMPORAL_UI_VERSION)
CLUSTER_ENV := MDLC_TEMPORAL_SERVER_BIN=$(TEMPORAL_SERVER) MDLC_TEMPORAL_SQL_TOOL_BIN=$(TEMPORAL_SQL_TOOL) MDLC_TEMPORAL_UI_BIN=$(TEMPORAL_UI)
# up and demo build the cluster's tools only when asked for the cluster.
STACK_DEPS := apt-deps temporal $(if $(filter cluster,$(MDLC_TEMPORAL)),cluster-deps)
# Temporal's static check that workflow code is deterministic.
WORKFLOWCHECK_VERSION ?= v0.6.0
WORKFLOWCHECK := $(TOOLS_DIR)/workflowcheck-$(WORKFLOWCHECK_VERSION)
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)
# Debian packages: XGBoost 1.7 with its command-line program (localaws trains with it), libxgboost-dev and gcc
# (localaws predicts through libxgboost's C API, with cgo), the AWS CLI (a second, independent client for
# localaws in tests), Python XGBoost and scikit-learn (test oracles), curl (scripts), docker-compose (validates
# docker-compose.yml; no engine needed).
APT_PACKAGES := xgboost libxgboost-dev gcc awscli python3-xgboost python3-sklearn curl docker-compose
GO_TEST_FLAGS ?= -race -count=1 -timeout 60m
# PostgreSQL: the database of the cluster mode (MDLC_TEMPORAL=cluster) and its tests.
APT_PACKAGES += postgresql

.PHONY: deps apt-deps temporal temporal-path cluster-deps npm-deps build lint test test-under-load demo up down status lambdas

## deps: install everything the tests and the demo need.
deps: apt-deps temporal cluster-deps npm-deps $(WORKFLOWCHECK) $(STATICCHECK)

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

temporal: $(TEMPORAL)
$(TEMPORAL):
	@echo "building Temporal CLI $(TEMPORAL_CLI_VERSION) into $(TOOLS_DIR) (about 3 minutes, once per machine)"
	@mkdir -p $(TOOLS_DIR)/tmp
	GOBIN=$(TOOLS_DIR)/tmp go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	mv $(TOOLS_DIR)/tmp/temporal $(TEMPORAL)

$(WORKFLOWCHECK):
	@mkdir -p $(TOOLS_DIR)/tmp
	GOBIN=$(TOOLS_DIR)/tmp go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
	mv $(TOOLS_DIR)/tmp/workflowcheck $(WORKFLOWCHECK)

$(STATICCHECK):
	@mkdir -p $(TOOLS_DIR)/tmp
	GOBIN=$(TOOLS_DIR)/tmp go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS_DIR)/tmp/staticcheck $(STATICCHECK)

## cluster-deps: the Temporal server, temporal-sql-tool and the web UI server for MDLC_TEMPORAL=cluster.
cluster-deps: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL) $(TEMPORAL_UI)
$(TEMPORAL_SERVER):
	@echo "building Temporal server $(TEMPORAL_SERVER_VERSION) into $(TOOLS_DIR) (a few minutes, once per machine)"
	@mkdir -p $(TOOLS_DIR)/tmp-server
	GOBIN=$(TOOLS_DIR)/tmp-server go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(TOOLS_DIR)/tmp-server/server $(TEMPORAL_SERVER)
$(TEMPORAL_SQL_TOOL):
	@mkdir -p $(TOOLS_DIR)/tmp-sql
	GOBIN=$(TOOLS_DIR)/tmp-sql go install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(TOOLS_DIR)/tmp-sql/sql $(TEMPORAL_SQL_TOOL)
$(TEMPORAL_UI):
	@mkdir -p $(TOOLS_DIR)/tmp-ui
	GOBIN=$(TOOLS_DIR)/tmp-ui go install github.com/temporalio/ui-server/v2/cmd/server@$(TEMPORAL_UI_VERSION)
	mv $(TOOLS_DIR)/tmp-ui/server $(TEMPORAL_UI)

temporal-path: $(TEMPORAL)
	@echo $(TEMPORAL)

npm-deps:
	@if [ -f parity/js/package-lock.json ]; then npm ci --prefix parity/js --no-audit --no-fund --loglevel=error; fi

build:
	go build ./...

## test: the whole suite — unit tests, and integration tests against the real servers they start themselves.
lint: $(WORKFLOWCHECK) $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

test: deps lint
	MDLC_TEMPORAL_BIN=$(TEMPORAL) $(CLUSTER_ENV) go test $(GO_TEST_FLAGS) ./...

## test-under-load: the whole suite while stress-ng keeps $(LOAD_CPU_WORKERS) CPU hogs busy beside it — what a
## busy CI machine or laptop does to it. Deadlines in the tests follow progress, not the wall clock, so it passes.
LOAD_CPU_WORKERS ?= 4
# Everything runs about three times slower beside the hogs; the timeout says so.
LOAD_TEST_FLAGS ?= -race -count=1 -timeout 180m
test-under-load: deps lint
	@dpkg -s stress-ng >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends stress-ng >/dev/null; }
	@stress-ng --cpu $(LOAD_CPU_WORKERS) --quiet & load=$$!; trap 'kill $$load 2>/dev/null' EXIT; \
	  MDLC_TEMPORAL_BIN=$(TEMPORAL) $(CLUSTER_ENV) go test $(LOAD_TEST_FLAGS) ./...

## demo: start the local stack, seed data, train, run batch inference, print the decision; the stack stays up.
# MDLC_TEMPORAL=cluster runs Temporal's server on PostgreSQL instead of the dev server; MDLC_WORKERS=N starts N workers.
demo: $(STACK_DEPS)
	MDLC_TEMPORAL_BIN=$(TEMPORAL) $(CLUSTER_ENV) scripts/demo.sh

## up / down / status: the local stack (Temporal server + web UI, localaws, workers) in the background.
up: $(STACK_DEPS)
	MDLC_TEMPORAL_BIN=$(TEMPORAL) $(CLUSTER_ENV) scripts/stack.sh up
down:
	scripts/stack.sh down
status:
	scripts/stack.sh status

## lambdas: deployable zips (bootstrap, provided.al2023, amd64 and arm64) in dist/lambdas/.
lambdas:
	scripts/build-lambdas.sh
