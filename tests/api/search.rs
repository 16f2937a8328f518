//! Search over messages, summaries and notes: words in any form, Hebrew prefixes and vowel
//! points, phrases, OR and exclusions, filters, pages, tenants, roles, bad input, forgetting.

use chrono::Duration;
use serde_json::{Value, json};

use sea_orm::ConnectionTrait;

use crate::helpers::{TestApp, TestOptions, TestTenant, add_note, message, record};

const SEARCH: &str = r#"query($q: String!, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $q, filter: $filter, first: $first, after: $after) {
    relaxed semantic semanticError
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node {
      kind score lexicalRank lexicalScore semanticRank semanticSimilarity snippet
      lead { id displayName }
      session { id channel }
      record {
        __typename
        ... on Message { id content role }
        ... on InteractionSummary { id summary }
        ... on Note { id body }
      }
    } }
  }
}"#;

/// One hit as tests read it.
#[derive(Debug, Clone)]
struct Hit(Value);

impl Hit {
    fn kind(&self) -> &str {
        self.0["kind"].as_str().unwrap_or("")
    }
    fn text(&self) -> &str {
        let record = &self.0["record"];
        ["content", "summary", "body"]
            .iter()
            .find_map(|k| record[k].as_str())
            .unwrap_or("")
    }
    fn snippet(&self) -> &str {
        self.0["snippet"].as_str().unwrap_or("")
    }
    fn lead(&self) -> &str {
        self.0["lead"]["id"].as_str().unwrap_or("")
    }
}

/// A page of hits as tests read it.
#[derive(Debug, Clone)]
struct Found(Value);

impl Found {
    fn hits(&self) -> Vec<Hit> {
        self.0["edges"]
            .as_array()
            .map(|edges| edges.iter().map(|e| Hit(e["node"].clone())).collect())
            .unwrap_or_default()
    }
    fn texts(&self) -> Vec<String> {
        self.hits().iter().map(|h| h.text().to_owned()).collect()
    }
    fn has(&self, text: &str) -> bool {
        self.hits().iter().any(|h| h.text() == text)
    }
    fn end_cursor(&self) -> Option<String> {
        self.0["pageInfo"]["endCursor"].as_str().map(str::to_owned)
    }
}

async fn search_as(app: &TestApp, token: &str, q: &str, filter: Value) -> Found {
    let response = app
        .gql(Some(token), SEARCH, json!({ "q": q, "filter": filter }))
        .await;
    Found(response.ok()["search"].clone())
}

async fn search(app: &TestApp, t: &TestTenant, q: &str) -> Found {
    search_as(app, &t.viewer, q, Value::Null).await
}

/// Records `content` from the customer `user` on WhatsApp; returns (lead id, session id).
async fn says(app: &TestApp, t: &TestTenant, user: &str, content: &str) -> (String, String) {
    let recorded = record(app, &t.agent, message("WHATSAPP", user, content)).await;
    (
        recorded["lead"]["id"].as_str().unwrap().to_owned(),
        recorded["session"]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_customers_words_are_found_with_their_conversation_lead_and_a_marked_snippet() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, session) = says(
        &app,
        &t,
        "972500000001",
        "The balcony faces the sea, I love <that>",
    )
    .await;
    says(&app, &t, "972500000002", "Do you have parking spots?").await;

    let found = search(&app, &t, "balcony").await;
    let hits = found.hits();
    assert_eq!(hits.len(), 1, "{found:?}");
    let hit = &hits[0];
    assert_eq!(hit.kind(), "MESSAGE");
    assert_eq!(hit.lead(), lead);
    assert_eq!(hit.0["session"]["id"], session.as_str());
    assert_eq!(hit.0["record"]["__typename"], "Message");
    assert_eq!(hit.0["record"]["role"], "CUSTOMER");
    assert_eq!(
        hit.snippet(),
        "The <mark>balcony</mark> faces the sea, I love &lt;that&gt;"
    );
    assert_eq!(hit.0["lexicalRank"], 1);
    assert!(hit.0["lexicalScore"].as_f64().unwrap() > 0.0);
    assert!((hit.0["score"].as_f64().unwrap() - 1.0 / 61.0).abs() < 1e-9);
    assert_eq!(hit.0["semanticRank"], Value::Null);
    assert_eq!(hit.0["semanticSimilarity"], Value::Null);
    assert_eq!(found.0["semantic"], Value::Null);
    assert_eq!(found.0["semanticError"], Value::Null);
}

