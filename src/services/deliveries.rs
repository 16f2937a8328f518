//! Delivery receipts: a channel reports that an outbound message was sent, delivered, read or
//! failed. The message is found by (tenant, channel, external id); its status only moves
//! forward, and each change writes a `message.updated` event in the same transaction.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::{Channel, EventType};
use crate::entities::message;
use crate::error::AppResult;
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::state::AppState;

/// One receipt: the provider's id of the message, and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub external_id: String,
    pub status: DeliveryStatus,
}

/// What a batch of receipts changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Messages whose status changed.
    pub updated: usize,
    /// Receipts for messages memodesk never recorded (sent by another system).
    pub unknown: usize,
    /// Receipts that did not move their message forward (repeats, late arrivals).
    pub unchanged: usize,
}

/// Applies receipts in order (a batch may carry `sent`, `delivered` and `read` of one message).
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
    updates: Vec<DeliveryUpdate>,
) -> AppResult<DeliveryOutcome> {
    actor.require(Permission::WriteMessages)?;
    let mut outcome = DeliveryOutcome::default();
    if updates.is_empty() {
        return Ok(outcome);
    }
    let tenant_id = actor.tenant_id;
    let now = state.now();
    let mut keys: Vec<(Channel, String)> = updates
        .iter()
        .map(|u| (channel, u.external_id.clone()))
        .collect();
    keys.sort();
    keys.dedup();

    let txn = state.db.begin_write().await?;
    let messages: HashMap<String, message::Model> =
        repo::messages::find_by_external_ids(&txn, tenant_id, &keys)
            .await?
            .into_iter()
            .filter_map(|m| Some((m.external_id.clone()?, m)))
            .collect();

    // The status each message ends at, in first-seen order.
    let mut order: Vec<Uuid> = Vec::new();
    let mut target: HashMap<Uuid, (&message::Model, DeliveryStatus)> = HashMap::new();
    for update in &updates {
        let Some(message) = messages.get(&update.external_id) else {
            outcome.unknown += 1;
            continue;
        };
        let current = target
            .get(&message.id)
            .map(|(_, s)| s.as_str())
            .or(message.delivery_status.as_deref());
        if !update.status.advances(current) {
            outcome.unchanged += 1;
            continue;
        }
        if !target.contains_key(&message.id) {
            order.push(message.id);
        }
        target.insert(message.id, (message, update.status));
    }

    let mut events = Vec::new();
    for id in order {
        let Some((message, status)) = target.get(&id) else {
            continue;
        };
        // Guarded in SQL as well: a concurrent receipt may have moved the message further
        // since it was read above, and a status never goes back.
        let not_behind: Vec<&str> = [
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .map(DeliveryStatus::as_str)
        .filter(|s| !status.replaceable().contains(s))
        .collect();
        let changed =
            repo::messages::set_delivery_status(&txn, tenant_id, id, status.as_str(), &not_behind)
                .await?;
        if !changed {
            outcome.unchanged += 1;
            continue;
        }
        outcome.updated += 1;
        events.push(NewEvent::new(
            EventType::MessageUpdated,
            Some(message.lead_id),
            Some(message.session_id),
            json!({
                "messageId": message.id,
                "sessionId": message.session_id,
                "leadId": message.lead_id,
                "channel": channel,
                "deliveryStatus": status.as_str(),
            }),
        ));
    }
    let appended = outbox::append(&txn, tenant_id, events, now)
        .await?
        .is_some();
    txn.commit().await?;
    if appended {
        state.events.notify_committed(tenant_id);
    }
    Ok(outcome)
}
