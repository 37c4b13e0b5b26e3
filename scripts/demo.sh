#!/usr/bin/env bash
# Builds the npm package and serves the demo pages on 127.0.0.1 (PORT, 8788
# by default): the signup form with the live checklist and strength meter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-browser
bash scripts/build-pkg.sh
exec node www/server.js
