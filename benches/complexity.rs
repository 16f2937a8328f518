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

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-42";
const BIN: &str = env!("CARGO_BIN_EXE_memodesk");
const ALIASES: usize = 30;
const TARGET_MB: f64 = 20.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs a CLI command against `url` and returns its standard output, trimmed.
fn cli(url: &str, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .args(["--database-url", url])
        .env("MEMODESK_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run memodesk");
    assert!(
        output.status.success(),
        "memodesk {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Resident memory of process `pid`, in KiB (0 once it is gone).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(url: &str, max_complexity: Option<&str>) -> Self {
        let port = free_port();
        let mut command = Command::new(BIN);
        command
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                url,
            ])
            .env("MEMODESK_JWT_SECRET", SECRET)
            .env("MEMODESK_WORKERS_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(limit) = max_complexity {
            command.env("MEMODESK_GRAPHQL_MAX_COMPLEXITY", limit);
        }
        let child = command.spawn().expect("start memodesk");
        Self { child, port }
    }

    async fn ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..400 {
            if client
                .get(format!("http://127.0.0.1:{}/readyz", self.port))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let pid = server.child.id();
    let idle_kib = rss_kib(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(idle_kib));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
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
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let peak_kib = peak.load(Ordering::Relaxed).max(rss_kib(pid));
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
        let server = Server::start(&url, None);
        server.ready().await;
        let started = Instant::now();
        fill(&server, &agent, messages, per_lead).await;
        println!(
            "stored {messages} messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let refused = measure(&server, &viewer).await;
        drop(server);

        let server = Server::start(&url, Some("1000000000"));
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
