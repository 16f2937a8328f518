//! GraphQL subscriptions over WebSockets: `graphql-transport-ws` and the legacy `graphql-ws`.
//!
//! The credential travels in `connection_init` (`{"Authorization": "Bearer …"}` or
//! `{"token": "…"}`, an API key works too). A missing or bad credential closes the socket with
//! 4401, one that may not read with 4403.
//!
//! async-graphql's `WebSocket` speaks both protocols; this module watches the client's messages
//! on their way to it and closes the socket where `graphql-transport-ws` says to, which it does
//! not: no `connection_init` in time (4408), `subscribe` before `connection_init` (4401), a
//! `subscribe` with an id already running (4409), a message that is not one of the protocol's
//! (4400). The legacy protocol gets the first two too; it lets a new operation replace one of
//! the same id, and keeps async-graphql's answers to malformed messages.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use async_graphql::http::{ClientMessage, WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Error};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt, future};
use serde_json::Value;

use super::HttpState;
use crate::auth::Permission;
use crate::graphql::loaders::Loaders;
use crate::services::auth::{self, Credential};
use crate::state::AppState;

pub const CLOSE_INVALID_MESSAGE: u16 = 4400;
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;
pub const CLOSE_FORBIDDEN: u16 = 4403;
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;
pub const CLOSE_DUPLICATE_ID: u16 = 4409;

pub async fn handler(
    State(state): State<HttpState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws (or graphql-ws) subprotocol",
        )
            .into_response();
    };
    // Subscriptions mostly wait: small buffers keep an idle connection cheap (the defaults are
    // 128 KiB each way), and clients only ever send small protocol messages.
    upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, socket, protocol))
}

/// What the client's messages have shown so far, shared between the watch on its messages and
/// the loop that sends async-graphql's.
#[derive(Default)]
struct Connection {
    /// `connection_init` arrived (its credential may still be being checked).
    init_received: bool,
    /// Ids of the operations running, as the client named them.
    running: HashSet<String>,
    /// Why the socket closes, once known: this code goes out whatever async-graphql would send.
    close: Option<(u16, String)>,
}

#[derive(Clone, Default)]
struct SharedConnection(Arc<Mutex<Connection>>);

impl SharedConnection {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets `message` through to async-graphql, or records why the socket must close instead.
    fn admit(
        &self,
        message: &serde_json::Result<ClientMessage>,
        protocol: WebSocketProtocols,
    ) -> bool {
        let transport_ws = protocol == WebSocketProtocols::GraphQLWS;
        let mut connection = self.lock();
        let refusal = match message {
            Ok(ClientMessage::ConnectionInit { .. }) => {
                connection.init_received = true;
                None
            }
            Ok(ClientMessage::Start { .. }) if !connection.init_received => {
                Some((CLOSE_UNAUTHENTICATED, "Unauthorized".to_owned()))
            }
            Ok(ClientMessage::Start { id, .. }) => {
                if connection.running.insert(id.clone()) || !transport_ws {
                    None
                } else {
                    Some((
                        CLOSE_DUPLICATE_ID,
                        format!("Subscriber for {id} already exists"),
                    ))
                }
            }
            Ok(ClientMessage::Stop { id }) => {
                connection.running.remove(id);
                None
            }
            Ok(_) => None,
            Err(_) if transport_ws => {
                Some((CLOSE_INVALID_MESSAGE, "Invalid message received".to_owned()))
            }
            Err(_) => None,
        };
        match refusal {
            Some(close) => {
                connection.close.get_or_insert(close);
                false
            }
            None => true,
        }
    }
}

