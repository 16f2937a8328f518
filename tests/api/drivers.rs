//! The two SQLite drivers: rusqlite on the hot paths (the memory context's reads, ingest's
//! writes) and sqlx everywhere else must read and write the same bytes, and the hot statements
//! must keep their plans. Driver internals, kept apart from the product's behaviour.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use memodesk::db::executor::Executor;
use memodesk::db::{Db, PoolOptions, ReadPlan};
use memodesk::domain::{Channel, IdentityKind};
use memodesk::entities::{event, job, message};
use memodesk::repo;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, add_note, message, record};

/// A migrated SQLite file of its own whose every statement is recorded.
async fn recorded_sqlite() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Db,
    Arc<Mutex<Vec<Statement>>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drivers.db");
    let mut db = Db::connect(
        &format!("sqlite://{}", path.display()),
        PoolOptions::default(),
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let seen: Arc<Mutex<Vec<Statement>>> = Arc::default();
    let sink = seen.clone();
    db.set_metric_callback(move |info: &sea_orm::metric::Info<'_>| {
        sink.lock().unwrap().push(info.statement.clone());
    });
    (dir, path, db, seen)
}

/// SQLite's plan for `statement`.
async fn sqlite_plan(db: &Db, statement: &Statement) -> String {
    let explain = Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", statement.sql),
        statement.values.clone().map(|v| v.0).unwrap_or_default(),
    );
    let rows = db.reader().query_all_raw(explain).await.unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "detail").unwrap())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Ingest looks up a batch's worth of keys at once. An `OR` of three or more pairs made SQLite
/// walk the whole tenant; each lookup must search its unique index.
#[tokio::test]
async fn lookups_of_many_keys_search_the_unique_indexes() {
    let (_dir, _path, db, seen) = recorded_sqlite().await;
    let tenant = Uuid::now_v7();
    let keys: Vec<(Channel, String)> = (0..50)
        .map(|i| {
            let channel = [Channel::Whatsapp, Channel::Web, Channel::Call][i % 3];
            (channel, format!("key-{i}"))
        })
        .collect();
    let values: Vec<(IdentityKind, String)> = (0..50)
        .map(|i| {
            let kind = [
                IdentityKind::Phone,
                IdentityKind::Email,
                IdentityKind::Whatsapp,
            ][i % 3];
            (kind, format!("value-{i}"))
        })
        .collect();
    let expected = [
        (
            "messages",
            "USING INDEX ux_messages_external_id (tenant_id=? AND channel=? AND external_id=?)",
        ),
        (
            "sessions",
            "USING INDEX ux_sessions_ref (tenant_id=? AND channel=? AND session_ref=?)",
        ),
        (
            "lead_identities",
            "USING INDEX ux_lead_identities_value (tenant_id=? AND kind=? AND value=?)",
        ),
    ];
    for (table, index) in expected {
        seen.lock().unwrap().clear();
        match table {
            "messages" => {
                repo::messages::find_by_external_ids(db.reader(), tenant, &keys)
                    .await
                    .unwrap();
            }
            "sessions" => {
                repo::sessions::lock_for_ingest(db.reader(), tenant, &[], &keys)
                    .await
                    .unwrap();
            }
            _ => {
                repo::identities::find_by_values(db.reader(), tenant, &values)
                    .await
                    .unwrap();
            }
        }
        let statements = seen.lock().unwrap().clone();
        assert_eq!(
            statements.len(),
            3,
            "{table}: one statement per channel or kind"
        );
        for statement in &statements {
            let plan = sqlite_plan(&db, statement).await;
            assert!(plan.contains(index), "{table}: {plan}");
        }
    }
}

/// The memory context's reads, as a plan of their own (the app's plan is private).
struct ContextReads {
    tenant: Uuid,
    lead: Uuid,
}

impl ReadPlan for ContextReads {
    type Output = ();

    async fn run<C: Executor>(self, conn: &C) -> Result<(), DbErr> {
        let (tenant, lead) = (self.tenant, self.lead);
        repo::leads::find(conn, tenant, lead).await?;
        repo::leads::find_by_identity(conn, tenant, IdentityKind::Phone, "+14155552671").await?;
        repo::sessions::open_for_lead(conn, tenant, lead, Some(Channel::Call)).await?;
        repo::messages::latest_in_session(conn, tenant, lead, 12).await?;
        repo::notes::for_context(conn, tenant, lead, 5).await?;
        Ok(())
    }
}

