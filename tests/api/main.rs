//! Integration tests: the real server over HTTP (and WebSockets), on SQLite by default and on
//! PostgreSQL with `MEMODESK_TEST_POSTGRES_URL` set.

mod fake_llm;
mod helpers;

mod auth;
mod drivers;
mod graphiql;
mod http_protocol;
mod ingest;
mod leads;
mod lifecycle;
mod live;
mod llm;
mod memory;
mod notes;
mod phones;
mod pipeline;
mod profile;
mod schema;
mod search;
mod tenancy;
mod validation;
mod webhooks;
