// A claim's journey with a real Apollo Client against a running server:
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql npm test --prefix tests/clients
//
// register → an insurer, a client and a policy in force → declare a claim (numbered
// CLM-<year>-<5 digits>, REPORTED) → attach a photo of the damage (a GraphQL multipart request
// with the CSRF preflight header, as apollo-upload-client sends it) → follow the claim to CLOSED
// (SETTLED with its amount) → read its file back: the events in order, the photo listed and
// downloaded byte for byte, the claim normalised in Apollo's cache. Without GRAPHQL_URL the
// tests are skipped. Operations come from operations/*.graphql.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client/core/index.js';
import { setContext } from '@apollo/client/link/context/index.js';
import { operation } from './operations.mjs';

const url = process.env.GRAPHQL_URL;
const skip = url ? false : 'GRAPHQL_URL is not set (e.g. GRAPHQL_URL=http://127.0.0.1:8000/graphql)';
if (skip) console.log(`skipping the claim journey: ${skip}`);

const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
// A 1×1 PNG: what a phone's photo of a dented bumper is, as far as the server can tell.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

function assertNoErrors(result, what) {
  assert.deepEqual((result.errors ?? []).map((e) => `${e.extensions?.code}: ${e.message}`), [], `${what} answered errors`);
}

describe('Apollo Client: a claim with a photo, followed to CLOSED', { skip, timeout: 60_000 }, () => {
  const auth = { token: null };
  const client = new ApolloClient({
    link: ApolloLink.from([
      setContext((_op, { headers }) => ({ headers: { ...headers, authorization: `Bearer ${auth.token}` } })),
      new HttpLink({ uri: url, fetch: globalThis.fetch }),
    ]),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
  after(() => client.stop());

  const mutate = async (name, variables) => {
    const result = await client.mutate({ mutation: operation(name), variables, errorPolicy: 'all' });
    assertNoErrors(result, name);
    return result.data;
  };

  test('declare, attach, settle, close, read back', async () => {
    const email = `claims-${run}@example.com`;
    const registered = await mutate('Register', {
      input: { organizationName: `Claims ${run}`, email, password: 'claims-journey-password-1', fullName: 'Claims Desk' },
    });
    auth.token = registered.register.accessToken;
    const company = (await mutate('CreateCompany', { input: { name: 'Assureur Mutuel', code: `AM${run.slice(-4)}` } })).createCompany;
    const holder = (await mutate('CreateClient', { input: { kind: 'PERSON', firstName: 'Awa', lastName: 'Ndiaye' } })).createClient;
    const policy = (
      await mutate('CreatePolicy', {
        input: {
          number: `AUTO-${run}`, clientId: holder.id, companyId: company.id, productName: 'Auto Tous Risques',
          productType: 'AUTO', status: 'ACTIVE', premium: '250000', currency: 'XOF',
          effectiveDate: day(-60), expiryDate: day(300),
        },
      })
    ).createPolicy;

    const claim = (
      await mutate('CreateClaim', {
        input: { policyId: policy.id, incidentDate: day(-2), description: 'Pare-choc arrière enfoncé au feu rouge', amountClaimed: '420000' },
      })
    ).createClaim;
    assert.match(claim.number, /^CLM-\d{4}-\d{5}$/);
    assert.equal(claim.status, 'REPORTED');
    assert.equal(claim.currency, 'XOF', "the policy's currency");
    assert.deepEqual(claim.events.map((e) => e.status), ['REPORTED']);

    // The photo, as apollo-upload-client sends it: operations, map, then the file.
    const form = new FormData();
    form.append('operations', JSON.stringify({
      query: print(operation('UploadAttachment')),
      variables: { input: { ownerId: claim.id, file: null, label: 'Photo du choc' } },
    }));
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([PNG], { type: 'image/png' }), 'pare-choc.png');
    const uploaded = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth.token}`, 'apollo-require-preflight': 'true' },
      body: form,
    }).then((r) => r.json());
    assert.deepEqual(uploaded.errors ?? [], [], 'uploadAttachment answered errors');
    const photo = uploaded.data.uploadAttachment;
    assert.equal(photo.mimeType, 'image/png');
    assert.equal(photo.label, 'Photo du choc');

    for (const [status, note, amountSettled] of [
      ['SUBMITTED', 'Déclaré à l’assureur', null],
      ['UNDER_REVIEW', null, null],
      ['APPROVED', 'Expertise reçue', null],
      ['SETTLED', 'Virement reçu', '395000.50'],
      ['CLOSED', null, null],
    ]) {
      const moved = (await mutate('SetClaimStatus', { id: claim.id, status, note, amountSettled })).setClaimStatus;
      assert.equal(moved.status, status);
    }
    // A move the machine does not allow is refused with BAD_USER_INPUT.
    const refused = await client.mutate({
      mutation: operation('SetClaimStatus'), variables: { id: claim.id, status: 'REPORTED' }, errorPolicy: 'all',
    });
    assert.deepEqual(refused.errors.map((e) => e.extensions?.code), ['BAD_USER_INPUT']);

    const file = await client.query({ query: operation('ClaimFile'), variables: { id: claim.id }, errorPolicy: 'all' });
    assertNoErrors(file, 'ClaimFile');
    const read = file.data.claim;
    assert.equal(read.status, 'CLOSED');
    assert.equal(read.amountSettled, '395000', 'XOF has no minor unit: 395000.50 rounds half-even to 395000');
    assert.deepEqual(read.events.map((e) => e.status), ['REPORTED', 'SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'SETTLED', 'CLOSED']);
    assert.equal(read.attachments.totalCount, 1);
    const listed = read.attachments.nodes[0];
    assert.equal(listed.id, photo.id);
    const link = new URL(listed.downloadUrl, url);
    const download = await fetch(link);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition'), /^attachment;/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), PNG, 'the photo comes back byte for byte');

    // Apollo normalised the claim: the cache's copy is the closed one.
    const cached = client.cache.extract()[client.cache.identify({ __typename: 'Claim', id: claim.id })];
    assert.equal(cached?.status, 'CLOSED');
    assert.equal(cached?.number, claim.number);
  });
});
