"""python-glanceclient (v2 API, keystoneauth session against imagery's Keystone) and
the `glance` CLI through the whole image lifecycle: create, chunked upload, download
with hash checks, filtered and paged lists, PATCH of properties and tags,
deactivate/reactivate, delete, and disk-format inspection on upload."""

import hashlib
import io
import os
import re
import time

import pytest
from glanceclient import Client as GlanceClient
from glanceclient import exc as gexc

from conftest import run_cli, unique, venv_tool


def glance_for(session):
    return GlanceClient("2", session=session)


@pytest.fixture(scope="module")
def admin_glance(admin_session):
    return glance_for(admin_session)


@pytest.fixture(scope="module")
def member(keystone_admin):
    """A non-admin user with role `member` in a project of its own."""
    who = keystone_admin.create_project_user("glance-member")
    yield who
    keystone_admin.delete_project_user(who)


@pytest.fixture(scope="module")
def member_glance(imagery, member):
    return glance_for(imagery.session(member["username"], member["password"], member["project_name"]))


def download(glance, image_id):
    """Download through glanceclient, which verifies os_hash_value (sha512) itself."""
    return b"".join(glance.images.data(image_id))


def upload_file(glance, image_id, path):
    # A real file object: glanceclient streams it with Transfer-Encoding: chunked.
    with open(path, "rb") as fh:
        glance.images.upload(image_id, fh)


def assert_hashes(image, expected):
    assert image["size"] == expected["size"]
    assert image["checksum"] == expected["checksum"], "checksum must be the md5 of the data"
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == expected["os_hash_value"], "os_hash_value must be the sha512 of the data"


def assert_http_status(error, status):
    """glanceclient maps some statuses to classes and leaves others (415) as HTTPException."""
    assert isinstance(error, gexc.HTTPException), repr(error)
    if getattr(type(error), "code", "N/A") != "N/A":
        assert type(error).code == status, "expected HTTP %s, client raised %r" % (status, error)
    else:
        assert str(status) in (error.details or ""), "expected HTTP %s, client raised %r (%s)" % (status, error, error.details)


def test_create_upload_download_raw(admin_glance, disks):
    raw = disks["raw"]
    name = unique("raw")
    image = admin_glance.images.create(name=name, disk_format="raw", container_format="bare", os_distro="cirros", e2e_note="hello world")
    try:
        assert image["status"] == "queued"
        assert image["name"] == name
        assert image["disk_format"] == "raw" and image["container_format"] == "bare"
        assert image["os_distro"] == "cirros" and image["e2e_note"] == "hello world"
        assert image["visibility"] == "shared", "Glance's default visibility is 'shared'"
        assert image["size"] is None and image["checksum"] is None

        upload_file(admin_glance, image["id"], raw.path)

        shown = admin_glance.images.get(image["id"])
        assert shown["status"] == "active"
        assert_hashes(shown, raw.digests)
        assert shown["virtual_size"] == raw.virtual_size
        assert shown["os_distro"] == "cirros"

        data = download(admin_glance, image["id"])
        assert len(data) == len(raw.data)
        assert data == raw.data
        assert hashlib.md5(data).hexdigest() == shown["checksum"]
        assert hashlib.sha512(data).hexdigest() == shown["os_hash_value"]
    finally:
        admin_glance.images.delete(image["id"])


@pytest.mark.parametrize("disk", ["qcow2", "qcow2_empty"])
def test_qcow2_upload_is_inspected(admin_glance, disks, disk):
    qcow2 = disks[disk]
    image = admin_glance.images.create(name=unique(disk), disk_format="qcow2", container_format="bare")
    try:
        upload_file(admin_glance, image["id"], qcow2.path)
        shown = admin_glance.images.get(image["id"])
        assert shown["status"] == "active"
        assert_hashes(shown, qcow2.digests)
        assert shown["virtual_size"] == qcow2.virtual_size, "virtual_size comes from the qcow2 header"
        assert download(admin_glance, image["id"]) == qcow2.data
    finally:
        admin_glance.images.delete(image["id"])


