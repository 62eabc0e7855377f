//! What nodes share through the catalog: leases, jobs, replay nonces, change
//! announcements.

use std::time::Duration;

use futures::StreamExt;
use imagery_core::cluster::{Job, JobOutcome, JobState, Seen};
use serde_json::json;
use uuid::Uuid;

use crate::support::{at, Ctx};

pub async fn leases(ctx: Ctx) {
    let c = &ctx.catalog;
    assert!(c.acquire_lease("gc", "a", at(0), at(100)).await.unwrap());
    assert!(!c.acquire_lease("gc", "b", at(50), at(150)).await.unwrap(), "held by a until 100");
    assert!(c.acquire_lease("gc", "a", at(60), at(160)).await.unwrap(), "the holder renews");
    let lease = c.get_lease("gc").await.unwrap().unwrap();
    assert_eq!((lease.holder.as_str(), lease.expires_at), ("a", at(160)));
    assert!(c.acquire_lease("gc", "b", at(161), at(200)).await.unwrap(), "expired: anyone may take it");
    c.release_lease("gc", "a").await.unwrap();
    assert_eq!(c.get_lease("gc").await.unwrap().unwrap().holder, "b", "only the holder releases");
    c.release_lease("gc", "b").await.unwrap();
    assert!(c.get_lease("gc").await.unwrap().is_none());
    assert!(c.acquire_lease("gc", "c", at(0), at(10)).await.unwrap(), "released: free again");
}

fn job(created: i64) -> Job {
    let mut job = Job::new("import", json!({"method": "web-download", "uri": "http://x/"}), at(created));
    job.image_id = Some(Uuid::new_v4());
    job.owner = Some("p".into());
    job.user_id = Some("u".into());
    job.request_id = Some("req-1".into());
    job
}

pub async fn jobs(ctx: Ctx) {
    let c = &ctx.catalog;
    let (first, second) = (job(0), job(10));
    c.insert_job(&second).await.unwrap();
    c.insert_job(&first).await.unwrap();
    assert_eq!(c.get_job(first.id).await.unwrap().unwrap(), first, "round trip");
    assert!(c.insert_job(&first).await.is_err(), "duplicate id");
    assert_eq!(c.list_jobs_for_image(first.image_id.unwrap()).await.unwrap(), vec![first.clone()]);

    // Oldest first; a claimed job is not claimed again while its lease lasts.
    let a = c.claim_job("node-a", at(100), at(200)).await.unwrap().unwrap();
    assert_eq!(
        (a.id, a.state, a.attempts, a.claimed_by.as_deref(), a.taken_from.as_deref()),
        (first.id, JobState::Processing, 1, Some("node-a"), None)
    );
    let b = c.claim_job("node-b", at(110), at(210)).await.unwrap().unwrap();
    assert_eq!(b.id, second.id);
    assert!(c.claim_job("node-b", at(120), at(220)).await.unwrap().is_none(), "both are leased");

    // Renewal only by the claimant.
    assert!(c.renew_job(a.id, "node-a", at(150), at(300)).await.unwrap());
    assert!(!c.renew_job(a.id, "node-b", at(150), at(400)).await.unwrap());

    // node-b goes silent: after its lease, node-a takes its job over.
    assert!(c.claim_job("node-a", at(209), at(300)).await.unwrap().is_none());
    let taken = c.claim_job("node-a", at(211), at(311)).await.unwrap().unwrap();
    assert_eq!(
        (taken.id, taken.attempts, taken.claimed_by.as_deref(), taken.taken_from.as_deref()),
        (second.id, 2, Some("node-a"), Some("node-b"))
    );
    // The old claimant can no longer settle or renew it.
    let done =
        JobOutcome { state: JobState::Success, message: String::new(), result: Some(json!({"ok": true})), expires_at: Some(at(1_000)) };
    assert!(!c.settle_job(second.id, "node-b", &done, at(212)).await.unwrap());
    assert!(!c.renew_job(second.id, "node-b", at(212), at(400)).await.unwrap());
    assert!(c.settle_job(second.id, "node-a", &done, at(213)).await.unwrap());
    let settled = c.get_job(second.id).await.unwrap().unwrap();
    assert_eq!(
        (settled.state, settled.result.clone(), settled.lease_expires_at, settled.expires_at),
        (JobState::Success, Some(json!({"ok": true})), None, Some(at(1_000)))
    );
    assert!(!c.settle_job(second.id, "node-a", &done, at(214)).await.unwrap(), "settled once");

    // Handed back for a retry: pending again, claimable, not a takeover.
    let retry = JobOutcome { state: JobState::Pending, message: "source unavailable; retrying".into(), result: None, expires_at: None };
    assert!(c.settle_job(first.id, "node-a", &retry, at(215)).await.unwrap());
    let again = c.claim_job("node-b", at(216), at(316)).await.unwrap().unwrap();
    assert_eq!(
        (again.id, again.attempts, again.taken_from.as_deref(), again.message.as_str()),
        (first.id, 2, None, "source unavailable; retrying")
    );

    // Finished jobs are purged after they expire, unfinished ones never.
    assert_eq!(c.purge_jobs(at(999)).await.unwrap(), 0);
    assert_eq!(c.purge_jobs(at(1_001)).await.unwrap(), 1);
    assert!(c.get_job(second.id).await.unwrap().is_none());
    assert!(c.get_job(first.id).await.unwrap().is_some());
}

