//! The GraphQL API: schema, thin resolvers over `services`, DataLoaders, limits.

pub mod context;
pub mod cost;
pub mod extensions;
pub mod guards;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod shape;
pub mod subscription;
pub mod types;

use async_graphql::{Schema, SchemaBuilder};

use crate::config::Settings;
use crate::services::ingest::Ingest;
use crate::state::AppState;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema with its limits; callers add data (`AppState`) and build.
pub fn schema_builder(
    settings: &Settings,
) -> SchemaBuilder<query::Query, mutation::Mutation, subscription::Subscription> {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        subscription::Subscription,
    )
    .limit_recursive_depth(32)
    .extension(extensions::ErrorCodes)
    .extension(extensions::NonNullFields)
    .extension(guards::ReadScope)
    .extension(cost::CostLimit {
        limit: settings.graphql_max_complexity as u64,
        max_page: settings.max_page_size as u64,
    })
    .extension(extensions::DepthLimit(settings.graphql_max_depth))
    .extension(extensions::AliasLimit(settings.graphql_max_aliases))
}

/// The schema serving requests.
pub fn build_schema(state: AppState, ingest: Ingest) -> AppSchema {
    schema_builder(&state.settings.clone())
        .data(state)
        .data(ingest)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Settings::default()).finish().sdl()
}
