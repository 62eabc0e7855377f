"""What the cluster tests (test_cluster.py) run: several `imagery serve` nodes on one
PostgreSQL catalog (a schema of their own on the throwaway server of
scripts/postgres-test-server.sh) and one blob store (the throwaway Garage S3 server of
scripts/garage-test-server.sh, else a shared directory outside CI), a real nginx
balancing round-robin over their Keystone and Glance ports, and a loopback HTTP
server that trickles an image's bytes for web-download.

Every process is started here with its own log file, and stopped by its PID (SIGTERM,
then SIGKILL) at teardown, also when a test fails. Only 127.0.0.1 is contacted.
"""

import base64
import contextlib
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

import conftest
from conftest import HOST, _die_with_parent, _free_ports, _imagery_bin, parse_openrc, tail

POSTGRES_URL_VAR = "IMAGERY_TEST_POSTGRES_URL"
S3_VARS = ("IMAGERY_TEST_S3_URL", "IMAGERY_TEST_S3_BUCKET", "IMAGERY_TEST_S3_REGION", "IMAGERY_TEST_S3_ACCESS_KEY_ID", "IMAGERY_TEST_S3_SECRET_ACCESS_KEY")
NODE_LEASE_SECS = 3
JOB_LEASE_SECS = 3
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 30.0


def under_ci():
    return bool(os.environ.get("CI"))


def need(what, why):
    """A missing dependency: a failure under CI (never silently untested), else a skip."""
    if under_ci():
        pytest.fail("%s, but CI is set: the cluster tests need it (%s)" % (what, why), pytrace=False)
    pytest.skip("%s (%s)" % (what, why))


