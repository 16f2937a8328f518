//! Channel webhooks: WhatsApp Cloud API (handshake, signatures, messages, statuses), Twilio
//! voice callbacks, and the generic transcript endpoint. Payloads follow the providers'
//! documentation examples and are signed here, independently of the code under test.

use base64::Engine;
use hmac::{Hmac, Mac};
use memodesk::entities::{event, message};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestTenant, record};

const APP_SECRET: &str = "meta-app-secret-for-tests";
const VERIFY_TOKEN: &str = "verify-me-please";
const AUTH_TOKEN: &str = "twilio-auth-token-12345";

const LEAD_BY_PHONE: &str = r#"query($phone: String!) {
  leadByPhone(phone: $phone) {
    id displayName primaryPhone messageCount
    identities { kind value }
    profile { key value source }
    sessions(first: 10) { edges { node {
      id channel status closeReason sessionRef messageCount
      messages(first: 50) { nodes { content role externalId channelData deliveryStatus } }
    } } }
  }
}"#;

const LEADS: &str = r#"{
  leads(first: 10) { totalCount edges { node {
    id displayName primaryPhone identities { kind value }
    sessions(first: 5) { edges { node { channel messages(first: 10) { nodes { content externalId } } } } }
  } } }
}"#;

async fn configure(app: &TestApp, t: &TestTenant, input: Value) {
    app.gql(
        Some(&t.admin),
        r#"mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { id } }"#,
        json!({ "input": input }),
    )
    .await
    .ok();
}

async fn whatsapp_tenant(app: &TestApp, name: &str, secret: &str) -> TestTenant {
    let t = app.tenant(name).await;
    configure(
        app,
        &t,
        json!({ "whatsappAppSecret": secret, "whatsappVerifyToken": VERIFY_TOKEN }),
    )
    .await;
    t
}

async fn count_messages(app: &TestApp, tenant: Uuid) -> u64 {
    message::Entity::find()
        .filter(message::Column::TenantId.eq(tenant))
        .count(app.state.db.reader())
        .await
        .unwrap()
}

async fn count_events(app: &TestApp, tenant: Uuid, kind: &str) -> u64 {
    event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant))
        .filter(event::Column::EventType.eq(kind))
        .count(app.state.db.reader())
        .await
        .unwrap()
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as Meta signs.
fn meta_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

