#!/usr/bin/env bash
# One command to deploy the edge once its secrets are set
# (`bash scripts/wrangler.sh secret put APPLICATION_KEY`, …): installs the
# build tools when missing, checks the policy in wrangler.toml (when
# PORTCULLIS_POLICY holds one), builds the Worker and runs `wrangler
# deploy`. Extra arguments go to wrangler (`--dry-run`, `--env staging`).
#   npm run deploy            bash scripts/deploy.sh --dry-run
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
policy=$(node -e '
  const text = require("fs").readFileSync("wrangler.toml", "utf8");
  const m = /^PORTCULLIS_POLICY\s*=\s*(?:\x27\x27\x27([\s\S]*?)\x27\x27\x27|"((?:[^"\\]|\\.)*)")/m.exec(text);
  process.stdout.write(m ? (m[1] ?? JSON.parse(`"${m[2]}"`)) : "");
')
if [[ -n "${policy// /}" ]]; then
  file=$(mktemp)
  trap 'rm -f "$file"' EXIT
  printf '%s' "$policy" >"$file"
  cargo run --quiet --locked -p portcullis-core --bin portcullis-validate -- "$file"
fi
bash scripts/build-edge.sh
PORTCULLIS_EDGE_BUILT=1 bash scripts/wrangler.sh deploy "$@"
