#!/usr/bin/env bash
# Installs everything the project needs into ./.venv: the Rust extension (release build) and the
# Python dependencies. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo (Rust) is required to build the native core; install it with rustup first" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# Editable install: maturin compiles rust/ in release mode and puts scavenger/_core*.so in python/.
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "setup: ready ($(.venv/bin/python -c 'import scavenger._core as c; print("native core", c.__version__)'))"
