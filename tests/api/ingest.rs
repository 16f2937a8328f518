//! Ingest: leads across channels, sessions, idempotency under concurrency, resets, batches.

use chrono::Duration;
use memodesk::entities::{event, job, message};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, gapless_events, message, record, update_settings};

const CONTEXT: &str = r#"query($lead: ID!, $channel: Channel) {
  memoryContext(leadId: $lead, channel: $channel) {
    isReturning suggestedOpening
    profile { key value source confidence }
    messages { content role }
    session { id channel }
    lastSummary { text sessionId }
    rendered { text }
  }
}"#;

const LEAD: &str = r#"query($id: ID!) {
  lead(id: $id) {
    id displayName primaryPhone messageCount sessionCount lastChannel
    identities { kind value channel }
    sessions(first: 10) { totalCount edges { node { id channel status closeReason messageCount } } }
    profile { key value source }
  }
}"#;

async fn count_messages(app: &TestApp, tenant: uuid::Uuid) -> u64 {
    message::Entity::find()
        .filter(message::Column::TenantId.eq(tenant))
        .count(app.state.db.reader())
        .await
        .unwrap()
}

/// The memory context of `lead` on `channel`, as a viewer reads it.
async fn context_on(app: &TestApp, viewer: &str, lead: &str, channel: &str) -> Value {
    app.gql(
        Some(viewer),
        CONTEXT,
        json!({ "lead": lead, "channel": channel }),
    )
    .await
    .ok()["memoryContext"]
        .clone()
}

/// What the context's current conversation says, oldest first.
fn contents(context: &Value) -> Vec<&str> {
    context["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

/// The sessions the tenant's summary jobs are for, sorted.
async fn summarized_sessions(app: &TestApp, tenant: uuid::Uuid) -> Vec<String> {
    let mut sessions: Vec<String> = job::Entity::find()
        .filter(job::Column::TenantId.eq(tenant))
        .filter(job::Column::Kind.eq("summarize_session"))
        .all(app.state.db.reader())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.payload["sessionId"].as_str().unwrap().to_owned())
        .collect();
    sessions.sort();
    sessions
}

#[tokio::test]
async fn whatsapp_then_a_call_from_the_same_number_is_one_lead_and_the_call_remembers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let wa = |content: &str| {
        json!({
            "channel": "WHATSAPP", "externalUserId": "972525551234", "displayName": "Dana Cohen",
            "content": content,
        })
    };
    let first = record(
        &app,
        &t.agent,
        wa("Hi, my name is Dana and I'm looking for a flight to Rome"),
    )
    .await;
    assert_eq!(first["leadCreated"], true);
    assert_eq!(first["sessionCreated"], true);
    let lead_id = first["lead"]["id"].as_str().unwrap().to_owned();
    record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": "972525551234", "role": "AGENT",
                "content": "Happy to help! When would you like to fly?" }),
    )
    .await;
    record(
        &app,
        &t.agent,
        wa("Next Monday. I live in Tel Aviv by the way"),
    )
    .await;

    app.clock.advance(Duration::minutes(20));
    let call = record(
        &app,
        &t.agent,
        json!({ "channel": "CALL", "phone": "052-555-1234", "content": "Hello, it's me again about the trip" }),
    )
    .await;
    assert_eq!(
        call["leadCreated"], false,
        "the call must find the WhatsApp lead: {call}"
    );
    assert_eq!(call["lead"]["id"], lead_id.as_str());
    assert_eq!(call["sessionCreated"], true);

    let lead = app
        .gql(Some(&t.viewer), LEAD, json!({ "id": lead_id }))
        .await;
    let lead = &lead.ok()["lead"];
    assert_eq!(lead["sessionCount"], 2);
    assert_eq!(lead["messageCount"], 4);
    assert_eq!(lead["lastChannel"], "CALL");
    assert_eq!(lead["sessions"]["totalCount"], 2);
    let kinds: Vec<&str> = lead["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"WHATSAPP") && kinds.contains(&"PHONE"),
        "{kinds:?}"
    );

    let context = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead_id, "channel": "CALL" }),
        )
        .await;
    let context = &context.ok()["memoryContext"];
    assert_eq!(context["isReturning"], true, "{context}");
    assert_eq!(
        context["suggestedOpening"],
        "Hi Dana! Do you want to continue where we left off, or start fresh?"
    );
    let profile: Vec<(String, String)> = context["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        profile
            .iter()
            .any(|(k, v)| k == "name" && v.starts_with("Dana")),
        "{profile:?}"
    );
    assert!(
        profile.iter().any(|(k, v)| k == "city" && v == "Tel Aviv"),
        "{profile:?}"
    );
    assert!(
        profile
            .iter()
            .any(|(k, v)| k == "phone" && v == "+972525551234"),
        "{profile:?}"
    );
    // The call's context holds the call, not the WhatsApp chat.
    assert_eq!(context["messages"].as_array().unwrap().len(), 1);
    assert_eq!(context["session"]["channel"], "CALL");
}

#[tokio::test]
async fn a_quiet_spell_longer_than_the_idle_timeout_starts_a_new_session() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "visitor-1", "Hi there")).await;
    app.clock.advance(Duration::minutes(10));
    let second = record(&app, &t.agent, message("WEB", "visitor-1", "Still here")).await;
    assert_eq!(
        second["session"]["id"], first["session"]["id"],
        "10 minutes is not idle"
    );
    app.clock.advance(Duration::minutes(16));
    let third = record(&app, &t.agent, message("WEB", "visitor-1", "Back again")).await;
    assert_ne!(third["session"]["id"], first["session"]["id"]);
    assert_eq!(third["sessionCreated"], true);

    let old = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { session(id: $id) { status closeReason messageCount } }",
            json!({ "id": first["session"]["id"] }),
        )
        .await;
    assert_eq!(old.ok()["session"]["status"], "CLOSED");
    assert_eq!(old.ok()["session"]["closeReason"], "IDLE_TIMEOUT");
    assert_eq!(old.ok()["session"]["messageCount"], 2);

    // The closed session's summary is queued exactly once.
    assert_eq!(
        summarized_sessions(&app, t.id).await,
        [first["session"]["id"].as_str().unwrap()]
    );

    // The tenant's own idle timeout counts.
    update_settings(&app, &t.admin, "sessionIdleMinutes: 60").await;
    app.clock.advance(Duration::minutes(30));
    let fourth = record(
        &app,
        &t.agent,
        message("WEB", "visitor-1", "Thirty minutes later"),
    )
    .await;
    assert_eq!(fourth["session"]["id"], third["session"]["id"]);
}

