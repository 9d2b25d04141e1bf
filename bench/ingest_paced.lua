-- wrk script for bench/ingest.py --hints-rate: hold a fixed request rate instead of saturating.
-- Each of the CONNECTIONS connections waits CONNECTIONS / RATE seconds between its requests,
-- so the total rate is about RATE (a little less: the wait does not subtract the response time).
local rate = tonumber(os.getenv("RATE") or "5000")
local connections = tonumber(os.getenv("CONNECTIONS") or "50")
local gap_ms = connections / rate * 1000

function delay()
  return gap_ms
end