#[tokio::test]
async fn english_words_match_their_other_forms_and_phrases_or_and_exclusions_work() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "Both balconies have a sea view").await;
    says(&app, &t, "2", "The view of the sea from the roof is great").await;
    says(&app, &t, "3", "I have a coupon for the spa").await;
    says(&app, &t, "4", "Can I use a gift card or a coupon?").await;

    assert!(
        search(&app, &t, "balcony")
            .await
            .has("Both balconies have a sea view")
    );
    let phrase = search(&app, &t, "\"sea view\"").await;
    assert_eq!(phrase.texts(), ["Both balconies have a sea view"]);
    let both = search(&app, &t, "sea view").await;
    assert_eq!(both.hits().len(), 2, "words need not be adjacent: {both:?}");

    let coupon = search(&app, &t, "coupon -gift").await;
    assert_eq!(coupon.texts(), ["I have a coupon for the spa"]);
    let either = search(&app, &t, "spa OR roof").await;
    assert_eq!(either.hits().len(), 2, "{either:?}");
    let excluded_phrase = search(&app, &t, "coupon -\"gift card\"").await;
    assert_eq!(excluded_phrase.texts(), ["I have a coupon for the spa"]);
}

#[tokio::test]
async fn hebrew_words_are_found_behind_prefix_letters_and_without_vowel_points() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "והדירה עם מרפסת שמש גדולה").await;
    says(&app, &t, "2", "יש לי כֶּלֶב שִׁיצוּ קטן").await;
    says(&app, &t, "3", "הנסיעה לכיוון אחד בלבד").await;
    says(&app, &t, "4", "חופשה ביוון בקיץ").await;
    says(&app, &t, "5", "מה עם דמי הביטול?").await;

    assert_eq!(
        search(&app, &t, "דירה").await.texts(),
        ["והדירה עם מרפסת שמש גדולה"]
    );
    assert_eq!(
        search(&app, &t, "מִרְפֶּסֶת").await.texts(),
        ["והדירה עם מרפסת שמש גדולה"],
        "a query with vowel points finds plain text"
    );
    assert_eq!(
        search(&app, &t, "כלב שיצו").await.texts(),
        ["יש לי כֶּלֶב שִׁיצוּ קטן"],
        "plain words find pointed text"
    );
    assert_eq!(
        search(&app, &t, "יוון").await.texts(),
        ["חופשה ביוון בקיץ"],
        "לכיוון (per direction) is not Greece"
    );
    assert_eq!(
        search(&app, &t, "\"דמי ביטול\"").await.texts(),
        ["מה עם דמי הביטול?"],
        "a phrase matches across a prefix letter"
    );
    let hit = &search(&app, &t, "דירה").await.hits()[0];
    assert_eq!(hit.snippet(), "<mark>והדירה</mark> עם מרפסת שמש גדולה");
}

#[tokio::test]
async fn notes_and_summaries_are_found_and_an_edited_note_is_found_by_its_new_words() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = says(&app, &t, "972500000009", "Hi, I need a flight to Lisbon").await;
    let added = app
        .gql(
            Some(&t.agent),
            "mutation($input: AddNoteInput!) { addNote(input: $input) { id } }",
            json!({ "input": { "leadId": lead, "body": "Allergic to peanuts" } }),
        )
        .await;
    let note = added.ok()["addNote"]["id"].as_str().unwrap().to_owned();
    let found = search(&app, &t, "peanuts").await;
    assert_eq!(found.hits()[0].kind(), "NOTE");
    assert_eq!(found.hits()[0].0["session"], Value::Null);

    app.gql(
        Some(&t.agent),
        "mutation($id: ID!) { updateNote(id: $id, body: \"Allergic to shellfish\") { id } }",
        json!({ "id": note }),
    )
    .await
    .ok();
    assert!(search(&app, &t, "peanuts").await.hits().is_empty());
    assert_eq!(search(&app, &t, "shellfish").await.hits().len(), 1);

    // The conversation goes idle, is closed and summarized.
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    app.run_jobs(1).await;
    let summaries = search_as(&app, &t.viewer, "Lisbon", json!({ "kinds": ["SUMMARY"] })).await;
    assert_eq!(summaries.hits().len(), 1, "{summaries:?}");
    assert_eq!(
        summaries.hits()[0].0["record"]["__typename"],
        "InteractionSummary"
    );
}

