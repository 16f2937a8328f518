//! The change feed (`leadChanges`): every change to a lead is seen by a sync, once per page, in
//! its current state; cursors are the tenant's own.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::helpers::*;

const CHANGES: &str = r#"query($after: String, $first: Int) {
  leadChanges(after: $after, first: $first) {
    leads { id profile { key value } }
    erasedLeadIds nextCursor hasMore
  }
}"#;

/// One page of the feed, as the CRM sees it.
struct Page {
    /// Lead id -> its `city` as the page shows it.
    leads: Vec<(String, Option<String>)>,
    next: String,
    has_more: bool,
}

async fn changes(app: &TestApp, token: &str, after: Option<&str>, first: i64) -> Page {
    let response = app
        .gql(
            Some(token),
            CHANGES,
            json!({ "after": after, "first": first }),
        )
        .await;
    let feed = &response.ok()["leadChanges"];
    let leads = feed["leads"]
        .as_array()
        .expect("leads")
        .iter()
        .map(|lead| {
            let city = lead["profile"]
                .as_array()
                .and_then(|fields| fields.iter().find(|f| f["key"] == "city"))
                .and_then(|f| f["value"].as_str())
                .map(str::to_owned);
            (lead["id"].as_str().expect("id").to_owned(), city)
        })
        .collect();
    Page {
        leads,
        next: feed["nextCursor"].as_str().expect("cursor").to_owned(),
        has_more: feed["hasMore"].as_bool().expect("hasMore"),
    }
}

/// An API key with `scopes`, made by the tenant's admin.
pub async fn api_key(app: &TestApp, admin: &str, scopes: &[&str]) -> String {
    app.gql(
        Some(admin),
        r#"mutation($scopes: [ApiScope!]!) { createApiKey(name: "crm", scopes: $scopes) { token } }"#,
        json!({ "scopes": scopes }),
    )
    .await
    .ok()["createApiKey"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

async fn new_lead(app: &TestApp, agent: &str, user: &str) -> String {
    record(app, agent, message("WHATSAPP", user, "hello")).await["lead"]["id"]
        .as_str()
        .expect("lead id")
        .to_owned()
}

#[tokio::test]
async fn a_sync_reading_small_pages_while_leads_change_sees_every_change() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let key = api_key(&app, &t.admin, &["EXPORT"]).await;

    // A first sync from scratch over existing leads, two at a time.
    let mut leads = Vec::new();
    for i in 0..5 {
        leads.push(new_lead(&app, &t.agent, &format!("97250000000{i}")).await);
    }
    let mut cursor: Option<String> = None;
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    loop {
        let page = changes(&app, &key, cursor.as_deref(), 2).await;
        assert!(page.leads.len() <= 2);
        seen.extend(page.leads);
        cursor = Some(page.next);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        leads.iter().cloned().collect::<HashSet<_>>(),
        "the first sync lists every lead"
    );

    // Writes interleaved with page reads: new leads, profile edits, notes, messages.
    let mut last_city: HashMap<String, String> = HashMap::new();
    for round in 0..12 {
        let lead = if round % 4 == 0 {
            let id = new_lead(&app, &t.agent, &format!("97251000000{round}")).await;
            leads.push(id.clone());
            id
        } else {
            leads[round % leads.len()].clone()
        };
        let city = format!("city-{round}");
        set_profile_field(&app, &t.agent, &lead, "city", &city)
            .await
            .ok();
        last_city.insert(lead.clone(), city);
        if round % 3 == 0 {
            add_note(&app, &t.agent, &lead, "called back", false).await;
        }
        // Read one small page between writes: the feed lags, then catches up.
        let page = changes(&app, &key, cursor.as_deref(), 3).await;
        let mut once = HashSet::new();
        for (id, city) in page.leads {
            assert!(once.insert(id.clone()), "a lead appears once per page");
            seen.insert(id, city);
        }
        cursor = Some(page.next);
    }
    loop {
        let page = changes(&app, &key, cursor.as_deref(), 3).await;
        seen.extend(page.leads);
        cursor = Some(page.next);
        if !page.has_more {
            break;
        }
    }
    for (lead, city) in &last_city {
        assert_eq!(
            seen.get(lead).cloned().flatten().as_deref(),
            Some(city.as_str()),
            "the sync ends with the lead's latest city"
        );
    }
    for lead in &leads {
        assert!(seen.contains_key(lead), "every lead was synced");
    }

    // Caught up: nothing more until the next change, which comes next.
    let idle = changes(&app, &key, cursor.as_deref(), 10).await;
    assert!(idle.leads.is_empty() && !idle.has_more);
    add_note(&app, &t.agent, &leads[0], "one more", false).await;
    let next = changes(&app, &key, Some(&idle.next), 10).await;
    assert_eq!(next.leads.len(), 1);
    assert_eq!(next.leads[0].0, leads[0]);
}

#[tokio::test]
async fn an_erased_lead_appears_in_the_feed_as_its_id_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let key = api_key(&app, &t.admin, &["EXPORT"]).await;
    let lead = new_lead(&app, &t.agent, "972500000001").await;
    let start = changes(&app, &key, None, 100).await;

    // Erasure (built elsewhere) deletes the lead and writes a `lead.erased` event naming it.
    let lead_id: uuid::Uuid = lead.parse().unwrap();
    erase_for_test(&app, t.id, lead_id).await;

    let response = app
        .gql(Some(&key), CHANGES, json!({ "after": start.next }))
        .await;
    let feed = &response.ok()["leadChanges"];
    assert_eq!(feed["leads"], json!([]));
    assert_eq!(feed["erasedLeadIds"], json!([lead]));
}

