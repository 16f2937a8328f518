//! `GET /export/leads`: the leads that changed after a cursor, streamed in a CRM's import
//! shape, with the next cursor in the `X-Memodesk-Next-Cursor` header.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use super::{HttpState, credential};
use crate::error::AppError;
use crate::services::{self, export::ExportRequest};

/// The response header that carries the cursor for the next sync.
pub const NEXT_CURSOR_HEADER: &str = "x-memodesk-next-cursor";

#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    format: Option<String>,
    after: Option<String>,
    bom: Option<String>,
    provenance: Option<String>,
    object: Option<String>,
}

fn flag(value: Option<&str>, field: &str) -> Result<bool, AppError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(_) => Err(AppError::bad_input(field, "use true or false")),
    }
}

pub async fn leads(
    State(state): State<HttpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match start(&state, &headers, query.as_deref().unwrap_or("")).await {
        Ok(response) => response,
        Err(err) => app_error(err),
    }
}

async fn start(state: &HttpState, headers: &HeaderMap, query: &str) -> Result<Response, AppError> {
    let actor = services::auth::authenticate(&state.app, credential(headers))
        .await?
        .ok_or_else(|| {
            AppError::Unauthenticated(
                "sign in first: send Authorization: Bearer <API key or token>".into(),
            )
        })?;
    let query: ExportQuery = serde_urlencoded::from_str(query)
        .map_err(|_| AppError::bad_input("query", "not a valid query string"))?;
    let request = ExportRequest {
        bom: flag(query.bom.as_deref(), "bom")?,
        provenance: flag(query.provenance.as_deref(), "provenance")?,
        format: query.format,
        after: query.after,
        object: query.object,
    };
    let export = services::export::start(&state.app, &actor, request).await?;
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.content_type()),
    );
    response_headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name()))
            .map_err(AppError::internal)?,
    );
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response_headers.insert(
        NEXT_CURSOR_HEADER,
        HeaderValue::from_str(&export.next_cursor).map_err(AppError::internal)?,
    );
    let body = ReceiverStream::new(export.chunks).map(|chunk| match chunk {
        Ok(chunk) => Ok(axum::body::Bytes::from(chunk.bytes)),
        Err(err) => {
            // Headers are gone: end the body abnormally so the client sees a failed transfer
            // rather than a short file.
            tracing::error!(error = err.describe(), "export failed part way");
            Err(std::io::Error::other("export failed"))
        }
    });
    Ok((StatusCode::OK, response_headers, Body::from_stream(body)).into_response())
}

/// `{"error": {"code", "field"?, "message"}}` with the status the code calls for.
pub(super) fn app_error(err: AppError) -> Response {
    let status = match &err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let AppError::Internal(cause) = &err {
        tracing::error!(error = format!("{cause:#}"), "export failed");
    }
    let mut body = json!({ "code": err.code(), "message": err.client_message() });
    if let AppError::BadInput { field, .. } = &err {
        body["field"] = json!(field);
    }
    (status, axum::Json(json!({ "error": body }))).into_response()
}
