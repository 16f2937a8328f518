//! Query roots, one per feature, merged.

mod admin;
mod changes;
mod leads;
mod me;
mod memory;
mod notes;
mod privacy;
mod profile;
mod search;
mod sessions;
mod webhooks;

use async_graphql::MergedObject;

/// Everything you can read.
#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    leads::LeadQuery,
    profile::ProfileQuery,
    notes::NoteQuery,
    sessions::SessionQuery,
    memory::MemoryQuery,
    search::SearchQuery,
    admin::AdminQuery,
    webhooks::WebhookQuery,
    changes::ChangeQuery,
    privacy::PrivacyQuery,
);
