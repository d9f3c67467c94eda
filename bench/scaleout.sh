#!/usr/bin/env bash
# The scale-out benchmark: two API replicas (`serve`, WORKERS=0) and two `monassurance worker`
# processes over one PostgreSQL and one Redis, the release build. Measures
#   1. documents/s of one 5,000-document `generateDocuments` job: the policies are created
#      through replica B (batched `createPolicy`, 50 a request), the mutation is sent through B,
#      and the clock stops when a subscriber on replica A (`jobProgress`, graphql-transport-ws)
#      receives SUCCEEDED;
#   2. the delivery latency of progress: for every `next` event the subscriber on A receives,
#      Date.now() at receipt minus the event's `job { updatedAt }` (written by the worker in the
#      transaction that records the item); count, p50, p95, p99, max; and the events received
#      against the job's total.
#
#   bash bench/scaleout.sh                   # build, seed, measure, report
#   SKIP_BUILD=1 BIN=/path/to/monassurance bash bench/scaleout.sh
#
# Settings (environment): BIN, SKIP_BUILD=1, BIN_PROFILE (how to describe a BIN outside
# target/{release,debug}), CARGO_TARGET_DIR ($HOME/.cache/ma-target), PG_BASE_URL
# (postgres://postgres@127.0.0.1:5432), BENCH_DB (ma_bench_scale), REDIS_URL
# (redis://127.0.0.1:6379), PORT_A (18800), PORT_B (18801), DOCUMENTS (5000), RENDER_WORKERS (2),
# WARMUP_DOCS (50), SEED_PARALLEL (2), QUIET_SECS (60), KEEP_WORK=1 (keep the logs). See
# bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
START_SECONDS=$SECONDS

PORT_A=${PORT_A:-18800}
PORT_B=${PORT_B:-18801}
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench_scale}
DB_URL=$PG_BASE_URL/$BENCH_DB
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
RENDER_WORKERS=${RENDER_WORKERS:-2}
export DOCUMENTS=${DOCUMENTS:-5000}
export WARMUP_DOCS=${WARMUP_DOCS:-50}
export SEED_PARALLEL=${SEED_PARALLEL:-2}
export QUIET_SECS=${QUIET_SECS:-60}
export BATCH=50
MAX_BATCH=50
# Targets.
TARGET_P99_MS=50

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/scaleout.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-bench-scale.XXXXXX)
export BENCH_WORK=$WORK
# Every key and channel of this run starts with this: nothing else in the Redis is touched.
REDIS_KEY_PREFIX="bench:$(date +%s):"
# name -> pid of every process this script started, in start order.
declare -A PIDS=()
NAMES=()

children_of() { # the pids whose parent is $1 (render children)
  local p
  for p in /proc/[0-9]*; do
    [[ $(awk '{ sub(/^.*\) /, ""); print $2 }' "$p/stat" 2>/dev/null) == "$1" ]] && echo "${p#/proc/}"
  done
  return 0
}

