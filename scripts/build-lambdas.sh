#!/usr/bin/env bash
# Build the pipelines' Lambda functions for the provided.al2023 runtime:
#   dist/lambdas/<function>-<arch>.zip, each holding one executable named bootstrap.
# Usage: scripts/build-lambdas.sh [arch...]   (default: amd64 arm64; AWS calls them x86_64 and arm64)
# Deploying them: lambdas/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

functions=(initialize-training initialize-inference monitor-performance)
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
out=dist/lambdas
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/zipbootstrap" ./lambdas/internal/zipbootstrap
for arch in "${archs[@]}"; do
  case "$arch" in
    amd64|arm64) ;;
    *) echo "build-lambdas: unsupported arch $arch (want amd64 or arm64)" >&2; exit 1 ;;
  esac
  for fn in "${functions[@]}"; do
    # lambda.norpc leaves out the RPC server of the retired go1.x runtime; provided.al2023 does not use it.
    GOOS=linux GOARCH="$arch" CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' \
      -o "$work/$fn-$arch" "./lambdas/cmd/$fn"
    "$work/zipbootstrap" "$work/$fn-$arch" "$out/$fn-$arch.zip"
    echo "$out/$fn-$arch.zip"
  done
done
