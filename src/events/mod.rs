//! Events: written to the outbox in the same transaction as the change they report, then fanned
//! out to live subscribers (and, later, webhooks) after commit.

pub mod hub;
pub mod outbox;

pub use hub::{Delivered, EventHub, Subscription};
pub use outbox::NewEvent;
