-- wrk script: POST bookings of distinct free slots. Each thread takes every
-- nthreads-th 5-minute step from a base instant, so no two requests ask for
-- the same slot. args: base-epoch-seconds provider-id nthreads api-key
local counter = 0
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

function init(args)
   base = tonumber(args[1])
   provider = args[2]
   nthreads = tonumber(args[3])
   auth = "Bearer " .. args[4]
end

function request()
   local t = base + (counter * nthreads + tid) * 300
   counter = counter + 1
   local body = string.format('{"patientId":"bench","providerId":"%s","startTime":"%s"}',
                              provider, os.date("!%Y-%m-%dT%H:%M:%SZ", t))
   return wrk.format("POST", "/api/appointments", {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
