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

/// What each mutation leaves in the audit log: the action, or why it leaves none. A mutation
/// added to the schema without a line here fails
/// [`every_staff_mutation_writes_an_audit_entry`].
const AUDITED: &[(&str, Result<&str, &str>)] = &[
    ("login", Ok("auth.login")),
    ("updateTenantSettings", Ok("tenant.settings_updated")),
    ("createLead", Ok("lead.created")),
    ("updateLead", Ok("lead.updated")),
    ("setProfileField", Ok("profile.field_set")),
    ("rejectProfileField", Ok("profile.field_rejected")),
    ("releaseProfileField", Ok("profile.field_released")),
    ("addNote", Ok("note.created")),
    ("updateNote", Ok("note.updated")),
    ("pinNote", Ok("note.updated")),
    ("deleteNote", Ok("note.deleted")),
    (
        "recordMessage",
        Err("the conversation itself: the message row keeps its author's role and time"),
    ),
    (
        "recordMessages",
        Err("the conversation itself: the message row keeps its author's role and time"),
    ),
    ("closeSession", Ok("session.closed")),
    ("summarizeSession", Ok("session.resummarized")),
    ("updateStaffUser", Ok("staff_user.updated")),
    ("createStaffUser", Ok("staff_user.created")),
    ("createApiKey", Ok("api_key.created")),
    ("retryJob", Ok("job.retried")),
    ("revokeApiKey", Ok("api_key.revoked")),
    ("eraseLead", Ok("lead.erased")),
    ("exportLeadData", Ok("lead.export_requested")),
    ("createWebhookEndpoint", Ok("webhook_endpoint.created")),
    ("updateWebhookEndpoint", Ok("webhook_endpoint.updated")),
    ("rotateWebhookSecret", Ok("webhook_endpoint.secret_rotated")),
    ("deleteWebhookEndpoint", Ok("webhook_endpoint.deleted")),
    ("replayWebhookDelivery", Ok("webhook_delivery.replayed")),
];

fn allow_private(settings: &mut memodesk::config::Settings) {
    settings.webhooks_allow_private = true;
}

/// Runs `document` as the admin and returns the field `name` of its answer.
async fn run(app: &TestApp, token: &str, name: &str, document: &str, variables: Value) -> Value {
    let answer = app.gql(Some(token), document, variables).await;
    answer.ok()[name].clone()
}

