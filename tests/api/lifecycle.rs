//! The process around the API: migrations, restarts, health and metrics endpoints, GraphQL over
//! HTTP details, tenant settings, and the `memodesk` command line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use memodesk::app::App;
use memodesk::auth::Principal;
use memodesk::auth::jwt::JwtKeys;
use memodesk::config::Secret;
use memodesk::domain::StaffRole;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, events, gapless_events, message, record, test_settings, update_settings,
};

#[tokio::test]
async fn running_migrations_again_is_harmless() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    record(
        &app,
        &t.agent,
        json!({ "channel": "WEB", "externalUserId": "v1", "content": "before" }),
    )
    .await;

    let db = memodesk::db::Db::connect(&app.db_url, Default::default())
        .await
        .expect("connect");
    db.migrate().await.expect("second migration run");
    db.migrate().await.expect("third migration run");
    db.close().await;

    let after = record(
        &app,
        &t.agent,
        json!({ "channel": "WEB", "externalUserId": "v1", "content": "after" }),
    )
    .await;
    assert_eq!(after["lead"]["messageCount"], 2);
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(leads.ok()["leads"]["totalCount"], 1);
}

#[tokio::test]
async fn a_restart_on_the_same_database_keeps_everything() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let recorded = record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": "14155552671", "displayName": "Dana",
                 "content": "Hi, I need flights to Rome" }),
    )
    .await;
    let lead = recorded["lead"]["id"].as_str().unwrap().to_owned();
    crate::helpers::set_profile_field(&app, &t.agent, &lead, "city", "Haifa")
        .await
        .ok();
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { addNote(input: { leadId: $id, body: "Prefers aisle seats", pinned: true }) { id } }"#,
        json!({ "id": lead }),
    )
    .await
    .ok();
    update_settings(&app, &t.admin, r#"sessionIdleMinutes: 45, locale: "he""#).await;
    let read = r#"query($id: ID!) {
        lead(id: $id) {
          id displayName primaryPhone messageCount sessionCount updatedAt
          profile { key value source confidence locked }
          identities { kind value }
          notes { body pinned author }
          lastSession { id status messageCount messages { nodes { id content occurredAt } } }
        }
        tenant { settings { sessionIdleMinutes locale } }
        leads { totalCount }
    }"#;
    let before = app
        .gql(Some(&t.viewer), read, json!({ "id": lead }))
        .await
        .ok()
        .clone();

    let app = app.restart().await;
    let after = app
        .gql(Some(&t.viewer), read, json!({ "id": lead }))
        .await
        .ok()
        .clone();
    assert_eq!(before, after);
    assert_eq!(after["tenant"]["settings"]["sessionIdleMinutes"], 45);
    // The restarted server keeps recording into the same conversation.
    let next = record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "externalUserId": "14155552671", "content": "Still there?" }),
    )
    .await;
    assert_eq!(next["lead"]["id"], lead.as_str());
    assert_eq!(next["session"]["id"], recorded["session"]["id"]);
    assert_eq!(next["session"]["messageCount"], 2);
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    app.gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await
        .ok();

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let content_type = metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let body = metrics.text().await.unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with("memodesk_db_statements_total "))
        .unwrap_or_else(|| panic!("no statement counter in:\n{body}"));
    let value: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(value > 0, "{line}");
    assert!(value <= app.statements(), "{line}");
}

/// Monitoring set up against the README sees every documented metric on a fresh server, before
/// anything happened.
#[tokio::test]
async fn a_fresh_server_lists_every_documented_metric() {
    let app = TestApp::spawn().await;
    let body = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Metrics")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let documented: std::collections::BTreeSet<&str> = section
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("memodesk_"))
        .collect();
    assert!(documented.len() >= 15, "{documented:?}");
    for metric in documented {
        assert!(
            body.lines().any(|line| line.starts_with(metric)),
            "{metric} is documented but not on /metrics:\n{body}"
        );
    }
}

