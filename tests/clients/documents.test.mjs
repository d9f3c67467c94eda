// Documents as a new Apollo Client user makes them, against a running server:
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql PYTHON=$(bash .ci/python-env) npm test --prefix tests/clients
//
// One Apollo Client with a split link: queries and mutations over HTTP (an auth link adds the
// bearer token), subscriptions over graphql-ws (`graphql-transport-ws`, the token in
// connection_init). A fresh organization per run:
//   1. a Typst certificate template → generateDocument for a policy → jobProgress until
//      SUCCEEDED (progress never goes backwards, the stream completes) → the signed downloadUrl
//      (no token) serves a real PDF whose text (pypdf) holds the policy number; the same
//      idempotencyKey answers the same job;
//   2. 25 policies → an XLSX REPORT template (money, date and text columns, a totals row) →
//      generateReport over them → jobProgress until SUCCEEDED → the workbook opens in openpyxl
//      with one typed row per policy (numeric money cells, real dates), a frozen header, an
//      autofilter and a SUM totals row;
//   3. another organization subscribing to that job gets NOT_FOUND and nothing of the job.
// The files are read by check_documents.py (openpyxl, pypdf: requirements.txt) under $PYTHON
// (default python3); without those modules the tests fail, they do not skip. Without
// GRAPHQL_URL the tests are skipped. Every operation sent is read from operations/*.graphql
// (operations.mjs), the documents that .ci/schema-check validates against schema.graphql.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// Apollo Client 3 has no package "exports" map: its ES module entry points are imported by file.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, split } from '@apollo/client/core/index.js';
import { setContext } from '@apollo/client/link/context/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { getMainDefinition } from '@apollo/client/utilities/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { fragment, operation } from './operations.mjs';

loadDevMessages();
loadErrorMessages();

// Node 20 has no global WebSocket. graphql-ws takes `webSocketImpl`, but Apollo's GraphQLWsLink
// reads the global `WebSocket.CLOSED` when the server refuses a subscription with an `error`
// message (e.g. GRAPHQL_VALIDATION_FAILED): without a global, the app gets
// "ReferenceError: WebSocket is not defined" instead of the server's errors.
globalThis.WebSocket ??= WebSocket;

const url = process.env.GRAPHQL_URL;
const skip = url ? false : 'GRAPHQL_URL is not set (e.g. GRAPHQL_URL=http://127.0.0.1:8000/graphql)';
if (skip) console.log(`skipping the documents journey: ${skip}`);

const PYTHON = process.env.PYTHON ?? 'python3';
const CHECK_DOCUMENTS = join(dirname(fileURLToPath(import.meta.url)), 'check_documents.py');
const PASSWORD = 'documents-journey-password-1';
const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
/** How long a job may take from generate* to its terminal event. */
const JOB_TIMEOUT_MS = 60_000;
const REPORT_POLICIES = 25;

