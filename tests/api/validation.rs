//! Bad input: each mistake gets BAD_USER_INPUT, the offending field, a message that says what
//! is wrong, writes nothing, and never shows database text.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{Gql, RECORD, TestApp, TestTenant, message, record};

/// Words that must never reach a client: SQL, drivers, schema internals.
const LEAKS_CASE_SENSITIVE: [&str; 4] = ["SELECT", "INSERT", "UPDATE ", "DELETE FROM"];
const LEAKS_ANY_CASE: [&str; 7] = [
    "sqlite",
    "postgres",
    "constraint",
    "sqlx",
    "sea_orm",
    "duplicate key",
    "syntax error at or near",
];

/// Asserts no error in `response` shows database text.
#[track_caller]
fn assert_no_leak(response: &Gql) {
    for error in response.body["errors"].as_array().into_iter().flatten() {
        let text = error.to_string();
        let lower = text.to_lowercase();
        for word in LEAKS_CASE_SENSITIVE {
            assert!(!text.contains(word), "error leaks `{word}`: {text}");
        }
        for word in LEAKS_ANY_CASE {
            assert!(!lower.contains(word), "error leaks `{word}`: {text}");
        }
    }
}

/// Asserts `response` is BAD_USER_INPUT for `field` (when the API names one), with a message
/// containing every one of `words` (case-insensitively), no data, and no database text.
#[track_caller]
fn assert_bad_input(response: &Gql, field: Option<&str>, words: &[&str]) {
    let message = response.expect_error("BAD_USER_INPUT").to_lowercase();
    assert_eq!(response.field(), field, "field of `{message}`");
    for word in words {
        assert!(
            message.contains(&word.to_lowercase()),
            "`{message}` should mention `{word}`"
        );
    }
    assert_no_leak(response);
}

/// Leads in the tenant, and messages in the one lead's session.
async fn counts(app: &TestApp, t: &TestTenant, session: &str) -> (Value, Value) {
    let response = app
        .gql(
            Some(&t.viewer),
            "query($s: ID!) { leads { totalCount } session(id: $s) { messageCount lead { messageCount } } }",
            json!({ "s": session }),
        )
        .await;
    let data = response.ok();
    (
        data["leads"]["totalCount"].clone(),
        data["session"]["messageCount"].clone(),
    )
}

#[tokio::test]
async fn record_message_content_must_be_1_to_8000_characters() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "hello")).await;
    let session = first["session"]["id"].as_str().unwrap().to_owned();

    for (content, words) in [
        (String::new(), vec!["content", "empty"]),
        ("  \n\t  ".to_owned(), vec!["content", "empty"]),
        ("a".repeat(8_001), vec!["8001", "8000"]),
        ("b".repeat(9_000), vec!["9000", "8000"]),
        (format!("  {}  ", "é".repeat(8_001)), vec!["8000"]),
    ] {
        let response = app
            .gql(
                Some(&t.agent),
                RECORD,
                json!({ "input": message("WEB", "v1", &content) }),
            )
            .await;
        assert_bad_input(&response, Some("input.content"), &words);
        assert_eq!(response.data()["recordMessage"], Value::Null);
    }
    assert_eq!(counts(&app, &t, &session).await, (json!(1), json!(1)));

    // The limit is on the trimmed text, in characters, inclusive.
    let longest = format!("  {}  ", "é".repeat(8_000));
    let recorded = record(&app, &t.agent, message("WEB", "v1", &longest)).await;
    assert_eq!(
        recorded["message"]["content"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        8_000
    );
    assert_eq!(counts(&app, &t, &session).await, (json!(1), json!(2)));
}

