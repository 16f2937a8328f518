//! `GET /export/leads`: CSV, HubSpot and Salesforce shapes, incremental by cursor, parsed back
//! with the `csv` crate; bad input, other tenants' cursors and scopes refused.

use chrono::Duration;
use serde_json::{Value, json};

use crate::crm_changes::api_key;
use crate::helpers::*;
use memodesk::services::export::{
    CSV_COLUMNS, PAGE, SALESFORCE_LEAD_COLUMNS, SALESFORCE_TASK_COLUMNS,
};

/// An export response: status, next cursor, body.
struct Exported {
    status: u16,
    cursor: Option<String>,
    body: String,
}

impl Exported {
    /// The CSV body parsed: header and rows.
    fn csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        assert_eq!(self.status, 200, "{}", self.body);
        let body = self.body.trim_start_matches('\u{feff}');
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON error body")
    }
}

async fn export(app: &TestApp, token: &str, query: &str) -> Exported {
    let response = app
        .client
        .get(app.url(&format!("/export/leads?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let cursor = response
        .headers()
        .get("x-memodesk-next-cursor")
        .map(|v| v.to_str().unwrap().to_owned());
    // The raw bytes: `text()` would drop a byte order mark.
    let body = String::from_utf8(response.bytes().await.expect("body").to_vec()).expect("UTF-8");
    Exported {
        status,
        cursor,
        body,
    }
}

fn column(header: &[String], row: &[String], name: &str) -> String {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    row[i].clone()
}

/// A lead who wrote on WhatsApp, named by staff.
async fn named_lead(app: &TestApp, t: &TestTenant, phone: &str, name: &str) -> String {
    let lead = record(app, &t.agent, message("WHATSAPP", phone, "hello")).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if !name.is_empty() {
        set_profile_field(app, &t.agent, &lead, "name", name)
            .await
            .ok();
    }
    lead
}

#[tokio::test]
async fn a_csv_export_parses_back_with_every_lead_and_neutralised_formulas() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let key = api_key(&app, &t.admin, &["EXPORT"]).await;
    let dana = named_lead(&app, &t, "972501110001", "Dana Levi Cohen").await;
    set_profile_field(&app, &t.agent, &dana, "city", "=HYPERLINK(\"http://x\")")
        .await
        .ok();
    set_profile_field(&app, &t.agent, &dana, "email", "dana@example.com")
        .await
        .ok();
    named_lead(&app, &t, "972501110002", "Avi").await;
    named_lead(&app, &t, "972501110003", "").await;

    let exported = export(&app, &key, "format=csv&bom=true&provenance=true").await;
    assert!(exported.body.starts_with('\u{feff}'), "BOM first");
    let cursor = exported.cursor.clone().expect("next cursor header");
    let (header, rows) = exported.csv();
    let mut expected: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    assert_eq!(header[..expected.len()], expected[..]);
    assert!(header.contains(&"name_source".to_owned()));
    assert!(header.contains(&"city_source".to_owned()));
    assert_eq!(rows.len(), 3);
    let row = rows
        .iter()
        .find(|r| column(&header, r, "memodesk_id") == dana)
        .expect("Dana's row");
    assert_eq!(column(&header, row, "first_name"), "Dana");
    assert_eq!(column(&header, row, "last_name"), "Levi Cohen");
    assert_eq!(column(&header, row, "email"), "dana@example.com");
    assert_eq!(column(&header, row, "phone"), "+972501110001");
    assert_eq!(column(&header, row, "city"), "'=HYPERLINK(\"http://x\")");
    assert_eq!(column(&header, row, "first_channel"), "whatsapp");
    assert_eq!(column(&header, row, "last_channel"), "whatsapp");
    assert_eq!(column(&header, row, "name_source"), "manual");
    assert_eq!(column(&header, row, "deleted"), "false");

    // Next time: only what changed since.
    let again = export(&app, &key, &format!("format=csv&after={cursor}")).await;
    let (header, rows) = again.csv();
    expected.truncate(CSV_COLUMNS.len());
    assert_eq!(header, expected, "no provenance columns unless asked");
    assert!(rows.is_empty(), "nothing changed: {rows:?}");
    set_profile_field(&app, &t.agent, &dana, "city", "Haifa")
        .await
        .ok();
    let changed = export(
        &app,
        &key,
        &format!("format=csv&after={}", again.cursor.unwrap()),
    )
    .await;
    let (header, rows) = changed.csv();
    assert_eq!(rows.len(), 1);
    assert_eq!(column(&header, &rows[0], "memodesk_id"), dana);
    assert_eq!(column(&header, &rows[0], "city"), "Haifa");
}

#[tokio::test]
async fn a_hubspot_export_is_batch_upsert_inputs_and_notes_for_summaries() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let dana = named_lead(&app, &t, "972501110001", "Dana Levi").await;
    // Close the conversation and summarize it.
    app.clock.advance(Duration::hours(2));
    app.sweep(1).await;
    app.run_jobs(1).await;

    let exported = export(&app, &t.admin, "format=hubspot").await;
    assert_eq!(exported.status, 200, "{}", exported.body);
    let lines: Vec<Value> = exported
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let contact = lines
        .iter()
        .find(|l| l["objectType"] == "contacts")
        .expect("a contact");
    assert_eq!(contact["idProperty"], "memodesk_id");
    assert_eq!(contact["id"], dana.as_str());
    let properties = &contact["properties"];
    assert_eq!(properties["memodesk_id"], dana.as_str());
    assert_eq!(properties["firstname"], "Dana");
    assert_eq!(properties["lastname"], "Levi");
    assert_eq!(properties["phone"], "+972501110001");
    assert_eq!(properties["mobilephone"], "+972501110001");
    for name in ["email", "city", "company", "hs_language"] {
        assert!(
            properties.get(name).is_some(),
            "{name} is sent (empty clears)"
        );
    }
    let note = lines
        .iter()
        .find(|l| l["objectType"] == "notes")
        .expect("a note for the summary");
    assert_eq!(note["memodesk_id"], dana.as_str());
    assert!(note["properties"]["hs_note_body"].as_str().unwrap().len() > 3);
    assert!(
        note["properties"]["hs_timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        note["associations"][0]["types"][0]["associationTypeId"],
        json!(202)
    );
}

#[tokio::test]
async fn a_salesforce_export_fills_required_fields_and_clears_empty_ones() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let avi = named_lead(&app, &t, "972501110002", "Avi").await;
    let nameless = named_lead(&app, &t, "972501110003", "").await;
    app.clock.advance(Duration::hours(2));
    app.sweep(2).await;
    app.run_jobs(2).await;

    let leads = export(&app, &t.admin, "format=salesforce").await;
    let (header, rows) = leads.csv();
    assert_eq!(header, SALESFORCE_LEAD_COLUMNS.to_vec());
    let row = |id: &str| {
        rows.iter()
            .find(|r| column(&header, r, "Memodesk_Id__c") == id)
            .expect("row")
            .clone()
    };
    let avi_row = row(&avi);
    assert_eq!(column(&header, &avi_row, "LastName"), "Avi");
    assert_eq!(column(&header, &avi_row, "FirstName"), "#N/A");
    assert_eq!(column(&header, &avi_row, "Company"), "[not provided]");
    assert_eq!(column(&header, &avi_row, "Email"), "#N/A");
    assert_eq!(column(&header, &avi_row, "Phone"), "+972501110002");
    let activity = column(&header, &avi_row, "Memodesk_Last_Activity__c");
    assert!(
        chrono::DateTime::parse_from_str(&activity, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok()
            || activity.ends_with(".000Z"),
        "{activity}"
    );
    assert_eq!(
        column(&header, &row(&nameless), "LastName"),
        "[not provided]"
    );

    let tasks = export(&app, &t.admin, "format=salesforce&object=task").await;
    let (header, rows) = tasks.csv();
    assert_eq!(header, SALESFORCE_TASK_COLUMNS.to_vec());
    assert_eq!(rows.len(), 2, "one task per summarized lead");
    let date = column(&header, &rows[0], "ActivityDate");
    assert!(
        chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok(),
        "{date}"
    );
    assert_eq!(column(&header, &rows[0], "Status"), "Completed");
}

#[tokio::test]
async fn bad_formats_flags_and_cursors_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    named_lead(&app, &other, "972501110009", "Zed").await;
    let theirs = export(&app, &other.admin, "format=csv")
        .await
        .cursor
        .unwrap();

    for (query, field) in [
        ("format=xlsx", "format"),
        ("format=csv&bom=maybe", "bom"),
        ("format=csv&object=task", "object"),
        ("format=salesforce&object=account", "object"),
        ("format=csv&after=nonsense", "after"),
        (&format!("format=csv&after={theirs}") as &str, "after"),
    ] {
        let refused = export(&app, &acme.admin, query).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        let error = refused.json();
        assert_eq!(error["error"]["code"], "BAD_USER_INPUT", "{query}");
        assert_eq!(error["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn only_the_export_scope_and_admins_may_export() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let read_key = api_key(&app, &t.admin, &["READ"]).await;
    let export_key = api_key(&app, &t.admin, &["EXPORT"]).await;
    for token in [&t.agent, &t.viewer, &read_key] {
        assert_eq!(export(&app, token, "format=csv").await.status, 403);
    }
    let anonymous = app
        .client
        .get(app.url("/export/leads?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    for token in [&t.admin, &export_key] {
        let ok = export(&app, token, "format=csv").await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.csv().1.len(), 0, "an empty tenant exports a header only");
    }
}

#[tokio::test]
async fn erased_leads_are_exported_as_deletion_markers_in_every_format() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let gone = named_lead(&app, &t, "972501110004", "Gone Soon").await;
    let start = export(&app, &t.admin, "format=csv").await.cursor.unwrap();
    crate::crm_changes::erase_for_test(&app, t.id, gone.parse().unwrap()).await;

    let (header, rows) = export(&app, &t.admin, &format!("format=csv&after={start}"))
        .await
        .csv();
    assert_eq!(rows.len(), 1);
    assert_eq!(column(&header, &rows[0], "memodesk_id"), gone);
    assert_eq!(column(&header, &rows[0], "deleted"), "true");
    assert_eq!(column(&header, &rows[0], "first_name"), "", "ids only");

    let hubspot = export(&app, &t.admin, &format!("format=hubspot&after={start}")).await;
    let line: Value = serde_json::from_str(hubspot.body.trim()).unwrap();
    // The body of HubSpot's GDPR delete, which finds the contact by a unique property.
    assert_eq!(line["objectType"], "contacts");
    assert_eq!(line["action"], "gdpr-delete");
    assert_eq!(line["objectId"], gone.as_str());
    assert_eq!(line["idProperty"], "memodesk_id");

    let salesforce = export(
        &app,
        &t.admin,
        &format!("format=salesforce&object=erased&after={start}"),
    )
    .await;
    let (header, rows) = salesforce.csv();
    assert_eq!(header, vec!["Memodesk_Id__c"]);
    assert_eq!(rows, vec![vec![gone.clone()]]);
    let (_, rows) = export(&app, &t.admin, &format!("format=salesforce&after={start}"))
        .await
        .csv();
    assert!(rows.is_empty(), "the upsert file leaves erased leads out");
}

/// Records one WhatsApp message from each of `phones`, in batches, and returns the leads' ids.
async fn leads_from(app: &TestApp, t: &TestTenant, phones: &[String]) -> Vec<String> {
    let mut ids = Vec::with_capacity(phones.len());
    for batch in phones.chunks(100) {
        let inputs: Vec<Value> = batch
            .iter()
            .map(|phone| message("WHATSAPP", phone, "hello"))
            .collect();
        let response = app
            .gql(
                Some(&t.agent),
                "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) {
                    results { result { lead { id } } } } }",
                json!({ "inputs": inputs }),
            )
            .await;
        for result in response.ok()["recordMessages"]["results"]
            .as_array()
            .expect("results")
        {
            ids.push(result["result"]["lead"]["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

#[tokio::test]
async fn an_export_longer_than_a_page_has_every_lead_once_and_none_of_another_tenants() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let key = api_key(&app, &acme.admin, &["EXPORT"]).await;
    // Exactly two pages: the export must notice the second page was the last one.
    let phones: Vec<String> = (0..2 * PAGE).map(|i| format!("97250200{i:04}")).collect();
    let mut ours = leads_from(&app, &acme, &phones).await;
    // Another tenant's leads, one of them with the very same phone number.
    let theirs = named_lead(&app, &other, &phones[7], "Zelda Otherworld").await;
    let theirs_too = named_lead(&app, &other, "972509999999", "Yosef Elsewhere").await;
    assert!(!ours.contains(&theirs));

    let first = export(&app, &key, "format=csv").await;
    let cursor = first.cursor.clone().expect("next cursor");
    let (header, rows) = first.csv();
    let mut exported: Vec<String> = rows
        .iter()
        .map(|r| column(&header, r, "memodesk_id"))
        .collect();
    exported.sort();
    ours.sort();
    assert_eq!(exported, ours, "every lead of the tenant, each once");
    for foreign in [
        "Zelda",
        "Otherworld",
        "Yosef",
        "Elsewhere",
        &theirs,
        &theirs_too,
    ] {
        assert!(
            !first.body.contains(foreign),
            "{foreign} leaked into the export"
        );
    }

    // One lead more, one changed on the first page, and the other tenant busy meanwhile.
    let newcomer = leads_from(&app, &acme, &["972502990000".to_owned()]).await;
    set_profile_field(&app, &acme.agent, &ours[3], "city", "Eilat")
        .await
        .ok();
    set_profile_field(&app, &other.agent, &theirs, "city", "Haifa")
        .await
        .ok();
    let next = export(&app, &key, &format!("format=csv&after={cursor}")).await;
    let (header, rows) = next.csv();
    let mut changed: Vec<String> = rows
        .iter()
        .map(|r| column(&header, r, "memodesk_id"))
        .collect();
    changed.sort();
    let mut expected = vec![newcomer[0].clone(), ours[3].clone()];
    expected.sort();
    assert_eq!(changed, expected, "only what changed in this tenant since");

    // The HubSpot shape pages the same way.
    let hubspot = export(&app, &key, "format=hubspot").await;
    assert_eq!(hubspot.status, 200, "{}", hubspot.body);
    let mut contacts: Vec<String> = hubspot
        .body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|l| l["objectType"] == "contacts")
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    contacts.sort();
    let mut all = ours.clone();
    all.push(newcomer[0].clone());
    all.sort();
    assert_eq!(contacts, all);
    assert!(!hubspot.body.contains("Zelda") && !hubspot.body.contains(&theirs));
}
