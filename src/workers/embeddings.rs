//! Semantic search's scheduler: every `embeddings_interval`, queues an embedding job for each
//! tenant with records that lack a vector of the current model ([`embeddings::schedule`]).

use tokio_util::sync::CancellationToken;

use crate::services::embeddings;
use crate::state::AppState;

/// Schedules embedding jobs until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(state.settings.embeddings_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = embeddings::schedule(&state).await {
            tracing::warn!(error = err.describe(), "scheduling embedding jobs failed");
        }
    }
}
