//! Request-wide rules: every error carries a code, and deep or alias-heavy documents are
//! refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    NextSubscribe,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{PathSegment, Pos, Response, ServerError, ServerResult, Value, Variables};

use crate::domain::free_text;
use crate::graphql::shape;
use crate::graphql::types::text;
use futures::StreamExt;
use futures::stream::BoxStream;

/// Gives every error a code, over HTTP and in every response of a subscription alike. Errors
/// async-graphql raises itself (syntax, unknown fields, wrong types, unknown enum values,
/// exceeded limits, arguments that do not coerce) describe the request: `BAD_USER_INPUT`.
/// Resolver errors carry their code from `AppError`; one without a code escaped that
/// conversion, so it is reported as `INTERNAL` without its text. Text over its limit
/// (`types::text::Text`) is named by its field, as the client spelt it (`input.content`).
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesOfRequest::default())
    }
}

/// [`ErrorCodes`] for one request: keeps the query and variables to name the field of text
/// that is too long (async-graphql reports only the argument's position).
#[derive(Default)]
struct ErrorCodesOfRequest {
    request: Mutex<Option<(String, Variables)>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesOfRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Ok(mut request) = self.request.lock() {
            *request = Some((query.to_owned(), variables.clone()));
        }
        next.run(ctx, query, variables).await
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        self.name_long_text(&mut response);
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

impl ErrorCodesOfRequest {
    /// Gives text-limit errors the field and a message in `AppError`'s words.
    fn name_long_text(&self, response: &mut Response) {
        let is_text_error = |e: &ServerError| {
            e.extensions
                .as_ref()
                .is_some_and(|x| x.get(text::MAX_LENGTH_EXTENSION).is_some())
        };
        if !response.errors.iter().any(is_text_error) {
            return;
        }
        let Ok(request) = self.request.lock() else {
            return;
        };
        let Some((query, variables)) = request.as_ref() else {
            return;
        };
        let Ok(document) = async_graphql::parser::parse_query(query) else {
            return;
        };
        for error in response.errors.iter_mut().filter(|e| is_text_error(e)) {
            let Some(extensions) = error.extensions.as_mut() else {
                continue;
            };
            let number = |name: &str| match extensions.get(name) {
                Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
                _ => None,
            };
            let (Some(max), Some(length), Some(pos)) = (
                number(text::MAX_LENGTH_EXTENSION),
                number(text::LENGTH_EXTENSION),
                error.locations.first().copied(),
            ) else {
                continue;
            };
            let field = long_text_field(&document, variables, pos, max, length);
            let problem = free_text::too_long(length, max);
            match field {
                Some(field) => {
                    error.message = format!("{field}: {problem}");
                    extensions.set("field", Value::from(field));
                }
                None => error.message = problem,
            }
            extensions.unset(text::LENGTH_EXTENSION);
        }
    }
}

/// The path (`input.content`, `inputs[2].displayName`, `item`) of the text `length` characters
/// long in the argument whose value starts at `pos`.
fn long_text_field(
    document: &ExecutableDocument,
    variables: &Variables,
    pos: Pos,
    max: usize,
    length: usize,
) -> Option<String> {
    let mut sets: Vec<&SelectionSet> = Vec::new();
    for (_, operation) in document.operations.iter() {
        sets.push(&operation.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        sets.push(&fragment.node.selection_set.node);
    }
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        if value.pos != pos {
                            continue;
                        }
                        let value = value
                            .node
                            .clone()
                            .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
                            .ok()?;
                        return find_long_text(&value, name.node.to_string(), max, length);
                    }
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    sets.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    None
}

fn find_long_text(value: &Value, path: String, max: usize, length: usize) -> Option<String> {
    match value {
        Value::String(s) => {
            let found = free_text::length(&free_text::clean(s).text);
            (found == length && found > max).then_some(path)
        }
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_long_text(v, format!("{path}[{i}]"), max, length)),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| find_long_text(v, format!("{path}.{k}"), max, length)),
        _ => None,
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

/// Keeps the schema's promise that a non-null field is never null. async-graphql leaves a
/// field that failed out of its object (and turns an object all of whose fields failed into
/// `null`, which is how `RecordMessagePayload.session` came back null). This applies the
/// GraphQL rule instead: the error's field becomes null, and if its type is non-null, the null
/// moves up to the nearest field that may be null (or to `data`).
pub struct NonNullFields;

impl ExtensionFactory for NonNullFields {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NonNullFieldsOfRequest::default())
    }
}

#[derive(Default)]
struct NonNullFieldsOfRequest {
    /// The query text and the operation's name.
    request: Mutex<(Option<String>, Option<String>)>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for NonNullFieldsOfRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Ok(mut request) = self.request.lock() {
            request.0 = Some(query.to_owned());
        }
        next.run(ctx, query, variables).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Ok(mut request) = self.request.lock() {
            request.1 = operation_name.map(str::to_owned);
        }
        let mut response = next.run(ctx, operation_name).await;
        if response.errors.iter().any(|e| !e.path.is_empty()) {
            let request = self.request.lock().map(|r| r.clone()).unwrap_or_default();
            if let (Some(query), operation) = request {
                propagate_nulls(
                    &ctx.schema_env.registry,
                    &query,
                    operation.as_deref(),
                    &mut response,
                );
            }
        }
        response
    }
}

/// Nulls each failed field, then its ancestors up to the nearest nullable one.
fn propagate_nulls(
    registry: &Registry,
    query: &str,
    operation: Option<&str>,
    response: &mut Response,
) {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let Some(op) = shape::operation(&document, operation) else {
        return;
    };
    let Some(root) = shape::root_type(registry, op.ty) else {
        return;
    };
    let paths: Vec<Vec<PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    for path in paths {
        // Whether the value at each prefix of the path may be null.
        let mut nullable = Vec::with_capacity(path.len());
        let mut sets = vec![&op.selection_set.node];
        let mut ty = root.to_owned();
        for segment in &path {
            match segment {
                PathSegment::Field(key) => {
                    let fields: Vec<_> = shape::selected_fields(&document, &sets)
                        .into_iter()
                        .filter(|f| f.response_key().node.as_str() == key.as_str())
                        .collect();
                    let Some(name) = fields.first().map(|f| f.name.node.as_str()) else {
                        break;
                    };
                    let Some(field_ty) = shape::field_type(registry, shape::named_type(&ty), name)
                    else {
                        break;
                    };
                    ty = field_ty.to_owned();
                    sets = fields.iter().map(|f| &f.selection_set.node).collect();
                }
                PathSegment::Index(_) => {
                    let Some(item) = shape::list_item(&ty) else {
                        break;
                    };
                    ty = item.to_owned();
                }
            }
            nullable.push(!shape::is_non_null(&ty));
        }
        if nullable.len() != path.len() {
            // A path this walk cannot follow (an abstract type): leave it as it is.
            continue;
        }
        match nullable.iter().rposition(|n| *n) {
            Some(at) => set_null(&mut response.data, &path[..=at]),
            None => response.data = Value::Null,
        }
    }
}

/// Sets the value at `path` to null, when its parent is still there.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut value = data;
    for segment in parents {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match (last, value) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(async_graphql::Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(v) = items.get_mut(*i) {
                *v = Value::Null;
            }
        }
        _ => {}
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
