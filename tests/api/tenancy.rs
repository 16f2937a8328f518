//! Tenant isolation: another tenant's ids are NOT_FOUND exactly like ids that do not exist,
//! nothing of theirs shows up in lists, and nothing of theirs changes.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestTenant, record};

const A_PHONE: &str = "+14155552671";

/// What tenant A owns, by id.
struct Seeded {
    lead_id: String,
    session_id: String,
    note_id: String,
    api_key_id: String,
    user_id: String,
}

/// Gives tenant A a lead with messages on two channels, a staff-held profile field, a pinned
/// note, an API key and a staff user.
async fn seed_tenant_a(app: &TestApp, a: &TestTenant) -> Seeded {
    let created = app
        .gql(
            Some(&a.admin),
            r#"mutation { createLead(input: {
                displayName: "Avery Tenant-A", phone: "+1 415-555-2671", email: "avery@a.test"
            }) { id } }"#,
            json!({}),
        )
        .await;
    let lead_id = created.ok()["createLead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let whatsapp = record(
        app,
        &a.agent,
        json!({
            "channel": "WHATSAPP", "externalUserId": "14155552671", "phone": A_PHONE,
            "displayName": "Avery", "content": "Hi, I am looking for flights to Rome in May"
        }),
    )
    .await;
    let session_id = whatsapp["session"]["id"].as_str().unwrap().to_owned();
    record(
        app,
        &a.agent,
        json!({ "channel": "WEB", "email": "avery@a.test", "content": "Also, what does insurance cost?" }),
    )
    .await;
    crate::helpers::set_profile_field(app, &a.agent, &lead_id, "city", "Lisbon")
        .await
        .ok();
    let note = app
        .gql(
            Some(&a.agent),
            r#"mutation($lead: ID!, $session: ID!) {
                addNote(input: { leadId: $lead, sessionId: $session, body: "VIP: window seats", pinned: true }) { id } }"#,
            json!({ "lead": lead_id, "session": session_id }),
        )
        .await;
    let note_id = note.ok()["addNote"]["id"].as_str().unwrap().to_owned();
    let key = app
        .gql(
            Some(&a.admin),
            r#"mutation { createApiKey(name: "a-crm-sync", scopes: [READ]) { apiKey { id } } }"#,
            json!({}),
        )
        .await;
    let api_key_id = key.ok()["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = app
        .gql(
            Some(&a.admin),
            r#"mutation { createStaffUser(input: {
            email: "dana@a.test", password: "correct horse battery", role: AGENT, displayName: "Dana A"
        }) { id } }"#,
            json!({}),
        )
        .await;
    let user_id = user.ok()["createStaffUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Seeded {
        lead_id,
        session_id,
        note_id,
        api_key_id,
        user_id,
    }
}

const SNAPSHOT: &str = r#"
query Snapshot($lead: ID!, $session: ID!, $note: ID!) {
  lead(id: $lead) {
    id displayName primaryPhone email lastInteractionAt lastChannel messageCount sessionCount
    createdAt updatedAt
    profile {
      key value source confidence updatedAt updatedBy previousValue locked rejected
      items { value source confidence } evidence { messageId snippet }
    }
    identities { kind value channel createdAt }
    sessions(first: 50) { totalCount edges { cursor node { id status messageCount lastMessageAt } } }
    lastSession { id }
    notes(first: 50) { id body pinned sessionId author updatedAt }
  }
  session(id: $session) {
    id leadId status channel messageCount intents lastMessageAt closedAt
    messages(first: 100) { nodes { id content role occurredAt } }
  }
  note(id: $note) { id body pinned updatedAt }
  profileHistory(leadId: $lead) { id key oldValue newValue source outcome actor createdAt }
  memoryContext(leadId: $lead) { isNewCustomer notes { id } rendered { text } }
  apiKeys { id name revokedAt }
  staffUsers { id email role active }
  leads(first: 100) { totalCount nodes { id displayName updatedAt } }
}"#;