def wait_for(what, predicate, timeout, interval=0.1):
    """Poll `predicate` until it returns something truthy (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except Exception as e:  # a node may be down for a moment; keep the last error
            last = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last), pytrace=False)
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Catalog and blob store shared by the nodes


def fresh_postgres_schema():
    """`IMAGERY_TEST_POSTGRES_URL` on a new schema (created with psql): the catalog URL."""
    admin = os.environ.get(POSTGRES_URL_VAR, "").strip()
    if not admin:
        need("%s is not set" % POSTGRES_URL_VAR, "several nodes share one PostgreSQL catalog; scripts/test.sh starts a throwaway server")
    psql = shutil.which("psql")
    if psql is None:
        need("no psql client", "it creates each test's schema")
    schema = "cluster_e2e_%s" % uuid.uuid4().hex[:12]
    proc = subprocess.run(
        [psql, admin, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", "CREATE SCHEMA %s" % schema],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        pytest.fail("cannot create schema %s on %s: %s" % (schema, admin, proc.stderr), pytrace=False)
    sep = "&" if "?" in admin else "?"
    return schema, "%s%soptions=-c%%20search_path%%3D%s" % (admin, sep, schema)


def drop_postgres_schema(schema):
    admin = os.environ.get(POSTGRES_URL_VAR, "").strip()
    psql = shutil.which("psql")
    if admin and psql:
        subprocess.run(
            [psql, admin, "-qAt", "-c", "DROP SCHEMA IF EXISTS %s CASCADE" % schema],
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )


def shared_blob_store(base):
    """(blob_url, [s3] table or None, description): a fresh prefix on the Garage test
    server, or (outside CI only, when no S3 server is configured) a shared directory."""
    if all(os.environ.get(v) for v in S3_VARS):
        prefix = "cluster-e2e-%s" % uuid.uuid4().hex[:12]
        s3 = {
            "endpoint": os.environ["IMAGERY_TEST_S3_URL"],
            "region": os.environ["IMAGERY_TEST_S3_REGION"],
            "addressing": "path",
            "access_key_id": os.environ["IMAGERY_TEST_S3_ACCESS_KEY_ID"],
            "secret_access_key": os.environ["IMAGERY_TEST_S3_SECRET_ACCESS_KEY"],
        }
        url = "s3://%s/%s" % (os.environ["IMAGERY_TEST_S3_BUCKET"], prefix)
        return url, s3, "S3 %s at %s" % (url, s3["endpoint"])
    if under_ci():
        pytest.fail("the IMAGERY_TEST_S3_* variables are not set, but CI is: the cluster tests run on the Garage test server", pytrace=False)
    blobs = base / "shared-blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    return str(blobs), None, "shared directory %s (no IMAGERY_TEST_S3_* variables)" % blobs


# ---------------------------------------------------------------------------
# TOML (only what the node configuration needs: strings, integers, booleans, lists)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(_toml_value(v) for v in value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def to_toml(config):
    lines = []
    tables = []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append("%s = %s" % (key, _toml_value(value)))
    for name, table in tables:
        lines.append("")
        lines.append("[%s]" % name)
        for key, value in table.items():
            lines.append("%s = %s" % (key, _toml_value(value)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# One node


class Node:
    """One `imagery serve -c FILE` process with its own data dir and fixed ports (kept
    across restarts); its log (every run appended) is attached to failing tests."""

    def __init__(self, name, base, settings):
        self.name = name
        self.base = base
        self.data_dir = base / "data"
        self.log_path = base / "server.log"
        self.config_path = base / "imagery.toml"
        self.settings = settings  # shared: database_url, blob_url, s3, kek, service
        self.ports = {}
        self.proc = None
        self.runs = 0

    # What conftest's failure hook reads.
    def server_log_tail(self):
        return tail(self.log_path, 12000)

    def log_text(self):
        return conftest.ANSI_ESCAPE.sub("", self.log_path.read_text(errors="replace")) if self.log_path.exists() else ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def identity_url(self):
        return "http://%s:%d" % (HOST, self.ports["identity"])

    @property
    def image_url(self):
        return "http://%s:%d" % (HOST, self.ports["image"])

    @property
    def node_id(self):
        return (self.data_dir / "node-id").read_text().strip()

    def _write_config(self):
        s = self.settings
        config = {
            "data_dir": str(self.data_dir),
            "database_url": s["database_url"],
            "blob_url": s["blob_url"],
            "bind": HOST,
            "public_host": HOST,
            "kek": s["kek"],
            "ports": {
                "identity": self.ports["identity"],
                "image": self.ports["image"],
                "compute": 0,
                "huawei": 0,
                "huawei_tls": 0,
                "azure": 0,
                "yandex": 0,
                "combined": 0,
                "admin": 0,
            },
            "service": dict(s["service"]),
        }
        if s.get("s3"):
            config["s3"] = dict(s["s3"])
        self.config_path.write_text(to_toml(config))
        self.config_path.chmod(0o600)

    def spawn(self):
        """Start the process (no waiting). The first start picks free ports."""
        assert self.proc is None or self.proc.poll() is not None, "%s is still running" % self.name
        if not self.ports:
            identity, image = _free_ports(2)
            self.ports = {"identity": identity, "image": image}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        argv = [str(_imagery_bin()), "serve", "-c", str(self.config_path)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGERY_") or k == "IMAGERY_BIN"}
        env.update(RUST_LOG=os.environ.get("RUST_LOG", "info"), RUST_BACKTRACE="1", NO_COLOR="1")
        self.runs += 1
        with open(self.log_path, "ab") as log:
            log.write(("\n===== %s run %d: $ %s\n" % (self.name, self.runs, " ".join(argv))).encode())
            log.flush()
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(self.base), env=env, preexec_fn=_die_with_parent
            )
        return self.proc

    def ready_problem(self):
        """None once both listeners answer; else what is wrong so far."""
        if self.proc.poll() is not None:
            return "exited with status %s" % self.proc.returncode
        try:
            for url in (self.image_url + "/healthcheck", self.identity_url + "/v3"):
                with contextlib.closing(http.client.HTTPConnection(HOST, urllib.parse.urlsplit(url).port, timeout=2)) as c:
                    c.request("GET", urllib.parse.urlsplit(url).path)
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        return "%s answered %s" % (url, r.status)
        except OSError as e:
            return "%r" % e
        return None

    def start(self, timeout=START_TIMEOUT):
        """Spawn and wait until ready; returns the seconds it took."""
        for attempt in range(3):
            started = time.monotonic()
            self.spawn()
            deadline = started + timeout
            problem = self.ready_problem()
            while problem is not None and time.monotonic() < deadline and self.proc.poll() is None:
                time.sleep(0.05)
                problem = self.ready_problem()
            if problem is None:
                return time.monotonic() - started
            self.stop()
            # A probed free port may be taken before the first start binds it.
            if "cannot listen" in tail(self.log_path, 2000) and self.runs == 1 and attempt < 2:
                self.ports = {}
                self.runs = 0
                continue
            pytest.fail(
                "%s did not start: %s\n--- log (%s) ---\n%s" % (self.name, problem, self.log_path, tail(self.log_path)),
                pytrace=False,
            )

    def kill(self):
        """SIGKILL by PID (a crash), and reap it."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        return self.proc.returncode

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM by PID (a graceful stop); returns the exit status, or fails if it lingers."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
                pytest.fail("%s did not stop within %.0f s of SIGTERM" % (self.name, timeout), pytrace=False)
        return self.proc.returncode

    def stop(self):
        """Teardown: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        return self.proc.returncode


# ---------------------------------------------------------------------------
# nginx in front of the nodes


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{
    worker_connections 512;
}}
http {{
    log_format upstream '$remote_addr "$request" $status $body_bytes_sent upstream=$upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_read_timeout 120s;
    proxy_send_timeout 120s;
    proxy_connect_timeout 2s;
{upstreams}
{servers}
}}
"""


