#!/usr/bin/env bash
# The subscribers benchmark: SOCKETS (10,000) `jobEvents` subscribers, each on its own
# graphql-transport-ws WebSocket, signed in as one of several users of one organization, held by
# ONE server process (`serve`, the release build, PostgreSQL, the in-process event bus). Measures
#   1. the server's memory (VmRSS, VmHWM) with 0, 1,000, 5,000 and 10,000 sockets held, and so
#      what one socket costs;
#   2. the delivery of a job's progress to all of them: JOBS small `generateDocuments` jobs (DOCS
#      policies each), one after the other; for every subscriber and event, the receipt time
#      minus the event's `at` (when the server published it); p50/p99/max, and how many
#      subscribers received every event of every job.
#
#   bash bench/subscribers.sh                # build, seed, measure, report
#   SKIP_BUILD=1 BIN=/path/to/monassurance bash bench/subscribers.sh
#
# Settings (environment): BIN, SKIP_BUILD=1, BIN_PROFILE (how to describe a BIN outside
# target/{release,debug}), CARGO_TARGET_DIR ($HOME/.cache/ma-target), PG_BASE_URL
# (postgres://postgres@127.0.0.1:5432), BENCH_DB (ma_bench_subs), PORT (18900), SOCKETS (10000),
# STEPS (1000,5000,10000), USERS (5), AGENT_SOCKETS (20), SHARDS (4), JOBS (3), DOCS (1),
# CONNECT_PARALLEL (50), SETTLE_SECS (3), QUIET_SECS (60), SERVER_ENV (extra server variables,
# e.g. "REDIS_URL=redis://127.0.0.1:6379"), CLIENT (lean: bench/lean-ws.mjs, the default; ws: the npm
# package), SHARD_NODE_ARGS (node options of the client processes), KEEP_WORK=1 (keep the logs).
# See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
START_SECONDS=$SECONDS

PORT=${PORT:-18900}
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench_subs}
DB_URL=$PG_BASE_URL/$BENCH_DB
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
export SOCKETS=${SOCKETS:-10000}
export STEPS=${STEPS:-1000,5000,10000}
export USERS=${USERS:-5}
export AGENT_SOCKETS=${AGENT_SOCKETS:-20}
export SHARDS=${SHARDS:-4}
export JOBS=${JOBS:-3}
export DOCS=${DOCS:-1}
export CONNECT_PARALLEL=${CONNECT_PARALLEL:-50}
export SETTLE_SECS=${SETTLE_SECS:-3}
export QUIET_SECS=${QUIET_SECS:-60}
read -r -a SERVER_ENV_ARGS <<<"${SERVER_ENV:-}"
# Which event bus the server fans events out with.
case " ${SERVER_ENV:-} " in
  *" REDIS_URL="*) BUS="the Redis event bus (REDIS_URL)" ;;
  *) BUS="the in-process event bus" ;;
esac
# Every subscriber user holds its share of the sockets; the agent its own.
SUBSCRIBERS_PER_USER=$(((SOCKETS + USERS - 1) / USERS + AGENT_SOCKETS))
# Targets.
TARGET_RSS_MIB=300
TARGET_P99_MS=250

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/subscribers.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-bench-subs.XXXXXX)
export BENCH_WORK=$WORK
SERVER_PID=

