//! Background work as persisted jobs ([`imagery_core::cluster::Job`]): a request
//! records a job in the catalog; any node's workers claim it with a lease, renew
//! the lease while it runs, and settle it. A node that dies mid-job stops renewing;
//! once the lease expires another node claims the job and runs it again (every
//! job is written to be re-run from the start). Failures that may pass (a
//! dependency unavailable) hand the job back for another attempt; the rest, or
//! too many attempts, fail it with the reason kept on the job and the image.

use std::sync::{Arc, Weak};
use std::time::Duration;

use imagery_core::cluster::{Job, JobOutcome, JobState};
use imagery_core::time::now;
use imagery_core::{Caller, DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::{backend, ImageService, SystemCaller};

/// The kind of an image import job (glance-direct, web-download, copy-image).
pub const IMPORT_JOB: &str = "import";
/// Glance's deprecated `import` task (`POST /v2/tasks`): make an image from
/// `import_from` with `image_properties`.
pub const LEGACY_IMPORT_JOB: &str = "legacy-import";

/// Where a job came from, for its record: the request id the client saw and the
/// request as sent (Glance shows both in the task).
#[derive(Debug, Clone, Default)]
pub struct JobOrigin {
    pub request_id: Option<String>,
    pub request: Option<serde_json::Value>,
}

fn require_admin(caller: &Caller) -> DomainResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(DomainError::Forbidden("You are not authorized to access tasks.".into()))
    }
}

/// How often an idle worker looks for jobs other nodes left (new local jobs wake
/// it at once).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// What an import job is asked to do (its `input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImportInput {
    #[serde(flatten)]
    pub source: ImportSource,
    /// The client's import request as sent, when a dialect gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_req: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub(crate) enum ImportSource {
    GlanceDirect,
    WebDownload { uri: String },
}

/// The workers of one service: started on first need, stopped by [`ImageService::stop_workers`].
#[derive(Default)]
pub(crate) struct Workers {
    started: std::sync::OnceLock<()>,
    wake: Notify,
    stop: std::sync::OnceLock<watch::Sender<bool>>,
    /// The worker tasks, so that stopping can wait for running jobs to be handed back.
    running: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Workers {
    fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.get_or_init(|| watch::channel(false).0).subscribe()
    }
}

impl ImageService {
    /// Record `job` for `caller` and make sure this node's workers will see it.
    pub(crate) async fn enqueue(self: &Arc<Self>, caller: &Caller, mut job: Job) -> DomainResult<Job> {
        job.user_id = caller.user_id.clone();
        if job.owner.is_none() {
            job.owner = caller.project_id.clone();
        }
        self.catalog.insert_job(&job).await.map_err(backend)?;
        self.start_workers_inner();
        self.workers.wake.notify_one();
        Ok(job)
    }

    /// Start this node's job workers (the server does at start, so that jobs
    /// other nodes left are run even if this node never accepts one).
    pub fn start_workers(self: &Arc<Self>, _system: &SystemCaller) {
        self.start_workers_inner();
    }

    fn start_workers_inner(self: &Arc<Self>) {
        if self.workers.started.set(()).is_err() {
            return;
        }
        let mut running = self.workers.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for _ in 0..self.config.job_workers.max(1) {
            running.push(tokio::spawn(work(Arc::downgrade(self), Arc::clone(&self.workers), self.workers.stop_signal())));
        }
    }

    /// Stop claiming jobs; jobs running now are handed back (`pending`) so another
    /// node resumes them at once rather than after their lease.
    pub fn stop_workers(&self) {
        self.workers.stop.get_or_init(|| watch::channel(false).0).send_replace(true);
    }

