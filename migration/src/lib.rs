//! memodesk schema migrations. The same migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261120_000001_initial;
mod m20261122_000002_events_without_created_index;
mod m20261206_000003_staff_deactivation;
mod m20261206_000004_session_awaiting;
mod m20261206_000010_privacy;
mod m20261206_000020_search;
mod m20261206_000030_crm;
mod m20261207_000060_search_vectors;
mod m20261207_000080_retention_indexes;
mod m20261207_000090_search_ranges;
mod m20261207_000100_search_lead_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261120_000001_initial::Migration),
            Box::new(m20261122_000002_events_without_created_index::Migration),
            Box::new(m20261206_000003_staff_deactivation::Migration),
            Box::new(m20261206_000004_session_awaiting::Migration),
            Box::new(m20261206_000010_privacy::Migration),
            Box::new(m20261206_000020_search::Migration),
            Box::new(m20261206_000030_crm::Migration),
            Box::new(m20261207_000060_search_vectors::Migration),
            Box::new(m20261207_000080_retention_indexes::Migration),
            Box::new(m20261207_000090_search_ranges::Migration),
            Box::new(m20261207_000100_search_lead_index::Migration),
        ]
    }
}
