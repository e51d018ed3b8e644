#!/usr/bin/env bash
# Fuzzes /api/v1 with schemathesis: every check, the stateful phase included, once per role
# (ops, seller, storefront), against the real service (gunicorn + worker + indexer, demo data)
# on a fresh data dir; prints each role's counts, then stops everything it started.
#
#   bench/fuzz_api.sh [extra schemathesis run arguments]
#
# MAX_EXAMPLES (50) bounds the cases per operation, ROLE_SECONDS (900) each role's run.
# schemathesis lives in its own venv (ST_VENV, default /tmp/st-venv; made here if missing),
# never in requirements. Exceptions it must not report are in bench/schemathesis.toml.
# gunicorn's access log (access.log) shows what the run reached, e.g. how many cards drew.
# Reports and server logs stay in the printed directory.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
ST_VENV=${ST_VENV:-/tmp/st-venv}
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
ROLE_SECONDS=${ROLE_SECONDS:-900}
SEED=${SEED:-1}

if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q schemathesis
fi
[ -x .venv/bin/gunicorn ] || scripts/setup

out=$(mktemp -d /tmp/sucai-fuzz-XXXXXX)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SUCAI_DATA_DIR="$out/var" SUCAI_PUBLIC_URL="http://127.0.0.1:$port"
flask=(.venv/bin/flask --app app)

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT

"${flask[@]}" release >"$out/release.log"
"${flask[@]}" demo >"$out/demo.jsonl"
.venv/bin/gunicorn "app:create_app()" --bind "127.0.0.1:$port" --workers 2 --threads 4 \
  --worker-class gthread --access-logfile "$out/access.log" >"$out/web.log" 2>&1 &
pids+=($!)
"${flask[@]}" worker >"$out/worker.log" 2>&1 &
pids+=($!)
"${flask[@]}" indexer >"$out/indexer.log" 2>&1 &
pids+=($!)

demo() {  # a field of the demo user of a role: demo ROLE FIELD
  "$repo/.venv/bin/python" -c 'import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{") and json.loads(line).get("role") == sys.argv[2]:
        print(json.loads(line)[sys.argv[3]])' "$out/demo.jsonl" "$1" "$2"
}
token() { demo "$1" token; }
# The demo seller's code, for the card and referral URLs (bench/schemathesis.toml says why).
config="$out/schemathesis.toml"
{ cat bench/schemathesis.toml; printf '\n[dictionaries.demo_sellers]\nvalues = ["%s"]\n' \
  "$(demo seller referral_code)"; } >"$config"

echo "fuzz: service on port $port, reports and logs in $out"
status=0
for role in ops seller storefront; do
  set +e
  # From $out: schemathesis keeps its replay cache in the working directory.
  (cd "$out" && exec timeout "$ROLE_SECONDS" "$ST_VENV/bin/schemathesis" \
    --config-file "$config" \
    run "http://127.0.0.1:$port/api/v1/openapi.json" --wait-for-schema 60 \
    --checks all --phases examples,coverage,fuzzing,stateful \
    -H "Authorization: Bearer $(token "$role")" --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --generation-database "$out/examples" --no-color --report ndjson --report-dir "$out/$role" \
    "$@" >"$out/$role.txt" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 0 ] || status=1
  echo "== $role (exit $rc)"
  grep -E "^ +(Scenarios|API Links):|^  (❌|⚠️)|^  [0-9]+ generated|^=+ .* in [0-9.]+s =+$" \
    "$out/$role.txt" || tail -5 "$out/$role.txt"
done
echo "fuzz: server errors logged by gunicorn: $(grep -c 'Traceback' "$out/web.log" || true)"
exit "$status"
