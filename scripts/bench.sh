#!/usr/bin/env bash
# The standard load run (issue 6): builds tacit, starts a real `tacit serve`
# on a fresh demo store over mutual TLS on loopback, measures the ceiling (a
# bare gRPC unary call over the same TLS whose handler makes one durable
# bbolt Batch write of 1 KiB) and then each operation, 64 clients for 10 s
# each. It ends with one line per operation: NAME ops/s p99 ratio.
#
#   scripts/bench.sh                      # the standard set
#   scripts/bench.sh --duration 3s        # any `tacit bench` flag
#   scripts/bench.sh --data /tmp/tacit-1m --ops ceiling,get,deemed
#
# Absolute figures on a shared machine are noisy; the ratio to the ceiling,
# measured in the same run, is what we track.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/tacit
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/tacit
"$bin" bench --concurrency 64 --duration 10s "$@"
