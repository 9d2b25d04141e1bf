-- wrk script for bench/ingest.py: POST /v1/collect with 20-signal batches, unique batch ids.
-- SITE (site key) and ORIGIN come from the environment.
local site = os.getenv("SITE")
local origin = os.getenv("ORIGIN")
local run = os.getenv("RUN") or tostring(os.time())
local threads = 0
local signals = {}
for i = 1, 20 do
  signals[i] = string.format('{"kind":"clicks","count":%d}', i)
end
local signal_text = table.concat(signals, ",")
local counter = 0
-- A global, not a local: thread:set() below assigns the thread's global, and a local here
-- would shadow it, giving every thread the same ids (half the batches were retries).
tid = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"site":"%s","key":"visitor-%06dkkkkkkkkkkkkkkkkkkkkkkkkkkkkk","session":"session-%06d","batch":"b%s-%d-%d","signals":[%s]}',
    site, counter % 5000, counter % 5000, run, tid, counter, signal_text)
  return wrk.format("POST", "/v1/collect",
    {["Content-Type"] = "application/json", ["Origin"] = origin}, body)
end
