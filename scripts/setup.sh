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

# Debian packages: headless Chromium for the page tests (playwright's own
# download is not reachable); PHP's CLI (its built-in server is an origin of
# the differential suite), Python's venv module (for the Flask origin) and
# wrk (the benchmarks' load generator).
debs=()
[[ $want_browser == 1 && ! -x /usr/bin/chromium ]] && debs+=(chromium)
command -v php >/dev/null || debs+=(php-cli)
python3 -c 'import ensurepip, venv' 2>/dev/null || debs+=(python3-venv)
# wrk drives the benchmarks (npm run bench:edge, bench/attack.js).
command -v wrk >/dev/null || debs+=(wrk)
if (( ${#debs[@]} )); then
  say "installing Debian ${debs[*]}"
  if [[ $(id -u) == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${debs[@]}" >/dev/null
fi

# The pinned Flask of the differential suite, in its own virtual environment.
venv=target/flask-venv
req_hash=$(sha256sum tests/origins/requirements.txt | cut -d' ' -f1)
if [[ "$(cat $venv/.portcullis-requirements 2>/dev/null)" != "$req_hash" ]]; then
  say "making $venv (Flask for the differential suite)"
  rm -rf $venv
  python3 -m venv $venv
  $venv/bin/pip install --quiet --disable-pip-version-check -r tests/origins/requirements.txt
  echo "$req_hash" > $venv/.portcullis-requirements
fi
say "ready"
