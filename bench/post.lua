-- wrk script: POST an image record; each thread stops after LIMIT responses.
wrk.method = "POST"
wrk.body = '{"name":"bench","disk_format":"raw","container_format":"bare"}'
wrk.headers["Content-Type"] = "application/json"
local count = 0
local limit = tonumber(os.getenv("WRK_LIMIT_PER_THREAD") or "1000")
response = function(status, headers, body)
  count = count + 1
  if count >= limit then wrk.thread:stop() end
end
