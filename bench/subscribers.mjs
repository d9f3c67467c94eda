// The subscribers benchmark's client (bench/subscribers.sh drives it): many `jobEvents`
// subscribers, each on its own graphql-transport-ws WebSocket, held by one server process.
// Node >= 20 (fetch) and the `ws` package (bench/package.json).
//
//   node bench/subscribers.mjs <command>
//
// Commands (each prints one JSON object on stdout; progress goes to stderr):
//   setup   after `seed.mjs` (its JSON in $BENCH_WORK/seed.json): creates USERS - 1 MANAGERs and
//           one AGENT in the seeded organization, signs each in, creates a one-page Typst
//           certificate template; writes {tokens (ADMIN first), agentToken, templateId,
//           policyIds} to $BENCH_WORK/setup.json
//   run     forks SHARDS shard processes (this file, `shard`), each connecting from its own
//           loopback address 127.0.0.(10 + k); opens the sockets in STEPS (cumulative counts,
//           e.g. 1000,5000,10000), reading the server's VmRSS/VmHWM (/proc/$SERVER_PID/status)
//           once /metrics counts every socket and subscription of a step; then a warm-up job
//           that every subscriber must see end (so each subscription is live on the bus), then
//           JOBS measured `generateDocuments` jobs of DOCS policies, one after the other; per
//           subscriber and event, latency = receipt (this machine's clock) - the event's `at`
//           (the server's clock when it published it); and the sockets of AGENT_SOCKETS
//           subscribers signed in as an AGENT, who must see none of these jobs (not theirs)
//   shard   (forked by `run`; talks over IPC) holds its share of the sockets
//
// Environment: MA_URL (base URL), BENCH_WORK (a scratch directory), CLIENT (lean: bench/lean-ws.mjs,
// the default; ws: the npm package), SHARD_NODE_ARGS (node options of the shards), USERS, SOCKETS, SHARDS,
// STEPS, AGENT_SOCKETS, JOBS, DOCS, CONNECT_PARALLEL (connections being opened at once per
// shard), SETTLE_SECS (wait before each memory reading), QUIET_SECS (a job whose events stop
// coming for this long fails the run), SERVER_PID.

import { fork } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

import { LeanWebSocket } from './lean-ws.mjs';

const BASE = (process.env.MA_URL ?? 'http://127.0.0.1:18900').replace(/\/$/, '');
const WORK = process.env.BENCH_WORK ?? '/tmp';
const num = (name, dflt) => Number(process.env[name] ?? dflt);
const USERS = num('USERS', 5);
const SOCKETS = num('SOCKETS', 10000);
const SHARDS = num('SHARDS', 4);
const STEPS = (process.env.STEPS ?? '1000,5000,10000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0 && n <= SOCKETS);
if (STEPS.at(-1) !== SOCKETS) STEPS.push(SOCKETS);
const AGENT_SOCKETS = num('AGENT_SOCKETS', 20);
const JOBS = num('JOBS', 3);
const DOCS = num('DOCS', 1);
const CONNECT_PARALLEL = num('CONNECT_PARALLEL', 50);
const SETTLE_MS = num('SETTLE_SECS', 3) * 1000;
const QUIET_MS = num('QUIET_SECS', 60) * 1000;
const SERVER_PID = process.env.SERVER_PID;
/** `lean` (bench/lean-ws.mjs, the default) or `ws` (the npm package): the subscribers' WebSocket client. */
const CLIENT = process.env.CLIENT ?? 'lean';
if (!['lean', 'ws'].includes(CLIENT)) throw new Error(`CLIENT must be lean or ws, not ${CLIENT}`);

// One page, the policy's number on it (as bench/scaleout.mjs).
const CERTIFICATE = '#let data = json("/data.json")\n= Certificat\nPolice: #data.policy.number\n';
const SUBSCRIPTION = 'subscription { jobEvents { at status done failed total message job { id } } }';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const log = (...a) => console.error(`[subscribers${process.env.SHARD ? ` shard ${process.env.SHARD}` : ''}]`, ...a);
const die = (msg) => {
  console.error(`bench/subscribers.mjs: ${msg}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round2 = (x) => Math.round(x * 100) / 100;

async function gql(token, query, variables = {}, what = 'query') {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  const r = JSON.parse(text);
  if (r.errors?.length) throw new Error(`${what}: ${JSON.stringify(r.errors).slice(0, 1500)}`);
  return r.data;
}

/** Nearest-rank percentiles, in the unit of the samples, rounded to 0.01. */
function stats(samples) {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  if (!n) return { n: 0 };
  const at = (q) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (const x of s) sum += x;
  return { n, min: round2(s[0]), p50: round2(at(0.5)), p90: round2(at(0.9)), p99: round2(at(0.99)), max: round2(s[n - 1]), mean: round2(sum / n) };
}

/** The instants already read: every subscriber of an event gets the same `at`. */
const epochs = new Map();
function epochMs(text) {
  let ms = epochs.get(text);
  if (ms === undefined) {
    ms = parseEpochMs(text);
    if (epochs.size > 10_000) epochs.clear();
    epochs.set(text, ms);
  }
  return ms;
}

/** An RFC 3339 instant in ms since the epoch, keeping the fraction below the millisecond. */
function parseEpochMs(text) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 instant: ${text}`);
  return Date.parse(m[1] + m[3]) + (m[2] ? Number(`0${m[2]}`) * 1000 : 0);
}

/** Now in ms since the epoch, below the millisecond. */
const nowMs = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// /proc readings

function procStatus(pid) {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(VmRSS|VmHWM|Threads):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return { rssMiB: round2(out.VmRSS / 1024), hwmMiB: round2(out.VmHWM / 1024), threads: out.Threads };
}

/** CPU seconds (utime + stime) of a process and of its children that are still running. */
function cpuSeconds(pid) {
  const read = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 };
    } catch {
      return null;
    }
  };
  const own = read(pid)?.cpu ?? 0;
  let kids = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = read(d);
    if (s && s.ppid === Number(pid)) kids += s.cpu;
  }
  return { own, kids };
}

