//! A small OpenAI-compatible server on 127.0.0.1 whose answers each test scripts.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use memodesk::config::ResponseFormat;
use memodesk::llm::SharedLanguageModel;
use memodesk::llm::openai::{OpenAiCompatible, OpenAiConfig};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A chat completion whose message content is this JSON (serialized).
    Summary(Value),
    /// A chat completion whose message content is this raw text.
    Content(String),
    /// An error status, with an optional Retry-After header.
    Status(u16, Option<&'static str>),
    /// Wait this long, then answer with a good summary.
    Slow(Duration),
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

pub struct FakeLlm {
    pub addr: SocketAddr,
    shared: Shared,
}

/// A summary answer in the shape the prompt asks for.
pub fn good_summary(facts: Value) -> Value {
    json!({
        "summary": "The customer asked about flights to Rome.\nThe agent quoted $420.\nThe customer will decide tomorrow.\nNo booking yet.\nFollow up tomorrow.",
        "key_points": ["flights to Rome", "$420 quoted"],
        "facts": facts,
        "intents": ["pricing", "product_inquiry"],
        "sentiment": "positive",
        "language": "en",
        "next_step": "Call back tomorrow",
    })
}

impl FakeLlm {
    pub async fn start(script: Vec<Reply>) -> Self {
        let shared = Shared {
            script: Arc::new(Mutex::new(script.into())),
            requests: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared }
    }

    /// The client memodesk would build from settings, pointed here.
    pub fn client(&self, timeout: Duration, max_retries: u32) -> SharedLanguageModel {
        Arc::new(
            OpenAiCompatible::new(OpenAiConfig {
                base_url: format!("http://{}/v1", self.addr),
                api_key: Some(memodesk::config::Secret::new("sk-test")),
                model: "fake-model".into(),
                timeout,
                max_retries,
                response_format: ResponseFormat::JsonSchema,
            })
            .expect("client"),
        )
    }

    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }
}

fn completion(content: String) -> Response {
    Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "fake-model-2026",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375 },
    }))
    .into_response()
}

async fn handle(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut recorded = body.clone();
    recorded["authorization"] = json!(headers.get("authorization").and_then(|v| v.to_str().ok()));
    shared.requests.lock().unwrap().push(recorded);
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Summary(good_summary(json!([]))));
    match reply {
        Reply::Summary(value) => completion(value.to_string()),
        Reply::Content(text) => completion(text),
        Reply::Status(code, retry_after) => {
            let mut response = (
                StatusCode::from_u16(code).unwrap(),
                Json(json!({ "error": { "message": "scripted" } })),
            )
                .into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", value.parse().unwrap());
            }
            response
        }
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            completion(good_summary(json!([])).to_string())
        }
    }
}
