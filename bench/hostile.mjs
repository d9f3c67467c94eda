// Hostile requests, kind by kind, against a running server; prints one JSON line per kind with the
// server's resident memory (VmRSS of SERVER_PID, KiB) before and after. Run by bench/hostile.sh.
//
// Kinds (N of each, default 5,000; CONCURRENCY at once):
//   apq          anonymous APQ registrations of distinct queries, 64 KiB each
//   apq-invalid  anonymous APQ registrations of distinct texts that fail validation
//   batch        anonymous batches of 10 operations (each counts against the rate limit)
//   body         anonymous JSON bodies of 4 MiB (over MAX_BODY_BYTES)
//   ready        GET /health/ready
//   ws-ghost     jobProgress subscriptions to made-up job ids (one socket per 20, signed in)
//   ws-anon      anonymous sockets sending `register` mutations
//   upload       anonymous multipart uploads of 1 MiB
import { readFileSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const BASE = process.env.BASE_URL;
const PID = process.env.SERVER_PID;
const N = Number(process.env.N ?? 5000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const URL_GQL = `${BASE}/graphql`;

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${PID}/status`, 'utf8'))[1]);
const sha = (s) => createHash('sha256').update(s).digest('hex');

async function pool(n, work) {
  let next = 0;
  const counts = {};
  async function lane() {
    while (next < n) {
      const i = next++;
      let outcome;
      // A refusal sent before the body was read closes the connection under the client's upload.
      try { outcome = await work(i); } catch (e) { outcome = `connection closed (${e.cause?.code ?? e.code ?? e.name})`; }
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return counts;
}

async function post(body, headers = {}) {
  const res = await fetch(URL_GQL, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let code = '';
  try {
    const json = JSON.parse(text);
    const first = Array.isArray(json) ? json.find((r) => r.errors) : json;
    code = first?.errors?.[0]?.extensions?.code ?? '';
  } catch { /* not JSON */ }
  return `${res.status}${code ? ' ' + code : ''}`;
}

async function signUp() {
  const email = `bench-${randomUUID()}@hostile.test`;
  const body = JSON.stringify({
    query: 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }',
    variables: { i: { organizationName: 'Hostile', email, password: 'correct horse battery', fullName: 'H' } },
  });
  const res = await fetch(URL_GQL, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = await res.json();
  return json.data.register.accessToken;
}

function socket(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL_GQL.replace('http', 'ws'), 'graphql-transport-ws', { perMessageDeflate: false });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} })));
    ws.on('message', (m) => { if (JSON.parse(m).type === 'connection_ack') resolve(ws); });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

/// Sends `count` operations on one socket and waits for each one's first answer.
function operations(ws, count, payload) {
  return new Promise((resolve) => {
    const codes = {};
    let left = count;
    ws.on('message', (raw) => {
      const m = JSON.parse(raw);
      if (m.type !== 'next' && m.type !== 'error') return;
      const errors = m.type === 'error' ? m.payload : m.payload.errors;
      const code = errors?.[0]?.extensions?.code ?? 'ok';
      codes[code] = (codes[code] ?? 0) + 1;
      if (--left === 0) resolve(codes);
    });
    for (let i = 0; i < count; i++) ws.send(JSON.stringify({ id: `o${i}`, type: 'subscribe', payload: payload(i) }));
  });
}

const kinds = {
  apq: () => pool(N, (i) => {
    const query = `{ __typename ${' '.repeat(64 * 1024)} } # ${i}`;
    return post(JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha(query) } } }));
  }),
  'apq-invalid': () => pool(N, (i) => {
    const query = `{ noSuchField${i} ${' '.repeat(64 * 1024)} }`;
    return post(JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha(query) } } }));
  }),
  batch: () => pool(N, () => post(JSON.stringify(Array.from({ length: 10 }, () => ({ query: '{ __typename }' }))))),
  body: () => pool(Math.min(N, 500), () => post(`{"query": "{ __typename }", "pad": "${'x'.repeat(4 * 1024 * 1024)}"}`)),
  ready: () => pool(N, async () => (await fetch(`${BASE}/health/ready`)).status),
  'ws-ghost': async () => {
    const token = await signUp();
    const perSocket = 20;
    const counts = {};
    await pool(Math.ceil(N / perSocket), async () => {
      const ws = await socket(token);
      const codes = await operations(ws, perSocket, () => ({
        query: 'subscription($id: ID!) { jobProgress(jobId: $id) { status } }',
        variables: { id: Buffer.from(`Job:${randomUUID()}`).toString('base64url') },
      }));
      for (const [k, v] of Object.entries(codes)) counts[k] = (counts[k] ?? 0) + v;
      ws.close();
      return 'socket';
    });
    return counts;
  },
  'ws-anon': async () => {
    const counts = {};
    await pool(Math.ceil(N / 10), async () => {
      const ws = await socket(null);
      const codes = await operations(ws, 10, () => ({
        query: 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }',
        variables: { i: { organizationName: 'Spam', email: `spam-${randomUUID()}@hostile.test`, password: 'correct horse battery', fullName: 'S' } },
      }));
      for (const [k, v] of Object.entries(codes)) counts[k] = (counts[k] ?? 0) + v;
      ws.close();
      return 'socket';
    });
    return counts;
  },
  upload: () => pool(Math.min(N, 1000), async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation($f: Upload!) { __typename }', variables: { f: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.f'] }));
    form.set('0', new Blob([new Uint8Array(1024 * 1024)]), 'a.bin');
    const res = await fetch(URL_GQL, { method: 'POST', headers: { 'apollo-require-preflight': 'true' }, body: form });
    await res.arrayBuffer();
    return res.status;
  }),
};

const only = (process.env.KINDS ?? Object.keys(kinds).join(',')).split(',');
for (const kind of only) {
  global.gc?.();
  const before = rssKiB();
  const started = Date.now();
  const outcomes = await kinds[kind]();
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKiB();
  console.log(JSON.stringify({ kind, before, after, seconds: (Date.now() - started) / 1000, outcomes }));
}
