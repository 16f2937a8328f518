//! The test harness: the real server on port 0 with a fresh database per test.
//!
//! SQLite by default (a file in a temp dir). With `MEMODESK_TEST_POSTGRES_URL` set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), each test gets its own PostgreSQL database
//! cloned from a template migrated once per test binary.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use chrono::{DateTime, Duration, Utc};
use memodesk::app::{App, AppOptions};
use memodesk::clock::ManualClock;
use memodesk::config::{Secret, Settings};
use memodesk::domain::StaffRole;
use memodesk::llm::SharedLanguageModel;
use memodesk::services;
use memodesk::services::ingest::Ingest;
use memodesk::state::AppState;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The PostgreSQL server to test against, when configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("MEMODESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Skips a PostgreSQL-only test (with a notice) when no PostgreSQL is configured.
#[macro_export]
macro_rules! require_postgres {
    () => {
        if $crate::helpers::postgres_url().is_none() {
            eprintln!(
                "skipped: {} needs PostgreSQL (set MEMODESK_TEST_POSTGRES_URL)",
                module_path!()
            );
            return;
        }
    };
}

fn init_process() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var("TEST_LOG").is_ok() {
            memodesk::telemetry::init(memodesk::config::LogFormat::Text);
        }
    });
}

/// Where a test's data lives; dropped with the test.
pub enum TestDb {
    /// The directory is deleted when the test ends.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    pub async fn fresh() -> (Self, String) {
        match postgres_url() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/memodesk.db", dir.path().display());
                (TestDb::Sqlite { _dir: dir }, url)
            }
            Some(admin_url) => {
                let template = template_database(&admin_url).await;
                static COUNTER: AtomicUsize = AtomicUsize::new(0);
                let name = format!(
                    "memodesk_t_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                pg_exec(
                    &admin_url,
                    &format!("CREATE DATABASE {name} TEMPLATE {template}"),
                )
                .await;
                let url = database_url(&admin_url, &name);
                (TestDb::Postgres { admin_url, name }, url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(pg_exec(
                        &admin_url,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                }
            })
            .join();
        }
    }
}

fn database_url(admin_url: &str, name: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => format!("{admin_url}/{name}"),
    }
}

async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .expect(sql);
    let _ = conn.close().await;
}

/// A migrated template database, created once per test binary; leftovers of earlier runs
/// (whose process is gone) are dropped first.
async fn template_database(admin_url: &str) -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sqlx::{Connection, Row};
            let mut conn = sqlx::PgConnection::connect(admin_url)
                .await
                .expect("connect to PostgreSQL");
            let rows = sqlx::query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'memodesk\\_t\\_%' OR datname LIKE 'memodesk\\_tpl\\_%'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list databases");
            for row in rows {
                let name: String = row.get(0);
                let pid = name
                    .split('_')
                    .nth(2)
                    .and_then(|p| p.parse::<u32>().ok());
                let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                }
            }
            let name = format!("memodesk_tpl_{}", std::process::id());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create template");
            let _ = conn.close().await;
            let db = memodesk::db::Db::connect(&database_url(admin_url, &name), Default::default())
                .await
                .expect("connect to template");
            db.migrate().await.expect("migrate template");
            db.close().await;
            name
        })
        .await
        .clone()
}

/// How to start a test app.
#[derive(Clone, Default)]
pub struct TestOptions {
    pub llm: Option<SharedLanguageModel>,
    /// Semantic search's embedder (none unless given).
    pub embedder: Option<memodesk::llm::embeddings::SharedEmbedder>,
    pub settings: Option<fn(&mut Settings)>,
}

/// A running memodesk on its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    /// Records messages the way the server's resolvers do (its ingest writers).
    pub ingest: Ingest,
    pub clock: ManualClock,
    pub db_url: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    db: Option<Arc<TestDb>>,
}

