#!/usr/bin/env bash
# A throwaway single-node Garage (S3-compatible object store) for tests: the blob-store
# conformance suite and multi-node tests run against it as a real S3 server.
#
#   scripts/garage-test-server.sh install       # build Garage once; prints the binary's path
#   scripts/garage-test-server.sh start DIR     # prints KEY=VALUE lines to eval or export:
#       IMAGERY_TEST_S3_URL=http://127.0.0.1:PORT
#       IMAGERY_TEST_S3_BUCKET=imagery-test
#       IMAGERY_TEST_S3_REGION=garage
#       IMAGERY_TEST_S3_ACCESS_KEY_ID=GK...
#       IMAGERY_TEST_S3_SECRET_ACCESS_KEY=...
#   scripts/garage-test-server.sh stop DIR
#
# Garage is built from crates.io with `cargo install --locked` (no prebuilt binaries),
# with only what a test server needs (the LMDB metadata engine, bundled C libraries),
# into a cache outside the repository keyed by its version:
#   ${IMAGERY_GARAGE_CACHE:-/var/cache/imagery-ci (root) or ~/.cache/imagery-ci}/garage-VERSION/bin/garage
# It is rebuilt only when that binary is missing. The server runs as its own process
# in DIR (config, metadata, data, log), listening only on 127.0.0.1 on free ports.
# Only the KEY=VALUE lines go to stdout; progress goes to stderr, the server log to
# DIR/garage.log.
set -euo pipefail

GARAGE_VERSION=${IMAGERY_GARAGE_VERSION:-2.5.0}
GARAGE_FEATURES=bundled-libs,lmdb
BUCKET=imagery-test
REGION=garage

usage() {
    echo "usage: $0 install | start DIR | stop DIR" >&2
    exit 2
}

log() { echo "garage-test-server: $*" >&2; }

cache_root() {
    if [[ -n "${IMAGERY_GARAGE_CACHE:-}" ]]; then
        echo "$IMAGERY_GARAGE_CACHE"
    elif [[ $(id -u) -eq 0 ]]; then
        echo /var/cache/imagery-ci
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/imagery-ci"
    fi
}

install_garage() {
    local root bin build started
    root="$(cache_root)/garage-$GARAGE_VERSION"
    bin="$root/bin/garage"
    if [[ -x "$bin" ]]; then
        echo "$bin"
        return
    fi
    command -v cargo >/dev/null || { log "cargo is needed to build Garage"; exit 1; }
    mkdir -p "$root"
    # One build at a time: a second caller waits for the first and uses its result
    # (two builds in one directory delete each other's files).
    exec 9>"$root.lock"
    if ! flock -n 9; then
        log "another process is building Garage $GARAGE_VERSION; waiting for it"
        flock 9
    fi
    if [[ -x "$bin" ]]; then
        exec 9>&-
        echo "$bin"
        return
    fi
    build="$root/build"
    started=$(date +%s)
    log "building Garage $GARAGE_VERSION (features $GARAGE_FEATURES) into $root; this takes a while once"
    # The build directory is kept until the install succeeds, so an interrupted build
    # resumes where it stopped.
    CARGO_TARGET_DIR="$build" CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_LTO=false \
        cargo install --locked --quiet --root "$root" --no-default-features --features "$GARAGE_FEATURES" \
        "garage@$GARAGE_VERSION" >&2 || {
        log "building Garage $GARAGE_VERSION failed"
        exit 1
    }
    rm -rf "$build"
    [[ -x "$bin" ]] || { log "cargo install finished but $bin is missing"; exit 1; }
    log "built Garage $GARAGE_VERSION in $(( $(date +%s) - started ))s"
    exec 9>&-
    echo "$bin"
}

