#!/usr/bin/env bash
# Every test: formatting and lints (host and wasm32), the Rust tests with and
# without the estimator, then the Node harness (the packed npm package, its
# TypeScript types, the edge Worker on workerd, and the pages in headless
# Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (host)"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p portcullis-core --all-targets --features schema -- -D warnings
step "cargo clippy (wasm32)"
cargo clippy --locked -p portcullis-browser --all-targets --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p portcullis-browser --all-targets --features estimator --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p portcullis-edge --all-targets --target wasm32-unknown-unknown -- -D warnings
step "cargo test"
cargo test --locked --workspace
step "cargo test (the policy's JSON Schema is the one its types generate)"
cargo test --locked -p portcullis-core --features schema --lib --test schema -- schema
step "cargo test (core without the estimator: the browser's first module)"
cargo test --locked -p portcullis-core --no-default-features --features nfkc --lib
step "build the npm package"
bash scripts/build-pkg.sh
step "build the edge Worker"
bash scripts/build-edge.sh
rm -rf tests/.tmp
step "node --test tests/"
node --test --test-concurrency=1 tests/
