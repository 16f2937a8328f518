//! What a credential may read, wherever the data appears in a document. Root fields check
//! their own permission in the services; below them, a credential without read access (an
//! `INGEST` API key) may read only the ids of what its message touched and its own message.
//! The whole document is checked before anything runs, so a document that asks for more is
//! refused (FORBIDDEN) without recording anything.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ServerError, ServerResult, Value, Variables};

use crate::auth::{Actor, Permission};
use crate::graphql::shape;

/// Every field of the type.
const ALL: &[&str] = &["*"];

/// Fields a credential without read access may select below a root field, by type. Anything
/// else (profiles, notes, summaries, other messages, sessions' contents, memory contexts…)
/// needs read access.
const WITHOUT_READ: &[(&str, &[&str])] = &[
    (
        "RecordMessagePayload",
        &[
            "message",
            "session",
            "lead",
            "leadCreated",
            "sessionCreated",
            "duplicate",
        ],
    ),
    ("RecordMessagesPayload", ALL),
    ("RecordMessageResult", ALL),
    ("InputError", ALL),
    // Its own message (the only way to reach a Message without read access).
    ("Message", ALL),
    ("MessageEntities", ALL),
    ("Amount", ALL),
    ("DateMention", ALL),
    ("Session", &["id", "leadId"]),
    ("Lead", &["id"]),
    ("Me", ALL),
];

fn readable_without_read(type_name: &str, field: &str) -> bool {
    field.starts_with("__")
        || WITHOUT_READ
            .iter()
            .find(|(ty, _)| *ty == type_name)
            .is_some_and(|(_, fields)| fields.contains(&"*") || fields.contains(&field))
}

/// Refuses documents that select data the caller's credential may not read.
pub struct ReadScope;

impl ExtensionFactory for ReadScope {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ReadScope)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ReadScope {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // No credential: the root fields refuse; with read access: everything below is open.
        let Some(actor) = ctx.data_opt::<Actor>() else {
            return Ok(document);
        };
        if actor.can(Permission::Read) {
            return Ok(document);
        }
        let registry = &ctx.schema_env.registry;
        for (_, operation) in document.operations.iter() {
            let Some(root) = shape::root_type(registry, operation.node.ty) else {
                continue;
            };
            for field in shape::selected_fields(&document, &[&operation.node.selection_set.node]) {
                let name = field.name.node.as_str();
                let Some(ty) = shape::field_type(registry, root, name) else {
                    continue;
                };
                check(
                    registry,
                    &document,
                    shape::named_type(ty),
                    &field.selection_set.node,
                    field.response_key().node.as_str(),
                )?;
            }
        }
        Ok(document)
    }
}

/// Refuses the first field in `set` (of type `type_name`, at `path`) the caller may not read.
fn check(
    registry: &Registry,
    document: &ExecutableDocument,
    type_name: &str,
    set: &SelectionSet,
    path: &str,
) -> ServerResult<()> {
    for field in shape::selected_fields(document, &[set]) {
        let name = field.name.node.as_str();
        let key = field.response_key().node.as_str();
        let here = format!("{path}.{key}");
        if !readable_without_read(type_name, name) {
            let mut err = ServerError::new(
                format!(
                    "`{here}` ({type_name}.{name}) needs read access; this credential may read \
                     only ids and the message it records"
                ),
                Some(field.name.pos),
            );
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", Value::from("FORBIDDEN"));
            return Err(err);
        }
        if let Some(ty) = shape::field_type(registry, type_name, name) {
            check(
                registry,
                document,
                shape::named_type(ty),
                &field.selection_set.node,
                &here,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_read_access_only_ids_and_the_own_message_are_readable() {
        assert!(readable_without_read("Lead", "id"));
        assert!(!readable_without_read("Lead", "profile"));
        assert!(!readable_without_read("Session", "messages"));
        assert!(readable_without_read("Message", "content"));
        assert!(!readable_without_read("RecordMessagePayload", "context"));
        assert!(!readable_without_read("Note", "body"));
        assert!(readable_without_read("Lead", "__typename"));
    }
}
