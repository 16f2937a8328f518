//! Free text from clients and channels: control characters (U+0000 above all, which
//! PostgreSQL cannot store) are removed the same way on both databases, the message records
//! that its text was cleaned, and every text input has a documented maximum length.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::helpers::{Gql, RECORD, TestApp, TestTenant, message, record};

const NUL: &str = "\u{0}";

/// Asserts `response` succeeded and returns its data.
#[track_caller]
fn ok(response: &Gql) -> &Value {
    response.ok()
}

/// Asserts `response` is BAD_USER_INPUT naming `field` and mentioning `limit`.
#[track_caller]
fn refused_as_too_long(response: &Gql, field: &str, limit: usize) {
    let message = response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.field(), Some(field), "field of `{message}`");
    assert!(
        message.contains(&limit.to_string()) && message.contains(field),
        "`{message}` should name {field} and the limit {limit}"
    );
    assert_eq!(
        response.body["errors"][0]["extensions"]["maxLength"],
        json!(limit),
        "{:#}",
        response.body
    );
}

async fn lead_of(app: &TestApp, t: &TestTenant) -> String {
    let recorded = record(app, &t.agent, message("WEB", "nul-lead", "hello")).await;
    recorded["lead"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_message_with_nul_characters_is_stored_without_them_and_says_it_was_cleaned() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($input: RecordMessageInput!) { recordMessage(input: $input) {
                message { content textCleaned channelData }
                lead { displayName } } }"#,
            json!({ "input": {
                "channel": "WEB",
                "externalUserId": format!("visitor{NUL}1"),
                "displayName": format!("Dana{NUL} Levi"),
                "content": format!("I need a flight{NUL} to Rome\r\nplease\u{7}"),
                "metadata": { format!("k{NUL}ey"): format!("va{NUL}lue"), "ok": 1 }
            } }),
        )
        .await;
    let data = ok(&response)["recordMessage"].clone();
    assert_eq!(
        data["message"]["content"],
        json!("I need a flight to Rome\nplease")
    );
    assert_eq!(data["message"]["textCleaned"], json!(true));
    assert_eq!(
        data["message"]["channelData"],
        json!({ "key": "value", "ok": 1 })
    );
    assert_eq!(data["lead"]["displayName"], json!("Dana Levi"));

    // Clean text is not marked.
    let clean = app
        .gql(
            Some(&t.agent),
            "mutation($input: RecordMessageInput!) { recordMessage(input: $input) { message { textCleaned } } }",
            json!({ "input": message("WEB", "visitor1", "all\tclean\nhere") }),
        )
        .await;
    assert_eq!(
        ok(&clean)["recordMessage"]["message"]["textCleaned"],
        json!(false)
    );
}

