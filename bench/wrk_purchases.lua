-- wrk script for `make bench`: every request is a new purchase (a unique purchase_id) for a random
-- seeded member at a random seeded store, the same request loadgen's purchases scenario sends,
-- so the two load generators measure the same work. At the end it writes one JSON line with
-- throughput, latency percentiles and errors in loadgen's field names.
--
--   WRK_JSON=OUT.json wrk -t1 -c64 -d20s -s bench/wrk_purchases.lua http://127.0.0.1:PORT \
--       -- SEED_FILE
--
-- (the JSON line goes to $WRK_JSON, else to stdout: wrk hands script arguments to the threads'
-- init only, not to done). SEED_FILE is bench/seed's file ("store <id> <api_key>", "member <id> <card>" lines). wrk
-- counts answers >= 400 as status errors (reported as non_2xx), and read, write and timeout
-- errors (reported as lost).

local threads = {}

function setup(thread)
   thread:set("thread_index", #threads + 1)
   table.insert(threads, thread)
end

local stores, members = {}, {}
local prefix
local sent = 0

function init(args)
   local seed_path = args[1]
   for line in io.lines(seed_path) do
      local kind, first, second = line:match("^(%S+) (%S+) (%S+)")
      if kind == "store" then
         stores[#stores + 1] = second
      elseif kind == "member" then
         members[#members + 1] = first
      end
   end
   assert(#stores > 0 and #members > 0, "wrk_purchases.lua: no stores or members in " .. seed_path)
   prefix = string.format("wrk%d.%d", os.time(), thread_index)
   math.randomseed(os.time() * 100 + thread_index)
end

function request()
   sent = sent + 1
   local body = '{"purchase_id":"' .. prefix .. "-" .. sent ..
      '","member_id":"' .. members[math.random(#members)] ..
      '","currency":"JPY","lines":[{"name":"Green tea 500ml","sku":"GT-500",' ..
      '"category":"drinks","quantity":' .. math.random(3) ..
      ',"unit_price":' .. math.random(400) * 50 .. "}]}"
   return wrk.format("POST", "/v1/purchases", {
      ["Authorization"] = "Bearer " .. stores[math.random(#stores)],
      ["Content-Type"] = "application/json",
   }, body)
end

function done(summary, latency, requests)
   local out_path = os.getenv("WRK_JSON")
   local seconds = summary.duration / 1e6
   local e = summary.errors
   local line = string.format(
      '{"tool":"wrk","seconds":%.3f,"requests":%d,"throughput":%.1f,' ..
      '"latency":{"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f},' ..
      '"non_2xx":%d,"lost":%d,"connect_errors":%d}',
      seconds, summary.requests, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000,
      e.status, e.read + e.write + e.timeout, e.connect)
   if out_path then
      local f = assert(io.open(out_path, "w"))
      f:write(line, "\n")
      f:close()
   else
      print(line)
   end
end
