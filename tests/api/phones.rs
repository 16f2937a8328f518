//! Phone numbers: read right whatever the tenant's region, kept when a channel sends one the
//! numbering plan does not list, refused with the reason when impossible, flagged when
//! unverified, and found by a lead search in any format the tenant's region allows.

use serde_json::{Value, json};

use crate::helpers::{Gql, RECORD, TestApp, TestTenant, record, update_settings};

const LEAD: &str = r#"query($id: ID!) { lead(id: $id) {
    id primaryPhone identities { kind value } profile { key value } } }"#;

const PROFILE: &str = r#"query($id: ID!) { lead(id: $id) { profile { key value verified } } }"#;

const LEAD_BY_PHONE: &str = r#"query($phone: String!) { leadByPhone(phone: $phone) { id } }"#;

const SEARCH: &str = r#"query($search: String!) {
    leads(first: 50, filter: { search: $search }) { totalCount edges { node { id } } } }"#;

/// A lead as staff see it: its primary phone, identities and profile.
struct Lead(Value);

impl Lead {
    async fn load(app: &TestApp, token: &str, id: &str) -> Self {
        Self(app.gql(Some(token), LEAD, json!({ "id": id })).await.ok()["lead"].clone())
    }

    /// The lead's profile, with whether its phone number is verified.
    async fn profile_of(app: &TestApp, token: &str, id: &str) -> Self {
        Self(
            app.gql(Some(token), PROFILE, json!({ "id": id }))
                .await
                .ok()["lead"]
                .clone(),
        )
    }

    fn primary_phone(&self) -> Option<&str> {
        self.0["primaryPhone"].as_str()
    }

    fn profile(&self, key: &str) -> &Value {
        self.0["profile"]
            .as_array()
            .and_then(|fields| fields.iter().find(|f| f["key"] == key))
            .unwrap_or_else(|| panic!("no `{key}` in {:#}", self.0))
    }

    fn phone_identities(&self) -> Vec<&str> {
        self.0["identities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "PHONE")
            .map(|i| i["value"].as_str().unwrap())
            .collect()
    }
}

/// Records one customer message and returns the lead's id.
async fn lead_of(app: &TestApp, t: &TestTenant, input: Value) -> String {
    record(app, &t.agent, input).await["lead"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn record_phone(app: &TestApp, t: &TestTenant, phone: &str) -> Gql {
    app.gql(
        Some(&t.agent),
        RECORD,
        json!({ "input": { "channel": "WEB", "externalUserId": "visitor-1", "phone": phone,
                           "content": "Hello" } }),
    )
    .await
}

async fn lead_by_phone(app: &TestApp, t: &TestTenant, phone: &str) -> String {
    app.gql(Some(&t.viewer), LEAD_BY_PHONE, json!({ "phone": phone }))
        .await
        .ok()["leadByPhone"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no lead for {phone}"))
        .to_owned()
}

/// The ids a lead search finds, after checking `totalCount` agrees.
async fn search(app: &TestApp, t: &TestTenant, text: &str) -> Vec<String> {
    let response = app
        .gql(Some(&t.viewer), SEARCH, json!({ "search": text }))
        .await;
    let leads = &response.ok()["leads"];
    let ids: Vec<String> = leads["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(leads["totalCount"], ids.len(), "search `{text}`");
    ids
}

#[tokio::test]
async fn a_number_written_with_a_plus_keeps_every_digit_in_a_tenant_of_another_country() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme US").await;
    // German, Chinese, Egyptian, Malaysian and Brazilian mobiles: with the tenant's region
    // (US) the digit after the country code used to be dropped.
    for (i, (written, e164)) in [
        ("+49 1512 3456789", "+4915123456789"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+20 100 123 4567", "+201001234567"),
        ("+60 12-345 6789", "+60123456789"),
        ("+55 11 98765-4321", "+5511987654321"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = lead_of(
            &app,
            &t,
            json!({ "channel": "WEB", "externalUserId": format!("visitor-{i}"), "phone": written,
                     "content": "Hello" }),
        )
        .await;
        let lead = Lead::load(&app, &t.viewer, &id).await;
        assert_eq!(lead.primary_phone(), Some(e164), "{written}");
        assert_eq!(lead.phone_identities(), [e164], "{written}");
        assert_eq!(lead_by_phone(&app, &t, e164).await, id, "{written}");
    }
    // Dialled from the US with its international prefix, the same German number.
    assert_eq!(
        Lead::load(
            &app,
            &t.viewer,
            &lead_by_phone(&app, &t, "011 49 1512 3456789").await
        )
        .await
        .primary_phone(),
        Some("+4915123456789")
    );
}

#[tokio::test]
async fn a_us_number_typed_in_national_format_is_not_taken_for_another_countrys() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme US").await;
    // 690 is not a US area code; the digits without `+` are a number in Tokelau (+690).
    let typed = lead_of(
        &app,
        &t,
        json!({ "channel": "WEB", "externalUserId": "visitor-1", "phone": "(690) 372-1211",
                 "content": "Hello" }),
    )
    .await;
    let lead = Lead::load(&app, &t.viewer, &typed).await;
    assert_eq!(lead.primary_phone(), Some("+16903721211"));

    // A WhatsApp id is the number with its country code: those digits are Tokelau's.
    let wa_id = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "6903721211", "content": "Hello" }),
    )
    .await;
    assert_ne!(wa_id, typed);
    let lead = Lead::load(&app, &t.viewer, &wa_id).await;
    assert_eq!(lead.primary_phone(), Some("+6903721211"));
}

#[tokio::test]
async fn a_customer_whose_number_is_missing_from_the_numbering_plan_can_still_write_and_call() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    // +972 50 1… is a real Israeli mobile range the built-in metadata does not list.
    let whatsapp = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "972501234567", "content": "Hi!" }),
    )
    .await;
    let call = record(
        &app,
        &t.agent,
        json!({ "channel": "CALL", "externalUserId": "+972 50-123-4567", "content": "Hello?" }),
    )
    .await;
    assert_eq!(call["lead"]["id"], whatsapp.as_str(), "the same customer");
    let typed = record_phone(&app, &t, "+972 50 123 4567").await;
    assert_eq!(typed.ok()["recordMessage"]["lead"]["id"], whatsapp.as_str());

    let lead = Lead::load(&app, &t.viewer, &whatsapp).await;
    assert_eq!(lead.primary_phone(), Some("+972501234567"));
    assert_eq!(lead.phone_identities(), ["+972501234567"]);
    assert_eq!(lead.profile("phone")["value"], "+972501234567");
}

