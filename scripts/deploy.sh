#!/usr/bin/env bash
# One command to deploy the edge once its secrets are set
# (`bash scripts/wrangler.sh secret put APPLICATION_KEY`, …): installs the
# build tools when missing, checks the policy wrangler.toml gives (the
# PORTCULLIS_POLICY document, or the PORTCULLIS_PRESET name, of the
# environment `--env NAME` selects), builds the Worker and runs `wrangler
# deploy`. A policy that does not validate stops the deploy. Extra
# arguments go to wrangler (`--dry-run`, `--env staging`).
#   npm run deploy            bash scripts/deploy.sh --dry-run
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# wrangler.toml read as TOML (Python's tomllib): the vars of the selected
# environment, else the top level's.
python3 - "$dir" "$@" <<'PY'
import sys, tomllib, pathlib
out, args = pathlib.Path(sys.argv[1]), sys.argv[2:]
env = next((a.split("=", 1)[1] for a in args if a.startswith("--env=")), None)
if env is None and "--env" in args and args.index("--env") + 1 < len(args):
    env = args[args.index("--env") + 1]
config = tomllib.loads(pathlib.Path("wrangler.toml").read_text())
vars = config.get("env", {}).get(env, {}).get("vars") if env else None
vars = vars if vars is not None else config.get("vars", {})
policy = str(vars.get("PORTCULLIS_POLICY", "")).strip()
preset = str(vars.get("PORTCULLIS_PRESET", "")).strip()
if policy:
    (out / "policy.json").write_text(policy)
elif preset:
    (out / "preset").write_text(preset)
PY
if [[ -f "$dir/policy.json" ]]; then
  cargo run --quiet --locked -p portcullis-core --bin portcullis-validate -- "$dir/policy.json"
elif [[ -f "$dir/preset" ]]; then
  cargo run --quiet --locked -p portcullis-core --bin portcullis-validate -- --preset "$(cat "$dir/preset")"
fi
bash scripts/build-edge.sh
PORTCULLIS_EDGE_BUILT=1 bash scripts/wrangler.sh deploy "$@"
