"""Crashes and faults of one `imagery serve` node (SQLite catalog, local blob store),
driven over raw HTTP on 127.0.0.1:

* test_sigkill_harness: a fixed-seed harness (`random.Random(SEED)`; SEED and the
  iteration count can be overridden with IMAGERY_CRASH_SEED / _ITERATIONS). Each
  iteration sets up and starts one to three workloads at once (a Glance upload of a
  few MiB streamed slowly, a glance-direct staging, a staged image's import, a
  web-download import from a loopback source that trickles its bytes, an image
  delete, member add + accept), SIGKILLs the node at a random delay, restarts it at
  once on the same data dir (it takes back its own lease) and checks, through the
  API and the data dir:
    - every write acknowledged (201/204/200/202) is there: an uploaded image is
      `active`, a staged one `uploading`, a deleted one gone, a member added and
      accepted; an acknowledged import settles `active` or `queued` with
      `os_glance_failed_import`, never stuck `importing`;
    - every `active` image has a blob file of its size, and downloads with the bytes
      that were sent, whose md5 (`checksum`), sha512 (`os_hash_value`) and `size`
      match what the API reports;
    - no image is `saving` after a restart, and an `uploading` one has its staged
      payload in the store (an interrupted staging returns to `queued`);
    - at the end, with `gc_grace_secs = 2` and `gc_interval_secs = 1`: no blob file
      under <data_dir>/blobs/blobs that no image references, and no temporary left
      under <data_dir>/blobs/staging.
* test_sigterm_drains_within_the_grace_period: `[limits] shutdown_grace_secs = 2`; a
  short upload in flight at SIGTERM completes, a slow one is cut at the deadline,
  the process exits within the grace period plus a little, and the cut upload's
  image is `queued` (re-uploadable) after the restart.
* test_disk_full_local_store: the blob store on a 16 MiB tmpfs (root only; skipped
  outside CI otherwise, a failure under CI): an upload that does not fit is refused
  with Glance's 413 "Image storage media is full", the image is back to `queued`,
  no temporary is left, and a small upload afterwards succeeds.

The node's log (every run appended) is attached to any failure (conftest's hook).
"""

import contextlib
import dataclasses
import hashlib
import http.client
import http.server
import json
import os
import random
import select
import shutil
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import conftest
from cluster_support import Node, glance, request, to_toml, under_ci, wait_for
from conftest import HOST, _free_ports, parse_openrc, unique

MiB = 1024 * 1024
KiB = 1024
SEED = int(os.environ.get("IMAGERY_CRASH_SEED", "1847"))
ITERATIONS = int(os.environ.get("IMAGERY_CRASH_ITERATIONS", "30"))
# The harness stops starting iterations after this many seconds (a slow machine
# runs fewer; at least MIN_ITERATIONS must run).
HARNESS_BUDGET_SECS = float(os.environ.get("IMAGERY_CRASH_BUDGET", "110"))
MIN_ITERATIONS = 10
GC_GRACE_SECS = 2
GC_INTERVAL_SECS = 1
JOB_LEASE_SECS = 3
NODE_LEASE_SECS = 3
# An import whose claim (`importing`) was committed but whose job was not, when the
# node died between the two, is failed by recovery this long after it (the service's
# ORPHAN_IMPORT_AFTER): settling waits for that at worst.
ORPHAN_IMPORT_SECS = 60
HTTP_TIMEOUT = 30.0
OFF_PORTS = ("compute", "huawei", "huawei_tls", "azure", "yandex", "combined", "admin")


def digests(data):
    return {"size": len(data), "checksum": hashlib.md5(data).hexdigest(), "os_hash_value": hashlib.sha512(data).hexdigest()}


# ---------------------------------------------------------------------------
# One node with a configuration of the test's choosing


