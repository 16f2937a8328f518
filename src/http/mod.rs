//! The HTTP surface: GraphQL (POST, GET, GraphiQL and its files), channel webhooks, CRM export,
//! health, readiness and metrics.

pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod subject_export;
pub mod web;
pub mod webhooks;
pub mod ws;

use std::time::Duration;

use axum::Router;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::AppSchema;
use crate::services::auth::Credential;
use crate::services::ingest::Ingest;
use crate::state::AppState;

/// What handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    /// Records what the channel webhooks deliver.
    pub ingest: Ingest,
    pub schema: AppSchema,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Parsed GraphQL documents, shared by all requests.
    pub documents: std::sync::Arc<graphql::DocumentCache>,
}

/// All routes with their middleware.
pub fn router(state: HttpState) -> Router {
    let settings = state.app.settings.clone();
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::get_handler).post(graphql::post_handler),
        )
        .route("/graphql/ws", get(ws::handler))
        .route("/graphiql/{name}", get(graphiql::asset))
        .route("/", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/style.css", get(web::style_css))
        .route("/js/{name}", get(web::module))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/webhooks/whatsapp/{tenant_id}",
            get(webhooks::whatsapp_verify).post(webhooks::whatsapp_receive),
        )
        .route(
            "/webhooks/twilio/{tenant_id}/status",
            post(webhooks::twilio_status),
        )
        .route(
            "/webhooks/twilio/{tenant_id}/transcription",
            post(webhooks::twilio_transcription),
        )
        .route("/webhooks/transcripts", post(webhooks::transcript))
        .route("/export/leads", get(export::leads))
        .route("/export/subject/{lead_id}", get(subject_export::subject))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                // The matched route only: paths and query strings can carry personal data.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("http", method = %request.method(), route)
            }),
        );
    if !settings.cors_origins.is_empty() {
        let origins: Vec<_> = settings
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods(tower_http::cors::Any)
                .allow_headers(tower_http::cors::Any)
                .max_age(Duration::from_secs(3600)),
        );
    }
    router.with_state(state)
}

/// The address a request came from: the peer, or behind a trusted proxy
/// (`trust_forwarded_for`) the last `X-Forwarded-For` entry. `None` when neither is known
/// (a router called without a socket, as in some tests).
#[derive(Debug, Clone, Copy)]
pub struct Client(pub Option<IpAddr>);

impl FromRequestParts<HttpState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        if state.app.settings.trust_forwarded_for
            && let Some(forwarded) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(Client(Some(forwarded)));
        }
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// The credential in `Authorization: Bearer …` or `X-Api-Key`.
pub fn credential(headers: &HeaderMap) -> Credential<'_> {
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        return Credential::Bearer(token);
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Credential::ApiKey(key.trim());
    }
    Credential::None
}