#[tokio::test]
async fn get_graphql_serves_graphiql_to_browsers_and_runs_queries() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;

    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.to_lowercase().contains("graphiql"),
        "not GraphiQL: {}",
        &html[..html.len().min(300)]
    );

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{me{kind role tenantId}}")])
        .bearer_auth(&t.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["me"],
        json!({ "kind": "service", "role": "VIEWER", "tenantId": t.id.to_string() })
    );

    // Without a credential the query runs unauthenticated.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{leads{totalCount}}")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Variables travel in the query string too.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query($id: ID!) { lead(id: $id) { id } }"),
            (
                "variables",
                &json!({ "id": uuid::Uuid::now_v7() }).to_string(),
            ),
        ])
        .bearer_auth(&t.viewer)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // Malformed variables are refused with a reason, not run without them.
    for (variables, why) in [
        ("[1]", "`variables` must be a JSON object"),
        ("{\"id\": ", "`variables` is not valid JSON"),
    ] {
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&[
                ("query", "query($id: ID!) { lead(id: $id) { id } }"),
                ("variables", variables),
            ])
            .bearer_auth(&t.viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{variables}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{variables}: {message}");
    }
}

#[tokio::test]
async fn get_graphql_refuses_mutations_with_405() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for query in [
        r#"mutation { createLead(input: { displayName: "Dana" }) { id } }"#,
        r#"mutation M { createLead(input: { displayName: "Dana" }) { id } }"#,
    ] {
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", query)])
            .bearer_auth(&t.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "POST");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("POST")
        );
    }
    // A document with a query and a mutation, run over GET choosing one by name.
    let choosing = |operation: &'static str| {
        app.client
            .get(app.url("/graphql"))
            .query(&[
                ("query", r#"query Q { me { kind } } mutation M { createLead(input: { displayName: "Dana" }) { id } }"#),
                ("operationName", operation),
            ])
            .bearer_auth(&t.admin)
            .send()
    };
    // Choosing the mutation is refused too.
    assert_eq!(choosing("M").await.unwrap().status(), 405);
    // Choosing the query runs it.
    let response = choosing("Q").await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["kind"], "service", "{body}");
    let leads = app
        .gql(Some(&t.viewer), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(
        leads.ok()["leads"]["totalCount"],
        0,
        "nothing was created over GET"
    );
}