class SingleNode(Node):
    """`imagery serve -c FILE` on its own data dir (SQLite, local blobs unless
    `blob_url` is given), identity and image listeners only; ports kept across restarts."""

    def __init__(self, base, config):
        super().__init__("node", base, {})
        self.config = config

    def _write_config(self):
        config = dict(self.config)
        config.update(data_dir=str(self.data_dir), bind=HOST, public_host=HOST)
        ports = {name: 0 for name in OFF_PORTS}
        ports.update(identity=self.ports["identity"], image=self.ports["image"])
        config["ports"] = ports
        self.config_path.write_text(to_toml(config))
        self.config_path.chmod(0o600)

    @property
    def blob_root(self):
        return Path(self.config.get("blob_url") or (self.data_dir / "blobs"))

    def blob_files(self):
        """Committed blob files: key -> size."""
        found = {}
        root = self.blob_root / "blobs"
        if root.exists():
            for shard in root.iterdir():
                for f in shard.iterdir():
                    found[f.name] = f.stat().st_size
        return found

    def staging_files(self):
        root = self.blob_root / "staging"
        return sorted(p.name for p in root.iterdir()) if root.exists() else []

    def blob_path(self, key):
        return self.blob_root / "blobs" / key[:2] / key


def base_config(**more):
    config = {
        "gc_grace_secs": GC_GRACE_SECS,
        "gc_interval_secs": GC_INTERVAL_SECS,
        "service": {"node_lease_secs": NODE_LEASE_SECS, "job_lease_secs": JOB_LEASE_SECS},
        # Nothing here is about rate limits: keep them out of the way.
        "limits": {"per_address_rate": 0, "per_caller_read_rate": 0, "per_caller_write_rate": 0},
    }
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


@contextlib.contextmanager
def running_node(base, config):
    node = SingleNode(base, config)
    node.base.mkdir(parents=True, exist_ok=True)
    conftest._SERVERS.append(node)
    try:
        node.start()
        yield node
    finally:
        status = node.stop()
        conftest._SERVERS.remove(node)
        print("\nnode (pid %s) stopped with status %s; log: %s" % (node.pid, status, node.log_path))


# ---------------------------------------------------------------------------
# Talking to it


