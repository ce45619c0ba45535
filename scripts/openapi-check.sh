#!/usr/bin/env bash
# Proves a live agent keeps to its OpenAPI document: starts `procmgr run` on a free loopback port
# with a small config of real processes, then runs schemathesis against the document the agent
# serves (GET /api/v1/openapi.json) with the checks not_a_server_error, status_code_conformance,
# content_type_conformance and response_schema_conformance, positive and negative inputs, every
# operation. Twice: a tokenless agent (mutations open on loopback), then an agent with
# `agent.token_file` (schemathesis once with the token, once without it: the 401s).
#
#   scripts/openapi-check.sh "$(swift build --show-bin-path)/procmgr"
#
# Environment: OPENAPI_CHECK_SEED (default 42, so a failure replays), OPENAPI_CHECK_EXAMPLES
# (test cases per operation in the fuzzing phase, default 50). Needs python3 with venv and PyPI
# (scripts/python-venv.sh). Exit status 0 only when every run passed; schemathesis's report is
# printed either way, the agent's log on a failure. The agent is always stopped.
#
# The event streams never end: schemathesis 4 reads a text/event-stream response until
# `max-stream-events` events arrived or the operation's `request-timeout` passed, then checks the
# events it got against the document (each one's `data` through `contentSchema`).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 <path to the procmgr binary>" >&2
    exit 2
fi
procmgr="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "$0")/.." && pwd)"
seed="${OPENAPI_CHECK_SEED:-42}"
examples="${OPENAPI_CHECK_EXAMPLES:-50}"

python="$("$root/scripts/python-venv.sh" "schemathesis==$SCHEMATHESIS_VERSION")"
schemathesis="$(dirname "$python")/schemathesis"

work="$(mktemp -d -t procmgr-openapi.XXXXXX)"
agent_pid=""
stop_agent() {
    [ -n "$agent_pid" ] || return 0
    if kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        # The agent stops its processes within their grace periods (at most 2 s here).
        for _ in $(seq 1 100); do
            kill -0 "$agent_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$agent_pid" 2>/dev/null || true
    fi
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
}
cleanup() {
    stop_agent
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A config with something behind every operation: a demo-worker that serves a hostname and
# writes output (logs), plain processes to stop, restart and signal, one with `replicas:` to
# scale (port: none and `sleep`, so scaling it to the documented maximum of 1000 stays cheap).
write_config() {
    local config="$1" token_file="$2"
    cat > "$config" <<EOF
agent:
  ports: { range: "32600-32699" }
  state_dir: $work/state
  shutdown_grace_period: 5s
  log_child_output: false
${token_file:+  token_file: $token_file}
processes:
  - id: api-1
    command: ["\${PROCMGR}", "demo-worker"]
    port: auto
    hostnames: [api.example.test]
    readiness: { http: { path: /api/status }, interval: 500ms, timeout: 1s }
    grace_period: 2s
  - id: ticker
    command: ["sh", "-c", "i=0; while :; do i=\$((i+1)); echo \"tick \$i\"; echo \"tock \$i\" >&2; sleep 0.2; done"]
    grace_period: 1s
  - id: sleeper
    command: ["sleep", "3600"]
    grace_period: 1s
  - id: web
    command: ["sleep", "3600"]
    replicas: 2
    hostnames: [web.example.test]
    grace_period: 1s
EOF
}

start_agent() {
    local config="$1" log="$2" port="$3"
    "$procmgr" run --config "$config" --listen "127.0.0.1:$port" > "$log" 2>&1 &
    agent_pid=$!
    local deadline=$((SECONDS + 60))
    until python3 - "$port" <<'PYTHON' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1) as response:
    sys.exit(0 if response.status == 200 else 1)
PYTHON
    do
        if ! kill -0 "$agent_pid" 2>/dev/null; then
            echo "openapi-check: the agent exited before it was ready; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "openapi-check: the agent was not ready (GET /readyz 200) within 60 s; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.2
    done
}

# Streams: cut after 3 events or 0.5 s (the events stream without Last-Event-ID sends only new
# events, so most of its cases end on the timeout).
# Ids of the config's processes are mixed into every generated id (half the cases), so positive
# cases reach real processes, not only 404s.
cat > "$work/schemathesis.toml" <<'EOF'
max-stream-events = 3
request-timeout = 10

[dictionaries.process-ids]
values = ["api-1", "ticker", "sleeper", "web", "web.0", "web.1"]

[parameters]
"path.id" = { dictionary = "process-ids", probability = 0.5 }
"query.process" = { dictionary = "process-ids", probability = 0.5 }

[[operations]]
include-operation-id = ["getEvents", "getProcessLogs"]
request-timeout = 0.5
EOF

# One schemathesis run against the agent on `port` with the document it serves; extra arguments
# are passed on. The document is fetched to a file first: given its URL, schemathesis would leave
# out the operation that serves it (GET /api/v1/openapi.json), which is under test too. One worker:
# with two, CPython 3.11's `ast` (hypothesis describes its lambdas with it) failed a run with
# "AST constructor recursion depth mismatch" — a race in the interpreter, not in the API.
run_schemathesis() {
    local port="$1"
    shift
    python3 - "$port" "$work/openapi.json" <<'PYTHON'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/openapi.json", timeout=10) as response:
    open(sys.argv[2], "wb").write(response.read())
PYTHON
    # From the scratch directory: schemathesis keeps a crash cache in `.schemathesis/` of the
    # current directory, and a run should neither litter the tree nor replay an older run's.
    (cd "$work" && "$schemathesis" --config-file "$work/schemathesis.toml" run "$work/openapi.json" \
        --url "http://127.0.0.1:$port" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --mode all \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" \
        --seed "$seed" \
        --workers 1 \
        --generation-database none \
        --no-color \
        "$@")
}

failed=0
started=$SECONDS

echo "== openapi-check: tokenless agent on loopback (schemathesis $SCHEMATHESIS_VERSION, seed $seed)"
port="$(free_port)"
write_config "$work/open.yaml" ""
start_agent "$work/open.yaml" "$work/open.log" "$port"
run_schemathesis "$port" || failed=1
[ "$failed" -eq 0 ] || { echo "openapi-check: the agent's log:" >&2; tail -n 100 "$work/open.log" >&2; }
stop_agent

echo "== openapi-check: agent with agent.token_file, requests with the token"
token="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s\n' "$token" > "$work/token"
port="$(free_port)"
write_config "$work/token.yaml" "$work/token"
start_agent "$work/token.yaml" "$work/token.log" "$port"
run_schemathesis "$port" --header "Authorization: Bearer $token" || failed=1

echo "== openapi-check: the same agent, requests without the token (401 on mutations)"
run_schemathesis "$port" --include-tag actions --max-examples 10 || failed=1
[ "$failed" -eq 0 ] || { echo "openapi-check: the agent's log:" >&2; tail -n 100 "$work/token.log" >&2; }
stop_agent

echo "== openapi-check took $((SECONDS - started)) s"
if [ "$failed" -ne 0 ]; then
    echo "openapi-check: FAILED (schemathesis's report above)" >&2
    exit 1
fi
echo "openapi-check: passed"
