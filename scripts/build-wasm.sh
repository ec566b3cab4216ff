#!/usr/bin/env bash
# Builds the npm package's WebAssembly: wasm/pkg/ (wasm-bindgen --target web output) from the
# modelsieve-wasm crate. Installs what it needs on a fresh machine: the wasm32-unknown-unknown
# target, and wasm-bindgen-cli at exactly the Cargo.lock version of wasm-bindgen (a few minutes,
# once). Idempotent: when nothing changed it costs one no-op cargo build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '==> %s\n' "$*" >&2; }

if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-unknown-unknown >/dev/null 2>&1 \
    || { step "rustup target add wasm32-unknown-unknown failed"; exit 1; }
fi

# The CLI must match the wasm-bindgen crate exactly: it rewrites the module the macro emitted.
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$version" ]; then
  step "wasm-bindgen not found in Cargo.lock"
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $version" ]; then
  step "installing wasm-bindgen-cli $version (takes a few minutes, once)"
  # --locked can fail when a locked dependency has left the registry; then resolve afresh.
  cargo install wasm-bindgen-cli --version "$version" --locked \
    || cargo install wasm-bindgen-cli --version "$version"
fi

step "cargo build -p modelsieve-wasm --target wasm32-unknown-unknown --profile wasm"
cargo build -p modelsieve-wasm --target wasm32-unknown-unknown --profile wasm --locked

input=target/wasm32-unknown-unknown/wasm/modelsieve_wasm.wasm
out=wasm/pkg
if [ ! -f "$out/modelsieve_wasm_bg.wasm" ] || [ ! -f "$out/modelsieve_wasm.js" ] \
  || [ "$input" -nt "$out/modelsieve_wasm_bg.wasm" ]; then
  step "wasm-bindgen --target web --out-dir $out"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$out" "$input"
fi
ls -l "$out"/*.wasm >&2