class Api:
    def __init__(self, node):
        self.node = node
        self.password = parse_openrc(node.data_dir / "admin-openrc.sh")["OS_PASSWORD"]
        self.admin = self.token("admin", self.password, "admin")

    def token(self, user, password, project):
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
                "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
            }
        }
        status, headers, data = request(
            "POST", self.node.identity_url + "/v3/auth/tokens", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        assert status == 201, (status, data[:500])
        return headers["x-subject-token"]

    def keystone(self, method, path, body=None):
        h = {"X-Auth-Token": self.admin, "Content-Type": "application/json"}
        status, _, data = request(method, self.node.identity_url + "/v3" + path, body=json.dumps(body).encode() if body is not None else None, headers=h)
        return status, (json.loads(data) if data else None)

    def member_project(self):
        """A project with a member user: (project id, that user's token)."""
        status, domains = self.keystone("GET", "/domains?name=Default")
        domain = domains["domains"][0]["id"]
        status, role = self.keystone("GET", "/roles?name=member")
        role = role["roles"][0]["id"]
        name, password = unique("crash-proj"), unique("pw")
        status, project = self.keystone("POST", "/projects", {"project": {"name": name, "domain_id": domain}})
        assert status == 201, project
        project = project["project"]["id"]
        status, user = self.keystone("POST", "/users", {"user": {"name": name, "domain_id": domain, "password": password, "default_project_id": project}})
        assert status == 201, user
        status, _ = self.keystone("PUT", "/projects/%s/users/%s/roles/%s" % (project, user["user"]["id"], role))
        assert status in (200, 204), status
        return project, self.token(name, password, name)

    def g(self, method, path, body=None, token=None, headers=None):
        return glance(method, self.node, path, token or self.admin, body=body, headers=headers, timeout=HTTP_TIMEOUT)

    def create(self, name):
        status, doc = self.g("POST", "/v2/images", {"name": name, "disk_format": "raw", "container_format": "bare"})
        assert status == 201, (status, doc)
        return doc["id"]

    def show(self, image_id):
        """The image document, or None when it is not found."""
        status, doc = self.g("GET", "/v2/images/%s" % image_id)
        if status == 404:
            return None
        assert status == 200, (status, doc)
        return doc

    def put_fast(self, image_id, what, data):
        status, doc = self.g("PUT", "/v2/images/%s/%s" % (image_id, what), body=bytes(data), headers={"Content-Type": "application/octet-stream"})
        assert status == 204, (what, status, doc)

    def images(self):
        found, marker = [], None
        while True:
            path = "/v2/images?limit=200" + ("&marker=%s" % marker if marker else "")
            status, doc = self.g("GET", path)
            assert status == 200, (status, doc)
            found += doc["images"]
            if len(doc["images"]) < 200:
                return found
            marker = doc["images"][-1]["id"]

    def download(self, image_id):
        parts = urllib.parse.urlsplit(self.node.image_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", "/v2/images/%s/file" % image_id, headers={"X-Auth-Token": self.admin})
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (image_id, r.status, body[:300])
            return body
        finally:
            conn.close()


def paced_put(port, path, token, data, piece, pause, stop_on_answer=False, accept=None):
    """PUT `data` with a Content-Length, `piece` bytes at a time with `pause` s
    between pieces; with `stop_on_answer`, stops sending as soon as the server
    answers (a refusal before the body is read). ("response", status, body,
    headers) or ("error", exception); never raises."""
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT)
    try:
        conn.putrequest("PUT", path)
        conn.putheader("X-Auth-Token", token)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(len(data)))
        if accept:
            conn.putheader("Accept", accept)
        conn.endheaders()
        sent = 0
        view = memoryview(data)
        while sent < len(data):
            if stop_on_answer and select.select([conn.sock], [], [], 0)[0]:
                break
            conn.send(view[sent:sent + piece])
            sent += min(piece, len(data) - sent)
            if pause:
                time.sleep(pause)
        r = conn.getresponse()
        return ("response", r.status, r.read(), {k.lower(): v for k, v in r.getheaders()})
    except (OSError, http.client.HTTPException) as e:
        return ("error", e)
    finally:
        conn.close()


class Sources:
    """A loopback HTTP server answering GET /<name> with the bytes registered under
    that name, in `chunk`-byte pieces every `delay` seconds (a slow web-download source)."""

    def __init__(self, chunk=64 * KiB, delay=0.02):
        self.payloads = {}
        self.chunk = chunk
        self.delay = delay
        sources = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                data = sources.payloads.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for i in range(0, len(data), sources.chunk):
                        self.wfile.write(data[i:i + sources.chunk])
                        self.wfile.flush()
                        time.sleep(sources.delay)
                except OSError:
                    pass  # the fetching node died
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def origin(self):
        return "http://%s:%d" % (HOST, self.server.server_address[1])

    def add(self, name, data):
        self.payloads["/" + name] = data
        return self.origin + "/" + name

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------
# The harness: what each image went through, as the client saw it


@dataclasses.dataclass
class Record:
    """One image of the harness and every write the client tried on it."""

    id: str
    kind: str
    iteration: int
    payload: bytes = b""  # the bytes the image must hold once active
    tried: set = dataclasses.field(default_factory=set)  # "upload", "stage", "import", "delete", "member", "accept"
    acked: set = dataclasses.field(default_factory=set)
    member: str = ""
    outcome: str = ""

    @property
    def expected(self):
        return digests(self.payload)


