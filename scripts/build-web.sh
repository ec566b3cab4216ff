#!/usr/bin/env bash
# Builds the static page in web/: compiles the WebAssembly package (scripts/build-wasm.sh) and
# copies it into web/vendor/modelsieve/ (gitignored), where the page, its worker and
# <model-sieve> import it. There is no other build step: web/ is plain ES modules.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-wasm.sh

dest=web/vendor/modelsieve
rm -rf "$dest"
mkdir -p "$dest/pkg"
cp wasm/index.js wasm/index.d.ts wasm/package.json "$dest/"
cp wasm/pkg/*.js wasm/pkg/*.wasm "$dest/pkg/"
echo "==> web/ is ready: $(du -sh "$dest" | cut -f1) of package in $dest"
