//! The memory context over a customer's life: returning, starting over, calls, languages.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, message, record, update_settings};

const CONTEXT: &str = r#"query($lead: ID, $phone: String, $locale: String) {
  memoryContext(leadId: $lead, phone: $phone, locale: $locale) {
    isReturning suggestedOpening locale
    lastSummary { text channel at conversationEndedAt }
    notes { body kind }
    rendered { text }
  }
}"#;

async fn context(app: &TestApp, token: &str, vars: Value) -> Value {
    app.gql(Some(token), CONTEXT, vars).await.ok()["memoryContext"].clone()
}

fn rendered(c: &Value) -> &str {
    c["rendered"]["text"].as_str().unwrap()
}

#[tokio::test]
async fn the_last_conversation_is_dated_by_when_it_happened_not_when_it_was_summarized() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let r = record(
        &app,
        &t.agent,
        message(
            "WEB",
            "dana",
            "Hi, my name is Dana and I want a table for four",
        ),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    let spoke_at = r["message"]["occurredAt"].as_str().unwrap().to_owned();
    // The conversation goes quiet, and its summary is only written two days later.
    app.clock.advance(Duration::days(2));
    app.sweep(1).await;
    app.run_jobs(1).await;

    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let summary = &c["lastSummary"];
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(summary["conversationEndedAt"].as_str().unwrap())
            .unwrap(),
        chrono::DateTime::parse_from_rfc3339(&spoke_at).unwrap()
    );
    assert_ne!(summary["at"], summary["conversationEndedAt"]);
    let text = rendered(&c);
    assert!(text.contains("2 days ago"), "{text}");
    assert!(!text.contains("just now"), "{text}");

    // The lead's own last summary says the same.
    let lead_view = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { lastSummary { conversationEndedAt } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(
        lead_view.ok()["lead"]["lastSummary"]["conversationEndedAt"],
        summary["conversationEndedAt"]
    );
}

#[tokio::test]
async fn a_call_summary_appears_once_in_the_context() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let turn = call("+14155552671", "call-1");
    let r = record(
        &app,
        &t.agent,
        turn(
            "Hi, this is Omer, I want to book a haircut on Friday",
            false,
        ),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    record(&app, &t.agent, turn("Thanks, bye", true)).await;
    app.run_jobs(1).await;

    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let summary = c["lastSummary"]["text"].as_str().unwrap().to_owned();
    assert_eq!(c["lastSummary"]["channel"], "CALL");
    assert!(
        c["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "CALL_SUMMARY"),
        "the call's summary note is not repeated: {}",
        c["notes"]
    );
    assert_eq!(
        rendered(&c).matches(summary.as_str()).count(),
        1,
        "{}",
        rendered(&c)
    );

    // Staff still see the call note on the lead.
    let notes = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { notes { kind body } } }",
            json!({ "id": lead }),
        )
        .await;
    assert!(
        notes.ok()["lead"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "CALL_SUMMARY")
    );
}

#[tokio::test]
async fn the_opening_is_asked_once_then_the_conversation_just_goes_on() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let r = record(
        &app,
        &t.agent,
        message("WEB", "yael", "Hi, my name is Yael, I live in Haifa"),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::hours(3));
    record(&app, &t.agent, message("WEB", "yael", "Hi again")).await;
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(c["isReturning"], true);
    let opening = c["suggestedOpening"].as_str().unwrap().to_owned();
    assert_eq!(
        rendered(&c).matches("start fresh").count(),
        1,
        "{}",
        rendered(&c)
    );

    // The agent asks; from then on the context no longer tells it to ask again.
    let mut reply = message("WEB", "yael", &opening);
    reply["role"] = json!("AGENT");
    record(&app, &t.agent, reply).await;
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(c["isReturning"], false);
    assert_eq!(c["suggestedOpening"], Value::Null);
    assert_eq!(
        rendered(&c).matches("start fresh").count(),
        1,
        "only the agent's own message asks: {}",
        rendered(&c)
    );

    record(&app, &t.agent, message("WEB", "yael", "Let's continue")).await;
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(c["isReturning"], false, "the customer answered");
}

#[tokio::test]
async fn starting_over_keeps_the_last_real_conversation_in_memory() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"locale: "he", defaultRegion: "IL""#).await;
    let says =
        |text: &str| json!({ "channel": "WHATSAPP", "phone": "0525551234", "content": text });
    let r = record(
        &app,
        &t.agent,
        says("שלום, קוראים לי נועה ואני מחפשת דירת שלושה חדרים בחיפה"),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::hours(1));
    app.sweep(1).await;
    app.run_jobs(1).await;
    let before = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let first_summary = before["lastSummary"]["text"].as_str().unwrap().to_owned();

    // Days later: a greeting, the opening, and "let's start from the beginning".
    app.clock.advance(Duration::days(3));
    record(&app, &t.agent, says("היי")).await;
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let mut opening = says(c["suggestedOpening"].as_str().unwrap());
    opening["role"] = json!("AGENT");
    record(&app, &t.agent, opening).await;
    let r = record(&app, &t.agent, says("אפשר להתחיל מהתחלה")).await;
    assert_eq!(r["session"]["closeReason"], "RESET");
    app.run_jobs(1).await;

    let after = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(after["lastSummary"]["text"], first_summary.as_str());
    assert!(rendered(&after).contains(&first_summary));
}

#[tokio::test]
async fn a_hebrew_speaking_customer_of_an_english_business_gets_a_hebrew_context() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"locale: "en", defaultRegion: "IL""#).await;
    let says =
        |text: &str| json!({ "channel": "WHATSAPP", "phone": "0525551234", "content": text });
    let r = record(
        &app,
        &t.agent,
        says("שלום, קוראים לי נועה ואני רוצה לקבוע תור לתספורת"),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::hours(2));
    record(&app, &t.agent, says("היי, זו שוב אני")).await;

    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(c["locale"], "he");
    assert_eq!(
        c["suggestedOpening"],
        "היי נועה! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?"
    );
    // The agent may still ask for the business's language.
    let c = context(&app, &t.viewer, json!({ "lead": lead, "locale": "en" })).await;
    assert_eq!(c["locale"], "en");

    // An English-speaking customer of the same business gets English.
    let r = record(
        &app,
        &t.agent,
        message("WEB", "sam", "Hello, my name is Sam and I need a haircut"),
    )
    .await;
    let c = context(&app, &t.viewer, json!({ "lead": r["lead"]["id"] })).await;
    assert_eq!(c["locale"], "en");
}
