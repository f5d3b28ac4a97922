#!/usr/bin/env bash
# Prepares an offline image build on the host: the project's wheel (maturin, release profile, same
# abi3-py311 extension as the editable install) in docker/prebuilt/, maturin and every runtime dependency
# as wheels in docker/wheelhouse/. Then `docker build --build-arg WHEEL_SOURCE=prebuilt --build-arg
# PIP_OFFLINE=1 ...` needs neither PyPI nor a Rust toolchain image. Uses the host's Python 3.11 (the images run 3.11 on glibc too).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || { echo "prepare-wheelhouse: needs Python 3.11 (set PYTHON=...)" >&2; exit 1; }
out=docker/wheelhouse
project=docker/prebuilt
rm -f "$project"/midnight_scavenger-*.whl "$out"/midnight_scavenger-*.whl
# A target folder of its own: sharing rust/target with a concurrent `cargo build` or editable install
# (several developers, one checkout) made maturin lose its output file. Incremental after the first run.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/rust/target/docker-wheel}
echo "prepare-wheelhouse: building the project wheel (cargo target $CARGO_TARGET_DIR)" >&2
"$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$project" .
echo "prepare-wheelhouse: collecting dependency wheels" >&2
"$PY" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$out" \
    "$project"/midnight_scavenger-*.whl 'maturin>=1.7,<2'
# pip copied the project wheel next to its dependencies; the image takes it from docker/prebuilt only.
rm -f "$out"/midnight_scavenger-*.whl
echo "prepare-wheelhouse: $(find "$out" -name '*.whl' | wc -l) wheels in $out" >&2
