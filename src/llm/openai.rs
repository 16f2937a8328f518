//! An OpenAI-compatible chat-completions client (OpenAI, Ollama, vLLM, LM Studio) that asks for
//! a summary as strict JSON.
//!
//! Retries 429 (honouring `Retry-After`) and 5xx with backoff and jitter; a timeout or another
//! 4xx fails at once. A circuit breaker stops calling a provider that keeps failing. Errors
//! never quote the conversation: they become the stored fallback reason.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use futures::future::BoxFuture;
use rand::Rng;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::breaker::CircuitBreaker;
use super::{LanguageModel, PROMPT_VERSION, Summarized};
use crate::config::{ResponseFormat, Secret};
use crate::domain::Channel;
use crate::domain::MessageRole;
use crate::domain::classify::Intent;
use crate::domain::summarize::{Sentiment, SummaryDraft, SummaryFact, TranscriptMessage};
use crate::domain::text::language::detect_language;

const PROMPT_EN: &str = include_str!("prompts/summary.en.md");
const PROMPT_HE: &str = include_str!("prompts/summary.he.md");
/// Longest wait a `Retry-After` may ask for before we give up and fall back.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1` (the client appends `/chat/completions`).
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub response_format: ResponseFormat,
}

pub struct OpenAiCompatible {
    http: reqwest::Client,
    endpoint: String,
    config: OpenAiConfig,
    breaker: CircuitBreaker,
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> anyhow::Result<Self> {
        let http = super::http_client(config.timeout, "LLM")?;
        Ok(Self {
            http,
            endpoint: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            config,
            breaker: CircuitBreaker::new(5, Duration::from_secs(30)),
        })
    }

    /// The same client with a custom breaker (tests).
    pub fn with_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = breaker;
        self
    }

    fn request_body(&self, channel: Channel, messages: &[TranscriptMessage]) -> Value {
        let hebrew = conversation_language(messages) == Some("he");
        let system = if hebrew { PROMPT_HE } else { PROMPT_EN };
        let mut body = json!({
            "model": self.config.model,
            "temperature": 0.2,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": transcript(channel, messages) },
            ],
        });
        match self.config.response_format {
            ResponseFormat::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": { "name": "conversation_summary", "strict": true, "schema": schema() },
                });
            }
            ResponseFormat::JsonObject => {
                body["response_format"] = json!({ "type": "json_object" })
            }
            ResponseFormat::None => {}
        }
        body
    }

    async fn call(&self, body: &Value) -> anyhow::Result<ChatResponse> {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let mut request = self.http.post(&self.endpoint).json(body);
            if let Some(key) = &self.config.api_key {
                request = request.bearer_auth(key.expose());
            }
            let outcome = request.send().await;
            metrics::histogram!("memodesk_llm_request_seconds")
                .record(started.elapsed().as_secs_f64());
            let wait = match outcome {
                Ok(response) if response.status().is_success() => {
                    return response
                        .json::<ChatResponse>()
                        .await
                        .map_err(|_| anyhow!("LLM answer is not a chat completion"));
                }
                Ok(response) => {
                    let status = response.status();
                    metrics::counter!("memodesk_llm_errors_total", "kind" => status.as_u16().to_string()).increment(1);
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let retry_after = retry_after(response.headers());
                        if retry_after.is_some_and(|d| d > MAX_RETRY_AFTER) {
                            bail!(
                                "LLM is rate limited for longer than {}s",
                                MAX_RETRY_AFTER.as_secs()
                            );
                        }
                        retry_after.unwrap_or_else(|| backoff(attempt))
                    } else if status.is_server_error() {
                        backoff(attempt)
                    } else {
                        bail!("LLM rejected the request: HTTP {}", status.as_u16());
                    }
                }
                Err(err) if err.is_timeout() => {
                    metrics::counter!("memodesk_llm_errors_total", "kind" => "timeout")
                        .increment(1);
                    bail!(
                        "LLM request timed out after {}s",
                        self.config.timeout.as_secs_f64()
                    );
                }
                Err(err) => {
                    metrics::counter!("memodesk_llm_errors_total", "kind" => "connect")
                        .increment(1);
                    if attempt >= self.config.max_retries {
                        bail!("LLM unreachable: {}", connection_reason(&err));
                    }
                    backoff(attempt)
                }
            };
            if attempt >= self.config.max_retries {
                bail!("LLM kept failing after {} attempts", attempt + 1);
            }
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }
}

