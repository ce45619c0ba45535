#!/usr/bin/env bash
# Tests the web status page (GET /) in a real headless Chromium: starts the agent with a copy of
# the embedded demo (its own state directory and child port range, so nothing else is disturbed),
# waits for /readyz, runs Tests/browser/status_page_test.py (Python selenium driving Debian's
# chromium through chromedriver), and always stops the agent. The page's screenshot is saved to
# .build/artifacts/status-page.png.
#
#   scripts/browser-check.sh .build/debug/procmgr
#
# Needs: chromium and chromium-driver (Debian), python3 with venv; selenium comes from PyPI into
# .build/venv (scripts/python-venv.sh). CHROMIUM and CHROMEDRIVER override the binaries' paths.
# Exit status: the test's (0: every check passed).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <path to procmgr>" >&2; exit 2; }
procmgr="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$procmgr" ] || { echo "browser-check: $1 is not an executable" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
for binary in "$CHROMIUM" "$CHROMEDRIVER"; do
    [ -x "$binary" ] || { echo "browser-check: $binary missing (apt-get install chromium chromium-driver)" >&2; exit 2; }
done
python="$("$root/scripts/python-venv.sh" selenium==4.51.0)"

work="$(mktemp -d /tmp/procmgr-browser-check.XXXXXX)"
agent_pid=""
cleanup() {
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        # The agent stops its children within their grace periods (5 s here); then it is killed.
        for _ in $(seq 1 150); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$agent_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The embedded demo's processes (procmgr demo-worker), minus flaky-1's random crashes: the test
# makes its own. Child ports from a range of their own.
cat > "$work/procmgr.yaml" <<YAML
agent:
  ports: { range: "41000-41999" }
  shutdown_grace_period: 10s
  state_dir: $work/state
processes:
  - id: web-1
    command: ["$procmgr", "demo-worker"]
    env: { DEMO_NAME: web-1 }
    port: auto
    restart: always
    grace_period: 5s
    health:
      http: { path: /api/status, interval: 2s, timeout: 1s, failure_threshold: 3 }
    heartbeat: { interval: 1s, timeout: 5s }
  - id: web-2
    command: ["$procmgr", "demo-worker"]
    env: { DEMO_NAME: web-2 }
    port: auto
    grace_period: 5s
    health:
      http: { path: /api/status, interval: 2s, timeout: 1s, failure_threshold: 3 }
    heartbeat: { interval: 1s, timeout: 5s }
  - id: worker-1
    command: ["$procmgr", "demo-worker"]
    env: { DEMO_NAME: worker-1 }
    port: none
    grace_period: 5s
    heartbeat: { interval: 2s, timeout: 10s }
YAML

"$procmgr" run --config "$work/procmgr.yaml" --listen "127.0.0.1:$port" > "$work/agent.log" 2>&1 &
agent_pid=$!
base="http://127.0.0.1:$port"
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; do
    if ! kill -0 "$agent_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
        echo "browser-check: the agent did not become ready within 30 s; its output:" >&2
        cat "$work/agent.log" >&2
        exit 1
    fi
    sleep 0.1
done

mkdir -p "$root/.build/artifacts"
status=0
PROCMGR_URL="$base" SCREENSHOT="$root/.build/artifacts/status-page.png" \
    "$python" "$root/Tests/browser/status_page_test.py" || status=$?
if [ $status -ne 0 ]; then
    echo "browser-check: FAILED; the agent's last output:" >&2
    tail -n 40 "$work/agent.log" >&2
fi
exit $status
