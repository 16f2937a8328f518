//! Live subscriptions over real WebSockets: order, tenancy, auth close codes, the protocol's
//! other close codes, error codes, resume, expiry, slow subscribers, and delivery across
//! replicas.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use futures::{SinkExt, StreamExt};
use memodesk::domain::StaffRole;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{TestApp, TestOptions, message, record};

const EVENTS: &str = r#"subscription($lead: ID, $types: [EventType!], $after: String) {
  conversationEvents(leadId: $lead, types: $types, after: $after) {
    cursor type leadId sessionId data message { content role }
  }
}"#;

/// A subscriptions client speaking `graphql-transport-ws` (or the legacy `graphql-ws`).
struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    legacy: bool,
}

enum Received {
    Data(Value),
    Errors(Value),
    Complete,
    Closed(u16, String),
}

impl WsClient {
    async fn open(app: &TestApp, legacy: bool) -> Self {
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .unwrap();
        let protocol = if legacy {
            "graphql-ws"
        } else {
            "graphql-transport-ws"
        };
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            protocol
        );
        Self { socket, legacy }
    }

    async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    /// A client whose socket buffers little (like a phone on a bad network): a server that keeps
    /// sending to it without it reading soon has nowhere to put the data.
    async fn open_small_buffer(app: &TestApp) -> Self {
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(8 * 1024).unwrap();
        let stream = socket.connect(app.addr).await.unwrap();
        let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("connect");
        Self {
            socket,
            legacy: false,
        }
    }

    /// Connects and authenticates; panics unless acknowledged.
    async fn connect(app: &TestApp, token: &str) -> Self {
        let mut client = Self::open(app, false).await;
        client
            .init(json!({ "Authorization": format!("Bearer {token}") }))
            .await;
        client.expect_ack().await;
        client
    }

    async fn expect_ack(&mut self) {
        loop {
            let message = self.raw(Duration::from_secs(5)).await.expect("ack");
            match message["type"].as_str() {
                Some("connection_ack") => return,
                Some("ka") => continue,
                other => panic!("expected connection_ack, got {other:?}: {message}"),
            }
        }
    }

    async fn send(&mut self, value: Value) {
        self.socket
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send");
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.legacy { "start" } else { "subscribe" };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message as JSON, or `None` on timeout. Close frames become
    /// `{"close": code, "reason": …}`.
    async fn raw(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("json"));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Some(json!({ "close": code, "reason": reason }));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(json!({ "close": 1006, "reason": "dropped" })),
            }
        }
    }

    async fn next(&mut self, wait: Duration) -> Option<Received> {
        loop {
            let message = self.raw(wait).await?;
            if let Some(code) = message.get("close") {
                return Some(Received::Closed(
                    code.as_u64().unwrap_or(0) as u16,
                    message["reason"].as_str().unwrap_or("").to_owned(),
                ));
            }
            match message["type"].as_str() {
                Some("next") | Some("data") => {
                    let payload = &message["payload"];
                    if payload.get("errors").is_some_and(|e| !e.is_null()) {
                        return Some(Received::Errors(payload["errors"].clone()));
                    }
                    return Some(Received::Data(payload["data"].clone()));
                }
                Some("error") => return Some(Received::Errors(message["payload"].clone())),
                Some("complete") => return Some(Received::Complete),
                Some("ka") | Some("ping") | Some("pong") => continue,
                // The legacy protocol explains a refused init before the socket closes.
                Some("connection_error") => continue,
                other => panic!("unexpected message {other:?}: {message}"),
            }
        }
    }

    /// The next `conversationEvents` payload.
    async fn event(&mut self) -> Value {
        match self.next(Duration::from_secs(5)).await {
            Some(Received::Data(data)) => data["conversationEvents"].clone(),
            Some(Received::Errors(errors)) => panic!("subscription error: {errors}"),
            Some(Received::Complete) => panic!("subscription completed"),
            Some(Received::Closed(code, reason)) => panic!("socket closed {code}: {reason}"),
            None => panic!("no event within 5 s"),
        }
    }

    /// Asserts nothing arrives for a while.
    async fn expect_silence(&mut self, wait: Duration) {
        if let Some(Received::Data(data)) = self.next(wait).await {
            panic!("expected nothing, got {data}");
        }
    }
}