/// Everything tenant A can see about its data, as its admin sees it.
async fn snapshot(app: &TestApp, a: &TestTenant, seeded: &Seeded) -> Value {
    let response = app
        .gql(
            Some(&a.admin),
            SNAPSHOT,
            json!({ "lead": seeded.lead_id, "session": seeded.session_id, "note": seeded.note_id }),
        )
        .await;
    response.ok().clone()
}

/// Replaces every string `"$ID"` in `template` with `id`.
fn with_id(template: &Value, id: &str) -> Value {
    match template {
        Value::String(s) if s == "$ID" => Value::String(id.to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| with_id(v, id)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_id(v, id)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Runs `query` as `token` once with `foreign_id` and once with an id that exists nowhere;
/// both must be NOT_FOUND, with the very same response body.
async fn assert_not_found_like_unknown_id(
    app: &TestApp,
    token: &str,
    label: &str,
    query: &str,
    variables: Value,
    foreign_id: &str,
) {
    let foreign = app
        .gql(Some(token), query, with_id(&variables, foreign_id))
        .await;
    let unknown = app
        .gql(
            Some(token),
            query,
            with_id(&variables, &Uuid::now_v7().to_string()),
        )
        .await;
    assert_eq!(
        foreign.code(),
        Some("NOT_FOUND"),
        "{label}: another tenant's id should be NOT_FOUND, got {}",
        foreign.body
    );
    assert_eq!(
        foreign.body, unknown.body,
        "{label}: another tenant's id must fail exactly like an unknown id"
    );
    assert_eq!(foreign.status, unknown.status, "{label}");
    assert!(
        !foreign.body.to_string().contains(foreign_id),
        "{label}: the error must not echo the id"
    );
}

#[tokio::test]
async fn reading_another_tenants_ids_is_not_found_exactly_like_unknown_ids() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;

    let reads = [
        (
            "lead",
            "query($id: ID!) { lead(id: $id) { id displayName } }",
            &seeded.lead_id,
        ),
        (
            "session",
            "query($id: ID!) { session(id: $id) { id messageCount } }",
            &seeded.session_id,
        ),
        (
            "note",
            "query($id: ID!) { note(id: $id) { id body } }",
            &seeded.note_id,
        ),
        (
            "profileHistory",
            "query($id: ID!) { profileHistory(leadId: $id) { id key newValue } }",
            &seeded.lead_id,
        ),
        (
            "memoryContext by leadId",
            "query($id: ID!) { memoryContext(leadId: $id) { isNewCustomer lead { id } rendered { text } } }",
            &seeded.lead_id,
        ),
    ];
    for (label, query, id) in reads {
        for token in [&b.admin, &b.viewer] {
            assert_not_found_like_unknown_id(&app, token, label, query, json!({ "id": "$ID" }), id)
                .await;
        }
    }
    // The same ids work for their own tenant, so the NOT_FOUND above is about tenancy.
    let own = app
        .gql(
            Some(&a.viewer),
            "query($id: ID!) { lead(id: $id) { id } }",
            json!({ "id": seeded.lead_id }),
        )
        .await;
    assert_eq!(own.ok()["lead"]["id"], seeded.lead_id.as_str());
}

#[tokio::test]
async fn writes_to_another_tenants_ids_are_not_found_and_change_nothing() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;
    let b_lead = app
        .gql(
            Some(&b.admin),
            r#"mutation { createLead(input: { displayName: "Blake B" }) { id } }"#,
            json!({}),
        )
        .await;
    let b_lead_id = b_lead.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &a, &seeded).await;

    let writes: Vec<(&str, &str, Value, &str)> = vec![
        (
            "updateLead",
            r#"mutation($id: ID!) { updateLead(id: $id, input: { displayName: "Hijacked", phone: "+1 212 736 5000", email: "x@b.test" }) { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.lead_id,
        ),
        (
            "setProfileField",
            r#"mutation($id: ID!) { setProfileField(leadId: $id, key: "city", value: "Mars") { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.lead_id,
        ),
        (
            "rejectProfileField",
            r#"mutation($id: ID!) { rejectProfileField(leadId: $id, key: "city") { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.lead_id,
        ),
        (
            "releaseProfileField",
            r#"mutation($id: ID!) { releaseProfileField(leadId: $id, key: "city") { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.lead_id,
        ),
        (
            "addNote on another tenant's lead",
            r#"mutation($id: ID!) { addNote(input: { leadId: $id, body: "planted note" }) { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.lead_id,
        ),
        (
            "addNote on an own lead with another tenant's session",
            r#"mutation($lead: ID!, $id: ID!) { addNote(input: { leadId: $lead, sessionId: $id, body: "planted note" }) { id } }"#,
            json!({ "lead": b_lead_id, "id": "$ID" }),
            &seeded.session_id,
        ),
        (
            "updateNote",
            r#"mutation($id: ID!) { updateNote(id: $id, body: "rewritten by B") { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.note_id,
        ),
        (
            "pinNote",
            r#"mutation($id: ID!) { pinNote(id: $id, pinned: false) { id pinned } }"#,
            json!({ "id": "$ID" }),
            &seeded.note_id,
        ),
        (
            "deleteNote",
            r#"mutation($id: ID!) { deleteNote(id: $id) }"#,
            json!({ "id": "$ID" }),
            &seeded.note_id,
        ),
        (
            "revokeApiKey",
            r#"mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"#,
            json!({ "id": "$ID" }),
            &seeded.api_key_id,
        ),
        (
            "updateStaffUser",
            r#"mutation($id: ID!) { updateStaffUser(id: $id, input: { role: VIEWER, active: false }) { id } }"#,
            json!({ "id": "$ID" }),
            &seeded.user_id,
        ),
    ];
    for (label, query, variables, id) in &writes {
        assert_not_found_like_unknown_id(&app, &b.admin, label, query, variables.clone(), id).await;
    }

    let after = snapshot(&app, &a, &seeded).await;
    assert_eq!(before, after, "tenant A's data changed");
    // B's own lead got no note either.
    let b_notes = app
        .gql(
            Some(&b.admin),
            "query($id: ID!) { lead(id: $id) { notes { id } } }",
            json!({ "id": b_lead_id }),
        )
        .await;
    assert_eq!(b_notes.ok()["lead"]["notes"], json!([]));
    // A's key still authenticates.
    let keys = app
        .gql(Some(&a.admin), "{ apiKeys { revokedAt } }", json!({}))
        .await;
    assert_eq!(keys.ok()["apiKeys"][0]["revokedAt"], Value::Null);
}