#[tokio::test]
async fn every_staff_mutation_writes_an_audit_entry() {
    let app = TestApp::spawn_with(crate::helpers::TestOptions {
        settings: Some(allow_private),
        ..Default::default()
    })
    .await;
    let t = app.tenant("Acme").await;
    let a = t.admin.as_str();

    // Every mutation in the schema is listed.
    let schema = app
        .gql(
            None,
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let names: Vec<String> = schema.ok()["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    for name in &names {
        assert!(
            AUDITED.iter().any(|(m, _)| m == name),
            "{name} is new: make it write an audit entry and list it in AUDITED"
        );
    }

    // Each one, run for real.
    let mut done: Vec<&str> = Vec::new();
    let user = run(&app, a, "createStaffUser",
        r#"mutation { createStaffUser(input: { email: "ann@acme.test", password: "correct horse battery", role: AGENT }) { id } }"#,
        json!({})).await["id"].clone();
    done.push("createStaffUser");
    run(&app, a, "login",
        r#"mutation($t: ID) { login(email: "ann@acme.test", password: "correct horse battery", tenantId: $t) { token } }"#,
        json!({ "t": t.id })).await;
    done.push("login");
    run(
        &app,
        a,
        "updateStaffUser",
        r#"mutation($id: ID!) { updateStaffUser(id: $id, input: { displayName: "Ann" }) { id } }"#,
        json!({ "id": user }),
    )
    .await;
    done.push("updateStaffUser");
    run(
        &app,
        a,
        "updateTenantSettings",
        "mutation { updateTenantSettings(input: { sessionIdleMinutes: 30 }) { id } }",
        json!({}),
    )
    .await;
    done.push("updateTenantSettings");
    let lead = run(
        &app,
        a,
        "createLead",
        r#"mutation { createLead(input: { displayName: "Dana" }) { id } }"#,
        json!({}),
    )
    .await["id"]
        .clone();
    done.push("createLead");
    run(
        &app,
        a,
        "updateLead",
        r#"mutation($id: ID!) { updateLead(id: $id, input: { displayName: "Dana K" }) { id } }"#,
        json!({ "id": lead }),
    )
    .await;
    done.push("updateLead");
    for (name, doc) in [
        (
            "setProfileField",
            r#"mutation($id: ID!) { setProfileField(leadId: $id, key: "city", value: "Haifa") { id } }"#,
        ),
        (
            "rejectProfileField",
            r#"mutation($id: ID!) { rejectProfileField(leadId: $id, key: "budget") { id } }"#,
        ),
        (
            "releaseProfileField",
            r#"mutation($id: ID!) { releaseProfileField(leadId: $id, key: "budget") { id } }"#,
        ),
    ] {
        run(&app, a, name, doc, json!({ "id": lead })).await;
        done.push(name);
    }
    let note = run(
        &app,
        a,
        "addNote",
        r#"mutation($id: ID!) { addNote(input: { leadId: $id, body: "called" }) { id } }"#,
        json!({ "id": lead }),
    )
    .await["id"]
        .clone();
    done.push("addNote");
    for (name, doc) in [
        (
            "updateNote",
            r#"mutation($id: ID!) { updateNote(id: $id, body: "called back") { id } }"#,
        ),
        ("pinNote", "mutation($id: ID!) { pinNote(id: $id) { id } }"),
        ("deleteNote", "mutation($id: ID!) { deleteNote(id: $id) }"),
    ] {
        run(&app, a, name, doc, json!({ "id": note })).await;
        done.push(name);
    }
    let recorded = record(&app, &t.agent, message("WEB", "v1", "I need a room")).await;
    let session = recorded["session"]["id"].clone();
    let customer = recorded["lead"]["id"].clone();
    done.extend(["recordMessage", "recordMessages"]);
    run(
        &app,
        a,
        "closeSession",
        "mutation($id: ID!) { closeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await;
    done.push("closeSession");
    run(
        &app,
        a,
        "summarizeSession",
        "mutation($id: ID!) { summarizeSession(id: $id) { id } }",
        json!({ "id": session }),
    )
    .await;
    done.push("summarizeSession");
    let job = run(&app, a, "jobs", "{ jobs { nodes { id } } }", json!({})).await["nodes"][0]["id"]
        .clone();
    run(
        &app,
        a,
        "retryJob",
        "mutation($id: ID!) { retryJob(id: $id) { id } }",
        json!({ "id": job }),
    )
    .await;
    done.push("retryJob");
    let key = run(
        &app,
        a,
        "createApiKey",
        r#"mutation { createApiKey(name: "bot", scopes: [READ]) { apiKey { id } } }"#,
        json!({}),
    )
    .await["apiKey"]["id"]
        .clone();
    done.push("createApiKey");
    run(
        &app,
        a,
        "revokeApiKey",
        "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
        json!({ "id": key }),
    )
    .await;
    done.push("revokeApiKey");
    run(
        &app,
        a,
        "exportLeadData",
        "mutation($id: ID!) { exportLeadData(id: $id) { url } }",
        json!({ "id": customer }),
    )
    .await;
    done.push("exportLeadData");

    let endpoint = run(&app, a, "createWebhookEndpoint",
        r#"mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/hook", eventTypes: ["note.created"] }) { endpoint { id } } }"#,
        json!({})).await["endpoint"]["id"].clone();
    done.push("createWebhookEndpoint");
    crate::helpers::add_note(
        &app,
        a,
        customer.as_str().unwrap(),
        "a note to deliver",
        false,
    )
    .await;
    memodesk::services::outbound::sender::run_once(&app.state)
        .await
        .expect("webhook step");
    let delivery = run(
        &app,
        a,
        "webhookDeliveries",
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { id } }",
        json!({ "id": endpoint }),
    )
    .await[0]["id"]
        .clone();
    run(
        &app,
        a,
        "replayWebhookDelivery",
        "mutation($id: ID!) { replayWebhookDelivery(id: $id) { id } }",
        json!({ "id": delivery }),
    )
    .await;
    done.push("replayWebhookDelivery");
    for (name, doc) in [
        (
            "updateWebhookEndpoint",
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }",
        ),
        (
            "rotateWebhookSecret",
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        ),
        (
            "deleteWebhookEndpoint",
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        ),
    ] {
        run(&app, a, name, doc, json!({ "id": endpoint })).await;
        done.push(name);
    }
    run(
        &app,
        a,
        "eraseLead",
        ERASE,
        json!({ "id": lead, "reason": "asked" }),
    )
    .await;
    done.push("eraseLead");

    let mut actions = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .gql(Some(a), AUDIT, json!({ "first": 100, "after": after }))
            .await
            .ok()["auditLog"]
            .clone();
        for node in page["nodes"].as_array().unwrap() {
            actions.push(node["action"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    for (name, expected) in AUDITED {
        assert!(done.contains(name), "{name} was not exercised");
        assert!(
            names.iter().any(|n| n == name),
            "{name} is not in the schema any more"
        );
        if let Ok(action) = expected {
            assert!(
                actions.iter().any(|a| a == action),
                "{name} left no {action} entry: {actions:?}"
            );
        }
    }
}
