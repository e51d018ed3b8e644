-- wrk script for bench/load.py: one route per wrk process, its requests read from files.
--   wrk ... -s bench/load.lua URL -- PATHS THREADS [METHOD] [HEADERS|-] [BODY|-] [DELAY_MS]
-- Each thread walks its own stride of PATHS, so no two threads send the same path until the
-- list runs out ("wrapped" counts requests after that: for first-time cards it must be 0).
-- done() prints one JSON line, WRKJSON {...}, for load.py to read.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local paths, headers = {}, {}
local method, body, pause = "GET", nil, 0
local index, stride = 0, 1
wrapped = 0

local function read_all(name)
  local f = assert(io.open(name, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  for line in io.lines(args[1]) do
    table.insert(paths, line)
  end
  stride = tonumber(args[2])
  index = id
  method = args[3] or "GET"
  if args[4] and args[4] ~= "-" then
    for line in io.lines(args[4]) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
  end
  if args[5] and args[5] ~= "-" then
    body = read_all(args[5])
  end
  pause = tonumber(args[6] or "0")
end

function request()
  if index >= #paths then
    wrapped = wrapped + 1
  end
  local path = paths[index % #paths + 1]
  index = index + stride
  return wrk.format(method, path, headers, body)
end

function delay()
  return pause
end

function done(summary, latency, requests)
  local w = 0
  for _, thread in ipairs(threads) do
    w = w + (thread:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"wrapped": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max, w))
end
