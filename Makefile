# Common tasks. The test command is the one in the README; .ci/run runs it
# with everything CI needs.
GO ?= go

.PHONY: build install run test race vet fmt fuzz ci bench clean

build:
	$(GO) build -o holdfast ./cmd/holdfast

# install puts holdfast in $(go env GOPATH)/bin (or $GOBIN), as the README's
# walkthrough expects.
install:
	$(GO) install ./cmd/holdfast

run: build
	./holdfast serve

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fuzz:
	FUZZTIME=3000000x bash .ci/run

ci:
	bash .ci/run

bench:
	bash bench/run.sh

clean:
	rm -rf holdfast holdfast-data
