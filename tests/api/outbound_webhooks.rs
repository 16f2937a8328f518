//! Outbound webhooks: signed per Standard Webhooks (verified with the `standardwebhooks`
//! crate), retried with the same `webhook-id`, 410 disables, admins only, per tenant.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

use memodesk::clock::Clock as _;

use crate::crm_changes::api_key;
use crate::helpers::*;

/// A local receiver that records what it gets and answers with queued statuses (then 200).
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let me = me.clone();
                async move {
                    me.hits.lock().unwrap().push((headers, body));
                    let code = me.answers.lock().unwrap().pop_front().unwrap_or(200);
                    (StatusCode::from_u16(code).unwrap(), "thanks")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hook")
    }

    fn hits(&self) -> Vec<(HeaderMap, Bytes)> {
        self.hits.lock().unwrap().clone()
    }
}

fn allow_private(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(TestOptions {
        settings: Some(allow_private),
        ..TestOptions::default()
    })
    .await
}

const CREATE: &str = r#"mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes enabled } } }"#;

const DELIVERIES: &str = r#"query($id: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $id, status: $status) {
    id webhookId eventType status attemptCount lastResponseCode
    attempts { attempt succeeded responseCode error }
  } }"#;

/// Creates an endpoint for `types`; returns (id, secret).
async fn endpoint(app: &TestApp, admin: &str, url: &str, types: &[&str]) -> (String, String) {
    let created = app
        .gql(
            Some(admin),
            CREATE,
            json!({ "input": { "url": url, "eventTypes": types, "description": "CRM" } }),
        )
        .await;
    let created = &created.ok()["createWebhookEndpoint"];
    (
        created["endpoint"]["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn send(app: &TestApp) -> memodesk::services::outbound::sender::SendReport {
    memodesk::services::outbound::sender::run_once(&app.state)
        .await
        .expect("webhook step")
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    app.gql(Some(admin), DELIVERIES, json!({ "id": endpoint }))
        .await
        .ok()["webhookDeliveries"]
        .as_array()
        .unwrap()
        .clone()
}

fn verifies(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(body, headers)
        .is_ok()
}

async fn lead_with_note(app: &TestApp, t: &TestTenant) -> String {
    let lead = record(app, &t.agent, message("WHATSAPP", "972501234567", "hi")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    add_note(app, &t.agent, &lead, "called back", false).await;
    lead
}

#[tokio::test]
async fn a_signed_event_reaches_the_receiver_and_verifies_with_standard_webhooks() {
    let app = spawn().await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let (id, secret) = endpoint(&app, &t.admin, &url, &["note.created"]).await;
    assert!(secret.starts_with("whsec_"));
    let lead = lead_with_note(&app, &t).await;

    let report = send(&app).await;
    assert_eq!((report.created, report.succeeded), (1, 1), "{report:?}");
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "only the asked-for event type is sent");
    let (headers, body) = &hits[0];
    assert!(verifies(&secret, headers, body), "signature verifies");
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["type"], "note.created");
    assert_eq!(payload["data"]["leadId"], lead.as_str());
    assert!(payload["timestamp"].is_string());

    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "SUCCEEDED");
    assert_eq!(
        listed[0]["webhookId"],
        headers["webhook-id"].to_str().unwrap()
    );
    assert_eq!(listed[0]["attempts"][0]["responseCode"], 200);

    // Rotation: the new and the old secret both sign during the grace period.
    let rotated = app
        .gql(
            Some(&t.admin),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": id }),
        )
        .await;
    let new_secret = rotated.ok()["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql(
        Some(&t.admin),
        "mutation($id: ID!) { replayWebhookDelivery(id: $id) { status } }",
        json!({ "id": listed[0]["id"] }),
    )
    .await
    .ok();
    send(&app).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2, "the replay was sent");
    let (headers, body) = &hits[1];
    assert!(verifies(&new_secret, headers, body), "the new secret signs");
    assert!(
        verifies(&secret, headers, body),
        "the old secret still signs"
    );
    assert_eq!(
        hits[0].0["webhook-id"], hits[1].0["webhook-id"],
        "a replay keeps the webhook-id"
    );
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_the_same_message_again() {
    let app = spawn().await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().push_back(503);
    let url = receiver.start().await;
    let (id, secret) = endpoint(&app, &t.admin, &url, &["note.created"]).await;
    lead_with_note(&app, &t).await;

    let first = send(&app).await;
    assert_eq!(first.failed, 1, "{first:?}");
    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed[0]["status"], "PENDING");
    assert_eq!(listed[0]["lastResponseCode"], 503);
    // Not due yet: nothing is sent.
    assert_eq!(send(&app).await.succeeded, 0);
    assert_eq!(receiver.hits().len(), 1);

    app.clock.advance(Duration::seconds(6));
    let second = send(&app).await;
    assert_eq!(second.succeeded, 1, "{second:?}");
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].0["webhook-id"], hits[1].0["webhook-id"]);
    assert!(verifies(&secret, &hits[1].0, &hits[1].1));
    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed[0]["status"], "SUCCEEDED");
    assert_eq!(listed[0]["attemptCount"], 2);
    let attempts = listed[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "every attempt is recorded");
    assert_eq!(attempts[0]["succeeded"], false);
    assert_eq!(attempts[1]["succeeded"], true);
}

