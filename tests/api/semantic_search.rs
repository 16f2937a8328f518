//! Semantic search (issue 30): a local model2vec-format model the test builds and a fake
//! OpenAI-compatible embeddings server; background embedding, fusion with the words, a
//! provider that is down, a change of model, tenants, erasure and the backfill.

use chrono::Duration;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fake_embeddings::{FakeEmbeddings, concept_model};
use crate::helpers::{TestApp, TestOptions, TestTenant, message, record};
use crate::privacy_erasure::ERASE;

const SEARCH: &str = r#"query($q: String!, $filter: SearchFilter) {
  search(query: $q, filter: $filter) {
    semantic semanticError
    nodes { kind score lexicalRank lexicalScore semanticRank semanticSimilarity snippet
      record { ... on Message { content } ... on Note { body } ... on InteractionSummary { summary } } }
  }
}"#;

const CONTEXT: &str = r#"query($lead: ID!, $text: String) {
  memoryContext(leadId: $lead, relevantTo: $text) {
    relevantMemories { semanticRank lexicalRank record { ... on Message { content } } }
  }
}"#;

/// A search's answer as tests read it.
#[derive(Debug)]
struct Found(Value);

impl Found {
    fn texts(&self) -> Vec<String> {
        self.0["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let r = &n["record"];
                r["content"]
                    .as_str()
                    .or(r["body"].as_str())
                    .or(r["summary"].as_str())
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }
    fn hit(&self, text: &str) -> &Value {
        self.0["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["record"]["content"] == text || n["record"]["body"] == text)
            .unwrap_or_else(|| panic!("no hit {text:?} in {:?}", self.0))
    }
    fn semantic(&self) -> &Value {
        &self.0["semantic"]
    }
    fn error(&self) -> Option<&str> {
        self.0["semanticError"].as_str()
    }
}

async fn search(app: &TestApp, token: &str, q: &str) -> Found {
    let response = app.gql(Some(token), SEARCH, json!({ "q": q })).await;
    Found(response.ok()["search"].clone())
}

async fn says(app: &TestApp, t: &TestTenant, user: &str, content: &str) -> String {
    let recorded = record(app, &t.agent, message("WHATSAPP", user, content)).await;
    recorded["lead"]["id"].as_str().unwrap().to_owned()
}

/// Queues the embedding jobs for `tenants` tenants and runs every job due.
async fn embed(app: &TestApp, tenants: usize) {
    let scheduled = memodesk::services::embeddings::schedule(&app.state)
        .await
        .expect("schedule");
    assert_eq!(scheduled, tenants, "tenants with records to embed");
    let report = memodesk::workers::jobs::run_pending(&app.state)
        .await
        .expect("run jobs");
    assert!(
        report.done >= tenants && report.total() == report.done,
        "{report:?}"
    );
}

async fn vectors(app: &TestApp, tenant: Uuid, lead: Option<&str>) -> Vec<(String, i64)> {
    let db = app.state.db.writer();
    let (sql, values): (&str, Vec<sea_orm::Value>) = match lead {
        Some(lead) => (
            "SELECT model, dims FROM search_vectors WHERE tenant_id = $1 AND lead_id = $2",
            vec![tenant.into(), Uuid::parse_str(lead).unwrap().into()],
        ),
        None => (
            "SELECT model, dims FROM search_vectors WHERE tenant_id = $1",
            vec![tenant.into()],
        ),
    };
    db.query_all_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| {
        let dims: i64 = row
            .try_get_by_index::<i64>(1)
            .or_else(|_| row.try_get_by_index::<i32>(1).map(i64::from))
            .unwrap();
        (row.try_get_by_index::<String>(0).unwrap(), dims)
    })
    .collect()
}

fn with(embedder: memodesk::llm::embeddings::SharedEmbedder) -> TestOptions {
    TestOptions {
        embedder: Some(embedder),
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn a_question_in_other_words_finds_the_customers_message_by_its_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(dir.path(), 0.0))).await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "972500000001", "The terrace faces the sea").await;
    says(
        &app,
        &t,
        "972500000002",
        "Is there parking near the building?",
    )
    .await;
    says(&app, &t, "972500000003", "Does the balcony get sun?").await;

    // Ingest embeds nothing: the vectors come from the background job.
    assert!(vectors(&app, t.id, None).await.is_empty());
    let before = search(&app, &t.viewer, "balcony").await;
    assert_eq!(before.semantic(), &json!(true));
    assert_eq!(before.texts(), ["Does the balcony get sun?"]);

    embed(&app, 1).await;
    assert_eq!(vectors(&app, t.id, None).await.len(), 3);

    let found = search(&app, &t.viewer, "balcony").await;
    assert_eq!(found.semantic(), &json!(true));
    assert_eq!(found.error(), None);
    assert_eq!(
        found.texts(),
        ["Does the balcony get sun?", "The terrace faces the sea"],
        "words and meaning first, meaning alone next, the unrelated not at all"
    );
    let both = found.hit("Does the balcony get sun?");
    assert_eq!(both["lexicalRank"], 1);
    assert!(both["semanticRank"].as_i64().is_some());
    let similarity = both["semanticSimilarity"].as_f64().unwrap();
    assert!(similarity > 0.9, "{similarity}");
    let meaning = found.hit("The terrace faces the sea");
    assert_eq!(meaning["lexicalRank"], Value::Null);
    assert_eq!(meaning["lexicalScore"], Value::Null);
    assert!(meaning["semanticRank"].as_i64().is_some());
    assert!(meaning["semanticSimilarity"].as_f64().unwrap() > 0.9);
    let fused = both["score"].as_f64().unwrap();
    let rank = both["semanticRank"].as_f64().unwrap();
    assert!((fused - (1.0 / 61.0 + 1.0 / (60.0 + rank))).abs() < 1e-9);
    assert!(fused > meaning["score"].as_f64().unwrap());

    // Hebrew works the same way.
    says(&app, &t, "972500000004", "יש חניה בבניין?").await;
    embed(&app, 1).await;
    let hebrew = search(&app, &t.viewer, "garage").await;
    assert!(
        hebrew.texts().contains(&"יש חניה בבניין?".to_owned()),
        "{hebrew:?}"
    );
    // A second run finds nothing left to embed.
    assert_eq!(
        memodesk::services::embeddings::schedule(&app.state)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn without_an_embedder_search_says_it_is_lexical() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "972500000001", "The terrace faces the sea").await;
    let found = search(&app, &t.viewer, "terrace").await;
    assert_eq!(found.semantic(), &Value::Null);
    assert_eq!(found.error(), None);
    assert_eq!(found.0["nodes"][0]["semanticRank"], Value::Null);
    assert_eq!(
        memodesk::services::embeddings::schedule(&app.state)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn when_the_embeddings_provider_is_down_search_and_the_memory_context_fall_back_to_words() {
    let provider = FakeEmbeddings::start().await;
    let app = TestApp::spawn_with(with(provider.client())).await;
    let t = app.tenant("Acme").await;
    let lead = says(&app, &t, "972500000001", "The terrace faces the sea").await;
    says(&app, &t, "972500000001", "And the balcony?").await;
    embed(&app, 1).await;
    assert_eq!(
        provider.authorization().as_deref(),
        Some("Bearer sk-embed-secret")
    );
    let up = search(&app, &t.viewer, "porch").await;
    assert_eq!(up.semantic(), &json!(true));
    assert_eq!(up.texts().len(), 2, "{up:?}");

    provider.go_down();
    let down = search(&app, &t.viewer, "balcony").await;
    assert_eq!(down.semantic(), &json!(false));
    let error = down.error().expect("semanticError");
    assert!(error.contains("503"), "{error}");
    assert!(!error.contains("sk-embed-secret"), "{error}");
    assert_eq!(down.texts(), ["And the balcony?"]);
    assert_eq!(down.0["nodes"][0]["semanticRank"], Value::Null);

    // The memory context answers too, with the words alone.
    app.clock.advance(Duration::days(2));
    says(&app, &t, "972500000001", "Hello again").await;
    let context = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "balcony" }),
        )
        .await;
    let memories = context.ok()["memoryContext"]["relevantMemories"].clone();
    assert_eq!(
        memories[0]["record"]["content"], "And the balcony?",
        "{memories}"
    );
    assert_eq!(memories[0]["semanticRank"], Value::Null);

    // The background job fails and will retry; nothing is half-written.
    says(&app, &t, "972500000009", "A new porch question").await;
    memodesk::services::embeddings::schedule(&app.state)
        .await
        .unwrap();
    let report = memodesk::workers::jobs::run_pending(&app.state)
        .await
        .unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(vectors(&app, t.id, None).await.len(), 2);
}