#[tokio::test]
async fn record_message_refuses_bad_identities_times_and_metadata() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "hello")).await;
    let session = first["session"]["id"].as_str().unwrap().to_owned();
    let future = (app.state.now() + Duration::hours(2)).to_rfc3339();

    let cases: Vec<(Value, &str, Vec<&str>)> = vec![
        (
            json!({ "channel": "WEB", "content": "who am I?" }),
            "input.externalUserId",
            vec!["externalUserId", "phone", "email"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "  ", "phone": " ", "email": "", "content": "who am I?" }),
            "input.externalUserId",
            vec!["identify"],
        ),
        (
            json!({ "channel": "WHATSAPP", "phone": "12ab", "content": "hi" }),
            "input.phone",
            vec!["phone number"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "phone": "12ab", "content": "hi" }),
            "input.phone",
            vec!["phone number"],
        ),
        (
            json!({ "channel": "EMAIL", "email": "dana.example.com", "content": "hi" }),
            "input.email",
            vec!["email"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "content": "hi", "occurredAt": future }),
            "input.occurredAt",
            vec!["future"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "content": "hi", "metadata": [1, 2, 3] }),
            "input.metadata",
            vec!["object"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "content": "hi", "metadata": "just text" }),
            "input.metadata",
            vec!["object"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v".repeat(201), "content": "hi" }),
            "input.externalUserId",
            vec!["200"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "displayName": "n".repeat(201), "content": "hi" }),
            "input.displayName",
            vec!["200"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "content": "hi", "occurredAt": "1999-12-31T23:59:59Z" }),
            "input.occurredAt",
            vec!["2000"],
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "v1", "content": "hi", "metadata": { "blob": "m".repeat(70_000) } }),
            "input.metadata",
            vec!["64 KiB"],
        ),
    ];
    for (input, field, words) in cases {
        let response = app
            .gql(Some(&t.agent), RECORD, json!({ "input": input }))
            .await;
        assert_bad_input(&response, Some(field), &words);
    }
    assert_eq!(counts(&app, &t, &session).await, (json!(1), json!(1)));
}

#[tokio::test]
async fn unknown_enum_values_and_wrong_types_are_bad_user_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;

    // In variables and inline; the message names the argument and the value.
    let response = app
        .gql(
            Some(&t.agent),
            RECORD,
            json!({ "input": message("FAX", "v1", "hello") }),
        )
        .await;
    assert_bad_input(&response, None, &["input.channel", "FAX"]);
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation { recordMessage(input: { channel: FAX, externalUserId: "v1", content: "hi" }) { duplicate } }"#,
            json!({}),
        )
        .await;
    assert_bad_input(&response, None, &["input.channel", "FAX"]);
    let response = app
        .gql(
            Some(&t.agent),
            RECORD,
            json!({ "input": { "channel": "WEB", "externalUserId": "v1", "content": 42 } }),
        )
        .await;
    assert_bad_input(&response, None, &["input.content", "String"]);
    let response = app
        .gql(
            Some(&t.agent),
            RECORD,
            json!({ "input": { "channel": "WEB", "externalUserId": "v1", "content": "hi", "role": "BOSS" } }),
        )
        .await;
    assert_bad_input(&response, None, &["input.role", "BOSS"]);

    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 0);
}

#[tokio::test]
async fn an_unparsable_occurred_at_names_the_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for occurred_at in ["yesterday", "2025-13-45T99:00:00Z"] {
        let response = app
            .gql(
                Some(&t.agent),
                RECORD,
                json!({ "input": { "channel": "WEB", "externalUserId": "v1", "content": "hi", "occurredAt": occurred_at } }),
            )
            .await;
        // A client must be able to tell which of its fields was wrong.
        assert_bad_input(&response, Some("input.occurredAt"), &["occurredAt"]);
    }
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 0);
}

#[tokio::test]
async fn create_lead_refuses_bad_contact_details_and_empty_input() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation($input: LeadInput!) { createLead(input: $input) { id } }"#;

    for (input, field, words) in [
        (
            json!({ "displayName": "Dana", "phone": "12ab" }),
            "input.phone",
            vec!["phone number"],
        ),
        (
            json!({ "displayName": "Dana", "phone": "+1 415 555 2671", "email": "dana@" }),
            "input.email",
            vec!["email"],
        ),
        (
            json!({ "email": "no-at-sign.example.com" }),
            "input.email",
            vec!["email"],
        ),
        (json!({}), "input", vec!["displayName", "phone", "email"]),
        (
            json!({ "displayName": "x".repeat(201) }),
            "input.displayName",
            vec!["200"],
        ),
    ] {
        let response = app
            .gql(Some(&t.agent), create, json!({ "input": input }))
            .await;
        assert_bad_input(&response, Some(field), &words);
        assert_eq!(response.data()["createLead"], Value::Null);
    }
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 0);
}

