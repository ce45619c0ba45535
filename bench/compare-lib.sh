# shellcheck shell=bash
# Shared by bench/compare-supervisors.sh and bench/compare-escape.sh (sourced, not run): logging,
# the procmgr agent to use, the peers (installed with apt-get when missing) and their versions,
# and the cleanup backstop. The caller sets ROOT, TAG (exported to everything it starts as
# PROCMGR_BENCH_TAG) and SAY_PREFIX before sourcing, and WORK before calling the functions.

say() { printf '[%s %s] %s\n' "${SAY_PREFIX:-compare}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The real agent, `procmgr run`: PROCMGR_AGENT, else the static then the plain release build.
# Sets AGENT to its absolute path, or to "" (with a message) when there is none.
resolve_agent() {
    if [[ -n ${PROCMGR_AGENT:-} ]]; then
        AGENT=$PROCMGR_AGENT
        [[ -x $AGENT ]] || die "$AGENT is not executable"
    elif [[ -x $ROOT/.build-static/release/procmgr ]]; then
        AGENT=$ROOT/.build-static/release/procmgr
    elif [[ -x $ROOT/.build/release/procmgr ]]; then
        AGENT=$ROOT/.build/release/procmgr
    else
        AGENT=
        say "skipping procmgr-agent: no procmgr in .build-static/release or .build/release (set PROCMGR_AGENT)"
    fi
    [[ -z $AGENT ]] || AGENT=$(cd "$(dirname "$AGENT")" && pwd)/$(basename "$AGENT")
}

# ---------------------------------------------------------------- cleanup

tagged_pids() {
    local dir pid entry
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [[ $pid == "$$" ]] && continue
        { while IFS= read -r -d '' entry; do
            if [[ $entry == "PROCMGR_BENCH_TAG=$TAG" ]]; then
                echo "$pid"
                break
            fi
        done < "$dir/environ"; } 2>/dev/null || true
    done
}

# What a caller kills besides the tagged processes (override it: e.g. `pkill -f MARKER`).
cleanup_extra() { :; }

cleanup() {
    local status=$? pids _
    trap - EXIT INT TERM
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        cleanup_extra
        pids=$(tagged_pids)
        [[ -z $pids ]] && break
        say "cleanup: SIGKILL $(echo "$pids" | wc -l) leftover processes of this run"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.3
    done
    pids=$(tagged_pids)
    if [[ -n $pids ]]; then
        say "warning: processes of this run still alive: ${pids//$'\n'/ }"
    else
        say "cleanup: no process of this run left"
    fi
    rm -rf "$WORK"
    exit "$status"
}

install_cleanup_trap() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---------------------------------------------------------------- peers

declare -A PACKAGE=([supervisord]=supervisor [runit]=runit [s6]=s6)
declare -A PROGRAM=([supervisord]=supervisord [runit]=runsvdir [s6]=s6-svscan)
declare -A UNIT=([supervisor]=supervisor.service [runit]=runit.service)

# Installs the missing peers of PEERS (comma-separated) unless NO_INSTALL=1, then narrows PEERS
# and `available` to those installed, and sets `versions` to a JSON object {peer: version}.
prepare_peers() {
    local peer package missing=() SUDO
    for peer in ${PEERS//,/ }; do
        [[ -n ${PACKAGE[$peer]:-} ]] || die "unknown peer $peer (supervisord, runit, s6)"
        command -v "${PROGRAM[$peer]}" >/dev/null || missing+=("${PACKAGE[$peer]}")
    done
    if ((${#missing[@]})) && [[ ${NO_INSTALL:-0} != 1 ]] && command -v apt-get >/dev/null; then
        SUDO=
        [[ $(id -u) == 0 ]] || SUDO=sudo
        say "installing ${missing[*]}:"
        apt-cache policy "${missing[@]}" | grep -E '^[^ ]|Candidate' >&2 || true
        if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1; then
            $SUDO apt-get update >>"$WORK/apt.log" 2>&1 || true
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1 ||
                { tail -20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
        fi
        if [[ -d /run/systemd/system ]]; then
            for package in "${missing[@]}"; do
                if [[ -n ${UNIT[$package]:-} ]]; then
                    $SUDO systemctl disable --now "${UNIT[$package]}" >/dev/null 2>&1 || true
                fi
            done
        fi
    fi
    available=()
    for peer in ${PEERS//,/ }; do
        if command -v "${PROGRAM[$peer]}" >/dev/null; then available+=("$peer"); else say "skipping $peer: ${PROGRAM[$peer]} not installed"; fi
    done
    PEERS=$(IFS=,; echo "${available[*]:-}")
    versions="{"
    for peer in "${available[@]}"; do versions+="\"$peer\": \"$(version_of "$peer")\","; done
    versions="${versions%,}}"
}

version_of() {
    local v
    case $1 in
        supervisord) v=$(supervisord --version 2>/dev/null || true) ;;
        *) v=$(dpkg-query -W -f='${Version}' "${PACKAGE[$1]}" 2>/dev/null || true); v=${v%-*} ;;
    esac
    echo "${v:-?}"
}
