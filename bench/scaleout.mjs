// The scale-out benchmark's client (bench/scaleout.sh drives it): two API replicas, A and B, and
// `monassurance worker` processes over one PostgreSQL and one Redis. Node >= 20 (fetch) and the
// `ws` package (bench/package.json) for the graphql-transport-ws subscription.
//
//   node bench/scaleout.mjs <command>
//
// Commands (each prints one JSON object on stdout; progress goes to stderr):
//   setup   through replica B: registers an organization, one company, SEED_CLIENTS clients,
//           DOCUMENTS policies in batched `createPolicy` requests of BATCH (SEED_PARALLEL batches
//           in flight), and a one-page Typst certificate template printing the policy number;
//           writes {token, templateId, policyIds} to $BENCH_WORK/setup.json
//   job     a warm-up job of WARMUP_DOCS documents (not measured; 0: none), then one
//           `generateDocuments` over every policy: the mutation is sent through B, a subscriber
//           on A (`jobProgress`, its WebSocket opened and acknowledged before the mutation is
//           sent) receives every event; documents/s = done / (SUCCEEDED received - mutation
//           sent); per `next` event, delivery latency = Date.now() at receipt - job.updatedAt
//
// Environment: A_URL, B_URL (base URLs), BENCH_WORK (a scratch directory), DOCUMENTS, BATCH,
// SEED_CLIENTS, SEED_PARALLEL, WARMUP_DOCS, QUIET_SECS (no event for this long fails the run),
// CLUSTER_PIDS ("name:pid,…": processes whose CPU time, and their children's, is reported).

import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const A = (process.env.A_URL ?? 'http://127.0.0.1:18800').replace(/\/$/, '');
const B = (process.env.B_URL ?? 'http://127.0.0.1:18801').replace(/\/$/, '');
const WORK = process.env.BENCH_WORK ?? '/tmp';
const num = (name, dflt) => Number(process.env[name] ?? dflt);
const DOCUMENTS = num('DOCUMENTS', 5000);
const BATCH = num('BATCH', 50);
const SEED_CLIENTS = num('SEED_CLIENTS', 20);
const SEED_PARALLEL = num('SEED_PARALLEL', 2);
const WARMUP_DOCS = num('WARMUP_DOCS', 50);
const QUIET_MS = num('QUIET_SECS', 60) * 1000;

// One page, the policy's number on it (as tests/multiprocess.rs).
const CERTIFICATE = '#let data = json("/data.json")\n= Certificat\nPolice: #data.policy.number\n';

const log = (...a) => console.error('[scaleout]', ...a);
const die = (msg) => {
  console.error(`bench/scaleout.mjs: ${msg}`);
  process.exit(1);
};