async fn post_whatsapp(
    app: &TestApp,
    tenant: Uuid,
    body: &[u8],
    signature: Option<&str>,
) -> (u16, String) {
    let mut request = app
        .client
        .post(app.url(&format!("/webhooks/whatsapp/{tenant}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// Signs and posts a delivery; returns the status.
async fn deliver(app: &TestApp, tenant: Uuid, payload: &Value) -> u16 {
    let body = serde_json::to_vec(payload).unwrap();
    let signature = meta_signature(APP_SECRET, &body);
    post_whatsapp(app, tenant, &body, Some(&signature)).await.0
}

/// A delivery shaped like Meta's documentation: one change of field `messages`.
fn meta_delivery(value: Value) -> Value {
    json!({
      "object": "whatsapp_business_account",
      "entry": [{
        "id": "102290129340398",
        "changes": [{ "value": value, "field": "messages" }]
      }]
    })
}

fn metadata() -> Value {
    json!({ "display_phone_number": "15550783881", "phone_number_id": "106540352242922" })
}

fn text_delivery(app: &TestApp, wamid: &str, body: &str) -> Value {
    text_from(app, "16505551234", wamid, body)
}

/// A text message from the customer with WhatsApp id `wa_id`.
fn text_from(app: &TestApp, wa_id: &str, wamid: &str, body: &str) -> Value {
    meta_delivery(json!({
      "messaging_product": "whatsapp",
      "metadata": metadata(),
      "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": wa_id }],
      "messages": [{
        "from": wa_id,
        "id": wamid,
        "timestamp": app.state.now().timestamp().to_string(),
        "type": "text",
        "text": { "body": body }
      }]
    }))
}

fn status_delivery(app: &TestApp, wamid: &str, status: &str) -> Value {
    meta_delivery(json!({
      "messaging_product": "whatsapp",
      "metadata": metadata(),
      "statuses": [{
        "id": wamid,
        "status": status,
        "timestamp": app.state.now().timestamp().to_string(),
        "recipient_id": "16505551234",
        "conversation": { "id": "CONVERSATION_ID", "origin": { "type": "service" } },
        "pricing": { "billable": true, "pricing_model": "CBP", "category": "service" }
      }]
    }))
}

fn session_messages(lead: &Value) -> Vec<Value> {
    lead["sessions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["node"]["messages"]["nodes"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn a_signed_text_message_records_lead_session_and_message_once() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let payload = text_delivery(
        &app,
        "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "Does it come in another color?",
    );

    let started = std::time::Instant::now();
    assert_eq!(deliver(&app, t.id, &payload).await, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // Meta delivers again when it did not hear back in time: nothing is written twice.
    assert_eq!(deliver(&app, t.id, &payload).await, 200);
    assert_eq!(count_messages(&app, t.id).await, 1);

    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+16505551234" }),
        )
        .await;
    let lead = &lead.ok()["leadByPhone"];
    assert_eq!(lead["displayName"], "Sheena Nelson");
    assert_eq!(lead["primaryPhone"], "+16505551234");
    let name = lead["profile"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "name")
        .unwrap();
    assert_eq!(name["source"], "CHANNEL");
    let session = &lead["sessions"]["edges"][0]["node"];
    assert_eq!(session["channel"], "WHATSAPP");
    assert_eq!(session["status"], "OPEN");
    let messages = session_messages(lead);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["content"], "Does it come in another color?");
    assert_eq!(messages[0]["role"], "CUSTOMER");
    assert_eq!(
        messages[0]["externalId"],
        "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(messages[0]["channelData"], Value::Null);
}

#[tokio::test]
async fn a_german_customer_on_whatsapp_keeps_every_digit_of_their_number() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme US", APP_SECRET).await;
    let payload = text_from(
        &app,
        "4915123456789",
        "wamid.de1",
        "Hallo, gibt es das in Blau?",
    );
    assert_eq!(deliver(&app, t.id, &payload).await, 200);

    let leads = app.gql(Some(&t.viewer), LEADS, json!({})).await;
    let lead = &leads.ok()["leads"]["edges"][0]["node"];
    assert_eq!(lead["primaryPhone"], "+4915123456789", "{lead:#}");
    assert!(
        lead["identities"]
            .as_array()
            .unwrap()
            .contains(&json!({ "kind": "PHONE", "value": "+4915123456789" })),
        "{lead:#}"
    );
}

#[tokio::test]
async fn a_customer_from_a_range_missing_from_the_numbering_plan_is_known_by_their_number() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    configure(&app, &t, json!({ "twilioAuthToken": AUTH_TOKEN })).await;
    // +972 50 1… is a real Israeli mobile range the built-in metadata does not list.
    let payload = text_from(
        &app,
        "972501234567",
        "wamid.il1",
        "Hi, is the Rome trip still on?",
    );
    assert_eq!(deliver(&app, t.id, &payload).await, 200);
    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+972 50-123-4567" }),
        )
        .await;
    let lead = &lead.ok()["leadByPhone"];
    assert_eq!(lead["primaryPhone"], "+972501234567");

    // The same customer calls: the call joins the lead.
    let mut params = call_status(&app, "ringing", 10);
    for (name, value) in &mut params {
        if matches!(*name, "From" | "Caller") {
            *value = "+972501234567".to_owned();
        }
    }
    let (code, body) = post_twilio(&app, t.id, "status", &params, AUTH_TOKEN).await;
    assert_eq!(code, 200, "{body}");
    let again = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+972501234567" }),
        )
        .await;
    let again = &again.ok()["leadByPhone"];
    assert_eq!(again["id"], lead["id"]);
    let channels: Vec<&str> = again["sessions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["node"]["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.len(), 2, "{again:#}");
    assert!(channels.contains(&"CALL") && channels.contains(&"WHATSAPP"));
}

