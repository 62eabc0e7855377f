"""Yandex Cloud Compute v1 images, over gRPC with the real `yandexcloud` SDK (TLS with
the server's self-signed certificate, endpoint discovery, OAuth → IAM token
exchange, the operation waiter) and over REST with plain `requests`.

Tenancy as the dialect defines it: an OAuth token is `y0_<access key id>_<secret>`
(an access key made with `imagery admin access-key-create`), a folder is a project
(folder id `b1g` + 17 base32hex digits of sha256("yandex.folder:<project>:0")), and
every image of the project — including ones uploaded through Glance — is an image
of its folder. Create from `image_id` shares the source's bytes (zero copy)."""

import hashlib
import os
import time
import uuid

import grpc
import pytest
import requests
import yandexcloud
from google.protobuf.empty_pb2 import Empty
from google.protobuf.field_mask_pb2 import FieldMask
from yandex.cloud.compute.v1.image_pb2 import Image
from yandex.cloud.compute.v1.image_service_pb2 import (
    CreateImageMetadata,
    CreateImageRequest,
    DeleteImageMetadata,
    DeleteImageRequest,
    GetImageRequest,
    ListImageOperationsRequest,
    ListImagesRequest,
    UpdateImageMetadata,
    UpdateImageRequest,
)
from yandex.cloud.compute.v1.image_service_pb2_grpc import ImageServiceStub
from yandex.cloud.iam.v1.iam_token_service_pb2 import CreateIamTokenRequest
from yandex.cloud.iam.v1.iam_token_service_pb2_grpc import IamTokenServiceStub

from conftest import KeystoneAdmin, REQUEST_TIMEOUT, create_access_key, file_digests, glance_json, glance_upload, running_imagery, sdk_connection, unique

# The SDK's own notices (OAuth tokens and RetryInterceptor are deprecated at Yandex);
# OAuth tokens are still what the SDK sends and what imagery accepts.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The 'token' argument corresponds to OAuthToken:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Call to deprecated class RetryInterceptor:DeprecationWarning"),
]

GIB = 1 << 30
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"






def folder_id_of(project_id):
    """The dialect's folder id of a project (crates/dialect-yandex/src/ids.rs, first candidate)."""
    digest = hashlib.sha256(("yandex.folder:%s:0" % project_id).encode()).digest()
    bits = "".join("{:08b}".format(b) for b in digest)
    return "b1g" + "".join(BASE32HEX[int(bits[5 * i : 5 * i + 5], 2)] for i in range(17))








