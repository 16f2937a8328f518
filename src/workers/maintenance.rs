//! Housekeeping every hour ([`housekeeping::run_once`]).

use tokio_util::sync::CancellationToken;

use crate::services::housekeeping;
use crate::state::AppState;

/// Runs housekeeping hourly until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = housekeeping::run_once(&state).await {
            tracing::warn!(error = err.describe(), "housekeeping failed");
        }
    }
}