async function post(base, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${base}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function check(result, what) {
  if (result.errors?.length) throw new Error(`${what}: ${JSON.stringify(result.errors).slice(0, 1500)}`);
  return result.data;
}

const gql = async (base, token, query, variables = {}, what = 'query') => check(await post(base, { query, variables }, token), what);

/** Runs `ops` as batched requests of BATCH operations, SEED_PARALLEL at a time; the data in order. */
async function batched(base, token, ops, what) {
  const batches = [];
  for (let i = 0; i < ops.length; i += BATCH) batches.push(ops.slice(i, i + BATCH));
  const out = new Array(batches.length);
  let next = 0;
  let done = 0;
  async function lane() {
    while (next < batches.length) {
      const k = next++;
      const results = await post(base, batches[k], token);
      if (!Array.isArray(results) || results.length !== batches[k].length) {
        throw new Error(`${what}: unexpected batch answer ${JSON.stringify(results).slice(0, 300)}`);
      }
      out[k] = results.map((r, j) => check(r, `${what} #${k * BATCH + j}`));
      done += batches[k].length;
      if (done % 1000 === 0 || done === ops.length) log(`${what}: ${done}/${ops.length}`);
    }
  }
  await Promise.all(Array.from({ length: SEED_PARALLEL }, lane));
  return out.flat();
}

/** Nearest-rank percentiles, in the unit of the samples, rounded to 0.01. */
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return { n: 0 };
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

/** An RFC 3339 instant in ms since the epoch, keeping the fraction below the millisecond. */
function epochMs(text) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 instant: ${text}`);
  return Date.parse(m[1] + m[3]) + (m[2] ? Number(`0${m[2]}`) * 1000 : 0);
}

// ---------------------------------------------------------------------------------------------
// CPU time of the cluster's processes (utime + stime of each and of its children, from /proc).

function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 }; // 100 Hz clock ticks
  } catch {
    return null;
  }
}

function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function allPids() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** {name: cpu seconds} for each PIDS entry, its children (render workers), PostgreSQL and Redis. */
function cpuSnapshot() {
  const named = (process.env.CLUSTER_PIDS ?? '')
    .split(',')
    .filter(Boolean)
    .map((e) => e.split(':'))
    .map(([name, pid]) => [name, Number(pid)]);
  const pids = allPids();
  const stats_ = new Map(pids.map((p) => [p, procStat(p)]).filter(([, s]) => s));
  const out = {};
  for (const [name, pid] of named) {
    out[name] = stats_.get(pid)?.cpu ?? 0;
    let kids = 0;
    for (const [p, s] of stats_) if (s.ppid === pid) kids += s.cpu;
    out[`${name} render children`] = kids;
  }
  let pg = 0;
  let redis = 0;
  for (const [p, s] of stats_) {
    const c = commOf(p);
    if (c === 'postgres') pg += s.cpu;
    else if (c === 'redis-server') redis += s.cpu;
  }
  out['PostgreSQL (all processes)'] = pg;
  out['redis-server'] = redis;
  return out;
}

/** Whole-machine CPU counters (jiffies): [total, idle + iowait]. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return [f.reduce((a, b) => a + b, 0), f[3] + f[4]];
}

// ---------------------------------------------------------------------------------------------
// graphql-transport-ws

/** Opens a graphql-transport-ws connection to `base` and waits for `connection_ack`. */
function connect(base, token) {
  const url = `${base.replace(/^http/, 'ws')}/graphql`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error(`${url}: no connection_ack within 10 s`)), 10_000);
    ws.once('error', (e) => reject(e));
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    const onAck = (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      clearTimeout(timer);
      ws.off('message', onAck);
      if (msg.type !== 'connection_ack') return reject(new Error(`${url}: expected connection_ack, got ${data}`));
      resolve(ws);
    };
    ws.on('message', onAck);
  });
}

const PROGRESS = `subscription($id: ID!) { jobProgress(jobId: $id) { status done failed total job { updatedAt } } }`;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Subscribes to `jobProgress(jobId)` on an acknowledged socket; resolves at `complete` with the
 * events, each {recv: Date.now() at receipt, perf: performance.now() at receipt, status, done,
 * failed, total, updatedAt}. Fails when nothing comes for QUIET_MS.
 */
function follow(ws, jobId, subId, onEvent) {
  return new Promise((resolve, reject) => {
    const events = [];
    let timer;
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no event for ${QUIET_MS / 1000} s; last: ${JSON.stringify(events.at(-1))}`));
      }, QUIET_MS);
    };
    const onMessage = (data) => {
      const recv = Date.now();
      const perf = performance.now();
      const msg = JSON.parse(data.toString());
      if (msg.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      if (msg.type === 'pong') return;
      if (msg.id !== subId) return;
      quiet();
      if (msg.type === 'next') {
        if (msg.payload.errors?.length) {
          cleanup();
          return reject(new Error(`subscription error: ${JSON.stringify(msg.payload.errors)}`));
        }
        const e = msg.payload.data.jobProgress;
        const ev = { recv, perf, status: e.status, done: e.done, failed: e.failed, total: e.total, updatedAt: e.job.updatedAt };
        events.push(ev);
        if (onEvent) onEvent(ev);
      } else if (msg.type === 'complete') {
        cleanup();
        resolve(events);
      } else if (msg.type === 'error') {
        cleanup();
        reject(new Error(`subscription error: ${JSON.stringify(msg.payload)}`));
      }
    };
    const onClose = (code, reason) => {
      cleanup();
      reject(new Error(`the socket closed (${code} ${reason}) after ${events.length} events`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    quiet();
    ws.send(JSON.stringify({ id: subId, type: 'subscribe', payload: { query: PROGRESS, variables: { id: jobId } } }));
  });
}

const GENERATE = `mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id status total createdAt } }`;

/** Starts a job through B, follows it on A; returns the timings and the events. */
async function runJob(token, templateId, policyIds, subId) {
  const ws = await connect(A, token);
  const sentAt = performance.now();
  const sentEpoch = Date.now();
  const job = (await gql(B, token, GENERATE, { i: { templateId, policyIds } }, 'generateDocuments')).generateDocuments;
  const answeredAt = performance.now();
  if (job.total !== policyIds.length) throw new Error(`the job has ${job.total} items, not ${policyIds.length}`);
  let lastLog = 0;
  const events = await follow(ws, job.id, subId, (e) => {
    if (e.perf - lastLog > 2000) {
      lastLog = e.perf;
      log(`${e.status} ${e.done}/${e.total} (failed ${e.failed})`);
    }
  });
  const completedAt = performance.now();
  ws.close();
  const end = events.find((e) => TERMINAL.has(e.status));
  if (!end) throw new Error(`no final event among ${events.length}: ${JSON.stringify(events.at(-1))}`);
  return { job, events, end, sentAt, sentEpoch, answeredAt, completedAt };
}

// ---------------------------------------------------------------------------------------------

const commands = {
  async setup() {
    const t0 = performance.now();
    const reg = await gql(
      B,
      null,
      `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { organization { id } } } }`,
      { i: { organizationName: 'Courtage Scale', email: 'scale@example.com', password: 'bench password 2026', fullName: 'Scale Admin' } },
      'register',
    );
    const token = reg.register.accessToken;
    const company = (await gql(B, token, `mutation { createCompany(input: {name: "Assureur Scale", code: "SCL"}) { id } }`, {}, 'createCompany'))
      .createCompany.id;
    const last = ['Mbarga', 'Nkomo', 'Fotso', 'Ngono', 'Tchoumi', 'Abena', 'Kamga', 'Essomba', 'Mballa', 'Owona'];
    const clients = await batched(
      B,
      token,
      Array.from({ length: SEED_CLIENTS }, (_, i) => ({
        query: `mutation($i: CreateClientInput!) { createClient(input: $i) { id } }`,
        variables: { i: { kind: 'PERSON', firstName: `Client${i + 1}`, lastName: last[i % last.length] } },
      })),
      'createClient',
    );
    const tPolicies = performance.now();
    const policies = await batched(
      B,
      token,
      Array.from({ length: DOCUMENTS }, (_, i) => ({
        query: `mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }`,
        variables: {
          i: {
            number: `SCALE-2026-${String(i + 1).padStart(6, '0')}`,
            clientId: clients[i % clients.length].createClient.id,
            companyId: company,
            productName: 'Auto tous risques',
            productType: 'AUTO',
            premium: `${100000 + ((i * 7919) % 400000)}.00`,
            effectiveDate: '2026-01-01',
            expiryDate: '2026-12-31',
          },
        },
      })),
      'createPolicy',
    );
    const policiesMs = performance.now() - tPolicies;
    const templateId = (
      await gql(
        B,
        token,
        `mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }`,
        { i: { name: 'Certificat scale', format: 'PDF', scope: 'POLICY', content: CERTIFICATE } },
        'createTemplate',
      )
    ).createTemplate.id;
    const policyIds = policies.map((p) => p.createPolicy.id);
    writeFileSync(`${WORK}/setup.json`, JSON.stringify({ token, templateId, policyIds }));
    return {
      policies: policyIds.length,
      clients: clients.length,
      templateId,
      batch: BATCH,
      policiesMs: Math.round(policiesMs),
      policiesPerSecond: Math.round((policyIds.length / policiesMs) * 1000),
      totalMs: Math.round(performance.now() - t0),
    };
  },

  async job() {
    const { token, templateId, policyIds } = JSON.parse(readFileSync(`${WORK}/setup.json`, 'utf8'));
    if (policyIds.length !== DOCUMENTS) die(`setup.json holds ${policyIds.length} policies, not ${DOCUMENTS}`);

    let warmup = null;
    if (WARMUP_DOCS > 0) {
      const w = await runJob(token, templateId, policyIds.slice(0, WARMUP_DOCS), 'warmup');
      if (w.end.status !== 'SUCCEEDED' || w.end.failed) die(`warm-up job: ${JSON.stringify(w.end)}`);
      warmup = { documents: WARMUP_DOCS, ms: Math.round(w.end.perf - w.sentAt), events: w.events.length };
      log(`warm-up job: ${WARMUP_DOCS} documents in ${warmup.ms} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }

    const cpu0 = cpuSnapshot();
    const m0 = machineCpu();
    const r = await runJob(token, templateId, policyIds, 'p');
    const cpu1 = cpuSnapshot();
    const m1 = machineCpu();
    const { events, end } = r;
    const wallMs = end.perf - r.sentAt;

    // Delivery latency: receipt (Date.now()) - the row's updatedAt, for every `next` event.
    const lat = events.map((e) => e.recv - epochMs(e.updatedAt));
    const latAfterFirst = lat.slice(1);
    // Coverage: which `done` values were seen; order.
    const seen = new Set(events.map((e) => e.done));
    let missing = 0;
    for (let d = 1; d <= end.total; d++) if (!seen.has(d)) missing += 1;
    let backwards = 0;
    for (let k = 1; k < events.length; k++) if (events[k].done < events[k - 1].done) backwards += 1;
    const byStatus = {};
    for (const e of events) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    const slow = events
      .map((e, k) => ({ k, done: e.done, status: e.status, ms: Math.round(lat[k] * 100) / 100 }))
      .sort((x, y) => y.ms - x.ms)
      .slice(0, 5);
    // Latency over the run, in tenths (is it steady or does it grow?).
    const tenths = [];
    for (let t = 0; t < 10; t++) {
      const part = latAfterFirst.slice(Math.floor((t * latAfterFirst.length) / 10), Math.floor(((t + 1) * latAfterFirst.length) / 10));
      const s = stats(part);
      tenths.push({ p50: s.p50, p99: s.p99, max: s.max });
    }

    const d = (
      await gql(
        A,
        token,
        `query($id: ID!, $f: DocumentFilter) { job(id: $id) { status total done failed error createdAt startedAt finishedAt updatedAt }
           documents(filter: $f) { totalCount } }`,
        { id: r.job.id, f: { jobId: r.job.id } },
        'job details',
      )
    );
    const span = (a, b) => (a && b ? Math.round(epochMs(b) - epochMs(a)) : null);
    const wall = wallMs / 1000;
    const cpu = {};
    for (const k of Object.keys(cpu1)) cpu[k] = Math.round((100 * (cpu1[k] - (cpu0[k] ?? 0))) / wall);
    return {
      jobId: r.job.id,
      warmup,
      status: end.status,
      total: end.total,
      done: end.done,
      failed: end.failed,
      documents: d.documents.totalCount,
      mutationMs: Math.round(r.answeredAt - r.sentAt),
      endToEndMs: Math.round(wallMs),
      completeAfterEndMs: Math.round(r.completedAt - end.perf),
      docsPerSecond: Math.round((end.done / wall) * 10) / 10,
      server: {
        createdToStartedMs: span(d.job.createdAt, d.job.startedAt),
        startedToFinishedMs: span(d.job.startedAt, d.job.finishedAt),
        createdToFinishedMs: span(d.job.createdAt, d.job.finishedAt),
        mutationSentToCreatedMs: Math.round(epochMs(d.job.createdAt) - r.sentEpoch),
        finishedToReceivedMs: Math.round((end.recv - epochMs(d.job.finishedAt)) * 100) / 100,
      },
      events: {
        received: events.length,
        expected: end.total + 2,
        byStatus,
        doneValuesMissing: missing,
        backwards,
        first: { status: events[0].status, done: events[0].done, latencyMs: Math.round(lat[0] * 100) / 100 },
      },
      latency: stats(lat),
      latencyAfterFirst: stats(latAfterFirst),
      latencyByTenth: tenths,
      slowest: slow,
      cpu: { machineBusyPercent: Math.round((100 * (m1[0] - m0[0] - (m1[1] - m0[1]))) / (m1[0] - m0[0])), percentOfOneCore: cpu },
    };
  },
};

const cmd = process.argv[2];
if (!commands[cmd]) die(`unknown command ${JSON.stringify(cmd)}; one of: ${Object.keys(commands).join(', ')}`);
try {
  console.log(JSON.stringify(await commands[cmd]()));
  process.exit(0);
} catch (e) {
  die(`${cmd}: ${e.stack ?? e}`);
}
