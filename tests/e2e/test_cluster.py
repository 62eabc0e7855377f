"""The operator's scale-out path, end to end: two `imagery serve` processes (own data
dirs and ports, one key-encryption key, node and job leases of 3 s) on one PostgreSQL
catalog and the Garage S3 store, behind a real nginx balancing round-robin over their
Keystone and Glance ports; driven by the real openstacksdk through nginx and by raw
HTTP straight to one node where a test must know which node does the work.

Then the crashes: a node SIGKILLed mid-upload (its `saving` image returns to `queued`
on the other node within the node lease, the upload can be redone through nginx, the
dead node restarts at once on its data dir), a graceful restart of one node while the
other receives an upload, a node SIGKILLed while it runs a web-download import (the
other takes the job over), and two nodes on one SQLite file (refused).

Needs IMAGERY_TEST_POSTGRES_URL and IMAGERY_TEST_S3_* (scripts/test.sh starts both);
outside CI a missing PostgreSQL skips and a missing S3 server falls back to a shared
directory, under CI both fail. See cluster_support.py for the processes.
"""

import hashlib
import os
import subprocess
import time

import pytest

import conftest
from cluster_support import (
    JOB_LEASE_SECS,
    NODE_LEASE_SECS,
    Cluster,
    Node,
    SlowUpload,
    download_digests,
    glance,
    image_status,
    log_lines,
    request,
    wait_for,
)
from conftest import unique

MiB = 1024 * 1024


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        problems = c.stop()
        print("\ncluster stopped (blob store: %s); logs: %s, %s, %s" % (c.blob_description, c.a.log_path, c.b.log_path, tmp_path / "nginx"))
        assert not problems, problems


@pytest.fixture(scope="module")
def qcow2_32mib(tmp_path_factory):
    """A real qcow2 (qemu-img convert) of ~32 MiB of random data."""
    base = tmp_path_factory.mktemp("cluster-disks")
    raw = base / "source.raw"
    raw.write_bytes(os.urandom(32 * MiB))
    qcow2 = base / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True, timeout=120)
    raw.unlink()
    return qcow2


def digests(data):
    return {"size": len(data), "checksum": hashlib.md5(data).hexdigest(), "os_hash_value": hashlib.sha512(data).hexdigest()}


def create_image(node_or_url, token, name, disk_format="raw"):
    status, doc = glance("POST", node_or_url, "/v2/images", token, body={"name": name, "disk_format": disk_format, "container_format": "bare"})
    assert status == 201, (status, doc)
    return doc["id"]


def status_on(node, token, image_id):
    return image_status(node, token, image_id)["status"]


# ---------------------------------------------------------------------------
# Through nginx


def test_upload_through_nginx_is_served_by_both_nodes(cluster, qcow2_32mib):
    data = qcow2_32mib.read_bytes()
    expected = digests(data)
    logged_before = cluster.nginx.requests_logged()
    conn = cluster.sdk()
    try:
        name = unique("cluster-sdk")
        image = conn.image.create_image(name, filename=str(qcow2_32mib), disk_format="qcow2", container_format="bare", wait=True, validate_checksum=True)
        assert image.status == "active"
        assert (image.size, image.checksum, image.hash_value) == (expected["size"], expected["checksum"], expected["os_hash_value"])
        # Listed and shown the same through the balancer, whichever node answers.
        for _ in range(4):
            assert [i.id for i in conn.image.images(name=name)] == [image.id]
            shown = conn.image.get_image(image.id)
            assert (shown.status, shown.size, shown.checksum) == ("active", expected["size"], expected["checksum"])
        downloaded = conn.image.download_image(image)
        body = downloaded.content if hasattr(downloaded, "content") else bytes(downloaded)
        assert digests(body) == expected
    finally:
        conn.close()
    assert cluster.nginx.requests_logged() > logged_before + 8, "the SDK's requests did not go through nginx"

    # Tokens from the balanced Keystone (round-robin: one from each node), used
    # straight on each node: the same image, the same bytes.
    tokens = [cluster.token(cluster.nginx.url("identity")) for _ in range(2)]
    for node, token in zip(cluster.nodes, tokens):
        status, listing = glance("GET", node, "/v2/images?name=%s" % name, token)
        assert status == 200 and [i["id"] for i in listing["images"]] == [image.id], listing
        doc = image_status(node, token, image.id)
        assert (doc["status"], doc["size"], doc["checksum"], doc["os_hash_value"]) == (
            "active",
            expected["size"],
            expected["checksum"],
            expected["os_hash_value"],
        ), node.name
        assert download_digests(node, token, image.id) == expected, node.name

    # nginx really balanced: both nodes' Keystone and Glance ports got requests from it.
    used = cluster.nginx.upstreams_used()
    for node in cluster.nodes:
        assert {node.ports["identity"], node.ports["image"]} <= used, (node.name, node.ports, used)


