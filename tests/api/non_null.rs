//! What the schema promises is what comes back: every field a mutation payload can reach is
//! selected (from the schema itself, a few levels deep), and no non-null field is null.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, FieldDefinition, Type, TypeKind, TypeSystemDefinition,
};
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, TestTenant, add_note, message, record};

/// The schema's object types and their fields.
pub struct SchemaMap {
    pub objects: HashMap<String, Vec<FieldDefinition>>,
    /// The schema's union types (selected by their `__typename` only).
    pub unions: std::collections::HashSet<String>,
    /// When set, only fields named in this document count as selected.
    pub document: Option<String>,
}

impl SchemaMap {
    pub fn load() -> Self {
        let sdl = memodesk::graphql::sdl();
        let document = async_graphql::parser::parse_schema(&sdl).expect("SDL parses");
        let mut objects = HashMap::new();
        let mut unions = std::collections::HashSet::new();
        for definition in document.definitions {
            if let TypeSystemDefinition::Type(ty) = definition {
                match ty.node.kind {
                    TypeKind::Object(object) => {
                        objects.insert(
                            ty.node.name.node.to_string(),
                            object.fields.into_iter().map(|f| f.node).collect(),
                        );
                    }
                    TypeKind::Union(_) => {
                        unions.insert(ty.node.name.node.to_string());
                    }
                    _ => {}
                }
            }
        }
        Self {
            objects,
            unions,
            document: None,
        }
    }

    /// A selection of every field of `type_name` down to `depth` object levels. Fields with
    /// required arguments are skipped, except connections, which get `first: 2`.
    pub fn selection(&self, type_name: &str, depth: usize) -> String {
        let Some(fields) = self.objects.get(type_name) else {
            return "__typename".into();
        };
        let mut parts = Vec::new();
        for field in fields {
            let name = field.name.node.as_str();
            let has_first = field.arguments.iter().any(|a| a.node.name.node == "first");
            let required = field.arguments.iter().any(|a| {
                !a.node.ty.node.nullable
                    && a.node.default_value.is_none()
                    && a.node.name.node != "first"
            });
            if required {
                continue;
            }
            let args = if has_first { "(first: 2)" } else { "" };
            let inner = named(&field.ty.node);
            if self.objects.contains_key(inner) {
                if depth == 0 {
                    continue;
                }
                parts.push(format!(
                    "{name}{args} {{ {} }}",
                    self.selection(inner, depth - 1)
                ));
            } else if self.unions.contains(inner) {
                parts.push(format!("{name}{args} {{ __typename }}"));
            } else {
                parts.push(format!("{name}{args}"));
            }
        }
        if parts.is_empty() {
            "__typename".into()
        } else {
            parts.join(" ")
        }
    }

    /// Paths of non-null fields that are null or missing in `value` (of type `type_name`,
    /// selected by `selection(type_name, depth)`).
    pub fn nulls(
        &self,
        type_name: &str,
        value: &Value,
        path: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let (Some(fields), Value::Object(map)) = (self.objects.get(type_name), value) else {
            return;
        };
        for field in fields {
            let name = field.name.node.as_str();
            let selected = map.contains_key(name)
                || match &self.document {
                    Some(document) => document
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|word| word == name),
                    None => {
                        self.selected(field)
                            && (depth > 0 || !self.objects.contains_key(named(&field.ty.node)))
                    }
                };
            if !selected {
                continue;
            }
            let v = map.get(name).unwrap_or(&Value::Null);
            check(
                self,
                &field.ty.node,
                v,
                &format!("{path}.{name}"),
                depth,
                out,
            );
        }
    }

    pub fn selected(&self, field: &FieldDefinition) -> bool {
        !field.arguments.iter().any(|a| {
            !a.node.ty.node.nullable
                && a.node.default_value.is_none()
                && a.node.name.node != "first"
        })
    }
}

pub fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

fn check(
    schema: &SchemaMap,
    ty: &Type,
    value: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if value.is_null() {
        if !ty.nullable {
            out.push(path.to_owned());
        }
        return;
    }
    match &ty.base {
        BaseType::Named(name) => schema.nulls(name, value, path, depth.saturating_sub(1), out),
        BaseType::List(inner) => {
            for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                check(schema, inner, item, &format!("{path}[{i}]"), depth, out);
            }
        }
    }
}

/// Asserts the response has no errors and no null where the schema says non-null.
#[track_caller]
pub fn assert_complete(schema: &SchemaMap, response: &Gql, root_type: &str, depth: usize) {
    response.ok();
    assert_promises_kept(schema, response, root_type, depth);
}

/// Asserts no selected non-null field is null or missing (`data` itself may be null when
/// there are errors).
#[track_caller]
pub fn assert_promises_kept(schema: &SchemaMap, response: &Gql, root_type: &str, depth: usize) {
    let data = &response.body["data"];
    if data.is_null() {
        assert!(response.body["errors"].is_array(), "{:#}", response.body);
        return;
    }
    let mut nulls = Vec::new();
    schema.nulls(root_type, data, "", depth + 1, &mut nulls);
    assert!(
        nulls.is_empty(),
        "non-null fields came back null or missing: {nulls:?}\n{:#}",
        response.body
    );
}

