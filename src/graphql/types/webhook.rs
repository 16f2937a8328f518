//! Outbound webhooks: endpoints, deliveries and their attempts.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::entities::{webhook_attempt, webhook_endpoint};
use crate::graphql::context::to_id;
use crate::services::outbound::{DeliveryDetail, sender};

/// Where memodesk sends events, signed per Standard Webhooks.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// Where memodesk sends events, signed per Standard Webhooks.
#[Object]
impl WebhookEndpoint {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The receiver's URL.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// What the endpoint is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The event types sent (`lead.updated`, `message.created`, `lead.erased`, …).
    async fn event_types(&self) -> Vec<String> {
        serde_json::from_value(self.0.event_types.clone()).unwrap_or_default()
    }

    /// Whether events are sent. Disabled by an admin, by a 410 answer, or after failing for
    /// days (see `disabledReason`); re-enable with `updateWebhookEndpoint`.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why the endpoint was disabled automatically.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Since when every delivery has failed (none when the last one succeeded).
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }

    /// Until when the secret before the last rotation still signs.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An endpoint with its signing secret, shown once.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify `webhook-signature` with it (any Standard Webhooks library). Store it
    /// now; it cannot be shown again.
    pub secret: String,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Given up: every attempt failed, the receiver answered 410, or the endpoint was disabled.
    Failed,
}

impl WebhookDeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One event for one endpoint.
pub struct WebhookDelivery(pub DeliveryDetail);

/// One event for one endpoint.
#[Object]
impl WebhookDelivery {
    /// Opaque id (pass it to `replayWebhookDelivery`).
    async fn id(&self) -> ID {
        to_id(self.0.delivery.id)
    }

    /// The `webhook-id` header: the same on every attempt and replay.
    async fn webhook_id(&self) -> String {
        sender::message_id(self.0.delivery.id)
    }

    /// The event type sent.
    async fn event_type(&self) -> &str {
        &self.0.delivery.event_type
    }

    /// Where it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        WebhookDeliveryStatus::parse(&self.0.delivery.status)
    }

    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.delivery.attempts
    }

    /// When the next attempt is due (pending deliveries).
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.delivery.next_attempt_at
    }

    /// The receiver's HTTP status on the last attempt.
    async fn last_response_code(&self) -> Option<i32> {
        self.0.delivery.last_response_code
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.delivery.last_error.as_deref()
    }

    /// When the receiver accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivery.delivered_at
    }

    /// When the event was queued for this endpoint.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.delivery.created_at
    }

    /// Every attempt, oldest first.
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.0
            .attempts
            .iter()
            .cloned()
            .map(WebhookAttempt)
            .collect()
    }
}

/// One try at sending a delivery.
pub struct WebhookAttempt(pub webhook_attempt::Model);

/// One try at sending a delivery.
#[Object]
impl WebhookAttempt {
    /// 1 for the first try.
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }

    /// Whether the receiver answered 2xx.
    async fn succeeded(&self) -> bool {
        self.0.succeeded
    }

    /// The receiver's HTTP status (none when it could not be reached).
    async fn response_code(&self) -> Option<i32> {
        self.0.response_code
    }

    /// How long the request took, in milliseconds.
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }

    /// The start of the receiver's answer (at most 1 kB).
    async fn response_body(&self) -> Option<&str> {
        self.0.response_body.as_deref()
    }

    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// When it was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
