"""The real `openstack` CLI listing imagery's Keystone service catalog:
`openstack service list/show` and `openstack endpoint list/show` (which also look
services up by id, name or type and regions by id) against the same services and
endpoints the admin's token carries. A project member is refused, as Keystone
refuses non-admins."""

import json

import pytest

from conftest import run_cli, venv_tool


def openstack(env, *args, check=True):
    proc = run_cli([venv_tool("openstack"), *args, "-f", "json"], env, check=check)
    if check:
        try:
            proc.json = json.loads(proc.out)
        except ValueError:
            pytest.fail("`openstack %s` did not print JSON:\n%s" % (" ".join(args), proc.out), pytrace=False)
    return proc


@pytest.fixture(scope="module")
def token_catalog(admin_session, imagery):
    """The catalog of a fresh admin token, as keystoneauth received it."""
    reply = admin_session.post(
        "%s/auth/tokens" % imagery.identity_url,
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": imagery.admin["username"], "domain": {"name": "Default"}, "password": imagery.admin["password"]}
                    },
                },
                "scope": {"project": {"name": imagery.admin["project_name"], "domain": {"name": "Default"}}},
            }
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["token"]["catalog"]


def test_service_list(imagery, token_catalog):
    services = openstack(imagery.cli_env(), "service", "list").json
    assert sorted((s["Type"], s["Name"]) for s in services) == sorted((s["type"], s["name"]) for s in token_catalog)
    assert {s["ID"] for s in services} == {s["id"] for s in token_catalog}
    assert {"identity", "image", "compute"} <= {s["Type"] for s in services}

    long = openstack(imagery.cli_env(), "service", "list", "--long").json
    assert all(s["Enabled"] is True for s in long), long

    glance = next(s for s in services if s["Type"] == "image")
    for ref in (glance["ID"], glance["Name"], "image"):
        shown = openstack(imagery.cli_env(), "service", "show", ref).json
        assert (shown["id"], shown["name"], shown["type"], shown["enabled"]) == (glance["ID"], glance["Name"], "image", True)


def test_endpoint_list_matches_the_token_catalog(imagery, token_catalog):
    endpoints = openstack(imagery.cli_env(), "endpoint", "list").json
    listed = {e["ID"]: e for e in endpoints}
    expected = [(svc, ep) for svc in token_catalog for ep in svc["endpoints"]]
    assert len(listed) == len(expected) == len(endpoints)
    for svc, ep in expected:
        row = listed.get(ep["id"])
        assert row is not None, "token endpoint %s missing from `openstack endpoint list`: %s" % (ep, endpoints)
        assert row["URL"] == ep["url"]
        assert row["Interface"] == ep["interface"]
        assert row["Region"] == ep["region_id"]
        assert row["Service Name"] == svc["name"]
        assert row["Service Type"] == svc["type"]
        assert row["Enabled"] is True
    public_identity = [e for e in endpoints if e["Service Type"] == "identity" and e["Interface"] == "public"]
    assert [e["URL"] for e in public_identity] == [imagery.identity_url]

    # Filters, as the CLI turns them into queries (and service/region look-ups).
    public_image = openstack(imagery.cli_env(), "endpoint", "list", "--service", "image", "--interface", "public").json
    assert len(public_image) == 1 and public_image[0]["Service Type"] == "image", public_image
    region = token_catalog[0]["endpoints"][0]["region_id"]
    in_region = openstack(imagery.cli_env(), "endpoint", "list", "--region", region).json
    assert {e["ID"] for e in in_region} == set(listed)
    admin_only = openstack(imagery.cli_env(), "endpoint", "list", "--interface", "admin").json
    assert admin_only and all(e["Interface"] == "admin" for e in admin_only)

    shown = openstack(imagery.cli_env(), "endpoint", "show", public_image[0]["ID"]).json
    assert shown["id"] == public_image[0]["ID"]
    assert shown["url"] == public_image[0]["URL"]
    assert shown["service_type"] == "image" and shown["region"] == region


def test_a_member_may_not_list_the_catalog(imagery, keystone_admin, token_catalog):
    region_id = token_catalog[0]["endpoints"][0]["region_id"]
    who = keystone_admin.create_project_user("catalog-member")
    try:
        env = imagery.cli_env(who["username"], who["password"], who["project_name"])
        for command in (("endpoint", "list"), ("service", "list")):
            proc = openstack(env, *command, check=False)
            assert proc.returncode != 0
            text = proc.out + proc.err
            assert "403" in text or "not authorized" in text.lower(), text[-3000:]
        # Regions, as in Keystone, any token may read.
        regions = openstack(env, "region", "list").json
        assert [(r["Region"], r["Parent Region"]) for r in regions] == [(region_id, None)], regions
    finally:
        keystone_admin.delete_project_user(who)