#[tokio::test]
async fn a_replay_waits_while_an_attempt_is_on_the_wire_and_never_takes_over_its_lease() {
    let app = spawn().await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().push_back(503);
    let url = receiver.start().await;
    let (id, _) = endpoint(&app, &t.admin, &url, &["note.created"]).await;
    lead_with_note(&app, &t).await;
    assert_eq!(send(&app).await.failed, 1);
    let delivery = deliveries(&app, &t.admin, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A sender claims the due retry and is sending it (its lease is live).
    app.clock.advance(Duration::seconds(6));
    let now = app.clock.now();
    let claimed = memodesk::repo::webhooks::claim(
        app.state.db.writer(),
        "another-replica",
        10,
        now,
        now + Duration::seconds(60),
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1);
    let replay = "mutation($id: ID!) { replayWebhookDelivery(id: $id) { status } }";
    app.gql(Some(&t.admin), replay, json!({ "id": delivery }))
        .await
        .expect_error("CONFLICT");
    let row = memodesk::repo::webhooks::delivery(app.state.db.writer(), t.id, claimed[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.lease_owner.as_deref(),
        Some("another-replica"),
        "the lease is untouched"
    );

    // That sender died: once its lease has run out, the replay is taken and sent.
    app.clock.advance(Duration::seconds(61));
    app.gql(Some(&t.admin), replay, json!({ "id": delivery }))
        .await
        .ok();
    assert_eq!(send(&app).await.succeeded, 1);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].0["webhook-id"], hits[1].0["webhook-id"]);
}

#[tokio::test]
async fn a_receiver_answering_410_disables_the_endpoint_with_a_reason() {
    let app = spawn().await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().push_back(410);
    let url = receiver.start().await;
    let (id, _) = endpoint(&app, &t.admin, &url, &["note.created"]).await;
    let lead = lead_with_note(&app, &t).await;
    send(&app).await;

    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed[0]["status"], "FAILED");
    let endpoints = app
        .gql(
            Some(&t.admin),
            "{ webhookEndpoints { id enabled disabledReason } }",
            json!({}),
        )
        .await;
    let endpoint = &endpoints.ok()["webhookEndpoints"][0];
    assert_eq!(endpoint["enabled"], false);
    assert!(
        endpoint["disabledReason"].as_str().unwrap().contains("410"),
        "{endpoint}"
    );
    // Nothing more is queued for it.
    add_note(&app, &t.agent, &lead, "x", false).await;
    assert_eq!(send(&app).await.created, 0);
}

#[tokio::test]
async fn webhook_endpoints_are_for_admins_of_their_own_tenant() {
    let app = spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let export_key = api_key(&app, &acme.admin, &["EXPORT"]).await;
    let input = json!({ "input": { "url": "https://example.com/hook",
                                   "eventTypes": ["lead.updated"] } });
    for token in [&acme.agent, &acme.viewer, &export_key] {
        app.gql(Some(token), CREATE, input.clone())
            .await
            .expect_error("FORBIDDEN");
        app.gql(Some(token), "{ webhookEndpoints { id } }", json!({}))
            .await
            .expect_error("FORBIDDEN");
    }
    let (id, _) = endpoint(
        &app,
        &acme.admin,
        "https://example.com/hook",
        &["lead.updated"],
    )
    .await;

    // Another tenant's admin cannot see or touch it.
    let theirs = app
        .gql(Some(&other.admin), "{ webhookEndpoints { id } }", json!({}))
        .await;
    assert_eq!(theirs.ok()["webhookEndpoints"], json!([]));
    for query in [
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }",
    ] {
        app.gql(Some(&other.admin), query, json!({ "id": id }))
            .await
            .expect_error("NOT_FOUND");
    }
    app.gql(Some(&other.admin), DELIVERIES, json!({ "id": id }))
        .await
        .expect_error("NOT_FOUND");
    app.gql(
        Some(&acme.admin),
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        json!({ "id": id }),
    )
    .await
    .ok();
}

#[tokio::test]
async fn bad_urls_unknown_event_types_and_private_targets_are_refused() {
    // Default settings: private targets are refused.
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (url, types, field) in [
        ("ftp://example.com/x", json!(["lead.updated"]), "input.url"),
        ("not a url", json!(["lead.updated"]), "input.url"),
        (
            "http://127.0.0.1:9/hook",
            json!(["lead.updated"]),
            "input.url",
        ),
        (
            "http://169.254.169.254/latest",
            json!(["lead.updated"]),
            "input.url",
        ),
        (
            "https://example.com/hook",
            json!(["lead.exploded"]),
            "input.eventTypes",
        ),
        ("https://example.com/hook", json!([]), "input.eventTypes"),
        (
            "https://example.com/hook",
            json!(["credential.changed"]),
            "input.eventTypes",
        ),
    ] {
        let refused = app
            .gql(
                Some(&t.admin),
                CREATE,
                json!({ "input": { "url": url, "eventTypes": types } }),
            )
            .await;
        refused.expect_error("BAD_USER_INPUT");
        assert_eq!(refused.field(), Some(field), "{url} {types}");
    }
}
