//! Credentials: JWT attacks, API keys and scopes, login, roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use memodesk::auth::jwt::JwtKeys;
use memodesk::domain::StaffRole;
use memodesk::services::users::{self, NewUser};
use serde_json::json;

use crate::helpers::{RECORD, TestApp, message};

const ME: &str = "{ me { kind role tenantId } }";

#[tokio::test]
async fn requests_without_a_credential_are_unauthenticated() {
    let app = TestApp::spawn().await;
    app.gql(None, "{ leads { totalCount } }", json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
    app.gql(None, ME, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn jwt_attacks_are_rejected_with_their_own_reason() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let now = app.state.now();

    let expired = app
        .state
        .jwt
        .issue(
            "test",
            t.id,
            StaffRole::Admin,
            now - Duration::hours(3),
            Duration::hours(1),
        )
        .unwrap();
    let other_secret = JwtKeys::new(b"some-other-secret-some-other-secret!", 0)
        .issue("test", t.id, StaffRole::Admin, now, Duration::hours(1))
        .unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"sub": "test", "tenant_id": t.id, "role": "admin", "exp": 4_000_000_000i64, "iat": 0})
            .to_string(),
    );
    let alg_none = format!("{header}.{claims}.");
    let hs512 = {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        format!("{header}.{claims}.c2lnbmF0dXJl")
    };

    for (token, reason) in [
        ("not-a-jwt", "malformed"),
        ("a.b.c", "malformed"),
        (expired.as_str(), "expired"),
        (other_secret.as_str(), "signature"),
        (alg_none.as_str(), "algorithm"),
        (hs512.as_str(), "algorithm"),
    ] {
        let response = app.gql(Some(token), ME, json!({})).await;
        assert_eq!(response.status, 401, "{reason}");
        let message = response.expect_error("UNAUTHENTICATED");
        assert!(
            message.contains(reason),
            "`{message}` should mention {reason}"
        );
    }
    // A mutation with a bad token writes nothing.
    let response = app
        .gql(
            Some(&expired),
            RECORD,
            json!({ "input": message("WEB", "v1", "hello") }),
        )
        .await;
    response.expect_error("UNAUTHENTICATED");
    let leads = app
        .gql(Some(&t.admin), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 0);
}

