//! The dashboard's lead list and lead page: filters by returning customers, open
//! conversations and language, the last message as a preview, and history entries that name
//! the staff member who acted.

use serde_json::{Value, json};

use crate::helpers::{TestApp, message, record, set_profile_field};

const LEADS: &str = r#"
query Leads($filter: LeadFilter) {
  leads(first: 50, filter: $filter) {
    totalCount
    nodes { id displayName lastMessage { content role sessionId } }
  }
}"#;

/// The names of the leads a filter finds (sorted), after checking `totalCount` agrees.
async fn names(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let response = app
        .gql(Some(token), LEADS, json!({ "filter": filter }))
        .await;
    let leads = &response.ok()["leads"];
    let mut names: Vec<String> = leads["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["displayName"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(leads["totalCount"], names.len(), "{leads}");
    names.sort();
    names
}

fn named(channel: &str, user: &str, name: &str, content: &str) -> Value {
    let mut input = message(channel, user, content);
    input["displayName"] = json!(name);
    input
}

const CLOSE: &str = r#"mutation($id: ID!) { closeSession(id: $id) { id status } }"#;

/// Ada: two conversations (returning), the last one open, in English.
/// Noa: one open conversation in Hebrew. Sam: one closed conversation.
async fn seed(app: &TestApp, agent: &str) {
    let ada = record(
        app,
        agent,
        named("WEB", "ada", "Ada", "Hello, I need a hotel"),
    )
    .await;
    app.gql(Some(agent), CLOSE, json!({ "id": ada["session"]["id"] }))
        .await
        .ok();
    record(app, agent, named("WEB", "ada", "Ada", "Hi again")).await;
    let noa = named(
        "WHATSAPP",
        "972501112233",
        "Noa",
        "שלום, אני מחפשת מלון באילת",
    );
    record(app, agent, noa).await;
    let sam = record(
        app,
        agent,
        named("SMS", "sam", "Sam", "Thanks, that is all"),
    )
    .await;
    app.gql(Some(agent), CLOSE, json!({ "id": sam["session"]["id"] }))
        .await
        .ok();
}

#[tokio::test]
async fn staff_can_list_only_leads_with_an_open_conversation_or_without_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed(&app, &t.agent).await;
    let open = names(&app, &t.viewer, json!({ "hasOpenConversation": true })).await;
    assert_eq!(open, ["Ada", "Noa"]);
    let none_open = names(&app, &t.viewer, json!({ "hasOpenConversation": false })).await;
    assert!(none_open.contains(&"Sam".to_owned()), "{none_open:?}");
    assert!(!none_open.contains(&"Noa".to_owned()), "{none_open:?}");
}

#[tokio::test]
async fn staff_can_list_returning_customers_apart_from_first_timers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, named("WEB", "ret", "Ret", "Hello there")).await;
    app.gql(
        Some(&t.agent),
        CLOSE,
        json!({ "id": first["session"]["id"] }),
    )
    .await
    .ok();
    record(&app, &t.agent, named("WEB", "ret", "Ret", "Hello again")).await;
    record(
        &app,
        &t.agent,
        named("WEB", "new", "New", "First time here"),
    )
    .await;
    assert_eq!(
        names(&app, &t.viewer, json!({ "returning": true })).await,
        ["Ret"]
    );
    assert_eq!(
        names(&app, &t.viewer, json!({ "returning": false })).await,
        ["New"]
    );
}

#[tokio::test]
async fn staff_can_list_leads_by_the_language_they_spoke() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed(&app, &t.agent).await;
    assert_eq!(
        names(&app, &t.viewer, json!({ "language": "HE" })).await,
        ["Noa"]
    );
    let wrong = app
        .gql(
            Some(&t.viewer),
            LEADS,
            json!({ "filter": { "language": "hebrew!" } }),
        )
        .await;
    wrong.expect_error("BAD_USER_INPUT");
    assert_eq!(wrong.field(), Some("filter.language"));
}

