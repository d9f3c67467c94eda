-- wrk script: the same page from PostGraphile v4 over the same database. It applies the same
-- tenant filter (BENCH_ORG_UUID, the organization's raw uuid) and the same order as the
-- MonAssurance server (newest first, then id). PostGraphile runs without authentication here.
local org = os.getenv("BENCH_ORG_UUID")
local condition = ""
if org ~= nil and org ~= "" then
  condition = ', condition: { organizationId: \\"' .. org .. '\\" }'
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ allPolicies(first: 100, orderBy: [CREATED_AT_DESC, ID_ASC]' .. condition ..
  ') { nodes { number premiumCents clientByClientId { lastName } companyByCompanyId { name } } } }"}'
