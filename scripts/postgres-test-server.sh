#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (the catalog conformance suite).
#
#   scripts/postgres-test-server.sh start DIR   # prints the URL to use, e.g.
#       postgres://postgres@127.0.0.1:54329/imagery_test
#   scripts/postgres-test-server.sh stop DIR
#
# Uses Debian's binaries (newest /usr/lib/postgresql/*/bin; installs the
# `postgresql` package with apt-get when none is there and we are root), its own
# initdb cluster in DIR (owned by `postgres` when run as root: PostgreSQL refuses to
# run as root), trust authentication, listening only on 127.0.0.1 on a free port,
# with its unix socket inside DIR. Only the URL goes to stdout; progress goes to
# stderr and the server log to DIR/server.log.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

log() { echo "postgres-test-server: $*" >&2; }

find_bindir() {
    local dir best="" best_version=-1 version
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || continue
        version=$(basename "$(dirname "$dir")")
        if [[ "$version" =~ ^[0-9]+$ ]] && (( version > best_version )); then
            best_version=$version
            best=$dir
        fi
    done
    [[ -n "$best" ]] && echo "$best"
}

ensure_bindir() {
    local bindir
    if bindir=$(find_bindir); then
        echo "$bindir"
        return
    fi
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "PostgreSQL binaries not found; installing the postgresql package"
        # Keep the distro's own cluster from being created or started.
        export DEBIAN_FRONTEND=noninteractive
        mkdir -p /etc/postgresql-common
        if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
            echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
        fi
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        if bindir=$(find_bindir); then
            echo "$bindir"
            return
        fi
    fi
    log "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    exit 1
}

# Runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null && return
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
    # Fallback without python: probe a random high port until one is free.
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    log "no free port found"
    exit 1
}

start() {
    local dir=$1 bindir port data
    bindir=$(ensure_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data="$dir/data"
    if [[ -f "$dir/port" ]] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "already running in $dir"
        echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/imagery_test"
        return
    fi
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            # The server user must be able to reach DIR through its parents.
            log "making the parents of $dir traversable for user postgres"
            local parent=$dir
            while [[ "$parent" != "/" ]]; do
                parent=$(dirname "$parent")
                chmod o+x "$parent"
            done
        fi
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        rm -rf "$data"
        log "initdb into $data ($bindir)"
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    port=$(free_port)
    echo "$port" >"$dir/port"
    log "starting on 127.0.0.1:$port"
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" \
        start >&2 || {
        cat "$dir/server.log" >&2 || true
        exit 1
    }
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
        -c "SELECT 1 FROM pg_database WHERE datname = 'imagery_test'" | grep -q 1 ||
        as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres imagery_test >&2
    echo "postgres://postgres@127.0.0.1:$port/imagery_test"
}

stop() {
    local dir=$1 bindir
    bindir=$(ensure_bindir)
    if [[ ! -d "$dir/data" ]]; then
        log "nothing to stop in $dir"
        return
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
}

[[ $# -eq 2 ]] || usage
case "$1" in
    start) start "$2" ;;
    stop) stop "$2" ;;
    *) usage ;;
esac
