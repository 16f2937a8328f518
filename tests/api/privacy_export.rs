//! Subject access export (issue 29): `exportLeadData`, `GET /export/subject/{leadId}` and
//! `memodesk lead export`: a ZIP of everything held about one customer.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use chrono::Duration;
use serde_json::{Value, json};

use crate::crm_changes::api_key;
use crate::helpers::{TestApp, message, record, update_settings};
use crate::privacy_erasure::rich_lead;

const EXPORT: &str = "mutation($id: ID!) { exportLeadData(id: $id) { url expiresAt } }";

const FILES: &[&str] = &[
    "README.txt",
    "access_log.json",
    "conversations.json",
    "messages.csv",
    "notes.json",
    "subject.json",
    "summaries.json",
];

/// An opened export.
struct Export {
    files: std::collections::BTreeMap<String, String>,
}

impl Export {
    fn open(bytes: &[u8]) -> Self {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a ZIP");
        let mut files = std::collections::BTreeMap::new();
        for i in 0..archive.len() {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            files.insert(file.name().unwrap().into_owned(), text);
        }
        Self { files }
    }

    fn names(&self) -> BTreeSet<&str> {
        self.files.keys().map(String::as_str).collect()
    }

    fn text(&self, name: &str) -> &str {
        self.files
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.names()))
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_str(self.text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// messages.csv as rows of columns (header first).
    fn messages(&self) -> Vec<Vec<String>> {
        csv::Reader::from_reader(self.text("messages.csv").as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    /// The profile field `key` of subject.json.
    fn field(&self, key: &str) -> Value {
        let subject = self.json("subject.json");
        subject["profile"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key} in {subject:#}"))
    }
}

/// A download: status, body.
async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn link(app: &TestApp, token: &str, lead: &str) -> String {
    let answer = app.gql(Some(token), EXPORT, json!({ "id": lead })).await;
    answer.ok()["exportLeadData"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer:?}"))
        .to_owned()
}

fn body(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_customer_gets_everything_held_about_them_with_where_each_value_came_from() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let lead = rich_lead(&app, &t).await;

    let answer = app.gql(Some(&t.admin), EXPORT, json!({ "id": lead })).await;
    let export = &answer.ok()["exportLeadData"];
    let url = export["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("/export/subject/{lead}?token=")),
        "{url}"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        export["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, app.state.now() + Duration::minutes(15));

    // The link works without a bearer token.
    let (status, bytes) = get(&app, url, None).await;
    assert_eq!(status, 200, "{}", body(&bytes));
    let zip = Export::open(&bytes);
    assert_eq!(zip.names(), FILES.iter().copied().collect());

    // The profile, with provenance: the staff edit, and AI values with their message.
    let city = zip.field("city");
    assert_eq!(city["value"], "Akureyri", "{city:#}");
    assert_eq!(city["source"], "staff", "{city:#}");
    assert_eq!(city["inferredAutomatically"], false);
    let subject = zip.json("subject.json");
    let inferred: Vec<&Value> = subject["profile"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "ai")
        .collect();
    assert!(!inferred.is_empty(), "{subject:#}");
    for field in &inferred {
        assert_eq!(field["inferredAutomatically"], true);
        let evidence = &field["evidence"][0];
        let content = evidence["message"]["content"]
            .as_str()
            .unwrap_or_else(|| panic!("an AI value names the message it came from: {field:#}"));
        assert!(!content.is_empty(), "{field:#}");
        let id = evidence["messageId"].as_str().unwrap();
        assert!(
            zip.messages().iter().any(|row| row[1] == id),
            "the evidence is one of the exported messages: {field:#}"
        );
    }
    assert_eq!(subject["leadId"], lead.as_str());
    assert!(
        subject["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["channel"] == "whatsapp"),
        "{subject:#}"
    );
    assert!(
        !subject["profileHistory"].as_array().unwrap().is_empty(),
        "{subject:#}"
    );

    // Conversations and their messages.
    let conversations = zip.json("conversations.json");
    let channels: Vec<&str> = conversations
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, vec!["whatsapp", "call"], "{conversations:#}");
    let rows = zip.messages();
    assert_eq!(
        rows.len(),
        4,
        "every message, oldest first: {}",
        zip.text("messages.csv")
    );
    assert!(rows[0][5].contains("flight to Reykjavik"), "{rows:?}");
    assert_eq!(rows[1][4], "agent");
    assert!(rows[3][5].contains("4000 euros"), "{rows:?}");
    assert_eq!(rows[0][0], conversations[0]["id"].as_str().unwrap());

    let summaries = zip.json("summaries.json");
    assert_eq!(summaries.as_array().unwrap().len(), 1, "{summaries:#}");
    assert_eq!(summaries[0]["conversationId"], conversations[0]["id"]);
    assert_eq!(summaries[0]["inferredAutomatically"], true);
    let notes = zip.json("notes.json");
    assert_eq!(notes[0]["body"], "Prefers window seats, Quixote family");

    // Who looked: the request for the link and this export itself.
    let access = zip.json("access_log.json");
    let actions: Vec<&str> = access
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"lead.export_requested"), "{actions:?}");
    assert!(actions.contains(&"lead.exported"), "{actions:?}");

    let readme = zip.text("README.txt");
    for words in [
        "subject.json",
        "messages.csv",
        "access_log.json",
        "inferred automatically",
        "messages 90 days",
        "conversation summaries 730 days",
        "the search index and the semantic search vectors are computed from",
    ] {
        assert!(readme.contains(words), "{words} in {readme}");
    }

    // The export is in the audit log, with no content.
    let audit = app
        .gql(
            Some(&t.admin),
            r#"query($lead: ID!) { auditLog(filter: { leadId: $lead, action: "lead.exported" }) {
                 nodes { action actorKind details } } }"#,
            json!({ "lead": lead }),
        )
        .await;
    let nodes = audit.ok()["auditLog"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert!(!json!(nodes).to_string().contains("Reykjavik"));
}

#[tokio::test]
async fn the_readme_speaks_the_tenants_language_and_says_how_long_data_is_kept() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"locale: "he", messageRetentionDays: 30"#).await;
    let first = record(&app, &t.agent, message("WEB", "v1", "שלום, אני מחפש טיסה")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();

    // Directly with the admin's token, no link.
    let (status, bytes) = get(&app, &format!("/export/subject/{lead}"), Some(&t.admin)).await;
    assert_eq!(status, 200, "{}", body(&bytes));
    let zip = Export::open(&bytes);
    let readme = zip.text("README.txt");
    assert!(readme.contains("הוסקו אוטומטית"), "{readme}");
    assert!(readme.contains("הודעות 30 ימים"), "{readme}");
    assert!(zip.messages()[0][5].contains("טיסה"));
}

#[tokio::test]
async fn another_tenants_customer_cannot_be_exported_and_looks_missing() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Acme").await;
    let b = app.tenant("Globex").await;
    let first = record(&app, &a.agent, message("WEB", "v1", "I am Zebulon")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::now_v7().to_string();

    let theirs = app.gql(Some(&b.admin), EXPORT, json!({ "id": lead })).await;
    let nothing = app
        .gql(Some(&b.admin), EXPORT, json!({ "id": missing }))
        .await;
    assert_eq!(
        theirs.expect_error("NOT_FOUND"),
        nothing.expect_error("NOT_FOUND")
    );

    let (status, theirs) = get(&app, &format!("/export/subject/{lead}"), Some(&b.admin)).await;
    let (missing_status, nothing) =
        get(&app, &format!("/export/subject/{missing}"), Some(&b.admin)).await;
    assert_eq!((status, missing_status), (404, 404));
    assert_eq!(body(&theirs), body(&nothing));

    // Tenant B's key with the export scope neither.
    let key = api_key(&app, &b.admin, &["EXPORT"]).await;
    let (status, _) = get(&app, &format!("/export/subject/{lead}"), Some(&key)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_admins_and_export_keys_may_export_a_customer() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(&app, &t.agent, message("WEB", "v1", "I am Zebulon")).await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let read_key = api_key(&app, &t.admin, &["READ", "INGEST"]).await;
    let export_key = api_key(&app, &t.admin, &["EXPORT"]).await;
    let path = format!("/export/subject/{lead}");

    for token in [&t.agent, &t.viewer, &read_key] {
        app.gql(Some(token), EXPORT, json!({ "id": lead }))
            .await
            .expect_error("FORBIDDEN");
        let (status, refused) = get(&app, &path, Some(token)).await;
        assert_eq!(status, 403, "{}", body(&refused));
    }
    let (status, _) = get(&app, &path, None).await;
    assert_eq!(status, 401);

    let url = link(&app, &export_key, &lead).await;
    let (status, bytes) = get(&app, &url, None).await;
    assert_eq!(status, 200, "{}", body(&bytes));
    let access = Export::open(&bytes).json("access_log.json");
    assert!(
        access
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "lead.exported" && e["actorKind"] == "api_key"),
        "{access:#}"
    );
    let (status, _) = get(&app, &path, Some(&export_key)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_expired_or_foreign_link_is_refused_without_saying_why() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Acme").await;
    let b = app.tenant("Globex").await;
    let mine = record(&app, &a.agent, message("WEB", "v1", "I am Zebulon")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = record(&app, &b.agent, message("WEB", "v1", "I am Quixote")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = link(&app, &a.admin, &mine).await;
    let token = url.split("token=").nth(1).unwrap().to_owned();

    // Tenant A's link on tenant B's lead; a tampered token; an expired one.
    let (foreign_status, foreign) = get(
        &app,
        &format!("/export/subject/{theirs}?token={token}"),
        None,
    )
    .await;
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (tampered_status, tampered) = get(
        &app,
        &format!("/export/subject/{mine}?token={tampered}"),
        None,
    )
    .await;
    let (status, _) = get(&app, &url, None).await;
    assert_eq!(status, 200, "valid for 15 minutes");
    app.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    let (expired_status, expired) = get(&app, &url, None).await;

    assert_eq!(
        (foreign_status, tampered_status, expired_status),
        (403, 403, 403)
    );
    assert_eq!(body(&foreign), body(&expired));
    assert_eq!(body(&tampered), body(&expired));
    assert!(body(&expired).contains("FORBIDDEN"), "{}", body(&expired));
    assert!(!body(&expired).contains("expired\""));
}

#[tokio::test]
async fn the_cli_writes_a_customers_export_to_a_file() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let first = record(
        &app,
        &t.agent,
        message("WEB", "v1", "I am Zebulon from Reykjavik"),
    )
    .await;
    let lead = first["lead"]["id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zebulon.zip");
    let run = |lead: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_memodesk"))
            .args([
                "--database-url",
                &app.db_url,
                "lead",
                "export",
                "--tenant",
                &t.id.to_string(),
                "--lead",
                lead,
                "--out",
                out.to_str().unwrap(),
            ])
            .env_clear()
            .env("MEMODESK_JWT_SECRET", crate::helpers::JWT_SECRET)
            .output()
            .unwrap()
    };
    let output = run(&lead);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let zip = Export::open(&std::fs::read(&out).unwrap());
    assert_eq!(zip.names(), FILES.iter().copied().collect());
    assert!(zip.messages()[0][5].contains("Reykjavik"));
    let access = zip.json("access_log.json");
    assert_eq!(access[0]["action"], "lead.exported", "{access:#}");
    assert_eq!(access[0]["actorKind"], "system");

    // A missing lead: an error, and no file.
    std::fs::remove_file(&out).unwrap();
    let output = run(&uuid::Uuid::now_v7().to_string());
    assert!(!output.status.success());
    assert!(!out.exists());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
