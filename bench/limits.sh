#!/usr/bin/env bash
# The throughput cost of the listener timeouts and front-door limits (see
# bench/RESULTS.md): `GET /v2/images/{id}` with 64 connections and a 1 GiB upload,
# limits on vs off (`--no-limits`), interleaved runs, median of N (default 5).
#
#   bench/limits.sh [RUNS]
#
# "on" is the default configuration with the per-address and per-caller rates
# raised out of reach (one benchmark client from one address would otherwise be
# throttled, which is the limit working, not its cost): every bucket, semaphore,
# timer and wrapper still runs on every request.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PORT_ID=15100
PORT_IMG=19392
WORK=$(mktemp -d /tmp/imagery-limits.XXXXXX)
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p imagery-server >/dev/null
BIN=target/release/imagery
SERVER_PID=
stop_server() { [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }; SERVER_PID=; }
trap 'stop_server; rm -rf "$WORK"' EXIT

start_server() { # $1: on|off
  local extra=(--rate-per-address 1000000 --rate-per-caller-reads 1000000 --rate-per-caller-writes 1000000)
  [ "$1" = off ] && extra=(--no-limits)
  "$BIN" serve --data-dir "$WORK/data" --bind 127.0.0.1 --identity-port $PORT_ID --image-port $PORT_IMG \
    --compute-port 0 --huawei-port 0 --huawei-tls-port 0 --azure-port 0 --yandex-port 0 \
    --public-host 127.0.0.1 "${extra[@]}" >"$WORK/server-$1.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT_IMG/healthcheck" >/dev/null; do sleep 0.05; done
}

echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)"
truncate -s 1G "$WORK/1g.bin"   # zeros: a valid raw disk, read from the page cache

start_server on
. "$WORK/data/admin-openrc.sh"
token() { curl -s -i -H 'Content-Type: application/json' "http://127.0.0.1:$PORT_ID/v3/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r'; }
TOKEN=$(token)
IMG="http://127.0.0.1:$PORT_IMG"
ID=$(curl -s -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$IMG/v2/images" -d '{"name":"shown","disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
stop_server

for i in $(seq 1 "$RUNS"); do
  for mode in on off; do
    start_server "$mode"
    rps=$(wrk -t2 -c64 -d10s -H "X-Auth-Token: $TOKEN" "$IMG/v2/images/$ID" | awk '/Requests\/sec/{print $2}')
    UP=$(curl -s -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$IMG/v2/images" -d '{"name":"big","disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    t0=$(date +%s.%N)
    curl -sf -X PUT -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' -T "$WORK/1g.bin" "$IMG/v2/images/$UP/file"
    t1=$(date +%s.%N)
    curl -sf -X DELETE -H "X-Auth-Token: $TOKEN" "$IMG/v2/images/$UP"
    mibs=$(echo "scale=1; 1024 / ($t1 - $t0)" | bc)
    echo "run $i $mode: show $rps req/s, upload $mibs MiB/s"
    echo "$mode $rps $mibs" >>"$WORK/results"
    stop_server
  done
done

python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for mode in ("on", "off"):
    show = [float(r[1]) for r in rows if r[0] == mode]
    up = [float(r[2]) for r in rows if r[0] == mode]
    print(f"{mode:>3}: show median {statistics.median(show):,.0f} req/s {sorted(show)}; upload median {statistics.median(up):.1f} MiB/s {sorted(up)}")
med = lambda m, k: statistics.median(float(r[k]) for r in rows if r[0] == m)
print(f"cost: show {100 * (1 - med('on', 1) / med('off', 1)):+.1f} %, upload {100 * (1 - med('on', 2) / med('off', 2)):+.1f} % (positive = slower with limits)")
PY
