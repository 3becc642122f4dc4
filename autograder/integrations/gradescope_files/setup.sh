#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (any Ubuntu base image).
# It installs bubblewrap (the sandbox), a Python >= 3.11 with venv, and then the grader and its
# dependencies from the wheels in this zip, offline, into $AUTOGRADER_ROOT/venv.
# AUTOGRADER_BASE_PYTHON names the interpreter to use, if not the newest python3.x found.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive

apt_install() {
    apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@"; }
}

recent_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
                && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap
python="${AUTOGRADER_BASE_PYTHON:-}"
[ -n "$python" ] || python="$(recent_python)" || { apt_install python3.11 python3.11-venv && python=python3.11; }
if ! "$python" -m venv --clear "$root/venv" >/dev/null 2>&1; then  # Debian and Ubuntu ship venv apart
    apt_install "$("$python" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
    "$python" -m venv --clear "$root/venv"
fi
"$root/venv/bin/python" -m pip install --quiet --no-index --find-links "$here/wheels" micrograd-autograder
echo "setup.sh: installed $("$root/venv/bin/python" -m autograder --version) for $("$root/venv/bin/python" --version)"
