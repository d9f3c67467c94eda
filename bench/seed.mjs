// Seeds a fresh MonAssurance server through its GraphQL API for the list benchmark:
// one organization (its ADMIN registers), 5 companies, 200 clients, 2,000 policies.
// Uses batched requests (JSON arrays of up to 10 operations), several in flight at once.
//
//   node bench/seed.mjs http://127.0.0.1:18600/graphql
//
// Progress goes to stderr; stdout gets one JSON line: {"accessToken", "organizationId", "policies"}.

const URL_ = process.argv[2] ?? process.env.BENCH_URL ?? 'http://127.0.0.1:18600/graphql';
const COMPANIES = Number(process.env.SEED_COMPANIES ?? 5);
const CLIENTS = Number(process.env.SEED_CLIENTS ?? 200);
const POLICIES = Number(process.env.SEED_POLICIES ?? 2000);
const BATCH = 10; // the server's MAX_BATCH default
const PARALLEL = Number(process.env.SEED_PARALLEL ?? 4);

const log = (...a) => console.error('[seed]', ...a);

async function post(body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(URL_, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function check(result, what) {
  if (result.errors?.length) throw new Error(`${what}: ${JSON.stringify(result.errors).slice(0, 500)}`);
  return result.data;
}

async function one(query, variables, token, what) {
  return check(await post({ query, variables }, token), what);
}

/** Runs `ops` ({query, variables}) as batches of BATCH, PARALLEL batches at a time; returns the data in order. */
async function batched(ops, token, what) {
  const batches = [];
  for (let i = 0; i < ops.length; i += BATCH) batches.push(ops.slice(i, i + BATCH));
  const out = new Array(batches.length);
  let next = 0;
  async function lane() {
    while (next < batches.length) {
      const k = next++;
      const results = await post(batches[k], token);
      if (!Array.isArray(results) || results.length !== batches[k].length) {
        throw new Error(`${what}: unexpected batch answer ${JSON.stringify(results).slice(0, 300)}`);
      }
      out[k] = results.map((r, j) => check(r, `${what} #${k * BATCH + j}`));
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return out.flat();
}

const started = Date.now();

const reg = await one(
  `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { organization { id } } } }`,
  { i: { organizationName: 'Courtage Bench', email: 'bench@example.com', password: 'bench password 2026', fullName: 'Bench Admin' } },
  null,
  'register',
);
const token = reg.register.accessToken;
const organizationId = reg.register.user.organization.id;
log(`registered organization ${organizationId}`);

const insurers = ['AXA Cameroun', 'Allianz', 'Activa', 'Chanas', 'Saham', 'Zenithe', 'Area', 'Prudential'];
const companies = await batched(
  Array.from({ length: COMPANIES }, (_, i) => ({
    query: `mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }`,
    variables: { i: { name: `${insurers[i % insurers.length]} ${i + 1}`, code: `INS${String(i + 1).padStart(3, '0')}` } },
  })),
  token,
  'createCompany',
);
log(`${companies.length} companies`);

const last = ['Mbarga', 'Nkomo', 'Fotso', 'Ngono', 'Tchoumi', 'Abena', 'Kamga', 'Essomba', 'Mballa', 'Owona'];
const first = ['Paul', 'Marie', 'Jean', 'Aline', 'Eric', 'Sandrine', 'Hervé', 'Chantal'];
const clients = await batched(
  Array.from({ length: CLIENTS }, (_, i) => ({
    query: `mutation($i: CreateClientInput!) { createClient(input: $i) { id } }`,
    variables: {
      i: {
        kind: 'PERSON',
        firstName: first[i % first.length],
        lastName: `${last[i % last.length]} ${i + 1}`,
        email: `client${i + 1}@example.com`,
        phone: `+237 6${String(70000000 + i)}`,
      },
    },
  })),
  token,
  'createClient',
);
log(`${clients.length} clients`);

const types = ['AUTO', 'HOME', 'HEALTH', 'LIFE', 'TRAVEL', 'BUSINESS', 'OTHER'];
const statuses = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAFT']; // a new policy is DRAFT or ACTIVE
const policies = await batched(
  Array.from({ length: POLICIES }, (_, i) => {
    const month = String((i % 12) + 1).padStart(2, '0');
    const type = types[i % types.length];
    return {
      query: `mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }`,
      variables: {
        i: {
          number: `${type}-2026-${String(i + 1).padStart(5, '0')}`,
          clientId: clients[i % clients.length].createClient.id,
          companyId: companies[i % companies.length].createCompany.id,
          productName: `${type[0]}${type.slice(1).toLowerCase()} standard`,
          productType: type,
          status: statuses[i % statuses.length],
          premium: `${50000 + ((i * 7919) % 450000)}.${String(i % 100).padStart(2, '0')}`,
          effectiveDate: `2026-${month}-01`,
          expiryDate: `2027-${month}-01`,
        },
      },
    };
  }),
  token,
  'createPolicy',
);
log(`${policies.length} policies`);

const count = (await one(`{ policies(first: 1) { totalCount } }`, {}, token, 'count')).policies.totalCount;
if (count !== POLICIES) throw new Error(`expected ${POLICIES} policies, the server counts ${count}`);
log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);

console.log(JSON.stringify({ accessToken: token, organizationId, policies: count }));
