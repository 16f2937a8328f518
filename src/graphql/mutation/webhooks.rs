//! Managing outbound webhook endpoints (admins).

use crate::graphql::types::text::{self, SHORT, Text, VALUE};
use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::webhook::{WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret};
use crate::services::outbound::{self, DeliveryDetail, EndpointInput};

#[derive(Default)]
pub struct WebhookMutation;

/// A new webhook endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `https://…` (plain `http` outside production). Private, loopback, link-local and cloud
    /// metadata addresses are refused. At most 1000 characters.
    pub url: Text<VALUE>,
    /// Event types to send, e.g. `["lead.updated", "summary.created", "lead.erased"]`; each
    /// at most 200 characters.
    pub event_types: Vec<Text<SHORT>>,
    /// What the endpoint is for; at most 1000 characters.
    pub description: Option<Text<VALUE>>,
}

/// Changes to an endpoint; what is left out stays.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// A new receiver URL (same rules as on creation); at most 1000 characters.
    pub url: Option<Text<VALUE>>,
    /// The event types to send from now on; each at most 200 characters.
    pub event_types: Option<Vec<Text<SHORT>>>,
    /// What the endpoint is for; at most 1000 characters.
    pub description: Option<Text<VALUE>>,
    /// `true` re-enables a disabled endpoint (and clears why it was disabled).
    pub enabled: Option<bool>,
}

#[Object]
impl WebhookMutation {
    /// Registers an endpoint for the events committed from now on; returns its signing secret
    /// once. Admins only.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret> {
        let input = EndpointInput {
            url: Some(input.url.into_string()),
            event_types: Some(
                input
                    .event_types
                    .into_iter()
                    .map(Text::into_string)
                    .collect(),
            ),
            description: text::opt(input.description),
            enabled: None,
        };
        let (endpoint, secret) = outbound::create(ctx.state()?, ctx.actor()?, input).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Changes an endpoint. Admins only.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpoint> {
        let id = parse_id(&id, "id")?;
        let input = EndpointInput {
            url: text::opt(input.url),
            event_types: input
                .event_types
                .map(|types| types.into_iter().map(Text::into_string).collect()),
            description: text::opt(input.description),
            enabled: input.enabled,
        };
        let endpoint = outbound::update(ctx.state()?, ctx.actor()?, id, input).await?;
        Ok(WebhookEndpoint(endpoint))
    }

    /// A new signing secret, returned once; the old one keeps signing beside it for 24 hours
    /// so receivers can switch without losing events. Admins only.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointWithSecret> {
        let id = parse_id(&id, "id")?;
        let (endpoint, secret) = outbound::rotate_secret(ctx.state()?, ctx.actor()?, id).await?;
        Ok(WebhookEndpointWithSecret {
            endpoint: WebhookEndpoint(endpoint),
            secret,
        })
    }

    /// Deletes an endpoint with its deliveries. Admins only.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id(&id, "id")?;
        outbound::delete(ctx.state()?, ctx.actor()?, id).await?;
        Ok(true)
    }

    /// Sends a delivery again now, with the same `webhook-id`. Admins only.
    async fn replay_webhook_delivery(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let id = parse_id(&id, "id")?;
        let delivery = outbound::replay(ctx.state()?, ctx.actor()?, id).await?;
        Ok(WebhookDelivery(DeliveryDetail {
            delivery,
            attempts: Vec::new(),
        }))
    }
}