/** ws(s)://…/graphql for an http(s)://…/graphql URL. */
function wsUrlOf(httpUrl) {
  const u = new URL(httpUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/**
 * An Apollo Client for one user: HTTP for queries and mutations (the auth link reads `auth.token`
 * on every request), graphql-ws for subscriptions (the token in connection_init, read when a
 * socket opens; the socket is lazy: opened by the first subscription, closed after the last).
 */
function makeClient() {
  const auth = { token: null };
  const authLink = setContext((_operation, { headers }) => ({
    headers: auth.token ? { ...headers, authorization: `Bearer ${auth.token}` } : headers,
  }));
  const httpLink = ApolloLink.from([authLink, new HttpLink({ uri: url, fetch: globalThis.fetch })]);
  const wsClient = createClient({
    url: wsUrlOf(url),
    webSocketImpl: WebSocket,
    connectionParams: () => ({ authorization: `Bearer ${auth.token}` }),
    // A test reports a failed socket rather than reconnecting behind its back.
    retryAttempts: 0,
  });
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(wsClient),
    httpLink,
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
  return { client, auth, wsClient };
}

/** extensions.code of every GraphQL error of an Apollo result or ApolloError. */
const codes = (result) => (result.errors ?? result.graphQLErrors ?? []).map((e) => e.extensions?.code);

/** Fails with the server's errors when an Apollo result carries any. */
function assertNoErrors(result, what) {
  assert.deepEqual(
    (result.errors ?? []).map((e) => `${e.extensions?.code}: ${e.message} at ${e.path?.join('.')}`),
    [],
    `${what} answered errors`,
  );
}

/** A mutation that must succeed; returns its data. */
async function mutate(client, mutation, variables, what) {
  const res = await client.mutate({ mutation, variables, errorPolicy: 'all' });
  assertNoErrors(res, what);
  return res.data;
}

/** Runs check_documents.py; a missing module or a bad file fails with the script's message. */
async function checkDocuments(command, file) {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [CHECK_DOCUMENTS, command, file], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const why = e.code === 'ENOENT' ? `${PYTHON} not found` : (e.stderr || e.message).trim();
    assert.fail(
      `check_documents.py ${command} failed under PYTHON=${PYTHON}: ${why}\n` +
        '(the document checks need openpyxl and pypdf: PYTHON=$(bash .ci/python-env), ' +
        'or pip install -r tests/clients/requirements.txt)',
    );
  }
}

/** The PDF's text as pypdf extracts it, with Typst's typographic hyphens as ASCII ones. */
async function pdfText(file) {
  const text = await checkDocuments('pdf-text', file);
  return text.replace(/[\u2010\u2011\u2012\u2013\u2212]/g, '-').replace(/\u00ad/g, '');
}

const REGISTER = operation('Register');
const CREATE_COMPANY = operation('CreateCompany');
const CREATE_CLIENT = operation('CreateClient');
const CREATE_POLICY = operation('CreatePolicy');
const CREATE_TEMPLATE = operation('CreateTemplate');
const GENERATE_DOCUMENT = operation('GenerateDocument');
const GENERATE_REPORT = operation('GenerateReport');
const JOB_PROGRESS = operation('JobProgress');
/** The job with its documents and their signed links (the default first 20, ttlSeconds 300). */
const JOB_DOCUMENTS = operation('Job');
/** What a Job entry of the cache holds after GenerateDocument/GenerateReport. */
const JOB_FIELDS = fragment('JobFields');

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const STATUS_RANK = { QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELLED: 2 };
/** An event in a line, for failure messages. */
const brief = (e) => `${e.status} ${e.done}/${e.total} (${e.progress})${e.message ? ` ${e.message}` : ''}`;

/**
 * Subscribes to jobProgress(jobId) and collects its events until the terminal one, then waits
 * (5 s) for the stream to complete. Fails with the events so far when no terminal event comes
 * within JOB_TIMEOUT_MS, or when the subscription errors.
 */
function watchJob(client, jobId) {
  const events = [];
  return new Promise((resolve, reject) => {
    let subscription;
    let grace;
    const timer = setTimeout(() => {
      subscription?.unsubscribe();
      reject(
        new Error(
          `jobProgress(${jobId}) reached no terminal status within ${JOB_TIMEOUT_MS / 1000}s; ` +
            `events so far: [${events.map(brief).join('; ')}]`,
        ),
      );
    }, JOB_TIMEOUT_MS);
    const finish = (completed) => {
      clearTimeout(timer);
      clearTimeout(grace);
      if (!completed) subscription?.unsubscribe();
      resolve({ events, completed });
    };
    subscription = client
      .subscribe({ query: JOB_PROGRESS, variables: { jobId }, errorPolicy: 'all' })
      .subscribe({
        next(result) {
          if (result.errors?.length || !result.data?.jobProgress) {
            clearTimeout(timer);
            subscription?.unsubscribe();
            reject(new Error(`jobProgress(${jobId}) answered ${JSON.stringify(result)}`));
            return;
          }
          const event = result.data.jobProgress;
          events.push(event);
          if (TERMINAL.includes(event.status) && !grace) grace = setTimeout(() => finish(false), 5_000);
        },
        error(err) {
          clearTimeout(timer);
          clearTimeout(grace);
          const after = events.map(brief).join('; ');
          reject(new Error(`jobProgress(${jobId}) failed after [${after}]: ${err.message}`, { cause: err }));
        },
        complete() {
          finish(true);
        },
      });
  });
}

/** The checks every job's event stream passes: one job, forwards only, ends SUCCEEDED and completes. */
function assertSucceededStream({ events, completed }, jobId, total) {
  const seen = `events: [${events.map(brief).join('; ')}]`;
  assert.ok(events.length >= 1, 'the first event is the job state at once');
  assert.ok(completed, `the stream completes after the terminal event; ${seen}`);
  for (const e of events) {
    assert.equal(e.__typename, 'JobEvent');
    assert.equal(e.job.id, jobId, `every event is about job ${jobId}`);
    assert.ok(e.progress >= 0 && e.progress <= 1, `progress in [0, 1]; ${seen}`);
    assert.equal(e.total, total, `total; ${seen}`);
    assert.ok(!Number.isNaN(Date.parse(e.at)), `at is a DateTime: ${e.at}`);
  }
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1], events[i]];
    assert.ok(b.progress >= a.progress, `progress never goes backwards; ${seen}`);
    assert.ok(b.done >= a.done, `done never goes backwards; ${seen}`);
    assert.ok(STATUS_RANK[b.status] >= STATUS_RANK[a.status], `status never goes backwards; ${seen}`);
  }
  const last = events.at(-1);
  assert.equal(last.status, 'SUCCEEDED', `the job succeeded; ${seen}`);
  assert.deepEqual(
    { progress: last.progress, done: last.done, failed: last.failed },
    { progress: 1, done: total, failed: 0 },
    `the terminal event; ${seen}`,
  );
  assert.equal(events.filter((e) => TERMINAL.includes(e.status)).length, 1, `one terminal event, the last; ${seen}`);
}