#[tokio::test]
async fn subscribers_receive_recorded_messages_in_order() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("1", EVENTS, json!({ "types": ["MESSAGE_CREATED"] }))
        .await;
    app.until_subscribed(1).await;
    for i in 0..5 {
        record(&app, &t.agent, message("WEB", "v", &format!("message {i}"))).await;
    }
    let mut cursors = Vec::new();
    for i in 0..5 {
        let event = client.event().await;
        assert_eq!(event["type"], "MESSAGE_CREATED");
        assert_eq!(event["message"]["content"], format!("message {i}"));
        cursors.push(event["cursor"].as_str().unwrap().parse::<i64>().unwrap());
    }
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut client = WsClient::open(&app, true).await;
    client.init(json!({ "token": t.viewer })).await;
    client.expect_ack().await;
    client
        .subscribe(
            "a",
            "subscription { messageAdded { content channel } }",
            json!({}),
        )
        .await;
    app.until_subscribed(1).await;
    record(
        &app,
        &t.agent,
        message("SMS", "+14155552671", "hello over sms"),
    )
    .await;
    match client.next(Duration::from_secs(5)).await {
        Some(Received::Data(data)) => {
            assert_eq!(data["messageAdded"]["content"], "hello over sms");
            assert_eq!(data["messageAdded"]["channel"], "SMS");
        }
        _ => panic!("no message"),
    }
}

#[tokio::test]
async fn another_tenant_receives_nothing_even_with_a_lead_id_from_here() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let first = record(&app, &a.agent, message("WEB", "v", "hello")).await;
    let lead_a = first["lead"]["id"].as_str().unwrap().to_owned();

    let mut spy = WsClient::connect(&app, &b.admin).await;
    spy.subscribe("x", EVENTS, json!({ "lead": lead_a })).await;
    match spy.next(Duration::from_secs(5)).await {
        Some(Received::Errors(errors)) => assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND"),
        _ => panic!("subscribing with another tenant's lead must fail"),
    }
    spy.subscribe("y", EVENTS, json!({})).await;
    let mut owner = WsClient::connect(&app, &a.viewer).await;
    owner.subscribe("z", EVENTS, json!({})).await;
    app.until_subscribed(2).await;

    record(&app, &a.agent, message("WEB", "v", "secret plans")).await;
    let seen = owner.event().await;
    assert_eq!(seen["leadId"], lead_a.as_str());
    spy.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn bad_credentials_close_the_socket_with_4401_and_4403() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create =
        r#"mutation($scopes: [ApiScope!]!) { createApiKey(name: "k", scopes: $scopes) { token } }"#;
    let ingest_key = app
        .gql(Some(&t.admin), create, json!({ "scopes": ["INGEST"] }))
        .await
        .ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read_key = app
        .gql(Some(&t.admin), create, json!({ "scopes": ["READ"] }))
        .await
        .ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    for legacy in [false, true] {
        for (payload, code) in [
            (json!({}), 4401),
            (json!({ "Authorization": "Bearer not-a-token" }), 4401),
            (json!({ "token": "mdk_AAAA" }), 4401),
            (
                json!({ "Authorization": format!("Bearer {ingest_key}") }),
                4403,
            ),
        ] {
            let mut client = WsClient::open(&app, legacy).await;
            client.init(payload.clone()).await;
            let mut closed = None;
            while let Some(message) = client.next(Duration::from_secs(5)).await {
                if let Received::Closed(c, _) = message {
                    closed = Some(c);
                    break;
                }
            }
            assert_eq!(closed, Some(code), "{payload} legacy={legacy}");
        }
    }
    // A read key works.
    let mut client = WsClient::open(&app, false).await;
    client.init(json!({ "Authorization": read_key })).await;
    client.expect_ack().await;
}

