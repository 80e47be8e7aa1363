-- Replays pre-built raw HTTP requests (BENCH_REQUESTS: a file of NUL-separated requests),
-- round-robin, each thread starting at its own offset. Counts answers whose status differs
-- from BENCH_EXPECT (0: count nothing; -1: count answers that are not 2xx; -2: the same but
-- 429/503 with Retry-After are fine, counted as refused) and prints one JSON line (prefixed
-- BENCH_JSON) when wrk is done.
local path = os.getenv("BENCH_REQUESTS")
local expect = tonumber(os.getenv("BENCH_EXPECT") or "0")
-- BENCH_DELAY_MS paces each connection (open-ish loop): rate ~ connections * 1000 / delay.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
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
  refused = 0
  by_status = {}
  sent = 0
end

function request()
  index = index % #requests + 1
  sent = sent + 1
  return requests[index]
end

if pause > 0 then
  function delay()
    return pause
  end
end

function response(status, headers, body)
  by_status[status] = (by_status[status] or 0) + 1
  local ok = status >= 200 and status <= 299
  if expect == -2 and (status == 429 or status == 503) then
    ok = headers["Retry-After"] ~= nil or headers["retry-after"] ~= nil
    refused = refused + 1
  end
  if (expect > 0 and status ~= expect) or (expect < 0 and not ok) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local wrong, turned_away, statuses = 0, 0, {}
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
    turned_away = turned_away + (thread:get("refused") or 0)
    for code, count in pairs(thread:get("by_status") or {}) do
      statuses[code] = (statuses[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(statuses) do
    table.insert(parts, string.format('"%d":%d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"unexpected":%d,"refused":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, wrong,
    turned_away,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ",")))
end
