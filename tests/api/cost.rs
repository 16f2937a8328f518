//! What a request may cost: page sizes multiply what they select, and a document over the
//! limit is refused before it runs, saying which part costs what.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, add_note, message, record};

/// The hostile document of issue 27: 30 aliases of leads × sessions × messages, 100 each.
pub fn hostile_document() -> String {
    let part = "leads(first: 100) { nodes { id sessions(first: 100) { nodes { id messages(first: 100) { nodes { id content } } } } } }";
    let aliases: Vec<String> = (0..30).map(|i| format!("a{i}: {part}")).collect();
    format!("{{ {} }}", aliases.join(" "))
}

fn cost_error(response: &Gql) -> Option<&Value> {
    response.body["errors"]
        .as_array()?
        .iter()
        .find(|e| e["extensions"].get("cost").is_some())
}

#[tokio::test]
async fn thirty_aliased_pages_of_pages_are_refused_before_they_run_saying_what_costs_what() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    record(&app, &t.agent, message("WEB", "v1", "hello")).await;
    let statements = app.statements();
    let response = app
        .gql(Some(&t.viewer), &hostile_document(), json!({}))
        .await;
    let text = response.expect_error("BAD_USER_INPUT").to_owned();
    assert_eq!(response.data(), &Value::Null);
    let error = cost_error(&response).expect("a cost error");
    // Each field costs 1; a page multiplies what it selects.
    let messages: u64 = 1 + 100 * (1 + 2); // messages { nodes { id content } }
    let sessions = 1 + 100 * (1 + 1 + messages); // sessions { nodes { id messages } }
    let per_alias = 1 + 100 * (1 + 1 + sessions); // leads { nodes { id sessions } }
    assert_eq!(error["extensions"]["cost"], json!(30 * per_alias), "{text}");
    assert_eq!(error["extensions"]["limit"], json!(10_000));
    assert_eq!(
        error["extensions"]["costliest"][0]["path"],
        json!("a0"),
        "{text}"
    );
    for words in [
        "a0",
        "a0.nodes.sessions",
        "a0.nodes.sessions.nodes.messages",
        "page of 100",
        "limit of 10000",
    ] {
        assert!(text.contains(words), "`{text}` should mention `{words}`");
    }
    // Refused before it ran: no statement reached the database (beyond authentication).
    assert!(app.statements() - statements <= 2, "the document ran");

    // Variables count as written; the same with small pages passes.
    let response = app
        .gql(
            Some(&t.viewer),
            "query($n: Int) { leads(first: $n) { nodes { sessions(first: $n) { nodes { messages(first: $n) { nodes { id } } } } } } }",
            json!({ "n": 100 }),
        )
        .await;
    assert!(cost_error(&response).is_some(), "{:#}", response.body);
    let response = app
        .gql(
            Some(&t.viewer),
            "query($n: Int) { leads(first: $n) { nodes { sessions(first: $n) { nodes { messages(first: $n) { nodes { id } } } } } } }",
            json!({ "n": 5 }),
        )
        .await;
    response.ok();
}

/// The dashboard's GraphQL documents (web/js/api.js, all of them), fragments filled in.
fn dashboard_documents() -> Vec<(String, String)> {
    let block = include_str!("../../web/js/api.js");
    let mut fragments = HashMap::new();
    let mut documents = Vec::new();
    let mut rest = block;
    while let Some(start) = rest.find('`') {
        let before = &rest[..start];
        let after = &rest[start + 1..];
        let end = after.find('`').expect("closing backtick");
        let text = &after[..end];
        let name = before
            .trim_end()
            .trim_end_matches(['=', ':'])
            .trim_end()
            .rsplit(|c: char| c.is_whitespace() || c == ',' || c == '{')
            .next()
            .unwrap_or_default()
            .to_owned();
        if name.starts_with("F_") {
            fragments.insert(format!("${{{name}}}"), text.to_owned());
        } else {
            documents.push((name, text.to_owned()));
        }
        rest = &after[end + 1..];
    }
    documents
        .into_iter()
        .map(|(name, mut text)| {
            for (placeholder, fragment) in &fragments {
                text = text.replace(placeholder, fragment);
            }
            (name, text)
        })
        .collect()
}

#[tokio::test]
async fn the_dashboards_documents_and_usual_agent_queries_stay_within_the_limit() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let recorded = record(&app, &t.agent, message("WEB", "v1", "hello, I'm Dana")).await;
    let lead = recorded["lead"]["id"].as_str().unwrap().to_owned();
    let session = recorded["session"]["id"].as_str().unwrap().to_owned();
    add_note(&app, &t.agent, &lead, "call back", false).await;
    let documents = dashboard_documents();
    assert!(documents.len() >= 15, "{documents:?}");
    let variables = json!({
        "first": 50, "id": lead, "leadId": lead, "key": "name", "value": "Dana",
        "input": { "leadId": lead, "body": "hi" }, "pinned": true,
        "email": "nobody@example.com", "password": "not-the-password",
    });
    for (name, document) in documents {
        let variables = if name == "messages" {
            json!({ "id": session })
        } else {
            variables.clone()
        };
        let response = app.gql(Some(&t.admin), &document, variables).await;
        assert!(
            cost_error(&response).is_none(),
            "the dashboard's `{name}` is refused: {:#}",
            response.body
        );
    }
    for document in [
        "{ leads(first: 100) { nodes { id displayName primaryPhone sessions(first: 5) { nodes { id channel status } } } } }",
        "query($id: ID!) { memoryContext(leadId: $id) { isReturning rendered { text estimatedTokens } profile { key value source confidence } recentMessages { role content occurredAt } } }",
        "query($id: ID!) { session(id: $id) { messages(last: 100) { nodes { id role content occurredAt } } } }",
    ] {
        let response = app
            .gql(
                Some(&t.agent),
                document,
                json!({ "id": if document.contains("session(") { &session } else { &lead } }),
            )
            .await;
        assert!(cost_error(&response).is_none(), "{:#}", response.body);
    }
}
