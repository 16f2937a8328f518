//! Notes: adding (with and without a session), editing, pinning, deleting, ordering, limits,
//! roles and authorship.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, record};

const ADD: &str = r#"mutation($input: AddNoteInput!) { addNote(input: $input) {
    id leadId sessionId kind body author authorId pinned createdAt updatedAt } }"#;
const NOTE: &str = r#"query($id: ID!) { note(id: $id) {
    id leadId sessionId kind body author authorId pinned createdAt updatedAt } }"#;
const LEAD_NOTES: &str = r#"query($id: ID!, $first: Int! = 20) { lead(id: $id) { notes(first: $first) { id body pinned } } }"#;

/// A lead with one WhatsApp conversation; returns (lead id, session id).
async fn lead_with_session(app: &TestApp, t: &TestTenant, user: &str) -> (String, String) {
    let recorded = record(
        app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": user, "content": "Hi, I want to book a trip" }),
    )
    .await;
    (
        recorded["lead"]["id"].as_str().unwrap().to_owned(),
        recorded["session"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn add_note(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), ADD, json!({ "input": input }))
        .await
        .ok()["addNote"]
        .clone()
}

async fn lead_notes(app: &TestApp, t: &TestTenant, lead: &str) -> Value {
    app.gql(Some(&t.viewer), LEAD_NOTES, json!({ "id": lead }))
        .await
        .ok()["lead"]["notes"]
        .clone()
}

#[tokio::test]
async fn notes_are_added_with_or_without_a_session_and_read_back() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, session) = lead_with_session(&app, &t, "972500000001").await;

    let plain = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "body": "  Prefers morning flights \n" }),
    )
    .await;
    assert_eq!(plain["leadId"], lead.as_str());
    assert_eq!(plain["sessionId"], Value::Null);
    assert_eq!(plain["kind"], "NOTE");
    assert_eq!(
        plain["body"], "Prefers morning flights",
        "the body is stored trimmed"
    );
    assert_eq!(plain["pinned"], false);
    assert_eq!(plain["createdAt"], plain["updatedAt"]);

    let about_session = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "sessionId": session, "body": "Asked for Rome in May", "pinned": true }),
    )
    .await;
    assert_eq!(about_session["sessionId"], session.as_str());
    assert_eq!(about_session["pinned"], true);

    for note in [&plain, &about_session] {
        let read = app
            .gql(Some(&t.viewer), NOTE, json!({ "id": note["id"] }))
            .await;
        assert_eq!(
            &read.ok()["note"],
            note,
            "note(id) returns what addNote returned"
        );
    }
    let notes = lead_notes(&app, &t, &lead).await;
    assert_eq!(notes.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn note_author_is_the_credential_that_wrote_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000002").await;

    // A service token (subject `test`).
    let by_token = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "body": "from a service token" }),
    )
    .await;
    assert_eq!(by_token["author"], "test");
    assert_eq!(by_token["authorId"], Value::Null);

    // A staff user signed in: their display name and id.
    let user = app
        .gql(
            Some(&t.admin),
            r#"mutation { createStaffUser(input: {
                email: "noa@acme.test", password: "correct horse battery", role: AGENT, displayName: "Noa Levi"
            }) { id } }"#,
            json!({}),
        )
        .await;
    let user_id = user.ok()["createStaffUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = app
        .gql(
            None,
            r#"mutation { login(email: "noa@acme.test", password: "correct horse battery") { token } }"#,
            json!({}),
        )
        .await;
    let token = login.ok()["login"]["token"].as_str().unwrap().to_owned();
    let by_user = add_note(&app, &token, json!({ "leadId": lead, "body": "from Noa" })).await;
    assert_eq!(by_user["author"], "Noa Levi");
    assert_eq!(by_user["authorId"], user_id.as_str());
}

#[tokio::test]
async fn a_session_of_another_lead_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000003").await;
    let (_, other_session) = lead_with_session(&app, &t, "972500000004").await;

    let response = app
        .gql(
            Some(&t.agent),
            ADD,
            json!({ "input": { "leadId": lead, "sessionId": other_session, "body": "misfiled" } }),
        )
        .await;
    let message = response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.field(), Some("input.sessionId"));
    assert!(message.contains("another lead"), "{message}");
    assert_eq!(lead_notes(&app, &t, &lead).await, json!([]));

    // Unknown lead or session: NOT_FOUND; a malformed id: BAD_USER_INPUT naming it.
    let unknown = uuid::Uuid::now_v7().to_string();
    for (input, code, field) in [
        (json!({ "leadId": unknown, "body": "x" }), "NOT_FOUND", None),
        (
            json!({ "leadId": lead, "sessionId": unknown, "body": "x" }),
            "NOT_FOUND",
            None,
        ),
        (
            json!({ "leadId": "lead-1", "body": "x" }),
            "BAD_USER_INPUT",
            Some("input.leadId"),
        ),
        (
            json!({ "leadId": lead, "sessionId": "s-1", "body": "x" }),
            "BAD_USER_INPUT",
            Some("input.sessionId"),
        ),
    ] {
        let response = app
            .gql(Some(&t.agent), ADD, json!({ "input": input }))
            .await;
        response.expect_error(code);
        assert_eq!(response.field(), field, "{input}");
    }
    assert_eq!(lead_notes(&app, &t, &lead).await, json!([]));
}

