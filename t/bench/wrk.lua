-- wrk.lua - the one wrk script of ./dev bench (t/bench/bench.py writes its
-- input files and parses what done() prints). Every figure and every
-- ceiling runs through it, so the client does the same work per request
-- whatever it measures: build the request, count the response's status.
--
--   wrk -tN ... -s wrk.lua -- MODE KEY N FILES... [LIMIT]
--
--   get     PATHS            GET each path of the file in turn
--   book    PROVIDERS BASE   POST /api/appointments: request g (over all
--                            threads) books provider g mod P at
--                            BASE + floor(g / P) * 300 s, so no two requests
--                            ask for the same slot of the same provider
--   seats   PROVIDERS BASE SEATS SERVICE
--                            POST /api/appointments with serviceId SERVICE
--                            (an hour long, SEATS seats a session): request
--                            g books a seat of provider g mod P's session at
--                            BASE + floor(g / (P * SEATS)) * 3600 s, so each
--                            session gets exactly SEATS requests, all at
--                            once, before the next one opens
--   resched MOVES            PUT /api/appointments/ID {"startTime": T} for
--                            each "ID T" line, each line once
--   cancel  IDS              DELETE /api/appointments/ID, each id once
--   mixed   PATHS PROVIDERS BASE MOVES IDS
--                            of every 20 requests: 16 GET (availability),
--                            3 bookings, 1 reschedule or cancel (in turn)
--
-- KEY is the API key ("-" for none), N wrk's thread count (a thread's lines
-- and slots are every N-th from its own index). LIMIT DONEFILE (optional,
-- after the files): a thread stops after LIMIT/N responses and appends a
-- line to DONEFILE (wrk itself sleeps for its whole -d: bench.py sends it
-- SIGINT once every thread has written its line).
-- A thread that runs out of lines for resched/cancel sends the all-zero
-- appointment id (404), so running dry shows as non-2xx, never as a
-- repeated success; done() reports how many.
--
-- done() prints one line "BENCH {json}": requests, duration (us), socket
-- errors, latency percentiles (us), the count of each status.

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

local function lines(path)
   local t = {}
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      if line ~= "" then table.insert(t, line) end
   end
   f:close()
   return t
end

local ZERO_ID = "00000000-0000-4000-8000-000000000000"
local PATTERN = "AAAABAAAAAXAAABAAAAB" -- 16 A, 3 B, 1 X

local mode, headers, json_headers
local paths, providers, base, moves, ids
local seats, step, service = 1, 300, nil
local npaths, nproviders = 0, 0
local counter, nbook, taken_moves, taken_ids, xturn = 0, 0, 0, 0, 0
local stop_after, donefile = nil, nil
statuses = {}
dry = 0
seen = 0

function init(args)
   mode = args[1]
   local key = args[2]
   headers = {}
   if key and key ~= "-" then headers["Authorization"] = "Bearer " .. key end
   json_headers = { ["Content-Type"] = "application/json" }
   for k, v in pairs(headers) do json_headers[k] = v end
   nthreads_all = tonumber(args[3])
   local rest
   if mode == "get" then
      paths = lines(args[4]); rest = 5
   elseif mode == "book" then
      providers = lines(args[4]); base = tonumber(args[5]); rest = 6
   elseif mode == "seats" then
      providers = lines(args[4]); base = tonumber(args[5]); seats = tonumber(args[6])
      step = 3600; service = args[7]; rest = 8
   elseif mode == "resched" then
      moves = lines(args[4]); rest = 5
   elseif mode == "cancel" then
      ids = lines(args[4]); rest = 5
   elseif mode == "mixed" then
      paths = lines(args[4]); providers = lines(args[5]); base = tonumber(args[6])
      moves = lines(args[7]); ids = lines(args[8]); rest = 9
   else
      error("wrk.lua: unknown mode " .. tostring(mode))
   end
   if paths then npaths = #paths end
   if providers then nproviders = #providers end
   if args[rest] then
      stop_after = math.ceil(tonumber(args[rest]) / nthreads_all)
      donefile = args[rest + 1]
   end
end

local function get_req()
   local p = paths[(counter % npaths) + 1]
   return wrk.format("GET", p, headers)
end

-- Request g (over all threads) of book or seats: provider g mod P, at
-- BASE + floor(g / (P * seats)) * step (book: one seat, 300 s apart).
local function book_req()
   local g = nbook * nthreads_all + tid
   nbook = nbook + 1
   local prov = providers[(g % nproviders) + 1]
   local t = base + math.floor(g / (nproviders * seats)) * step
   local body = string.format('{"patientId":"bench","providerId":"%s",%s"startTime":"%s"}',
                              prov, service and string.format('"serviceId":"%s",', service) or "",
                              os.date("!%Y-%m-%dT%H:%M:%SZ", t))
   return wrk.format("POST", "/api/appointments", json_headers, body)
end

-- The k-th line (0-based) this thread owns of a shared list.
local function owned(list, k)
   return list[k * nthreads_all + tid + 1]
end

local function resched_req()
   local line = owned(moves, taken_moves)
   taken_moves = taken_moves + 1
   if not line then
      dry = dry + 1
      return wrk.format("PUT", "/api/appointments/" .. ZERO_ID, json_headers,
                        '{"startTime":"2030-01-01T00:00:00Z"}')
   end
   local id, t = line:match("^(%S+)%s+(%S+)$")
   return wrk.format("PUT", "/api/appointments/" .. id, json_headers,
                     string.format('{"startTime":"%s"}', t))
end

local function cancel_req()
   local id = owned(ids, taken_ids)
   taken_ids = taken_ids + 1
   if not id then
      dry = dry + 1
      id = ZERO_ID
   end
   return wrk.format("DELETE", "/api/appointments/" .. id .. "?reason=bench", headers)
end

function request()
   local c = counter
   counter = counter + 1
   if mode == "get" then
      return get_req()
   elseif mode == "book" then
      return book_req()
   elseif mode == "seats" then
      return book_req()
   elseif mode == "resched" then
      return resched_req()
   elseif mode == "cancel" then
      return cancel_req()
   end
   -- mixed
   local kind = PATTERN:sub((c % 20) + 1, (c % 20) + 1)
   if kind == "A" then
      return get_req()
   elseif kind == "B" then
      return book_req()
   end
   xturn = xturn + 1
   if xturn % 2 == 1 then return resched_req() end
   return cancel_req()
end

function response(status, hdrs, body)
   statuses[status] = (statuses[status] or 0) + 1
   seen = seen + 1
   if stop_after and seen == stop_after then
      wrk.thread:stop()
      if donefile then
         local f = io.open(donefile, "a")
         f:write(tid, "\n")
         f:close()
      end
   end
end

function done(summary, latency, requests)
   local all = {}
   local ndry = 0
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      for k, v in pairs(s or {}) do all[k] = (all[k] or 0) + v end
      ndry = ndry + (t:get("dry") or 0)
   end
   local st = {}
   for k, v in pairs(all) do table.insert(st, string.format('"%d":%d', k, v)) end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
      '"statuses":{%s},"dry":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, table.concat(st, ","), ndry))
end
