//! PII redaction at ingest (issue 29).

use serde_json::{Value, json};

use crate::helpers::{TestApp, message, update_settings};
use crate::privacy_erasure::find_strings;

const RECORD: &str = r#"mutation($input: RecordMessageInput!) {
  recordMessage(input: $input) { message { id content redactions { kind count } } } }"#;

async fn recorded(app: &TestApp, token: &str, content: &str) -> Value {
    app.gql(
        Some(token),
        RECORD,
        json!({ "input": message("WHATSAPP", "972525551234", content) }),
    )
    .await
    .ok()["recordMessage"]["message"]
        .clone()
}

#[tokio::test]
async fn a_card_number_is_stored_as_its_last_four_digits_and_never_written_whole() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let m = recorded(&app, &t.agent, "my card is 4242 4242 4242 4242, exp 12/29").await;
    assert_eq!(m["content"], "my card is [card ••4242], exp 12/29");
    assert_eq!(m["redactions"], json!([{ "kind": "CARD", "count": 1 }]));
    let hebrew = recorded(&app, &t.agent, "מספר הכרטיס 5555-5555-5555-4444 תודה").await;
    assert_eq!(hebrew["content"], "מספר הכרטיס [card ••4444] תודה");

    // Order numbers, phones, prices and a mistyped card stay as written.
    for text in [
        "order 1000000000000008 has not arrived",
        "call me on +972 52 555 1234",
        "it was ₪1,250,000",
        "card 4242 4242 4242 4241",
    ] {
        let m = recorded(&app, &t.agent, text).await;
        assert_eq!(m["content"], text);
        assert_eq!(m["redactions"], json!([]));
    }
    // By default only cards: a one-time code stays.
    let code = recorded(&app, &t.agent, "the code is 482913").await;
    assert_eq!(code["content"], "the code is 482913");

    let hits = find_strings(&app, &["4242 4242 4242 4242", "5555-5555-5555-4444"]).await;
    assert!(hits.is_empty(), "card numbers were stored: {hits:?}");
}

#[tokio::test]
async fn a_tenant_chooses_what_is_redacted_or_turns_it_off() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let u = app.tenant("Other").await;
    let settings = app
        .gql(
            Some(&t.admin),
            "{ tenant { settings { piiRedaction piiRedactionKinds messageRetentionDays summaryRetentionDays auditRetentionDays } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        settings.ok()["tenant"]["settings"],
        json!({ "piiRedaction": "REDACT", "piiRedactionKinds": ["CARD"],
                "messageRetentionDays": 90, "summaryRetentionDays": 730, "auditRetentionDays": 730 })
    );
    update_settings(
        &app,
        &t.admin,
        "piiRedactionKinds: [ONE_TIME_CODE, CARD, BANK_ACCOUNT, ISRAELI_ID, US_SSN]",
    )
    .await;
    let m = recorded(
        &app,
        &t.agent,
        "code: 482913, IBAN GB82 WEST 1234 5698 7654 32, ת.ז 123456782, SSN 123-45-6789",
    )
    .await;
    assert_eq!(
        m["content"],
        "code: [one-time code], IBAN [bank account ••5432], ת.ז [id number], SSN [ssn]"
    );
    assert_eq!(m["redactions"].as_array().unwrap().len(), 4, "{m}");

    // Another tenant keeps its own (default) policy.
    let other = recorded(&app, &u.agent, "code: 482913").await;
    assert_eq!(other["content"], "code: 482913");

    update_settings(&app, &t.admin, "piiRedaction: OFF").await;
    let off = recorded(&app, &t.agent, "card 4242424242424242").await;
    assert_eq!(off["content"], "card 4242424242424242");

    // Only admins change it.
    let refused = app
        .gql(
            Some(&t.agent),
            "mutation { updateTenantSettings(input: { piiRedaction: REDACT }) { id } }",
            json!({}),
        )
        .await;
    refused.expect_error("FORBIDDEN");
}
