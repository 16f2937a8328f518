//! Outbound webhooks under stress: two replicas on one database, a replica killed mid-request
//! (the real binary, `kill -9`), an endpoint failing for days, receivers that answer slowly,
//! with garbage or never; and the export CLI's file read back with the `csv` crate.
//!
//! These run the real sender loop (`workers::outbound::run_loop`), woken by commits, except
//! where a step-by-step `run_once` makes the test exact.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// How a receiver path answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 200 at once.
    Ok,
    /// The first request is held open forever; later ones get 200.
    HoldFirst,
    /// 500 every time.
    Fail,
    /// 200, after this long.
    Slow(StdDuration),
}

/// A local receiver: every `webhook-id` it got, per path, in arrival order.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<HashMap<String, Vec<String>>>>,
    requests: Arc<AtomicUsize>,
}

impl Receiver {
    /// Serves `paths` with their modes; returns the base URL.
    async fn start(&self, paths: &[(&'static str, Mode)]) -> String {
        let mut app = axum::Router::new();
        for &(path, mode) in paths {
            let me = self.clone();
            app = app.route(
                path,
                axum::routing::post(move |headers: HeaderMap| {
                    let me = me.clone();
                    async move {
                        let id = headers["webhook-id"].to_str().unwrap().to_owned();
                        let n = {
                            let mut got = me.got.lock().unwrap();
                            let ids = got.entry(path.to_owned()).or_default();
                            ids.push(id);
                            ids.len()
                        };
                        me.requests.fetch_add(1, Ordering::SeqCst);
                        match mode {
                            Mode::Ok => StatusCode::OK,
                            Mode::HoldFirst if n == 1 => {
                                std::future::pending::<()>().await;
                                StatusCode::OK
                            }
                            Mode::HoldFirst => StatusCode::OK,
                            Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR,
                            Mode::Slow(wait) => {
                                tokio::time::sleep(wait).await;
                                StatusCode::OK
                            }
                        }
                    }
                }),
            );
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn ids(&self, path: &str) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

/// A TCP server that answers every connection with `reply` (then closes), or, with `None`,
/// reads and never answers.
async fn raw_receiver(reply: Option<&'static [u8]>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                match reply {
                    Some(bytes) => {
                        let _ = socket.write_all(bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    None => {
                        // Keep the connection open and silent.
                        std::future::pending::<()>().await;
                        drop(socket);
                    }
                }
            });
        }
    });
    format!("http://{addr}/hook")
}

fn fast_sender(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
    settings.webhooks_poll_interval = StdDuration::from_millis(100);
}

/// Wakes only on commits: the fallback poll never fires during the test.
fn woken_sender(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
    settings.webhooks_poll_interval = StdDuration::from_secs(600);
    settings.webhooks_request_timeout = StdDuration::from_secs(5);
}

fn step_sender(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
}

async fn endpoint(app: &TestApp, admin: &str, url: &str) -> String {
    let created = app
        .gql(
            Some(admin),
            r#"mutation($input: CreateWebhookEndpointInput!) {
                 createWebhookEndpoint(input: $input) { endpoint { id } } }"#,
            json!({ "input": { "url": url, "eventTypes": ["note.created"] } }),
        )
        .await;
    created.ok()["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_lead(app: &TestApp, agent: &str, user: &str) -> String {
    record(app, agent, message("WHATSAPP", user, "hello")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    app.gql(
        Some(admin),
        r#"query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
             id webhookId status attemptCount lastResponseCode
             attempts { attempt succeeded responseCode error } } }"#,
        json!({ "id": endpoint }),
    )
    .await
    .ok()["webhookDeliveries"]
        .as_array()
        .unwrap()
        .clone()
}

