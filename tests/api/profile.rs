//! Profiles with provenance: staff edits beat AI guesses, rejections hold, history records all.

use memodesk::entities::{audit_entry, event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{TestApp, gapless_events, message, record};

const PROFILE: &str = r#"query($id: ID!) { lead(id: $id) { displayName
    profile { key value source confidence locked rejected previousValue updatedBy
              items { value source } evidence { messageId snippet } } } }"#;
const HISTORY: &str = r#"query($id: ID!, $key: String) { profileHistory(leadId: $id, key: $key) {
    key item oldValue newValue source outcome actor evidence } }"#;
const SET: &str = r#"mutation($id: ID!, $key: String!, $value: String!) {
    setProfileField(leadId: $id, key: $key, value: $value) { id } }"#;
const REJECT: &str = r#"mutation($id: ID!, $key: String!, $item: String) {
    rejectProfileField(leadId: $id, key: $key, item: $item) { id } }"#;
const RELEASE: &str =
    r#"mutation($id: ID!, $key: String!) { releaseProfileField(leadId: $id, key: $key) { id } }"#;

fn field<'a>(lead: &'a Value, key: &str) -> Option<&'a Value> {
    lead["profile"].as_array()?.iter().find(|f| f["key"] == key)
}

async fn profile(app: &TestApp, token: &str, lead: &str) -> Value {
    app.gql(Some(token), PROFILE, json!({ "id": lead }))
        .await
        .ok()["lead"]
        .clone()
}

/// A field's history, newest first.
async fn history(app: &TestApp, token: &str, lead: &str, key: &str) -> Vec<Value> {
    let history = app
        .gql(Some(token), HISTORY, json!({ "id": lead, "key": key }))
        .await;
    history.ok()["profileHistory"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_staff_edit_of_the_name_survives_later_ai_proposals() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v", "Hi, my name is Dana")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let message_id = first["message"]["id"].as_str().unwrap().to_owned();
    let before = profile(&app, &t.viewer, &lead).await;
    let name = field(&before, "name").expect("name extracted");
    assert_eq!(name["value"], "Dana");
    assert_eq!(name["source"], "AI");
    assert_eq!(name["evidence"][0]["messageId"], message_id.as_str());
    assert!(
        name["evidence"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("my name is Dana")
    );

    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "name", "value": "Danielle" }),
    )
    .await
    .ok();
    record(
        &app,
        &t.agent,
        message("WEB", "v", "My name is Dana, as I said"),
    )
    .await;
    record(&app, &t.agent, message("WEB", "v", "I'm Dana")).await;

    let after = profile(&app, &t.viewer, &lead).await;
    assert_eq!(after["displayName"], "Danielle");
    let name = field(&after, "name").unwrap();
    assert_eq!(name["value"], "Danielle");
    assert_eq!(name["source"], "MANUAL");
    assert_eq!(name["locked"], true);
    assert_eq!(name["previousValue"], "Dana");

    let history = history(&app, &t.viewer, &lead, "name").await;
    let outcomes: Vec<&str> = history
        .iter()
        .map(|h| h["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.first(), Some(&"KEPT_MANUAL"), "{outcomes:?}");
    assert!(outcomes.contains(&"APPLIED"));
    assert_eq!(
        outcomes.iter().filter(|o| **o == "KEPT_MANUAL").count(),
        2,
        "{outcomes:?}"
    );

    // Released, the AI may take the field back.
    app.gql(
        Some(&t.agent),
        RELEASE,
        json!({ "id": lead, "key": "name" }),
    )
    .await
    .ok();
    assert_eq!(
        field(&profile(&app, &t.viewer, &lead).await, "name").unwrap()["locked"],
        false
    );
    record(
        &app,
        &t.agent,
        message("WEB", "v", "Actually my name is Dana Levi"),
    )
    .await;
    let released = profile(&app, &t.viewer, &lead).await;
    assert_eq!(field(&released, "name").unwrap()["value"], "Dana Levi");
    assert_eq!(field(&released, "name").unwrap()["source"], "AI");
}

#[tokio::test]
async fn a_rejected_field_stays_empty_until_released() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v", "I live in Haifa")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        field(&profile(&app, &t.viewer, &lead).await, "city").unwrap()["value"],
        "Haifa"
    );
    app.gql(Some(&t.agent), REJECT, json!({ "id": lead, "key": "city" }))
        .await
        .ok();
    record(
        &app,
        &t.agent,
        message("WEB", "v", "As I said, I live in Haifa"),
    )
    .await;
    let city = field(&profile(&app, &t.viewer, &lead).await, "city")
        .cloned()
        .unwrap();
    assert_eq!(city["value"], Value::Null);
    assert_eq!(city["rejected"], true);
    assert_eq!(
        history(&app, &t.viewer, &lead, "city").await[0]["outcome"],
        "REJECTED_BY_STAFF"
    );
    app.gql(
        Some(&t.agent),
        RELEASE,
        json!({ "id": lead, "key": "city" }),
    )
    .await
    .ok();
    record(&app, &t.agent, message("WEB", "v", "I live in Haifa now")).await;
    assert_eq!(
        field(&profile(&app, &t.viewer, &lead).await, "city").unwrap()["value"],
        "Haifa"
    );
}

