//! The job runner: claims due jobs with a lease, runs them, retries failures with exponential
//! backoff and jitter, and gives up (`dead`) after the last attempt. A job's effects and its
//! completion commit together and only while the runner still holds the lease, so a job whose
//! worker died is retried by another runner and still takes effect once.

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::entities::job;
use crate::error::AppError;
use crate::repo;
use crate::services::embeddings;
use crate::services::summaries::{self, Fence, Outcome, SUMMARIZE_SESSION};
use crate::state::AppState;

/// How often an idle runner looks for due jobs (besides being woken when work is queued here).
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What a run of the runner did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs that finished.
    pub done: usize,
    /// Failed attempts that will be retried.
    pub retried: usize,
    /// Jobs given up on.
    pub dead: usize,
    /// Jobs another runner took over meanwhile.
    pub lost: usize,
}

impl RunReport {
    fn add(&mut self, outcome: JobOutcome) {
        match outcome {
            JobOutcome::Done => self.done += 1,
            JobOutcome::Retried => self.retried += 1,
            JobOutcome::Dead => self.dead += 1,
            JobOutcome::Lost => self.lost += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.done + self.retried + self.dead + self.lost
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobOutcome {
    Done,
    Retried,
    Dead,
    Lost,
}

/// Why a job did not finish.
enum JobError {
    /// Worth another attempt (database hiccup, LLM outage).
    Transient(String),
    /// No retry can fix it (bad payload, unknown kind).
    Permanent(String),
}

impl From<AppError> for JobError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::BadInput { .. } | AppError::NotFound { .. } => {
                JobError::Permanent(err.client_message())
            }
            other => JobError::Transient(other.describe()),
        }
    }
}

/// Runs due jobs one claim at a time until none is due (the clock does not move); for tests and
/// tools that want deterministic progress.
pub async fn run_pending(state: &AppState) -> anyhow::Result<RunReport> {
    let mut report = RunReport::default();
    let owner = state.instance_id.to_string();
    loop {
        let jobs = claim(state, &owner, 1).await?;
        if jobs.is_empty() {
            return Ok(report);
        }
        for job in jobs {
            report.add(execute(state, job, &owner).await);
        }
    }
}

/// Claims up to `limit` jobs for `owner` and runs them concurrently.
pub async fn run_once(state: &AppState, owner: &str, limit: u64) -> anyhow::Result<RunReport> {
    let jobs = claim(state, owner, limit).await?;
    let outcomes =
        futures::future::join_all(jobs.into_iter().map(|job| execute(state, job, owner))).await;
    let mut report = RunReport::default();
    for outcome in outcomes {
        report.add(outcome);
    }
    Ok(report)
}

/// Claims jobs for `owner` under a lease of `job_lease`.
pub async fn claim(state: &AppState, owner: &str, limit: u64) -> anyhow::Result<Vec<job::Model>> {
    let now = state.now();
    let lease = lease(state);
    Ok(repo::jobs::claim(state.db.writer(), owner, limit, now, now + lease).await?)
}

fn lease(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.settings.job_lease).unwrap_or(chrono::Duration::minutes(2))
}

/// Runs one claimed job to an outcome; never panics, never returns an error (it records it).
async fn execute(state: &AppState, job: job::Model, owner: &str) -> JobOutcome {
    let started = Instant::now();
    let kind = job.kind.clone();
    let result = if job.attempts > job.max_attempts {
        // Claimed again after its worker kept dying: stop here.
        Err(JobError::Permanent(
            "the job's worker lost its lease on every attempt".into(),
        ))
    } else {
        let heartbeat = spawn_heartbeat(state.clone(), job.clone(), owner.to_owned());
        let result = dispatch(state, &job, owner).await;
        heartbeat.abort();
        result
    };
    metrics::histogram!("memodesk_job_seconds", "kind" => kind.clone())
        .record(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(err) => record_failure(state, &job, owner, err).await,
    };
    let status = match outcome {
        JobOutcome::Done => "done",
        JobOutcome::Retried => "retried",
        JobOutcome::Dead => "dead",
        JobOutcome::Lost => "lost",
    };
    metrics::counter!("memodesk_jobs_total", "kind" => kind, "outcome" => status).increment(1);
    outcome
}

