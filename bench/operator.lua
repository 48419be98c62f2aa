-- wrk script for bench/operator.sh: sends the HEADER environment variable ("Name: value") with
-- every request and prints one line "req/s p50_ms p95_ms p99_ms non2xx" at the end.
local header = os.getenv("HEADER")
if header ~= nil and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local non2xx = 0
function response(status)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("%.0f %.2f %.2f %.2f %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    non2xx + summary.errors.status))
end
