//! SeaORM entities: the tables as Rust types, nothing more. Queries live in `repo`.

pub mod api_key;
pub mod audit_entry;
pub mod erased_identity;
pub mod event;
pub mod interaction_summary;
pub mod job;
pub mod lead;
pub mod lead_erasure;
pub mod lead_identity;
pub mod message;
pub mod note;
pub mod profile_field_change;
pub mod session;
pub mod staff_user;
pub mod tenant;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;

use crate::domain::{
    ApiScope, Channel, CloseReason, IdentityKind, Locale, MessageRole, NoteKind, SessionStatus,
    StaffRole,
    classify::Intent,
    profile::{Outcome, Source},
    summarize::Sentiment,
};

/// Stores a domain vocabulary (see `domain::vocabulary`) as its snake_case text. These are the
/// impls `DeriveValueType` would generate; written here so `domain` stays free of SeaORM.
macro_rules! text_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl From<$ty> for sea_orm::Value {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned().into()
            }
        }

        impl sea_orm::TryGetable for $ty {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let text = String::try_get_by(res, idx)?;
                text.parse().map_err(|err| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::TryIntoErr {
                        from: "String",
                        into: stringify!($ty),
                        source: std::sync::Arc::new(err),
                    })
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $ty {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let text = <String as sea_orm::sea_query::ValueType>::try_from(value)?;
                text.parse().map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($ty).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Text
            }
        }

        impl sea_orm::sea_query::Nullable for $ty {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $ty {}
    )+};
}

text_column!(
    ApiScope,
    Channel,
    CloseReason,
    IdentityKind,
    Intent,
    Locale,
    MessageRole,
    NoteKind,
    Outcome,
    Sentiment,
    SessionStatus,
    Source,
    StaffRole,
);
