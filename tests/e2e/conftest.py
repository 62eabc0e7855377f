"""End-to-end fixtures: real `imagery serve` processes (one shared by the session,
others per layout under test) driven by the real client libraries and CLIs installed
from PyPI (tests/e2e/requirements.txt).

Each server runs on free loopback ports with a throw-away data dir; its stderr goes
to a log file whose tail is attached to every failing test's report. Only 127.0.0.1
is ever contacted. IMAGERY_BIN names the binary (default target/debug/imagery).
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
CLI_TIMEOUT = 180
REQUEST_TIMEOUT = 120  # seconds; a hung server fails the test instead of hanging CI
LOG_TAIL_CHARS = 6000
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

# Make sure no proxy from the environment ever sees loopback traffic.
os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def _imagery_bin():
    path = Path(os.environ.get("IMAGERY_BIN", "target/debug/imagery"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def _free_ports(count):
    """Distinct free loopback ports (held open together so they differ)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def parse_openrc(path):
    """`export KEY=VALUE` lines (shell-quoted values) → dict."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep:
            continue
        words = shlex.split(value)
        env[key.strip()] = words[0] if words else ""
    return env


def tail(path, chars=LOG_TAIL_CHARS):
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)
    return ANSI_ESCAPE.sub("", data[-chars:].decode("utf-8", "replace"))


def venv_tool(name):
    """A console script of the venv the tests run in (openstack, glance)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return name


def run_cli(argv, env, check=True, timeout=CLI_TIMEOUT, tty_stdin=False):
    """Run a client CLI with stdin from /dev/null, or from a terminal when `tty_stdin`
    (`openstack image create` without --file reads image data from a non-tty stdin);
    on an unexpected exit status fail with its full story."""
    started = time.monotonic()
    if tty_stdin:
        import pty

        master, slave = pty.openpty()
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, stdin=slave)
        finally:
            os.close(slave)
            os.close(master)
    else:
        proc = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    proc.elapsed = time.monotonic() - started
    proc.out = proc.stdout.decode("utf-8", "replace")
    proc.err = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        pytest.fail(
            "command failed (exit %d): %s\n--- stdout ---\n%s\n--- stderr (tail) ---\n%s"
            % (proc.returncode, " ".join(shlex.quote(a) for a in argv), proc.out[-4000:], proc.err[-LOG_TAIL_CHARS:]),
            pytrace=False,
        )
    return proc


def file_digests(data):
    return {
        "size": len(data),
        "checksum": hashlib.md5(data).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
    }


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


@dataclasses.dataclass
class Imagery:
    """A running server and what a client needs to reach it. A port of 0 is a listener
    that is off; with only the combined port on, the APIs live under /identity and
    /image of that port (devstack layout)."""

    proc: subprocess.Popen
    data_dir: Path
    log_path: Path
    ports: dict  # listener name ("identity", "image", "combined", "compute", ...) → port, 0 = off
    openrc: dict = dataclasses.field(default_factory=dict)
    openrc_mode: int = 0

    @property
    def identity_port(self):
        return self.ports.get("identity", 0)

    @property
    def image_port(self):
        return self.ports.get("image", 0)

    @property
    def combined_port(self):
        return self.ports.get("combined", 0)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def identity_url(self):
        """Keystone v3 root as advertised (`…/v3`)."""
        if self.identity_port:
            return "http://%s:%d/v3" % (HOST, self.identity_port)
        return "http://%s:%d/identity/v3" % (HOST, self.combined_port)

    @property
    def image_url(self):
        """Glance root (where `/v2/...` and `/healthcheck` live)."""
        if self.image_port:
            return "http://%s:%d" % (HOST, self.image_port)
        return "http://%s:%d/image" % (HOST, self.combined_port)

    @property
    def combined_url(self):
        return "http://%s:%d" % (HOST, self.combined_port)

    @property
    def admin(self):
        o = self.openrc
        return {
            "auth_url": o["OS_AUTH_URL"],
            "username": o["OS_USERNAME"],
            "password": o["OS_PASSWORD"],
            "project_name": o["OS_PROJECT_NAME"],
            "user_domain_name": o.get("OS_USER_DOMAIN_NAME", "Default"),
            "project_domain_name": o.get("OS_PROJECT_DOMAIN_NAME", "Default"),
        }

    def credentials(self, username=None, password=None, project_name=None):
        creds = dict(self.admin)
        if username is not None:
            creds.update(username=username, password=password, project_name=project_name)
        return creds

    def session(self, username=None, password=None, project_name=None):
        """A keystoneauth session with password auth against imagery's Keystone."""
        from keystoneauth1 import session as ksa_session
        from keystoneauth1.identity import v3

        auth = v3.Password(**self.credentials(username, password, project_name))
        return ksa_session.Session(auth=auth, timeout=REQUEST_TIMEOUT)

    def cli_env(self, username=None, password=None, project_name=None, **extra):
        """Environment for the `openstack` / `glance` CLIs: only our OS_* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(self.openrc)
        env["OS_AUTH_URL"] = self.identity_url
        env["OS_INTERFACE"] = "public"
        if username is not None:
            env.update(OS_USERNAME=username, OS_PASSWORD=password, OS_PROJECT_NAME=project_name)
        # Never let a user's clouds.yaml or OS_CLOUD interfere.
        env["OS_CLIENT_CONFIG_FILE"] = str(self.data_dir / "no-clouds.yaml")
        env.update(extra)
        return env

    def server_log_tail(self):
        return tail(self.log_path)

    def stop(self):
        """SIGTERM the server by its pid, then SIGKILL if it lingers; returns its status."""
        proc = self.proc
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        return proc.returncode


_SERVERS = []


def _port_options(binary):
    """The listener names the binary has a `--NAME-port` option for."""
    out = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    return sorted(set(name.replace("-", "_") for name in re.findall(r"--([a-z0-9-]+)-port\b", out)))


def _die_with_parent():
    """In the child before exec: get SIGTERM when pytest dies, even if it is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(binary, data_dir, log_path, ports):
    argv = [str(binary), "serve", "--data-dir", str(data_dir), "--bind", HOST, "--public-host", HOST]
    for name, port in sorted(ports.items()):
        argv += ["--%s-port" % name.replace("_", "-"), str(port)]
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    env.setdefault("RUST_BACKTRACE", "1")
    env.setdefault("NO_COLOR", "1")
    with open(log_path, "ab") as log:
        log.write(("$ %s\n" % " ".join(argv)).encode())
        log.flush()
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(data_dir), env=env, preexec_fn=_die_with_parent
        )


