//! Erasure on request (issue 29): `eraseLead` and `memodesk lead erase`.

use chrono::Duration;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestTenant, add_note, events, message, record, set_profile_field, update_settings,
};

pub const ERASE: &str = r#"mutation($id: ID!, $reason: String!) {
  eraseLead(id: $id, reason: $reason) { id leadId erasedAt removed { table rows } } }"#;

const LEAD: &str =
    "query($id: ID!) { lead(id: $id) { id displayName previouslyErased messageCount } }";

/// The words only the erased customer's data contains.
pub const SECRETS: &[&str] = &[
    "Zebulon",
    "Quixote",
    "Reykjavik",
    "Akureyri",
    "525551234",
    "window seats",
    "4000 euros",
];

fn wa(content: &str) -> Value {
    json!({ "channel": "WHATSAPP", "externalUserId": "972525551234",
            "displayName": "Zebulon Quixote", "content": content })
}

/// A customer with history on WhatsApp and a call: an AI-filled profile, a summary, a pending
/// summary job, a staff note and a manual edit. Returns the lead id.
pub async fn rich_lead(app: &TestApp, t: &TestTenant) -> String {
    update_settings(app, &t.admin, r#"defaultRegion: "IL""#).await;
    let first = record(
        app,
        &t.agent,
        wa("Hi, my name is Zebulon and I'm looking for a flight to Reykjavik"),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    record(
        app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": "972525551234", "role": "AGENT",
                "content": "Happy to help with Reykjavik! When?" }),
    )
    .await;
    record(app, &t.agent, wa("Next Monday. I live in Tel Aviv")).await;
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    app.run_jobs(1).await;

    let call = record(
        app,
        &t.agent,
        json!({ "channel": "CALL", "phone": "052-555-1234",
                "content": "Calling about the Reykjavik trip, my budget is 4000 euros" }),
    )
    .await;
    assert_eq!(call["lead"]["id"], lead.as_str(), "{call}");
    app.clock.advance(Duration::minutes(20));
    // The call's summary job stays queued.
    app.sweep(1).await;

    add_note(
        app,
        &t.agent,
        &lead,
        "Prefers window seats, Quixote family",
        true,
    )
    .await;
    set_profile_field(app, &t.agent, &lead, "city", "Akureyri")
        .await
        .ok();
    lead
}

/// Every text value in every table of the app's database that contains one of `needles`, as
/// `table.column: needle`.
pub async fn find_strings(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let db = app.state.db.writer();
    let backend = db.get_database_backend();
    let query = |sql: String| async move {
        db.query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
    };
    let mut columns: Vec<(String, String)> = Vec::new();
    if app.is_postgres() {
        for row in query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type <> 'bytea'"
                .into(),
        )
        .await
        {
            columns.push((
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
            ));
        }
    } else {
        for row in query("SELECT name FROM sqlite_master WHERE type = 'table'".into()).await {
            let table: String = row.try_get_by_index(0).unwrap();
            for col in query(format!("SELECT name FROM pragma_table_info('{table}')")).await {
                columns.push((table.clone(), col.try_get_by_index(0).unwrap()));
            }
        }
    }
    assert!(columns.len() > 50, "{columns:?}");
    let mut hits = Vec::new();
    for (table, column) in columns {
        let sql = if app.is_postgres() {
            format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"")
        } else {
            format!("SELECT \"{column}\" FROM \"{table}\" WHERE typeof(\"{column}\") = 'text'")
        };
        for row in query(sql).await {
            let value: Option<String> = row.try_get_by_index(0).unwrap();
            let Some(value) = value else { continue };
            let lower = value.to_lowercase();
            for needle in needles {
                if lower.contains(&needle.to_lowercase()) {
                    hits.push(format!("{table}.{column}: {needle}"));
                }
            }
        }
    }
    hits
}