#[tokio::test]
async fn list_fields_merge_item_by_item_and_staff_removals_block_items() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(
        &app,
        &t.agent,
        message("WEB", "v", "How much is a flight to Rome?"),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    record(
        &app,
        &t.agent,
        message("WEB", "v", "Do you also have hotels in Rome?"),
    )
    .await;
    let interests = field(&profile(&app, &t.viewer, &lead).await, "interests")
        .cloned()
        .unwrap();
    let items: Vec<&str> = interests["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert!(
        items.contains(&"flights") && items.contains(&"hotels"),
        "{items:?}"
    );

    // Staff keep only hotels: flights is blocked and the AI cannot bring it back.
    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "interests", "value": "hotels" }),
    )
    .await
    .ok();
    record(
        &app,
        &t.agent,
        message("WEB", "v", "What does a flight to Paris cost?"),
    )
    .await;
    let interests = field(&profile(&app, &t.viewer, &lead).await, "interests")
        .cloned()
        .unwrap();
    assert_eq!(interests["value"], "hotels");
    let history = history(&app, &t.viewer, &lead, "interests").await;
    let latest = &history[0];
    assert_eq!(latest["item"], "flights");
    assert_eq!(latest["outcome"], "REJECTED_BY_STAFF");

    // Rejecting one item by name.
    app.gql(
        Some(&t.agent),
        REJECT,
        json!({ "id": lead, "key": "interests", "item": "hotels" }),
    )
    .await
    .ok();
    let interests = field(&profile(&app, &t.viewer, &lead).await, "interests").cloned();
    assert!(interests.is_none_or(|f| f["value"].is_null()));
    // `item` makes no sense for a scalar field.
    let bad = app
        .gql(
            Some(&t.agent),
            REJECT,
            json!({ "id": lead, "key": "city", "item": "x" }),
        )
        .await;
    bad.expect_error("BAD_USER_INPUT");
    assert_eq!(bad.field(), Some("item"));
}

#[tokio::test]
async fn the_channel_name_is_a_channel_proposal_and_values_are_normalized() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut input = message("WHATSAPP", "972525551234", "hello");
    input["displayName"] = json!("Dana Cohen");
    let first = record(&app, &t.agent, input).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let p = profile(&app, &t.viewer, &lead).await;
    assert_eq!(field(&p, "name").unwrap()["source"], "CHANNEL");
    assert_eq!(field(&p, "phone").unwrap()["value"], "+972525551234");
    assert_eq!(field(&p, "phone").unwrap()["source"], "CHANNEL");

    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "email", "value": "  Dana@Example.COM " }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "preferred_currency", "value": "eur" }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "loyalty_tier", "value": "gold" }),
    )
    .await
    .ok();
    let p = profile(&app, &t.viewer, &lead).await;
    assert_eq!(field(&p, "email").unwrap()["value"], "dana@example.com");
    assert_eq!(field(&p, "preferred_currency").unwrap()["value"], "EUR");
    assert_eq!(field(&p, "loyalty_tier").unwrap()["value"], "gold");

    // The email now finds the lead from another channel.
    let email = record(
        &app,
        &t.agent,
        json!({ "channel": "EMAIL", "email": "dana@example.com", "content": "Sent from my laptop" }),
    )
    .await;
    assert_eq!(email["lead"]["id"], lead.as_str());

    for (key, value, want) in [
        ("email", "nope", "value"),
        ("phone", "12ab", "value"),
        ("Bad Key", "x", "key"),
    ] {
        let bad = app
            .gql(
                Some(&t.agent),
                SET,
                json!({ "id": lead, "key": key, "value": value }),
            )
            .await;
        bad.expect_error("BAD_USER_INPUT");
        assert_eq!(bad.field(), Some(want), "{key}");
    }
}

