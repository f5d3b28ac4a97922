#!/usr/bin/env bash
# Installs the project, then runs the main job. Without APP_BASE_URL it mines against a local simulator
# (a demo that needs no network); with APP_BASE_URL set it mines against that API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${APP_BASE_URL:-}" ]; then
    exec .venv/bin/scavenger mine "$@"
fi
exec .venv/bin/scavenger demo "$@"
