//! The OpenAI-compatible client against a real local HTTP server: good answers, retries,
//! fallbacks, and facts that meet staff values.

use std::time::Duration;

use chrono::Duration as Minutes;
use memodesk::workers;
use serde_json::{Value, json};

use crate::fake_llm::{FakeLlm, Reply, good_summary};
use crate::helpers::{TestApp, TestOptions, message, record};

const SUMMARY: &str = r#"query($id: ID!) { session(id: $id) { summary {
    summary provider model promptVersion fallbackReason promptTokens completionTokens
    facts { key value confidence evidence } intents sentiment nextStep } } }"#;

/// Records a short conversation, lets it go idle, and runs the sweeper and the jobs.
async fn conversation_summarized(
    app: &TestApp,
    token: &str,
    user: &str,
    lines: &[&str],
) -> (String, String, Vec<String>) {
    let mut session = String::new();
    let mut lead = String::new();
    let mut ids = Vec::new();
    for line in lines {
        let r = record(app, token, message("WEB", user, line)).await;
        session = r["session"]["id"].as_str().unwrap().to_owned();
        lead = r["lead"]["id"].as_str().unwrap().to_owned();
        ids.push(r["message"]["id"].as_str().unwrap().to_owned());
    }
    app.clock.advance(Minutes::minutes(16));
    assert!(
        memodesk::services::sessions::close_idle(&app.state)
            .await
            .unwrap()
            >= 1
    );
    let report = workers::jobs::run_pending(&app.state).await.unwrap();
    assert_eq!(report.done, 1, "{report:?}");
    (session, lead, ids)
}

async fn summary_of(app: &TestApp, token: &str, session: &str) -> Value {
    app.gql(Some(token), SUMMARY, json!({ "id": session }))
        .await
        .ok()["session"]["summary"]
        .clone()
}

