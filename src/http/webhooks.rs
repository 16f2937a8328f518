//! Channel webhooks: WhatsApp Cloud API, Twilio voice callbacks, and the generic call
//! transcript. Each handler checks who is calling, reads the provider's payload with
//! `crate::channels`, and hands the result to the ingest and delivery services.
//!
//! Signed webhooks act as `Actor::system(tenant)`: the signature under the tenant's secret is
//! the authentication. Failures never say whether a tenant exists.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{HttpState, credential};
use crate::auth::{Actor, Permission};
use crate::channels::{transcript, twilio, whatsapp};
use crate::domain::{Channel, SessionStatus};
use crate::error::AppError;
use crate::repo::tenants::TenantSettings;
use crate::services::deliveries::{self, DeliveryUpdate};
use crate::services::ingest::{MAX_BATCH, MessageInput, Recorded};
use crate::services::{auth, sessions};

// ---------------------------------------------------------------------------------------------
// WhatsApp Cloud API: /webhooks/whatsapp/{tenant_id}

/// `GET`: Meta's subscription handshake. Echoes `hub.challenge` when `hub.verify_token` is the
/// tenant's verify token; one and the same 403 otherwise.
pub async fn whatsapp_verify(
    State(state): State<HttpState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let forbidden = || {
        error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            None,
            "verification failed",
        )
    };
    let settings = match tenant_settings(&state, &tenant).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return forbidden(),
        Err(err) => return app_error(err),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match whatsapp::verification_challenge(&query, settings.whatsapp_verify_token.as_deref()) {
        Some(challenge) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => {
            tracing::info!(tenant_id = %settings.id, "WhatsApp verification refused");
            forbidden()
        }
    }
}

/// `POST`: a delivery of messages and statuses. The signature is checked over the raw bytes
/// before anything is parsed; unknown shapes are acknowledged so Meta keeps the webhook on.
pub async fn whatsapp_receive(
    State(state): State<HttpState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let unauthorized = || {
        error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            None,
            "the X-Hub-Signature-256 signature is missing or does not match",
        )
    };
    let settings = match tenant_settings(&state, &tenant).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return unauthorized(),
        Err(err) => return app_error(err),
    };
    let Some(secret) = settings.whatsapp_app_secret.as_deref() else {
        return unauthorized();
    };
    let signature = headers
        .get(whatsapp::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !whatsapp::signature_matches(secret, &body, signature) {
        tracing::info!(tenant_id = %settings.id, "WhatsApp delivery with a bad signature refused");
        return unauthorized();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            Some("body"),
            "the body is not valid JSON",
        );
    };
    let delivery = whatsapp::parse(&payload, state.app.now());
    if delivery.is_empty() {
        tracing::info!(
            tenant_id = %settings.id,
            shape = %shape_of(&payload),
            skipped = delivery.skipped,
            "WhatsApp delivery with nothing recognizable acknowledged"
        );
        return StatusCode::OK.into_response();
    }
    let actor = Actor::system(settings.id);
    let inputs: Vec<MessageInput> = delivery
        .messages
        .into_iter()
        .map(whatsapp::InboundMessage::into_input)
        .collect();
    if let Err(err) = record_all(&state, &actor, inputs, "whatsapp").await {
        return app_error(err);
    }
    let updates = delivery
        .statuses
        .into_iter()
        .map(|s| DeliveryUpdate {
            external_id: s.wamid,
            status: s.status,
        })
        .collect();
    match deliveries::apply(&state.app, &actor, Channel::Whatsapp, updates).await {
        Ok(outcome) => {
            tracing::debug!(
                tenant_id = %settings.id,
                updated = outcome.updated,
                unknown = outcome.unknown,
                unchanged = outcome.unchanged,
                skipped = delivery.skipped,
                "WhatsApp delivery processed"
            );
            StatusCode::OK.into_response()
        }
        Err(err) => app_error(err),
    }
}

