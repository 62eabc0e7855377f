"""The Nova image proxy (Compute v2.1 `/images`) as openstacksdk's compute proxy and
raw keystoneauth sessions use it: the compute endpoint from imagery's Keystone
catalog, version discovery, `images()` (detail and summary), `find_image`,
`get_image`, the image metadata calls with the microversion pinned to 2.35 (the
last one with the image proxy), and `/v2.1/{project_id}/images/detail` in JSON and in
the legacy XML. Images are made through Glance by the same user; metadata set
through Nova is a Glance property and the other way round."""

import os
import uuid
import xml.etree.ElementTree as ET

import pytest
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc

from conftest import HOST, KeystoneAdmin, file_digests, glance_json, running_imagery, sdk_connection, unique

NOVA_XMLNS = "http://docs.openstack.org/compute/api/v1.1"
IMAGE_SIZE_XMLNS = "http://docs.openstack.org/compute/ext/image_size/api/v1.1"
ATOM_XMLNS = "http://www.w3.org/2005/Atom"
COMPUTE = {"service_type": "compute", "interface": "public", "region_name": "RegionOne"}






@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_imagery(tmp_path_factory.mktemp("nova"), combined=False, compute=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def account(server):
    return KeystoneAdmin(server, server.session()).create_project_user("nova")


@pytest.fixture(scope="module")
def conn(server, account):
    connection = sdk_connection(server, account, compute_api_version="2.35")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def session(server, account):
    return server.session(account["username"], account["password"], account["project_name"])


@pytest.fixture()
def image(conn):
    """A raw image made through Glance, with min_disk/min_ram and properties."""
    data = os.urandom(300 * 1024 + 11)
    created = conn.image.create_image(
        unique("nova"),
        data=data,
        disk_format="raw",
        container_format="bare",
        min_disk=2,
        min_ram=128,
        wait=True,
        meta={"os_distro": "ubuntu", "hw_disk_bus": "virtio"},
    )
    yield conn.image.get_image(created.id), data
    conn.image.delete_image(created.id, ignore_missing=True)


def test_catalog_has_compute_endpoint(server, session):
    compute_root = "http://%s:%d/v2.1" % (HOST, server.ports["compute"])
    assert session.get_endpoint(**COMPUTE) == compute_root
    catalog = session.auth.get_access(session).service_catalog
    urls = {e["interface"]: e["url"] for e in catalog.get_endpoints(service_type="compute")["compute"]}
    assert set(urls) == {"public", "internal", "admin"}
    assert all(url.endswith("/v2.1") for url in urls.values()), urls
    # The version document the SDK negotiates against: 2.35 lies in [min, max].
    version = session.get(compute_root + "/", authenticated=False).json()["version"]
    assert version["id"] == "v2.1" and version["min_version"] == "2.1"
    assert tuple(int(p) for p in version["version"].split(".")) >= (2, 35)


def test_sdk_compute_images(conn, image):
    glance_image, data = image
    digests = file_digests(data)
    assert conn.compute.default_microversion == "2.35"

    detailed = {i.id: i for i in conn.compute.images()}
    assert glance_image.id in detailed
    nova = detailed[glance_image.id]
    assert nova.name == glance_image.name
    assert nova.status == "ACTIVE" and nova.progress == 100
    assert (nova.min_disk, nova.min_ram) == (2, 128)
    assert nova.size == digests["size"]
    assert nova.metadata["os_distro"] == "ubuntu" and nova.metadata["hw_disk_bus"] == "virtio"
    rels = {link["rel"] for link in nova.links}
    assert rels == {"self", "bookmark", "alternate"}

    summary = {i.id: i for i in conn.compute.images(details=False)}
    assert summary[glance_image.id].name == glance_image.name
    assert summary[glance_image.id].links

    assert conn.compute.find_image(glance_image.name, ignore_missing=False).id == glance_image.id
    assert conn.compute.find_image(glance_image.id, ignore_missing=False).id == glance_image.id
    assert conn.compute.find_image(unique("no-such-image")) is None

    shown = conn.compute.get_image(glance_image.id)
    assert (shown.id, shown.name, shown.status, shown.min_disk, shown.min_ram, shown.size) == (
        glance_image.id,
        glance_image.name,
        "ACTIVE",
        2,
        128,
        digests["size"],
    )
    assert shown.metadata["os_distro"] == "ubuntu"
    with pytest.raises(sdk_exc.NotFoundException):
        conn.compute.get_image(str(uuid.uuid4()))


def test_sdk_image_metadata_is_glance_properties(conn, image):
    glance_image, _ = image
    set_result = conn.compute.set_image_metadata(glance_image.id, purpose="e2e", tier="gold")
    assert set_result.metadata["purpose"] == "e2e" and set_result.metadata["tier"] == "gold"
    props = glance_json(conn, glance_image.id)
    assert (props["purpose"], props["tier"], props["os_distro"]) == ("e2e", "gold", "ubuntu")

    fetched = conn.compute.get_image_metadata(glance_image.id).metadata
    assert fetched["purpose"] == "e2e" and fetched["tier"] == "gold" and fetched["os_distro"] == "ubuntu"

    conn.compute.delete_image_metadata(glance_image.id, ["tier"])
    props = glance_json(conn, glance_image.id)
    assert "tier" not in props and props["purpose"] == "e2e"
    assert "tier" not in conn.compute.fetch_image_metadata(glance_image.id).metadata

    # A property set through Glance is Nova metadata.
    conn.image.update_image(glance_image.id, from_glance="yes")
    assert conn.compute.get_image(glance_image.id).metadata["from_glance"] == "yes"

    conn.compute.delete_image(glance_image.id, ignore_missing=False)
    with pytest.raises(sdk_exc.NotFoundException):
        conn.image.get_image(glance_image.id)


def test_raw_session_project_paths_json_and_xml(session, account, image):
    glance_image, data = image
    project = account["project_id"]
    compute_root = session.get_endpoint(**COMPUTE)

    detail = session.get("/%s/images/detail" % project, endpoint_filter=COMPUTE)
    assert detail.status_code == 200 and detail.headers["Content-Type"].startswith("application/json")
    assert detail.url == "%s/%s/images/detail" % (compute_root, project)
    assert detail.headers["OpenStack-API-Version"] == "compute 2.1"
    found = [i for i in detail.json()["images"] if i["id"] == glance_image.id]
    assert len(found) == 1
    nova = found[0]
    assert (nova["name"], nova["status"], nova["progress"]) == (glance_image.name, "ACTIVE", 100)
    assert (nova["minDisk"], nova["minRam"], nova["OS-EXT-IMG-SIZE:size"]) == (2, 128, len(data))
    assert nova["metadata"]["os_distro"] == "ubuntu" and nova["metadata"]["hw_disk_bus"] == "virtio"
    links = {link["rel"]: link["href"] for link in nova["links"]}
    assert links["self"] == "%s/%s/images/%s" % (compute_root, project, glance_image.id)

    pinned = session.get(
        "/%s/images/%s" % (project, glance_image.id), endpoint_filter=COMPUTE, headers={"OpenStack-API-Version": "compute 2.35"}
    )
    assert pinned.status_code == 200 and pinned.headers["OpenStack-API-Version"] == "compute 2.35"
    assert pinned.json()["image"]["id"] == glance_image.id
    with pytest.raises(ksa_exc.NotFound):
        session.get("/%s/images/detail" % project, endpoint_filter=COMPUTE, headers={"OpenStack-API-Version": "compute 2.36"})
    with pytest.raises(ksa_exc.HttpError) as too_new:
        session.get("/%s/images/detail" % project, endpoint_filter=COMPUTE, headers={"OpenStack-API-Version": "compute 9.99"})
    assert too_new.value.http_status == 406

    legacy = session.get(compute_root.rsplit("/v2.1", 1)[0] + "/v2/%s/images/detail" % project)
    assert glance_image.id in [i["id"] for i in legacy.json()["images"]]

    as_xml = session.get("/%s/images/detail" % project, endpoint_filter=COMPUTE, headers={"Accept": "application/xml"})
    assert as_xml.status_code == 200 and as_xml.headers["Content-Type"].startswith("application/xml"), as_xml.headers
    root = ET.fromstring(as_xml.content)
    assert root.tag == "{%s}images" % NOVA_XMLNS
    matches = [e for e in root.findall("{%s}image" % NOVA_XMLNS) if e.get("id") == glance_image.id]
    assert len(matches) == 1, as_xml.text
    element = matches[0]
    assert (element.get("name"), element.get("status"), element.get("minDisk"), element.get("minRam")) == (
        glance_image.name,
        "ACTIVE",
        "2",
        "128",
    )
    assert element.get("{%s}size" % IMAGE_SIZE_XMLNS) == str(len(data))
    meta = {m.get("key"): (m.text or "") for m in element.find("{%s}metadata" % NOVA_XMLNS)}
    assert meta["os_distro"] == "ubuntu" and meta["hw_disk_bus"] == "virtio"
    xml_links = {l.get("rel"): l.get("href") for l in element.findall("{%s}link" % ATOM_XMLNS)}
    assert xml_links["self"] == links["self"]

    # Metadata set through the proxy is a Glance property, and shows in both views.
    meta_url = "/%s/images/%s/metadata" % (project, glance_image.id)
    response = session.post(meta_url, endpoint_filter=COMPUTE, json={"metadata": {"raw_key": "raw value"}})
    assert response.json()["metadata"]["raw_key"] == "raw value"
    image_url = session.get_endpoint(service_type="image", interface="public")
    assert session.get("%s/v2/images/%s" % (image_url, glance_image.id)).json()["raw_key"] == "raw value"
    item = session.get(meta_url + "/raw_key", endpoint_filter=COMPUTE).json()
    assert item == {"meta": {"raw_key": "raw value"}}
