//! Integration tests: the real server over HTTP (and WebSockets), on SQLite by default and on
//! PostgreSQL with `MEMODESK_TEST_POSTGRES_URL` set.

mod fake_llm;
mod helpers;

mod auth;
mod cost;
mod drivers;
mod free_text;
mod graphiql;
mod http_protocol;
mod ingest;
mod leads;
mod lifecycle;
mod live;
mod llm;
mod memory;
mod non_null;
mod notes;
mod phones;
mod pipeline;
mod profile;
mod read_scopes;
mod schema;
mod tenancy;
mod validation;
mod webhooks;