#[tokio::test]
async fn the_same_external_id_twice_returns_the_first_result_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut input = message("WHATSAPP", "972525551234", "Hello");
    input["externalId"] = json!("wamid.ABC");
    let first = record(&app, &t.agent, input.clone()).await;
    let events_before = event::Entity::find()
        .count(app.state.db.reader())
        .await
        .unwrap();
    input["content"] = json!("A different body with the same id");
    let second = record(&app, &t.agent, input).await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["message"]["id"], first["message"]["id"]);
    assert_eq!(second["message"]["content"], "Hello");
    assert_eq!(second["lead"]["messageCount"], 1);
    assert_eq!(count_messages(&app, t.id).await, 1);
    let events_after = event::Entity::find()
        .count(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(events_before, events_after, "a duplicate writes no events");

    // The same id on another channel is another message.
    let mut other = message("SMS", "+14155552671", "Hello");
    other["externalId"] = json!("wamid.ABC");
    assert_eq!(record(&app, &t.agent, other).await["duplicate"], false);
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_write_one_message() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut input = message("WHATSAPP", "972525551234", "Is this delivered once?");
    input["externalId"] = json!("wamid.RACE");
    let deliveries = (0..12).map(|_| {
        let (app, token, input) = (&app, t.agent.clone(), input.clone());
        async move { record(app, &token, input).await }
    });
    let results: Vec<Value> = futures::future::join_all(deliveries).await;
    let originals = results.iter().filter(|r| r["duplicate"] == false).count();
    assert_eq!(originals, 1, "{results:#?}");
    let ids: std::collections::HashSet<&str> = results
        .iter()
        .map(|r| r["message"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every delivery returns the same message");
    assert_eq!(count_messages(&app, t.id).await, 1);
}

#[tokio::test]
async fn concurrent_first_contacts_from_one_customer_create_one_lead_and_one_session() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let sends = (0..10).map(|i| {
        let (app, token) = (&app, t.agent.clone());
        async move {
            let mut input = message("WHATSAPP", "972525551234", &format!("message {i}"));
            input["externalId"] = json!(format!("wamid.{i}"));
            record(app, &token, input).await
        }
    });
    let results: Vec<Value> = futures::future::join_all(sends).await;
    let leads: std::collections::HashSet<&str> = results
        .iter()
        .map(|r| r["lead"]["id"].as_str().unwrap())
        .collect();
    let sessions: std::collections::HashSet<&str> = results
        .iter()
        .map(|r| r["session"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(leads.len(), 1);
    assert_eq!(sessions.len(), 1);
    let count = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(count.ok()["leads"]["totalCount"], 1);
    assert_eq!(count_messages(&app, t.id).await, 10);
}

/// The events of concurrent writers: per tenant, numbered 1, 2, 3… without gaps, one
/// `message.created` per message carrying its ids, whichever transaction committed first.
#[tokio::test]
async fn concurrent_writers_number_each_tenants_events_without_gaps() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Acme").await;
    let b = app.tenant("Globex").await;
    let sends = (0..24).map(|i| {
        let app = &app;
        let token = if i % 3 == 0 {
            b.agent.clone()
        } else {
            a.agent.clone()
        };
        async move {
            let phone = format!("97252555{:04}", i % 8);
            let mut input = message("WHATSAPP", &phone, &format!("message {i}"));
            input["externalId"] = json!(format!("wamid.seq.{i}"));
            record(app, &token, input).await
        }
    });
    let results: Vec<Value> = futures::future::join_all(sends).await;
    for (tenant, expected) in [(a.id, 16), (b.id, 8)] {
        let events = gapless_events(&app, tenant).await;
        let created: Vec<&event::Model> = events
            .iter()
            .filter(|e| e.event_type == "message.created")
            .collect();
        assert_eq!(created.len(), expected, "{events:#?}");
        for e in created {
            let result = results
                .iter()
                .find(|r| r["message"]["id"] == e.payload["messageId"])
                .unwrap_or_else(|| panic!("no message for {e:?}"));
            assert_eq!(
                e.lead_id.map(|id| id.to_string()).as_deref(),
                result["lead"]["id"].as_str()
            );
            assert_eq!(
                e.session_id.map(|id| id.to_string()).as_deref(),
                result["session"]["id"].as_str()
            );
        }
    }
}
#[tokio::test]
async fn a_reset_phrase_closes_the_session_and_the_next_context_starts_fresh() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (user, phrase) in [
        ("v-en", "Let's start over please"),
        ("v-he", "אפשר להתחיל מהתחלה?"),
        ("v-he2", "איפוס"),
    ] {
        let first = record(
            &app,
            &t.agent,
            message("WEB", user, "I want to book a table"),
        )
        .await;
        let reset = record(&app, &t.agent, message("WEB", user, phrase)).await;
        assert_eq!(reset["session"]["id"], first["session"]["id"], "{phrase}");
        assert_eq!(reset["session"]["status"], "CLOSED", "{phrase}");
        assert_eq!(reset["session"]["closeReason"], "RESET", "{phrase}");
        let lead = reset["lead"]["id"].as_str().unwrap();
        let context = app
            .gql(Some(&t.viewer), CONTEXT, json!({ "lead": lead }))
            .await;
        assert_eq!(
            context.ok()["memoryContext"]["messages"],
            json!([]),
            "{phrase}"
        );
        let next = record(&app, &t.agent, message("WEB", user, "Hi")).await;
        assert_eq!(next["sessionCreated"], true, "{phrase}");
    }
    // An agent saying "reset" does not reset, and neither does a customer's request that
    // starts with a reset word but is about something else.
    let first = record(&app, &t.agent, message("WEB", "v-x", "Hello")).await;
    let mut agent = message("WEB", "v-x", "reset");
    agent["role"] = json!("AGENT");
    assert_eq!(
        record(&app, &t.agent, agent).await["session"]["status"],
        "OPEN"
    );
    for request in [
        "How do I reset my password?",
        "איפוס סיסמה",
        "I need to reset my password for the account I opened with you last month",
    ] {
        let asked = record(&app, &t.agent, message("WEB", "v-x", request)).await;
        assert_eq!(asked["session"]["id"], first["session"]["id"], "{request}");
        assert_eq!(asked["session"]["status"], "OPEN", "{request}");
    }
}

#[tokio::test]
async fn tenants_choose_their_own_reset_phrases() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"resetKeywords: ["new topic"]"#).await;
    record(&app, &t.agent, message("WEB", "v", "Hello")).await;
    assert_eq!(
        record(&app, &t.agent, message("WEB", "v", "start over")).await["session"]["status"],
        "OPEN"
    );
    assert_eq!(
        record(&app, &t.agent, message("WEB", "v", "new topic")).await["session"]["closeReason"],
        "RESET"
    );
}

#[tokio::test]
async fn a_batch_records_what_is_valid_and_reports_each_failure() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut duplicate = message("WEB", "v1", "first");
    duplicate["externalId"] = json!("m-1");
    let inputs = json!([
        duplicate,
        message("WEB", "v1", "second"),
        message("WEB", "v1", "   "),
        message("WEB", "v2", "other customer"),
        duplicate,
    ]);
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                recorded duplicates failed
                results { index result { duplicate message { id content } lead { id } } error { code field message } }
            } }"#,
            json!({ "inputs": inputs }),
        )
        .await;
    let payload = &response.ok()["recordMessages"];
    assert_eq!(payload["recorded"], 3);
    assert_eq!(payload["duplicates"], 1);
    assert_eq!(payload["failed"], 1);
    let results = payload["results"].as_array().unwrap();
    assert_eq!(results[2]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(results[2]["error"]["field"], "inputs[2].content");
    assert_eq!(results[4]["result"]["duplicate"], true);
    assert_eq!(
        results[4]["result"]["message"]["id"],
        results[0]["result"]["message"]["id"]
    );
    assert_ne!(
        results[3]["result"]["lead"]["id"],
        results[0]["result"]["lead"]["id"]
    );
    assert_eq!(count_messages(&app, t.id).await, 3);

    let too_many: Vec<Value> = (0..501)
        .map(|i| message("WEB", "v", &format!("m{i}")))
        .collect();
    let response = app
        .gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": too_many }),
        )
        .await;
    response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.field(), Some("inputs"));
    assert_eq!(count_messages(&app, t.id).await, 3);
}