/// Records one web message per entry of `contents` while a subscriber of `types` listens, and
/// returns the cursors it was given, one per message (the subscriber then leaves).
async fn cursors_of_recorded(
    app: &TestApp,
    t: &crate::helpers::TestTenant,
    types: &Value,
    contents: &[&str],
) -> Vec<String> {
    let mut client = WsClient::connect(app, &t.viewer).await;
    client
        .subscribe("1", EVENTS, json!({ "types": types }))
        .await;
    app.until_subscribed(1).await;
    let mut cursors = Vec::new();
    for content in contents {
        record(app, &t.agent, message("WEB", "v", content)).await;
        cursors.push(client.event().await["cursor"].as_str().unwrap().to_owned());
    }
    cursors
}

#[tokio::test]
async fn resuming_with_after_delivers_exactly_what_was_missed() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let types = json!(["MESSAGE_CREATED"]);
    let cursor = cursors_of_recorded(&app, &t, &types, &["one", "two"]).await[1].clone();

    for content in ["three", "four", "five"] {
        record(&app, &t.agent, message("WEB", "v", content)).await;
    }
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("2", EVENTS, json!({ "types": types, "after": cursor }))
        .await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(
            client.event().await["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(replayed, ["three", "four", "five"]);
    // Then live, without a duplicate at the seam.
    record(&app, &t.agent, message("WEB", "v", "six")).await;
    assert_eq!(client.event().await["message"]["content"], "six");
    client.expect_silence(Duration::from_millis(300)).await;

    // A cursor from the future is refused.
    let mut other = WsClient::connect(&app, &t.viewer).await;
    other
        .subscribe("3", EVENTS, json!({ "after": "999999" }))
        .await;
    match other.next(Duration::from_secs(5)).await {
        Some(Received::Errors(errors)) => {
            assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT")
        }
        _ => panic!("a cursor ahead of the stream must be refused"),
    }
}

/// Retention deletes a prefix of the sequence: a subscriber resuming from a deleted cursor is
/// told to resync from the first retained event, and resuming from there replays the rest.
#[tokio::test]
async fn resuming_from_a_cursor_deleted_by_retention_gets_a_resync() {
    use memodesk::clock::Clock;
    use memodesk::services::housekeeping;

    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let types = json!(["MESSAGE_CREATED"]);
    let cursor = cursors_of_recorded(&app, &t, &types, &["one", "two"]).await[0].clone();

    // Everything written so far is past retention.
    let cutoff = app.clock.now() + ChronoDuration::seconds(1);
    let deleted = housekeeping::expire_events(&app.state, t.id, cutoff, housekeeping::DELETE_CHUNK)
        .await
        .unwrap();
    assert!(deleted >= 2, "deleted {deleted}");
    record(&app, &t.agent, message("WEB", "v", "three")).await;

    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("2", EVENTS, json!({ "types": types, "after": cursor }))
        .await;
    let resync = client.event().await;
    assert_eq!(resync["type"], "RESYNC", "{resync}");
    assert_eq!(
        resync["cursor"],
        deleted.to_string(),
        "resume after the deleted prefix"
    );
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe(
            "3",
            EVENTS,
            json!({ "types": types, "after": resync["cursor"] }),
        )
        .await;
    assert_eq!(client.event().await["message"]["content"], "three");
    client.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_token_that_expires_ends_the_subscription_with_an_error() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let short = app
        .state
        .jwt
        .issue(
            "test",
            t.id,
            StaffRole::Viewer,
            app.state.now(),
            ChronoDuration::seconds(2),
        )
        .unwrap();
    let mut client = WsClient::connect(&app, &short).await;
    client.subscribe("1", EVENTS, json!({})).await;
    let mut ended_with = None;
    while let Some(message) = client.next(Duration::from_secs(6)).await {
        if let Received::Errors(errors) = message {
            ended_with = errors[0]["extensions"]["code"].as_str().map(str::to_owned);
            break;
        }
    }
    assert_eq!(ended_with.as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_subscriber_that_never_reads_does_not_hold_up_the_others() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // The stalled client asks for whole messages, so its socket fills up quickly.
    let heavy = r#"subscription { conversationEvents(types: [MESSAGE_CREATED]) { cursor type message { content } } }"#;
    let light = r#"subscription { conversationEvents(types: [MESSAGE_CREATED]) { cursor type } }"#;
    let mut stalled = WsClient::open_small_buffer(&app).await;
    stalled
        .init(json!({ "Authorization": format!("Bearer {}", t.viewer) }))
        .await;
    stalled.expect_ack().await;
    stalled.subscribe("s", heavy, json!({})).await;
    let mut reader = WsClient::connect(&app, &t.viewer).await;
    reader.subscribe("r", light, json!({})).await;
    app.until_subscribed(2).await;
    assert_eq!(app.state.events.subscriber_count(), 2);

    // Enough large messages to fill the stalled subscriber's socket and its buffer. The writer
    // waits for the reader after each batch, so the reader is never behind by more than a batch
    // (a debug build cannot render 1500 events a second); the stalled client falls behind.
    let body = "x".repeat(6000);
    let total = 1500;
    let started = std::time::Instant::now();
    for chunk in 0..(total / 100) {
        let inputs: Vec<Value> = (0..100)
            .map(|i| message("WEB", &format!("v{}", chunk * 100 + i), &body))
            .collect();
        app.gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": inputs }),
        )
        .await
        .ok();
        for _ in 0..100 {
            assert_eq!(reader.event().await["type"], "MESSAGE_CREATED");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        app.state.events.subscriber_count(),
        1,
        "the stalled subscriber was dropped, freeing its buffer"
    );

    // When the stalled client finally reads, it is told to resync.
    let mut saw_resync = false;
    for _ in 0..(total + 10) {
        match stalled.next(Duration::from_secs(5)).await {
            Some(Received::Data(data)) if data["conversationEvents"]["type"] == "RESYNC" => {
                saw_resync = true;
                break;
            }
            Some(Received::Data(_)) => continue,
            _ => break,
        }
    }
    assert!(saw_resync, "a dropped subscriber gets a RESYNC event");
}

#[tokio::test]
async fn an_event_written_on_one_replica_reaches_subscribers_on_another() {
    crate::require_postgres!();
    let app = TestApp::spawn().await;
    let other = app.replica(TestOptions::default()).await;
    let t = app.tenant("Acme").await;
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("1", EVENTS, json!({ "types": ["MESSAGE_CREATED"] }))
        .await;
    app.until_subscribed(1).await;
    let started = std::time::Instant::now();
    record(
        &other,
        &t.agent,
        message("WEB", "v", "written on the other replica"),
    )
    .await;
    let event = client.event().await;
    assert_eq!(event["message"]["content"], "written on the other replica");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

/// Reads until the socket closes; its close code and reason.
async fn closed_with(client: &mut WsClient) -> Option<(u16, String)> {
    while let Some(message) = client.next(Duration::from_secs(5)).await {
        if let Received::Closed(code, reason) = message {
            return Some((code, reason));
        }
    }
    None
}

#[tokio::test]
async fn a_connection_that_never_initialises_is_closed_after_the_timeout_with_4408() {
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(|s| s.ws_init_timeout = Duration::from_millis(300)),
        ..TestOptions::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    for legacy in [false, true] {
        let mut silent = WsClient::open(&app, legacy).await;
        let started = std::time::Instant::now();
        assert_eq!(
            closed_with(&mut silent).await,
            Some((4408, "Connection initialisation timeout".to_owned())),
            "legacy={legacy}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    // One that initialised in time stays open past it.
    let mut client = WsClient::connect(&app, &t.viewer).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    client
        .subscribe("1", EVENTS, json!({ "types": ["MESSAGE_CREATED"] }))
        .await;
    app.until_subscribed(1).await;
    record(&app, &t.agent, message("WEB", "v", "still here")).await;
    assert_eq!(client.event().await["message"]["content"], "still here");
}

#[tokio::test]
async fn subscribing_before_connection_init_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    for legacy in [false, true] {
        let mut client = WsClient::open(&app, legacy).await;
        client.subscribe("1", EVENTS, json!({})).await;
        assert_eq!(
            closed_with(&mut client).await,
            Some((4401, "Unauthorized".to_owned())),
            "legacy={legacy}"
        );
    }
    assert_eq!(app.state.events.subscriber_count(), 0);
}

#[tokio::test]
async fn reusing_the_id_of_a_running_subscription_closes_the_socket_with_4409() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;

    // An id is free again once its operation completed, whichever side completed it.
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("a", "subscription { noSuchField }", json!({}))
        .await;
    assert!(matches!(
        client.next(Duration::from_secs(5)).await,
        Some(Received::Errors(_))
    ));
    assert!(matches!(
        client.next(Duration::from_secs(5)).await,
        Some(Received::Complete)
    ));
    client.subscribe("a", EVENTS, json!({})).await;
    app.until_subscribed(1).await;
    client.send(json!({ "id": "a", "type": "complete" })).await;
    client.subscribe("a", EVENTS, json!({})).await;
    client.expect_silence(Duration::from_millis(300)).await;

    // While it runs, it is not.
    client.subscribe("a", EVENTS, json!({})).await;
    assert_eq!(
        closed_with(&mut client).await,
        Some((4409, "Subscriber for a already exists".to_owned()))
    );
}

#[tokio::test]
async fn a_message_outside_the_protocol_closes_the_socket_with_4400() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client.send(json!({ "type": "subscribe_me_please" })).await;
    assert_eq!(
        closed_with(&mut client).await.map(|(code, _)| code),
        Some(4400)
    );
}

#[tokio::test]
async fn errors_over_the_socket_carry_the_same_codes_as_over_http() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let unknown_lead = uuid::Uuid::now_v7().to_string();
    let cases = [
        ("{ noSuchField }", json!({}), "BAD_USER_INPUT"),
        (
            "query($id: ID!) { lead(id: $id) { id } }",
            json!({ "id": unknown_lead }),
            "NOT_FOUND",
        ),
        (
            r#"mutation { createApiKey(name: "k", scopes: [READ]) { token } }"#,
            json!({}),
            "FORBIDDEN",
        ),
        (
            "{ leads(first: 100000) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "subscription { conversationEvents(types: [NOPE]) { cursor } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "subscription($id: ID) { messageAdded(leadId: $id) { id } }",
            json!({ "id": "not-an-id" }),
            "BAD_USER_INPUT",
        ),
    ];
    let mut client = WsClient::connect(&app, &t.viewer).await;
    for (i, (document, variables, code)) in cases.into_iter().enumerate() {
        if !document.starts_with("subscription") {
            let over_http = app.gql(Some(&t.viewer), document, variables.clone()).await;
            assert_eq!(over_http.code(), Some(code), "over HTTP: {document}");
        }
        client.subscribe(&i.to_string(), document, variables).await;
        match client.next(Duration::from_secs(5)).await {
            Some(Received::Errors(errors)) => {
                assert_eq!(
                    errors[0]["extensions"]["code"], code,
                    "{document}: {errors}"
                )
            }
            _ => panic!("{document} did not fail over the socket"),
        }
        assert!(matches!(
            client.next(Duration::from_secs(5)).await,
            Some(Received::Complete)
        ));
    }

    // A refused connection_init on the legacy protocol says why, with a code, before closing.
    let mut legacy = WsClient::open(&app, true).await;
    legacy.init(json!({ "token": "not-a-token" })).await;
    let refusal = legacy.raw(Duration::from_secs(5)).await.unwrap();
    assert_eq!(refusal["type"], "connection_error", "{refusal}");
    assert_eq!(refusal["payload"]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        closed_with(&mut legacy).await.map(|(code, _)| code),
        Some(4401)
    );
}

/// A staff user `email` with `role` in `t`, signed in; returns (user id, token).
async fn signed_in_user(
    app: &TestApp,
    t: &crate::helpers::TestTenant,
    email: &str,
    role: StaffRole,
) -> (String, String) {
    let user = memodesk::services::users::create(
        &app.state.db,
        t.id,
        memodesk::services::users::NewUser {
            email: email.into(),
            password: "correct horse battery".into(),
            role,
            display_name: None,
        },
        app.state.now(),
    )
    .await
    .unwrap();
    let login = app
        .gql(
            None,
            r#"mutation($e: String!) { login(email: $e, password: "correct horse battery") { token } }"#,
            json!({ "e": email }),
        )
        .await;
    let token = login.ok()["login"]["token"].as_str().unwrap().to_owned();
    (user.id.to_string(), token)
}

/// Waits for the stream to end with an error; its code and message.
async fn ended_with(client: &mut WsClient) -> (String, String) {
    while let Some(message) = client.next(Duration::from_secs(3)).await {
        match message {
            Received::Errors(errors) => {
                return (
                    errors[0]["extensions"]["code"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                    errors[0]["message"].as_str().unwrap_or("").to_owned(),
                );
            }
            Received::Closed(code, reason) => panic!("socket closed {code}: {reason}"),
            Received::Complete => panic!("completed without an error"),
            Received::Data(_) => continue,
        }
    }
    panic!("the stream went on for 3 s");
}

const UPDATE_USER: &str = r#"mutation($id: ID!, $input: UpdateStaffUserInput!) {
  updateStaffUser(id: $id, input: $input) { id role active } }"#;

#[tokio::test]
async fn revoking_an_api_key_ends_its_open_subscription_at_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let created = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "bot", scopes: [READ]) { token apiKey { id } } }"#,
            json!({}),
        )
        .await;
    let key = created.ok()["createApiKey"].clone();
    let mut client = WsClient::connect(&app, key["token"].as_str().unwrap()).await;
    client.subscribe("1", EVENTS, json!({})).await;
    app.until_subscribed(1).await;
    app.gql(
        Some(&t.admin),
        r#"mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"#,
        json!({ "id": key["apiKey"]["id"] }),
    )
    .await
    .ok();
    let (code, message) = ended_with(&mut client).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("revoked"), "{message}");
}

