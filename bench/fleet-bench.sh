#!/usr/bin/env bash
# The fleet on etcd (issue 13) from outside: an etcd of its own (/usr/bin/etcd, loopback, random
# ports, a fresh data dir) and real `procmgr run` agents with `agent.etcd` and no local
# processes; desired processes are etcd keys. Prints one summary block: machine, date, and each
# figure with its goal and ✔/✘ — put → running (p50/p99), N agents × M processes to all running,
# the agents' PSS and idle CPU, etcd writes from idle agents and during a churn, watch resume
# after an etcd restart. The method is in bench/fleetbench.py's docstring.
#
#   swift build -c release --product procmgr      # or PROCMGR_AGENT=/path/to/procmgr
#   bash bench/fleet-bench.sh [/path/to/procmgr]
#   AGENTS=2 PER_AGENT=10 PUTS=20 CHURN=50 IDLE=5 bash bench/fleet-bench.sh   # smoke run, ~1 min
#
# Environment:
#   PROCMGR_AGENT  procmgr to run (or the first argument; default: .build-static/release/procmgr,
#                  else .build/release/procmgr)
#   ETCD           etcd binary (/usr/bin/etcd)
#   AGENTS         50 agents for the fleet figures
#   PER_AGENT      100 processes per agent
#   PUTS           200 put → running samples (one agent)
#   CHURN          1000 processes put then deleted on one agent
#   IDLE           30 s idle window (CPU, etcd revision)
#   TIMEOUT        300 s for the whole fleet to run
#   RESULTS_FILE   also write the summary there
#   KEEP=1         keep the work dir (logs, etcd data, results.json)
#
# Runs as any user (as root the agent also puts each program in a cgroup of its own). Cleanup:
# the driver is a subreaper and SIGKILLs every descendant (etcd, agents, guardians, sleeps) at
# exit, on Ctrl-C or SIGTERM; then this script kills whatever carries this run's
# PROCMGR_BENCH_TAG and every `sleep 600.<marker>` of this run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ETCD=${ETCD:-/usr/bin/etcd}
TAG="procmgr-fleet-$$-$RANDOM$RANDOM"
MARKER="$$$RANDOM$RANDOM"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[[ $# -le 1 ]] || { echo "usage: $0 [procmgr]" >&2; exit 2; }
[[ $# -eq 0 ]] || PROCMGR_AGENT=$1

SAY_PREFIX=fleet
# shellcheck source=bench/compare-lib.sh
source "$ROOT/bench/compare-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
[[ -n $PYTHON ]] || die "python3 is needed for the driver"
[[ -x $ETCD ]] || die "$ETCD not found (Debian: apt-get install etcd-server)"

resolve_agent
[[ -n $AGENT ]] || die "no procmgr to run"

WORK=$(mktemp -d /tmp/procmgr-fleet.XXXXXX)
cleanup_extra() {
    pkill -KILL -f "^sleep 600\\.${MARKER}\$" 2>/dev/null || true
    if [[ ${KEEP:-} == 1 && $WORK != /nonexistent-kept ]]; then
        say "work dir kept: $WORK"
        WORK=/nonexistent-kept
    fi
}
install_cleanup_trap

say "machine: $(nproc) cores, $(uname -r); $(uptime | sed 's/.*load/load/')"
say "procmgr: $AGENT; etcd: $ETCD; marker 600.${MARKER}; work $WORK"

set +e
PROCMGR_BENCH_TAG=$TAG "$PYTHON" "$ROOT/bench/fleetbench.py" \
    --agent "$AGENT" --etcd "$ETCD" \
    --agents "${AGENTS:-50}" --per-agent "${PER_AGENT:-100}" --puts "${PUTS:-200}" \
    --churn "${CHURN:-1000}" --idle "${IDLE:-30}" --timeout "${TIMEOUT:-300}" \
    --marker "$MARKER" --tag "$TAG" --work "$WORK" --out "$WORK/results.json" \
    | tee "${RESULTS_FILE:-/dev/null}"
status=${PIPESTATUS[0]}
set -e
exit "$status"
