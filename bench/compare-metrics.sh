#!/usr/bin/env bash
# GET /metrics from procmgr's HTTP server and from Go's client_golang serving the same series,
# measured by the same client, side by side, and printed as one Markdown table.
#
#   bash bench/compare-metrics.sh
#
# Both servers hold the synthetic agent of Sources/http-bench/SyntheticAgent.swift (N processes
# × 20 series; bench/go-metrics-peer/main.go registers the same families, labels and values).
# Each server runs as its own process; `http-bench scrape` (one keep-alive loopback connection,
# sequential requests, like a scraper) measures p50/p99 from request sent to last body byte,
# the body bytes, and the server's CPU per scrape (utime+stime from /proc/PID/stat over the
# measured requests, divided by their number). Identity first, then `Accept-Encoding: gzip`.
#
# Builds what it needs: http-bench in release (swift build -c release --product http-bench) and
# the Go peer offline in GOPATH mode against Debian's packages (apt-get install golang-go
# golang-github-prometheus-client-golang-dev; benchmark only, not CI).
#
# Environment:
#   SIZES       "100 1000 10000"
#   REQUESTS    requests per size and encoding, aligned with SIZES ("2000 400 40")
#   NO_BUILD=1  use the binaries already built
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=(${SIZES:-100 1000 10000})
REQUESTS=(${REQUESTS:-2000 400 40})
# Not /tmp/procmgr-*: test suites on shared machines sweep that prefix.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-metrics.XXXXXX")
GO_PEER=$WORK/go-metrics-peer
SERVER_PID=

say() { printf '[compare-metrics %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
if [[ -z ${NO_BUILD:-} ]]; then
    say "building http-bench (release)"
    swift build -c release --product http-bench >&2
fi
HTTP_BENCH=$(swift build -c release --show-bin-path)/http-bench
[[ -x $HTTP_BENCH ]] || die "$HTTP_BENCH missing: swift build -c release --product http-bench"
command -v go >/dev/null || die "go missing: apt-get install golang-go golang-github-prometheus-client-golang-dev"
[[ -d /usr/share/gocode/src/github.com/prometheus/client_golang ]] ||
    die "client_golang missing: apt-get install golang-github-prometheus-client-golang-dev"
say "building bench/go-metrics-peer (GOPATH mode, offline)"
(cd bench/go-metrics-peer &&
    GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS=-mod=mod GOCACHE=$WORK/gocache go build -o "$GO_PEER" .) >&2

CLIENT_GOLANG_VERSION=$(dpkg-query -W -f '${Version}' golang-github-prometheus-client-golang-dev 2>/dev/null || echo unknown)

# start_server NAME PROCESSES: starts it in the background, sets SERVER_PID and PORT.
start_server() {
    local log=$WORK/$1-$2.out
    case $1 in
        procmgr) "$HTTP_BENCH" serve --processes "$2" >"$log" 2>&1 & ;;
        client_golang) "$GO_PEER" -processes "$2" >"$log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 300); do
        [[ -f $log ]] || die "$log vanished: did something clean up $WORK?"
        PORT=$(awk '/^port /{print $2; exit}' "$log")
        [[ -n $PORT ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "$1 exited: $(cat "$log")"
        sleep 0.1
    done
    die "$1 did not print its port within 30 s"
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# field LINE NAME: the value of NAME=… in a scrape line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }'; }

say "load before: $(uptime)"
declare -A RESULT
for index in "${!SIZES[@]}"; do
    size=${SIZES[$index]}
    requests=${REQUESTS[$index]:-40}
    for server in procmgr client_golang; do
        start_server "$server" "$size"
        curl -s "http://127.0.0.1:$PORT/metrics" -o "$WORK/$server-$size.txt"
        say "$server, $size processes: $(grep -vc '^#' "$WORK/$server-$size.txt") series, $requests requests per encoding"
        output=$("$HTTP_BENCH" scrape --port "$PORT" --pid "$SERVER_PID" --requests "$requests" --warmup 5)
        RESULT[$server,$size,identity]=$(grep '^identity ' <<<"$output")
        RESULT[$server,$size,gzip]=$(grep '^gzip ' <<<"$output")
        stop_server
    done
    # The same series on both sides (procmgr also exports its own procmgr_http_* and scrape
    # families; client_golang orders the labels inside a series by name, so compare counts).
    ours=$(grep -v '^#' "$WORK/procmgr-$size.txt" | grep -vc '^procmgr_http_\|^procmgr_metrics_scrape')
    theirs=$(grep -vc '^#' "$WORK/client_golang-$size.txt")
    [[ $ours == "$theirs" ]] || say "warning: $ours synthetic series from procmgr, $theirs from client_golang"
done
say "load after: $(uptime)"

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores."
echo "Load: $(uptime | sed 's/.*load average: //'). client_golang $CLIENT_GOLANG_VERSION, $(go version | cut -d' ' -f3)."
echo
echo "| processes | encoding | procmgr bytes | client_golang bytes | size ratio | procmgr p50 / p99 ms | client_golang p50 / p99 ms | speed-up (p50) | procmgr CPU ms/scrape | client_golang CPU ms/scrape |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for size in "${SIZES[@]}"; do
    for encoding in identity gzip; do
        ours=${RESULT[procmgr,$size,$encoding]}
        theirs=${RESULT[client_golang,$size,$encoding]}
        printf '| %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s |\n' "$size" "$encoding" \
            "$(field "$ours" bytes)" "$(field "$theirs" bytes)" "$(ratio "$(field "$ours" bytes)" "$(field "$theirs" bytes)")" \
            "$(field "$ours" p50_ms)" "$(field "$ours" p99_ms)" "$(field "$theirs" p50_ms)" "$(field "$theirs" p99_ms)" \
            "$(ratio "$(field "$theirs" p50_ms)" "$(field "$ours" p50_ms)")" \
            "$(field "$ours" cpu_ms_per_scrape)" "$(field "$theirs" cpu_ms_per_scrape)"
    done
done
