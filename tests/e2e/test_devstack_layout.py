"""A single-port, devstack-style deployment (`/identity`, `/image` on one listener):
the catalog must advertise those prefixed URLs and every client must find its way
through version discovery under the prefix (`GET /image` → 300, `/image/versions`)."""

import json

import pytest
from glanceclient import Client as GlanceClient

from conftest import running_imagery, run_cli, unique, venv_tool


@pytest.fixture(scope="module")
def devstack(tmp_path_factory):
    with running_imagery(tmp_path_factory.mktemp("devstack"), identity=False, image=False, combined=True) as server:
        yield server


def test_catalog_advertises_prefixed_endpoints(devstack):
    assert devstack.openrc["OS_AUTH_URL"] == "%s/identity/v3" % devstack.combined_url
    session = devstack.session()
    assert session.get_endpoint(service_type="identity", interface="public").rstrip("/") == "%s/identity/v3" % devstack.combined_url
    assert session.get_endpoint(service_type="image", interface="public").rstrip("/") == "%s/image" % devstack.combined_url


def test_openstack_cli_through_one_port(devstack, disks, tmp_path):
    env = devstack.cli_env()
    qcow2 = disks["qcow2"]
    name = unique("devstack")

    def openstack(*args, fmt_json=True):
        argv = [venv_tool("openstack"), "--debug", *args] + (["-f", "json"] if fmt_json else [])
        proc = run_cli(argv, env)
        return json.loads(proc.out) if fmt_json else proc

    created = openstack("image", "create", "--file", str(qcow2.path), "--disk-format", "qcow2", "--container-format", "bare", name)
    assert created["status"] == "active" and created["checksum"] == qcow2.digests["checksum"]
    assert name in [i["Name"] for i in openstack("image", "list")]
    assert openstack("image", "show", name)["id"] == created["id"]
    out = tmp_path / "saved"
    openstack("image", "save", "--file", str(out), name, fmt_json=False)
    assert out.read_bytes() == qcow2.data
    openstack("image", "delete", name, fmt_json=False)
    assert name not in [i["Name"] for i in openstack("image", "list")]


def test_glanceclient_through_one_port(devstack, disks):
    raw = disks["raw"]
    glance = GlanceClient("2", session=devstack.session())
    image = glance.images.create(name=unique("devstack-gc"), disk_format="raw", container_format="bare")
    try:
        with open(raw.path, "rb") as fh:
            glance.images.upload(image["id"], fh)
        shown = glance.images.get(image["id"])
        assert shown["status"] == "active" and shown["os_hash_value"] == raw.digests["os_hash_value"]
        assert b"".join(glance.images.data(image["id"])) == raw.data
    finally:
        glance.images.delete(image["id"])