/**
 * Reads the job's one document and downloads it through its downloadUrl with no token,
 * checking what the document says of itself (content type, size, sha256) against the bytes.
 */
async function downloadOnlyDocument(client, jobId, { format, mimeType, extension }) {
  const res = await client.query({ query: JOB_DOCUMENTS, variables: { id: jobId }, errorPolicy: 'all' });
  assertNoErrors(res, 'job { documents }');
  const job = res.data.job;
  assert.equal(job.status, 'SUCCEEDED', `job(id) agrees with the stream: ${JSON.stringify(job)}`);
  assert.equal(job.progress, 1);
  assert.ok(job.finishedAt, 'a finished job has finishedAt');
  assert.equal(job.documents.totalCount, 1, `one document: ${JSON.stringify(job.documents)}`);
  const doc = job.documents.nodes[0];
  assert.equal(doc.format, format);
  assert.ok(doc.mimeType.startsWith(mimeType), `mimeType ${doc.mimeType}`);
  assert.ok(doc.fileName.endsWith(extension), `fileName ${doc.fileName}`);

  // A path without PUBLIC_BASE_URL: relative to the API's address.
  const link = new URL(doc.downloadUrl, url);
  assert.match(link.pathname, /^\/files\//, `downloadUrl ${doc.downloadUrl}`);
  const response = await fetch(link); // no Authorization header: the signature is the credential
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, `GET ${link}: ${bytes.subarray(0, 300).toString()}`);
  const contentType = response.headers.get('content-type') ?? '';
  assert.ok(contentType.startsWith(mimeType), `Content-Type ${contentType}`);
  assert.match(response.headers.get('content-disposition') ?? '', /^attachment/);
  assert.equal(bytes.length, doc.sizeBytes, 'sizeBytes is the downloaded size');
  assert.equal(createHash('sha256').update(bytes).digest('hex'), doc.sha256, 'sha256 is the downloaded file’s');
  return { doc, bytes };
}

