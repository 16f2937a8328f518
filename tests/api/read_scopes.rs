//! What a credential may read depends on its scope wherever the data appears, not only at
//! root queries: an ingest-only key recording a message sees ids and its own message, and a
//! document that asks it for more (a profile, notes, other messages…) is refused before
//! anything is recorded.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, message};
use crate::non_null::{SchemaMap, api_key, assert_complete, lived_in, named};

/// The policy, as a customer would state it: without read access, below the mutation only
/// the payload's flags, the ids of the lead and session, and the recorded message itself.
fn ingest_may_read(type_name: &str, field: &str) -> bool {
    match type_name {
        "RecordMessagePayload" => field != "context",
        "RecordMessagesPayload" | "RecordMessageResult" | "InputError" => true,
        "Message" | "MessageEntities" | "Amount" | "DateMention" => true,
        "Session" => matches!(field, "id" | "leadId"),
        "Lead" => field == "id",
        _ => false,
    }
}

/// Every path from `type_name` down `depth` object levels, as (selection, fields on the way).
fn paths(
    schema: &SchemaMap,
    type_name: &str,
    depth: usize,
) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let Some(fields) = schema.objects.get(type_name) else {
        return out;
    };
    for field in fields {
        if !schema.selected(field) {
            continue;
        }
        let name = field.name.node.to_string();
        let args = if field.arguments.iter().any(|a| a.node.name.node == "first") {
            "(first: 2)"
        } else {
            ""
        };
        let inner = named(&field.ty.node);
        let step = (type_name.to_owned(), name.clone());
        if schema.objects.contains_key(inner) {
            if depth == 0 {
                continue;
            }
            for (selection, mut on_the_way) in paths(schema, inner, depth - 1) {
                on_the_way.insert(0, step.clone());
                out.push((format!("{name}{args} {{ {selection} }}"), on_the_way));
            }
            // The object with only its typename.
            out.push((format!("{name}{args} {{ __typename }}"), vec![step.clone()]));
        } else {
            out.push((format!("{name}{args}"), vec![step]));
        }
    }
    out
}

async fn message_count(app: &TestApp, t: &TestTenant) -> Value {
    app.gql(
        Some(&t.viewer),
        "{ leads(first: 50) { nodes { messageCount } } }",
        json!({}),
    )
    .await
    .ok()["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["messageCount"].as_i64().unwrap())
        .sum::<i64>()
        .into()
}

#[tokio::test]
async fn an_ingest_key_sees_only_ids_and_its_own_message_in_every_part_of_the_payload() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    lived_in(&app, &t).await;
    let schema = SchemaMap::load();
    let ingest = api_key(&app, &t, "INGEST").await;
    let mut refused = 0;
    let mut allowed = 0;
    for (selection, on_the_way) in paths(&schema, "RecordMessagePayload", 3) {
        let may = on_the_way.iter().all(|(ty, f)| ingest_may_read(ty, f));
        let before = message_count(&app, &t).await;
        let response = app
            .gql(
                Some(&ingest),
                &format!(
                    "mutation($input: RecordMessageInput!) {{ recordMessage(input: $input, withContext: false) {{ {selection} }} }}"
                ),
                json!({ "input": message("WEB", "walker", "one more") }),
            )
            .await;
        if may {
            allowed += 1;
            assert!(
                response.body.get("errors").is_none(),
                "`{selection}` should be readable: {:#}",
                response.body
            );
        } else {
            refused += 1;
            response.expect_error("FORBIDDEN");
            assert_eq!(response.data(), &Value::Null, "{:#}", response.body);
            assert_eq!(
                message_count(&app, &t).await,
                before,
                "`{selection}` was refused but the message was recorded"
            );
        }
    }
    assert!(
        refused > 50 && allowed > 10,
        "{refused} refused, {allowed} allowed"
    );

    // The same in a batch, and through a fragment.
    let response = app
        .gql(
            Some(&ingest),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                results { result { ...L } } } }
               fragment L on RecordMessagePayload { lead { notes { body } } }"#,
            json!({ "inputs": [message("WEB", "walker", "batch")] }),
        )
        .await;
    response.expect_error("FORBIDDEN");
    let response = app
        .gql(
            Some(&ingest),
            r#"mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                recorded results { index error { code } result { message { id content } lead { id } session { id } } } } }"#,
            json!({ "inputs": [message("WEB", "walker", "batch")] }),
        )
        .await;
    assert_eq!(response.ok()["recordMessages"]["recorded"], json!(1));

    // A session it closes: ids only.
    let session = response.ok()["recordMessages"]["results"][0]["result"]["session"]["id"].clone();
    let response = app
        .gql(
            Some(&ingest),
            "mutation($id: ID!) { closeSession(id: $id) { id status } }",
            json!({ "id": session }),
        )
        .await;
    response.expect_error("FORBIDDEN");
}

#[tokio::test]
async fn staff_who_write_read_everything_in_the_payload_and_readers_cannot_write() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    lived_in(&app, &t).await;
    let schema = SchemaMap::load();
    let document = format!(
        "mutation($input: RecordMessageInput!) {{ recordMessage(input: $input, withContext: true) {{ {} }} }}",
        schema.selection("RecordMessagePayload", 3)
    );
    for token in [&t.agent, &t.admin] {
        let response = app
            .gql(
                Some(token),
                &document,
                json!({ "input": message("WEB", "walker", "staff") }),
            )
            .await;
        assert_complete(&schema, &response, "Mutation", 3);
    }
    let read = api_key(&app, &t, "READ").await;
    let export = api_key(&app, &t, "EXPORT").await;
    for token in [&t.viewer, &read, &export] {
        let response = app
            .gql(
                Some(token),
                &document,
                json!({ "input": message("WEB", "walker", "reader") }),
            )
            .await;
        response.expect_error("FORBIDDEN");
        // What they may read, they read in full, wherever it appears.
        let query = format!(
            "{{ leads(first: 2) {{ nodes {{ {} }} }} }}",
            schema.selection("Lead", 2)
        );
        let response = app.gql(Some(token), &query, json!({})).await;
        assert!(response.ok()["leads"]["nodes"][0]["profile"].is_array());
    }
}

#[tokio::test]
async fn an_ingest_key_and_a_read_key_of_another_tenant_see_nothing_of_this_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let lead = lived_in(&app, &t).await;
    for scopes in ["INGEST", "READ"] {
        let key = api_key(&app, &other, scopes).await;
        let response = app
            .gql(
                Some(&key),
                "query($id: ID!) { lead(id: $id) { id } }",
                json!({ "id": lead }),
            )
            .await;
        assert!(
            matches!(response.code(), Some("NOT_FOUND" | "FORBIDDEN")),
            "{:#}",
            response.body
        );
    }
}
