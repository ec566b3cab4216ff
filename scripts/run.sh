#!/usr/bin/env bash
# The main job: build the scanner to WebAssembly and serve the drag-and-drop page (web/) on
# 127.0.0.1, printing its URL. Nothing is uploaded: the page scans files inside the browser tab.
# Installs what the build needs (the wasm32 target, wasm-bindgen-cli at the Cargo.lock version).
# Extra arguments go to web/serve.mjs (for example `--port 9000`). The repository's samples/
# folder is served too, for the <model-sieve> example page.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 20+ runs the page's server and the JS tests (fs.openAsBlob, fetch, web streams).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "$(basename "$0"): Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

scripts/build-web.sh
exec node web/serve.mjs --mount /samples=samples "$@"
