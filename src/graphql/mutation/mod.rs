//! Mutation roots, one per feature, merged.

mod admin;
mod auth;
mod ingest;
mod leads;
mod notes;
mod privacy;
mod profile;
mod sessions;
mod tenant;
mod webhooks;

use async_graphql::MergedObject;

/// Everything you can change.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    tenant::TenantMutation,
    leads::LeadMutation,
    profile::ProfileMutation,
    notes::NoteMutation,
    ingest::IngestMutation,
    sessions::SessionMutation,
    admin::AdminMutation,
    privacy::PrivacyMutation,
    webhooks::WebhookMutation,
);