#[tokio::test]
async fn staff_see_which_phone_numbers_are_verified() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let listed = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "972525551234", "displayName": "Dana",
                 "content": "Hi!" }),
    )
    .await;
    let lead = Lead::profile_of(&app, &t.viewer, &listed).await;
    assert_eq!(lead.profile("phone")["verified"], true);
    assert_eq!(lead.profile("name")["verified"], Value::Null);

    // A channel's number in a range the plan does not list, and digits typed in national
    // format that no US area code starts: kept, and shown unverified.
    for (input, e164) in [
        (
            json!({ "channel": "WHATSAPP", "externalUserId": "972501234567", "content": "Hi!" }),
            "+972501234567",
        ),
        (
            json!({ "channel": "WEB", "externalUserId": "visitor-1", "phone": "(690) 372-1211",
                     "content": "Hello" }),
            "+16903721211",
        ),
    ] {
        let lead = Lead::profile_of(&app, &t.viewer, &lead_of(&app, &t, input).await).await;
        assert_eq!(lead.profile("phone")["value"], e164);
        assert_eq!(lead.profile("phone")["verified"], false, "{e164}");
    }

    // A staff edit to an unlisted number shows it unverified, in the memory context too.
    let set = app
        .gql(
            Some(&t.agent),
            r#"mutation($id: ID!) { setProfileField(leadId: $id, key: "phone", value: "+972 50 100 2000") { id } }"#,
            json!({ "id": listed }),
        )
        .await;
    set.ok();
    let lead = Lead::profile_of(&app, &t.viewer, &listed).await;
    assert_eq!(lead.profile("phone")["verified"], false);
    let context = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { memoryContext(leadId: $id) { profile { key verified } } }"#,
            json!({ "id": listed }),
        )
        .await;
    let fields = context.ok()["memoryContext"]["profile"].clone();
    let phone = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "phone")
        .unwrap_or_else(|| panic!("{fields:#}"));
    assert_eq!(phone["verified"], false);
}

#[tokio::test]
async fn a_number_that_cannot_exist_is_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    for (phone, reason) in [
        ("+1 555 1234", "too short"),
        ("+49 1512 3456 7891 2345", "too long"),
        ("+999 123 4567", "country code"),
        ("555-1234", "area code"),
    ] {
        let response = record_phone(&app, &t, phone).await;
        let message = response.expect_error("BAD_USER_INPUT");
        assert!(message.contains(reason), "{phone}: {message}");
        assert_eq!(response.field(), Some("input.phone"), "{phone}");
    }
    let created = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { phone: "+1 555 1234" }) { id } }"#,
            json!({}),
        )
        .await;
    assert!(
        created.expect_error("BAD_USER_INPUT").contains("too short"),
        "{created:?}"
    );
    assert_eq!(created.field(), Some("input.phone"));
}

#[tokio::test]
async fn searching_leads_by_phone_finds_them_in_any_format_the_tenants_region_allows() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme Israel").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let dana = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "972525551234", "displayName": "Dana",
                 "content": "שלום" }),
    )
    .await;
    // Another customer whose number shares digits with Dana's.
    let other = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "972545551234", "displayName": "Yossi",
                 "content": "שלום" }),
    )
    .await;
    for written in [
        "052-555-1234",
        "0525551234",
        "052 555 1234",
        "(052) 555-1234",
        "+972 52-555-1234",
        "+972525551234",
        "00972525551234",
    ] {
        assert_eq!(
            search(&app, &t, written).await,
            [dana.as_str()],
            "`{written}`"
        );
    }
    // Parts of a number still find every lead whose number holds them.
    let mut both = vec![dana.clone(), other.clone()];
    both.sort();
    for part in ["5551234", "555-1234", "555 12"] {
        let mut found = search(&app, &t, part).await;
        found.sort();
        assert_eq!(found, both, "`{part}`");
    }
    assert_eq!(search(&app, &t, "52555").await, [dana.as_str()]);
    assert_eq!(search(&app, &t, "053-555-1234").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_search_finds_a_lead_by_a_phone_number_that_is_not_its_primary_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme Israel").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let dana = lead_of(
        &app,
        &t,
        json!({ "channel": "WHATSAPP", "externalUserId": "972525551234", "content": "Hi" }),
    )
    .await;
    // Staff set another number as her phone; she still writes from the first one.
    app.gql(
        Some(&t.agent),
        r#"mutation($id: ID!) { setProfileField(leadId: $id, key: "phone", value: "03-123-4567") { id } }"#,
        json!({ "id": dana }),
    )
    .await
    .ok();
    let lead = Lead::load(&app, &t.viewer, &dana).await;
    assert_eq!(lead.primary_phone(), Some("+97231234567"));
    assert_eq!(search(&app, &t, "052-555-1234").await, [dana.as_str()]);
    assert_eq!(search(&app, &t, "03-123-4567").await, [dana.as_str()]);
}