class Harness:
    def __init__(self, node, api, sources, rng):
        self.node = node
        self.api = api
        self.sources = sources
        self.rng = rng
        self.records = {}
        self.member_project, self.member_token = api.member_project()
        self.kills = 0
        self.counts = {}
        self.downloads = 0

    # -- workloads: setup() runs before the clock, run() in a thread, raced by SIGKILL.
    # Each returns (run callable, nominal seconds it takes).

    def _record(self, kind, iteration, payload=b""):
        image_id = self.api.create(unique("crash-%s" % kind))
        rec = Record(id=image_id, kind=kind, iteration=iteration, payload=payload)
        self.records[image_id] = rec
        return rec

    def _paced(self, rec, what, pause):
        rec.tried.add(what)
        result = paced_put(self.node.ports["image"], "/v2/images/%s/%s" % (rec.id, what), self.api.admin, rec.payload, 128 * KiB, pause)
        if result[0] == "response":
            if result[1] == 204:
                rec.acked.add(what)
            else:
                rec.outcome = "%s answered %s: %r" % (what, result[1], result[2][:200])

    def _call(self, rec, what, method, path, body, ok, token=None):
        rec.tried.add(what)
        try:
            status, doc = self.api.g(method, path, body, token=token)
        except (OSError, http.client.HTTPException):
            return
        if status == ok:
            rec.acked.add(what)
        else:
            rec.outcome = "%s answered %s: %r" % (what, status, doc)

    def w_upload(self, i):
        rec = self._record("upload", i, self.rng.randbytes(self.rng.randint(2 * MiB, 5 * MiB)))
        pause = 0.01
        return (lambda: self._paced(rec, "file", pause)), len(rec.payload) / (128 * KiB) * (pause + 0.002)

    def w_stage(self, i):
        rec = self._record("stage", i, self.rng.randbytes(self.rng.randint(1 * MiB, 4 * MiB)))
        pause = 0.01
        return (lambda: self._paced(rec, "stage", pause)), len(rec.payload) / (128 * KiB) * (pause + 0.002)

    def w_import(self, i):
        rec = self._record("import", i, self.rng.randbytes(self.rng.randint(1 * MiB, 3 * MiB)))
        self.api.put_fast(rec.id, "stage", rec.payload)
        rec.tried.add("stage")
        rec.acked.add("stage")
        body = {"method": {"name": "glance-direct"}}
        return (lambda: self._call(rec, "import", "POST", "/v2/images/%s/import" % rec.id, body, 202)), 0.3

    def w_web(self, i):
        rec = self._record("web", i, self.rng.randbytes(self.rng.randint(1 * MiB, 2 * MiB)))
        uri = self.sources.add(rec.id, rec.payload)
        body = {"method": {"name": "web-download", "uri": uri}}
        seconds = len(rec.payload) / self.sources.chunk * (self.sources.delay + 0.002)
        return (lambda: self._call(rec, "import", "POST", "/v2/images/%s/import" % rec.id, body, 202)), seconds

    def w_delete(self, i):
        rec = self._record("delete", i, self.rng.randbytes(self.rng.randint(64 * KiB, 1 * MiB)))
        self.api.put_fast(rec.id, "file", rec.payload)
        rec.tried.add("file")
        rec.acked.add("file")
        return (lambda: self._call(rec, "delete", "DELETE", "/v2/images/%s" % rec.id, None, 204)), 0.05

    def w_members(self, i):
        rec = self._record("members", i, self.rng.randbytes(64 * KiB))
        self.api.put_fast(rec.id, "file", rec.payload)
        rec.tried.add("file")
        rec.acked.add("file")
        rec.member = self.member_project

        def run():
            self._call(rec, "member", "POST", "/v2/images/%s/members" % rec.id, {"member": rec.member}, 200)
            if "member" in rec.acked:
                path = "/v2/images/%s/members/%s" % (rec.id, rec.member)
                self._call(rec, "accept", "PUT", path, {"status": "accepted"}, 200, token=self.member_token)

        return run, 0.08

    WORKLOADS = ("w_upload", "w_stage", "w_import", "w_web", "w_delete", "w_members")

    def iteration(self, i):
        chosen = self.rng.sample(self.WORKLOADS, self.rng.randint(1, 3))
        runs = []
        longest = 0.0
        for name in chosen:
            run, seconds = getattr(self, name)(i)
            runs.append(run)
            longest = max(longest, seconds)
            self.counts[name[2:]] = self.counts.get(name[2:], 0) + 1
        delay = self.rng.uniform(0.0, longest * 1.1)
        threads = [threading.Thread(target=run, daemon=True) for run in runs]
        for t in threads:
            t.start()
        time.sleep(delay)
        self.node.kill()
        self.kills += 1
        for t in threads:
            t.join(timeout=HTTP_TIMEOUT + 5)
            assert not t.is_alive(), "a client of the killed node hangs"
        self.node.start()
        touched = [r for r in self.records.values() if r.iteration == i]
        self.check_after_restart(touched, "iteration %d (%s, killed after %.3f s)" % (i, ", ".join(n[2:] for n in chosen), delay))

    # -- invariants

    def check_record(self, rec, doc, where, settled=False):
        what = "%s: %s image %s (tried %s, acknowledged %s)" % (where, rec.kind, rec.id, sorted(rec.tried), sorted(rec.acked))
        if doc is None:
            assert "delete" in rec.tried, "%s vanished" % what
            return
        assert "delete" not in rec.acked, "%s: deleted (204) but still there, %s" % (what, doc["status"])
        status = doc["status"]
        assert status != "saving", "%s is still 'saving' after the restart" % what
        if status == "active":
            got = {k: doc.get(k) for k in ("size", "checksum", "os_hash_value")}
            assert got == rec.expected, "%s is active with other data: %r, sent %r" % (what, got, rec.expected)
            path = self.node.blob_path(doc["os_hash_value"])
            assert path.exists() and path.stat().st_size == doc["size"], "%s is active without its blob file %s" % (what, path)
        if status == "uploading":
            assert "stage" in rec.tried, "%s is 'uploading' but was never staged" % what
            path = self.node.blob_path(rec.expected["os_hash_value"])
            assert path.exists(), "%s is 'uploading' without a staged payload (%s)" % (what, path)
        if status == "importing":
            assert "import" in rec.tried and not settled, "%s is 'importing'" % what
        if {"file"} & rec.acked:
            assert status == "active", "%s: upload acknowledged (204) but the image is %s" % (what, status)
        if "stage" in rec.acked and "import" not in rec.tried:
            assert status == "uploading", "%s: staging acknowledged (204) but the image is %s" % (what, status)
        if "import" in rec.acked:
            assert status in ("importing", "active", "queued"), "%s: import acknowledged (202) but the image is %s" % (what, status)
            if status == "queued":
                assert doc.get("os_glance_failed_import"), "%s: acknowledged import left the image queued without a failure" % what
        if "member" in rec.acked:
            status_code, member = self.api.g("GET", "/v2/images/%s/members/%s" % (rec.id, rec.member))
            assert status_code == 200, "%s: member added (200) but not found: %s %r" % (what, status_code, member)
            if "accept" in rec.acked:
                assert member["status"] == "accepted", "%s: member accepted (200) but %r" % (what, member)

    def check_after_restart(self, touched, where):
        listed = {doc["id"]: doc for doc in self.api.images()}
        for doc in listed.values():
            assert doc["status"] != "saving", "%s: image %s is 'saving' after a restart" % (where, doc["id"])
        for rec in self.records.values():
            self.check_record(rec, listed.get(rec.id) or self.api.show(rec.id), where)
        # Bytes: the images of this iteration and a few older ones, downloaded.
        active = [r for r in self.records.values() if r.id in listed and listed[r.id]["status"] == "active"]
        sample = [r for r in active if r in touched]
        older = [r for r in active if r not in touched]
        sample += self.rng.sample(older, min(2, len(older)))
        for rec in sample:
            assert digests(self.api.download(rec.id)) == rec.expected, "%s: image %s downloads other bytes" % (where, rec.id)
            self.downloads += 1

    def settle(self, timeout):
        """Import what is staged, wait for every import to end, check every image."""
        for rec in self.records.values():
            doc = self.api.show(rec.id)
            if doc is not None and doc["status"] == "uploading":
                rec.tried.add("import")
                status, body = self.api.g("POST", "/v2/images/%s/import" % rec.id, {"method": {"name": "glance-direct"}})
                assert status == 202, (rec.id, status, body)
                rec.acked.add("import")

        def quiet():
            docs = {d["id"]: d for d in self.api.images()}
            busy = [i for i, d in docs.items() if d["status"] in ("importing", "saving", "uploading") and i in self.records]
            return docs if not busy else None

        listed = wait_for("every import to end", quiet, timeout=timeout, interval=0.3)
        for rec in self.records.values():
            doc = listed.get(rec.id) or self.api.show(rec.id)
            self.check_record(rec, doc, "after settling", settled=True)
            if doc is not None and doc["status"] == "active":
                assert digests(self.api.download(rec.id)) == rec.expected, "image %s downloads other bytes" % rec.id
                self.downloads += 1
            outcome = "deleted" if doc is None else doc["status"] + ("+failed_import" if doc.get("os_glance_failed_import") else "")
            key = "%s:%s" % (rec.kind, outcome)
            self.counts[key] = self.counts.get(key, 0) + 1
        return listed

    def check_garbage_collected(self, listed):
        referenced = {d["os_hash_value"] for d in listed.values() if d["status"] in ("active", "deactivated") and d.get("os_hash_value")}
        for key in referenced:
            assert key in self.node.blob_files(), "referenced blob %s has no file" % key

        def clean():
            files = self.node.blob_files()
            orphans = sorted(set(files) - referenced)
            staging = self.node.staging_files()
            return True if not orphans and not staging else None

        # A blob younger than the grace period is kept; collection runs every second.
        try:
            wait_for("garbage collection", clean, timeout=GC_GRACE_SECS + GC_INTERVAL_SECS + 10, interval=0.5)
        except BaseException:
            files = self.node.blob_files()
            pytest.fail(
                "after the grace period: unreferenced blob files %s, temporaries %s"
                % (sorted(set(files) - referenced), self.node.staging_files()),
                pytrace=False,
            )
        return len(referenced)