pub fn test_settings(db_url: &str) -> Settings {
    Settings {
        addr: "127.0.0.1:0".parse().expect("addr"),
        database_url: Some(db_url.to_owned()),
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        db_max_connections: 5,
        // Tests run the workers one step at a time.
        workers_enabled: false,
        ..Settings::default()
    }
}

/// A fixed, recent start so tokens and idle timeouts behave as they would in production.
pub fn test_start() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).expect("time")
}

impl TestApp {
    /// Waits until this server has `n` live subscribers in all: a subscription starts
    /// asynchronously after its `subscribe` message, and an event written before it starts is
    /// (rightly) not delivered to it.
    pub async fn until_subscribed(&self, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.state.events.subscriber_count() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} subscribers, have {}",
                self.state.events.subscriber_count()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> Self {
        init_process();
        let (db, url) = TestDb::fresh().await;
        Self::start(Arc::new(db), url, options, ManualClock::new(test_start())).await
    }

    /// A second server on the same database (another replica).
    #[allow(dead_code)] // used by the replica tests
    pub async fn replica(&self, options: TestOptions) -> Self {
        Self::start(
            self.db.clone().expect("database"),
            self.db_url.clone(),
            options,
            self.clock.clone(),
        )
        .await
    }

    async fn start(db: Arc<TestDb>, url: String, options: TestOptions, clock: ManualClock) -> Self {
        let mut settings = test_settings(&url);
        if let Some(adjust) = options.settings {
            adjust(&mut settings);
        }
        let app = App::build_with(
            settings,
            AppOptions {
                clock: Arc::new(clock.clone()),
                llm: options.llm.clone(),
                embedder: options.embedder.clone(),
            },
        )
        .await
        .expect("app builds");
        let addr = app.local_addr().expect("addr");
        let state = app.state().clone();
        let ingest = app.ingest().clone();
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(async move {
            app.run_until_cancelled().await.expect("server runs");
        });
        TestApp {
            addr,
            client: reqwest::Client::new(),
            state,
            ingest,
            clock,
            db_url: url,
            shutdown,
            server: Some(server),
            db: Some(db),
        }
    }

