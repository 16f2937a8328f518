//! The memory context an agent reads before replying.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, add_note, message, record, update_settings};

const CONTEXT: &str = r#"query($lead: ID, $phone: String, $channel: Channel, $locale: String) {
  memoryContext(leadId: $lead, phone: $phone, channel: $channel, locale: $locale) {
    isNewCustomer isReturning suggestedOpening locale customerServiceMode
    lead { id }
    profile { key value source confidence }
    lastSummary { text channel }
    notes { body pinned }
    messages { content role }
    rendered { text estimatedTokens characters omittedMessages truncated }
  }
}"#;

async fn context(app: &TestApp, token: &str, vars: Value) -> Value {
    app.gql(Some(token), CONTEXT, vars).await.ok()["memoryContext"].clone()
}

#[tokio::test]
async fn an_unknown_phone_gives_an_empty_context_for_a_new_customer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let c = context(&app, &t.viewer, json!({ "phone": "+1 415 555 2671" })).await;
    assert_eq!(c["isNewCustomer"], true);
    assert_eq!(c["lead"], Value::Null);
    assert_eq!(c["isReturning"], false);
    assert_eq!(c["messages"], json!([]));
    assert!(!c["rendered"]["text"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn the_context_holds_the_last_messages_newest_notes_and_pinned_ones() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut lead = String::new();
    for i in 1..=15 {
        let r = record(
            &app,
            &t.agent,
            message("WEB", "v", &format!("message number {i}")),
        )
        .await;
        lead = r["lead"]["id"].as_str().unwrap().to_owned();
    }
    add_note(
        &app,
        &t.agent,
        &lead,
        "VIP: always offer the premium plan",
        true,
    )
    .await;
    for i in 1..=6 {
        app.clock.advance(Duration::seconds(1));
        add_note(&app, &t.agent, &lead, &format!("note {i}"), false).await;
    }
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let messages: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 12);
    assert_eq!(messages.first(), Some(&"message number 4"));
    assert_eq!(messages.last(), Some(&"message number 15"));
    let notes: Vec<&str> = c["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        &notes[..5],
        ["note 6", "note 5", "note 4", "note 3", "note 2"]
    );
    assert!(
        notes.contains(&"VIP: always offer the premium plan"),
        "pinned notes are always included"
    );
    assert_eq!(notes.len(), 6);
    let text = c["rendered"]["text"].as_str().unwrap();
    assert!(text.contains("message number 15") && text.contains("VIP: always offer"));
    assert!(c["rendered"]["characters"].as_i64().unwrap() <= 6000);
}

#[tokio::test]
async fn customer_service_mode_off_returns_only_the_current_conversation() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let r = record(
        &app,
        &t.agent,
        message("WEB", "v", "Hi, my name is Dana and I live in Haifa"),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap();
    add_note(&app, &t.agent, lead, "Prefers mornings", true).await;
    update_settings(&app, &t.admin, "customerServiceMode: false").await;
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    assert_eq!(c["customerServiceMode"], false);
    assert_eq!(c["profile"], json!([]));
    assert_eq!(c["notes"], json!([]));
    assert_eq!(c["messages"].as_array().unwrap().len(), 1);
    let text = c["rendered"]["text"].as_str().unwrap();
    assert!(!text.contains("Prefers mornings"));
}

#[tokio::test]
async fn a_returning_customer_needs_something_to_remember() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // Only "hi" before: nothing to remember.
    let r = record(&app, &t.agent, message("WEB", "quiet", "hi")).await;
    app.clock.advance(Duration::minutes(30));
    record(&app, &t.agent, message("WEB", "quiet", "hello again")).await;
    let c = context(&app, &t.viewer, json!({ "lead": r["lead"]["id"] })).await;
    assert_eq!(c["isReturning"], false);
    assert_eq!(c["suggestedOpening"], Value::Null);

    // A name is worth remembering; within the idle timeout it is still the same conversation.
    let r = record(
        &app,
        &t.agent,
        message("WEB", "named", "Hi, my name is Yael"),
    )
    .await;
    app.clock.advance(Duration::minutes(5));
    let c = context(&app, &t.viewer, json!({ "lead": r["lead"]["id"] })).await;
    assert_eq!(c["isReturning"], false);
    app.clock.advance(Duration::minutes(25));
    let c = context(&app, &t.viewer, json!({ "lead": r["lead"]["id"] })).await;
    assert_eq!(c["isReturning"], true, "before the next message arrives");
    record(&app, &t.agent, message("WEB", "named", "I'm back")).await;
    let c = context(&app, &t.viewer, json!({ "lead": r["lead"]["id"] })).await;
    assert_eq!(c["isReturning"], true, "after the next message arrives");
    assert_eq!(
        c["suggestedOpening"],
        "Hi Yael! Do you want to continue where we left off, or start fresh?"
    );
}

#[tokio::test]
async fn hebrew_contexts_render_in_hebrew_and_leave_the_text_untouched() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"locale: "he", defaultRegion: "IL""#).await;
    let text = "שלום, קוראים לי דנה ואני מחפשת טיסה לרומא";
    let r = record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "phone": "052-555-1234", "content": text }),
    )
    .await;
    let lead = r["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(40));
    record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "phone": "0525551234", "content": "היי, חזרתי" }),
    )
    .await;
    let c = context(&app, &t.viewer, json!({ "phone": "052-555-1234" })).await;
    assert_eq!(c["lead"]["id"], lead.as_str());
    assert_eq!(c["locale"], "he");
    assert_eq!(c["isReturning"], true);
    assert_eq!(
        c["suggestedOpening"],
        "היי דנה! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?"
    );
    let rendered = c["rendered"]["text"].as_str().unwrap();
    assert!(rendered.contains("היי, חזרתי"), "{rendered}");
    assert!(rendered.contains("לקוח"), "Hebrew role labels: {rendered}");
    assert!(
        !rendered.contains('\u{200f}') && !rendered.contains('\u{202b}'),
        "no bidi controls added"
    );

    // The same context in English on request.
    let c = context(&app, &t.viewer, json!({ "lead": lead, "locale": "en-US" })).await;
    assert_eq!(c["locale"], "en");
    assert!(
        c["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("היי, חזרתי")
    );
}

#[tokio::test]
async fn the_character_budget_drops_the_oldest_messages_first() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, "contextCharBudget: 600").await;
    let mut lead = Value::Null;
    for i in 1..=10 {
        let r = record(
            &app,
            &t.agent,
            message("WEB", "v", &format!("message {i}: {}", "words ".repeat(20))),
        )
        .await;
        lead = r["lead"]["id"].clone();
    }
    let c = context(&app, &t.viewer, json!({ "lead": lead })).await;
    let rendered = &c["rendered"];
    assert!(rendered["characters"].as_i64().unwrap() <= 600);
    assert!(rendered["omittedMessages"].as_i64().unwrap() > 0);
    let text = rendered["text"].as_str().unwrap();
    assert!(text.contains("message 10:"), "the newest message stays");
    assert!(!text.contains("message 1:"), "the oldest goes first");
}
