//! GraphQL over HTTP as the spec (and the `graphql-http` audit in `tools/`) asks: content types,
//! request errors without a `data` entry, and their status codes.

use serde_json::Value;

use crate::helpers::TestApp;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// What came back from one raw POST to `/graphql`.
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Answer {
    /// Whether the body has a `data` entry at all (`null` counts).
    fn has_data(&self) -> bool {
        self.body.get("data").is_some()
    }

    fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
}

/// POSTs `body` as is, with the given `Content-Type` (none when `None`) and `Accept`.
async fn post(app: &TestApp, content_type: Option<&str>, accept: &str, body: &str) -> Answer {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("accept", accept)
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: the answer is not JSON: `{text}`"));
    Answer {
        status,
        content_type,
        body,
    }
}

#[tokio::test]
async fn a_request_posted_without_a_content_type_is_refused() {
    let app = TestApp::spawn().await;
    let query = r#"{"query": "{ __typename }"}"#;
    for (content_type, why) in [
        (None, "no content type"),
        (Some("text/plain"), "plain text"),
        (Some("application/json; charset=latin1"), "not UTF-8"),
    ] {
        let answer = post(&app, content_type, "application/json", query).await;
        assert_eq!(answer.status, 415, "{why}: {}", answer.body);
        assert_eq!(answer.code(), Some("BAD_USER_INPUT"), "{why}");
        assert!(!answer.has_data(), "{why}: {}", answer.body);
    }
    // Declared as JSON, in any spelling, it runs.
    for content_type in ["application/json", "Application/JSON; charset=\"UTF-8\""] {
        let answer = post(&app, Some(content_type), "application/json", query).await;
        assert_eq!(answer.status, 200, "{content_type}: {}", answer.body);
        assert_eq!(answer.body["data"]["__typename"], "Query");
    }
}

#[tokio::test]
async fn a_document_that_does_not_parse_gets_a_400_without_data_when_asked_for_graphql_response_json()
 {
    let app = TestApp::spawn().await;
    let answer = post(
        &app,
        Some("application/json"),
        GRAPHQL_RESPONSE,
        r#"{"query": "{"}"#,
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.content_type, GRAPHQL_RESPONSE);
    assert!(!answer.has_data(), "{}", answer.body);
    assert_eq!(answer.code(), Some("BAD_USER_INPUT"));

    // A plain JSON client gets the same errors with a 200, still without `data`.
    let answer = post(
        &app,
        Some("application/json"),
        "application/json",
        r#"{"query": "{"}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.content_type.starts_with("application/json"));
    assert!(!answer.has_data(), "{}", answer.body);
    assert_eq!(answer.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn a_document_that_does_not_validate_gets_a_400_without_data_when_asked_for_graphql_response_json()
 {
    let app = TestApp::spawn().await;
    for (query, what) in [
        (r#"{"query": "{ shoeSize }"}"#, "an unknown field"),
        (
            r#"{"query": "query($id: ID!) { __typename }", "variables": {"id": null}}"#,
            "a variable that does not coerce",
        ),
    ] {
        let answer = post(&app, Some("application/json"), GRAPHQL_RESPONSE, query).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert!(!answer.has_data(), "{what}: {}", answer.body);
        assert_eq!(answer.code(), Some("BAD_USER_INPUT"), "{what}");
    }
}

#[tokio::test]
async fn a_request_that_started_executing_keeps_its_data_entry_and_a_200_even_when_it_is_null() {
    let app = TestApp::spawn().await;
    // `me` is non-null, so its error (nobody signed in) makes `data` null: a response, not a
    // request error.
    let answer = post(
        &app,
        Some("application/json"),
        GRAPHQL_RESPONSE,
        r#"{"query": "{ me { kind } }"}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.has_data(), "{}", answer.body);
    assert!(answer.body["data"].is_null());
    assert_eq!(answer.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_body_without_a_query_is_a_400() {
    let app = TestApp::spawn().await;
    for accept in ["application/json", GRAPHQL_RESPONSE] {
        let answer = post(
            &app,
            Some("application/json"),
            accept,
            r#"{"qeury": "{ __typename }"}"#,
        )
        .await;
        assert_eq!(answer.status, 400, "{accept}: {}", answer.body);
        assert!(!answer.has_data());
        assert_eq!(answer.code(), Some("BAD_USER_INPUT"));
    }
}
