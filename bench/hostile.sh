#!/usr/bin/env bash
# Memory under hostile requests: starts the server (embedded mode: SQLite, in-process cache,
# fan-out and limits, the settings a stranger meets by default), then sends thousands of
# requests of each hostile kind of issue 11 (bench/hostile.mjs: APQ registrations, invalid APQ
# texts, batches, oversized JSON bodies, readiness probes, subscriptions to made-up jobs,
# anonymous sockets sending mutations, anonymous uploads) and records the server's resident
# memory (VmRSS) before and after each kind. Writes bench/results/hostile-<date>.md.
#
#   bash bench/hostile.sh                       # debug build (what CI builds); N=5000 of each
#   PROFILE=release bash bench/hostile.sh       # the release build
#   N=20000 KINDS=apq,ws-ghost bash bench/hostile.sh
#
# Settings (environment): PROFILE (debug|release), N, CONCURRENCY (32), KINDS (all),
# PORT (18700), KEEP_WORK=1 (keep the data dir and server.log), CARGO_TARGET_DIR ($HOME/.cache/ma-target), RATE_LIMIT_RPM (the server's default,
# 1200: so most hostile requests are refused early, as they would be; set 0 to let every one
# through and measure the deeper paths).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'bench/hostile.sh: %s\n' "$*" >&2; exit 1; }

PROFILE=${PROFILE:-debug}
PORT=${PORT:-18700}
export N=${N:-5000}
export CONCURRENCY=${CONCURRENCY:-32}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ma-target}
BIN=$CARGO_TARGET_DIR/$PROFILE/monassurance

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say "Building ($PROFILE)"
if [[ $PROFILE == release ]]; then cargo build --release --bin monassurance; else cargo build --bin monassurance; fi
if [[ ! -d $BENCH/node_modules/ws ]]; then
  say "npm ci in bench/ (ws)"
  (cd "$BENCH" && npm ci --no-audit --no-fund)
fi
port_free "$PORT" || die "port $PORT is in use"

WORK=$(mktemp -d -t ma-bench-hostile.XXXXXX)
SERVER=
cleanup() {
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  if [[ -n ${KEEP_WORK:-} ]]; then echo "kept $WORK (server.log)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

say "Starting the server on 127.0.0.1:$PORT (embedded mode, data in $WORK)"
env -i PATH="$PATH" HOME="$HOME" DATA_DIR="$WORK" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=error WORKERS=1 \
  ${RATE_LIMIT_RPM:+RATE_LIMIT_RPM=$RATE_LIMIT_RPM} "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
wait_for server "$SERVER" "$WORK/server.log" curl -fsS "http://127.0.0.1:$PORT/health"

say "Hostile requests: $N of each kind, $CONCURRENCY at once"
BASE_URL="http://127.0.0.1:$PORT" SERVER_PID=$SERVER node --expose-gc "$BENCH/hostile.mjs" | tee "$WORK/results.jsonl"

mkdir -p "$BENCH/results"
OUT=$BENCH/results/hostile-$(date -u +%Y-%m-%d-%H%M%S).md
{
  echo "# Memory under hostile requests — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (uncommitted changes)'), $PROFILE build, embedded mode"
  echo "(SQLite, in-process cache and limits), RATE_LIMIT_RPM=${RATE_LIMIT_RPM:-1200 (default)}, N=$N, $CONCURRENCY at once, $(nproc) cores."
  echo
  echo "| kind | RSS before (MiB) | RSS after (MiB) | growth (MiB) | seconds | outcomes |"
  echo "|---|---|---|---|---|---|"
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    for (const r of lines) {
      const mib = (k) => (k / 1024).toFixed(1);
      const outcomes = Object.entries(r.outcomes).map(([k, v]) => `${k}: ${v}`).join(", ");
      console.log(`| ${r.kind} | ${mib(r.before)} | ${mib(r.after)} | ${mib(r.after - r.before)} | ${r.seconds.toFixed(1)} | ${outcomes} |`);
    }' "$WORK/results.jsonl"
} >"$OUT"
cat "$OUT"
say "Written to $OUT"
