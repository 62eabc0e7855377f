#!/usr/bin/env bash
# Listing at scale (see bench/RESULTS.md): seed a big catalog, then measure the
# first-page latency of every list filter and sort key alone, as admin and as a
# non-admin owning 1,000 images, plus show and list throughput and create
# throughput. Not a test: run by hand, release build.
#
#   bench/listing.sh seed    DIR sqlite|POSTGRES_URL N   # bootstrap, owner project + user, N images
#   bench/listing.sh measure DIR [REQUESTS]              # p50 per query (default 200 requests each)
#   bench/listing.sh rates   DIR                         # show and list req/s with wrk
#   bench/listing.sh create  DIR [SECONDS]               # POST /v2/images throughput with wrk
#
# `create` leaves its images (the newest, all "bench") in the catalog: run it last
# or on a copy, or the first pages measured afterwards are made of them.
# DIR holds the data directory and `bench.env`; for PostgreSQL the catalog lives
# in the database the URL names (which must be empty: start one with
# scripts/postgres-test-server.sh). Needs wrk and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?mode}
DIR=${2:?dir}
PORT_ID=${PORT_ID:-25000}
PORT_IMG=${PORT_IMG:-29292}
PORT_NOVA=${PORT_NOVA:-28774}
PORT_HW=${PORT_HW:-28080}
BIN=${BIN:-target/release/imagery}
SEED=${SEED:-target/release/examples/seed_catalog}
ADMIN_PW=bench-admin-password
OWNER_PW=bench-owner-password

build() {
  cargo build --release -p imagery-server >/dev/null
  cargo build --release -p imagery-catalog --example seed_catalog >/dev/null
}

cfg() { echo --data-dir "$DIR/data" --database-url "$DB_URL"; }

if [ "$MODE" = seed ]; then
  BACKEND=${3:?sqlite or a postgres URL}
  N=${4:?image count}
  build
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  if [ "$BACKEND" = sqlite ]; then DB_URL="sqlite://$DIR/data/catalog.db"; else DB_URL=$BACKEND; fi
  # shellcheck disable=SC2046
  IMAGERY_ADMIN_PASSWORD=$ADMIN_PW "$BIN" bootstrap $(cfg) >/dev/null
  # shellcheck disable=SC2046
  OWNER=$("$BIN" admin $(cfg) project-create bench-owner)
  # shellcheck disable=SC2046
  IMAGERY_NEW_USER_PASSWORD=$OWNER_PW "$BIN" admin $(cfg) user-create bench-owner --project bench-owner >/dev/null
  printf 'DB_URL=%q\nOWNER=%q\nN=%q\n' "$DB_URL" "$OWNER" "$N" >"$DIR/bench.env"
  t0=$(date +%s.%N)
  "$SEED" "$DB_URL" "$N" "$OWNER"
  t1=$(date +%s.%N)
  echo "seed: $N images in $(echo "$t1 - $t0" | bc) s ($DB_URL)"
  exit 0
fi

DIR=$(cd "$DIR" && pwd)
# shellcheck disable=SC1091
. "$DIR/bench.env"
[ -x "$BIN" ] || build

start_server() {
  # shellcheck disable=SC2046
  "$BIN" serve $(cfg) --bind 127.0.0.1 --identity-port $PORT_ID --image-port $PORT_IMG --compute-port $PORT_NOVA \
    --huawei-port $PORT_HW --huawei-tls-port 0 --azure-port 0 --yandex-port 0 --combined-port 0 \
    --public-host 127.0.0.1 --rate-per-address 1000000 --rate-per-caller-reads 1000000 --rate-per-caller-writes 1000000 \
    >>"$DIR/server.log" 2>&1 &
  SERVER_PID=$!
  local t0; t0=$(date +%s.%N)
  until curl -sf "http://127.0.0.1:$PORT_IMG/healthcheck" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$DIR/server.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "server up in $(echo "$(date +%s.%N) - $t0" | bc) s (includes any migration)" >&2
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap stop_server EXIT

token() { # user project password
  curl -s -i -H 'Content-Type: application/json' "http://127.0.0.1:$PORT_ID/v3/auth/tokens" \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"name\":\"Default\"},\"password\":\"$3\"}}},\"scope\":{\"project\":{\"name\":\"$2\",\"domain\":{\"name\":\"Default\"}}}}}" |
    awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r'
}

start_server
export TOKEN_admin TOKEN_owner
TOKEN_admin=$(token admin admin "$ADMIN_PW")
TOKEN_owner=$(token bench-owner bench-owner "$OWNER_PW")
IMG="http://127.0.0.1:$PORT_IMG"
H=(-H "X-Auth-Token: $TOKEN_admin")
echo "machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)  catalog: ${DB_URL%%://*}, $N images" >&2

case "$MODE" in
measure)
  REQUESTS=${3:-200}
  Q="$DIR/queries.tsv"
  G="$IMG/v2/images?limit=25"
  NOVA="http://127.0.0.1:$PORT_NOVA/v2.1/images/detail?limit=25"
  HW="http://127.0.0.1:$PORT_HW/v2/cloudimages?limit=25"
  T="2026-11-01T00:00:00Z"
  : >"$Q"
  for role in admin owner; do
    while IFS='|' read -r label url; do
      printf '%s\t%s\t%s\n' "$label" "$role" "$url" >>"$Q"
    done <<EOF
