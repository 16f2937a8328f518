//! Fan-out latency: from a recordMessage response to delivery at 1 000 WebSocket subscribers,
//! on one node (SQLite) and across two replicas (PostgreSQL); and server memory per idle
//! subscription.
//!
//! The server runs as its own process (the release `memodesk` binary) so its memory can be read
//! from /proc; the subscribers and the writer run here. Both share this machine's cores.
//!
//! `cargo bench --bench fanout`; set `MEMODESK_BENCH_POSTGRES_URL` (an admin URL such as
//! postgres://postgres@127.0.0.1:5432/postgres) for the two-replica run.
//! `MEMODESK_BENCH_SUBSCRIBERS` (default 1000) and `MEMODESK_BENCH_ROUNDS` (default 200).

#[path = "common/process.rs"]
mod process;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use process::{Server, cli, env_usize};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// When each round's event reached one subscriber; each keeps its own list, so subscribers do
/// not contend on a shared lock while they are being measured.
type Arrivals = Vec<(usize, Instant)>;

async fn subscribe(
    port: u16,
    token: String,
    ready: Arc<tokio::sync::Barrier>,
    done: tokio_util::sync::CancellationToken,
) -> Arrivals {
    let mut arrivals = Vec::new();
    let mut request = format!("ws://127.0.0.1:{port}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .expect("init");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription { conversationEvents(types: [MESSAGE_CREATED]) { message { content } } }" } });
    let mut subscribed = false;
    loop {
        let message = tokio::select! {
            () = done.cancelled() => return arrivals,
            next = socket.next() => match next {
                Some(Ok(message)) => message,
                _ => return arrivals,
            },
        };
        let Message::Text(text) = message else {
            continue;
        };
        // Events are recognised without a full JSON parse: this process shares the machine
        // with the server, and its CPU time would count against the server's latency.
        if subscribed && text.contains("\"next\"") {
            let at = Instant::now();
            if let Some(round) = text.split("round ").nth(1).and_then(round_of) {
                arrivals.push((round, at));
            }
            continue;
        }
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        match value["type"].as_str() {
            Some("connection_ack") if !subscribed => {
                socket
                    .send(Message::Text(subscribe.to_string().into()))
                    .await
                    .expect("subscribe");
                subscribed = true;
                // Let the server register the subscription before the writer starts.
                tokio::time::sleep(Duration::from_millis(200)).await;
                ready.wait().await;
            }
            _ => {}
        }
    }
}

