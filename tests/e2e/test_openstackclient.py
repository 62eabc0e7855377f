"""The real `openstack` CLI (python-openstackclient + openstacksdk + keystoneauth1)
against imagery's Keystone and Glance: tokens, the identity admin subset that
project/user/role management uses, and the image lifecycle including sharing
between projects — all as a user would type it, each call a fresh process that
authenticates again."""

import json
import time
import uuid

import pytest

from conftest import run_cli, unique, venv_tool


def openstack(env, *args, check=True, fmt_json=True, tty_stdin=False):
    argv = [venv_tool("openstack"), "--debug", *args]
    if fmt_json:
        argv += ["-f", "json"]
    proc = run_cli(argv, env, check=check, tty_stdin=tty_stdin)
    if check and fmt_json:
        try:
            proc.json = json.loads(proc.out) if proc.out.strip() else None
        except ValueError:
            pytest.fail("`openstack %s` did not print JSON:\n%s" % (" ".join(args), proc.out), pytrace=False)
    return proc


def properties_of(shown):
    props = shown.get("properties") or {}
    assert isinstance(props, dict), "properties should print as a JSON object: %r" % (props,)
    return props


def field(shown, *names):
    """A value OSC may print at top level or among `properties` depending on naming."""
    for name in names:
        if name in shown:
            return shown[name]
        if name in properties_of(shown):
            return properties_of(shown)[name]
    raise AssertionError("none of %s in %s" % (names, shown))


def test_token_issue(imagery):
    assert imagery.openrc["OS_AUTH_URL"] == imagery.identity_url, "openrc points at the advertised Keystone URL"
    assert imagery.openrc_mode == 0o600, "admin-openrc.sh holds a secret: mode 0600"
    token = openstack(imagery.cli_env(), "token", "issue").json
    assert token["id"] and token["expires"]
    assert token["project_id"] and token["user_id"]


def test_wrong_password_is_refused(imagery):
    env = imagery.cli_env(OS_PASSWORD="definitely-" + uuid.uuid4().hex)
    proc = openstack(env, "token", "issue", check=False)
    assert proc.returncode != 0
    text = proc.out + proc.err
    assert "401" in text, "the CLI reports the Keystone 401:\n" + text[-3000:]
    assert "authenticat" in text.lower(), "the error mentions authentication:\n" + text[-3000:]
    # Same for an image command.
    proc = openstack(env, "image", "list", check=False)
    assert proc.returncode != 0 and "401" in proc.out + proc.err


