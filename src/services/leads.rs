//! Leads: lookups, lists, and staff creating or editing a lead.

use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::email::EmailAddress;
use crate::domain::phone::{self, PhoneNumber};
use crate::domain::profile::{FieldKey, KnownKey, ManualEdit, Profile};
use crate::domain::{Channel, EventType, IdentityKind, InvalidInput};
use crate::entities::{lead, lead_identity};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::repo::leads::{LeadFilter, LeadOrder};
use crate::repo::pagination::{Page, PageRequest};
use crate::services::audit;
use crate::services::profile::{self, StaffAction, StaffEdit};
use crate::state::AppState;

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<lead::Model> {
    actor.require(Permission::Read)?;
    let lead = repo::leads::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("lead"))?;
    audit::lead_viewed(state, actor, id, audit::LeadView::Lead).await;
    Ok(lead)
}

/// The lead a phone number belongs to; the number is read with the tenant's default region.
pub async fn by_phone(state: &AppState, actor: &Actor, phone: &str) -> AppResult<lead::Model> {
    actor.require(Permission::Read)?;
    let settings = state
        .tenants
        .get(state.db.reader(), actor.tenant_id)
        .await?;
    let phone = PhoneNumber::parse(phone, &settings.default_region, "phone")?;
    find_by_phone(state, actor.tenant_id, &phone)
        .await?
        .ok_or(AppError::not_found("lead"))
}

/// The lead behind a normalized phone number, if any (no permission check).
pub async fn find_by_phone(
    state: &AppState,
    tenant_id: Uuid,
    phone: &PhoneNumber,
) -> AppResult<Option<lead::Model>> {
    let identities = repo::identities::find_by_values(
        state.db.reader(),
        tenant_id,
        &[(IdentityKind::Phone, phone.as_str().to_owned())],
    )
    .await?;
    let Some(identity) = identities.first() else {
        return Ok(None);
    };
    Ok(repo::leads::find(state.db.reader(), tenant_id, identity.lead_id).await?)
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: &LeadFilter,
    order: LeadOrder,
    request: &PageRequest,
) -> AppResult<Page<lead::Model>> {
    actor.require(Permission::Read)?;
    validate_filter(filter)?;
    let filter = &with_phone_search(state, actor.tenant_id, filter).await?;
    let rows =
        repo::leads::page(state.db.reader(), actor.tenant_id, filter, order, request).await?;
    let rows = rows
        .into_iter()
        .map(|l| (repo::leads::cursor_of(&l, order), l))
        .collect();
    Ok(Page::from_rows(request, rows))
}

pub async fn count(state: &AppState, actor: &Actor, filter: &LeadFilter) -> AppResult<u64> {
    actor.require(Permission::Read)?;
    let filter = with_phone_search(state, actor.tenant_id, filter).await?;
    Ok(repo::leads::count(state.db.reader(), actor.tenant_id, &filter).await?)
}

/// A search written like a phone number also finds the leads with that number, however the
/// search writes it: `052-555-1234` finds `+972525551234` in an `IL` tenant, and `555-1234`
/// finds it by its digits.
async fn with_phone_search(
    state: &AppState,
    tenant_id: Uuid,
    filter: &LeadFilter,
) -> AppResult<LeadFilter> {
    let mut filter = filter.clone();
    let Some(search) = filter.search.as_deref() else {
        return Ok(filter);
    };
    let phone_shaped = search
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    if !phone_shaped {
        return Ok(filter);
    }
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    if phone::looks_like_phone(search) {
        let settings = state.tenants.get(state.db.reader(), tenant_id).await?;
        filter.search_phone = PhoneNumber::parse(search, &settings.default_region, "")
            .ok()
            .map(PhoneNumber::into_string);
    }
    if !digits.is_empty() && digits != search {
        filter.search_digits = Some(digits);
    }
    Ok(filter)
}

fn validate_filter(filter: &LeadFilter) -> Result<(), InvalidInput> {
    if let Some(search) = &filter.search
        && search.chars().count() > 200
    {
        return Err(InvalidInput::new(
            "filter.search",
            "search text is longer than 200 characters",
        ));
    }
    Ok(())
}

pub async fn identities(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
) -> AppResult<Vec<lead_identity::Model>> {
    actor.require(Permission::Read)?;
    Ok(repo::identities::for_leads(state.db.reader(), actor.tenant_id, &[lead_id]).await?)
}