#[tokio::test]
async fn graphql_response_media_type_is_honoured() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let post = |query: &str| {
        app.client
            .post(app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .bearer_auth(&t.viewer)
            .json(&json!({ "query": query }))
            .send()
    };

    let ok = post("{ me { kind } }").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["data"]["me"]["kind"], "service");

    let syntax = post("{ me { kind ").await.unwrap();
    assert_eq!(syntax.status(), 400);
    assert_eq!(
        syntax.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: Value = syntax.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let unknown_field = post("{ me { shoeSize } }").await.unwrap();
    assert_eq!(unknown_field.status(), 400);

    // An error while executing is still a 200 with partial data.
    let not_found = post(&format!(
        r#"{{ me {{ kind }} lead(id: "{}") {{ id }} }}"#,
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap();
    assert_eq!(not_found.status(), 200);
    let body: Value = not_found.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // Plain JSON clients get application/json and a 200.
    let legacy = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&t.viewer)
        .json(&json!({ "query": "{ me { kind " }))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    assert!(
        legacy.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

/// A tenant with all its settings, as a selection set.
const TENANT_FIELDS: &str = r#"{ id name settings {
    customerServiceMode sessionIdleMinutes contextMessages contextNotes contextCharBudget locale
    defaultRegion retentionDays eventRetentionDays resetKeywords
    whatsappAppSecretConfigured whatsappVerifyTokenConfigured twilioAuthTokenConfigured } }"#;

#[tokio::test]
async fn tenant_settings_round_trip_and_secrets_stay_write_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let read_settings = format!("{{ tenant {TENANT_FIELDS} }}");
    let defaults = app.gql(Some(&t.viewer), &read_settings, json!({})).await;
    assert_eq!(
        defaults.ok()["tenant"]["settings"]["sessionIdleMinutes"],
        15,
        "{}",
        defaults.body
    );
    assert_eq!(
        defaults.ok()["tenant"]["settings"]["whatsappAppSecretConfigured"],
        false
    );

    let update = format!(
        "mutation($input: UpdateTenantSettingsInput!) {{ updateTenantSettings(input: $input) {TENANT_FIELDS} }}"
    );
    let secrets = [
        "wa-app-secret-0123456789",
        "verify-me-please",
        "twilio-token-abcdef",
    ];
    let response = app
        .gql(
            Some(&t.admin),
            &update,
            json!({ "input": {
                "name": "Acme Travel", "customerServiceMode": false, "sessionIdleMinutes": 30,
                "contextMessages": 20, "contextNotes": 3, "contextCharBudget": 8000, "locale": "he",
                "defaultRegion": "il", "retentionDays": 90, "eventRetentionDays": 14,
                "resetKeywords": ["start over", "  new trip ", "START OVER"],
                "whatsappAppSecret": secrets[0], "whatsappVerifyToken": secrets[1], "twilioAuthToken": secrets[2]
            } }),
        )
        .await;
    let written = response.ok()["updateTenantSettings"].clone();
    let expected = json!({
        "id": t.id.to_string(), "name": "Acme Travel",
        "settings": {
            "customerServiceMode": false, "sessionIdleMinutes": 30, "contextMessages": 20,
            "contextNotes": 3, "contextCharBudget": 8000, "locale": "he", "defaultRegion": "IL",
            "retentionDays": 90, "eventRetentionDays": 14, "resetKeywords": ["start over", "new trip"],
            "whatsappAppSecretConfigured": true, "whatsappVerifyTokenConfigured": true,
            "twilioAuthTokenConfigured": true
        }
    });
    assert_eq!(written, expected);
    let read = app.gql(Some(&t.viewer), &read_settings, json!({})).await;
    assert_eq!(read.ok()["tenant"], expected, "read back by another role");
    for secret in secrets {
        assert!(!response.body.to_string().contains(secret));
        assert!(!read.body.to_string().contains(secret));
    }
    // The schema has no way to read a secret back.
    let sneaky = app
        .gql(
            Some(&t.admin),
            "{ tenant { settings { whatsappAppSecret } } }",
            json!({}),
        )
        .await;
    sneaky.expect_error("BAD_USER_INPUT");

    // Omitted fields stay; an empty string removes a secret.
    let response = app
        .gql(
            Some(&t.admin),
            &update,
            json!({ "input": { "twilioAuthToken": "", "contextNotes": 4 } }),
        )
        .await;
    let mut expected = expected;
    expected["settings"]["twilioAuthTokenConfigured"] = json!(false);
    expected["settings"]["contextNotes"] = json!(4);
    assert_eq!(response.ok()["updateTenantSettings"], expected);
    // The new default region is used at once: a national Israeli number parses.
    let lead = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { phone: "052-555-1234" }) { primaryPhone } }"#,
            json!({}),
        )
        .await;
    assert_eq!(lead.ok()["createLead"]["primaryPhone"], "+972525551234");
    // Only admins change settings.
    app.gql(
        Some(&t.agent),
        &update,
        json!({ "input": { "contextNotes": 5 } }),
    )
    .await
    .expect_error("FORBIDDEN");
}

// ---------------------------------------------------------------------------------------------
// The command line.

const CLI_SECRET: &str = "cli-secret-cli-secret-cli-secret-0123456";

/// Runs `memodesk` in `dir` with only the environment given (nothing inherited), feeding
/// `stdin` when given.
fn memodesk(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memodesk"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run memodesk");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("memodesk output")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        stderr(output)
    );
}

/// Runs a CLI command against the database in `dir` with the test secret.
fn admin_command(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let url = format!("sqlite://{}/x.db", dir.display());
    let mut all = vec!["--database-url", url.as_str()];
    all.extend_from_slice(args);
    memodesk(dir, &all, &[("MEMODESK_JWT_SECRET", CLI_SECRET)], stdin)
}

