//! DataLoaders: one query per kind of row per request, whatever the page size. They are built
//! per request for the caller's tenant, so a batch can never mix tenants.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::db::Db;
use crate::entities::{interaction_summary, lead, lead_identity, message, session};
use crate::error::AppError;
use crate::repo;

/// Loaders of one request.
pub struct Loaders {
    pub leads: DataLoader<LeadLoader>,
    pub sessions: DataLoader<SessionLoader>,
    pub last_sessions: DataLoader<LastSessionLoader>,
    pub identities: DataLoader<IdentitiesLoader>,
    pub summaries: DataLoader<SummaryLoader>,
    pub last_messages: DataLoader<LastMessageLoader>,
    pub staff_names: DataLoader<StaffNameLoader>,
}

impl Loaders {
    pub fn new(db: &Db, tenant_id: Uuid) -> Self {
        let scope = || Scope {
            db: db.clone(),
            tenant_id,
        };
        Self {
            leads: DataLoader::new(LeadLoader(scope()), tokio::spawn),
            sessions: DataLoader::new(SessionLoader(scope()), tokio::spawn),
            last_sessions: DataLoader::new(LastSessionLoader(scope()), tokio::spawn),
            identities: DataLoader::new(IdentitiesLoader(scope()), tokio::spawn),
            summaries: DataLoader::new(SummaryLoader(scope()), tokio::spawn),
            last_messages: DataLoader::new(LastMessageLoader(scope()), tokio::spawn),
            staff_names: DataLoader::new(StaffNameLoader(scope()), tokio::spawn),
        }
    }
}

/// The tenant a loader reads for.
pub struct Scope {
    db: Db,
    tenant_id: Uuid,
}

fn to_graphql(err: sea_orm::DbErr) -> async_graphql::Error {
    AppError::from(err).into()
}

/// Leads by id.
pub struct LeadLoader(Scope);

impl Loader<Uuid> for LeadLoader {
    type Value = lead::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::leads::find_many(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Sessions by id.
pub struct SessionLoader(Scope);

impl Loader<Uuid> for SessionLoader {
    type Value = session::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::sessions::find_many(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// The most recent session of each lead, by lead id.
pub struct LastSessionLoader(Scope);

impl Loader<Uuid> for LastSessionLoader {
    type Value = session::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::sessions::latest_for_leads(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows.into_iter().map(|r| (r.lead_id, r)).collect())
    }
}

/// A lead's identities, by lead id.
pub struct IdentitiesLoader(Scope);

impl Loader<Uuid> for IdentitiesLoader {
    type Value = Vec<lead_identity::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::identities::for_leads(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        let mut by_lead: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            by_lead.entry(row.lead_id).or_default().push(row);
        }
        Ok(by_lead)
    }
}

/// The summary of each session, by session id.
pub struct SummaryLoader(Scope);

impl Loader<Uuid> for SummaryLoader {
    type Value = interaction_summary::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::summaries::for_sessions(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows.into_iter().map(|r| (r.session_id, r)).collect())
    }
}

/// The last message of each lead, by lead id.
pub struct LastMessageLoader(Scope);

impl Loader<Uuid> for LastMessageLoader {
    type Value = message::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::messages::latest_for_leads(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows.into_iter().map(|r| (r.lead_id, r)).collect())
    }
}

/// The name staff know a staff user by (display name, else email), by user id.
pub struct StaffNameLoader(Scope);

impl Loader<Uuid> for StaffNameLoader {
    type Value = String;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = repo::users::find_many(self.0.db.reader(), self.0.tenant_id, keys)
            .await
            .map_err(to_graphql)?;
        Ok(rows
            .into_iter()
            .map(|u| {
                let name = u.display_name.filter(|n| !n.trim().is_empty());
                (u.id, name.unwrap_or(u.email))
            })
            .collect())
    }
}