def test_identity_and_image_workflow(imagery, disks, tmp_path):
    admin = imagery.cli_env()
    qcow2 = disks["qcow2"]
    suffix = uuid.uuid4().hex[:6]
    p2, u2, p3, u3 = "p2-" + suffix, "u2-" + suffix, "p3-" + suffix, "u3-" + suffix
    pw2, pw3 = uuid.uuid4().hex, uuid.uuid4().hex
    image_name = "myimg-" + suffix

    # --- identity administration as admin
    proj2 = openstack(admin, "project", "create", p2).json
    assert proj2["name"] == p2 and proj2["id"]
    user2 = openstack(admin, "user", "create", u2, "--password", pw2, "--project", p2).json
    assert user2["name"] == u2 and user2["id"]
    assert user2.get("default_project_id") in (None, proj2["id"])
    openstack(admin, "role", "add", "--project", p2, "--user", u2, "member", fmt_json=False)
    assignments = openstack(admin, "role", "assignment", "list", "--user", u2, "--names").json
    assert len(assignments) == 1, assignments
    a = assignments[0]
    assert a["Role"] == "member", a
    assert a["User"].split("@")[0] == u2, a
    assert a["Project"].split("@")[0] == p2, a

    proj3 = openstack(admin, "project", "create", p3).json
    openstack(admin, "user", "create", u3, "--password", pw3, "--project", p3)
    openstack(admin, "role", "add", "--project", p3, "--user", u3, "member", fmt_json=False)

    as_u2 = imagery.cli_env(OS_USERNAME=u2, OS_PASSWORD=pw2, OS_PROJECT_NAME=p2)
    as_u3 = imagery.cli_env(OS_USERNAME=u3, OS_PASSWORD=pw3, OS_PROJECT_NAME=p3)

    token2 = openstack(as_u2, "token", "issue").json
    assert token2["project_id"] == proj2["id"] and token2["user_id"] == user2["id"]

    # --- images as u2
    created = openstack(
        as_u2, "image", "create", "--file", str(qcow2.path), "--disk-format", "qcow2", "--container-format", "bare",
        "--property", "os_distro=cirros", image_name,
    ).json
    image_id = created["id"]
    assert created["name"] == image_name
    assert created["status"] == "active"
    assert created["owner"] == proj2["id"]
    assert created["checksum"] == qcow2.digests["checksum"]
    assert created["size"] == len(qcow2.data)
    assert properties_of(created)["os_distro"] == "cirros"

    listed = openstack(as_u2, "image", "list").json
    assert [i["ID"] for i in listed if i["Name"] == image_name] == [image_id]

    shown = openstack(as_u2, "image", "show", image_name).json  # by name
    assert shown["id"] == image_id and shown["disk_format"] == "qcow2"
    assert shown["virtual_size"] == qcow2.virtual_size
    assert field(shown, "hash_algo", "os_hash_algo") == "sha512"
    assert field(shown, "hash_value", "os_hash_value") == qcow2.digests["os_hash_value"]

    openstack(as_u2, "image", "set", "--property", "foo=bar", image_name, fmt_json=False)
    props = properties_of(openstack(as_u2, "image", "show", image_name).json)
    assert props["foo"] == "bar" and props["os_distro"] == "cirros"

    out = tmp_path / "saved.qcow2"
    openstack(as_u2, "image", "save", "--file", str(out), image_name, fmt_json=False)
    assert out.read_bytes() == qcow2.data

    # --- sharing with p3
    # u3 cannot see it before it is shared.
    assert image_id not in [i["ID"] for i in openstack(as_u3, "image", "list").json]
    assert openstack(as_u3, "image", "show", image_id, check=False, fmt_json=False).returncode != 0

    if shown["visibility"] != "shared":
        openstack(as_u2, "image", "set", "--shared", image_name, fmt_json=False)
    assert openstack(as_u2, "image", "show", image_name).json["visibility"] == "shared"
    # A non-admin cannot look projects up by name in Keystone (403), and OSC then passes
    # the argument through as an id, so give the id, as a real user would.
    member = openstack(as_u2, "image", "add", "project", image_name, proj3["id"]).json
    assert member["member_id"] == proj3["id"] and member["status"] == "pending", member

    # Pending: u3 may read it by id but does not list it yet, except when asking for pending ones.
    assert image_id not in [i["ID"] for i in openstack(as_u3, "image", "list").json]
    pending = openstack(as_u3, "image", "list", "--shared", "--member-status", "pending").json
    assert [i["ID"] for i in pending] == [image_id]
    assert openstack(as_u3, "image", "show", image_id).json["id"] == image_id
    openstack(as_u3, "image", "set", "--accept", image_id, fmt_json=False)
    assert image_id in [i["ID"] for i in openstack(as_u3, "image", "list").json]
    shown3 = openstack(as_u3, "image", "show", image_id).json
    assert shown3["id"] == image_id and shown3["owner"] == proj2["id"]
    members = openstack(as_u2, "image", "member", "list", image_name).json
    assert [(m["Member ID"], m["Status"]) for m in members] == [(proj3["id"], "accepted")], members

    # A member may read but not change it.
    assert openstack(as_u3, "image", "set", "--property", "evil=1", image_id, check=False, fmt_json=False).returncode != 0
    assert openstack(as_u3, "image", "delete", image_id, check=False, fmt_json=False).returncode != 0

    # Removing the member takes the image away from p3 again.
    openstack(as_u2, "image", "remove", "project", image_name, proj3["id"], fmt_json=False)
    assert image_id not in [i["ID"] for i in openstack(as_u3, "image", "list").json]
    assert openstack(as_u3, "image", "show", image_id, check=False, fmt_json=False).returncode != 0

    # --- clean up through the CLI, and check it took
    openstack(as_u2, "image", "delete", image_name, fmt_json=False)
    assert openstack(as_u2, "image", "show", image_id, check=False, fmt_json=False).returncode != 0
    for user in (u2, u3):
        openstack(admin, "user", "delete", user, fmt_json=False)
    for project in (p2, p3):
        openstack(admin, "project", "delete", project, fmt_json=False)
    assert openstack(admin, "user", "show", u2, check=False, fmt_json=False).returncode != 0
    assert openstack(admin, "project", "show", p2, check=False, fmt_json=False).returncode != 0
    # The deleted user can no longer authenticate.
    proc = openstack(as_u2, "token", "issue", check=False)
    assert proc.returncode != 0 and "401" in proc.out + proc.err


