//! The committed schema matches the code, and everything in it is documented.

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn committed_schema_is_current() {
    let committed = include_str!("../../schema.graphql");
    let current = memodesk::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn every_type_field_argument_and_value_is_described() {
    let app = TestApp::spawn().await;
    let response = app
        .gql(
            None,
            r#"{ __schema { types {
                name kind description
                fields(includeDeprecated: true) { name description args { name description } }
                inputFields { name description }
                enumValues(includeDeprecated: true) { name description }
            } } }"#,
            json!({}),
        )
        .await;
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let mut missing = Vec::new();
    for t in response.ok()["__schema"]["types"]
        .as_array()
        .expect("types")
    {
        let name = t["name"].as_str().unwrap_or_default();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if t["description"].as_str().is_none_or(str::is_empty) {
            missing.push(format!("type {name}"));
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let field = f["name"].as_str().unwrap_or_default();
            if f["description"].as_str().is_none_or(str::is_empty) {
                missing.push(format!("field {name}.{field}"));
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if f["description"].as_str().is_none_or(str::is_empty) {
                missing.push(format!("input field {name}.{}", f["name"]));
            }
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            if v["description"].as_str().is_none_or(str::is_empty) {
                missing.push(format!("enum value {name}.{}", v["name"]));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}

#[tokio::test]
async fn limits_refuse_deep_and_alias_heavy_queries() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let aliases: String = (0..40).map(|i| format!("a{i}: me {{ kind }} ")).collect();
    let response = app
        .gql(Some(&t.viewer), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert!(response.expect_error("BAD_USER_INPUT").contains("aliases"));

    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("lastSession {{ lead {{ {deep} }} }}");
    }
    let deep = format!("{{ leads {{ edges {{ node {{ {deep} }} }} }} }}");
    let response = app.gql(Some(&t.viewer), &deep, json!({})).await;
    assert!(
        response
            .expect_error("BAD_USER_INPUT")
            .to_lowercase()
            .contains("nested")
    );
}
