//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::HttpState;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
pub async fn readyz(State(state): State<HttpState>) -> Response {
    if state.app.db.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// Prometheus text format.
pub async fn metrics(State(state): State<HttpState>) -> Response {
    let mut body = state
        .metrics
        .as_ref()
        .map(|handle| handle.render())
        .unwrap_or_default();
    body.push_str(&format!(
        "# HELP memodesk_db_statements_total Statements this process sent to the database.\n\
         # TYPE memodesk_db_statements_total counter\n\
         memodesk_db_statements_total {}\n",
        state.app.db_query_count()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