stop() { # stop <pid>: ends one process this script started (and its render children), and reaps it
  local pid=$1 kids k
  [[ -n $pid ]] || return 0
  kids=$(children_of "$pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Render children end when their parent's pipe closes; make sure of it, by their pids.
  for k in $kids; do
    for _ in $(seq 20); do kill -0 "$k" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$k" 2>/dev/null || true
  done
}
stop_all() {
  local i
  for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do
    stop "${PIDS[${NAMES[$i]}]}"
    unset "PIDS[${NAMES[$i]}]"
  done
  NAMES=()
}
redis_cleanup() { # deletes this run's keys (sessions, throttles): only those under REDIS_KEY_PREFIX
  command -v redis-cli >/dev/null || return 0
  redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null |
    xargs -r -n 100 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  redis_cleanup
  if [[ $rc -ne 0 ]]; then
    for f in "$WORK"/*.log; do
      [[ -s $f ]] || continue
      echo "--- last lines of $(basename "$f"):" >&2
      tail -n 15 "$f" >&2 || true
    done
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

# start <name> <subcommand> [VAR=value...]: one process of the cluster, with the settings they all
# share, a cleared environment, from the scratch directory (no .env of the checkout is read).
start() {
  local name=$1 sub=$2
  shift 2
  (
    cd "$WORK"
    exec env -i PATH="$PATH" HOME="$HOME" NO_COLOR=1 \
      DATABASE_URL="$DB_URL" REDIS_URL="$REDIS_URL" REDIS_KEY_PREFIX="$REDIS_KEY_PREFIX" \
      DATA_DIR="$WORK/data" JWT_SECRET="$JWT_SECRET" URL_SIGNING_KEYS="$URL_SIGNING_KEYS" \
      RATE_LIMIT_RPM=0 MAX_BATCH=$MAX_BATCH ACCESS_TOKEN_TTL_SECS=7200 RENDER_WORKERS="$RENDER_WORKERS" \
      RUST_LOG=warn "$@" "$BIN" "$sub"
  ) >"$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
  NAMES+=("$name")
}

# ---------------------------------------------------------------------------------------------
say "PostgreSQL and Redis"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
  pg_isready -h 127.0.0.1 -p 5432 -q || die "PostgreSQL does not answer on 127.0.0.1:5432"
fi
PG_VERSION=$(psql "$PG_BASE_URL/postgres" -Atc 'show server_version')
echo "PostgreSQL $PG_VERSION"
command -v redis-cli >/dev/null || die "redis-cli is needed (apt install redis-tools)"
[[ $(redis-cli -u "$REDIS_URL" ping 2>/dev/null) == PONG ]] || die "Redis does not answer at $REDIS_URL"
REDIS_VERSION=$(redis-cli -u "$REDIS_URL" info server | awk -F: '/^redis_version/ { print $2 }' | tr -d '\r')
echo "Redis $REDIS_VERSION at $REDIS_URL; key prefix $REDIS_KEY_PREFIX"

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
echo "node $(node --version); ws $WS_VERSION"
port_free "$PORT_A" || die "port $PORT_A is already in use"
port_free "$PORT_B" || die "port $PORT_B is already in use"

JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
URL_SIGNING_KEYS="k1:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$WORK/data"

# ---------------------------------------------------------------------------------------------
say "Database $BENCH_DB (fresh)"
PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

say "Replicas A (127.0.0.1:$PORT_A) and B (127.0.0.1:$PORT_B): serve, WORKERS=0"
export A_URL=http://127.0.0.1:$PORT_A B_URL=http://127.0.0.1:$PORT_B
# Both at once: the migrations' advisory lock keeps them from racing.
start replica-a serve WORKERS=0 BIND_ADDR="127.0.0.1:$PORT_A"
start replica-b serve WORKERS=0 BIND_ADDR="127.0.0.1:$PORT_B"
wait_for "replica A" "${PIDS[replica-a]}" "$WORK/replica-a.log" curl -fsS "$A_URL/health/ready"
wait_for "replica B" "${PIDS[replica-b]}" "$WORK/replica-b.log" curl -fsS "$B_URL/health/ready"
for r in a b; do
  ready=$(curl -fsS "http://127.0.0.1:$([[ $r == a ]] && echo "$PORT_A" || echo "$PORT_B")/health/ready")
  [[ $ready == *'"redis":true'* ]] || die "replica ${r^^} does not see Redis: $ready"
done
echo "up: A pid ${PIDS[replica-a]}, B pid ${PIDS[replica-b]}"

say "Workers 1 and 2: monassurance worker, WORKERS=1 RENDER_WORKERS=$RENDER_WORKERS"
# `worker started` is logged at INFO by the job worker module; the rest of the log stays at WARN.
for n in 1 2; do
  start "worker-$n" worker WORKERS=1 RUST_LOG=warn,monassurance::jobs::worker=info
done
for n in 1 2; do
  wait_for "worker $n" "${PIDS[worker-$n]}" "$WORK/worker-$n.log" grep -q 'worker started' "$WORK/worker-$n.log"
done
echo "up: worker 1 pid ${PIDS[worker-1]}, worker 2 pid ${PIDS[worker-2]}"

say "Seed through replica B: 1 organization, 1 company, 20 clients, $DOCUMENTS policies (batches of $BATCH)"
node "$BENCH/scaleout.mjs" setup >"$WORK/setup-result.json"
jget "$WORK/setup-result.json" r
echo
[[ $(jget "$WORK/setup-result.json" r.policies) -eq $DOCUMENTS ]] || die "setup did not make $DOCUMENTS policies"
psql "$DB_URL" -q -c 'VACUUM ANALYZE'

say "Machine state before the job"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_BEFORE=$(cpu_busy)
echo "load average $LOAD_BEFORE; CPU busy $BUSY_BEFORE% (2 s, cluster idle)"

say "generateDocuments over $DOCUMENTS policies: sent through B, followed on A (after a $WARMUP_DOCS-document warm-up job)"
PIDS_ENV=
for n in replica-a replica-b worker-1 worker-2; do PIDS_ENV+="$n:${PIDS[$n]},"; done
CLUSTER_PIDS=$PIDS_ENV node "$BENCH/scaleout.mjs" job >"$WORK/job.json"
jget "$WORK/job.json" r
echo
J=$WORK/job.json
JOB_UUID=$(psql "$DB_URL" -Atc "select id from jobs where total = $DOCUMENTS order by created_at desc limit 1")
read -r DB_DOCS DB_ITEMS < <(psql "$DB_URL" -At -F' ' -c \
  "select count(*), count(distinct d.job_item_id) from documents d join job_items i on i.id = d.job_item_id where i.job_id = '$JOB_UUID'")
echo "documents rows for the job: $DB_DOCS (distinct items: $DB_ITEMS)"
# How the job was worked: claims (one per slice of 25 items; a job has one lease, so one worker
# at a time), and the pace of documents (their created_at, by item order) inside a slice and at a
# slice's first item (a hand-over: give back, wake-up, claim, load).
JOB_CLAIMS=$(psql "$DB_URL" -Atc "select attempts from jobs where id = '$JOB_UUID'")
PACE=$(psql "$DB_URL" -At -F' ' <<SQL
with d as (
  select i.seq, extract(epoch from d.created_at - lag(d.created_at) over (order by i.seq)) * 1000 as gap
  from documents d join job_items i on i.id = d.job_item_id where i.job_id = '$JOB_UUID')
select coalesce(string_agg(x, '; '), 'n/a') from (
  select case when seq % 25 = 0 then 'at a slice''s first item' else 'inside a slice' end || ': ' || count(*)
         || ' gaps, p50 ' || round((percentile_cont(0.5) within group (order by gap))::numeric, 1)
         || ' ms, p99 ' || round((percentile_cont(0.99) within group (order by gap))::numeric, 1)
         || ' ms, max ' || round(max(gap)::numeric, 1) || ' ms, sum ' || round(sum(gap)::numeric) || ' ms' as x
  from d where gap is not null group by seq % 25 = 0 order by seq % 25 = 0) s;
SQL
)
echo "claims: $JOB_CLAIMS; pace of documents: $PACE"

# Every process must still be up (none crashed during the run).
for n in "${NAMES[@]}"; do
  kill -0 "${PIDS[$n]}" 2>/dev/null || die "$n (pid ${PIDS[$n]}) is gone"
done

# What the processes logged at WARN and above, before they are stopped (their logs go with $WORK).
LOG_LINES=()
for n in "${NAMES[@]}"; do
  f=$WORK/$n.log
  c=$(sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -cE '^\S+\s+(WARN|ERROR)' || true)
  LOG_LINES+=("$n: $c WARN/ERROR lines")
  if [[ $c -gt 0 ]]; then
    while IFS= read -r l; do LOG_LINES+=("  $n: ${l:0:300}"); done < <(sed 's/\x1b\[[0-9;]*m//g' "$f" | grep -E '^\S+\s+(WARN|ERROR)' | head -n 5)
  fi
done
stop_all

# ---------------------------------------------------------------------------------------------
yes_no() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "<") ? a < b : (op == "<=") ? a <= b : a >= b; print ok ? "yes" : "**no**" }'; }
STATUS=$(jget "$J" r.status)
DONE=$(jget "$J" r.done)
FAILED=$(jget "$J" r.failed)
DPS=$(jget "$J" r.docsPerSecond)
E2E=$(jget "$J" r.endToEndMs)
LAT_N=$(jget "$J" r.latency.n)
LAT_P50=$(jget "$J" r.latency.p50)
LAT_P95=$(jget "$J" r.latency.p95)
LAT_P99=$(jget "$J" r.latency.p99)
LAT_MAX=$(jget "$J" r.latency.max)
P99_OK=$(yes_no "$LAT_P99" "<" "$TARGET_P99_MS")
RECEIVED=$(jget "$J" r.events.received)
EXPECTED=$(jget "$J" r.events.expected)
MISSING=$(jget "$J" r.events.doneValuesMissing)

WARNINGS=()
[[ $STATUS == SUCCEEDED && $DONE -eq $DOCUMENTS && $FAILED -eq 0 ]] ||
  WARNINGS+=("the job: status $STATUS, done $DONE, failed $FAILED (expected SUCCEEDED, $DOCUMENTS, 0)")
[[ $DB_DOCS -eq $DOCUMENTS && $DB_ITEMS -eq $DOCUMENTS ]] ||
  WARNINGS+=("$DB_DOCS document rows for $DB_ITEMS items (expected exactly one per item, $DOCUMENTS)")
[[ $MISSING -eq 0 ]] || WARNINGS+=("the subscriber never saw $MISSING of the $DOCUMENTS progress values (coalesced or lost events)")
[[ $(jget "$J" r.events.backwards) -eq 0 ]] || WARNINGS+=("progress went backwards $(jget "$J" r.events.backwards) times")
HEAD_TIME=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
[[ $(stat -c %Y "$BIN") -ge $HEAD_TIME ]] ||
  WARNINGS+=("the binary ($BIN_DATE) is older than the checked-out commit ($(date -d "@$HEAD_TIME" '+%Y-%m-%d %H:%M:%S')): it may not run this commit's code")
[[ $BUSY_BEFORE -lt 10 ]] || WARNINGS+=("other work kept the CPUs $BUSY_BEFORE% busy just before the job: figures are skewed")

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/scaleout-$STAMP.md
mkdir -p "$BENCH/results"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ELAPSED=$((SECONDS - START_SECONDS))

TABLE=$(
  echo "| measure | result | target | met |"
  echo "|---|---:|---:|:---:|"
  echo "| 1. \`generateDocuments\`, $DOCUMENTS policies: mutation sent through B → SUCCEEDED received on A | $DPS documents/s ($E2E ms) | | |"
  echo "| 1. the job's done / failed; document rows (distinct items) | $DONE / $FAILED; $DB_DOCS ($DB_ITEMS) | $DOCUMENTS / 0; $DOCUMENTS | $([[ $STATUS == SUCCEEDED && $DONE -eq $DOCUMENTS && $FAILED -eq 0 && $DB_DOCS -eq $DOCUMENTS && $DB_ITEMS -eq $DOCUMENTS ]] && echo yes || echo '**no**') |"
  echo "| 2. progress delivery on A (receipt − \`job.updatedAt\`), every \`next\` event: count, p50 / p95 / p99 / max | $LAT_N; $LAT_P50 / $LAT_P95 / $LAT_P99 / $LAT_MAX ms | p99 < $TARGET_P99_MS ms | $P99_OK |"
  echo "| 2. events received / the job's total + first + last; progress values never seen | $RECEIVED / $EXPECTED; $MISSING | ≈ $EXPECTED; 0 | $([[ $MISSING -eq 0 ]] && echo yes || echo '**no**') |"
)

CPU_LINES=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [k, v] of Object.entries(r.cpu.percentOfOneCore)) console.log(`${k} ${v}%`);' "$J" | paste -sd ';' | sed 's/;/; /g')

{
  echo "# Scale-out benchmark — $STAMP"
  echo
  echo "Two API replicas (\`serve\`, WORKERS=0; A on :$PORT_A, B on :$PORT_B) and two \`monassurance worker\`"
  echo "processes (WORKERS=1 each, RENDER_WORKERS=$RENDER_WORKERS) over PostgreSQL $PG_VERSION (database \`$BENCH_DB\`)"
  echo "and Redis $REDIS_VERSION (key prefix \`$REDIS_KEY_PREFIX\`); RATE_LIMIT_RPM=0 MAX_BATCH=$MAX_BATCH ACCESS_TOKEN_TTL_SECS=7200"
  echo "RUST_LOG=warn, one JWT_SECRET, URL_SIGNING_KEYS and DATA_DIR for all. One organization, one company, 20 clients,"
  echo "$DOCUMENTS policies created through B; a one-page Typst certificate printing the policy number."
  echo
  echo "$TABLE"
  echo
  if [[ ${#WARNINGS[@]} -gt 0 ]]; then
    for w in "${WARNINGS[@]}"; do echo "- **WARNING**: $w"; done
    echo
  fi
  echo "## Details"
  echo
  echo "- **Seeding** through B: $(jget "$WORK/setup-result.json" r.policies) policies in batched requests of $BATCH" \
    "($SEED_PARALLEL in flight) in $(jget "$WORK/setup-result.json" r.policiesMs) ms" \
    "($(jget "$WORK/setup-result.json" r.policiesPerSecond) policies/s); setup in all $(jget "$WORK/setup-result.json" r.totalMs) ms."
  echo "- **Warm-up** (not measured): $(jget "$J" r.warmup)."
  echo "- **The job**: the subscriber's WebSocket to A was open and acknowledged before the clock started;" \
    "mutation answered by B in $(jget "$J" r.mutationMs) ms; SUCCEEDED received on A after $E2E ms; \`complete\`" \
    "$(jget "$J" r.completeAfterEndMs) ms later. Server timestamps: mutation sent → createdAt $(jget "$J" r.server.mutationSentToCreatedMs) ms," \
    "created → started $(jget "$J" r.server.createdToStartedMs) ms, started → finished $(jget "$J" r.server.startedToFinishedMs) ms," \
    "finishedAt → SUCCEEDED received on A $(jget "$J" r.server.finishedToReceivedMs) ms."
  echo "- **Events** on A: $RECEIVED received (by status: $(jget "$J" r.events.byStatus)); expected about" \
    "$EXPECTED (the state at subscription, one per item, the final state); the first one (the state when" \
    "subscribing): $(jget "$J" r.events.first); progress values 1…$DOCUMENTS never seen: $MISSING; backwards: $(jget "$J" r.events.backwards)."
  echo "- **Latency**, ms, every \`next\` event: $(jget "$J" r.latency); without the first (a snapshot read at" \
    "subscription, not a delivery): $(jget "$J" r.latencyAfterFirst)."
  echo "- Latency by tenth of the run (p50 / p99 / max, ms): $(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      process.stdout.write(r.latencyByTenth.map((t) => `${t.p50}/${t.p99}/${t.max}`).join(", "));' "$J")."
  echo "- The five slowest deliveries: $(jget "$J" r.slowest)."
  echo "- **Work**: the job was claimed $JOB_CLAIMS times (a claim per slice of 25 items; one lease per job," \
    "so one worker at a time works it). Time between consecutive documents (\`created_at\`, by item order): $PACE."
  echo "- **CPU** during the job (wall time $E2E ms): machine $(jget "$J" r.cpu.machineBusyPercent)% busy; % of one core: $CPU_LINES."
  echo "- How the latency is taken: \`job.updatedAt\` is \`Utc::now()\` in the worker, set in the UPDATE of" \
    "the job's counters inside the item's transaction, so it precedes the commit by that statement and the" \
    "COMMIT; receipt is \`Date.now()\` in the subscriber's process, the same machine's clock. The path:" \
    "commit → the worker re-reads the row → PUBLISH on Redis → replica A's pattern subscription → its" \
    "in-process bus → the subscription stream → the WebSocket frame."
  echo
  echo "## Logs (WARN and above)"
  echo
  for l in "${LOG_LINES[@]}"; do echo "- \`$l\`"; done
  echo
  echo "## Machine"
  echo
  echo "- commit: $GIT_REV; binary: \`$BIN\` ($PROFILE, built $BIN_DATE)"
  echo "- $(nproc) cores, $CPU; PostgreSQL $PG_VERSION, Redis $REDIS_VERSION, node $(node --version) (ws $WS_VERSION)" \
    "and the four processes on the same cores"
  echo "- before the job: load average $LOAD_BEFORE; CPU busy $BUSY_BEFORE% (2 s sample, cluster idle)"
  echo "- the whole script took ${ELAPSED} s"
} >"$REPORT"

say "Report"
cat "$REPORT"
echo
echo "script took ${ELAPSED} s; report: ${REPORT#"$ROOT"/}"
