#!/usr/bin/env bash
# Fails when the committed api/ differs from what proto/ generates, when
# buf lint fails, or (against the main branch, when there is one) when the
# API changed in a breaking way.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh >/dev/null
export PATH="$PWD/.tools/bin:$PATH"
buf lint
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
buf generate --template buf.gen.yaml -o "$scratch"
if ! diff -r "$scratch/api" api >/dev/null; then
  diff -r "$scratch/api" api | head -40
  echo "api/ is out of date with proto/: run scripts/gen.sh and commit" >&2
  exit 1
fi
# Breaking-change guard against the first commit that has proto/ on main.
against=${BUF_BREAKING_AGAINST:-}
if [ -z "$against" ] && git rev-parse --verify -q origin/main >/dev/null; then
  against=".git#branch=origin/main"
fi
if [ -n "$against" ]; then
  buf breaking --against "$against"
fi
echo "generated code matches proto/; buf lint clean"
