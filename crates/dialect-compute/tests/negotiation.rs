//! Version discovery, microversion negotiation and its header echo, media types,
//! authentication, project ids in paths and fault envelopes, over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use reqwest::Method;
use serde_json::json;

const VARY: &str = "OpenStack-API-Version, X-OpenStack-Nova-API-Version";

fn assert_request_ids(reply: &Reply) {
    let os = reply.header("x-openstack-request-id").unwrap_or_else(|| panic!("no request id: {:?}", reply.headers));
    assert!(os.starts_with("req-"), "{os}");
    assert_eq!(reply.header("x-compute-request-id"), Some(os));
}

fn assert_echo(reply: &Reply, version: &str) {
    assert_eq!(reply.header("openstack-api-version"), Some(format!("compute {version}").as_str()), "{:?}", reply.headers);
    assert_eq!(reply.header("x-openstack-nova-api-version"), Some(version));
    assert_eq!(reply.header("vary"), Some(VARY));
}

fn assert_no_echo(reply: &Reply) {
    assert!(reply.header("openstack-api-version").is_none(), "{:?}", reply.headers);
    assert!(reply.header("x-openstack-nova-api-version").is_none());
    assert!(reply.header("vary").is_none());
}

#[tokio::test]
async fn version_documents() {
    let api = start().await;
    let root = api.send(api.req(None, Method::GET, "/")).await;
    assert_eq!(root.status, 200);
    assert_request_ids(&root);
    assert_eq!(root.header("content-type"), Some("application/json"));
    let base = &api.base;
    assert_eq!(
        root.json(),
        json!({"versions": [
            {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
             "links": [{"rel": "self", "href": format!("{base}/v2/")}]},
            {"id": "v2.1", "status": "CURRENT", "version": "2.104", "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
             "links": [{"rel": "self", "href": format!("{base}/v2.1/")}]},
        ]})
    );

    let v21 = api.send(api.req(None, Method::GET, "/v2.1/")).await;
    assert_eq!(v21.status, 200);
    assert_echo(&v21, "2.1");
    assert_eq!(
        v21.json(),
        json!({"version": {"id": "v2.1", "status": "CURRENT", "version": "2.104", "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{base}/v2.1/")}, {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}]}})
    );

    let v2 = api.send(api.req(None, Method::GET, "/v2/")).await;
    assert_eq!(v2.status, 200);
    assert_no_echo(&v2);
    let doc = v2.json();
    assert_eq!(doc["version"]["id"], "v2.0");
    assert_eq!(doc["version"]["version"], "");
    assert_eq!(doc["version"]["links"][0]["href"], format!("{base}/v2/"));
    assert_eq!(doc["version"]["media-types"][0]["type"], "application/vnd.openstack.compute+json;version=2");

    for (path, location) in [("/v2.1", "/v2.1/"), ("/v2", "/v2/"), (&format!("/v2.1/{PA}") as &str, &format!("/v2.1/{PA}/") as &str)] {
        let redirect = api.send(api.req(None, Method::GET, path)).await;
        assert_eq!(redirect.status, 302, "{path}");
        assert_eq!(redirect.header("location"), Some(format!("{base}{location}").as_str()));
        assert_request_ids(&redirect);
    }

    // The project form lives behind authentication, like the rest of the API.
    let anonymous = api.send(api.req(None, Method::GET, &format!("/v2.1/{PA}/"))).await;
    assert_eq!(anonymous.status, 401);
    let scoped = api.get(ALICE, &format!("/v2.1/{PA}/")).await;
    assert_eq!(scoped.status, 200, "{}", scoped.text);
    assert_eq!(scoped.json()["version"]["id"], "v2.1");

    let choices = api.send(api.req(None, Method::GET, "/images/detail")).await;
    assert_eq!(choices.status, 300);
    assert_request_ids(&choices);
    let doc = choices.json();
    assert_eq!(doc["choices"][0]["id"], "v2.0");
    assert_eq!(doc["choices"][0]["links"][0]["href"], format!("{base}/v2/images/detail"));
    assert_eq!(doc["choices"][1]["links"][0]["href"], format!("{base}/v2.1/images/detail"));
    assert_eq!(doc["choices"][1]["media-types"][0]["type"], "application/vnd.openstack.compute+json;version=2.1");

    let xml = api.send(api.req(None, Method::GET, "/").header("Accept", "application/xml")).await;
    assert_eq!(xml.status, 200);
    assert_eq!(xml.header("content-type"), Some("application/xml"));
    assert!(xml.text.starts_with("<?xml version='1.0' encoding='UTF-8'?>"), "{}", xml.text);
    assert!(xml.text.contains("<versions xmlns=\"http://docs.openstack.org/common/api/v1.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">"));
    assert!(xml.text.contains("id=\"v2.1\" status=\"CURRENT\" version=\"2.104\" min_version=\"2.1\""), "{}", xml.text);
}

#[tokio::test]
async fn microversions_are_negotiated_and_echoed() {
    let api = start().await;
    let image = api.active(ALICE, "cirros", Visibility::Private, &[("k", "v")], 16).await;
    let show = format!("/v2.1/images/{}", image.id);
    let meta = format!("/v2.1/images/{}/metadata", image.id);

    let default = api.get(ALICE, &show).await;
    assert_eq!(default.status, 200);
    assert_echo(&default, "2.1");

    let cases: &[(&str, &str, u16, &str)] = &[
        (&show, "compute 2.35", 200, "2.35"),
        (&show, "compute 2.36", 404, "2.36"),
        (&meta, "compute 2.38", 200, "2.38"),
        (&meta, "compute 2.39", 404, "2.39"),
        ("/v2.1/images", "compute 2.35", 200, "2.35"),
        ("/v2.1/images/detail", "compute 2.36", 404, "2.36"),
        ("/v2.1/", "compute 2.90", 200, "2.90"),
        (&show, "compute latest", 404, "2.104"),
        ("/v2.1/", "compute latest", 200, "2.104"),
    ];
    for (path, header, status, echoed) in cases {
        let reply = api.get_with(ALICE, path, &[("OpenStack-API-Version", header)]).await;
        assert_eq!(reply.status, *status, "{path} {header}: {}", reply.text);
        assert_echo(&reply, echoed);
        assert_request_ids(&reply);
        if *status == 404 {
            assert_eq!(reply.json(), json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}));
            assert_eq!(reply.header("content-type"), Some("application/json; charset=UTF-8"));
        }
    }

    let legacy = api.get_with(ALICE, &show, &[("X-OpenStack-Nova-API-Version", "2.20")]).await;
    assert_eq!(legacy.status, 200);
    assert_echo(&legacy, "2.20");
    let both = api.get_with(ALICE, &show, &[("OpenStack-API-Version", "compute 2.30"), ("X-OpenStack-Nova-API-Version", "2.36")]).await;
    assert_eq!(both.status, 200);
    assert_echo(&both, "2.30");

    let unsupported = api.get_with(ALICE, &show, &[("OpenStack-API-Version", "compute 9.99")]).await;
    assert_eq!(unsupported.status, 406);
    assert_echo(&unsupported, "9.99");
    assert_eq!(
        unsupported.json(),
        json!({"computeFault": {"code": 406, "message": "Version 9.99 is not supported by the API. Minimum is 2.1 and maximum is 2.104."}})
    );

    let garbage = api.get_with(ALICE, &show, &[("OpenStack-API-Version", "compute two.five")]).await;
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.header("vary"), Some(VARY));
    assert!(garbage.header("openstack-api-version").is_none());
    assert_eq!(
        garbage.json(),
        json!({"badRequest": {"code": 400, "message": "API Version String two.five is of invalid format. Must be of format MajorNum.MinorNum."}})
    );

    // /v2 is the 2.1 behaviour whatever the headers say, and echoes nothing.
    let v2 = api.get_with(ALICE, &format!("/v2/images/{}", image.id), &[("OpenStack-API-Version", "compute 2.36")]).await;
    assert_eq!(v2.status, 200);
    assert_no_echo(&v2);
    assert_request_ids(&v2);
    let v2_bad = api.get_with(ALICE, "/v2/images", &[("OpenStack-API-Version", "compute junk")]).await;
    assert_eq!(v2_bad.status, 200);
    assert_no_echo(&v2_bad);
    let v2_missing = api.get(ALICE, "/v2/images/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(v2_missing.status, 404);
    assert_no_echo(&v2_missing);
}

