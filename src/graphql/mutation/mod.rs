//! Mutation roots, one per feature, merged.

mod admin;
mod auth;
mod leads;
mod messages;
mod notes;
mod tenant;

use async_graphql::MergedObject;

/// Everything you can change.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    tenant::TenantMutation,
    leads::LeadMutation,
    notes::NoteMutation,
    messages::MessageMutation,
    admin::AdminMutation,
);
