//! Query cost limit (issue 27 item 2): server memory while it refuses one costly document, and
//! the same document allowed, as the baseline.
//!
//! The server runs as its own process (the `memodesk` binary) so its memory can be read from
//! /proc. It stores `MEMODESK_BENCH_MESSAGES` messages (default 10 000: 100 leads with one WEB
//! session of 100 messages each), then receives one document of 30 aliased
//! `leads(first:100) { sessions(first:100) { messages(first:100) } }` selections (about
//! 300 000 message rows). Its VmRSS is sampled every 2 ms while the request runs. The same
//! document is then sent to a server restarted on the same database with
//! `MEMODESK_GRAPHQL_MAX_COMPLEXITY=1000000000`, which answers it in full.
//!
//! `cargo bench --bench complexity` (or `--profile dev`). Target: peak − idle RSS under the
//! refused request ≤ 20 MB.

#[path = "common/process.rs"]
mod process;

use std::time::{Duration, Instant};

use process::{PeakRss, Server, cli, env_usize, mb, rss_kib};
use serde_json::{Value, json};

const ALIASES: usize = 30;
const TARGET_MB: f64 = 20.0;

/// A server on `url`, answering documents up to `max_complexity` when given.
fn serve(url: &str, max_complexity: Option<&str>) -> Server {
    let mut env = vec![("MEMODESK_WORKERS_ENABLED", "false")];
    if let Some(limit) = max_complexity {
        env.push(("MEMODESK_GRAPHQL_MAX_COMPLEXITY", limit));
    }
    Server::start_with(url, &env)
}

/// Stores `messages` messages: `per_lead` per lead, one request per lead, all in one WEB
/// session (they arrive well within the idle timeout).
async fn fill(server: &Server, token: &str, messages: usize, per_lead: usize) {
    let http = reqwest::Client::new();
    let query = "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }";
    let leads = messages.div_ceil(per_lead);
    for lead in 0..leads {
        let count = per_lead.min(messages - lead * per_lead);
        let inputs: Vec<Value> = (0..count)
            .map(|i| {
                json!({ "channel": "WEB", "externalUserId": format!("visitor-{lead}"),
                    "content": format!("Message {i} from visitor {lead}: do you have the blue one in size 42?") })
            })
            .collect();
        let body = json!({ "query": query, "variables": { "inputs": inputs } });
        let response: Value = http
            .post(server.url())
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("recordMessages")
            .json()
            .await
            .expect("recordMessages response");
        assert_eq!(
            response["data"]["recordMessages"]["recorded"].as_u64(),
            Some(count as u64),
            "recordMessages: {response}"
        );
    }
}

/// The costly document: `ALIASES` aliased leads → sessions → messages pages of 100.
fn document() -> String {
    let mut query = String::from("{");
    for a in 0..ALIASES {
        query.push_str(&format!(
            " a{a}: leads(first: 100) {{ nodes {{ sessions(first: 100) {{ nodes {{ messages(first: 100) {{ nodes {{ id content }} }} }} }} }} }}"
        ));
    }
    query.push_str(" }");
    query
}

struct Measure {
    idle_kib: u64,
    peak_kib: u64,
    elapsed: Duration,
    bytes: usize,
    body: Value,
}

/// Idle RSS after a settle, then the document sent once while another thread samples the
/// server's RSS every 2 ms.
async fn measure(server: &Server, token: &str) -> Measure {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.pid();
    let idle_kib = rss_kib(pid);
    let sampler = PeakRss::start(pid);
    let http = reqwest::Client::new();
    let body = json!({ "query": document() });
    let started = Instant::now();
    let bytes = http
        .post(server.url())
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("query")
        .bytes()
        .await
        .expect("query response");
    let elapsed = started.elapsed();
    // Catch what the server still holds just after answering.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let peak_kib = sampler.finish();
    Measure {
        idle_kib,
        peak_kib,
        elapsed,
        bytes: bytes.len(),
        body: serde_json::from_slice(&bytes).expect("JSON response"),
    }
}

fn row(label: &str, m: &Measure, extra: &str) {
    println!(
        "{label:<30} {:>9.1} {:>9.1} {:>12.1} {:>10.1}  {extra}",
        mb(m.idle_kib),
        mb(m.peak_kib),
        mb(m.peak_kib.saturating_sub(m.idle_kib)),
        m.elapsed.as_secs_f64() * 1000.0,
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Without `--bench` (`cargo test --benches`), a tiny smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let messages = env_usize("MEMODESK_BENCH_MESSAGES", if smoke { 200 } else { 10_000 });
    let per_lead = 100;
    println!(
        "memodesk complexity benchmark — {} cores, server and client on the same machine, {messages} messages ({} leads × ≤ {per_lead}), {ALIASES} aliases",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        messages.div_ceil(per_lead),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/complexity.db", dir.path().display());
    let tenant = cli(&url, &["tenant", "create", "--name", "Bench"]);
    let agent = cli(
        &url,
        &[
            "token", "--tenant", &tenant, "--role", "agent", "--ttl", "2h",
        ],
    );
    let viewer = cli(
        &url,
        &[
            "token", "--tenant", &tenant, "--role", "viewer", "--ttl", "2h",
        ],
    );

    let (refused, allowed) = runtime.block_on(async {
        let server = serve(&url, None);
        server.ready().await;
        let started = Instant::now();
        fill(&server, &agent, messages, per_lead).await;
        println!(
            "stored {messages} messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let refused = measure(&server, &viewer).await;
        drop(server);

        let server = serve(&url, Some("1000000000"));
        server.ready().await;
        let allowed = measure(&server, &viewer).await;
        drop(server);
        (refused, allowed)
    });

    let error = &refused.body["errors"][0];
    let code = error["extensions"]["code"].as_str().unwrap_or("");
    let cost = error["extensions"]["cost"].as_u64();
    assert!(
        code == "BAD_USER_INPUT" && cost.is_some() && refused.body["data"].is_null(),
        "expected the refusal, got {}",
        refused.body
    );
    assert!(
        allowed.body["errors"].is_null(),
        "the baseline was refused: {}",
        allowed.body["errors"]
    );
    let rows: usize = (0..ALIASES)
        .map(|a| {
            allowed.body["data"][format!("a{a}")]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|lead| lead["sessions"]["nodes"].as_array().into_iter().flatten())
                .map(|s| s["messages"]["nodes"].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .sum();

    println!();
    println!(
        "{:<30} {:>9} {:>9} {:>12} {:>10}",
        "server RSS (MB)", "idle", "peak", "peak − idle", "time (ms)"
    );
    row(
        "refused (default limit)",
        &refused,
        &format!(
            "BAD_USER_INPUT, cost {} > limit {}, response {} bytes",
            cost.unwrap_or(0),
            error["extensions"]["limit"],
            refused.bytes
        ),
    );
    row(
        "allowed (limit 1 000 000 000)",
        &allowed,
        &format!(
            "{rows} message rows, response {:.1} MB",
            allowed.bytes as f64 / 1_048_576.0
        ),
    );
    let growth = mb(refused.peak_kib.saturating_sub(refused.idle_kib));
    println!();
    println!(
        "verdict: peak − idle under the refused request {growth:.1} MB (target ≤ {TARGET_MB:.0} MB): {}",
        if growth <= TARGET_MB { "met" } else { "MISSED" }
    );
}
