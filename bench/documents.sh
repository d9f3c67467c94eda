#!/usr/bin/env bash
# The documents benchmark, against the release build on PostgreSQL:
#   1. `previewTemplate` latency of a one-page Typst certificate (PDF + PNG pages);
#   2. ms per certificate render: a `render-worker` child driven directly (median), and the
#      mean item time of the job below from /metrics (`job_item_seconds`);
#   3. documents/s of one 1,000-policy `generateDocuments` job, end to end as a client sees it;
#   4. a 100,000-row XLSX `generateReport` (policies seeded with SQL): time, size, and the
#      server's peak RSS (VmHWM) in a freshly started server.
#
#   bash bench/documents.sh                   # build, seed, measure, report
#   SKIP_BUILD=1 BIN=/path/to/monassurance bash bench/documents.sh
#
# Settings (environment): BIN, SKIP_BUILD=1, CARGO_TARGET_DIR ($HOME/.cache/ma-target),
# PG_BASE_URL (postgres://postgres@127.0.0.1:5432), BENCH_DB (ma_bench_docs; the report part
# uses ${BENCH_DB}_xlsx), PORT (18700; the report's server PORT+1), WORKERS (2), RENDER_WORKERS (2),
# DB_PARAMS (appended to the servers' DATABASE_URL, e.g. "?sslmode=disable"),
# POLICIES (1000), REPORT_ROWS (100000), PREVIEWS (200), PREVIEW_WARMUP (20), DIRECT_RENDERS
# (= POLICIES), DIRECT_WARMUP (20), POLL_MS (50), BIN_PROFILE (how to describe a BIN outside
# target/{release,debug}, e.g. "release, copied"). See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
START_SECONDS=$SECONDS