/// Contact details staff type for a new or existing lead.
#[derive(Debug, Clone, Default)]
pub struct LeadDetails {
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Staff create a lead; what they type becomes MANUAL profile values.
pub async fn create(state: &AppState, actor: &Actor, input: LeadDetails) -> AppResult<lead::Model> {
    actor.require(Permission::WriteProfile)?;
    let settings = state
        .tenants
        .get(state.db.reader(), actor.tenant_id)
        .await?;
    let name = input
        .display_name
        .as_deref()
        .map(|n| {
            crate::domain::profile::keys::normalize_value(
                &FieldKey::known(KnownKey::Name),
                n,
                &settings.default_region,
                "input.displayName",
            )
        })
        .transpose()?;
    let phone = input
        .phone
        .as_deref()
        .map(|p| PhoneNumber::parse(p, &settings.default_region, "input.phone"))
        .transpose()?;
    let email = input
        .email
        .as_deref()
        .map(|e| EmailAddress::parse(e, "input.email"))
        .transpose()?;
    if name.is_none() && phone.is_none() && email.is_none() {
        return Err(AppError::bad_input(
            "input",
            "give at least a displayName, phone or email",
        ));
    }
    let now = state.now();
    let id = Uuid::now_v7();
    let label = actor.label();
    let mut profile = Profile::default();
    let mut records = Vec::new();
    let mut identities = Vec::new();
    for (key, value) in [
        (KnownKey::Name, name),
        (
            KnownKey::Phone,
            phone.as_ref().map(|p| p.as_str().to_owned()),
        ),
        (
            KnownKey::Email,
            email.as_ref().map(|e| e.as_str().to_owned()),
        ),
    ] {
        let Some(value) = value else { continue };
        match key {
            KnownKey::Phone => identities.push((IdentityKind::Phone, value.clone())),
            KnownKey::Email => identities.push((IdentityKind::Email, value.clone())),
            _ => {}
        }
        records.push(profile.set_manual(ManualEdit {
            key: FieldKey::known(key),
            values: vec![value],
            actor: label.clone(),
            at: now,
        }));
    }
    let lead = lead::Model {
        display_name: profile.value(KnownKey::Name.as_str()),
        primary_phone: phone.map(PhoneNumber::into_string),
        email: email.map(EmailAddress::into_string),
        profile: serde_json::to_value(&profile).map_err(anyhow::Error::from)?,
        ..lead::Model::new(actor.tenant_id, id, now, now)
    };

    let txn = state.db.begin_write().await?;
    let taken = repo::identities::find_by_values(&txn, actor.tenant_id, &identities).await?;
    if let Some(identity) = taken.first() {
        let field = match identity.kind {
            IdentityKind::Email => "input.email",
            _ => "input.phone",
        };
        return Err(AppError::Conflict(format!(
            "{field}: a lead with this {} already exists",
            identity.kind
        )));
    }
    repo::leads::upsert_many(&txn, vec![lead.clone()]).await?;
    repo::identities::insert_many(
        &txn,
        profile::identity_rows(actor.tenant_id, id, &identities, Channel::Web, now),
    )
    .await?;
    repo::profile_changes::insert_many(&txn, profile::history_rows(actor.tenant_id, id, &records))
        .await?;
    audit::record(
        &txn,
        actor,
        "lead.created",
        "lead",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    outbox::append(
        &txn,
        actor.tenant_id,
        vec![NewEvent::new(
            EventType::LeadCreated,
            Some(id),
            None,
            serde_json::json!({ "leadId": id, "by": "staff" }),
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    state.events.notify_committed(actor.tenant_id);
    Ok(lead)
}

/// Staff edit a lead's name, phone or email (MANUAL profile values); `None` leaves one as is.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: LeadDetails,
) -> AppResult<lead::Model> {
    let mut edits = Vec::new();
    for (key, value, field) in [
        (KnownKey::Name, input.display_name, "input.displayName"),
        (KnownKey::Phone, input.phone, "input.phone"),
        (KnownKey::Email, input.email, "input.email"),
    ] {
        if let Some(value) = value {
            edits.push(StaffEdit {
                key: key.as_str().to_owned(),
                action: StaffAction::Set(value),
                field: field.to_owned(),
            });
        }
    }
    if edits.is_empty() {
        return Err(AppError::bad_input(
            "input",
            "give at least one of displayName, phone or email",
        ));
    }
    profile::staff_edits(state, actor, id, edits, "lead.updated").await
}