#[tokio::test]
async fn filters_narrow_by_lead_channel_role_kind_and_time() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (dana, _) = says(&app, &t, "1", "Looking for a garden apartment").await;
    let mut reply = message("WHATSAPP", "1", "We have a garden apartment in Haifa");
    reply["role"] = json!("AGENT");
    record(&app, &t.agent, reply).await;
    app.clock.advance(Duration::hours(2));
    let before_email = app.state.now();
    record(
        &app,
        &t.agent,
        json!({ "channel": "EMAIL", "externalUserId": "noa@example.com",
                "content": "Is the garden apartment still free?" }),
    )
    .await;
    add_note(&app, &t.agent, &dana, "Wants a garden", false).await;

    let all = search(&app, &t, "garden").await;
    assert_eq!(all.hits().len(), 4, "{all:?}");
    let by_lead = search_as(&app, &t.viewer, "garden", json!({ "leadId": dana })).await;
    assert_eq!(by_lead.hits().len(), 3);
    let customers = search_as(&app, &t.viewer, "garden", json!({ "roles": ["CUSTOMER"] })).await;
    assert_eq!(customers.hits().len(), 2);
    let email = search_as(&app, &t.viewer, "garden", json!({ "channels": ["EMAIL"] })).await;
    assert_eq!(email.texts(), ["Is the garden apartment still free?"]);
    let notes = search_as(&app, &t.viewer, "garden", json!({ "kinds": ["NOTE"] })).await;
    assert_eq!(notes.texts(), ["Wants a garden"]);
    let earlier = search_as(
        &app,
        &t.viewer,
        "garden",
        json!({ "kinds": ["MESSAGE"], "to": before_email.to_rfc3339() }),
    )
    .await;
    assert_eq!(earlier.hits().len(), 2);
    let later = search_as(
        &app,
        &t.viewer,
        "garden",
        json!({ "kinds": ["MESSAGE"], "from": before_email.to_rfc3339() }),
    )
    .await;
    assert_eq!(later.hits().len(), 1);
}

#[tokio::test]
async fn pages_walk_the_ranking_without_repeating_a_hit() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for i in 0..5 {
        says(
            &app,
            &t,
            &format!("10{i}"),
            &format!("Question {i} about the pool"),
        )
        .await;
    }
    let page = |after: Option<String>| {
        let app = &app;
        let t = &t;
        async move {
            let response = app
                .gql(
                    Some(&t.viewer),
                    SEARCH,
                    json!({ "q": "pool", "first": 2, "after": after }),
                )
                .await;
            Found(response.ok()["search"].clone())
        }
    };
    let mut seen = Vec::new();
    let mut after = None;
    for expected in [2, 2, 1] {
        let found = page(after.clone()).await;
        assert_eq!(found.hits().len(), expected);
        assert_eq!(found.0["pageInfo"]["hasPreviousPage"], after.is_some());
        seen.extend(found.texts());
        after = found.end_cursor();
        assert_eq!(found.0["pageInfo"]["hasNextPage"], expected == 2);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
}

/// What SQLite's search index holds, counted.
struct IndexCounts {
    documents: i64,
    /// Documents whose rowid is inside their tenant's range.
    in_their_range: i64,
    /// Rows of `search_rebuild`: an upgrade still giving documents their terms back.
    waiting_rebuild: i64,
    /// Documents with terms in FTS5.
    with_terms: i64,
    /// Tenants whose documents have consecutive rowids.
    tenants_numbered_without_gaps: i64,
}

