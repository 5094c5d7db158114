# Tidings build, test and lint. `make` builds ./tidings; `make help` lists targets.
# The binary is built as the Dockerfile builds it: static (CGO_ENABLED=0),
# -trimpath, and version, commit and date stamped with -ldflags -X.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
GO      ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
PREFIX  ?= /usr/local

.PHONY: all build test lint fmt install docker clean help

all: build

build: ## build ./tidings (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o tidings ./cmd/tidings

test: ## run the tests, as CI does
	$(GO) test ./...

lint: ## gofmt, go vet and staticcheck (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo "gofmt: run make fmt"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

fmt: ## gofmt -w every file
	gofmt -w .

install: ## copy ./tidings to $(PREFIX)/bin (make build first; then sudo make install)
	@test -x tidings || { echo "no ./tidings: run make build first (as yourself, not root)"; exit 1; }
	install -D -m 0755 tidings $(DESTDIR)$(PREFIX)/bin/tidings

docker: ## build the container image tidings:$(VERSION)
	docker build -t tidings:$(VERSION) -t tidings:latest \
	  --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) .

clean: ## remove the built binary
	rm -f tidings

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'