#[tokio::test]
async fn a_repeat_that_happened_earlier_than_its_twin_is_reported_against_the_recorded_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let base = app.state.now() - Duration::hours(1);
    // Inputs are applied in time order, so the second input (earlier) is the one recorded.
    let mut later = message("WHATSAPP", "w1", "same delivery");
    later["externalId"] = json!("wamid.1");
    later["occurredAt"] = json!((base + Duration::minutes(2)).to_rfc3339());
    let mut earlier = later.clone();
    earlier["occurredAt"] = json!(base.to_rfc3339());
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                recorded duplicates failed
                results { index result { duplicate message { id occurredAt } } error { code } }
            } }"#,
            json!({ "inputs": [later, earlier] }),
        )
        .await;
    let payload = &response.ok()["recordMessages"];
    assert_eq!(payload["recorded"], 1, "{payload}");
    assert_eq!(payload["duplicates"], 1);
    assert_eq!(payload["failed"], 0);
    let results = payload["results"].as_array().unwrap();
    assert_eq!(results[0]["result"]["duplicate"], true);
    assert_eq!(results[1]["result"]["duplicate"], false);
    assert_eq!(
        results[0]["result"]["message"]["id"],
        results[1]["result"]["message"]["id"]
    );
    assert_eq!(count_messages(&app, t.id).await, 1);
}

#[tokio::test]
async fn a_batch_finds_known_customers_and_deliveries_across_channels_and_identity_kinds() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // Known customers on several channels and identity kinds, each with a delivered message.
    let mut known = Vec::new();
    for (i, channel) in ["WHATSAPP", "WEB", "SMS", "EMAIL", "CALL"]
        .iter()
        .enumerate()
    {
        let mut input = message(channel, &format!("user-{i}"), "hello");
        input["externalId"] = json!(format!("ext-{i}"));
        if *channel == "EMAIL" {
            input["email"] = json!("dana@example.com");
        }
        if *channel == "SMS" {
            input["phone"] = json!("+14155552671");
        }
        known.push(input);
    }
    let mutation = r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
        recorded duplicates failed results { result { duplicate leadCreated lead { id } } }
    } }"#;
    let first = app
        .gql(Some(&t.agent), mutation, json!({ "inputs": known }))
        .await;
    let first = first.ok()["recordMessages"].clone();
    assert_eq!(first["recorded"], 5, "{first}");
    // The same deliveries again, plus new messages from the same people found by phone and
    // email rather than by their channel id: nothing new is created.
    let mut again = known.clone();
    let mut by_phone = message("CALL", "call-77", "calling about my order");
    by_phone["phone"] = json!("+14155552671");
    let mut by_email = message("WEB", "visitor-9", "it's me again");
    by_email["email"] = json!("dana@example.com");
    again.push(by_phone);
    again.push(by_email);
    let second = app
        .gql(Some(&t.agent), mutation, json!({ "inputs": again }))
        .await;
    let second = second.ok()["recordMessages"].clone();
    assert_eq!(second["recorded"], 2, "{second}");
    assert_eq!(second["duplicates"], 5);
    let results = second["results"].as_array().unwrap();
    for (i, r) in results.iter().take(5).enumerate() {
        assert_eq!(r["result"]["duplicate"], true, "input {i}");
        assert_eq!(
            r["result"]["lead"]["id"],
            first["results"][i]["result"]["lead"]["id"]
        );
    }
    assert_eq!(results[5]["result"]["leadCreated"], false);
    assert_eq!(
        results[5]["result"]["lead"]["id"], first["results"][2]["result"]["lead"]["id"],
        "found by phone"
    );
    assert_eq!(results[6]["result"]["leadCreated"], false);
    assert_eq!(
        results[6]["result"]["lead"]["id"], first["results"][3]["result"]["lead"]["id"],
        "found by email"
    );
    assert_eq!(count_messages(&app, t.id).await, 7);
}

#[tokio::test]
async fn a_historical_import_keeps_its_times_and_splits_sessions_by_gaps() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let base = app.state.now() - Duration::days(3);
    let at = |minutes: i64| (base + Duration::minutes(minutes)).to_rfc3339();
    // Deliberately out of order; a 2-hour gap separates two conversations.
    let inputs: Vec<Value> = [
        (121, "later conversation"),
        (0, "first"),
        (5, "second"),
        (3, "in between"),
    ]
    .iter()
    .map(|(m, c)| {
        let mut input = message("SMS", "+14155552671", c);
        input["occurredAt"] = json!(at(*m));
        input
    })
    .collect();
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                results { result { session { id } lead { id } } } } }"#,
            json!({ "inputs": inputs }),
        )
        .await;
    let results = response.ok()["recordMessages"]["results"]
        .as_array()
        .unwrap()
        .clone();
    let lead = results[0]["result"]["lead"]["id"].as_str().unwrap();
    let early = results[1]["result"]["session"]["id"].as_str().unwrap();
    assert_eq!(results[2]["result"]["session"]["id"], early);
    assert_eq!(results[3]["result"]["session"]["id"], early);
    assert_ne!(results[0]["result"]["session"]["id"], early);

    let session = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { session(id: $id) { status closeReason startedAt
                messages { edges { node { content occurredAt } } }
                newest: messages(order: NEWEST_FIRST, first: 1) { nodes { content } } } }"#,
            json!({ "id": early }),
        )
        .await;
    let session = &session.ok()["session"];
    let contents: Vec<&str> = session["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["first", "in between", "second"]);
    assert_eq!(session["newest"]["nodes"][0]["content"], "second");
    assert_eq!(session["status"], "CLOSED");
    assert_eq!(session["closeReason"], "IDLE_TIMEOUT");
    let lead = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    assert_eq!(lead.ok()["lead"]["sessionCount"], 2);
}

/// A message on SMS from +14155552671 at `minutes` from now.
fn sms_at(app: &TestApp, minutes: i64, content: &str) -> Value {
    let mut input = message("SMS", "+14155552671", content);
    input["occurredAt"] = json!((app.state.now() + Duration::minutes(minutes)).to_rfc3339());
    input
}

/// Records `content` over SMS now: (its session id, its lead id).
async fn sms_now(app: &TestApp, token: &str, content: &str) -> (String, String) {
    let recorded = record(app, token, sms_at(app, 0, content)).await;
    let id = |key: &str| recorded[key]["id"].as_str().unwrap().to_owned();
    (id("session"), id("lead"))
}