#[tokio::test]
async fn a_slow_provider_does_not_hold_a_search_past_its_timeout() {
    let provider = FakeEmbeddings::start().await;
    let app = TestApp::spawn_with(TestOptions {
        embedder: Some(provider.client()),
        settings: Some(|s| s.embeddings_query_timeout = std::time::Duration::from_millis(200)),
        ..TestOptions::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "972500000001", "And the balcony?").await;
    provider.go_slow();
    let started = std::time::Instant::now();
    let found = search(&app, &t.viewer, "balcony").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(found.semantic(), &json!(false));
    assert!(found.error().unwrap().contains("200 ms"), "{found:?}");
    assert_eq!(found.texts(), ["And the balcony?"]);
}

#[tokio::test]
async fn a_change_of_model_embeds_every_record_again() {
    let first = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(first.path(), 0.0))).await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "972500000001", "The terrace faces the sea").await;
    says(&app, &t, "972500000002", "Cheap flights to Rome?").await;
    embed(&app, 1).await;
    let old: Vec<String> = vectors(&app, t.id, None)
        .await
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(old.len(), 2);

    // The same database served with another model (a replica configured anew).
    let second = tempfile::tempdir().unwrap();
    let replica = app.replica(with(concept_model(second.path(), 0.2))).await;
    let new_model = replica
        .state
        .embedder
        .as_ref()
        .unwrap()
        .model_id()
        .to_owned();
    assert_ne!(old[0], new_model);
    // Until re-embedded, the new model finds nothing by meaning (old vectors are not mixed in).
    assert_eq!(
        search(&replica, &t.viewer, "porch").await.texts(),
        Vec::<String>::new()
    );
    embed(&replica, 1).await;
    let now = vectors(&replica, t.id, None).await;
    assert_eq!(now.len(), 2, "one vector per record, replaced");
    assert!(now.iter().all(|(m, dims)| *m == new_model && *dims == 5));
    assert_eq!(
        search(&replica, &t.viewer, "porch").await.texts(),
        ["The terrace faces the sea"]
    );
}

