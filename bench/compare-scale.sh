#!/usr/bin/env bash
# Scale benchmark: procmgr's real agent (`procmgr run --config`), runit, s6 and supervisord with
# 1,000, 5,000 and 10,000 `sleep` programs each, measured from outside (bench/scalebench.py, on
# bench/peerbench.py's peers, /proc helpers and cleanup), beside the spawn floor for the same N
# (bench/spawn-floor.c) and, for the agent's /metrics, Go's client_golang serving as many series
# (bench/go-metrics-peer). Prints one Markdown table per size and a summary.
#
#   bash bench/compare-scale.sh            # the comparison (about 45 min with the defaults)
#   bash bench/compare-scale.sh rss-flat   # the agent's memory over DURATION with NPROC programs
#
# Per size and supervisor (bench/scalebench.py documents the method): cold start → all running
# (and × the floor), PSS of the supervision processes, idle CPU over IDLE_SECONDS unscraped (and
# for procmgr also with /metrics scraped with gzip every SCRAPE_EVERY s), exit → running p99 over
# RESTARTS random kills, stop all → last program gone, and the agent's /metrics: CPU per scrape
# and body bytes, identity and gzip, against client_golang. A supervisor that fails or passes
# LIMIT at a size is recorded as such ("✘ 6,650/10,000 running after 120 s") and the run goes on.
#
# rss-flat: the agent with NPROC programs for DURATION s, /metrics (gzip) every SCRAPE_EVERY
# (default 5) s, its RSS and PSS every SAMPLE_EVERY (30) s; first/last/max, drift and spread.
#
# Environment:
#   SIZES          "1000 5000 10000"
#   PEERS          procmgr,runit,s6,supervisord (any subset)
#   IDLE_SECONDS   60 (idle CPU window, begun SETTLE_SECONDS=10 s after all ran)
#   SCRAPE_EVERY   15 (rss-flat: 5)
#   SCRAPES        20 (per encoding, for CPU per scrape)
#   RESTARTS       200 kills, SPACING 0.05 s apart
#   LIMIT          120 s to reach all running, and to stop all
#   NPROC          10000, DURATION 1800, SAMPLE_EVERY 30 (rss-flat)
#   PROCMGR_AGENT  procmgr to run (default .build/release/procmgr, built if missing:
#                  swift build -c release --product procmgr)
#   NO_INSTALL=1   do not apt-get install missing peers, Go or client_golang
#   RESULTS_FILE   also write the tables there
#
# Runs as root for `ulimit -n 1048576` (the peers inherit it; procmgr raises its own limit).
# Every process this script starts is cleaned up on exit: the driver is a subreaper and kills its
# descendants after each scenario; as a backstop, whatever carries this run's PROCMGR_BENCH_TAG
# in its environment is SIGKILLed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${1:-compare}
SIZES=${SIZES:-1000 5000 10000}
PEERS=${PEERS:-procmgr,runit,s6,supervisord}
LIMIT=${LIMIT:-120}
TAG="procmgr-scale-$$-$RANDOM$RANDOM"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)

SAY_PREFIX=compare-scale
# shellcheck source=bench/compare-lib.sh
source "$ROOT/bench/compare-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
[[ -n $PYTHON ]] || die "python3 is needed for the driver"
[[ $MODE == compare || $MODE == rss-flat ]] || die "usage: compare-scale.sh [rss-flat]"
command -v curl >/dev/null || die "curl is needed to scrape /metrics"

# Not /tmp/procmgr-*: test suites on shared machines sweep that prefix. The driver's scenario
# directories go here too (TMPDIR).
WORK=$(mktemp -d /tmp/compare-scale.XXXXXX)
install_cleanup_trap

# ---------------------------------------------------------------- limits

NOFILE_BEFORE=$(ulimit -n)
# 1048576 needs CAP_SYS_RESOURCE above the hard limit; without it, the hard limit.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
NOFILE=$(ulimit -n)
largest=0
if [[ $MODE == rss-flat ]]; then largest=${NPROC:-10000}; else for n in $SIZES; do ((n > largest)) && largest=$n; done; fi
# runit and s6 need a supervisor process per program: 2 processes per program, plus the rest.
need=$((2 * largest + 200))
pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
nproc_limit=$(ulimit -u)
tasks_now=$(ls -d /proc/[0-9]*/task/[0-9]* 2>/dev/null | wc -l)
LIMITS="ulimit -n $NOFILE_BEFORE → $NOFILE (hard $(ulimit -Hn)); ulimit -u $nproc_limit$([[ $(id -u) == 0 ]] && echo ' (root: not enforced)'); pid_max $pid_max; threads-max $threads_max; $tasks_now tasks before; the largest size needs about $need more"
say "limits: $LIMITS"
if ((tasks_now + need > pid_max || tasks_now + need > threads_max)); then
    say "warning: pid_max/threads-max leave too little room for $largest programs under runit/s6 (sysctl kernel.pid_max=4194304)"
fi
if [[ $(id -u) != 0 && $nproc_limit != unlimited ]] && ((nproc_limit < tasks_now + need)); then
    say "warning: ulimit -u $nproc_limit is below what $largest programs need"
fi
# supervisord keeps 3 pipe ends open per program (stdin, stdout, stderr).
if [[ ,$PEERS, == *,supervisord,* ]] && ((NOFILE < 3 * largest + 1024)); then
    say "warning: ulimit -n $NOFILE is too low for supervisord with $largest programs (3 descriptors each)"
fi