#[tokio::test]
async fn each_lead_in_the_list_shows_the_last_thing_said() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed(&app, &t.agent).await;
    record(
        &app,
        &t.agent,
        named("SMS", "sam", "Sam", "Oh, one more thing"),
    )
    .await;
    let mut agent_reply = named("SMS", "sam", "Sam", "You are welcome!");
    agent_reply["role"] = json!("AGENT");
    record(&app, &t.agent, agent_reply).await;
    let response = app.gql(Some(&t.viewer), LEADS, json!({})).await;
    let nodes = response.ok()["leads"]["nodes"].as_array().unwrap().clone();
    let last = |name: &str| {
        nodes
            .iter()
            .find(|l| l["displayName"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {nodes:?}"))["lastMessage"]
            .clone()
    };
    // Ada's newest conversation is the second one.
    assert_eq!(last("Ada")["content"], "Hi again");
    assert_eq!(last("Noa")["content"], "שלום, אני מחפשת מלון באילת");
    // Sam wrote again after his conversation closed: the new one has the agent's reply.
    assert_eq!(last("Sam")["content"], "You are welcome!");
    assert_eq!(last("Sam")["role"], "AGENT");
}

#[tokio::test]
async fn a_lead_without_messages_has_no_last_message() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    app.gql(
        Some(&t.agent),
        r#"mutation { createLead(input: { displayName: "Quiet" }) { id } }"#,
        json!({}),
    )
    .await
    .ok();
    let response = app.gql(Some(&t.viewer), LEADS, json!({})).await;
    assert_eq!(
        response.ok()["leads"]["nodes"][0]["lastMessage"],
        Value::Null
    );
}

#[tokio::test]
async fn another_tenants_leads_never_appear_in_filters_or_previews() {
    let app = TestApp::spawn().await;
    let mine = app.tenant("Mine").await;
    let theirs = app.tenant("Theirs").await;
    seed(&app, &theirs.agent).await;
    record(
        &app,
        &mine.agent,
        named("WEB", "me", "Me", "Hello from mine"),
    )
    .await;
    for filter in [
        json!({ "hasOpenConversation": true }),
        json!({ "returning": false }),
        json!({ "language": "he" }),
        json!({}),
    ] {
        let found = names(&app, &mine.viewer, filter.clone()).await;
        assert!(
            found.is_empty() || found == ["Me"],
            "{filter}: saw another tenant's leads: {found:?}"
        );
    }
    let response = app.gql(Some(&mine.viewer), LEADS, json!({})).await;
    assert_eq!(
        response.ok()["leads"]["nodes"][0]["lastMessage"]["content"],
        "Hello from mine"
    );
}

#[tokio::test]
async fn the_new_filters_and_preview_need_a_credential_that_may_read_leads() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed(&app, &t.agent).await;
    app.gql(None, LEADS, json!({ "filter": { "returning": true } }))
        .await
        .expect_error("UNAUTHENTICATED");
    let ingest_key = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "bot", scopes: [INGEST]) { token } }"#,
            json!({}),
        )
        .await;
    let ingest_key = ingest_key.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql(
        Some(&ingest_key),
        LEADS,
        json!({ "filter": { "hasOpenConversation": true } }),
    )
    .await
    .expect_error("FORBIDDEN");
}

const HISTORY: &str = r#"
query($id: ID!) { profileHistory(leadId: $id, key: "city") { actor actorName source } }"#;

#[tokio::test]
async fn profile_history_names_the_staff_member_who_changed_a_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    app.gql(
        Some(&t.admin),
        r#"mutation { createStaffUser(input: { email: "rivka@acme.test", password: "correct horse",
            role: AGENT, displayName: "Rivka Levi" }) { id } }"#,
        json!({}),
    )
    .await
    .ok();
    let login = app
        .gql(
            None,
            r#"mutation { login(email: "rivka@acme.test", password: "correct horse") { token } }"#,
            json!({}),
        )
        .await;
    let rivka = login.ok()["login"]["token"].as_str().unwrap().to_owned();
    let lead = record(
        &app,
        &t.agent,
        message("WEB", "c1", "I live in Haifa, by the way"),
    )
    .await;
    let lead_id = lead["lead"]["id"].as_str().unwrap();
    set_profile_field(&app, &rivka, lead_id, "city", "Tel Aviv")
        .await
        .ok();

    let history = app
        .gql(Some(&t.viewer), HISTORY, json!({ "id": lead_id }))
        .await;
    let entries = history.ok()["profileHistory"].as_array().unwrap().clone();
    let manual = entries
        .iter()
        .find(|e| e["source"] == "MANUAL")
        .unwrap_or_else(|| panic!("no staff entry: {entries:?}"));
    assert!(manual["actor"].as_str().unwrap().starts_with("staff:"));
    assert_eq!(manual["actorName"], "Rivka Levi");
    // The AI and channels have no staff name.
    for e in entries.iter().filter(|e| e["source"] != "MANUAL") {
        assert_eq!(e["actorName"], Value::Null, "{e}");
    }

    // Another tenant's view of a staff id is nothing at all: the lead itself is not found.
    let other = app.tenant("Other").await;
    app.gql(Some(&other.viewer), HISTORY, json!({ "id": lead_id }))
        .await
        .expect_error("NOT_FOUND");
}