def test_tokens_and_revocation_cross_nodes(cluster):
    a, b = cluster.a, cluster.b
    token = cluster.token(a.identity_url)
    status, _ = glance("GET", b, "/v2/images", token)
    assert status == 200, "node B refuses a token node A issued"
    via_nginx = cluster.token(cluster.nginx.url("identity"))
    for node in cluster.nodes:
        assert glance("GET", node, "/v2/images", via_nginx)[0] == 200, node.name
    assert glance("GET", cluster.nginx.url("image"), "/v2/images", token)[0] == 200

    # Revoked on A (straight to A's Keystone port): B refuses it within about a second.
    status, _, body = request("DELETE", a.identity_url + "/v3/auth/tokens", headers={"X-Auth-Token": via_nginx, "X-Subject-Token": token})
    assert status == 204, (status, body)
    revoked = time.monotonic()
    wait_for("node B to refuse the token revoked on node A", lambda: glance("GET", b, "/v2/images", token)[0] == 401, timeout=1.0, interval=0.02)
    print("node B refused the revoked token %.0f ms after the revocation on node A" % ((time.monotonic() - revoked) * 1000))
    assert glance("GET", a, "/v2/images", token)[0] == 401
    assert glance("GET", cluster.nginx.url("image"), "/v2/images", token)[0] == 401
    # The other token is untouched on both nodes.
    for node in cluster.nodes:
        assert glance("GET", node, "/v2/images", via_nginx)[0] == 200, node.name


# ---------------------------------------------------------------------------
# Crashes


