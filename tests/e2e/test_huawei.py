"""Huawei Cloud IMS through the real huaweicloudsdkims: AK/SK-signed requests
(`SDK-HMAC-SHA256`) to the root of the plain-HTTP Huawei listener, the native
`ListImages` (`/v2/cloudimages`) and IMS's Glance-compatible calls
(`Glance*`: `/v2/images…` with Huawei's `__*` attributes at the top level).

The access key is an imagery access key made with `imagery admin
access-key-create`; `BasicCredentials(ak, sk, project_id)` with an explicit
endpoint makes no IAM call. The same images are checked through Glance
(openstacksdk) as the same user, both ways."""

import os

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkims.v2 import (
    GlanceCreateImageMetadataRequest,
    GlanceCreateImageMetadataRequestBody,
    GlanceDeleteImageRequest,
    GlanceListImagesRequest,
    GlanceShowImageRequest,
    GlanceUpdateImageRequest,
    GlanceUpdateImageRequestBody,
    ImsClient,
    ListImagesRequest,
)

from conftest import HOST, KeystoneAdmin, REQUEST_TIMEOUT, create_access_key, file_digests, glance_json, running_imagery, sdk_connection, unique

# The SDK marks its Glance* methods deprecated (in favour of the native IMS API); they
# are still what IMS serves and what this file tests.
pytestmark = pytest.mark.filterwarnings("ignore:Method 'glance_.*' of ImsClient is deprecated:DeprecationWarning")










@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_imagery(tmp_path_factory.mktemp("huawei"), combined=False, huawei=True, huawei_tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def account(server):
    keystone = KeystoneAdmin(server, server.session())
    who = keystone.create_project_user("huawei")
    who["ak"], who["sk"] = create_access_key(server, who)
    return who


def ims_client(server, account, sk=None):
    config = HttpConfig.get_default_config()
    config.timeout = (10, REQUEST_TIMEOUT)
    return (
        ImsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(account["ak"], sk or account["sk"], account["project_id"]))
        .with_endpoint("http://%s:%d" % (HOST, server.ports["huawei"]))
        .build()
    )


@pytest.fixture(scope="module")
def ims(server, account):
    return ims_client(server, account)


@pytest.fixture(scope="module")
def glance(server, account):
    conn = sdk_connection(server, account)
    yield conn
    conn.close()


def test_glance_images_seen_by_ims(ims, glance, account):
    data = os.urandom(700 * 1024 + 3)
    digests = file_digests(data)
    linux_name, windows_name = unique("hw-ubuntu"), unique("hw-win")
    linux = glance.image.create_image(
        linux_name,
        data=data,
        disk_format="raw",
        container_format="bare",
        min_disk=3,
        min_ram=256,
        wait=True,
        meta={"os_distro": "ubuntu", "os_version": "22.04", "architecture": "x86_64"},
    )
    windows = glance.image.create_image(
        windows_name, data=data, disk_format="raw", container_format="bare", wait=True, meta={"os_type": "windows"}
    )
    try:
        listed = ims.list_images(
            ListImagesRequest(imagetype="private", status="active", name=linux_name, limit=10, sort_key="created_at", sort_dir="desc")
        ).images
        assert [i.id for i in listed] == [linux.id]
        info = listed[0]
        assert info.name == linux_name
        assert info.imagetype == "private"
        assert info.os_type == "Linux"
        assert info.platform == "Ubuntu"
        assert info.os_bit == "64"
        assert info.os_version == "Ubuntu 22.04 64bit"
        assert info.status == "active"
        # Glance's default visibility is `shared`; the owner still sees it as `private` imagetype.
        assert info.visibility == "shared"
        assert info.owner == account["project_id"]
        assert (info.disk_format, info.container_format) == ("raw", "bare")
        assert (info.min_disk, info.min_ram) == (3, 256)
        assert info.size == digests["size"]
        assert info.checksum == digests["checksum"]

        win = ims.list_images(ListImagesRequest(imagetype="private", name=windows_name, limit=10)).images
        assert [(i.id, i.os_type, i.platform) for i in win] == [(windows.id, "Windows", "Windows")]

        # Both are the project's own images: private, not gold; other filters narrow.
        mine = {i.id for i in ims.list_images(ListImagesRequest(imagetype="private", limit=100, sort_key="name", sort_dir="asc")).images}
        assert {linux.id, windows.id} <= mine
        assert not {linux.id, windows.id} & {i.id for i in ims.list_images(ListImagesRequest(imagetype="gold", limit=100)).images}
        assert ims.list_images(ListImagesRequest(imagetype="private", status="queued", name=linux_name, limit=10)).images == []
        assert [i.id for i in ims.list_images(ListImagesRequest(os_type="Windows", name=windows_name, limit=10)).images] == [windows.id]

        shown = ims.glance_show_image(GlanceShowImageRequest(image_id=linux.id))
        assert (shown.id, shown.name, shown.status) == (linux.id, linux_name, "active")
        assert shown.imagetype == "private"
        assert (shown.os_type, shown.platform, shown.os_version) == ("Linux", "Ubuntu", "Ubuntu 22.04 64bit")
        assert shown.checksum == digests["checksum"] and shown.size == digests["size"]
        assert (shown.min_disk, shown.min_ram) == (3, 256)

        glance_listed = ims.glance_list_images(GlanceListImagesRequest(name=linux_name, limit=5))
        assert [(i.id, i.imagetype, i.os_type) for i in glance_listed.images] == [(linux.id, "private", "Linux")]
        typed = ims.glance_list_images(GlanceListImagesRequest(imagetype="private", name=windows_name, limit=5))
        assert [(i.id, i.os_type) for i in typed.images] == [(windows.id, "Windows")]
    finally:
        glance.image.delete_image(linux.id, ignore_missing=True)
        glance.image.delete_image(windows.id, ignore_missing=True)