#[tokio::test]
async fn a_deactivated_user_is_signed_out_everywhere_at_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (dana, token) = signed_in_user(&app, &t, "dana@acme.test", StaffRole::Agent).await;
    let mut client = WsClient::connect(&app, &token).await;
    client.subscribe("1", EVENTS, json!({})).await;
    app.until_subscribed(1).await;
    let updated = app
        .gql(
            Some(&t.admin),
            UPDATE_USER,
            json!({ "id": dana, "input": { "active": false } }),
        )
        .await;
    assert_eq!(updated.ok()["updateStaffUser"]["active"], false);
    let (code, message) = ended_with(&mut client).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("deactivated"), "{message}");
    // Their token no longer works, and they cannot sign in again.
    let me = app.gql(Some(&token), "{ me { kind } }", json!({})).await;
    assert_eq!(me.status, 401, "{:?}", me.body);
    let again = app
        .gql(
            None,
            r#"mutation { login(email: "dana@acme.test", password: "correct horse battery") { token } }"#,
            json!({}),
        )
        .await;
    assert_eq!(again.code(), Some("UNAUTHENTICATED"));
    // Reactivated, they can.
    app.gql(
        Some(&t.admin),
        UPDATE_USER,
        json!({ "id": dana, "input": { "active": true } }),
    )
    .await
    .ok();
    let me = app.gql(Some(&token), "{ me { kind } }", json!({})).await;
    assert_eq!(me.ok()["me"]["kind"], "user");
}

