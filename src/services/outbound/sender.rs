//! Turning outbox events into deliveries, and sending them.
//!
//! Fan-out: per endpoint, in one transaction holding the endpoint row, the events after its
//! cursor become deliveries (unique per endpoint and event) and the cursor moves on; replicas
//! racing on it take turns and create each delivery once.
//!
//! Sending: a sender claims due deliveries under a lease (as the job runner does: `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL), sends each concurrently with its own timeout (a slow endpoint
//! holds only its own deliveries), and records the outcome only while it still holds the
//! lease. The lease outlives the request timeout by far, so two senders never both succeed;
//! a sender killed mid-request leaves the lease to expire, and the next one resends with the
//! same `webhook-id`.

use std::collections::HashSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{signing, target};
use crate::domain::EventType;
use crate::entities::{event, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::error::AppResult;
use crate::repo;
use crate::repo::webhooks::status;
use crate::state::AppState;

/// Delay before attempt 2, 3, … 8 (attempt 1 is immediate): about three days in all.
const SCHEDULE: [StdDuration; 7] = [
    StdDuration::from_secs(5),
    StdDuration::from_secs(5 * 60),
    StdDuration::from_secs(30 * 60),
    StdDuration::from_secs(2 * 3600),
    StdDuration::from_secs(5 * 3600),
    StdDuration::from_secs(10 * 3600),
    StdDuration::from_secs(10 * 3600),
];
/// An endpoint failing without a success for this long is disabled.
const FAILING_LIMIT: Duration = Duration::days(5);
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Well beyond a request (and at least 4 request timeouts, see [`lease`]), so a live sender
/// never loses its lease mid-request.
const LEASE: Duration = Duration::minutes(2);
/// Largest body sent; bigger events are sent with ids only.
const MAX_BODY: usize = 20 * 1024;
/// How much of a receiver's answer is kept.
const MAX_RESPONSE: usize = 1024;
/// Events read per endpoint per step.
const FAN_OUT_BATCH: u64 = 500;
/// Deliveries claimed per step.
const CLAIM_BATCH: u64 = 64;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    /// Deliveries created from events.
    pub created: usize,
    pub succeeded: usize,
    /// Failed attempts (retried later or given up).
    pub failed: usize,
}

/// Fans out new events and sends what is due, once, waiting for every attempt. Tests call it
/// step by step; the worker runs [`run_loop`].
pub async fn run_once(state: &AppState) -> AppResult<SendReport> {
    let mut report = SendReport {
        created: fan_out_all(state).await?,
        ..SendReport::default()
    };
    let owner = state.instance_id.to_string();
    let claimed = claim(state, &owner, CLAIM_BATCH).await?;
    let outcomes =
        futures::future::join_all(claimed.into_iter().map(|d| attempt(state, d, &owner))).await;
    for outcome in outcomes {
        match outcome {
            Ok(true) => report.succeeded += 1,
            Ok(false) => report.failed += 1,
            Err(err) => tracing::warn!(error = err.describe(), "webhook attempt not recorded"),
        }
    }
    Ok(report)
}

/// Turns the events every enabled endpoint has not seen yet into deliveries.
async fn fan_out_all(state: &AppState) -> AppResult<usize> {
    let mut created = 0;
    for (tenant_id, endpoint_id) in repo::webhooks::behind(state.db.reader()).await? {
        created += fan_out(state, tenant_id, endpoint_id).await?;
    }
    Ok(created)
}

/// Claims up to `limit` due deliveries for `owner`, each under a fresh lease.
async fn claim(
    state: &AppState,
    owner: &str,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let now = state.now();
    Ok(repo::webhooks::claim(state.db.writer(), owner, limit, now, now + lease(state)).await?)
}

/// How long a claim holds a delivery: [`LEASE`], or 4 request timeouts when that is longer.
fn lease(state: &AppState) -> Duration {
    let timeout = Duration::from_std(state.settings.webhooks_request_timeout * 4)
        .unwrap_or(Duration::days(1));
    LEASE.max(timeout)
}