#[tokio::test]
async fn update_note_changes_the_body_and_the_edit_time_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, session) = lead_with_session(&app, &t, "972500000005").await;
    let note = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "sessionId": session, "body": "first draft", "pinned": true }),
    )
    .await;
    app.clock.advance(Duration::minutes(3));

    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!) { updateNote(id: $id, body: "  final text ") {
                id leadId sessionId body pinned author createdAt updatedAt } }"#,
            json!({ "id": note["id"] }),
        )
        .await;
    let updated = &response.ok()["updateNote"];
    assert_eq!(updated["id"], note["id"]);
    assert_eq!(updated["body"], "final text");
    assert_eq!(updated["pinned"], true);
    assert_eq!(updated["sessionId"], session.as_str());
    assert_eq!(updated["createdAt"], note["createdAt"]);
    assert_ne!(updated["updatedAt"], note["updatedAt"]);
    let read = app
        .gql(Some(&t.viewer), NOTE, json!({ "id": note["id"] }))
        .await;
    assert_eq!(read.ok()["note"]["body"], "final text");

    let unknown = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!) { updateNote(id: $id, body: "x") { id } }"#,
            json!({ "id": uuid::Uuid::now_v7() }),
        )
        .await;
    assert_eq!(unknown.expect_error("NOT_FOUND"), "note not found");
}

#[tokio::test]
async fn pin_note_pins_by_default_and_unpins_on_request() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000006").await;
    let note = add_note(&app, &t.agent, json!({ "leadId": lead, "body": "VIP" })).await;
    assert_eq!(note["pinned"], false);

    let pin = r#"mutation($id: ID!) { pinNote(id: $id) { id pinned body } }"#;
    let unpin = r#"mutation($id: ID!) { pinNote(id: $id, pinned: false) { id pinned body } }"#;
    let pinned = app
        .gql(Some(&t.agent), pin, json!({ "id": note["id"] }))
        .await;
    assert_eq!(pinned.ok()["pinNote"]["pinned"], true);
    assert_eq!(pinned.ok()["pinNote"]["body"], "VIP");
    assert_eq!(lead_notes(&app, &t, &lead).await[0]["pinned"], true);
    // Pinning twice is harmless.
    let again = app
        .gql(Some(&t.agent), pin, json!({ "id": note["id"] }))
        .await;
    assert_eq!(again.ok()["pinNote"]["pinned"], true);

    let unpinned = app
        .gql(Some(&t.agent), unpin, json!({ "id": note["id"] }))
        .await;
    assert_eq!(unpinned.ok()["pinNote"]["pinned"], false);
    let read = app
        .gql(Some(&t.viewer), NOTE, json!({ "id": note["id"] }))
        .await;
    assert_eq!(read.ok()["note"]["pinned"], false);
    assert_eq!(read.ok()["note"]["body"], "VIP");
}