/// Records inbound messages, one ingest call (one transaction) per batch. A message ingest
/// refuses is logged and dropped: Meta would only send it again. Storage failures propagate,
/// so the provider retries.
async fn record_all(
    state: &HttpState,
    actor: &Actor,
    mut inputs: Vec<MessageInput>,
    channel: &'static str,
) -> Result<Vec<Recorded>, AppError> {
    let mut recorded = Vec::with_capacity(inputs.len());
    while !inputs.is_empty() {
        let rest = inputs.split_off(inputs.len().min(MAX_BATCH));
        for result in state.ingest.record_many(actor, inputs).await? {
            match result {
                Ok(r) => recorded.push(r),
                Err(AppError::Internal(cause)) => return Err(AppError::Internal(cause)),
                Err(err) => log_refused(actor, channel, &err),
            }
        }
        inputs = rest;
    }
    Ok(recorded)
}

fn log_refused(actor: &Actor, channel: &'static str, err: &AppError) {
    // The code and field only: messages can quote what the customer wrote.
    let field = match err {
        AppError::BadInput { field, .. } => field.as_str(),
        _ => "",
    };
    tracing::warn!(
        tenant_id = %actor.tenant_id,
        channel,
        code = err.code(),
        field,
        "a webhook message was not recorded"
    );
}