class Nginx:
    """A real nginx (Debian's) balancing round-robin over the nodes' ports, one
    listener per API, started as its own process and stopped by its PID."""

    def __init__(self, base, upstreams):
        self.dir = base
        self.upstreams = upstreams  # api name -> [port, ...]
        self.ports = {}
        self.proc = None
        self.log_path = base / "error.log"
        self.access_log = base / "access.log"

    def url(self, api):
        return "http://%s:%d" % (HOST, self.ports[api])

    def server_log_tail(self):
        return "--- error.log ---\n%s\n--- access.log ---\n%s" % (tail(self.log_path, 3000), tail(self.access_log, 3000))

    def _conf(self):
        upstreams, servers = [], []
        for api, ports in self.upstreams.items():
            members = "".join("        server %s:%d max_fails=1 fail_timeout=2s;\n" % (HOST, p) for p in ports)
            upstreams.append("    upstream %s {\n%s        keepalive 8;\n    }" % (api, members))
            servers.append(
                "    server {\n"
                "        listen %s:%d;\n"
                "        location / {\n"
                "            proxy_pass http://%s;\n"
                "            proxy_set_header Host $http_host;\n"
                '            proxy_set_header Connection "";\n'
                "            proxy_set_header X-Forwarded-For $remote_addr;\n"
                "        }\n"
                "    }" % (HOST, self.ports[api], api)
            )
        # Workers would run as `nobody` under root, and could not reach a private temp dir.
        user = "user root;" if os.geteuid() == 0 else ""
        return NGINX_CONF.format(dir=self.dir, user=user, upstreams="\n".join(upstreams), servers="\n".join(servers))

    def start(self):
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if binary is None:
            need("no nginx binary", "apt-get install nginx; scripts/test.sh installs it")
        for attempt in range(3):
            self.ports = dict(zip(self.upstreams, _free_ports(len(self.upstreams))))
            conf = self.dir / "nginx.conf"
            conf.write_text(self._conf())
            with open(self.dir / "nginx.out", "ab") as out:
                self.proc = subprocess.Popen(
                    [binary, "-p", str(self.dir), "-c", str(conf), "-e", str(self.log_path)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,
                )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if all(_accepts(p) for p in self.ports.values()):
                    return
                time.sleep(0.05)
            self.stop()
            if "Address already in use" in tail(self.log_path, 2000) and attempt < 2:
                continue
            pytest.fail("nginx did not start:\n%s\n%s" % (tail(self.dir / "nginx.out"), tail(self.log_path)), pytrace=False)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)  # fast shutdown: the master stops its workers
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # The master is stuck: kill its workers (its children, by PID), then it.
            for pid in _children(self.proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)

    def access_lines(self):
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def requests_logged(self):
        return len(self.access_lines())

    def upstreams_used(self):
        """The upstream ports nginx passed requests to (a retried request names several)."""
        ports = set()
        for line in self.access_lines():
            for m in re.finditer(r"127\.0\.0\.1:(\d+)", line.partition("upstream=")[2]):
                ports.add(int(m.group(1)))
        return ports