/** Whole-machine CPU counters (jiffies): [total, idle + iowait]. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return [f.reduce((a, b) => a + b, 0), f[3] + f[4]];
}

async function metric(name) {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

// ---------------------------------------------------------------------------------------------
// A shard: its share of the sockets, over IPC.

async function shard() {
  const k = Number(process.env.SHARD);
  const localAddress = `127.0.0.${10 + k}`;
  const url = `${BASE.replace(/^http/, 'ws')}/graphql`;
  const { tokens, agentToken } = JSON.parse(readFileSync(`${WORK}/setup.json`, 'utf8'));
  /** Every socket: {ws, agent, jobs: Map jobId -> {events: [[latencyMs, status, done]], end}} */
  const sockets = [];
  /** Per job, how many subscribers (not agents) saw it end. */
  const endedCount = new Map();
  let closed = 0;
  let errors = 0;
  const errorSamples = [];

  function open(index, agent) {
    return new Promise((resolve) => {
      const token = agent ? agentToken : tokens[index % tokens.length];
      const ws =
        CLIENT === 'ws'
          ? new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, localAddress })
          : new LeanWebSocket(url, 'graphql-transport-ws', { localAddress });
      const s = { ws, agent, jobs: new Map(), acked: false };
      const fail = (why) => {
        errors += 1;
        if (errorSamples.length < 5) errorSamples.push(String(why).slice(0, 300));
        resolve(false);
      };
      const timer = setTimeout(() => {
        fail('no connection_ack within 30 s');
        ws.terminate();
      }, 30_000);
      ws.on('error', (e) => {
        clearTimeout(timer);
        if (!s.acked) fail(e.message);
      });
      ws.on('close', (code, reason) => {
        clearTimeout(timer);
        if (s.acked) {
          closed += 1;
          if (errorSamples.length < 5) errorSamples.push(`closed ${code} ${reason}`);
        } else fail(`closed ${code} ${reason} before connection_ack`);
      });
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      ws.on('message', (data) => {
        const recv = nowMs();
        const msg = JSON.parse(data.toString());
        if (msg.type === 'next') {
          if (msg.payload.errors?.length) {
            errors += 1;
            if (errorSamples.length < 5) errorSamples.push(JSON.stringify(msg.payload.errors).slice(0, 300));
            return;
          }
          const e = msg.payload.data.jobEvents;
          let job = s.jobs.get(e.job.id);
          if (!job) s.jobs.set(e.job.id, (job = { events: [], end: false }));
          job.events.push([recv - epochMs(e.at), e.status, e.done]);
          if (TERMINAL.has(e.status) && !job.end) {
            job.end = true;
            if (!s.agent) endedCount.set(e.job.id, (endedCount.get(e.job.id) ?? 0) + 1);
          }
        } else if (msg.type === 'connection_ack') {
          clearTimeout(timer);
          s.acked = true;
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
          sockets.push(s);
          resolve(true);
        } else if (msg.type === 'ping') {
          ws.send(JSON.stringify({ type: 'pong' }));
        } else if (msg.type === 'error' || msg.type === 'complete') {
          errors += 1;
          if (errorSamples.length < 5) errorSamples.push(`${msg.type}: ${JSON.stringify(msg.payload ?? null).slice(0, 300)}`);
        }
      });
    });
  }

  async function openUpTo(count, agents) {
    const t0 = performance.now();
    let next = 0;
    const plan = [];
    for (let i = 0; i < agents; i++) plan.push(true);
    const have = sockets.filter((s) => !s.agent).length;
    for (let i = have; i < count; i++) plan.push(false);
    let index = have * SHARDS + k; // this shard's sockets are k, k + SHARDS, ...: the users in turn
    async function lane() {
      while (next < plan.length) {
        const agent = plan[next++];
        const user = agent ? 0 : index;
        if (!agent) index += SHARDS;
        await open(user, agent);
      }
    }
    await Promise.all(Array.from({ length: CONNECT_PARALLEL }, lane));
    return { ms: Math.round(performance.now() - t0) };
  }

  const handlers = {
    async open({ count, agents }) {
      return openUpTo(count, agents ?? 0);
    },
    /** How many subscribers (not agents) saw the job end. */
    ended({ jobId }) {
      // Counted as the events come: the coordinator asks every 20 ms, during the delivery.
      return { ended: endedCount.get(jobId) ?? 0 };
    },
    /** Per job: every latency (subscribers), each subscriber's event count, and what agents saw. */
    report({ jobIds }) {
      const out = {};
      for (const jobId of jobIds) {
        const latencies = [];
        const counts = [];
        const firstLatency = [];
        let agentEvents = 0;
        let ended = 0;
        for (const s of sockets) {
          const job = s.jobs.get(jobId);
          if (s.agent) {
            agentEvents += job?.events.length ?? 0;
            continue;
          }
          counts.push(job?.events.length ?? 0);
          if (job?.end) ended += 1;
          for (const [lat] of job?.events ?? []) latencies.push(round2(lat));
          if (job?.events.length) firstLatency.push(round2(job.events[0][0]));
        }
        out[jobId] = { latencies, counts, agentEvents, ended, firstLatency };
      }
      return out;
    },
    state() {
      return { sockets: sockets.length, agents: sockets.filter((s) => s.agent).length, closed, errors, errorSamples, mem: procStatus(process.pid) };
    },
  };

  process.on('message', async ({ id, cmd, args }) => {
    try {
      process.send({ id, ok: await handlers[cmd](args ?? {}) });
    } catch (e) {
      process.send({ id, error: String(e.stack ?? e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The coordinator.

function startShards() {
  const shards = [];
  for (let k = 0; k < SHARDS; k++) {
    // SHARD_NODE_ARGS: extra node options for the client processes (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
    const execArgv = (process.env.SHARD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = fork(new URL(import.meta.url).pathname, ['shard'], { env: { ...process.env, SHARD: String(k) }, execArgv });
    const pending = new Map();
    let nextId = 0;
    child.on('message', ({ id, ok, error }) => {
      const p = pending.get(id);
      pending.delete(id);
      if (error) p.reject(new Error(`shard ${k}: ${error}`));
      else p.resolve(ok);
    });
    child.on('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`shard ${k} exited (${code})`));
    });
    const call = (cmd, args) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, cmd, args });
      });
    shards.push({ child, call });
  }
  return shards;
}

const all = (shards, cmd, args) => Promise.all(shards.map((s, k) => s.call(cmd, typeof args === 'function' ? args(k) : args)));

/** Waits until /metrics counts `n` sockets and subscriptions (or 60 s), then SETTLE_MS. */
async function settle(n) {
  const t0 = performance.now();
  let ws = NaN;
  let subs = NaN;
  while (performance.now() - t0 < 60_000) {
    [ws, subs] = await Promise.all([metric('ws_connections'), metric('graphql_subscriptions_active')]);
    if (ws === n && subs === n) break;
    await sleep(250);
  }
  await sleep(SETTLE_MS);
  return { wsConnections: ws, subscriptionsActive: subs };
}

const GENERATE = `mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id status total } }`;

/** Starts a job and waits until every subscriber saw it end; the timings. */
async function runJob(shards, token, templateId, policyIds, expected) {
  const m0 = machineCpu();
  const c0 = cpuSeconds(SERVER_PID);
  const shardCpu0 = shards.map((s) => cpuSeconds(s.child.pid).own);
  const sent = nowMs();
  const job = (await gql(token, GENERATE, { i: { templateId, policyIds } }, 'generateDocuments')).generateDocuments;
  const answered = nowMs();
  let ended = 0;
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    ended = (await all(shards, 'ended', { jobId: job.id })).reduce((a, r) => a + r.ended, 0);
    if (ended >= expected) break;
    if (ended !== last) {
      last = ended;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > QUIET_MS) {
      log(`job ${job.id}: ${ended} of ${expected} subscribers saw it end; nothing more for ${QUIET_MS / 1000} s`);
      break;
    }
    await sleep(20);
  }
  const allEnded = nowMs();
  const m1 = machineCpu();
  const c1 = cpuSeconds(SERVER_PID);
  const wall = (allEnded - sent) / 1000;
  return {
    job,
    ended,
    mutationMs: round2(answered - sent),
    sentToAllEndedMs: Math.round(allEnded - sent),
    cpu: {
      machineBusyPercent: Math.round((100 * (m1[0] - m0[0] - (m1[1] - m0[1]))) / Math.max(1, m1[0] - m0[0])),
      serverPercentOfOneCore: Math.round((100 * (c1.own - c0.own)) / wall),
      renderChildrenPercentOfOneCore: Math.round((100 * Math.max(0, c1.kids - c0.kids)) / wall),
      shardsPercentOfOneCore: Math.round((100 * shards.reduce((a, s, k) => a + cpuSeconds(s.child.pid).own - shardCpu0[k], 0)) / wall),
    },
  };
}

const commands = {
  async setup() {
    const seed = JSON.parse(readFileSync(`${WORK}/seed.json`, 'utf8'));
    const admin = seed.accessToken;
    const tokens = [admin];
    const users = [];
    const login = async (email) =>
      (await gql(null, `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { email, password: 'bench password 2026' } }, 'login'))
        .login.accessToken;
    for (let u = 1; u <= USERS; u++) {
      const role = u < USERS ? 'MANAGER' : 'AGENT';
      const email = `${role.toLowerCase()}${u}@example.com`;
      await gql(admin, `mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, {
        i: { email, fullName: `Bench ${role} ${u}`, password: 'bench password 2026', role },
      }, 'createUser');
      users.push({ email, role });
      if (role === 'MANAGER') tokens.push(await login(email));
    }
    const agentToken = await login(users.at(-1).email);
    const templateId = (
      await gql(admin, `mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }`, {
        i: { name: 'Certificat subscribers', format: 'PDF', scope: 'POLICY', content: CERTIFICATE },
      }, 'createTemplate')
    ).createTemplate.id;
    const policyIds = (await gql(admin, `query($n: Int!) { policies(first: $n) { edges { node { id } } } }`, { n: Math.max(DOCS, 1) }, 'policies'))
      .policies.edges.map((e) => e.node.id);
    if (policyIds.length < DOCS) throw new Error(`only ${policyIds.length} policies, DOCS=${DOCS}`);
    writeFileSync(`${WORK}/setup.json`, JSON.stringify({ tokens, agentToken, templateId, policyIds }));
    return { users: [{ role: 'ADMIN' }, ...users.map((u) => ({ role: u.role }))].map((u) => u.role), templateId, policies: policyIds.length };
  },

  async run() {
    const { tokens, templateId, policyIds } = JSON.parse(readFileSync(`${WORK}/setup.json`, 'utf8'));
    const admin = tokens[0];
    const shards = startShards();
    const memory = [{ sockets: 0, ...(await settle(0)), server: procStatus(SERVER_PID) }];
    log(`server before any socket: ${JSON.stringify(memory[0])}`);
    const opening = [];
    for (const [i, n] of STEPS.entries()) {
      // Shard k holds sockets k, k + SHARDS, ...: ceil((n - k) / SHARDS) of the first n.
      const t0 = performance.now();
      await all(shards, 'open', (k) => ({ count: Math.ceil((n - k) / SHARDS), agents: i === 0 && k === 0 ? AGENT_SOCKETS : 0 }));
      const ms = Math.round(performance.now() - t0);
      const held = n + AGENT_SOCKETS;
      const seen = await settle(held);
      const states = await all(shards, 'state');
      const errors = states.reduce((a, s) => a + s.errors + s.closed, 0);
      const row = { sockets: n, agentSockets: AGENT_SOCKETS, openMs: ms, ...seen, errors, server: procStatus(SERVER_PID) };
      memory.push(row);
      opening.push(ms);
      log(`${n} subscribers (+${AGENT_SOCKETS} agents) in ${ms} ms: ${JSON.stringify(row)}`);
      if (errors) log(`errors: ${JSON.stringify(states.flatMap((s) => s.errorSamples))}`);
    }

    // Warm-up: every subscription live on the bus (and the render child started).
    const warm = await runJob(shards, admin, templateId, policyIds.slice(0, DOCS), SOCKETS);
    log(`warm-up job: ${warm.ended} of ${SOCKETS} subscribers saw it end, ${warm.sentToAllEndedMs} ms`);
    if (warm.ended < SOCKETS) die(`only ${warm.ended} of ${SOCKETS} subscribers saw the warm-up job end`);
    await sleep(1000);

    const jobs = [];
    for (let j = 0; j < JOBS; j++) {
      const r = await runJob(shards, admin, templateId, policyIds.slice(0, DOCS), SOCKETS);
      log(`job ${j + 1}: ${r.ended} of ${SOCKETS} subscribers saw it end, ${r.sentToAllEndedMs} ms; cpu ${JSON.stringify(r.cpu)}`);
      jobs.push(r);
      await sleep(1000);
    }
    const afterJobs = procStatus(SERVER_PID);
    const ids = jobs.map((r) => r.job.id);
    const reports = await all(shards, 'report', { jobIds: [warm.job.id, ...ids] });
    const states = await all(shards, 'state');
    for (const s of shards) s.child.disconnect();

    const expectedEvents = DOCS + 2; // queued, one per item, the final state
    const perJob = jobs.map((r, j) => {
      const id = ids[j];
      const latencies = reports.flatMap((rep) => rep[id].latencies);
      const counts = reports.flatMap((rep) => rep[id].counts);
      const firsts = reports.flatMap((rep) => rep[id].firstLatency);
      return {
        jobId: id,
        mutationMs: r.mutationMs,
        sentToAllEndedMs: r.sentToAllEndedMs,
        cpu: r.cpu,
        subscribersEnded: r.ended,
        subscribersWithEveryEvent: counts.filter((c) => c === expectedEvents).length,
        subscribersWithFewer: counts.filter((c) => c < expectedEvents).length,
        subscribersWithMore: counts.filter((c) => c > expectedEvents).length,
        agentEvents: reports.reduce((a, rep) => a + rep[id].agentEvents, 0),
        latency: stats(latencies),
        firstEventLatency: stats(firsts),
      };
    });
    const everyLatency = jobs.flatMap((_, j) => reports.flatMap((rep) => rep[ids[j]].latencies));
    return {
      sockets: SOCKETS,
      agentSockets: AGENT_SOCKETS,
      shards: SHARDS,
      users: tokens.length,
      docs: DOCS,
      expectedEvents,
      memory,
      afterJobs,
      warmup: { sentToAllEndedMs: warm.sentToAllEndedMs, ended: warm.ended, cpu: warm.cpu },
      jobs: perJob,
      latency: stats(everyLatency),
      subscribersWithEveryEvent: perJob.reduce((a, j) => Math.min(a, j.subscribersWithEveryEvent), SOCKETS),
      agentEvents: perJob.reduce((a, j) => a + j.agentEvents, 0),
      clients: states.map((s) => ({ sockets: s.sockets, closed: s.closed, errors: s.errors, errorSamples: s.errorSamples, mem: s.mem })),
    };
  },

  shard,
};

const cmd = process.argv[2];
if (!commands[cmd]) die(`unknown command ${JSON.stringify(cmd)}; one of: ${Object.keys(commands).join(', ')}`);
if (cmd === 'shard') {
  await shard();
} else {
  try {
    console.log(JSON.stringify(await commands[cmd]()));
    process.exit(0);
  } catch (e) {
    die(`${cmd}: ${e.stack ?? e}`);
  }
}
