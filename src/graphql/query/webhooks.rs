//! Outbound webhook endpoints and their deliveries (admins).

use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::webhook::{WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint};
use crate::services::outbound;

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The tenant's webhook endpoints, oldest first. Admins only.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        let endpoints = outbound::list(ctx.state()?, ctx.actor()?).await?;
        Ok(endpoints.into_iter().map(WebhookEndpoint).collect())
    }

    /// An endpoint's deliveries, newest first, with every attempt. Pass the last delivery's
    /// `id` as `after` for the next page (`first`: 1–100, default 20). Admins only.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<WebhookDelivery>> {
        let endpoint_id = parse_id(&endpoint_id, "endpointId")?;
        let after = after.map(|a| parse_id(&a, "after")).transpose()?;
        let first = u64::try_from(first.unwrap_or(20))
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AppError::bad_input("first", "must be between 1 and 100"))?;
        let rows = outbound::deliveries(
            ctx.state()?,
            ctx.actor()?,
            endpoint_id,
            status.map(WebhookDeliveryStatus::as_str),
            first,
            after,
        )
        .await?;
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
}
