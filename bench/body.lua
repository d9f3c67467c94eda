-- wrk script: POSTs the JSON body in BENCH_BODY to the URL wrk is given, with a bearer token
-- when BENCH_TOKEN is set. bench/list.sh sets both for each server and page.
local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  error("BENCH_BODY is not set")
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = body
