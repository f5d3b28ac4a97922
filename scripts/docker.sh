#!/usr/bin/env bash
# One entry point for Docker on any host: either Compose flavour (`docker compose` v2 or `docker-compose`
# 1.29), with or without an image registry. It builds what is missing (with progress and timings; a second
# run with unchanged sources skips the build), starts the stack and says where to look next.
#
#   bash scripts/docker.sh demo [--miners N]   simulator + stats + N miners (default 2), small ROM, demo wallets
#   bash scripts/docker.sh up [--miners N]     stats + N miners against the real API (APP_BASE_URL)
#   bash scripts/docker.sh status              containers, `scavenger status` per slot, accepted solutions
#   bash scripts/docker.sh logs [ARGS...]      follow the logs (compose logs -f ARGS)
#   bash scripts/docker.sh down [--volumes]    stop and remove the containers (config folders are kept)
#   bash scripts/docker.sh build [--force]     only build the images
#   bash scripts/docker.sh compose ARGS...     any compose command, with the right tool, files and project
#
# `status`, `logs`, `down` and `compose` act on the demo stack when it is the one running (or with --demo
# before the command: `bash scripts/docker.sh --demo down`).
#
# Settings come from the environment or `.env` as for plain compose (docs/docker.md). The script's own:
#   SCAVENGER_BASE_IMAGES   auto (default) | registry | local: where the base images come from. auto uses
#                           the registry when `docker pull` works, else builds them from Debian (debootstrap)
#   COMPOSE_PROJECT_NAME    default `scavenger` (`scavenger-demo` for the demo): containers scavenger_miner_1...
set -euo pipefail
cd "$(dirname "$0")/.."
# One collation for every user: the source digest sorts file names.
export LC_ALL=C

STARTED=$(date +%s)
say() { printf '[docker.sh +%3ss] %s\n' "$(($(date +%s) - STARTED))" "$*" >&2; }
die() {
    echo "docker.sh: $*" >&2
    exit 1
}
usage() {
    # usage [STATUS]: the command list; 0 on stdout for --help, else on stderr with status 2 as for any
    # command-line mistake (the convention of click, which `scavenger` uses).
    if [ "${1:-2}" = 0 ]; then
        sed -n '/^#   bash/p' "$0" | sed 's/^#   //'
        exit 0
    fi
    sed -n '/^#   bash/p' "$0" | sed 's/^#   //' >&2
    exit 2
}
usage_error() {
    echo "docker.sh: $*" >&2
    exit 2
}

REGISTRY_RUNTIME=python:3.11-slim-bookworm
REGISTRY_BUILDER=rust:1-slim-bookworm
REGISTRY_POSTGRES=postgres:15-bookworm
LOCAL_RUNTIME=scavenger-base-runtime:bookworm
LOCAL_POSTGRES=scavenger-base-postgres:bookworm
# One log per run (two checkouts may build at once); removed after a successful build, kept after a failure.
BUILD_LOG=${TMPDIR:-/tmp}/scavenger-docker-build.$(id -u).$$.log

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# --- Compose flavour ------------------------------------------------------------------------------------
COMPOSE=()
find_compose() {
    command -v docker >/dev/null 2>&1 || die "no \`docker\` command: install Docker Engine first"
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is it running, and may $(id -un) use it?)"
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        die "neither \`docker compose\` nor \`docker-compose\` works: install one (Debian: apt-get install docker-compose)"
    fi
}

# .env is compose's; a variable set there or in the environment wins over what this script would choose.
user_sets() {
    [ -n "${!1:-}" ] || { [ -f .env ] && grep -Eq "^[[:space:]]*$1=." .env; }
}
default() {
    user_sets "$1" || export "$1=$2"
}
# The value compose will use: the environment's, else the last one in .env.
setting() {
    if [ -n "${!1:-}" ]; then
        printf '%s' "${!1}"
    elif [ -f .env ]; then
        sed -n "s/^[[:space:]]*$1=//p" .env | tail -1
    fi
}

# --- Stack selection ------------------------------------------------------------------------------------
DEMO=0
FILES=()
select_stack() {
    FILES=(-f docker-compose.yml)
    if [ "$DEMO" = 1 ]; then
        FILES+=(-f docker/compose.demo.yml)
        export COMPOSE_PROFILES=demo
        default COMPOSE_PROJECT_NAME scavenger-demo
    else
        # The simulator service belongs to the demo profile; `down` must see it to remove it.
        export COMPOSE_PROFILES=${COMPOSE_PROFILES:-}
        default COMPOSE_PROJECT_NAME scavenger
    fi
    # Stats name the miners miner-<slot>@<this host> instead of the container's hex id.
    default STATS_HOST_NAME "$(hostname)"
    # A non-root user keeps owning the config folder the miners write (seeds readable without sudo).
    if [ "$(id -u)" != 0 ]; then
        default APP_UID "$(id -u)"
        default APP_GID "$(id -g)"
    fi
}
compose() { "${COMPOSE[@]}" "${FILES[@]}" "$@"; }

