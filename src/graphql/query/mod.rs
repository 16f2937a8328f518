//! Query roots, one per feature, merged.

mod admin;
mod leads;
mod me;
mod memory;
mod sessions;

use async_graphql::MergedObject;

/// Everything you can read.
#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    leads::LeadQuery,
    sessions::SessionQuery,
    memory::MemoryQuery,
    admin::AdminQuery,
);