#[tokio::test]
async fn cli_sets_up_a_tenant_whose_user_key_and_token_work_against_the_server() {
    let dir = tempfile::tempdir().unwrap();

    let tenant = admin_command(
        dir.path(),
        &["tenant", "create", "--name", "Acme Travel"],
        None,
    );
    assert_success(&tenant, "tenant create");
    let tenant_id = stdout(&tenant);
    let tenant_uuid = uuid::Uuid::parse_str(&tenant_id)
        .unwrap_or_else(|_| panic!("tenant create should print a uuid, printed `{tenant_id}`"));

    let user = admin_command(
        dir.path(),
        &[
            "user",
            "create",
            "--tenant",
            &tenant_id,
            "--email",
            "dana@acme.test",
            "--role",
            "agent",
        ],
        Some("correct horse battery\n"),
    );
    assert_success(&user, "user create");
    let user_id = stdout(&user);
    assert!(
        uuid::Uuid::parse_str(&user_id).is_ok(),
        "user create printed `{user_id}`"
    );

    let key = admin_command(
        dir.path(),
        &[
            "api-key",
            "create",
            "--tenant",
            &tenant_id,
            "--scopes",
            "ingest,read",
            "--name",
            "bot",
        ],
        None,
    );
    assert_success(&key, "api-key create");
    let api_key = stdout(&key);
    assert!(
        api_key.starts_with("mdk_"),
        "api-key create printed `{api_key}`"
    );

    let token = admin_command(
        dir.path(),
        &[
            "token", "--tenant", &tenant_id, "--role", "viewer", "--ttl", "1h",
        ],
        None,
    );
    assert_success(&token, "token");
    let jwt = stdout(&token);
    let actor = JwtKeys::new(CLI_SECRET.as_bytes(), 0)
        .verify(&jwt)
        .unwrap_or_else(|e| panic!("the CLI token does not verify: {}", e.describe()));
    assert_eq!(actor.tenant_id, tenant_uuid);
    assert_eq!(actor.role, Some(StaffRole::Viewer));
    assert_eq!(
        actor.principal,
        Principal::Service {
            subject: "cli".into()
        }
    );
    let ttl = actor.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        ttl > chrono::Duration::minutes(55) && ttl <= chrono::Duration::minutes(61),
        "{ttl}"
    );

    // A server on the same database and secret accepts all three credentials.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut settings = test_settings(&format!("sqlite://{}/x.db", dir.path().display()));
    settings.jwt_secret = Some(Secret::new(CLI_SECRET));
    let app = App::build(settings).await.expect("server builds");
    let addr = app.local_addr().unwrap();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_cancelled());
    let client = reqwest::Client::new();
    let gql = |token: String, query: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(format!("http://{addr}/graphql"))
                .bearer_auth(token)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let me = gql(jwt.clone(), "{ me { kind role tenantId } tenant { name } }").await;
    assert_eq!(
        me["data"],
        json!({ "me": { "kind": "service", "role": "VIEWER", "tenantId": tenant_id }, "tenant": { "name": "Acme Travel" } })
    );
    let by_key = gql(
        api_key.clone(),
        r#"mutation { recordMessage(input: { channel: WEB, externalUserId: "v1", content: "hello" }) { leadCreated } }"#,
    )
    .await;
    assert_eq!(
        by_key["data"]["recordMessage"]["leadCreated"], true,
        "{by_key}"
    );
    let login = client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": r#"mutation { login(email: "dana@acme.test", password: "correct horse battery") { user { id role } } }"# }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        login["data"]["login"]["user"],
        json!({ "id": user_id, "role": "AGENT" }),
        "{login}"
    );
    let leads = gql(jwt, "{ leads { totalCount } }").await;
    assert_eq!(leads["data"]["leads"]["totalCount"], 1);
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[test]
fn cli_schema_prints_the_sdl() {
    let dir = tempfile::tempdir().unwrap();
    let output = memodesk(dir.path(), &["schema"], &[], None);
    assert_success(&output, "schema");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        memodesk::graphql::sdl()
    );
}

#[test]
fn cli_help_works_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["schema", "--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["api-key", "--help"],
        vec!["api-key", "create", "--help"],
        vec!["token", "--help"],
        vec!["help", "token"],
    ] {
        let output = memodesk(dir.path(), &args, &[], None);
        assert_success(&output, &args.join(" "));
        let text = stdout(&output);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    // Help names the subcommands and their options.
    let top = stdout(&memodesk(dir.path(), &["--help"], &[], None));
    for command in [
        "serve", "migrate", "schema", "tenant", "user", "api-key", "token",
    ] {
        assert!(top.contains(command), "--help lacks {command}");
    }
    let token = stdout(&memodesk(dir.path(), &["token", "--help"], &[], None));
    for option in ["--tenant", "--role", "--ttl"] {
        assert!(token.contains(option), "token --help lacks {option}");
    }
    // Help never touches a database.
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "help created files"
    );
}

