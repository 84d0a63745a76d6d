-- wrk script for bench/admission-load.sh: POSTs the AdmissionReview in
-- wrk.body (set from the environment by the shell script), counts answers
-- that are not "allowed", and prints one JSON line of results at the end.
local body_file = os.getenv("ADMISSION_BODY")
local handle = assert(io.open(body_file, "r"))
wrk.method = "POST"
wrk.body = handle:read("*a")
handle:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

not_allowed = 0  -- global: done() reads it from each thread
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"allowed":true', 1, true) then
    not_allowed = not_allowed + 1
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("not_allowed")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"per_second":%.1f,"p50_ms":%.3f,' ..
    '"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"socket_errors":%d,"not_allowed":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout, refused))
end