#[tokio::test]
async fn another_tenants_records_are_never_found_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(dir.path(), 0.0))).await;
    let ours = app.tenant("Acme").await;
    let theirs = app.tenant("Other").await;
    says(&app, &theirs, "972500000001", "The terrace faces the sea").await;
    let their_lead = says(&app, &theirs, "972500000002", "A porch for sure").await;
    says(&app, &ours, "972500000003", "Parking please").await;
    embed(&app, 2).await;

    let found = search(&app, &ours.viewer, "balcony").await;
    assert_eq!(found.semantic(), &json!(true));
    assert!(found.texts().is_empty(), "{found:?}");
    // Their lead as a filter is a lead that does not exist.
    let response = app
        .gql(
            Some(&ours.viewer),
            SEARCH,
            json!({ "q": "balcony", "filter": { "leadId": their_lead } }),
        )
        .await;
    response.expect_error("NOT_FOUND");
    assert_eq!(
        search(&app, &theirs.viewer, "balcony").await.texts().len(),
        2
    );
}

#[tokio::test]
async fn erasing_a_customer_removes_their_vectors_and_they_are_not_found_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(dir.path(), 0.0))).await;
    let t = app.tenant("Acme").await;
    let lead = says(&app, &t, "972500000001", "The terrace faces the sea").await;
    says(&app, &t, "972500000002", "My veranda is small").await;
    embed(&app, 1).await;
    assert_eq!(vectors(&app, t.id, Some(&lead)).await.len(), 1);

    let erased = app
        .gql(
            Some(&t.admin),
            ERASE,
            json!({ "id": lead, "reason": "customer asked" }),
        )
        .await;
    let removed = erased.ok()["eraseLead"]["removed"].clone();
    assert!(
        removed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["table"] == "search_vectors" && r["rows"] == 1),
        "{removed}"
    );
    assert!(vectors(&app, t.id, Some(&lead)).await.is_empty());
    assert_eq!(
        search(&app, &t.viewer, "balcony").await.texts(),
        ["My veranda is small"]
    );
}