#[tokio::test]
async fn a_new_role_applies_to_the_next_request_and_ends_live_streams() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (dana, token) = signed_in_user(&app, &t, "dana@acme.test", StaffRole::Agent).await;
    let mut client = WsClient::connect(&app, &token).await;
    client.subscribe("1", EVENTS, json!({})).await;
    app.until_subscribed(1).await;
    app.gql(
        Some(&t.admin),
        UPDATE_USER,
        json!({ "id": dana, "input": { "role": "VIEWER" } }),
    )
    .await
    .ok();
    let (code, _) = ended_with(&mut client).await;
    assert_eq!(code, "UNAUTHENTICATED");
    // The token still says AGENT; the account now says VIEWER, and that is what counts.
    let write = app
        .gql(
            Some(&token),
            r#"mutation { recordMessage(input: { channel: WEB, externalUserId: "v", content: "hi" }) { duplicate } }"#,
            json!({}),
        )
        .await;
    assert_eq!(write.code(), Some("FORBIDDEN"));
    let me = app.gql(Some(&token), "{ me { role } }", json!({})).await;
    assert_eq!(me.ok()["me"]["role"], "VIEWER");
}

#[tokio::test]
async fn revoking_a_key_on_one_replica_ends_its_subscription_on_another() {
    crate::require_postgres!();
    let app = TestApp::spawn().await;
    let other = app.replica(TestOptions::default()).await;
    let t = app.tenant("Acme").await;
    let created = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "bot", scopes: [READ]) { token apiKey { id } } }"#,
            json!({}),
        )
        .await;
    let key = created.ok()["createApiKey"].clone();
    let mut client = WsClient::connect(&app, key["token"].as_str().unwrap()).await;
    client.subscribe("1", EVENTS, json!({})).await;
    app.until_subscribed(1).await;
    other
        .gql(
            Some(&t.admin),
            r#"mutation($id: ID!) { revokeApiKey(id: $id) { id } }"#,
            json!({ "id": key["apiKey"]["id"] }),
        )
        .await
        .ok();
    let (code, _) = ended_with(&mut client).await;
    assert_eq!(code, "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_deactivated_or_demoted() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (boss, token) = signed_in_user(&app, &t, "boss@acme.test", StaffRole::Admin).await;
    for input in [json!({ "active": false }), json!({ "role": "AGENT" })] {
        let refused = app
            .gql(
                Some(&token),
                UPDATE_USER,
                json!({ "id": boss, "input": input }),
            )
            .await;
        assert_eq!(refused.code(), Some("CONFLICT"), "{:?}", refused.body);
    }
    // With a second admin, the first may step down.
    let (_, _) = signed_in_user(&app, &t, "deputy@acme.test", StaffRole::Admin).await;
    let ok = app
        .gql(
            Some(&token),
            UPDATE_USER,
            json!({ "id": boss, "input": { "role": "AGENT" } }),
        )
        .await;
    assert_eq!(ok.ok()["updateStaffUser"]["role"], "AGENT");
}

#[tokio::test]
async fn subscribers_learn_a_customer_was_erased_from_ids_alone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(
        &app,
        &t.agent,
        message("WEB", "v1", "I am Zebulon from Reykjavik"),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let mut client = WsClient::connect(&app, &t.viewer).await;
    client
        .subscribe("1", EVENTS, json!({ "types": ["LEAD_ERASED"] }))
        .await;
    app.until_subscribed(1).await;
    app.gql(
        Some(&t.admin),
        "mutation($id: ID!) { eraseLead(id: $id, reason: \"asked\") { id } }",
        json!({ "id": lead }),
    )
    .await
    .ok();

    let event = client.event().await;
    assert_eq!(event["type"], "LEAD_ERASED");
    assert_eq!(event["leadId"], lead.as_str());
    assert_eq!(event["message"], Value::Null);
    let text = event.to_string();
    for word in ["Zebulon", "Reykjavik", "asked"] {
        assert!(!text.contains(word), "{word} in {event}");
    }
    let data = event["data"].as_object().unwrap();
    assert!(
        data.keys().all(|k| k == "leadId" || k == "erasureId"),
        "ids only: {event}"
    );
}
