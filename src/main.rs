//! The `memodesk` binary: parse the command line, set up logging, run.

// A request must never be able to crash the process: outside tests, no `unwrap`/`expect`
// (clippy enforces it in CI; test code, compiled with `cfg(test)`, may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use clap::Parser;

/// See Cargo.toml: requests allocate many small, short-lived values on every thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // sqlx brings ring, reqwest and jsonwebtoken could bring others: pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = memodesk::cli::Cli::parse();
    let log_format = cli
        .settings()
        .map(|s| s.log_format)
        .unwrap_or(memodesk::config::LogFormat::Text);
    memodesk::telemetry::init(log_format);
    match memodesk::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