/// A tenant with a lead that has history: two sessions (one closed and summarized), notes,
/// profile values.
pub async fn lived_in(app: &TestApp, t: &TestTenant) -> String {
    let first = record(
        app,
        &t.agent,
        message(
            "WEB",
            "walker",
            "Hi, I'm Dana from Rome, I want a flight to Paris",
        ),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    add_note(app, &t.agent, &lead, "prefers morning flights", true).await;
    app.clock.advance(chrono::Duration::hours(2));
    app.sweep(1).await;
    app.run_jobs(1).await;
    lead
}

#[tokio::test]
async fn every_field_reachable_from_record_message_is_there_when_the_schema_says_so() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    lived_in(&app, &t).await;
    let schema = SchemaMap::load();
    let selection = schema.selection("RecordMessagePayload", 3);
    let document = format!(
        "mutation($input: RecordMessageInput!) {{ recordMessage(input: $input, withContext: true) {{ {selection} }} }}"
    );
    for content in ["and back on Friday", "start over"] {
        let response = app
            .gql(
                Some(&t.agent),
                &document,
                json!({ "input": message("WEB", "walker", content) }),
            )
            .await;
        assert_complete(&schema, &response, "Mutation", 3);
    }
    // A new lead on first contact, and a repeated external id.
    for _ in 0..2 {
        let response = app
            .gql(
                Some(&t.agent),
                &document,
                json!({ "input": { "channel": "WHATSAPP", "externalUserId": "972525551234",
                    "content": "שלום", "externalId": "wamid.walk" } }),
            )
            .await;
        assert_complete(&schema, &response, "Mutation", 3);
    }
}

#[tokio::test]
async fn every_field_reachable_from_a_recorded_batch_is_there_when_the_schema_says_so() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    lived_in(&app, &t).await;
    let schema = SchemaMap::load();
    let selection = schema.selection("RecordMessagesPayload", 4);
    let document = format!(
        "mutation($inputs: [RecordMessageInput!]!) {{ recordMessages(inputs: $inputs) {{ {selection} }} }}"
    );
    let inputs = json!([
        message("WEB", "walker", "one more thing"),
        message("WEB", "batch-new", "hello"),
        message("WEB", "batch-new", "it's me again"),
        { "channel": "CALL", "phone": "+16505551234", "sessionRef": "call-1", "content": "hi", "endsSession": true },
        { "channel": "WEB", "content": "nobody" },
    ]);
    let response = app
        .gql(Some(&t.agent), &document, json!({ "inputs": inputs }))
        .await;
    assert_complete(&schema, &response, "Mutation", 4);
}

#[tokio::test]
async fn every_field_reachable_from_the_other_mutations_is_there_when_the_schema_says_so() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = lived_in(&app, &t).await;
    let schema = SchemaMap::load();
    let cases = [
        (
            "addNote(input: { leadId: $lead, body: \"call back\" })",
            "Note",
        ),
        (
            "setProfileField(leadId: $lead, key: \"city\", value: \"Rome\")",
            "Lead",
        ),
        (
            "updateLead(id: $lead, input: { displayName: \"Dana L\" })",
            "Lead",
        ),
        ("createLead(input: { displayName: \"Noa\" })", "Lead"),
    ];
    for (call, ty) in cases {
        let document = format!(
            "mutation{} {{ {call} {{ {} }} }}",
            if call.contains("$lead") {
                "($lead: ID!)"
            } else {
                ""
            },
            schema.selection(ty, 3)
        );
        let response = app
            .gql(Some(&t.agent), &document, json!({ "lead": lead }))
            .await;
        assert_complete(&schema, &response, "Mutation", 3);
    }
}

/// An API key's token with `scopes`, created by the tenant's admin.
pub async fn api_key(app: &TestApp, t: &TestTenant, scopes: &str) -> String {
    let response = app
        .gql(
            Some(&t.admin),
            &format!("mutation {{ createApiKey(name: \"k\", scopes: [{scopes}]) {{ token }} }}"),
            json!({}),
        )
        .await;
    response.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_field_that_fails_inside_a_payload_never_leaves_a_non_null_field_null() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    lived_in(&app, &t).await;
    let mut schema = SchemaMap::load();
    let ingest = api_key(&app, &t, "INGEST").await;
    // Selections whose inner fields fail (the key may not read them): whatever the answer,
    // no non-null field is null or missing.
    for selection in [
        "session { messages(first: 2) { totalCount } }",
        "session { id messages(first: 2) { totalCount } }",
        "lead { profile { key value } }",
        "message { id } lead { id notes { body } }",
    ] {
        schema.document = Some(format!("recordMessage {selection}"));
        let response = app
            .gql(
                Some(&ingest),
                &format!("mutation($input: RecordMessageInput!) {{ recordMessage(input: $input) {{ {selection} }} }}"),
                json!({ "input": message("WEB", "walker", "again") }),
            )
            .await;
        assert_promises_kept(&schema, &response, "Mutation", 3);
        schema.document = Some(format!("recordMessages results result {selection}"));
        let response = app
            .gql(
                Some(&ingest),
                &format!("mutation($inputs: [RecordMessageInput!]!) {{ recordMessages(inputs: $inputs) {{ results {{ result {{ {selection} }} }} }} }}"),
                json!({ "inputs": [message("WEB", "walker", "and again")] }),
            )
            .await;
        assert_promises_kept(&schema, &response, "Mutation", 4);
    }
}