/// Stands in for erasure: deletes the lead's rows and appends `lead.erased` in one transaction.
pub async fn erase_for_test(app: &TestApp, tenant: uuid::Uuid, lead: uuid::Uuid) {
    use memodesk::db::executor::Executor;
    use sea_orm::{Statement, TransactionTrait};
    let txn = app.state.db.writer().begin().await.unwrap();
    for table in [
        "profile_field_changes",
        "notes",
        "interaction_summaries",
        "messages",
        "sessions",
        "lead_identities",
        "leads",
    ] {
        let column = if table == "leads" { "id" } else { "lead_id" };
        txn.execute(Statement::from_sql_and_values(
            txn.backend(),
            format!("DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2"),
            [tenant.into(), lead.into()],
        ))
        .await
        .unwrap();
    }
    memodesk::events::outbox::append(
        &txn,
        tenant,
        vec![memodesk::events::NewEvent {
            event_type: memodesk::domain::EventType::LeadUpdated,
            lead_id: Some(lead),
            session_id: None,
            payload: json!({}),
        }],
        app.state.now(),
    )
    .await
    .unwrap();
    txn.execute(Statement::from_sql_and_values(
        txn.backend(),
        "UPDATE events SET event_type = 'lead.erased' WHERE tenant_id = $1 AND lead_id = $2 \
         AND seq = (SELECT MAX(seq) FROM events WHERE tenant_id = $1)",
        [tenant.into(), lead.into()],
    ))
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn a_cursor_from_another_tenant_or_garbled_is_refused_naming_after() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    new_lead(&app, &other.agent, "972500000002").await;
    let theirs = changes(&app, &other.admin, None, 10).await.next;

    for cursor in [theirs.as_str(), "garbage", "Y2hnMTp4OjE"] {
        let response = app
            .gql(Some(&acme.admin), CHANGES, json!({ "after": cursor }))
            .await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(response.field(), Some("after"), "{:?}", response.body);
    }
    let response = app
        .gql(Some(&acme.admin), CHANGES, json!({ "first": 0 }))
        .await;
    response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.field(), Some("first"));
}

#[tokio::test]
async fn a_cursor_older_than_the_kept_history_asks_for_a_sync_from_scratch() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = new_lead(&app, &t.agent, "972500000003").await;
    let old = changes(&app, &t.admin, None, 10).await.next;
    add_note(&app, &t.agent, &lead, "first", false).await;
    add_note(&app, &t.agent, &lead, "second", false).await;
    // Retention removes the oldest events, including the one after the old cursor.
    let head = memodesk::repo::changes::committed_head(app.state.db.reader(), t.id)
        .await
        .unwrap();
    memodesk::repo::events::delete_seq_range(app.state.db.writer(), t.id, 1, head)
        .await
        .unwrap();

    let response = app
        .gql(Some(&t.admin), CHANGES, json!({ "after": old }))
        .await;
    let message = response.expect_error("BAD_USER_INPUT");
    assert!(message.contains("sync from scratch"), "{message}");
    assert_eq!(response.field(), Some("after"));

    // From scratch works and continues from the head.
    let fresh = changes(&app, &t.admin, None, 10).await;
    assert_eq!(fresh.leads.len(), 1);
    changes(&app, &t.admin, Some(&fresh.next), 10).await;
}

#[tokio::test]
async fn only_the_export_scope_and_admins_read_the_change_feed() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let read_key = api_key(&app, &t.admin, &["READ"]).await;
    let ingest_key = api_key(&app, &t.admin, &["INGEST"]).await;
    let export_key = api_key(&app, &t.admin, &["EXPORT"]).await;
    for token in [&t.agent, &t.viewer, &read_key, &ingest_key] {
        app.gql(Some(token), CHANGES, json!({}))
            .await
            .expect_error("FORBIDDEN");
    }
    app.gql(None, CHANGES, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
    for token in [&t.admin, &export_key] {
        app.gql(Some(token), CHANGES, json!({})).await.ok();
    }
}