    /// Stops this server and starts a new one on the same database.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let db = self.db.take().expect("database");
        Self::start(
            db,
            self.db_url.clone(),
            TestOptions::default(),
            self.clock.clone(),
        )
        .await
    }

    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Runs the idle sweeper once and checks that it closed `closed` sessions.
    pub async fn sweep(&self, closed: usize) {
        let swept = memodesk::services::sessions::close_idle(&self.state)
            .await
            .expect("sweep");
        assert_eq!(swept, closed, "sessions the sweeper closed");
    }

    /// Runs the queued jobs once and checks that `done` of them finished.
    pub async fn run_jobs(&self, done: usize) {
        let report = memodesk::workers::jobs::run_pending(&self.state)
            .await
            .expect("run jobs");
        assert_eq!(report.done, done, "jobs that finished: {report:?}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    #[allow(dead_code)] // used by backend-specific tests
    pub fn is_postgres(&self) -> bool {
        self.db_url.starts_with("postgres")
    }

    /// A tenant with tokens for each role.
    pub async fn tenant(&self, name: &str) -> TestTenant {
        let tenant = services::tenants::create(&self.state.db, name, self.state.now())
            .await
            .expect("tenant");
        let token = |role| {
            self.state
                .jwt
                .issue(
                    "test",
                    tenant.id,
                    role,
                    self.state.now(),
                    Duration::hours(12),
                )
                .expect("token")
        };
        TestTenant {
            id: tenant.id,
            admin: token(StaffRole::Admin),
            agent: token(StaffRole::Agent),
            viewer: token(StaffRole::Viewer),
        }
    }

    /// Runs a GraphQL request with a bearer credential (or none).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON body");
        Gql { status, body }
    }

    /// Number of SQL statements this app has sent so far.
    pub fn statements(&self) -> u64 {
        self.state.db_query_count()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A tenant and tokens for its roles.
pub struct TestTenant {
    pub id: Uuid,
    pub admin: String,
    pub agent: String,
    pub viewer: String,
}

/// A GraphQL response.
#[derive(Debug, Clone)]
pub struct Gql {
    pub status: u16,
    pub body: Value,
}

impl Gql {
    /// `data`, after asserting there were no errors.
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none_or(Value::is_null),
            "unexpected errors: {}",
            serde_json::to_string_pretty(&self.body).unwrap_or_default()
        );
        &self.body["data"]
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    /// Asserts the request failed with `code`; returns the message.
    #[track_caller]
    pub fn expect_error(&self, code: &str) -> &str {
        assert_eq!(
            self.code(),
            Some(code),
            "expected {code}, got: {}",
            serde_json::to_string_pretty(&self.body).unwrap_or_default()
        );
        self.message()
    }
}

/// A message to record, as GraphQL variables.
pub fn message(channel: &str, user: &str, content: &str) -> Value {
    json!({ "channel": channel, "externalUserId": user, "content": content })
}

/// A caller's turns on one call, as GraphQL variables: `turn(content, ends_session)`.
pub fn call(phone: &str, session_ref: &str) -> impl Fn(&str, bool) -> Value {
    let (phone, session_ref) = (phone.to_owned(), session_ref.to_owned());
    move |content, ends| {
        json!({ "channel": "CALL", "phone": phone, "sessionRef": session_ref,
                "content": content, "endsSession": ends })
    }
}

pub const RECORD: &str = r#"
mutation Record($input: RecordMessageInput!, $withContext: Boolean = false) {
  recordMessage(input: $input, withContext: $withContext) {
    duplicate leadCreated sessionCreated
    message { id content role intent occurredAt externalId }
    session { id status channel closeReason messageCount }
    lead { id displayName primaryPhone messageCount sessionCount }
    context { isReturning suggestedOpening rendered { text estimatedTokens } }
  }
}"#;

/// Records a message and returns `recordMessage`.
pub async fn record(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), RECORD, json!({ "input": input }))
        .await
        .ok()["recordMessage"]
        .clone()
}

/// Sets one profile field as staff (`setProfileField`).
pub async fn set_profile_field(
    app: &TestApp,
    token: &str,
    lead: &str,
    key: &str,
    value: &str,
) -> Gql {
    app.gql(
        Some(token),
        r#"mutation($id: ID!, $key: String!, $value: String!) {
            setProfileField(leadId: $id, key: $key, value: $value) { id } }"#,
        json!({ "id": lead, "key": key, "value": value }),
    )
    .await
}

/// A tenant's events in sequence order.
pub async fn events(app: &TestApp, tenant: Uuid) -> Vec<memodesk::entities::event::Model> {
    use memodesk::entities::event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant))
        .order_by_asc(event::Column::Seq)
        .all(app.state.db.reader())
        .await
        .unwrap()
}

/// A tenant's events in sequence order, after checking that the numbers run 1, 2, 3… without
/// gaps.
pub async fn gapless_events(app: &TestApp, tenant: Uuid) -> Vec<memodesk::entities::event::Model> {
    let events = events(app, tenant).await;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    events
}

/// Changes a tenant's settings as `admin`: `input` holds fields of `UpdateTenantSettingsInput`
/// in GraphQL syntax, e.g. `sessionIdleMinutes: 60`.
pub async fn update_settings(app: &TestApp, admin: &str, input: &str) {
    app.gql(
        Some(admin),
        &format!("mutation {{ updateTenantSettings(input: {{ {input} }}) {{ id }} }}"),
        json!({}),
    )
    .await
    .ok();
}

/// Adds a note to `lead` as `token`'s caller.
pub async fn add_note(app: &TestApp, token: &str, lead: &str, body: &str, pinned: bool) {
    app.gql(
        Some(token),
        "mutation($input: AddNoteInput!) { addNote(input: $input) { id } }",
        json!({ "input": { "leadId": lead, "body": body, "pinned": pinned } }),
    )
    .await
    .ok();
}