#[tokio::test]
async fn another_tenants_phone_number_is_unknown_to_lead_by_phone_and_memory_context() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;
    let before = snapshot(&app, &a, &seeded).await;

    let by_phone = "query($phone: String!) { leadByPhone(phone: $phone) { id } }";
    let foreign = app
        .gql(
            Some(&b.admin),
            by_phone,
            json!({ "phone": "(415) 555-2671" }),
        )
        .await;
    let unknown = app
        .gql(
            Some(&b.admin),
            by_phone,
            json!({ "phone": "+44 20 7183 8750" }),
        )
        .await;
    foreign.expect_error("NOT_FOUND");
    assert_eq!(
        foreign.body, unknown.body,
        "A's number must look like any unknown number"
    );

    let context = app
        .gql(
            Some(&b.agent),
            r#"query($phone: String!) { memoryContext(phone: $phone, channel: WHATSAPP) {
                isNewCustomer isReturning suggestedOpening lead { id } profile { key }
                lastSummary { text } notes { id } session { id } messages { id }
                rendered { text }
            } }"#,
            json!({ "phone": A_PHONE }),
        )
        .await;
    let context = &context.ok()["memoryContext"];
    assert_eq!(context["isNewCustomer"], true);
    assert_eq!(context["isReturning"], false);
    assert_eq!(context["lead"], Value::Null);
    assert_eq!(context["profile"], json!([]));
    assert_eq!(context["lastSummary"], Value::Null);
    assert_eq!(context["notes"], json!([]));
    assert_eq!(context["session"], Value::Null);
    assert_eq!(context["messages"], json!([]));
    let text = context["rendered"]["text"].as_str().unwrap();
    for secret in ["Avery", "Lisbon", "window seats", "Rome", "avery@a.test"] {
        assert!(
            !text.contains(secret),
            "B's context leaks `{secret}`: {text}"
        );
    }

    assert_eq!(
        before,
        snapshot(&app, &a, &seeded).await,
        "tenant A's data changed"
    );
}

