//! GraphQL output and input types. They wrap service results; nothing here talks to storage
//! except through DataLoaders and services.

pub mod admin;
pub mod connection;
pub mod enums;
pub mod job;
pub mod lead;
pub mod memory;
pub mod message;
pub mod note;
pub mod privacy;
pub mod profile;
pub mod search;
pub mod session;
pub mod summary;
pub mod tenant;
pub mod text;
pub mod webhook;