#[tokio::test]
async fn nul_characters_in_notes_names_settings_keys_and_searches_are_removed_not_errors() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = lead_of(&app, &t).await;

    let note = app
        .gql(
            Some(&t.agent),
            "mutation($input: AddNoteInput!) { addNote(input: $input) { id body } }",
            json!({ "input": { "leadId": lead, "body": format!("call{NUL} back") } }),
        )
        .await;
    assert_eq!(ok(&note)["addNote"]["body"], json!("call back"));
    let note_id = note.ok()["addNote"]["id"].clone();
    let updated = app
        .gql(
            Some(&t.agent),
            "mutation($id: ID!, $body: String!) { updateNote(id: $id, body: $body) { body } }",
            json!({ "id": note_id, "body": format!("called{NUL}") }),
        )
        .await;
    assert_eq!(ok(&updated)["updateNote"]["body"], json!("called"));

    let settings = app
        .gql(
            Some(&t.admin),
            r#"mutation($input: UpdateTenantSettingsInput!) {
                updateTenantSettings(input: $input) { name settings { resetKeywords } } }"#,
            json!({ "input": {
                "name": format!("Acme{NUL} Travel"),
                "resetKeywords": [format!("start{NUL} over")]
            } }),
        )
        .await;
    let tenant = &ok(&settings)["updateTenantSettings"];
    assert_eq!(tenant["name"], json!("Acme Travel"));
    assert_eq!(tenant["settings"]["resetKeywords"], json!(["start over"]));

    let key = app
        .gql(
            Some(&t.admin),
            "mutation($name: String!) { createApiKey(name: $name, scopes: [READ]) { apiKey { name } } }",
            json!({ "name": format!("crm{NUL} sync") }),
        )
        .await;
    assert_eq!(
        ok(&key)["createApiKey"]["apiKey"]["name"],
        json!("crm sync")
    );

    let profile = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!, $key: String!, $value: String!) {
                setProfileField(leadId: $id, key: $key, value: $value) { profile { key value } } }"#,
            json!({ "id": lead, "key": format!("ci{NUL}ty"), "value": format!("Ro{NUL}me") }),
        )
        .await;
    assert!(
        ok(&profile)["setProfileField"]["profile"]
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "city", "value": "Rome" })),
        "{:#}",
        profile.body
    );

    let jobs = app
        .gql(
            Some(&t.admin),
            "query($kind: String) { jobs(kind: $kind, first: 5) { totalCount } }",
            json!({ "kind": format!("summarize{NUL}_session") }),
        )
        .await;
    ok(&jobs);

    let search = app
        .gql(
            Some(&t.viewer),
            "query($s: String) { leads(first: 5, filter: { search: $s }) { totalCount } }",
            json!({ "s": format!("nul{NUL}-lead") }),
        )
        .await;
    ok(&search);
    let by_phone = app
        .gql(
            Some(&t.viewer),
            "query($p: String!) { leadByPhone(phone: $p) { id } }",
            json!({ "p": format!("+1 650{NUL} 555 1234") }),
        )
        .await;
    assert_ne!(by_phone.code(), Some("INTERNAL"), "{:#}", by_phone.body);
}

#[tokio::test]
async fn a_staff_user_named_with_nul_characters_is_created_without_them() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let response = app
        .gql(
            Some(&t.admin),
            r#"mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) { email displayName } }"#,
            json!({ "input": {
                "email": format!("dana{NUL}@example.com"),
                "password": "correct horse battery",
                "role": "AGENT",
                "displayName": format!("Dana{NUL}")
            } }),
        )
        .await;
    let user = &ok(&response)["createStaffUser"];
    assert_eq!(user["email"], json!("dana@example.com"));
    assert_eq!(user["displayName"], json!("Dana"));
}