#[tokio::test]
async fn every_staff_edit_writes_an_audit_entry_and_an_event() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v", "hello")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&t.agent),
        SET,
        json!({ "id": lead, "key": "city", "value": "Eilat" }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        REJECT,
        json!({ "id": lead, "key": "budget" }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        RELEASE,
        json!({ "id": lead, "key": "city" }),
    )
    .await
    .ok();

    let audit = audit_entry::Entity::find()
        .filter(audit_entry::Column::TenantId.eq(t.id))
        .order_by_asc(audit_entry::Column::CreatedAt)
        .all(app.state.db.reader())
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "profile.field_set",
            "profile.field_rejected",
            "profile.field_released"
        ]
    );
    assert!(
        audit
            .iter()
            .all(|a| !a.details.to_string().contains("Eilat")),
        "no values in the audit log"
    );

    let events = event::Entity::find()
        .filter(event::Column::TenantId.eq(t.id))
        .filter(event::Column::EventType.eq("lead.updated"))
        .order_by_asc(event::Column::Seq)
        .all(app.state.db.reader())
        .await
        .unwrap();
    let keys: Vec<Value> = events.iter().map(|e| e.payload["keys"].clone()).collect();
    assert_eq!(keys, [json!(["city"]), json!(["budget"]), json!(["city"])]);
    // Sequence numbers are gapless per tenant.
    gapless_events(&app, t.id).await;
}

