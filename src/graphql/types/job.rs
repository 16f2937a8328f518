//! Background jobs, for admins.

use async_graphql::{Enum, ID, Json, Object};
use chrono::{DateTime, Utc};

use super::connection::connection;
use crate::entities::job;
use crate::graphql::context::to_id;
use crate::repo::jobs::status;

/// Where a job is in its life.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum JobStatus {
    /// Waiting for `runAt`.
    Pending,
    /// Claimed by a runner.
    Running,
    /// Finished.
    Done,
    /// Given up after its last attempt; see `lastError`, and `retryJob` to try again.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => status::PENDING,
            JobStatus::Running => status::RUNNING,
            JobStatus::Done => status::DONE,
            JobStatus::Dead => status::DEAD,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A unit of background work (e.g. summarizing a closed session).
#[derive(Clone)]
pub struct Job(pub job::Model);

connection!(
    JobConnection,
    JobEdge,
    Job,
    "A page of background jobs.",
    "A job with its position in the list."
);

/// A unit of background work (e.g. summarizing a closed session).
#[Object]
impl Job {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// What the job does, e.g. `summarize_session`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Its input (ids only).
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }

    /// Where it is in its life (null for a status this version does not know).
    async fn status(&self) -> Option<JobStatus> {
        JobStatus::parse(&self.0.status)
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Attempts before it is given up.
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }

    /// When it runs (next).
    async fn run_at(&self) -> DateTime<Utc> {
        self.0.run_at
    }

    /// The error of the last failed attempt.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// Until when the runner holding it may work on it.
    async fn lease_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.lease_expires_at
    }

    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it finished (done or dead).
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}