async fn sqlite_index_counts(app: &TestApp) -> IndexCounts {
    let row = app
        .state
        .db
        .writer()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT (SELECT COUNT(*) FROM search_documents), \
             (SELECT COUNT(*) FROM search_documents d JOIN search_ranges r \
                ON r.tenant_id = d.tenant_id \
              WHERE d.rowid > r.number << 40 AND d.rowid < (r.number + 1) << 40), \
             (SELECT COUNT(*) FROM search_rebuild), (SELECT COUNT(*) FROM search_fts_docsize), \
             (SELECT COALESCE(SUM(n - 1 = high - low), 0) FROM (SELECT COUNT(*) AS n, \
                MIN(rowid) AS low, MAX(rowid) AS high FROM search_documents \
                GROUP BY tenant_id))",
        ))
        .await
        .unwrap()
        .unwrap();
    let count = |i: usize| row.try_get_by_index::<i64>(i).unwrap();
    IndexCounts {
        documents: count(0),
        in_their_range: count(1),
        waiting_rebuild: count(2),
        with_terms: count(3),
        tenants_numbered_without_gaps: count(4),
    }
}

/// Records `inputs` in one `recordMessages` call as `t`'s agent key.
async fn record_batch(app: &TestApp, t: &TestTenant, inputs: Vec<Value>) {
    let response = app
        .gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { \
               recorded failed } }",
            json!({ "inputs": inputs }),
        )
        .await;
    let recorded = &response.ok()["recordMessages"];
    assert_eq!(recorded["failed"], 0, "{recorded}");
}

#[tokio::test]
async fn messages_recorded_in_one_batch_are_each_found_once_with_their_own_lead_channel_and_role() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    // Four customers on two channels, each with an agent's reply, all in one request; the other
    // tenant's batch goes in at the same time.
    let mut inputs = Vec::new();
    for n in 0..20 {
        let (channel, user) = if n % 4 < 2 {
            ("WHATSAPP", format!("97250000000{}", n % 4))
        } else {
            ("EMAIL", format!("customer{}@example.com", n % 4))
        };
        let mut input = message(channel, &user, &format!("Balcony question number{n}"));
        if n >= 12 {
            input["role"] = json!("AGENT");
        }
        inputs.push(input);
    }
    let theirs = (0..5)
        .map(|n| message("WEB", "visitor", &format!("Balcony at the other shop {n}")))
        .collect();
    tokio::join!(
        record_batch(&app, &acme, inputs),
        record_batch(&app, &other, theirs)
    );

    let all = search_as(&app, &acme.viewer, "balcony", json!({})).await;
    let mut texts = all.texts();
    texts.sort();
    let mut expected: Vec<String> = (0..20)
        .map(|n| format!("Balcony question number{n}"))
        .collect();
    expected.sort();
    assert_eq!(texts, expected, "each once, none of the other tenant's");
    let one = search_as(&app, &acme.viewer, "number5", json!({})).await;
    assert_eq!(one.texts(), ["Balcony question number5"]);
    let lead = one.hits()[0].lead().to_owned();
    let by_lead = search_as(&app, &acme.viewer, "balcony", json!({ "leadId": lead })).await;
    assert_eq!(by_lead.hits().len(), 5, "{by_lead:?}");
    let agents = search_as(&app, &acme.viewer, "balcony", json!({ "roles": ["AGENT"] })).await;
    assert_eq!(agents.hits().len(), 8);
    let email = search_as(
        &app,
        &acme.viewer,
        "balcony",
        json!({ "channels": ["EMAIL"] }),
    )
    .await;
    assert_eq!(email.hits().len(), 10);
    let now = app.state.now();
    let within = json!({ "from": (now - Duration::minutes(1)).to_rfc3339(),
                         "to": (now + Duration::minutes(1)).to_rfc3339() });
    let in_time = search_as(&app, &acme.viewer, "balcony", within).await;
    assert_eq!(in_time.hits().len(), 20);
    assert_eq!(search(&app, &other, "balcony").await.hits().len(), 5);

    if app.state.db.backend() == sea_orm::DatabaseBackend::Sqlite {
        // Each tenant's documents are numbered one after another inside its own range, and each
        // has its terms once.
        let counts = sqlite_index_counts(&app).await;
        assert_eq!(counts.documents, 25);
        assert_eq!(counts.in_their_range, 25);
        assert_eq!(counts.with_terms, 25);
        assert_eq!(counts.tenants_numbered_without_gaps, 2);
    }
}

