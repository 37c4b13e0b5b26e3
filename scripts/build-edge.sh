#!/usr/bin/env bash
# Builds the Worker (crates/edge) with worker-build into crates/edge/build/.
# worker-build would download wasm-bindgen, esbuild and wasm-opt; these
# machines reach only the package registries, so it is pointed at the
# versions installed by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
cd crates/edge
worker-build --release
for f in build/index_bg.wasm build/index.js; do
  printf 'built crates/edge/%-22s %8d bytes, %7d gzip -9\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