/// Several claimers at once never get the same job.
pub async fn jobs_claimed_once(ctx: Ctx) {
    let c = ctx.catalog.clone();
    for n in 0..20 {
        c.insert_job(&job(n)).await.unwrap();
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = c.claim_job(&format!("node-{worker}"), at(100), at(10_000)).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((total, all.len()), (20, 20));
}

pub async fn replay_nonces(ctx: Ctx) {
    let c = &ctx.catalog;
    assert_eq!(c.remember_nonce("AK1", "sig-1", at(0), at(100), 2).await.unwrap(), Seen::Fresh);
    assert_eq!(c.remember_nonce("AK1", "sig-1", at(50), at(150), 2).await.unwrap(), Seen::Replayed);
    assert_eq!(c.remember_nonce("AK2", "sig-1", at(50), at(150), 2).await.unwrap(), Seen::Fresh, "scopes are separate");
    assert_eq!(c.remember_nonce("AK1", "sig-2", at(50), at(150), 2).await.unwrap(), Seen::Fresh);
    assert_eq!(c.remember_nonce("AK1", "sig-3", at(60), at(160), 2).await.unwrap(), Seen::OverBudget, "AK1's budget is spent");
    assert_eq!(c.remember_nonce("AK2", "sig-3", at(60), at(160), 2).await.unwrap(), Seen::Fresh, "one key's budget is its own");
    // sig-1 expired at 100: forgotten, and its room is free again.
    assert_eq!(c.remember_nonce("AK1", "sig-3", at(101), at(200), 2).await.unwrap(), Seen::Fresh);
    assert_eq!(c.remember_nonce("AK1", "sig-1", at(102), at(200), 2).await.unwrap(), Seen::OverBudget);
}

/// A change announced through one catalog object reaches subscribers of another
/// opened on the same database (PostgreSQL: another node), quickly.
pub async fn change_announcements(ctx: Ctx) {
    let postgres = ctx.url.as_deref().is_some_and(|u| u.starts_with("postgres"));
    let other = match &ctx.url {
        Some(url) if postgres => imagery_catalog::open(url).await.unwrap(),
        _ => ctx.catalog.clone(),
    };
    let mut changes = other.subscribe("identity").expect("this backend announces changes");
    if postgres {
        // The first connection of the LISTEN session announces everything once.
        let first = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
        assert_eq!(first, Ok(Some(())), "the LISTEN session is up");
    }
    ctx.catalog.notify("identity").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(1), changes.next()).await;
    assert_eq!(heard, Ok(Some(())), "heard within a second");
    let mut quiet = other.subscribe("unrelated").unwrap();
    ctx.catalog.notify("identity").await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), quiet.next()).await.is_err(), "topics are separate");
}

pub async fn job_listing(ctx: Ctx) {
    let c = &ctx.catalog;
    let jobs: Vec<Job> = (0..5).map(|n| job(n * 10)).collect();
    for j in &jobs {
        c.insert_job(j).await.unwrap();
    }
    let ids = |list: Vec<Job>| list.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let all: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids(c.list_jobs(None, None, false, 10).await.unwrap()), all);
    let newest_first: Vec<Uuid> = all.iter().rev().copied().collect();
    assert_eq!(ids(c.list_jobs(None, None, true, 2).await.unwrap()), newest_first[..2]);
    assert_eq!(ids(c.list_jobs(None, Some(newest_first[1]), true, 2).await.unwrap()), newest_first[2..4]);
    assert_eq!(ids(c.list_jobs(None, Some(all[3]), false, 10).await.unwrap()), all[4..]);
    // By state.
    c.claim_job("n", at(100), at(200)).await.unwrap().unwrap();
    assert_eq!(ids(c.list_jobs(Some(JobState::Processing), None, false, 10).await.unwrap()), all[..1]);
    assert_eq!(ids(c.list_jobs(Some(JobState::Pending), None, false, 10).await.unwrap()), all[1..]);
}
