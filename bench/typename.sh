#!/usr/bin/env bash
# The ceiling benchmark: `{ __typename }` through the server's whole stack (HTTP middleware,
# credentials, the operation pipeline, metrics) against a bare axum + async-graphql server
# (`examples/bare.rs`: no middleware, no database) built in the same run with the same profile
# and allocator; wrk, 50 connections, the same machine. The target is a ratio of at least 0.7.
#
#   bash bench/typename.sh
#   SKIP_BUILD=1 DURATION=5 bash bench/typename.sh
#
# Settings (environment): DURATION (10 s a run), ROUNDS (2: each server ROUNDS times, in turn), WARMUP (5), THREADS (2), CONNECTIONS (50), SKIP_BUILD=1,
# CARGO_TARGET_DIR ($HOME/.cache/ma-target), BIN (the server binary), PG_BASE_URL, BENCH_DB (ma_bench_typename), PORT (18620;
# the bare server on +1). See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
PORT=${PORT:-18620}
BARE_PORT=$((PORT + 1))
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench_typename}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
BARE=$CARGO_TARGET_DIR/release/examples/bare
TARGET_RATIO=0.7

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/typename.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-typename.XXXXXX)
SERVER_PID=
BARE_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$BARE_PID"
  stop "$SERVER_PID"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

say "Build (release: the server and examples/bare.rs)"
if [[ ${SKIP_BUILD:-0} == 1 && -x $BIN && -x $BARE ]]; then
  echo "SKIP_BUILD=1"
else
  cargo build --release --bins --example bare
fi
command -v wrk >/dev/null || $SUDO apt-get install -y wrk
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
port_free "$PORT" || die "port $PORT is already in use"
port_free "$BARE_PORT" || die "port $BARE_PORT is already in use"
PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

mkdir -p "$WORK/data"
(
  cd "$WORK"
  exec env DATABASE_URL="$PG_BASE_URL/$BENCH_DB" BIND_ADDR="127.0.0.1:$PORT" RATE_LIMIT_RPM=0 WORKERS=0 \
    DATA_DIR="$WORK/data" RUST_LOG=warn "$BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
"$BARE" "127.0.0.1:$BARE_PORT" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
BODY='{"query":"{ __typename }"}'
wait_for monassurance "$SERVER_PID" "$WORK/server.log" curl -fsS "http://127.0.0.1:$PORT/health"
wait_for bare "$BARE_PID" "$WORK/bare.log" curl -fsS "http://127.0.0.1:$BARE_PORT/graphql" -H 'content-type: application/json' -d "$BODY"
for url in "http://127.0.0.1:$PORT/graphql" "http://127.0.0.1:$BARE_PORT/graphql"; do
  answer=$(curl -fsS "$url" -H 'content-type: application/json' -d "$BODY")
  [[ $answer == '{"data":{"__typename":"Query"}}' ]] || die "$url answered $answer"
done
IDLE_BUSY=$(cpu_busy)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ROUNDS rounds, each server in turn within a round (A B A B …), so that a drift of the machine
# during the run weighs on both alike; the figure of a server is the mean of its rounds.
declare -A SUM=()
RUNS=()
for round in $(seq "$ROUNDS"); do
  for name in monassurance bare; do
    port=$PORT
    [[ $name == monassurance ]] || port=$BARE_PORT
    say "Benchmark: $name, round $round of $ROUNDS"
    BENCH_BODY=$BODY wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH/body.lua" "http://127.0.0.1:$port/graphql" >/dev/null
    BENCH_BODY=$BODY wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH/body.lua" \
      "http://127.0.0.1:$port/graphql" | tee "$WORK/$name-$round.wrk"
    grep -q 'Non-2xx' "$WORK/$name-$round.wrk" && die "$name answered non-2xx responses"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/$name-$round.wrk")
    RUNS+=("| $round | $name | $rps |")
    SUM[$name]=$(awk -v a="${SUM[$name]:-0}" -v b="$rps" 'BEGIN { print a + b }')
  done
done
declare -A RPS=()
for name in monassurance bare; do
  RPS[$name]=$(awk -v s="${SUM[$name]}" -v n="$ROUNDS" 'BEGIN { printf "%.2f", s / n }')
done
RATIO=$(awk -v a="${RPS[monassurance]}" -v b="${RPS[bare]}" 'BEGIN { printf "%.2f", a / b }')
MET=$(awk -v r="$RATIO" -v t=$TARGET_RATIO 'BEGIN { print (r >= t) ? "met" : "NOT met" }')

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/typename-$STAMP.md
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
{
  echo "# Ceiling benchmark — $STAMP"
  echo
  echo "\`{ __typename }\`, anonymous, wrk -t$THREADS -c$CONNECTIONS, ${DURATION}s after a ${WARMUP}s warm-up, each" \
    "server $ROUNDS times in turn; a server's figure is the mean of its runs."
  echo
  echo "| server | requests/s |"
  echo "|---|---:|"
  echo "| monassurance (release, whole stack) | ${RPS[monassurance]} |"
  echo "| bare axum + async-graphql (examples/bare.rs, release) | ${RPS[bare]} |"
  echo
  echo "| round | server | requests/s |"
  echo "|---:|---|---:|"
  for r in "${RUNS[@]}"; do echo "$r"; done
  echo
  echo "Ratio: **$RATIO** (target ≥ $TARGET_RATIO: **$MET**)."
  echo
  echo "- commit: $GIT_REV; machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
    "CPU busy just before the run: $IDLE_BUSY%; load average before: $LOAD_BEFORE; wrk on the same cores"
  for f in "$WORK"/*.wrk; do
    echo
    echo "<details><summary>wrk output: $(basename "$f" .wrk)</summary>"
    echo
    echo '```'
    cat "$f"
    echo '```'
    echo
    echo "</details>"
  done
} >"$REPORT"
say "Summary"
echo "monassurance ${RPS[monassurance]} req/s, bare ${RPS[bare]} req/s: ratio $RATIO (target >= $TARGET_RATIO: $MET)"
echo "report: ${REPORT#"$ROOT"/}"