project_running() {
    [ -n "$(docker ps -q --filter "label=com.docker.compose.project=$1" 2>/dev/null)" ]
}
# For status/logs/down/compose without --demo: the demo stack when it alone is running.
guess_demo() {
    if [ "$DEMO" = 0 ] && [ -z "${COMPOSE_PROJECT_NAME:-}" ] && ! project_running scavenger \
        && project_running scavenger-demo; then
        DEMO=1
    fi
}

# --- Images ---------------------------------------------------------------------------------------------
BASE_MODE=
choose_base_mode() {
    BASE_MODE=${SCAVENGER_BASE_IMAGES:-auto}
    case $BASE_MODE in
        registry | local) return ;;
        auto) ;;
        *) die "SCAVENGER_BASE_IMAGES must be auto, registry or local, got '$BASE_MODE'" ;;
    esac
    if image_exists "$REGISTRY_RUNTIME"; then
        BASE_MODE=registry
    elif image_exists "$LOCAL_RUNTIME"; then
        BASE_MODE=local
    else
        say "is an image registry reachable? (docker pull $REGISTRY_RUNTIME)"
        if timeout 600 docker pull -q "$REGISTRY_RUNTIME" >/dev/null 2>"$BUILD_LOG.pull"; then
            BASE_MODE=registry
        else
            say "no registry ($(tail -1 "$BUILD_LOG.pull" | cut -c1-120)): base images will be built from Debian"
            BASE_MODE=local
        fi
        rm -f "$BUILD_LOG.pull"
    fi
}

set_build_settings() {
    if [ "$BASE_MODE" = registry ]; then
        default SCAVENGER_RUNTIME_IMAGE "$REGISTRY_RUNTIME"
        default SCAVENGER_BUILDER_IMAGE "$REGISTRY_BUILDER"
        default SCAVENGER_POSTGRES_BASE_IMAGE "$REGISTRY_POSTGRES"
        default SCAVENGER_WHEEL_SOURCE build
        default PIP_OFFLINE 0
    else
        # No registry: Debian-built bases, the native wheel compiled once on the host (no Rust image
        # needed) and every Python dependency from the host-made wheelhouse (containers may not reach PyPI).
        default SCAVENGER_RUNTIME_IMAGE "$LOCAL_RUNTIME"
        default SCAVENGER_BUILDER_IMAGE "$LOCAL_RUNTIME"
        default SCAVENGER_POSTGRES_BASE_IMAGE "$LOCAL_POSTGRES"
        default SCAVENGER_WHEEL_SOURCE prebuilt
        default PIP_OFFLINE 1
    fi
}

