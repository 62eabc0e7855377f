//! Glance tasks over a real socket, rendered from the job table: an import's task
//! as tempest checks it (exactly one, `success`, the import response's request
//! id, the request as sent), the administrators' task API, and the deprecated
//! `POST /v2/tasks` import with Glance's validation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn wait_for(s: &TestServer, who: As, path: &str, field: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (_, v) = s.get(who, path).await;
        if v[field] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path}: {field} never became {want}");
}

#[tokio::test]
async fn an_import_records_its_task() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/stage"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![5u8; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .req(ALICE, Method::POST, &format!("/v2/images/{id}/import"))
        .json(&json!({"method": {"name": "glance-direct"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let request_id = r.headers()["x-openstack-request-id"].to_str().unwrap().to_string();
    wait_for(&s, ALICE, &format!("/v2/images/{id}"), "status", "active").await;

    // The task is settled just after the image turns active.
    let mut polls = 0;
    let (status, body) = loop {
        let (status, body) = s.get(ALICE, &format!("/v2/images/{id}/tasks")).await;
        if status != 200 || body["tasks"][0]["status"] == "success" || polls > 200 {
            break (status, body);
        }
        polls += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 200);
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{body}");
    let task = &tasks[0];
    assert_eq!(task["status"], "success");
    assert_eq!(task["type"], "api_image_import");
    assert_eq!(task["request_id"], request_id.as_str());
    assert_eq!(task["input"]["import_req"]["method"]["name"], "glance-direct");
    assert_eq!(task["image_id"], id.as_str());
    assert_eq!(task["result"]["image_id"], id.as_str());
    assert_eq!((task["deleted"].clone(), task["deleted_at"].clone()), (json!(false), Value::Null));
    let created = task["created_at"].as_str().unwrap();
    assert!(created.len() == 26 && !created.ends_with('Z'), "database form: {created}");
    // Another project cannot see the image, so not its tasks either.
    assert_eq!(s.get(BOB, &format!("/v2/images/{id}/tasks")).await.0, 404);

    // The administrators' view of the same task.
    assert_eq!(s.get(ALICE, "/v2/tasks").await.0, 403);
    let (status, list) = s.get(ADMIN, "/v2/tasks").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!((list["first"].as_str(), list["schema"].as_str()), (Some("/v2/tasks"), Some("/v2/schemas/tasks")));
    let stub =
        list["tasks"].as_array().unwrap().iter().find(|t| t["self"] == format!("/v2/tasks/{}", task["id"].as_str().unwrap())).unwrap();
    assert!(stub.get("input").is_none() && stub.get("expires_at").is_some(), "{stub}");
    let (status, full) = s.get(ADMIN, stub["self"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(full["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        (full["status"].as_str(), full["message"].as_str(), full["schema"].as_str()),
        (Some("success"), Some(""), Some("/v2/schemas/task"))
    );
    let r = s.req(ADMIN, Method::DELETE, stub["self"].as_str().unwrap()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["allow"].to_str().unwrap()), (405, "GET"));
    assert_eq!(s.get(ADMIN, "/v2/tasks?status=bogus").await.0, 400);
    assert_eq!(s.get(ADMIN, "/v2/tasks?marker=not-a-uuid").await.0, 400);
    assert_eq!(s.get(ADMIN, "/v2/tasks/00000000-0000-0000-0000-000000000009").await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn the_deprecated_task_api_validates_and_imports() {
    let sample = imagery_test_support::samples::clean_qcow2();
    let origin = imagery_test_support::byte_server::serve(vec![("disk.qcow2".into(), sample.bytes.clone())]).await;
    let allow = format!("{origin}/");
    let s = start_in(tempfile::tempdir().unwrap(), true, move |c| c.service.web_download_allow = vec![allow]).await;
    let post = |body: Value| s.json(ADMIN, Method::POST, "/v2/tasks", body);
    let message = |v: &Value| v["message"].as_str().unwrap_or_default().to_string();

    assert_eq!(s.json(ALICE, Method::POST, "/v2/tasks", json!({"type": "import", "input": {}})).await.0, 403);
    let (status, body) = post(json!({"input": {}})).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("Task 'type' is required"), "{body}");
    assert_eq!(post(json!({"type": "bogus", "input": {}})).await.0, 400);
    assert_eq!(post(json!({"type": "import", "input": {}, "extra": 1})).await.0, 400);
    let (status, body) = post(json!({"type": "import", "input": {"import_from_format": "qcow2"}})).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("Invalid location: None"), "{body}");
    assert_eq!(post(json!({"type": "import", "input": {"import_from": "file:///etc/passwd"}})).await.0, 400);
    let (status, body) = post(json!({"type": "import", "input": {"import_from": "http://example.com/x.img"}})).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("does not pass filtering"), "{body}");

    let (status, task) = post(json!({"type": "import", "input": {
        "import_from": format!("{origin}/disk.qcow2"),
        "import_from_format": "qcow2",
        "image_properties": {"name": "from-a-task", "container_format": "bare", "os_distro": "cirros"}
    }}))
    .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!((task["type"].as_str(), task["status"].as_str()), (Some("import"), Some("pending")));
    assert!(task.get("expires_at").is_none(), "a running task has no expires_at: {task}");
    let done = wait_for(&s, ADMIN, task["self"].as_str().unwrap(), "status", "success").await;
    let image_id = done["result"]["image_id"].as_str().unwrap().to_string();
    let (_, image) = s.get(ADMIN, &format!("/v2/images/{image_id}")).await;
    assert_eq!(
        (image["status"].as_str(), image["name"].as_str(), image["os_distro"].as_str()),
        (Some("active"), Some("from-a-task"), Some("cirros"))
    );
    assert_eq!(image["size"].as_u64(), Some(sample.bytes.len() as u64));

    // A location that cannot be fetched: 201, then the task fails with a reason.
    let (status, task) = post(json!({"type": "import", "input": {
        "import_from": format!("{origin}/missing.qcow2"), "import_from_format": "qcow2", "image_properties": {}
    }}))
    .await;
    assert_eq!(status, 201);
    let failed = wait_for(&s, ADMIN, task["self"].as_str().unwrap(), "status", "failure").await;
    assert!(failed["message"].as_str().unwrap().contains("404"), "{failed}");
    s.stop().await;
}
