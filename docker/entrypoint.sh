#!/bin/sh
# Runs under tini (PID 1). Started as root, it hands the config and data folders to the unprivileged
# `scavenger` user and drops to it for good: a fresh bind mount is created root-owned by Docker, and the
# seed's image (fixed non-root USER) crash-looped on it. Started as any other uid (docker run --user,
# Kubernetes runAsUser + fsGroup) it only checks that the config folder is writable.
set -eu

conf=${ROOT_CONF_PATH:-/usr/local/bin/config}
data=${SCAVENGER_DATA_DIR:-/var/lib/scavenger}

# Kubernetes StatefulSet: pod `miner-3` mines slot 4 (ordinals start at 0, slots at 1), so each pod keeps
# its wallets across rescheduling without any lock race.
if [ "${INSTANCE_SLOT_FROM_ORDINAL:-false}" = true ] && [ -z "${INSTANCE_SLOT:-}" ]; then
    host=$(uname -n)
    ordinal=${host##*-}
    case $ordinal in
        '' | *[!0-9]*)
            echo "scavenger-entrypoint: INSTANCE_SLOT_FROM_ORDINAL=true but hostname '$host' does not end" \
                "in -<ordinal>" >&2
            exit 64
            ;;
    esac
    INSTANCE_SLOT=$((ordinal + 1))
    export INSTANCE_SLOT
fi

# Compose (`--scale miner=N`): container `<project>_miner_2` mines slot 2, so the slot follows the replica
# index people see in `docker ps`, and a recreated container takes its own slot back. The name comes from
# the embedded DNS server (scavenger-compose-name); without one (plain `docker run`) the miner takes the
# first free slot as before.
if [ "${INSTANCE_SLOT_FROM_COMPOSE_INDEX:-false}" = true ] && [ -z "${INSTANCE_SLOT:-}" ]; then
    case "${1:-}:${2:-}" in
        scavenger:mine | scavenger:demo)
            name=$(scavenger-compose-name 2>/dev/null || true)
            index=${name##*[_-]}
            case $index in
                '' | *[!0-9]* | 0) echo "scavenger-entrypoint: no compose replica index (container name" \
                    "'${name:-unknown}'); taking the first free slot" >&2 ;;
                *)
                    INSTANCE_SLOT=$index
                    export INSTANCE_SLOT
                    ;;
            esac
            ;;
    esac
fi

# Seeds and keys are written by the miner; nobody but their owner needs to read them.
umask 0077

if [ "$(id -u)" = 0 ]; then
    # APP_UID/APP_GID (runtime): run as the host user who owns a bind-mounted config folder, so they can
    # still read their seeds without sudo (scripts/docker.sh sets them to the invoking user). Default: the
    # image's own `scavenger` user (10001), right for named volumes and Kubernetes.
    uid=${APP_UID:-$(id -u scavenger)}
    gid=${APP_GID:-$(id -g scavenger)}
    case "$uid:$gid" in
        *[!0-9:]* | :* | *:) echo "scavenger-entrypoint: APP_UID/APP_GID must be numbers, got '$uid:$gid'" >&2
            exit 64 ;;
    esac
    if [ "$uid" = 0 ]; then
        echo "scavenger-entrypoint: APP_UID=0 would run the miner as root; leave it empty for uid 10001" >&2
        exit 64
    fi
    mkdir -p "$conf" "$data"
    # Only entries not yet ours are changed: restarts stay cheap on a big tree, and files a sibling
    # replica is writing right now already have the right owner.
    find "$conf" "$data" \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +
    if [ "$uid" = "$(id -u scavenger)" ]; then
        groups=--init-groups
    else
        # A host uid has no account in the image: no supplementary groups, and a HOME it can write.
        groups=--clear-groups
        HOME=$data
        export HOME
    fi
    exec setpriv --reuid="$uid" --regid="$gid" "$groups" --inh-caps=-all --bounding-set=-all -- "$@"
fi

# Only the commands that keep wallets need the config folder; the stats backend and the simulator run
# fine as any uid without it.
case "${1:-}:${2:-}" in
    scavenger:mine | scavenger:demo | scavenger:donate | scavenger:slots | scavenger:wallet) ;;
    *) exec "$@" ;;
esac
if [ ! -w "$conf" ]; then
    echo "scavenger-entrypoint: $conf is not writable by uid $(id -u); give it to that uid on the host" \
        "(chown -R $(id -u) <folder>) or start the container as root so it can fix the ownership" >&2
    exit 73
fi
exec "$@"