def test_sigkill_harness(tmp_path):
    started = time.monotonic()
    rng = random.Random(SEED)
    sources = Sources()
    config = base_config(service={"web_download_allow": [sources.origin + "/"]})
    try:
        with running_node(tmp_path / "node", config) as node:
            api = Api(node)
            harness = Harness(node, api, sources, rng)
            done = 0
            for i in range(ITERATIONS):
                if time.monotonic() - started > HARNESS_BUDGET_SECS:
                    break
                harness.iteration(i)
                done += 1
            assert done >= MIN_ITERATIONS, "only %d iterations within %.0f s" % (done, HARNESS_BUDGET_SECS)
            listed = harness.settle(timeout=ORPHAN_IMPORT_SECS + JOB_LEASE_SECS * 4 + 10)
            referenced = harness.check_garbage_collected(listed)
            log = node.log_text()
            assert "panicked" not in log, "the node panicked"
    finally:
        sources.stop()
    elapsed = time.monotonic() - started
    print(
        "\ncrash harness: seed %d, %d iterations, %d SIGKILLs, %d images (%d blobs kept), %d downloads verified, %.1f s\n  %s"
        % (SEED, done, harness.kills, len(harness.records), referenced, harness.downloads, elapsed, json.dumps(harness.counts, sort_keys=True))
    )