def _wait_ready(server):
    """Ready = the image API's healthcheck answers 200 and admin-openrc.sh exists."""
    openrc_path = server.data_dir / "admin-openrc.sh"
    health = server.image_url + "/healthcheck"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return "server exited with status %s during start" % server.proc.returncode
        try:
            with urllib.request.urlopen(health, timeout=2) as resp:
                if resp.status == 200 and openrc_path.exists():
                    return None
                last_error = "%s answered %s, openrc exists: %s" % (health, resp.status, openrc_path.exists())
        except (urllib.error.URLError, OSError) as e:
            last_error = "%s: %r" % (health, e)
        time.sleep(0.1)
    return "not ready after %.0f s (last: %s)" % (STARTUP_TIMEOUT, last_error)


def start_imagery(base, identity=True, image=True, combined=True, **more):
    """Start `imagery serve` in a fresh data dir under `base` and wait until it is ready.
    The listeners asked for (`compute=True`, ...) get free loopback ports; every other
    listener the binary knows is turned off (port 0), so no fixed port is ever bound."""
    import shutil

    binary = _imagery_bin()
    if not binary.exists():
        pytest.exit("imagery binary not found at %s (build it: cargo build -p imagery-server, or set IMAGERY_BIN)" % binary, returncode=3)
    wanted = dict(identity=identity, image=image, combined=combined, **more)
    known = _port_options(binary)
    unknown = [name for name, on in wanted.items() if on and name not in known]
    if unknown:
        pytest.fail("imagery serve has no --%s-port option (it knows: %s)" % ("-port, --".join(unknown), ", ".join(known)), pytrace=False)
    data_dir = base / "data"
    log_path = base / "server.log"
    for attempt in range(3):  # a probed free port can be taken before the server binds it
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True)
        free = iter(_free_ports(sum(1 for on in wanted.values() if on)))
        ports = {name: (next(free) if wanted.get(name) else 0) for name in known}
        server = Imagery(proc=_spawn(binary, data_dir, log_path, ports), data_dir=data_dir, log_path=log_path, ports=ports)
        problem = _wait_ready(server)
        if problem is None:
            break
        server.stop()
        if "cannot listen" in tail(log_path) and attempt < 2:
            continue
        pytest.fail("imagery did not start: %s\n--- server log (%s) ---\n%s" % (problem, log_path, tail(log_path)), pytrace=False)
    openrc_path = data_dir / "admin-openrc.sh"
    server.openrc = parse_openrc(openrc_path)
    server.openrc_mode = openrc_path.stat().st_mode & 0o777
    return server


@contextlib.contextmanager
def running_imagery(base, **listeners):
    server = start_imagery(base, **listeners)
    _SERVERS.append(server)
    try:
        yield server
    finally:
        _SERVERS.remove(server)
        status = server.stop()
        print("\nimagery (pid %d) stopped with status %s; log: %s" % (server.pid, status, server.log_path))


@pytest.fixture(scope="session")
def imagery(tmp_path_factory):
    """The shared server: identity, image and combined listeners all on."""
    with running_imagery(tmp_path_factory.mktemp("imagery")) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server log's tail to every failed test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _SERVERS:
            report.sections.append(("imagery server log, tail (%s)" % server.log_path, server.server_log_tail()))


