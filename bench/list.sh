#!/usr/bin/env bash
# The list benchmark: two pages of `policies(first: 100)` (the broker's list page, `big`: ten
# policy fields, the client's and the company's, and `totalCount`; and the smaller `small` page),
# 50 concurrent connections (wrk), against the release build on PostgreSQL, and the same pages
# from PostGraphile v4 over the same database in the same run, as the reference: started plainly
# (one process) and with `--cluster-workers 2`. Also the server's CPU time per request (from
# /proc/<pid>/stat before and after each measured run).
#
#   bash bench/list.sh                        # build, seed, measure, report
#   SKIP_BUILD=1 BIN=path/to/monassurance DURATION=5 bash bench/list.sh
#
# Settings (environment): PAGES ("big small"), DURATION (s, default 20), WARMUP (s, default 5),
# THREADS (2), CONNECTIONS (50), BIN, SKIP_BUILD=1, CARGO_TARGET_DIR ($HOME/.cache/ma-target),
# PG_BASE_URL (postgres://postgres@127.0.0.1:5432), BENCH_DB (ma_bench), PORT (18600),
# GRAPHILE_PORT (18601; the clustered one on +1), GRAPHILE_CLUSTER (2; 0: no clustered run),
# PERF=1 (a `perf record` of the server during its measured runs, the top symbols in the report;
# PERF_ARGS, default -F 499, e.g. "--call-graph dwarf -F 199"; PERF_KEEP=<dir> keeps the perf.data),
# BIN_PROFILE (how to describe a BIN outside target/{release,debug}), DB_PARAMS (appended to the
# server's DATABASE_URL; default ?sslmode=disable, as PostGraphile connects).
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
PAGES=${PAGES:-big small}
# PostGraphile's driver (node-postgres) connects without TLS; sqlx prefers TLS when the server
# offers it (this machine's PostgreSQL does). The same transport for both: no TLS, unless set.
DB_PARAMS=${DB_PARAMS-?sslmode=disable}
GRAPHILE_CLUSTER=${GRAPHILE_CLUSTER:-2}
GRAPHILE_CLUSTER_PORT=$((GRAPHILE_PORT + 1))

MA_URL=http://127.0.0.1:$PORT
GRAPHILE_URL=http://127.0.0.1:$GRAPHILE_PORT

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/list.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-bench.XXXXXX)
SERVER_PID=
GRAPHILE_PID=
CLUSTER_PID=

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$GRAPHILE_PID"
  stop "$CLUSTER_PID"
  stop "$SERVER_PID"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop, wait_for, port_free, cpu_busy
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
  *) PROFILE=${BIN_PROFILE:-unknown} ;;
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
port_free "$GRAPHILE_CLUSTER_PORT" || die "port $GRAPHILE_CLUSTER_PORT is already in use"

# ---------------------------------------------------------------------------------------------
say "Database $BENCH_DB (fresh)"
PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

say "monassurance serve on $MA_URL"
mkdir -p "$WORK/data"
# Run from the scratch directory so that no .env file of the checkout is picked up.
(
  cd "$WORK"
  exec env DATABASE_URL="$DB_URL$DB_PARAMS" BIND_ADDR="127.0.0.1:$PORT" RATE_LIMIT_RPM=0 WORKERS=0 \
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
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A MA_CPU=()

# page_bodies <page>: sets MA_BODY and GRAPHILE_BODY, the same page asked of both servers (the
# same tenant filter, the same order as the server's default: newest first, then id).
page_bodies() {
  local cond='condition: { organizationId: \"'$BENCH_ORG_UUID'\" }'
  case $1 in
    big)
      MA_BODY='{"query":"{ policies(first: 100) { totalCount edges { node { id number productName premium currency status effectiveDate expiryDate client { id firstName lastName } company { id name } } } } }"}'
      GRAPHILE_BODY='{"query":"{ allPolicies(first: 100, orderBy: [CREATED_AT_DESC, ID_ASC], '$cond') { totalCount nodes { id number productName premiumMinor currency status effectiveDate expiryDate clientByClientId { id firstName lastName } companyByCompanyId { id name } } } }"}'
      ;;
    small)
      MA_BODY='{"query":"{ policies(first: 100) { edges { node { number premium client { lastName } company { name } } } } }"}'
      GRAPHILE_BODY='{"query":"{ allPolicies(first: 100, orderBy: [CREATED_AT_DESC, ID_ASC], '$cond') { nodes { number premiumMinor clientByClientId { lastName } companyByCompanyId { name } } } }"}'
      ;;
    *) die "unknown page $1 (PAGES: big, small)" ;;
  esac
}

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