#[tokio::test]
async fn recording_another_tenants_customer_identity_creates_a_separate_lead() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;
    let before = snapshot(&app, &a, &seeded).await;

    let recorded = record(
        &app,
        &b.agent,
        json!({
            "channel": "WHATSAPP", "externalUserId": "14155552671", "phone": A_PHONE,
            "email": "avery@a.test", "displayName": "Avery in B", "content": "Hello from tenant B's bot"
        }),
    )
    .await;
    assert_eq!(recorded["leadCreated"], true, "{recorded}");
    assert_eq!(recorded["sessionCreated"], true);
    assert_eq!(recorded["duplicate"], false);
    assert_ne!(recorded["lead"]["id"], seeded.lead_id.as_str());
    assert_ne!(recorded["session"]["id"], seeded.session_id.as_str());
    assert_eq!(recorded["lead"]["messageCount"], 1);
    assert_eq!(recorded["session"]["messageCount"], 1);

    // The same provider message id in both tenants is not a duplicate either.
    let with_external_id = json!({
        "channel": "WEB", "externalUserId": "shared-visitor", "content": "first words",
        "externalId": "wamid.SHARED-1"
    });
    let in_a = record(&app, &a.agent, with_external_id.clone()).await;
    let in_b = record(&app, &b.agent, with_external_id).await;
    assert_eq!(in_a["duplicate"], false);
    assert_eq!(in_b["duplicate"], false);
    assert_ne!(in_a["message"]["id"], in_b["message"]["id"]);

    let b_leads = app
        .gql(
            Some(&b.admin),
            "{ leads { totalCount nodes { id displayName messageCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(b_leads.ok()["leads"]["totalCount"], 2);
    let b_phone = app
        .gql(
            Some(&b.viewer),
            "{ leadByPhone(phone: \"+14155552671\") { id displayName } }",
            json!({}),
        )
        .await;
    assert_eq!(b_phone.ok()["leadByPhone"]["id"], recorded["lead"]["id"]);

    // Tenant A's lead is as it was, apart from the web visitor A itself recorded.
    let mut after = snapshot(&app, &a, &seeded).await;
    let mut before = before;
    for s in [&mut before, &mut after] {
        s["leads"] = Value::Null;
    }
    assert_eq!(before, after, "tenant A's data changed");
    let a_leads = app
        .gql(Some(&a.admin), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(
        a_leads.ok()["leads"]["totalCount"],
        2,
        "A has its lead and its own web visitor"
    );
}

#[tokio::test]
async fn lists_never_include_another_tenants_leads_users_or_keys() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;
    record(
        &app,
        &b.agent,
        json!({ "channel": "CALL", "externalUserId": "+1 212 736 5000", "content": "Calling about my booking" }),
    )
    .await;

    let list = r#"query($filter: LeadFilter) { leads(first: 100, filter: $filter) {
        totalCount nodes { id displayName } pageInfo { hasNextPage } } }"#;
    let all_b = app.gql(Some(&b.admin), list, json!({})).await;
    assert_eq!(all_b.ok()["leads"]["totalCount"], 1);
    assert_eq!(all_b.ok()["leads"]["nodes"].as_array().unwrap().len(), 1);
    assert_ne!(
        all_b.ok()["leads"]["nodes"][0]["id"],
        seeded.lead_id.as_str()
    );

    for filter in [
        json!({ "search": "Avery" }),
        json!({ "search": "avery@a.test" }),
        json!({ "search": "4155552671" }),
        json!({ "channel": "WHATSAPP" }),
        json!({ "channel": "WEB" }),
        json!({ "hasSummary": false, "search": "tenant-a" }),
    ] {
        let response = app
            .gql(Some(&b.admin), list, json!({ "filter": filter }))
            .await;
        let leads = &response.ok()["leads"];
        assert_eq!(leads["totalCount"], 0, "filter {filter}: {leads}");
        assert_eq!(leads["nodes"], json!([]), "filter {filter}");
        // The same filter does find A's lead in A.
        let own = app
            .gql(Some(&a.admin), list, json!({ "filter": filter }))
            .await;
        let ids: Vec<&Value> = own.ok()["leads"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| &n["id"])
            .collect();
        assert!(
            ids.contains(&&json!(seeded.lead_id)),
            "filter {filter} should find A's lead in A"
        );
    }
    // B's CALL lead is B's only CALL lead; A has none.
    let calls = app
        .gql(
            Some(&a.admin),
            list,
            json!({ "filter": { "channel": "CALL" } }),
        )
        .await;
    assert_eq!(calls.ok()["leads"]["totalCount"], 0);

    let admin_lists = "{ staffUsers { email } apiKeys { id name } }";
    let b_admin = app.gql(Some(&b.admin), admin_lists, json!({})).await;
    assert_eq!(b_admin.ok()["staffUsers"], json!([]));
    assert_eq!(b_admin.ok()["apiKeys"], json!([]));
    let a_admin = app.gql(Some(&a.admin), admin_lists, json!({})).await;
    assert_eq!(
        a_admin.ok()["staffUsers"],
        json!([{ "email": "dana@a.test" }])
    );
    assert_eq!(a_admin.ok()["apiKeys"][0]["id"], seeded.api_key_id.as_str());

    // B's own key and user do not show up in A.
    app.gql(
        Some(&b.admin),
        r#"mutation { createApiKey(name: "b-bot", scopes: [INGEST]) { token } }"#,
        json!({}),
    )
    .await
    .ok();
    let a_keys = app
        .gql(Some(&a.admin), "{ apiKeys { name } }", json!({}))
        .await;
    assert_eq!(a_keys.ok()["apiKeys"], json!([{ "name": "a-crm-sync" }]));
}

