//! Staff users can be deactivated: a deactivated user cannot sign in, and every credential
//! issued to them stops working at once (the row is checked on every request).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StaffUsers::Table)
                    .add_column(
                        ColumnDef::new(StaffUsers::DeactivatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StaffUsers::Table)
                    .drop_column(StaffUsers::DeactivatedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum StaffUsers {
    Table,
    DeactivatedAt,
}
