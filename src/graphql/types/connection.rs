//! Relay connections with documented fields and a `totalCount` computed only when asked for.

use std::sync::Arc;

use async_graphql::SimpleObject;
use futures::future::BoxFuture;

use crate::error::AppResult;
use crate::repo::pagination::Page;

/// Where a page sits in the whole list.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether more rows follow this page (pass `endCursor` as `after`).
    pub has_next_page: bool,
    /// Whether rows precede this page (pass `startCursor` as `before`).
    pub has_previous_page: bool,
    /// The cursor of the first row of this page.
    pub start_cursor: Option<String>,
    /// The cursor of the last row of this page.
    pub end_cursor: Option<String>,
}

/// Counts the rows of a connection, lazily.
pub type TotalCount = Arc<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>;

/// Splits a page into edges (cursor, node) and its page info.
pub fn parts<T, N>(page: Page<T>, node: impl Fn(T) -> N) -> (Vec<(String, N)>, PageInfo) {
    let info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.items.first().map(|(c, _)| c.encode()),
        end_cursor: page.items.last().map(|(c, _)| c.encode()),
    };
    let edges = page
        .items
        .into_iter()
        .map(|(c, t)| (c.encode(), node(t)))
        .collect();
    (edges, info)
}

/// Declares `$conn` and `$edge` types for `$node`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $conn_doc:literal, $edge_doc:literal) => {
        #[doc = $conn_doc]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::types::connection::PageInfo,
            pub total: $crate::graphql::types::connection::TotalCount,
        }

        impl $conn {
            pub fn new(
                page: $crate::repo::pagination::Page<$node>,
                total: $crate::graphql::types::connection::TotalCount,
            ) -> Self {
                let (edges, page_info) =
                    $crate::graphql::types::connection::parts(page, |node| node);
                Self {
                    edges: edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info,
                    total,
                }
            }
        }

        #[doc = $conn_doc]
        #[async_graphql::Object]
        impl $conn {
            /// The rows of this page, each with its cursor.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The rows of this page.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Where this page sits in the whole list.
            async fn page_info(&self) -> &$crate::graphql::types::connection::PageInfo {
                &self.page_info
            }

            /// How many rows the whole list has (one extra query; ask only when needed).
            async fn total_count(&self) -> async_graphql::Result<i64> {
                let count = (self.total)().await?;
                Ok(i64::try_from(count).unwrap_or(i64::MAX))
            }
        }

        #[doc = $edge_doc]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[doc = $edge_doc]
        #[async_graphql::Object]
        impl $edge {
            /// An opaque position: pass it as `after` or `before` to page from here.
            async fn cursor(&self) -> &str {
                &self.cursor
            }

            /// The row.
            async fn node(&self) -> &$node {
                &self.node
            }
        }
    };
}

pub(crate) use connection;
