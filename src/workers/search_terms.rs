//! SQLite: after the `search_ranges` migration, gives the renumbered search documents their
//! terms back in the background, once, at start ([`embeddings::restore_terms`]). Searches find
//! the records again as it goes; stopping the server part-way loses nothing (the next start, or
//! `memodesk search reindex`, carries on).

use tokio_util::sync::CancellationToken;

use crate::services::embeddings;
use crate::state::AppState;

/// Restores the index's missing terms, then returns.
pub async fn run_once(state: AppState, shutdown: CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        restored = embeddings::restore_terms(&state, &|_| {}) => match restored {
            Ok(0) => {}
            Ok(restored) => tracing::info!(restored, "search index: terms restored"),
            Err(err) => tracing::warn!(error = err.describe(), "restoring search terms failed"),
        },
    }
}