# ---------------------------------------------------------------- binaries

if [[ -z ${PROCMGR_AGENT:-} ]]; then
    PROCMGR_AGENT=$ROOT/.build/release/procmgr
    if [[ ! -x $PROCMGR_AGENT ]]; then
        say "building procmgr (release)"
        (cd "$ROOT" && swift build -c release --product procmgr) >&2
    fi
fi
resolve_agent
[[ -n $AGENT ]] || die "no procmgr agent"
# A private copy: no other process maps the same file (PSS), a rebuild midway changes nothing.
cp "$AGENT" "$WORK/procmgr"
AGENT_VERSION=$("$WORK/procmgr" --version 2>/dev/null | head -1 || echo "?")

machine() {
    echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, Linux $(uname -r)"
}
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')

if [[ $MODE == rss-flat ]]; then
    say "machine: $(machine); load before: $LOAD_BEFORE"
    OUTPUT=$(TMPDIR=$WORK timeout -k 30 $((${DURATION:-1800} + 900)) "$PYTHON" "$ROOT/bench/scalebench.py" rss-flat \
        --agent "$WORK/procmgr" --count "${NPROC:-10000}" --duration "${DURATION:-1800}" \
        --scrape-every "${SCRAPE_EVERY:-5}" --sample-every "${SAMPLE_EVERY:-30}" --limit "$LIMIT" \
        --tag "$TAG" --versions "{\"procmgr\": \"$AGENT_VERSION\"}") || status=$?
    {
        echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(machine). Load before: $LOAD_BEFORE; after: $(uptime | sed 's/.*load average: //')."
        echo "Limits: $LIMITS."
        echo
        echo "$OUTPUT"
    } | tee "${RESULTS_FILE:-/dev/null}"
    exit "${status:-0}"
fi

# The peers (compare-lib: apt-get install when missing). procmgr is not one of compare-lib's.
REQUESTED=$PEERS
PEERS=$(tr ',' '\n' <<<"$REQUESTED" | grep -vx procmgr | paste -sd, || true)
prepare_peers
[[ ,$REQUESTED, == *,procmgr,* ]] && PEERS=procmgr${PEERS:+,$PEERS}
versions=${versions%\}}
[[ $versions == "{" ]] || versions+=", "
versions+="\"procmgr\": \"$AGENT_VERSION\""

# The floor (bench/spawn-floor.c).
CC_BIN=$(command -v cc || command -v gcc || command -v clang) || die "a C compiler is needed for bench/spawn-floor.c"
"$CC_BIN" -O2 -o "$WORK/spawn-floor" "$ROOT/bench/spawn-floor.c"

# Go's client_golang, built offline against Debian's packages as bench/compare-metrics.sh does.
GO_PEER=
if [[ ,$PEERS, == *,procmgr,* ]]; then
    if { ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/prometheus/client_golang ]]; } &&
        [[ ${NO_INSTALL:-0} != 1 ]]; then
        say "installing golang-go golang-github-prometheus-client-golang-dev"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends golang-go \
            golang-github-prometheus-client-golang-dev >"$WORK/apt-go.log" 2>&1 || say "warning: apt-get install failed"
    fi
    if command -v go >/dev/null && [[ -d /usr/share/gocode/src/github.com/prometheus/client_golang ]] &&
        (cd "$ROOT/bench/go-metrics-peer" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS=-mod=mod \
            GOCACHE=$WORK/gocache go build -o "$WORK/go-metrics-peer" .) >&2; then
        GO_PEER=$WORK/go-metrics-peer
        client_golang=$(dpkg-query -W -f '${Version}' golang-github-prometheus-client-golang-dev 2>/dev/null || echo "?")
        versions+=", \"client_golang\": \"${client_golang%-*}\""
    else
        say "skipping client_golang: go or golang-github-prometheus-client-golang-dev missing, or the build failed"
    fi
fi
versions+="}"

# ---------------------------------------------------------------- run

say "machine: $(machine); load before: $LOAD_BEFORE"
say "procmgr: $AGENT ($AGENT_VERSION); peers: $PEERS; sizes: $SIZES"
STARTED=$(date +%s)
TMPDIR=$WORK "$PYTHON" "$ROOT/bench/scalebench.py" run --sizes "$SIZES" --peers "$PEERS" \
    --agent "$WORK/procmgr" --floor "$WORK/spawn-floor" ${GO_PEER:+--go-peer "$GO_PEER"} \
    --idle "${IDLE_SECONDS:-60}" --settle "${SETTLE_SECONDS:-10}" --scrape-every "${SCRAPE_EVERY:-15}" \
    --scrapes "${SCRAPES:-20}" --restarts "${RESTARTS:-200}" --spacing "${SPACING:-0.05}" --limit "$LIMIT" \
    --tag "$TAG" --versions "$versions" --out "$WORK/results.json"
ELAPSED=$(($(date +%s) - STARTED))

TABLES=$("$PYTHON" "$ROOT/bench/scalebench.py" table --results "$WORK/results.json")
{
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(machine)."
    echo "Load before: $LOAD_BEFORE; after: $(uptime | sed 's/.*load average: //'). The run took $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
    echo "Limits: $LIMITS."
    echo "Idle CPU over ${IDLE_SECONDS:-60} s from ${SETTLE_SECONDS:-10} s after all ran; exit → running: ${RESTARTS:-200} random kills; limit ${LIMIT} s to start and to stop."
    echo
    echo "$TABLES"
} | tee "${RESULTS_FILE:-/dev/null}"