def glance_by_name(conn, name):
    found = list(conn.image.images(name=name))
    assert len(found) == 1, [(i.id, i.name) for i in found]
    return glance_json(conn, found[0].id)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_imagery(tmp_path_factory.mktemp("yandex"), combined=False, yandex=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def account(server):
    keystone = KeystoneAdmin(server, server.session())
    who = keystone.create_project_user("yandex")
    key_id, secret = create_access_key(server, who)
    who["oauth_token"] = "y0_%s_%s" % (key_id, secret)
    who["folder_id"] = folder_id_of(who["project_id"])
    return who


@pytest.fixture(scope="module")
def cert(server):
    path = server.data_dir / "tls" / "cert.pem"
    assert path.exists(), "the TLS listener did not write %s" % path
    return str(path)


@pytest.fixture(scope="module")
def endpoint(server):
    return "localhost:%d" % server.ports["yandex"]


@pytest.fixture(scope="module")
def glance(server, account):
    conn = sdk_connection(server, account)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def source(glance):
    """A raw image uploaded through Glance by the same user."""
    data = os.urandom(1024 * 1024 + 77)
    image = glance_upload(glance, unique("yc-src"), data)
    assert image.status == "active"
    yield image, data
    glance.image.delete_image(image.id, ignore_missing=True)


def sdk_for(endpoint, cert, token):
    with open(cert, "rb") as f:
        return yandexcloud.SDK(token=token, endpoint=endpoint, root_certificates=f.read())


def test_grpc_sdk_images(endpoint, cert, account, glance, source):
    src, data = source
    digests = file_digests(data)
    folder = account["folder_id"]
    sdk = sdk_for(endpoint, cert, account["oauth_token"])
    images = sdk.client(ImageServiceStub)

    listed = images.List(ListImagesRequest(folder_id=folder, page_size=100), timeout=REQUEST_TIMEOUT)
    by_name = {i.name: i for i in listed.images}
    assert src.name in by_name, sorted(by_name)
    seen = by_name[src.name]
    assert seen.folder_id == folder
    assert seen.status == Image.Status.READY
    assert seen.storage_size == digests["size"]
    assert seen.size == digests["size"]
    assert seen.id.startswith("fd8") and len(seen.id) == 20
    # The project id is accepted where a folder id is expected: same images.
    by_project = images.List(ListImagesRequest(folder_id=account["project_id"], filter='name="%s"' % src.name), timeout=REQUEST_TIMEOUT)
    assert [i.id for i in by_project.images] == [seen.id]

    got = images.Get(GetImageRequest(image_id=seen.id), timeout=REQUEST_TIMEOUT)
    assert (got.id, got.name, got.folder_id, got.status, got.storage_size) == (seen.id, src.name, folder, Image.Status.READY, digests["size"])
    assert got.created_at.seconds > 0

    name = unique("yc-copy")
    operation = images.Create(
        CreateImageRequest(
            folder_id=folder,
            name=name,
            description="copied from glance",
            labels={"env": "e2e"},
            family="e2e-family",
            min_disk_size=2 * GIB,
            image_id=seen.id,
        ),
        timeout=REQUEST_TIMEOUT,
    )
    created = sdk.wait_operation_and_get_result(operation, response_type=Image, meta_type=CreateImageMetadata, timeout=REQUEST_TIMEOUT)
    copy = created.response
    assert created.meta.image_id == copy.id
    assert copy.id != seen.id
    assert (copy.name, copy.folder_id, copy.description, dict(copy.labels), copy.family) == (
        name,
        folder,
        "copied from glance",
        {"env": "e2e"},
        "e2e-family",
    )
    assert copy.status == Image.Status.READY
    assert copy.min_disk_size == 2 * GIB
    assert copy.storage_size == digests["size"]

    # Zero copy: Glance sees the new image with the source's checksum and hash.
    in_glance = glance_by_name(glance, name)
    assert in_glance["id"] != src.id
    assert in_glance["status"] == "active"
    assert in_glance["checksum"] == digests["checksum"]
    assert in_glance["os_hash_value"] == digests["os_hash_value"]
    assert in_glance["size"] == digests["size"]
    assert in_glance["min_disk"] == 2

    operation = images.Update(
        UpdateImageRequest(
            image_id=copy.id,
            update_mask=FieldMask(paths=["description", "labels"]),
            description="updated",
            labels={"env": "changed", "team": "imagery"},
            name="ignored-outside-the-mask",
        ),
        timeout=REQUEST_TIMEOUT,
    )
    updated = sdk.wait_operation_and_get_result(operation, response_type=Image, meta_type=UpdateImageMetadata, timeout=REQUEST_TIMEOUT)
    assert updated.meta.image_id == copy.id
    assert (updated.response.name, updated.response.description, dict(updated.response.labels)) == (
        name,
        "updated",
        {"env": "changed", "team": "imagery"},
    )
    again = images.Get(GetImageRequest(image_id=copy.id), timeout=REQUEST_TIMEOUT)
    assert (again.name, again.description, dict(again.labels), again.family) == (
        name,
        "updated",
        {"env": "changed", "team": "imagery"},
        "e2e-family",
    )

    ops = images.ListOperations(ListImageOperationsRequest(image_id=copy.id), timeout=REQUEST_TIMEOUT).operations
    assert sorted(o.description for o in ops) == ["Create image", "Update image"]
    assert all(o.done for o in ops)

    operation = images.Delete(DeleteImageRequest(image_id=copy.id), timeout=REQUEST_TIMEOUT)
    deleted = sdk.wait_operation_and_get_result(operation, response_type=Empty, meta_type=DeleteImageMetadata, timeout=REQUEST_TIMEOUT)
    assert deleted.meta.image_id == copy.id
    with pytest.raises(grpc.RpcError) as gone:
        images.Get(GetImageRequest(image_id=copy.id), timeout=REQUEST_TIMEOUT)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert list(glance.image.images(name=name)) == []
    # The source keeps its bytes.
    assert images.Get(GetImageRequest(image_id=seen.id), timeout=REQUEST_TIMEOUT).status == Image.Status.READY
    assert glance.image.get_image(src.id).checksum == digests["checksum"]


def test_grpc_sdk_rejects_a_bad_token(endpoint, cert, account):
    bad = account["oauth_token"][:-1] + ("x" if not account["oauth_token"].endswith("x") else "y")
    images = sdk_for(endpoint, cert, bad).client(ImageServiceStub)
    with pytest.raises(grpc.RpcError) as refused:
        images.List(ListImagesRequest(folder_id=account["folder_id"]), timeout=REQUEST_TIMEOUT)
    # The SDK exchanges the OAuth token in an auth-metadata plugin; grpc-python reports
    # a failing plugin as UNAVAILABLE carrying the server's answer to IamTokenService/Create.
    assert refused.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)
    assert "UNAUTHENTICATED" in refused.value.details() and "The token is invalid" in refused.value.details()

    # The exchange itself, on a plain TLS channel.
    with open(cert, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    with grpc.secure_channel(endpoint, credentials) as channel:
        iam = IamTokenServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            iam.Create(CreateIamTokenRequest(yandex_passport_oauth_token=bad), timeout=REQUEST_TIMEOUT)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        token = iam.Create(CreateIamTokenRequest(yandex_passport_oauth_token=account["oauth_token"]), timeout=REQUEST_TIMEOUT)
        assert token.iam_token and token.expires_at.seconds > time.time()


class Rest:
    """Yandex REST with plain requests; `verify=` on every call (a REQUESTS_CA_BUNDLE in
    the environment would override a Session's verify)."""

    def __init__(self, base, cert):
        self.base = base
        self.cert = cert
        self.headers = {}

    def call(self, method, path, **kw):
        headers = dict(self.headers, **kw.pop("headers", {}))
        return requests.request(method, self.base + path, headers=headers, verify=self.cert, timeout=REQUEST_TIMEOUT, **kw)

    def ok(self, method, path, **kw):
        response = self.call(method, path, **kw)
        assert response.status_code == 200, "%s %s → %s %s" % (method, path, response.status_code, response.text)
        return response.json()

    def finished(self, operation):
        """Poll GET /operations/{id} until done (the answer may already be done)."""
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while not operation.get("done"):
            assert time.monotonic() < deadline, "operation %s not done: %s" % (operation["id"], operation)
            time.sleep(0.2)
            operation = self.ok("GET", "/operations/%s" % operation["id"])
        assert "error" not in operation, operation
        return operation


def test_rest_images(endpoint, cert, account, glance, source):
    src, data = source
    digests = file_digests(data)
    folder = account["folder_id"]
    rest = Rest("https://%s" % endpoint, cert)

    unauthenticated = rest.call("GET", "/compute/v1/images", params={"folderId": folder})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["code"] == 16

    token = rest.ok("POST", "/iam/v1/tokens", json={"yandexPassportOauthToken": account["oauth_token"]})
    assert token["iamToken"] and token["expiresAt"].endswith("Z")
    rest.headers["Authorization"] = "Bearer %s" % token["iamToken"]
    refused = rest.call("POST", "/iam/v1/tokens", json={"yandexPassportOauthToken": account["oauth_token"] + "x"})
    assert refused.status_code == 401 and refused.json()["code"] == 16

    listed = rest.ok("GET", "/compute/v1/images", params={"folderId": folder, "filter": 'name="%s"' % src.name})
    assert len(listed["images"]) == 1
    seen = listed["images"][0]
    assert (seen["name"], seen["folderId"], seen["status"]) == (src.name, folder, "READY")
    # int64 fields are decimal strings in JSON.
    assert seen["storageSize"] == str(digests["size"]) and seen["size"] == str(digests["size"])
    paged = rest.ok("GET", "/compute/v1/images", params={"folderId": folder, "pageSize": "1"})
    assert len(paged["images"]) == 1

    name = unique("yc-rest")
    body = {
        "folderId": folder,
        "name": name,
        "description": "rest copy",
        "labels": {"via": "rest"},
        "family": "rest-family",
        "minDiskSize": str(3 * GIB),
        "imageId": seen["id"],
    }
    key = str(uuid.uuid4())
    operation = rest.ok("POST", "/compute/v1/images", json=body, headers={"Idempotency-Key": key})
    assert operation["metadata"]["@type"] == "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata"
    image_id = operation["metadata"]["imageId"]
    # The same Idempotency-Key answers the same operation, and creates nothing more.
    repeated = rest.ok("POST", "/compute/v1/images", json=body, headers={"Idempotency-Key": key})
    assert repeated["id"] == operation["id"]

    done = rest.finished(rest.ok("GET", "/operations/%s" % operation["id"]))
    assert done["id"] == operation["id"] and done["description"] == "Create image"
    image = done["response"]
    assert image["@type"] == "type.googleapis.com/yandex.cloud.compute.v1.Image"
    assert (image["id"], image["name"], image["folderId"], image["status"]) == (image_id, name, folder, "READY")
    assert image["minDiskSize"] == str(3 * GIB)
    assert image["storageSize"] == str(digests["size"])
    assert (image["description"], image["labels"], image["family"]) == ("rest copy", {"via": "rest"}, "rest-family")

    in_glance = glance_by_name(glance, name)
    assert in_glance["checksum"] == digests["checksum"] and in_glance["os_hash_value"] == digests["os_hash_value"]

    shown = rest.ok("GET", "/compute/v1/images/%s" % image_id)
    assert (shown["id"], shown["name"], shown["minDiskSize"]) == (image_id, name, str(3 * GIB))
    latest = rest.ok("GET", "/compute/v1/images:latestByFamily", params={"folderId": folder, "family": "rest-family"})
    assert latest["id"] == image_id

    patched = rest.ok(
        "PATCH",
        "/compute/v1/images/%s" % image_id,
        json={"updateMask": "description,labels", "description": "patched", "labels": {"via": "patch"}},
    )
    patched = rest.finished(patched)
    assert patched["metadata"]["@type"] == "type.googleapis.com/yandex.cloud.compute.v1.UpdateImageMetadata"
    assert (patched["response"]["description"], patched["response"]["labels"], patched["response"]["name"]) == (
        "patched",
        {"via": "patch"},
        name,
    )
    assert rest.ok("GET", "/compute/v1/images/%s" % image_id)["description"] == "patched"

    operations = rest.ok("GET", "/compute/v1/images/%s/operations" % image_id)["operations"]
    assert sorted(o["description"] for o in operations) == ["Create image", "Update image"]

    deleted = rest.finished(rest.ok("DELETE", "/compute/v1/images/%s" % image_id))
    assert deleted["metadata"]["imageId"] == image_id
    assert deleted["response"]["@type"] == "type.googleapis.com/google.protobuf.Empty"
    missing = rest.call("GET", "/compute/v1/images/%s" % image_id)
    assert missing.status_code == 404 and missing.json()["code"] == 5
    assert list(glance.image.images(name=name)) == []