#[tokio::test]
async fn unauthenticated_requests_get_keystonemiddleware_401() {
    let api = start().await;
    for path in ["/v2.1/images", "/v2/images/detail", "/v2.1/servers", &format!("/v2.1/{PA}/images")] {
        let reply = api.send(api.req(None, Method::GET, path)).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(
            reply.json(),
            json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}})
        );
        assert_eq!(reply.header("www-authenticate"), Some(format!("Keystone uri=\"{KEYSTONE}\"").as_str()));
        assert_request_ids(&reply);
    }
    let echoed = api.send(api.req(None, Method::GET, "/v2.1/images").header("OpenStack-API-Version", "compute 2.5")).await;
    assert_eq!(echoed.status, 401);
    assert_echo(&echoed, "2.5");
}

#[tokio::test]
async fn project_in_path_must_match_the_token() {
    let api = start().await;
    let image = api.active(ALICE, "mine", Visibility::Private, &[], 8).await;
    let ok = api.get(ALICE, &format!("/v2.1/{PA}/images/{}", image.id)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let links = &ok.json()["image"]["links"];
    assert_eq!(links[0]["href"], format!("{}/v2.1/{PA}/images/{}", api.base, image.id));
    assert_eq!(links[1]["href"], format!("{}/{PA}/images/{}", api.base, image.id));

    let mismatch = api.get(BOB, &format!("/v2.1/{PA}/images")).await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(
        mismatch.json(),
        json!({"badRequest": {"code": 400, "message": format!("Malformed request URL: URL's project_id '{PA}' doesn't match Context's project_id '{PB}'")}})
    );
    let mismatch_v2 = api.delete(BOB, &format!("/v2/{PA}/images/{}", image.id)).await;
    assert_eq!(mismatch_v2.status, 400);
    assert_eq!(api.get(ALICE, &format!("/v2.1/images/{}", image.id)).await.status, 200, "nothing was deleted");

    // Admins may address another project's URL.
    let admin = api.get(ADMIN, &format!("/v2.1/{PA}/images/{}", image.id)).await;
    assert_eq!(admin.status, 200);
    assert_eq!(admin.json()["image"]["links"][0]["href"], format!("{}/v2.1/{PA}/images/{}", api.base, image.id));
}

/// A project segment that is no project id (`..%2F`, spaces, dots, 65 characters)
/// routes nowhere, for admins too: 404, and nothing of it is echoed.
#[tokio::test]
async fn malformed_project_ids_are_not_found_and_never_echoed() {
    let api = start().await;
    let image = api.active(ALICE, "mine", Visibility::Private, &[], 8).await;
    let long = "a".repeat(65);
    let bad = ["..%2F", "..%2F..%2F", "a%20b", "a.b", "%3Cx%3E", long.as_str()];
    for who in [ADMIN, ALICE] {
        for project in bad {
            for path in
                [format!("/v2/{project}/images"), format!("/v2.1/{project}/images/detail"), format!("/v2.1/{project}/images/{}", image.id)]
            {
                let reply = api.get(who, &path).await;
                assert_eq!(reply.status, 404, "{path}: {}", reply.text);
                assert_eq!(reply.json(), json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}), "{path}");
            }
        }
    }
    // A well-formed id in another project's URL is still the admin's to use.
    let admin = api.get(ADMIN, "/v2/Project_B-2/images/detail").await;
    assert_eq!(admin.status, 200, "{}", admin.text);
    let href = admin.json()["images"][0]["links"][0]["href"].as_str().map(str::to_string);
    assert_eq!(href, Some(format!("{}/v2/Project_B-2/images/{}", api.base, image.id)));
}

