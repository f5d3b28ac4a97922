#!/usr/bin/env bash
# Installs everything the project needs into ./.venv: the Rust extension (release build) and the
# Python dependencies, showing each step and the crates as they compile.
#
# A fast no-op when nothing changed: the install is stamped with a hash of what it was built from
# (rust/src, rust/Cargo.*, pyproject.toml). The Python sources are not part of it: the install is editable,
# so python/ is used in place and a change there needs no reinstall. Delete .venv/.setup-stamp (or set
# SETUP_FORCE=1) to force a reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
STAMP=.venv/.setup-stamp
LOG=.venv/setup.log
started=$SECONDS

say() { printf 'setup: %s\n' "$*"; }

inputs_hash() {
    find rust/src rust/Cargo.toml rust/Cargo.lock pyproject.toml -type f -print0 2>/dev/null \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

core_version() {
    .venv/bin/python -c 'import scavenger._core as c; print(c.__version__)' 2>/dev/null
}

wanted=$(inputs_hash)
if [ -z "${SETUP_FORCE:-}" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ] && version=$(core_version); then
    say "up to date (native core $version; nothing changed in rust/ or pyproject.toml since the last install)"
    exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo (Rust) is required to build the native core; install it with rustup first" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    say "[1/3] creating .venv"
    "$PYTHON" -m venv .venv
else
    say "[1/3] .venv exists"
fi
rm -f "$STAMP"
say "[2/3] updating pip"
.venv/bin/python -m pip install --quiet --upgrade pip
# Editable install: maturin compiles rust/ in release mode (about 2 minutes the first time) and puts
# scavenger/_core*.so in python/. pip is verbose here only so that the crates can be shown as they compile;
# the whole output is kept in .venv/setup.log.
say "[3/3] installing the Python dependencies and building the native core (release; ~2 min the first time)"
set +e
.venv/bin/python -m pip install -v -e '.[dev]' </dev/null 2>&1 | tee "$LOG" \
    | grep --line-buffered -E '^ *(Collecting|Compiling|Finished|Successfully installed) ' \
    | sed -u -E 's/^ */  /'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] || ! version=$(core_version); then
    echo "setup: the install failed; the last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
fi
echo "$wanted" > "$STAMP"
say "ready in $((SECONDS - started)) s (native core $version)"
