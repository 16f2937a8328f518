//! A customer, one across all channels.

use sea_orm::entity::prelude::*;

use crate::domain::Channel;

impl Model {
    /// A lead with no contact details, profile or activity yet, first seen at `first_seen`.
    pub fn new(tenant_id: Uuid, id: Uuid, first_seen: DateTimeUtc, now: DateTimeUtc) -> Self {
        Self {
            tenant_id,
            id,
            display_name: None,
            primary_phone: None,
            email: None,
            search_text: String::new(),
            profile: serde_json::json!({}),
            last_summary: None,
            last_summary_channel: None,
            last_summary_session_id: None,
            summary_updated_at: None,
            last_interaction_at: None,
            last_channel: None,
            last_activity_at: first_seen,
            message_count: 0,
            session_count: 0,
            created_at: first_seen,
            updated_at: now,
        }
    }

    /// The text `leads(filter: {search})` matches: name, phone and email, lowercased.
    pub fn compute_search_text(&self) -> String {
        [&self.display_name, &self.primary_phone, &self.email]
            .into_iter()
            .flatten()
            .map(|part| part.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Mirrors the profile's `name` (or the channel's display name) for lists and search.
    pub display_name: Option<String>,
    /// Mirrors the profile's `phone`, E.164.
    pub primary_phone: Option<String>,
    /// Mirrors the profile's `email`, lowercased.
    pub email: Option<String>,
    /// Name, phone and email, lowercased, for search.
    pub search_text: String,
    /// `domain::profile::Profile` as JSON.
    #[sea_orm(column_type = "JsonBinary")]
    pub profile: Json,
    pub last_summary: Option<String>,
    pub last_summary_channel: Option<Channel>,
    pub last_summary_session_id: Option<Uuid>,
    pub summary_updated_at: Option<DateTimeUtc>,
    pub last_interaction_at: Option<DateTimeUtc>,
    pub last_channel: Option<Channel>,
    /// `last_interaction_at`, or `created_at` before the first message: the "recent" sort key.
    pub last_activity_at: DateTimeUtc,
    pub message_count: i64,
    pub session_count: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
