#!/usr/bin/env bash
# Instructions per list page: the server's own CPU work for one `policies(first: 100)` page,
# counted by valgrind's callgrind, which counts instructions rather than time and so gives the
# same figure whatever else the machine is doing (the timings of list.sh move by ±25 % between
# runs here). For comparing two builds: run it once per binary.
#
#   bash bench/list.sh                                  # first: seeds the ma_bench database
#   BIN=/path/to/monassurance bash bench/instructions.sh
#
# Settings: BIN (default $CARGO_TARGET_DIR/release/monassurance), PAGES ("big small"), REQUESTS
# (100 per page, after 20 warm-up requests), PG_BASE_URL, BENCH_DB (ma_bench: as list.sh left it),
# PORT (18650). The server runs with list.sh's settings, one request at a time (curl), under
# `valgrind --tool=callgrind --instr-atstart=no`; only the measured requests are counted
# (`callgrind_control -i on/off`). Prints instructions per request (Ir) per page.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
die() { echo "instructions.sh: $*" >&2; exit 1; }

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
PAGES=${PAGES:-big small}
REQUESTS=${REQUESTS:-100}
PORT=${PORT:-18650}
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench}
URL=http://127.0.0.1:$PORT

[[ -x $BIN ]] || die "no binary at $BIN (build it, or set BIN)"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
psql "$PG_BASE_URL/$BENCH_DB" -Atc "SELECT count(*) FROM policies" >/dev/null 2>&1 ||
  die "no $BENCH_DB database: run bench/list.sh first"
port_free "$PORT" || die "port $PORT is taken"

WORK=$(mktemp -d -t ma-instr.XXXXXX)
SERVER_PID=
cleanup() { stop "$SERVER_PID"; [[ -n ${KEEP_WORK:-} ]] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

mkdir -p "$WORK/data"
(
  cd "$WORK"
  exec env DATABASE_URL="$PG_BASE_URL/$BENCH_DB?sslmode=disable" BIND_ADDR="127.0.0.1:$PORT" RATE_LIMIT_RPM=0 WORKERS=0 \
    DATA_DIR="$WORK/data" RUST_LOG=warn ACCESS_TOKEN_TTL_SECS=3600 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" "$BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1200); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; kill -0 "$SERVER_PID" || die "the server died: $(tail -5 "$WORK/server.log")"; sleep 0.25; done
curl -fsS "$URL/health" >/dev/null || die "the server did not start under valgrind in 5 minutes"

TOKEN=$(curl -fsS "$URL/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(input: {email: \"bench@example.com\", password: \"bench password 2026\"}) { accessToken } }"}' |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).data.login.accessToken))')

body_of() {
  case $1 in
    big) echo '{"query":"{ policies(first: 100) { totalCount edges { node { id number productName premium currency status effectiveDate expiryDate client { id firstName lastName } company { id name } } } } }"}' ;;
    small) echo '{"query":"{ policies(first: 100) { edges { node { number premium client { lastName } company { name } } } } }"}' ;;
    *) die "unknown page $1" ;;
  esac
}

ask() { # ask <body> <count>
  for _ in $(seq "$2"); do
    curl -fsS "$URL/graphql" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d "$1" -o "$WORK/answer.json"
  done
  grep -q '"errors"' "$WORK/answer.json" && die "the page answered errors: $(head -c 300 "$WORK/answer.json")"
  return 0
}

total_ir() { # the instructions counted so far: the sum of every dump's total
  local before
  before=$(find "$WORK" -name 'callgrind.out*' | wc -l)
  callgrind_control -d "$SERVER_PID" >/dev/null
  # The dump is written when the server next runs: poke it until the new file is there.
  for _ in $(seq 200); do
    (( $(find "$WORK" -name 'callgrind.out*' | wc -l) > before )) && break
    curl -fsS "$URL/health" >/dev/null 2>&1 || true
    sleep 0.1
  done
  sleep 0.5
  awk '/^totals:/ { n += $2 } END { printf "%d", n }' "$WORK"/callgrind.out*
}

echo "binary: $BIN ($(stat -c %y "$BIN" | cut -d. -f1)); $REQUESTS requests a page, one at a time"
for page in $PAGES; do
  body=$(body_of "$page")
  ask "$body" 20
  before=$(total_ir)
  callgrind_control -i on "$SERVER_PID" >/dev/null
  ask "$body" "$REQUESTS"
  callgrind_control -i off "$SERVER_PID" >/dev/null
  after=$(total_ir)
  echo "$page: $(( (after - before) / REQUESTS )) instructions a request"
done
