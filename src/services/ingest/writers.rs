//! The writers that take queued requests ([`super::queue`]) and record them: on an SQLite file
//! one thread of its own that holds the ingest connection, elsewhere tokio tasks. Every thread
//! and `block_on` of ingest is here.
//!
//! Group commit: writers take every request waiting (up to 64 requests and 1 000 messages)
//! and record them in one transaction per tenant. An idle system still records a lone message
//! at once.
//!
//! On an SQLite file the writer is one thread of its own that holds the SQLite writer's
//! connection: a group costs no hop to the blocking pool and no wait for a busy runtime worker,
//! and while requests keep coming it keeps the process's turn to write for up to
//! 20 ms before letting other writers in. Elsewhere the writers are tokio tasks.

use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::Mutex;

use super::WriterContext;
use super::batch::{Committed, write_batch};
use super::prepare::Prepared;
use super::queue::{Queued, Reply, Waiting};
use crate::auth::Actor;
use crate::db::Db;
use crate::db::sqlite_writer::SqliteWriter;
use crate::error::{AppError, AppResult};
use crate::repo::tenants::TenantSettings;

/// The name of the thread that writes ingest on SQLite (at most 15 bytes: Linux keeps no more).
pub const WRITER_THREAD: &str = "memodesk-ingest";

/// How many writer tasks PostgreSQL gets: groups commit in parallel, each on its own
/// connection.
const POSTGRES_WRITERS: usize = 4;

/// Requests per shared transaction.
const MAX_GROUP: usize = 64;
/// Messages per shared transaction: two full `recordMessages` batches.
const MAX_GROUP_MESSAGES: usize = 2 * super::MAX_BATCH;
/// How long the SQLite ingest thread may keep the process's turn to write while requests keep
/// arriving; then it queues again behind whoever waits (a staff edit, a job claim).
const HOLD_TURN: std::time::Duration = std::time::Duration::from_millis(20);

/// Starts the writers over `waiting`: on an SQLite file one thread (SQLite has one writer),
/// elsewhere [`POSTGRES_WRITERS`] tokio tasks. They stop when every sender of the queue is gone.
pub(super) fn start(waiting: Waiting, cx: WriterContext, db: &Db) -> std::io::Result<()> {
    let Some(writer) = db.ingest_writer().cloned() else {
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..POSTGRES_WRITERS {
            tokio::spawn(writer_task(cx.clone(), db.clone(), waiting.clone()));
        }
        return Ok(());
    };
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name(WRITER_THREAD.into())
        .spawn(move || sqlite_writer_thread(&cx, &writer, waiting, &runtime))?;
    Ok(())
}

/// A writer task: takes a group, writes it through SeaORM, answers, and waits for the next.
async fn writer_task(cx: WriterContext, db: Db, rx: Arc<Mutex<Waiting>>) {
    let mut carried = None;
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let first = match carried.take() {
                Some(first) => first,
                None => match rx.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let (group, left_over) = take_waiting(first, &mut rx);
            carried = left_over;
            group
        };
        for tenant in by_tenant(group) {
            let outcome =
                write_batch(&db, &cx, &tenant.actor, &tenant.settings, &tenant.prepared).await;
            tenant.answer(&cx, outcome);
        }
    }
}

/// The SQLite ingest thread: waits for a request, takes the turn, writes groups while more
/// wait (for up to [`HOLD_TURN`]), passes the turn on, and sleeps until the next request.
fn sqlite_writer_thread(
    cx: &WriterContext,
    writer: &SqliteWriter,
    mut rx: Waiting,
    runtime: &tokio::runtime::Handle,
) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(first) => first,
            None => match runtime.block_on(rx.recv()) {
                Some(first) => first,
                None => return,
            },
        };
        let turn = match runtime.block_on(writer.turn()) {
            Ok(turn) => turn,
            Err(err) => {
                let _ = first.reply.send(Err(err.into()));
                continue;
            }
        };
        let held_since = std::time::Instant::now();
        let mut head = Some(first);
        while let Some(first) = head.take() {
            let (group, left_over) = take_waiting(first, &mut rx);
            for tenant in by_tenant(group) {
                // The engine's futures finish at their first poll on this connection:
                // `block_on` only drives them. A panic fails this group, not the thread: the
                // open transaction rolls back as it unwinds (or before the next one).
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    writer.run_blocking(&turn, |conn| {
                        runtime.block_on(write_batch(
                            conn,
                            cx,
                            &tenant.actor,
                            &tenant.settings,
                            &tenant.prepared,
                        ))
                    })
                }))
                .unwrap_or_else(|_| Err(DbErr::Custom("the ingest writer panicked".into())))
                .map_err(AppError::from)
                .and_then(|committed| committed);
                tenant.answer(cx, outcome);
            }
            head = left_over.or_else(|| rx.try_recv().ok());
            if held_since.elapsed() >= HOLD_TURN {
                next = head.take();
            }
        }
        // The sqlx pool takes its connection back on a task of the runtime.
        runtime.block_on(async move { drop(turn) });
    }
}

/// `first` and the requests waiting behind it, within [`MAX_GROUP`] and
/// [`MAX_GROUP_MESSAGES`]; a request that would pass the message limit is handed back to
/// start the next group.
fn take_waiting(first: Queued, rx: &mut Waiting) -> (Vec<Queued>, Option<Queued>) {
    let mut messages = first.prepared.len();
    let mut group = vec![first];
    while group.len() < MAX_GROUP && messages < MAX_GROUP_MESSAGES {
        let Ok(next) = rx.try_recv() else { break };
        messages += next.prepared.len();
        if messages > MAX_GROUP_MESSAGES {
            return (group, Some(next));
        }
        group.push(next);
    }
    (group, None)
}

/// One tenant's share of a group: its requests' messages, written in one transaction.
struct TenantGroup {
    actor: Actor,
    settings: Arc<TenantSettings>,
    prepared: Vec<Prepared>,
    /// Each request's reply and how many of `prepared` are its, in order.
    replies: Vec<(Reply, usize)>,
}

impl TenantGroup {
    /// Sends each request its results, or the failure of the whole transaction.
    fn answer(self, cx: &WriterContext, outcome: AppResult<Committed>) {
        match outcome {
            Ok(committed) => {
                let mut results = committed.announce(cx, self.actor.tenant_id).into_iter();
                for (reply, count) in self.replies {
                    let _ = reply.send(Ok(results.by_ref().take(count).collect()));
                }
            }
            Err(err) => {
                // The first request gets the error itself, the others what it said.
                let message = err.describe();
                let mut err = Some(err);
                for (reply, _) in self.replies {
                    let err = err
                        .take()
                        .unwrap_or_else(|| AppError::internal(anyhow::anyhow!(message.clone())));
                    let _ = reply.send(Err(err));
                }
            }
        }
    }
}

/// Splits a group by tenant (one transaction each), keeping the order of arrival.
fn by_tenant(group: Vec<Queued>) -> Vec<TenantGroup> {
    let mut tenants: Vec<TenantGroup> = Vec::new();
    for queued in group {
        let index = match tenants
            .iter()
            .position(|t| t.actor.tenant_id == queued.actor.tenant_id)
        {
            Some(index) => index,
            None => {
                tenants.push(TenantGroup {
                    actor: queued.actor.clone(),
                    settings: queued.settings.clone(),
                    prepared: Vec::new(),
                    replies: Vec::new(),
                });
                tenants.len() - 1
            }
        };
        let tenant = &mut tenants[index];
        tenant.replies.push((queued.reply, queued.prepared.len()));
        tenant.prepared.extend(queued.prepared);
    }
    tenants
}