#[tokio::test]
async fn a_good_answer_is_stored_with_its_tokens_and_its_facts_are_merged() {
    let fake = FakeLlm::start(vec![]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 2)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let first = record(
        &app,
        &t.agent,
        message("WEB", "v", "Hi, I'm looking for a flight to Rome"),
    )
    .await;
    let evidence = first["message"]["id"].as_str().unwrap().to_owned();
    fake.push(Reply::Summary(good_summary(json!([
        { "key": "city", "value": "Haifa", "confidence": 0.8, "evidence": [evidence] },
        { "key": "preferred_currency", "value": "usd", "confidence": 0.7, "evidence": [] },
        { "key": "Not A Key", "value": "x", "confidence": 0.9, "evidence": [] },
    ]))));
    let (session, lead, _) =
        conversation_summarized(&app, &t.agent, "v", &["And what about hotels?"]).await;

    let summary = summary_of(&app, &t.viewer, &session).await;
    assert_eq!(summary["provider"], "openai");
    assert_eq!(summary["model"], "fake-model-2026");
    assert_eq!(summary["promptVersion"], "summary-v1");
    assert_eq!(summary["fallbackReason"], Value::Null);
    assert_eq!(summary["promptTokens"], 321);
    assert_eq!(summary["completionTokens"], 54);
    assert_eq!(summary["intents"], json!(["PRICING", "PRODUCT_INQUIRY"]));
    assert_eq!(summary["nextStep"], "Call back tomorrow");

    let profile = app
        .gql(Some(&t.viewer), "query($id: ID!) { lead(id: $id) { lastSummary { text channel } profile { key value source evidence { messageId } } } }", json!({ "id": lead }))
        .await;
    let lead_data = &profile.ok()["lead"];
    assert!(
        lead_data["lastSummary"]["text"]
            .as_str()
            .unwrap()
            .contains("flights to Rome")
    );
    let fields = lead_data["profile"].as_array().unwrap();
    let city = fields
        .iter()
        .find(|f| f["key"] == "city")
        .expect("city merged");
    assert_eq!(city["value"], "Haifa");
    assert_eq!(city["source"], "AI");
    assert_eq!(city["evidence"][0]["messageId"], evidence.as_str());
    assert!(
        fields
            .iter()
            .any(|f| f["key"] == "preferred_currency" && f["value"] == "USD")
    );
    assert!(!fields.iter().any(|f| f["key"] == "Not A Key"));

    // What the provider was sent: the model, strict JSON schema, the prompt, the API key.
    let request = &fake.requests()[0];
    assert_eq!(request["model"], "fake-model");
    assert_eq!(request["response_format"]["type"], "json_schema");
    assert_eq!(request["response_format"]["json_schema"]["strict"], true);
    assert!(
        request["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );
    assert!(
        request["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("flight to Rome")
    );
    assert_eq!(request["authorization"], "Bearer sk-test");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let fake = FakeLlm::start(vec![Reply::Status(429, Some("1"))]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 2)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let started = std::time::Instant::now();
    let (session, _, _) =
        conversation_summarized(&app, &t.agent, "v", &["What does a hotel in Eilat cost?"]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
    assert_eq!(fake.requests().len(), 2);
    let summary = summary_of(&app, &t.viewer, &session).await;
    assert_eq!(summary["provider"], "openai");
    assert_eq!(summary["fallbackReason"], Value::Null);
}

#[tokio::test]
async fn repeated_server_errors_fall_back_to_the_builtin_summary() {
    let fake = FakeLlm::start(vec![
        Reply::Status(500, None),
        Reply::Status(502, None),
        Reply::Status(503, None),
    ])
    .await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 2)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let (session, lead, _) = conversation_summarized(
        &app,
        &t.agent,
        "v",
        &["Hi, my name is Dana", "How much is a flight to Rome?"],
    )
    .await;
    assert_eq!(fake.requests().len(), 3, "one try and two retries");
    let summary = summary_of(&app, &t.viewer, &session).await;
    assert_eq!(summary["provider"], "builtin");
    let reason = summary["fallbackReason"].as_str().unwrap();
    assert!(reason.contains("kept failing"), "{reason}");
    assert!(
        !reason.contains("Dana"),
        "the reason never quotes the conversation"
    );
    assert!(!summary["summary"].as_str().unwrap().is_empty());
    // The session is never left without a summary, and the lead shows it.
    let lead = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { lastSummary { text } } }",
            json!({ "id": lead }),
        )
        .await;
    assert!(
        !lead.ok()["lead"]["lastSummary"]["text"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_timeout_falls_back_without_retrying() {
    let fake = FakeLlm::start(vec![Reply::Slow(Duration::from_secs(3))]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_millis(300), 2)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let (session, _, _) =
        conversation_summarized(&app, &t.agent, "v", &["Can I book a table for Friday?"]).await;
    let summary = summary_of(&app, &t.viewer, &session).await;
    assert_eq!(summary["provider"], "builtin");
    assert!(
        summary["fallbackReason"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn invalid_json_falls_back() {
    let fake = FakeLlm::start(vec![
        Reply::Content("Sure! Here is a summary: the customer wanted flights.".into()),
        Reply::Summary(json!({ "summary": "missing fields" })),
    ])
    .await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 0)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let (first, _, _) =
        conversation_summarized(&app, &t.agent, "a", &["Hello, I need help with my order"]).await;
    let (second, _, _) =
        conversation_summarized(&app, &t.agent, "b", &["Hello, what are your prices?"]).await;
    for session in [first, second] {
        let summary = summary_of(&app, &t.viewer, &session).await;
        assert_eq!(summary["provider"], "builtin");
        assert!(
            summary["fallbackReason"]
                .as_str()
                .unwrap()
                .contains("requested JSON"),
            "{summary}"
        );
    }
}

#[tokio::test]
async fn facts_that_meet_a_staff_value_are_recorded_as_kept_manual() {
    let fake = FakeLlm::start(vec![]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 0)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v", "Hi there")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { setProfileField(leadId: $id, key: "name", value: "Danielle") { id } }"#,
        json!({ "id": lead }),
    )
    .await
    .ok();
    fake.push(Reply::Summary(good_summary(json!([
        { "key": "name", "value": "Dana", "confidence": 0.99, "evidence": [first["message"]["id"]] }
    ]))));
    conversation_summarized(&app, &t.agent, "v", &["call me whatever"]).await;
    let data = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { lead(id: $id) { displayName }
                profileHistory(leadId: $id, key: "name") { outcome newValue source actor } }"#,
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(data.ok()["lead"]["displayName"], "Danielle");
    let latest = &data.ok()["profileHistory"][0];
    assert_eq!(latest["outcome"], "KEPT_MANUAL");
    assert_eq!(latest["newValue"], "Dana");
    assert_eq!(latest["source"], "AI");
    assert!(latest["actor"].as_str().unwrap().starts_with("ai:openai"));
}

#[tokio::test]
async fn hebrew_conversations_get_the_hebrew_prompt() {
    let fake = FakeLlm::start(vec![]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 0)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    conversation_summarized(
        &app,
        &t.agent,
        "v",
        &["שלום, אני מחפשת מלון באילת לסוף השבוע"],
    )
    .await;
    let system = fake.requests()[0]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(system.contains("אתה מסכם"), "{system}");
}

#[tokio::test]
async fn a_provider_that_keeps_failing_trips_the_circuit_breaker() {
    let fake = FakeLlm::start((0..5).map(|_| Reply::Status(400, None)).collect()).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(Duration::from_secs(5), 0)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    for i in 0..6 {
        let (session, _, _) = conversation_summarized(
            &app,
            &t.agent,
            &format!("v{i}"),
            &["Hello, a question about prices"],
        )
        .await;
        let summary = summary_of(&app, &t.viewer, &session).await;
        assert_eq!(summary["provider"], "builtin");
        if i == 5 {
            assert!(
                summary["fallbackReason"]
                    .as_str()
                    .unwrap()
                    .contains("circuit open")
            );
        }
    }
    assert_eq!(fake.requests().len(), 5, "the sixth call never left");
}