/// The sessions of `lead`, oldest first: (id, status, close reason, contents in time order).
async fn sessions_of(
    app: &TestApp,
    token: &str,
    lead: &str,
) -> Vec<(String, String, Value, Vec<String>)> {
    let response = app
        .gql(
            Some(token),
            r#"query($id: ID!) { lead(id: $id) { sessions(first: 20) { edges { node {
                id status closeReason startedAt messages(first: 50) { nodes { content } }
            } } } } }"#,
            json!({ "id": lead }),
        )
        .await;
    let mut sessions: Vec<(String, String, String, Value, Vec<String>)> =
        response.ok()["lead"]["sessions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let node = &e["node"];
                let contents = node["messages"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["content"].as_str().unwrap().to_owned())
                    .collect();
                (
                    node["startedAt"].as_str().unwrap().to_owned(),
                    node["id"].as_str().unwrap().to_owned(),
                    node["status"].as_str().unwrap().to_owned(),
                    node["closeReason"].clone(),
                    contents,
                )
            })
            .collect();
    sessions.sort_by(|a, b| a.0.cmp(&b.0));
    sessions
        .into_iter()
        .map(|(_, id, status, reason, contents)| (id, status, reason, contents))
        .collect()
}

#[tokio::test]
async fn history_imported_after_todays_conversation_goes_back_to_its_own_conversations() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let today = record(&app, &t.agent, sms_at(&app, -5, "Hi, about my order")).await;
    let lead = today["lead"]["id"].as_str().unwrap().to_owned();
    let today = today["session"]["id"].as_str().unwrap().to_owned();
    // Then older history arrives, newest first, in two requests and a late straggler: a
    // conversation three days ago and a message six days ago.
    let day = 24 * 60;
    for inputs in [
        vec![
            sms_at(&app, -3 * day + 10, "See you Tuesday"),
            sms_at(&app, -3 * day + 5, "Tuesday works"),
        ],
        vec![
            sms_at(&app, -3 * day, "Can I book a table?"),
            sms_at(&app, -6 * day, "Do you deliver?"),
        ],
    ] {
        let response = app
            .gql(Some(&t.agent), RECORD_MANY, json!({ "inputs": inputs }))
            .await;
        assert_eq!(response.ok()["recordMessages"]["recorded"], 2);
    }
    let straggler = record(
        &app,
        &t.agent,
        sms_at(&app, -3 * day + 20, "One more thing"),
    )
    .await;

    let sessions = sessions_of(&app, &t.viewer, &lead).await;
    let closed = (String::from("CLOSED"), json!("IDLE_TIMEOUT"));
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!((sessions[0].1.clone(), sessions[0].2.clone()), closed);
    assert_eq!(sessions[0].3, ["Do you deliver?"]);
    assert_eq!((sessions[1].1.clone(), sessions[1].2.clone()), closed);
    assert_eq!(
        sessions[1].3,
        [
            "Can I book a table?",
            "Tuesday works",
            "See you Tuesday",
            "One more thing"
        ]
    );
    assert_eq!(straggler["session"]["id"], sessions[1].0.as_str());
    assert_eq!(straggler["sessionCreated"], false);
    // Today's conversation goes on untouched, and is still what the agent reads.
    assert_eq!(sessions[2].0, today);
    assert_eq!(
        (sessions[2].1.as_str(), &sessions[2].3[..]),
        ("OPEN", &["Hi, about my order".to_owned()][..])
    );
    let context = context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(context["session"]["id"], today.as_str());
    assert_eq!(contents(&context), ["Hi, about my order"]);
    let lead = app.gql(Some(&t.viewer), LEAD, json!({ "id": lead })).await;
    assert_eq!(lead.ok()["lead"]["sessionCount"], 3);
    assert_eq!(lead.ok()["lead"]["messageCount"], 6);
    // Each past conversation is summarized, once.
    let mut past = vec![sessions[0].0.clone(), sessions[1].0.clone()];
    past.sort();
    assert_eq!(summarized_sessions(&app, t.id).await, past);
}

#[tokio::test]
async fn a_delayed_message_and_a_recent_one_are_one_open_conversation() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // Sent 16 minutes ago, delivered now: on its own, a conversation that went quiet.
    let delayed = record(&app, &t.agent, sms_at(&app, -16, "Is my table booked?")).await;
    assert_eq!(delayed["session"]["status"], "CLOSED");
    assert_eq!(delayed["session"]["closeReason"], "IDLE_TIMEOUT");
    // The next one shows the customer is still there: the same conversation, open again.
    let recent = record(&app, &t.agent, sms_at(&app, -2, "For 8pm")).await;
    assert_eq!(recent["session"]["id"], delayed["session"]["id"]);
    assert_eq!(recent["session"]["status"], "OPEN");
    // Both in one request: one open conversation from the start.
    let batch: Vec<Value> = [(-16, "Do you have gluten-free options?"), (-2, "For two")]
        .iter()
        .map(|(minutes, content)| {
            let mut m = sms_at(&app, *minutes, content);
            m["phone"] = json!("+14155550002");
            m["externalUserId"] = json!("+14155550002");
            m
        })
        .collect();
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                results { result { session { id status } lead { id } } } } }"#,
            json!({ "inputs": batch }),
        )
        .await;
    let results = response.ok()["recordMessages"]["results"].clone();
    assert_eq!(
        results[0]["result"]["session"],
        results[1]["result"]["session"]
    );
    assert_eq!(results[0]["result"]["session"]["status"], "OPEN");
    let lead = results[0]["result"]["lead"]["id"].as_str().unwrap();
    let context = context_on(&app, &t.viewer, lead, "SMS").await;
    assert_eq!(
        contents(&context),
        ["Do you have gluten-free options?", "For two"]
    );
}

#[tokio::test]
async fn a_late_delivery_rejoins_the_conversation_the_sweeper_closed() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (session, lead) = sms_now(&app, &t.agent, "Is the blue sofa in stock?").await;
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    // Sent ten minutes after the first, delivered after the sweep: the customer never went
    // quiet for the idle timeout, so the conversation is open again, question and all.
    let late = record(&app, &t.agent, sms_at(&app, -10, "And in grey?")).await;
    assert_eq!(late["session"]["id"], session.as_str());
    assert_eq!(late["session"]["status"], "OPEN");
    assert_eq!(late["session"]["messageCount"], 2);
    app.clock.advance(Duration::minutes(1));
    let next = record(&app, &t.agent, sms_at(&app, 0, "Or in green?")).await;
    assert_eq!(next["session"]["id"], session.as_str());
    let context = context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(
        contents(&context),
        ["Is the blue sofa in stock?", "And in grey?", "Or in green?"]
    );
    // The job queued at the sweep finds the conversation open and leaves it for its close.
    let report = memodesk::workers::jobs::run_pending(&app.state)
        .await
        .unwrap();
    assert_eq!(report.total(), 1);
    let summary = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { session(id: $id) { status summary { summary } } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(summary.ok()["session"]["status"], "OPEN");
    assert_eq!(summary.ok()["session"]["summary"], Value::Null);

    // Quiet for good, swept, summarized; a delivery from before that quiet spell joins it
    // closed and asks for its summary again, and the customer writing now starts afresh.
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    app.run_jobs(1).await;
    let before = summarized_sessions(&app, t.id).await.len();
    let late = record(&app, &t.agent, sms_at(&app, -19, "Sorry, and delivery?")).await;
    assert_eq!(late["session"]["id"], session.as_str());
    assert_eq!(late["session"]["status"], "CLOSED");
    assert_eq!(summarized_sessions(&app, t.id).await.len(), before + 1);
    let now = record(&app, &t.agent, sms_at(&app, 0, "Hello again")).await;
    assert_ne!(now["session"]["id"], session.as_str());
    assert_eq!(now["session"]["status"], "OPEN");
}

