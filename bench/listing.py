#!/usr/bin/env python3
"""First-page latency of list queries (bench/listing.sh drives it).

    listing.py QUERIES_FILE [REQUESTS] [BUDGET_SECONDS]

QUERIES_FILE has one query per line: `label<TAB>role<TAB>url`, where role names an
environment variable holding the token (TOKEN_<role>). Each query is sent
sequentially on one keep-alive connection: 3 warm-up requests, then REQUESTS
(default 200) timed ones, or fewer when BUDGET_SECONDS (default 10) run out first.
Prints `label role p50_ms p90_ms n items status` per query (items: how many
images the page held, so a filter that matches nothing shows).
"""
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse


def items_of(body):
    try:
        doc = json.loads(body)
    except ValueError:
        return -1
    for key in ("images", "value"):
        if isinstance(doc.get(key), list):
            return len(doc[key])
    return -1


def main():
    path = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    budget = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    conns = {}
    for raw in open(path):
        raw = raw.rstrip("\n")
        if not raw or raw.startswith("#"):
            continue
        label, role, url = raw.split("\t")
        token = os.environ["TOKEN_" + role]
        u = urllib.parse.urlsplit(url)
        key = (u.hostname, u.port)
        if key not in conns:
            conns[key] = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        target = u.path + ("?" + u.query if u.query else "")
        headers = {"X-Auth-Token": token, "Accept": "application/json"}

        def one():
            t0 = time.perf_counter()
            try:
                conns[key].request("GET", target, headers=headers)
                resp = conns[key].getresponse()
                body = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                conns[key].close()
                conns[key] = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
                body, status = str(e).encode(), "ERR"
            return time.perf_counter() - t0, status, body

        status, body = 0, b""
        for _ in range(3):
            _, status, body = one()
        times = []
        start = time.perf_counter()
        while len(times) < requests and (time.perf_counter() - start) < budget:
            dt, status, body = one()
            times.append(dt * 1000.0)
        times.sort()
        p50 = statistics.median(times)
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(f"{label}\t{role}\t{p50:.2f}\t{p90:.2f}\t{len(times)}\t{items_of(body)}\t{status}", flush=True)


if __name__ == "__main__":
    main()