#[tokio::test]
async fn another_tenants_api_key_and_token_only_reach_their_own_tenant() {
    let app = TestApp::spawn().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    let seeded = seed_tenant_a(&app, &a).await;
    let key = app
        .gql(
            Some(&b.admin),
            r#"mutation { createApiKey(name: "b-reader", scopes: [READ, INGEST]) { token } }"#,
            json!({}),
        )
        .await;
    let b_key = key.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let count = "query($id: ID!) { lead(id: $id) { messageCount updatedAt } }";
    let a_before = app
        .gql(Some(&a.viewer), count, json!({ "id": seeded.lead_id }))
        .await;
    let a_before = a_before.ok()["lead"].clone();
    assert_eq!(a_before["messageCount"], 2);

    let me = app
        .gql(
            Some(&b_key),
            "{ me { tenantId } tenant { id name } }",
            json!({}),
        )
        .await;
    assert_eq!(me.ok()["me"]["tenantId"], b.id.to_string());
    assert_eq!(me.ok()["tenant"]["name"], "B");
    let lead = app
        .gql(
            Some(&b_key),
            "query($id: ID!) { lead(id: $id) { id } }",
            json!({ "id": seeded.lead_id }),
        )
        .await;
    lead.expect_error("NOT_FOUND");
    let recorded = record(
        &app,
        &b_key,
        json!({ "channel": "WHATSAPP", "externalUserId": "14155552671", "content": "hi via key" }),
    )
    .await;
    assert_eq!(recorded["leadCreated"], true);
    assert_ne!(recorded["lead"]["id"], seeded.lead_id.as_str());
    let a_after = app
        .gql(Some(&a.viewer), count, json!({ "id": seeded.lead_id }))
        .await;
    assert_eq!(a_after.ok()["lead"], a_before);
    let a_tenant = app
        .gql(Some(&a.viewer), "{ tenant { id name } }", json!({}))
        .await;
    assert_eq!(a_tenant.ok()["tenant"]["id"], a.id.to_string());
}
