"""Azure Resource Manager as azure-identity + azure-mgmt-compute + azure-mgmt-resource
drive it: an Entra-style client-credentials token (ClientSecretCredential against
imagery's token endpoint, over TLS with the server's self-signed certificate),
resource groups, and `Microsoft.Compute/images` with their long-running operations.

Tenancy as the dialect defines it: tenant = the user's domain, client id/secret =
an access key made with `imagery admin access-key-create`, subscription = the
project id as a GUID. An osDisk.blobUri naming a Glance image file
(`…/v2/images/{uuid}/file`) makes an image that shares the source's bytes, and
every image made through another API shows up in the resource group
`imagery-default` as `image-<uuid>`."""

import os
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Image as ArmImage
from azure.mgmt.compute.models import ImageOSDisk, ImageStorageProfile, ImageUpdate
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import ResourceGroup

from conftest import KeystoneAdmin, REQUEST_TIMEOUT, create_access_key, file_digests, glance_json, glance_upload, running_imagery, sdk_connection, unique

SCOPE = "https://management.azure.com/.default"
DEFAULT_GROUP = "imagery-default"
LOCATION = "westus"






def as_guid(hex_id):
    assert len(hex_id) == 32, hex_id
    return str(uuid.UUID(hex_id))








def glance_download(conn, image_id):
    downloaded = conn.image.download_image(image_id)
    return downloaded.content if hasattr(downloaded, "content") else bytes(downloaded)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_imagery(tmp_path_factory.mktemp("azure"), combined=False, azure=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def keystone(server):
    return KeystoneAdmin(server, server.session())


@pytest.fixture(scope="module")
def account(server, keystone):
    """A member user in its own project, with an access key (the service principal)."""
    who = keystone.create_project_user("azure")
    who["key_id"], who["secret"] = create_access_key(server, who)
    who["tenant"] = keystone.domain_id("Default")
    who["subscription"] = as_guid(who["project_id"])
    return who


@pytest.fixture(scope="module")
def cert(server):
    path = server.data_dir / "tls" / "cert.pem"
    assert path.exists(), "the TLS listener did not write %s" % path
    return str(path)


@pytest.fixture(scope="module")
def arm_url(server):
    return "https://localhost:%d" % server.ports["azure"]


def credential_for(arm_url, cert, account, secret):
    return ClientSecretCredential(
        account["tenant"],
        account["key_id"],
        secret,
        authority=arm_url,
        disable_instance_discovery=True,
        connection_verify=cert,
        connection_timeout=30,
        read_timeout=REQUEST_TIMEOUT,
    )


def arm_clients(arm_url, cert, account, credential):
    common = dict(
        base_url=arm_url,
        credential_scopes=[SCOPE],
        connection_verify=cert,
        connection_timeout=30,
        read_timeout=REQUEST_TIMEOUT,
    )
    return (
        ComputeManagementClient(credential, account["subscription"], **common),
        ResourceManagementClient(credential, account["subscription"], **common),
    )


@pytest.fixture(scope="module")
def credential(arm_url, cert, account):
    return credential_for(arm_url, cert, account, account["secret"])


@pytest.fixture(scope="module")
def clients(arm_url, cert, account, credential):
    return arm_clients(arm_url, cert, account, credential)


@pytest.fixture(scope="module")
def glance(server, account):
    conn = sdk_connection(server, account)
    yield conn
    conn.close()


def resource_id(account, group, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/images/%s" % (account["subscription"], group, name)


def test_token_and_subscription(credential, clients, account):
    token = credential.get_token(SCOPE)
    assert token.token.count(".") == 2, "expected a JWT access token"
    compute, resources = clients
    # The default group always exists in a subscription.
    assert resources.resource_groups.check_existence(DEFAULT_GROUP) is True
    group = resources.resource_groups.get(DEFAULT_GROUP)
    assert group.name == DEFAULT_GROUP and group.location == LOCATION
    assert group.id == "/subscriptions/%s/resourceGroups/%s" % (account["subscription"], DEFAULT_GROUP)


def test_image_from_glance_blob_lifecycle(server, clients, glance, account):
    compute, resources = clients
    data = os.urandom(1024 * 1024 + 4321)
    digests = file_digests(data)
    source = glance_upload(glance, unique("az-src"), data)
    assert source.status == "active" and source.checksum == digests["checksum"]

    group = unique("rg")
    name = unique("azimg")
    blob_uri = "%s/v2/images/%s/file" % (server.image_url, source.id)
    created_group = resources.resource_groups.create_or_update(group, ResourceGroup(location=LOCATION, tags={"purpose": "e2e"}))
    try:
        assert created_group.name == group and created_group.properties.provisioning_state == "Succeeded"
        assert resources.resource_groups.check_existence(group) is True
        assert group in [g.name for g in resources.resource_groups.list()]

        spec = ArmImage(
            location=LOCATION,
            tags={"env": "e2e"},
            storage_profile=ImageStorageProfile(
                os_disk=ImageOSDisk(os_type="Linux", os_state="Generalized", blob_uri=blob_uri, disk_size_gb=2)
            ),
        )
        image = compute.images.begin_create_or_update(group, name, spec).result()
        assert image.name == name
        assert image.id == resource_id(account, group, name)
        assert image.type == "Microsoft.Compute/images"
        assert image.location == LOCATION
        assert image.tags == {"env": "e2e"}
        assert image.provisioning_state == "Succeeded"
        os_disk = image.storage_profile.os_disk
        assert (os_disk.os_type, os_disk.os_state, os_disk.blob_uri, os_disk.disk_size_gb) == ("Linux", "Generalized", blob_uri, 2)

        # Zero copy: Glance sees a new image holding exactly the source's bytes.
        in_glance = [i for i in glance.image.images(name=name)]
        assert len(in_glance) == 1, [(i.id, i.name) for i in in_glance]
        glance_image = glance_json(glance, in_glance[0].id)
        assert glance_image["id"] != source.id
        assert glance_image["status"] == "active"
        assert glance_image["owner"] == account["project_id"]
        assert glance_image["size"] == digests["size"]
        assert glance_image["checksum"] == digests["checksum"]
        assert glance_image["os_hash_algo"] == "sha512" and glance_image["os_hash_value"] == digests["os_hash_value"]
        assert glance_image["os_type"] == "linux"
        assert glance_image["min_disk"] == 2
        assert glance_download(glance, glance_image["id"]) == data

        shown = compute.images.get(group, name)
        assert (shown.id, shown.name, shown.tags, shown.provisioning_state) == (image.id, name, {"env": "e2e"}, "Succeeded")
        assert shown.storage_profile.os_disk.blob_uri == blob_uri

        assert [i.name for i in compute.images.list_by_resource_group(group)] == [name]
        everything = {i.name: i for i in compute.images.list()}
        assert name in everything and everything[name].id == image.id
        # The Glance-made source appears too, in the default group.
        assert "image-%s" % source.id in everything
        assert everything["image-%s" % source.id].id == resource_id(account, DEFAULT_GROUP, "image-%s" % source.id)

        updated = compute.images.begin_update(group, name, ImageUpdate(tags={"env": "changed", "owner": "e2e"})).result()
        assert updated.tags == {"env": "changed", "owner": "e2e"}
        assert updated.provisioning_state == "Succeeded"
        assert compute.images.get(group, name).tags == {"env": "changed", "owner": "e2e"}
        assert glance_json(glance, glance_image["id"])["checksum"] == digests["checksum"]

        with pytest.raises(ResourceNotFoundError) as missing:
            compute.images.get(group, unique("missing"))
        assert missing.value.error.code == "ResourceNotFound"
        assert missing.value.status_code == 404
        with pytest.raises(ResourceNotFoundError) as no_group:
            compute.images.get(unique("no-such-rg"), name)
        assert no_group.value.error.code == "ResourceGroupNotFound"
        with pytest.raises(ResourceNotFoundError) as no_group:
            resources.resource_groups.get(unique("no-such-rg"))
        assert no_group.value.error.code == "ResourceGroupNotFound"

        compute.images.begin_delete(group, name).result()
        with pytest.raises(ResourceNotFoundError) as gone:
            compute.images.get(group, name)
        assert gone.value.error.code == "ResourceNotFound"
        assert list(compute.images.list_by_resource_group(group)) == []
        assert glance.image.find_image(glance_image["id"], ignore_missing=True) is None
        # The shared bytes still belong to the source.
        assert glance.image.get_image(source.id).status == "active"
        assert glance_download(glance, source.id) == data

        # Deleting a resource group deletes the images in it.
        inside = unique("azimg-in-rg")
        assert compute.images.begin_create_or_update(group, inside, spec).result().provisioning_state == "Succeeded"
        inside_glance = [i.id for i in glance.image.images(name=inside)]
        assert len(inside_glance) == 1
        resources.resource_groups.begin_delete(group).result()
        assert resources.resource_groups.check_existence(group) is False
        with pytest.raises(ResourceNotFoundError) as no_group:
            compute.images.get(group, inside)
        assert no_group.value.error.code == "ResourceGroupNotFound"
        assert glance.image.find_image(inside_glance[0], ignore_missing=True) is None
        assert glance_download(glance, source.id) == data
    finally:
        if resources.resource_groups.check_existence(group):
            resources.resource_groups.begin_delete(group).result()
        glance.image.delete_image(source.id, ignore_missing=True)
    assert resources.resource_groups.check_existence(group) is False


def test_glance_image_in_default_group(clients, glance, account):
    compute, _ = clients
    data = os.urandom(512 * 1024 + 17)
    source = glance_upload(glance, unique("az-glance"), data, min_disk=4, os_type="windows")
    try:
        arm_name = "image-%s" % source.id
        shown = compute.images.get(DEFAULT_GROUP, arm_name)
        assert shown.name == arm_name
        assert shown.id == resource_id(account, DEFAULT_GROUP, arm_name)
        assert shown.location == LOCATION
        assert shown.provisioning_state == "Succeeded"
        assert shown.storage_profile.os_disk.os_type == "Windows"
        assert shown.storage_profile.os_disk.disk_size_gb == 4
        assert arm_name in [i.name for i in compute.images.list_by_resource_group(DEFAULT_GROUP)]
        assert arm_name in [i.name for i in compute.images.list()]
        with pytest.raises(ResourceNotFoundError) as elsewhere:
            compute.images.get(DEFAULT_GROUP, "image-%s" % uuid.uuid4())
        assert elsewhere.value.error.code == "ResourceNotFound"
    finally:
        glance.image.delete_image(source.id, ignore_missing=True)
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(DEFAULT_GROUP, "image-%s" % source.id)


def test_wrong_secret_is_refused(arm_url, cert, account):
    bad = credential_for(arm_url, cert, account, account["secret"][:-1] + ("x" if account["secret"][-1] != "x" else "y"))
    with pytest.raises(ClientAuthenticationError):
        bad.get_token(SCOPE)
    compute, _ = arm_clients(arm_url, cert, account, bad)
    with pytest.raises(ClientAuthenticationError):
        list(compute.images.list())
