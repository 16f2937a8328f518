//! The background pipeline: sweeper, durable jobs, summaries, exactly once per session.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::Duration;
use memodesk::entities::{event, interaction_summary, job};
use memodesk::repo;
use memodesk::services;
use memodesk::services::summaries::{self, Fence, Outcome};
use memodesk::workers;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{TestApp, TestOptions, call, message, record};

const CONTEXT: &str = r#"query($lead: ID!) { memoryContext(leadId: $lead) {
    isReturning lastSummary { text channel } rendered { text } } }"#;

async fn summaries_for(app: &TestApp, tenant: Uuid) -> Vec<interaction_summary::Model> {
    interaction_summary::Entity::find()
        .filter(interaction_summary::Column::TenantId.eq(tenant))
        .all(app.state.db.reader())
        .await
        .unwrap()
}

async fn summary_events(app: &TestApp, tenant: Uuid) -> Vec<event::Model> {
    event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant))
        .filter(event::Column::EventType.eq("summary.created"))
        .all(app.state.db.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idle_conversation_is_closed_summarized_and_remembered_next_time() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(
        &app,
        &t.agent,
        message(
            "WHATSAPP",
            "972525551234",
            "Hi, my name is Dana. How much is a flight to Rome?",
        ),
    )
    .await;
    let mut agent = message("WHATSAPP", "972525551234", "Return flights start at $420.");
    agent["role"] = json!("AGENT");
    record(&app, &t.agent, agent).await;
    let session = first["session"]["id"].as_str().unwrap().to_owned();
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();

    // Not idle yet: nothing happens.
    app.clock.advance(Duration::minutes(10));
    app.sweep(0).await;
    assert_eq!(
        workers::jobs::run_pending(&app.state)
            .await
            .unwrap()
            .total(),
        0
    );

    app.clock.advance(Duration::minutes(6));
    app.sweep(1).await;
    assert_eq!(
        services::sessions::close_idle(&app.state).await.unwrap(),
        0,
        "sweeping again closes nothing"
    );
    app.run_jobs(1).await;

    let detail = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { session(id: $id) { status closeReason summary { summary provider intents sentiment } } }",
            json!({ "id": session }),
        )
        .await;
    let s = &detail.ok()["session"];
    assert_eq!(s["status"], "CLOSED");
    assert_eq!(s["closeReason"], "IDLE_TIMEOUT");
    assert_eq!(s["summary"]["provider"], "builtin");
    assert!(s["summary"]["summary"].as_str().unwrap().contains("Rome"));

    // The next conversation starts with that memory.
    app.clock.advance(Duration::hours(2));
    record(
        &app,
        &t.agent,
        message("WHATSAPP", "972525551234", "Hello again"),
    )
    .await;
    let context = app
        .gql(Some(&t.viewer), CONTEXT, json!({ "lead": lead }))
        .await;
    let c = &context.ok()["memoryContext"];
    assert_eq!(c["isReturning"], true);
    assert_eq!(c["lastSummary"]["channel"], "WHATSAPP");
    assert!(c["lastSummary"]["text"].as_str().unwrap().contains("Rome"));
    assert!(c["rendered"]["text"].as_str().unwrap().contains("Rome"));
    assert_eq!(summary_events(&app, t.id).await.len(), 1);
}

#[tokio::test]
async fn a_customer_who_comes_back_saying_start_over_keeps_the_last_summary() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let customer = |content: &str| message("WHATSAPP", "972525551234", content);
    let first = record(&app, &t.agent, customer("How much is a flight to Rome?")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();

    // Two hours later the customer's first words are a reset: the Rome conversation closes
    // as idle, and a session holding only "start over" opens and closes at once.
    app.clock.advance(Duration::hours(2));
    let reset = record(&app, &t.agent, customer("start over")).await;
    assert_eq!(reset["sessionCreated"], true);
    assert_eq!(reset["session"]["closeReason"], "RESET");
    let report = workers::jobs::run_pending(&app.state).await.unwrap();
    assert_eq!(
        report.done, 1,
        "only the Rome conversation has anything to summarize"
    );

    let context = app
        .gql(Some(&t.viewer), CONTEXT, json!({ "lead": lead }))
        .await;
    let last = context.ok()["memoryContext"]["lastSummary"]["text"].clone();
    assert!(last.as_str().unwrap().contains("Rome"), "{last}");
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
}

