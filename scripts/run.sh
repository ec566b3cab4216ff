#!/usr/bin/env bash
# The main job: build the scanner and scan the sample model folder shipped in the repository.
# Installs nothing beyond the Rust toolchain the machine has. Extra arguments are passed to
# `modelsieve scan` (for example `--format json`).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p modelsieve-cli
echo "==> target/release/modelsieve scan samples/ $*"
# Exit code 1 means "findings at or above --fail-on", which is the point of the sample folder.
status=0
target/release/modelsieve scan samples/ "$@" || status=$?
if [ "$status" -eq 2 ]; then
  exit 2
fi
echo "==> exit code $status (0 clean, 1 findings at or above --fail-on, 2 usage or I/O error)"
