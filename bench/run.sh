#!/usr/bin/env bash
# Load benchmarks for imagery (see bench/RESULTS.md). Not a test: run by hand on an
# otherwise idle machine, release build, SQLite catalog, local blob store.
#
#   bench/run.sh [IMAGES]        # default 100000 seeded images
#
# Needs `wrk` (Debian package) and python3. Prints the figures that go into
# bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-100000}
PORT_ID=15000
PORT_IMG=19292
WORK=$(mktemp -d /tmp/imagery-bench.XXXXXX)
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

cargo build --release -p imagery-server >/dev/null
BIN=target/release/imagery

echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)"

start_server() {
  "$BIN" serve --data-dir "$WORK/data" --bind 127.0.0.1 --identity-port $PORT_ID --image-port $PORT_IMG \
    --public-host 127.0.0.1 >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$WORK"' EXIT
rss_kib() { awk '/VmRSS/{print $2}' /proc/$SERVER_PID/status; }
hwm_kib() { awk '/VmHWM/{print $2}' /proc/$SERVER_PID/status; }

# Cold start: launch → first 200 on /healthcheck.
t0=$(date +%s.%N)
start_server
until curl -sf "http://127.0.0.1:$PORT_IMG/healthcheck" >/dev/null; do sleep 0.005; done
t1=$(date +%s.%N)
echo "cold start (first start, incl. bootstrap with password hashing): $(echo "$t1 - $t0" | bc) s"
sleep 1
echo "idle RSS: $(( $(rss_kib) / 1024 )) MiB"

. "$WORK/data/admin-openrc.sh"
TOKEN=$(curl -s -i -H 'Content-Type: application/json' "http://127.0.0.1:$PORT_ID/v3/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
H=(-H "X-Auth-Token: $TOKEN")
IMG="http://127.0.0.1:$PORT_IMG"

echo "== create $IMAGES images (POST /v2/images, 16 connections, 2 threads)"
count_images() { curl -s "${H[@]}" "$IMG/v2/info/usage" | python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["image_count_total"]["usage"])'; }
# wrk has no request count: run it in the background and stop it (SIGINT makes it
# print its statistics) once the catalog holds enough images.
wrk -t2 -c16 -d3600s --latency -s bench/post.lua "${H[@]}" "$IMG/v2/images" >"$WORK/create.txt" 2>&1 &
WRK_PID=$!
until [ "$(count_images)" -ge "$IMAGES" ]; do sleep 1; done
kill -INT "$WRK_PID"; wait "$WRK_PID" 2>/dev/null || true
grep -E 'Requests/sec|requests in|99%|Non-2xx' "$WORK/create.txt" || true
echo "images now: $(count_images)"

ID=$(curl -s "${H[@]}" "$IMG/v2/images?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')
echo "== show GET /v2/images/{id}, 64 connections, 20 s"
wrk -t2 -c64 -d20s --latency "${H[@]}" "$IMG/v2/images/$ID" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'

echo "== list limit=25, first page, 16 connections, 15 s"
wrk -t2 -c16 -d15s --latency "${H[@]}" "$IMG/v2/images?limit=25" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'

DEEP=$(( IMAGES * 9 / 10 ))
MARKER=$(python3 - "$IMG" "$TOKEN" "$DEEP" <<'PY'
import json, sys, urllib.request
base, token, deep = sys.argv[1], sys.argv[2], int(sys.argv[3])
url, seen = base + "/v2/images?limit=1000", 0
while True:
    req = urllib.request.Request(url, headers={"X-Auth-Token": token})
    body = json.load(urllib.request.urlopen(req))
    imgs = body["images"]
    if seen + len(imgs) >= deep:
        print(imgs[deep - seen - 1]["id"]); break
    seen += len(imgs)
    url = base + body["next"]
PY
)
echo "== list limit=25 at a marker $DEEP deep, 16 connections, 15 s"
wrk -t2 -c16 -d15s --latency "${H[@]}" "$IMG/v2/images?limit=25&marker=$MARKER" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'

echo "== upload and download 1 GiB"
head -c 1073741824 /dev/urandom >"$WORK/1g.bin"
t0=$(date +%s.%N); sha512sum "$WORK/1g.bin" >/dev/null; t1=$(date +%s.%N)
echo "sha512sum: $(echo "scale=1; 1024 / ($t1 - $t0)" | bc) MiB/s"
UP=$(curl -s "${H[@]}" -H 'Content-Type: application/json' "$IMG/v2/images" -d '{"name":"big","disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
before=$(rss_kib)
peak_file="$WORK/peak"; echo 0 >"$peak_file"
( peak=0; while kill -0 "$SERVER_PID" 2>/dev/null && [ ! -f "$WORK/upload-done" ]; do r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" >"$peak_file"; sleep 0.05; done ) &
SAMPLER=$!
t0=$(date +%s.%N)
curl -sf -X PUT "${H[@]}" -H 'Content-Type: application/octet-stream' -T "$WORK/1g.bin" "$IMG/v2/images/$UP/file"
t1=$(date +%s.%N)
touch "$WORK/upload-done"; wait "$SAMPLER" 2>/dev/null || true
echo "upload: $(echo "scale=1; 1024 / ($t1 - $t0)" | bc) MiB/s; RSS before $(( before / 1024 )) MiB, peak during upload $(( $(cat "$peak_file") / 1024 )) MiB"
t0=$(date +%s.%N)
curl -sf "${H[@]}" "$IMG/v2/images/$UP/file" -o /dev/null
t1=$(date +%s.%N)
echo "download: $(echo "scale=1; 1024 / ($t1 - $t0)" | bc) MiB/s"