#[tokio::test]
async fn api_keys_authenticate_by_scope_and_stop_when_revoked() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation($scopes: [ApiScope!]!) {
        createApiKey(name: "bot", scopes: $scopes) { token apiKey { id scopes } } }"#;
    let ingest = app
        .gql(Some(&t.admin), create, json!({ "scopes": ["INGEST"] }))
        .await;
    let ingest_token = ingest.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = app
        .gql(Some(&t.admin), create, json!({ "scopes": ["READ"] }))
        .await;
    let read_token = read.ok()["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read_id = read.ok()["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(ingest_token.starts_with("mdk_"));

    // Ingest may record (and see ids and its own message) but not read; read may read but
    // not record.
    app.gql(
        Some(&ingest_token),
        "mutation($input: RecordMessageInput!) { recordMessage(input: $input) { message { id content } session { id } lead { id } } }",
        json!({ "input": message("WEB", "v1", "hello there") }),
    )
    .await
    .ok();
    app.gql(
        Some(&ingest_token),
        RECORD,
        json!({ "input": message("WEB", "v1", "hello there") }),
    )
    .await
    .expect_error("FORBIDDEN");
    app.gql(Some(&ingest_token), "{ leads { totalCount } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
    let leads = app
        .gql(Some(&read_token), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 1);
    app.gql(
        Some(&read_token),
        RECORD,
        json!({ "input": message("WEB", "v2", "hi") }),
    )
    .await
    .expect_error("FORBIDDEN");

    // The X-Api-Key header works too.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-api-key", &read_token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(response["data"]["me"]["kind"], "api_key");

    // A tampered key fails; a revoked key fails.
    let mut tampered = read_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    app.gql(Some(&tampered), ME, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
    app.gql(
        Some(&t.admin),
        "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        json!({ "id": read_id }),
    )
    .await
    .ok();
    let message = app
        .gql(Some(&read_token), ME, json!({}))
        .await
        .expect_error("UNAUTHENTICATED")
        .to_owned();
    assert!(message.contains("revoked"));
}

#[tokio::test]
async fn login_returns_a_working_token_and_fails_alike_for_unknown_users() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    users::create(
        &app.state.db,
        t.id,
        NewUser {
            email: "Dana@Acme.test".into(),
            password: "correct horse battery".into(),
            role: StaffRole::Agent,
            display_name: Some("Dana".into()),
        },
        app.state.now(),
    )
    .await
    .unwrap();
    let login = r#"mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role } } }"#;
    let ok = app
        .gql(
            None,
            login,
            json!({ "e": "dana@acme.test", "p": "correct horse battery" }),
        )
        .await;
    let token = ok.ok()["login"]["token"].as_str().unwrap().to_owned();
    assert_eq!(ok.ok()["login"]["user"]["role"], "AGENT");
    let me = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(me.ok()["me"]["kind"], "user");
    assert_eq!(me.ok()["me"]["tenantId"], t.id.to_string());

    let wrong = app
        .gql(
            None,
            login,
            json!({ "e": "dana@acme.test", "p": "wrong password" }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            login,
            json!({ "e": "nobody@acme.test", "p": "wrong password" }),
        )
        .await;
    assert_eq!(
        wrong.expect_error("UNAUTHENTICATED"),
        unknown.expect_error("UNAUTHENTICATED")
    );
    let bad_email = app
        .gql(None, login, json!({ "e": "not-an-email", "p": "x" }))
        .await;
    bad_email.expect_error("BAD_USER_INPUT");
    assert_eq!(bad_email.field(), Some("email"));
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited() {
    let app = TestApp::spawn().await;
    let login =
        r#"mutation { login(email: "victim@acme.test", password: "guess-guess") { token } }"#;
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(
            app.gql(None, login, json!({}))
                .await
                .code()
                .map(str::to_owned),
        );
    }
    assert_eq!(codes[0].as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(codes.last().unwrap().as_deref(), Some("RATE_LIMITED"));
}

/// Password spraying: one client trying a password across many accounts is slowed down too,
/// and told when to come back.
#[tokio::test]
async fn one_client_guessing_across_many_accounts_is_rate_limited_with_retry_after() {
    let app = TestApp::spawn().await;
    let login = r#"mutation($e: String!) { login(email: $e, password: "Summer2026!") { token } }"#;
    let mut last = None;
    for i in 0..31 {
        let response = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": login, "variables": { "e": format!("user{i}@acme.test") } }))
            .send()
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = response.json().await.unwrap();
        last = Some((body["errors"][0]["extensions"]["code"].clone(), retry_after));
    }
    let (code, retry_after) = last.unwrap();
    assert_eq!(code, "RATE_LIMITED");
    let seconds: u64 = retry_after.expect("a Retry-After header").parse().unwrap();
    assert!(seconds >= 1);
}

#[tokio::test]
async fn viewers_cannot_write_and_agents_cannot_administer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation { createLead(input: { displayName: "Dana" }) { id } }"#;
    app.gql(Some(&t.viewer), create, json!({}))
        .await
        .expect_error("FORBIDDEN");
    app.gql(
        Some(&t.viewer),
        RECORD,
        json!({ "input": message("WEB", "v1", "hello") }),
    )
    .await
    .expect_error("FORBIDDEN");
    let settings = r#"mutation { updateTenantSettings(input: { sessionIdleMinutes: 30 }) { id } }"#;
    app.gql(Some(&t.agent), settings, json!({}))
        .await
        .expect_error("FORBIDDEN");
    app.gql(
        Some(&t.agent),
        r#"mutation { createApiKey(name: "x", scopes: [READ]) { token } }"#,
        json!({}),
    )
    .await
    .expect_error("FORBIDDEN");
    // Nothing was written.
    let leads = app
        .gql(Some(&t.admin), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 0);
    // The agent can write.
    app.gql(Some(&t.agent), create, json!({})).await.ok();
    app.gql(Some(&t.admin), settings, json!({})).await.ok();
}