# ---------------------------------------------------------------------------
# SIGTERM: drain in-flight requests for a bounded time


def test_sigterm_drains_within_the_grace_period(tmp_path):
    grace = 2
    config = base_config(limits={"shutdown_grace_secs": grace})
    with running_node(tmp_path / "node", config) as node:
        api = Api(node)
        slow_data, fast_data = os.urandom(16 * MiB), os.urandom(1 * MiB)
        slow, fast = api.create(unique("drain-slow")), api.create(unique("drain-fast"))
        port = node.ports["image"]
        results = {}

        def upload(key, image_id, data, pause):
            results[key] = paced_put(port, "/v2/images/%s/file" % image_id, api.admin, data, 128 * KiB, pause)

        # ~12.8 s for the slow one; the fast one ends ~0.9 s after the signal.
        slow_thread = threading.Thread(target=upload, args=("slow", slow, slow_data, 0.1), daemon=True)
        slow_thread.start()
        wait_for("the slow upload to be 'saving'", lambda: api.show(slow)["status"] == "saving", timeout=10)
        fast_thread = threading.Thread(target=upload, args=("fast", fast, fast_data, 0.1), daemon=True)
        fast_thread.start()
        wait_for("the fast upload to be 'saving'", lambda: api.show(fast)["status"] == "saving", timeout=10)

        signalled = time.monotonic()
        os.kill(node.proc.pid, 15)
        time.sleep(0.5)
        refused = None
        try:
            with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=2)) as c:
                c.request("GET", "/healthcheck")
                refused = "answered %s" % c.getresponse().status
        except OSError as e:
            refused = e
        try:
            status = node.proc.wait(timeout=grace + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("the node did not exit within %d s of SIGTERM (grace %d s)" % (grace + 10, grace), pytrace=False)
        took = time.monotonic() - signalled
        print("\nSIGTERM: exited with status %s after %.2f s (grace %d s)" % (status, took, grace))
        assert status == 0, "exit status %s" % status
        assert isinstance(refused, ConnectionRefusedError), "a new connection during the drain: %r" % (refused,)
        assert took >= grace - 0.3, "exited after %.2f s, before the slow upload's grace period ran out" % took
        assert took <= grace + 3, "exited %.2f s after SIGTERM, the grace period is %d s" % (took, grace)
        for t in (slow_thread, fast_thread):
            t.join(timeout=HTTP_TIMEOUT)
        assert results["fast"][:2] == ("response", 204), "the request in flight within the grace period: %r" % (results["fast"],)
        assert results["slow"][0] == "error", "the upload cut at the deadline got an answer: %r" % (results["slow"],)
        assert "closed a connection still busy at the end of the shutdown grace period" in node.log_text()
        assert node.staging_files() == [], "the cut upload left a temporary"

        node.start()
        doc = api.show(slow)
        assert doc["status"] == "queued", "the upload cut by the shutdown left the image %s" % doc["status"]
        assert api.show(fast)["status"] == "active"
        assert digests(api.download(fast)) == digests(fast_data)
        # Recoverable: the client uploads again.
        api.put_fast(slow, "file", slow_data)
        doc = api.show(slow)
        assert (doc["status"], doc["size"], doc["os_hash_value"]) == ("active", len(slow_data), hashlib.sha512(slow_data).hexdigest())

        # Nothing in flight: SIGTERM exits at once.
        signalled = time.monotonic()
        assert node.terminate() == 0
        assert time.monotonic() - signalled < 2, "an idle node took %.2f s to stop" % (time.monotonic() - signalled)


# ---------------------------------------------------------------------------
# A full disk under the local blob store


TMPFS_MIB = 16


@pytest.fixture
def small_blob_fs(tmp_path):
    """A 16 MiB tmpfs mounted for the blob store only; unmounted at teardown."""

    def cannot(why):
        if under_ci():
            pytest.fail("%s, but CI is set: the disk-full test must run there" % why, pytrace=False)
        pytest.skip(why)

    if os.geteuid() != 0:
        cannot("mounting a small tmpfs for the blob store needs root")
    mount = shutil.which("mount") or "/bin/mount"
    umount = shutil.which("umount") or "/bin/umount"
    target = tmp_path / "small-blobs"
    target.mkdir()
    proc = subprocess.run([mount, "-t", "tmpfs", "-o", "size=%dm,mode=0700" % TMPFS_MIB, "tmpfs", str(target)], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        cannot("cannot mount a tmpfs at %s: %s" % (target, (proc.stderr or proc.stdout).strip()))
    try:
        yield target
    finally:
        proc = subprocess.run([umount, str(target)], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            subprocess.run([umount, "-l", str(target)], capture_output=True, timeout=30)


def test_disk_full_local_store(tmp_path, small_blob_fs):
    sources = Sources(chunk=1 * MiB, delay=0)
    config = base_config(blob_url=str(small_blob_fs), service={"web_download_allow": [sources.origin + "/"]})
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(sources.stop)
        node = cleanup.enter_context(running_node(tmp_path / "node", config))
        check_disk_full(node, small_blob_fs, sources)


def check_disk_full(node, small_blob_fs, sources):
    api = Api(node)
    big = os.urandom((TMPFS_MIB + 8) * MiB)
    image_id = api.create(unique("disk-full"))
    kind, status, body, headers = _answer(
        paced_put(node.ports["image"], "/v2/images/%s/file" % image_id, api.admin, big, 256 * KiB, 0, stop_on_answer=True, accept="application/json")
    )
    assert kind == "response", "no answer to an upload larger than the store: %r" % (status,)
    assert status == 413, (status, body[:500])
    assert headers.get("content-type", "").startswith("application/json"), headers
    doc = json.loads(body)
    assert doc["code"].startswith("413") and "Image storage media is full" in doc["message"], doc
    shown = api.show(image_id)
    assert shown["status"] == "queued", "after a full disk the image is %s" % shown["status"]
    assert shown.get("size") is None and shown.get("checksum") is None, shown
    assert node.blob_files() == {}, "a blob was committed: %r" % node.blob_files()
    # The failed write removed its temporary at once; the sweep finds nothing else.
    wait_for("no temporary under the blob store", lambda: node.staging_files() == [], timeout=GC_GRACE_SECS + GC_INTERVAL_SECS + 5)
    free = shutil.disk_usage(small_blob_fs).free
    assert free > (TMPFS_MIB - 2) * MiB, "only %d bytes free after the failed upload" % free

    # Staging fails the same way (Glance's wording, image back to queued).
    staged_id = api.create(unique("disk-full-stage"))
    kind, status, body, _ = _answer(
        paced_put(node.ports["image"], "/v2/images/%s/stage" % staged_id, api.admin, big, 256 * KiB, 0, stop_on_answer=True, accept="application/json")
    )
    assert (kind, status) == ("response", 413), (kind, status, body)
    assert api.show(staged_id)["status"] == "queued"
    wait_for("no temporary under the blob store", lambda: node.staging_files() == [], timeout=GC_GRACE_SECS + GC_INTERVAL_SECS + 5)

    # A web-download import fails with the reason on the image.
    imported_id = api.create(unique("disk-full-import"))
    uri = sources.add(imported_id, big)
    status, body = api.g("POST", "/v2/images/%s/import" % imported_id, {"method": {"name": "web-download", "uri": uri}})
    assert status == 202, (status, body)
    shown = wait_for("the import to end", lambda: api.show(imported_id) if api.show(imported_id)["status"] != "importing" else None, timeout=30)
    assert shown["status"] == "queued" and shown.get("os_glance_failed_import"), shown
    assert "storage media is full" in node.log_text(), "the node's log does not say why the import failed"
    wait_for("no temporary under the blob store", lambda: node.staging_files() == [], timeout=GC_GRACE_SECS + GC_INTERVAL_SECS + 5)

    # What fits still goes in.
    small = os.urandom(2 * MiB)
    api.put_fast(image_id, "file", small)
    shown = api.show(image_id)
    assert (shown["status"], shown["size"], shown["checksum"], shown["os_hash_value"]) == (
        "active",
        len(small),
        hashlib.md5(small).hexdigest(),
        hashlib.sha512(small).hexdigest(),
    )
    assert digests(api.download(image_id)) == digests(small)
    assert list(node.blob_files()) == [hashlib.sha512(small).hexdigest()]


def _answer(result):
    """paced_put's result as (kind, status, body, headers); an error as (kind, exception, b"", {})."""
    if result[0] == "response":
        return result
    return (result[0], result[1], b"", {})