    /// Stop the workers and wait (up to `deadline`) until each has handed its
    /// running job back, so that leaving the cluster right after loses no job to
    /// its lease.
    pub async fn drain_workers(&self, deadline: Duration) {
        self.stop_workers();
        let handles: Vec<_> = std::mem::take(&mut *self.workers.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if tokio::time::timeout(deadline, futures::future::join_all(handles)).await.is_err() {
            tracing::warn!("job workers did not stop in time; their jobs are taken over when their lease expires");
        }
    }

    /// Delete finished jobs past their retention.
    pub async fn purge_finished_jobs(&self, _system: &SystemCaller) -> DomainResult<u64> {
        self.catalog.purge_jobs(now()).await.map_err(backend)
    }

    /// The jobs of an image the caller can see, oldest first, without those whose
    /// retention ended (an invisible image is not found).
    pub async fn image_jobs(&self, caller: &Caller, image_id: Uuid) -> DomainResult<Vec<Job>> {
        self.visible_image(caller, image_id).await?;
        let t = now();
        let jobs = self.catalog.list_jobs_for_image(image_id).await.map_err(backend)?;
        Ok(jobs.into_iter().filter(|j| j.expires_at.is_none_or(|e| e > t)).collect())
    }

    /// Every job (the task API is an administrator's view), in creation order.
    pub async fn list_jobs(
        &self,
        caller: &Caller,
        state: Option<JobState>,
        after: Option<Uuid>,
        descending: bool,
        limit: usize,
    ) -> DomainResult<Vec<Job>> {
        require_admin(caller)?;
        if let Some(marker) = after {
            if self.catalog.get_job(marker).await.map_err(backend)?.is_none() {
                return Err(DomainError::BadRequest(format!("Invalid marker: task {marker} could not be found.").into()));
            }
        }
        let t = now();
        let jobs = self.catalog.list_jobs(state, after, descending, limit).await.map_err(backend)?;
        Ok(jobs.into_iter().filter(|j| j.expires_at.is_none_or(|e| e > t)).collect())
    }

    pub async fn show_job(&self, caller: &Caller, id: Uuid) -> DomainResult<Job> {
        require_admin(caller)?;
        self.catalog
            .get_job(id)
            .await
            .map_err(backend)?
            .ok_or_else(|| DomainError::NotFound(format!("Task with identifier {id} not found").into()))
    }

    /// A task created through the task API (`POST /v2/tasks`): `kind` is the
    /// task type; its input was validated by the caller's dialect. Admin only.
    pub async fn create_task(
        self: &Arc<Self>,
        caller: &Caller,
        kind: &str,
        input: serde_json::Value,
        origin: JobOrigin,
    ) -> DomainResult<Job> {
        require_admin(caller)?;
        if kind == LEGACY_IMPORT_JOB {
            let from = input.get("import_from").and_then(|v| v.as_str()).unwrap_or_default();
            self.check_import_source(from)?;
        }
        let mut job = Job::new(kind, input, now());
        job.request_id = origin.request_id;
        self.enqueue(caller, job).await
    }

    /// Claim one job and run it to its end (or until `stop`). `false`: none waiting.
    async fn run_one(self: &Arc<Self>, stop: &mut watch::Receiver<bool>) -> DomainResult<bool> {
        let node = self.config.node_id.clone();
        let lease = self.config.job_lease();
        let t = now();
        let Some(job) = self.catalog.claim_job(&node, t, t + lease).await.map_err(backend)? else {
            return Ok(false);
        };
        metrics::counter!("imagery_jobs_claimed_total", "kind" => job.kind.clone(), "takeover" => if job.taken_from.is_some() { "yes" } else { "no" }).increment(1);
        if let Some(previous) = &job.taken_from {
            tracing::warn!(job = %job.id, image = ?job.image_id, from = %previous, attempt = job.attempts,
                "took over a job from a node whose lease expired");
        }
        let outcome = if job.attempts > self.config.job_max_attempts.max(1) {
            Err(DomainError::Unavailable(format!("The job was interrupted {} times; giving up.", job.attempts - 1).into()))
        } else {
            let renewing = self.keep_claim(job.id);
            let result = tokio::select! {
                result = self.run_job(&job) => Some(result),
                _ = stop.wait_for(|stopped| *stopped) => None,
            };
            renewing.abort();
            match result {
                Some(result) => result,
                None => {
                    let back = JobOutcome {
                        state: JobState::Pending,
                        message: "The node running this job shut down; another node resumes it.".into(),
                        result: None,
                        expires_at: None,
                    };
                    self.catalog.settle_job(job.id, &node, &back, now()).await.map_err(backend)?;
                    return Ok(true);
                }
            }
        };
        self.settle(&job, outcome).await?;
        Ok(true)
    }

    /// Renew the claim on `id` every third of the lease until aborted.
    fn keep_claim(self: &Arc<Self>, id: Uuid) -> tokio::task::JoinHandle<()> {
        let service = Arc::downgrade(self);
        let every = self.config.job_lease().to_std().unwrap_or(Duration::from_secs(30)) / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(service) = service.upgrade() else { return };
                let t = now();
                match service.catalog.renew_job(id, &service.config.node_id, t, t + service.config.job_lease()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %id, "lost the claim on a running job (another node took it over)");
                        return;
                    }
                    Err(err) => tracing::warn!(job = %id, %err, "could not renew a job claim"),
                }
            }
        })
    }

    async fn run_job(self: &Arc<Self>, job: &Job) -> DomainResult<serde_json::Value> {
        match job.kind.as_str() {
            IMPORT_JOB => self.run_import(job).await,
            LEGACY_IMPORT_JOB => self.run_legacy_import(job).await,
            other => Err(DomainError::BadRequest(format!("Unknown job kind '{other}'.").into())),
        }
    }

    async fn settle(&self, job: &Job, outcome: DomainResult<serde_json::Value>) -> DomainResult<()> {
        let node = &self.config.node_id;
        let t = now();
        let retention = crate::config::seconds(self.config.job_retention_secs);
        let settled = match outcome {
            Ok(result) => {
                JobOutcome { state: JobState::Success, message: String::new(), result: Some(result), expires_at: Some(t + retention) }
            }
            Err(err @ DomainError::Unavailable(_)) if job.attempts < self.config.job_max_attempts.max(1) => {
                tracing::warn!(job = %job.id, %err, attempt = job.attempts, "job failed for now; it will be retried");
                JobOutcome { state: JobState::Pending, message: err.to_string(), result: None, expires_at: None }
            }
            Err(err) => {
                tracing::warn!(job = %job.id, image = ?job.image_id, %err, "job failed");
                self.job_failed(job, &err).await;
                JobOutcome { state: JobState::Failure, message: err.to_string(), result: None, expires_at: Some(t + retention) }
            }
        };
        metrics::counter!("imagery_jobs_settled_total", "kind" => job.kind.clone(), "state" => settled.state.as_str()).increment(1);
        if !self.catalog.settle_job(job.id, node, &settled, t).await.map_err(backend)? {
            tracing::warn!(job = %job.id, "a job finished here after another node took it over; its outcome is theirs");
        }
        Ok(())
    }

    /// What a failed job leaves on its image.
    async fn job_failed(&self, job: &Job, err: &DomainError) {
        if job.kind == IMPORT_JOB {
            if let Some(id) = job.image_id {
                self.fail_import(id, err).await;
            }
        }
    }
}

/// One worker: claim, run, repeat; wait for a wake-up or the idle poll when there
/// is nothing to do; leave when stopped or when the service is gone.
async fn work(service: Weak<ImageService>, workers: Arc<Workers>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(svc) = service.upgrade() else { return };
        let ran = match svc.run_one(&mut stop).await {
            Ok(ran) => ran,
            Err(err) => {
                tracing::warn!(%err, "job worker could not reach the catalog");
                false
            }
        };
        // Not kept while idle: the service may go away meanwhile.
        drop(svc);
        if ran {
            continue;
        }
        tokio::select! {
            _ = workers.wake.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Is an image in the middle of an import that has a live job?
pub(crate) fn has_open_job(jobs: &[Job]) -> bool {
    jobs.iter().any(|j| j.kind == IMPORT_JOB && !j.state.is_final())
}

/// An importing image with no open job (left by a crash between the status
/// change and the job's record, or by an older version) is failed after this.
pub(crate) const ORPHAN_IMPORT_AFTER: chrono::Duration = chrono::Duration::seconds(60);
