#!/usr/bin/env bash
# Creates or updates the Python virtual environment .build/venv with the pinned PyPI packages
# given as arguments, and prints its python's path. Idempotent: packages already installed at
# the pinned version are not fetched again.
#
#   scripts/python-venv.sh selenium==4.52.0
#   scripts/python-venv.sh schemathesis==X.Y.Z selenium==4.52.0
#
# Every argument must pin a version (NAME==VERSION): CI runs what was tested.
# PYTHON (default python3) picks the interpreter the venv is made from.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.build/venv"
python="${PYTHON:-python3}"

for requirement in "$@"; do
    case "$requirement" in
        *==?*) ;;
        *) echo "python-venv.sh: $requirement is not pinned (write NAME==VERSION)" >&2; exit 2 ;;
    esac
done

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$root/.build"
    "$python" -m venv "$venv" >&2
fi
if [ $# -gt 0 ]; then
    missing=()
    for requirement in "$@"; do
        name="${requirement%%==*}"
        version="${requirement#*==}"
        installed="$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
        [ "$installed" = "$version" ] || missing+=("$requirement")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "${missing[@]}" >&2
    fi
fi
echo "$venv/bin/python"
