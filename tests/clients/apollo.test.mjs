// A new user's journey with a real Apollo Client (InMemoryCache, HttpLink over Node's fetch,
// an auth link) against a running server:
//
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql npm test --prefix tests/clients
//
// register → login (deviceName) → refresh-token rotation → create company, client, policy
// (normalised in the cache by __typename + id) → page through policies with fetchMore →
// a second organization sees none of it (NOT_FOUND, empty lists). Every run registers fresh
// organizations with unique e-mails, so it can run against a server that already has data.
// The last two tests pin spec behaviour Apollo relies on: a failed nullable field is `null`,
// and sign-in payloads answer the user's organization. Without GRAPHQL_URL the tests are skipped.
// Every operation sent is read from operations/*.graphql (operations.mjs), the documents that
// .ci/schema-check validates against schema.graphql.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
// Apollo Client 3 has no package "exports" map, so Node's ESM loader cannot resolve the
// directory import '@apollo/client/core'; its ES module entry points are imported by file.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client/core/index.js';
import { setContext } from '@apollo/client/link/context/index.js';
import { relayStylePagination } from '@apollo/client/utilities/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';
import { fragment, operation } from './operations.mjs';

// Apollo's warnings and errors in full text rather than as links.
loadDevMessages();
loadErrorMessages();

const url = process.env.GRAPHQL_URL;
const skip = url ? false : 'GRAPHQL_URL is not set (e.g. GRAPHQL_URL=http://127.0.0.1:8000/graphql)';
if (skip) console.log(`skipping the Apollo Client journey: ${skip}`);

const PASSWORD = 'apollo-journey-password-1';
const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;

/**
 * An Apollo Client for one user. `auth.token` is read on every request (the auth link), so
 * assigning it switches the credentials, as an app does after login or a token refresh.
 */
function makeClient() {
  const auth = { token: null };
  const authLink = setContext((_operation, { headers }) => ({
    headers: auth.token ? { ...headers, authorization: `Bearer ${auth.token}` } : headers,
  }));
  const client = new ApolloClient({
    link: ApolloLink.from([authLink, new HttpLink({ uri: url, fetch: globalThis.fetch })]),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // Merges fetchMore pages into one list per filter/orderBy.
            policies: relayStylePagination(['filter', 'orderBy']),
          },
        },
      },
    }),
    // Every read goes to the server: the test checks the server, the cache is checked explicitly.
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
  return { client, auth };
}

/** extensions.code of every GraphQL error of an Apollo result (errorPolicy: 'all'). */
const codes = (result) => (result.errors ?? []).map((e) => e.extensions?.code);

/** Fails with the server's errors when an Apollo result carries any. */
function assertNoErrors(result, what) {
  assert.deepEqual(
    (result.errors ?? []).map((e) => `${e.extensions?.code}: ${e.message} at ${e.path?.join('.')}`),
    [],
    `${what} answered errors`,
  );
}

const REGISTER = operation('Register');
const LOGIN = operation('Login');
const REFRESH = operation('Refresh');
const ME = operation('Me');
const CREATE_COMPANY = operation('CreateCompany');
const CREATE_CLIENT = operation('CreateClient');
const CREATE_POLICY = operation('CreatePolicy');
const POLICIES = operation('Policies');
const POLICY = operation('Policy');
const NODE = operation('NodeById');
const ME_AND_POLICY = operation('MeAndPolicy');
/** A policy with its client and company, as CreatePolicy and Policies select it. */
const POLICY_ROW = fragment('PolicyRow');

/** Registers a fresh organization and its ADMIN; returns the payload and the e-mail. */
async function register(client, label) {
  const email = `apollo-${label}-${run}@example.com`;
  const res = await client.mutate({
    mutation: REGISTER,
    variables: {
      input: { organizationName: `Apollo ${label} ${run}`, email, password: PASSWORD, fullName: `Apollo ${label}` },
    },
    errorPolicy: 'all',
  });
  assertNoErrors(res, `register (${label})`);
  return { email, payload: res.data.register };
}