# A digest of every build input (what the Dockerfiles copy) and of the build settings, stored as an image
# label: equal digests mean the images are current and the build is skipped. README.md is copied only as
# the wheel's description, so editing it does not make the images stale.
source_digest() {
    {
        if git rev-parse --git-dir >/dev/null 2>&1; then
            git ls-files -z -co --exclude-standard -- Dockerfile .dockerignore docker rust/Cargo.toml \
                rust/Cargo.lock rust/src python pyproject.toml
        else
            find Dockerfile .dockerignore docker rust/Cargo.toml rust/Cargo.lock rust/src python \
                pyproject.toml -type f ! -name '*.so' ! -name '*.pyc' ! -name '*.whl' -print0
        fi
    } | sort -z | while IFS= read -r -d '' file; do
        [ -f "$file" ] && case $file in docker/wheelhouse/*.whl | docker/prebuilt/*.whl) ;; *) sha256sum "$file" ;; esac
    done | { cat; env | grep -E '^(SCAVENGER_(RUNTIME|BUILDER|POSTGRES_BASE)_IMAGE|SCAVENGER_WHEEL_SOURCE|PIP_OFFLINE)=' | sort; } \
        | sha256sum | cut -c1-16
}

image_digest() {
    docker image inspect -f '{{index .Config.Labels "midnight-scavenger.source-digest"}}' "$1" 2>/dev/null || true
}

timed() {
    # timed "what" command...: runs it, then says how long it took.
    local what=$1 started
    shift
    started=$(date +%s)
    say "$what ..."
    "$@"
    say "$what: done in $(($(date +%s) - started)) s"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        say "root is needed once for debootstrap: sudo $*"
        sudo "$@"
    else
        die "building the base images needs root (debootstrap); run as root: $*"
    fi
}

build_local_bases() {
    if image_exists "$SCAVENGER_RUNTIME_IMAGE" && image_exists "$SCAVENGER_POSTGRES_BASE_IMAGE"; then
        say "base images present ($SCAVENGER_RUNTIME_IMAGE, $SCAVENGER_POSTGRES_BASE_IMAGE)"
        return
    fi
    timed "[1/3] base images from Debian with debootstrap (once per machine, ~2-4 min)" \
        as_root env SCAVENGER_RUNTIME_BASE="$SCAVENGER_RUNTIME_IMAGE" \
        SCAVENGER_POSTGRES_BASE="$SCAVENGER_POSTGRES_BASE_IMAGE" nice -n 10 bash docker/build-base-images.sh --no-builder
}

prepare_wheelhouse() {
    command -v cargo >/dev/null 2>&1 \
        || die "without an image registry the native core is compiled on this host: install Rust (rustup) first"
    timed "[2/3] native wheel compiled on the host + dependency wheels (docker/prepare-wheelhouse.sh, ~1-2 min)" \
        nice -n 10 bash docker/prepare-wheelhouse.sh
}

compose_build() {
    local started status=0
    started=$(date +%s)
    say "[3/3] building images $SCAVENGER_IMAGE, $SCAVENGER_POSTGRES_IMAGE (${COMPOSE[*]} build; full log: $BUILD_LOG)"
    # The build's own output is long (pip, cargo): its step lines show progress, the log keeps the rest.
    nice -n 10 "${COMPOSE[@]}" -f docker-compose.yml build miner stats-db >"$BUILD_LOG" 2>&1 &
    local pid=$!
    tail -n +1 -f "$BUILD_LOG" --pid "$pid" 2>/dev/null \
        | grep --line-buffered -E '^(Step [0-9]+/[0-9]+ : (FROM|RUN|COPY)|#[0-9]+ \[[^]]+\] (RUN|COPY|FROM)|Successfully tagged|Building )' \
        | sed -u -E 's/^(.{0,110}).*/    \1/' >&2 || true
    wait "$pid" || status=$?
    if [ "$status" != 0 ]; then
        tail -40 "$BUILD_LOG" >&2
        die "image build failed (exit $status); full log: $BUILD_LOG"
    fi
    rm -f "$BUILD_LOG"
    say "[3/3] images built in $(($(date +%s) - started)) s"
}

ensure_images() {
    local force=${1:-0} digest
    export SCAVENGER_IMAGE=${SCAVENGER_IMAGE:-scavenger-miner:latest}
    export SCAVENGER_POSTGRES_IMAGE=${SCAVENGER_POSTGRES_IMAGE:-scavenger-stats-db:latest}
    choose_base_mode
    set_build_settings
    digest=$(source_digest)
    export SCAVENGER_SOURCE_DIGEST=$digest
    if [ "$force" = 0 ] && [ "$(image_digest "$SCAVENGER_IMAGE")" = "$digest" ] \
        && [ "$(image_digest "$SCAVENGER_POSTGRES_IMAGE")" = "$digest" ]; then
        say "images are current (sources digest $digest): nothing to build"
        return
    fi
    local started
    started=$(date +%s)
    say "building the images (base images from: $BASE_MODE; native wheel: $SCAVENGER_WHEEL_SOURCE)"
    if [ "$BASE_MODE" = local ]; then
        build_local_bases
        [ "$SCAVENGER_WHEEL_SOURCE" = prebuilt ] && prepare_wheelhouse
    fi
    compose_build
    say "images ready in $(($(date +%s) - started)) s"
}

# --- Commands -------------------------------------------------------------------------------------------
published() {
    # host:port of a service's published port, or empty.
    compose port "$1" "$2" 2>/dev/null | tail -1 | tr -d '\r' || true
}