def test_sigkill_mid_upload_requeues_on_the_other_node(cluster):
    a, b = cluster.a, cluster.b
    token = cluster.token(a.identity_url)
    data = os.urandom(32 * MiB)
    expected = digests(data)
    image_id = create_image(a, token, unique("crash-upload"))

    upload = SlowUpload(a, token, image_id, data)
    upload.send(4 * MiB)
    # The upload is under way on A: B sees the image `saving`.
    wait_for("the image to be 'saving'", lambda: status_on(b, token, image_id) == "saving", timeout=10)
    log_mark = len(b.log_text())
    a.kill()
    killed = time.monotonic()
    kind, *rest = upload.finish()
    assert kind == "error", "the client of a SIGKILLed node got an answer: %r" % (rest,)

    # Within the node lease (+ a heartbeat and some slack) B returns it to `queued`.
    wait_for("node B to return the dead node's upload to 'queued'", lambda: status_on(b, token, image_id) == "queued", timeout=NODE_LEASE_SECS + 5)
    took = time.monotonic() - killed
    print("image back to 'queued' on node B %.1f s after node A was killed" % took)
    assert log_lines(b, r"took over an interrupted upload.*%s" % a.node_id, since=log_mark) or log_lines(
        b, r"took over an interrupted upload", since=log_mark
    ), "node B's log does not say it took the upload over"

    # The upload again, through nginx (A is down: nginx sends it to B): active, right bytes.
    conn = cluster.sdk()
    try:
        response = conn.image.put("/images/%s/file" % image_id, data=data, headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 204, (response.status_code, response.text)
        shown = conn.image.get_image(image_id)
        assert (shown.status, shown.size, shown.checksum, shown.hash_value) == ("active", expected["size"], expected["checksum"], expected["os_hash_value"])
    finally:
        conn.close()

    # A restarts on its data dir at once (its lease long expired) and serves the image.
    took = a.start()
    print("node A restarted in %.2f s" % took)
    assert image_status(a, token, image_id)["status"] == "active"
    assert download_digests(a, token, image_id) == expected

    # Killed mid-upload again and restarted at once, while its heartbeat lease is still
    # live: it takes over its own previous run's lease instead of waiting for it to
    # expire, and returns its own interrupted upload to `queued` as it starts.
    second = create_image(a, token, unique("crash-upload-again"))
    upload = SlowUpload(a, token, second, data)
    upload.send(4 * MiB)
    wait_for("the second image to be 'saving'", lambda: status_on(a, token, second) == "saving", timeout=10)
    a.kill()
    assert upload.finish()[0] == "error"
    mark = len(a.log_text())
    took = a.start()
    print("node A restarted right after SIGKILL in %.2f s (node lease %d s)" % (took, NODE_LEASE_SECS))
    assert log_lines(a, r"taking over the heartbeat lease of this node's previous run", since=mark), "node A waited for its own lease"
    assert took < NODE_LEASE_SECS, "node A took %.1f s to restart right after a crash" % took
    for node in cluster.nodes:
        assert status_on(node, token, second) == "queued", node.name
    requeued_by_a = log_lines(a, r"returned images with interrupted uploads to 'queued'", since=mark)
    requeued_by_b = log_lines(b, r"took over an interrupted upload.*image=%s" % second)
    assert requeued_by_a or requeued_by_b, "neither node's log says who returned the upload to 'queued'"
    assert image_status(a, token, image_id)["status"] == "active"


def test_graceful_restart_of_one_node_leaves_the_others_upload_alone(cluster):
    a, b = cluster.a, cluster.b
    token = cluster.token(a.identity_url)
    data = os.urandom(32 * MiB)
    expected = digests(data)
    image_id = create_image(a, token, unique("restart-upload"))

    upload = SlowUpload(a, token, image_id, data)
    upload.send(2 * MiB)
    wait_for("the image to be 'saving'", lambda: status_on(b, token, image_id) == "saving", timeout=10)
    worker = upload.finish_in_thread(pace=0.15)  # ~4.5 s for the remaining 30 MiB

    status = b.terminate()
    assert status == 0, "node B exited with status %s on SIGTERM" % status
    b.start()
    assert upload.sent < len(data), "the upload was over before node B restarted; the test proves nothing"
    worker.join(timeout=60)
    assert not worker.is_alive(), "the upload to node A did not finish"
    assert upload.result[:2] == ("response", 204), upload.result
    for node in cluster.nodes:
        doc = image_status(node, token, image_id)
        assert (doc["status"], doc["size"], doc["checksum"], doc["os_hash_value"]) == ("active", expected["size"], expected["checksum"], expected["os_hash_value"]), node.name
    assert download_digests(b, token, image_id) == expected
    assert not log_lines(b, r"took over an interrupted upload"), "node B took over a live node's upload"


def test_sigkill_during_web_download_import_is_taken_over(cluster):
    a, b = cluster.a, cluster.b
    token = cluster.token(a.identity_url)
    source = cluster.source
    expected = digests(source.data)
    image_id = create_image(a, token, unique("crash-import"))
    uri = source.origin + "/disk.raw"

    status, body = glance("POST", a, "/v2/images/%s/import" % image_id, token, body={"method": {"name": "web-download", "uri": uri}})
    assert status == 202, (status, body)
    # The node that claimed the job starts fetching (normally A: the request woke its workers).
    first = wait_for("the import to start fetching", lambda: source.fetches_snapshot(), timeout=10, interval=0.02)[0]
    fetcher, survivor = (a, b) if first["pid"] == a.pid else (b, a)
    assert first["pid"] in (a.pid, b.pid), "could not tell which node fetched (pid %r)" % first["pid"]
    mark = len(survivor.log_text())
    fetcher.kill()
    killed = time.monotonic()
    if fetcher is b:
        print("node B claimed the job before node A's worker did; killing B instead")

    def active():
        doc = image_status(survivor, token, image_id)
        assert doc["status"] in ("importing", "active"), doc
        return doc if doc["status"] == "active" else None

    doc = wait_for("the surviving node to finish the import", active, timeout=JOB_LEASE_SECS + 10, interval=0.2)
    print("import active %.1f s after the fetching node was killed" % (time.monotonic() - killed))
    assert (doc["size"], doc["checksum"], doc["os_hash_value"]) == (expected["size"], expected["checksum"], expected["os_hash_value"])
    fetches = source.fetches_snapshot()
    assert len(fetches) >= 2 and fetches[0]["done"] is False, fetches
    assert fetches[-1]["pid"] == survivor.pid and fetches[-1]["done"], fetches
    took_over = log_lines(survivor, r"took over a job from a node whose lease expired", since=mark)
    assert took_over, "the surviving node's log does not say it took the job over"
    assert fetcher.node_id in took_over[0], took_over
    assert download_digests(survivor, token, image_id) == expected


def test_sigterm_during_web_download_import_hands_the_job_back(cluster):
    a, b = cluster.a, cluster.b
    token = cluster.token(a.identity_url)
    source = cluster.source
    expected = digests(source.data)
    image_id = create_image(a, token, unique("stop-import"))
    status, body = glance("POST", a, "/v2/images/%s/import" % image_id, token, body={"method": {"name": "web-download", "uri": source.origin + "/disk.raw"}})
    assert status == 202, (status, body)
    first = wait_for("the import to start fetching", lambda: source.fetches_snapshot(), timeout=10, interval=0.02)[0]
    assert first["pid"] in (a.pid, b.pid), "could not tell which node fetched (pid %r)" % first["pid"]
    fetcher, survivor = (a, b) if first["pid"] == a.pid else (b, a)
    mark = len(survivor.log_text())
    stopping = time.monotonic()
    status = fetcher.terminate()
    print("the fetching node stopped in %.2f s with status %s" % (time.monotonic() - stopping, status))
    assert status == 0

    # Handed back at once: the other node resumes it without waiting for the job lease.
    def active():
        doc = image_status(survivor, token, image_id)
        assert doc["status"] in ("importing", "active"), doc
        return doc if doc["status"] == "active" else None

    doc = wait_for("the other node to finish the import", active, timeout=JOB_LEASE_SECS + 10, interval=0.2)
    print("import active %.1f s after the fetching node was stopped" % (time.monotonic() - stopping))
    assert (doc["size"], doc["checksum"], doc["os_hash_value"]) == (expected["size"], expected["checksum"], expected["os_hash_value"])
    fetches = source.fetches_snapshot()
    assert fetches[-1]["pid"] == survivor.pid and fetches[-1]["done"], fetches
    assert not log_lines(survivor, r"took over a job from a node whose lease expired", since=mark), "a job handed back on shutdown waited for its lease"
    fetcher.start()
    assert image_status(fetcher, token, image_id)["status"] == "active"


def test_two_nodes_on_one_sqlite_file_are_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    settings = {
        "database_url": "sqlite://%s" % (shared / "catalog.db"),
        "blob_url": str(shared / "blobs"),
        "s3": None,
        "kek": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "service": {"node_lease_secs": NODE_LEASE_SECS},
    }
    first = Node("sqlite-1", tmp_path / "sqlite-1", settings)
    second = Node("sqlite-2", tmp_path / "sqlite-2", settings)
    for node in (first, second):
        node.base.mkdir()
        conftest._SERVERS.append(node)
    try:
        first.start()
        proc = second.spawn()
        try:
            status = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the second node on the same SQLite file is still running after 20 s")
        assert status != 0
        log = second.log_text()
        assert "PostgreSQL" in log and "SQLite" in log, log[-2000:]
        assert first.ready_problem() is None, "the first node suffered from the refused second one"
    finally:
        for node in (first, second):
            node.stop()
            conftest._SERVERS.remove(node)
