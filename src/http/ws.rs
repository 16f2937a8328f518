//! GraphQL subscriptions over WebSockets: `graphql-transport-ws` and the legacy `graphql-ws`.
//!
//! The credential travels in `connection_init` (`{"Authorization": "Bearer …"}` or
//! `{"token": "…"}`, an API key works too). A missing or bad credential closes the socket with
//! 4401, one that may not read with 4403.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Error};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt, future};
use serde_json::Value;

use super::HttpState;
use crate::auth::Permission;
use crate::graphql::loaders::Loaders;
use crate::services::auth::{self, Credential};
use crate::state::AppState;

pub const CLOSE_UNAUTHENTICATED: u16 = 4401;
pub const CLOSE_FORBIDDEN: u16 = 4403;

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

async fn serve(
    state: HttpState,
    socket: axum::extract::ws::WebSocket,
    protocol: WebSocketProtocols,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    // Why connection_init was refused, so the socket closes with the right code whatever the
    // protocol does with the error.
    let refusal: Arc<Mutex<Option<(u16, String)>>> = Arc::default();
    let app = state.app.clone();
    let refused = refusal.clone();
    let output = WebSocket::new(state.schema.clone(), input, protocol)
        .on_connection_init(move |payload| async move {
            match connection_init(&app, payload).await {
                Ok(data) => Ok(data),
                Err((code, message)) => {
                    *refused.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((code, message.clone()));
                    Err(Error::new(message))
                }
            }
        })
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        });
    futures::pin_mut!(output);
    while let Some(message) = output.next().await {
        let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let message = match (&message, refused) {
            // graphql-transport-ws closes a refused init with 1002: say why precisely.
            (Message::Close(_), Some((code, reason))) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
            _ => message,
        };
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            return;
        }
    }
    // The legacy protocol reports a refused init as a message and then stops: close with the code.
    let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some((code, reason)) = refused {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
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