def test_qcow2_declared_as_vmdk_is_refused(imagery, admin_session, admin_glance, disks):
    qcow2 = disks["qcow2"]
    image = admin_glance.images.create(name=unique("liar"), disk_format="vmdk", container_format="bare")
    try:
        with pytest.raises(gexc.HTTPException) as err:
            upload_file(admin_glance, image["id"], qcow2.path)
        assert_http_status(err.value, 415)

        shown = admin_glance.images.get(image["id"])
        assert shown["status"] == "queued", "a refused upload leaves the image queued"
        assert shown["size"] is None and shown["checksum"] is None

        # The same on the wire, chunked like glanceclient: 415, and still queued.
        def chunks():
            with open(qcow2.path, "rb") as fh:
                while True:
                    block = fh.read(65536)
                    if not block:
                        return
                    yield block

        resp = admin_session.put(
            "%s/v2/images/%s/file" % (imagery.image_url, image["id"]),
            data=chunks(),
            headers={"Content-Type": "application/octet-stream"},
            raise_exc=False,
        )
        assert resp.status_code == 415, (resp.status_code, resp.headers, resp.text)
        assert admin_glance.images.get(image["id"])["status"] == "queued"

        # The image is not broken: correct the declared format (allowed while queued)
        # and the same bytes are accepted.
        admin_glance.images.update(image["id"], disk_format="qcow2")
        upload_file(admin_glance, image["id"], qcow2.path)
        assert admin_glance.images.get(image["id"])["status"] == "active"
    finally:
        admin_glance.images.delete(image["id"])


def test_list_filters_and_paging(imagery, admin_session, admin_glance, disks):
    run = unique("list")  # a tag shared by this test's images only
    specs = [
        # (name suffix, disk_format, visibility, upload raw data?, extra tag)
        ("a", "raw", "private", True, "odd"),
        ("b", "qcow2", "shared", False, None),
        ("c", "raw", "shared", False, "odd"),
        ("d", "iso", "private", False, None),
        ("e", "raw", "shared", True, "odd"),
        ("f", "qcow2", "private", False, None),
    ]
    small = os.urandom(4096)
    created = {}
    try:
        for suffix, disk_format, visibility, uploaded, extra in specs:
            tags = [run] + ([extra] if extra else [])
            image = admin_glance.images.create(
                name="%s-%s" % (run, suffix), disk_format=disk_format, container_format="bare", visibility=visibility, tags=tags
            )
            created[suffix] = image["id"]
        # Two active images of different sizes.
        admin_glance.images.upload(created["a"], io.BytesIO(small))
        upload_file(admin_glance, created["e"], disks["raw"].path)

        def ids(**filters):
            filters.setdefault("tag", [run])
            return sorted(i["id"] for i in admin_glance.images.list(filters=filters))

        def expect(*suffixes):
            return sorted(created[s] for s in suffixes)

        assert ids() == expect(*created)
        assert ids(name="%s-c" % run) == expect("c")
        assert ids(status="active") == expect("a", "e")
        assert ids(status="queued") == expect("b", "c", "d", "f")
        assert ids(tag=[run, "odd"]) == expect("a", "c", "e"), "repeated tag filters are ANDed"
        assert ids(disk_format="qcow2") == expect("b", "f")
        assert ids(visibility="private") == expect("a", "d", "f")
        assert ids(visibility="shared") == expect("b", "c", "e")
        assert ids(size_min=str(len(small) + 1)) == expect("e")
        assert ids(size_min=str(len(small))) == expect("a", "e")
        assert ids(size_max=str(len(small))) == expect("a")

        # Paging: glanceclient follows `next` with page_size=2 → every image exactly once.
        paged = [i["id"] for i in admin_glance.images.list(filters={"tag": [run]}, page_size=2)]
        assert len(paged) == len(specs)
        assert sorted(paged) == expect(*created)

        # Sorted by name ascending, across pages.
        names = [i["name"] for i in admin_glance.images.list(filters={"tag": [run]}, page_size=2, sort="name:asc")]
        assert names == ["%s-%s" % (run, s) for s in "abcdef"]
        names = [i["name"] for i in admin_glance.images.list(filters={"tag": [run]}, page_size=4, sort_key="name", sort_dir="desc")]
        assert names == ["%s-%s" % (run, s) for s in "fedcba"]

        # `limit` caps the total, and the raw pages carry `next` links.
        assert len(list(admin_glance.images.list(filters={"tag": [run]}, page_size=2, limit=3))) == 3
        page = admin_session.get("%s/v2/images?tag=%s&limit=2" % (imagery.image_url, run)).json()
        assert len(page["images"]) == 2 and "next" in page
        assert page["next"].startswith("/v2/images?") and "marker=" in page["next"], page["next"]
    finally:
        for image_id in created.values():
            admin_glance.images.delete(image_id)


