# mdlc — `make demo` runs the pipelines locally end to end; `make test` runs the whole test suite.
# Both install what they need first (`make deps`).
SHELL := /bin/bash

# Pinned Temporal CLI (dev server + web UI). v1.5.1 is the newest release that `go install` builds.
TEMPORAL_CLI_VERSION ?= v1.5.1
# Built once per machine into a versioned cache, shared by every clone of the repository.
TOOLS_DIR ?= $(HOME)/.cache/mdlc/tools
TEMPORAL := $(TOOLS_DIR)/temporal-$(TEMPORAL_CLI_VERSION)
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

.PHONY: deps apt-deps temporal temporal-path npm-deps build lint test demo up down status lambdas

## deps: install everything the tests and the demo need.
deps: apt-deps temporal npm-deps $(WORKFLOWCHECK) $(STATICCHECK)

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
	MDLC_TEMPORAL_BIN=$(TEMPORAL) go test $(GO_TEST_FLAGS) ./...

## demo: start the local stack, seed data, train, run batch inference, print the decision; the stack stays up.
demo: apt-deps temporal
	MDLC_TEMPORAL_BIN=$(TEMPORAL) scripts/demo.sh

## up / down / status: the local stack (dev server + web UI, localaws, worker) in the background.
up: apt-deps temporal
	MDLC_TEMPORAL_BIN=$(TEMPORAL) scripts/stack.sh up
down:
	scripts/stack.sh down
status:
	scripts/stack.sh status

## lambdas: deployable zips (bootstrap, provided.al2023, amd64 and arm64) in dist/lambdas/.
lambdas:
	scripts/build-lambdas.sh
