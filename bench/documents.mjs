// The documents benchmark's client (bench/documents.sh drives it): previews, direct renders
// through a `render-worker` child, a generateDocuments job, and an XLSX report. Node >= 20
// built-ins only (fetch, child_process); job progress by polling `job(id)`.
//
//   node bench/documents.mjs <command>
//
// Commands (each prints one JSON object on stdout; progress goes to stderr):
//   setup        policies' ids and template data -> $BENCH_WORK/policies.json; creates the
//                certificate template (bench/certificate.typ)           -> {templateId, policies}
//   preview      PREVIEW_WARMUP + PREVIEWS sequential `previewTemplate` calls (PDF + PNG pages)
//   direct       DIRECT_WARMUP + DIRECT_RENDERS renders of the certificate by a `render-worker`
//                child of $BIN, spoken to directly over its pipe protocol (src/render/worker/wire.rs)
//   job          a warm-up job, then one `generateDocuments` over every policy, timed from the
//                mutation's send to SUCCEEDED as seen by polling every POLL_MS; /metrics before/after
//   xlsx-template  creates the REPORT template (bench/bordereau.json)   -> {templateId}
//   report       `generateReport` over every policy (or REPORT_FILTER, a PolicyFilter as JSON),
//                timed the same way; the server's VmHWM
//                (/proc/$SERVER_PID/status) right before the mutation and right after SUCCEEDED
//
// Environment: BENCH_URL (the server's base URL), BENCH_TOKEN, BENCH_WORK (a scratch directory),
// SERVER_PID, BIN, BENCH_ORG_UUID; sizes as above.

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.BENCH_URL ?? 'http://127.0.0.1:18700').replace(/\/$/, '');
const GRAPHQL = `${BASE}/graphql`;
const TOKEN = process.env.BENCH_TOKEN;
const WORK = process.env.BENCH_WORK ?? '/tmp';
const POLL_MS = Number(process.env.POLL_MS ?? 50);
const num = (name, dflt) => Number(process.env[name] ?? dflt);

const log = (...a) => console.error('[documents]', ...a);
const die = (msg) => {
  console.error(`bench/documents.mjs: ${msg}`);
  process.exit(1);
};