/// How often SQLite prepared `statement` again over three runs with fresh bindings.
fn reprepares(conn: &rusqlite::Connection, statement: &Statement) -> i32 {
    let mut stmt = conn.prepare(&statement.sql).unwrap();
    for _ in 0..3 {
        memodesk::db::direct::bind(&mut stmt, statement).unwrap();
        let mut rows = stmt.raw_query();
        while rows.next().unwrap().is_some() {}
    }
    stmt.get_status(rusqlite::StatementStatus::RePrepare)
}

/// Every statement of the memory context keeps its prepared plan: a bound LIMIT, or a bound
/// status where a partial index names a literal one, makes SQLite prepare the statement again
/// on every run.
#[tokio::test]
async fn the_memory_contexts_statements_keep_their_prepared_plans() {
    let (_dir, path, db, seen) = recorded_sqlite().await;
    db.run_reads(ContextReads {
        tenant: Uuid::now_v7(),
        lead: Uuid::now_v7(),
    })
    .await
    .unwrap();
    let statements = seen.lock().unwrap().clone();
    assert_eq!(statements.len(), 5, "{statements:?}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    for statement in &statements {
        assert_eq!(reprepares(&conn, statement), 0, "{}", statement.sql);
    }
    // The traps avoided above, to show the check can fail.
    let limited = Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        "SELECT * FROM leads WHERE tenant_id = ? LIMIT ?",
        [Uuid::now_v7().into(), 1i64.into()],
    );
    assert!(reprepares(&conn, &limited) >= 2);
    let bound_status = Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        "SELECT * FROM sessions WHERE tenant_id = ? AND lead_id = ? AND status = ?",
        [Uuid::now_v7().into(), Uuid::now_v7().into(), "open".into()],
    );
    assert!(reprepares(&conn, &bound_status) >= 2);
}