# ---------------------------------------------------------------------------
# Identity helpers (through the Keystone v3 API with an admin keystoneauth session)


@pytest.fixture(scope="session")
def admin_session(imagery):
    return imagery.session()


class KeystoneAdmin:
    """Projects and users made through imagery's Keystone v3 API as admin."""

    def __init__(self, imagery, session):
        self.imagery = imagery
        self.session = session
        self.url = imagery.identity_url

    def domain_id(self, name="Default"):
        domains = self.session.get("%s/domains?name=%s" % (self.url, name)).json()["domains"]
        assert len(domains) == 1, domains
        return domains[0]["id"]

    def role_id(self, name):
        roles = self.session.get("%s/roles?name=%s" % (self.url, name)).json()["roles"]
        assert len(roles) == 1, roles
        return roles[0]["id"]

    def create_project_user(self, prefix, roles=("member",)):
        """A new project and a user in it with `roles`; returns a dict of names/ids/password."""
        domain_id = self.domain_id()
        project_name = unique(prefix + "-proj")
        user_name = unique(prefix + "-user")
        password = uuid.uuid4().hex
        project = self.session.post("%s/projects" % self.url, json={"project": {"name": project_name, "domain_id": domain_id}}).json()["project"]
        user = self.session.post(
            "%s/users" % self.url,
            json={"user": {"name": user_name, "domain_id": domain_id, "password": password, "default_project_id": project["id"]}},
        ).json()["user"]
        for role in roles:
            self.session.put("%s/projects/%s/users/%s/roles/%s" % (self.url, project["id"], user["id"], self.role_id(role)))
        return {
            "username": user_name,
            "password": password,
            "project_name": project_name,
            "user_id": user["id"],
            "project_id": project["id"],
        }

    def delete_project_user(self, who):
        self.session.delete("%s/users/%s" % (self.url, who["user_id"]))
        self.session.delete("%s/projects/%s" % (self.url, who["project_id"]))


@pytest.fixture(scope="session")
def keystone_admin(imagery, admin_session):
    return KeystoneAdmin(imagery, admin_session)


# ---------------------------------------------------------------------------
# Disk images made with the real qemu-img


@dataclasses.dataclass
class DiskFile:
    path: Path
    data: bytes
    virtual_size: int

    @property
    def digests(self):
        return file_digests(self.data)


def _qemu_img_info(path):
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True, capture_output=True).stdout
    return json.loads(out)


@pytest.fixture(scope="session")
def disks(tmp_path_factory):
    """raw: ~3 MiB of random bytes; qcow2: a real qcow2 holding ~3 MiB of other random
    data (qemu-img convert); qcow2_empty: `qemu-img create -f qcow2` of 16 MiB."""
    base = tmp_path_factory.mktemp("disks")
    raw = base / "random.raw"
    raw.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
    source = base / "source.raw"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    qcow2 = base / "data.qcow2"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(source), str(qcow2)], check=True)
    empty = base / "empty.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(empty), "16M"], check=True)
    out = {}
    for key, path in (("raw", raw), ("qcow2", qcow2), ("qcow2_empty", empty)):
        info = _qemu_img_info(path)
        expected_format = "raw" if key == "raw" else "qcow2"
        assert info["format"] == expected_format, info
        data = path.read_bytes()
        # qemu-img rounds a raw file's virtual size up to whole sectors; Glance's raw
        # inspector (and so imagery) reports the byte count.
        virtual_size = len(data) if key == "raw" else info["virtual-size"]
        out[key] = DiskFile(path=path, data=data, virtual_size=virtual_size)
    return out


# ---------------------------------------------------------------------------
# Helpers shared by the per-cloud tests


def create_access_key(server, who):
    """`imagery admin access-key-create` against the running server's data dir → (key id, secret)."""
    proc = run_cli(
        [str(_imagery_bin()), "admin", "--data-dir", str(server.data_dir), "access-key-create", "--user", who["username"], "--project", who["project_name"]],
        env=dict(os.environ, NO_COLOR="1"),
    )
    words = proc.out.split()
    assert len(words) == 2, "expected '<key id> <secret>', got %r" % proc.out
    return words[0], words[1]


def sdk_connection(server, who, **extra):
    """An openstacksdk connection as `who` against imagery's Keystone (no clouds.yaml, no OS_* env)."""
    import openstack

    return openstack.connect(
        auth_url=server.identity_url,
        username=who["username"],
        password=who["password"],
        project_name=who["project_name"],
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
        interface="public",
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
        api_timeout=REQUEST_TIMEOUT,
        **extra,
    )


def glance_json(conn, image_id):
    """The raw Glance v2 image document (every property at the top level)."""
    response = conn.image.get("/images/%s" % image_id)
    assert response.status_code == 200, response.text
    return response.json()


def glance_upload(conn, name, data, **meta):
    image = conn.image.create_image(name, data=data, disk_format="raw", container_format="bare", wait=True, **meta)
    return conn.image.get_image(image.id)