glance: no filter|$G
glance: name|$G&name=ubuntu-22.04
glance: status|$G&status=queued
glance: visibility=public|$G&visibility=public
glance: visibility=private|$G&visibility=private
glance: visibility=shared|$G&visibility=shared
glance: visibility=community|$G&visibility=community
glance: tag (common)|$G&tag=prod
glance: tag (rare)|$G&tag=rare-3
glance: property (common)|$G&os_distro=debian
glance: property (6 %)|$G&hw_disk_bus=scsi
glance: size_min|$G&size_min=107374182400
glance: size_max|$G&size_max=20971520
glance: created_at|$G&created_at=gte:$T
glance: updated_at|$G&updated_at=gte:$T
glance: member_status=pending|$G&member_status=pending&visibility=shared
glance: member_status=all|$G&member_status=all
glance: os_hidden=true|$G&os_hidden=true
glance: protected=true|$G&protected=true
sort: name|$G&sort_key=name
sort: name asc|$G&sort=name:asc
sort: status|$G&sort_key=status
sort: container_format|$G&sort_key=container_format
sort: disk_format|$G&sort_key=disk_format
sort: size|$G&sort_key=size
sort: id|$G&sort_key=id
sort: created_at asc|$G&sort=created_at:asc
sort: updated_at|$G&sort_key=updated_at
sort (huawei): min_disk|$HW&sort_key=min_disk
sort (huawei): min_ram|$HW&sort_key=min_ram
nova: no filter|$NOVA
nova: name|$NOVA&name=ubuntu-22.04
nova: status|$NOVA&status=QUEUED
nova: changes-since|$NOVA&changes-since=$T
nova: server|$NOVA&server=6a3f1ad3-52f5-4b4a-9f7e-2f0c6b1f2d11
nova: type=snapshot|$NOVA&type=snapshot
nova: minRam|$NOVA&minRam=4096
nova: minDisk|$NOVA&minDisk=80
huawei: no filter|$HW
huawei: name|$HW&name=ubuntu-22.04
huawei: status|$HW&status=queued
huawei: __imagetype=private|$HW&__imagetype=private
huawei: __platform=Debian|$HW&__platform=Debian
azure (catalog query): owner|$G&owner=$OWNER&member_status=all
yandex (catalog query): folder list|$IMG/v2/images?limit=26&owner=$OWNER&member_status=all&sort=id:asc
yandex (catalog query): name filter|$IMG/v2/images?limit=26&owner=$OWNER&member_status=all&sort=id:asc&name=in:ubuntu-22.04,debian-12
yandex (catalog query): family|$IMG/v2/images?limit=1&owner=$OWNER&member_status=all&imagery:family=family-7&status=active
EOF
  done
  python3 bench/listing.py "$Q" "$REQUESTS" "${BUDGET:-10}"
  ;;
rates)
  ID=$(curl -s "${H[@]}" "$IMG/v2/images?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')
  echo "== show GET /v2/images/{id}, 64 connections, 15 s"
  wrk -t2 -c64 -d15s --latency "${H[@]}" "$IMG/v2/images/$ID" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'
  echo "== list limit=25, first page, 16 connections, 15 s"
  wrk -t2 -c16 -d15s --latency "${H[@]}" "$IMG/v2/images?limit=25" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'
  ;;
create)
  SECONDS_=${3:-20}
  echo "== create POST /v2/images, 16 connections, $SECONDS_ s"
  wrk -t2 -c16 -d"${SECONDS_}"s --latency -s bench/post.lua "${H[@]}" "$IMG/v2/images" | grep -E 'Requests/sec| 50%| 99%|Non-2xx|Socket errors'
  ;;
*)
  echo "unknown mode $MODE" >&2
  exit 2
  ;;
esac
