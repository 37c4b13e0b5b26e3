#!/usr/bin/env bash
# Runs the project's wrangler (node_modules, from package-lock.json) with a
# Node.js it accepts: wrangler 4 needs Node >= 22.12 and these machines have
# Node 20. When the machine's node is older, Node 22 comes from the npm
# registry (the `node` package, which installs the platform's binary package)
# into node_modules/.portcullis-node/, once.
#   bash scripts/wrangler.sh dev …     bash scripts/wrangler.sh deploy
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=22.23.3
NODE_DIR=node_modules/.portcullis-node

new_enough() { # a node binary; true when it runs wrangler
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

node_bin=$(command -v node || true)
if [[ -z "$node_bin" ]] || ! new_enough "$node_bin"; then
  node_bin=$NODE_DIR/node_modules/node/bin/node
  if [[ "$("$node_bin" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
    printf '\033[1m[wrangler]\033[0m installing Node.js %s for wrangler into %s (once)\n' "$NODE_VERSION" "$NODE_DIR" >&2
    rm -rf "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node@$NODE_VERSION" >&2
  fi
fi
if [[ ! -f node_modules/wrangler/bin/wrangler.js ]]; then
  echo "wrangler is not installed: run bash scripts/setup.sh" >&2
  exit 1
fi
# No usage metrics from local runs.
export WRANGLER_SEND_METRICS="${WRANGLER_SEND_METRICS:-false}"
exec "$node_bin" node_modules/wrangler/bin/wrangler.js "$@"