#[tokio::test]
async fn set_profile_field_refuses_bad_keys_and_values_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { displayName: "Dana" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = lead.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    let read = r#"query($id: ID!) { lead(id: $id) { updatedAt profile { key value source } } profileHistory(leadId: $id) { id } }"#;
    let before = app
        .gql(Some(&t.viewer), read, json!({ "id": id }))
        .await
        .ok()
        .clone();

    let set = r#"mutation($id: ID!, $key: String!, $value: String!) { setProfileField(leadId: $id, key: $key, value: $value) { id } }"#;
    for (key, value, field, words) in [
        ("Bad Key", "x", "key", vec!["snake_case"]),
        ("1st", "x", "key", vec!["snake_case"]),
        ("", "x", "key", vec!["snake_case"]),
        ("email", "not-an-email", "value", vec!["email"]),
        ("phone", "12ab", "value", vec!["phone number"]),
        ("preferred_currency", "dollars", "value", vec!["ISO 4217"]),
        ("city", "   ", "value", vec!["empty"]),
    ] {
        let response = app
            .gql(
                Some(&t.agent),
                set,
                json!({ "id": id, "key": key, "value": value }),
            )
            .await;
        assert_bad_input(&response, Some(field), &words);
    }
    let reject = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!) { rejectProfileField(leadId: $id, key: "Not Snake") { id } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_bad_input(&reject, Some("key"), &["snake_case"]);
    let history = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { profileHistory(leadId: $id, key: "Bad Key") { id } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_bad_input(&history, Some("key"), &["snake_case"]);

    let after = app
        .gql(Some(&t.viewer), read, json!({ "id": id }))
        .await
        .ok()
        .clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn memory_context_needs_exactly_one_of_lead_id_or_phone_and_a_known_locale() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { phone: "+1 415 555 2671" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = lead.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    let context = r#"query($leadId: ID, $phone: String, $locale: String) {
        memoryContext(leadId: $leadId, phone: $phone, locale: $locale) { isNewCustomer locale } }"#;

    let both = app
        .gql(
            Some(&t.viewer),
            context,
            json!({ "leadId": id, "phone": "+14155552671" }),
        )
        .await;
    assert_bad_input(&both, Some("phone"), &["leadId", "phone", "not both"]);
    let neither = app.gql(Some(&t.viewer), context, json!({})).await;
    assert_bad_input(&neither, Some("leadId"), &["leadId", "phone"]);
    let french = app
        .gql(
            Some(&t.viewer),
            context,
            json!({ "leadId": id, "locale": "fr" }),
        )
        .await;
    assert_bad_input(&french, Some("locale"), &["fr", "en", "he"]);
    let bad_phone = app
        .gql(Some(&t.viewer), context, json!({ "phone": "12ab" }))
        .await;
    assert_bad_input(&bad_phone, Some("phone"), &["phone number"]);
    let bad_id = app
        .gql(Some(&t.viewer), context, json!({ "leadId": "lead-42" }))
        .await;
    assert_bad_input(&bad_id, Some("leadId"), &["not a valid id"]);

    // The valid forms work.
    let ok = app
        .gql(
            Some(&t.viewer),
            context,
            json!({ "leadId": id, "locale": "he" }),
        )
        .await;
    assert_eq!(ok.ok()["memoryContext"]["locale"], "he");
    let ok = app
        .gql(
            Some(&t.viewer),
            context,
            json!({ "phone": "(415) 555-2671" }),
        )
        .await;
    assert_eq!(ok.ok()["memoryContext"]["isNewCustomer"], false);
}

#[tokio::test]
async fn malformed_ids_name_their_argument() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (query, field) in [
        (r#"{ lead(id: "not-a-uuid") { id } }"#, "id"),
        (r#"{ session(id: "42") { id } }"#, "id"),
        (r#"{ note(id: "") { id } }"#, "id"),
        (r#"{ profileHistory(leadId: "x") { id } }"#, "leadId"),
        (
            r#"mutation { updateLead(id: "x", input: { displayName: "D" }) { id } }"#,
            "id",
        ),
        (
            r#"mutation { setProfileField(leadId: "x", key: "city", value: "Rome") { id } }"#,
            "leadId",
        ),
        (r#"mutation { deleteNote(id: "x") }"#, "id"),
        (r#"mutation { revokeApiKey(id: "x") { id } }"#, "id"),
    ] {
        let response = app.gql(Some(&t.admin), query, json!({})).await;
        assert_bad_input(&response, Some(field), &["not a valid id"]);
    }
}

#[tokio::test]
async fn tenant_settings_out_of_range_are_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let read = "{ tenant { name settings { sessionIdleMinutes locale defaultRegion resetKeywords contextMessages } } }";
    let before = app.gql(Some(&t.admin), read, json!({})).await.ok().clone();

    let update = r#"mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { id } }"#;
    let keywords: Vec<String> = (0..51).map(|i| format!("restart {i}")).collect();
    for (input, field, words) in [
        (
            json!({ "sessionIdleMinutes": 0 }),
            "input.sessionIdleMinutes",
            vec!["between 1 and 1440", "0"],
        ),
        (
            json!({ "sessionIdleMinutes": 100000 }),
            "input.sessionIdleMinutes",
            vec!["between 1 and 1440", "100000"],
        ),
        (json!({ "locale": "xx" }), "input.locale", vec!["en", "he"]),
        (
            json!({ "defaultRegion": "Atlantis" }),
            "input.defaultRegion",
            vec!["ISO 3166"],
        ),
        (
            json!({ "resetKeywords": keywords }),
            "input.resetKeywords",
            vec!["50"],
        ),
        (
            json!({ "resetKeywords": ["start over", "  "] }),
            "input.resetKeywords",
            vec!["1 to 60"],
        ),
        (
            json!({ "contextMessages": 101 }),
            "input.contextMessages",
            vec!["between 1 and 100"],
        ),
        (json!({ "name": " " }), "input.name", vec!["empty"]),
        // A valid change next to an invalid one is not applied either.
        (
            json!({ "sessionIdleMinutes": 30, "locale": "xx" }),
            "input.locale",
            vec!["en"],
        ),
    ] {
        let response = app
            .gql(Some(&t.admin), update, json!({ "input": input }))
            .await;
        assert_bad_input(&response, Some(field), &words);
    }
    let after = app.gql(Some(&t.admin), read, json!({})).await.ok().clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn oversized_pages_name_first() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let response = app
        .gql(
            Some(&t.viewer),
            "{ leads(first: 10000) { totalCount } }",
            json!({}),
        )
        .await;
    assert_bad_input(&response, Some("first"), &["between 0 and 100", "10000"]);
    let response = app
        .gql(Some(&t.viewer), "{ profileHistory(leadId: \"0192f0c0-0000-7000-8000-000000000000\", first: 500) { id } }", json!({}))
        .await;
    assert_bad_input(&response, Some("first"), &["between 0 and 100"]);
}

#[tokio::test]
async fn syntax_errors_and_unknown_fields_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (query, words) in [
        ("{ leads { totalCount ", vec![]),
        ("query { lead(id: ) { id } }", vec![]),
        ("{ leads { nope } }", vec!["nope"]),
        ("{ noSuchQuery }", vec!["noSuchQuery"]),
        (
            "mutation { createLead(input: { nickname: \"D\" }) { id } }",
            vec!["nickname"],
        ),
        ("{ lead { id } }", vec!["id"]),
    ] {
        let response = app.gql(Some(&t.viewer), query, json!({})).await;
        assert_bad_input(&response, None, &words);
        assert_eq!(
            response.status, 200,
            "legacy JSON keeps 200 for request errors"
        );
    }
}

#[tokio::test]
async fn no_error_shows_database_text() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    app.gql(
        Some(&t.agent),
        r#"mutation { createLead(input: { displayName: "Dana", phone: "+1 415 555 2671", email: "dana@example.com" }) { id } }"#,
        json!({}),
    )
    .await
    .ok();
    let unknown = uuid::Uuid::now_v7().to_string();
    let probes: Vec<(&str, Value)> = vec![
        // Unique keys: the API answers CONFLICT in its own words.
        (
            r#"mutation { createLead(input: { phone: "(415) 555-2671" }) { id } }"#,
            json!({}),
        ),
        (
            r#"mutation { createLead(input: { email: "DANA@example.com" }) { id } }"#,
            json!({}),
        ),
        (
            r#"mutation { createStaffUser(input: { email: "a@acme.test", password: "long-enough-1", role: AGENT }) { id } }"#,
            json!({}),
        ),
        (
            r#"mutation { createStaffUser(input: { email: "A@acme.test", password: "long-enough-1", role: AGENT }) { id } }"#,
            json!({}),
        ),
        // Strings that look like SQL are data, not SQL.
        (
            r#"query($s: String!) { leads(filter: { search: $s }) { totalCount } }"#,
            json!({ "s": "'; DROP TABLE leads; --" }),
        ),
        (
            r#"query($p: String!) { leadByPhone(phone: $p) { id } }"#,
            json!({ "p": "' OR 1=1 --" }),
        ),
        (
            r#"query($id: ID!) { lead(id: $id) { id } }"#,
            json!({ "id": unknown }),
        ),
        (
            r#"query($id: ID!) { lead(id: $id) { id } }"#,
            json!({ "id": "'; SELECT 1; --" }),
        ),
        ("{ leads(first: 10000) { totalCount } }", json!({})),
        (
            "{ leads(after: \"djF8OTk5OTk5OTk5OTk5OTk5OTk5OTl8eA\") { totalCount } }",
            json!({}),
        ),
        (
            r#"mutation { createApiKey(name: "", scopes: []) { token } }"#,
            json!({}),
        ),
    ];
    let mut codes = Vec::new();
    for (query, variables) in probes {
        let response = app.gql(Some(&t.admin), query, variables).await;
        assert_no_leak(&response);
        codes.push(response.code().map(str::to_owned));
    }
    assert_eq!(codes[0].as_deref(), Some("CONFLICT"));
    assert_eq!(codes[1].as_deref(), Some("CONFLICT"));
    assert_eq!(codes[2], None, "the first staff user is created");
    assert_eq!(
        codes[3].as_deref(),
        Some("CONFLICT"),
        "emails are unique per tenant, in any case"
    );
    assert_eq!(codes[4], None, "a search is just text");
    assert!(
        codes.iter().all(|c| c.as_deref() != Some("INTERNAL")),
        "{codes:?}"
    );
    // The table is still there.
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 1);
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_gets_a_graphql_error() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // Unreadable bodies, and readable ones without a query, are a 400 with JSON and a code.
    for (content_type, body, status) in [
        ("application/json", "{not json", 400),
        ("application/json", r#"{"query": 42}"#, 400),
        ("application/json", r#"{"variables": {}}"#, 400),
    ] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&t.viewer)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
        let media = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap();
        assert!(
            media.starts_with("application/json"),
            "{body}: content-type `{media}`, body `{text}`"
        );
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{body}: the error is not JSON: `{text}`"));
        let error = Gql {
            status: 400,
            body: json,
        };
        assert_bad_input(&error, None, &[]);
        assert!(
            !error.message().contains("InvalidRequest("),
            "a Rust debug string: {}",
            error.message()
        );
    }
}
