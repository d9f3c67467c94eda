#!/usr/bin/env bash
# The list benchmark: `policies(first: 100)` with each policy's client and company, 50
# concurrent connections (wrk), against the release build on PostgreSQL, and the same page
# from PostGraphile v4 over the same database in the same run, as the reference.
#
#   bash bench/list.sh                        # build, seed, measure, report
#   SKIP_BUILD=1 BIN=path/to/monassurance DURATION=5 bash bench/list.sh
#
# Settings (environment): DURATION (s, default 20), WARMUP (s, default 5), THREADS (2),
# CONNECTIONS (50), BIN, SKIP_BUILD=1, CARGO_TARGET_DIR ($HOME/.cache/ma-target),
# PG_BASE_URL (postgres://postgres@127.0.0.1:5432), BENCH_DB (ma_bench), PORT (18600),
# GRAPHILE_PORT (18601), POSTGRAPHILE_ARGS (extra PostGraphile flags, e.g. "--cluster-workers 2").
# See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
PORT=${PORT:-18600}
GRAPHILE_PORT=${GRAPHILE_PORT:-18601}
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench}
DB_URL=$PG_BASE_URL/$BENCH_DB
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
TARGET_RPS=2000

MA_URL=http://127.0.0.1:$PORT
GRAPHILE_URL=http://127.0.0.1:$GRAPHILE_PORT

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/list.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-bench.XXXXXX)
SERVER_PID=
GRAPHILE_PID=

