#!/usr/bin/env bash
# Installs the pinned tools that generate and check the API:
# buf (from npm) and the protoc plugins (go install), including
# protoc-gen-doc for the API reference in docs/api.md. Idempotent and offline
# after the first run. Tools go to .tools/ inside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
PROTOC_GEN_DOC_VERSION=v1.5.1

TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin"

if [ ! -x "$TOOLS/bin/buf" ] || ! "$TOOLS/bin/buf" --version 2>/dev/null | grep -qx "$BUF_VERSION"; then
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "@bufbuild/buf@$BUF_VERSION" >/dev/null
  ln -sf "$TOOLS/npm/node_modules/.bin/buf" "$TOOLS/bin/buf"
fi
if [ ! -x "$TOOLS/bin/protoc-gen-go" ]; then
  GOBIN="$TOOLS/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [ ! -x "$TOOLS/bin/protoc-gen-go-grpc" ]; then
  GOBIN="$TOOLS/bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi
if [ ! -x "$TOOLS/bin/protoc-gen-doc" ] || ! "$TOOLS/bin/protoc-gen-doc" --version 2>/dev/null | grep -q " version ${PROTOC_GEN_DOC_VERSION#v}\$"; then
  GOBIN="$TOOLS/bin" go install "github.com/pseudomuto/protoc-gen-doc/cmd/protoc-gen-doc@$PROTOC_GEN_DOC_VERSION"
fi
echo "tools ready in $TOOLS/bin: buf $("$TOOLS/bin/buf" --version)"
