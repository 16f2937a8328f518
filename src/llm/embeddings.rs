//! Embedders for semantic search: any OpenAI-compatible `/v1/embeddings` endpoint, or a local
//! static model (model2vec format: `model.safetensors`, `tokenizer.json`, `config.json`) read
//! from a directory. Both return one vector per text; errors never quote the texts or the key.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::future::BoxFuture;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{Secret, Settings};

/// Something that turns texts into vectors.
pub trait Embedder: Send + Sync + 'static {
    /// Names the vector space: stored with every vector, so that a change of model is seen and
    /// the records are embedded again.
    fn model_id(&self) -> &str;

    /// One vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>>;
}

pub type SharedEmbedder = Arc<dyn Embedder>;

/// The embedder the settings ask for: the endpoint when `embeddings_base_url` is set, else the
/// model directory when `embeddings_model_dir` is, else none (search is lexical).
pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<SharedEmbedder>> {
    if let Some(base_url) = &settings.embeddings_base_url {
        return Ok(Some(Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
            base_url: base_url.clone(),
            api_key: settings.embeddings_api_key.clone(),
            model: settings.embeddings_model.clone(),
            timeout: settings.embeddings_timeout,
        })?)));
    }
    if let Some(dir) = &settings.embeddings_model_dir {
        return Ok(Some(Arc::new(StaticModelEmbedder::load(dir)?)));
    }
    Ok(None)
}

/// Where and how to call an OpenAI-compatible embeddings endpoint.
#[derive(Clone, Debug)]
pub struct OpenAiEmbedderConfig {
    /// e.g. `https://api.openai.com/v1`; `/embeddings` is appended.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout: Duration,
}

/// An OpenAI-compatible `/v1/embeddings` client (OpenAI, Ollama, vLLM, LM Studio, TEI…).
pub struct OpenAiEmbedder {
    http: reqwest::Client,
    endpoint: String,
    config: OpenAiEmbedderConfig,
    model_id: String,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl OpenAiEmbedder {
    pub fn new(config: OpenAiEmbedderConfig) -> anyhow::Result<Self> {
        let http = super::http_client(config.timeout, "embeddings")?;
        Ok(Self {
            http,
            endpoint: format!("{}/embeddings", config.base_url.trim_end_matches('/')),
            model_id: format!("openai:{}", config.model),
            config,
        })
    }

    async fn call(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut request = self.http.post(&self.endpoint).json(&serde_json::json!({
            "model": self.config.model,
            "input": texts,
        }));
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose());
        }
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|err| {
            // reqwest's own text names the URL, never the key; keep it short anyway.
            if err.is_timeout() {
                anyhow!(
                    "the embeddings provider did not answer within {:.1}s",
                    self.config.timeout.as_secs_f64()
                )
            } else if err.is_connect() {
                anyhow!("the embeddings provider is unreachable (connection refused or failed)")
            } else {
                anyhow!("the request to the embeddings provider failed")
            }
        })?;
        metrics::histogram!("memodesk_embeddings_request_seconds")
            .record(started.elapsed().as_secs_f64());
        let status = response.status();
        if !status.is_success() {
            bail!("the embeddings provider answered HTTP {}", status.as_u16());
        }
        let body: EmbeddingsResponse = response
            .json()
            .await
            .map_err(|_| anyhow!("the embeddings provider's answer is not an embeddings list"))?;
        if body.data.len() != texts.len() {
            bail!(
                "the embeddings provider returned {} vectors for {} texts",
                body.data.len(),
                texts.len()
            );
        }
        let mut items = body.data;
        if items.iter().all(|i| i.index.is_some()) {
            items.sort_by_key(|i| i.index);
        }
        let vectors: Vec<Vec<f32>> = items.into_iter().map(|i| i.embedding).collect();
        if let Some(first) = vectors.first()
            && (first.is_empty() || vectors.iter().any(|v| v.len() != first.len()))
        {
            bail!("the embeddings provider returned vectors of different sizes");
        }
        Ok(vectors)
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            self.call(texts).await
        })
    }
}

/// A static embedding model in the model2vec format, read with `model2vec-rs`. Encoding is a
/// table lookup and a mean per text: no network, microseconds per text.
pub struct StaticModelEmbedder {
    model: Arc<model2vec_rs::model::StaticModel>,
    model_id: String,
}