describe('Apollo Client: a new user journey', { skip, timeout: 60_000 }, () => {
  // The first organization's user and what they create, shared by the steps below.
  const a = makeClient();
  const b = makeClient();
  let email;
  let userA;
  let company;
  let holder;
  let policy;
  const created = []; // every policy the first organization created, in creation order
  const warnings = [];
  const consoleWarn = console.warn;
  const consoleError = console.error;

  before(() => {
    // Apollo reports cache-write problems (e.g. "Missing field ... while writing result")
    // through console.warn/console.error: print and collect them, and fail on them below.
    console.warn = (...args) => {
      warnings.push(args.map(String).join(' '));
      consoleWarn(...args);
    };
    console.error = (...args) => {
      warnings.push(args.map(String).join(' '));
      consoleError(...args);
    };
  });

  after(() => {
    console.warn = consoleWarn;
    console.error = consoleError;
    a.client.stop();
    b.client.stop();
  });

  test('register, login with deviceName, refresh-token rotation', async () => {
    const reg = await register(a.client, 'a');
    email = reg.email;
    userA = reg.payload.user;
    assert.equal(reg.payload.user.email, email);
    assert.equal(reg.payload.user.role, 'ADMIN');
    assert.equal(reg.payload.user.__typename, 'User');

    const login = await a.client.mutate({
      mutation: LOGIN,
      variables: { email, password: PASSWORD, deviceName: `apollo-test ${run}` },
      errorPolicy: 'all',
    });
    assertNoErrors(login, 'login');
    const session = login.data.login;
    assert.equal(session.user.id, reg.payload.user.id, 'login signs in the registered user');
    assert.equal(session.session.deviceName, `apollo-test ${run}`);
    assert.equal(session.session.current, true);
    assert.notEqual(session.session.id, reg.payload.session.id, 'a login opens a new session');
    assert.ok(session.expiresIn > 0);

    a.auth.token = session.accessToken;
    const me = await a.client.query({ query: ME, errorPolicy: 'all' });
    assertNoErrors(me, 'me after login');
    assert.equal(me.data.me.email, email);

    // Rotation: the refresh token is exchanged for new tokens of the same session.
    const refreshed = await a.client.mutate({
      mutation: REFRESH,
      variables: { refreshToken: session.refreshToken },
      errorPolicy: 'all',
    });
    assertNoErrors(refreshed, 'refreshToken');
    const rotated = refreshed.data.refreshToken;
    assert.notEqual(rotated.refreshToken, session.refreshToken, 'a new refresh token');
    assert.notEqual(rotated.accessToken, session.accessToken, 'a new access token');
    assert.equal(rotated.session.id, session.session.id, 'the same session');

    a.auth.token = rotated.accessToken;
    const meAgain = await a.client.query({ query: ME, errorPolicy: 'all' });
    assertNoErrors(meAgain, 'me with the refreshed access token');
    assert.equal(meAgain.data.me.id, session.user.id);

    // The old refresh token is dead: UNAUTHENTICATED, and no tokens in data.
    const reused = await a.client.mutate({
      mutation: REFRESH,
      variables: { refreshToken: session.refreshToken },
      errorPolicy: 'all',
    });
    assert.deepEqual(codes(reused), ['UNAUTHENTICATED'], 'reusing a rotated refresh token');
    assert.equal(reused.data?.refreshToken ?? null, null, 'no tokens for a rotated refresh token');

    // Reuse of a rotated token revokes the session family: its new access token dies too.
    const afterReuse = await a.client.query({ query: ME, errorPolicy: 'all' });
    assert.deepEqual(codes(afterReuse), ['UNAUTHENTICATED'], 'the session is revoked after a reuse');
    assert.equal(afterReuse.data?.me ?? null, null);

    // The registration's own session is another family and still works.
    a.auth.token = reg.payload.accessToken;
    const meReg = await a.client.query({ query: ME, errorPolicy: 'all' });
    assertNoErrors(meReg, 'me with the registration session');
    assert.equal(meReg.data.me.id, session.user.id);
  });

  test('create company, client and policy; the cache normalises them by __typename and id', async () => {
    assert.ok(a.auth.token, 'signed in by the first step');
    const { client } = a;

    const c = await client.mutate({
      mutation: CREATE_COMPANY,
      variables: { input: { name: `Apollo Assurances ${run}`, code: 'APL' } },
      errorPolicy: 'all',
    });
    assertNoErrors(c, 'createCompany');
    company = c.data.createCompany;
    assert.equal(company.__typename, 'Company');
    assert.equal(company.apiMode, 'NONE');

    const h = await client.mutate({
      mutation: CREATE_CLIENT,
      variables: { input: { kind: 'PERSON', firstName: 'Ada', lastName: `Lovelace-${run}` } },
      errorPolicy: 'all',
    });
    assertNoErrors(h, 'createClient');
    holder = h.data.createClient;
    assert.equal(holder.__typename, 'Client');
    assert.equal(holder.displayName, `Ada Lovelace-${run}`);

    const p = await client.mutate({
      mutation: CREATE_POLICY,
      variables: {
        input: {
          number: `APL-${run}-1`,
          clientId: holder.id,
          companyId: company.id,
          productName: 'Tous risques',
          productType: 'AUTO',
          premium: '125000.50',
          currency: 'EUR',
          effectiveDate: '2026-01-01',
          expiryDate: '2027-01-01',
        },
      },
      errorPolicy: 'all',
    });
    assertNoErrors(p, 'createPolicy');
    policy = p.data.createPolicy;
    created.push(policy);
    assert.equal(policy.__typename, 'Policy');
    assert.equal(policy.premium, '125000.50', 'Decimal is a string, exact to the cent');
    assert.equal(policy.currency, 'EUR');
    assert.equal(policy.status, 'DRAFT');
    assert.equal(policy.effectiveDate, '2026-01-01');
    assert.equal(policy.expiryDate, '2027-01-01');
    assert.equal(policy.client.id, holder.id, 'the nested client has the id createClient gave');
    assert.equal(policy.company.id, company.id, 'the nested company has the id createCompany gave');

    const { cache } = client;
    const policyKey = cache.identify(policy);
    assert.equal(policyKey, `Policy:${policy.id}`);
    assert.equal(cache.identify(holder), `Client:${holder.id}`);
    assert.equal(cache.identify(company), `Company:${company.id}`);

    // Normalised: one entry per object, the policy refers to its client and company.
    const store = cache.extract();
    assert.ok(store[`Company:${company.id}`], 'the company is in the cache');
    assert.deepEqual(store[policyKey].client, { __ref: `Client:${holder.id}` });
    assert.deepEqual(store[policyKey].company, { __ref: `Company:${company.id}` });
    // The client entry merges createClient's fields with the policy's nested client.
    assert.equal(store[`Client:${holder.id}`].displayName, holder.displayName);

    const fromCache = cache.readFragment({
      id: policyKey,
      fragment: POLICY_ROW,
      fragmentName: 'PolicyRow',
    });
    assert.ok(fromCache, 'readFragment returns the policy');
    assert.equal(fromCache.number, policy.number);
    assert.equal(fromCache.premium, '125000.50');
    assert.equal(fromCache.client.displayName, `Ada Lovelace-${run}`);
    assert.equal(fromCache.company.name, company.name);
  });

  test('page through policies (first/after with fetchMore) with nested client and company', async () => {
    assert.ok(policy, 'the policy of the previous step');
    const { client } = a;
    for (let i = 2; i <= 5; i++) {
      const p = await client.mutate({
        mutation: CREATE_POLICY,
        variables: {
          input: {
            number: `APL-${run}-${i}`,
            clientId: holder.id,
            companyId: company.id,
            productName: `Produit ${i}`,
            premium: `${i}000.25`,
            currency: 'EUR',
            effectiveDate: '2026-01-01',
            expiryDate: '2027-01-01',
          },
        },
        errorPolicy: 'all',
      });
      assertNoErrors(p, `createPolicy ${i}`);
      created.push(p.data.createPolicy);
    }

    // The default order (newest first): pages of 2, fetched with fetchMore on a watched query
    // and merged in the cache by relayStylePagination.
    const variables = { first: 2 };
    const watch = client.watchQuery({ query: POLICIES, variables, fetchPolicy: 'network-only', errorPolicy: 'all' });
    let subscription;
    const firstResult = new Promise((resolve, reject) => {
      subscription = watch.subscribe({
        next: (r) => {
          if (!r.loading) resolve(r);
        },
        error: reject,
      });
    });
    const pages = [];
    try {
      const result = await firstResult;
      assertNoErrors(result, 'policies page 1');
      pages.push(result.data.policies);
      while (pages.at(-1).pageInfo.hasNextPage) {
        assert.ok(pages.length < 10, 'paging ends');
        const more = await watch.fetchMore({ variables: { after: pages.at(-1).pageInfo.endCursor } });
        assertNoErrors(more, `policies page ${pages.length + 1}`);
        pages.push(more.data.policies);
      }
    } finally {
      subscription.unsubscribe();
    }

    assert.deepEqual(
      pages.map((p) => p.edges.length),
      [2, 2, 1],
      'five policies in pages of two',
    );
    for (const [i, page] of pages.entries()) {
      assert.equal(page.totalCount, 5, `totalCount on page ${i + 1}`);
      assert.equal(page.pageInfo.hasNextPage, i < 2, `hasNextPage on page ${i + 1}`);
      assert.equal(page.pageInfo.startCursor, page.edges[0].cursor, `startCursor on page ${i + 1}`);
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1).cursor, `endCursor on page ${i + 1}`);
    }
    assert.equal(pages[0].pageInfo.hasPreviousPage, false, 'hasPreviousPage on the first page');

    const paged = pages.flatMap((p) => p.edges.map((e) => e.node));
    assert.deepEqual(
      paged.map((n) => n.number).sort(),
      created.map((n) => n.number).sort(),
      'every policy once, none twice',
    );
    assert.deepEqual(
      paged.map((n) => n.number),
      created.map((n) => n.number).reverse(),
      'newest first by default',
    );
    for (const node of paged) {
      assert.deepEqual(
        { client: node.client, company: node.company },
        {
          client: { __typename: 'Client', id: holder.id, displayName: holder.displayName },
          company: { __typename: 'Company', id: company.id, code: company.code, name: company.name },
        },
        `nested client and company of ${node.number}`,
      );
    }

    // The cache now holds all pages merged under the first page's query.
    const merged = client.readQuery({ query: POLICIES, variables }).policies;
    assert.deepEqual(
      merged.edges.map((e) => e.node.number),
      paged.map((n) => n.number),
      'fetchMore merged the pages in the cache',
    );
    assert.equal(merged.pageInfo.hasNextPage, false);
    assert.equal(merged.totalCount, 5);

    // Same objects, same cache entries: one client, one company, five policies.
    const keys = Object.keys(client.cache.extract());
    assert.deepEqual(keys.filter((k) => k.startsWith('Client:')), [`Client:${holder.id}`]);
    assert.deepEqual(keys.filter((k) => k.startsWith('Company:')), [`Company:${company.id}`]);
    assert.equal(keys.filter((k) => k.startsWith('Policy:')).length, 5);

    // A sorted walk with plain queries, cursor to cursor. 'no-cache': each result is the
    // server's page as sent (through the cache, relayStylePagination would merge them).
    const seen = [];
    let after = null;
    for (let n = 0; n < 10; n++) {
      const res = await client.query({
        query: POLICIES,
        variables: { first: 2, after, orderBy: [{ field: 'NUMBER', direction: 'ASC' }] },
        fetchPolicy: 'no-cache',
        errorPolicy: 'all',
      });
      assertNoErrors(res, 'policies by number');
      const page = res.data.policies;
      assert.equal(page.totalCount, 5);
      seen.push(...page.edges.map((e) => e.node.number));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    assert.deepEqual(seen, created.map((n) => n.number).sort(), 'ascending by number');
  });

  test("a second organization sees nothing of the first's (NOT_FOUND, empty lists)", async () => {
    assert.ok(policy, 'the first organization has a policy');
    const reg = await register(b.client, 'b');
    assert.notEqual(reg.payload.user.id, userA.id, 'a different user');
    b.auth.token = reg.payload.accessToken;

    const byId = await b.client.query({ query: POLICY, variables: { id: policy.id }, errorPolicy: 'all' });
    assert.deepEqual(codes(byId), ['NOT_FOUND'], "policy(id) for another organization's policy");
    assert.equal(byId.data?.policy ?? null, null, 'no data for it');
    assert.ok(!JSON.stringify(byId).includes(policy.number), 'nothing of the policy leaks');

    const node = await b.client.query({ query: NODE, variables: { id: policy.id }, errorPolicy: 'all' });
    assert.deepEqual(codes(node), ['NOT_FOUND'], "node(id) for another organization's policy");
    assert.equal(node.data?.node ?? null, null, 'no data for it');
    assert.ok(!JSON.stringify(node).includes(policy.number), 'nothing of the policy leaks');

    const list = await b.client.query({ query: POLICIES, variables: { first: 10 }, errorPolicy: 'all' });
    assertNoErrors(list, "the second organization's policies");
    assert.equal(list.data.policies.totalCount, 0);
    assert.deepEqual(list.data.policies.edges, []);
    assert.equal(list.data.policies.pageInfo.hasNextPage, false);

    // The first organization still reads its policy through both.
    const own = await a.client.query({ query: NODE, variables: { id: policy.id }, errorPolicy: 'all' });
    assertNoErrors(own, 'node(id) by its owner');
    assert.equal(own.data.node.__typename, 'Policy');
    assert.equal(own.data.node.number, policy.number);
  });

  test('Apollo reported no cache-write problems', () => {
    assert.deepEqual(warnings, [], 'Apollo warnings (missing fields, bad cache writes)');
  });

  test(
    'a field error on a nullable field answers null for that field, not a missing key',
    async () => {
      assert.ok(policy && b.auth.token, 'the previous steps ran');
      const res = await b.client.query({
        query: ME_AND_POLICY,
        variables: { id: policy.id },
        fetchPolicy: 'no-cache',
        errorPolicy: 'all',
      });
      assert.deepEqual(codes(res), ['NOT_FOUND']);
      assert.ok(res.data?.me?.id, 'the other root field is still answered');
      assert.ok('policy' in res.data, 'data.policy is present (null), as the GraphQL spec executes field errors');
      assert.equal(res.data.policy, null);
    },
  );

  test(
    "register and login answer the signed-in user's organization",
    async () => {
      const { client } = makeClient();
      let res;
      try {
        res = await client.mutate({
          mutation: LOGIN,
          variables: { email, password: PASSWORD },
          fetchPolicy: 'no-cache',
          errorPolicy: 'all',
        });
      } finally {
        client.stop();
      }
      assertNoErrors(res, 'login { user { organization } }');
      assert.equal(res.data.login.user.organization?.name, `Apollo a ${run}`);
    },
  );
});