async fn dispatch(state: &AppState, job: &job::Model, owner: &str) -> Result<JobOutcome, JobError> {
    match job.kind.as_str() {
        SUMMARIZE_SESSION => {
            let session_id = job
                .payload
                .get("sessionId")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| JobError::Permanent("payload lacks a valid sessionId".into()))?;
            let fence = Fence { job, owner };
            match summaries::summarize_session(state, job.tenant_id, session_id, Some(fence))
                .await?
            {
                Outcome::Stored(_) | Outcome::Nothing => Ok(JobOutcome::Done),
                Outcome::LeaseLost => Ok(JobOutcome::Lost),
            }
        }
        embeddings::EMBED_SEARCH_DOCUMENTS => {
            embeddings::run_job(state, job.tenant_id, &job.payload).await?;
            if repo::jobs::complete(state.db.writer(), job, owner, state.now())
                .await
                .map_err(|err| JobError::Transient(AppError::from(err).describe()))?
            {
                Ok(JobOutcome::Done)
            } else {
                Ok(JobOutcome::Lost)
            }
        }
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    }
}

async fn record_failure(
    state: &AppState,
    job: &job::Model,
    owner: &str,
    err: JobError,
) -> JobOutcome {
    let now = state.now();
    let (message, dead) = match err {
        JobError::Permanent(message) => (message, true),
        JobError::Transient(message) => (message, job.attempts >= job.max_attempts),
    };
    let retry_at = now + backoff(job.attempts);
    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, dead, error = %message, "job failed");
    match repo::jobs::fail(state.db.writer(), job, owner, &message, dead, retry_at, now).await {
        Ok(true) if dead => JobOutcome::Dead,
        Ok(true) => JobOutcome::Retried,
        Ok(false) => JobOutcome::Lost,
        Err(db) => {
            // The lease will expire and another attempt will record the outcome.
            tracing::error!(job = %job.id, error = %db, "could not record a job failure");
            JobOutcome::Retried
        }
    }
}

/// 10 s, 20 s, 40 s, … capped at an hour, ±20% jitter so failed jobs do not retry in lockstep.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 12)).unwrap_or(0);
    let seconds = (10u64 << exponent).min(3600) as f64;
    let jitter = rand::rng().random_range(0.8..1.2);
    chrono::Duration::milliseconds((seconds * jitter * 1000.0) as i64)
}

/// Keeps the lease alive while a long job runs.
fn spawn_heartbeat(state: AppState, job: job::Model, owner: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = (state.settings.job_lease / 3).max(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            let until = state.now() + lease(&state);
            match repo::jobs::heartbeat(state.db.writer(), &job, &owner, until).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => tracing::warn!(job = %job.id, error = %err, "lease heartbeat failed"),
            }
        }
    })
}

/// Runs jobs until shutdown: up to `job_concurrency` at a time, woken when work is queued in
/// this process and every second otherwise. On shutdown it stops claiming and waits for running
/// jobs up to `shutdown_grace`; jobs still running then are abandoned to lease expiry.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let owner = state.instance_id.to_string();
    let concurrency = state.settings.job_concurrency;
    let mut running: JoinSet<JobOutcome> = JoinSet::new();
    let mut gauges = tokio::time::interval(Duration::from_secs(15));
    loop {
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            match claim(&state, &owner, free as u64).await {
                Ok(jobs) => {
                    for job in jobs {
                        let (state, owner) = (state.clone(), owner.clone());
                        running.spawn(async move { execute(&state, job, &owner).await });
                    }
                }
                Err(err) => tracing::warn!(error = format!("{err:#}"), "claiming jobs failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = state.jobs_notify.notified() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = gauges.tick() => record_depth(&state).await,
        }
    }
    let grace = state.settings.shutdown_grace;
    if !running.is_empty() {
        tracing::info!(
            running = running.len(),
            "waiting for running jobs before stopping"
        );
    }
    let drained = tokio::time::timeout(grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            abandoned = running.len(),
            "jobs still running at shutdown; their leases will expire"
        );
        running.abort_all();
    }
}

async fn record_depth(state: &AppState) {
    match repo::jobs::depth(state.db.reader()).await {
        Ok(rows) => {
            for status in ["pending", "running", "dead"] {
                metrics::gauge!("memodesk_jobs", "kind" => SUMMARIZE_SESSION, "status" => status)
                    .set(0.0);
            }
            for (kind, status, count) in rows {
                metrics::gauge!("memodesk_jobs", "kind" => kind, "status" => status)
                    .set(count as f64);
            }
        }
        Err(err) => tracing::debug!(error = %err, "could not read the job queue depth"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let first = backoff(1).num_milliseconds();
        assert!((8_000..=12_000).contains(&first), "{first}");
        let third = backoff(3).num_milliseconds();
        assert!((32_000..=48_000).contains(&third), "{third}");
        assert!(backoff(40).num_seconds() <= 4_320);
    }
}