stop() { # stop <pid>: ends one process this script started, and reaps it
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$GRAPHILE_PID"
  stop "$SERVER_PID"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for, port_free, cpu_busy
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------------
say "PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
  pg_isready -h 127.0.0.1 -p 5432 -q || die "PostgreSQL does not answer on 127.0.0.1:5432"
fi
PG_VERSION=$(psql "$PG_BASE_URL/postgres" -Atc 'show server_version')
echo "PostgreSQL $PG_VERSION"

say "Build"
if [[ ${SKIP_BUILD:-0} == 1 && -x $BIN ]]; then
  echo "SKIP_BUILD=1: using $BIN"
else
  cargo build --release --bins
fi
[[ -x $BIN ]] || die "no server binary at $BIN"
case $BIN in
  */release/*) PROFILE=release ;;
  */debug/*) PROFILE="debug build, NOT representative" ;;
  *) PROFILE=unknown ;;
esac
echo "binary: $BIN ($PROFILE)"

say "Tools"
if ! command -v wrk >/dev/null; then
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
command -v node >/dev/null || die "node (>= 18) is needed for the seeding script and PostGraphile"
GRAPHILE_BIN=$BENCH/node_modules/.bin/postgraphile
if [[ ! -x $GRAPHILE_BIN ]]; then
  (cd "$BENCH" && npm ci --no-audit --no-fund)
fi
WRK_VERSION=$(wrk -v 2>&1 | head -n 1 || true)
GRAPHILE_VERSION=$("$GRAPHILE_BIN" --version)
echo "$WRK_VERSION; PostGraphile $GRAPHILE_VERSION; node $(node --version)"

port_free "$PORT" || die "port $PORT is already in use"
port_free "$GRAPHILE_PORT" || die "port $GRAPHILE_PORT is already in use"

# ---------------------------------------------------------------------------------------------
say "Database $BENCH_DB (fresh)"
PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

say "monassurance serve on $MA_URL"
mkdir -p "$WORK/data"
# Run from the scratch directory so that no .env file of the checkout is picked up.
(
  cd "$WORK"
  exec env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" RATE_LIMIT_RPM=0 WORKERS=0 \
    DATA_DIR="$WORK/data" RUST_LOG=warn ACCESS_TOKEN_TTL_SECS=3600 "$BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for monassurance "$SERVER_PID" "$WORK/server.log" curl -fsS "$MA_URL/health"
echo "up (pid $SERVER_PID)"

say "Seed through the API: 1 organization, 5 companies, 200 clients, 2,000 policies"
SEED_JSON=$(node "$BENCH/seed.mjs" "$MA_URL/graphql")
BENCH_TOKEN=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).accessToken)' "$SEED_JSON")
export BENCH_TOKEN
BENCH_ORG_UUID=$(psql "$DB_URL" -Atc 'select id from organizations limit 1')
export BENCH_ORG_UUID
psql "$DB_URL" -q -c 'VACUUM ANALYZE'

# The bodies the .lua scripts send (kept identical; used for the correctness checks).
MA_BODY='{"query":"{ policies(first: 100) { edges { node { number premium client { lastName } company { name } } } } }"}'
GRAPHILE_BODY='{"query":"{ allPolicies(first: 100, orderBy: [CREATED_AT_DESC, ID_ASC], condition: { organizationId: \"'$BENCH_ORG_UUID'\" }) { nodes { number premiumMinor clientByClientId { lastName } companyByCompanyId { name } } } }"}'

# check_page <name> <url> <body> [curl args...]: one request; the page must hold 100 policies,
# each with its client's last name and its company's name, and no error. Prints the policy
# numbers (in order) to $WORK/<name>.numbers and the body size in bytes to stdout.
check_page() {
  local name=$1 url=$2 body=$3
  shift 3
  curl -fsS "$url" -H 'content-type: application/json' "$@" -d "$body" -o "$WORK/$name.json"
  node -e '
    const fs = require("fs");
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    if (r.errors) { console.error(JSON.stringify(r.errors)); process.exit(1); }
    const page = r.data.policies ? r.data.policies.edges.map((e) => e.node) : r.data.allPolicies.nodes;
    if (page.length !== 100) { console.error(`${page.length} policies, not 100`); process.exit(1); }
    for (const p of page) {
      const c = p.client ?? p.clientByClientId, k = p.company ?? p.companyByCompanyId;
      if (!c || !c.lastName || !k || !k.name) { console.error("missing client or company: " + JSON.stringify(p)); process.exit(1); }
    }
    fs.writeFileSync(process.argv[2], page.map((p) => p.number).join("\n") + "\n");
  ' "$WORK/$name.json" "$WORK/$name.numbers" || die "$name: wrong answer (body in $WORK/$name.json)"
  wc -c <"$WORK/$name.json" | tr -d ' '
}

metric() { curl -fsS "$MA_URL/metrics" | awk '$1 == "db_statements_total" { print $2 }'; }
# The counter once the requests still in flight when wrk stopped are done (stable for 0.3 s).
settled_metric() {
  local a b
  a=$(metric)
  for _ in $(seq 100); do
    sleep 0.3
    b=$(metric)
    [[ $a != "$b" ]] || break
    a=$b
  done
  echo "$a"
}

# run_wrk <name> <url> <lua>: warm-up, then the measured run; output in $WORK/<name>.wrk.
run_wrk() {
  local name=$1 url=$2 lua=$3
  echo "warm-up ${WARMUP}s"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" "$url/graphql" >/dev/null
  [[ $name != monassurance ]] || STMTS_BEFORE=$(settled_metric)
  echo "measure ${DURATION}s: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s ${lua#"$ROOT"/} $url/graphql"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" "$url/graphql" | tee "$WORK/$name.wrk"
  [[ $name != monassurance ]] || STMTS_AFTER=$(settled_metric)
}

# parse <file>: "rps p50_ms p99_ms requests bytes_read non2xx socket_errors"
parse() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
      return v + 0
    }
    function bytes(v) {
      if (v ~ /GB$/) return substr(v, 1, length(v) - 2) * 1073741824
      if (v ~ /MB$/) return substr(v, 1, length(v) - 2) * 1048576
      if (v ~ /KB$/) return substr(v, 1, length(v) - 2) * 1024
      if (v ~ /B$/) return substr(v, 1, length(v) - 1) + 0
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50% / { p50 = ms($2) }
    /^ +99% / { p99 = ms($2) }
    / requests in / { req = $1; read = bytes($5) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(/,/, ""); serr = $4 + $6 + $8 + $10 }
    END { printf "%s %.2f %.2f %d %.0f %d %d\n", rps, p50, p99, req, read, non2xx + 0, serr + 0 }
  ' "$1"
}

# ---------------------------------------------------------------------------------------------
say "Benchmark: monassurance"
# Other work on the machine (a build, tests) skews everything: measure how busy the CPUs are
# while both servers idle, and say so in the report.
IDLE_BUSY=$(cpu_busy)
echo "CPU busy before the run (servers idle): $IDLE_BUSY%"
MA_SIZE=$(check_page monassurance "$MA_URL/graphql" "$MA_BODY" -H "authorization: Bearer $BENCH_TOKEN")
echo "answer checked: 100 policies with client and company, $MA_SIZE bytes"
STMTS_BEFORE=0 STMTS_AFTER=0
run_wrk monassurance "$MA_URL" "$BENCH/policies.lua"
check_page monassurance-after "$MA_URL/graphql" "$MA_BODY" -H "authorization: Bearer $BENCH_TOKEN" >/dev/null
read -r MA_RPS MA_P50 MA_P99 MA_REQ MA_READ MA_NON2XX MA_SERR < <(parse "$WORK/monassurance.wrk")
[[ $MA_REQ -gt 0 ]] || die "monassurance: wrk completed no request"
MA_SPR=$(awk -v d=$((STMTS_AFTER - STMTS_BEFORE)) -v n="$MA_REQ" 'BEGIN { printf "%.2f", d / n }')
echo "SQL statements: $((STMTS_AFTER - STMTS_BEFORE)) for $MA_REQ requests = $MA_SPR per request"
# Stop it: PostGraphile gets the same quiet machine.
stop "$SERVER_PID"
SERVER_PID=

say "PostGraphile $GRAPHILE_VERSION on $GRAPHILE_URL (same database)"
# shellcheck disable=SC2086 # POSTGRAPHILE_ARGS is a list of flags
(
  cd "$WORK"
  exec env NODE_ENV=production "$GRAPHILE_BIN" -c "$DB_URL" --port "$GRAPHILE_PORT" --host 127.0.0.1 \
    --disable-graphiql --cors --no-setof-functions-contain-nulls --disable-query-log ${POSTGRAPHILE_ARGS:-}
) >"$WORK/postgraphile.log" 2>&1 &
GRAPHILE_PID=$!
wait_for PostGraphile "$GRAPHILE_PID" "$WORK/postgraphile.log" \
  curl -fsS "$GRAPHILE_URL/graphql" -H 'content-type: application/json' -d '{"query":"{ __typename }"}'
echo "up (pid $GRAPHILE_PID)"

say "Benchmark: PostGraphile"
PG_SIZE=$(check_page postgraphile "$GRAPHILE_URL/graphql" "$GRAPHILE_BODY")
echo "answer checked: 100 policies with client and company, $PG_SIZE bytes"
SAME_PAGE=yes
cmp -s "$WORK/monassurance.numbers" "$WORK/postgraphile.numbers" || SAME_PAGE=no
echo "same 100 policies in the same order as monassurance: $SAME_PAGE"
run_wrk postgraphile "$GRAPHILE_URL" "$BENCH/postgraphile.lua"
read -r PG_RPS PG_P50 PG_P99 PG_REQ PG_READ PG_NON2XX PG_SERR < <(parse "$WORK/postgraphile.wrk")
[[ $PG_REQ -gt 0 ]] || die "PostGraphile: wrk completed no request"
stop "$GRAPHILE_PID"
GRAPHILE_PID=

# ---------------------------------------------------------------------------------------------
# Sanity: every response must have been a full page (wrk counts bytes read, headers included).
WARNINGS=()
size_ok() { awk -v r="$1" -v n="$2" -v s="$3" 'BEGIN { exit !(r / n >= 0.95 * s) }'; }
size_ok "$MA_READ" "$MA_REQ" "$MA_SIZE" || WARNINGS+=("monassurance: responses average less than the checked page: some were errors")
size_ok "$PG_READ" "$PG_REQ" "$PG_SIZE" || WARNINGS+=("PostGraphile: responses average less than the checked page: some were errors")
[[ $MA_NON2XX -eq 0 ]] || WARNINGS+=("monassurance: $MA_NON2XX non-2xx responses")
[[ $PG_NON2XX -eq 0 ]] || WARNINGS+=("PostGraphile: $PG_NON2XX non-2xx responses")
[[ $MA_SERR -eq 0 ]] || WARNINGS+=("monassurance: $MA_SERR socket errors (connect/read/write/timeout)")
[[ $PG_SERR -eq 0 ]] || WARNINGS+=("PostGraphile: $PG_SERR socket errors (connect/read/write/timeout)")
[[ $IDLE_BUSY -lt 10 ]] ||
  WARNINGS+=("other work kept the CPUs $IDLE_BUSY% busy just before the run: figures are skewed")
[[ $SAME_PAGE == yes ]] || WARNINGS+=("the two servers did not serve the same 100 policies in the same order")

RPS_OK=$(awk -v a="$MA_RPS" -v t=$TARGET_RPS 'BEGIN { print (a >= t) ? "yes" : "no" }')
AHEAD=$(awk -v a="$MA_RPS" -v b="$PG_RPS" 'BEGIN { printf "%s (%.2fx)", (a > b) ? "yes" : "no", a / b }')

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/list-$STAMP.md
mkdir -p "$BENCH/results"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

TABLE=$(
  echo "| server | requests/s | p50 (ms) | p99 (ms) | SQL statements/request | bytes/response | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '| monassurance, %s | %s | %s | %s | %s | %s | %s |\n' "$PROFILE" "$MA_RPS" "$MA_P50" "$MA_P99" "$MA_SPR" \
    "$MA_SIZE" "$((MA_NON2XX + MA_SERR))"
  printf '| PostGraphile %s | %s | %s | %s | %s | %s | %s |\n' "$GRAPHILE_VERSION" "$PG_RPS" "$PG_P50" "$PG_P99" \
    "1 (by design; not counted)" "$PG_SIZE" "$((PG_NON2XX + PG_SERR))"
)

{
  echo "# List benchmark — $STAMP"
  echo
  echo "\`policies(first: 100)\` with each policy's client and company; wrk -t$THREADS -c$CONNECTIONS," \
    "${DURATION}s measured after a ${WARMUP}s warm-up; 2,000 policies, 200 clients, 5 companies."
  echo
  echo "$TABLE"
  echo
  echo "Target: ≥ $TARGET_RPS requests/s: **$RPS_OK**; ahead of PostGraphile: **$AHEAD**."
  echo
  if [[ ${#WARNINGS[@]} -gt 0 ]]; then
    for w in "${WARNINGS[@]}"; do echo "- **WARNING**: $w"; done
    echo
  fi
  echo "- commit: $GIT_REV; binary: \`$BIN\` ($PROFILE)"
  echo "- machine: $(nproc) cores, $CPU; PostgreSQL $PG_VERSION on the same cores; wrk on the same cores;" \
    "CPU busy just before the run (servers idle): $IDLE_BUSY%"
  echo "- $WRK_VERSION; PostGraphile $GRAPHILE_VERSION (NODE_ENV=production, one process${POSTGRAPHILE_ARGS:+, $POSTGRAPHILE_ARGS}); node $(node --version)"
  echo "- monassurance: RATE_LIMIT_RPM=0 WORKERS=0 RUST_LOG=warn; SQL statements from \`db_statements_total\` on /metrics"
  echo "- same page from both servers (same policies, same order): $SAME_PAGE"
  echo
  echo "Queries:"
  echo
  echo '```'
  echo "$MA_BODY"
  echo "$GRAPHILE_BODY"
  echo '```'
  for name in monassurance postgraphile; do
    echo
    echo "<details><summary>wrk output: $name</summary>"
    echo
    echo '```'
    cat "$WORK/$name.wrk"
    echo '```'
    echo
    echo "</details>"
  done
} >"$REPORT"

say "Summary"
echo "$TABLE"
echo
echo "target >= $TARGET_RPS requests/s: $RPS_OK; ahead of PostGraphile: $AHEAD"
for w in "${WARNINGS[@]}"; do echo "WARNING: $w"; done
echo "report: ${REPORT#"$ROOT"/}"
