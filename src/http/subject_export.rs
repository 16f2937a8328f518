//! `GET /export/subject/{leadId}`: one customer's subject access export as a ZIP, with the
//! signed `?token=` from `exportLeadData`, or directly with an admin token or an `export` API
//! key. A refused link gets one answer whatever the reason.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::export::app_error;
use super::{HttpState, credential};
use crate::error::AppError;
use crate::services;
use crate::services::privacy::subject_export;

#[derive(Debug, Default, Deserialize)]
pub struct SubjectQuery {
    token: Option<String>,
}

/// Bytes read from the spooled archive per chunk.
const CHUNK: usize = 64 * 1024;

pub async fn subject(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(lead_id): Path<String>,
    Query(query): Query<SubjectQuery>,
) -> Response {
    match start(&state, &headers, &lead_id, query).await {
        Ok(response) => response,
        Err(err) => app_error(err),
    }
}

async fn start(
    state: &HttpState,
    headers: &HeaderMap,
    lead_id: &str,
    query: SubjectQuery,
) -> Result<Response, AppError> {
    let parsed = Uuid::parse_str(lead_id.trim()).ok();
    let actor = match query.token {
        // A link for a malformed id is refused like any other bad link.
        Some(token) => subject_export::link_actor(&state.app, &token, parsed.unwrap_or_default())?,
        None => services::auth::authenticate(&state.app, credential(headers))
            .await?
            .ok_or_else(|| {
                AppError::Unauthenticated(
                    "sign in first: send Authorization: Bearer <API key or token>, or use the \
                     link from exportLeadData"
                        .into(),
                )
            })?,
    };
    let lead_id = parsed.ok_or(AppError::not_found("lead"))?;
    let file = subject_export::to_temp_file(&state.app, &actor, lead_id).await?;
    let length = file.metadata().map_err(AppError::internal)?.len();
    let mut file = tokio::fs::File::from_std(file);
    let body = async_stream::try_stream! {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            yield axum::body::Bytes::copy_from_slice(&buffer[..n]);
        }
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    response_headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"customer-{lead_id}.zip\""))
            .map_err(AppError::internal)?,
    );
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response_headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let body: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send>,
    > = Box::pin(body);
    Ok((StatusCode::OK, response_headers, Body::from_stream(body)).into_response())
}