#[tokio::test]
async fn an_erased_customer_leaves_no_trace_in_any_table_and_others_keep_theirs() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = rich_lead(&app, &t).await;
    let before = find_strings(&app, SECRETS).await;
    for secret in SECRETS {
        assert!(
            before
                .iter()
                .any(|hit| hit.ends_with(&format!(": {secret}"))),
            "the fixture should store `{secret}` somewhere: {before:?}"
        );
    }
    // Someone else in the same tenant, and a customer of another tenant.
    let other = record(
        &app,
        &t.agent,
        message(
            "WHATSAPP",
            "972500000001",
            "Hello from Brunhilde, the other customer",
        ),
    )
    .await;
    let u = app.tenant("Other").await;
    record(
        &app,
        &u.agent,
        message(
            "WHATSAPP",
            "972500000002",
            "Tenant two's message from Ottokar",
        ),
    )
    .await;

    let erased = app
        .gql(
            Some(&t.admin),
            ERASE,
            json!({ "id": lead, "reason": "the customer asked by email" }),
        )
        .await;
    let receipt = &erased.ok()["eraseLead"];
    assert_eq!(receipt["leadId"], lead.as_str());
    let removed = |table: &str| {
        receipt["removed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["table"] == table)
            .map_or(0, |r| r["rows"].as_i64().unwrap())
    };
    assert_eq!(removed("messages"), 4, "{receipt}");
    assert_eq!(removed("sessions"), 2, "{receipt}");
    assert_eq!(removed("interaction_summaries"), 1, "{receipt}");
    assert!(removed("notes") >= 1, "{receipt}");
    assert_eq!(removed("leads"), 1, "{receipt}");
    assert_eq!(removed("jobs"), 2, "{receipt}");
    assert!(removed("profile_field_changes") >= 2, "{receipt}");
    assert!(removed("lead_identities") >= 2, "{receipt}");
    assert!(removed("events") >= 8, "{receipt}");
    // Every message, note and summary had its search entry (on SQLite found through the
    // lead's token in the index, which has no index on the lead column).
    assert_eq!(
        removed("search_documents"),
        removed("messages") + removed("notes") + removed("interaction_summaries"),
        "{receipt}"
    );
    assert_eq!(rows_of(&app, "search_documents", &lead).await, 0);

    let hits = find_strings(&app, SECRETS).await;
    assert!(hits.is_empty(), "erased data is still stored: {hits:?}");
    let kept = find_strings(&app, &["Brunhilde", "Ottokar"]).await;
    assert!(
        kept.iter().any(|h| h.contains("Brunhilde")) && kept.iter().any(|h| h.contains("Ottokar")),
        "{kept:?}"
    );

    app.gql(Some(&t.admin), LEAD, json!({ "id": lead }))
        .await
        .expect_error("NOT_FOUND");
    let other_id = other["lead"]["id"].as_str().unwrap();
    let still = app
        .gql(Some(&t.viewer), LEAD, json!({ "id": other_id }))
        .await;
    assert_eq!(still.ok()["lead"]["previouslyErased"], false);

    // Subscribers are told, with ids only.
    let tenant_events = events(&app, t.id).await;
    let last = tenant_events.last().unwrap();
    assert_eq!(last.event_type, "lead.erased");
    assert_eq!(last.lead_id.map(|id| id.to_string()), Some(lead.clone()));
    assert_eq!(
        last.payload.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["erasureId", "leadId"]
    );
}

#[tokio::test]
async fn a_customer_who_writes_again_after_erasure_is_a_new_lead_flagged_previously_erased() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let first = record(&app, &t.agent, wa("Hi, my name is Zebulon")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&t.admin),
        ERASE,
        json!({ "id": lead, "reason": "customer request" }),
    )
    .await
    .ok();

    let again = record(&app, &t.agent, wa("Hello again")).await;
    assert_eq!(again["leadCreated"], true);
    let new_id = again["lead"]["id"].as_str().unwrap();
    assert_ne!(new_id, lead);
    let fresh = app
        .gql(Some(&t.viewer), LEAD, json!({ "id": new_id }))
        .await;
    assert_eq!(fresh.ok()["lead"]["previouslyErased"], true);
    assert_eq!(fresh.ok()["lead"]["messageCount"], 1);

    // A call from the same number, typed the local way, is the same returning customer.
    let call = record(
        &app,
        &t.agent,
        json!({ "channel": "CALL", "phone": "052-555-1234", "content": "hi" }),
    )
    .await;
    assert_eq!(call["lead"]["id"], new_id);

    // The same number in another tenant was never erased there.
    let u = app.tenant("Other").await;
    let elsewhere = record(&app, &u.agent, wa("Hello")).await;
    let elsewhere_id = elsewhere["lead"]["id"].as_str().unwrap();
    let flagged = app
        .gql(Some(&u.viewer), LEAD, json!({ "id": elsewhere_id }))
        .await;
    assert_eq!(flagged.ok()["lead"]["previouslyErased"], false);
}