#[test]
fn cli_refuses_a_bad_role_scope_or_tenant_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = admin_command(dir.path(), &["tenant", "create", "--name", "Acme"], None);
    assert_success(&tenant, "tenant create");
    let tenant_id = stdout(&tenant);

    let bad_role = admin_command(
        dir.path(),
        &["token", "--tenant", &tenant_id, "--role", "superuser"],
        None,
    );
    assert!(!bad_role.status.success());
    let message = stderr(&bad_role);
    assert!(
        message.contains("superuser") && message.contains("admin, agent or viewer"),
        "{message}"
    );
    assert!(stdout(&bad_role).is_empty(), "no token on failure");

    let bad_user_role = admin_command(
        dir.path(),
        &[
            "user",
            "create",
            "--tenant",
            &tenant_id,
            "--email",
            "x@acme.test",
            "--role",
            "owner",
            "--password",
            "long-enough-1",
        ],
        None,
    );
    assert!(!bad_user_role.status.success());
    assert!(
        stderr(&bad_user_role).contains("not a role"),
        "{}",
        stderr(&bad_user_role)
    );

    let bad_scope = admin_command(
        dir.path(),
        &[
            "api-key",
            "create",
            "--tenant",
            &tenant_id,
            "--scopes",
            "ingest,admin",
        ],
        None,
    );
    assert!(!bad_scope.status.success());
    assert!(
        stderr(&bad_scope).contains("not a scope"),
        "{}",
        stderr(&bad_scope)
    );

    let unknown = uuid::Uuid::now_v7().to_string();
    let no_tenant = admin_command(
        dir.path(),
        &["token", "--tenant", &unknown, "--role", "viewer"],
        None,
    );
    assert!(!no_tenant.status.success());
    assert!(
        stderr(&no_tenant).contains("does not exist"),
        "{}",
        stderr(&no_tenant)
    );

    let no_password = admin_command(
        dir.path(),
        &[
            "user",
            "create",
            "--tenant",
            &tenant_id,
            "--email",
            "y@acme.test",
            "--role",
            "agent",
        ],
        Some(""),
    );
    assert!(!no_password.status.success());
    assert!(
        stderr(&no_password).contains("password"),
        "{}",
        stderr(&no_password)
    );
}

#[test]
fn cli_in_production_needs_a_long_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let args = [
        "--database-url",
        url.as_str(),
        "tenant",
        "create",
        "--name",
        "X",
    ];

    let missing = memodesk(dir.path(), &args, &[("MEMODESK_ENV", "production")], None);
    assert!(!missing.status.success());
    assert!(stdout(&missing).is_empty());
    let message = stderr(&missing);
    assert!(message.contains("MEMODESK_JWT_SECRET"), "{message}");

    let short = memodesk(
        dir.path(),
        &args,
        &[
            ("MEMODESK_ENV", "production"),
            ("MEMODESK_JWT_SECRET", "short-key!"),
        ],
        None,
    );
    assert!(!short.status.success());
    let message = stderr(&short);
    assert!(
        message.contains("MEMODESK_JWT_SECRET") && message.contains("too short"),
        "{message}"
    );

    let long = memodesk(
        dir.path(),
        &args,
        &[
            ("MEMODESK_ENV", "production"),
            ("MEMODESK_JWT_SECRET", CLI_SECRET),
        ],
        None,
    );
    assert_success(&long, "tenant create in production with a long secret");
    assert!(uuid::Uuid::parse_str(&stdout(&long)).is_ok());
}

#[test]
fn cli_reads_a_digits_only_jwt_secret_as_text() {
    // Secrets are opaque text: one that happens to be all digits (leading zero included)
    // must be used byte for byte, not read as a number.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let secret = "0123456789";
    let env = [("MEMODESK_JWT_SECRET", secret)];
    let tenant = memodesk(
        dir.path(),
        &[
            "--database-url",
            &url,
            "tenant",
            "create",
            "--name",
            "Digits",
        ],
        &env,
        None,
    );
    assert_success(&tenant, "tenant create with a digits-only secret");
    let tenant_id = stdout(&tenant);
    let token = memodesk(
        dir.path(),
        &[
            "--database-url",
            &url,
            "token",
            "--tenant",
            &tenant_id,
            "--role",
            "agent",
        ],
        &env,
        None,
    );
    assert_success(&token, "token with a digits-only secret");
    let actor = JwtKeys::new(secret.as_bytes(), 0)
        .verify(&stdout(&token))
        .unwrap_or_else(|e| panic!("signed with another key: {}", e.describe()));
    assert_eq!(actor.tenant_id.to_string(), tenant_id);
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        assert!(!response.text().await.unwrap().is_empty());
    }
    let page = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/app.js"));
}