#[tokio::test]
async fn another_tenants_records_are_never_found_and_its_lead_is_not_found() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let (their_lead, _) = says(&app, &other, "1", "Secret balcony plans").await;
    says(&app, &acme, "2", "Our balcony is small").await;

    let ours = search(&app, &acme, "balcony").await;
    assert_eq!(ours.texts(), ["Our balcony is small"]);
    let response = app
        .gql(
            Some(&acme.viewer),
            SEARCH,
            json!({ "q": "balcony", "filter": { "leadId": their_lead } }),
        )
        .await;
    response.expect_error("NOT_FOUND");
    let missing = app
        .gql(
            Some(&acme.viewer),
            SEARCH,
            json!({ "q": "balcony", "filter": { "leadId": uuid::Uuid::now_v7().to_string() } }),
        )
        .await;
    assert_eq!(missing.message(), response.message());
}

#[tokio::test]
async fn viewers_and_read_keys_may_search_but_ingest_keys_and_strangers_may_not() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "Balcony question").await;
    let key = |scopes: &'static str| {
        let app = &app;
        let admin = t.admin.clone();
        async move {
            app.gql(
                Some(&admin),
                &format!(
                    "mutation {{ createApiKey(name: \"k\", scopes: [{scopes}]) {{ token }} }}"
                ),
                json!({}),
            )
            .await
            .ok()["createApiKey"]["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let read = key("READ").await;
    let ingest = key("INGEST").await;
    assert_eq!(
        search_as(&app, &t.viewer, "balcony", Value::Null)
            .await
            .hits()
            .len(),
        1
    );
    assert_eq!(
        search_as(&app, &read, "balcony", Value::Null)
            .await
            .hits()
            .len(),
        1
    );
    app.gql(Some(&ingest), SEARCH, json!({ "q": "balcony" }))
        .await
        .expect_error("FORBIDDEN");
    app.gql(None, SEARCH, json!({ "q": "balcony" }))
        .await
        .expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_queries_are_clear_user_errors_and_syntax_characters_are_plain_words() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "Price: 100 NEAR the beach, 5* hotel (sea)").await;
    let long = "word ".repeat(250);
    for bad in [
        "",
        "   ",
        "\"unclosed phrase",
        long.as_str(),
        "-only",
        "*** ::",
    ] {
        let response = app.gql(Some(&t.viewer), SEARCH, json!({ "q": bad })).await;
        let message = response.expect_error("BAD_USER_INPUT").to_owned();
        assert_eq!(response.field(), Some("query"), "{bad:?}: {message}");
        assert!(!message.to_lowercase().contains("sql"), "{message}");
    }
    for odd in [
        "price:",
        "NEAR(beach)",
        "5*",
        "(sea)",
        "beach AND",
        "^hotel",
        "OR beach OR",
        "'beach'",
        "{body}: beach",
    ] {
        let found = search(&app, &t, odd).await;
        assert_eq!(found.hits().len(), 1, "{odd:?}: {found:?}");
    }
    let response = app
        .gql(
            Some(&t.viewer),
            SEARCH,
            json!({ "q": "beach", "first": 51 }),
        )
        .await;
    response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.field(), Some("first"));
    let response = app
        .gql(
            Some(&t.viewer),
            SEARCH,
            json!({ "q": "beach", "after": "nonsense" }),
        )
        .await;
    assert_eq!(response.field(), Some("after"));
}

#[tokio::test]
async fn a_question_no_record_answers_word_for_word_finds_records_with_some_of_its_words() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "I am allergic to cats").await;
    says(&app, &t, "2", "Do you allow dogs?").await;
    let found = search(&app, &t, "is he allergic to anything").await;
    assert_eq!(found.0["relaxed"], true);
    assert_eq!(found.texts()[0], "I am allergic to cats");
    let exact = search(&app, &t, "allergic cats").await;
    assert_eq!(exact.0["relaxed"], false);
}