/// The summary the pipeline wrote for `session`, if any.
async fn summary_of(app: &TestApp, viewer: &str, session: &str) -> Value {
    app.gql(
        Some(viewer),
        "query($id: ID!) { session(id: $id) { summary { summary } } }",
        json!({ "id": session }),
    )
    .await
    .ok()["session"]["summary"]["summary"]
        .clone()
}

#[tokio::test]
async fn a_conversation_reopened_after_its_summary_remembers_the_one_before() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let sweep_and_summarize = || async {
        app.clock.advance(Duration::minutes(20));
        app.sweep(1).await;
        app.run_jobs(1).await;
    };
    let before = record(
        &app,
        &t.agent,
        sms_at(&app, 0, "Do you deliver to Haifa? I need a dining table"),
    )
    .await;
    let lead = before["lead"]["id"].as_str().unwrap().to_owned();
    let before = before["session"]["id"].as_str().unwrap().to_owned();
    sweep_and_summarize().await;
    app.clock.advance(Duration::hours(3));
    let sofa = record(
        &app,
        &t.agent,
        sms_at(&app, 0, "Is the blue sofa in stock?"),
    )
    .await;
    let sofa = sofa["session"]["id"].as_str().unwrap().to_owned();
    sweep_and_summarize().await;
    let earlier = summary_of(&app, &t.viewer, &before).await;
    let latest = summary_of(&app, &t.viewer, &sofa).await;
    assert!(earlier.is_string() && latest.is_string() && earlier != latest);

    // Sent before the sofa conversation went quiet, delivered after its summary: the
    // conversation is open again, and its own summary is not "last time".
    let late = record(&app, &t.agent, sms_at(&app, -10, "And in grey?")).await;
    assert_eq!(late["session"]["id"], sofa.as_str());
    assert_eq!(late["session"]["status"], "OPEN");
    let context = &context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(context["lastSummary"]["text"], earlier);
    assert_eq!(context["lastSummary"]["sessionId"], before.as_str());
    let rendered = context["rendered"]["text"].as_str().unwrap();
    assert!(rendered.contains(earlier.as_str().unwrap()), "{rendered}");
    assert!(!rendered.contains(latest.as_str().unwrap()), "{rendered}");
    assert_eq!(
        contents(context),
        ["Is the blue sofa in stock?", "And in grey?"]
    );
}

#[tokio::test]
async fn a_late_message_from_within_an_ended_conversation_goes_back_to_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (earlier, lead) = sms_now(&app, &t.agent, "Is the blue sofa in stock?").await;
    app.clock.advance(Duration::minutes(10));
    let reset = record(&app, &t.agent, sms_at(&app, 0, "start over")).await;
    assert_eq!(reset["session"]["status"], "CLOSED");
    app.clock.advance(Duration::minutes(2));
    let today = record(&app, &t.agent, sms_at(&app, 0, "I need a table")).await;
    let today = today["session"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(1));
    // Sent at minute 5, between the sofa question and the reset; delivered at 13.
    let late = record(&app, &t.agent, sms_at(&app, -8, "And in grey?")).await;
    assert_eq!(late["session"]["id"], earlier.as_str());
    assert_eq!(late["session"]["status"], "CLOSED");
    let sessions = sessions_of(&app, &t.viewer, &lead).await;
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].0, earlier);
    assert_eq!(
        sessions[0].3,
        ["Is the blue sofa in stock?", "And in grey?", "start over"]
    );
    assert_eq!(sessions[1].0, today);
    assert_eq!(sessions[1].3, ["I need a table"]);
    let context = context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(contents(&context), ["I need a table"]);
}

#[tokio::test]
async fn a_late_request_to_start_over_ends_the_conversation_it_joins() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (earlier, lead) = sms_now(&app, &t.agent, "Is the blue sofa in stock?").await;
    app.clock.advance(Duration::minutes(10));
    record(&app, &t.agent, sms_at(&app, 0, "And in grey?")).await;
    app.clock.advance(Duration::minutes(17));
    app.sweep(1).await;
    app.clock.advance(Duration::minutes(3));
    // Asked at minute 20, within the quiet spell the sweeper took for the end, delivered at 30:
    // the conversation ended there with the reset, it is not open again.
    let late = record(&app, &t.agent, sms_at(&app, -10, "start over")).await;
    assert_eq!(late["session"]["id"], earlier.as_str());
    assert_eq!(late["session"]["status"], "CLOSED");
    app.clock.advance(Duration::minutes(1));
    let next = record(&app, &t.agent, sms_at(&app, 0, "I need a table")).await;
    assert_ne!(next["session"]["id"], earlier.as_str());
    let sessions = sessions_of(&app, &t.viewer, &lead).await;
    assert_eq!(sessions[0].0, earlier);
    assert_eq!(
        (sessions[0].1.as_str(), &sessions[0].2),
        ("CLOSED", &json!("RESET"))
    );
    let context = context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(contents(&context), ["I need a table"]);
}

/// `input` sent `minutes` from now.
fn sent_at(app: &TestApp, mut input: Value, minutes: i64) -> Value {
    input["occurredAt"] = json!((app.state.now() + Duration::minutes(minutes)).to_rfc3339());
    input
}

/// Call CA1 speaks at minutes 0 and 10, then is on hold: the sweeper closes it at 27. Call CA2
/// runs from 28 to its hang-up at 30. The clock is left at 30. Returns (CA1's session, lead).
async fn a_call_on_hold_then_another_call(app: &TestApp, token: &str) -> (String, String) {
    let first_call = call("+14155552671", "CA1");
    let second_call = call("+14155552671", "CA2");
    let first = record(
        app,
        token,
        sent_at(app, first_call("Hi, I'd like to book", false), 0),
    )
    .await;
    let id = |key: &str| first[key]["id"].as_str().unwrap().to_owned();
    let (on_hold, lead) = (id("session"), id("lead"));
    app.clock.advance(Duration::minutes(10));
    record(
        app,
        token,
        sent_at(app, first_call("let me check, hold on", false), 0),
    )
    .await;
    app.clock.advance(Duration::minutes(17));
    app.sweep(1).await;
    app.clock.advance(Duration::minutes(1));
    let second = record(
        app,
        token,
        sent_at(app, second_call("Hello, it's me again", false), 0),
    )
    .await;
    assert_ne!(second["session"]["id"], on_hold.as_str());
    app.clock.advance(Duration::minutes(2));
    let bye = record(app, token, sent_at(app, second_call("bye", true), 0)).await;
    assert_eq!(bye["session"]["status"], "CLOSED");
    (on_hold, lead)
}

#[tokio::test]
async fn a_late_line_of_a_call_on_hold_does_not_open_it_after_a_later_call() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (on_hold, lead) = a_call_on_hold_then_another_call(&app, &t.agent).await;
    app.clock.advance(Duration::minutes(1));
    // A line of the first call, said at minute 20, delivered at 31, after the second call.
    let line = call("+14155552671", "CA1")("ok I'm back", false);
    let late = record(&app, &t.agent, sent_at(&app, line, -11)).await;
    assert_eq!(late["session"]["id"], on_hold.as_str());
    assert_eq!(late["session"]["status"], "CLOSED");
    // Its summary (queued at the sweep, not yet run) will cover the line.
    assert!(summarized_sessions(&app, t.id).await.contains(&on_hold));
    let context = context_on(&app, &t.viewer, &lead, "CALL").await;
    assert_eq!(context["session"], Value::Null);
}