/** A POLICY certificate in Typst: the data file, the policy number, holder, insurer and premium. */
const CERTIFICATE = [
  '#let data = json("/data.json")',
  '#set page(paper: "a4")',
  "= Certificat d'assurance",
  '',
  'Police: #data.policy.number',
  '',
  'Assuré: #data.client.lastName',
  '',
  'Assureur: #data.company.name',
  '',
  'Prime: #data.policy.premium #data.policy.currency',
  '',
  'Du #data.policy.effectiveDate au #data.policy.expiryDate',
  '',
].join('\n');

/** A REPORT sheet spec: one row per policy (text, money and date columns) and a totals row. */
const BORDEREAU = JSON.stringify({
  sheets: [
    {
      name: 'Bordereau',
      columns: [
        { header: 'Police', field: 'policy.number', format: 'text', width: 28 },
        { header: 'Assuré', field: 'client.lastName', format: 'text' },
        { header: 'Assureur', field: 'company.name', format: 'text' },
        { header: 'Prime', field: 'policy.premium', format: 'money' },
        { header: 'Effet', field: 'policy.effectiveDate', format: 'date' },
        { header: 'Échéance', field: 'policy.expiryDate', format: 'date' },
      ],
      totals: true,
    },
  ],
});

const SUITE = 'Apollo Client: a certificate PDF and an XLSX bordereau, watched over graphql-ws';

