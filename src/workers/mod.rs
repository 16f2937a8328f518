//! Background work: the idle-session sweeper, the durable job runner, and housekeeping. Each
//! loop is a thin wrapper around a step function that tests call directly.

pub mod embeddings;
pub mod jobs;
pub mod maintenance;
pub mod outbound;
pub mod search_terms;
pub mod sweeper;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Starts every background loop; they stop (draining running jobs) when `shutdown` fires.
pub fn spawn(state: &AppState, shutdown: &CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(jobs::run_loop(state.clone(), shutdown.clone()));
    set.spawn(sweeper::run_loop(state.clone(), shutdown.clone()));
    set.spawn(maintenance::run_loop(state.clone(), shutdown.clone()));
    set.spawn(outbound::run_loop(state.clone(), shutdown.clone()));
    set.spawn(search_terms::run_once(state.clone(), shutdown.clone()));
    if state.embedder.is_some() {
        set.spawn(embeddings::run_loop(state.clone(), shutdown.clone()));
    }
    set
}