# cpu_ticks <pid>: user + system CPU time of the process and its children processes (PostGraphile's
# cluster workers), in clock ticks.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)
# machine_ticks: "<busy> <all>" clock ticks of all CPUs since boot (/proc/stat; idle and iowait
# are not busy).
machine_ticks() {
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# pg_ticks: "<pid> <ticks>" of every PostgreSQL process (the database's share of the work);
# pg_delta <before> <after>: the ticks used between the two (a backend started in between counts
# whole; one that ended in between is lost, so the figure is a floor).
pg_ticks() {
  local p
  for p in $(pgrep -x postgres || true); do
    awk -v p="$p" '{ print p, $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
  done
}
pg_delta() {
  awk 'NR == FNR { before[$1] = $2; next } { d += $2 - (($1 in before) ? before[$1] : 0) } END { print d + 0 }' "$1" "$2"
}

# run_wrk <name> <url> <pid>: warm-up, then the measured run with BENCH_BODY/BENCH_TOKEN as
# exported; output in $WORK/<name>.wrk, the CPU ticks the server used in $WORK/<name>.cpu.
run_wrk() {
  local name=$1 url=$2 pid=$3 t0 t1
  echo "warm-up ${WARMUP}s"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH/body.lua" "$url/graphql" >/dev/null
  [[ $name != monassurance* ]] || STMTS_BEFORE=$(settled_metric)
  echo "measure ${DURATION}s: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/body.lua $url/graphql"
  t0=$(cpu_ticks "$pid")
  pg_ticks >"$WORK/$name.pg0"
  local perf_pid=
  if [[ ${PERF:-0} == 1 && $name == monassurance-* ]] && command -v perf >/dev/null; then
    # shellcheck disable=SC2086 # PERF_ARGS is a list of perf options
    perf record -q ${PERF_ARGS:--F 499} -p "$pid" -o "$WORK/$name.perf" 2>/dev/null &
    perf_pid=$!
  fi
  machine_ticks >"$WORK/$name.m0"
  # wrk's own CPU (user + system s) too: it shares the cores with the servers and PostgreSQL.
  { TIMEFORMAT='%3U %3S'; time wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH/body.lua" "$url/graphql" >"$WORK/$name.wrk"; } 2>"$WORK/$name.wrktime"
  machine_ticks >"$WORK/$name.m1"
  t1=$(cpu_ticks "$pid")
  cat "$WORK/$name.wrk"
  pg_ticks >"$WORK/$name.pg1"
  pg_delta "$WORK/$name.pg0" "$WORK/$name.pg1" >"$WORK/$name.pgcpu"
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -q -i "$WORK/$name.perf" --no-children --sort symbol --stdio 2>/dev/null |
      sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | grep -v '^$' | head -n 40 >"$WORK/$name.profile" || true
    [[ -z ${PERF_KEEP:-} ]] || cp "$WORK/$name.perf" "$PERF_KEEP/$name.perf"
  fi
  echo $((t1 - t0)) >"$WORK/$name.cpu"
  [[ $name != monassurance* ]] || STMTS_AFTER=$(settled_metric)
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
say "PostGraphile $GRAPHILE_VERSION on $GRAPHILE_URL (same database)"
start_graphile() { # start_graphile <port> <extra flags...>: prints the pid
  local port=$1
  shift
  (
    cd "$WORK"
    exec env NODE_ENV=production "$GRAPHILE_BIN" -c "$DB_URL" --port "$port" --host 127.0.0.1 \
      --disable-graphiql --cors --no-setof-functions-contain-nulls --disable-query-log "$@"
  ) >"$WORK/postgraphile-$port.log" 2>&1 &
  echo $!
}
GRAPHILE_PID=$(start_graphile "$GRAPHILE_PORT")
wait_for PostGraphile "$GRAPHILE_PID" "$WORK/postgraphile-$GRAPHILE_PORT.log" \
  curl -fsS "$GRAPHILE_URL/graphql" -H 'content-type: application/json' -d '{"query":"{ __typename }"}'
echo "up (pid $GRAPHILE_PID)"
SERVERS=(monassurance postgraphile)
if [[ $GRAPHILE_CLUSTER -gt 0 ]]; then
  CLUSTER_URL=http://127.0.0.1:$GRAPHILE_CLUSTER_PORT
  CLUSTER_PID=$(start_graphile "$GRAPHILE_CLUSTER_PORT" --cluster-workers "$GRAPHILE_CLUSTER")
  wait_for "PostGraphile --cluster-workers $GRAPHILE_CLUSTER" "$CLUSTER_PID" "$WORK/postgraphile-$GRAPHILE_CLUSTER_PORT.log" \
    curl -fsS "$CLUSTER_URL/graphql" -H 'content-type: application/json' -d '{"query":"{ __typename }"}'
  echo "clustered (--cluster-workers $GRAPHILE_CLUSTER) up on $CLUSTER_URL (pid $CLUSTER_PID)"
  SERVERS+=(postgraphile-cluster)
fi

# Other work on the machine (a build, tests) skews everything: measure how busy the CPUs are
# while the servers idle, and say so in the report.
IDLE_BUSY=$(cpu_busy)
echo "CPU busy before the run (servers idle): $IDLE_BUSY%"

WARNINGS=()
TABLE="| page | server | requests/s | p50 (ms) | p99 (ms) | server CPU ms/request | PostgreSQL CPU ms/request | wrk CPU ms/request | all CPU ms/request (busy) | SQL statements/request | bytes/response | errors |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
VERDICTS=()
QUERIES=()
size_ok() { awk -v r="$1" -v n="$2" -v s="$3" 'BEGIN { exit !(r / n >= 0.95 * s) }'; }
for page in $PAGES; do
  page_bodies "$page"
  QUERIES+=("$page: $MA_BODY" "$page: $GRAPHILE_BODY")
  declare -A RPS=() P99=()
  for server in "${SERVERS[@]}"; do
    name=$server-$page
    case $server in
      monassurance) url=$MA_URL pid=$SERVER_PID body=$MA_BODY token=$BENCH_TOKEN ;;
      postgraphile) url=$GRAPHILE_URL pid=$GRAPHILE_PID body=$GRAPHILE_BODY token= ;;
      postgraphile-cluster) url=$CLUSTER_URL pid=$CLUSTER_PID body=$GRAPHILE_BODY token= ;;
    esac
    say "Benchmark: $server, $page page"
    auth=()
    [[ -z $token ]] || auth=(-H "authorization: Bearer $token")
    size=$(check_page "$name" "$url/graphql" "$body" "${auth[@]}")
    echo "answer checked: 100 policies with client and company, $size bytes"
    if [[ $server != monassurance ]]; then
      cmp -s "$WORK/monassurance-$page.numbers" "$WORK/$name.numbers" ||
        WARNINGS+=("$page page: $server did not serve the same 100 policies in the same order as monassurance")
    fi
    STMTS_BEFORE=0 STMTS_AFTER=0
    BENCH_BODY=$body BENCH_TOKEN=$token run_wrk "$name" "$url" "$pid"
    read -r rps p50 p99 req read non2xx serr < <(parse "$WORK/$name.wrk")
    [[ $req -gt 0 ]] || die "$name: wrk completed no request"
    cpu=$(awk -v t="$(cat "$WORK/$name.cpu")" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { printf "%.2f", 1000 * t / hz / n }')
    pgcpu=$(awk -v t="$(cat "$WORK/$name.pgcpu")" -v hz="$CLK_TCK" -v n="$req" 'BEGIN { printf "%.2f", 1000 * t / hz / n }')
    wrkcpu=$(awk -v n="$req" '{ printf "%.2f", 1000 * ($1 + $2) / n }' "$WORK/$name.wrktime")
    # All the machine's busy CPU time a request (server, PostgreSQL, wrk, the kernel's network
    # work, anything else), and how busy the CPUs were during the run.
    allcpu=$(awk -v hz="$CLK_TCK" -v n="$req" 'NR == 1 { b = $1; a = $2 } NR == 2 { printf "%.2f (%.0f %%)", 1000 * ($1 - b) / hz / n, 100 * ($1 - b) / ($2 - a) }' "$WORK/$name.m0" "$WORK/$name.m1")
    if [[ $server == monassurance ]]; then
      spr=$(awk -v d=$((STMTS_AFTER - STMTS_BEFORE)) -v n="$req" 'BEGIN { printf "%.2f", d / n }')
    else
      spr="1 (by design; not counted)"
    fi
    size_ok "$read" "$req" "$size" || WARNINGS+=("$name: responses average less than the checked page: some were errors")
    [[ $non2xx -eq 0 ]] || WARNINGS+=("$name: $non2xx non-2xx responses")
    [[ $serr -eq 0 ]] || WARNINGS+=("$name: $serr socket errors (connect/read/write/timeout)")
    label=$server
    [[ $server != monassurance ]] || label="monassurance ($PROFILE)"
    [[ $server != postgraphile-cluster ]] || label="PostGraphile --cluster-workers $GRAPHILE_CLUSTER"
    [[ $server != postgraphile ]] || label="PostGraphile (one process)"
    TABLE+=$'\n'"| $page | $label | $rps | $p50 | $p99 | $cpu | $pgcpu | $wrkcpu | $allcpu | $spr | $size | $((non2xx + serr)) |"
    RPS[$server]=$rps
    P99[$server]=$p99
    [[ $server != monassurance ]] || MA_CPU[$page]=$cpu
  done
  v=$(awk -v a="${RPS[monassurance]}" -v b="${RPS[postgraphile]}" -v pa="${P99[monassurance]}" -v pb="${P99[postgraphile]}" \
    'BEGIN { printf "%.2fx PostGraphile (target 4x: %s), p99 %s ms vs %s ms (%s)", a / b, (a >= 4 * b) ? "met" : "NOT met", pa, pb, (pa < pb) ? "below" : "NOT below" }')
  if [[ -n ${RPS[postgraphile-cluster]:-} ]]; then
    v+=$(awk -v a="${RPS[monassurance]}" -v c="${RPS[postgraphile-cluster]}" -v n="$GRAPHILE_CLUSTER" \
      'BEGIN { printf "; %.2fx PostGraphile --cluster-workers %s (target 2x: %s)", a / c, n, (a >= 2 * c) ? "met" : "NOT met" }')
  fi
  v+=$(awk -v c="${MA_CPU[$page]}" 'BEGIN { printf "; %s ms of server CPU per request (target <= 1: %s)", c, (c <= 1) ? "met" : "NOT met" }')
  VERDICTS+=("$page page: $v")
  unset RPS P99
done
[[ $IDLE_BUSY -lt 10 ]] ||
  WARNINGS+=("other work kept the CPUs $IDLE_BUSY% busy just before the run: figures are skewed")

# details <summary> <file>: the file as a folded block of the report.
details() {
  printf '\n<details><summary>%s</summary>\n\n```\n' "$1"
  cat "$2"
  printf '```\n\n</details>\n'
}

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/list-$STAMP.md
mkdir -p "$BENCH/results"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

{
  echo "# List benchmark — $STAMP"
  echo
  echo "\`policies(first: 100)\` pages (big: the broker's list page; small: number, premium, client's and" \
    "company's name); wrk -t$THREADS -c$CONNECTIONS, ${DURATION}s measured after a ${WARMUP}s warm-up;" \
    "2,000 policies, 200 clients, 5 companies. Server CPU: user + system time of the server process" \
    "(PostGraphile clustered: and its workers) during the measured run, per request; all CPU: every" \
    "core's busy time (/proc/stat) during the run, per request, and how busy the cores were."
  echo
  echo "$TABLE"
  echo
  for v in "${VERDICTS[@]}"; do echo "- $v"; done
  echo
  if [[ ${#WARNINGS[@]} -gt 0 ]]; then
    for w in "${WARNINGS[@]}"; do echo "- **WARNING**: $w"; done
    echo
  fi
  echo "- commit: $GIT_REV; binary: \`$BIN\` ($PROFILE)"
  echo "- machine: $(nproc) cores, $CPU; PostgreSQL $PG_VERSION on the same cores; wrk on the same cores;" \
    "CPU busy just before the run (servers idle): $IDLE_BUSY%; load average before: $LOAD_BEFORE"
  echo "- $WRK_VERSION; PostGraphile $GRAPHILE_VERSION (NODE_ENV=production); node $(node --version)"
  echo "- monassurance: RATE_LIMIT_RPM=0 WORKERS=0 RUST_LOG=warn, DATABASE_URL with \`${DB_PARAMS:-(nothing)}\`; SQL statements from \`db_statements_total\` on /metrics"
  echo
  echo "Queries:"
  echo
  echo '```'
  for q in "${QUERIES[@]}"; do echo "$q"; done
  echo '```'
  for f in "$WORK"/*.profile; do
    [[ -e $f ]] || continue
    details "perf (PERF=1), the server's own CPU samples by symbol, top 40: $(basename "$f" .profile)" "$f"
  done
  for f in "$WORK"/*.wrk; do
    details "wrk output: $(basename "$f" .wrk)" "$f"
  done
} >"$REPORT"

say "Summary"
echo "$TABLE"
echo
for v in "${VERDICTS[@]}"; do echo "$v"; done
for w in "${WARNINGS[@]}"; do echo "WARNING: $w"; done
echo "report: ${REPORT#"$ROOT"/}"
