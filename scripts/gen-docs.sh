#!/usr/bin/env bash
# Regenerates the API reference docs/api.md from proto/ (services, methods,
# messages field by field, enums, with their comments) with the pinned
# protoc-gen-doc, through buf and buf.gen.docs.yaml. Commit the result;
# scripts/verify-gen.sh fails when it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh >/dev/null
export PATH="$PWD/.tools/bin:$PATH"
mkdir -p docs
buf generate --template buf.gen.docs.yaml
echo "wrote docs/api.md"
