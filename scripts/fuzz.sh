#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ (a separate package: the main build is untouched) and
# runs each for a bounded time, printing per target the executions and the coverage libFuzzer
# reached (cov: edges, ft: features) from its final stats.
#
#   scripts/fuzz.sh                      # every target, 60 s each (what CI runs)
#   scripts/fuzz.sh --seconds 600        # the documented longer local run
#   scripts/fuzz.sh --seconds 30 values bearer-token   # some targets only
#   scripts/fuzz.sh --merge              # afterwards, merge new interesting inputs into Fuzz/corpus
#
# Before fuzzing, every input under Fuzz/regressions/<target>/ (inputs that crashed once) is
# replayed; one that still crashes is reported and fails the script. Crashes found while
# fuzzing are saved to $FUZZ_WORK/artifacts/<target>/ (default /tmp/procmgr-fuzz) and fail it
# too. Exit status: 0 when nothing crashed.
set -uo pipefail

seconds=60
merge=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --merge) merge=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
all=(config-yaml config-json values accept-encoding bearer-token exposition state-file etcd-watch)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/Fuzz"
work="${FUZZ_WORK:-/tmp/procmgr-fuzz}"
mkdir -p "$work"
# The fuzz package resolves the same dependency versions as the main package.
[ -f "$root/Package.resolved" ] && cp "$root/Package.resolved" "$fuzz/Package.resolved"

# Release (-O) for executions per second; ASan also turns a stack overflow into a report.
# Not `--sanitize fuzzer --sanitize address`: SwiftPM passes those to the Swift frontend as two
# `-sanitize=` flags and the last one wins, so Swift code would get ASan but no coverage
# counters (libFuzzer then runs blind: "no interesting inputs were found"). One combined
# `-sanitize=fuzzer,address` (which swiftc also uses to link libFuzzer's main) and the C
# equivalent instrument everything.
build_flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address --package-path "$fuzz")
start=$(date +%s)
echo "fuzz: building the harnesses (swift build ${build_flags[*]})"
if ! swift build "${build_flags[@]}" > "$work/build.log" 2>&1; then
    grep -E "error:" "$work/build.log" | head -20
    echo "fuzz: build failed, see $work/build.log"
    exit 1
fi
bin="$(swift build "${build_flags[@]}" --show-bin-path)"
built=$(date +%s)
echo "fuzz: built in $((built - start)) s"

# -detect_leaks=0: LeakSanitizer counts the Swift runtime's and Foundation's one-time caches
# (552 bytes in 6 allocations at exit) as leaks, which would end every run as a "crash".
# LeakSanitizer's own check at exit is off for the same reason (ASAN_OPTIONS).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
# Inputs above a few KiB only slow the config readers down; the nesting that crashed Yams
# needs a few thousand bytes, so the config targets get 16 KiB.
max_len() {
    case "$1" in config-*|state-file) echo 16384 ;; *) echo 1024 ;; esac
}

failed=0
summary=()
for target in "${targets[@]}"; do
    exe="$bin/fuzz-$target"
    if [ ! -x "$exe" ]; then echo "fuzz: no such target $target"; failed=1; continue; fi
    artifacts="$work/artifacts/$target"
    scratch="$work/corpus/$target"
    mkdir -p "$artifacts" "$scratch"

    regressions_failed=0
    for input in "$fuzz/regressions/$target"/*; do
        [ -f "$input" ] || continue
        if ! "$exe" -runs=1 -detect_leaks=0 -rss_limit_mb=4096 "$input" > "$work/$target.regression.log" 2>&1; then
            echo "fuzz: $target: regression input $(basename "$input") still crashes:"
            grep -m3 -E "ERROR: |invariant violated|Fatal error" "$work/$target.regression.log" | sed 's/^/    /'
            regressions_failed=1
        fi
    done
    [ $regressions_failed -eq 1 ] && failed=1

    log="$work/$target.log"
    "$exe" "$scratch" "$fuzz/corpus/$target" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
        -max_len="$(max_len "$target")" -artifact_prefix="$artifacts/" > "$log" 2>&1
    status=$?
    execs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    rate=$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
    corpus=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
    verdict="ok"
    if [ $status -ne 0 ]; then
        verdict="CRASH ($(ls -t "$artifacts" | head -1), see $log)"
        failed=1
    fi
    [ $regressions_failed -eq 1 ] && verdict="$verdict; a regression input still crashes"
    line=$(printf "%-16s execs %10s  (%6s/s)  cov %5s  ft %6s  corpus %5s  %s" \
        "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$verdict")
    echo "fuzz: $line"
    summary+=("$line")

    if [ $merge -eq 1 ]; then
        "$exe" -merge=1 "$fuzz/corpus/$target" "$scratch" -max_len="$(max_len "$target")" > "$work/$target.merge.log" 2>&1 || true
    fi
done

end=$(date +%s)
echo
echo "fuzz summary (${seconds} s per target; build $((built - start)) s, total $((end - start)) s):"
for line in "${summary[@]}"; do echo "  $line"; done
exit $failed