#[tokio::test]
async fn an_erased_customers_words_are_no_longer_found_and_nothing_is_left_in_the_index() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = says(&app, &t, "972500000077", "My secret balcony password").await;
    add_note(&app, &t.agent, &lead, "Balcony is the topic", false).await;
    says(&app, &t, "972500000078", "Another balcony").await;
    assert_eq!(search(&app, &t, "balcony").await.hits().len(), 3);

    // Erasure deletes the lead; its sessions, messages and notes go with it, and their index
    // rows by trigger.
    use sea_orm::ConnectionTrait;
    let db = app.state.db.writer();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM leads WHERE tenant_id = $1 AND id = $2",
        [t.id.into(), uuid::Uuid::parse_str(&lead).unwrap().into()],
    ))
    .await
    .unwrap();

    assert_eq!(
        search(&app, &t, "balcony").await.texts(),
        ["Another balcony"]
    );
    assert!(search(&app, &t, "password").await.hits().is_empty());
    let left = memodesk::repo::search::forget_lead(
        app.state.db.writer(),
        t.id,
        uuid::Uuid::parse_str(&lead).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        left, 0,
        "the triggers left nothing of the lead in the index"
    );
}

#[tokio::test]
async fn the_word_counts_search_ranks_by_are_forgotten_when_a_customer_is_erased() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = says(&app, &t, "972500000077", "My balcony door is stuck").await;
    says(&app, &t, "972500000078", "Another balcony").await;
    assert_eq!(search(&app, &t, "balcony").await.hits().len(), 2);
    let sqlite = app.state.db.backend() == sea_orm::DatabaseBackend::Sqlite;
    // SQLite's ranking remembers how many records hold "balcony"; PostgreSQL ranks without.
    assert_eq!(app.state.db.remembered_search_words() > 0, sqlite);

    let erased = app
        .gql(
            Some(&t.admin),
            "mutation($id: ID!) { eraseLead(id: $id, reason: \"asked\") { id } }",
            json!({ "id": lead }),
        )
        .await;
    erased.ok();
    assert_eq!(app.state.db.remembered_search_words(), 0);
    assert_eq!(
        search(&app, &t, "balcony").await.texts(),
        ["Another balcony"]
    );
}

#[tokio::test]
async fn retention_forgets_old_index_rows_with_the_records() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    says(&app, &t, "1", "An old balcony question").await;
    app.clock.advance(Duration::days(30));
    let cutoff = app.state.now();
    says(&app, &t, "2", "A new balcony question").await;
    let forgotten = memodesk::repo::search::forget_older_than(app.state.db.writer(), t.id, cutoff)
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    assert_eq!(
        search(&app, &t, "balcony").await.texts(),
        ["A new balcony question"]
    );
}

const CONTEXT: &str = r#"query($lead: ID!, $text: String, $first: Int! = 5, $locale: String) {
  memoryContext(leadId: $lead, relevantTo: $text, relevantFirst: $first, locale: $locale) {
    session { id }
    relevantMemories { kind snippet session { id } record {
      ... on Message { content } ... on InteractionSummary { summary } ... on Note { body } } }
    rendered { text estimatedTokens }
  }
}"#;