#[tokio::test]
async fn a_call_on_hold_refused_reopening_stays_closed_for_its_next_lines() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (on_hold, lead) = a_call_on_hold_then_another_call(&app, &t.agent).await;
    // Another call began since the hold: the first call's lines join it closed, each of them.
    for line in ["ok I'm back", "so, about Friday"] {
        app.clock.advance(Duration::minutes(1));
        let input = call("+14155552671", "CA1")(line, false);
        let recorded = record(&app, &t.agent, sent_at(&app, input, 0)).await;
        assert_eq!(recorded["session"]["id"], on_hold.as_str());
        assert_eq!(recorded["session"]["status"], "CLOSED", "{line}");
    }
    let context = context_on(&app, &t.viewer, &lead, "CALL").await;
    assert_eq!(context["session"], Value::Null);
}

#[tokio::test]
async fn a_late_request_to_start_over_from_before_today_s_conversation_does_not_end_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (today, lead) = sms_now(&app, &t.agent, "I need a table").await;
    app.clock.advance(Duration::minutes(5));
    record(&app, &t.agent, sms_at(&app, 0, "oak, please")).await;
    app.clock.advance(Duration::minutes(1));
    // Sent two minutes before today's first message, delivered now.
    let late = record(&app, &t.agent, sms_at(&app, -8, "start over")).await;
    assert_eq!(late["session"]["id"], today.as_str());
    assert_eq!(late["session"]["status"], "OPEN");
    assert_eq!(sessions_of(&app, &t.viewer, &lead).await.len(), 1);
    let context = context_on(&app, &t.viewer, &lead, "SMS").await;
    assert_eq!(
        contents(&context),
        ["start over", "I need a table", "oak, please"]
    );
}

#[tokio::test]
async fn an_earlier_call_imported_during_a_call_does_not_end_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let live = record(
        &app,
        &t.agent,
        call("+14155552671", "CA-live")("Hi, I'm calling about my booking", false),
    )
    .await;
    let mut old = call("+14155552671", "CA-old")("[transcript] booked for Friday", false);
    old["occurredAt"] = json!((app.state.now() - Duration::days(2)).to_rfc3339());
    let old = record(&app, &t.agent, old).await;
    assert_ne!(old["session"]["id"], live["session"]["id"]);
    assert_eq!(old["session"]["status"], "CLOSED");
    assert_eq!(old["session"]["closeReason"], "IDLE_TIMEOUT");
    // The live call goes on in its session.
    let next = record(
        &app,
        &t.agent,
        call("+14155552671", "CA-live")("Can we move it?", false),
    )
    .await;
    assert_eq!(next["session"]["id"], live["session"]["id"]);
    assert_eq!(next["session"]["status"], "OPEN");
    assert_eq!(next["session"]["messageCount"], 2);
    // After the hang-up, the old call's next line joins it, closed: it is not reopened.
    let bye = record(&app, &t.agent, call("+14155552671", "CA-live")("Bye", true)).await;
    assert_eq!(bye["session"]["closeReason"], "CALL_ENDED");
    let mut line = call("+14155552671", "CA-old")("[transcript] for four people", true);
    line["occurredAt"] =
        json!((app.state.now() - Duration::days(2) + Duration::minutes(1)).to_rfc3339());
    let line = record(&app, &t.agent, line).await;
    assert_eq!(line["session"]["id"], old["session"]["id"]);
    assert_eq!(line["session"]["status"], "CLOSED");
    assert_eq!(line["session"]["messageCount"], 2);
    assert_eq!(
        line["session"]["closeReason"], "CALL_ENDED",
        "its hang-up says how it ended"
    );
}

#[tokio::test]
async fn history_of_a_quiet_channel_is_recorded_as_closed_conversations() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut chat = message("WHATSAPP", "14155552671", "Hi, is my order ready?");
    chat["phone"] = json!("+14155552671");
    let lead = record(&app, &t.agent, chat).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Last week's web chat, one request per message.
    let week_ago = app.state.now() - Duration::days(7);
    let mut sessions = Vec::new();
    for (minute, content) in [(0, "Do you ship abroad?"), (3, "To Italy")] {
        let mut web = message("WEB", "visitor-7", content);
        web["phone"] = json!("+14155552671");
        web["occurredAt"] = json!((week_ago + Duration::minutes(minute)).to_rfc3339());
        let recorded = record(&app, &t.agent, web).await;
        assert_eq!(recorded["lead"]["id"], lead.as_str());
        assert_eq!(recorded["session"]["status"], "CLOSED", "{content}");
        sessions.push(recorded["session"]["id"].clone());
    }
    assert_eq!(sessions[0], sessions[1], "one conversation");
    let context = context_on(&app, &t.viewer, &lead, "WEB").await;
    assert_eq!(context["session"], Value::Null);
    assert_eq!(
        summarized_sessions(&app, t.id).await,
        [sessions[0].as_str().unwrap()],
        "one summary, pending until it runs"
    );
}

#[tokio::test]
async fn a_session_ref_groups_a_call_and_a_late_transcript_joins_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let call = call("+14155552671", "CA123");
    let first = record(&app, &t.agent, call("Hi, I want to reschedule", false)).await;
    let last = record(&app, &t.agent, call("Thanks, bye", true)).await;
    assert_eq!(last["session"]["id"], first["session"]["id"]);
    assert_eq!(last["session"]["status"], "CLOSED");
    assert_eq!(last["session"]["closeReason"], "CALL_ENDED");
    app.clock.advance(Duration::minutes(40));
    let transcript = record(
        &app,
        &t.agent,
        call(
            "[transcript] customer asked to move Tuesday to Friday",
            false,
        ),
    )
    .await;
    assert_eq!(transcript["session"]["id"], first["session"]["id"]);
    assert_eq!(transcript["session"]["messageCount"], 3);
    // A new call is a new session even within the idle timeout.
    let mut other = call("Calling again", false);
    other["sessionRef"] = json!("CA124");
    let next = record(&app, &t.agent, other).await;
    assert_ne!(next["session"]["id"], first["session"]["id"]);
    // An integration ending a chat closes it by hand, not as a call.
    let mut chat = message("WHATSAPP", "14155552671", "Thanks, that's all");
    chat["endsSession"] = json!(true);
    let chat = record(&app, &t.agent, chat).await;
    assert_eq!(chat["session"]["status"], "CLOSED");
    assert_eq!(chat["session"]["closeReason"], "MANUAL");
}

#[tokio::test]
async fn a_call_on_hold_past_the_idle_timeout_goes_on_in_its_session() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let call = call("+14155552671", "CA777");
    let first = record(&app, &t.agent, call("I need to change my booking", false)).await;
    let lead = first["lead"]["id"].as_str().unwrap();
    // On hold for 20 minutes: the sweeper closes the quiet call.
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;

    let back = record(&app, &t.agent, call("Sorry, I'm back", false)).await;
    assert_eq!(back["session"]["id"], first["session"]["id"]);
    assert_eq!(back["session"]["status"], "OPEN");
    assert_eq!(back["sessionCreated"], false);
    // The agent's next context carries the whole call, not an empty conversation.
    let context = context_on(&app, &t.viewer, lead, "CALL").await;
    assert_eq!(
        contents(&context),
        ["I need to change my booking", "Sorry, I'm back"]
    );
    let reopened = gapless_events(&app, t.id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "session.opened" && e.payload["reopened"] == true)
        .count();
    assert_eq!(reopened, 1);

    let end = record(&app, &t.agent, call("Thanks, bye", true)).await;
    assert_eq!(end["session"]["id"], first["session"]["id"]);
    assert_eq!(end["session"]["closeReason"], "CALL_ENDED");
    assert_eq!(end["session"]["messageCount"], 3);
}