#[tokio::test]
async fn unsigned_missigned_tampered_and_misdirected_deliveries_are_refused() {
    let app = TestApp::spawn().await;
    let a = whatsapp_tenant(&app, "A", APP_SECRET).await;
    let b = whatsapp_tenant(&app, "B", "tenant-b-has-another-secret").await;
    let no_secret = app.tenant("No secret").await;
    let body = serde_json::to_vec(&text_delivery(&app, "wamid.SIG", "hello")).unwrap();
    let good = meta_signature(APP_SECRET, &body);

    // Missing and wrong signatures.
    assert_eq!(post_whatsapp(&app, a.id, &body, None).await.0, 401);
    let wrong = meta_signature("not-the-secret", &body);
    assert_eq!(post_whatsapp(&app, a.id, &body, Some(&wrong)).await.0, 401);
    assert_eq!(
        post_whatsapp(&app, a.id, &body, Some("sha256=zz")).await.0,
        401
    );
    // A signature without the `sha256=` prefix is not Meta's format.
    assert_eq!(
        post_whatsapp(&app, a.id, &body, Some(good.trim_start_matches("sha256=")))
            .await
            .0,
        401
    );
    // One byte changed after signing.
    let mut tampered = body.clone();
    let at = tampered.iter().position(|&c| c == b'h').unwrap();
    tampered[at] = b'j';
    assert_eq!(
        post_whatsapp(&app, a.id, &tampered, Some(&good)).await.0,
        401
    );
    // Tenant A's signature posted to tenant B's URL.
    assert_eq!(post_whatsapp(&app, b.id, &body, Some(&good)).await.0, 401);
    // No secret configured, an unknown tenant, a malformed tenant id: the same answer.
    let (status, no_secret_body) = post_whatsapp(&app, no_secret.id, &body, Some(&good)).await;
    assert_eq!(status, 401);
    let (status, unknown_body) = post_whatsapp(&app, Uuid::now_v7(), &body, Some(&good)).await;
    assert_eq!(status, 401);
    assert_eq!(
        no_secret_body, unknown_body,
        "tenant existence must not show"
    );
    let response = app
        .client
        .post(app.url("/webhooks/whatsapp/not-a-uuid"))
        .header("x-hub-signature-256", &good)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    for tenant in [a.id, b.id, no_secret.id] {
        assert_eq!(count_messages(&app, tenant).await, 0);
    }
    // The untouched delivery goes through.
    assert_eq!(post_whatsapp(&app, a.id, &body, Some(&good)).await.0, 200);
    assert_eq!(count_messages(&app, a.id).await, 1);
}

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let without_token = app.tenant("No token").await;
    let handshake = |tenant: Uuid, token: &str| {
        let url = app.url(&format!("/webhooks/whatsapp/{tenant}"));
        let token = token.to_owned();
        let client = app.client.clone();
        async move {
            let response = client
                .get(url)
                .query(&[
                    ("hub.mode", "subscribe"),
                    ("hub.verify_token", token.as_str()),
                    ("hub.challenge", "1158201444"),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_type, response.text().await.unwrap())
        }
    };
    let (status, content_type, body) = handshake(t.id, VERIFY_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(body, "1158201444");
    assert!(content_type.unwrap().starts_with("text/plain"));

    // The secrets are write-only: GraphQL only says they are set.
    let settings = app
        .gql(
            Some(&t.admin),
            "{ tenant { settings { whatsappAppSecretConfigured whatsappVerifyTokenConfigured twilioAuthTokenConfigured } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        settings.ok()["tenant"]["settings"],
        json!({ "whatsappAppSecretConfigured": true, "whatsappVerifyTokenConfigured": true,
                "twilioAuthTokenConfigured": false })
    );

    let (status, _, wrong_body) = handshake(t.id, "guess").await;
    assert_eq!(status, 403);
    let (status, _, no_token_body) = handshake(without_token.id, "").await;
    assert_eq!(status, 403);
    let (status, _, unknown_body) = handshake(Uuid::now_v7(), VERIFY_TOKEN).await;
    assert_eq!(status, 403);
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(no_token_body, unknown_body);

    // Not a subscription handshake.
    let response = app
        .client
        .get(app.url(&format!("/webhooks/whatsapp/{}", t.id)))
        .query(&[
            ("hub.mode", "unsubscribe"),
            ("hub.verify_token", VERIFY_TOKEN),
            ("hub.challenge", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn statuses_move_an_outbound_message_forward_with_an_event() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let sent = record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": "16505551234", "role": "AGENT",
                "content": "Yes, it also comes in blue.", "externalId": "wamid.OUT1" }),
    )
    .await;
    let message_id = sent["message"]["id"].as_str().unwrap().to_owned();
    let delivery_status = || async {
        let lead = app
            .gql(
                Some(&t.viewer),
                LEAD_BY_PHONE,
                json!({ "phone": "+16505551234" }),
            )
            .await;
        session_messages(&lead.ok()["leadByPhone"])[0]["deliveryStatus"].clone()
    };
    assert_eq!(delivery_status().await, Value::Null);

    assert_eq!(
        deliver(
            &app,
            t.id,
            &status_delivery(&app, "wamid.OUT1", "delivered")
        )
        .await,
        200
    );
    assert_eq!(delivery_status().await, "delivered");
    assert_eq!(
        deliver(&app, t.id, &status_delivery(&app, "wamid.OUT1", "read")).await,
        200
    );
    assert_eq!(delivery_status().await, "read");
    assert_eq!(count_events(&app, t.id, "message.updated").await, 2);
    let event = event::Entity::find()
        .filter(event::Column::TenantId.eq(t.id))
        .filter(event::Column::EventType.eq("message.updated"))
        .all(app.state.db.reader())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(event.payload["messageId"], message_id.as_str());
    assert_eq!(event.payload["deliveryStatus"], "read");

    // A late `delivered` does not move it back, and writes nothing.
    assert_eq!(
        deliver(
            &app,
            t.id,
            &status_delivery(&app, "wamid.OUT1", "delivered")
        )
        .await,
        200
    );
    assert_eq!(delivery_status().await, "read");
    assert_eq!(count_events(&app, t.id, "message.updated").await, 2);

    // A status for a message memodesk never saw is acknowledged and changes nothing.
    let events_before = event::Entity::find()
        .filter(event::Column::TenantId.eq(t.id))
        .count(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(
        deliver(&app, t.id, &status_delivery(&app, "wamid.UNKNOWN", "read")).await,
        200
    );
    let events_after = event::Entity::find()
        .filter(event::Column::TenantId.eq(t.id))
        .count(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(events_before, events_after);
    assert_eq!(count_messages(&app, t.id).await, 1);
}

#[tokio::test]
async fn media_locations_reactions_and_buttons_get_placeholders_and_keep_their_raw_part() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let ts = app.state.now().timestamp().to_string();
    let image = json!({ "from": "16505551234", "id": "wamid.IMG", "timestamp": ts, "type": "image",
        "image": { "caption": "The blue one?", "mime_type": "image/jpeg",
                   "sha256": "ZmFrZS1oYXNo", "id": "1003383421387256" } });
    let location = json!({ "from": "16505551234", "id": "wamid.LOC", "timestamp": ts, "type": "location",
        "location": { "latitude": 32.0853, "longitude": 34.7818, "name": "Tel Aviv",
                      "address": "Rothschild Blvd 1" } });
    let reaction = json!({ "from": "16505551234", "id": "wamid.REA", "timestamp": ts, "type": "reaction",
        "reaction": { "message_id": "wamid.OUT1", "emoji": "👍" } });
    let button = json!({ "from": "16505551234", "id": "wamid.BTN", "timestamp": ts, "type": "interactive",
        "context": { "from": "15550783881", "id": "wamid.OUT2" },
        "interactive": { "type": "button_reply", "button_reply": { "id": "confirm-yes", "title": "Yes" } } });
    let payload = meta_delivery(json!({
      "messaging_product": "whatsapp",
      "metadata": metadata(),
      "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
      "messages": [image, location, reaction, button]
    }));
    assert_eq!(deliver(&app, t.id, &payload).await, 200);

    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+16505551234" }),
        )
        .await;
    let messages = session_messages(&lead.ok()["leadByPhone"]);
    let by_id = |id: &str| {
        messages
            .iter()
            .find(|m| m["externalId"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {messages:#?}"))
            .clone()
    };
    let expected = [
        ("wamid.IMG", "[image] The blue one?", image),
        (
            "wamid.LOC",
            "[location] Tel Aviv, Rothschild Blvd 1 (32.0853, 34.7818)",
            location,
        ),
        ("wamid.REA", "[reaction 👍 to wamid.OUT1]", reaction),
        ("wamid.BTN", "[button] Yes", button),
    ];
    for (id, content, raw) in expected {
        let m = by_id(id);
        assert_eq!(m["content"], content);
        assert_eq!(m["channelData"], raw, "the raw part of {id}");
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_are_400_and_unknown_shapes_are_acknowledged() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let body = b"object=whatsapp_business_account";
    let signature = meta_signature(APP_SECRET, body);
    let (status, text) = post_whatsapp(&app, t.id, body, Some(&signature)).await;
    assert_eq!(status, 400);
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["code"], "BAD_USER_INPUT");

    for unknown in [
        json!({ "hello": "world" }),
        json!([1, 2, 3]),
        json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [
            { "field": "account_update", "value": { "event": "VERIFIED_ACCOUNT" } } ] }] }),
        json!({ "object": "whatsapp_business_account", "entry": [{ "changes": [{ "value": {
            "messages": [{ "type": "text", "text": { "body": "no id, no sender" } }] } }] }] }),
    ] {
        assert_eq!(deliver(&app, t.id, &unknown).await, 200, "{unknown}");
    }
    assert_eq!(count_messages(&app, t.id).await, 0);
}

