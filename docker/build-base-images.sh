#!/usr/bin/env bash
# Builds the three local base images from Debian bookworm with debootstrap, for machines whose Docker
# engine cannot pull from an image registry (air-gapped hosts, CI sandboxes). Everything comes from the
# Debian mirror through the host's own network access, so `docker build` itself never needs the network
# for apt. Images built (names overridable through the environment):
#
#   scavenger-base-runtime:bookworm   python3 (3.11, matches the abi3-py311 extension), venv, tini
#   scavenger-base-postgres:bookworm  runtime + PostgreSQL 15 server (for the stats-db service)
#   scavenger-base-builder:bookworm   runtime + gcc, python3-dev and the host's Rust toolchain
#
# Usage: docker/build-base-images.sh [--force] [--no-builder]
#   --force       rebuild images that already exist (they are skipped otherwise)
#   --no-builder  only runtime and postgres (scripts/docker.sh: it compiles the wheel on the host instead)
# Needs: root (debootstrap, chroot), debootstrap, docker. The builder image is skipped when the host has
# no Rust toolchain; use the prebuilt-wheel build path then (docs/docker.md).
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
RUNTIME_IMAGE=${SCAVENGER_RUNTIME_BASE:-scavenger-base-runtime:bookworm}
POSTGRES_IMAGE=${SCAVENGER_POSTGRES_BASE:-scavenger-base-postgres:bookworm}
BUILDER_IMAGE=${SCAVENGER_BUILDER_BASE:-scavenger-base-builder:bookworm}
FORCE=0
BUILDER=1
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        --no-builder) BUILDER=0 ;;
        *) echo "build-base-images: unknown option '$arg' (expected --force, --no-builder)" >&2; exit 64 ;;
    esac
done

log() { printf '[build-base %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

want() {
    # An image is (re)built when forced or missing; the check keeps reruns (tests, CI) cheap.
    if [ "$1" = "$BUILDER_IMAGE" ] && [ "$BUILDER" = 0 ]; then return 1; fi
    [ "$FORCE" = 1 ] || ! image_exists "$1"
}

if ! want "$RUNTIME_IMAGE" && ! want "$POSTGRES_IMAGE" && { ! want "$BUILDER_IMAGE" || ! command -v rustc >/dev/null; }; then
    log "all base images present (use --force to rebuild)"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "build-base-images: must run as root (debootstrap and chroot)" >&2; exit 1; }
if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap from Debian's packages"
    # Another apt run (unattended upgrades, a colleague's install) holds the dpkg lock for a while: wait.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq debootstrap >/dev/null
fi

WORK=$(mktemp -d /var/tmp/scavenger-rootfs.XXXXXX)
cleanup() {
    for dir in "$WORK"/*; do
        if [ -d "$dir/proc" ]; then umount "$dir/proc" 2>/dev/null || true; fi
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

BASE="$WORK/runtime"
log "debootstrap $SUITE (minbase + python3, venv, tini) from $MIRROR"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,tini \
    "$SUITE" "$BASE" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

# Same apt sources a stock Debian image has, so `apt-get install` in a derived image works where the
# container does have network; no service may start inside a chroot or an image build.
cat >"$BASE/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
printf '#!/bin/sh\nexit 101\n' >"$BASE/usr/sbin/policy-rc.d"
chmod 755 "$BASE/usr/sbin/policy-rc.d"

slim() {
    # Caches and docs only make the image bigger; apt lists are re-fetched by whoever installs more.
    local root=$1
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/var/log/*.log "$root"/tmp/*
}

chroot_apt() {
    local root=$1
    shift
    mount -t proc proc "$root/proc"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends "$@" \
        >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; umount "$root/proc"; exit 1; }
    umount "$root/proc"
}

import_rootfs() {
    local root=$1 image=$2
    shift 2
    log "importing $image"
    # Later --change options win, so the caller's PATH overrides the default one.
    tar -C "$root" -c . | docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' \
        "$@" - "$image" >/dev/null
}

# Copies of the bootstrapped tree are made before slimming so the derived images can still use apt.
if want "$POSTGRES_IMAGE"; then
    cp -a "$BASE" "$WORK/postgres"
fi
if want "$BUILDER_IMAGE" && command -v rustc >/dev/null 2>&1; then
    cp -a "$BASE" "$WORK/builder"
fi

if want "$RUNTIME_IMAGE"; then
    slim "$BASE"
    import_rootfs "$BASE" "$RUNTIME_IMAGE"
fi

if [ -d "$WORK/postgres" ]; then
    log "installing PostgreSQL 15 into the postgres rootfs"
    # The image's entrypoint creates its cluster on the data volume; none is wanted at install time.
    mkdir -p "$WORK/postgres/etc/postgresql-common"
    echo "create_main_cluster = false" >"$WORK/postgres/etc/postgresql-common/createcluster.conf"
    chroot_apt "$WORK/postgres" postgresql-15 postgresql-client-15
    slim "$WORK/postgres"
    import_rootfs "$WORK/postgres" "$POSTGRES_IMAGE" \
        --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
fi

if [ -d "$WORK/builder" ]; then
    log "installing gcc and python3-dev into the builder rootfs"
    chroot_apt "$WORK/builder" gcc libc6-dev python3-dev python3-pip pkg-config
    # Debian's rustc is too old for PyO3; the host's toolchain (sysroot: rustc, cargo, std) is copied
    # as is, without its documentation. It is glibc-linked like bookworm's, so it runs in the image.
    SYSROOT=$(rustc --print sysroot)
    CARGO_BIN=$(command -v cargo)
    CARGO_REAL=$(rustup which cargo 2>/dev/null || echo "$CARGO_BIN")
    log "copying the Rust toolchain from $SYSROOT"
    mkdir -p "$WORK/builder/opt/rust"
    tar -C "$SYSROOT" --exclude=./share/doc --exclude=./share/man -c . | tar -C "$WORK/builder/opt/rust" -x
    [ -x "$WORK/builder/opt/rust/bin/cargo" ] || cp "$CARGO_REAL" "$WORK/builder/opt/rust/bin/cargo"
    # CAs the host added locally (a TLS-inspecting proxy in front of crates.io/PyPI, a company CA) are
    # trusted in the builder too, so cargo and pip inside `docker build` reach the registries the host does.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$WORK/builder/usr/local/share/ca-certificates/"
        chroot "$WORK/builder" update-ca-certificates >/dev/null 2>&1
    fi
    slim "$WORK/builder"
    import_rootfs "$WORK/builder" "$BUILDER_IMAGE" \
        --change 'ENV PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV CARGO_HOME=/usr/local/cargo'
fi

log "done: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep scavenger-base | tr '\n' ' ')"
