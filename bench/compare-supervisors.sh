#!/usr/bin/env bash
# Compares procmgr's process runtime with supervisord, runit and s6 on this machine and prints one
# Markdown table (min/median/max over $RUNS runs where it makes sense). Compare ratios within one
# run: small machines are noisy.
#
#   swift build -c release --product procmgr-bench
#   swift build -c release --product runtime-testhost   # optional: Swift heartbeat children
#   bash bench/compare-supervisors.sh
#
# The recorded runs use the deployment build (the runtime linked in, ~2 MiB less PSS):
#   swift build -c release --static-swift-stdlib --scratch-path .build-static --product procmgr-bench
#   (the same for runtime-testhost), then PROCMGR_BENCH=.build-static/release/procmgr-bench
#
# procmgr's figures come from `procmgr-bench runtime` (in-process: engine + ProcessRuntime with
# real children) plus `procmgr-bench runtime-host` measured from outside exactly like the peers
# (bench/peerbench.py, which also documents the method), plus the real agent, `procmgr run
# --config`, measured the same way in a section of its own, and the floor for the cold-start rows:
# bench/spawn-floor.c (posix_spawnp and nothing else), built with cc. Takes about 20 minutes.
#
# Environment:
#   PROCMGR_BENCH    procmgr-bench to use (default: .build/release, else .build-bench/release)
#   PROCMGR_AGENT    procmgr to run as the real agent, peer procmgr-agent (default:
#                    .build-static/release/procmgr, else .build/release/procmgr, else skipped)
#   PEERS            supervisord,runit,s6 (any subset)
#   RUNS             3
#   RESTART_SAMPLES  kills per peer for exit → running (100; procmgr does 200)
#   IDLE_WINDOW      idle CPU window in seconds (30), begun IDLE_SETTLE (15) s after the start
#   NO_INSTALL=1     do not apt-get install missing peers
#   RESULTS_FILE     also write the table (with machine and date) there
#
# Missing peers are installed with apt-get (packages supervisor, runit, s6). On a host where
# systemd runs, the units the install enabled are stopped and disabled again: no daemon is left.
# Every process this script starts is cleaned up on exit: the peers' driver is their subreaper
# and kills its descendants after each scenario; as a backstop, whatever carries this run's
# PROCMGR_BENCH_TAG in its environment is SIGKILLed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-supervisord,runit,s6}
RUNS=${RUNS:-3}
RESTART_SAMPLES=${RESTART_SAMPLES:-100}
IDLE_WINDOW=${IDLE_WINDOW:-30}
IDLE_SETTLE=${IDLE_SETTLE:-15}
TAG="procmgr-compare-$$-$RANDOM$RANDOM"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)

SAY_PREFIX=compare
# shellcheck source=bench/compare-lib.sh
source "$ROOT/bench/compare-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
[[ -n $PYTHON ]] || die "python3 is needed for the peers' driver"

if [[ -n ${PROCMGR_BENCH:-} ]]; then
    BENCH=$PROCMGR_BENCH
elif [[ -x $ROOT/.build/release/procmgr-bench ]]; then
    BENCH=$ROOT/.build/release/procmgr-bench
elif [[ -x $ROOT/.build-bench/release/procmgr-bench ]]; then
    BENCH=$ROOT/.build-bench/release/procmgr-bench
else
    die "procmgr-bench not found: run 'swift build -c release --product procmgr-bench' first"
fi
[[ -x $BENCH ]] || die "$BENCH is not executable"
BENCH=$(cd "$(dirname "$BENCH")" && pwd)/$(basename "$BENCH")

resolve_agent

# ---------------------------------------------------------------- cleanup

WORK=$(mktemp -d /tmp/procmgr-compare.XXXXXX)

install_cleanup_trap

# ---------------------------------------------------------------- peers

prepare_peers

# The floor (bench/spawn-floor.c): only posix_spawnp, for the cold-start rows. Needs a C compiler.
FLOOR=
if CC_BIN=$(command -v cc || command -v gcc || command -v clang); then
    if "$CC_BIN" -O2 -o "$WORK/spawn-floor" "$ROOT/bench/spawn-floor.c"; then
        FLOOR=$WORK/spawn-floor
    else
        say "skipping the floor: bench/spawn-floor.c did not compile"
    fi
else
    say "skipping the floor: no C compiler (cc, gcc, clang)"
fi

# ---------------------------------------------------------------- run

MACHINE=$("$BENCH" none 2>/dev/null | head -1 | sed 's/^procmgr-bench none — //')
say "machine: $MACHINE; $(uptime | sed 's/.*load/load/')"
say "procmgr-bench: $BENCH"
say "procmgr (real agent): ${AGENT:-none}"

say "procmgr (in-process): procmgr-bench runtime …"
(cd "$ROOT" && env PROCMGR_BENCH_TAG="$TAG" PROCMGR_BENCH_RESULTS="$WORK/procmgr.txt" \
    PROCMGR_BENCH_IDLE_WINDOW="$IDLE_WINDOW" PROCMGR_BENCH_IDLE_SETTLE="$IDLE_SETTLE" \
    timeout -k 20 1500 "$BENCH" runtime) | tee "$WORK/procmgr.md" >&2

say "peers: $PEERS, then procmgr as an external host${AGENT:+ and the real agent} …"
timeout -k 30 3600 "$PYTHON" "$ROOT/bench/peerbench.py" run \
    --peers "${PEERS:+$PEERS,}procmgr${AGENT:+,procmgr-agent}${FLOOR:+,floor}" --runs "$RUNS" --restarts "$RESTART_SAMPLES" \
    --idle-window "$IDLE_WINDOW" --idle-settle "$IDLE_SETTLE" \
    --bench "$BENCH" ${AGENT:+--agent "$AGENT"} ${FLOOR:+--floor "$FLOOR"} --tag "$TAG" --versions "$versions" --out "$WORK/peers.json"

TABLE=$("$PYTHON" "$ROOT/bench/peerbench.py" table --peers "$WORK/peers.json" --procmgr "$WORK/procmgr.txt")
LOAD=$(uptime | sed 's/.*load/load/')
{
    echo "Machine: $MACHINE; $(date -u '+%Y-%m-%d %H:%M UTC'); $LOAD at the end."
    echo "min/median/max over $RUNS runs; idle CPU over ${IDLE_WINDOW} s from ${IDLE_SETTLE} s after the start; exit → running: $RESTART_SAMPLES kills per peer, 200 for procmgr."
    echo
    echo "$TABLE"
} | tee "${RESULTS_FILE:-/dev/null}"
