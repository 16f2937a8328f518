//! Housekeeping every hour ([`housekeeping::run_once`]) and retention once a day
//! ([`retention::run`]).

use tokio_util::sync::CancellationToken;

use crate::services::housekeeping;
use crate::services::privacy::retention;
use crate::state::AppState;

/// Runs housekeeping hourly until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(3600));
    let mut last_retention: Option<chrono::DateTime<chrono::Utc>> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = housekeeping::run_once(&state).await {
            tracing::warn!(error = err.describe(), "housekeeping failed");
        }
        let now = state.now();
        if last_retention.is_none_or(|at| now - at >= chrono::Duration::days(1)) {
            match retention::run(&state, None, &|_| {}).await {
                Ok(_) => last_retention = Some(now),
                Err(err) => tracing::warn!(error = err.describe(), "retention failed"),
            }
        }
    }
}
