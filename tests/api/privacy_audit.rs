//! The audit trail (issue 29): who opened or changed a customer's data, for admins.

use serde_json::{Value, json};

use crate::helpers::{TestApp, message, record};
use crate::privacy_erasure::{ERASE, SECRETS, rich_lead};

const AUDIT: &str = r#"query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id actorKind actorId action targetType targetId details at } } }"#;

async fn audit(app: &TestApp, token: &str, filter: Value) -> Value {
    app.gql(Some(token), AUDIT, json!({ "filter": filter }))
        .await
        .ok()["auditLog"]
        .clone()
}

#[tokio::test]
async fn staff_opening_a_customer_is_logged_and_machines_are_only_counted() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = rich_lead(&app, &t).await;
    let key = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "bot", scopes: [READ]) { token } }"#,
            json!({}),
        )
        .await;
    let key = key.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    app.gql(
        Some(&t.viewer),
        "query($id: ID!) { lead(id: $id) { id } }",
        json!({ "id": lead }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.agent),
        "query($id: ID!) { memoryContext(leadId: $id) { isReturning } }",
        json!({ "id": lead }),
    )
    .await
    .ok();
    app.gql(
        Some(&t.viewer),
        "query($id: ID!) { profileHistory(leadId: $id) { key } }",
        json!({ "id": lead }),
    )
    .await
    .ok();
    for _ in 0..3 {
        app.gql(
            Some(&key),
            "query($id: ID!) { memoryContext(leadId: $id) { isReturning } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    }

    let viewed = audit(
        &app,
        &t.admin,
        json!({ "leadId": lead, "action": "lead.viewed" }),
    )
    .await;
    let views: Vec<&str> = viewed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["details"]["view"].as_str().unwrap())
        .collect();
    assert_eq!(views, vec!["history", "memory_context", "lead"], "{viewed}");
    assert!(
        viewed["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["actorKind"] != "api_key")
    );

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let machine = metrics
        .lines()
        .find(|l| {
            l.starts_with("memodesk_lead_reads_total")
                && l.contains("view=\"memory_context\"")
                && l.contains("actor=\"machine\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let n: f64 = machine.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 3.0, "{machine}");

    // Writes are there too (the manual edit, the note), and no entry holds what was said.
    let all = audit(&app, &t.admin, json!({})).await;
    let actions: Vec<&str> = all["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"profile.field_set"), "{actions:?}");
    assert!(actions.contains(&"note.created"), "{actions:?}");
    assert!(actions.contains(&"tenant.settings_updated"), "{actions:?}");
    let text = all.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn the_audit_log_pages_and_filters_and_is_for_admins_of_the_tenant_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let u = app.tenant("Other").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "hello")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        app.gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { id } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    }
    app.gql(
        Some(&t.admin),
        ERASE,
        json!({ "id": lead, "reason": "request" }),
    )
    .await
    .ok();

    let page1 = app
        .gql(
            Some(&t.admin),
            AUDIT,
            json!({ "filter": { "leadId": lead }, "first": 2 }),
        )
        .await;
    let page1 = &page1.ok()["auditLog"];
    assert_eq!(page1["totalCount"], 4, "{page1}");
    assert_eq!(page1["nodes"][0]["action"], "lead.erased");
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    let page2 = app
        .gql(
            Some(&t.admin),
            AUDIT,
            json!({ "filter": { "leadId": lead }, "first": 2,
                    "after": page1["pageInfo"]["endCursor"] }),
        )
        .await;
    let page2 = &page2.ok()["auditLog"];
    assert_eq!(page2["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(page2["pageInfo"]["hasNextPage"], false);
    assert!(
        page2["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["action"] == "lead.viewed")
    );

    let future = (app.state.now() + chrono::Duration::hours(1)).to_rfc3339();
    let none = audit(&app, &t.admin, json!({ "from": future })).await;
    assert_eq!(none["totalCount"], 0);
    let erased = audit(&app, &t.admin, json!({ "action": "lead.erased" })).await;
    assert_eq!(erased["totalCount"], 1);

    // Another tenant's admin sees nothing of it.
    let foreign = audit(&app, &u.admin, json!({ "leadId": lead })).await;
    assert_eq!(foreign["totalCount"], 0);

    let key = app
        .gql(
            Some(&t.admin),
            r#"mutation { createApiKey(name: "all", scopes: [READ, INGEST, EXPORT]) { token } }"#,
            json!({}),
        )
        .await;
    let key = key.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&t.agent, &t.viewer, &key] {
        app.gql(Some(token), AUDIT, json!({}))
            .await
            .expect_error("FORBIDDEN");
    }
}