/// The sender: wakes when an event is committed (here, or on another replica through
/// PostgreSQL NOTIFY) and at least every `webhooks_poll_interval` (due retries, and commits on
/// other SQLite processes); keeps up to `webhooks_concurrency` requests in flight, each on its
/// own task, so a slow receiver holds only its own deliveries and never the loop.
pub async fn run_loop(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    let owner = state.instance_id.to_string();
    let concurrency = state.settings.webhooks_concurrency.max(1);
    let poll = state
        .settings
        .webhooks_poll_interval
        .max(StdDuration::from_millis(10));
    let mut commits = state
        .settings
        .webhooks_wake_on_commit
        .then(|| state.events.subscribe_commits());
    let mut running: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    let mut fan_out_due = true;
    let mut next_poll = tokio::time::Instant::now() + poll;
    loop {
        if fan_out_due {
            fan_out_due = false;
            if let Err(err) = fan_out_all(&state).await {
                tracing::warn!(error = err.describe(), "webhook fan-out failed");
            }
        }
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            match claim(&state, &owner, free as u64).await {
                Ok(claimed) => {
                    for delivery in claimed {
                        let (state, owner) = (state.clone(), owner.clone());
                        running.spawn(async move {
                            if let Err(err) = attempt(&state, delivery, &owner).await {
                                tracing::warn!(
                                    error = err.describe(),
                                    "webhook attempt not recorded"
                                );
                            }
                        });
                    }
                }
                Err(err) => tracing::warn!(error = err.describe(), "claiming webhooks failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = running.join_next(), if !running.is_empty() => {
                // Collect every attempt that finished meanwhile, then claim once for them all.
                while running.try_join_next().is_some() {}
            }
            () = committed(&mut commits) => fan_out_due = true,
            () = tokio::time::sleep_until(next_poll) => {
                fan_out_due = true;
                next_poll = tokio::time::Instant::now() + poll;
            }
        }
    }
    // Requests in flight finish (or their leases expire and another sender resends them).
    let _ = tokio::time::timeout(state.settings.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
}

/// Returns when some tenant's outbox grew (a burst of commits counts once); never when
/// waking on commits is off.
async fn committed(commits: &mut Option<tokio::sync::broadcast::Receiver<Uuid>>) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let Some(rx) = commits else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        // Lagged: wake-ups were missed, not events; one pass reads them all.
        Ok(_) | Err(RecvError::Lagged(_)) => {}
        Err(RecvError::Closed) => return std::future::pending().await,
    }
    while !matches!(
        rx.try_recv(),
        Err(TryRecvError::Empty | TryRecvError::Closed)
    ) {}
}

