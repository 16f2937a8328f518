//! Outbound webhooks (Standard Webhooks): endpoints an admin registers, deliveries made from the
//! event outbox (so nothing is sent for a change that rolled back), signed, retried for about
//! three days, every attempt recorded.

pub mod sender;
pub mod signing;
pub mod target;

use std::collections::BTreeSet;

use chrono::Duration;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel, TransactionTrait};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::EventType;
use crate::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

/// How long the secret before a rotation keeps signing.
pub const ROTATION_GRACE: Duration = Duration::hours(24);
/// The event type erasure writes; endpoints may ask for it before it is first written.
const LEAD_ERASED: &str = repo::changes::LEAD_ERASED;

/// What an admin gives to create or change an endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// Re-enable (or disable) the endpoint.
    pub enabled: Option<bool>,
}

/// The event types an endpoint may ask for.
pub fn event_type_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = EventType::ALL
        .iter()
        .filter(|t| !t.is_internal())
        .map(|t| t.as_str())
        .collect();
    names.push(LEAD_ERASED);
    names
}

fn parse_event_types(types: &[String], field: &str) -> AppResult<Vec<String>> {
    let known = event_type_names();
    if types.is_empty() {
        return Err(AppError::bad_input(field, "name at least one event type"));
    }
    let mut out = BTreeSet::new();
    for t in types {
        let t = t.trim();
        if !known.contains(&t) {
            return Err(AppError::bad_input(
                field,
                format!("`{t}` is not an event type: use {}", known.join(", ")),
            ));
        }
        out.insert(t.to_owned());
    }
    Ok(out.into_iter().collect())
}

/// Registers an endpoint; returns it and its signing secret (shown this once). It receives the
/// events committed from now on.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: EndpointInput,
) -> AppResult<(webhook_endpoint::Model, String)> {
    actor.require(Permission::ManageTenant)?;
    let url = input.url.as_deref().unwrap_or_default();
    let url = target::parse_url(&state.settings, url, "input.url")?;
    let types = parse_event_types(
        input.event_types.as_deref().unwrap_or_default(),
        "input.eventTypes",
    )?;
    let now = state.now();
    let secret = signing::new_secret();
    let txn = state.db.writer().begin().await?;
    let head = repo::changes::committed_head(&txn, actor.tenant_id).await?;
    let endpoint = webhook_endpoint::Model {
        tenant_id: actor.tenant_id,
        id: Uuid::now_v7(),
        url: url.to_string(),
        description: input.description.unwrap_or_default().trim().to_owned(),
        event_types: serde_json::json!(types),
        secret: secret.clone(),
        previous_secret: None,
        previous_secret_expires_at: None,
        enabled: input.enabled.unwrap_or(true),
        disabled_reason: None,
        event_cursor: head,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let endpoint = webhook_endpoint::ActiveModel::from(endpoint)
        .insert(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.created",
        "webhook_endpoint",
        Some(endpoint.id.to_string()),
        serde_json::json!({ "eventTypes": types }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<webhook_endpoint::Model>> {
    actor.require(Permission::ManageTenant)?;
    Ok(repo::webhooks::endpoints(state.db.reader(), actor.tenant_id).await?)
}

async fn find(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<webhook_endpoint::Model> {
    actor.require(Permission::ManageTenant)?;
    repo::webhooks::endpoint(state.db.writer(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("webhook endpoint"))
}

/// Changes what is given; re-enabling clears the reason it was disabled.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: EndpointInput,
) -> AppResult<webhook_endpoint::Model> {
    let endpoint = find(state, actor, id).await?;
    let now = state.now();
    let mut active = endpoint.into_active_model();
    if let Some(url) = &input.url {
        active.url = Set(target::parse_url(&state.settings, url, "input.url")?.to_string());
    }
    if let Some(types) = &input.event_types {
        active.event_types = Set(serde_json::json!(parse_event_types(
            types,
            "input.eventTypes"
        )?));
    }
    if let Some(description) = input.description {
        active.description = Set(description.trim().to_owned());
    }
    if let Some(enabled) = input.enabled {
        active.enabled = Set(enabled);
        if enabled {
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        }
    }
    active.updated_at = Set(now);
    let endpoint = active.update(state.db.writer()).await?;
    audit::record(
        state.db.writer(),
        actor,
        "webhook_endpoint.updated",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    Ok(endpoint)
}

/// A new signing secret (returned once); the old one keeps signing for [`ROTATION_GRACE`].
pub async fn rotate_secret(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let endpoint = find(state, actor, id).await?;
    let now = state.now();
    let secret = signing::new_secret();
    let old = endpoint.secret.clone();
    let mut active = endpoint.into_active_model();
    active.secret = Set(secret.clone());
    active.previous_secret = Set(Some(old));
    active.previous_secret_expires_at = Set(Some(now + ROTATION_GRACE));
    active.updated_at = Set(now);
    let endpoint = active.update(state.db.writer()).await?;
    audit::record(
        state.db.writer(),
        actor,
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    Ok((endpoint, secret))
}

/// Deletes the endpoint with its deliveries and attempts.
pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<()> {
    let endpoint = find(state, actor, id).await?;
    let now = state.now();
    let txn = state.db.writer().begin().await?;
    webhook_endpoint::ActiveModel::from(endpoint)
        .delete(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "webhook_endpoint.deleted",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A delivery with its attempts.
pub struct DeliveryDetail {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// An endpoint's deliveries, newest first; `status` is `pending`, `succeeded` or `failed`.
pub async fn deliveries(
    state: &AppState,
    actor: &Actor,
    endpoint_id: Uuid,
    status: Option<&str>,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<Vec<DeliveryDetail>> {
    find(state, actor, endpoint_id).await?;
    let conn = state.db.reader();
    let rows = repo::webhooks::deliveries(
        conn,
        actor.tenant_id,
        endpoint_id,
        status,
        after,
        first.clamp(1, 100),
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let mut attempts = repo::webhooks::attempts(conn, actor.tenant_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|delivery| {
            let mine;
            (mine, attempts) = attempts
                .drain(..)
                .partition(|a: &webhook_attempt::Model| a.delivery_id == delivery.id);
            DeliveryDetail {
                delivery,
                attempts: mine,
            }
        })
        .collect())
}

/// Sends a delivery again now, with the same `webhook-id` (receivers deduplicate on it).
pub async fn replay(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<webhook_delivery::Model> {
    actor.require(Permission::ManageTenant)?;
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let reset = repo::webhooks::reset_for_replay(&txn, actor.tenant_id, id, now).await?;
    let delivery = repo::webhooks::delivery(&txn, actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("webhook delivery"))?;
    if !reset {
        return Err(AppError::Conflict(
            "the delivery is being sent; wait for the attempt to finish".into(),
        ));
    }
    audit::record(
        &txn,
        actor,
        "webhook_delivery.replayed",
        "webhook_delivery",
        Some(id.to_string()),
        serde_json::json!({ "endpointId": delivery.endpoint_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    // Wakes this replica's sender now rather than at its next poll (the live feeds' pass that
    // this also triggers finds no new event and sends nothing).
    state.events.notify_committed(actor.tenant_id);
    Ok(delivery)
}