#[tokio::test]
async fn the_memory_context_brings_back_past_moments_relevant_to_the_latest_message() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, first_session) = says(
        &app,
        &t,
        "972500000055",
        "Does the Basel apartment have a balcony?",
    )
    .await;
    says(&app, &t, "972500000055", "I also need parking for two cars").await;
    add_note(&app, &t.agent, &lead, "Balcony must face west", false).await;
    app.clock.advance(Duration::minutes(20));
    app.sweep(1).await;
    app.run_jobs(1).await;
    app.clock.advance(Duration::days(3));
    let (_, current) = says(
        &app,
        &t,
        "972500000055",
        "Hi again, what about the balcony?",
    )
    .await;
    assert_ne!(current, first_session);

    let response = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "what about the balcony?" }),
        )
        .await;
    let context = &response.ok()["memoryContext"];
    let memories = context["relevantMemories"].as_array().unwrap();
    assert!(!memories.is_empty(), "{context}");
    for memory in memories {
        assert_ne!(
            memory["session"]["id"],
            current.as_str(),
            "the conversation in progress is not a memory: {memory}"
        );
    }
    let texts: Vec<String> = memories
        .iter()
        .map(|m| {
            let r = &m["record"];
            r["content"]
                .as_str()
                .or(r["summary"].as_str())
                .or(r["body"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        texts.contains(&"Does the Basel apartment have a balcony?".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Balcony must face west".to_owned()),
        "{texts:?}"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("parking") && !t.contains("alcony")),
        "{texts:?}"
    );
    let rendered = context["rendered"]["text"].as_str().unwrap();
    assert!(
        rendered.contains("Relevant past moments:\n- "),
        "{rendered}"
    );
    assert!(rendered.contains("Balcony must face west"), "{rendered}");

    let hebrew = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "balcony", "locale": "he", "first": 1 }),
        )
        .await;
    let context = &hebrew.ok()["memoryContext"];
    assert_eq!(context["relevantMemories"].as_array().unwrap().len(), 1);
    assert!(
        context["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("רגעים רלוונטיים מהעבר:"),
        "{context}"
    );

    let without = app
        .gql(Some(&t.viewer), CONTEXT, json!({ "lead": lead }))
        .await;
    let context = &without.ok()["memoryContext"];
    assert_eq!(context["relevantMemories"], json!([]));
    assert!(
        !context["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("Relevant past moments")
    );

    let too_many = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "balcony", "first": 21 }),
        )
        .await;
    too_many.expect_error("BAD_USER_INPUT");
    assert_eq!(too_many.field(), Some("relevantFirst"));
}

#[tokio::test]
async fn relevant_memories_stay_within_the_context_budget_and_the_tenant() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let (lead, _) = says(&app, &t, "972500000066", "garden ".repeat(300).trim()).await;
    says(
        &app,
        &other,
        "972500000066",
        "garden party in the other tenant",
    )
    .await;
    app.clock.advance(Duration::minutes(20));
    app.sweep(2).await;
    crate::helpers::update_settings(&app, &t.admin, "contextCharBudget: 600").await;
    let response = app
        .gql(
            Some(&t.viewer),
            CONTEXT,
            json!({ "lead": lead, "text": "garden" }),
        )
        .await;
    let context = &response.ok()["memoryContext"];
    let rendered = context["rendered"]["text"].as_str().unwrap();
    assert!(
        rendered.chars().count() <= 600,
        "{}",
        rendered.chars().count()
    );
    assert!(rendered.contains("Relevant past moments:"), "{rendered}");
    assert!(!rendered.contains("party"), "{rendered}");
}

/// The index as it was before each tenant had its own range of rowids: documents numbered
/// from 1 across tenants, no ranges, and the upgrade's migration not yet run.
async fn as_before_tenant_ranges(app: &TestApp) {
    let db = app.state.db.writer();
    for sql in [
        "DROP TRIGGER tenants_search_range",
        "DROP TABLE search_ranges",
        "DROP TABLE search_rebuild",
        "UPDATE search_documents SET rowid = old.n FROM (\
           SELECT rowid AS was, ROW_NUMBER() OVER (ORDER BY rowid) AS n FROM search_documents\
         ) AS old WHERE search_documents.rowid = old.was",
        "DELETE FROM seaql_migrations WHERE version = 'm20261207_000090_search_ranges'",
    ] {
        db.execute_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            sql,
        ))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
}