def _children(parent):
    """PIDs whose parent is `parent` (/proc/PID/stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(parent):
            found.append(int(entry))
    return found


def _accepts(port):
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# A source that trickles its bytes (web-download), telling which process fetched


def _peer_pid(client_port, server_port, pids):
    """The pid among `pids` that owns the loopback connection from `client_port` to
    `server_port` (/proc/net/tcp, then each pid's fds)."""
    wanted = None
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.split(":")[1], 16) == client_port and int(remote.split(":")[1], 16) == server_port:
                wanted = "socket:[%s]" % inode
                break
    if wanted is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == wanted:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class TrickleSource:
    """A loopback HTTP server answering GET /<name> with `data`, sent in `chunk`-byte
    pieces every `delay` seconds. Each fetch is recorded with the pid that made it."""

    def __init__(self, data, chunk=64 * 1024, delay=0.05):
        self.data = data
        self.chunk = chunk
        self.delay = delay
        self.fetches = []  # dicts: pid, path, sent, done
        self.pids = lambda: []
        self.lock = threading.Lock()
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                pid = _peer_pid(self.client_address[1], self.server.server_address[1], source.pids())
                record = {"pid": pid, "path": self.path, "sent": 0, "done": False, "at": time.monotonic()}
                with source.lock:
                    source.fetches.append(record)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(source.data)))
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for i in range(0, len(source.data), source.chunk):
                        self.wfile.write(source.data[i:i + source.chunk])
                        self.wfile.flush()
                        record["sent"] += len(source.data[i:i + source.chunk])
                        time.sleep(source.delay)
                    record["done"] = True
                except OSError:
                    pass  # the fetching node died
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def origin(self):
        return "http://%s:%d" % (HOST, self.server.server_address[1])

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def fetches_snapshot(self):
        with self.lock:
            return [dict(f) for f in self.fetches]


# ---------------------------------------------------------------------------
# The cluster