#[tokio::test]
async fn a_message_without_a_phone_number_is_keyed_on_the_business_scoped_user_id() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let payload = meta_delivery(json!({
      "messaging_product": "whatsapp",
      "metadata": metadata(),
      "contacts": [{ "profile": { "name": "Noa", "username": "noa.travels" },
                     "user_id": "US.13491208655302741918" }],
      "messages": [{
        "from_user_id": "US.13491208655302741918",
        "id": "wamid.BSUID1",
        "timestamp": app.state.now().timestamp().to_string(),
        "type": "text",
        "text": { "body": "Hi, is the Rome trip still available?" }
      }]
    }));
    assert_eq!(deliver(&app, t.id, &payload).await, 200);
    let leads = app.gql(Some(&t.viewer), LEADS, json!({})).await;
    let leads = &leads.ok()["leads"];
    assert_eq!(leads["totalCount"], 1);
    let lead = &leads["edges"][0]["node"];
    assert_eq!(lead["displayName"], "Noa");
    assert_eq!(lead["primaryPhone"], Value::Null);
    assert_eq!(
        lead["identities"],
        json!([{ "kind": "WHATSAPP", "value": "US.13491208655302741918" }])
    );

    // The next message, now with the number too, is the same customer.
    let mut again = text_delivery(&app, "wamid.BSUID2", "My number is this one");
    again["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] =
        json!("US.13491208655302741918");
    assert_eq!(deliver(&app, t.id, &again).await, 200);
    let leads = app.gql(Some(&t.viewer), LEADS, json!({})).await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 1);
    assert_eq!(
        leads.ok()["leads"]["edges"][0]["node"]["primaryPhone"],
        "+16505551234"
    );
}