#[tokio::test]
async fn retention_removes_the_vectors_of_the_messages_it_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(dir.path(), 0.0))).await;
    let t = app.tenant("Acme").await;
    crate::helpers::update_settings(&app, &t.admin, "messageRetentionDays: 30").await;
    says(&app, &t, "972500000001", "The terrace faces the sea").await;
    app.clock.advance(Duration::days(40));
    says(&app, &t, "972500000002", "My veranda is small").await;
    embed(&app, 1).await;
    assert_eq!(vectors(&app, t.id, None).await.len(), 2);
    memodesk::services::privacy::retention::run(&app.state, Some(t.id), &|_| {})
        .await
        .expect("retention");
    assert_eq!(vectors(&app, t.id, None).await.len(), 1);
    assert_eq!(
        search(&app, &t.viewer, "balcony").await.texts(),
        ["My veranda is small"]
    );
}

#[tokio::test]
async fn the_memory_context_brings_back_past_moments_by_meaning() {
    let provider = FakeEmbeddings::start().await;
    let app = TestApp::spawn_with(with(provider.client())).await;
    let t = app.tenant("Acme").await;
    let lead = says(&app, &t, "972500000001", "I want a flat with a terrace").await;
    says(&app, &t, "972500000001", "Also parking").await;
    app.clock.advance(Duration::days(2));
    says(&app, &t, "972500000001", "Hi again").await;
    embed(&app, 1).await;
    let calls = provider.requests();

    let context = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "does it have a balcony?" }),
        )
        .await;
    let memories = context.ok()["memoryContext"]["relevantMemories"].clone();
    let terrace = memories
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["record"]["content"] == "I want a flat with a terrace")
        .unwrap_or_else(|| panic!("{memories}"));
    assert_eq!(terrace["semanticRank"], 1, "{memories}");
    assert!(
        !memories
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["record"]["content"] == "Also parking"
                || m["record"]["content"] == "Hi again"),
        "unrelated and current moments stay out: {memories}"
    );
    assert_eq!(provider.requests(), calls + 1, "one embedding call");
}

#[tokio::test]
async fn records_from_before_search_existed_are_indexed_and_embedded_by_the_reindex() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(with(concept_model(dir.path(), 0.0))).await;
    let t = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    for i in 0..7 {
        says(
            &app,
            &t,
            &format!("97250000000{i}"),
            &format!("Terrace number {i}"),
        )
        .await;
    }
    says(&app, &other, "972500000010", "Their terrace").await;
    // As if written before the search migration: no index rows, no vectors.
    let db = app.state.db.writer();
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "DELETE FROM search_documents",
    ))
    .await
    .unwrap();
    assert!(search(&app, &t.viewer, "terrace").await.texts().is_empty());

    let report = memodesk::services::embeddings::reindex(&app.state, Some(t.id), &|_| {})
        .await
        .expect("reindex");
    assert_eq!(report.indexed, 7);
    assert_eq!(report.embedded, 7);
    let found = search(&app, &t.viewer, "porch").await;
    assert_eq!(found.texts().len(), 7, "{found:?}");
    assert!(
        search(&app, &other.viewer, "terrace")
            .await
            .texts()
            .is_empty()
    );

    // Running it again finds nothing left; the whole database next.
    let again = memodesk::services::embeddings::reindex(&app.state, None, &|_| {})
        .await
        .expect("reindex");
    assert_eq!(again.indexed, 1);
    assert_eq!(again.embedded, 1);
    assert_eq!(
        search(&app, &other.viewer, "terrace").await.texts(),
        ["Their terrace"]
    );
}
