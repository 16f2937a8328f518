//! The server as its own process: the benches that read the server's memory from /proc (or
//! run several replicas) start the `memodesk` binary with this harness instead of building the
//! app in the bench process.
//!
//! Included with `#[path = "common/process.rs"] mod process;` so a bench that only needs this
//! does not pull in the rest of `common` (its allocator, dataset generator, …).

#![allow(dead_code)] // each bench uses part of it

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The JWT secret every bench server and CLI call shares.
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret-42";
/// The binary under test (release under `cargo bench`, debug under `cargo test --benches`).
pub const BIN: &str = env!("CARGO_BIN_EXE_memodesk");

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether this is a tiny smoke run (not started by `cargo bench`, e.g. `cargo test --benches`).
pub fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs a CLI command against `url` and returns its standard output, trimmed.
pub fn cli(url: &str, args: &[&str]) -> String {
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

/// A fresh tenant on `url` and a token for it with `role` (`admin`, `agent`, `viewer`).
pub fn tenant_and_token(url: &str, role: &str) -> (String, String) {
    let tenant = cli(url, &["tenant", "create", "--name", "Bench"]);
    let token = cli(
        url,
        &["token", "--tenant", &tenant, "--role", role, "--ttl", "4h"],
    );
    (tenant, token)
}

/// Resident memory of process `pid`, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `memodesk serve` child process on a free port; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Serves `url` with the background workers off.
    pub fn start(url: &str) -> Self {
        Self::start_with(url, &[("MEMODESK_WORKERS_ENABLED", "false")])
    }

    /// Serves `url` with extra environment (e.g. `MEMODESK_WORKERS_ENABLED=true`).
    pub fn start_with(url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(BIN)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                url,
            ])
            .env("MEMODESK_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start memodesk");
        Self { child, port }
    }

    pub async fn ready(&self) {
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The GraphQL endpoint.
    pub fn url(&self) -> String {
        self.http("/graphql")
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's RSS every 2 ms on a thread of its own until stopped; keeps the peak.
pub struct PeakRss {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    pid: u32,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Self {
            stop,
            peak,
            pid,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the peak seen, in KiB.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("sampler");
        }
        self.peak.load(Ordering::Relaxed).max(rss_kib(self.pid))
    }
}