async fn endpoints(app: &TestApp, admin: &str) -> Vec<Value> {
    app.gql(
        Some(admin),
        "{ webhookEndpoints { id enabled disabledReason } }",
        json!({}),
    )
    .await
    .ok()["webhookEndpoints"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls `done` every 20 ms until it holds or `within` passes (then fails with `what`).
async fn eventually<F: FnMut() -> bool>(within: StdDuration, what: &str, mut done: F) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// The sender loop of `app` until the returned token is cancelled.
fn run_sender(app: &TestApp) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(memodesk::workers::outbound::run_loop(
        app.state.clone(),
        stop.clone(),
    ));
    stop
}

#[tokio::test]
async fn two_replicas_deliver_every_event_exactly_once_to_every_endpoint() {
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(fast_sender),
        ..TestOptions::default()
    })
    .await;
    let replica = app
        .replica(TestOptions {
            settings: Some(fast_sender),
            ..TestOptions::default()
        })
        .await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    let base = receiver
        .start(&[("/crm", Mode::Ok), ("/analytics", Mode::Ok)])
        .await;
    endpoint(&app, &t.admin, &format!("{base}/crm")).await;
    endpoint(&app, &t.admin, &format!("{base}/analytics")).await;
    let stops = [run_sender(&app), run_sender(&replica)];

    // Notes written on both replicas while both senders run.
    let lead = new_lead(&app, &t.agent, "972501230000").await;
    const NOTES: usize = 24;
    for i in 0..NOTES {
        let writer = if i % 2 == 0 { &app } else { &replica };
        add_note(writer, &t.agent, &lead, &format!("note {i}"), false).await;
    }

    for path in ["/crm", "/analytics"] {
        eventually(StdDuration::from_secs(20), path, || {
            receiver.ids(path).len() >= NOTES
        })
        .await;
    }
    // Time for a duplicate to show up, if one were coming.
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    for stop in stops {
        stop.cancel();
    }
    for path in ["/crm", "/analytics"] {
        let ids = receiver.ids(path);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(ids.len(), NOTES, "{path}: one request per event: {ids:?}");
        assert_eq!(unique.len(), NOTES, "{path}: every webhook-id once");
    }
}

/// `memodesk serve` on `db_url` with the sender on, as a child process.
fn serve(db_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_memodesk"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", db_url])
        .env_clear()
        .env("MEMODESK_JWT_SECRET", JWT_SECRET)
        .env("MEMODESK_WORKERS_ENABLED", "true")
        .env("MEMODESK_WEBHOOKS_ALLOW_PRIVATE", "true")
        .env("MEMODESK_WEBHOOKS_POLL_INTERVAL", "100ms")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start memodesk")
}