next_steps() {
    local dashboard config
    dashboard=$(published stats-backend 8080)
    config=${1}
    say "running: $(docker ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --format '{{.Names}}' | sort | tr '\n' ' ')"
    local demo_flag=""
    [ "$DEMO" = 1 ] && demo_flag=" --demo"
    cat >&2 <<EOF

Where to look next:
  bash scripts/docker.sh${demo_flag} logs        what the miners do ("solution ... accepted"); Ctrl-C stops following only
  bash scripts/docker.sh${demo_flag} status      containers, \`scavenger status\` (wallets, solutions, receipts per slot)
  http://${dashboard:-127.0.0.1:8980}/    stats dashboard (loopback only)
  ${config}/<n>/miner-<n>/wallets/seeds.txt   wallet seeds of slot <n> (owned by uid ${APP_UID:-10001}): back them up
  bash scripts/docker.sh${demo_flag} down        stop everything (wallets stay in ${config}/)
EOF
}

MINERS=2
parse_up_options() {
    while [ $# -gt 0 ]; do
        case $1 in
            --miners)
                [ $# -ge 2 ] || usage_error "--miners needs a number"
                MINERS=$2
                shift 2
                ;;
            --miners=*) MINERS=${1#*=}; shift ;;
            *) usage_error "unknown option '$1' (expected --miners N)" ;;
        esac
    done
    case $MINERS in '' | *[!0-9]* | 0*) usage_error "--miners must be a whole number >= 1, got '$MINERS'" ;; esac
}

cmd_up() {
    local miners=$MINERS
    if [ "$DEMO" = 0 ] && [ "$(setting STATS_BEARER_TOKEN)" = changeme ]; then
        # Copied from .env.example unchanged: the backend would refuse it and the miners' stats go nowhere.
        die "STATS_BEARER_TOKEN is the public default 'changeme': put your own in .env" \
            "(python3 -c 'import secrets; print(secrets.token_hex(32))') or delete that line to get a random one"
    fi
    ensure_images
    local config
    if [ "$DEMO" = 1 ]; then
        config=./demo-config-docker
    else
        config=$(setting SCAVENGER_CONFIG_DIR)
        config=${config:-./config}
    fi
    # Made by us (not by Docker as root), so it belongs to the invoking user from the start.
    mkdir -p "$config"
    if [ "$DEMO" = 0 ] && ! user_sets STATS_BEARER_TOKEN; then
        # The backend refuses the public default outside the demo; miners and backend must share one token
        # across restarts, so it is kept in .env (git-ignored, readable by you only).
        local token
        token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        (umask 077 && printf '# written by scripts/docker.sh up: shared by the miners and the stats backend\nSTATS_BEARER_TOKEN=%s\n' "$token" >>.env && chmod 600 .env)
        say "wrote a random STATS_BEARER_TOKEN to .env (mode 0600): the backend refuses the public default"
    fi
    local what="stats-db, stats-backend and $miners miner(s) against ${APP_BASE_URL:-the real API}"
    [ "$DEMO" = 1 ] && what="simulator, stats-db, stats-backend and $miners miner(s) (demo: small ROM, demo wallets)"
    timed "starting $what (project $COMPOSE_PROJECT_NAME)" \
        compose up -d --no-build --remove-orphans --scale "miner=$miners" miner
    next_steps "$config"
}

cmd_status() {
    compose ps
    local ids
    ids=$(compose ps -q miner 2>/dev/null || true)
    [ -n "$ids" ] || { say "no miner is running"; return 0; }
    echo
    compose exec -T --user "${APP_UID:-10001}" miner scavenger status --offline || true
    echo
    echo "accepted solutions per miner (from their logs):"
    local id name count
    for id in $ids; do
        name=$(docker inspect -f '{{.Name}}' "$id" | sed 's#^/##')
        count=$(docker logs "$id" 2>&1 | grep -c ' accepted' || true)
        echo "  $name: $count"
    done
}

main() {
    [ $# -ge 1 ] || usage 2
    if [ "$1" = --demo ]; then
        DEMO=1
        shift
        [ $# -ge 1 ] || usage
    fi
    local command=$1
    shift
    # Mistakes in the command line are told before anything slow (engine probe, build) starts.
    case $command in
        demo | up) parse_up_options "$@" ;;
        build) [ $# -eq 0 ] || [ "$*" = --force ] || usage_error "build takes only --force" ;;
        status) [ $# -eq 0 ] || usage_error "status takes no arguments" ;;
        logs | down | compose) ;;
        # The images' source digest for these settings (what `build` compares with the image labels), for
        # the test suite's own builds.
        source-digest) [ $# -eq 0 ] || usage_error "source-digest takes no arguments"; source_digest; return 0 ;;
        -h | --help | help) usage 0 ;;
        *) usage_error "unknown command '$command' (bash scripts/docker.sh --help lists them)" ;;
    esac
    case ${SCAVENGER_BASE_IMAGES:-auto} in
        auto | registry | local) ;;
        *) usage_error "SCAVENGER_BASE_IMAGES must be auto, registry or local, got '$SCAVENGER_BASE_IMAGES'" ;;
    esac
    find_compose
    case $command in
        demo)
            DEMO=1
            select_stack
            cmd_up
            ;;
        up)
            select_stack
            cmd_up
            ;;
        build)
            select_stack
            local force=0
            if [ "${1:-}" = --force ]; then force=1; fi
            ensure_images "$force"
            ;;
        status)
            guess_demo
            select_stack
            cmd_status
            ;;
        logs)
            guess_demo
            select_stack
            if [ $# -eq 0 ]; then set -- -f; fi
            compose logs "$@"
            ;;
        down)
            guess_demo
            select_stack
            export COMPOSE_PROFILES=demo
            timed "stopping project $COMPOSE_PROJECT_NAME" compose down --remove-orphans "$@"
            ;;
        compose)
            guess_demo
            select_stack
            compose "$@"
            ;;
    esac
}

main "$@"
exit $?
