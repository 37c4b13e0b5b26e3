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
# The fetch handler as a plain module handler rather than worker-build's
# per-request class behind Proxies (see the script).
node ../../scripts/worker-entry.mjs build/index.js
# The wasm's "function names" section is a tenth of the bundle (~95 KB
# gzip). The Worker aborts on a panic (panic = "abort") and logs its own
# errors, so the names buy little in production; PORTCULLIS_KEEP_NAMES=1
# keeps them for debugging.
if [[ "${PORTCULLIS_KEEP_NAMES:-}" != 1 ]]; then
  "$WASM_OPT_BIN" --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    build/index_bg.wasm -o build/index_bg.wasm
fi
for f in build/index_bg.wasm build/index.js; do
  printf 'built crates/edge/%-22s %8d bytes, %7d gzip -9\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
# The console's static assets (wrangler.toml [assets]): console/ and the
# demo's stylesheet and icon, which it shares.
cd ../..
rm -rf crates/edge/build/console
mkdir -p crates/edge/build/console
cp console/* www/style.css www/favicon.svg crates/edge/build/console/
printf 'built crates/edge/build/console/       %d files, %8d bytes\n' "$(ls crates/edge/build/console | wc -l)" "$(cat crates/edge/build/console/* | wc -c)"