/// The round number at the start of `text` ("123\"…" → 123, or "round 123" → 123).
fn round_of(text: &str) -> Option<usize> {
    let digits: String = text
        .trim_start_matches("round ")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

struct Figures {
    from_response: Histogram<u64>,
    from_send: Histogram<u64>,
    delivered: usize,
    expected: usize,
}

/// Subscribes `subscribers` clients on `sub_port`, then writes `rounds` messages through
/// `write_port` and measures delivery.
async fn run(
    sub_port: u16,
    write_port: u16,
    token: &str,
    subscribers: usize,
    rounds: usize,
) -> Figures {
    let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
    let done = tokio_util::sync::CancellationToken::new();
    let mut clients = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        clients.push(tokio::spawn(subscribe(
            sub_port,
            token.to_owned(),
            ready.clone(),
            done.clone(),
        )));
    }
    ready.wait().await;
    let http = reqwest::Client::new();
    let mut sent = Vec::with_capacity(rounds);
    let query =
        "mutation($input: RecordMessageInput!) { recordMessage(input: $input) { message { id } } }";
    for round in 0..rounds {
        let body = json!({ "query": query, "variables": { "input": {
            "channel": "WEB", "externalUserId": format!("visitor-{}", round % 50), "content": format!("round {round}") } } });
        let started = Instant::now();
        let response = http
            .post(format!("http://127.0.0.1:{write_port}/graphql"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("record");
        assert!(response.status().is_success());
        let answered = Instant::now();
        sent.push((started, answered));
        // One message at a time, spaced so each round's fan-out is measured on its own.
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    done.cancel();
    let mut from_response = Histogram::<u64>::new(3).expect("histogram");
    let mut from_send = Histogram::<u64>::new(3).expect("histogram");
    let mut delivered = 0;
    for client in clients {
        for (round, at) in client.await.expect("subscriber") {
            let Some(&(started, answered)) = sent.get(round) else {
                continue;
            };
            delivered += 1;
            from_response
                .record(at.saturating_duration_since(answered).as_micros() as u64)
                .ok();
            from_send
                .record(at.saturating_duration_since(started).as_micros() as u64)
                .ok();
        }
    }
    Figures {
        from_response,
        from_send,
        delivered,
        expected: subscribers * rounds,
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn report(label: &str, f: &Figures, subscribers: usize) {
    println!(
        "{label:<28} {subscribers} subscribers  after response p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  | after send p50 {:.2} ms p99 {:.2} ms  | delivered {}/{}  (target p99 ≤ 25 ms)",
        ms(&f.from_response, 0.5),
        ms(&f.from_response, 0.99),
        f.from_response.max() as f64 / 1000.0,
        ms(&f.from_send, 0.5),
        ms(&f.from_send, 0.99),
        f.delivered,
        f.expected,
    );
}

/// Memory of the server per idle subscription: RSS before and after opening `n` of them.
async fn idle_memory(server: &Server, token: &str, n: usize) -> f64 {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let ready = Arc::new(tokio::sync::Barrier::new(n + 1));
    let done = tokio_util::sync::CancellationToken::new();
    let clients: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(subscribe(
                server.port,
                token.to_owned(),
                ready.clone(),
                done.clone(),
            ))
        })
        .collect();
    ready.wait().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.rss_kib();
    done.cancel();
    for c in clients {
        let _ = c.await;
    }
    (after.saturating_sub(before)) as f64 / n as f64
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let subscribers = env_usize("MEMODESK_BENCH_SUBSCRIBERS", 1000);
    let rounds = env_usize("MEMODESK_BENCH_ROUNDS", 200);
    println!(
        "memodesk fan-out benchmark — {} cores, server and clients on the same machine",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/fanout.db", dir.path().display());
    let tenant = cli(&url, &["tenant", "create", "--name", "Bench"]);
    let token = cli(
        &url,
        &[
            "token", "--tenant", &tenant, "--role", "agent", "--ttl", "2h",
        ],
    );
    let server = Server::start(&url);
    runtime.block_on(async {
        server.ready().await;
        let per_sub = idle_memory(&server, &token, subscribers).await;
        println!("idle subscriptions (sqlite)   {subscribers} open: {per_sub:.1} KiB of server memory each");
        let figures = run(server.port, server.port, &token, subscribers, rounds).await;
        report("one node (sqlite)", &figures, subscribers);
    });
    drop(server);

    if let Ok(admin) = std::env::var("MEMODESK_BENCH_POSTGRES_URL") {
        let name = format!("memodesk_bench_fanout_{}", std::process::id());
        runtime.block_on(admin_exec(&admin, &format!("CREATE DATABASE {name}")));
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{admin}/{name}"),
        };
        cli(&url, &["migrate"]);
        let tenant = cli(&url, &["tenant", "create", "--name", "Bench"]);
        let token = cli(
            &url,
            &[
                "token", "--tenant", &tenant, "--role", "agent", "--ttl", "2h",
            ],
        );
        let subscribers_node = Server::start(&url);
        let writer_node = Server::start(&url);
        runtime.block_on(async {
            subscribers_node.ready().await;
            writer_node.ready().await;
            let figures = run(
                subscribers_node.port,
                writer_node.port,
                &token,
                subscribers,
                rounds,
            )
            .await;
            report("two replicas (postgres)", &figures, subscribers);
        });
        drop(subscribers_node);
        drop(writer_node);
        runtime.block_on(admin_exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ));
    }
}

async fn admin_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL (MEMODESK_BENCH_POSTGRES_URL)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .expect(sql);
}