describe(SUITE, { skip, timeout: 240_000 }, () => {
  const a = makeClient();
  const b = makeClient();
  let holder;
  let work;
  let reportJob;
  const warnings = [];
  const consoleWarn = console.warn;
  const consoleError = console.error;

  before(async () => {
    // Apollo reports cache-write problems through console.warn/console.error: collect them.
    console.warn = (...args) => {
      warnings.push(args.map(String).join(' '));
      consoleWarn(...args);
    };
    console.error = (...args) => {
      warnings.push(args.map(String).join(' '));
      consoleError(...args);
    };
    work = await mkdtemp(join(tmpdir(), 'ma-documents-'));
  });

  after(async () => {
    console.warn = consoleWarn;
    console.error = consoleError;
    for (const { client, wsClient } of [a, b]) {
      client.stop();
      await wsClient.dispose();
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the document checks have pypdf and openpyxl (PYTHON, default python3)', async () => {
    try {
      await promisify(execFile)(PYTHON, ['-c', 'import openpyxl, pypdf']);
    } catch (e) {
      const why = e.code === 'ENOENT' ? `${PYTHON} not found` : (e.stderr || e.message).trim();
      assert.fail(
        `PYTHON=${PYTHON} cannot import openpyxl and pypdf: ${why}\n` +
          'run with PYTHON=$(bash .ci/python-env), or pip install -r tests/clients/requirements.txt',
      );
    }
  });

  test('register a fresh organization, with a company and a client', async () => {
    const email = `documents-${run}@example.com`;
    const reg = await mutate(
      a.client,
      REGISTER,
      { input: { organizationName: `Documents ${run}`, email, password: PASSWORD, fullName: 'Dora Documents' } },
      'register',
    );
    assert.equal(reg.register.user.role, 'ADMIN');
    a.auth.token = reg.register.accessToken;

    holder = (
      await mutate(
        a.client,
        CREATE_CLIENT,
        { input: { kind: 'PERSON', firstName: 'Aminata', lastName: `Ndiaye-${run}` } },
        'createClient',
      )
    ).createClient;
    assert.equal(holder.__typename, 'Client');
  });

  test('a Typst certificate: generateDocument, jobProgress until SUCCEEDED, a PDF with the policy number', async () => {
    assert.ok(holder, 'the organization of the previous step');
    const { client } = a;
    const company = (
      await mutate(
        client,
        CREATE_COMPANY,
        { input: { name: `Assurances du Golfe ${run}`, code: 'ADG' } },
        'createCompany',
      )
    ).createCompany;
    const number = `CERT-${run}-0001`;
    const policy = (
      await mutate(
        client,
        CREATE_POLICY,
        {
          input: {
            number,
            clientId: holder.id,
            companyId: company.id,
            productName: 'Auto tous risques',
            productType: 'AUTO',
            premium: '125000.50',
            currency: 'EUR',
            effectiveDate: '2026-01-01',
            expiryDate: '2027-01-01',
          },
        },
        'createPolicy',
      )
    ).createPolicy;

    const template = (
      await mutate(
        client,
        CREATE_TEMPLATE,
        {
          input: {
            name: `Certificat ${run}`,
            description: 'Certificat d’assurance (Typst)',
            format: 'PDF',
            scope: 'POLICY',
            content: CERTIFICATE,
            changelog: 'first version',
          },
        },
        'createTemplate (Typst PDF)',
      )
    ).createTemplate;
    assert.deepEqual(
      {
        format: template.format,
        scope: template.scope,
        isActive: template.isActive,
        version: template.currentVersion?.version,
      },
      { format: 'PDF', scope: 'POLICY', isActive: true, version: 1 },
    );

    const started = Date.now();
    const queued = (
      await mutate(
        client,
        GENERATE_DOCUMENT,
        { input: { templateId: template.id, policyId: policy.id, idempotencyKey: `cert-${run}` } },
        'generateDocument',
      )
    ).generateDocument;
    assert.equal(queued.__typename, 'Job');
    assert.equal(queued.kind, 'DOCUMENT');
    assert.equal(queued.total, 1);
    // Subscribed right after: the first event is the job's state then, however far it got.
    const stream = await watchJob(client, queued.id);
    assertSucceededStream(stream, queued.id, 1);
    console.log(
      `certificate job: ${Date.now() - started} ms, events [${stream.events.map(brief).join('; ')}]`,
    );

    // The events were written to Apollo's cache: the Job entry shows the final state.
    const cached = client.cache.readFragment({
      id: client.cache.identify({ __typename: 'Job', id: queued.id }),
      fragment: JOB_FIELDS,
      fragmentName: 'JobFields',
    });
    assert.ok(cached, 'the Job entry is in the cache');
    assert.deepEqual(
      { __typename: cached.__typename, status: cached.status, progress: cached.progress },
      { __typename: 'Job', status: 'SUCCEEDED', progress: 1 },
    );

    const { doc, bytes } = await downloadOnlyDocument(client, queued.id, {
      format: 'PDF',
      mimeType: 'application/pdf',
      extension: '.pdf',
    });
    assert.equal(doc.policy?.id, policy.id, 'the document is about the policy');
    assert.equal(doc.policy?.number, number);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF file');

    const file = join(work, 'certificate.pdf');
    await writeFile(file, bytes);
    const text = await pdfText(file);
    assert.ok(text.includes(number), `the policy number ${number} is in the PDF's text: ${JSON.stringify(text)}`);
    assert.ok(text.includes(holder.lastName), `the holder is in the PDF's text: ${JSON.stringify(text)}`);
    assert.ok(text.includes(company.name), `the insurer is in the PDF's text: ${JSON.stringify(text)}`);
    assert.ok(text.includes('125000.50'), `the premium is in the PDF's text: ${JSON.stringify(text)}`);

    // The same idempotency key answers the same job, not a second one.
    const again = (
      await mutate(
        client,
        GENERATE_DOCUMENT,
        { input: { templateId: template.id, policyId: policy.id, idempotencyKey: `cert-${run}` } },
        'generateDocument (retried)',
      )
    ).generateDocument;
    assert.equal(again.id, queued.id, 'a retried generateDocument with its idempotencyKey returns the first job');
  });

  test(`an XLSX bordereau over ${REPORT_POLICIES} policies: generateReport, jobProgress, typed cells`, async () => {
    assert.ok(holder, 'the organization of the previous steps');
    const { client } = a;
    // Its own insurer, so the report's filter selects exactly these policies.
    const company = (
      await mutate(client, CREATE_COMPANY, { input: { name: `Bordereau Re ${run}`, code: 'BRE' } }, 'createCompany')
    ).createCompany;
    const policies = [];
    for (let i = 1; i <= REPORT_POLICIES; i++) {
      const month = String(((i - 1) % 12) + 1).padStart(2, '0');
      const day = String(((i * 7) % 28) + 1).padStart(2, '0');
      const p = (
        await mutate(
          client,
          CREATE_POLICY,
          {
            input: {
              number: `BDX-${run}-${String(i).padStart(4, '0')}`,
              clientId: holder.id,
              companyId: company.id,
              productName: `Produit ${i}`,
              productType: ['AUTO', 'HOME', 'HEALTH', 'TRAVEL'][i % 4],
              premium: `${50000 + i * 1234}.${String((i * 37) % 100).padStart(2, '0')}`,
              currency: 'EUR',
              effectiveDate: `2026-${month}-${day}`,
              expiryDate: `2027-${month}-${day}`,
            },
          },
          `createPolicy ${i}`,
        )
      ).createPolicy;
      policies.push(p);
    }

    const template = (
      await mutate(
        client,
        CREATE_TEMPLATE,
        {
          input: {
            name: `Bordereau ${run}`,
            format: 'XLSX',
            scope: 'REPORT',
            content: BORDEREAU,
            changelog: 'first version',
          },
        },
        'createTemplate (XLSX REPORT)',
      )
    ).createTemplate;
    assert.deepEqual({ format: template.format, scope: template.scope }, { format: 'XLSX', scope: 'REPORT' });

    const started = Date.now();
    const queued = (
      await mutate(
        client,
        GENERATE_REPORT,
        { input: { templateId: template.id, filter: { companyId: company.id } } },
        'generateReport',
      )
    ).generateReport;
    reportJob = queued;
    assert.equal(queued.kind, 'REPORT');
    assert.equal(queued.total, 1, 'a report is one document over all its policies');
    const stream = await watchJob(client, queued.id);
    assertSucceededStream(stream, queued.id, 1);
    console.log(`report job: ${Date.now() - started} ms, events [${stream.events.map(brief).join('; ')}]`);

    const { doc, bytes } = await downloadOnlyDocument(client, queued.id, {
      format: 'XLSX',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      extension: '.xlsx',
    });
    assert.equal(doc.policy, null, 'a report is about no single policy');
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'an XLSX file is a zip archive');

    const file = join(work, 'bordereau.xlsx');
    await writeFile(file, bytes);
    const book = JSON.parse(await checkDocuments('xlsx', file));
    assert.deepEqual(book.sheets.map((s) => s.name), ['Bordereau']);
    const sheet = book.sheets[0];
    const rows = new Map();
    for (const cell of sheet.cells) {
      if (!rows.has(cell.row)) rows.set(cell.row, {});
      rows.get(cell.row)[cell.ref.replace(/\d+$/, '')] = cell;
    }

    const header = rows.get(1);
    assert.deepEqual(
      ['A', 'B', 'C', 'D', 'E', 'F'].map((c) => header[c]?.value),
      ['Police', 'Assuré', 'Assureur', 'Prime', 'Effet', 'Échéance'],
      'the header row',
    );
    assert.ok(Object.values(header).every((c) => c.bold), 'a bold header');
    assert.equal(sheet.freeze_panes, 'A2', 'the header row is frozen');
    const last = REPORT_POLICIES + 1;
    assert.equal(sheet.auto_filter, `A1:F${last}`, 'an autofilter over the header and the data');
    assert.equal(sheet.max_row, last + 1, `a header, ${REPORT_POLICIES} data rows and a totals row`);

    const byNumber = new Map(policies.map((p) => [p.number, p]));
    const listed = [];
    for (let r = 2; r <= last; r++) {
      const row = rows.get(r);
      assert.ok(row, `data row ${r}`);
      const p = byNumber.get(row.A?.value);
      assert.ok(p, `row ${r} is one of the report's policies: ${JSON.stringify(row.A)}`);
      listed.push(p.number);
      assert.equal(row.A.type, 's');
      assert.equal(row.B.value, holder.lastName, `the holder on row ${r}`);
      assert.equal(row.C.value, company.name, `the insurer on row ${r}`);

      const premium = row.D;
      assert.equal(premium.type, 'n', `the premium on row ${r} is a number cell: ${JSON.stringify(premium)}`);
      assert.equal(typeof premium.value, 'number');
      assert.equal(premium.value, Number(p.premium), `the premium on row ${r}`);
      assert.match(premium.number_format, /0\.00|XAF|\[\$/, `a money format on row ${r}: ${premium.number_format}`);

      for (const [col, field] of [
        ['E', 'effectiveDate'],
        ['F', 'expiryDate'],
      ]) {
        const cell = row[col];
        assert.ok(cell.is_date, `${field} on row ${r} is a date cell: ${JSON.stringify(cell)}`);
        assert.equal(String(cell.value).slice(0, 10), p[field], `${field} on row ${r}`);
      }
    }
    assert.deepEqual(listed.sort(), [...byNumber.keys()].sort(), 'every policy once, and only those');

    // The totals row: a SUM formula over the money column, its cached result the sum of premiums.
    const totals = rows.get(last + 1);
    assert.equal(totals.A?.value, 'Total');
    assert.equal(totals.D.type, 'f');
    assert.equal(totals.D.value, `=SUM(D2:D${last})`);
    const cents = policies.reduce((sum, p) => sum + Math.round(Number(p.premium) * 100), 0);
    assert.ok(Math.abs(totals.D.cached - cents / 100) < 0.005, `the total ${totals.D.cached} is ${cents / 100}`);
    assert.match(totals.D.number_format, /0\.00/);
  });

  test("another organization subscribing to the report's job gets NOT_FOUND and nothing of it", async () => {
    assert.ok(reportJob, 'the report job of the previous step');
    const reg = await mutate(
      b.client,
      REGISTER,
      {
        input: {
          organizationName: `Documents other ${run}`,
          email: `documents-other-${run}@example.com`,
          password: PASSWORD,
          fullName: 'Olga Other',
        },
      },
      'register (other organization)',
    );
    b.auth.token = reg.register.accessToken;

    const outcome = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ timeout: true }), 10_000);
      const subscription = b.client
        .subscribe({ query: JOB_PROGRESS, variables: { jobId: reportJob.id }, errorPolicy: 'all' })
        .subscribe({
          next(result) {
            clearTimeout(timer);
            subscription.unsubscribe();
            resolve({ result });
          },
          error(error) {
            clearTimeout(timer);
            resolve({ error });
          },
          complete() {
            clearTimeout(timer);
            resolve({ completed: true });
          },
        });
    });
    assert.ok(!outcome.timeout, 'the server answered the subscription within 10 s');
    const answered = outcome.result ?? outcome.error;
    assert.ok(answered, `an error, not an empty stream: ${JSON.stringify(outcome)}`);
    assert.deepEqual(
      codes(answered),
      ['NOT_FOUND'],
      `jobProgress of another organization's job: ${outcome.error?.message ?? JSON.stringify(answered)}`,
    );
    assert.equal(outcome.result?.data?.jobProgress ?? null, null, 'no job data');
    const text = JSON.stringify(answered);
    assert.ok(!text.includes('SUCCEEDED') && !text.includes('"total"'), `nothing of the job leaks: ${text}`);
  });

  test('Apollo reported no cache-write problems', () => {
    assert.deepEqual(warnings, [], 'Apollo warnings (missing fields, bad cache writes)');
  });
});
