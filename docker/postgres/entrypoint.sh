#!/bin/sh
# First start: creates the cluster in $PGDATA with superuser POSTGRES_USER (password POSTGRES_PASSWORD,
# SCRAM over TCP) and database POSTGRES_DB. Later starts: just runs the server. Started as root, it makes
# a fresh (root-owned) volume or bind mount usable by `postgres` first, then drops privileges.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    find "$PGDATA" /var/run/postgresql \( ! -user postgres -o ! -group postgres \) \
        -exec chown -h postgres:postgres {} +
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "scavenger-postgres: POSTGRES_PASSWORD is empty; set it (the database is reachable from the" \
            "other containers over TCP)" >&2
        exit 64
    fi
    echo "scavenger-postgres: creating the cluster in $PGDATA (user $user, database $db)" >&2
    pwfile=$(mktemp)
    # The password goes through a 0600 file, never argv (visible in ps) or the log.
    printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    {
        echo "listen_addresses = '*'"
        echo "password_encryption = 'scram-sha-256'"
    } >>"$PGDATA/postgresql.conf"
    # The Unix socket is reachable only from inside the container (docker exec: already root there), so
    # it is trusted, for the health check and admin psql; TCP from the container network needs the password.
    {
        echo "local all all trust"
        echo "host all all all scram-sha-256"
    } >"$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
        createdb --username="$user" "$db"
        pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
    fi
fi

exec "$@"