impl LanguageModel for OpenAiCompatible {
    fn provider(&self) -> &str {
        "openai"
    }

    fn summarize<'a>(
        &'a self,
        channel: Channel,
        messages: &'a [TranscriptMessage],
        _default_region: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Summarized>> {
        Box::pin(async move {
            if !self.breaker.allow() {
                bail!("LLM circuit open after repeated failures");
            }
            let body = self.request_body(channel, messages);
            let result = async {
                let response = self.call(&body).await?;
                let content = response
                    .choices
                    .first()
                    .and_then(|c| c.message.content.as_deref())
                    .ok_or_else(|| anyhow!("LLM answer has no content"))?;
                let draft = parse_draft(content, messages)?;
                let usage = response.usage.unwrap_or_default();
                Ok(Summarized {
                    draft,
                    provider: self.provider().to_owned(),
                    model: response.model.unwrap_or_else(|| self.config.model.clone()),
                    prompt_version: PROMPT_VERSION.into(),
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                })
            }
            .await;
            match &result {
                Ok(_) => self.breaker.record_success(),
                Err(_) => self.breaker.record_failure(),
            }
            result
        })
    }
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

/// The answer as the schema asks for it, before it is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDraft {
    summary: String,
    key_points: Vec<String>,
    facts: Vec<RawFact>,
    intents: Vec<String>,
    sentiment: String,
    language: Option<String>,
    next_step: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawFact {
    key: String,
    value: String,
    confidence: f64,
    #[serde(default)]
    evidence: Vec<String>,
}

/// Parses and checks the model's JSON. Unknown intents and evidence ids not in the conversation
/// are dropped; anything structurally wrong is an error (and a fallback).
pub fn parse_draft(content: &str, messages: &[TranscriptMessage]) -> anyhow::Result<SummaryDraft> {
    let content = content.trim();
    // Some servers wrap JSON in a fenced block even when asked not to.
    let content = content
        .strip_prefix("```json")
        .or_else(|| content.strip_prefix("```"))
        .and_then(|c| c.strip_suffix("```"))
        .unwrap_or(content)
        .trim();
    let raw: RawDraft = serde_json::from_str(content).map_err(|err| {
        anyhow!(
            "LLM answer is not the requested JSON ({})",
            err.classify_name()
        )
    })?;
    let summary = raw.summary.trim().to_owned();
    if summary.is_empty() {
        bail!("LLM summary is empty");
    }
    if summary.chars().count() > 4000 {
        bail!("LLM summary is longer than 4000 characters");
    }
    let sentiment = Sentiment::parse(raw.sentiment.trim())
        .ok_or_else(|| anyhow!("LLM sentiment is not positive, neutral, negative or mixed"))?;
    let known: HashSet<Uuid> = messages.iter().map(|m| m.id).collect();
    let facts = raw
        .facts
        .into_iter()
        .take(30)
        .filter(|f| !f.key.trim().is_empty() && !f.value.trim().is_empty())
        .map(|f| SummaryFact {
            key: f.key.trim().to_owned(),
            value: f.value.trim().to_owned(),
            confidence: if f.confidence.is_finite() {
                f.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            },
            evidence: f
                .evidence
                .iter()
                .filter_map(|id| Uuid::parse_str(id.trim()).ok())
                .filter(|id| known.contains(id))
                .collect(),
        })
        .collect();
    let mut intents: Vec<Intent> = Vec::new();
    for intent in raw.intents.iter().filter_map(|i| Intent::parse(i.trim())) {
        if !intents.contains(&intent) {
            intents.push(intent);
        }
    }
    Ok(SummaryDraft {
        summary,
        key_points: raw
            .key_points
            .into_iter()
            .map(|p| p.trim().chars().take(300).collect::<String>())
            .filter(|p| !p.is_empty())
            .take(10)
            .collect(),
        facts,
        intents,
        sentiment,
        language: raw
            .language
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty() && l.len() <= 12),
        next_step: raw
            .next_step
            .map(|s| s.trim().chars().take(500).collect::<String>())
            .filter(|s| !s.is_empty()),
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "invalid JSON"
            }
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Io => "unreadable",
        }
    }
}