async function gql(query, variables = {}) {
  const res = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 500)}`);
  const body = JSON.parse(text);
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors).slice(0, 1500));
  return body.data;
}

/** Nearest-rank percentiles, in the unit of the samples, rounded to 0.01. */
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const at = (q) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  const r = (x) => Math.round(x * 100) / 100;
  return {
    n,
    min: r(s[0]),
    p50: r(at(0.5)),
    p95: r(at(0.95)),
    p99: r(at(0.99)),
    max: r(s[n - 1]),
    mean: r(s.reduce((a, b) => a + b, 0) / n),
  };
}

async function metrics() {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

/**
 * A histogram's buckets between two /metrics snapshots: [[upper bound in s, cumulative count]],
 * ascending (`<name>_bucket{…,le="…"}` lines whose labels include `labels`).
 */
function buckets(before, after, name, labels) {
  const rows = [];
  for (const k of Object.keys(after)) {
    const m = k.match(new RegExp(`^${name}_bucket\\{(.*)\\}$`));
    if (!m || !m[1].includes(labels)) continue;
    const le = m[1].match(/le="([^"]+)"/)?.[1];
    if (le === undefined) continue;
    rows.push([le === '+Inf' ? Infinity : Number(le), (after[k] ?? 0) - (before[k] ?? 0)]);
  }
  return rows.sort((a, b) => a[0] - b[0]);
}

/** The median of a bucketed histogram, interpolated linearly inside its bucket; and that bucket. */
function bucketMedian(rows) {
  const total = rows.length ? rows[rows.length - 1][1] : 0;
  if (!total) return null;
  const i = rows.findIndex(([, cum]) => cum >= total / 2);
  const [lo, loCum] = i > 0 ? rows[i - 1] : [0, 0];
  const [hi, hiCum] = rows[i];
  const ms = (x) => Math.round(x * 1000 * 100) / 100;
  const estimate = hi === Infinity ? lo : lo + ((hi - lo) * (total / 2 - loCum)) / (hiCum - loCum);
  return { estimateMs: ms(estimate), bucketMs: [ms(lo), hi === Infinity ? null : ms(hi)] };
}

/** The share (percent) of a bucketed histogram's samples at or under `bound` seconds (a bucket bound). */
function shareAtMost(rows, bound) {
  const total = rows.length ? rows[rows.length - 1][1] : 0;
  const row = rows.find(([le]) => Math.abs(le - bound) < 1e-12);
  return total && row ? Math.round((1000 * row[1]) / total) / 10 : null;
}

/** utime + stime of a process, in seconds (0 when it is gone). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks: 100 Hz on Linux
  } catch {
    return 0;
  }
}

/** The render children of the server (processes whose parent is SERVER_PID). */
function childrenOf(pid) {
  const kids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) kids.push(Number(d));
    } catch {}
  }
  return kids;
}

/** Whole-machine CPU counters (jiffies): [total, idle + iowait]. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return [f.reduce((a, b) => a + b, 0), f[3] + f[4]];
}

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { vmHWMkB: kb('VmHWM'), vmRSSkB: kb('VmRSS') };
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Polls `job(id)` every POLL_MS until it ends; returns [the job, ms when the end was seen, polls]. */
async function waitJob(id, onPoll) {
  let polls = 0;
  for (;;) {
    const j = (await gql(`query($id: ID!) { job(id: $id) { id status total done failed progress error } }`, { id })).job;
    polls += 1;
    const now = performance.now();
    if (onPoll) onPoll(j);
    if (TERMINAL.has(j.status)) return [j, now, polls];
    await sleep(POLL_MS);
  }
}

async function jobDetails(id) {
  return (
    await gql(
      `query($id: ID!) { job(id: $id) { id kind status total done failed error createdAt startedAt finishedAt
         documents(first: 1) { totalCount nodes { id fileName format mimeType sizeBytes downloadUrl(ttlSeconds: 600) } } } }`,
      { id },
    )
  ).job;
}

const serverMs = (j) => ({
  createdToFinishedMs: Date.parse(j.finishedAt) - Date.parse(j.createdAt),
  startedToFinishedMs: Date.parse(j.finishedAt) - Date.parse(j.startedAt),
});

// ------------------------------------------------------------------------------------------
const commands = {
  async setup() {
    const me = (await gql(`{ me { fullName email organization { name slug } } }`)).me;
    const policies = [];
    let after = null;
    for (;;) {
      const d = await gql(
        `query($after: String) { policies(first: 100, after: $after, orderBy: [{field: NUMBER, direction: ASC}]) {
           pageInfo { hasNextPage endCursor }
           nodes { id number productName productType status premium currency effectiveDate expiryDate coverage
             client { kind firstName lastName companyName displayName email phone address externalRef }
             company { name code contactEmail phone address apiMode } } } }`,
        { after },
      );
      policies.push(...d.policies.nodes);
      if (!d.policies.pageInfo.hasNextPage) break;
      after = d.policies.pageInfo.endCursor;
    }
    const envelope = {
      organization: { id: process.env.BENCH_ORG_UUID ?? '', name: me.organization.name, slug: me.organization.slug },
      generatedBy: { fullName: me.fullName, email: me.email },
    };
    writeFileSync(`${WORK}/policies.json`, JSON.stringify({ envelope, policies }));
    const content = readFileSync(`${HERE}/certificate.typ`, 'utf8');
    const t = (
      await gql(`mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }`, {
        i: { name: 'Attestation bench', format: 'PDF', scope: 'POLICY', content, changelog: 'benchmark' },
      })
    ).createTemplate;
    log(`${policies.length} policies read; certificate template ${t.id}`);
    return { templateId: t.id, policies: policies.length };
  },

  async preview() {
    const { policies } = JSON.parse(readFileSync(`${WORK}/policies.json`, 'utf8'));
    const content = readFileSync(`${HERE}/certificate.typ`, 'utf8');
    const warmup = num('PREVIEW_WARMUP', 20);
    const n = num('PREVIEWS', 200);
    const q = `mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok pdfBase64 pngPages elapsedMs diagnostics { message line } } }`;
    const client = [];
    const server = [];
    let pdfBytes = 0;
    let pngBytes = 0;
    let pages = 0;
    for (let k = 0; k < warmup + n; k++) {
      const i = { content, format: 'PDF', scope: 'POLICY', policyId: policies[k % policies.length].id };
      const t0 = performance.now();
      const p = (await gql(q, { i })).previewTemplate;
      const ms = performance.now() - t0;
      if (!p.ok) die(`preview not ok: ${JSON.stringify(p.diagnostics)}`);
      const pdf = Buffer.from(p.pdfBase64, 'base64');
      if (pdf.subarray(0, 4).toString() !== '%PDF') die('the preview is not a PDF');
      if (p.pngPages.length !== 1) die(`the certificate has ${p.pngPages.length} pages, not 1`);
      const png = Buffer.from(p.pngPages[0], 'base64');
      if (!png.subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))) die('a page is not a PNG');
      if (k >= warmup) {
        client.push(ms);
        server.push(p.elapsedMs);
      }
      pdfBytes = pdf.length;
      pngBytes = png.length;
      pages = p.pngPages.length;
    }
    return { warmup, client: stats(client), server: stats(server), pdfBytes, pngBytes, pages };
  },

  async direct() {
    const { envelope, policies } = JSON.parse(readFileSync(`${WORK}/policies.json`, 'utf8'));
    const template = readFileSync(`${HERE}/certificate.typ`, 'utf8');
    const warmup = num('DIRECT_WARMUP', 20);
    const n = num('DIRECT_RENDERS', policies.length);
    const bin = process.env.BIN ?? die('BIN is not set');
    const limitKb = num('RENDER_MEMORY_MB', 1024) * 1024;
    // As the pool starts it (src/render/worker/process.rs): cleared environment, cwd /, one Rayon
    // thread, two malloc arenas, the address-space limit.
    const child = spawn('/bin/sh', ['-c', `ulimit -v ${limitKb} && exec "$0" render-worker`, bin], {
      cwd: '/',
      env: { RAYON_NUM_THREADS: '1', MALLOC_ARENA_MAX: '2' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const MAGIC = Buffer.from('\0MONASSURANCE-RENDER-WORKER-1\0', 'latin1');
    let buf = Buffer.alloc(0);
    let handshaken = false;
    let waiting = null;
    const frames = [];
    const pump = () => {
      if (!handshaken) {
        const at = buf.indexOf(MAGIC);
        if (at < 0) return;
        buf = buf.subarray(at + MAGIC.length);
        handshaken = true;
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        frames.push(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
      if (waiting && frames.length) {
        const w = waiting;
        waiting = null;
        w(frames.shift());
      }
    };
    child.stdout.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      pump();
    });
    const exited = new Promise((_, reject) => child.on('exit', (code, sig) => reject(new Error(`render-worker exited (${code ?? sig})`))));
    exited.catch(() => {});
    const next = () => Promise.race([new Promise((resolve) => (frames.length ? resolve(frames.shift()) : (waiting = resolve))), exited]);
    const startT = performance.now();
    const ready = JSON.parse((await next()).toString());
    if (ready !== 'ready') die(`render-worker handshake: ${JSON.stringify(ready)}`);
    const startupMs = performance.now() - startT;
    const times = [];
    let pdfBytes = 0;
    for (let k = 0; k < warmup + n; k++) {
      const p = policies[k % policies.length];
      const { client, company, id, ...policy } = p;
      const data = {
        ...envelope,
        generatedAt: new Date().toISOString(),
        document: { number: `DOC-BENCH-${k + 1}` },
        policy,
        client,
        company,
      };
      const body = Buffer.from(JSON.stringify({ kind: 'pdf', template, data, assets: {} }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      const t0 = performance.now();
      child.stdin.write(Buffer.concat([len, body]));
      const answer = JSON.parse((await next()).toString());
      const ms = performance.now() - t0;
      if (!answer.ok) die(`render-worker: ${JSON.stringify(answer).slice(0, 800)}`);
      const pdf = Buffer.from(answer.ok.bytes_b64, 'base64');
      if (pdf.subarray(0, 4).toString() !== '%PDF') die('render-worker: not a PDF');
      pdfBytes = pdf.length;
      if (k >= warmup) times.push(ms);
    }
    child.stdin.end();
    await Promise.race([new Promise((r) => child.on('exit', r)), sleep(2000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    return { warmup, startupMs: Math.round(startupMs), renders: stats(times), pdfBytes };
  },

  async job() {
    const { policies } = JSON.parse(readFileSync(`${WORK}/policies.json`, 'utf8'));
    const templateId = process.env.TEMPLATE_ID ?? die('TEMPLATE_ID is not set');
    const serverPid = Number(process.env.SERVER_PID ?? die('SERVER_PID is not set'));
    const ids = policies.map((p) => p.id);
    const mutation = `mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id status total } }`;

    // Warm-up: a small job (render children, connections, statement caches), not measured.
    const warmN = Math.min(num('JOB_WARMUP', 25), ids.length);
    const w = (await gql(mutation, { i: { templateId, policyIds: ids.slice(0, warmN) } })).generateDocuments;
    const [wj] = await waitJob(w.id);
    if (wj.status !== 'SUCCEEDED' || wj.failed) die(`warm-up job: ${JSON.stringify(wj)}`);
    log(`warm-up job: ${warmN} documents`);
    await sleep(300);

    const before = await metrics();
    const kids = childrenOf(serverPid);
    const cpu0 = { server: cpuSeconds(serverPid), kids: kids.map(cpuSeconds), machine: machineCpu() };
    const t0 = performance.now();
    const started = (await gql(mutation, { i: { templateId, policyIds: ids } })).generateDocuments;
    const mutationMs = performance.now() - t0;
    if (started.total !== ids.length) die(`the job has ${started.total} items, not ${ids.length}`);
    let lastLog = 0;
    const [j, seen, polls] = await waitJob(started.id, (j) => {
      if (performance.now() - lastLog > 1000) {
        lastLog = performance.now();
        log(`${j.status} ${j.done}/${j.total} (failed ${j.failed})`);
      }
    });
    const endToEndMs = seen - t0;
    const machine1 = machineCpu();
    const cpu1 = { server: cpuSeconds(serverPid), kids: kids.map(cpuSeconds) };
    await sleep(300);
    const after = await metrics();
    const d = await jobDetails(started.id);
    const count = (await gql(`query($f: DocumentFilter) { documents(filter: $f) { totalCount } }`, { f: { jobId: started.id } }))
      .documents.totalCount;
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    const items = delta('job_item_seconds_count{kind="DOCUMENTS"}');
    const itemSeconds = delta('job_item_seconds_sum{kind="DOCUMENTS"}');
    const wall = endToEndMs / 1000;
    const hist = buckets(before, after, 'job_item_seconds', 'kind="DOCUMENTS"');
    const [mt, mi] = [machine1[0] - cpu0.machine[0], machine1[1] - cpu0.machine[1]];
    return {
      jobId: started.id,
      status: j.status,
      total: j.total,
      done: j.done,
      failed: j.failed,
      error: j.error,
      documents: count,
      mutationMs: Math.round(mutationMs),
      endToEndMs: Math.round(endToEndMs),
      docsPerSecond: Math.round((j.done / wall) * 10) / 10,
      polls,
      server: serverMs(d),
      metrics: {
        items,
        itemSecondsSum: itemSeconds,
        meanItemMs: items ? Math.round((itemSeconds / items) * 1000 * 100) / 100 : null,
        // job_item_seconds is a histogram with power-of-two buckets from 1 ms: a coarse median.
        histogramMedian: bucketMedian(hist),
        percentAtMost8ms: shareAtMost(hist, 0.008),
        sqlStatements: delta('db_statements_total'),
        sqlPerDocument: j.done ? Math.round((delta('db_statements_total') / j.done) * 10) / 10 : null,
      },
      cpu: {
        machineBusyPercent: Math.round((100 * (mt - mi)) / mt),
        serverPercentOfOneCore: Math.round((100 * (cpu1.server - cpu0.server)) / wall),
        renderChildrenPercentOfOneCore: kids.map((_, k) => Math.round((100 * (cpu1.kids[k] - cpu0.kids[k])) / wall)),
      },
    };
  },

  async 'xlsx-template'() {
    const content = readFileSync(`${HERE}/bordereau.json`, 'utf8');
    const t = (
      await gql(`mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }`, {
        i: { name: 'Bordereau bench', format: 'XLSX', scope: 'REPORT', content, changelog: 'benchmark' },
      })
    ).createTemplate;
    return { templateId: t.id };
  },

  async report() {
    const templateId = process.env.TEMPLATE_ID ?? die('TEMPLATE_ID is not set');
    const serverPid = Number(process.env.SERVER_PID ?? die('SERVER_PID is not set'));
    const before = status(serverPid);
    let maxRssKb = before.vmRSSkB;
    const cpu0 = cpuSeconds(serverPid);
    const t0 = performance.now();
    const started = (
      await gql(`mutation($i: GenerateReportInput!) { generateReport(input: $i) { id status total } }`, {
        i: { templateId, filter: JSON.parse(process.env.REPORT_FILTER ?? '{}') },
      })
    ).generateReport;
    const mutationMs = performance.now() - t0;
    const [j, seen, polls] = await waitJob(started.id, () => {
      maxRssKb = Math.max(maxRssKb, status(serverPid).vmRSSkB);
    });
    const endToEndMs = seen - t0;
    const after = status(serverPid);
    const serverCpuSeconds = Math.round((cpuSeconds(serverPid) - cpu0) * 100) / 100;
    const d = await jobDetails(started.id);
    return {
      jobId: started.id,
      status: j.status,
      failed: j.failed,
      error: j.error,
      mutationMs: Math.round(mutationMs),
      endToEndMs: Math.round(endToEndMs),
      polls,
      server: serverMs(d),
      document: d.documents.nodes[0] ?? null,
      documents: d.documents.totalCount,
      rss: { before, after, maxSampledRssKb: maxRssKb },
      serverCpuSeconds,
    };
  },
};

const cmd = process.argv[2];
if (!commands[cmd]) die(`unknown command ${JSON.stringify(cmd)}; one of: ${Object.keys(commands).join(', ')}`);
try {
  console.log(JSON.stringify(await commands[cmd]()));
} catch (e) {
  die(`${cmd}: ${e.stack ?? e}`);
}
