#!/usr/bin/env bash
# The project's test command: formatting, vet, and every test with the race
# detector (unit tests with an injected clock, the storage suite, and
# end-to-end tests that build and drive the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null | grep -v '^api/' || find cmd pkg -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -race -count=1 -timeout 15m ./...