/// The outline of an unrecognized payload for the log: top-level key names and the `object`
/// when it is a plain word. No values, so no personal data.
fn shape_of(payload: &Value) -> String {
    match payload {
        Value::Object(map) => {
            let keys: Vec<String> = map
                .keys()
                .take(10)
                .map(|k| k.chars().take(40).collect())
                .collect();
            let object = map
                .get("object")
                .and_then(Value::as_str)
                .filter(|o| o.len() <= 40 && o.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
                .unwrap_or("-");
            format!("object={object} keys={keys:?}")
        }
        Value::Array(items) => format!("array of {}", items.len()),
        _ => "scalar".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Twilio voice: /webhooks/twilio/{tenant_id}/status and …/transcription

/// Call status callbacks: one system message per status in the call's session; a final
/// status (completed, busy, failed, no-answer, canceled) ends it.
pub async fn twilio_status(
    State(state): State<HttpState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (settings, params) = match twilio_verified(&state, &tenant, &headers, &uri, &body).await {
        Ok(verified) => verified,
        Err(response) => return response,
    };
    let input = twilio::status_message(&params, &settings.default_region, state.app.now());
    twilio_record(&state, &settings, input, "status").await
}

/// Transcription callbacks: the transcript becomes the caller's message in the call's
/// session. A failed transcription records nothing.
pub async fn twilio_transcription(
    State(state): State<HttpState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (settings, params) = match twilio_verified(&state, &tenant, &headers, &uri, &body).await {
        Ok(verified) => verified,
        Err(response) => return response,
    };
    let input = twilio::transcription_message(&params, &settings.default_region);
    twilio_record(&state, &settings, input, "transcription").await
}

/// Checks `X-Twilio-Signature` against the URL Twilio called: `public_url` plus the path when
/// configured, else the URL rebuilt from the request (see `twilio::candidate_urls`: behind a
/// proxy without `public_url`, pass the public host and scheme in `Host`/`X-Forwarded-Host`
/// and `X-Forwarded-Proto`).
async fn twilio_verified(
    state: &HttpState,
    tenant: &str,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<(Arc<TenantSettings>, twilio::Params), Response> {
    let forbidden = || {
        error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            None,
            "the X-Twilio-Signature signature is missing or does not match",
        )
    };
    let settings = match tenant_settings(state, tenant).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return Err(forbidden()),
        Err(err) => return Err(app_error(err)),
    };
    let Some(token) = settings.twilio_auth_token.as_deref() else {
        return Err(forbidden());
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    // With a configured public URL, that is the URL Twilio signed; otherwise work it out from
    // the request (and the proxy's forwarding headers).
    let urls = match &state.app.settings.public_url {
        Some(base) => vec![format!("{}{path_and_query}", base.trim_end_matches('/'))],
        None => twilio::candidate_urls(twilio::RequestUrlParts {
            forwarded_proto: text("x-forwarded-proto"),
            forwarded_host: text("x-forwarded-host"),
            host: text(header::HOST.as_str()).or_else(|| uri.authority().map(|a| a.as_str())),
            path_and_query,
        }),
    };
    let params = twilio::Params::from_form(body);
    if !twilio::signature_matches(token, &urls, &params, text(twilio::SIGNATURE_HEADER)) {
        tracing::info!(tenant_id = %settings.id, "Twilio callback with a bad signature refused");
        return Err(forbidden());
    }
    Ok((settings, params))
}

async fn twilio_record(
    state: &HttpState,
    settings: &TenantSettings,
    input: Option<MessageInput>,
    kind: &'static str,
) -> Response {
    let Some(input) = input else {
        tracing::info!(tenant_id = %settings.id, kind, "Twilio callback with nothing to record");
        return twiml();
    };
    let actor = Actor::system(settings.id);
    // A single message: `record` shares a transaction with concurrent callbacks.
    match state.ingest.record(&actor, input).await {
        Ok(_) => twiml(),
        Err(AppError::Internal(cause)) => app_error(AppError::Internal(cause)),
        // Twilio would only send the same callback again.
        Err(err) => {
            log_refused(&actor, "call", &err);
            twiml()
        }
    }
}

fn twiml() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        twilio::EMPTY_TWIML,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Generic transcript: POST /webhooks/transcripts (API key with the ingest scope)

/// A whole call transcript from a voice platform; see `channels::transcript` for the shape.
pub async fn transcript(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let actor = match auth::authenticate(&state.app, credential(&headers)).await {
        Ok(Some(actor)) => actor,
        Ok(None) => {
            return app_error(AppError::Unauthenticated(
                "send an API key as Authorization: Bearer mdk_… or X-Api-Key".into(),
            ));
        }
        Err(err) => return app_error(err),
    };
    if let Err(err) = actor.require(Permission::WriteMessages) {
        return app_error(err);
    }
    let settings = match state
        .app
        .tenants
        .get(state.app.db.reader(), actor.tenant_id)
        .await
    {
        Ok(settings) => settings,
        Err(err) => return app_error(err),
    };
    let parsed = transcript::parse(&body, state.app.now()).and_then(|t| {
        let ended = t.ended;
        Ok((t.into_inputs(&settings.default_region)?, ended))
    });
    let (inputs, ended) = match parsed {
        Ok(parsed) => parsed,
        Err(invalid) => return app_error(invalid.into()),
    };
    let results = match state.ingest.record_many(&actor, inputs).await {
        Ok(results) => results,
        Err(err) => return app_error(err),
    };
    let mut recorded = Vec::with_capacity(results.len());
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(r) => recorded.push(r),
            // Checked up front; what ingest still refuses is reported against the turn.
            Err(AppError::BadInput { message, .. }) => {
                return app_error(AppError::bad_input(format!("turns[{i}]"), message));
            }
            Err(err) => return app_error(err),
        }
    }
    let Some(last) = recorded.last() else {
        return app_error(AppError::internal(anyhow::anyhow!(
            "transcript recorded nothing"
        )));
    };
    let mut session = (*last.session).clone();
    // Posting an ended transcript again (every turn a duplicate) still ends the call.
    if ended && session.status == SessionStatus::Open {
        session = match sessions::close(&state.app, &actor, session.id).await {
            Ok(session) => session,
            Err(err) => return app_error(err),
        };
    }
    let duplicates = recorded.iter().filter(|r| r.duplicate).count();
    (
        StatusCode::OK,
        axum::Json(json!({
            "sessionId": session.id,
            "leadId": last.lead.id,
            "recorded": recorded.len() - duplicates,
            "duplicates": duplicates,
            "sessionStatus": session.status,
        })),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------

/// The tenant a webhook URL names; `None` when the id is malformed or unknown (callers answer
/// both like a bad signature, so tenant ids cannot be probed).
async fn tenant_settings(
    state: &HttpState,
    raw_id: &str,
) -> Result<Option<Arc<TenantSettings>>, AppError> {
    let Ok(id) = Uuid::parse_str(raw_id) else {
        return Ok(None);
    };
    match state.app.tenants.get(state.app.db.reader(), id).await {
        Ok(settings) => Ok(Some(settings)),
        Err(AppError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `{"error": {"code", "field"?, "message"}}` with the status the code calls for.
fn app_error(err: AppError) -> Response {
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
        tracing::error!(error = format!("{cause:#}"), "webhook failed");
    }
    match &err {
        AppError::BadInput { field, message } => error(status, err.code(), Some(field), message),
        _ => error(status, err.code(), None, &err.client_message()),
    }
}

fn error(status: StatusCode, code: &str, field: Option<&str>, message: &str) -> Response {
    let mut body = json!({ "code": code, "message": message });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    (status, axum::Json(json!({ "error": body }))).into_response()
}