stop() { # stop <pid>: ends one process this script started (and its render children), and reaps it
  local pid=$1 kids p
  [[ -n $pid ]] || return 0
  kids=
  for p in /proc/[0-9]*; do
    [[ $(awk '{ sub(/^.*\) /, ""); print $2 }' "$p/stat" 2>/dev/null) == "$pid" ]] && kids+=" ${p#/proc/}"
  done
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in $kids; do
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$SERVER_PID"
  if [[ $rc -ne 0 && -s $WORK/server.log ]]; then
    echo "--- last lines of the server's log:" >&2
    tail -n 20 "$WORK/server.log" >&2 || true
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "scratch directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for, port_free, cpu_busy
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# jget <file> <expression over `r`>: a value out of a JSON result file.
jget() {
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = eval(process.argv[2]); process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
say "File descriptors"
# The server holds every socket, and each client process its share: raise this shell's limit
# (inherited by both). The hard limit can only be raised by root.
NEED_FDS=$((SOCKETS + AGENT_SOCKETS + 1024))
if [[ $(ulimit -Hn) != unlimited && $(ulimit -Hn) -lt $NEED_FDS ]]; then
  ulimit -Hn "$NEED_FDS" 2>/dev/null || die "the hard limit on open files is $(ulimit -Hn), $NEED_FDS are needed (raise it, or run as root)"
fi
ulimit -n "$NEED_FDS"
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"

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
  # One cargo build at a time in the shared target directory.
  flock /tmp/ma-build.lock cargo build --release --bins
fi
[[ -x $BIN ]] || die "no server binary at $BIN"
case $BIN in
  */debug/*) PROFILE="debug build, NOT representative" ;;
  */release/*) PROFILE=release ;;
  *) PROFILE=${BIN_PROFILE:-"profile unknown: set BIN_PROFILE"} ;;
esac
BIN_DATE=$(date -r "$BIN" '+%Y-%m-%d %H:%M:%S')
echo "binary: $BIN ($PROFILE, built $BIN_DATE)"

say "Tools"
command -v node >/dev/null || die "node (>= 20) is needed"
[[ $(node -p 'process.versions.node.split(".")[0]') -ge 20 ]] || die "node >= 20 is needed, not $(node --version)"
if [[ ! -f $BENCH/node_modules/ws/package.json ]]; then
  (cd "$BENCH" && npm ci --no-audit --no-fund)
fi
WS_VERSION=$(node -p "require('$BENCH/node_modules/ws/package.json').version")
export CLIENT=${CLIENT:-lean}
case $CLIENT in
  lean) CLIENT_DESC="bench/lean-ws.mjs" ;;
  ws) CLIENT_DESC="\`ws\` $WS_VERSION" ;;
  *) die "CLIENT must be lean or ws, not $CLIENT" ;;
esac
echo "node $(node --version); ws $WS_VERSION; client: $CLIENT"
port_free "$PORT" || die "port $PORT is already in use"
# Each client process connects from its own loopback address (127.0.0.10, .11, ...; all of
# 127.0.0.0/8 is the loopback): one source address has ~28,000 ephemeral ports towards a server port.

# ---------------------------------------------------------------------------------------------
say "Database $BENCH_DB (fresh)"
PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

export MA_URL=http://127.0.0.1:$PORT
say "monassurance serve on $MA_URL (WORKERS=1, RENDER_WORKERS=1, MAX_SUBSCRIPTIONS_PER_USER=$SUBSCRIBERS_PER_USER)"
mkdir -p "$WORK/data"
(
  cd "$WORK"
  exec env -i PATH="$PATH" HOME="$HOME" NO_COLOR=1 \
    DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DATA_DIR="$WORK/data" \
    JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    RATE_LIMIT_RPM=0 WORKERS=1 RENDER_WORKERS=1 ACCESS_TOKEN_TTL_SECS=7200 \
    MAX_SUBSCRIPTIONS_PER_USER="$SUBSCRIBERS_PER_USER" RUST_LOG=warn "${SERVER_ENV_ARGS[@]}" "$BIN" serve
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for monassurance "$SERVER_PID" "$WORK/server.log" curl -fsS "$MA_URL/health"
export SERVER_PID
echo "up: pid $SERVER_PID; open files allowed: $(awk '/Max open files/ { print $4 }' "/proc/$SERVER_PID/limits")"

say "Seed: 1 organization, 1 company, 5 clients, 20 policies; $USERS users (1 ADMIN, $((USERS - 1)) MANAGERs) and 1 AGENT"
SEED_COMPANIES=1 SEED_CLIENTS=5 SEED_POLICIES=20 node "$BENCH/seed.mjs" "$MA_URL/graphql" >"$WORK/seed.json"
node "$BENCH/subscribers.mjs" setup >"$WORK/setup-result.json"
jget "$WORK/setup-result.json" r
echo

say "Machine state before the sockets"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_BEFORE=$(cpu_busy)
echo "load average $LOAD_BEFORE; CPU busy $BUSY_BEFORE% (2 s, server idle)"

say "$SOCKETS subscribers (+$AGENT_SOCKETS AGENT ones) over $SHARDS client processes; then $JOBS jobs of $DOCS document(s)"
node "$BENCH/subscribers.mjs" run >"$WORK/run.json"
R=$WORK/run.json
kill -0 "$SERVER_PID" 2>/dev/null || die "the server (pid $SERVER_PID) is gone"
LOG_WARN=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep -cE '^\S+\s+(WARN|ERROR)' || true)
LOG_SAMPLE=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep -E '^\S+\s+(WARN|ERROR)' | head -n 5 || true)
stop "$SERVER_PID"
SERVER_PID=

# ---------------------------------------------------------------------------------------------
yes_no() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "<") ? a < b : (op == "<=") ? a <= b : a >= b; print ok ? "yes" : "**no**" }'; }
RSS_FULL=$(jget "$R" 'r.memory.at(-1).server.rssMiB')
HWM_FULL=$(jget "$R" 'r.memory.at(-1).server.hwmMiB')
RSS_ZERO=$(jget "$R" 'r.memory[0].server.rssMiB')
HWM_AFTER=$(jget "$R" 'r.afterJobs.hwmMiB')
RSS_AFTER=$(jget "$R" 'r.afterJobs.rssMiB')
PER_SOCKET_KIB=$(awk -v a="$RSS_FULL" -v b="$RSS_ZERO" -v n="$SOCKETS" -v g="$AGENT_SOCKETS" 'BEGIN { printf "%.1f", (a - b) * 1024 / (n + g) }')
LAT_P50=$(jget "$R" r.latency.p50)
LAT_P99=$(jget "$R" r.latency.p99)
LAT_MAX=$(jget "$R" r.latency.max)
LAT_N=$(jget "$R" r.latency.n)
EVERY=$(jget "$R" r.subscribersWithEveryEvent)
EXPECTED=$(jget "$R" r.expectedEvents)
AGENT_EVENTS=$(jget "$R" r.agentEvents)
RSS_OK=$(yes_no "$HWM_AFTER" "<" "$TARGET_RSS_MIB")
P99_OK=$(yes_no "$LAT_P99" "<" "$TARGET_P99_MS")

WARNINGS=()
[[ $EVERY -eq $SOCKETS ]] || WARNINGS+=("only $EVERY of $SOCKETS subscribers received every event ($EXPECTED) of every job")
[[ $AGENT_EVENTS -eq 0 ]] || WARNINGS+=("the AGENT's subscribers received $AGENT_EVENTS events of jobs that are not theirs")
CLIENT_ERRORS=$(jget "$R" 'r.clients.reduce((a, c) => a + c.errors + c.closed, 0)')
[[ $CLIENT_ERRORS -eq 0 ]] || WARNINGS+=("$CLIENT_ERRORS socket errors or closes: $(jget "$R" 'r.clients.flatMap((c) => c.errorSamples).slice(0, 3)')")
[[ ${LOG_WARN:-0} -eq 0 ]] || WARNINGS+=("the server logged $LOG_WARN WARN/ERROR lines")
HEAD_TIME=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
[[ $(stat -c %Y "$BIN") -ge $HEAD_TIME ]] ||
  WARNINGS+=("the binary ($BIN_DATE) is older than the checked-out commit ($(date -d "@$HEAD_TIME" '+%Y-%m-%d %H:%M:%S')): it may not run this commit's code")
[[ $BUSY_BEFORE -lt 10 ]] || WARNINGS+=("other work kept the CPUs $BUSY_BEFORE% busy just before the run: figures are skewed")

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/subscribers-$STAMP.md
mkdir -p "$BENCH/results"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ELAPSED=$((SECONDS - START_SECONDS))

TABLE=$(
  echo "| measure | result | target | met |"
  echo "|---|---:|---:|:---:|"
  echo "| 1. server VmRSS / VmHWM with $SOCKETS subscribers (+$AGENT_SOCKETS) held | $RSS_FULL / $HWM_FULL MiB | | |"
  echo "| 1. server VmHWM after the jobs (the run's peak) | $HWM_AFTER MiB | < $TARGET_RSS_MIB MiB | $RSS_OK |"
  echo "| 1. memory per socket ((VmRSS at $SOCKETS − at 0) / sockets) | $PER_SOCKET_KIB KiB | | |"
  echo "| 2. delivery, every event of $JOBS jobs to every subscriber: count, p50 / p99 / max | $LAT_N; $LAT_P50 / $LAT_P99 / $LAT_MAX ms | p99 < $TARGET_P99_MS ms | $P99_OK |"
  echo "| 2. subscribers that received every event ($EXPECTED a job) of every job | $EVERY / $SOCKETS | $SOCKETS | $([[ $EVERY -eq $SOCKETS ]] && echo yes || echo '**no**') |"
  echo "| 2. events of those jobs received by the AGENT's $AGENT_SOCKETS subscribers (not their jobs) | $AGENT_EVENTS | 0 | $([[ $AGENT_EVENTS -eq 0 ]] && echo yes || echo '**no**') |"
)

MEM_TABLE=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const m = r.memory;
  console.log("| subscribers held | opened in | /metrics: ws_connections, subscriptions | VmRSS | VmHWM | threads | per socket since 0 | per socket since the step before |");
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|");
  m.forEach((row, i) => {
    const held = row.sockets ? row.sockets + row.agentSockets : 0;
    const per = (a, b, n) => (n > 0 ? ((a.server.rssMiB - b.server.rssMiB) * 1024 / n).toFixed(1) + " KiB" : "");
    const prevHeld = i > 0 ? (m[i - 1].sockets ? m[i - 1].sockets + m[i - 1].agentSockets : 0) : 0;
    console.log(`| ${held} | ${row.openMs != null ? row.openMs + " ms" : ""} | ${row.wsConnections}, ${row.subscriptionsActive} | ${row.server.rssMiB} MiB | ${row.server.hwmMiB} MiB | ${row.server.threads} | ${per(row, m[0], held)} | ${i > 0 ? per(row, m[i - 1], held - prevHeld) : ""} |`);
  });' "$R")

JOB_TABLE=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log("| job | mutation | sent → last subscriber saw the end | latency p50 / p90 / p99 / max (ms) | first event p50 / p99 | every event / fewer / more | machine busy | server CPU | clients CPU |");
  console.log("|---:|---:|---:|---|---|---|---:|---:|---:|");
  r.jobs.forEach((j, i) => console.log(`| ${i + 1} | ${j.mutationMs} ms | ${j.sentToAllEndedMs} ms | ${j.latency.p50} / ${j.latency.p90} / ${j.latency.p99} / ${j.latency.max} | ${j.firstEventLatency.p50} / ${j.firstEventLatency.p99} | ${j.subscribersWithEveryEvent} / ${j.subscribersWithFewer} / ${j.subscribersWithMore} | ${j.cpu.machineBusyPercent}% | ${j.cpu.serverPercentOfOneCore}% | ${j.cpu.shardsPercentOfOneCore}% |`));' "$R")

{
  echo "# Subscribers benchmark — $STAMP"
  echo
  echo "One \`monassurance serve\` (WORKERS=1, RENDER_WORKERS=1, RATE_LIMIT_RPM=0, MAX_SUBSCRIPTIONS_PER_USER=$SUBSCRIBERS_PER_USER,"
  echo "RUST_LOG=warn${SERVER_ENV:+, $SERVER_ENV}) on PostgreSQL $PG_VERSION (database \`$BENCH_DB\`), $BUS."
  echo "$SOCKETS \`jobEvents\` subscribers, each on its own graphql-transport-ws WebSocket, signed in as one of"
  echo "$USERS users of one organization (1 ADMIN, $((USERS - 1)) MANAGERs, in turn), and $AGENT_SOCKETS more signed in as an AGENT;"
  echo "$SHARDS client processes (node, $CLIENT_DESC), each from its own loopback address. Subscription:"
  echo "\`subscription { jobEvents { at status done failed total message job { id } } }\`. Then $JOBS"
  echo "\`generateDocuments\` jobs of $DOCS document(s) started by the ADMIN, one after the other (after a warm-up job"
  echo "every subscriber had to see end); each job publishes $EXPECTED events (queued, one per item, the final state)."
  echo
  echo "$TABLE"
  echo
  if [[ ${#WARNINGS[@]} -gt 0 ]]; then
    for w in "${WARNINGS[@]}"; do echo "- **WARNING**: $w"; done
    echo
  fi
  echo "## Memory"
  echo
  echo "$MEM_TABLE"
  echo
  echo "After the jobs: VmRSS $RSS_AFTER MiB, VmHWM $HWM_AFTER MiB. Client processes: $(jget "$R" 'r.clients.map((c) => `${c.sockets} sockets, ${c.mem.rssMiB} MiB`).join("; ")')."
  echo
  echo "## Delivery"
  echo
  echo "$JOB_TABLE"
  echo
  echo "- Latency, ms, every event of the $JOBS jobs to every subscriber: $(jget "$R" r.latency)."
  echo "- Warm-up job (not measured): every subscriber saw it end $(jget "$R" r.warmup.sentToAllEndedMs) ms after the mutation was sent; CPU $(jget "$R" r.warmup.cpu)."
  echo "- How the latency is taken: \`at\` is \`Utc::now()\` when the server publishes the event (after the change"
  echo "  committed); receipt is \`performance.timeOrigin + performance.now()\` in the client process when the"
  echo "  message arrives, the same machine's clock. It includes the clients' own queueing: a client process"
  echo "  handles its $((SOCKETS / SHARDS)) messages of an event one after the other."
  echo
  echo "## Logs (WARN and above)"
  echo
  echo "- server: ${LOG_WARN:-0} WARN/ERROR lines"
  if [[ -n $LOG_SAMPLE ]]; then
    while IFS= read -r l; do echo "  - \`${l:0:300}\`"; done <<<"$LOG_SAMPLE"
  fi
  echo
  echo "## Machine"
  echo
  echo "- commit: $GIT_REV; binary: \`$BIN\` ($PROFILE, built $BIN_DATE)"
  echo "- $(nproc) cores, $CPU; PostgreSQL $PG_VERSION, node $(node --version), the server and the clients on the same cores"
  echo "- before the sockets: load average $LOAD_BEFORE; CPU busy $BUSY_BEFORE% (2 s sample, server idle)"
  echo "- the whole script took ${ELAPSED} s"
} >"$REPORT"

say "Report"
cat "$REPORT"
echo
echo "script took ${ELAPSED} s; report: ${REPORT#"$ROOT"/}"
