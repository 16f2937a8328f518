//! The sweeper: every `sweep_interval`, closes the sessions whose customer went quiet
//! ([`sessions::close_idle`]).

use tokio_util::sync::CancellationToken;

use crate::services::sessions;
use crate::state::AppState;

/// Sweeps every `sweep_interval` until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(state.settings.sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = sessions::close_idle(&state).await {
            tracing::warn!(
                error = err.describe(),
                "sweep failed; retrying next interval"
            );
        }
    }
}
