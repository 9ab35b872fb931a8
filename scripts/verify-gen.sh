#!/usr/bin/env bash
# Fails when the committed api/ differs from what proto/ generates, when
# docs/api.md differs from what scripts/gen-docs.sh makes of proto/, when
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
buf generate --template buf.gen.docs.yaml -o "$scratch"
if ! diff "$scratch/docs/api.md" docs/api.md >/dev/null 2>&1; then
  diff "$scratch/docs/api.md" docs/api.md 2>&1 | head -40 || true
  echo "docs/api.md is out of date: run scripts/gen-docs.sh" >&2
  exit 1
fi
# Breaking-change guard: the API must stay compatible with the previous
# commit and with the first published tacit.v1 (adding is fine; renaming or
# removing is not). Skipped outside a git checkout.
if git rev-parse --verify -q HEAD~1 >/dev/null 2>&1; then
  buf breaking --against ".git#ref=HEAD~1"
  first=$(git log --diff-filter=A --format=%H -- proto/tacit/v1/consultation.proto | tail -1)
  if [ -n "$first" ]; then
    buf breaking --against ".git#ref=$first"
  fi
fi
echo "generated code and docs/api.md match proto/; buf lint and buf breaking clean"