def test_ims_created_image_seen_in_glance(ims, glance, account, disks):
    name = unique("hw-ims")
    created = ims.glance_create_image_metadata(
        GlanceCreateImageMetadataRequest(
            body=GlanceCreateImageMetadataRequestBody(
                name=name,
                container_format="bare",
                disk_format="qcow2",
                min_disk=2,
                min_ram=512,
                os_version="Ubuntu 22.04 64bit",
                tags=["hw-e2e"],
                visibility="private",
                protected=False,
            )
        )
    )
    image_id = created.id
    try:
        assert created.name == name and created.status == "queued"
        assert (created.disk_format, created.container_format, created.min_disk, created.min_ram) == ("qcow2", "bare", 2, 512)
        assert created.tags == ["hw-e2e"] and created.visibility == "private"

        in_glance = glance_json(glance, image_id)
        assert in_glance["name"] == name
        assert in_glance["owner"] == account["project_id"]
        assert (in_glance["disk_format"], in_glance["container_format"]) == ("qcow2", "bare")
        assert (in_glance["min_disk"], in_glance["min_ram"]) == (2, 512)
        assert in_glance["tags"] == ["hw-e2e"]
        assert in_glance["status"] == "queued"
        assert in_glance["__os_version"] == "Ubuntu 22.04 64bit"

        renamed = name + "-renamed"
        updated = ims.glance_update_image(
            GlanceUpdateImageRequest(
                image_id=image_id,
                body=[
                    GlanceUpdateImageRequestBody(op="replace", path="/name", value=renamed),
                    GlanceUpdateImageRequestBody(op="replace", path="/min_ram", value="1024"),
                    GlanceUpdateImageRequestBody(op="add", path="/hw_disk_bus", value="virtio"),
                ],
            )
        )
        assert (updated.id, updated.name, updated.min_ram) == (image_id, renamed, 1024)
        in_glance = glance_json(glance, image_id)
        assert (in_glance["name"], in_glance["min_ram"], in_glance["hw_disk_bus"]) == (renamed, 1024, "virtio")

        # Data uploaded through Glance (a real qcow2, as declared) shows in IMS.
        qcow2 = disks["qcow2"]
        data = qcow2.data
        response = glance.image.put("/images/%s/file" % image_id, data=data, headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 204, response.text
        shown = ims.glance_show_image(GlanceShowImageRequest(image_id=image_id))
        assert (shown.name, shown.status, shown.min_ram) == (renamed, "active", 1024)
        assert shown.checksum == qcow2.digests["checksum"] and shown.size == len(data)
        assert shown.virtual_size == qcow2.virtual_size
        assert shown.os_version == "Ubuntu 22.04 64bit" and shown.imagetype == "private"

        listed = ims.glance_list_images(GlanceListImagesRequest(name=renamed, limit=5))
        assert [i.id for i in listed.images] == [image_id]

        ims.glance_delete_image(GlanceDeleteImageRequest(image_id=image_id))
        assert glance.image.find_image(image_id, ignore_missing=True) is None
        with pytest.raises(ClientRequestException) as gone:
            ims.glance_show_image(GlanceShowImageRequest(image_id=image_id))
        assert gone.value.status_code == 404
        assert gone.value.error_code == "IMG.0027"
    finally:
        glance.image.delete_image(image_id, ignore_missing=True)


def test_wrong_secret_key_is_refused(server, account):
    bad_sk = account["sk"][:-1] + ("A" if account["sk"][-1] != "A" else "B")
    client = ims_client(server, account, sk=bad_sk)
    with pytest.raises(ClientRequestException) as refused:
        client.list_images(ListImagesRequest(limit=1))
    assert refused.value.status_code == 401
    assert refused.value.error_code == "APIGW.0301"
    assert refused.value.request_id
    with pytest.raises(ClientRequestException) as refused:
        client.glance_show_image(GlanceShowImageRequest(image_id="00000000-0000-0000-0000-000000000000"))
    assert refused.value.status_code == 401 and refused.value.error_code == "APIGW.0301"


def test_sdk_over_https_with_the_generated_certificate(server, account, glance):
    """The SDK's default scheme is https: with the server's certificate as CA bundle
    the same calls work over the TLS listener."""
    config = HttpConfig.get_default_config()
    config.timeout = (10, REQUEST_TIMEOUT)
    config.ssl_ca_cert = str(server.data_dir / "tls" / "cert.pem")
    client = (
        ImsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(account["ak"], account["sk"], account["project_id"]))
        .with_endpoint("https://localhost:%d" % server.ports["huawei_tls"])
        .build()
    )
    made = glance.image.create_image(name="https-visible", disk_format="raw", container_format="bare", visibility="private")
    try:
        listed = client.list_images(ListImagesRequest(name="https-visible", limit=5))
        assert [i.id for i in listed.images] == [made.id]
        shown = client.glance_show_image(GlanceShowImageRequest(image_id=made.id))
        assert shown.imagetype == "private" and shown.name == "https-visible"
    finally:
        glance.image.delete_image(made.id)