#[tokio::test]
async fn a_replica_killed_mid_delivery_is_resent_later_with_the_same_webhook_id() {
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(step_sender),
        ..TestOptions::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    let base = receiver.start(&[("/hook", Mode::HoldFirst)]).await;
    let id = endpoint(&app, &t.admin, &format!("{base}/hook")).await;

    // A second replica, the real binary, picks the event up and hangs in the request.
    let mut child = serve(&app.db_url);
    let lead = new_lead(&app, &t.agent, "972501230001").await;
    add_note(&app, &t.agent, &lead, "call back tomorrow", false).await;
    eventually(StdDuration::from_secs(30), "the first request", || {
        !receiver.ids("/hook").is_empty()
    })
    .await;
    child.kill().expect("kill -9"); // SIGKILL: no shutdown, the lease is left behind.
    child.wait().unwrap();

    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "PENDING", "{listed:?}");
    assert_eq!(
        listed[0]["attempts"].as_array().unwrap().len(),
        0,
        "the killed attempt recorded nothing"
    );
    // Under its lease, nobody else sends it.
    let report = memodesk::services::outbound::sender::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.succeeded + report.failed, 0, "{report:?}");

    // Once the lease has expired, another replica resends it with the same webhook-id.
    app.clock.advance(Duration::minutes(3));
    let report = memodesk::services::outbound::sender::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let ids = receiver.ids("/hook");
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "the resend keeps the webhook-id");
    let listed = deliveries(&app, &t.admin, &id).await;
    assert_eq!(listed[0]["status"], "SUCCEEDED");
    assert_eq!(listed[0]["webhookId"], ids[0].as_str());
    assert_eq!(listed[0]["attemptCount"], 2, "both sends are counted");
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_disabled_and_says_since_when() {
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(step_sender),
        ..TestOptions::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    let base = receiver.start(&[("/down", Mode::Fail)]).await;
    let id = endpoint(&app, &t.admin, &format!("{base}/down")).await;
    let lead = new_lead(&app, &t.agent, "972501230002").await;
    add_note(&app, &t.agent, &lead, "first", false).await;
    let send = || memodesk::services::outbound::sender::run_once(&app.state);

    assert_eq!(send().await.unwrap().failed, 1);
    // A day of retries and new events, all failing: still enabled.
    for _ in 0..4 {
        app.clock.advance(Duration::days(1));
        add_note(&app, &t.agent, &lead, "more", false).await;
        assert!(send().await.unwrap().failed >= 1);
        assert_eq!(endpoints(&app, &t.admin).await[0]["enabled"], true);
    }
    // Past five days without a success: disabled, with the reason.
    app.clock.advance(Duration::days(1) + Duration::hours(1));
    add_note(&app, &t.agent, &lead, "last", false).await;
    send().await.unwrap();
    let endpoint = &endpoints(&app, &t.admin).await[0];
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    let reason = endpoint["disabledReason"].as_str().unwrap();
    assert!(reason.contains("failed since"), "{reason}");

    // What was still pending is given up with that reason; nothing new is queued.
    app.clock.advance(Duration::days(1));
    add_note(&app, &t.agent, &lead, "after", false).await;
    let report = send().await.unwrap();
    assert_eq!((report.created, report.succeeded), (0, 0), "{report:?}");
    let requests = receiver.requests.load(Ordering::SeqCst);
    send().await.unwrap();
    assert_eq!(receiver.requests.load(Ordering::SeqCst), requests);
    let listed = deliveries(&app, &t.admin, &id).await;
    assert!(!listed.is_empty());
    for delivery in &listed {
        assert_eq!(delivery["status"], "FAILED", "{delivery}");
    }
}

#[tokio::test]
async fn slow_garbage_and_silent_receivers_fail_their_attempts_without_holding_up_another_endpoint()
{
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(woken_sender),
        ..TestOptions::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let receiver = Receiver::default();
    let base = receiver
        .start(&[
            ("/ok", Mode::Ok),
            ("/slow", Mode::Slow(StdDuration::from_secs(60))),
        ])
        .await;
    let garbage = raw_receiver(Some(b"this is not HTTP\r\n\r\n")).await;
    let silent = raw_receiver(None).await;
    let ok = endpoint(&app, &t.admin, &format!("{base}/ok")).await;
    let slow = endpoint(&app, &t.admin, &format!("{base}/slow")).await;
    let garbage = endpoint(&app, &t.admin, &garbage).await;
    let silent = endpoint(&app, &t.admin, &silent).await;
    let stop = run_sender(&app);
    let lead = new_lead(&app, &t.agent, "972501230003").await;

    // While the slow and silent receivers hold their requests (up to the 5 s timeout), the
    // healthy endpoint gets each new event: the sender is woken by the commit, not a poll.
    for i in 1..=3 {
        let written = Instant::now();
        add_note(&app, &t.agent, &lead, &format!("note {i}"), false).await;
        eventually(StdDuration::from_secs(4), "the healthy endpoint", || {
            receiver.ids("/ok").len() == i
        })
        .await;
        assert!(
            written.elapsed() < StdDuration::from_secs(4),
            "delivered in {:?}",
            written.elapsed()
        );
    }

    // The bad receivers' attempts end as recorded failures, each with why.
    let deadline = Instant::now() + StdDuration::from_secs(30);
    for (endpoint, expect) in [
        (&slow, "timed out"),
        (&silent, "timed out"),
        (&garbage, "the request failed"),
    ] {
        loop {
            let listed = deliveries(&app, &t.admin, endpoint).await;
            let failed: Vec<&Value> = listed
                .iter()
                .flat_map(|d| d["attempts"].as_array().unwrap())
                .filter(|a| a["succeeded"] == false)
                .collect();
            if failed.len() >= 3 {
                for attempt in failed {
                    assert_eq!(attempt["responseCode"], Value::Null);
                    assert_eq!(attempt["error"], expect, "{attempt}");
                }
                for delivery in &listed {
                    assert_eq!(delivery["status"], "PENDING", "retried later: {delivery}");
                }
                break;
            }
            assert!(Instant::now() < deadline, "no failed attempts for {expect}");
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }
    let listed = deliveries(&app, &t.admin, &ok).await;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|d| d["status"] == "SUCCEEDED"));
    stop.cancel();
}

