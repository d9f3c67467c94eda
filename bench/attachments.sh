#!/usr/bin/env bash
# Peak memory of attachment uploads and downloads: starts `monassurance serve` on SQLite and local
# storage, uploads a ${SIZE_MIB:-20} MiB file ${ROUNDS:-5} times through the GraphQL multipart request
# (curl), downloads each back through its signed link (checking the SHA-256), and reads the server's
# peak resident set (VmHWM in /proc/<pid>/status, reset through /proc/<pid>/clear_refs before the
# uploads and again before the downloads, so sign-up's argon2 peak does not hide theirs). Two runs: the default storage
# (zstd where it helps, no encryption), and zstd + encryption (STORAGE_ENCRYPTION_KEYS), each with an
# incompressible PDF and a compressible text file. Each round's file differs (8 bytes), so each one
# is really streamed to storage rather than found already stored.
#
#   bash bench/attachments.sh                        # release binary (built when missing)
#   MA_BIN=/path/to/monassurance bash bench/attachments.sh   # any build, e.g. a debug one
#   SERVER_ENV="MIMALLOC_PURGE_DELAY=0" bash bench/attachments.sh   # extra server variables
#
# Results are printed as a Markdown table (see bench/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { echo "attachments.sh: $*" >&2; exit 1; }
source bench/lib.sh

target="${CARGO_TARGET_DIR:-target}"
bin="${MA_BIN:-$target/release/monassurance}"
if [[ ! -x "$bin" ]]; then
  cargo build --release --bin monassurance
  bin="$target/release/monassurance"
fi
port="${PORT:-18610}"
size_mib="${SIZE_MIB:-20}"
rounds="${ROUNDS:-5}"
port_free "$port" || die "port $port is in use (set PORT)"
command -v curl >/dev/null || die "curl is needed"

work=$(mktemp -d)
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
gql() { # gql <token> <query> <variables json>
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$2" "$3")
  curl -fsS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' ${1:+-H "authorization: Bearer $1"} -d "$body"
}
upload() { # upload <token> <owner> <file> <name>: prints the answer
  local ops='{"query":"mutation($i: UploadAttachmentInput!) { uploadAttachment(input: $i) { id sha256 sizeBytes downloadUrl(ttlSeconds: 600) } }","variables":{"i":{"ownerId":"'"$2"'","file":null}}}'
  curl -fsS "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $1" -H 'apollo-require-preflight: true' \
    -F "operations=$ops" -F 'map={"0":["variables.i.file"]}' -F "0=@$3;filename=$4"
}

# The files: a PDF of random bytes (zstd gains nothing) and a text file (zstd gains a lot).
{ printf '%%PDF-1.4\n'; head -c $((size_mib * 1024 * 1024 - 9)) /dev/urandom; } >"$work/scan.pdf"
python3 - "$work/notes.txt" "$size_mib" <<'PY'
import sys
line = "Sinistre 2026-12-06, véhicule immatriculé LT 123 AB, constat amiable signé, montant estimé 1 250 000 XAF.\n"
with open(sys.argv[1], "w") as f:
    n = int(sys.argv[2]) * 1024 * 1024
    while n > 0:
        f.write(line)
        n -= len(line.encode())
PY
truncate -s $((size_mib * 1024 * 1024)) "$work/notes.txt"

echo "| storage | file | uploads | RSS before | peak during the uploads | peak during the downloads | one stored object |"
echo "|---|---|---|---|---|---|---|"
for variant in default encrypted; do
  data="$work/$variant"
  mkdir -p "$data"
  extra=()
  [[ $variant == encrypted ]] && extra=(STORAGE_ENCRYPTION_KEYS="k1:ERERERERERERERERERERERERERERERERERERERERERE=")
  env DATA_DIR="$data" DATABASE_URL="sqlite://$data/bench.db?mode=rwc" BIND_ADDR="127.0.0.1:$port" \
    JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 WORKERS=0 RATE_LIMIT_RPM=0 RUST_LOG=warn \
    "${extra[@]}" ${SERVER_ENV:-} "$bin" serve >"$data/server.log" 2>&1 &
  server=$!
  wait_for server "$server" "$data/server.log" curl -fsS "http://127.0.0.1:$port/health"
  token=$(gql "" 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }' \
    '{"i":{"organizationName":"Bench","email":"bench@bench.test","password":"correct horse battery","fullName":"Bench"}}' | json 'd["data"]["register"]["accessToken"]')
  client=$(gql "$token" 'mutation { createClient(input: {kind: PERSON, lastName: "Mbarga"}) { id } }' '{}' | json 'd["data"]["createClient"]["id"]')
  printf 'small\n' >"$work/small.txt"
  upload "$token" "$client" "$work/small.txt" small.txt >/dev/null
  for file in scan.pdf notes.txt; do
    echo 5 >"/proc/$server/clear_refs" # VmHWM := VmRSS
    before=$(kb "$server" VmRSS)
    urls=() sums=()
    for round in $(seq "$rounds"); do
      printf '%08d' "$round$RANDOM" | dd of="$work/$file" bs=1 seek=100 conv=notrunc status=none
      sums+=("$(sha256sum "$work/$file" | cut -d' ' -f1)")
      answer=$(upload "$token" "$client" "$work/$file" "$file")
      [[ $(echo "$answer" | json 'd["data"]["uploadAttachment"]["sha256"]') == "${sums[-1]}" ]] || die "upload failed: $answer"
      urls+=("$(echo "$answer" | json 'd["data"]["uploadAttachment"]["downloadUrl"]')")
    done
    uploaded=$(kb "$server" VmHWM)
    echo 5 >"/proc/$server/clear_refs"
    rss=$(kb "$server" VmRSS)
    for i in "${!urls[@]}"; do
      got=$(curl -fsS "http://127.0.0.1:$port${urls[$i]}" | sha256sum | cut -d' ' -f1)
      [[ $got == "${sums[$i]}" ]] || die "download $i of $file differs"
    done
    downloaded=$(kb "$server" VmHWM)
    stored=$(find "$data/files" -type f -name "${sums[-1]}*" -printf '%s B, %f' | sed -E 's/, [0-9a-f]{64}/, …/')
    echo "| $variant | $file | $rounds × ${size_mib} MiB | $((before / 1024)) MiB | $((uploaded / 1024)) MiB (+$(((uploaded - before) / 1024)) MiB) | $((downloaded / 1024)) MiB (+$(((downloaded - rss) / 1024)) MiB) | ${stored:-?} |"
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
done
