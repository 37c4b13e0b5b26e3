#!/usr/bin/env bash
# Installs what the build and the tests need, from the project's own files,
# skipping each step whose result is already present. A fresh machine has
# Rust (rustup), Node 20 and npm; everything else comes from here.
#   --no-browser   skip Chromium (the demo does not need it)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=1
[[ "${1:-}" == "--no-browser" ]] && want_browser=0

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Rust target for wasm (rust-toolchain.toml lists it; older rustup does not add it by itself).
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen CLI: must equal the wasm-bindgen crate version in Cargo.lock.
wb_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]]; then
  say "installing wasm-bindgen-cli $wb_version (about 9 minutes on 2 cores, once)"
  # Not --locked: the CLI's own lock file can name versions the registry lacks.
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

# worker-build: must equal the worker crate version in Cargo.lock.
wk_version=$(awk '/^name = "worker"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [[ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$wk_version" ]]; then
  say "installing worker-build $wk_version (about 10 minutes on 2 cores, once)"
  cargo install worker-build --version "$wk_version"
fi

# Node tooling (binaryen's wasm-opt, esbuild, wrangler/miniflare with workerd,
# TypeScript, playwright-core, Vite, the benchmark peers).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "$(cat node_modules/.portcullis-lock 2>/dev/null)" != "$lock_hash" ]]; then
  say "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.portcullis-lock
fi

# Headless Chromium for the page tests (Debian's package; playwright's own download is not reachable).
if [[ $want_browser == 1 && ! -x /usr/bin/chromium ]]; then
  say "installing Debian chromium"
  if [[ $(id -u) == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
say "ready"
