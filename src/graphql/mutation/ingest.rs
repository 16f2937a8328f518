//! Recording messages: `recordMessage` (with the memory context in the same round trip) and
//! `recordMessages`.

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};

use crate::error::AppError;
use crate::graphql::context::{ContextExt, parse_time};
use crate::graphql::types::enums::{ChannelGql, MessageRoleGql};
use crate::graphql::types::lead::Lead;
use crate::graphql::types::memory::MemoryContext;
use crate::graphql::types::message::Message;
use crate::graphql::types::session::Session;
use crate::graphql::types::text::{self, CONTENT, SHORT, Text};
use crate::services::ingest::{MessageInput, Recorded};
use crate::services::memory::{self, ContextRequest};

#[derive(Default)]
pub struct IngestMutation;

/// The service names fields of the batch it was given (`inputs[0]`); after unreadable inputs
/// were taken out, put the caller's index back.
fn reindex(err: AppError, index: usize) -> AppError {
    match err {
        AppError::BadInput { field, message } => {
            let field = match field.split_once("].") {
                Some((_, rest)) if field.starts_with("inputs[") => {
                    format!("inputs[{index}].{rest}")
                }
                _ => field,
            };
            AppError::BadInput { field, message }
        }
        other => other,
    }
}

/// A message to record. Identify the customer with `externalUserId`, `phone` and/or `email`:
/// the same person on several channels becomes one lead.
#[derive(InputObject, Clone, Debug)]
pub struct RecordMessageInput {
    /// Where the message was said.
    pub channel: ChannelGql,
    /// The customer's id on the channel (WhatsApp id, web visitor id, caller id); at most 200
    /// characters.
    pub external_user_id: Option<Text<SHORT>>,
    /// The customer's phone number, any format; at most 200 characters.
    pub phone: Option<Text<SHORT>>,
    /// The customer's email address; at most 200 characters.
    pub email: Option<Text<SHORT>>,
    /// The name the channel shows for the customer (a CHANNEL-source proposal for `name`); at
    /// most 200 characters.
    pub display_name: Option<Text<SHORT>>,
    /// Who said it (default CUSTOMER).
    #[graphql(default_with = "MessageRoleGql::Customer")]
    pub role: MessageRoleGql,
    /// What was said: 1 to 8000 characters after trimming.
    pub content: Text<CONTENT>,
    /// The provider's message id: sending the same id again on the same channel records
    /// nothing and returns the first result. At most 200 characters.
    pub external_id: Option<Text<SHORT>>,
    /// When it was said, RFC 3339 (e.g. `2026-11-20T21:30:00Z`); historical imports keep
    /// their times. Now when omitted. At most 200 characters.
    pub occurred_at: Option<Text<SHORT>>,
    /// A call id or similar: messages with the same ref form one session; at most 200
    /// characters.
    pub session_ref: Option<Text<SHORT>>,
    /// The conversation ended with this message (e.g. the caller hung up): its session closes,
    /// as CALL_ENDED on a call and as MANUAL elsewhere.
    #[graphql(default = false)]
    pub ends_session: bool,
    /// Channel-specific raw data kept with the message (a JSON object up to 64 KiB). Control
    /// characters are removed from its keys and strings, as from all text.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl RecordMessageInput {
    /// The service's input; `prefix` names this input in errors (`input`, `inputs[3]`).
    fn into_service(self, prefix: &str) -> Result<MessageInput, AppError> {
        let i = self;
        let text_cleaned = [
            &i.external_user_id,
            &i.phone,
            &i.email,
            &i.display_name,
            &i.external_id,
            &i.session_ref,
        ]
        .into_iter()
        .flatten()
        .any(|t| t.was_cleaned())
            || i.content.was_cleaned();
        let occurred_at = i
            .occurred_at
            .as_deref()
            .map(|t| parse_time(t, &format!("{prefix}.occurredAt")))
            .transpose()?;
        Ok(MessageInput {
            channel: Some(i.channel.into()),
            external_user_id: text::opt(i.external_user_id),
            phone: text::opt(i.phone),
            email: text::opt(i.email),
            display_name: text::opt(i.display_name),
            role: Some(i.role.into()),
            content: i.content.into_string(),
            external_id: text::opt(i.external_id),
            occurred_at,
            session_ref: text::opt(i.session_ref),
            metadata: i.metadata.map(|m| m.0),
            ends_session: i.ends_session,
            text_cleaned,
        })
    }
}

/// What recording a message did.
pub struct RecordMessagePayload {
    recorded: Recorded,
    context: Option<MemoryContext>,
}

/// What recording a message did.
#[Object]
impl RecordMessagePayload {
    /// The recorded message (or the first one, for a repeated `externalId`).
    async fn message(&self) -> Message {
        Message::from(self.recorded.message.clone())
    }

    /// The session the message belongs to.
    async fn session(&self) -> Session {
        Session((*self.recorded.session).clone())
    }