async fn fan_out(state: &AppState, tenant_id: Uuid, endpoint_id: Uuid) -> AppResult<usize> {
    let txn = state.db.writer().begin().await?;
    let Some(endpoint) = repo::webhooks::lock_endpoint(&txn, tenant_id, endpoint_id).await? else {
        return Ok(0);
    };
    if !endpoint.enabled {
        return Ok(0);
    }
    let events =
        repo::webhooks::events_after(&txn, tenant_id, endpoint.event_cursor, FAN_OUT_BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let wanted: HashSet<String> =
        serde_json::from_value(endpoint.event_types.clone()).unwrap_or_default();
    let now = state.now();
    let rows: Vec<webhook_delivery::Model> = events
        .iter()
        .filter(|e| wanted.contains(&e.event_type))
        .filter(|e| EventType::parse(&e.event_type).is_none_or(|t| !t.is_internal()))
        .map(|e| webhook_delivery::Model {
            tenant_id,
            id: Uuid::now_v7(),
            endpoint_id,
            event_seq: e.seq,
            event_type: e.event_type.clone(),
            lead_id: e.lead_id,
            body: body(e),
            status: status::PENDING.into(),
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_expires_at: None,
            last_response_code: None,
            last_error: None,
            delivered_at: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let created = rows.len();
    repo::webhooks::insert_deliveries(&txn, rows).await?;
    let mut active = endpoint.into_active_model();
    active.event_cursor = Set(last);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(created)
}

/// `{type, timestamp, data}`: the event's ids and small facts (the outbox holds no content).
fn body(e: &event::Model) -> String {
    let timestamp = e
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut data = match &e.payload {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let mut ids = serde_json::Map::new();
    if let Some(lead) = e.lead_id {
        ids.insert("leadId".into(), lead.to_string().into());
    }
    if let Some(session) = e.session_id {
        ids.insert("sessionId".into(), session.to_string().into());
    }
    ids.insert("sequence".into(), e.seq.into());
    data.extend(ids.clone());
    let full = json!({ "type": e.event_type, "timestamp": timestamp, "data": data }).to_string();
    if full.len() < MAX_BODY {
        return full;
    }
    json!({ "type": e.event_type, "timestamp": timestamp, "data": ids }).to_string()
}

/// How one request went.
struct Answer {
    code: Option<u16>,
    body: Option<String>,
    retry_after: Option<StdDuration>,
    error: Option<String>,
}

/// Sends one claimed delivery and records the attempt; `Ok(true)` when it succeeded.
async fn attempt(
    state: &AppState,
    delivery: webhook_delivery::Model,
    owner: &str,
) -> AppResult<bool> {
    let endpoint =
        repo::webhooks::endpoint(state.db.reader(), delivery.tenant_id, delivery.endpoint_id)
            .await?;
    let started = Instant::now();
    let answer = match &endpoint {
        Some(endpoint) if endpoint.enabled => send(state, endpoint, &delivery).await,
        Some(endpoint) => Answer::failed(format!(
            "the endpoint is disabled: {}",
            endpoint.disabled_reason.as_deref().unwrap_or("by an admin")
        )),
        None => Answer::failed("the endpoint was deleted".into()),
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    let now = state.now();
    let succeeded = answer.code.is_some_and(|c| (200..300).contains(&c));
    let gone = answer.code == Some(410);
    let give_up = gone
        || endpoint.as_ref().is_none_or(|e| !e.enabled)
        || delivery.attempts as usize > SCHEDULE.len();
    let (new_status, next) = if succeeded {
        (status::SUCCEEDED, now)
    } else if give_up {
        (status::FAILED, now)
    } else {
        (
            status::PENDING,
            now + retry_delay(delivery.attempts, answer.retry_after),
        )
    };
    let code = answer.code.map(i32::from);
    let txn = state.db.writer().begin().await?;
    repo::webhooks::insert_attempt(
        &txn,
        webhook_attempt::Model {
            tenant_id: delivery.tenant_id,
            id: Uuid::now_v7(),
            delivery_id: delivery.id,
            endpoint_id: delivery.endpoint_id,
            lead_id: delivery.lead_id,
            attempt: delivery.attempts,
            succeeded,
            response_code: code,
            duration_ms,
            response_body: answer.body.clone(),
            error: answer.error.clone(),
            created_at: now,
        },
    )
    .await?;
    let recorded = repo::webhooks::finish_attempt(
        &txn,
        &delivery,
        owner,
        new_status,
        next,
        code,
        answer.error.as_deref(),
        now,
    )
    .await?;
    if recorded && let Some(endpoint) = endpoint.filter(|e| e.enabled) {
        update_health(&txn, endpoint, succeeded, gone, now).await?;
    }
    txn.commit().await?;
    Ok(succeeded)
}

/// Success clears the failing streak; 410 disables at once; failing for days disables too.
async fn update_health<C: sea_orm::ConnectionTrait>(
    conn: &C,
    endpoint: webhook_endpoint::Model,
    succeeded: bool,
    gone: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let failing_since = endpoint.failing_since;
    let mut active = endpoint.into_active_model();
    if succeeded {
        if failing_since.is_none() {
            return Ok(());
        }
        active.failing_since = Set(None);
    } else if gone {
        active.enabled = Set(false);
        active.disabled_reason = Set(Some(
            "the receiver answered 410 Gone: it no longer wants these events".into(),
        ));
    } else {
        match failing_since {
            None => active.failing_since = Set(Some(now)),
            Some(since) if now - since > FAILING_LIMIT => {
                active.enabled = Set(false);
                active.disabled_reason = Set(Some(format!(
                    "every delivery failed since {}",
                    since.format("%Y-%m-%d %H:%M UTC")
                )));
            }
            Some(_) => return Ok(()),
        }
    }
    active.updated_at = Set(now);
    active.update(conn).await?;
    Ok(())
}

/// The wait after failed attempt `attempt` (1-based): the schedule ±10%, or longer when the
/// receiver asked (`Retry-After`, capped at the schedule's longest step).
fn retry_delay(attempt: i32, retry_after: Option<StdDuration>) -> Duration {
    let index = usize::try_from(attempt.max(1) - 1)
        .unwrap_or(0)
        .min(SCHEDULE.len() - 1);
    let base = SCHEDULE[index].as_secs_f64() * rand::rng().random_range(0.9..1.1);
    let asked = retry_after
        .map(|d| d.min(SCHEDULE[SCHEDULE.len() - 1]).as_secs_f64())
        .unwrap_or(0.0);
    Duration::milliseconds((base.max(asked) * 1000.0) as i64)
}

impl Answer {
    fn failed(error: String) -> Self {
        Answer {
            code: None,
            body: None,
            retry_after: None,
            error: Some(error),
        }
    }
}

async fn send(
    state: &AppState,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
) -> Answer {
    let Ok(url) = reqwest::Url::parse(&endpoint.url) else {
        return Answer::failed("the endpoint's URL is not valid".into());
    };
    let (host, addr) = match target::resolve(&state.settings, &url).await {
        Ok(resolved) => resolved,
        Err(error) => return Answer::failed(error),
    };
    let client = match client(&host, addr, state.settings.webhooks_request_timeout) {
        Ok(client) => client,
        Err(err) => return Answer::failed(format!("could not build the request: {err}")),
    };
    let msg_id = message_id(delivery.id);
    let timestamp = state.now().timestamp();
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (
        endpoint.previous_secret.as_deref(),
        endpoint.previous_secret_expires_at,
    ) && until > state.now()
    {
        secrets.push(previous);
    }
    let signature = signing::signature_header(&secrets, &msg_id, timestamp, &delivery.body);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(err) if err.is_timeout() => return Answer::failed("timed out".into()),
        Err(err) if err.is_connect() => return Answer::failed("could not connect".into()),
        Err(_) => return Answer::failed("the request failed".into()),
    };
    let code = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    // Keep the start of the answer; a receiver that streams forever is cut by the timeout.
    let mut kept = Vec::new();
    while kept.len() < MAX_RESPONSE {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(MAX_RESPONSE);
    let error = match code {
        200..=299 => None,
        300..=399 => Some("redirects are not followed".to_owned()),
        _ => Some(format!("the receiver answered {code}")),
    };
    Answer {
        code: Some(code),
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
        retry_after,
        error,
    }
}

/// Clients by (host, the address it was pinned to, timeout). A client keeps its connections
/// alive, so deliveries to a receiver reuse them rather than connecting (and setting up TLS)
/// each time; pinning the checked address is what keeps the SSRF check honest, so a host that
/// resolves elsewhere later gets a client of its own.
type ClientKey = (String, std::net::SocketAddr, StdDuration);
static CLIENTS: std::sync::LazyLock<std::sync::Mutex<lru::LruCache<ClientKey, reqwest::Client>>> =
    std::sync::LazyLock::new(|| {
        std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(256).unwrap_or(std::num::NonZeroUsize::MIN),
        ))
    });

fn client(
    host: &str,
    addr: std::net::SocketAddr,
    timeout: StdDuration,
) -> reqwest::Result<reqwest::Client> {
    let key = (host.to_owned(), addr, timeout);
    let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .resolve(host, addr)
        .user_agent("memodesk-webhooks/1")
        .build()?;
    clients.put(key, client.clone());
    Ok(client)
}

/// The `webhook-id` of a delivery: the same on every attempt and replay.
pub fn message_id(delivery_id: Uuid) -> String {
    format!("msg_{}", delivery_id.simple())
}

fn parse_retry_after(value: &str) -> Option<StdDuration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(StdDuration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    at.duration_since(std::time::SystemTime::now()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_and_honour_retry_after() {
        let second = retry_delay(1, None).num_milliseconds();
        assert!((4_500..=5_500).contains(&second), "{second}");
        let last = retry_delay(7, None).num_seconds();
        assert!((32_400..=39_600).contains(&last), "{last}");
        let asked = retry_delay(1, Some(StdDuration::from_secs(120))).num_seconds();
        assert_eq!(asked, 120);
        assert_eq!(parse_retry_after("30"), Some(StdDuration::from_secs(30)));
    }
}
