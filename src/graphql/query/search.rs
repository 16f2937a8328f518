//! Full-text search over the tenant's messages, summaries and notes.

use crate::graphql::types::text::{self, SHORT, Text, VALUE};
use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::search::{SearchFilter, SearchHitConnection};
use crate::services::search::{self, SearchRequest};

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Finds messages, summaries and notes, best first. The query takes words (a record must
    /// have them all; when none has, records with any of them come back and `relaxed` says
    /// so), `"quoted phrases"`, `OR` between alternatives and `-word` to exclude. English
    /// words match their other forms (balcony, balconies); Hebrew ignores vowel points and
    /// finds a word behind its prefix letters (דירה finds והדירה). Other punctuation is
    /// ignored. At most 1000 characters; pages hold at most 50 hits and reach the first 1000.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to look for; at most 1000 characters.")] query: Text<VALUE>,
        filter: Option<SearchFilter>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the hit to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
    ) -> Result<SearchHitConnection> {
        let after = text::opt(after);
        let request = SearchRequest {
            query: query.into_string(),
            filter: filter.unwrap_or_default().into_filter()?,
            first,
            after,
        };
        Ok(SearchHitConnection(
            search::search(ctx.state()?, ctx.actor()?, request).await?,
        ))
    }
}
