#!/usr/bin/env bash
# Checks the OpenAPI document of a running `iocwatch run` against the
# server with schemathesis: every response must have a documented status
# code, content type and schema, valid requests must be accepted, invalid
# ones rejected, and authentication must be enforced.
#
#   tests/openapi/run.sh [PATH-TO-IOCWATCH]
#
# The binary defaults to target/debug/iocwatch (or $CARGO_TARGET_DIR/debug/
# iocwatch); build it first with `cargo build -p iocwatch`. Needs python3
# and `pip install schemathesis==4.32.5`. The server listens on a free
# loopback port with its data in a temporary directory. The seed is fixed,
# so a run repeats the previous one; SCHEMATHESIS_SEED and
# SCHEMATHESIS_MAX_EXAMPLES override the seed and the examples per
# operation, and SCHEMATHESIS_EXTRA adds options, such as
# `--include-path /api/v1/alerts`. Exits with a failure status when
# schemathesis finds any failure or error, and then prints the end of the
# server log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/iocwatch}"
case "$bin" in
  /*) ;;
  *) bin="$PWD/$bin" ;;
esac
seed="${SCHEMATHESIS_SEED:-20261205}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-20}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
    echo "--- end of the iocwatch log ($work/server.log):" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

echo 's3cret-pass-123' | "$bin" --data-dir "$work/data" user add admin --role admin --password-stdin
token="$("$bin" --data-dir "$work/data" token create --user admin schemathesis | grep -o 'iwt_[A-Za-z0-9_-]*')"
# The user that the user operations change and delete, so that a changed
# role or a deleted account never takes the admin's rights away mid-run.
echo 's3cret-pass-456' | "$bin" --data-dir "$work/data" user add target --role viewer --password-stdin
"$bin" --data-dir "$work/data" watchlist import c2 "$root/examples/intel/c2-servers.csv"

cat > "$work/config.toml" <<TOML
data_dir = "$work/data"

[http]
listen = "127.0.0.1:$port"

[[source]]
name = "shippers"
type = "http"
TOML

"$bin" run --config "$work/config.toml" > "$work/server.log" 2>&1 &
server_pid=$!

# Waits for the server, then sends one event that matches the c2 watchlist
# so that an alert exists for the alert endpoints.
python3 - "$base" "$root/examples/intel/c2-servers.csv" <<'PY'
import csv, json, sys, time, urllib.request

base, intel = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2)
        break
    except Exception as error:
        if time.monotonic() > deadline:
            sys.exit(f"iocwatch did not answer on {base} within 30 seconds: {error}")
        time.sleep(0.2)

with open(intel, newline="") as handle:
    rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
address = next(cell for row in rows for cell in row if cell.count(".") == 3 and cell.replace(".", "").isdigit())
event = {
    "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "source": {"ip": "10.0.0.5"},
    "destination": {"ip": address, "port": 443},
}
request = urllib.request.Request(
    base + "/api/v1/ingest/shippers",
    data=json.dumps(event).encode(),
    headers={"Content-Type": "application/x-ndjson"},
    method="POST",
)
urllib.request.urlopen(request, timeout=30)
PY

# One worker: with two, schemathesis' threads call Python's ast.parse at
# the same time, to which CPython 3.11 responds with "SystemError: AST
# constructor recursion depth mismatch" for a test case now and then.
cd "$here"
schemathesis --no-color --config-file "$here/schemathesis.toml" run "$base/api/openapi.json" ${SCHEMATHESIS_EXTRA:-} \
  -H "Authorization: Bearer $token" \
  --checks all \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --workers 1
