#!/usr/bin/env bash
# The demo: the Portcullis edge on workerd (`wrangler dev`) in front of a demo
# application (www/: signup, login and account pages).
#
#   browser ─▶ edge   http://127.0.0.1:8787/  (crates/edge, wrangler.toml)  ← open this
#                └──▶ origin http://127.0.0.1:8788/  (node www/server.js: www/ and pkg/)
#
# The edge answers /__portcullis/policy itself (the page loads its password
# policy from there), checks POST /signup, adds the security headers and
# forwards everything else to the origin. Builds what it needs first; the
# admin API's key is in .dev.vars (created with a random key if missing).
# Ctrl-C (or the edge exiting) stops both servers.
#   --no-build   run what is built (pkg/dist, crates/edge/build) as it is
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
[[ "${1:-}" == "--no-build" ]] && build=0

EDGE_URL=http://127.0.0.1:8787/
ORIGIN_PORT=8788 # wrangler.toml's ORIGIN_URL points here

say() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }

bash scripts/setup.sh --no-browser
if [[ $build == 1 ]]; then
  bash scripts/build-pkg.sh
  bash scripts/build-edge.sh
fi
for built in pkg/dist/rules pkg/dist/full crates/edge/build/index.js; do
  if [[ ! -e $built ]]; then
    say "$built is missing: run without --no-build" >&2
    exit 1
  fi
done
bash scripts/wrangler.sh --version >/dev/null # installs a Node.js wrangler accepts, if needed

# Local secrets for wrangler dev: the admin API's application key.
if [[ ! -f .dev.vars ]]; then
  key=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))')
  (
    umask 077
    cat >.dev.vars <<EOF
# Local secrets for \`wrangler dev\` (git-ignored). The admin API's key:
#   curl -H "Authorization: Bearer <APPLICATION_KEY>" ${EDGE_URL}__portcullis/admin/settings
APPLICATION_KEY=$key
EOF
  )
  say "created .dev.vars with a random APPLICATION_KEY"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$ORIGIN_PORT" 8787 9329; do
  if port_open "$port"; then
    say "port $port on 127.0.0.1 is already in use (another demo running?)" >&2
    exit 1
  fi
done

origin_pid=""
edge_pid=""
stop() { # TERM, then KILL after 10 s, for each pid given that still runs
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && return
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
cleanup() {
  trap - EXIT INT TERM
  local pids=()
  [[ -n "$edge_pid" ]] && pids+=("$edge_pid")
  [[ -n "$origin_pid" ]] && pids+=("$origin_pid")
  if ((${#pids[@]})); then
    say "stopping"
    stop "${pids[@]}"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The origin asks the edge's admin API for self-service reset links.
app_key=$(sed -n 's/^APPLICATION_KEY=//p' .dev.vars | head -n 1)
PORT=$ORIGIN_PORT PORTCULLIS_EDGE_URL=$EDGE_URL PORTCULLIS_APPLICATION_KEY=$app_key node www/server.js &
origin_pid=$!
for _ in $(seq 100); do
  port_open "$ORIGIN_PORT" && break
  if ! kill -0 "$origin_pid" 2>/dev/null; then
    origin_pid=""
    say "the demo origin (node www/server.js) did not start" >&2
    exit 1
  fi
  sleep 0.1
done

# The edge in the background so that a signal to this script stops it too;
# it keeps the terminal as its standard input (wrangler's hotkeys). The
# Worker is built (no second build by wrangler.toml's [build]), and request.cf
# is the local placeholder (no download).
PORTCULLIS_EDGE_BUILT=1 CLOUDFLARE_CF_FETCH_ENABLED=false bash scripts/wrangler.sh dev --ip 127.0.0.1 --port 8787 \
  --persist-to .wrangler/state --inspector-port 9329 <&0 &
edge_pid=$!
edge_answers() { # the edge serves its public policy (workerd and the configuration are up)
  port_open 8787 && node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "${EDGE_URL}__portcullis/policy" 2>/dev/null
}
ready=0
for _ in $(seq 240); do
  kill -0 "$edge_pid" 2>/dev/null || break
  if edge_answers; then
    ready=1
    break
  fi
  sleep 0.5
done
if [[ $ready == 1 ]]; then
  say ""
  say "Open ${EDGE_URL}  (the Portcullis edge, in front of the demo origin on http://127.0.0.1:${ORIGIN_PORT}/)"
  say "Console: ${EDGE_URL}__portcullis/console/ · public policy: ${EDGE_URL}__portcullis/policy · application key: APPLICATION_KEY in .dev.vars"
  say "Ctrl-C stops the demo."
  say ""
elif kill -0 "$edge_pid" 2>/dev/null; then
  say "the edge does not answer on ${EDGE_URL} yet; see wrangler's output above" >&2
fi

status=0
wait "$edge_pid" || status=$?
edge_pid=""
exit "$status"
