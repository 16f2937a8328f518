//! memodesk: the memory behind customer-facing AI agents.
//!
//! Layers point one way: `http`/`graphql` → `services` → `repo` → `entities`; `domain` holds
//! the pure rules and depends on nothing else here; `workers` call `services`.

// A request must never be able to crash the process: outside tests, no `unwrap`/`expect`
// (clippy enforces it in CI; test code, compiled with `cfg(test)`, may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod auth;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod llm;
pub mod repo;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod workers;