#[tokio::test]
async fn a_summary_written_after_the_customer_came_back_does_not_undo_what_they_said_since() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let customer = |content: &str| message("WHATSAPP", "972525551235", content);
    let first = record(&app, &t.agent, customer("Hi, I live in Tel Aviv")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    // Back before the summary of that conversation is written, with news.
    record(&app, &t.agent, customer("Hi again. I live in Haifa")).await;
    app.run_jobs(1).await;

    let lead = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { lead(id: $id) { profile { key value } } }"#,
            json!({ "id": lead }),
        )
        .await;
    let city = lead.ok()["lead"]["profile"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "city")
        .map(|f| f["value"].clone());
    assert_eq!(city, Some(json!("Haifa")));
}

#[tokio::test]
async fn a_rerun_replaces_the_summary_and_never_duplicates_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let r = record(
        &app,
        &t.agent,
        message("WEB", "v", "I want to book a haircut on Friday"),
    )
    .await;
    let session = r["session"]["id"].as_str().unwrap().to_owned();
    let early = app
        .gql(
            Some(&t.agent),
            "mutation($id: ID!) { summarizeSession(id: $id) { id } }",
            json!({ "id": session }),
        )
        .await;
    assert!(early.expect_error("BAD_USER_INPUT").contains("still open"));
    let closed = app
        .gql(
            Some(&t.agent),
            "mutation($id: ID!) { closeSession(id: $id) { status closeReason } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(closed.ok()["closeSession"]["closeReason"], "MANUAL");
    workers::jobs::run_pending(&app.state).await.unwrap();
    let first = app
        .gql(
            Some(&t.agent),
            "mutation($id: ID!) { summarizeSession(id: $id) { id summary } }",
            json!({ "id": session }),
        )
        .await;
    let again = app
        .gql(
            Some(&t.agent),
            "mutation($id: ID!) { summarizeSession(id: $id) { id summary } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(
        first.ok()["summarizeSession"]["id"],
        again.ok()["summarizeSession"]["id"]
    );
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
    app.gql(
        Some(&t.viewer),
        "mutation($id: ID!) { summarizeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn an_ended_call_gets_a_call_summary_note() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let call = call("+14155552671", "CA9");
    let first = record(
        &app,
        &t.agent,
        call(
            "Hi, I'd like to reschedule my appointment to Thursday",
            false,
        ),
    )
    .await;
    record(&app, &t.agent, call("Thanks, bye", true)).await;
    app.run_jobs(1).await;
    let lead = first["lead"]["id"].as_str().unwrap();
    let notes = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { notes { kind body author sessionId } } }",
            json!({ "id": lead }),
        )
        .await;
    let notes = notes.ok()["lead"]["notes"].as_array().unwrap().clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"], "CALL_SUMMARY");
    assert_eq!(notes[0]["author"], "memodesk");
    assert_eq!(notes[0]["sessionId"], first["session"]["id"]);

    // A late transcript re-queues the summary, which updates the same note.
    record(
        &app,
        &t.agent,
        call("[transcript] the customer also asked about parking", false),
    )
    .await;
    app.run_jobs(1).await;
    let notes = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { notes { kind } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(notes.ok()["lead"]["notes"].as_array().unwrap().len(), 1);
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
}

#[tokio::test]
async fn a_worker_that_dies_mid_job_is_replaced_and_the_summary_is_written_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let r = record(
        &app,
        &t.agent,
        message("WEB", "v", "Do you sell travel insurance?"),
    )
    .await;
    let session_id: Uuid = r["session"]["id"].as_str().unwrap().parse().unwrap();
    app.clock.advance(Duration::minutes(20));
    services::sessions::close_idle(&app.state).await.unwrap();

    // A worker claims the job and dies before finishing.
    let crashed = workers::jobs::claim(&app.state, "crashed-worker", 10)
        .await
        .unwrap();
    assert_eq!(crashed.len(), 1);
    assert_eq!(
        workers::jobs::run_pending(&app.state)
            .await
            .unwrap()
            .total(),
        0,
        "the lease holds"
    );

    // Its lease expires; another runner takes the job over.
    app.clock.advance(Duration::minutes(3));
    app.run_jobs(1).await;

    // The dead worker wakes up and tries to finish: its lease is gone, so nothing is written.
    let late = summaries::summarize_session(
        &app.state,
        t.id,
        session_id,
        Some(Fence {
            job: &crashed[0],
            owner: "crashed-worker",
        }),
    )
    .await
    .unwrap();
    assert!(matches!(late, Outcome::LeaseLost));
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
    assert_eq!(
        summary_events(&app, t.id).await.len(),
        1,
        "the summary took effect once"
    );
    let job = job::Entity::find()
        .filter(job::Column::TenantId.eq(t.id))
        .one(app.state.db.reader())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "done");
    assert_eq!(job.attempts, 2);
}

