//! What a document may cost, counted before it runs: every field costs 1, and a field with a
//! page size (`first`/`last`: connections and lists) multiplies what it selects by that size
//! (the default page when none is given, at most the largest page). The count bounds the
//! values a response can hold, so one request cannot make the server build a huge answer.
//! A document over the limit is refused with BAD_USER_INPUT and a message that names its
//! costliest parts (their paths and costs).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Field, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ServerError, ServerResult, Value, Variables};

use crate::graphql::shape;
use crate::repo::pagination::DEFAULT_PAGE_SIZE;

/// Refuses documents that cost more than `limit` (see the module).
pub struct CostLimit {
    pub limit: u64,
    /// The largest page a request may ask for (`max_page_size`).
    pub max_page: u64,
}

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostLimit {
            limit: self.limit,
            max_page: self.max_page,
        })
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for CostLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let counter = Counter {
            registry: &ctx.schema_env.registry,
            document: &document,
            variables,
            max_page: self.max_page,
        };
        for (_, operation) in document.operations.iter() {
            let Some(root) = shape::root_type(counter.registry, operation.node.ty) else {
                continue;
            };
            let parts = counter.parts(root, &operation.node.selection_set.node, "", 0);
            let total: u64 = parts.iter().map(|p| p.cost).fold(0, u64::saturating_add);
            if total > self.limit {
                return Err(refusal(total, self.limit, parts));
            }
        }
        Ok(document)
    }
}

/// The cost of one selected field and what it selects.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The field's path by response key (`a0.nodes.sessions`).
    pub path: String,
    /// Its page size, when it has one.
    pub page: Option<u64>,
    pub cost: u64,
    /// The costliest field it selects.
    pub costliest_child: Option<Box<Part>>,
}

struct Counter<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    max_page: u64,
}

/// Fragments nest at most this deep in a count (cycles are refused by validation later).
const MAX_NESTING: usize = 64;

impl Counter<'_> {
    fn parts(&self, type_name: &str, set: &SelectionSet, path: &str, depth: usize) -> Vec<Part> {
        if depth > MAX_NESTING {
            return Vec::new();
        }
        shape::selected_fields(self.document, &[set])
            .into_iter()
            .map(|field| self.part(type_name, field, path, depth))
            .collect()
    }

    fn part(&self, type_name: &str, field: &Field, path: &str, depth: usize) -> Part {
        let name = field.name.node.as_str();
        let key = field.response_key().node.as_str();
        let path = if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        };
        let meta = self
            .registry
            .types
            .get(type_name)
            .and_then(|t| t.field_by_name(name));
        let page = meta.and_then(|meta| {
            let has_page = meta.args.contains_key("first") || meta.args.contains_key("last");
            has_page.then(|| self.page_size(field, meta))
        });
        let children = match meta {
            Some(meta) => self.parts(
                shape::named_type(&meta.ty),
                &field.selection_set.node,
                &path,
                depth + 1,
            ),
            None => Vec::new(),
        };
        let inner: u64 = children.iter().map(|p| p.cost).fold(0, u64::saturating_add);
        let cost = inner.saturating_mul(page.unwrap_or(1)).saturating_add(1);
        let costliest_child = children
            .into_iter()
            .max_by_key(|p| p.cost)
            .filter(|p| p.cost > 1)
            .map(Box::new);
        Part {
            path,
            page,
            cost,
            costliest_child,
        }
    }

    /// The page `field` asks for: `first` or `last` (the larger when both), else the
    /// argument's default, else the default page; never more than the largest page.
    fn page_size(&self, field: &Field, meta: &async_graphql::registry::MetaField) -> u64 {
        let mut asked: Option<u64> = None;
        for arg in ["first", "last"] {
            let value = field.get_argument(arg).map(|v| {
                v.node
                    .clone()
                    .into_const_with(|var| self.variables.get(&var).cloned().ok_or(()))
                    .unwrap_or(Value::Null)
            });
            let value = value.or_else(|| {
                meta.args
                    .get(arg)
                    .and_then(|a| a.default_value.as_deref())
                    .and_then(|d| d.parse::<u64>().ok())
                    .map(Value::from)
            });
            if let Some(Value::Number(n)) = value {
                let n = n.as_u64().unwrap_or(0);
                asked = Some(asked.map_or(n, |a| a.max(n)));
            }
        }
        asked.unwrap_or(DEFAULT_PAGE_SIZE as u64).min(self.max_page)
    }
}

/// The costliest path under `part`, with each step's page size: `a0 (first 100) →
/// a0.nodes → a0.nodes.sessions (first 100)`.
fn costliest_path(part: &Part) -> String {
    let mut steps = Vec::new();
    let mut at = Some(part);
    while let Some(p) = at {
        steps.push(match p.page {
            Some(page) => format!("`{}` (page of {page}) costs {}", p.path, p.cost),
            None => format!("`{}` costs {}", p.path, p.cost),
        });
        at = p.costliest_child.as_deref();
    }
    steps.join(", of which ")
}

fn refusal(total: u64, limit: u64, mut parts: Vec<Part>) -> ServerError {
    parts.sort_by_key(|p| std::cmp::Reverse(p.cost));
    let top: Vec<String> = parts
        .iter()
        .take(3)
        .map(|p| format!("`{}` costs {}", p.path, p.cost))
        .collect();
    let detail = parts.first().map(costliest_path).unwrap_or_default();
    let mut err = ServerError::new(
        format!(
            "the query costs {total}, over the limit of {limit} (each field costs 1, and a page \
             multiplies what it selects by its size); costliest: {}. Largest part: {detail}. \
             Ask for smaller pages or fewer fields",
            top.join(", ")
        ),
        None,
    );
    let extensions = err.extensions.get_or_insert_with(Default::default);
    extensions.set("code", Value::from("BAD_USER_INPUT"));
    extensions.set("cost", Value::from(total));
    extensions.set("limit", Value::from(limit));
    extensions.set(
        "costliest",
        Value::List(
            parts
                .iter()
                .take(3)
                .map(|p| {
                    Value::from_json(serde_json::json!({ "path": p.path, "cost": p.cost }))
                        .unwrap_or(Value::Null)
                })
                .collect(),
        ),
    );
    err
}

/// The cost of `query` against `schema`'s types (for tests and tools).
pub fn cost_of(registry: &Registry, query: &str, variables: &Variables, max_page: u64) -> u64 {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return 0;
    };
    let counter = Counter {
        registry,
        document: &document,
        variables,
        max_page,
    };
    document
        .operations
        .iter()
        .filter_map(|(_, op)| {
            let root = shape::root_type(registry, op.node.ty)?;
            Some(
                counter
                    .parts(root, &op.node.selection_set.node, "", 0)
                    .iter()
                    .map(|p| p.cost)
                    .fold(0, u64::saturating_add),
            )
        })
        .max()
        .unwrap_or(0)
}
