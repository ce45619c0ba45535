#!/usr/bin/env bash
# The test command (README: "Two commands"). It works on a fresh Debian machine by itself:
#   1. installs the Debian packages the tests use when they are missing (zlib for gzip, promtool,
#      Prometheus and Alertmanager for the observability tests) — needs root or sudo;
#   2. runs every test (`swift test`);
#   3. runs the engine, runtime and agent tests again under the thread sanitizer;
#   4. runs the chaos suite for 60 s against a real agent (the debug build `swift test` made);
#   5. runs every libFuzzer target for a bounded time (FUZZ_SECONDS, default 60 s each).
# `.ci/run` calls this script and nothing else. Set PROCMGR_TEST_STEPS to a subset of
# "install,test,chaos,tsan,fuzz" to run part of it locally (default: all five).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=",${PROCMGR_TEST_STEPS:-install,test,chaos,tsan,fuzz},"
step() { [[ "$steps" == *",$1,"* ]]; }
started=$SECONDS
elapsed() { echo "== $1 took $((SECONDS - ${2})) s"; }

if step install; then
    missing=()
    dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    [ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing Debian packages: ${missing[*]}"
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

if step test; then
    t=$SECONDS
    echo "== swift test"
    swift test 2>&1
    elapsed "swift test" "$t"
fi

if step chaos; then
    t=$SECONDS
    # The fault kinds with no violation in the 15-minute all-faults run (scripts/chaos.sh says
    # why agent-kill and reload-storm are not in it yet); a fixed seed, so a failure replays.
    echo "== chaos suite, 60 s, seed 42"
    "$(swift build --show-bin-path)/procmgr-bench" chaos --seconds 60 --seed 42 \
        --faults kill-child,kill-grandchild,stop-child,stop-grandchild,agent-adopt,kill-guardian,fd-exhaustion,state-dir-full \
        --procmgr "$(swift build --show-bin-path)/procmgr" 2>&1
    elapsed "chaos" "$t"
fi

if step tsan; then
    t=$SECONDS
    echo "== engine, runtime and agent tests under the thread sanitizer"
    # One test at a time: the sanitizer makes every test 5-20x slower, and run in parallel on two
    # cores the real-process tests' deadlines measure the machine's load, not procmgr.
    # ExecutablePagesTests measures a child's resident code pages (nothing shared between
    # threads), and a sanitized binary's layout has none of the pages it measures; it runs in
    # the plain pass above. die_after_fork=0: the guardian is forked from a threaded process
    # (it starts no thread itself, so the sanitizer's caveat does not apply).
    TSAN_OPTIONS="${TSAN_OPTIONS:-} die_after_fork=0" \
    swift test --sanitize=thread --scratch-path .build-tsan --no-parallel \
        --filter 'ProcmgrEngineTests|ProcmgrRuntimeTests|ProcmgrAgentTests' --skip ExecutablePagesTests 2>&1
    elapsed "thread sanitizer" "$t"
fi

if step fuzz && [ -x scripts/fuzz.sh ]; then
    t=$SECONDS
    echo "== fuzzing, ${FUZZ_SECONDS:-60} s per target"
    scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-60}" 2>&1
    elapsed "fuzzing" "$t"
fi

echo "== all steps done in $((SECONDS - started)) s"
