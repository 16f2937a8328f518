//! Pure product rules: no I/O, no database, no GraphQL, no async runtime.
//!
//! Everything here is deterministic and unit-tested; services feed it data and persist results.

pub mod classify;
pub mod context;
pub mod delivery;
pub mod dialogue;
pub mod email;
pub mod error;
pub mod extract;
pub mod free_text;
mod locale;
pub mod phone;
pub mod profile;
pub mod redact;
pub mod search;
pub mod session_policy;
pub mod summarize;
pub mod text;
pub mod vocabulary;
pub mod wishes;

pub use error::InvalidInput;
pub use vocabulary::*;
