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

# Seeds and keys are written by the miner; nobody but their owner needs to read them.
umask 0077

if [ "$(id -u)" = 0 ]; then
    uid=$(id -u scavenger)
    gid=$(id -g scavenger)
    mkdir -p "$conf" "$data"
    # Only entries not yet ours are changed: restarts stay cheap on a big tree, and files a sibling
    # replica is writing right now already have the right owner.
    find "$conf" "$data" \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +
    exec setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all --bounding-set=-all -- "$@"
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
