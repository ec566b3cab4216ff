#!/usr/bin/env bash
# Every check CI runs, in the order CI runs them. Installs what it needs on a fresh machine
# (rustfmt, clippy, the wasm32 targets, wasm-bindgen-cli at the Cargo.lock version, chromium from
# apt, the npm dev dependencies from package-lock.json, cargo-fuzz) and needs the conformance
# corpus at ../shared/conformance beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Node 20+ runs the page's server and the JS tests (fs.openAsBlob, fetch, web streams).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "$(basename "$0"): Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

step "toolchain: rustfmt, clippy, wasm32v1-none, wasm32-unknown-unknown"
rustup component add rustfmt clippy >/dev/null
rustup target add wasm32v1-none wasm32-unknown-unknown >/dev/null

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "core builds without std (wasm32v1-none) and for wasm32-unknown-unknown"
cargo build -p modelsieve-core --target wasm32v1-none --locked
cargo build -p modelsieve-core --target wasm32-unknown-unknown --profile wasm --locked

step "cargo test"
cargo test --workspace --locked

step "WASM package and web page: build, chromium, npm ci"
scripts/build-web.sh
[ -x /usr/bin/chromium ] || { apt-get update && apt-get install -y chromium; }
npm ci --no-audit --no-fund

step "JS API tests (Node), browser tests (headless Chromium), edge worker tests (workerd)"
node --test wasm/test/*.test.mjs web/test/*.test.mjs worker/test/*.test.mjs

step "fuzz smoke run"
fuzz/ci.sh

printf '\n==> all checks passed\n'