#[tokio::test]
async fn a_history_import_sent_newest_first_keeps_the_newest_facts() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    let said = |day: i64, content: &str| {
        let mut m = message("WEB", "v-import", content);
        m["occurredAt"] = json!((start + chrono::Duration::days(day)).to_rfc3339());
        m
    };
    // The importer sends the latest conversation first, then an older one.
    record(&app, &t.agent, said(10, "Hi, I live in Haifa")).await;
    let older = record(&app, &t.agent, said(1, "Hi, I live in Tel Aviv")).await;
    let lead = older["lead"]["id"].as_str().unwrap().to_owned();

    let now = profile(&app, &t.viewer, &lead).await;
    assert_eq!(field(&now, "city").unwrap()["value"], "Haifa");
    let history = history(&app, &t.viewer, &lead, "city").await;
    let outcomes: Vec<(&str, &str)> = history
        .iter()
        .map(|h| {
            (
                h["newValue"].as_str().unwrap(),
                h["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(outcomes.contains(&("Tel Aviv", "OUTDATED")), "{outcomes:?}");
    assert!(outcomes.contains(&("Haifa", "APPLIED")), "{outcomes:?}");
}

#[tokio::test]
async fn a_phone_or_email_that_finds_another_lead_is_recorded_not_taken() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // A family shares a phone and an email address; the parent wrote first.
    let mut parent = message("WEB", "visitor-parent", "Hi");
    parent["phone"] = json!("+14155550001");
    parent["email"] = json!("family@example.com");
    let parent = record(&app, &t.agent, parent).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = record(&app, &t.agent, message("WEB", "visitor-child", "Hello")).await;
    let child = child["lead"]["id"].as_str().unwrap().to_owned();
    // The child's next message carries the shared phone and mentions the shared email.
    let mut shared = message(
        "WEB",
        "visitor-child",
        "You can write to family@example.com",
    );
    shared["phone"] = json!("+14155550001");
    let recorded = record(&app, &t.agent, shared).await;
    assert_eq!(
        recorded["lead"]["id"],
        child.as_str(),
        "the web id finds the child"
    );
    assert_eq!(recorded["lead"]["primaryPhone"], Value::Null);

    let lead = profile(&app, &t.viewer, &child).await;
    assert_eq!(field(&lead, "phone"), None, "{lead}");
    assert_eq!(field(&lead, "email"), None, "{lead}");
    for (key, value, source) in [
        ("phone", "+14155550001", "CHANNEL"),
        ("email", "family@example.com", "AI"),
    ] {
        let entries = history(&app, &t.viewer, &child, key).await;
        assert_eq!(entries.len(), 1, "{key}: {entries:?}");
        assert_eq!(
            (
                entries[0]["newValue"].as_str(),
                entries[0]["source"].as_str(),
                entries[0]["outcome"].as_str()
            ),
            (Some(value), Some(source), Some("ANOTHER_LEAD"))
        );
    }
    // The phone still finds the parent.
    let context = app
        .gql(
            Some(&t.viewer),
            "query { memoryContext(phone: \"+14155550001\") { lead { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(context.ok()["memoryContext"]["lead"]["id"], parent.as_str());
    let parent = profile(&app, &t.viewer, &parent).await;
    assert_eq!(field(&parent, "phone").unwrap()["value"], "+14155550001");

    // The conversation's summary proposes the email again, with the same outcome.
    app.clock.advance(chrono::Duration::minutes(20));
    app.sweep(2).await;
    app.run_jobs(2).await;
    let lead = profile(&app, &t.viewer, &child).await;
    assert_eq!(field(&lead, "email"), None, "{lead}");
    let outcomes: Vec<(String, String)> = history(&app, &t.viewer, &child, "email")
        .await
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    // One from the message's extractor, one from the summary's facts.
    assert!(outcomes.iter().any(|(actor, _)| actor == "ai:builtin"));
    assert!(
        outcomes
            .iter()
            .any(|(actor, _)| actor.starts_with("ai:builtin:")),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|(_, outcome)| outcome == "ANOTHER_LEAD"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_phone_another_writer_gives_another_lead_meanwhile_is_declined_not_shared() {
    use memodesk::domain::{Channel, IdentityKind};
    use memodesk::entities::lead_identity;
    use sea_orm::{ActiveModelTrait, TransactionTrait};

    let app = TestApp::spawn().await;
    // Only PostgreSQL has concurrent writers; SQLite's one writer cannot interleave.
    if !app.is_postgres() {
        return;
    }
    let t = app.tenant("Acme").await;
    let other = record(&app, &t.agent, message("WEB", "visitor-b", "Hi")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let lead = record(&app, &t.agent, message("WEB", "visitor-a", "Hello")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another writer gives the phone to the other lead and commits while this message is
    // being recorded: after the message looked the phone up, before it wrote it.
    let racing = app.state.db.writer().begin().await.unwrap();
    lead_identity::ActiveModel::from(lead_identity::Model {
        tenant_id: t.id,
        id: uuid::Uuid::now_v7(),
        lead_id: other,
        kind: IdentityKind::Phone,
        value: "+14155550003".into(),
        channel: Channel::Web,
        created_at: app.state.now(),
    })
    .insert(&racing)
    .await
    .unwrap();
    let mut input = message("WEB", "visitor-a", "Here is my number");
    input["phone"] = json!("+14155550003");
    let (recorded, committed) = tokio::join!(record(&app, &t.agent, input), async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        racing.commit().await
    });
    committed.unwrap();
    assert_eq!(recorded["lead"]["id"], lead.as_str(), "{recorded}");
    assert_eq!(recorded["lead"]["primaryPhone"], Value::Null);
    let phone = history(&app, &t.viewer, &lead, "phone").await;
    assert_eq!(phone.len(), 1, "{phone:?}");
    assert_eq!(phone[0]["outcome"], "ANOTHER_LEAD");
}
