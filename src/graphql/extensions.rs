//! Request-wide rules: every error carries a code, and alias-heavy documents are refused.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Value, Variables};

/// Gives every error a code. Errors async-graphql raises itself (syntax, unknown fields,
/// wrong types, unknown enum values, exceeded limits, arguments that do not coerce) describe
/// the request: `BAD_USER_INPUT`. Resolver errors carry their code from `AppError`; one
/// without a code escaped that conversion, so it is reported as `INTERNAL` without its text.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            let has_code = error
                .extensions
                .as_ref()
                .is_some_and(|e| e.get("code").is_some());
            if has_code {
                continue;
            }
            let from_request = error.path.is_empty()
                || error.message.starts_with("Failed to parse")
                || error.message.starts_with("Invalid value for argument")
                || error.message.starts_with("Internal error: Failed to parse");
            let code = if from_request {
                "BAD_USER_INPUT"
            } else {
                tracing::error!(error = %error.message, "resolver error without a code");
                error.message = "internal error".into();
                "INTERNAL"
            };
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", Value::from(code));
        }
        response
    }
}

/// Refuses documents with more than `.0` aliased fields (cheap amplification otherwise).
pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimit(self.0))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut aliases = 0;
        for (_, operation) in document.operations.iter() {
            aliases += count_aliases(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            aliases += count_aliases(&fragment.node.selection_set.node);
        }
        if aliases > self.0 {
            return Err(ServerError::new(
                format!("the query uses {aliases} aliases; the limit is {}", self.0),
                None,
            ));
        }
        Ok(document)
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}
