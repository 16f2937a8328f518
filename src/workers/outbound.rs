//! The outbound webhook sender loop (see `services::outbound::sender`).

pub use crate::services::outbound::sender::run_loop;
