#!/usr/bin/env bash
# Builds the temporal CLI (its dev server runs the tests and the demo) into .tools/bin with
# `go install`, unless one is already there or on PATH. v1.5.1 is the newest tag that
# go-installs; the older tags are fallbacks for a module proxy that lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."

tools_bin="$PWD/.tools/bin"
if [ -x "$tools_bin/temporal" ] || [ -n "${TEMPORAL_CLI_PATH:-}" ] || command -v temporal >/dev/null 2>&1; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-temporal-cli: Go is not installed; the tests will let the Temporal SDK download the CLI instead (needs internet)" >&2
  exit 0
fi

mkdir -p "$tools_bin"
for version in v1.5.1 v1.5.0 v1.4.1; do
  echo "install-temporal-cli: go install github.com/temporalio/cli/cmd/temporal@$version" >&2
  if GOBIN="$tools_bin" CGO_ENABLED=0 go install "github.com/temporalio/cli/cmd/temporal@$version"; then
    exit 0
  fi
done
echo "install-temporal-cli: could not build the temporal CLI" >&2
exit 1
