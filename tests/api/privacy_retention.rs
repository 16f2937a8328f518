//! Retention (issue 29): messages, summaries and audit entries past their tenant's limits go,
//! oldest first; profiles, notes and history stay.

use chrono::Duration;
use serde_json::json;

use crate::helpers::{TestApp, add_note, message, record, set_profile_field, update_settings};

const LEAD: &str = r#"query($id: ID!) { lead(id: $id) {
  displayName notes { body } lastSummary { text }
  profile { key value } sessions { totalCount } } }"#;

async fn run_retention(app: &TestApp) -> u64 {
    let report = memodesk::services::privacy::retention::run(&app.state, None, &|_| {})
        .await
        .expect("retention");
    report.values().flat_map(|c| c.values()).sum()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.state.db.writer();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

#[tokio::test]
async fn old_messages_then_old_summaries_go_while_the_profile_and_notes_stay() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let forever = app.tenant("Keeps everything").await;
    update_settings(
        &app,
        &forever.admin,
        "messageRetentionDays: 0, summaryRetentionDays: 0",
    )
    .await;

    let first = record(
        &app,
        &t.agent,
        message(
            "WHATSAPP",
            "972525551234",
            "Hi, my name is Dana, I want a flight to Rome",
        ),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    record(
        &app,
        &t.agent,
        message("WHATSAPP", "972525551234", "next Monday please"),
    )
    .await;
    record(&app, &forever.agent, message("WEB", "v", "kept forever")).await;
    app.clock.advance(Duration::minutes(20));
    app.sweep(2).await;
    app.run_jobs(2).await;
    add_note(&app, &t.agent, &lead, "VIP", false).await;
    set_profile_field(&app, &t.agent, &lead, "city", "Haifa")
        .await
        .ok();

    // 89 days on: nothing is old enough.
    app.clock.advance(Duration::days(89));
    assert_eq!(run_retention(&app).await, 0);

    // 91 days on: the messages go, the summarized conversation and the profile stay.
    app.clock.advance(Duration::days(2));
    let recent = record(
        &app,
        &t.agent,
        message("WEB", "someone-else", "a new customer"),
    )
    .await;
    run_retention(&app).await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE content LIKE '%Rome%'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE content = 'kept forever'"
        )
        .await,
        1,
        "a tenant with messageRetentionDays 0 keeps its messages"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM messages WHERE content = 'a new customer'"
        )
        .await,
        1
    );
    let kept = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    let kept = &kept.ok()["lead"];
    assert_eq!(kept["displayName"], "Dana");
    assert_eq!(kept["notes"][0]["body"], "VIP");
    assert_eq!(kept["sessions"]["totalCount"], 1, "{kept}");
    assert!(kept["lastSummary"]["text"].is_string(), "{kept}");
    assert!(
        kept["profile"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["value"] == "Haifa")
    );

    // Two years on: the summary goes, and with it the conversation it kept.
    app.clock.advance(Duration::days(731));
    run_retention(&app).await;
    let later = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    let later = &later.ok()["lead"];
    assert_eq!(later["sessions"]["totalCount"], 0, "{later}");
    assert!(later["lastSummary"].is_null(), "{later}");
    assert_eq!(later["displayName"], "Dana");
    assert_eq!(later["notes"][0]["body"], "VIP");
    assert!(recent["lead"]["id"].is_string());
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM interaction_summaries").await,
        1,
        "only the tenant that keeps summaries forever has one"
    );

    // Each run is in the audit log, with counts (the earlier runs' entries are past the audit
    // retention by now: the last run's two remain), and counted in the metrics.
    let runs = count(
        &app,
        "SELECT COUNT(*) FROM audit_entries WHERE action = 'retention.run'",
    )
    .await;
    assert_eq!(runs, 2);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let deleted = metrics
        .lines()
        .find(|l| l.starts_with("memodesk_retention_deleted_total{table=\"messages\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let n: f64 = deleted.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 2.0, "{deleted}");
}

#[tokio::test]
async fn audit_entries_have_their_own_retention() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, "auditRetentionDays: 30").await;
    let before = count(&app, "SELECT COUNT(*) FROM audit_entries").await;
    assert!(before >= 1);
    app.clock.advance(Duration::days(31));
    run_retention(&app).await;
    // What is left: this run's own entry (and the other runs' of other tenants: none).
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_entries WHERE action <> 'retention.run'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn retention_settings_out_of_range_name_the_field_and_need_an_admin() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (input, field) in [
        ("messageRetentionDays: -1", "input.messageRetentionDays"),
        ("summaryRetentionDays: 4000", "input.summaryRetentionDays"),
        ("auditRetentionDays: -5", "input.auditRetentionDays"),
    ] {
        let r = app
            .gql(
                Some(&t.admin),
                &format!("mutation {{ updateTenantSettings(input: {{ {input} }}) {{ id }} }}"),
                json!({}),
            )
            .await;
        r.expect_error("BAD_USER_INPUT");
        assert_eq!(r.field(), Some(field));
    }
    for token in [&t.agent, &t.viewer] {
        app.gql(
            Some(token),
            "mutation { updateTenantSettings(input: { messageRetentionDays: 1 }) { id } }",
            json!({}),
        )
        .await
        .expect_error("FORBIDDEN");
    }
}

#[tokio::test]
async fn the_cli_runs_retention_for_one_tenant() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let u = app.tenant("Other").await;
    record(&app, &t.agent, message("WEB", "v", "old words")).await;
    record(&app, &u.agent, message("WEB", "v", "other old words")).await;
    // The CLI reads the real clock: make the messages old in the database instead.
    let old = (chrono::Utc::now() - Duration::days(200)).to_rfc3339();
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.state.db.writer();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE messages SET occurred_at = $1",
        [chrono::DateTime::parse_from_rfc3339(&old)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .into()],
    ))
    .await
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_memodesk"))
        .args([
            "--database-url",
            &app.db_url,
            "retention",
            "run",
            "--tenant",
        ])
        .arg(t.id.to_string())
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
    assert!(
        stdout.contains(&format!("{}\tmessages=1", t.id)),
        "{stdout}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages").await, 1);
}

#[tokio::test]
async fn a_note_about_an_expired_conversation_stays_when_the_conversation_goes() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, "messageRetentionDays: 30").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "hello there")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let session = first["session"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&t.agent),
        r#"mutation($lead: ID!, $session: ID!) {
             addNote(input: { leadId: $lead, sessionId: $session, body: "asked about Rome" }) { id } }"#,
        json!({ "lead": lead, "session": session }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        "mutation($id: ID!) { closeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await
    .ok();

    // Closed without a summary: once its message expires, the conversation is empty and goes.
    app.clock.advance(Duration::days(31));
    run_retention(&app).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    let answer = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    assert_eq!(
        answer.ok()["lead"]["notes"][0]["body"],
        "asked about Rome",
        "{answer:?}"
    );
}

#[tokio::test]
async fn more_expired_conversations_than_one_batch_all_go() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // 250 customers, one message each: more than a retention batch (200) of messages and then
    // of the conversations they leave empty.
    let inputs: Vec<_> = (0..250)
        .map(|i| message("WEB", &format!("visitor-{i}"), "just browsing"))
        .collect();
    let recorded = app
        .gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(recorded.ok()["recordMessages"]["recorded"], 250);
    app.clock.advance(Duration::minutes(20));
    app.sweep(250).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 250);

    app.clock.advance(Duration::days(91));
    run_retention(&app).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sessions").await,
        0,
        "every emptied conversation goes, across batches"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM leads").await,
        250,
        "the customers stay"
    );
}
