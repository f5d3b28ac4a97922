#!/bin/sh
# Installs the project's wheel (the one midnight_scavenger-*.whl in the first folder) and its
# dependencies into /opt/scavenger. Every folder given is also a pip --find-links source, so a wheelhouse
# prepared on the host (docker/prepare-wheelhouse.sh) makes the build work without PyPI (PIP_OFFLINE=1).
set -eu
[ $# -ge 1 ] || { echo "install-wheels: usage: install-wheels.sh WHEEL_DIR [FIND_LINKS_DIR...]" >&2; exit 64; }
wheel_dir=$1
count=$(find "$wheel_dir" -maxdepth 1 -name 'midnight_scavenger-*.whl' | wc -l)
if [ "$count" != 1 ]; then
    echo "install-wheels: expected exactly one midnight_scavenger-*.whl in $wheel_dir, found $count" >&2
    echo "install-wheels: for WHEEL_SOURCE=prebuilt run docker/prepare-wheelhouse.sh first" >&2
    exit 1
fi
wheel=$(find "$wheel_dir" -maxdepth 1 -name 'midnight_scavenger-*.whl')
links=""
for dir in "$@"; do
    links="$links --find-links $dir"
done
offline=""
[ "${PIP_OFFLINE:-0}" = 1 ] && offline="--no-index"
# shellcheck disable=SC2086  # word splitting of the option lists is intended
/opt/scavenger/bin/pip install --no-cache-dir --disable-pip-version-check $offline $links "$wheel"
# The wheel must import with its native core on this image's Python, or the image is useless.
/opt/scavenger/bin/python -c 'import scavenger._core, scavenger.cli'
