-- wrk script: POST an image record (bench/run.sh stops wrk at the wanted count).
wrk.method = "POST"
wrk.body = '{"name":"bench","disk_format":"raw","container_format":"bare"}'
wrk.headers["Content-Type"] = "application/json"