#[tokio::test]
async fn a_job_whose_workers_keep_dying_ends_dead_and_can_be_retried() {
    let app = TestApp::spawn_with(TestOptions {
        settings: Some(|s| s.job_max_attempts = 2),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let r = record(&app, &t.agent, message("WEB", "v", "Hello, I need help")).await;
    let session = r["session"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&t.agent),
        "mutation($id: ID!) { closeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await
    .ok();
    for _ in 0..2 {
        assert_eq!(
            workers::jobs::claim(&app.state, "doomed", 1)
                .await
                .unwrap()
                .len(),
            1
        );
        app.clock.advance(Duration::minutes(3));
    }
    let report = workers::jobs::run_pending(&app.state).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let jobs = app
        .gql(
            Some(&t.admin),
            "{ jobs(status: DEAD) { totalCount nodes { id kind status attempts lastError } } }",
            json!({}),
        )
        .await;
    let dead = &jobs.ok()["jobs"]["nodes"][0];
    assert_eq!(jobs.ok()["jobs"]["totalCount"], 1);
    assert_eq!(dead["kind"], "summarize_session");
    assert!(dead["lastError"].as_str().unwrap().contains("lease"));
    assert!(summaries_for(&app, t.id).await.is_empty());

    app.gql(
        Some(&t.agent),
        "mutation($id: ID!) { retryJob(id: $id) { status } }",
        json!({ "id": dead["id"] }),
    )
    .await
    .expect_error("FORBIDDEN");
    let retried = app
        .gql(
            Some(&t.admin),
            "mutation($id: ID!) { retryJob(id: $id) { status attempts } }",
            json!({ "id": dead["id"] }),
        )
        .await;
    assert_eq!(retried.ok()["retryJob"]["status"], "PENDING");
    app.run_jobs(1).await;
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
}

#[tokio::test]
async fn unknown_job_kinds_die_at_once_with_a_reason() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let now = app.state.now();
    repo::jobs::enqueue_many(
        app.state.db.writer(),
        vec![repo::jobs::NewJob {
            tenant_id: t.id,
            kind: "mystery".into(),
            payload: json!({}),
            dedupe_key: None,
            run_at: now,
            max_attempts: 5,
        }],
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        workers::jobs::run_pending(&app.state).await.unwrap().dead,
        1
    );
    let jobs = app
        .gql(
            Some(&t.admin),
            "{ jobs { nodes { status lastError } } }",
            json!({}),
        )
        .await;
    assert_eq!(jobs.ok()["jobs"]["nodes"][0]["status"], "DEAD");
    assert!(
        jobs.ok()["jobs"]["nodes"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("mystery")
    );
}

#[tokio::test]
async fn pipeline_operations_are_tenant_scoped() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let r = record(&app, &a.agent, message("WEB", "v", "Hello")).await;
    let session = r["session"]["id"].as_str().unwrap().to_owned();
    app.gql(
        Some(&a.agent),
        "mutation($id: ID!) { closeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await
    .ok();
    workers::jobs::run_pending(&app.state).await.unwrap();
    let job_id = app
        .gql(Some(&a.admin), "{ jobs { nodes { id } } }", json!({}))
        .await
        .ok()["jobs"]["nodes"][0]["id"]
        .clone();

    for (query, vars) in [
        (
            "mutation($id: ID!) { closeSession(id: $id) { id } }",
            json!({ "id": session }),
        ),
        (
            "mutation($id: ID!) { summarizeSession(id: $id) { id } }",
            json!({ "id": session }),
        ),
        (
            "mutation($id: ID!) { retryJob(id: $id) { id } }",
            json!({ "id": job_id }),
        ),
        (
            "query($id: ID!) { session(id: $id) { summary { id } } }",
            json!({ "id": session }),
        ),
    ] {
        let response = app.gql(Some(&b.admin), query, vars).await;
        assert!(
            response.expect_error("NOT_FOUND").contains("not found"),
            "{query}"
        );
    }
    let jobs = app
        .gql(Some(&b.admin), "{ jobs { totalCount } }", json!({}))
        .await;
    assert_eq!(jobs.ok()["jobs"]["totalCount"], 0);
    app.gql(Some(&a.agent), "{ jobs { totalCount } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
    assert_eq!(summaries_for(&app, a.id).await.len(), 1);
}

#[tokio::test]
async fn two_replicas_summarize_200_sessions_exactly_once() {
    crate::require_postgres!();
    let app = TestApp::spawn().await;
    let replica = app.replica(TestOptions::default()).await;
    let t = app.tenant("Acme").await;
    let inputs: Vec<Value> = (0..200)
        .map(|i| {
            message(
                "WEB",
                &format!("visitor-{i}"),
                "Hello, what are your prices?",
            )
        })
        .collect();
    for chunk in inputs.chunks(100) {
        app.gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": chunk }),
        )
        .await
        .ok();
    }
    app.clock.advance(Duration::minutes(20));
    // Both replicas sweep at once: each session closes once.
    let (a, b) = tokio::join!(
        services::sessions::close_idle(&app.state),
        services::sessions::close_idle(&replica.state)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 200);

    let stop = CancellationToken::new();
    let runners = [
        tokio::spawn(workers::jobs::run_loop(app.state.clone(), stop.clone())),
        tokio::spawn(workers::jobs::run_loop(replica.state.clone(), stop.clone())),
    ];
    let deadline = std::time::Instant::now() + StdDuration::from_secs(120);
    loop {
        let open = job::Entity::find()
            .filter(job::Column::TenantId.eq(t.id))
            .filter(job::Column::Status.ne("done"))
            .count(app.state.db.reader())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} jobs still not done"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    stop.cancel();
    for runner in runners {
        runner.await.unwrap();
    }
    assert_eq!(summaries_for(&app, t.id).await.len(), 200);
    let mut per_session: HashMap<Uuid, usize> = HashMap::new();
    for e in summary_events(&app, t.id).await {
        *per_session.entry(e.session_id.unwrap()).or_default() += 1;
    }
    assert_eq!(per_session.len(), 200);
    assert!(
        per_session.values().all(|n| *n == 1),
        "every session summarized exactly once"
    );
}

/// Records a message and closes its session, leaving one summary job pending.
async fn one_pending_summary(app: &TestApp, token: &str) {
    let r = record(
        app,
        token,
        message("WEB", "v", "Do you have hotels in Eilat?"),
    )
    .await;
    app.gql(
        Some(token),
        "mutation($id: ID!) { closeSession(id: $id) { id } }",
        json!({ "id": r["session"]["id"] }),
    )
    .await
    .ok();
}

async fn job_status(app: &TestApp, tenant: Uuid) -> String {
    job::Entity::find()
        .filter(job::Column::TenantId.eq(tenant))
        .one(app.state.db.reader())
        .await
        .unwrap()
        .map(|j| j.status)
        .unwrap_or_default()
}

async fn until_running(app: &TestApp, tenant: Uuid) {
    until_status(app, tenant, "running").await;
}

/// Waits (up to 10 s) until the tenant's job has `status`.
async fn until_status(app: &TestApp, tenant: Uuid, status: &str) {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while job_status(app, tenant).await != status {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never became {status}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// An app whose LLM answers after `delay` (keep the fake alive while the app uses it).
async fn with_slow_llm(delay: StdDuration) -> (crate::fake_llm::FakeLlm, TestApp) {
    let fake = crate::fake_llm::FakeLlm::start(vec![crate::fake_llm::Reply::Slow(delay)]).await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(StdDuration::from_secs(5), 0)),
        ..Default::default()
    })
    .await;
    (fake, app)
}

#[tokio::test]
async fn shutdown_waits_for_a_running_job_to_finish() {
    let (_fake, app) = with_slow_llm(StdDuration::from_millis(1200)).await;
    let t = app.tenant("Acme").await;
    one_pending_summary(&app, &t.agent).await;
    let stop = CancellationToken::new();
    let runner = tokio::spawn(workers::jobs::run_loop(app.state.clone(), stop.clone()));
    until_running(&app, t.id).await;
    stop.cancel();
    runner.await.unwrap();
    assert_eq!(
        job_status(&app, t.id).await,
        "done",
        "the runner finished its job before stopping"
    );
    assert_eq!(summaries_for(&app, t.id).await[0].provider, "openai");
}

#[tokio::test]
async fn shutdown_gives_up_after_the_grace_period_and_the_job_runs_again_later() {
    let fake = crate::fake_llm::FakeLlm::start(vec![crate::fake_llm::Reply::Slow(
        StdDuration::from_secs(4),
    )])
    .await;
    let app = TestApp::spawn_with(TestOptions {
        llm: Some(fake.client(StdDuration::from_secs(10), 0)),
        settings: Some(|s| s.shutdown_grace = std::time::Duration::from_millis(200)),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    one_pending_summary(&app, &t.agent).await;
    let stop = CancellationToken::new();
    let runner = tokio::spawn(workers::jobs::run_loop(app.state.clone(), stop.clone()));
    until_running(&app, t.id).await;
    let stopping = std::time::Instant::now();
    stop.cancel();
    runner.await.unwrap();
    assert!(
        stopping.elapsed() < StdDuration::from_secs(2),
        "stopped within the grace period"
    );
    assert_eq!(
        job_status(&app, t.id).await,
        "running",
        "abandoned to its lease"
    );
    assert!(summaries_for(&app, t.id).await.is_empty());

    // Its lease expires; the next runner does it (the fake now answers at once).
    app.clock.advance(Duration::minutes(3));
    app.run_jobs(1).await;
    assert_eq!(summaries_for(&app, t.id).await.len(), 1);
}

#[tokio::test]
async fn a_conversation_opened_again_while_its_summary_is_written_keeps_no_summary() {
    let (_fake, app) = with_slow_llm(StdDuration::from_millis(1500)).await;
    let t = app.tenant("Acme").await;
    let sms = |minutes: i64, content: &str| {
        let mut input = message("SMS", "+14155552671", content);
        input["occurredAt"] = json!((app.state.now() + Duration::minutes(minutes)).to_rfc3339());
        input
    };
    let first = record(&app, &t.agent, sms(0, "Is the blue sofa in stock?")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    let stop = CancellationToken::new();
    let runner = tokio::spawn(workers::jobs::run_loop(app.state.clone(), stop.clone()));
    until_running(&app, t.id).await;
    // While the model writes, a message sent ten minutes after the first arrives: the
    // conversation never went quiet, and is open again.
    let late = record(&app, &t.agent, sms(-10, "And in grey?")).await;
    assert_eq!(late["session"]["status"], "OPEN");
    until_status(&app, t.id, "done").await;
    stop.cancel();
    runner.await.unwrap();
    assert!(
        summaries_for(&app, t.id).await.is_empty(),
        "a summary of half the conversation was stored"
    );
    let context = app
        .gql(Some(&t.viewer), CONTEXT, json!({ "lead": lead }))
        .await;
    assert_eq!(context.ok()["memoryContext"]["lastSummary"], Value::Null);
}

/// Housekeeping deletes finished jobs past a week, a chunk at a time, and leaves the ones that
/// still wait to run.
#[tokio::test]
async fn finished_jobs_past_a_week_are_deleted_in_chunks_and_waiting_ones_stay() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for user in ["wa-1", "wa-2", "wa-3"] {
        record(
            &app,
            &t.agent,
            message("WHATSAPP", user, "How much is a flight to Rome?"),
        )
        .await;
    }
    app.clock.advance(Duration::minutes(20));
    app.sweep(3).await;
    let done = workers::jobs::run_pending(&app.state).await.unwrap().done as u64;
    assert!(done >= 3, "{done} jobs done");
    // A fourth conversation closes a week later; its summary has not run yet.
    record(&app, &t.agent, message("WHATSAPP", "wa-4", "Hello again")).await;
    app.clock.advance(Duration::days(8));
    app.sweep(1).await;
    let count = |status: &'static str| {
        let db = app.state.db.reader().clone();
        async move {
            job::Entity::find()
                .filter(job::Column::Status.eq(status))
                .count(&db)
                .await
                .unwrap()
        }
    };
    let waiting = count("pending").await;
    assert!(waiting >= 1);

    let before = app.state.now() - Duration::days(7);
    let deleted = repo::jobs::delete_done_before(app.state.db.writer(), before, 2)
        .await
        .unwrap();
    assert_eq!(deleted, done, "every finished job, two per statement");
    assert_eq!(count("done").await, 0);
    assert_eq!(count("pending").await, waiting);
}
