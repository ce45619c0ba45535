#!/usr/bin/env bash
# Do descendants that leave their program's process group (setsid(), a double fork) outlive a
# stop, or the supervisor's death? procmgr (`procmgr run --config`, which puts every program in a
# cgroup of its own when it can) against supervisord, runit and s6 on this machine; prints one
# Markdown table. The method is in bench/escapebench.py's docstring: 100 programs, half with a
# setsid() child, half with a double-forked daemon; (a) stop all through the supervisor with a
# 1 s grace period: when is the last program and descendant gone after the grace period, and how
# many are alive at grace + 4 s (descendants obeying SIGTERM, then ignoring it); (b) SIGKILL the
# supervisor: how many are alive 2 s later.
#
#   swift build -c release --product procmgr      # or PROCMGR_AGENT=/path/to/procmgr
#   bash bench/compare-escape.sh [/path/to/procmgr]
#
# Environment:
#   PROCMGR_AGENT    procmgr to run as the agent (or the first argument; default:
#                    .build-static/release/procmgr, else .build/release/procmgr, else skipped)
#   PEERS            supervisord,runit,s6 (any subset)
#   RUNS             3 stops per peer and variant
#   COUNT            100 programs
#   NO_INSTALL=1     do not apt-get install missing peers
#   RESULTS_FILE     also write the table (with machine and date) there
#
# Missing peers are installed with apt-get, as bench/compare-supervisors.sh does (shared code:
# bench/compare-lib.sh). Cleanup: the driver is a subreaper and kills every descendant after each
# scenario; at exit, whatever carries this run's PROCMGR_BENCH_TAG, and every process whose
# command line carries this run's marker (the sleeps' unique duration), is SIGKILLed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-supervisord,runit,s6}
RUNS=${RUNS:-3}
COUNT=${COUNT:-100}
TAG="procmgr-escape-$$-$RANDOM$RANDOM"
MARKER="$$$RANDOM$RANDOM"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[[ $# -le 1 ]] || { echo "usage: $0 [procmgr]" >&2; exit 2; }
[[ $# -eq 0 ]] || PROCMGR_AGENT=$1

SAY_PREFIX=escape
# shellcheck source=bench/compare-lib.sh
source "$ROOT/bench/compare-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
[[ -n $PYTHON ]] || die "python3 is needed for the driver"
command -v setsid >/dev/null || die "setsid (util-linux) is needed by the programs"

resolve_agent

WORK=$(mktemp -d /tmp/procmgr-escape.XXXXXX)
# The programs' sleeps run `sleep 1000.${MARKER}1` and `sleep 1000.${MARKER}2`.
cleanup_extra() { pkill -KILL -f "^sleep 1000\\.${MARKER}[12]\$" 2>/dev/null || true; }
install_cleanup_trap

prepare_peers

say "machine: $(nproc) cores, $(uname -r); $(uptime | sed 's/.*load/load/')"
say "procmgr: ${AGENT:-none}; peers: ${PEERS:-none}; marker 1000.${MARKER}"

"$PYTHON" "$ROOT/bench/escapebench.py" run \
    --peers "${PEERS:+$PEERS,}${AGENT:+procmgr-agent}" ${AGENT:+--agent "$AGENT"} \
    --count "$COUNT" --runs "$RUNS" --marker "$MARKER" --tag "$TAG" --versions "$versions" \
    --logs "$WORK/logs" --out "$WORK/escape.json"

TABLE=$("$PYTHON" "$ROOT/bench/escapebench.py" table --results "$WORK/escape.json" --count "$COUNT")
{
    echo "Machine: $(nproc) cores, Linux $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); $(uptime | sed 's/.*load/load/') at the end."
    echo "Each cell \"P+D\" counts programs + escaped descendants; stop rows over $RUNS runs."
    echo
    echo "$TABLE"
} | tee "${RESULTS_FILE:-/dev/null}"