def test_update_properties_and_tags(admin_glance):
    image = admin_glance.images.create(
        name=unique("patch"), disk_format="raw", container_format="bare", os_distro="cirros", colour="red", tags=["t0"]
    )
    try:
        updated = admin_glance.images.update(image["id"], foo="bar", name="renamed", min_disk=2, remove_props=["colour"])
        assert updated["foo"] == "bar"
        assert updated["name"] == "renamed"
        assert updated["min_disk"] == 2
        assert "colour" not in updated
        assert updated["os_distro"] == "cirros", "untouched properties survive"

        shown = admin_glance.images.get(image["id"])
        assert shown["foo"] == "bar" and "colour" not in shown and shown["name"] == "renamed"

        admin_glance.image_tags.update(image["id"], "t1")
        admin_glance.image_tags.update(image["id"], "t2")
        admin_glance.image_tags.update(image["id"], "t2")  # idempotent
        assert sorted(admin_glance.images.get(image["id"])["tags"]) == ["t0", "t1", "t2"]
        admin_glance.image_tags.delete(image["id"], "t1")
        assert sorted(admin_glance.images.get(image["id"])["tags"]) == ["t0", "t2"]
        with pytest.raises(gexc.HTTPNotFound):
            admin_glance.image_tags.delete(image["id"], "never-there")

        # Replace the whole tag set through PATCH, and overwrite an existing property.
        updated = admin_glance.images.update(image["id"], tags=["x", "y"], foo="baz")
        assert sorted(updated["tags"]) == ["x", "y"] and updated["foo"] == "baz"

        # Read-only and reserved attributes are refused with 403.
        with pytest.raises(gexc.HTTPForbidden):
            admin_glance.images.update(image["id"], os_glance_foo="nope")
    finally:
        admin_glance.images.delete(image["id"])


def test_deactivate_blocks_member_download(imagery, admin_glance, member_glance, disks):
    raw = disks["raw"]
    image = member_glance.images.create(name=unique("deact"), disk_format="raw", container_format="bare")
    try:
        upload_file(member_glance, image["id"], raw.path)
        assert download(member_glance, image["id"]) == raw.data

        member_glance.images.deactivate(image["id"])
        assert member_glance.images.get(image["id"])["status"] == "deactivated"
        with pytest.raises(gexc.HTTPForbidden):
            download(member_glance, image["id"])
        # An admin may still read a deactivated image.
        assert download(admin_glance, image["id"]) == raw.data

        member_glance.images.reactivate(image["id"])
        assert member_glance.images.get(image["id"])["status"] == "active"
        assert download(member_glance, image["id"]) == raw.data
    finally:
        member_glance.images.delete(image["id"])


def test_admin_deactivates_public_image(admin_glance, member_glance, disks):
    raw = disks["raw"]
    image = admin_glance.images.create(name=unique("public"), disk_format="raw", container_format="bare", visibility="public")
    try:
        upload_file(admin_glance, image["id"], raw.path)
        assert download(member_glance, image["id"]) == raw.data, "anyone may download a public image"
        with pytest.raises(gexc.HTTPForbidden):
            member_glance.images.deactivate(image["id"])  # visible, but not theirs

        admin_glance.images.deactivate(image["id"])
        assert member_glance.images.get(image["id"])["status"] == "deactivated"
        with pytest.raises(gexc.HTTPForbidden):
            download(member_glance, image["id"])
        assert download(admin_glance, image["id"]) == raw.data

        admin_glance.images.reactivate(image["id"])
        assert download(member_glance, image["id"]) == raw.data
    finally:
        admin_glance.images.delete(image["id"])


