//! GraphiQL in a browser: a page and files served by memodesk itself (nothing from a CDN), under
//! a CSP that allows this origin's scripts only, and a schema it can introspect.

use regex::Regex;
use serde_json::json;

use crate::helpers::TestApp;

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`, with
/// `inputValueDeprecation`), whose type references nest seven deep.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

#[tokio::test]
async fn graphiql_is_served_by_memodesk_itself_with_every_file_it_needs() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let html = page.text().await.unwrap();

    // Every script is a file from this origin: no inline code, no other host.
    let scripts = Regex::new(r"<script([^>]*)>").unwrap();
    let src = Regex::new(r#"src="([^"]+)""#).unwrap();
    let mut files = Vec::new();
    for script in scripts.captures_iter(&html) {
        let attributes = &script[1];
        let path = src
            .captures(attributes)
            .unwrap_or_else(|| panic!("an inline script: <script{attributes}>"))[1]
            .to_owned();
        files.push((path, "text/javascript; charset=utf-8"));
    }
    let stylesheets = Regex::new(r#"<link rel="stylesheet" href="([^"]+)">"#).unwrap();
    for stylesheet in stylesheets.captures_iter(&html) {
        files.push((stylesheet[1].to_owned(), "text/css; charset=utf-8"));
    }
    assert!(files.len() >= 5, "{html}");
    assert!(
        html.matches("<script").count() + html.matches("<link").count() == files.len(),
        "every script and stylesheet is accounted for: {html}"
    );

    for (path, content_type) in &files {
        assert!(
            path.starts_with('/') && !path.starts_with("//"),
            "{path} is not on this origin"
        );
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], *content_type, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");

        // Unchanged since the last visit: nothing to download again.
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }

    let missing = app
        .client
        .get(app.url("/graphiql/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn graphiql_can_read_the_whole_schema_while_deep_data_queries_stay_refused() {
    let app = TestApp::spawn().await;
    // GraphiQL introspects before anyone signs in.
    let schema = app.gql(None, INTROSPECTION, json!({})).await;
    let types = schema.ok()["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "MemoryContext"));

    // The same depth in data is refused.
    let t = app.tenant("Acme").await;
    let deep = "{ leads { edges { node { lastSession { lead { lastSession { lead { lastSession \
                { lead { lastSession { lead { lastSession { id } } } } } } } } } } } } }";
    let response = app.gql(Some(&t.viewer), deep, json!({})).await;
    assert!(
        response
            .expect_error("BAD_USER_INPUT")
            .contains("nested too deep")
    );
}