#[tokio::test]
async fn after_a_caller_starts_over_the_rest_of_the_call_is_a_fresh_conversation() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let call = call("+14155552672", "CA888");
    let first = record(&app, &t.agent, call("I want to book a room", false)).await;
    let reset = record(&app, &t.agent, call("Actually, start over", false)).await;
    assert_eq!(reset["session"]["closeReason"], "RESET");
    let fresh = record(&app, &t.agent, call("A table for two tonight", false)).await;
    assert_eq!(fresh["sessionCreated"], true);
    assert_eq!(fresh["session"]["status"], "OPEN");
    assert_ne!(fresh["session"]["id"], first["session"]["id"]);
    let lead = first["lead"]["id"].as_str().unwrap();
    let context = context_on(&app, &t.viewer, lead, "CALL").await;
    assert_eq!(contents(&context), ["A table for two tonight"]);
    let end = record(&app, &t.agent, call("Thanks, bye", true)).await;
    assert_eq!(end["session"]["id"], fresh["session"]["id"]);
    assert_eq!(end["session"]["closeReason"], "CALL_ENDED");
}

#[tokio::test]
async fn messages_are_classified_with_their_entities() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let recorded = record(
        &app,
        &t.agent,
        message("WEB", "v", "How much is 100 USD in ILS?"),
    )
    .await;
    let id = recorded["message"]["id"].as_str().unwrap();
    let session = recorded["session"]["id"].as_str().unwrap();
    let detail = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { session(id: $id) { intents messages { nodes { id intent intentConfidence language
                entities { currencies amounts { value currency } } } } } }"#,
            json!({ "id": session }),
        )
        .await;
    let node = &detail.ok()["session"]["messages"]["nodes"][0];
    assert_eq!(node["id"], id);
    assert_eq!(node["intent"], "CURRENCY_CONVERSION");
    assert!(node["intentConfidence"].as_f64().unwrap() > 0.5);
    assert_eq!(node["language"], "en");
    assert_eq!(node["entities"]["currencies"], json!(["USD", "ILS"]));
    assert_eq!(node["entities"]["amounts"][0]["value"], 100.0);
    assert_eq!(
        detail.ok()["session"]["intents"],
        json!(["CURRENCY_CONVERSION"])
    );
}

#[tokio::test]
async fn with_context_returns_the_memory_context_in_the_same_round_trip() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let response = app
        .gql(
            Some(&t.agent),
            crate::helpers::RECORD,
            json!({ "input": message("WEB", "v", "Hi, my name is Noa"), "withContext": true }),
        )
        .await;
    let context = &response.ok()["recordMessage"]["context"];
    assert!(
        context["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("Hi, my name is Noa")
    );
    assert!(context["rendered"]["estimatedTokens"].as_i64().unwrap() > 0);
    assert_eq!(context["isReturning"], false);
}

#[tokio::test]
async fn a_session_ref_of_another_customer_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let call = |phone: &str| json!({ "channel": "CALL", "phone": phone, "sessionRef": "CA-shared", "content": "hello" });
    record(&app, &t.agent, call("+14155552671")).await;
    let other = app
        .gql(
            Some(&t.agent),
            crate::helpers::RECORD,
            json!({ "input": call("+14155552672") }),
        )
        .await;
    other.expect_error("BAD_USER_INPUT");
    assert_eq!(other.field(), Some("input.sessionRef"));
    assert_eq!(count_messages(&app, t.id).await, 1);
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(
        leads.ok()["leads"]["totalCount"],
        1,
        "nothing of the refused message was written"
    );
}

#[tokio::test]
async fn user_ids_with_digits_are_not_taken_for_phone_numbers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let a = record(
        &app,
        &t.agent,
        message("CALL", "client:bob14155552671", "hi from bob"),
    )
    .await;
    let b = record(
        &app,
        &t.agent,
        message("SMS", "+14155552671", "hi from a phone"),
    )
    .await;
    assert_ne!(
        a["lead"]["id"], b["lead"]["id"],
        "an id containing digits is not a phone number"
    );
    assert_eq!(a["lead"]["primaryPhone"], Value::Null);
    // A WhatsApp id that is a number still is one.
    let c = record(
        &app,
        &t.agent,
        message("WHATSAPP", "14155552671", "hi on whatsapp"),
    )
    .await;
    assert_eq!(c["lead"]["id"], b["lead"]["id"]);
}

const RECORD_MANY: &str = r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
    recorded failed
    results { index result { message { content } lead { id } } error { code field } }
} }"#;

#[tokio::test]
async fn concurrent_batches_that_share_a_commit_each_get_their_own_results() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // Six batches at once: the writer may put several in one transaction. Batch 2 holds a
    // message that fails the whole transaction (a call id of another customer), so the
    // transaction it lands in falls back to one savepoint per message.
    record(&app, &t.agent, {
        let mut m = message("CALL", "+972501111111", "hello");
        m["sessionRef"] = json!("call-1");
        m
    })
    .await;
    let batches: Vec<Vec<Value>> = (0..6)
        .map(|b| {
            (0..40)
                .map(|i| match (b, i) {
                    (_, 7) => message("WEB", &format!("v{b}"), " "),
                    (2, 9) => {
                        let mut m = message("CALL", "+972502222222", "not your call");
                        m["sessionRef"] = json!("call-1");
                        m
                    }
                    _ => message("WEB", &format!("v{b}"), &format!("batch {b} message {i}")),
                })
                .collect()
        })
        .collect();
    let responses = futures::future::join_all(
        batches
            .iter()
            .map(|inputs| app.gql(Some(&t.agent), RECORD_MANY, json!({ "inputs": inputs }))),
    )
    .await;
    let mut recorded = 0;
    for (b, response) in responses.iter().enumerate() {
        let payload = &response.ok()["recordMessages"];
        let results = payload["results"].as_array().unwrap();
        assert_eq!(results.len(), 40, "batch {b}");
        let leads: std::collections::HashSet<&Value> = results
            .iter()
            .filter_map(|r| r["result"].get("lead").map(|l| &l["id"]))
            .collect();
        assert_eq!(leads.len(), 1, "batch {b} is one customer's");
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r["index"], i);
            match (b, i) {
                (_, 7) => assert_eq!(r["error"]["field"], format!("inputs[{i}].content")),
                (2, 9) => assert_eq!(r["error"]["field"], format!("inputs[{i}].sessionRef")),
                _ => assert_eq!(
                    r["result"]["message"]["content"],
                    format!("batch {b} message {i}"),
                    "batch {b} got another request's result"
                ),
            }
        }
        recorded += payload["recorded"].as_u64().unwrap();
    }
    assert_eq!(recorded, 6 * 38 + 5);
    assert_eq!(count_messages(&app, t.id).await, 1 + 6 * 38 + 5);
}

