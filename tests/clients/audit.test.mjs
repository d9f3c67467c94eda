// GraphQL-over-HTTP conformance: graphql-http's server audit against a running server.
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql npm test --prefix tests/clients
//
// Every result that is not 'ok' is printed with its id, name and reason. A 'warn'
// (failed SHOULD) or 'error' (failed MUST) fails the test; a 'notice' (failed MAY) is only
// printed. Without GRAPHQL_URL the test is skipped.
//
// The audit sends its own requests, many malformed on purpose (bad JSON, wrong media types,
// missing or invalid queries): they test the transport, not client operations, so they are not
// in operations/*.graphql (where apollo.test.mjs and documents.test.mjs read theirs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditServer } from 'graphql-http';

const url = process.env.GRAPHQL_URL;
const skip = url ? false : 'GRAPHQL_URL is not set (e.g. GRAPHQL_URL=http://127.0.0.1:8000/graphql)';
if (skip) console.log(`skipping the graphql-http audit: ${skip}`);

/** Status, content type and the start of the body of a failed audit's response. */
async function describeResponse(res) {
  if (!res) return '';
  let text = '';
  if (!res.bodyUsed) {
    try {
      text = (await res.text()).replace(/\s+/g, ' ').slice(0, 300);
    } catch {
      text = '<unreadable body>';
    }
  }
  const type = res.headers.get('content-type') ?? '<none>';
  return `HTTP ${res.status}, content-type ${type}${text ? `, body ${text}` : ''}`;
}

test('graphql-http server audit (GraphQL over HTTP)', { skip }, async () => {
  let results;
  try {
    results = await auditServer({ url });
  } catch (err) {
    // auditServer throws only on fatal problems, e.g. the server is not reachable.
    assert.fail(`graphql-http audit could not run against ${url}: ${err?.cause?.message ?? err}`);
  }

  const notOk = results.filter((r) => r.status !== 'ok');
  for (const r of notOk) {
    console.log(`[${r.status}] ${r.id} ${r.name}\n    reason: ${r.reason}\n    ${await describeResponse(r.response)}`);
  }
  const count = (status) => results.filter((r) => r.status === status).length;
  console.log(
    `graphql-http audit of ${url}: ${results.length} audits, ${count('ok')} ok, ` +
      `${count('notice')} notice, ${count('warn')} warn, ${count('error')} error`,
  );

  const failing = notOk.filter((r) => r.status === 'warn' || r.status === 'error');
  assert.deepEqual(
    failing.map((r) => `[${r.status}] ${r.id} ${r.name}: ${r.reason}`),
    [],
    `${failing.length} graphql-http audit(s) failed (warn or error)`,
  );
});