#[tokio::test]
async fn erasing_needs_an_admin_a_reason_and_a_lead_of_ones_own_tenant() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let u = app.tenant("Other").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "hello")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();

    let key = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "all", scopes: [READ, INGEST, EXPORT]) { token } }"#,
            json!({}),
        )
        .await;
    let key = key.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&t.agent, &t.viewer, &key] {
        app.gql(
            Some(token),
            ERASE,
            json!({ "id": lead, "reason": "because" }),
        )
        .await
        .expect_error("FORBIDDEN");
    }
    let empty = app
        .gql(Some(&t.admin), ERASE, json!({ "id": lead, "reason": "  " }))
        .await;
    empty.expect_error("BAD_USER_INPUT");
    assert_eq!(empty.field(), Some("reason"));

    // Another tenant's lead is not found, exactly like a lead that never existed.
    let foreign = app
        .gql(
            Some(&u.admin),
            ERASE,
            json!({ "id": lead, "reason": "because" }),
        )
        .await;
    let missing = app
        .gql(
            Some(&u.admin),
            ERASE,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "reason": "because" }),
        )
        .await;
    assert_eq!(
        foreign.expect_error("NOT_FOUND"),
        missing.expect_error("NOT_FOUND")
    );

    // Nothing was erased by any of the refused attempts.
    let still = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    assert_eq!(still.ok()["lead"]["messageCount"], 1);
}

#[tokio::test]
async fn the_cli_erases_a_lead_and_prints_what_it_removed() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "I am Zebulon")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_memodesk"))
        .args([
            "--database-url",
            &app.db_url,
            "lead",
            "erase",
            "--tenant",
            &t.id.to_string(),
            "--lead",
            &lead,
            "--reason",
            "ticket 42",
        ])
        .env_clear()
        .env("MEMODESK_JWT_SECRET", crate::helpers::JWT_SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("erased lead {lead}")), "{stdout}");
    assert!(stdout.contains("messages\t1"), "{stdout}");
    assert!(find_strings(&app, &["Zebulon"]).await.is_empty());

    // Again: the lead is gone.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_memodesk"))
        .args([
            "--database-url",
            &app.db_url,
            "lead",
            "erase",
            "--tenant",
            &t.id.to_string(),
            "--lead",
            &lead,
            "--reason",
            "ticket 42",
        ])
        .env_clear()
        .env("MEMODESK_JWT_SECRET", crate::helpers::JWT_SECRET)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("NOT_FOUND"));
}

fn allow_private(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
}

/// Rows of `table` whose `lead_id` is `lead`.
async fn rows_of(app: &TestApp, table: &str, lead: &str) -> i64 {
    let db = app.state.db.writer();
    let backend = db.get_database_backend();
    let lead = uuid::Uuid::parse_str(lead).unwrap();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) FROM {table} WHERE lead_id = {}",
                if app.is_postgres() { "$1" } else { "?" }
            ),
            [lead.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

#[tokio::test]
async fn erasing_a_customer_removes_the_webhook_deliveries_about_them() {
    let app = TestApp::spawn_with(crate::helpers::TestOptions {
        settings: Some(allow_private),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    // A receiver that is down: deliveries and failed attempts pile up.
    app.gql(
        Some(&t.admin),
        r#"mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/hook",
             eventTypes: ["message.created", "note.created"] }) { endpoint { id } } }"#,
        json!({}),
    )
    .await
    .ok();
    let lead = rich_lead(&app, &t).await;
    let other = record(&app, &t.agent, message("WEB", "v2", "someone else")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    memodesk::services::outbound::sender::run_once(&app.state)
        .await
        .expect("webhook step");
    assert!(rows_of(&app, "webhook_deliveries", &lead).await > 0);
    assert!(rows_of(&app, "webhook_attempts", &lead).await > 0);
    assert!(rows_of(&app, "webhook_deliveries", &other).await > 0);

    let erased = app
        .gql(
            Some(&t.admin),
            ERASE,
            json!({ "id": lead, "reason": "customer request" }),
        )
        .await;
    let removed = erased.ok()["eraseLead"]["removed"]
        .as_array()
        .unwrap()
        .clone();
    let count = |table: &str| {
        removed
            .iter()
            .find(|r| r["table"] == table)
            .map(|r| r["rows"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert!(count("webhook_deliveries") > 0, "{removed:?}");
    assert!(count("webhook_attempts") > 0, "{removed:?}");
    assert_eq!(rows_of(&app, "webhook_deliveries", &lead).await, 0);
    assert_eq!(rows_of(&app, "webhook_attempts", &lead).await, 0);
    // Another customer's deliveries stay.
    assert!(rows_of(&app, "webhook_deliveries", &other).await > 0);
}