#[tokio::test]
async fn after_the_upgrade_to_tenant_ranges_old_records_are_found_again_without_a_command() {
    let mut app = TestApp::spawn().await;
    if app.is_postgres() {
        // The upgrade renumbers SQLite's index; PostgreSQL's has no rowids to renumber.
        return;
    }
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let (dana, _) = says(&app, &acme, "972500000001", "The balcony faces the sea").await;
    says(&app, &acme, "972500000002", "Is the balcony covered?").await;
    add_note(
        &app,
        &acme.agent,
        &dana,
        "Wants a balcony with shade",
        false,
    )
    .await;
    says(&app, &other, "972500000003", "Our balcony is tiny").await;
    as_before_tenant_ranges(&app).await;
    app.stop().await;

    // The upgraded server migrates, and its workers give the documents their terms back.
    let upgraded = app
        .replica(TestOptions {
            settings: Some(|s| s.workers_enabled = true),
            ..Default::default()
        })
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while search(&upgraded, &acme, "balcony").await.texts().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old records were not found again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut found = search(&upgraded, &acme, "balcony").await.texts();
    found.sort();
    assert_eq!(
        found,
        [
            "Is the balcony covered?",
            "The balcony faces the sea",
            "Wants a balcony with shade"
        ]
    );
    assert_eq!(
        search(&upgraded, &other, "balcony").await.texts(),
        ["Our balcony is tiny"]
    );
    let dana_only = search_as(
        &upgraded,
        &acme.viewer,
        "balcony",
        json!({ "leadId": dana }),
    )
    .await;
    assert_eq!(dana_only.texts().len(), 2, "{dana_only:?}");

    // Every document sits in its tenant's range, and nothing is left to restore.
    let counts = sqlite_index_counts(&upgraded).await;
    assert_eq!(counts.documents, 4);
    assert_eq!(counts.in_their_range, 4);
    assert_eq!(counts.waiting_rebuild, 0);
    assert_eq!(counts.with_terms, 4);
    let again = memodesk::services::embeddings::reindex(&upgraded.state, None, &|_| {})
        .await
        .expect("reindex");
    assert_eq!(again.indexed, 0, "every record has its terms, once");

    // What is written after the upgrade is found beside it.
    says(
        &upgraded,
        &acme,
        "972500000004",
        "A balcony railing is loose",
    )
    .await;
    assert_eq!(search(&upgraded, &acme, "balcony").await.texts().len(), 4);
}

#[tokio::test]
async fn a_customer_erased_while_the_upgrade_restores_the_index_gets_no_words_back() {
    let mut app = TestApp::spawn().await;
    if app.is_postgres() {
        // The upgrade renumbers SQLite's index; PostgreSQL's has no rowids to renumber.
        return;
    }
    let acme = app.tenant("Acme").await;
    let (gone, _) = says(
        &app,
        &acme,
        "972500000001",
        "My balcony faces the marigolds",
    )
    .await;
    says(&app, &acme, "972500000002", "The balcony is lovely").await;
    as_before_tenant_ranges(&app).await;
    app.stop().await;
    // Workers off: the restore is run step by step below.
    let upgraded = app.replica(TestOptions::default()).await;
    let state = &upgraded.state;

    // The restore reads what waits for terms; the customer is erased before it writes them.
    let waiting = memodesk::repo::search::documents_without_terms(state.db.reader(), 0, 100)
        .await
        .expect("documents waiting");
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    crate::crm_changes::erase_for_test(&upgraded, acme.id, gone.parse().unwrap()).await;
    let terms: Vec<_> = waiting
        .into_iter()
        .map(|(rowid, lead, text)| {
            let terms = memodesk::domain::search::index_terms(
                &text,
                memodesk::domain::search::TermsFormat::Fts5,
            );
            (rowid, lead, terms)
        })
        .collect();
    let txn = state.db.begin_write().await.unwrap();
    memodesk::repo::search::restore_terms(&txn, &terms, None)
        .await
        .expect("restore");
    txn.commit().await.unwrap();

    assert_eq!(
        search(&upgraded, &acme, "balcony").await.texts(),
        ["The balcony is lovely"]
    );
    assert!(
        search(&upgraded, &acme, "marigolds")
            .await
            .texts()
            .is_empty()
    );
    let left = state
        .db
        .writer()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT (SELECT COUNT(*) FROM search_fts_docsize), \
             (SELECT COUNT(*) FROM search_rebuild)",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            left.try_get_by_index::<i64>(0).unwrap(),
            left.try_get_by_index::<i64>(1).unwrap()
        ),
        (1, 0),
        "terms for the remaining record only, and the rebuild is over"
    );
}
