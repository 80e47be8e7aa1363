-- Replays pre-built raw HTTP requests (BENCH_REQUESTS: a file of NUL-separated requests),
-- round-robin, each thread starting at its own offset. Counts answers whose status differs
-- from BENCH_EXPECT and prints one JSON line (prefixed BENCH_JSON) when wrk is done.
local path = os.getenv("BENCH_REQUESTS")
local expect = tonumber(os.getenv("BENCH_EXPECT") or "0")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  for chunk in string.gmatch(data, "([^%z]+)") do
    table.insert(requests, chunk)
  end
  index = (id * 7919) % #requests
  unexpected = 0
  sent = 0
end

function request()
  index = index % #requests + 1
  sent = sent + 1
  return requests[index]
end

function response(status, headers, body)
  if expect ~= 0 and status ~= expect then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"unexpected":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, wrong,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
