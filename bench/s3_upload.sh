#!/usr/bin/env bash
# Upload throughput against a real S3 server (Garage) and the local store, in one
# run (see bench/RESULTS.md). Not a test: run by hand, release build.
#
#   bench/s3_upload.sh [RUNS]     # default 3 interleaved runs of each
#
# 1 GiB of random bytes is put into a throwaway Garage (scripts/garage-test-server.sh)
# by a plain S3 client (object_store's multipart upload: crates/store/examples/plain_s3_put.rs)
# and uploaded through imagery (Glance PUT /file, curl -T, Content-Length) onto
# the same Garage; then uploaded to imagery's local store and compared with
# `sha512sum` of the same file. Prints each run, medians, and the server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
WORK=$(mktemp -d /tmp/imagery-s3bench.XXXXXX)
PORT_ID=15100
PORT_IMG=19392
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  scripts/garage-test-server.sh stop "$WORK/garage" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -p imagery-server --quiet
cargo build --release -p imagery-store --example plain_s3_put --quiet
BIN=target/release/imagery
PUT=target/release/examples/plain_s3_put
echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)"

mkdir -p "$WORK/garage"
set -a; eval "$(scripts/garage-test-server.sh start "$WORK/garage" 2>"$WORK/garage-start.log")"; set +a
head -c $((1 << 30)) /dev/urandom >"$WORK/disk.raw"
SIZE=$(stat -c %s "$WORK/disk.raw")

start_server() { # $1: blob url
  rm -rf "$WORK/data"
  cat >"$WORK/imagery.toml" <<TOML
data_dir = "$WORK/data"
blob_url = "$1"
bind = "127.0.0.1"
[ports]
identity = $PORT_ID
image = $PORT_IMG
compute = 0
huawei = 0
huawei_tls = 0
azure = 0
yandex = 0
combined = 0
admin = 0
[s3]
endpoint = "$IMAGERY_TEST_S3_URL"
region = "$IMAGERY_TEST_S3_REGION"
addressing = "path"
access_key_id = "$IMAGERY_TEST_S3_ACCESS_KEY_ID"
secret_access_key = "$IMAGERY_TEST_S3_SECRET_ACCESS_KEY"
TOML
  "$BIN" serve -c "$WORK/imagery.toml" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT_IMG/healthcheck" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.05
  done
  . "$WORK/data/admin-openrc.sh"
  TOKEN=$(curl -s -i -H 'Content-Type: application/json' "http://127.0.0.1:$PORT_ID/v3/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

upload() { # prints MiB/s
  local id t0 t1
  id=$(curl -s -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT_IMG/v2/images" \
       -d '{"disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  t0=$(date +%s.%N)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' \
       -T "$WORK/disk.raw" "http://127.0.0.1:$PORT_IMG/v2/images/$id/file")
  t1=$(date +%s.%N)
  [[ $code == 204 ]] || { echo "upload answered $code" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
  echo "scale=1; $SIZE / 1048576 / ($t1 - $t0)" | bc
}
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

plain=() s3=() local_up=() sha=() rss=()
for run in $(seq "$RUNS"); do
  p=$("$PUT" "$WORK/disk.raw" "bench/plain-$run" | awk '{print $1}'); plain+=("$p")
  start_server "s3://$IMAGERY_TEST_S3_BUCKET/bench-$run"
  u=$(upload); s3+=("$u")
  rss+=("$(( $(awk '/VmHWM/{print $2}' /proc/$SERVER_PID/status) / 1024 ))")
  stop_server
  start_server "$WORK/blobs-$run"
  l=$(upload); local_up+=("$l")
  stop_server
  t0=$(date +%s.%N); sha512sum "$WORK/disk.raw" >/dev/null; t1=$(date +%s.%N)
  h=$(echo "scale=1; $SIZE / 1048576 / ($t1 - $t0)" | bc); sha+=("$h")
  echo "run $run: plain S3 client $p MiB/s | imagery→Garage $u MiB/s (peak RSS ${rss[-1]} MiB) | imagery→local $l MiB/s | sha512sum $h MiB/s"
done
mp=$(printf '%s\n' "${plain[@]}" | median); ms=$(printf '%s\n' "${s3[@]}" | median)
ml=$(printf '%s\n' "${local_up[@]}" | median); mh=$(printf '%s\n' "${sha[@]}" | median)
echo "median: plain $mp, imagery→Garage $ms ($(echo "scale=2; $ms / $mp" | bc)×), imagery→local $ml vs sha512sum $mh ($(echo "scale=2; $ml / $mh" | bc)×), peak RSS max $(printf '%s\n' "${rss[@]}" | sort -n | tail -1) MiB"
