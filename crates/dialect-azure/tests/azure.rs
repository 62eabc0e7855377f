//! The Azure dialect over a real socket: the Entra ID token side, every ARM
//! route and api-version case, the LRO sequences the SDK follows, paging,
//! errors, authorization, zero-copy images and the views shared with other
//! dialects. Expectations come from reference/azure-arm-images.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use bytes::Bytes;
use common::*;
use futures::StreamExt;
use imagery_core::operation::OperationRecord;
use imagery_identity::{NewProject, UserUpdate};
use imagery_service::NewImage;
use reqwest::Method;
use serde_json::{json, Value};

const ALL_COMPUTE: [&str; 27] = [
    "2016-04-30-preview",
    "2017-03-30",
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
];

// ----- Entra ID -----

#[tokio::test(flavor = "multi_thread")]
async fn discovery_and_jwks() {
    let w = world().await;
    let r = w.get_url(&format!("{}/default/v2.0/.well-known/openid-configuration", w.base), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_endpoint"], format!("{}/default/oauth2/v2.0/token", w.base));
    assert_eq!(r.body["authorization_endpoint"], format!("{}/default/oauth2/v2.0/authorize", w.base));
    assert_eq!(r.body["issuer"], format!("{}/default/v2.0", w.base));
    assert_eq!(r.body["jwks_uri"], format!("{}/default/discovery/v2.0/keys", w.base));
    // The tenant may be named by the domain's name too.
    let r = w.get_url(&format!("{}/Default/v2.0/.well-known/openid-configuration", w.base), "").await;
    assert_eq!(r.status, 200);
    let r = w.get_url(&format!("{}/nosuchtenant/v2.0/.well-known/openid-configuration", w.base), "").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_request");
    assert_eq!(r.body["error_codes"][0], 90002);

    let r = w.get_url(&format!("{}/default/discovery/v2.0/keys", w.base), "").await;
    assert_eq!(r.status, 200);
    let keys = r.body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["kid"], shared_key().id);
    assert_eq!(keys[0]["e"], "AQAB");
    assert!(keys[0]["n"].as_str().expect("n").len() > 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint() {
    let w = world().await;
    let alice = &w.alice.key;
    let form = |secret: &str, scope: &str| {
        vec![
            ("client_id".to_string(), alice.id.clone()),
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_info".to_string(), "1".to_string()),
            ("client_secret".to_string(), secret.to_string()),
            ("scope".to_string(), scope.to_string()),
        ]
    };
    let send = |tenant: &'static str, pairs: Vec<(String, String)>| {
        let w = &w;
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            w.token_request(tenant, &refs).await
        }
    };
    let r = send("default", form(&alice.secret, "https://management.azure.com/.default")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    let expires_in = r.body["expires_in"].as_i64().expect("expires_in");
    assert!((3500..=3600).contains(&expires_in), "{expires_in}");
    assert_eq!(r.body["ext_expires_in"], r.body["expires_in"]);
    assert!(r.header("cache-control").is_some_and(|c| c.contains("no-store")));
    let token = r.body["access_token"].as_str().expect("token");
    let header = jwt_part(token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], shared_key().id);
    let claims = jwt_part(token, 1);
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["iss"], format!("{}/default/v2.0", w.base));
    assert_eq!(claims["tid"], "default");
    assert_eq!(claims["oid"], guid(&w.alice.user_id));
    assert_eq!(claims["sub"], guid(&w.alice.user_id));
    assert_eq!(claims["appid"], alice.id);
    assert!(claims["exp"].as_i64().expect("exp") > claims["iat"].as_i64().expect("iat"));
    // No bearer credential rides inside it: no claim is a token Keystone or
    // Glance would accept (a leaked ARM token is only an ARM token).
    assert!(claims.get("xms_imagery").is_none());
    let mut strings = vec![];
    let mut pending = vec![claims.clone()];
    while let Some(v) = pending.pop() {
        match v {
            Value::String(s) => strings.push(s),
            Value::Array(a) => pending.extend(a),
            Value::Object(o) => pending.extend(o.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    assert!(strings.iter().all(|s| w.identity.validate(s).is_err()), "a claim is an identity token");
    assert_eq!(claims["xms_imagery_principal"]["user_id"], w.alice.user_id.as_str());

    // Wrong secret, unknown client: the same 401 invalid_client (AADSTS7000215).
    for pairs in [form("wrong", "https://management.azure.com/.default"), {
        let mut f = form(&alice.secret, "https://management.azure.com/.default");
        f[0].1 = "NOSUCHCLIENTID".into();
        f
    }] {
        let r = send("default", pairs).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body["error"], "invalid_client");
        assert_eq!(r.body["error_codes"], json!([7000215]));
        assert!(r.body["error_description"].as_str().expect("description").starts_with("AADSTS7000215: Invalid client secret provided."));
        assert!(r.body["trace_id"].is_string() && r.body["correlation_id"].is_string() && r.body["timestamp"].is_string());
    }
    let r = send("default", form(&alice.secret, "https://management.azure.com/user_impersonation")).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_scope")));
    let r = send("default", form(&alice.secret, "https://graph.microsoft.com/.default")).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_resource")));
    let mut no_scope = form(&alice.secret, "");
    no_scope.pop();
    let r = send("default", no_scope).await;
    assert_eq!((r.status, r.body["error"].as_str(), r.body["error_codes"][0].as_i64()), (400, Some("invalid_request"), Some(900144)));
    let mut password = form(&alice.secret, "https://management.azure.com/.default");
    password[1].1 = "password".into();
    let r = send("default", password).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let mut no_secret = form(&alice.secret, "https://management.azure.com/.default");
    no_secret.remove(3);
    let r = send("default", no_secret).await;
    assert_eq!((r.status, r.body["error"].as_str(), r.body["error_codes"][0].as_i64()), (401, Some("invalid_client"), Some(7000216)));

    // A service principal only gets tokens from its own tenant.
    w.identity.create_domain(None, "acme", "", true).await.expect("domain");
    let r = send_tenant(&w, "acme", &form(&alice.secret, "https://management.azure.com/.default")).await;
    assert_eq!((r.status, r.body["error"].as_str(), r.body["error_codes"][0].as_i64()), (400, Some("unauthorized_client"), Some(700016)));

    // client_secret_basic, and the v1 endpoint with `resource`.
    let basic = STANDARD.encode(format!("{}:{}", alice.id, alice.secret));
    let r = w
        .client
        .post(format!("{}/default/oauth2/v2.0/token", w.base))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&resource=https%3A%2F%2Fmanagement.core.windows.net%2F",
        alice.id, alice.secret
    );
    let r = w
        .client
        .post(format!("{}/default/oauth2/token", w.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let v1: Value = r.json().await.expect("json");
    assert_eq!(v1["resource"], "https://management.core.windows.net/");
    assert!(v1["expires_on"].is_string());
    let v1_token = v1["access_token"].as_str().expect("token");
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(v1_token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn send_tenant(w: &World, tenant: &str, pairs: &[(String, String)]) -> Reply {
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    w.token_request(tenant, &refs).await
}

// ----- bearer validation -----

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_errors() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let path = w.image_path("imagery-default", "x", COMPUTE);
    let r = w.call(Method::GET, &path, None, None).await;
    assert_eq!((r.status, r.code()), (401, "AuthenticationFailed"));
    assert_eq!(r.body["error"]["message"], "Authentication failed. The 'Authorization' header is missing.");
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer authorization_uri=") && h.contains("invalid_token")));
    assert!(r.header("x-ms-request-id").is_some());
    let r = w.client.get(format!("{}{path}", w.base)).header("authorization", "Basic Zm9vOmJhcg==").send().await.expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    for bad in ["garbage", "a.b.c", &format!("{token}x")] {
        let r = w.call(Method::GET, &path, Some(bad), None).await;
        assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"), "{bad}");
    }
    // Tampering with the claims breaks the signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut claims = jwt_part(&token, 1);
    claims["appid"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let r = w.call(Method::GET, &path, Some(&parts.join(".")), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    // alg none is refused.
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), token.split('.').nth(1).expect("claims"));
    let r = w.call(Method::GET, &path, Some(&none), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    let key = shared_key();
    let expired = resign(&token, &key, |_, c| c["exp"] = json!(chrono::Utc::now().timestamp() - 60));
    let r = w.call(Method::GET, &path, Some(&expired), None).await;
    assert_eq!((r.status, r.code()), (401, "ExpiredAuthenticationToken"), "{}", r.body);
    let wrong_aud = resign(&token, &key, |_, c| c["aud"] = json!("https://graph.microsoft.com"));
    let r = w.call(Method::GET, &path, Some(&wrong_aud), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationTokenAudience"));
    let wrong_iss = resign(&token, &key, |_, c| c["iss"] = json!("https://evil.example/default/v2.0"));
    let r = w.call(Method::GET, &path, Some(&wrong_iss), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    // Real ARM audiences and the sts.windows.net issuer form are accepted.
    let arm_style = resign(&token, &key, |_, c| {
        c["aud"] = json!("https://management.core.windows.net/");
        c["iss"] = json!("https://sts.windows.net/default/");
    });
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&arm_style), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An unknown key id is refused after a reload.
    let unknown_kid = resign(&token, &key, |h, _| h["kid"] = json!("nosuchkey"));
    let r = w.call(Method::GET, &path, Some(&unknown_kid), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    // Identity revocations apply at once: disabling the user kills its tokens.
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&token), None).await;
    assert_eq!(r.status, 200);
    w.identity.update_user(&w.alice.user_id, UserUpdate { enabled: Some(false), ..UserUpdate::default() }).await.expect("disable");
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
}

#[tokio::test(flavor = "multi_thread")]
async fn common_headers() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let r = w
        .client
        .get(format!("{}{}", w.base, w.rg_path("imagery-default")))
        .bearer_auth(&token)
        .header("x-ms-correlation-request-id", "0f0e0d0c-0000-4000-8000-000000000001")
        .send()
        .await
        .expect("send");
    let h = r.headers();
    assert_eq!(h["x-ms-correlation-request-id"], "0f0e0d0c-0000-4000-8000-000000000001");
    assert!(h.contains_key("x-ms-request-id") && h.contains_key("x-ms-routing-request-id"));
    assert_eq!(h["x-ms-ratelimit-remaining-subscription-reads"], "11999");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-type"].to_str().expect("ct").starts_with("application/json"));
    let r = w.call(Method::PUT, &w.rg_path("hdr"), Some(&token), Some(json!({"location": "westus"}))).await;
    assert_eq!(r.header("x-ms-ratelimit-remaining-subscription-writes"), Some("1199"));
    let r = w.call(Method::DELETE, &w.rg_path("hdr"), Some(&token), None).await;
    assert_eq!(r.header("x-ms-ratelimit-remaining-subscription-deletes"), Some("14999"));
    // Unknown routes still answer with ARM's envelope.
    let r = w.call(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Network/x?api-version=1", w.sub), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (404, "InvalidResourceType"));
    let r = w.call(Method::POST, &w.rg_path("x"), Some(&token), None).await;
    assert_eq!(r.status, 405);
}

// ----- api-versions -----

#[tokio::test(flavor = "multi_thread")]
async fn api_versions() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let list = |v: Option<&str>| {
        let base = format!("/subscriptions/{}/providers/Microsoft.Compute/images", w.sub);
        match v {
            Some(v) => format!("{base}?api-version={v}"),
            None => base,
        }
    };
    let r = w.call(Method::GET, &list(None), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (400, "MissingApiVersionParameter"));
    assert_eq!(r.body["error"]["message"], "The api-version query parameter (?api-version=) is required for all requests.");
    let r = w.call(Method::GET, &list(Some("2015-06-15")), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (400, "InvalidApiVersionParameter"));
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.starts_with("The api-version '2015-06-15' is invalid. The supported versions are '2016-04-30-preview,"), "{message}");
    assert!(message.contains("2026-04-01"));
    // Resource groups: the Microsoft.Resources family, generously.
    for v in ["2025-04-01", "2025-03-01", "2019-10-01", "2016-09-01", "2025-07-01"] {
        let r = w.call(Method::GET, &format!("/subscriptions/{}/resourcegroups?api-version={v}", w.sub), Some(&token), None).await;
        assert_eq!(r.status, 200, "{v}: {}", r.body);
    }
    for v in ["garbage", "2026-04-01x", "2010-01-01"] {
        let r = w.call(Method::GET, &format!("/subscriptions/{}/resourcegroups?api-version={v}", w.sub), Some(&token), None).await;
        assert_eq!((r.status, r.code()), (400, "InvalidApiVersionParameter"), "{v}");
    }
    let r = w.call(Method::GET, &format!("/subscriptions/{}/resourcegroups", w.sub), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (400, "MissingApiVersionParameter"));

    // Every Compute version serves images, each with the fields it has.
    w.create_group(&token, "rg").await;
    let mut body = blob_image("https://acct.blob.core.windows.net/vhds/os.vhd");
    body["properties"]["storageProfile"]["osDisk"]["storageAccountType"] = json!("Premium_LRS");
    w.create_image(&token, "rg", "img", body).await;
    for v in ALL_COMPUTE {
        let r = w.call(Method::GET, &w.image_path("rg", "img", v), Some(&token), None).await;
        assert_eq!(r.status, 200, "{v}: {}", r.body);
        let p = &r.body["properties"];
        assert_eq!(p["provisioningState"], "Succeeded");
        assert_eq!(p.get("hyperVGeneration").is_some(), v >= "2019-03-01", "{v}");
        assert_eq!(p["storageProfile"]["osDisk"].get("storageAccountType").is_some(), v >= "2017-03-30", "{v}");
        assert_eq!(p["storageProfile"].get("zoneResilient").is_some(), v >= "2017-12-01", "{v}");
        assert_eq!(r.body.get("systemData").is_some(), v >= "2024-07-01", "{v}");
        let r = w
            .call(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Compute/images?api-version={v}", w.sub), Some(&token), None)
            .await;
        assert_eq!(r.status, 200, "{v}");
    }
    // No PATCH before 2017-12-01: the error names the versions that have it.
    let r = w.call(Method::PATCH, &w.image_path("rg", "img", "2017-03-30"), Some(&token), Some(json!({"tags": {}}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidApiVersionParameter"));
    assert!(!r.body["error"]["message"].as_str().expect("message").contains("2017-03-30,"));
    // 2016-04-30-preview: the OS disk is required; PUT answers like the seed.
    let preview = "2016-04-30-preview";
    let r = w
        .call(
            Method::PUT,
            &w.image_path("rg", "vm-only", preview),
            Some(&token),
            Some(json!({"location": "westus", "properties": {"sourceVirtualMachine": {"id": "/subscriptions/x/vm"}}})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    let r = w
        .call(
            Method::PUT,
            &w.image_path("rg", "vm-only", "2017-12-01"),
            Some(&token),
            Some(json!({"location": "westus", "properties": {"sourceVirtualMachine": {"id": "/subscriptions/x/vm"}}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = w
        .call(
            Method::PUT,
            &w.image_path("rg", "legacy", preview),
            Some(&token),
            Some(json!({"location": "West US", "properties": {"storageProfile": {"osDisk": {"osType": "Windows", "osState": "Generalized",
                "blobUri": "https://mystorageaccount.blob.core.windows.net/osimages/osimage.vhd"}}}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["location"], "westus");
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert_eq!(r.body["properties"]["storageProfile"]["dataDisks"], json!([]));
    assert_eq!(r.body["properties"]["storageProfile"]["osDisk"]["caching"], "ReadWrite");
    assert!(r.body["properties"]["storageProfile"]["osDisk"].get("storageAccountType").is_none());
    assert!(r.header("azure-asyncoperation").is_some_and(|u| u.contains("api-version=2016-04-30-preview")));
}

// ----- resource groups -----

#[tokio::test(flavor = "multi_thread")]
async fn resource_groups() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let r = w.call(Method::PUT, &w.rg_path("myRG"), Some(&token), Some(json!({"location": "West US", "tags": {"a": "b"}}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"id": format!("/subscriptions/{}/resourceGroups/myRG", w.sub), "name": "myRG", "type": "Microsoft.Resources/resourceGroups",
               "location": "westus", "tags": {"a": "b"}, "properties": {"provisioningState": "Succeeded"}})
    );
    let r = w.call(Method::PUT, &w.rg_path("MYRG"), Some(&token), Some(json!({"location": "westus", "tags": {"c": "d"}}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "myRG");
    assert_eq!(r.body["tags"], json!({"c": "d"}));
    let r = w.call(Method::PUT, &w.rg_path("myRG"), Some(&token), Some(json!({"location": "eastus"}))).await;
    assert_eq!((r.status, r.code()), (409, "InvalidResourceGroupLocation"));
    let r = w.call(Method::PUT, &w.rg_path("norg"), Some(&token), Some(json!({"tags": {}}))).await;
    assert_eq!((r.status, r.code()), (400, "LocationRequired"));
    let r = w.call(Method::PUT, &w.rg_path("bad."), Some(&token), Some(json!({"location": "westus"}))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidResourceGroup"));
    let r = w.call(Method::PUT, &w.rg_path("x"), Some(&token), Some(json!("not an object"))).await;
    assert_eq!((r.status, r.code()), (400, "InvalidRequestContent"));
    // GET with compute's casing, HEAD, PATCH.
    let r = w.call(Method::GET, &format!("/subscriptions/{}/resourceGroups/myrg?api-version={RESOURCES}", w.sub), Some(&token), None).await;
    assert_eq!((r.status, r.body["name"].as_str()), (200, Some("myRG")));
    let r = w.call(Method::HEAD, &w.rg_path("myRG"), Some(&token), None).await;
    assert_eq!(r.status, 204);
    let r = w.call(Method::HEAD, &w.rg_path("nope"), Some(&token), None).await;
    assert_eq!(r.status, 404);
    let r = w.call(Method::GET, &w.rg_path("nope"), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (404, "ResourceGroupNotFound"));
    assert_eq!(r.body["error"]["message"], "Resource group 'nope' could not be found.");
    let r = w.call(Method::PATCH, &w.rg_path("myRG"), Some(&token), Some(json!({"tags": {"env": "prod"}}))).await;
    assert_eq!((r.status, &r.body["tags"]), (200, &json!({"env": "prod"})));
    // The default group always exists and cannot be deleted.
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&token), None).await;
    assert_eq!((r.status, r.body["location"].as_str()), (200, Some("westus")));
    let r = w.call(Method::DELETE, &w.rg_path("imagery-default"), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (409, "Conflict"));
    // List with paging.
    for rg in ["b-rg", "c-rg"] {
        w.create_group(&token, rg).await;
    }
    let r =
        w.call(Method::GET, &format!("/subscriptions/{}/resourcegroups?api-version={RESOURCES}&$top=2", w.sub), Some(&token), None).await;
    assert_eq!(r.status, 200);
    let mut names: Vec<String> =
        r.body["value"].as_array().expect("value").iter().map(|g| g["name"].as_str().unwrap_or("").to_string()).collect();
    let mut next = r.body["nextLink"].as_str().map(str::to_string);
    while let Some(url) = next {
        assert!(
            url.starts_with(&w.base) && url.contains("api-version=") && (url.contains("%24skiptoken=") || url.contains("$skiptoken=")),
            "{url}"
        );
        let r = w.get_url(&url, &token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        names.extend(r.body["value"].as_array().expect("value").iter().map(|g| g["name"].as_str().unwrap_or("").to_string()));
        next = r.body["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(names, ["imagery-default", "b-rg", "c-rg", "myRG"]);
    // Deleting a missing group is 404; deleting one with images is an LRO deleting them.
    let r = w.call(Method::DELETE, &w.rg_path("nope"), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (404, "ResourceGroupNotFound"));
    let image = w.create_image(&token, "myRG", "img1", blob_image("https://acct.blob.core.windows.net/vhds/1.vhd")).await;
    w.create_image(&token, "myRG", "img2", blob_image("https://acct.blob.core.windows.net/vhds/2.vhd")).await;
    let ids: Vec<uuid::Uuid> = w
        .service
        .list_images(&w.caller(&w.alice), imagery_service::ImageListRequest::default())
        .await
        .expect("list")
        .images
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(image["name"], "img1");
    let r = w.call(Method::DELETE, &w.rg_path("myRG"), Some(&token), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    let location = r.header("location").expect("Location").to_string();
    assert!(location.starts_with(&format!("{}/subscriptions/{}/operationresults/", w.base, w.sub)) && location.contains("api-version="));
    let mut done = false;
    for _ in 0..400 {
        let r = w.get_url(&location, &token).await;
        match r.status {
            202 => tokio::time::sleep(Duration::from_millis(50)).await,
            200 => {
                done = true;
                break;
            }
            other => panic!("unexpected poll status {other}: {}", r.body),
        }
    }
    assert!(done);
    let r = w.call(Method::GET, &w.rg_path("myRG"), Some(&token), None).await;
    assert_eq!(r.status, 404);
    for id in ids {
        assert!(w.service.show_image(&w.caller(&w.alice), id).await.is_err());
    }
    let r = w.call(Method::GET, &w.image_path("myRG", "img1", COMPUTE), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (404, "ResourceGroupNotFound"));
}

// ----- images -----

#[tokio::test(flavor = "multi_thread")]
async fn image_lifecycle_with_lros() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let blob = "https://acct.blob.core.windows.net/vhds/os.vhd";
    let r = w.call(Method::PUT, &w.image_path("noRG", "myImage", COMPUTE), Some(&token), Some(blob_image(blob))).await;
    assert_eq!((r.status, r.code()), (404, "ResourceGroupNotFound"));
    assert_eq!(r.body["error"]["message"], "Resource group 'noRG' could not be found.");
    w.create_group(&token, "myRG").await;

    // PUT → 201 Creating + Azure-AsyncOperation → poll → Succeeded → GET.
    let r = w.call(Method::PUT, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), Some(blob_image(blob))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    let async_url = r.header("azure-asyncoperation").expect("Azure-AsyncOperation").to_string();
    assert!(async_url.starts_with(&format!("{}/subscriptions/{}/providers/Microsoft.Compute/locations/westus/operations/", w.base, w.sub)));
    assert!(async_url.ends_with(&format!("api-version={COMPUTE}")));
    let id = format!("/subscriptions/{}/resourceGroups/myRG/providers/Microsoft.Compute/images/myImage", w.sub);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["name"], "myImage");
    assert_eq!(r.body["type"], "Microsoft.Compute/images");
    assert_eq!(r.body["location"], "westus");
    assert_eq!(r.body["tags"], json!({"env": "test"}));
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    let status = w.poll(&async_url, &token).await;
    assert_eq!(status["status"], "Succeeded");
    assert!(status["name"].is_string() && status["startTime"].is_string() && status["endTime"].is_string());
    let r = w.call(Method::GET, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 200);
    let os_disk = &r.body["properties"]["storageProfile"]["osDisk"];
    assert_eq!(
        (os_disk["osType"].as_str(), os_disk["osState"].as_str(), os_disk["blobUri"].as_str(), os_disk["caching"].as_str()),
        (Some("Linux"), Some("Generalized"), Some(blob), Some("ReadWrite"))
    );
    assert_eq!(os_disk["storageAccountType"], "Standard_LRS");
    assert_eq!(r.body["properties"]["storageProfile"]["dataDisks"], json!([]));
    assert_eq!(r.body["properties"]["storageProfile"]["zoneResilient"], false);
    assert_eq!(r.body["properties"]["hyperVGeneration"], "V2");
    assert_eq!(r.body["properties"]["provisioningState"], "Succeeded");
    // Names are case-insensitive and case-preserving.
    let r = w.call(Method::GET, &w.image_path("MYRG", "MYIMAGE", COMPUTE), Some(&token), None).await;
    assert_eq!((r.status, r.body["id"].as_str()), (200, Some(id.as_str())));

    // The same image through the Glance view.
    let listed = w.service.list_images(&w.caller(&w.alice), imagery_service::ImageListRequest::default()).await.expect("list").images;
    assert_eq!(listed.len(), 1);
    let glance = &listed[0];
    assert_eq!(glance.name.as_deref(), Some("myImage"));
    assert_eq!(glance.properties.get("os_type").map(String::as_str), Some("linux"));
    assert_eq!(glance.reserved("azure.blobUri"), Some(blob));
    assert_eq!(glance.status, imagery_core::ImageStatus::Queued);
    assert_eq!(glance.owner.as_deref(), Some(w.demo.id.as_str()));

    // Re-PUT → 200 Updating; immutable location and source → 409.
    let mut body = blob_image(blob);
    body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] = json!(30);
    let r = w.call(Method::PUT, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), Some(body)).await;
    assert_eq!((r.status, r.body["properties"]["provisioningState"].as_str()), (200, Some("Updating")));
    assert_eq!(w.poll(r.header("azure-asyncoperation").expect("header"), &token).await["status"], "Succeeded");
    let r = w.call(Method::GET, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!(r.body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"], 30);
    let glance = w.service.show_image(&w.caller(&w.alice), listed[0].id).await.expect("show");
    assert_eq!(glance.min_disk, 30);
    let mut moved = blob_image(blob);
    moved["location"] = json!("eastus");
    let r = w.call(Method::PUT, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), Some(moved)).await;
    assert_eq!((r.status, r.code()), (409, "InvalidResourceLocation"));
    let r = w.call(Method::PUT, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), Some(blob_image("https://acct/other.vhd"))).await;
    assert_eq!((r.status, r.code(), r.body["error"]["target"].as_str()), (409, "PropertyChangeNotAllowed", Some("osDisk.blobUri")));

    // PATCH tags → 200 + Azure-AsyncOperation → Succeeded.
    let r = w.call(Method::PATCH, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), Some(json!({"tags": {"env": "prod"}}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["tags"], json!({"env": "prod"}));
    assert_eq!(w.poll(r.header("azure-asyncoperation").expect("header"), &token).await["status"], "Succeeded");
    let r = w.call(Method::GET, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!((r.body["tags"].clone(), r.body["properties"]["hyperVGeneration"].as_str()), (json!({"env": "prod"}), Some("V2")));
    let r = w.call(Method::PATCH, &w.image_path("myRG", "nothere", COMPUTE), Some(&token), Some(json!({"tags": {}}))).await;
    assert_eq!((r.status, r.code()), (404, "ResourceNotFound"));

    // DELETE → 202 with both headers → poll → gone; again → 204.
    let r = w.call(Method::DELETE, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body, Value::Null);
    assert_eq!(r.header("retry-after"), Some("1"));
    let location = r.header("location").expect("Location").to_string();
    assert!(location.contains("monitor=true") && location.contains("api-version="));
    assert_eq!(w.poll(r.header("azure-asyncoperation").expect("header"), &token).await["status"], "Succeeded");
    let r = w.get_url(&location, &token).await;
    assert_eq!(r.status, 200);
    let r = w.call(Method::GET, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!((r.status, r.code()), (404, "ResourceNotFound"));
    assert_eq!(
        r.body["error"]["message"],
        "The Resource 'Microsoft.Compute/images/myImage' under resource group 'myRG' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
    let r = w.call(Method::DELETE, &w.image_path("myRG", "myImage", COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 204);
    assert!(w.service.show_image(&w.caller(&w.alice), listed[0].id).await.is_err());
    // The name is free again.
    w.create_image(&token, "myRG", "myImage", blob_image(blob)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn image_validation() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let put = |name: &str, body: &str| {
        let w = &w;
        let (token, path) = (token.clone(), w.image_path("rg", name, COMPUTE));
        let body = body.to_string();
        async move {
            let r = w
                .client
                .put(format!("{}{path}", w.base))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body["error"]["code"].as_str().unwrap_or("").to_string(), body["error"]["target"].as_str().map(str::to_string))
        }
    };
    assert_eq!(put("a", "{not json").await, (400, "InvalidRequestContent".into(), None));
    assert_eq!(put("a", "").await, (400, "InvalidRequestContent".into(), None));
    assert_eq!(put("-bad", &blob_image("https://a/b.vhd").to_string()).await.0, 400);
    let mut missing_location = blob_image("https://a/b.vhd");
    missing_location.as_object_mut().expect("object").remove("location");
    assert_eq!(put("a", &missing_location.to_string()).await, (400, "LocationRequired".into(), None));
    let mut no_os_type = blob_image("https://a/b.vhd");
    no_os_type["properties"]["storageProfile"]["osDisk"].as_object_mut().expect("object").remove("osType");
    assert_eq!(put("a", &no_os_type.to_string()).await, (400, "InvalidParameter".into(), Some("osDisk.osType".into())));
    let mut bad_state = blob_image("https://a/b.vhd");
    bad_state["properties"]["storageProfile"]["osDisk"]["osState"] = json!("Frozen");
    assert_eq!(put("a", &bad_state.to_string()).await, (400, "InvalidParameter".into(), Some("osDisk.osState".into())));
    let mut luns = blob_image("https://a/b.vhd");
    luns["properties"]["storageProfile"]["dataDisks"] =
        json!([{"lun": 0, "blobUri": "https://a/d0"}, {"lun": 0, "blobUri": "https://a/d1"}]);
    assert_eq!(put("a", &luns.to_string()).await, (400, "InvalidParameter".into(), Some("lun".into())));
    let mut size = blob_image("https://a/b.vhd");
    size["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] = json!("big");
    assert_eq!(put("a", &size.to_string()).await.1, "InvalidRequestContent");
    let no_source =
        json!({"location": "westus", "properties": {"storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized"}}}});
    assert_eq!(put("a", &no_source.to_string()).await, (400, "InvalidParameter".into(), Some("osDisk".into())));
    // Data disks render with their defaults.
    let mut data = blob_image("https://a/b.vhd");
    data["properties"]["storageProfile"]["dataDisks"] = json!([{"lun": 1, "blobUri": "https://a/d1", "diskSizeGB": 10}]);
    let image = w.create_image(&token, "rg", "data", data).await;
    assert_eq!(
        image["properties"]["storageProfile"]["dataDisks"],
        json!([{"lun": 1, "blobUri": "https://a/d1", "diskSizeGB": 10, "caching": "None", "storageAccountType": "Standard_LRS"}])
    );
    // Nothing was left behind by the refused requests.
    let listed = w.service.list_images(&w.caller(&w.alice), imagery_service::ImageListRequest::default()).await.expect("list").images;
    assert_eq!(listed.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_next_links() {
    let w = world_with(|s| s.page_size = 2).await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "pg").await;
    w.create_group(&token, "zz").await;
    for i in 0..5 {
        w.create_image(&token, "pg", &format!("img{i}"), blob_image(&format!("https://a/{i}.vhd"))).await;
    }
    w.create_image(&token, "zz", "elsewhere", blob_image("https://a/z.vhd")).await;
    let collect = |first: String| {
        let w = &w;
        let token = token.clone();
        async move {
            let mut names = Vec::new();
            let mut pages = 0;
            let mut next = Some(first);
            while let Some(url) = next {
                let r = w.get_url(&url, &token).await;
                assert_eq!(r.status, 200, "{}", r.body);
                pages += 1;
                names.extend(r.body["value"].as_array().expect("value").iter().map(|i| i["name"].as_str().unwrap_or("").to_string()));
                next = r.body["nextLink"].as_str().map(str::to_string);
                if let Some(n) = &next {
                    assert!(n.starts_with(&w.base) && n.contains(&format!("api-version={COMPUTE}")) && n.contains("skiptoken="), "{n}");
                }
            }
            (names, pages)
        }
    };
    let (names, pages) =
        collect(format!("{}/subscriptions/{}/resourceGroups/pg/providers/Microsoft.Compute/images?api-version={COMPUTE}", w.base, w.sub))
            .await;
    assert_eq!(names, ["img0", "img1", "img2", "img3", "img4"]);
    assert_eq!(pages, 3);
    let (mut names, _) =
        collect(format!("{}/subscriptions/{}/providers/Microsoft.Compute/images?api-version={COMPUTE}", w.base, w.sub)).await;
    names.sort();
    assert_eq!(names, ["elsewhere", "img0", "img1", "img2", "img3", "img4"]);
    let r = w
        .call(
            Method::GET,
            &format!("/subscriptions/{}/providers/Microsoft.Compute/images?api-version={COMPUTE}&$skiptoken=%%%", w.sub),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    // $expand is accepted and ignored.
    let r = w.call(Method::GET, &format!("{}&$expand=anything", w.image_path("pg", "img0", COMPUTE)), Some(&token), None).await;
    assert_eq!(r.status, 200);
}

async fn glance_image_with_data(w: &World, data: &[u8]) -> imagery_core::Image {
    let caller = w.caller(&w.alice);
    let image = w
        .service
        .create_image(
            &caller,
            NewImage {
                name: Some("base".into()),
                container_format: Some("bare".into()),
                disk_format: Some("raw".into()),
                ..NewImage::default()
            },
        )
        .await
        .expect("create");
    let bytes = Bytes::copy_from_slice(data);
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) }).boxed();
    w.service.upload(&caller, image.id, body, Some(data.len() as u64)).await.expect("upload")
}

/// An active image holding `bytes` as an imagery older than the format-safety fix
/// stored them (no inspection recorded), in an `ovf` container.
async fn legacy_image(w: &World, bytes: &[u8]) -> uuid::Uuid {
    use sha2::Digest;
    let key = hex::encode(sha2::Sha512::digest(bytes));
    let mut writer = w.blobs.begin_write().await.expect("write");
    writer.write(Bytes::copy_from_slice(bytes)).await.expect("write");
    writer.commit(&key).await.expect("commit");
    let mut image = imagery_core::Image::new(uuid::Uuid::new_v4(), Some(w.demo.id.clone()), imagery_core::time::now());
    (image.container_format, image.disk_format) = (Some("ovf".into()), Some("qcow2".into()));
    image.status = imagery_core::ImageStatus::Active;
    (image.blob_key, image.size) = (Some(key.clone()), Some(bytes.len() as i64));
    (image.checksum, image.os_hash_algo, image.os_hash_value) = (Some("0".repeat(32)), Some("sha512".into()), Some(key));
    w.catalog.insert_image(&image).await.expect("insert");
    image.id
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_is_not_made_from_unsafe_bytes() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    for sample in imagery_test_support::samples::unsafe_samples() {
        let source = legacy_image(&w, &sample.bytes).await;
        let url = format!("https://glance.example:9292/v2/images/{source}/file");
        let r = w.call(Method::PUT, &w.image_path("rg", "from-unsafe", COMPUTE), Some(&token), Some(blob_image(&url))).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["target"].as_str()),
            (400, "InvalidParameter", Some("osDisk.blobUri")),
            "{}",
            sample.name
        );
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Image failed safety checks"), "{}: {message}", sample.name);
        let r = w.call(Method::GET, &w.image_path("rg", "from-unsafe", COMPUTE), Some(&token), None).await;
        assert_eq!(r.status, 404, "nothing was created");
    }
    let clean = imagery_test_support::samples::clean_qcow2();
    let source = legacy_image(&w, &clean.bytes).await;
    let url = format!("https://glance.example:9292/v2/images/{source}/file");
    let image = w.create_image(&token, "rg", "from-clean", blob_image(&url)).await;
    assert_eq!(image["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn images_from_other_dialects_and_zero_copy() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let base = glance_image_with_data(&w, &data).await;
    let name = format!("image-{}", base.id);

    // A Glance image shows in the default group under a deterministic name.
    let r = w
        .call(
            Method::GET,
            &format!("/subscriptions/{}/resourceGroups/imagery-default/providers/Microsoft.Compute/images?api-version={COMPUTE}", w.sub),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["value"][0]["name"], name.as_str());
    let r = w.call(Method::GET, &w.image_path("imagery-default", &name, COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], format!("/subscriptions/{}/resourceGroups/imagery-default/providers/Microsoft.Compute/images/{name}", w.sub));
    assert_eq!(r.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(r.body["properties"]["storageProfile"]["osDisk"]["osType"], "Linux");
    assert_eq!(r.body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"], 1);
    let r = w.call(Method::GET, &w.image_path("other-rg", &name, COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 404);

    // PUT from its Glance file URL: a new image sharing the same bytes.
    w.create_group(&token, "rg").await;
    let url = format!("https://glance.example:9292/v2/images/{}/file", base.id);
    let image = w.create_image(&token, "rg", "copy", blob_image(&url)).await;
    assert_eq!(image["properties"]["provisioningState"], "Succeeded");
    assert_eq!(image["properties"]["storageProfile"]["osDisk"]["blobUri"], url.as_str());
    let caller = w.caller(&w.alice);
    let listed = w.service.list_images(&caller, imagery_service::ImageListRequest::default()).await.expect("list").images;
    let copy = listed.iter().find(|i| i.name.as_deref() == Some("copy")).expect("copy in Glance");
    assert_ne!(copy.id, base.id);
    assert_eq!(copy.status, imagery_core::ImageStatus::Active);
    assert_eq!(
        (&copy.checksum, &copy.os_hash_value, &copy.blob_key, copy.size),
        (&base.checksum, &base.os_hash_value, &base.blob_key, base.size)
    );
    assert_eq!(copy.reserved("azure.sourceImage"), Some(base.id.to_string().as_str()));
    // From an ARM image id (as a managed disk source) too.
    let arm_id = image["id"].as_str().expect("id");
    let body = json!({"location": "westus", "properties": {"storageProfile": {"osDisk": {"osType": "Windows", "osState": "Generalized", "managedDisk": {"id": arm_id}}}}});
    w.create_image(&token, "rg", "copy2", body).await;
    let listed = w.service.list_images(&caller, imagery_service::ImageListRequest::default()).await.expect("list").images;
    let copy2 = listed.iter().find(|i| i.name.as_deref() == Some("copy2")).expect("copy2");
    assert_eq!((&copy2.blob_key, &copy2.checksum), (&base.blob_key, &base.checksum));
    assert_eq!(copy2.properties.get("os_type").map(String::as_str), Some("windows"));
    // The download through the service gives the same bytes.
    let download = w.service.download(&caller, copy2.id, None).await.expect("download");
    let mut got = Vec::new();
    let mut body = download.body.expect("body");
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(got, data);
    // Sources naming missing or empty imagery images are refused.
    let missing = format!("https://h/v2/images/{}/file", uuid::Uuid::new_v4());
    let r = w.call(Method::PUT, &w.image_path("rg", "bad", COMPUTE), Some(&token), Some(blob_image(&missing))).await;
    assert_eq!((r.status, r.code(), r.body["error"]["target"].as_str()), (400, "InvalidParameter", Some("osDisk.blobUri")));
    let empty = w.service.create_image(&caller, NewImage { name: Some("empty".into()), ..NewImage::default() }).await.expect("empty");
    let r = w
        .call(
            Method::PUT,
            &w.image_path("rg", "bad", COMPUTE),
            Some(&token),
            Some(blob_image(&format!("https://h/v2/images/{}/file", empty.id))),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    let r = w
        .call(
            Method::PUT,
            &w.image_path("rg", "bad", COMPUTE),
            Some(&token),
            Some(blob_image(&format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/images/nope", w.sub))),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    // Bob cannot copy alice's private image.
    let bob_token = w.token(&w.bob).await;
    let r = w
        .call(
            Method::PUT,
            &format!("/subscriptions/{}/resourcegroups/bobrg?api-version={RESOURCES}", w.other_sub),
            Some(&bob_token),
            Some(json!({"location": "westus"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = w
        .call(
            Method::PUT,
            &format!("/subscriptions/{}/resourceGroups/bobrg/providers/Microsoft.Compute/images/steal?api-version={COMPUTE}", w.other_sub),
            Some(&bob_token),
            Some(blob_image(&url)),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));

    // The subscription list shows both kinds; a PATCH on the foreign image keeps it in the default group.
    let r = w
        .call(
            Method::GET,
            &format!("/subscriptions/{}/providers/Microsoft.Compute/images?api-version={COMPUTE}", w.sub),
            Some(&token),
            None,
        )
        .await;
    let mut names: Vec<&str> = r.body["value"].as_array().expect("value").iter().filter_map(|i| i["name"].as_str()).collect();
    names.sort();
    let mut expected = vec!["copy", "copy2", name.as_str(), "empty"];
    expected.sort();
    let empty_name = format!("image-{}", empty.id);
    let expected: Vec<&str> = expected.into_iter().map(|n| if n == "empty" { empty_name.as_str() } else { n }).collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(names, expected);
    let r = w
        .call(Method::PATCH, &w.image_path("imagery-default", &name, COMPUTE), Some(&token), Some(json!({"tags": {"from": "azure"}})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], name.as_str());
    let r = w.call(Method::GET, &w.image_path("imagery-default", &name, COMPUTE), Some(&token), None).await;
    assert_eq!(r.body["tags"], json!({"from": "azure"}));
    // Deleting it through ARM deletes the Glance image.
    let r = w.call(Method::DELETE, &w.image_path("imagery-default", &name, COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 202);
    assert!(w.service.show_image(&caller, base.id).await.is_err());
    // The copies keep their bytes.
    assert!(w.service.download(&caller, copy.id, None).await.is_ok());
}

// ----- authorization -----

#[tokio::test(flavor = "multi_thread")]
async fn authorization() {
    let w = world().await;
    let alice = w.token(&w.alice).await;
    let rita = w.token(&w.rita).await;
    let bob = w.token(&w.bob).await;
    w.create_group(&alice, "rg").await;
    w.create_image(&alice, "rg", "img", blob_image("https://a/b.vhd")).await;

    // A reader reads but cannot write.
    let r = w.call(Method::GET, &w.image_path("rg", "img", COMPUTE), Some(&rita), None).await;
    assert_eq!(r.status, 200);
    let r = w.call(Method::PUT, &w.image_path("rg", "new", COMPUTE), Some(&rita), Some(blob_image("https://a/c.vhd"))).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.contains(&format!("The client '{}' with object id '{}'", w.rita.key.id, guid(&w.rita.user_id))), "{message}");
    assert!(message.contains("'Microsoft.Compute/images/write'"), "{message}");
    let r = w.call(Method::PATCH, &w.image_path("rg", "img", COMPUTE), Some(&rita), Some(json!({"tags": {}}))).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));
    let r = w.call(Method::DELETE, &w.image_path("rg", "img", COMPUTE), Some(&rita), None).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));
    assert!(r.body["error"]["message"].as_str().expect("message").contains("Microsoft.Compute/images/delete"));
    let r = w.call(Method::PUT, &w.rg_path("rg2"), Some(&rita), Some(json!({"location": "westus"}))).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));
    let r = w.call(Method::DELETE, &w.rg_path("rg"), Some(&rita), None).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));

    // Another project's principal has no access to this subscription.
    let r = w.call(Method::GET, &w.image_path("rg", "img", COMPUTE), Some(&bob), None).await;
    assert_eq!((r.status, r.code()), (403, "AuthorizationFailed"));
    assert!(r.body["error"]["message"].as_str().expect("message").contains(&format!("over scope '/subscriptions/{}'", w.sub)));
    let r = w
        .call(
            Method::GET,
            &format!("/subscriptions/{}/providers/Microsoft.Compute/images?api-version={COMPUTE}", w.other_sub),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!((r.status, r.body["value"].as_array().map(Vec::len)), (200, Some(0)));
    // Unknown and malformed subscriptions.
    let r = w
        .call(Method::GET, &format!("/subscriptions/{}/resourcegroups?api-version={RESOURCES}", guid(&"ab".repeat(16))), Some(&alice), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "SubscriptionNotFound"));
    let r = w.call(Method::GET, &format!("/subscriptions/not-a-guid/resourcegroups?api-version={RESOURCES}"), Some(&alice), None).await;
    assert_eq!((r.status, r.code()), (400, "InvalidSubscriptionId"));
    // Subscriptions as ARM lists them; the subscription id is the project id as a GUID.
    let r = w.call(Method::GET, "/subscriptions?api-version=2022-12-01", Some(&alice), None).await;
    assert_eq!(r.status, 200);
    let subs: Vec<&str> = r.body["value"].as_array().expect("value").iter().filter_map(|s| s["subscriptionId"].as_str()).collect();
    assert_eq!(subs, [w.sub.as_str()]);
    assert_eq!(r.body["value"][0]["displayName"], "demo");
    assert_eq!(r.body["value"][0]["tenantId"], "default");
    let r = w.call(Method::GET, &format!("/subscriptions/{}?api-version=2022-12-01", w.sub), Some(&alice), None).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("Enabled")));
    let r = w.call(Method::GET, "/tenants?api-version=2022-12-01", Some(&alice), None).await;
    assert_eq!(r.body["value"][0]["tenantId"], "default");
    // A user with a role on two projects reaches both subscriptions with one token.
    let member = w.identity.find_role(&imagery_identity::RoleRef::Name("member".into())).await.expect("lookup").expect("role");
    w.identity.grant_role(&w.bob.user_id, &w.demo.id, &member.id).await.expect("grant");
    let r = w.call(Method::GET, &w.image_path("rg", "img", COMPUTE), Some(&bob), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A principal of another tenant: the token's tenant does not own the subscription.
    let acme = w.identity.create_domain(None, "acme", "", true).await.expect("domain");
    let acme_project = w
        .identity
        .create_project(NewProject { name: "acme-proj".into(), domain_id: acme.id.clone(), description: String::new(), enabled: true })
        .await
        .expect("project");
    let carol = principal(&w.identity, "carol", &acme_project, "member").await;
    let r = w
        .token_request(
            &acme.id,
            &[
                ("client_id", &carol.key.id),
                ("client_secret", &carol.key.secret),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let carol_token = r.body["access_token"].as_str().expect("token").to_string();
    assert_eq!(jwt_part(&carol_token, 1)["tid"], guid(&acme.id));
    let r = w.call(Method::GET, &w.image_path("rg", "img", COMPUTE), Some(&carol_token), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationTokenTenant"));
    // Operations are visible only inside their own subscription.
    let r = w.call(Method::PUT, &w.image_path("rg", "img2", COMPUTE), Some(&alice), Some(blob_image("https://a/d.vhd"))).await;
    let op_url = r.header("azure-asyncoperation").expect("header").to_string();
    let op_id = op_url.split("/operations/").nth(1).and_then(|s| s.split('?').next()).expect("op id");
    let foreign =
        format!("/subscriptions/{}/providers/Microsoft.Compute/locations/westus/operations/{op_id}?api-version={COMPUTE}", w.other_sub);
    let r = w.call(Method::GET, &foreign, Some(&bob), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

// ----- keys and restarts -----

#[tokio::test(flavor = "multi_thread")]
async fn signing_keys_rotate_without_restart() {
    let w = world_tuned(|c| c.refresh_interval = Duration::from_millis(100), |_| {}).await;
    let old_token = w.token(&w.alice).await;
    assert_eq!(jwt_part(&old_token, 0)["kid"], shared_key().id);
    let new_id = w.identity.rotate_rsa_signing_key().await.expect("rotate");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let new_token = w.token(&w.alice).await;
    assert_eq!(jwt_part(&new_token, 0)["kid"], new_id.as_str());
    let r = w.get_url(&format!("{}/default/discovery/v2.0/keys", w.base), "").await;
    let kids: Vec<&str> = r.body["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, [new_id.as_str(), shared_key().id.as_str()]);
    for token in [&old_token, &new_token] {
        let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Retiring the old key (as a later rotation does) ends its tokens.
    w.catalog.delete_signing_key(&shared_key().id).await.expect("retire");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&old_token), None).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    let r = w.call(Method::GET, &w.rg_path("imagery-default"), Some(&new_token), None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_survive_a_restart() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let r = w.call(Method::PUT, &w.image_path("rg", "img", COMPUTE), Some(&token), Some(blob_image("https://a/b.vhd"))).await;
    let async_url = r.header("azure-asyncoperation").expect("header").to_string();
    // "Restart": a second router over the same catalog, on a new socket.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base2 = format!("http://{}", listener.local_addr().expect("addr"));
    // Same public URL (it is configuration), another socket.
    serve(listener, imagery_dialect_azure::AzureState::new(w.service.clone(), w.identity.clone(), w.base.clone()));
    let r = w.get_url(&async_url.replace(&w.base, &base2), &token).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("Succeeded")), "{}", r.body);

    // An image operation a crash left unfinished is reported failed.
    let stale = |id: &str, kind: &str, target: &str| operation(&w, id, kind, target, chrono::Duration::minutes(10));
    w.service.record_operation(&w.caller(&w.alice), &stale("stale-op", "image.create", "x")).await.expect("record");
    let url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/westus/operations/stale-op?api-version={COMPUTE}",
        w.base, w.sub
    );
    let r = w.get_url(&url, &token).await;
    assert_eq!(
        (r.status, r.body["status"].as_str(), r.body["error"]["code"].as_str()),
        (200, Some("Failed"), Some("InternalOperationError"))
    );
    let r = w.get_url(&format!("{url}&monitor=true"), &token).await;
    assert_eq!((r.status, r.code()), (500, "InternalOperationError"));
    // A group deletion a crash interrupted is resumed by the next poll.
    let group_key = format!("{}/rg", w.demo.id);
    w.service.record_operation(&w.caller(&w.alice), &stale("stale-group", "group.delete", &group_key)).await.expect("record");
    let url = format!("{}/subscriptions/{}/operationresults/stale-group?api-version={RESOURCES}", w.base, w.sub);
    let mut status = 0;
    for _ in 0..400 {
        status = w.get_url(&url, &token).await.status;
        if status != 202 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200);
    let r = w.call(Method::GET, &w.rg_path("rg"), Some(&token), None).await;
    assert_eq!(r.status, 404);
    let r = w
        .call(
            Method::GET,
            &format!("{}/subscriptions/{}/providers/Microsoft.Compute/locations/westus/operations/nope?api-version={COMPUTE}", "", w.sub),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "ResourceNotFound"));
}

fn operation(w: &World, id: &str, kind: &str, target: &str, age: chrono::Duration) -> OperationRecord {
    let at = imagery_core::time::now() - age;
    OperationRecord {
        id: id.into(),
        dialect: "azure".into(),
        project_id: w.demo.id.clone(),
        target: Some(target.into()),
        description: kind.into(),
        created_by: w.alice.user_id.clone(),
        created_at: at,
        modified_at: at,
        done: false,
        payload: json!({"status": "InProgress", "location": "westus", "roles": ["member", "reader"]}),
        idempotency_key: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn names_being_created_are_busy() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    // Another request took the name and is creating the image right now.
    let pending = uuid::Uuid::new_v4().to_string();
    let alice = w.caller(&w.alice);
    w.service.bind_key(&alice, &w.demo.id, "azure.image", &format!("{}/rg/busy", w.demo.id), &pending).await.expect("bind");
    w.service
        .record_operation(&alice, &operation(&w, "pending", "image.create", &pending, chrono::Duration::seconds(1)))
        .await
        .expect("record");
    let r = w.call(Method::PUT, &w.image_path("rg", "busy", COMPUTE), Some(&token), Some(blob_image("https://a/b.vhd"))).await;
    assert_eq!((r.status, r.code()), (409, "Conflict"));
    let r = w.call(Method::GET, &w.image_path("rg", "busy", COMPUTE), Some(&token), None).await;
    assert_eq!(r.status, 404);
    // A name a crashed request left behind (its operation long dead) is free.
    let dead = uuid::Uuid::new_v4().to_string();
    w.service.bind_key(&alice, &w.demo.id, "azure.image", &format!("{}/rg/dead", w.demo.id), &dead).await.expect("bind");
    w.service.record_operation(&alice, &operation(&w, "dead", "image.create", &dead, chrono::Duration::minutes(10))).await.expect("record");
    let image = w.create_image(&token, "rg", "dead", blob_image("https://a/b.vhd")).await;
    assert_eq!(image["properties"]["provisioningState"], "Succeeded");
    // Concurrent PUTs of one new name: every request gets a valid answer and one image results.
    let race_path = w.image_path("rg", "race", COMPUTE);
    let puts = (0..4).map(|_| w.call(Method::PUT, &race_path, Some(&token), Some(blob_image("https://a/r.vhd"))));
    for r in futures::future::join_all(puts).await {
        assert!([200, 201, 409].contains(&r.status), "{} {}", r.status, r.body);
    }
    let listed = w.service.list_images(&w.caller(&w.alice), imagery_service::ImageListRequest::default()).await.expect("list").images;
    assert_eq!(listed.iter().filter(|i| i.name.as_deref() == Some("race")).count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn projects_without_hex_ids_get_bound_subscription_ids() {
    let w = world().await;
    let legacy = imagery_core::identity::Project {
        id: "legacy-project".into(),
        name: "legacy".into(),
        domain_id: "default".into(),
        description: String::new(),
        enabled: true,
    };
    w.catalog.insert_project(&legacy).await.expect("project");
    let dave = principal(&w.identity, "dave", &legacy, "member").await;
    let token = w.token(&dave).await;
    let r = w.call(Method::GET, "/subscriptions?api-version=2022-12-01", Some(&token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sub = r.body["value"][0]["subscriptionId"].as_str().expect("subscription id").to_string();
    assert_eq!(sub.len(), 36);
    assert_eq!(w.service.find_key(&w.caller(&dave), "azure.subscription", &sub).await.expect("lookup").as_deref(), Some("legacy-project"));
    // Stable across calls, and usable in every route.
    let r = w.call(Method::GET, "/subscriptions?api-version=2022-12-01", Some(&token), None).await;
    assert_eq!(r.body["value"][0]["subscriptionId"], sub.as_str());
    let r = w
        .call(
            Method::PUT,
            &format!("/subscriptions/{sub}/resourcegroups/rg?api-version={RESOURCES}"),
            Some(&token),
            Some(json!({"location": "westus"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let path =
        format!("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/images/img?api-version={COMPUTE}", sub.to_uppercase());
    let r = w.call(Method::PUT, &path, Some(&token), Some(blob_image("https://a/b.vhd"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/images/img"));
    let listed = w
        .service
        .list_images(
            &imagery_core::Caller::new(Some(dave.user_id.clone()), Some("legacy-project".into()), ["member".to_string()]),
            imagery_service::ImageListRequest::default(),
        )
        .await
        .expect("list")
        .images;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].owner.as_deref(), Some("legacy-project"));
}

/// A blobUri that is not https (nor the URL of an image's data here) is refused
/// with InvalidParameter before anything is created: no image, no name taken.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_blob_uris_are_refused_before_anything_is_created() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let caller = w.caller(&w.alice);
    let before = w.service.list_images(&caller, imagery_service::ImageListRequest::default()).await.expect("list").images.len();
    for (i, uri) in ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "ftp://h/x.vhd"].iter().enumerate() {
        let name = format!("hostile{i}");
        let r = w.call(Method::PUT, &w.image_path("rg", &name, COMPUTE), Some(&token), Some(blob_image(uri))).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["target"].as_str()),
            (400, "InvalidParameter", Some("properties.storageProfile.osDisk.blobUri")),
            "{uri}: {}",
            r.body
        );
        let r = w.call(Method::GET, &w.image_path("rg", &name, COMPUTE), Some(&token), None).await;
        assert_eq!(r.status, 404, "{uri}: nothing was created");
    }
    let after = w.service.list_images(&caller, imagery_service::ImageListRequest::default()).await.expect("list").images.len();
    assert_eq!(after, before);
    let image = w.create_image(&token, "rg", "fine", blob_image("https://acct.blob.core.windows.net/vhds/os.vhd")).await;
    assert_eq!(image["properties"]["provisioningState"], "Succeeded");
}
