#!/usr/bin/env bash
# Builds the npm package's wasm into pkg/dist/ twice from one core:
#   rules/  core without the estimator: the module a page loads at once.
#           opt-level "z" + wasm-opt -Oz, because its budget is bytes.
#   full/   core with zxcvbn and the common-password list, loaded on demand.
#           opt-level 3 + wasm-opt -O3: zxcvbn at "z" measured 2.4x slower
#           per check, and the per-keystroke budget is time.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-unknown-unknown
WASM_OPT="${WASM_OPT_BIN:-node_modules/.bin/wasm-opt}"
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
          --enable-mutable-globals --enable-reference-types --enable-multivalue)

build() { # name, wasm-opt level, cargo opt-level, extra cargo args...
  local name=$1 level=$2 opt=$3; shift 3
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt cargo build --locked --release -q \
    -p portcullis-browser --target "$TARGET" --target-dir "target/$name" "$@"
  rm -rf "pkg/dist/$name"
  wasm-bindgen --target web --out-dir "pkg/dist/$name" --out-name "portcullis_$name" \
    "target/$name/$TARGET/release/portcullis_browser.wasm"
  "$WASM_OPT" "$level" "${FEATURES[@]}" "pkg/dist/$name/portcullis_${name}_bg.wasm" \
    -o "pkg/dist/$name/portcullis_${name}_bg.wasm"
}

build rules -Oz z
build full -O3 3 --features estimator
# The message catalogs, as ES modules (scripts/build-locales.mjs).
node scripts/build-locales.mjs
# The stamp npm pack's prepack compares (scripts/pkg-stamp.mjs).
node scripts/pkg-stamp.mjs write
echo "built pkg/dist:"
for f in pkg/dist/*/*.wasm pkg/dist/*/*.js; do
  printf '  %-40s %8d bytes, %7d gzip -9\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