/// Every row of `table` in the SQLite file at `path`, each column as its storage class and
/// value, sorted (row order is not part of what is stored).
fn stored_rows(path: &std::path::Path, table: &str) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let columns = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |row| {
            let values = (0..columns)
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("{values:?}"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

/// Copies every row of `E` from `from` to `to` through SeaORM (sqlx).
async fn copy_rows<E>(from: &sea_orm::DatabaseConnection, to: &sea_orm::DatabaseConnection)
where
    E: EntityTrait,
    E::Model: sea_orm::IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    use sea_orm::IntoActiveModel;
    let rows = E::find().all(from).await.unwrap();
    assert!(!rows.is_empty(), "nothing to copy");
    E::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .exec_without_returning(to)
        .await
        .unwrap();
}

/// On an SQLite file ingest writes through its own rusqlite connection. What it stores must be
/// byte for byte what sqlx stores for the same models (uuids as blobs, times as RFC 3339 text,
/// JSON as text, …): SQL comparisons and every other reader depend on it.
#[tokio::test]
async fn the_sqlite_writer_stores_what_sqlx_stores() {
    use memodesk::entities::{lead, lead_identity, profile_field_change, session, tenant};

    let app = TestApp::spawn().await;
    if app.is_postgres() {
        assert!(!app.state.db.has_rusqlite_paths());
        return;
    }
    assert!(app.state.db.has_rusqlite_paths());
    let t = app.tenant("Acme").await;
    // A lead with facts (profile history), identities of three kinds, an idle-closed session
    // (a summary job), a call with a session ref, events for all of it.
    let mut first = message(
        "WHATSAPP",
        "972525551234",
        "Hi, my name is Dana, I live in Haifa",
    );
    first["phone"] = json!("+972 52 555 1234");
    first["email"] = json!("dana@example.com");
    first["displayName"] = json!("Dana");
    first["externalId"] = json!("wamid.1");
    record(&app, &t.agent, first).await;
    record(
        &app,
        &t.agent,
        message(
            "WHATSAPP",
            "972525551234",
            "How much is it in EUR? 120 dollars?",
        ),
    )
    .await;
    app.clock.advance(Duration::minutes(20));
    // Closes the quiet WhatsApp session: its summary job.
    record(
        &app,
        &t.agent,
        message("WHATSAPP", "972525551234", "I'm back, start over please"),
    )
    .await;
    let mut call = message("CALL", "call-user", "שלום, קוראים לי דנה");
    call["phone"] = json!("+972 52 555 1234");
    call["sessionRef"] = json!("call-1");
    call["occurredAt"] = json!("2026-03-01T10:20:30.123456Z");
    record(&app, &t.agent, call).await;

    let dir = tempfile::tempdir().unwrap();
    let copy_path = dir.path().join("copy.db");
    let copy = memodesk::db::Db::connect(
        &format!("sqlite://{}", copy_path.display()),
        memodesk::db::PoolOptions::default(),
    )
    .await
    .unwrap();
    copy.migrate().await.unwrap();
    let from = app.state.db.reader();
    copy_rows::<tenant::Entity>(from, copy.writer()).await;
    copy_rows::<lead::Entity>(from, copy.writer()).await;
    copy_rows::<lead_identity::Entity>(from, copy.writer()).await;
    copy_rows::<session::Entity>(from, copy.writer()).await;
    copy_rows::<message::Entity>(from, copy.writer()).await;
    copy_rows::<profile_field_change::Entity>(from, copy.writer()).await;
    copy_rows::<job::Entity>(from, copy.writer()).await;
    copy_rows::<event::Entity>(from, copy.writer()).await;
    copy.close().await;

    let original = app
        .db_url
        .strip_prefix("sqlite://")
        .map(std::path::PathBuf::from)
        .unwrap();
    for table in [
        "leads",
        "lead_identities",
        "sessions",
        "messages",
        "profile_field_changes",
        "jobs",
        "events",
    ] {
        let written = stored_rows(&original, table);
        assert!(!written.is_empty(), "{table}: nothing written");
        assert_eq!(written, stored_rows(&copy_path, table), "{table}");
    }
}

/// On an SQLite file the context is read through `rusqlite` (`db::sqlite_reader`); everywhere
/// else through SeaORM. Both must read exactly the same rows into exactly the same models.
#[tokio::test]
async fn the_sqlite_reader_reads_what_seaorm_reads() {
    use memodesk::auth::Actor;
    use memodesk::services::memory::{self, ContextRequest};

    let app = TestApp::spawn().await;
    if app.is_postgres() {
        assert!(!app.state.db.has_rusqlite_paths());
        return;
    }
    assert!(app.state.db.has_rusqlite_paths());
    let t = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let mut first = message("WHATSAPP", "w1", "Hi, my name is Dana, I live in Haifa");
    first["phone"] = json!("+972 52 555 1234");
    first["displayName"] = json!("Dana");
    let lead = record(&app, &t.agent, first).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (i, text) in [
        "How much is the premium plan in EUR? Is it 120 dollars?",
        "Can I book a demo for next Tuesday?",
        "שלום, אפשר לדבר עם נציג?",
    ]
    .iter()
    .enumerate()
    {
        let mut m = message("WHATSAPP", "w1", text);
        m["externalId"] = json!(format!("wamid.{i}"));
        record(&app, &t.agent, m).await;
    }
    add_note(&app, &t.agent, &lead, "Pinned: prefers mornings", true).await;
    add_note(&app, &t.agent, &lead, "Asked about invoices", false).await;

    let state_without_reader = {
        let mut state = app.state.clone();
        state.db = state.db.seaorm_only();
        state
    };
    let actor = Actor::system(t.id);
    let lead_id: uuid::Uuid = lead.parse().unwrap();
    for request in [
        ContextRequest {
            lead_id: Some(lead_id),
            ..Default::default()
        },
        ContextRequest {
            phone: Some("+972-52-555-1234".into()),
            channel: Some(memodesk::domain::Channel::Whatsapp),
            locale: Some("he".into()),
            ..Default::default()
        },
        ContextRequest {
            lead_id: Some(lead_id),
            channel: Some(memodesk::domain::Channel::Call),
            ..Default::default()
        },
    ] {
        let fast = memory::context(&app.state, &actor, request.clone())
            .await
            .unwrap();
        let orm = memory::context(&state_without_reader, &actor, request)
            .await
            .unwrap();
        assert!(fast.lead.is_some());
        assert_eq!(fast.lead, orm.lead);
        assert_eq!(fast.session, orm.session);
        assert_eq!(fast.messages, orm.messages);
        assert_eq!(fast.notes, orm.notes);
        assert_eq!(fast.profile, orm.profile);
        assert_eq!(fast.rendered.text, orm.rendered.text);
    }
    let fast = memory::context(
        &app.state,
        &actor,
        ContextRequest {
            lead_id: Some(lead_id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(fast.messages.len(), 4);
    assert_eq!(fast.notes.len(), 2);
    assert!(fast.session.is_some());
    assert!(fast.messages.iter().any(|m| m.intent.is_some()));

    // Another tenant's lead id is a missing lead on the reader too.
    let err = memory::context(
        &app.state,
        &Actor::system(other.id),
        ContextRequest {
            lead_id: Some(lead_id),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}
