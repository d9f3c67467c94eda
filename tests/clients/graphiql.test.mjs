// The GraphiQL playground in a real browser with the network cut off: headless Chromium opens
// the server's root, the page must render from the server's own files, run `{ __typename }`
// typed over the example query as a person does (click, Ctrl-A, type, Ctrl-Enter), and try
// nothing outside the server. The queries here are typed into the editor as text, as a person
// types them: they are not client operations, so they are not in operations/*.graphql.
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql npm test --prefix tests/clients
//   SCREENSHOT=1 ... also saves tests/clients/graphiql.png
//
// Needs Chromium (`apt-get install chromium`; CHROMIUM=/path overrides /usr/bin/chromium), driven
// by playwright-core (no browser download). Skipped without GRAPHQL_URL; without Chromium it is
// skipped locally and fails in CI (CI set), where .ci/run installs it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const url = process.env.GRAPHQL_URL;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

let skip = false;
if (!url) skip = 'GRAPHQL_URL is not set (e.g. GRAPHQL_URL=http://127.0.0.1:8000/graphql)';
else if (!haveChromium && !inCi) skip = `no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM)`;
if (skip) console.log(`skipping the GraphiQL browser test: ${skip}`);

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const isLocal = (u) => {
  const parsed = new URL(u);
  return ['data:', 'blob:', 'about:'].includes(parsed.protocol) || LOCAL_HOSTS.has(parsed.hostname);
};

// The CodeMirror 5 editors' contents, read through the editor instance CodeMirror keeps on its element.
const editorValue = (page, selector) =>
  page.$eval(selector, (el) => (el.CodeMirror ? el.CodeMirror.getValue() : el.textContent));
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESULT = '.graphiql-response .result-window';
const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';

/** Puts `text` in a CodeMirror editor the way a person does: click, select all, type. */
async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
  const value = await editorValue(page, selector);
  if (value !== text) {
    // Auto-closed brackets or an autocomplete popup can leave the text differing: set it outright.
    await page.$eval(selector, (el, t) => el.CodeMirror.setValue(t), text);
  }
}

/**
 * GraphiQL parses the query editor 100 ms after a change (debounced), and picks HTTP or the
 * WebSocket from that parse: wait for it before pressing run, as a person's pause would.
 */
async function waitForParse(page) {
  await page.waitForFunction((sel) => {
    const cm = document.querySelector(sel)?.CodeMirror;
    return cm?.documentAST?.loc?.source?.body === cm?.getValue();
  }, QUERY_EDITOR, { timeout: 5_000 });
}

describe('GraphiQL playground, offline, in headless Chromium', { skip }, () => {
  let browser;
  let page;
  const aborted = []; // requests the route refused: anything not on this machine
  const requested = []; // every request the page made
  const pageErrors = [];
  const consoleErrors = [];
  const sockets = []; // { url, sent: [payload] }

  before(async () => {
    assert.ok(haveChromium, `no Chromium at ${executablePath}: CI installs it (apt-get install chromium)`);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({ serviceWorkers: 'block' });
    // The network is "off": only this machine answers.
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (isLocal(u)) return route.continue();
      aborted.push(u);
      return route.abort('internetdisconnected');
    });
    page = await context.newPage();
    page.on('request', (r) => requested.push(r));
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('websocket', (ws) => {
      const socket = { url: ws.url(), sent: [] };
      sockets.push(socket);
      ws.on('framesent', (f) => socket.sent.push(String(f.payload)));
    });
  });

  after(async () => {
    await browser?.close();
  });

  test('the page renders from the server alone; { __typename } typed over the example runs', async () => {
    const root = new URL('/', url).href;
    const resp = await page.goto(root, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-type'] ?? '', /^text\/html;\s*charset=utf-8/i);
    assert.match(resp.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    assert.equal(await page.title(), 'MonAssurance GraphQL');

    await page.waitForSelector(QUERY_EDITOR, { timeout: 30_000 });
    // The first step is shown: a sign-in example, and the Authorization hint in the headers editor.
    assert.match(await editorValue(page, QUERY_EDITOR), /login\(input:/);
    await page.waitForSelector(HEADERS_EDITOR, { timeout: 10_000 });
    assert.match(await editorValue(page, HEADERS_EDITOR), /"Authorization": "Bearer <accessToken>"/);

    // Exactly what a person does, keys only: click in the query editor, select all, type the
    // query over the example, and run it at once with Ctrl-Enter (no pause for GraphiQL's
    // debounced parse: the example's `query Me` may still be its operation name then).
    await page.click(QUERY_EDITOR);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('{ __typename }');
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(
      (sel) => /"__typename": "Query"|"errors"/.test(document.querySelector(sel)?.innerText ?? ''),
      RESULT,
      { timeout: 15_000 },
    );
    const typed = await editorValue(page, QUERY_EDITOR);
    const result = await editorValue(page, `${RESULT} .CodeMirror`);
    assert.match(result, /"__typename": "Query"/, `the result pane for the query ${JSON.stringify(typed)}`);
    assert.doesNotMatch(result, /"errors"/, `the result pane for the query ${JSON.stringify(typed)}`);
    assert.deepEqual(JSON.parse(result), { data: { __typename: 'Query' } });

    // The placeholder token is a hint, never sent.
    const posts = requested.filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql');
    assert.ok(posts.length >= 1, 'the query went to POST /graphql');
    for (const r of posts) assert.equal(r.headers().authorization, undefined, 'the placeholder Authorization was sent');
    assert.deepEqual(pageErrors, [], 'the page threw');
  });

  test('a subscription goes over the WebSocket at /graphql with the token in connection_init', async () => {
    await typeInto(page, HEADERS_EDITOR, '{"Authorization": "Bearer not-a-real-token"}');
    await typeInto(page, QUERY_EDITOR, 'subscription Watch { jobEvents { status } }');
    await waitForParse(page);
    await page.click('.graphiql-execute-button');
    const expected = new URL('/graphql', url);
    expected.protocol = expected.protocol === 'https:' ? 'wss:' : 'ws:';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !sockets.some((s) => s.sent.length > 0)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(sockets.length >= 1, 'the playground opened no WebSocket for a subscription');
    assert.equal(sockets[0].url, expected.href);
    const init = sockets.flatMap((s) => s.sent).map((p) => JSON.parse(p)).find((m) => m.type === 'connection_init');
    if (!init) {
      // The server refused the upgrade (no WebSocket endpoint yet): the client side is checked as far as it goes.
      console.log(`GraphiQL: the WebSocket to ${expected.href} did not open; connection_init not checked`);
      return;
    }
    assert.deepEqual(init.payload, { authorization: 'Bearer not-a-real-token' });
  });

  test('nothing came from outside this machine, and the text is decoded as UTF-8', async () => {
    assert.deepEqual(aborted, [], 'the page tried to reach the internet');
    assert.deepEqual(requested.map((r) => r.url()).filter((u) => !isLocal(u)), []);
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(!text.includes('Â'), 'mojibake ("Â"): the page or a script is not read as UTF-8');
    // GraphiQL rethrows a failed subscription as an unhandled rejection: those are not counted here.
    assert.deepEqual(pageErrors.filter((e) => !/WebSocket|Socket closed/.test(e)), [], 'the page threw');
    assert.deepEqual(
      consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
      'the Content-Security-Policy blocked something',
    );
    if (process.env.SCREENSHOT) {
      const file = fileURLToPath(new URL('./graphiql.png', import.meta.url));
      await page.screenshot({ path: file });
      console.log(`GraphiQL screenshot: ${file}`);
    }
  });
});