def test_image_options_as_member(imagery, keystone_admin, disks, tmp_path):
    """The `image create/set/unset/list` options people use, as a non-admin member."""
    who = keystone_admin.create_project_user("osc-opts")
    env = imagery.cli_env(OS_USERNAME=who["username"], OS_PASSWORD=who["password"], OS_PROJECT_NAME=who["project_name"])
    raw = disks["raw"]
    name = unique("opts")
    try:
        created = openstack(
            env, "image", "create", "--file", str(raw.path), "--disk-format", "raw", "--container-format", "bare",
            "--min-disk", "1", "--min-ram", "256", "--tag", "alpha", "--tag", "beta", "--property", "color=blue", name,
        ).json
        image_id = created["id"]
        assert created["min_disk"] == 1 and created["min_ram"] == 256
        assert sorted(created["tags"]) == ["alpha", "beta"]

        # List filters as OSC sends them.
        def listed(*args):
            return [i["ID"] for i in openstack(env, "image", "list", *args).json]

        assert image_id in listed("--name", name)
        assert image_id in listed("--status", "active")
        assert image_id in listed("--tag", "alpha")
        assert image_id not in listed("--tag", "gamma")
        assert image_id in listed("--property", "color=blue")
        assert image_id not in listed("--property", "color=red")
        assert image_id in listed("--private") or image_id in listed("--shared")
        assert image_id in listed("--long", "--sort", "name:asc")

        openstack(env, "image", "set", "--tag", "gamma", "--property", "size_class=small", "--name", name + "-2", image_id, fmt_json=False)
        shown = openstack(env, "image", "show", image_id).json
        assert shown["name"] == name + "-2" and sorted(shown["tags"]) == ["alpha", "beta", "gamma"]
        assert properties_of(shown)["size_class"] == "small"
        openstack(env, "image", "unset", "--tag", "alpha", "--property", "color", image_id, fmt_json=False)
        shown = openstack(env, "image", "show", image_id).json
        assert sorted(shown["tags"]) == ["beta", "gamma"] and "color" not in properties_of(shown)

        # Protected images cannot be deleted until unprotected.
        openstack(env, "image", "set", "--protected", image_id, fmt_json=False)
        assert openstack(env, "image", "show", image_id).json["protected"] is True
        assert openstack(env, "image", "delete", image_id, check=False, fmt_json=False).returncode != 0
        openstack(env, "image", "set", "--unprotected", image_id, fmt_json=False)

        # Deactivate / activate through `image set`.
        openstack(env, "image", "set", "--deactivate", image_id, fmt_json=False)
        assert openstack(env, "image", "show", image_id).json["status"] == "deactivated"
        openstack(env, "image", "set", "--activate", image_id, fmt_json=False)
        assert openstack(env, "image", "show", image_id).json["status"] == "active"

        # Hidden images leave the default list; `image show NAME` still finds them
        # (OSC retries the name lookup with os_hidden=True).
        openstack(env, "image", "set", "--hidden", image_id, fmt_json=False)
        assert image_id not in listed()
        assert image_id in listed("--hidden")
        assert openstack(env, "image", "show", name + "-2").json["id"] == image_id
        openstack(env, "image", "set", "--unhidden", image_id, fmt_json=False)
        assert image_id in listed()

        # Only an admin may publish.
        proc = openstack(env, "image", "set", "--public", image_id, check=False, fmt_json=False)
        assert proc.returncode != 0 and "403" in proc.out + proc.err

        # Without --file (typed at a terminal) the image stays queued, and downloads as nothing.
        queued = openstack(
            env, "image", "create", "--disk-format", "raw", "--container-format", "bare", unique("queued"), tty_stdin=True
        ).json
        assert queued["status"] == "queued"
        out = tmp_path / "empty"
        openstack(env, "image", "save", "--file", str(out), queued["id"], fmt_json=False)
        assert out.read_bytes() == b""
        openstack(env, "image", "delete", queued["id"], image_id, fmt_json=False)
        assert image_id not in listed()
    finally:
        keystone_admin.delete_project_user(who)


