#!/usr/bin/env bash
# Creates (or updates) the Python virtual environment the checks written in Python use, at
# .build/venv, with the PyPI packages given as pinned requirements:
#
#   scripts/python-venv.sh schemathesis==4.32.5
#   scripts/python-venv.sh selenium==4.x.y schemathesis==4.32.5
#
# Idempotent and quiet: a package already installed at the pinned version is not asked for again,
# so a second run starts no pip at all and takes well under a second. Prints the venv's python
# on stdout (its other programs are beside it, e.g. `$(dirname "$python")/schemathesis`);
# everything else goes to stderr. Needs `python3 -m venv` (Debian: the python3-venv package) and
# PyPI; PYTHON (default python3) picks the interpreter the venv is made from.
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
    if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "python-venv.sh: $python cannot create a virtual environment ($python -m venv);" \
            "on Debian install the python3-venv package" >&2
        exit 1
    fi
    mkdir -p "$root/.build"
    "$python" -m venv "$venv" >&2
fi

# Which requirements the venv does not satisfy yet (exact name and version, per the installed
# distributions' metadata: no network).
missing=()
if [ $# -gt 0 ]; then
    mapfile -t missing < <("$venv/bin/python" - "$@" <<'PYTHON'
import sys
from importlib import metadata

for requirement in sys.argv[1:]:
    name, version = requirement.split("==", 1)
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        installed = None
    if installed != version:
        print(requirement)
PYTHON
    )
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "python-venv.sh: installing ${missing[*]} into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi
echo "$venv/bin/python"