#[tokio::test]
async fn text_longer_than_its_documented_limit_is_refused_naming_the_field_and_the_limit() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = lead_of(&app, &t).await;

    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!, $item: String) {
                rejectProfileField(leadId: $id, key: "interests", item: $item) { id } }"#,
            json!({ "id": lead, "item": "x".repeat(100_000) }),
        )
        .await;
    refused_as_too_long(&response, "item", 1_000);
    assert_eq!(response.data()["rejectProfileField"], Value::Null);

    // Inline in the document too.
    let response = app
        .gql(
            Some(&t.agent),
            &format!(
                r#"mutation {{ addNote(input: {{ leadId: "{lead}", body: "{}" }}) {{ id }} }}"#,
                "n".repeat(10_001)
            ),
            json!({}),
        )
        .await;
    refused_as_too_long(&response, "input.body", 10_000);

    // Inside a list of inputs.
    let response = app
        .gql(
            Some(&t.agent),
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": [
                message("WEB", "v1", "fine"),
                { "channel": "WEB", "externalUserId": "v1", "content": "hi", "sessionRef": "s".repeat(201) }
            ] }),
        )
        .await;
    refused_as_too_long(&response, "inputs[1].sessionRef", 200);

    let response = app
        .gql(
            Some(&t.admin),
            "mutation($name: String!) { createApiKey(name: $name, scopes: [READ]) { token } }",
            json!({ "name": "k".repeat(5_000) }),
        )
        .await;
    refused_as_too_long(&response, "name", 200);

    let response = app
        .gql(
            Some(&t.viewer),
            "query($s: String) { leads(first: 5, filter: { search: $s }) { totalCount } }",
            json!({ "s": "s".repeat(300) }),
        )
        .await;
    refused_as_too_long(&response, "filter.search", 200);

    // At the limit is fine (trimmed, in characters).
    let response = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!, $item: String) {
                rejectProfileField(leadId: $id, key: "interests", item: $item) { id } }"#,
            json!({ "id": lead, "item": format!("  {}  ", "é".repeat(1_000)) }),
        )
        .await;
    assert_ne!(
        response.code(),
        Some("BAD_USER_INPUT"),
        "{:#}",
        response.body
    );
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, as Meta signs.
fn meta_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_signed_whatsapp_delivery_with_nul_characters_is_acknowledged_and_recorded_clean() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let secret = "meta-app-secret-for-tests";
    ok(&app
        .gql(
            Some(&t.admin),
            "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { id } }",
            json!({ "input": { "whatsappAppSecret": secret } }),
        )
        .await);
    let payload = json!({
      "object": "whatsapp_business_account",
      "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
        "contacts": [{ "profile": { "name": format!("Sheena{NUL} Nelson") }, "wa_id": "16505551234" }],
        "messages": [{
          "from": "16505551234",
          "id": "wamid.nul-1",
          "timestamp": app.state.now().timestamp().to_string(),
          "type": "text",
          "text": { "body": format!("hello{NUL} there") }
        }]
      } }] }]
    });
    let body = serde_json::to_vec(&payload).unwrap();
    let response = app
        .client
        .post(app.url(&format!("/webhooks/whatsapp/{}", t.id)))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", meta_signature(secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let leads = app
        .gql(
            Some(&t.viewer),
            r#"{ leads(first: 5) { nodes { displayName
                sessions(first: 1) { nodes { messages(first: 5) { nodes { content textCleaned } } } } } } }"#,
            json!({}),
        )
        .await;
    let lead = &ok(&leads)["leads"]["nodes"][0];
    assert_eq!(lead["displayName"], json!("Sheena Nelson"));
    assert_eq!(
        lead["sessions"]["nodes"][0]["messages"]["nodes"][0],
        json!({ "content": "hello there", "textCleaned": true })
    );
}

#[tokio::test]
async fn every_text_argument_and_input_field_in_the_schema_documents_its_maximum_length() {
    let schema = memodesk::graphql::sdl();
    let document = async_graphql::parser::parse_schema(&schema).expect("SDL parses");
    let mut undocumented = Vec::new();
    let is_string = |ty: &async_graphql::parser::types::Type| {
        ty.to_string().trim_matches(['[', ']', '!']) == "String"
    };
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let type_name = ty.node.name.node.as_str();
        let mut inputs = Vec::new();
        match &ty.node.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    for arg in &field.node.arguments {
                        inputs.push((
                            format!(
                                "{type_name}.{}({})",
                                field.node.name.node, arg.node.name.node
                            ),
                            arg.node.clone(),
                        ));
                    }
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    inputs.push((
                        format!("{type_name}.{}", field.node.name.node),
                        field.node.clone(),
                    ));
                }
            }
            _ => {}
        }
        for (name, input) in inputs {
            if !is_string(&input.ty.node) {
                continue;
            }
            let documented = input.description.as_ref().is_some_and(|d| {
                let words: Vec<&str> = d.node.split_whitespace().collect();
                words.join(" ").contains(" characters")
            });
            if !documented {
                undocumented.push(name);
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "text inputs without a documented maximum: {undocumented:?}"
    );
}

#[tokio::test]
async fn recording_with_the_record_helper_still_works_with_nul_in_every_identity_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let response = app
        .gql(
            Some(&t.agent),
            RECORD,
            json!({ "input": {
                "channel": "CALL",
                "phone": format!("+1 650 555{NUL} 1234"),
                "email": format!("dana@exa{NUL}mple.com"),
                "sessionRef": format!("call{NUL}-1"),
                "externalId": format!("ext{NUL}-1"),
                "content": "hi"
            } }),
        )
        .await;
    let data = &ok(&response)["recordMessage"];
    assert_eq!(data["message"]["externalId"], json!("ext-1"));
    assert_eq!(data["lead"]["primaryPhone"], json!("+16505551234"));
}
