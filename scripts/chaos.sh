#!/usr/bin/env bash
# The chaos suite (issue 10, item 10): builds procmgr and procmgr-bench in release and runs
# `procmgr-bench chaos`, a seeded random schedule of faults against a real `procmgr run`,
# checking the invariants after every fault. Exits non-zero on any violation.
#
#   scripts/chaos.sh                                   # CI: 60 s, seed 42, the faults that hold today
#   scripts/chaos.sh --minutes 30 --seed 7 --faults all
#   scripts/chaos.sh --seconds 120 --faults kill-child,reload-storm
#
# Needs root for the state-dir-full fault (it mounts a 1 MiB tmpfs as the agent's state
# directory); without root that fault is skipped with a printed reason.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# Faults that hold on today's main. kill-guardian, fd-exhaustion and state-dir-full broke every
# time before issue 10's fixes and held in a 15-minute all-faults run after them (596 faults, 0
# violations once the state file's writer retried failed writes). Still out: agent-kill (a
# grandchild survived the agent's SIGKILL once in 108) and reload-storm (a removed process's
# series outlived it, 3 in 121) — both seen before the fixes merged, 0 in 53 and 57 after; they
# go in once a 30-minute run agrees.
ci_faults="kill-child,kill-grandchild,stop-child,stop-grandchild,agent-adopt,kill-guardian,fd-exhaustion,state-dir-full"

args=()
faults="$ci_faults"
duration=(--seconds 60)
seed=(--seed 42)
while [ $# -gt 0 ]; do
    case "$1" in
        --faults) faults="$2"; shift 2 ;;
        --seconds|--minutes) duration=("$1" "$2"); shift 2 ;;
        --seed) seed=(--seed "$2"); shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
[ "$faults" = "all" ] && faults="kill-child,kill-grandchild,stop-child,stop-grandchild,kill-guardian,agent-kill,agent-adopt,reload-storm,fd-exhaustion,state-dir-full"

cd "$root"
swift build -c release --product procmgr > /tmp/procmgr-chaos-build.log 2>&1 &&
    swift build -c release --product procmgr-bench >> /tmp/procmgr-chaos-build.log 2>&1 ||
    { tail -20 /tmp/procmgr-chaos-build.log; echo "chaos: build failed"; exit 1; }
bin="$(swift build -c release --show-bin-path)"
exec "$bin/procmgr-bench" chaos "${duration[@]}" "${seed[@]}" --faults "$faults" "${args[@]}"