    /// The customer.
    async fn lead(&self) -> Lead {
        Lead((*self.recorded.lead).clone())
    }

    /// This message created the lead (first contact).
    async fn lead_created(&self) -> bool {
        self.recorded.lead_created
    }

    /// This message opened a new session.
    async fn session_created(&self) -> bool {
        self.recorded.session_created
    }

    /// The `externalId` was already recorded: nothing was written.
    async fn duplicate(&self) -> bool {
        self.recorded.duplicate
    }

    /// The memory context after this message, when asked for with `withContext: true`.
    async fn context(&self) -> Option<&MemoryContext> {
        self.context.as_ref()
    }
}

/// The outcome of one message of a batch.
#[derive(SimpleObject)]
pub struct RecordMessageResult {
    /// Position of the message in `inputs`.
    pub index: i32,
    /// What recording it did, when it succeeded.
    pub result: Option<RecordMessagePayload>,
    /// Why it failed, when it did.
    pub error: Option<InputError>,
}

/// Why one message of a batch was not recorded.
#[derive(SimpleObject)]
pub struct InputError {
    /// BAD_USER_INPUT, CONFLICT, INTERNAL…
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The offending field, e.g. `inputs[3].content`.
    pub field: Option<String>,
}

/// What recording a batch did.
#[derive(SimpleObject)]
pub struct RecordMessagesPayload {
    /// One result per input, in order.
    pub results: Vec<RecordMessageResult>,
    /// Messages written.
    pub recorded: i32,
    /// Messages already recorded before (repeated `externalId`).
    pub duplicates: i32,
    /// Messages refused.
    pub failed: i32,
}

#[Object]
impl IngestMutation {
    /// Records one message; with `withContext: true` also returns the memory context, so a bot
    /// needs one round trip per turn.
    async fn record_message(
        &self,
        ctx: &Context<'_>,
        input: RecordMessageInput,
        #[graphql(default = false)] with_context: bool,
        #[graphql(desc = "The context's language (e.g. `he`); at most 200 characters.")]
        locale: Option<Text<SHORT>>,
    ) -> Result<RecordMessagePayload> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let recorded = ctx
            .ingest()?
            .record(actor, input.into_service("input")?)
            .await?;
        let context = if with_context {
            let request = ContextRequest {
                lead_id: Some(recorded.lead.id),
                phone: None,
                channel: Some(recorded.session.channel),
                locale: text::opt(locale),
                relevant: None,
            };
            Some(MemoryContext(memory::context(state, actor, request).await?))
        } else {
            None
        };
        Ok(RecordMessagePayload { recorded, context })
    }

    /// Records up to 500 messages in one transaction (e.g. a history import). Each message gets
    /// its own result; an invalid one does not stop the others.
    async fn record_messages(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<RecordMessageInput>,
    ) -> Result<RecordMessagesPayload> {
        // Inputs that cannot even be read fail alone; the rest go through in one transaction.
        let mut outcomes: Vec<Option<Result<Recorded, AppError>>> =
            Vec::with_capacity(inputs.len());
        let mut readable = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            match input.into_service(&format!("inputs[{index}]")) {
                Ok(input) => {
                    outcomes.push(None);
                    readable.push((index, input));
                }
                Err(err) => outcomes.push(Some(Err(err))),
            }
        }
        let (indexes, inputs): (Vec<usize>, Vec<MessageInput>) = readable.into_iter().unzip();
        let recorded = ctx.ingest()?.record_many(ctx.actor()?, inputs).await?;
        for (index, result) in indexes.into_iter().zip(recorded) {
            outcomes[index] = Some(result.map_err(|err| reindex(err, index)));
        }
        let outcomes = outcomes.into_iter().map(|o| {
            o.unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("message skipped"))))
        });
        let (mut recorded, mut duplicates, mut failed) = (0, 0, 0);
        let results = outcomes
            .into_iter()
            .enumerate()
            .map(|(index, outcome)| {
                let index = i32::try_from(index).unwrap_or(i32::MAX);
                match outcome {
                    Ok(r) => {
                        if r.duplicate {
                            duplicates += 1;
                        } else {
                            recorded += 1;
                        }
                        RecordMessageResult {
                            index,
                            result: Some(RecordMessagePayload {
                                recorded: r,
                                context: None,
                            }),
                            error: None,
                        }
                    }
                    Err(err) => {
                        failed += 1;
                        if let AppError::Internal(_) = &err {
                            tracing::error!(error = err.describe(), "batch item failed");
                        }
                        RecordMessageResult {
                            index,
                            result: None,
                            error: Some(InputError {
                                code: err.code().to_owned(),
                                message: err.client_message(),
                                field: match &err {
                                    AppError::BadInput { field, .. } => Some(field.clone()),
                                    _ => None,
                                },
                            }),
                        }
                    }
                }
            })
            .collect();
        Ok(RecordMessagesPayload {
            results,
            recorded,
            duplicates,
            failed,
        })
    }
}
