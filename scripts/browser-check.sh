#!/usr/bin/env bash
# Tests the web status page (GET /) in a real headless Chromium: starts the agent on the embedded
# demo (its state directory in a temporary directory of its own) and a second one that requires a
# token, waits for their /readyz, runs Tests/browser/status_page_test.py (Python selenium driving Debian's
# chromium through chromedriver), and always stops the agents. The page's screenshot is saved to
# .build/artifacts/status-page.png.
# Takes about 10 s (the agents' start, four browser checks, their stop).
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
agent_pids=()
cleanup() {
    for pid in "${agent_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${agent_pids[@]}"; do
        # The agent stops its children within its shutdown grace period (10 s in the demo); then it is killed.
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The embedded demo (no --config), its state directory inside $work: the demo puts it under
# TMPDIR, so a demo the developer runs meanwhile is left alone. Its children's ports come from
# 30000-31000, each checked free before use.
port="$(free_port)"
mkdir -p "$work/demo"
TMPDIR="$work/demo" "$procmgr" run --listen "127.0.0.1:$port" > "$work/agent.log" 2>&1 &
agent_pids+=($!)

# A second agent that requires a token, for the page's token prompt.
token_port="$(free_port)"
token="browser-check-$RANDOM$RANDOM"
printf '%s\n' "$token" > "$work/token"
cat > "$work/token-agent.yaml" <<YAML
agent:
  token_file: $work/token
  state_dir: $work/token-state
processes:
  - id: sleeper
    command: ["sleep", "600"]
YAML
"$procmgr" run --config "$work/token-agent.yaml" --listen "127.0.0.1:$token_port" > "$work/token-agent.log" 2>&1 &
agent_pids+=($!)

for url in "http://127.0.0.1:$port" "http://127.0.0.1:$token_port"; do
    deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "browser-check: the agent at $url did not become ready within 30 s; its output:" >&2
            cat "$work/agent.log" "$work/token-agent.log" >&2
            exit 1
        fi
        sleep 0.1
    done
done

mkdir -p "$root/.build/artifacts"
status=0
PROCMGR_URL="http://127.0.0.1:$port" TOKEN_AGENT_URL="http://127.0.0.1:$token_port" TOKEN="$token" SCREENSHOT="$root/.build/artifacts/status-page.png" \
    "$python" "$root/Tests/browser/status_page_test.py" || status=$?
if [ $status -ne 0 ]; then
    echo "browser-check: FAILED; the agent's last output:" >&2
    tail -n 40 "$work/agent.log" >&2
    echo "browser-check: the token agent's last output:" >&2
    tail -n 10 "$work/token-agent.log" >&2
fi
exit $status