def test_member_cannot_see_other_projects_private_images(admin_glance, member_glance):
    image = admin_glance.images.create(name=unique("secret"), disk_format="raw", container_format="bare", visibility="private")
    try:
        with pytest.raises(gexc.HTTPNotFound):
            member_glance.images.get(image["id"])
        assert image["id"] not in [i["id"] for i in member_glance.images.list()]
        with pytest.raises(gexc.HTTPNotFound):
            member_glance.images.delete(image["id"])
    finally:
        admin_glance.images.delete(image["id"])


def test_delete_then_404(admin_glance, disks):
    image = admin_glance.images.create(name=unique("del"), disk_format="raw", container_format="bare")
    upload_file(admin_glance, image["id"], disks["raw"].path)
    admin_glance.images.delete(image["id"])
    with pytest.raises(gexc.HTTPNotFound):
        admin_glance.images.get(image["id"])
    with pytest.raises(gexc.HTTPNotFound):
        download(admin_glance, image["id"])
    with pytest.raises(gexc.HTTPNotFound):
        admin_glance.images.delete(image["id"])
    assert image["id"] not in [i["id"] for i in admin_glance.images.list()]


def _table_value(table, key):
    """A value from the CLI's `| Property | Value |` table."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == key:
            return cells[1]
    raise AssertionError("no %r in output:\n%s" % (key, table))


def test_glance_cli(imagery, admin_glance, disks, tmp_path):
    raw = disks["raw"]
    creds = imagery.admin
    base = [
        venv_tool("glance"),
        "--os-auth-url", imagery.identity_url,
        "--os-username", creds["username"],
        "--os-password", creds["password"],
        "--os-project-name", creds["project_name"],
        "--os-user-domain-name", creds["user_domain_name"],
        "--os-project-domain-name", creds["project_domain_name"],
        "--os-image-api-version", "2",
    ]
    env = imagery.cli_env()
    name = unique("cli")
    created = run_cli(
        base + ["image-create", "--name", name, "--disk-format", "raw", "--container-format", "bare",
                "--property", "os_distro=cirros", "--file", str(raw.path)],
        env,
    )
    image_id = _table_value(created.out, "id")
    assert re.fullmatch(r"[0-9a-f-]{36}", image_id), image_id
    try:
        assert _table_value(created.out, "status") == "active"
        assert _table_value(created.out, "os_distro") == "cirros"
        shown = admin_glance.images.get(image_id)
        assert_hashes(shown, raw.digests)

        listed = run_cli(base + ["image-list", "--property-filter", "name=%s" % name], env)
        assert image_id in listed.out

        out = tmp_path / "downloaded"
        run_cli(base + ["image-download", "--file", str(out), image_id], env)
        assert out.read_bytes() == raw.data

        run_cli(base + ["image-update", "--property", "foo=bar", image_id], env)
        assert admin_glance.images.get(image_id)["foo"] == "bar"

        run_cli(base + ["image-delete", image_id], env)
        with pytest.raises(gexc.HTTPNotFound):
            admin_glance.images.get(image_id)
    finally:
        try:
            admin_glance.images.delete(image_id)
        except gexc.HTTPNotFound:
            pass


def test_sharing_with_members(imagery, keystone_admin, member_glance, disks):
    """glanceclient's members API (it fetches /v2/schemas/member first) and the
    member_status list filter, as tempest's ListSharedImagesTest uses it; owner and
    member are both plain `member` users of their own projects."""
    raw = disks["raw"]
    other = keystone_admin.create_project_user("glance-sharee")
    other_glance = glance_for(imagery.session(other["username"], other["password"], other["project_name"]))
    owner_glance = member_glance
    image = owner_glance.images.create(name=unique("share"), disk_format="raw", container_format="bare", visibility="shared")
    try:
        upload_file(owner_glance, image["id"], raw.path)
        with pytest.raises(gexc.HTTPNotFound):
            other_glance.images.get(image["id"])

        created = owner_glance.image_members.create(image["id"], other["project_id"])
        assert created["member_id"] == other["project_id"] and created["status"] == "pending"
        assert created["image_id"] == image["id"]
        with pytest.raises(gexc.HTTPConflict):
            owner_glance.image_members.create(image["id"], other["project_id"])

        pending = [i["id"] for i in other_glance.images.list(filters={"visibility": "shared", "member_status": "pending"})]
        assert pending == [image["id"]]
        assert image["id"] not in [i["id"] for i in other_glance.images.list()]
        assert download(other_glance, image["id"]) == raw.data, "a pending member may read by id"

        with pytest.raises(gexc.HTTPForbidden):
            owner_glance.image_members.update(image["id"], other["project_id"], "accepted")  # only the member accepts
        with pytest.raises(gexc.HTTPBadRequest):
            other_glance.image_members.update(image["id"], other["project_id"], "maybe")
        accepted = other_glance.image_members.update(image["id"], other["project_id"], "accepted")
        assert accepted["status"] == "accepted"
        assert image["id"] in [i["id"] for i in other_glance.images.list()]
        assert [(m["member_id"], m["status"]) for m in owner_glance.image_members.list(image["id"])] == [
            (other["project_id"], "accepted")
        ]
        with pytest.raises(gexc.HTTPForbidden):
            other_glance.images.update(image["id"], name="mine-now")  # members read, owners write

        other_glance.image_members.update(image["id"], other["project_id"], "rejected")
        assert image["id"] not in [i["id"] for i in other_glance.images.list()]

        owner_glance.image_members.delete(image["id"], other["project_id"])
        with pytest.raises(gexc.HTTPNotFound):
            other_glance.images.get(image["id"])

        private = owner_glance.images.create(name=unique("private"), disk_format="raw", container_format="bare", visibility="private")
        try:
            with pytest.raises(gexc.HTTPForbidden):
                owner_glance.image_members.create(private["id"], other["project_id"])  # only shared images have members
        finally:
            owner_glance.images.delete(private["id"])
    finally:
        owner_glance.images.delete(image["id"])
        keystone_admin.delete_project_user(other)


def test_client_errors(admin_glance, disks):
    raw = disks["raw"]
    image_id = "0b7a3b5e-6f0c-4a38-9a7d-3f2a9c1d0e11"
    image = admin_glance.images.create(id=image_id, name=unique("errors"), disk_format="raw", container_format="bare", protected=True)
    try:
        assert image["id"] == image_id, "a client-chosen id is kept"
        with pytest.raises(gexc.HTTPConflict):
            admin_glance.images.create(id=image_id, name="dup", disk_format="raw", container_format="bare")

        with pytest.raises(gexc.HTTPBadRequest):
            admin_glance.images.upload(image_id, io.BytesIO(raw.data), image_size=len(raw.data) + 1)
        assert admin_glance.images.get(image_id)["status"] == "queued", "a size mismatch leaves it queued"

        upload_file(admin_glance, image_id, raw.path)
        with pytest.raises(gexc.HTTPConflict):
            upload_file(admin_glance, image_id, raw.path)  # data is immutable once active

        with pytest.raises(gexc.HTTPForbidden):
            admin_glance.images.delete(image_id)  # protected
        with pytest.raises(gexc.HTTPForbidden):
            admin_glance.images.update(image_id, disk_format="qcow2")  # formats are fixed once active

        with pytest.raises(gexc.HTTPBadRequest):
            list(admin_glance.images.list(marker="00000000-0000-0000-0000-000000000000"))
        with pytest.raises(gexc.HTTPNotFound):
            admin_glance.images.get("not-a-uuid")
    finally:
        admin_glance.images.update(image_id, protected=False)
        admin_glance.images.delete(image_id)


def _wait_status(glance, image_id, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        image = glance.images.get(image_id)
        if image["status"] == wanted or time.monotonic() > deadline:
            return image
        time.sleep(0.2)


def test_interoperable_import_glance_direct(admin_glance, disks):
    """stage + import (glance-direct), the path `glance image-create-via-import` takes."""
    qcow2 = disks["qcow2"]
    info = admin_glance.images.get_import_info()
    assert "glance-direct" in info["import-methods"]["value"]
    image = admin_glance.images.create(name=unique("import"), disk_format="qcow2", container_format="bare")
    try:
        with open(qcow2.path, "rb") as fh:
            admin_glance.images.stage(image["id"], fh)
        assert admin_glance.images.get(image["id"])["status"] == "uploading"
        admin_glance.images.image_import(image["id"], "glance-direct")
        shown = _wait_status(admin_glance, image["id"], "active")
        assert shown["status"] == "active"
        assert_hashes(shown, qcow2.digests)
        assert shown["virtual_size"] == qcow2.virtual_size
        assert download(admin_glance, image["id"]) == qcow2.data
    finally:
        admin_glance.images.delete(image["id"])


def test_glance_cli_create_via_import(imagery, admin_glance, disks):
    """Authenticating from the OS_* environment of admin-openrc.sh, as a user would."""
    raw = disks["raw"]
    proc = run_cli(
        [venv_tool("glance"), "--os-image-api-version", "2", "image-create-via-import", "--name", unique("cli-import"),
         "--disk-format", "raw", "--container-format", "bare", "--import-method", "glance-direct", "--file", str(raw.path)],
        imagery.cli_env(),
        tty_stdin=True,  # glance refuses --file when stdin is a pipe ("cannot use both --file and stdin")
    )
    image_id = _table_value(proc.out, "id")
    try:
        shown = _wait_status(admin_glance, image_id, "active")
        assert shown["status"] == "active"
        assert_hashes(shown, raw.digests)
    finally:
        admin_glance.images.delete(image_id)


def _peak_rss_bytes(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM for pid %d" % pid)


def test_large_image_streams_in_constant_memory(imagery, admin_glance, tmp_path):
    """64 MiB through glanceclient (chunked upload, streamed download): the server's
    peak memory must not grow with the image (DESIGN: stream, never buffer)."""
    size = 64 * 1024 * 1024
    path = tmp_path / "big.raw"
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as fh:
        for i in range(size // len(block)):
            chunk = bytes([i % 256]) + block[1:]
            fh.write(chunk)
            md5.update(chunk)
            sha512.update(chunk)
    # The first upload of a process allocates its buffers once (~30 MiB, debug build):
    # warm up with a small image, then measure.
    warm = admin_glance.images.create(name=unique("warm"), disk_format="raw", container_format="bare")
    admin_glance.images.upload(warm["id"], io.BytesIO(block * 8))
    admin_glance.images.delete(warm["id"])
    before = _peak_rss_bytes(imagery.pid)
    t0 = time.monotonic()
    image = admin_glance.images.create(name=unique("big"), disk_format="raw", container_format="bare")
    try:
        upload_file(admin_glance, image["id"], path)
        upload_secs = time.monotonic() - t0
        shown = admin_glance.images.get(image["id"])
        assert shown["status"] == "active" and shown["size"] == size
        t0 = time.monotonic()
        assert shown["checksum"] == md5.hexdigest() and shown["os_hash_value"] == sha512.hexdigest()

        got, n = hashlib.sha512(), 0
        for chunk in admin_glance.images.data(image["id"]):  # verified by glanceclient too
            got.update(chunk)
            n += len(chunk)
        assert n == size and got.hexdigest() == sha512.hexdigest()
        grown = _peak_rss_bytes(imagery.pid) - before
        print("64 MiB upload took %.1f s; server peak RSS grew by %.1f MiB" % (upload_secs, grown / 2**20))
        assert grown < 24 * 1024 * 1024, "server peak RSS grew by %d MiB for a %d MiB image" % (grown >> 20, size >> 20)
    finally:
        admin_glance.images.delete(image["id"])
        path.unlink()


def test_reader_role_is_read_only(imagery, keystone_admin, admin_glance):
    """A user with only the `reader` role may look but not create (secure-RBAC defaults)."""
    reader = keystone_admin.create_project_user("glance-reader", roles=("reader",))
    try:
        glance = glance_for(imagery.session(reader["username"], reader["password"], reader["project_name"]))
        public = admin_glance.images.create(name=unique("pub"), disk_format="raw", container_format="bare", visibility="public")
        try:
            assert public["id"] in [i["id"] for i in glance.images.list()]
            assert glance.images.get(public["id"])["id"] == public["id"]
            with pytest.raises(gexc.HTTPForbidden):
                glance.images.create(name=unique("nope"), disk_format="raw", container_format="bare")
        finally:
            admin_glance.images.delete(public["id"])
    finally:
        keystone_admin.delete_project_user(reader)