async fn serve(
    state: HttpState,
    socket: axum::extract::ws::WebSocket,
    protocol: WebSocketProtocols,
) {
    let (mut sink, stream) = socket.split();
    let connection = SharedConnection::default();
    let watch = connection.clone();
    // The client's messages, parsed once here; a message that must close the socket ends the
    // stream, which ends async-graphql's, and the loop below sends the close.
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(ClientMessage::from_bytes(text.as_bytes())),
                Ok(Message::Binary(bytes)) => Some(ClientMessage::from_bytes(&bytes)),
                _ => None,
            })
        })
        .take_while(move |message| future::ready(watch.admit(message, protocol)));
    let app = state.app.clone();
    let refusals = connection.clone();
    let output = WebSocket::from_message_stream(state.schema.clone(), input, protocol)
        .on_connection_init(move |payload| async move {
            match connection_init(&app, payload).await {
                Ok(data) => Ok(data),
                Err((code, message)) => {
                    refusals.lock().close = Some((code, message.clone()));
                    Err(Error::new(message))
                }
            }
        });
    futures::pin_mut!(output);

    let init_deadline = tokio::time::sleep(state.app.settings.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut waiting_for_init = true;
    loop {
        let message = tokio::select! {
            // A connection_init that arrived in time is read before the deadline is looked at.
            biased;
            message = output.next() => message,
            () = &mut init_deadline, if waiting_for_init => {
                waiting_for_init = false;
                if connection.lock().init_received {
                    continue;
                }
                let timeout = (CLOSE_INIT_TIMEOUT, "Connection initialisation timeout".to_owned());
                close(&mut sink, timeout).await;
                return;
            }
        };
        let message = match message {
            Some(WsMessage::Text(text)) => text,
            Some(WsMessage::Close(code, reason)) => {
                // Ours (a refusal, a protocol violation) says more than async-graphql's 1002.
                let ours = connection.lock().close.take();
                close(&mut sink, ours.unwrap_or((code, reason))).await;
                return;
            }
            None => break,
        };
        let message = track_completion(&connection, message);
        if sink.send(Message::Text(message.into())).await.is_err() {
            return;
        }
    }
    // The client went away, or a message of its own ended the connection (the legacy protocol
    // also reports a refused init as a message, then stops): close with the code, if any.
    let ours = connection.lock().close.take();
    if let Some(ours) = ours {
        close(&mut sink, ours).await;
    }
}

/// Forgets an operation async-graphql reports complete (so its id may be used again), and
/// gives the legacy protocol's `connection_error` the code the same error has over HTTP.
fn track_completion(connection: &SharedConnection, text: String) -> String {
    // async-graphql writes the type first: only these messages need a look inside.
    if text.starts_with(r#"{"type":"complete""#) {
        if let Ok(message) = serde_json::from_str::<Value>(&text)
            && let Some(id) = message["id"].as_str()
        {
            connection.lock().running.remove(id);
        }
        return text;
    }
    if text.starts_with(r#"{"type":"connection_error""#) {
        let connection = connection.lock();
        if let Some((close_code, message)) = &connection.close {
            let code = match *close_code {
                CLOSE_FORBIDDEN => "FORBIDDEN",
                _ => "UNAUTHENTICATED",
            };
            return serde_json::json!({
                "type": "connection_error",
                "payload": { "message": message, "extensions": { "code": code } },
            })
            .to_string();
        }
    }
    text
}

/// Sends a close frame; its reason is cut to the 123 bytes a frame can carry.
async fn close(
    sink: &mut SplitSink<axum::extract::ws::WebSocket, Message>,
    (code, mut reason): (u16, String),
) {
    if reason.len() > 123 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Authenticates `connection_init`; the error carries the close code.
async fn connection_init(state: &AppState, payload: Value) -> Result<Data, (u16, String)> {
    let token = credential_in(&payload).ok_or((
        CLOSE_UNAUTHENTICATED,
        "send a credential in connection_init: {\"Authorization\": \"Bearer <token>\"}".to_owned(),
    ))?;
    let credential = if crate::auth::api_key::looks_like_api_key(&token) {
        Credential::ApiKey(&token)
    } else {
        Credential::Bearer(&token)
    };
    let actor = auth::authenticate(state, credential)
        .await
        .map_err(|err| (CLOSE_UNAUTHENTICATED, err.client_message()))?
        .ok_or((CLOSE_UNAUTHENTICATED, "no credential".to_owned()))?;
    if !actor.can(Permission::Read) {
        return Err((
            CLOSE_FORBIDDEN,
            "this credential may not read events (needs read access)".to_owned(),
        ));
    }
    let mut data = Data::default();
    data.insert(Loaders::new(&state.db, actor.tenant_id));
    data.insert(actor);
    Ok(data)
}

/// The credential in a `connection_init` payload, in the shapes clients commonly send.
fn credential_in(payload: &Value) -> Option<String> {
    let candidates = [
        payload.get("Authorization"),
        payload.get("authorization"),
        payload.get("headers").and_then(|h| h.get("Authorization")),
        payload.get("headers").and_then(|h| h.get("authorization")),
        payload.get("token"),
        payload.get("apiKey"),
    ];
    candidates.into_iter().flatten().find_map(|v| {
        let text = v.as_str()?.trim();
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .unwrap_or(text)
            .trim();
        (!token.is_empty()).then(|| token.to_owned())
    })
}
