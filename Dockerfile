# Miner image: `scavenger` (Python) with its native AshMaize core, for the miner, simulator and stats
# backend services alike (docker-compose.yml picks the command).
#
# Where the native wheel comes from (build argument WHEEL_SOURCE):
#   build     (default)  the `builder` stage compiles rust/ with maturin (release profile)
#   prebuilt             the wheel docker/prebuilt/midnight_scavenger-*.whl made on the host by
#                        docker/prepare-wheelhouse.sh is used as is: nothing is compiled, so BUILDER_IMAGE
#                        may then be any image with /bin/sh (e.g. the runtime image itself)
# An argument rather than a separate target, because the classic builder (Docker 20.10 without BuildKit,
# compose v1) builds every stage before the target, even unused ones.
# Base images are build arguments: the defaults suit a machine with an image registry; an offline machine
# builds its own with docker/build-base-images.sh (docs/docker.md). PIP_OFFLINE=1 installs Python
# packages from docker/wheelhouse only (no PyPI).

ARG BUILDER_IMAGE=rust:1-slim-bookworm
ARG RUNTIME_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS base
# Lets `docker image prune --filter label=midnight-scavenger.image` drop this project's stale builds only.
LABEL midnight-scavenger.image=app
ARG APP_UID=10001
ARG APP_GID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/scavenger \
    PATH=/opt/scavenger/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/home/scavenger \
    ROOT_CONF_PATH=/usr/local/bin/config \
    METRICS_HOST=0.0.0.0 \
    SCAVENGER_DATA_DIR=/var/lib/scavenger
# tini is PID 1 so SIGTERM reaches the miner (a Python PID 1 would ignore it) and zombies are reaped;
# the locally built base already has it, a stock python image gets it from apt.
RUN set -eu; \
    if ! command -v tini >/dev/null 2>&1; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --system --gid "${APP_GID}" scavenger; \
    useradd --system --uid "${APP_UID}" --gid "${APP_GID}" --home-dir /home/scavenger --create-home \
        --shell /usr/sbin/nologin scavenger; \
    python3 -m venv /opt/scavenger; \
    mkdir -p /usr/local/bin/config /var/lib/scavenger; \
    chown scavenger:scavenger /usr/local/bin/config /var/lib/scavenger
COPY docker/install-wheels.sh /usr/local/lib/scavenger/install-wheels.sh
RUN chmod 0755 /usr/local/lib/scavenger/install-wheels.sh
WORKDIR /home/scavenger
# Wallet seeds, slot locks, journals and the shared donation list: back this up (docs/docker.md).
VOLUME ["/usr/local/bin/config"]
# The entrypoint starts as root only to hand the config volume to the `scavenger` user, then drops to it.
ENTRYPOINT ["tini", "--", "scavenger-entrypoint"]
CMD ["scavenger", "mine"]
# Long start period: building the real 1 GiB ROM takes a while before the miner claims its slot.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 CMD ["scavenger-healthcheck"]

# ---------------------------------------------------------------------------------------------------------
FROM ${BUILDER_IMAGE} AS builder
LABEL midnight-scavenger.image=builder
ARG WHEEL_SOURCE=build
ARG PIP_OFFLINE=0
ENV PATH=/opt/build/bin:/usr/local/cargo/bin:/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN set -eu; \
    case "${WHEEL_SOURCE}" in build | prebuilt) ;; \
        *) echo "WHEEL_SOURCE must be build or prebuilt, got '${WHEEL_SOURCE}'" >&2; exit 1 ;; esac; \
    [ "${WHEEL_SOURCE}" = build ] || exit 0; \
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -m venv /opt/build
# README.md always matches, so the copy works whether or not a maturin wheel was put in the wheelhouse.
COPY docker/wheelhouse/README.md docker/wheelhouse/maturin* /tmp/maturin/
RUN set -eu; \
    [ "${WHEEL_SOURCE}" = build ] || exit 0; \
    if [ "${PIP_OFFLINE}" = 1 ]; then set -- --no-index; fi; \
    pip install --no-cache-dir --disable-pip-version-check "$@" --find-links /tmp/maturin 'maturin>=1.7,<2'
WORKDIR /src
# Dependencies first, with a stub crate, so editing the sources does not re-download the crates.
COPY rust/Cargo.toml rust/Cargo.lock rust/
RUN set -eu; \
    [ "${WHEEL_SOURCE}" = build ] || exit 0; \
    mkdir -p rust/src && touch rust/src/lib.rs && cargo fetch --locked --manifest-path rust/Cargo.toml
COPY pyproject.toml README.md ./
COPY rust/src/ rust/src/
COPY python/ python/
RUN set -eu; \
    mkdir -p /wheels; \
    [ "${WHEEL_SOURCE}" = build ] || exit 0; \
    maturin build --release --locked --out /wheels --interpreter python3
# After the compile step, so refreshing the host wheel never invalidates the cached Rust build.
COPY docker/prebuilt/README.md docker/prebuilt/midnight_scavenger-* /tmp/prebuilt/
RUN set -eu; \
    [ "${WHEEL_SOURCE}" = prebuilt ] || exit 0; \
    cp /tmp/prebuilt/midnight_scavenger-*.whl /wheels/ 2>/dev/null || { \
        echo "WHEEL_SOURCE=prebuilt but docker/prebuilt has no midnight_scavenger-*.whl:" \
             "run docker/prepare-wheelhouse.sh first" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------
FROM base AS runtime
ARG PIP_OFFLINE=0
COPY --from=builder /wheels/ /tmp/wheels/
COPY docker/wheelhouse/ /tmp/wheelhouse/
# The wheel from the builder stage is installed by path; the wheelhouse only supplies dependencies.
RUN PIP_OFFLINE="${PIP_OFFLINE}" /usr/local/lib/scavenger/install-wheels.sh /tmp/wheels /tmp/wheelhouse \
    && rm -rf /tmp/wheels /tmp/wheelhouse
# Last, so editing them never re-installs the Python packages above.
COPY docker/entrypoint.sh /usr/local/bin/scavenger-entrypoint
COPY docker/healthcheck.py /usr/local/bin/scavenger-healthcheck
COPY docker/compose_name.py /usr/local/bin/scavenger-compose-name
RUN chmod 0755 /usr/local/bin/scavenger-entrypoint /usr/local/bin/scavenger-healthcheck \
        /usr/local/bin/scavenger-compose-name
# What the image was built from (scripts/docker.sh: a digest of the build inputs), so a second run can tell
# the image is current and skip the build. Last, so a new value costs one metadata layer.
ARG SOURCE_DIGEST=unknown
LABEL midnight-scavenger.source-digest=${SOURCE_DIGEST}
