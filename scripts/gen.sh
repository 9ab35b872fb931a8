#!/usr/bin/env bash
# Regenerates api/ from proto/ with the pinned local plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh >/dev/null
export PATH="$PWD/.tools/bin:$PATH"
buf lint
rm -rf api/tacit
buf generate
scripts/gen-docs.sh