class Cluster:
    """Nodes A and B on one catalog and blob store, nginx in front, and a trickling source."""

    def __init__(self, base, source_data=None):
        self.base = base
        self.schema, database_url = fresh_postgres_schema()
        blob_url, s3, self.blob_description = shared_blob_store(base)
        self.source = TrickleSource(source_data if source_data is not None else os.urandom(4 * 1024 * 1024)).start()
        self.settings = {
            "database_url": database_url,
            "blob_url": blob_url,
            "s3": s3,
            "kek": base64.b64encode(os.urandom(32)).decode(),
            "service": {
                "node_lease_secs": NODE_LEASE_SECS,
                "job_lease_secs": JOB_LEASE_SECS,
                "web_download_allow": [self.source.origin + "/"],
            },
        }
        self.a = Node("node-a", base / "node-a", self.settings)
        self.b = Node("node-b", base / "node-b", self.settings)
        self.source.pids = lambda: [p for p in (self.a.pid, self.b.pid) if p]
        self.nginx = None
        self.admin_password = None

    @property
    def nodes(self):
        return [self.a, self.b]

    def start(self):
        for node in self.nodes:
            node.base.mkdir(parents=True, exist_ok=True)
            conftest._SERVERS.append(node)
        # One after the other: the first creates the admin account (admin-openrc.sh).
        self.a.start()
        self.b.start()
        openrc = self.a.data_dir / "admin-openrc.sh"
        assert openrc.exists(), "the first node wrote no admin-openrc.sh"
        assert not (self.b.data_dir / "admin-openrc.sh").exists(), "the second node created another admin account"
        self.admin_password = parse_openrc(openrc)["OS_PASSWORD"]
        assert self.a.node_id != self.b.node_id, "each node has its own id"
        nginx_dir = self.base / "nginx"
        nginx_dir.mkdir()
        self.nginx = Nginx(nginx_dir, {"identity": [n.ports["identity"] for n in self.nodes], "image": [n.ports["image"] for n in self.nodes]})
        conftest._SERVERS.append(self.nginx)
        self.nginx.start()
        return self

    def stop(self):
        problems = []
        for what in [self.nginx, self.a, self.b]:
            if what is None:
                continue
            try:
                what.stop()
            except Exception as e:  # keep stopping the others
                problems.append("%s: %r" % (what, e))
            if what in conftest._SERVERS:
                conftest._SERVERS.remove(what)
        try:
            self.source.stop()
        except Exception as e:
            problems.append("source: %r" % e)
        drop_postgres_schema(self.schema)
        return problems

    # -- talking to the nodes -------------------------------------------------

    def token(self, identity_url):
        """A project-scoped admin token issued by the Keystone at `identity_url`."""
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": self.admin_password}}},
                "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
            }
        }
        status, headers, data = request("POST", identity_url + "/v3/auth/tokens", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        assert status == 201, (status, data[:500])
        return headers["x-subject-token"]

    def sdk(self, via="nginx"):
        """An openstacksdk connection as admin through nginx (both Keystone and Glance)
        or straight to one node."""
        import openstack

        if via == "nginx":
            auth_url, image_url = self.nginx.url("identity") + "/v3", self.nginx.url("image")
        else:
            auth_url, image_url = via.identity_url + "/v3", via.image_url
        return openstack.connect(
            auth_url=auth_url,
            username="admin",
            password=self.admin_password,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
            region_name="RegionOne",
            interface="public",
            identity_api_version="3",
            # The catalog advertises each node's own Glance port; clients of a balanced
            # deployment are pointed at the balancer.
            image_endpoint_override=image_url,
            load_yaml_config=False,
            load_envvars=False,
            api_timeout=conftest.REQUEST_TIMEOUT,
        )


def request(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """One plain HTTP request: (status, lower-cased headers, body bytes)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def glance(method, node_or_url, path, token, body=None, headers=None, timeout=HTTP_TIMEOUT):
    base = node_or_url if isinstance(node_or_url, str) else node_or_url.image_url
    h = {"X-Auth-Token": token}
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    status, hdrs, data = request(method, base + path, body=body, headers=h, timeout=timeout)
    return status, (json.loads(data) if data and hdrs.get("content-type", "").startswith("application/json") else data)


def image_status(node, token, image_id):
    status, doc = glance("GET", node, "/v2/images/%s" % image_id, token)
    assert status == 200, (status, doc)
    return doc


def download_digests(node, token, image_id):
    """md5 and sha512 of GET /v2/images/ID/file straight from one node, streamed."""
    parts = urllib.parse.urlsplit(node.image_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", "/v2/images/%s/file" % image_id, headers={"X-Auth-Token": token})
        r = conn.getresponse()
        assert r.status == 200, (r.status, r.read()[:500])
        md5, sha512, size = hashlib.md5(), hashlib.sha512(), 0
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            md5.update(piece)
            sha512.update(piece)
            size += len(piece)
        return {"size": size, "checksum": md5.hexdigest(), "os_hash_value": sha512.hexdigest()}
    finally:
        conn.close()


class SlowUpload:
    """PUT /v2/images/ID/file straight to one node with a Content-Length body sent in
    pieces, paced by the caller (or by `pace` seconds per piece in a thread)."""

    def __init__(self, node, token, image_id, data, piece=1 << 20):
        self.data = data
        self.piece = piece
        self.sent = 0
        self.result = None  # ("response", status, body) or ("error", exception)
        self.conn = http.client.HTTPConnection(HOST, node.ports["image"], timeout=HTTP_TIMEOUT)
        self.conn.putrequest("PUT", "/v2/images/%s/file" % image_id)
        self.conn.putheader("X-Auth-Token", token)
        self.conn.putheader("Content-Type", "application/octet-stream")
        self.conn.putheader("Content-Length", str(len(data)))
        self.conn.endheaders()

    def send(self, nbytes):
        end = min(len(self.data), self.sent + nbytes)
        while self.sent < end:
            n = min(self.piece, end - self.sent)
            self.conn.send(self.data[self.sent:self.sent + n])
            self.sent += n

    def finish(self, pace=0.0):
        """Send the rest (pausing `pace` s between pieces) and read the answer; never raises."""
        try:
            while self.sent < len(self.data):
                self.send(self.piece)
                if pace:
                    time.sleep(pace)
            r = self.conn.getresponse()
            self.result = ("response", r.status, r.read())
        except (OSError, http.client.HTTPException) as e:
            self.result = ("error", e)
        finally:
            self.conn.close()
        return self.result

    def finish_in_thread(self, pace):
        t = threading.Thread(target=self.finish, args=(pace,), daemon=True)
        t.start()
        return t


def log_lines(node, pattern, since=0):
    """Lines of `node`'s log (from character `since`) matching the regex `pattern`."""
    text = node.log_text()[since:]
    return [line for line in text.splitlines() if re.search(pattern, line)]