free_port() {
    python3 - <<'PY' 2>/dev/null && return
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
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

# garage CLI against the server in $DIR.
garage_cli() {
    "$GARAGE" -c "$DIR/garage.toml" "$@"
}

wait_until() {  # wait_until SECONDS DESCRIPTION COMMAND...
    local deadline=$(( $(date +%s) + $1 )) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if (( $(date +%s) >= deadline )); then
            log "timed out waiting for $what (log: $DIR/garage.log)"
            tail -20 "$DIR/garage.log" >&2 || true
            exit 1
        fi
        if [[ -f "$DIR/pid" ]] && ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
            log "garage exited while waiting for $what (log: $DIR/garage.log)"
            tail -20 "$DIR/garage.log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

print_env() {
    cat "$DIR/env"
}

start() {
    DIR=$1
    GARAGE=$(install_garage)
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    if [[ -f "$DIR/pid" && -f "$DIR/env" ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
        log "already running in $DIR"
        print_env
        return
    fi
    local s3_port rpc_port admin_port web_port node_id key_out key_id secret
    s3_port=$(free_port)
    rpc_port=$(free_port)
    admin_port=$(free_port)
    web_port=$(free_port)
    mkdir -p "$DIR/meta" "$DIR/data"
    cat >"$DIR/garage.toml" <<EOF
metadata_dir = "$DIR/meta"
data_dir = "$DIR/data"
db_engine = "lmdb"
metadata_fsync = false
compression_level = "none"
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.localhost"

[s3_web]
bind_addr = "127.0.0.1:$web_port"
root_domain = ".web.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
EOF
    chmod 600 "$DIR/garage.toml"
    log "starting Garage on 127.0.0.1:$s3_port (S3), $rpc_port (RPC) in $DIR"
    (exec "$GARAGE" -c "$DIR/garage.toml" server >"$DIR/garage.log" 2>&1) &
    echo $! >"$DIR/pid"
    wait_until 60 "the node to answer" garage_cli status
    node_id=$(garage_cli node id -q 2>/dev/null | cut -d@ -f1)
    [[ -n "$node_id" ]] || { log "could not read the node id"; exit 1; }
    garage_cli layout assign -z dc1 -c 100G "$node_id" >&2
    garage_cli layout apply --version 1 >&2
    wait_until 60 "the layout to apply" garage_cli bucket list
    garage_cli bucket create "$BUCKET" >&2
    key_out=$(garage_cli key create imagery-test-key)
    key_id=$(sed -n 's/^Key ID:[[:space:]]*\(GK[0-9a-f]*\).*/\1/p' <<<"$key_out" | head -1)
    secret=$(sed -n 's/^Secret key:[[:space:]]*\([0-9a-f]*\).*/\1/p' <<<"$key_out" | head -1)
    if [[ -z "$key_id" || -z "$secret" ]]; then
        log "could not read the key from 'garage key create':"
        echo "$key_out" >&2
        exit 1
    fi
    garage_cli bucket allow --read --write --owner "$BUCKET" --key "$key_id" >&2
    cat >"$DIR/env" <<EOF
IMAGERY_TEST_S3_URL=http://127.0.0.1:$s3_port
IMAGERY_TEST_S3_BUCKET=$BUCKET
IMAGERY_TEST_S3_REGION=$REGION
IMAGERY_TEST_S3_ACCESS_KEY_ID=$key_id
IMAGERY_TEST_S3_SECRET_ACCESS_KEY=$secret
EOF
    chmod 600 "$DIR/env"
    # The S3 endpoint must answer before anyone is told to use it.
    wait_until 30 "the S3 endpoint" bash -c "exec 3<>/dev/tcp/127.0.0.1/$s3_port"
    print_env
}

stop() {
    DIR=$1
    if [[ ! -f "$DIR/pid" ]]; then
        log "nothing to stop in $DIR"
        return
    fi
    local pid
    pid=$(cat "$DIR/pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/pid"
}

case "${1:-}" in
    install) [[ $# -eq 1 ]] || usage; install_garage ;;
    start) [[ $# -eq 2 ]] || usage; start "$2" ;;
    stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
    *) usage ;;
esac