PORT=${PORT:-18700}
XLSX_PORT=$((PORT + 1))
PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_DB=${BENCH_DB:-ma_bench_docs}
XLSX_DB=${BENCH_DB}_xlsx
DB_URL=$PG_BASE_URL/$BENCH_DB
XLSX_DB_URL=$PG_BASE_URL/$XLSX_DB
# Appended to the servers' DATABASE_URL only, e.g. "?sslmode=disable" (sqlx's default is
# sslmode=prefer: TLS whenever PostgreSQL offers it).
DB_PARAMS=${DB_PARAMS:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=${BIN:-$CARGO_TARGET_DIR/release/monassurance}
WORKERS=${WORKERS:-2}
RENDER_WORKERS=${RENDER_WORKERS:-2}
POLICIES=${POLICIES:-1000}
REPORT_ROWS=${REPORT_ROWS:-100000}
export PREVIEWS=${PREVIEWS:-200}
export PREVIEW_WARMUP=${PREVIEW_WARMUP:-20}
export DIRECT_RENDERS=${DIRECT_RENDERS:-$POLICIES}
export DIRECT_WARMUP=${DIRECT_WARMUP:-20}
export POLL_MS=${POLL_MS:-50}
# Targets.
TARGET_PREVIEW_MS=100
TARGET_RENDER_MS=8
TARGET_DOCS_PER_S=200
TARGET_REPORT_MS=1000
TARGET_REPORT_MB=50

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/documents.sh: %s\n' "$*" >&2; exit 1; }
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

WORK=$(mktemp -d -t ma-bench-docs.XXXXXX)
export BENCH_WORK=$WORK
SERVER_PID=

stop() { # stop <pid>: ends one process this script started (its render children follow), and reaps it
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$SERVER_PID"
  if [[ $rc -ne 0 && -f $WORK/server.log ]]; then
    echo "--- last lines of the server's log:" >&2
    tail -n 30 "$WORK/server.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for, port_free, cpu_busy
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# machine_state <part>: the load average and CPU busy share just before a part, for the report;
# when the CPUs were busy, the three busiest processes over the same 2 s (top's second sample).
declare -A LOAD BUSY BUSIEST
machine_state() {
  LOAD[$1]=$(cut -d' ' -f1-3 /proc/loadavg)
  top -b -n 2 -d 2 -w 200 >"$WORK/top.txt" 2>/dev/null &
  local top_pid=$!
  BUSY[$1]=$(cpu_busy)
  wait "$top_pid" || true
  BUSIEST[$1]=
  if [[ ${BUSY[$1]} -ge 10 ]]; then
    BUSIEST[$1]=$(awk '/^top -/ { n++ } n == 2 && /^ *PID / { on = 1; next }
      n == 2 && on && $9 + 0 > 0 && k < 3 { printf "%s%s (pid %s) %s%%", (k++ ? ", " : ""), $12, $1, $9 }' "$WORK/top.txt")
  fi
  echo "before $1: load average ${LOAD[$1]}; CPU busy ${BUSY[$1]}% (2 s)${BUSIEST[$1]:+; busiest: ${BUSIEST[$1]}}"
}

# jget <file> <expression over `r`>: a value out of a JSON result file.
jget() {
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = eval(process.argv[2]); process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

# start_server <port> <db url> <data dir>: starts `monassurance serve`; sets SERVER_PID.
start_server() {
  local port=$1 db=$2 data=$3
  mkdir -p "$data"
  # Run from the scratch directory so that no .env file of the checkout is picked up.
  (
    cd "$WORK"
    exec env DATABASE_URL="$db$DB_PARAMS" BIND_ADDR="127.0.0.1:$port" RATE_LIMIT_RPM=0 WORKERS="$WORKERS" \
      RENDER_WORKERS="$RENDER_WORKERS" DATA_DIR="$data" RUST_LOG=warn ACCESS_TOKEN_TTL_SECS=86400 \
      JWT_SECRET="$JWT_SECRET" "$BIN" serve
  ) >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for monassurance "$SERVER_PID" "$WORK/server.log" curl -fsS "http://127.0.0.1:$port/health"
  echo "up on 127.0.0.1:$port (pid $SERVER_PID; WORKERS=$WORKERS RENDER_WORKERS=$RENDER_WORKERS)"
}

fresh_db() {
  PGOPTIONS='--client-min-messages=warning' psql "$PG_BASE_URL/postgres" -v ON_ERROR_STOP=1 -q \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

seed() { # seed <graphql url> <policies>: one organization, 5 companies, 200 clients; prints the token
  local json
  json=$(SEED_POLICIES=$2 node "$BENCH/seed.mjs" "$1")
  node -e 'process.stdout.write(JSON.parse(process.argv[1]).accessToken)' "$json"
}

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
export BIN

command -v node >/dev/null || die "node (>= 20) is needed"
command -v unzip >/dev/null || die "unzip is needed (to count the workbook's rows)"
port_free "$PORT" || die "port $PORT is already in use"
port_free "$XLSX_PORT" || die "port $XLSX_PORT is already in use"
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# ---------------------------------------------------------------------------------------------
say "Database $BENCH_DB (fresh); server A"
fresh_db "$BENCH_DB"
start_server "$PORT" "$DB_URL" "$WORK/data-a"
export BENCH_URL=http://127.0.0.1:$PORT
say "Seed through the API: 1 organization, 5 companies, 200 clients, $POLICIES policies"
BENCH_TOKEN=$(seed "$BENCH_URL/graphql" "$POLICIES")
export BENCH_TOKEN
BENCH_ORG_UUID=$(psql "$DB_URL" -Atc 'select id from organizations limit 1')
export BENCH_ORG_UUID
psql "$DB_URL" -q -c 'VACUUM ANALYZE'
node "$BENCH/documents.mjs" setup >"$WORK/setup.json"
TEMPLATE_ID=$(jget "$WORK/setup.json" r.templateId)
[[ $(jget "$WORK/setup.json" r.policies) -eq $POLICIES ]] || die "setup did not read $POLICIES policies"
echo "certificate template $TEMPLATE_ID (bench/certificate.typ)"

say "1. previewTemplate: $PREVIEW_WARMUP warm-up calls, then $PREVIEWS sequential calls"
machine_state preview
node "$BENCH/documents.mjs" preview >"$WORK/preview.json"
jget "$WORK/preview.json" r
echo

say "2. Certificate renders by a render-worker child, directly: $DIRECT_WARMUP warm-up, $DIRECT_RENDERS measured"
machine_state direct
node "$BENCH/documents.mjs" direct >"$WORK/direct.json"
jget "$WORK/direct.json" r
echo

say "3. generateDocuments over $POLICIES policies (after a 25-document warm-up job)"
machine_state job
TEMPLATE_ID=$TEMPLATE_ID SERVER_PID=$SERVER_PID node "$BENCH/documents.mjs" job >"$WORK/job.json"
jget "$WORK/job.json" r
echo
# Does the server reach PostgreSQL over TLS (sqlx's default, sslmode=prefer)?
DB_TLS=$(psql "$DB_URL" -Atc "select coalesce(string_agg(distinct case when s.ssl then 'TLS' else 'plain TCP' end, ', '), 'unknown')
  from pg_stat_activity a join pg_stat_ssl s using (pid) where a.datname = current_database() and a.pid <> pg_backend_pid()")
echo "the server's database connections: $DB_TLS"
stop "$SERVER_PID"
SERVER_PID=

# ---------------------------------------------------------------------------------------------
say "4. Database $XLSX_DB (fresh): $REPORT_ROWS policies inserted with SQL"
fresh_db "$XLSX_DB"
start_server "$XLSX_PORT" "$XLSX_DB_URL" "$WORK/data-b"
export BENCH_URL=http://127.0.0.1:$XLSX_PORT
BENCH_TOKEN=$(seed "$BENCH_URL/graphql" 0)
export BENCH_TOKEN
SEED_START=$SECONDS
# Every policy in the benchmark's organization, with its clients, companies and admin; unique
# numbers (TYPE-2026-NNNNNN); the columns of migration/src/m20261122_000007_create_policies.rs.
psql "$XLSX_DB_URL" -v ON_ERROR_STOP=1 -q <<SQL
INSERT INTO policies (id, organization_id, number, client_id, company_id, product_name, product_type, status,
                      premium_minor, currency, effective_date, expiry_date, coverage, created_by, created_at, updated_at)
SELECT gen_random_uuid(), o.id,
       t.type || '-2026-' || lpad(g::text, 6, '0'),
       cl.ids[1 + g % array_length(cl.ids, 1)],
       co.ids[1 + g % array_length(co.ids, 1)],
       initcap(t.type) || ' standard', t.type,
       (ARRAY['ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAFT'])[1 + g % 4],
       (50000 + (g::bigint * 7919) % 450000) * 100 + g % 100,
       'XAF',
       date '2026-01-01' + g % 365,
       date '2026-01-01' + g % 365 + 365,
       '{}'::jsonb, u.id, now(), now()
FROM generate_series(1, $REPORT_ROWS) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['AUTO', 'HOME', 'HEALTH', 'LIFE', 'TRAVEL', 'BUSINESS', 'OTHER'])[1 + g % 7] AS type) t
CROSS JOIN (SELECT id FROM organizations LIMIT 1) o
CROSS JOIN (SELECT id FROM users LIMIT 1) u
CROSS JOIN (SELECT array_agg(id ORDER BY created_at, id) AS ids FROM clients) cl
CROSS JOIN (SELECT array_agg(id ORDER BY created_at, id) AS ids FROM companies) co;
VACUUM ANALYZE;
SQL
ROWS_IN_DB=$(psql "$XLSX_DB_URL" -Atc 'select count(*) from policies')
[[ $ROWS_IN_DB -eq $REPORT_ROWS ]] || die "$ROWS_IN_DB policies in $XLSX_DB, not $REPORT_ROWS"
echo "$ROWS_IN_DB policies in $((SECONDS - SEED_START)) s"
node "$BENCH/documents.mjs" xlsx-template >"$WORK/xlsx-template.json"
XLSX_TEMPLATE_ID=$(jget "$WORK/xlsx-template.json" r.templateId)
echo "XLSX report template $XLSX_TEMPLATE_ID (bench/bordereau.json)"

# VmHWM is the process's lifetime peak: measure in a server that has done nothing else yet.
say "Restart server B (VmHWM is a lifetime peak)"
stop "$SERVER_PID"
SERVER_PID=
start_server "$XLSX_PORT" "$XLSX_DB_URL" "$WORK/data-b"
sleep 1
machine_state report
say "generateReport over $REPORT_ROWS policies (XLSX)"
TEMPLATE_ID=$XLSX_TEMPLATE_ID SERVER_PID=$SERVER_PID node "$BENCH/documents.mjs" report >"$WORK/report.json"
jget "$WORK/report.json" r
echo
[[ $(jget "$WORK/report.json" r.status) == SUCCEEDED ]] || die "the report job did not succeed: $(cat "$WORK/report.json")"
# The workbook as downloaded: its size must match sizeBytes; header + rows + totals row.
DOC_URL=$(jget "$WORK/report.json" r.document.downloadUrl)
if [[ $DOC_URL == /* ]]; then DOC_URL=$BENCH_URL$DOC_URL; fi
curl -fsS "$DOC_URL" -o "$WORK/report.xlsx"
XLSX_BYTES=$(stat -c %s "$WORK/report.xlsx")
XLSX_ROWS=$(unzip -p "$WORK/report.xlsx" xl/worksheets/sheet1.xml | grep -o '<row ' | wc -l)
echo "downloaded: $XLSX_BYTES bytes, $XLSX_ROWS rows in sheet 1"
stop "$SERVER_PID"
SERVER_PID=

# ---------------------------------------------------------------------------------------------
P=$WORK/preview.json D=$WORK/direct.json J=$WORK/job.json R=$WORK/report.json
yes_no() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "<") ? a < b : (op == "<=") ? a <= b : a >= b; print ok ? "yes" : "**no**" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

PV_C="$(jget "$P" r.client.p50) / $(jget "$P" r.client.p95) / $(jget "$P" r.client.p99)"
PV_S="$(jget "$P" r.server.p50) / $(jget "$P" r.server.p95) / $(jget "$P" r.server.p99)"
PV_OK=$(yes_no "$(jget "$P" r.client.p99)" "<" "$TARGET_PREVIEW_MS")
DR_MED=$(jget "$D" r.renders.p50)
DR="$DR_MED (p95 $(jget "$D" r.renders.p95), p99 $(jget "$D" r.renders.p99), mean $(jget "$D" r.renders.mean))"
DR_OK=$(yes_no "$DR_MED" "<=" "$TARGET_RENDER_MS")
ITEM_MEAN=$(jget "$J" r.metrics.meanItemMs)
ITEM_HIST=$(jget "$J" 'r.metrics.histogramMedian ? `median ≈ ${r.metrics.histogramMedian.estimateMs} ms (in the (${r.metrics.histogramMedian.bucketMs.join(", ")}] ms bucket), ${r.metrics.percentAtMost8ms}% ≤ 8 ms` : "no histogram buckets"')
ITEM_OK=$(yes_no "$ITEM_MEAN" "<=" "$TARGET_RENDER_MS")
DPS=$(jget "$J" r.docsPerSecond)
DPS_OK=$(yes_no "$DPS" ">=" "$TARGET_DOCS_PER_S")
JOB_FAILED=$(jget "$J" r.failed)
JOB_DOCS=$(jget "$J" r.documents)
JOB_OK=no
[[ $JOB_FAILED -eq 0 && $JOB_DOCS -eq $POLICIES && $(jget "$J" r.status) == SUCCEEDED ]] && JOB_OK=yes
REPORT_MS=$(jget "$R" r.endToEndMs)
REPORT_OK=$(yes_no "$REPORT_MS" "<" "$TARGET_REPORT_MS")
HWM0=$(jget "$R" r.rss.before.vmHWMkB)
HWM1=$(jget "$R" r.rss.after.vmHWMkB)
GROWTH_KB=$((HWM1 - HWM0))
GROWTH_OK=$(yes_no "$GROWTH_KB" "<" $((TARGET_REPORT_MB * 1024)))
PEAK_OK=$(yes_no "$HWM1" "<" $((TARGET_REPORT_MB * 1024)))
SIZE=$(jget "$R" r.document.sizeBytes)

WARNINGS=()
for part in preview direct job report; do
  [[ ${BUSY[$part]} -lt 10 ]] ||
    WARNINGS+=("other work kept the CPUs ${BUSY[$part]}% busy just before the $part part (${BUSIEST[$part]:-?}): its figures are skewed")
done
[[ $JOB_OK == yes ]] || WARNINGS+=("the generateDocuments job: status $(jget "$J" r.status), failed $JOB_FAILED, documents $JOB_DOCS (expected $POLICIES)")
[[ $XLSX_BYTES -eq $SIZE ]] || WARNINGS+=("the downloaded workbook has $XLSX_BYTES bytes, sizeBytes says $SIZE")
[[ $XLSX_ROWS -eq $((REPORT_ROWS + 2)) ]] || WARNINGS+=("the workbook has $XLSX_ROWS rows, not $((REPORT_ROWS + 2)) (header, rows, totals)")

TABLE=$(
  echo "| measure | result | target | met |"
  echo "|---|---:|---:|:---:|"
  echo "| 1. \`previewTemplate\`, one-page certificate (PDF + $(jget "$P" r.pages) PNG page), client p50 / p95 / p99 | $PV_C ms | well under $TARGET_PREVIEW_MS ms | $PV_OK |"
  echo "| 1. the same, server's \`elapsedMs\` p50 / p95 / p99 | $PV_S ms | | |"
  echo "| 2. certificate render by a render-worker child (direct), median | $DR ms | ≤ $TARGET_RENDER_MS ms | $DR_OK |"
  echo "| 2. certificate job item (render + data + storage + SQL), mean from \`job_item_seconds\` | $ITEM_MEAN ms; $ITEM_HIST | ≤ $TARGET_RENDER_MS ms | $ITEM_OK |"
  echo "| 3. \`generateDocuments\`, $POLICIES policies, mutation sent → SUCCEEDED seen | $DPS documents/s ($(jget "$J" r.endToEndMs) ms) | ≥ $TARGET_DOCS_PER_S/s | $DPS_OK |"
  echo "| 3. the job's \`failed\` / documents made | $JOB_FAILED / $JOB_DOCS | 0 / $POLICIES | $JOB_OK |"
  echo "| 4. XLSX \`generateReport\`, $REPORT_ROWS rows, mutation sent → SUCCEEDED seen | $REPORT_MS ms | < $TARGET_REPORT_MS ms | $REPORT_OK |"
  echo "| 4. the workbook's \`sizeBytes\` | $SIZE | | |"
  echo "| 4. server VmHWM before → after (growth) | $(mb "$HWM0") → $(mb "$HWM1") MB (+$(mb "$GROWTH_KB") MB) | growth < $TARGET_REPORT_MB MB | $GROWTH_OK |"
)

STAMP=$(date +%Y-%m-%d-%H%M%S)
REPORT=$BENCH/results/documents-$STAMP.md
mkdir -p "$BENCH/results"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (with uncommitted changes)"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ELAPSED=$((SECONDS - START_SECONDS))

{
  echo "# Documents benchmark — $STAMP"
  echo
  echo "One organization, 5 companies, 200 clients, $POLICIES policies seeded through the API (parts 1–3);"
  echo "$REPORT_ROWS policies inserted with SQL in a second database (part 4). \`monassurance serve\` with"
  echo "WORKERS=$WORKERS RENDER_WORKERS=$RENDER_WORKERS RATE_LIMIT_RPM=0 RUST_LOG=warn, PostgreSQL $PG_VERSION;"
  echo "the server's database connections: $DB_TLS${DB_PARAMS:+ (DATABASE_URL + \`$DB_PARAMS\`)}."
  echo
  echo "$TABLE"
  echo
  echo "Absolute peak RSS of the report's server (VmHWM after): $(mb "$HWM1") MB (< $TARGET_REPORT_MB MB: $PEAK_OK)."
  echo
  if [[ ${#WARNINGS[@]} -gt 0 ]]; then
    for w in "${WARNINGS[@]}"; do echo "- **WARNING**: $w"; done
    echo
  fi
  echo "## Details"
  echo
  echo "1. **previewTemplate** — \`bench/certificate.typ\` with a seeded policy's data (\`policyId\`), $PREVIEW_WARMUP" \
    "warm-up calls then $PREVIEWS sequential calls over one keep-alive connection; each answer checked (ok, a PDF," \
    "exactly one PNG page). PDF $(jget "$P" r.pdfBytes) bytes, PNG $(jget "$P" r.pngBytes) bytes." \
    "Client ms: $(jget "$P" r.client); server \`elapsedMs\`: $(jget "$P" r.server)."
  echo "2. **Render** — the binary's hidden \`render-worker\` subcommand started as the pool starts it" \
    "(cleared environment, RAYON_NUM_THREADS=1, MALLOC_ARENA_MAX=2, RLIMIT_AS 1 GiB) and spoken to over its" \
    "pipe protocol: one \`pdf\` request at a time, each policy's own data, timed from the request's write to the" \
    "answer's last byte (JSON + base64 framing included, no SQL, no storage). Warm-up (start to \`ready\`)" \
    "$(jget "$D" r.startupMs) ms. Renders ms: $(jget "$D" r.renders); PDF $(jget "$D" r.pdfBytes) bytes." \
    "The server exposes no render-only timing; \`job_item_seconds\` times a whole job item (reads of the" \
    "policy, client and company, the render, the stored file, the document row; not the recording of its" \
    "outcome), so it gives items, not renders: mean $ITEM_MEAN ms over $(jget "$J" r.metrics.items) items;" \
    "from its power-of-two buckets, $ITEM_HIST."
  echo "3. **generateDocuments** — after a 25-document warm-up job, one job over all $POLICIES policy ids," \
    "\`job(id)\` polled every $POLL_MS ms ($(jget "$J" r.polls) polls): mutation answered in $(jget "$J" r.mutationMs) ms," \
    "SUCCEEDED seen after $(jget "$J" r.endToEndMs) ms; server timestamps: created → finished" \
    "$(jget "$J" r.server.createdToFinishedMs) ms, started → finished $(jget "$J" r.server.startedToFinishedMs) ms." \
    "SQL statements per document: $(jget "$J" r.metrics.sqlPerDocument) (\`db_statements_total\`)." \
    "CPU during the job: machine $(jget "$J" r.cpu.machineBusyPercent)% busy; server process" \
    "$(jget "$J" r.cpu.serverPercentOfOneCore)% of one core; render children $(jget "$J" r.cpu.renderChildrenPercentOfOneCore)% of one core each."
  echo "4. **XLSX report** — \`bench/bordereau.json\` (text, date and money columns, totals row), \`filter: {}\`" \
    "over the organization's $REPORT_ROWS policies, in a server restarted after seeding (nothing done before but" \
    "\`/health\`). Mutation answered in $(jget "$R" r.mutationMs) ms, SUCCEEDED seen after $REPORT_MS ms" \
    "(server: created → finished $(jget "$R" r.server.createdToFinishedMs) ms; the server process used" \
    "$(jget "$R" r.serverCpuSeconds) s of CPU meanwhile). Document $(jget "$R" r.document.fileName)," \
    "$SIZE bytes; downloaded $XLSX_BYTES bytes, $XLSX_ROWS rows in sheet 1 (header + rows + totals)." \
    "Server VmHWM $HWM0 → $HWM1 kB; VmRSS $(jget "$R" r.rss.before.vmRSSkB) → $(jget "$R" r.rss.after.vmRSSkB) kB" \
    "(highest sampled while polling: $(jget "$R" r.rss.maxSampledRssKb) kB). XLSX renders in the server process" \
    "(render children only run Typst and HTML)."
  echo
  echo "## Machine"
  echo
  echo "- commit: $GIT_REV; binary: \`$BIN\` ($PROFILE, built $BIN_DATE$([[ ${SKIP_BUILD:-0} != 1 ]] || echo "; SKIP_BUILD=1: it may predate the checkout"))"
  echo "- $(nproc) cores, $CPU; PostgreSQL $PG_VERSION, node $(node --version) and the server on the same cores"
  for part in preview direct job report; do
    echo "- before the $part part: load average ${LOAD[$part]}; CPU busy ${BUSY[$part]}% (2 s sample)${BUSIEST[$part]:+; busiest: ${BUSIEST[$part]}}"
  done
  echo "- the whole script took ${ELAPSED} s"
} >"$REPORT"

say "Summary"
echo "$TABLE"
echo
for w in "${WARNINGS[@]}"; do echo "WARNING: $w"; done
echo "script took ${ELAPSED} s; report: ${REPORT#"$ROOT"/}"