#[tokio::test]
async fn the_export_command_writes_a_csv_file_that_reads_back_lead_by_lead() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut leads = Vec::new();
    for i in 0..5 {
        leads.push(new_lead(&app, &t.agent, &format!("97250123010{i}")).await);
    }
    set_profile_field(
        &app,
        &t.agent,
        &leads[0],
        "name",
        "Dana Levi, \"the\" buyer",
    )
    .await
    .ok();
    set_profile_field(&app, &t.agent, &leads[1], "city", "=HYPERLINK(\"x\")")
        .await
        .ok();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("leads.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_memodesk"))
        .args(["--database-url", &app.db_url, "export", "leads", "--tenant"])
        .arg(t.id.to_string())
        .args(["--format", "csv", "--out"])
        .arg(&out)
        .env_clear()
        .env("MEMODESK_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cursor = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!cursor.is_empty(), "the next cursor is printed");

    let mut reader = csv::Reader::from_path(&out).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        memodesk::services::export::CSV_COLUMNS.to_vec()
    );
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), leads.len(), "one row per lead");
    let mut ids: Vec<&str> = rows.iter().map(|r| &r[column("memodesk_id")]).collect();
    ids.sort();
    let mut expected: Vec<&str> = leads.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ids, expected);
    let dana = rows
        .iter()
        .find(|r| r[column("memodesk_id")] == *leads[0])
        .unwrap();
    assert_eq!(&dana[column("first_name")], "Dana");
    assert_eq!(&dana[column("last_name")], "Levi, \"the\" buyer");
    assert_eq!(&dana[column("phone")], "+972501230100");
    let formula = rows
        .iter()
        .find(|r| r[column("memodesk_id")] == *leads[1])
        .unwrap();
    assert_eq!(&formula[column("city")], "'=HYPERLINK(\"x\")");
}

#[tokio::test]
async fn a_commit_on_one_replica_wakes_the_sender_on_another_through_postgres() {
    crate::require_postgres!();
    let writer = TestApp::spawn_with(TestOptions {
        settings: Some(woken_sender),
        ..TestOptions::default()
    })
    .await;
    // Only the other replica sends, and its fallback poll is ten minutes away.
    let sender = writer
        .replica(TestOptions {
            settings: Some(woken_sender),
            ..TestOptions::default()
        })
        .await;
    let t = writer.tenant("Acme").await;
    let receiver = Receiver::default();
    let base = receiver.start(&[("/hook", Mode::Ok)]).await;
    endpoint(&writer, &t.admin, &format!("{base}/hook")).await;
    let stop = run_sender(&sender);
    let lead = new_lead(&writer, &t.agent, "972501230004").await;
    // The sender's first pass (at start) may race the endpoint's creation; this note comes after.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    add_note(&writer, &t.agent, &lead, "from the other replica", false).await;
    eventually(
        StdDuration::from_secs(5),
        "a delivery woken by NOTIFY",
        || receiver.ids("/hook").len() == 1,
    )
    .await;
    stop.cancel();
}