#[tokio::test]
async fn deleted_notes_are_gone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000007").await;
    let keep = add_note(&app, &t.agent, json!({ "leadId": lead, "body": "keep me" })).await;
    let gone = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "body": "delete me" }),
    )
    .await;

    let delete = r#"mutation($id: ID!) { deleteNote(id: $id) }"#;
    let response = app
        .gql(Some(&t.agent), delete, json!({ "id": gone["id"] }))
        .await;
    assert_eq!(response.ok()["deleteNote"], gone["id"]);

    app.gql(Some(&t.viewer), NOTE, json!({ "id": gone["id"] }))
        .await
        .expect_error("NOT_FOUND");
    assert_eq!(
        lead_notes(&app, &t, &lead).await,
        json!([{ "id": keep["id"], "body": "keep me", "pinned": false }])
    );
    // Deleting, editing or pinning it again: NOT_FOUND.
    app.gql(Some(&t.agent), delete, json!({ "id": gone["id"] }))
        .await
        .expect_error("NOT_FOUND");
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { updateNote(id: $id, body: "back") { id } }"#,
        json!({ "id": gone["id"] }),
    )
    .await
    .expect_error("NOT_FOUND");
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { pinNote(id: $id) { id } }"#,
        json!({ "id": gone["id"] }),
    )
    .await
    .expect_error("NOT_FOUND");
    // Gone from the memory context too.
    let context = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { memoryContext(leadId: $id) { notes { id } rendered { text } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(
        context.ok()["memoryContext"]["notes"],
        json!([{ "id": keep["id"] }])
    );
    assert!(
        !context.ok()["memoryContext"]["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("delete me")
    );
}

#[tokio::test]
async fn lead_notes_come_newest_first_and_honour_first() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000008").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let note = add_note(
            &app,
            &t.agent,
            json!({ "leadId": lead, "body": format!("note {i}") }),
        )
        .await;
        ids.push(note["id"].clone());
        app.clock.advance(Duration::minutes(1));
    }
    let notes = lead_notes(&app, &t, &lead).await;
    let bodies: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["note 3", "note 2", "note 1", "note 0"]);

    let two = app
        .gql(
            Some(&t.viewer),
            LEAD_NOTES,
            json!({ "id": lead, "first": 2 }),
        )
        .await;
    let two: Vec<&Value> = two.ok()["lead"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(two, [&ids[3], &ids[2]]);
    let too_many = app
        .gql(
            Some(&t.viewer),
            LEAD_NOTES,
            json!({ "id": lead, "first": 1000 }),
        )
        .await;
    too_many.expect_error("BAD_USER_INPUT");
    assert_eq!(too_many.field(), Some("first"));

    // Editing an old note does not move it.
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { updateNote(id: $id, body: "note 0, edited") { id } }"#,
        json!({ "id": ids[0] }),
    )
    .await
    .ok();
    let notes = lead_notes(&app, &t, &lead).await;
    assert_eq!(notes[3]["body"], "note 0, edited");
}

#[tokio::test]
async fn empty_and_oversized_bodies_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000009").await;

    for body in [String::new(), "   \n\t ".to_owned(), "x".repeat(10_001)] {
        let response = app
            .gql(
                Some(&t.agent),
                ADD,
                json!({ "input": { "leadId": lead, "body": body } }),
            )
            .await;
        let message = response.expect_error("BAD_USER_INPUT").to_owned();
        assert_eq!(
            response.field(),
            Some("input.body"),
            "body of {} chars",
            body.len()
        );
        if body.len() > 10_000 {
            assert!(message.contains("10000"), "{message}");
        } else {
            assert!(message.contains("empty"), "{message}");
        }
    }
    assert_eq!(lead_notes(&app, &t, &lead).await, json!([]));

    // 10 000 characters (even multi-byte ones) are fine.
    let longest = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "body": "é".repeat(10_000) }),
    )
    .await;
    assert_eq!(longest["body"].as_str().unwrap().chars().count(), 10_000);

    let update =
        r#"mutation($id: ID!, $body: String!) { updateNote(id: $id, body: $body) { id body } }"#;
    for body in [String::new(), " ".to_owned(), "y".repeat(10_001)] {
        let response = app
            .gql(
                Some(&t.agent),
                update,
                json!({ "id": longest["id"], "body": body }),
            )
            .await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(response.field(), Some("body"));
    }
    let read = app
        .gql(Some(&t.viewer), NOTE, json!({ "id": longest["id"] }))
        .await;
    assert_eq!(
        read.ok()["note"]["body"],
        longest["body"],
        "refused edits change nothing"
    );
}

#[tokio::test]
async fn viewers_cannot_write_notes() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let (lead, _) = lead_with_session(&app, &t, "972500000010").await;
    let note = add_note(
        &app,
        &t.agent,
        json!({ "leadId": lead, "body": "agent wrote this" }),
    )
    .await;

    let attempts = [
        (
            ADD,
            json!({ "input": { "leadId": lead, "body": "viewer note" } }),
        ),
        (
            r#"mutation($id: ID!) { updateNote(id: $id, body: "viewer edit") { id } }"#,
            json!({ "id": note["id"] }),
        ),
        (
            r#"mutation($id: ID!) { pinNote(id: $id) { id } }"#,
            json!({ "id": note["id"] }),
        ),
        (
            r#"mutation($id: ID!) { deleteNote(id: $id) }"#,
            json!({ "id": note["id"] }),
        ),
    ];
    for (query, variables) in attempts {
        let response = app.gql(Some(&t.viewer), query, variables).await;
        let message = response.expect_error("FORBIDDEN");
        assert!(message.contains("agent"), "{message}");
    }
    assert_eq!(
        lead_notes(&app, &t, &lead).await,
        json!([{ "id": note["id"], "body": "agent wrote this", "pinned": false }])
    );
    // Viewers may read.
    app.gql(Some(&t.viewer), NOTE, json!({ "id": note["id"] }))
        .await
        .ok();
}