#[tokio::test]
async fn a_batch_that_isolates_a_failing_message_still_places_the_others_in_time_order() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    record(&app, &t.agent, {
        let mut m = message("CALL", "+972501111111", "hello");
        m["sessionRef"] = json!("call-1");
        m
    })
    .await;
    // A history import, newest first: 121 minutes, then 0, 5 and 3. In time order that is one
    // conversation (0-5) and, after two quiet hours, another (121). The last input names
    // another customer's call, which fails the transaction: the batch is retried one savepoint
    // per message, and must split the sessions the same way.
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let mut inputs: Vec<Value> = [121, 0, 5, 3]
        .iter()
        .map(|minutes| {
            let mut m = message("WEB", "v-history", &format!("at minute {minutes}"));
            m["occurredAt"] = json!((start + chrono::Duration::minutes(*minutes)).to_rfc3339());
            m
        })
        .collect();
    inputs.push({
        let mut m = message("CALL", "+972502222222", "not your call");
        m["sessionRef"] = json!("call-1");
        m
    });
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                recorded failed
                results { result { session { id } } error { field } }
            } }"#,
            json!({ "inputs": inputs }),
        )
        .await;
    let payload = &response.ok()["recordMessages"];
    assert_eq!(
        (payload["recorded"].as_u64(), payload["failed"].as_u64()),
        (Some(4), Some(1))
    );
    let results = payload["results"].as_array().unwrap();
    let session = |i: usize| results[i]["result"]["session"]["id"].as_str().unwrap();
    assert_eq!(session(1), session(2));
    assert_eq!(session(1), session(3));
    assert_ne!(
        session(0),
        session(1),
        "the message two hours later opens its own session"
    );
    assert_eq!(results[4]["error"]["field"], "inputs[4].sessionRef");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_edit_gets_its_turn_while_a_backlog_of_messages_waits() {
    use memodesk::auth::Actor;
    use memodesk::domain::Channel;
    use memodesk::services::ingest::MessageInput;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = record(&app, &t.agent, message("WEB", "staff", "hello")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // More messages at once than the writer keeps up with: a backlog waits in its queue. One
    // customer each: racing first contacts of one customer are another test's subject.
    const BACKLOG: usize = 3000;
    let done = std::sync::Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..BACKLOG)
        .map(|i| {
            let (ingest, done) = (app.ingest.clone(), done.clone());
            let actor = Actor::system(t.id);
            tokio::spawn(async move {
                let input = MessageInput {
                    channel: Some(Channel::Web),
                    external_user_id: Some(format!("c{i}")),
                    content: format!("message {i}"),
                    ..MessageInput::default()
                };
                ingest.record(&actor, input).await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // A staff edit writes through the other writer: it waits for its turn, not for the queue.
    crate::helpers::set_profile_field(&app, &t.agent, &lead, "city", "Haifa")
        .await
        .ok();
    let when_edited = done.load(Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        when_edited < BACKLOG,
        "the edit waited for the whole backlog: ingest kept the turn to write"
    );
    assert_eq!(count_messages(&app, t.id).await, 1 + BACKLOG as u64);
}

#[tokio::test]
async fn batches_of_two_tenants_that_share_a_group_stay_in_their_tenants() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.tenant("Acme").await, app.tenant("Globex").await);
    // The same customer id in both tenants, sent at once: the writer may take all eight
    // requests together, and must write each tenant's in that tenant's own transaction.
    let requests: Vec<(&str, Vec<Value>)> = (0..8)
        .map(|i| {
            let token = if i % 2 == 0 { &a.agent } else { &b.agent };
            let inputs = (0..10)
                .map(|m| message("WEB", "same-visitor", &format!("request {i} message {m}")))
                .collect();
            (token.as_str(), inputs)
        })
        .collect();
    let responses = futures::future::join_all(
        requests
            .iter()
            .map(|(token, inputs)| app.gql(Some(token), RECORD_MANY, json!({ "inputs": inputs }))),
    )
    .await;
    let lead_of = |i: usize| {
        responses[i].ok()["recordMessages"]["results"][0]["result"]["lead"]["id"].clone()
    };
    for (i, response) in responses.iter().enumerate() {
        assert_eq!(response.ok()["recordMessages"]["recorded"], 10);
        assert_eq!(lead_of(i), lead_of(i % 2), "one lead per tenant");
    }
    assert_ne!(lead_of(0), lead_of(1), "tenants share no lead");
    assert_eq!(count_messages(&app, a.id).await, 40);
    assert_eq!(count_messages(&app, b.id).await, 40);
    // Each tenant sees its own lead, and the other tenant's id is missing.
    let mine = app
        .gql(Some(&a.agent), LEAD, json!({ "id": lead_of(0) }))
        .await;
    assert_eq!(mine.ok()["lead"]["messageCount"], 40);
    let theirs = app
        .gql(Some(&a.agent), LEAD, json!({ "id": lead_of(1) }))
        .await;
    theirs.expect_error("NOT_FOUND");
}

/// In one batch, a customer whose profile changes is written whole, and one who only talks
/// on has just what moved on written (on SQLite, column by column): both end up right.
#[tokio::test]
async fn a_batch_writes_changed_profiles_and_conversations_that_only_moved_on() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let dana = record(&app, &t.agent, message("WHATSAPP", "+972541234567", "Hi")).await;
    let omer = record(
        &app,
        &t.agent,
        message("WHATSAPP", "+972541234568", "Hello"),
    )
    .await;
    let lead = |id: &Value| {
        let app = &app;
        let token = t.agent.clone();
        let id = id.clone();
        async move { app.gql(Some(&token), LEAD, json!({ "id": id })).await.ok()["lead"].clone() }
    };
    let omer_before = lead(&omer["lead"]["id"]).await;

    let mut answer = message("WHATSAPP", "+972541234568", "Glad to help");
    answer["role"] = json!("AGENT");
    let inputs = json!([
        message("WHATSAPP", "+972541234567", "My email is dana@example.com"),
        message("WHATSAPP", "+972541234568", "thanks"),
        answer,
        message("WHATSAPP", "+972541234567", "see you"),
    ]);
    let response = app
        .gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded failed } }",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(response.ok()["recordMessages"]["recorded"], 4);

    let dana = lead(&dana["lead"]["id"]).await;
    assert_eq!(dana["messageCount"], 3);
    let email = dana["profile"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "email")
        .expect("the email joined the profile");
    assert_eq!(email["value"], "dana@example.com");
    assert!(
        dana["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "EMAIL" && i["value"] == "dana@example.com"),
        "{dana}"
    );
    let sessions = &dana["sessions"]["edges"];
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["node"]["messageCount"], 3);

    let omer = lead(&omer["lead"]["id"]).await;
    assert_eq!(omer["messageCount"], 3);
    assert_eq!(omer["lastChannel"], "WHATSAPP");
    assert_eq!(omer["profile"], omer_before["profile"]);
    assert_eq!(omer["primaryPhone"], omer_before["primaryPhone"]);
    assert_eq!(omer["sessions"]["edges"][0]["node"]["messageCount"], 3);
    assert_eq!(omer["sessions"]["edges"][0]["node"]["status"], "OPEN");
}