// ---------------------------------------------------------------------------------------------
// Twilio

/// Twilio's scheme: base64 HMAC-SHA1 over the URL and the parameters sorted by name.
fn twilio_signature(token: &str, url: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn post_twilio(
    app: &TestApp,
    tenant: Uuid,
    kind: &str,
    params: &[(&str, String)],
    token: &str,
) -> (u16, String) {
    let url = app.url(&format!("/webhooks/twilio/{tenant}/{kind}"));
    let signature = twilio_signature(token, &url, params);
    let response = app
        .client
        .post(&url)
        .header("x-twilio-signature", signature)
        .form(params)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

const CALL_SID: &str = "CA5c1ee8a06cf44c6b93b6b1f7a1b2c3d4";

fn call_status(app: &TestApp, status: &str, seconds_ago: i64) -> Vec<(&'static str, String)> {
    let at = app.state.now() - chrono::Duration::seconds(seconds_ago);
    let mut params = vec![
        (
            "AccountSid",
            "AC3b6b1f7a1b2c3d4e5f60718293a4b5c6".to_owned(),
        ),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("CallSid", CALL_SID.to_owned()),
        ("CallStatus", status.to_owned()),
        ("Called", "+18005551212".to_owned()),
        ("Caller", "+14155552671".to_owned()),
        ("CallbackSource", "call-progress-events".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("From", "+14155552671".to_owned()),
        ("FromCity", "SAN FRANCISCO".to_owned()),
        ("FromCountry", "US".to_owned()),
        ("SequenceNumber", "0".to_owned()),
        ("Timestamp", at.to_rfc2822()),
        ("To", "+18005551212".to_owned()),
        ("ToCountry", "US".to_owned()),
    ];
    if status == "completed" {
        params.push(("CallDuration", "42".to_owned()));
        params.push(("Duration", "1".to_owned()));
    }
    params
}

fn transcription(status: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "AccountSid",
            "AC3b6b1f7a1b2c3d4e5f60718293a4b5c6".to_owned(),
        ),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("CallSid", CALL_SID.to_owned()),
        ("CallStatus", "completed".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("From", "+14155552671".to_owned()),
        ("To", "+18005551212".to_owned()),
        (
            "RecordingSid",
            "RE1f2e3d4c5b6a79808f7e6d5c4b3a2910".to_owned(),
        ),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC3b/Recordings/RE1f".to_owned(),
        ),
        (
            "TranscriptionSid",
            "TR8c61027b709ffb038236612dc5af8723".to_owned(),
        ),
        (
            "TranscriptionText",
            "Hi, this is Dana. I'd like to move my booking to next Friday.".to_owned(),
        ),
        ("TranscriptionStatus", status.to_owned()),
        (
            "TranscriptionUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC3b/Transcriptions/TR8c".to_owned(),
        ),
    ]
}

#[tokio::test]
async fn a_twilio_call_becomes_one_closed_call_session_with_its_transcript() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    configure(&app, &t, json!({ "twilioAuthToken": AUTH_TOKEN })).await;

    for (status, ago) in [("ringing", 60), ("in-progress", 55), ("completed", 5)] {
        let (code, body) = post_twilio(
            &app,
            t.id,
            "status",
            &call_status(&app, status, ago),
            AUTH_TOKEN,
        )
        .await;
        assert_eq!(code, 200, "{status}: {body}");
        assert!(body.contains("<Response/>"), "{body}");
    }
    // Repeated callbacks record nothing new.
    post_twilio(
        &app,
        t.id,
        "status",
        &call_status(&app, "completed", 5),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(count_messages(&app, t.id).await, 3);

    // A failed transcription records nothing; a completed one joins the call.
    let (code, _) = post_twilio(
        &app,
        t.id,
        "transcription",
        &transcription("failed"),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(count_messages(&app, t.id).await, 3);
    let (code, _) = post_twilio(
        &app,
        t.id,
        "transcription",
        &transcription("completed"),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = post_twilio(
        &app,
        t.id,
        "transcription",
        &transcription("completed"),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(count_messages(&app, t.id).await, 4);

    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+14155552671" }),
        )
        .await;
    let lead = &lead.ok()["leadByPhone"];
    let sessions = lead["sessions"]["edges"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{lead:#}");
    let session = &sessions[0]["node"];
    assert_eq!(session["channel"], "CALL");
    assert_eq!(session["status"], "CLOSED");
    assert_eq!(session["closeReason"], "CALL_ENDED");
    assert_eq!(session["sessionRef"], CALL_SID);
    let messages = session_messages(lead);
    let contents: Vec<&str> = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "Call ringing",
            "Call started",
            "Call ended after 42 s",
            "Hi, this is Dana. I'd like to move my booking to next Friday."
        ]
    );
    let transcript = &messages[3];
    assert_eq!(transcript["role"], "CUSTOMER");
    assert_eq!(
        transcript["externalId"],
        "TR8c61027b709ffb038236612dc5af8723"
    );
    assert_eq!(lead["primaryPhone"], "+14155552671");
    assert_eq!(count_events(&app, t.id, "session.closed").await, 1);
}

#[tokio::test]
async fn twilio_callbacks_with_a_bad_signature_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    configure(&app, &t, json!({ "twilioAuthToken": AUTH_TOKEN })).await;
    let unconfigured = app.tenant("No token").await;
    let params = call_status(&app, "ringing", 1);

    let (code, _) = post_twilio(&app, t.id, "status", &params, "another-token").await;
    assert_eq!(code, 403);
    let (code, _) = post_twilio(&app, unconfigured.id, "status", &params, "").await;
    assert_eq!(code, 403);
    let (code, _) = post_twilio(
        &app,
        Uuid::now_v7(),
        "transcription",
        &transcription("completed"),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 403);

    // Signed for one set of parameters, posted with another.
    let url = app.url(&format!("/webhooks/twilio/{}/status", t.id));
    let signature = twilio_signature(AUTH_TOKEN, &url, &params);
    let mut changed = params.clone();
    changed[3].1 = "completed".into();
    let response = app
        .client
        .post(&url)
        .header("x-twilio-signature", signature)
        .form(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // Signed for the status URL, posted to the transcription URL.
    let signature = twilio_signature(AUTH_TOKEN, &url, &transcription("completed"));
    let response = app
        .client
        .post(app.url(&format!("/webhooks/twilio/{}/transcription", t.id)))
        .header("x-twilio-signature", signature)
        .form(&transcription("completed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // No signature at all.
    let response = app.client.post(&url).form(&params).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);

    assert_eq!(count_messages(&app, t.id).await, 0);
}

#[tokio::test]
async fn twilio_signatures_follow_the_public_url_behind_a_proxy() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    configure(&app, &t, json!({ "twilioAuthToken": AUTH_TOKEN })).await;
    let path = format!("/webhooks/twilio/{}/status", t.id);
    let params = call_status(&app, "ringing", 1);
    let public = format!("https://voice.example.com{path}");
    let response = app
        .client
        .post(app.url(&path))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "voice.example.com")
        .header(
            "x-twilio-signature",
            twilio_signature(AUTH_TOKEN, &public, &params),
        )
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(count_messages(&app, t.id).await, 1);
}

#[tokio::test]
async fn a_configured_public_url_is_what_twilio_signatures_are_checked_against() {
    let app = TestApp::spawn_with(crate::helpers::TestOptions {
        settings: Some(|s| s.public_url = Some("https://memodesk.example.com/".into())),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    configure(&app, &t, json!({ "twilioAuthToken": AUTH_TOKEN })).await;
    let path = format!("/webhooks/twilio/{}/status", t.id);
    let params = call_status(&app, "ringing", 1);
    let post = |url: String| {
        let signature = twilio_signature(AUTH_TOKEN, &url, &params);
        app.client
            .post(app.url(&path))
            .header("x-twilio-signature", signature)
            .form(&params)
            .send()
    };
    // Signed for the address the request actually reached: refused, the public URL rules.
    let local = post(app.url(&path)).await.unwrap();
    assert_eq!(local.status().as_u16(), 403);
    assert_eq!(count_messages(&app, t.id).await, 0);
    let public = post(format!("https://memodesk.example.com{path}"))
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 200);
    assert_eq!(count_messages(&app, t.id).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Generic transcripts

async fn api_key(app: &TestApp, t: &TestTenant, scope: &str) -> String {
    app.gql(
        Some(&t.admin),
        r#"mutation($scopes: [ApiScope!]!) { createApiKey(name: "voice", scopes: $scopes) { token } }"#,
        json!({ "scopes": [scope] }),
    )
    .await
    .ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_transcript(app: &TestApp, key: Option<(&str, &str)>, body: &Value) -> (u16, Value) {
    let mut request = app.client.post(app.url("/webhooks/transcripts")).json(body);
    if let Some((header, value)) = key {
        request = request.header(header, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_generic_transcript_endpoint_records_turns_once_and_checks_keys_and_input() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let ingest = api_key(&app, &t, "INGEST").await;
    let read = api_key(&app, &t, "READ").await;
    let now = app.state.now();
    let at = |secs: i64| (now - chrono::Duration::seconds(secs)).to_rfc3339();
    let transcript = json!({
        "callId": "call-7f3a",
        "from": "+14155552671",
        "ended": true,
        "turns": [
            { "role": "agent", "text": "Thanks for calling Acme Travel, how can I help?", "at": at(90) },
            { "role": "CUSTOMER", "text": "I want to book a flight to Rome next month.", "at": at(80) },
            { "role": "agent", "text": "Sure, let me check the options.", "at": at(70) }
        ]
    });
    let bearer = format!("Bearer {ingest}");

    let (status, body) = post_transcript(&app, Some(("authorization", &bearer)), &transcript).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], 3);
    assert_eq!(body["duplicates"], 0);
    assert_eq!(body["sessionStatus"], "closed");
    // The same transcript again (with X-Api-Key this time): nothing new.
    let (status, body) = post_transcript(&app, Some(("x-api-key", &ingest)), &transcript).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], 0);
    assert_eq!(body["duplicates"], 3);
    assert_eq!(count_messages(&app, t.id).await, 3);

    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+14155552671" }),
        )
        .await;
    let lead = &lead.ok()["leadByPhone"];
    let session = &lead["sessions"]["edges"][0]["node"];
    assert_eq!(session["channel"], "CALL");
    assert_eq!(session["sessionRef"], "call-7f3a");
    assert_eq!(session["closeReason"], "CALL_ENDED");
    let roles: Vec<String> = session_messages(lead)
        .into_iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, ["AGENT", "CUSTOMER", "AGENT"]);

    // Credentials: none, a bad key, a key without the ingest scope.
    let (status, body) = post_transcript(&app, None, &transcript).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let (status, _) =
        post_transcript(&app, Some(("x-api-key", "mdk_not_a_real_key")), &transcript).await;
    assert_eq!(status, 401);
    let (status, body) = post_transcript(
        &app,
        Some(("authorization", &format!("Bearer {read}"))),
        &transcript,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "FORBIDDEN");

    // An invalid turn names its field, and nothing of the transcript is stored.
    let invalid = json!({
        "callId": "call-8b1c", "from": "+14155552671",
        "turns": [
            { "role": "customer", "text": "Hello?" },
            { "role": "agent", "text": "Hi!" },
            { "role": "customer", "text": "   " }
        ]
    });
    let (status, body) = post_transcript(&app, Some(("authorization", &bearer)), &invalid).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["error"]["field"], "turns[2].text");
    assert!(body["error"]["message"].as_str().unwrap().contains("empty"));
    let (status, body) = post_transcript(
        &app,
        Some(("authorization", &bearer)),
        &json!({ "callId": "c", "from": "+14155552671", "turns": [{ "role": "robot", "text": "beep" }] }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "turns[0].role");
    assert_eq!(count_messages(&app, t.id).await, 3);
}

#[tokio::test]
async fn a_card_number_in_a_signed_whatsapp_delivery_is_stored_redacted() {
    let app = TestApp::spawn().await;
    let t = whatsapp_tenant(&app, "Acme", APP_SECRET).await;
    let payload = text_delivery(
        &app,
        "wamid.card1",
        "Please charge my card 4242 4242 4242 4242, exp 12/29",
    );
    assert_eq!(deliver(&app, t.id, &payload).await, 200);

    let lead = app
        .gql(
            Some(&t.viewer),
            LEAD_BY_PHONE,
            json!({ "phone": "+16505551234" }),
        )
        .await;
    let messages = session_messages(&lead.ok()["leadByPhone"]);
    assert_eq!(
        messages[0]["content"],
        "Please charge my card [card ••4242], exp 12/29"
    );
    let hits =
        crate::privacy_erasure::find_strings(&app, &["4242 4242 4242 4242", "4242424242424242"])
            .await;
    assert!(hits.is_empty(), "the card number was stored: {hits:?}");
}