impl StaticModelEmbedder {
    /// Loads the model in `dir`; its id is the directory's name and a digest of its weights,
    /// so replacing the files re-embeds.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let weights = std::fs::read(dir.join("model.safetensors")).with_context(|| {
            format!(
                "cannot read model.safetensors in the embeddings model directory {}",
                dir.display()
            )
        })?;
        let digest = Sha256::digest(&weights);
        drop(weights);
        let model = model2vec_rs::model::StaticModel::from_pretrained(dir, None, None, None)
            .with_context(|| {
                format!(
                    "cannot load the model2vec model in {} (model.safetensors, tokenizer.json, \
                     config.json)",
                    dir.display()
                )
            })?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            model: Arc::new(model),
            model_id: format!("model2vec:{name}:{short}"),
        })
    }

    /// Encodes on the calling thread (for benchmarks and tools).
    pub fn encode_now(&self, texts: &[String]) -> Vec<Vec<f32>> {
        self.model.encode_with_args(texts, Some(512), 64)
    }
}

impl Embedder for StaticModelEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let model = self.model.clone();
            let owned = texts.to_vec();
            tokio::task::spawn_blocking(move || model.encode_with_args(&owned, Some(512), 64))
                .await
                .map_err(|_| anyhow!("the embeddings model stopped while encoding"))
        })
    }
}

/// Writes a static model in the model2vec format to `dir`: a lowercasing whitespace
/// word-level tokenizer over `vocab`'s words and their vectors (all the same length). Unknown
/// words are skipped when encoding. For tests and benchmarks, which build their models rather
/// than download one.
pub fn write_static_model(dir: &Path, vocab: &[(String, Vec<f32>)]) -> anyhow::Result<()> {
    let dims = vocab.first().map(|(_, v)| v.len()).unwrap_or(0);
    if dims == 0 || vocab.iter().any(|(_, v)| v.len() != dims) {
        bail!("every word needs a vector of the same, non-zero length");
    }
    std::fs::create_dir_all(dir)?;
    let mut words = serde_json::Map::new();
    words.insert("[UNK]".into(), 0.into());
    let mut table: Vec<f32> = vec![0.0; dims];
    for (word, vector) in vocab {
        let word = word.to_lowercase();
        if words.contains_key(&word) {
            continue;
        }
        words.insert(word, words.len().into());
        table.extend_from_slice(vector);
    }
    let rows = words.len();
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": { "type": "Lowercase" },
        "pre_tokenizer": { "type": "Whitespace" },
        "post_processor": null,
        "decoder": null,
        "model": { "type": "WordLevel", "vocab": words, "unk_token": "[UNK]" },
    });
    std::fs::write(dir.join("tokenizer.json"), serde_json::to_vec(&tokenizer)?)?;
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec(&serde_json::json!({ "model_type": "model2vec", "normalize": true }))?,
    )?;
    let bytes = to_bytes(&table);
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows, dims], &bytes)?;
    let file = safetensors::serialize([("embeddings", view)], &None)?;
    std::fs::write(dir.join("model.safetensors"), file)?;
    Ok(())
}

/// Cosine similarity of two vectors (0 when either is all zeros or their sizes differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Scales a vector to length 1 (all zeros stays all zeros), so stored vectors compare by a dot
/// product.
pub fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

/// A vector as stored: little-endian f32s.
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The dot product of a query with a stored vector, read in place.
pub fn dot_bytes(query: &[f32], stored: &[u8]) -> f32 {
    if stored.len() != query.len() * 4 {
        return 0.0;
    }
    stored
        .chunks_exact(4)
        .zip(query)
        .map(|(b, q)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * q)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_vectors_compare_like_cosine() {
        let a = normalized(vec![1.0, 2.0, 3.0]);
        let b = normalized(vec![2.0, 1.0, 0.5]);
        let direct = cosine(&a, &b);
        let stored = dot_bytes(&a, &to_bytes(&b));
        assert!((direct - stored).abs() < 1e-6);
        assert_eq!(dot_bytes(&a, &[0, 0, 0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }
}
