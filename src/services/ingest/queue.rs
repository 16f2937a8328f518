//! The sending half of ingest's group commit: a request's prepared messages wait here for a
//! writer ([`super::writers`]), which records everyone waiting in one transaction per tenant,
//! so concurrent requests share the cost of a commit instead of queueing for the database one
//! by one.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::Recorded;
use super::prepare::Prepared;
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::repo::tenants::TenantSettings;

/// Where requests queue for the writers.
#[derive(Clone)]
pub(super) struct IngestQueue {
    tx: mpsc::Sender<Queued>,
}

/// The requests waiting, as the writers take them.
pub(super) type Waiting = mpsc::Receiver<Queued>;

/// What a request hears back: each message's result, or the failure of its transaction.
pub(super) type Reply = oneshot::Sender<AppResult<Vec<AppResult<Recorded>>>>;

/// One request's messages and where to send their results.
pub(super) struct Queued {
    pub(super) actor: Actor,
    pub(super) settings: Arc<TenantSettings>,
    pub(super) prepared: Vec<Prepared>,
    pub(super) reply: Reply,
}

impl IngestQueue {
    /// A queue, and the receiving end for the writers.
    pub(super) fn new() -> (Self, Waiting) {
        let (tx, rx) = mpsc::channel(4096);
        (Self { tx }, rx)
    }

    /// Queues prepared messages and waits for their results.
    pub(super) async fn submit(
        &self,
        actor: &Actor,
        settings: Arc<TenantSettings>,
        prepared: Vec<Prepared>,
    ) -> AppResult<Vec<AppResult<Recorded>>> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            actor: actor.clone(),
            settings,
            prepared,
            reply,
        };
        if self.tx.send(queued).await.is_err() {
            return Err(AppError::internal(anyhow::anyhow!(
                "the ingest writer stopped"
            )));
        }
        answer.await.map_err(|_| {
            AppError::internal(anyhow::anyhow!("the ingest writer dropped a message"))
        })?
    }
}