/// Descriptors this process holds open on files whose path starts with `prefix`.
fn open_files_under(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_sqlite_ingest_thread_ends_and_closes_its_connection_with_the_app() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db_file = runtime.block_on(async {
        let app = TestApp::spawn().await;
        let path = app.db_url.strip_prefix("sqlite://")?.to_owned();
        let t = app.tenant("Acme").await;
        record(&app, &t.agent, crate::helpers::message("WEB", "v", "hello")).await;
        assert!(open_files_under(&path) > 0, "the app has {path} open");
        Some(path)
    });
    // The app's tasks end with the runtime; the ingest thread, a plain thread, must see its
    // queue close and let go of the database too.
    drop(runtime);
    let Some(db_file) = db_file else { return }; // PostgreSQL: no file, no ingest thread
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while open_files_under(&db_file) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{db_file} is still open after its app stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Housekeeping deletes each tenant's events past its own retention, as a prefix of the
/// tenant's sequence: an event numbered after a retained one stays even when its timestamp is
/// older, so a subscriber can never miss a deleted event in the middle of what it reads.
#[tokio::test]
async fn event_retention_deletes_a_prefix_of_each_tenants_sequence() {
    use memodesk::clock::Clock;
    use memodesk::domain::EventType;
    use memodesk::events::{NewEvent, outbox};
    use memodesk::services::housekeeping;

    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await; // the default: 7 days
    let globex = app.tenant("Globex").await;
    update_settings(&app, &globex.admin, "eventRetentionDays: 30").await;
    let start = app.clock.now();
    for t in [&acme, &globex] {
        record(&app, &t.agent, message("WHATSAPP", "wa-1", "Hello")).await;
    }
    let old = gapless_events(&app, acme.id).await.len() as i64;
    app.clock.advance(chrono::Duration::days(3));
    for t in [&acme, &globex] {
        record(&app, &t.agent, message("WHATSAPP", "wa-2", "Hi there")).await;
    }
    // Numbered after the retained events, yet stamped as old as the first ones.
    let txn = app.state.db.begin_write().await.unwrap();
    let straggler = outbox::append(
        &txn,
        acme.id,
        vec![NewEvent::new(EventType::LeadUpdated, None, None, json!({}))],
        start,
    )
    .await
    .unwrap()
    .unwrap();
    txn.commit().await.unwrap();
    let acme_total = gapless_events(&app, acme.id).await.len() as i64;
    let globex_total = gapless_events(&app, globex.id).await.len() as i64;
    assert_eq!(straggler, acme_total);

    app.clock
        .advance(chrono::Duration::days(4) + chrono::Duration::hours(1));
    let (deleted, _) = housekeeping::run_once(&app.state).await.unwrap();
    assert_eq!(deleted, old as u64, "only Acme's events of the first day");
    let seqs = |events: Vec<memodesk::entities::event::Model>| -> Vec<i64> {
        events.iter().map(|e| e.seq).collect()
    };
    assert_eq!(
        seqs(events(&app, acme.id).await),
        (old + 1..=acme_total).collect::<Vec<_>>(),
        "what is left is the suffix after the expired prefix, straggler included"
    );
    assert_eq!(
        gapless_events(&app, globex.id).await.len() as i64,
        globex_total
    );
    assert_eq!(housekeeping::run_once(&app.state).await.unwrap().0, 0);

    // Two per statement: the chunks add up, and all of Globex's events go.
    let cutoff = app.clock.now() + chrono::Duration::seconds(1);
    let deleted = housekeeping::expire_events(&app.state, globex.id, cutoff, 2)
        .await
        .unwrap();
    assert_eq!(deleted, globex_total as u64);
    assert!(events(&app, globex.id).await.is_empty());
    assert_eq!(
        seqs(events(&app, acme.id).await).len() as i64,
        acme_total - old,
        "another tenant's events stay"
    );
}