/// The dominant language of the customer's messages.
fn conversation_language(messages: &[TranscriptMessage]) -> Option<&'static str> {
    let text: String = messages
        .iter()
        .filter(|m| m.role == MessageRole::Customer)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    detect_language(&text)
}

/// The conversation as the model reads it: one line per message with its id.
fn transcript(channel: Channel, messages: &[TranscriptMessage]) -> String {
    let mut out = format!("Channel: {channel}\nMessages (id | time | role: text):\n");
    for m in messages {
        out.push_str(&format!(
            "{} | {} | {}: {}\n",
            m.id,
            m.at.format("%Y-%m-%d %H:%M"),
            m.role,
            m.content.replace('\n', " ")
        ));
    }
    out
}

/// The JSON schema the answer must follow (strict mode: every property required).
fn schema() -> Value {
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "key_points", "facts", "intents", "sentiment", "language", "next_step"],
        "properties": {
            "summary": { "type": "string" },
            "key_points": { "type": "array", "items": { "type": "string" } },
            "facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["key", "value", "confidence", "evidence"],
                    "properties": {
                        "key": { "type": "string" },
                        "value": { "type": "string" },
                        "confidence": { "type": "number" },
                        "evidence": { "type": "array", "items": { "type": "string" } },
                    },
                },
            },
            "intents": { "type": "array", "items": { "type": "string", "enum": intents } },
            "sentiment": { "type": "string", "enum": ["positive", "neutral", "negative", "mixed"] },
            "language": { "type": "string" },
            "next_step": { "type": ["string", "null"] },
        },
    })
}

/// Exponential backoff with ±25% jitter: 0.5 s, 1 s, 2 s, … capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.min(4)).min(8_000);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn connection_reason(err: &reqwest::Error) -> &'static str {
    if err.is_connect() {
        "connection refused or unreachable"
    } else if err.is_request() {
        "request failed"
    } else {
        "transport error"
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn messages() -> Vec<TranscriptMessage> {
        vec![TranscriptMessage {
            id: Uuid::from_u128(7),
            role: MessageRole::Customer,
            content: "Hi, I'm Dana from Haifa".into(),
            at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        }]
    }

    #[test]
    fn a_good_answer_parses_and_drops_what_it_cannot_trust() {
        let content = json!({
            "summary": "Dana asked about flights.\nWe sent prices.",
            "key_points": ["flights", " "],
            "facts": [
                {"key": "name", "value": "Dana", "confidence": 0.9, "evidence": [Uuid::from_u128(7).to_string(), Uuid::from_u128(99).to_string(), "junk"]},
                {"key": "city", "value": "Haifa", "confidence": 7.0, "evidence": []}
            ],
            "intents": ["pricing", "time_travel", "pricing"],
            "sentiment": "positive",
            "language": "EN",
            "next_step": null
        })
        .to_string();
        let draft = parse_draft(&format!("```json\n{content}\n```"), &messages()).unwrap();
        assert_eq!(draft.facts[0].evidence, vec![Uuid::from_u128(7)]);
        assert_eq!(draft.facts[1].confidence, 1.0);
        assert_eq!(draft.intents, vec![Intent::Pricing]);
        assert_eq!(draft.key_points, vec!["flights"]);
        assert_eq!(draft.language.as_deref(), Some("en"));
    }

    #[test]
    fn broken_answers_are_errors_that_do_not_quote_the_conversation() {
        for bad in [
            "not json at all",
            r#"{"summary": "x"}"#,
            r#"{"summary": "", "key_points": [], "facts": [], "intents": [], "sentiment": "neutral", "language": "en", "next_step": null}"#,
            r#"{"summary": "ok", "key_points": [], "facts": [], "intents": [], "sentiment": "furious", "language": "en", "next_step": null}"#,
        ] {
            let err = parse_draft(bad, &messages()).unwrap_err().to_string();
            assert!(!err.contains("Dana"), "{err}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) < Duration::from_millis(700));
        assert!(backoff(10) <= Duration::from_secs(10));
    }
}
