"""openstacksdk's image proxy (the library under `openstack image …`, Ansible and
Terraform-style tooling) used directly: create with upload (PUT with Content-Length),
find by name, list with filters, update, tags, deactivate/reactivate, sharing and
delete."""

import openstack
import pytest
from openstack import exceptions as sdk_exc

from conftest import REQUEST_TIMEOUT, unique


def connect(imagery, **who):
    creds = imagery.credentials(**who)
    return openstack.connect(
        auth_url=creds["auth_url"],
        username=creds["username"],
        password=creds["password"],
        project_name=creds["project_name"],
        user_domain_name=creds["user_domain_name"],
        project_domain_name=creds["project_domain_name"],
        region_name="RegionOne",
        interface="public",
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
        api_timeout=REQUEST_TIMEOUT,
    )


@pytest.fixture(scope="module")
def admin_conn(imagery):
    conn = connect(imagery)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def members(keystone_admin):
    owner = keystone_admin.create_project_user("sdk-owner")
    other = keystone_admin.create_project_user("sdk-other")
    yield owner, other
    keystone_admin.delete_project_user(owner)
    keystone_admin.delete_project_user(other)


def as_bytes(downloaded):
    return downloaded.content if hasattr(downloaded, "content") else bytes(downloaded)


def test_sdk_image_lifecycle(admin_conn, disks, tmp_path):
    qcow2 = disks["qcow2"]
    name = unique("sdk")
    tag = unique("tag")
    image = admin_conn.image.create_image(
        name,
        filename=str(qcow2.path),
        disk_format="qcow2",
        container_format="bare",
        tags=[tag],
        meta={"os_distro": "cirros"},
        wait=True,
        validate_checksum=True,
    )
    try:
        assert image.status == "active"
        assert image.size == len(qcow2.data)
        assert image.checksum == qcow2.digests["checksum"]
        assert image.hash_algo == "sha512" and image.hash_value == qcow2.digests["os_hash_value"]
        assert image.virtual_size == qcow2.virtual_size
        assert image.properties.get("os_distro") == "cirros" or getattr(image, "os_distro", None) == "cirros"

        found = admin_conn.image.find_image(name, ignore_missing=False)
        assert found.id == image.id
        assert [i.id for i in admin_conn.image.images(tag=tag)] == [image.id]
        assert [i.id for i in admin_conn.image.images(name=name, disk_format="qcow2", status="active")] == [image.id]

        assert as_bytes(admin_conn.image.download_image(image)) == qcow2.data
        out = tmp_path / "out.qcow2"
        admin_conn.image.download_image(image, output=str(out))
        assert out.read_bytes() == qcow2.data

        admin_conn.image.update_image(image, name=name + "-renamed", min_ram=512)
        shown = admin_conn.image.get_image(image.id)
        assert shown.name == name + "-renamed" and shown.min_ram == 512

        admin_conn.image.add_tag(image, "extra")
        assert sorted(admin_conn.image.get_image(image.id).tags) == sorted([tag, "extra"])
        admin_conn.image.remove_tag(image, "extra")
        assert admin_conn.image.get_image(image.id).tags == [tag]

        admin_conn.image.deactivate_image(image)
        assert admin_conn.image.get_image(image.id).status == "deactivated"
        admin_conn.image.reactivate_image(image)
        assert admin_conn.image.get_image(image.id).status == "active"
    finally:
        admin_conn.image.delete_image(image, ignore_missing=True)
    assert admin_conn.image.find_image(image.id, ignore_missing=True) is None
    with pytest.raises(sdk_exc.NotFoundException):
        admin_conn.image.get_image(image.id)


def test_sdk_sharing(imagery, members, disks):
    owner, other = members
    owner_conn = connect(imagery, username=owner["username"], password=owner["password"], project_name=owner["project_name"])
    other_conn = connect(imagery, username=other["username"], password=other["password"], project_name=other["project_name"])
    raw = disks["raw"]
    image = owner_conn.image.create_image(
        unique("shared"), data=raw.data, disk_format="raw", container_format="bare", wait=True
    )
    try:
        assert image.owner == owner["project_id"]
        with pytest.raises(sdk_exc.NotFoundException):
            other_conn.image.get_image(image.id)

        if image.visibility != "shared":
            owner_conn.image.update_image(image, visibility="shared")
        member = owner_conn.image.add_member(image, member_id=other["project_id"])
        assert member.status == "pending"
        # Pending members can read it by id but do not list it.
        assert other_conn.image.get_image(image.id).id == image.id
        assert image.id not in [i.id for i in other_conn.image.images()]

        other_conn.image.update_member(other["project_id"], image, status="accepted")
        assert image.id in [i.id for i in other_conn.image.images()]
        assert [(m.member_id, m.status) for m in owner_conn.image.members(image)] == [(other["project_id"], "accepted")]
        assert as_bytes(other_conn.image.download_image(image)) == raw.data

        # Members read; they do not write.
        with pytest.raises(sdk_exc.ForbiddenException):
            other_conn.image.update_image(image, name="stolen")
        with pytest.raises(sdk_exc.ForbiddenException):
            other_conn.image.delete_image(image)

        owner_conn.image.remove_member(other["project_id"], image)
        with pytest.raises(sdk_exc.NotFoundException):
            other_conn.image.get_image(image.id)
    finally:
        owner_conn.image.delete_image(image, ignore_missing=True)
        owner_conn.close()
        other_conn.close()
