//! Integration tests: the real server over HTTP (and WebSockets), on SQLite by default and on
//! PostgreSQL with `MEMODESK_TEST_POSTGRES_URL` set.

mod fake_embeddings;
mod fake_llm;
mod helpers;

mod auth;
mod cost;
mod crm_changes;
mod crm_export;
mod dashboard;
mod drivers;
mod extraction;
mod free_text;
mod graphiql;
mod http_protocol;
mod ingest;
mod lead_list;
mod leads;
mod lifecycle;
mod live;
mod llm;
mod memory;
mod memory_flows;
mod non_null;
mod notes;
mod outbound_delivery;
mod outbound_webhooks;
mod phones;
mod pipeline;
mod privacy_audit;
mod privacy_erasure;
mod privacy_export;
mod privacy_redaction;
mod privacy_retention;
mod profile;
mod read_scopes;
mod schema;
mod search;
mod semantic_search;
mod tenancy;
mod validation;
mod webhooks;
