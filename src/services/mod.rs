//! Use cases. Each takes the caller (`Actor`), checks what it may do, and returns
//! `Result<_, AppError>`; none knows about GraphQL or HTTP.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod credentials;
pub mod deliveries;
pub mod embeddings;
pub mod export;
pub mod housekeeping;
pub mod ingest;
pub mod jobs;
pub mod leads;
pub mod live;
pub mod memory;
pub mod notes;
pub mod outbound;
pub mod privacy;
pub mod profile;
pub mod search;
pub mod sessions;
pub mod summaries;
pub mod tenants;
pub mod users;
