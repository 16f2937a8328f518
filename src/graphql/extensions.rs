//! Request-wide rules: every error carries a code, and deep or alias-heavy documents are
//! refused.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextSubscribe,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Value, Variables};
use futures::StreamExt;
use futures::stream::BoxStream;

/// Gives every error a code, over HTTP and in every response of a subscription alike. Errors
/// async-graphql raises itself (syntax, unknown fields, wrong types, unknown enum values,
/// exceeded limits, arguments that do not coerce) describe the request: `BAD_USER_INPUT`.
/// Resolver errors carry their code from `AppError`; one without a code escaped that
/// conversion, so it is reported as `INTERNAL` without its text.
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
        add_codes(&mut response);
        response
    }

    /// Subscriptions (and anything else sent over the WebSocket) skip `request`.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        Box::pin(next.run(ctx, stream).map(|mut response| {
            add_codes(&mut response);
            response
        }))
    }
}

fn add_codes(response: &mut Response) {
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

/// Refuses documents whose fields nest deeper than `.0`, as async-graphql's `limit_depth` does,
/// but without counting inside `__schema` and `__type`: the introspection query of GraphiQL
/// (and of most tools) nests type references seven deep on its own. Introspection stays under
/// the complexity and recursion limits.
pub struct DepthLimit(pub usize);

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DepthLimit(self.0))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for DepthLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut depths = FragmentDepths {
            document: &document,
            known: HashMap::new(),
            entered: Vec::new(),
        };
        for (_, operation) in document.operations.iter() {
            if depths.of(&operation.node.selection_set.node) > self.0 {
                // async-graphql's own words for it.
                return Err(ServerError::new("Query is nested too deep.", None));
            }
        }
        Ok(document)
    }
}

/// Depths of selection sets, following fragment spreads; each fragment is measured once.
struct FragmentDepths<'a> {
    document: &'a ExecutableDocument,
    known: HashMap<&'a str, usize>,
    /// Fragments being measured: a spread of one of them is a cycle, which validation refuses
    /// later, so it counts nothing here.
    entered: Vec<&'a str>,
}

impl<'a> FragmentDepths<'a> {
    fn of(&mut self, set: &'a SelectionSet) -> usize {
        let mut deepest = 0;
        for item in &set.items {
            let depth = match &item.node {
                Selection::Field(field) => match field.node.name.node.as_str() {
                    "__schema" | "__type" => 1,
                    _ => 1 + self.of(&field.node.selection_set.node),
                },
                Selection::InlineFragment(fragment) => self.of(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    self.of_fragment(spread.node.fragment_name.node.as_str())
                }
            };
            deepest = deepest.max(depth);
        }
        deepest
    }

    fn of_fragment(&mut self, name: &'a str) -> usize {
        if let Some(depth) = self.known.get(name) {
            return *depth;
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return 0;
        };
        if self.entered.contains(&name) {
            return 0;
        }
        self.entered.push(name);
        let depth = self.of(&fragment.node.selection_set.node);
        self.entered.pop();
        self.known.insert(name, depth);
        depth
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

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(query: &str) -> usize {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let mut depths = FragmentDepths {
            document: &document,
            known: HashMap::new(),
            entered: Vec::new(),
        };
        document
            .operations
            .iter()
            .map(|(_, operation)| depths.of(&operation.node.selection_set.node))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn depth_counts_fields_as_async_graphql_does_through_fragments() {
        assert_eq!(depth("{ me { kind } }"), 2);
        assert_eq!(depth("{ a { b { c } } d }"), 3);
        assert_eq!(
            depth("{ a { ...F ... on X { b { c { d } } } } } fragment F on Y { e { f } }"),
            4
        );
        // A fragment used twice is measured once; a cycle (refused by validation) ends.
        assert_eq!(
            depth(
                "{ a { ...F } b { c { ...F } } } fragment F on Y { e { ...G } } fragment G on Y { ...F g }"
            ),
            4
        );
    }

    #[test]
    fn introspection_counts_as_one_level() {
        assert_eq!(
            depth(
                "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }"
            ),
            1
        );
        assert_eq!(
            depth("{ __type(name: \"Lead\") { fields { name } } me { kind } }"),
            2
        );
    }
}
