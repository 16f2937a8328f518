//! Language models: the provider trait, the OpenAI-compatible client and the built-in
//! heuristic summarizer that needs no network.

pub mod breaker;
pub mod embeddings;
pub mod openai;

use std::sync::Arc;

use anyhow::Context as _;

use futures::future::BoxFuture;

use crate::config::Settings;
use crate::domain::Channel;
use crate::domain::summarize::{SummaryDraft, TranscriptMessage};

/// The prompt version stored with every summary, so a change of prompt is visible in the data.
pub const PROMPT_VERSION: &str = "summary-v1";

/// A summary and how it was produced.
#[derive(Debug, Clone)]
pub struct Summarized {
    pub draft: SummaryDraft,
    pub provider: String,
    pub model: String,
    pub prompt_version: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Something that can summarize a conversation.
pub trait LanguageModel: Send + Sync + 'static {
    /// `builtin`, `openai`, …
    fn provider(&self) -> &str;

    /// Summarizes `messages` (oldest first). Errors say what went wrong without quoting the
    /// conversation: they are stored as the fallback reason.
    fn summarize<'a>(
        &'a self,
        channel: Channel,
        messages: &'a [TranscriptMessage],
        default_region: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Summarized>>;
}

pub type SharedLanguageModel = Arc<dyn LanguageModel>;

/// The deterministic built-in summarizer (see `domain::summarize`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Builtin;

impl Builtin {
    pub const PROVIDER: &'static str = "builtin";
    pub const MODEL: &'static str = "extractive-v1";

    pub fn summarize_now(
        channel: Channel,
        messages: &[TranscriptMessage],
        default_region: &str,
    ) -> Summarized {
        Summarized {
            draft: crate::domain::summarize::summarize(channel, messages, default_region),
            provider: Self::PROVIDER.into(),
            model: Self::MODEL.into(),
            prompt_version: Self::MODEL.into(),
            prompt_tokens: 0,
            completion_tokens: 0,
        }
    }
}

impl LanguageModel for Builtin {
    fn provider(&self) -> &str {
        Self::PROVIDER
    }

    fn summarize<'a>(
        &'a self,
        channel: Channel,
        messages: &'a [TranscriptMessage],
        default_region: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Summarized>> {
        Box::pin(async move { Ok(Self::summarize_now(channel, messages, default_region)) })
    }
}

/// The summarizer the settings ask for: the OpenAI-compatible client when `llm_base_url` is
/// set, else the built-in one.
pub fn from_settings(settings: &Settings) -> anyhow::Result<SharedLanguageModel> {
    match &settings.llm_base_url {
        Some(base_url) => Ok(Arc::new(openai::OpenAiCompatible::new(
            openai::OpenAiConfig {
                base_url: base_url.clone(),
                api_key: settings.llm_api_key.clone(),
                model: settings.llm_model.clone(),
                timeout: settings.llm_timeout,
                max_retries: settings.llm_max_retries,
                response_format: settings.llm_response_format,
            },
        )?)),
        None => Ok(Arc::new(Builtin)),
    }
}

/// The HTTP client of an OpenAI-compatible provider (chat completions, embeddings): its
/// timeout, a connect timeout of at most 10 s, our user agent, rustls.
pub(crate) fn http_client(
    timeout: std::time::Duration,
    what: &str,
) -> anyhow::Result<reqwest::Client> {
    // Harmless when the process already chose a provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("memodesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .with_context(|| format!("cannot build the {what} HTTP client"))
}
