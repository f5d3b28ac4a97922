#!/usr/bin/env bash
# The project's test command: installs what is missing, then lint, types and the whole test suite
# (real PostgreSQL, real simulator on 127.0.0.1, real processes; Docker tests where an engine answers).
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL server binaries from Debian's packages (the stats tests start their own throwaway cluster).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing PostgreSQL from Debian's packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "test: PostgreSQL server binaries missing; run: sudo apt-get install postgresql" >&2
        exit 1
    fi
fi

# An OpenCL runtime on the CPU (pocl) for the OpenCL backend's bit-exactness and end-to-end tests.
if ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test: installing pocl (OpenCL on the CPU) from Debian's packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pocl-opencl-icd ocl-icd-libopencl1 >/dev/null
    else
        echo "test: no OpenCL runtime; the OpenCL backend tests will skip (sudo apt-get install pocl-opencl-icd)" >&2
    fi
fi

bash scripts/setup.sh

.venv/bin/ruff check python tests
.venv/bin/mypy
cargo test --quiet --manifest-path rust/Cargo.toml --no-default-features

set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "test: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
