-- wrk script: the MonAssurance list page (100 policies with their client and insurer).
-- The access token comes from the environment: BENCH_TOKEN.
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"query":"{ policies(first: 100) { edges { node { number premium client { lastName } company { name } } } } }"}'