#[tokio::test]
async fn media_types_and_faults() {
    let api = start().await;
    let missing = "/v2.1/images/00000000-0000-0000-0000-000000000000";
    let json_fault = api.get(ALICE, missing).await;
    assert_eq!(json_fault.status, 404);
    assert_eq!(json_fault.header("content-type"), Some("application/json; charset=UTF-8"));
    assert_eq!(json_fault.json(), json!({"itemNotFound": {"code": 404, "message": "Image not found."}}));

    for (path, accept) in [
        (missing, "application/xml"),
        (missing, "application/vnd.openstack.compute+xml"),
        (&format!("{missing}.xml") as &str, "application/json"),
    ] {
        let reply = api.get_with(ALICE, path, &[("Accept", accept)]).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), Some("application/xml; charset=UTF-8"));
        assert_eq!(
            reply.text,
            "<?xml version='1.0' encoding='UTF-8'?>\n<itemNotFound code=\"404\" xmlns=\"http://docs.openstack.org/compute/api/v1.1\"><message>Image not found.</message></itemNotFound>"
        );
    }
    let json_suffix = api.get_with(ALICE, "/v2.1/images.json", &[("Accept", "application/xml")]).await;
    assert_eq!(json_suffix.status, 200);
    assert_eq!(json_suffix.header("content-type"), Some("application/json"));
    assert_eq!(json_suffix.json(), json!({"images": []}));
    let wildcard = api.get_with(ALICE, "/v2.1/images", &[("Accept", "*/*")]).await;
    assert_eq!(wildcard.header("content-type"), Some("application/json"));

    let html = api.get_with(ALICE, "/v2.1/images", &[("Accept", "text/html")]).await;
    assert_eq!(html.status, 406);
    assert_eq!(html.json()["computeFault"]["code"], 406);
    assert_request_ids(&html);

    let unknown = api.get(ALICE, "/v2.1/servers").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}));
    let bad_method = api.send(api.req(Some(ALICE), Method::POST, "/v2.1/images")).await;
    assert_eq!(bad_method.status, 405);
    assert_eq!(bad_method.header("allow"), Some("GET"));
    assert_eq!(bad_method.json()["badMethod"]["code"], 405);

    let no_reader = Who { project: PA, roles: "" };
    let forbidden = api.get(no_reader, "/v2.1/images").await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["forbidden"]["code"], 403);
    assert_echo(&forbidden, "2.1");
}
