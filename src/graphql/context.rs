//! What a resolver reads from the request: the caller, the state, the loaders, and ids.

use async_graphql::{Context, ID};
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::graphql::loaders::Loaders;
use crate::repo::pagination::PageRequest;
use crate::services::ingest::Ingest;
use crate::state::AppState;

/// The address the request came from (see `http::client_addr`), for login throttling.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

pub trait ContextExt {
    /// The authenticated caller; `UNAUTHENTICATED` when the request carried no credential.
    fn actor(&self) -> AppResult<&Actor>;
    fn state(&self) -> AppResult<&AppState>;
    fn ingest(&self) -> AppResult<&Ingest>;
    fn loaders(&self) -> AppResult<&Loaders>;
}

impl ContextExt for Context<'_> {
    fn actor(&self) -> AppResult<&Actor> {
        self.data_opt::<Actor>().ok_or_else(|| {
            AppError::Unauthenticated(
                "sign in first: send Authorization: Bearer <token or API key>".into(),
            )
        })
    }

    fn state(&self) -> AppResult<&AppState> {
        self.data_opt::<AppState>()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing from schema data")))
    }

    fn ingest(&self) -> AppResult<&Ingest> {
        self.data_opt::<Ingest>()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("Ingest missing from schema data")))
    }

    fn loaders(&self) -> AppResult<&Loaders> {
        self.data_opt::<Loaders>().ok_or_else(|| {
            AppError::Unauthenticated(
                "sign in first: send Authorization: Bearer <token or API key>".into(),
            )
        })
    }
}

/// Relay arguments (`first/after/last/before`) checked against the configured page size.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<&str>,
    last: Option<i32>,
    before: Option<&str>,
) -> AppResult<PageRequest> {
    let max = ctx.state()?.settings.max_page_size;
    Ok(PageRequest::parse(first, after, last, before, max)?)
}

/// How many rows a plain list argument (`first`) asks for, checked like a page size.
pub fn list_limit(ctx: &Context<'_>, first: i32) -> AppResult<u64> {
    Ok(page_request(ctx, Some(first), None, None, None)?.limit as u64)
}

/// Reads an id argument; `field` names it in the error.
pub fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "not a valid id"))
}

/// Reads an RFC 3339 time argument; `field` names it in the error. (Times are taken as
/// strings so that a bad one is reported against its field, which async-graphql's scalar
/// parsing cannot do.)
pub fn parse_time(text: &str, field: &str) -> AppResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            AppError::bad_input(
                field,
                "not an RFC 3339 time (e.g. 2026-11-20T21:30:00Z or 2026-11-20T23:30:00+02:00)",
            )
        })
}

pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}
