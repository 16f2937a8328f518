//! A small OpenAI-compatible `/v1/embeddings` server on 127.0.0.1, and tiny model2vec-format
//! models the tests build: both embed words by the concept they belong to, so "terrace" is
//! close to "balcony" and far from "parking".

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use memodesk::config::Secret;
use memodesk::llm::embeddings::{
    OpenAiEmbedder, OpenAiEmbedderConfig, SharedEmbedder, StaticModelEmbedder, write_static_model,
};
use serde_json::{Value, json};

/// Words that mean much the same thing, one group per dimension.
pub const CONCEPTS: &[&[&str]] = &[
    &["balcony", "terrace", "porch", "veranda", "מרפסת"],
    &["price", "cost", "budget", "expensive", "cheap", "מחיר"],
    &["flight", "trip", "plane", "vacation", "טיסה"],
    &["parking", "garage", "car", "חניה"],
];

fn concept_vector(word: &str, tilt: f32) -> Option<Vec<f32>> {
    let dims = CONCEPTS.len() + 1;
    let at = CONCEPTS.iter().position(|group| group.contains(&word))?;
    let mut v = vec![0.0; dims];
    v[at] = 1.0;
    v[dims - 1] = tilt;
    Some(v)
}

/// Writes a model2vec-format model of [`CONCEPTS`] to `dir`; a different `tilt` makes a
/// different model (other weights, other model id) with the same meaning.
pub fn write_concept_model(dir: &Path, tilt: f32) {
    let vocab: Vec<(String, Vec<f32>)> = CONCEPTS
        .iter()
        .flat_map(|group| group.iter())
        .map(|w| ((*w).to_owned(), concept_vector(w, tilt).unwrap()))
        .collect();
    write_static_model(dir, &vocab).expect("model written");
}

/// A concept model loaded the way `MEMODESK_EMBEDDINGS_MODEL_DIR` loads one.
pub fn concept_model(dir: &Path, tilt: f32) -> SharedEmbedder {
    write_concept_model(dir, tilt);
    Arc::new(StaticModelEmbedder::load(dir).expect("model loads"))
}

#[derive(Clone, Default)]
struct Shared {
    down: Arc<AtomicBool>,
    slow: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    authorization: Arc<Mutex<Option<String>>>,
}

pub struct FakeEmbeddings {
    pub addr: SocketAddr,
    shared: Shared,
}

impl FakeEmbeddings {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/embeddings", post(handle))
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

    /// The client memodesk builds from `MEMODESK_EMBEDDINGS_*`, pointed here.
    pub fn client(&self) -> SharedEmbedder {
        Arc::new(
            OpenAiEmbedder::new(OpenAiEmbedderConfig {
                base_url: format!("http://{}/v1", self.addr),
                api_key: Some(Secret::new("sk-embed-secret")),
                model: "fake-embed".into(),
                timeout: Duration::from_secs(5),
            })
            .expect("client"),
        )
    }

    /// From now on, answers 503.
    pub fn go_down(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
    }

    /// From now on, answers after 10 seconds.
    pub fn go_slow(&self) {
        self.shared.slow.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn authorization(&self) -> Option<String> {
        self.shared.authorization.lock().unwrap().clone()
    }
}

/// The concept vector of a text: the sum of its known words' vectors.
fn embed(text: &str) -> Vec<f32> {
    let mut sum = vec![0.0; CONCEPTS.len() + 1];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
    {
        if let Some(v) = concept_vector(&word, 0.0) {
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
    }
    sum
}

async fn handle(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    *shared.authorization.lock().unwrap() = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if shared.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    if shared.down.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": { "message": "overloaded" } })),
        )
            .into_response();
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .collect(),
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({ "object": "embedding", "index": i, "embedding": embed(text) }))
        .collect();
    Json(json!({ "object": "list", "data": data, "model": body["model"] })).into_response()
}