def test_identity_listing_commands(imagery):
    admin = imagery.cli_env()
    projects = {p["Name"] for p in openstack(admin, "project", "list").json}
    assert "admin" in projects
    users = {u["Name"] for u in openstack(admin, "user", "list").json}
    assert "admin" in users
    roles = {r["Name"] for r in openstack(admin, "role", "list").json}
    assert {"admin", "member", "reader"} <= roles
    assert openstack(admin, "user", "show", "admin").json["name"] == "admin"
    assert openstack(admin, "project", "show", "admin").json["name"] == "admin"
    assert openstack(admin, "domain", "show", "Default").json["name"] == "Default"
    catalog = openstack(admin, "catalog", "list").json
    assert {"identity", "image"} <= {c["Type"] for c in catalog}
    assignments = openstack(admin, "role", "assignment", "list", "--project", "admin", "--names").json
    assert any(a["Role"] == "admin" and a["User"].startswith("admin") for a in assignments), assignments


def _env_without_password(env, **extra):
    out = {k: v for k, v in env.items() if k not in ("OS_USERNAME", "OS_PASSWORD", "OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME")}
    out.update(extra)
    return out


def test_token_auth_and_revocation(imagery):
    """An issued token used as a credential (`--os-auth-type v3token`), then revoked."""
    admin = imagery.cli_env()
    token = openstack(admin, "token", "issue").json
    by_token = _env_without_password(
        admin, OS_AUTH_TYPE="v3token", OS_TOKEN=token["id"], OS_PROJECT_ID=token["project_id"]
    )
    assert isinstance(openstack(by_token, "image", "list").json, list)
    openstack(admin, "token", "revoke", token["id"], fmt_json=False)
    proc = openstack(by_token, "image", "list", check=False)
    assert proc.returncode != 0 and "401" in proc.out + proc.err


def test_application_credential(imagery, keystone_admin, disks):
    """What CI systems use: an application credential of a member user."""
    who = keystone_admin.create_project_user("appcred")
    as_user = imagery.cli_env(OS_USERNAME=who["username"], OS_PASSWORD=who["password"], OS_PROJECT_NAME=who["project_name"])
    try:
        cred = openstack(as_user, "application", "credential", "create", "ci").json
        assert cred["Secret"] and cred["Project ID"] == who["project_id"]
        env = _env_without_password(
            as_user,
            OS_AUTH_TYPE="v3applicationcredential",
            OS_APPLICATION_CREDENTIAL_ID=cred["ID"],
            OS_APPLICATION_CREDENTIAL_SECRET=cred["Secret"],
        )
        created = openstack(
            env, "image", "create", "--file", str(disks["raw"].path), "--disk-format", "raw", "--container-format", "bare", unique("appcred")
        ).json
        assert created["status"] == "active" and created["owner"] == who["project_id"]
        openstack(env, "image", "delete", created["id"], fmt_json=False)

        wrong = dict(env, OS_APPLICATION_CREDENTIAL_SECRET="not-the-secret")
        proc = openstack(wrong, "image", "list", check=False)
        assert proc.returncode != 0 and "401" in proc.out + proc.err
        openstack(as_user, "application", "credential", "delete", "ci", fmt_json=False)
        proc = openstack(env, "image", "list", check=False)
        assert proc.returncode != 0 and "401" in proc.out + proc.err, "a deleted credential no longer authenticates"
    finally:
        keystone_admin.delete_project_user(who)


def test_image_create_with_import(imagery, disks):
    """`openstack image create --import`: openstacksdk stages the file and imports it (glance-direct)."""
    env = imagery.cli_env()
    qcow2 = disks["qcow2"]
    name = unique("osc-import")
    created = openstack(
        env, "image", "create", "--import", "--file", str(qcow2.path), "--disk-format", "qcow2", "--container-format", "bare", name
    ).json
    try:
        deadline = time.monotonic() + 30
        shown = created
        while shown["status"] != "active" and time.monotonic() < deadline:
            time.sleep(0.5)
            shown = openstack(env, "image", "show", created["id"]).json
        assert shown["status"] == "active", shown
        assert shown["checksum"] == qcow2.digests["checksum"] and shown["size"] == len(qcow2.data)
    finally:
        openstack(env, "image", "delete", created["id"], fmt_json=False)
