//! Leads: the Relay connection (orders, paging both ways, filters, limits), one lead with its
//! relations, phone lookups, staff edits, conflicts, and DataLoaders (no N+1).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, record, update_settings};

const LEADS: &str = r#"
query Leads($first: Int, $after: String, $last: Int, $before: String, $filter: LeadFilter,
            $order: LeadOrder! = LAST_ACTIVITY_DESC) {
  leads(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id displayName createdAt lastInteractionAt } }
  }
}"#;

const RECORD_MANY: &str = r#"
mutation($inputs: [RecordMessageInput!]!) {
  recordMessages(inputs: $inputs) {
    recorded failed
    results { index error { code message field } result { lead { id } session { id } } }
  }
}"#;

/// Records a batch and returns each message's lead id, asserting none failed.
async fn record_batch(app: &TestApp, token: &str, inputs: Vec<Value>) -> Vec<String> {
    let count = inputs.len();
    let response = app
        .gql(Some(token), RECORD_MANY, json!({ "inputs": inputs }))
        .await;
    let payload = &response.ok()["recordMessages"];
    assert_eq!(payload["failed"], 0, "{payload}");
    assert_eq!(payload["recorded"], count);
    payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"]["lead"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One seeded lead: its id and the times the order keys should hold.
#[derive(Debug, Clone)]
struct Seeded {
    id: String,
    created: DateTime<Utc>,
    active: DateTime<Utc>,
}

const CHANNELS: [&str; 3] = ["WHATSAPP", "CALL", "WEB"];

/// 25 leads, first seen 10 minutes apart; every fourth one came back later, so the activity
/// order differs from the creation order. Lead `i` talks on `CHANNELS[i % 3]`.
async fn seed_25(app: &TestApp, t: &TestTenant) -> Vec<Seeded> {
    let base = app.state.now() - Duration::hours(12);
    let first_seen = |i: usize| base + Duration::minutes(10 * i as i64);
    let came_back = |i: usize| base + Duration::minutes(300 + (25 - i as i64));
    let inputs = (0..25)
        .map(|i| {
            json!({
                "channel": CHANNELS[i % 3], "externalUserId": format!("customer-{i:02}"),
                "displayName": format!("Customer {i:02}"), "content": "Hello, is anyone there?",
                "occurredAt": rfc3339(first_seen(i))
            })
        })
        .collect();
    let ids = record_batch(app, &t.agent, inputs).await;
    let returning: Vec<usize> = (0..25).filter(|i| i % 4 == 1).collect();
    let inputs = returning
        .iter()
        .map(|&i| {
            json!({
                "channel": CHANNELS[i % 3], "externalUserId": format!("customer-{i:02}"),
                "content": "Me again, about my booking", "occurredAt": rfc3339(came_back(i))
            })
        })
        .collect();
    let again = record_batch(app, &t.agent, inputs).await;
    for (k, &i) in returning.iter().enumerate() {
        assert_eq!(again[k], ids[i], "a returning customer stays the same lead");
    }
    (0..25)
        .map(|i| Seeded {
            id: ids[i].clone(),
            created: first_seen(i),
            active: if i % 4 == 1 {
                came_back(i)
            } else {
                first_seen(i)
            },
        })
        .collect()
}

fn expected_order(leads: &[Seeded], order: &str) -> Vec<String> {
    let mut sorted = leads.to_vec();
    match order {
        "LAST_ACTIVITY_DESC" => sorted.sort_by_key(|l| std::cmp::Reverse(l.active)),
        "CREATED_AT_DESC" => sorted.sort_by_key(|l| std::cmp::Reverse(l.created)),
        "CREATED_AT_ASC" => sorted.sort_by_key(|l| l.created),
        other => panic!("unknown order {other}"),
    }
    sorted.into_iter().map(|l| l.id).collect()
}

fn ids_of(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn leads_page(app: &TestApp, token: &str, variables: Value) -> Value {
    app.gql(Some(token), LEADS, variables).await.ok()["leads"].clone()
}

#[tokio::test]
async fn forward_paging_covers_every_lead_once_in_each_order() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let seeded = seed_25(&app, &t).await;

    for order in ["LAST_ACTIVITY_DESC", "CREATED_AT_DESC", "CREATED_AT_ASC"] {
        let expected = expected_order(&seeded, order);
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let page = leads_page(
                &app,
                &t.viewer,
                json!({ "first": 5, "after": after, "order": order }),
            )
            .await;
            pages += 1;
            let ids = ids_of(&page);
            assert_eq!(ids.len(), 5, "{order}: page {pages}");
            assert_eq!(page["totalCount"], 25);
            let info = &page["pageInfo"];
            assert_eq!(info["hasPreviousPage"], pages > 1, "{order}: page {pages}");
            assert_eq!(info["startCursor"], page["edges"][0]["cursor"]);
            assert_eq!(info["endCursor"], page["edges"][4]["cursor"]);
            seen.extend(ids);
            if info["hasNextPage"] == false {
                break;
            }
            assert!(pages < 10, "{order}: paging does not end");
            after = info["endCursor"].clone();
        }
        assert_eq!(pages, 5, "{order}");
        assert_eq!(seen, expected, "{order}: every lead exactly once, in order");
    }
    // The default order is the most recently active first.
    let default = app
        .gql(
            Some(&t.viewer),
            "{ leads(first: 25) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ids_of(&default.ok()["leads"]),
        expected_order(&seeded, "LAST_ACTIVITY_DESC")
    );
}

#[tokio::test]
async fn backward_paging_returns_the_same_pages_in_reverse() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let seeded = seed_25(&app, &t).await;

    for order in ["LAST_ACTIVITY_DESC", "CREATED_AT_DESC", "CREATED_AT_ASC"] {
        let expected = expected_order(&seeded, order);
        let forward: Vec<Vec<String>> = expected.chunks(5).map(<[String]>::to_vec).collect();
        let mut backward = Vec::new();
        let mut before = Value::Null;
        loop {
            let page = leads_page(
                &app,
                &t.viewer,
                json!({ "last": 5, "before": before, "order": order }),
            )
            .await;
            let info = &page["pageInfo"];
            assert_eq!(
                info["hasNextPage"],
                !backward.is_empty(),
                "{order}: only the first backward page (the end of the list) has nothing after it"
            );
            backward.push(ids_of(&page));
            if info["hasPreviousPage"] == false {
                break;
            }
            assert!(backward.len() < 10, "{order}: paging does not end");
            before = info["startCursor"].clone();
        }
        backward.reverse();
        assert_eq!(backward, forward, "{order}");
    }

    // Walking back from the middle: `before` the cursor of row 10 gives rows 5..10 in order.
    let order = "CREATED_AT_ASC";
    let expected = expected_order(&seeded, order);
    let all = leads_page(&app, &t.viewer, json!({ "first": 25, "order": order })).await;
    let cursor = all["edges"][10]["cursor"].clone();
    let page = leads_page(
        &app,
        &t.viewer,
        json!({ "last": 5, "before": cursor, "order": order }),
    )
    .await;
    assert_eq!(ids_of(&page), expected[5..10].to_vec());
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let page = leads_page(
        &app,
        &t.viewer,
        json!({ "first": 5, "after": cursor, "order": order }),
    )
    .await;
    assert_eq!(ids_of(&page), expected[11..16].to_vec());
}

#[tokio::test]
async fn page_info_is_right_at_both_ends_and_sizes_default_and_clip() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let seeded = seed_25(&app, &t).await;
    let expected = expected_order(&seeded, "LAST_ACTIVITY_DESC");

    // No size: 20 rows.
    let page = leads_page(&app, &t.viewer, json!({})).await;
    assert_eq!(ids_of(&page), expected[..20].to_vec());
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);

    // One page holding everything: nothing before, nothing after.
    let page = leads_page(&app, &t.viewer, json!({ "first": 100 })).await;
    assert_eq!(ids_of(&page), expected);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
    let page = leads_page(&app, &t.viewer, json!({ "last": 100 })).await;
    assert_eq!(ids_of(&page), expected);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);

    // Exactly the remaining rows: no next page.
    let first = leads_page(&app, &t.viewer, json!({ "first": 20 })).await;
    let rest = leads_page(
        &app,
        &t.viewer,
        json!({ "first": 5, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(ids_of(&rest), expected[20..].to_vec());
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);
    // After the last row: an empty page without cursors.
    let past = leads_page(
        &app,
        &t.viewer,
        json!({ "first": 5, "after": rest["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(past["edges"], json!([]));
    assert_eq!(past["pageInfo"]["hasNextPage"], false);
    assert_eq!(past["pageInfo"]["startCursor"], Value::Null);
    assert_eq!(past["pageInfo"]["endCursor"], Value::Null);
    assert_eq!(past["totalCount"], 25);

    // `first: 0` is a valid, empty page that still knows rows follow.
    let zero = leads_page(&app, &t.viewer, json!({ "first": 0 })).await;
    assert_eq!(zero["edges"], json!([]));
    assert_eq!(zero["pageInfo"]["hasNextPage"], true);
    assert_eq!(zero["totalCount"], 25);

    // An empty tenant: an empty page with both flags false.
    let other = app.tenant("Empty").await;
    let empty = leads_page(&app, &other.viewer, json!({ "first": 10 })).await;
    assert_eq!(empty["edges"], json!([]));
    assert_eq!(empty["totalCount"], 0);
    assert_eq!(empty["pageInfo"]["hasNextPage"], false);
    assert_eq!(empty["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn page_sizes_and_cursors_are_validated() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed_25(&app, &t).await;

    for (variables, field, words) in [
        (json!({ "first": 101 }), "first", "between 0 and 100"),
        (json!({ "first": 10000 }), "first", "between 0 and 100"),
        (json!({ "first": -1 }), "first", "between 0 and 100"),
        (json!({ "last": 101 }), "last", "between 0 and 100"),
        (json!({ "after": "garbage" }), "after", "cursor"),
        (
            json!({ "first": 5, "after": "djF8MTIzfG5vdC1hLXV1aWQ" }),
            "after",
            "cursor",
        ),
        (
            json!({ "last": 5, "before": "%%%not-base64%%%" }),
            "before",
            "cursor",
        ),
    ] {
        let response = app.gql(Some(&t.viewer), LEADS, variables.clone()).await;
        let message = response.expect_error("BAD_USER_INPUT");
        assert_eq!(response.field(), Some(field), "{variables}");
        assert!(
            message.contains(words),
            "{variables}: `{message}` should say `{words}`"
        );
        assert_eq!(response.data()["leads"], Value::Null);
    }

    let both = app
        .gql(Some(&t.viewer), LEADS, json!({ "first": 5, "last": 5 }))
        .await;
    let message = both.expect_error("BAD_USER_INPUT").to_owned();
    assert!(
        matches!(both.field(), Some("first" | "last")),
        "first+last should name one of them: {:?}",
        both.field()
    );
    assert!(
        message.contains("first") && message.contains("last"),
        "{message}"
    );
}

/// Leads for the filter tests, made by staff and by conversations.
async fn seed_for_filters(
    app: &TestApp,
    t: &TestTenant,
) -> std::collections::HashMap<&'static str, String> {
    let mut ids = std::collections::HashMap::new();
    let create = r#"mutation($input: LeadInput!) { createLead(input: $input) { id } }"#;
    for (key, input) in [
        (
            "dana",
            json!({ "displayName": "Dana Cohen", "phone": "+1 650-253-0000", "email": "Dana.Cohen@Example.com" }),
        ),
        ("percent", json!({ "displayName": "100% Organic" })),
        ("hundred", json!({ "displayName": "1000 Percent Real" })),
        ("underscore", json!({ "displayName": "Under_Score Ltd" })),
        ("underx", json!({ "displayName": "UnderXScore Ltd" })),
        ("backslash", json!({ "displayName": r"Back\Slash Inc" })),
    ] {
        let response = app
            .gql(Some(&t.agent), create, json!({ "input": input }))
            .await;
        ids.insert(
            key,
            response.ok()["createLead"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let now = app.state.now();
    for (key, input) in [
        (
            "wanda",
            json!({ "channel": "WHATSAPP", "phone": "+1 212 736 5000", "displayName": "Wanda Whatsapp",
                     "content": "hello", "occurredAt": rfc3339(now - Duration::days(3)) }),
        ),
        (
            "carl",
            json!({ "channel": "CALL", "externalUserId": "+1 202 456 1111", "displayName": "Carl Caller",
                     "content": "hi, calling about prices", "occurredAt": rfc3339(now - Duration::hours(2)) }),
        ),
        (
            "bea",
            json!({ "channel": "WHATSAPP", "phone": "+44 20 7183 8750", "displayName": "Bea Both",
                     "content": "hello there", "occurredAt": rfc3339(now - Duration::hours(30)) }),
        ),
    ] {
        let recorded = record(app, &t.agent, input).await;
        ids.insert(key, recorded["lead"]["id"].as_str().unwrap().to_owned());
    }
    // Bea calls from the same number: the same lead, now on two channels.
    let call = record(
        app,
        &t.agent,
        json!({ "channel": "CALL", "externalUserId": "+44 20 7183 8750", "content": "calling back",
                 "occurredAt": rfc3339(now - Duration::hours(1)) }),
    )
    .await;
    assert_eq!(call["lead"]["id"], ids["bea"].as_str());
    ids
}

async fn filtered(app: &TestApp, token: &str, filter: Value) -> (Vec<String>, i64) {
    let page = leads_page(app, token, json!({ "first": 100, "filter": filter })).await;
    let mut ids = ids_of(&page);
    ids.sort();
    (ids, page["totalCount"].as_i64().unwrap())
}

fn sorted(ids: &std::collections::HashMap<&'static str, String>, keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| ids[k].clone()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn search_is_a_case_insensitive_literal_substring_of_name_phone_or_email() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let ids = seed_for_filters(&app, &t).await;

    for (search, expected) in [
        ("dana", vec!["dana"]),
        ("DANA COH", vec!["dana"]),
        ("  cohen  ", vec!["dana"]),
        ("COHEN@EXAMPLE.COM", vec!["dana"]),
        ("6502530", vec!["dana"]),
        ("+1650", vec!["dana"]),
        ("%", vec!["percent"]),
        ("100%", vec!["percent"]),
        ("0% o", vec!["percent"]),
        ("_", vec!["underscore"]),
        ("r_s", vec!["underscore"]),
        (r"\", vec!["backslash"]),
        (r"k\s", vec!["backslash"]),
        ("ltd", vec!["underscore", "underx"]),
        ("whatsapp", vec!["wanda"]),
        ("no such customer", vec![]),
    ] {
        let (found, total) = filtered(&app, &t.viewer, json!({ "search": search })).await;
        assert_eq!(found, sorted(&ids, &expected), "search `{search}`");
        assert_eq!(
            total,
            expected.len() as i64,
            "search `{search}`: totalCount"
        );
    }
    // Blank search is no filter; an over-long one is refused.
    let (all, total) = filtered(&app, &t.viewer, json!({ "search": "   " })).await;
    assert_eq!((all.len(), total), (ids.len(), ids.len() as i64));
    let long = app
        .gql(
            Some(&t.viewer),
            LEADS,
            json!({ "filter": { "search": "x".repeat(201) } }),
        )
        .await;
    long.expect_error("BAD_USER_INPUT");
    assert_eq!(long.field(), Some("filter.search"));
}

#[tokio::test]
async fn channel_active_since_and_summary_filters_narrow_the_list_and_its_count() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let ids = seed_for_filters(&app, &t).await;
    let now = app.state.now();

    let (found, total) = filtered(&app, &t.viewer, json!({ "channel": "WHATSAPP" })).await;
    assert_eq!(found, sorted(&ids, &["wanda", "bea"]));
    assert_eq!(total, 2);
    let (found, total) = filtered(&app, &t.viewer, json!({ "channel": "CALL" })).await;
    assert_eq!(found, sorted(&ids, &["carl", "bea"]));
    assert_eq!(total, 2);
    let (found, total) = filtered(&app, &t.viewer, json!({ "channel": "SMS" })).await;
    assert_eq!((found.len(), total), (0, 0));

    // Active since: Carl (2 h ago) and Bea (1 h ago); Wanda was 3 days ago; staff-made leads
    // never talked.
    let since = rfc3339(now - Duration::hours(6));
    let (found, total) = filtered(&app, &t.viewer, json!({ "activeSince": since })).await;
    assert_eq!(found, sorted(&ids, &["carl", "bea"]));
    assert_eq!(total, 2);
    // The bound is inclusive.
    let exactly = rfc3339(now - Duration::hours(2));
    let (found, _) = filtered(&app, &t.viewer, json!({ "activeSince": exactly })).await;
    assert_eq!(found, sorted(&ids, &["carl", "bea"]));
    // Conditions combine.
    let (found, total) = filtered(
        &app,
        &t.viewer,
        json!({ "activeSince": since, "channel": "WHATSAPP" }),
    )
    .await;
    assert_eq!(found, sorted(&ids, &["bea"]));
    assert_eq!(total, 1);
    let (found, total) = filtered(
        &app,
        &t.viewer,
        json!({ "channel": "CALL", "search": "carl" }),
    )
    .await;
    assert_eq!(found, sorted(&ids, &["carl"]));
    assert_eq!(total, 1);

    // Nobody has a summary yet.
    let (found, total) = filtered(&app, &t.viewer, json!({ "hasSummary": false })).await;
    assert_eq!(found.len(), ids.len());
    assert_eq!(total, ids.len() as i64);
    let (found, total) = filtered(&app, &t.viewer, json!({ "hasSummary": true })).await;
    assert_eq!((found.len(), total), (0, 0));

    // Once Wanda's conversation is summarized she moves from one side to the other.
    {
        use memodesk::entities::lead;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let wanda = uuid::Uuid::parse_str(&ids["wanda"]).unwrap();
        lead::Entity::update_many()
            .col_expr(
                lead::Column::LastSummary,
                Expr::value("Asked about flights to Rome."),
            )
            .col_expr(lead::Column::SummaryUpdatedAt, Expr::value(now))
            .filter(lead::Column::TenantId.eq(t.id))
            .filter(lead::Column::Id.eq(wanda))
            .exec(app.state.db.writer())
            .await
            .unwrap();
    }
    let (found, total) = filtered(&app, &t.viewer, json!({ "hasSummary": true })).await;
    assert_eq!(found, sorted(&ids, &["wanda"]));
    assert_eq!(total, 1);
    let (found, total) = filtered(&app, &t.viewer, json!({ "hasSummary": false })).await;
    assert_eq!(found.len(), ids.len() - 1);
    assert_eq!(total, ids.len() as i64 - 1);
    assert!(!found.contains(&ids["wanda"]));
}

#[tokio::test]
async fn filtered_pages_walk_only_the_matching_leads() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let seeded = seed_25(&app, &t).await;
    // WHATSAPP leads are i % 3 == 0: 9 of them.
    let whatsapp: Vec<Seeded> = seeded
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, l)| l.clone())
        .collect();
    let expected = expected_order(&whatsapp, "CREATED_AT_DESC");
    let filter = json!({ "channel": "WHATSAPP" });
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = leads_page(
            &app,
            &t.viewer,
            json!({ "first": 4, "after": after, "filter": filter, "order": "CREATED_AT_DESC" }),
        )
        .await;
        assert_eq!(page["totalCount"], 9);
        seen.extend(ids_of(&page));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
        assert!(seen.len() <= 9);
    }
    assert_eq!(seen, expected);
    let (_, calls) = filtered(&app, &t.viewer, json!({ "channel": "CALL" })).await;
    let (_, web) = filtered(&app, &t.viewer, json!({ "channel": "WEB" })).await;
    assert_eq!((calls, web), (8, 8));
}

#[tokio::test]
async fn a_lead_shows_its_identities_profile_sessions_last_session_and_notes() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let created = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { displayName: "Dana Cohen", phone: "+1 415-555-2671", email: "dana@example.com" }) {
                id displayName primaryPhone email messageCount sessionCount lastSession { id } } }"#,
            json!({}),
        )
        .await;
    let lead = created.ok()["createLead"].clone();
    let id = lead["id"].as_str().unwrap().to_owned();
    assert_eq!(lead["displayName"], "Dana Cohen");
    assert_eq!(lead["primaryPhone"], "+14155552671");
    assert_eq!(lead["email"], "dana@example.com");
    assert_eq!(lead["messageCount"], 0);
    assert_eq!(lead["lastSession"], Value::Null);

    let whatsapp = record(
        &app,
        &t.agent,
        json!({ "channel": "WHATSAPP", "phone": "+14155552671", "content": "Hi, flights to Rome?" }),
    )
    .await;
    assert_eq!(whatsapp["lead"]["id"], id.as_str());
    app.clock.advance(Duration::hours(2));
    let call = record(
        &app,
        &t.agent,
        json!({ "channel": "CALL", "externalUserId": "+1 (415) 555-2671", "content": "Calling about Rome" }),
    )
    .await;
    assert_eq!(call["lead"]["id"], id.as_str());
    let add_note = r#"mutation($lead: ID!, $body: String!) { addNote(input: { leadId: $lead, body: $body }) { id } }"#;
    app.gql(
        Some(&t.agent),
        add_note,
        json!({ "lead": id, "body": "older note" }),
    )
    .await
    .ok();
    app.clock.advance(Duration::minutes(1));
    app.gql(
        Some(&t.agent),
        add_note,
        json!({ "lead": id, "body": "newer note" }),
    )
    .await
    .ok();

    let response = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { lead(id: $id) {
                id displayName primaryPhone email messageCount sessionCount lastChannel
                identities { kind value channel }
                profile { key value source locked }
                sessions(first: 10) { totalCount edges { node { id channel } } pageInfo { hasNextPage } }
                lastSession { id channel }
                notes { body }
            } }"#,
            json!({ "id": id }),
        )
        .await;
    let lead = &response.ok()["lead"];
    assert_eq!(lead["messageCount"], 2);
    assert_eq!(lead["sessionCount"], 2);
    assert_eq!(lead["lastChannel"], "CALL");
    let identities: Vec<(String, String)> = lead["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        identities.contains(&("PHONE".into(), "+14155552671".into())),
        "{identities:?}"
    );
    assert!(
        identities.contains(&("EMAIL".into(), "dana@example.com".into())),
        "{identities:?}"
    );
    let profile = lead["profile"].as_array().unwrap();
    for (key, value) in [
        ("name", "Dana Cohen"),
        ("phone", "+14155552671"),
        ("email", "dana@example.com"),
    ] {
        let field = profile
            .iter()
            .find(|f| f["key"] == key)
            .unwrap_or_else(|| panic!("profile lacks {key}: {profile:?}"));
        assert_eq!(field["value"], value);
        assert_eq!(field["source"], "MANUAL");
        assert_eq!(field["locked"], true);
    }
    let sessions = &lead["sessions"];
    assert_eq!(sessions["totalCount"], 2);
    assert_eq!(
        sessions["edges"][0]["node"]["id"], call["session"]["id"],
        "newest first"
    );
    assert_eq!(
        sessions["edges"][1]["node"]["id"],
        whatsapp["session"]["id"]
    );
    assert_eq!(sessions["pageInfo"]["hasNextPage"], false);
    assert_eq!(lead["lastSession"]["id"], call["session"]["id"]);
    assert_eq!(lead["lastSession"]["channel"], "CALL");
    assert_eq!(
        lead["notes"],
        json!([{ "body": "newer note" }, { "body": "older note" }])
    );

    // Sessions page like any connection.
    let first = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!, $after: String) { lead(id: $id) { sessions(first: 1, after: $after) {
                edges { node { id } } pageInfo { hasNextPage endCursor } } } }"#,
            json!({ "id": id }),
        )
        .await;
    let first = first.ok()["lead"]["sessions"].clone();
    assert_eq!(first["edges"][0]["node"]["id"], call["session"]["id"]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let second = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!, $after: String) { lead(id: $id) { sessions(first: 1, after: $after) {
                edges { node { id } } pageInfo { hasNextPage } } } }"#,
            json!({ "id": id, "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    let second = &second.ok()["lead"]["sessions"];
    assert_eq!(second["edges"][0]["node"]["id"], whatsapp["session"]["id"]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);

    // An unknown id is NOT_FOUND.
    app.gql(
        Some(&t.viewer),
        "query($id: ID!) { lead(id: $id) { id } }",
        json!({ "id": uuid::Uuid::now_v7() }),
    )
    .await
    .expect_error("NOT_FOUND");
}

#[tokio::test]
async fn lead_by_phone_finds_the_same_lead_whatever_the_format() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let created = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { displayName: "Dana", phone: "+1 415-555-2671" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created.ok()["createLead"]["id"].clone();
    let by_phone = "query($phone: String!) { leadByPhone(phone: $phone) { id primaryPhone } }";
    for format in [
        "+1 415-555-2671",
        "(415) 555-2671",
        "+14155552671",
        "415.555.2671",
        "1-415-555-2671",
        " +1 (415) 555 2671 ",
        "4155552671",
    ] {
        let response = app
            .gql(Some(&t.viewer), by_phone, json!({ "phone": format }))
            .await;
        assert_eq!(response.ok()["leadByPhone"]["id"], id, "format `{format}`");
        assert_eq!(response.ok()["leadByPhone"]["primaryPhone"], "+14155552671");
    }
    let unknown = app
        .gql(
            Some(&t.viewer),
            by_phone,
            json!({ "phone": "+1 212 736 5000" }),
        )
        .await;
    assert_eq!(unknown.expect_error("NOT_FOUND"), "lead not found");
    let bad = app
        .gql(Some(&t.viewer), by_phone, json!({ "phone": "12ab" }))
        .await;
    bad.expect_error("BAD_USER_INPUT");
    assert_eq!(bad.field(), Some("phone"));

    // With the tenant's region set to Israel, a national Israeli number finds its lead.
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let israeli = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { phone: "052-555-1234" }) { id primaryPhone } }"#,
            json!({}),
        )
        .await;
    assert_eq!(israeli.ok()["createLead"]["primaryPhone"], "+972525551234");
    for format in ["0525551234", "+972 52-555-1234", "052 555 1234"] {
        let response = app
            .gql(Some(&t.viewer), by_phone, json!({ "phone": format }))
            .await;
        assert_eq!(
            response.ok()["leadByPhone"]["id"],
            israeli.ok()["createLead"]["id"],
            "format `{format}`"
        );
    }
}

#[tokio::test]
async fn update_lead_writes_staff_held_name_phone_and_email() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let created = app
        .gql(
            Some(&t.agent),
            r#"mutation { createLead(input: { displayName: "Dana", phone: "+1 415-555-2671", email: "dana@old.test" }) { id updatedAt } }"#,
            json!({}),
        )
        .await;
    let id = created.ok()["createLead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::minutes(5));

    let update = r#"mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) {
        id displayName primaryPhone email updatedAt
        profile { key value source locked previousValue updatedBy } } }"#;
    let response = app
        .gql(
            Some(&t.agent),
            update,
            json!({ "id": id, "input": { "displayName": "  Dana   Levi ", "phone": "(212) 736-5000", "email": "Dana@New.Test" } }),
        )
        .await;
    let lead = &response.ok()["updateLead"];
    assert_eq!(lead["id"], id.as_str());
    assert_eq!(lead["displayName"], "Dana Levi");
    assert_eq!(lead["primaryPhone"], "+12127365000");
    assert_eq!(lead["email"], "dana@new.test");
    assert_ne!(lead["updatedAt"], created.ok()["createLead"]["updatedAt"]);
    for (key, value, previous) in [
        ("name", "Dana Levi", "Dana"),
        ("phone", "+12127365000", "+14155552671"),
        ("email", "dana@new.test", "dana@old.test"),
    ] {
        let field = lead["profile"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"));
        assert_eq!(field["value"], value, "{key}");
        assert_eq!(field["source"], "MANUAL", "{key}");
        assert_eq!(field["locked"], true, "{key}");
        assert_eq!(field["previousValue"], previous, "{key}");
        assert_eq!(field["updatedBy"], "service:test", "{key}");
    }
    // The new number finds the lead.
    let found = app
        .gql(
            Some(&t.viewer),
            r#"{ leadByPhone(phone: "+1 212 736 5000") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(found.ok()["leadByPhone"]["id"], id.as_str());
    // History: one MANUAL, APPLIED entry per changed key.
    let history = app
        .gql(
            Some(&t.viewer),
            r#"query($id: ID!) { profileHistory(leadId: $id, key: "email") { oldValue newValue source outcome } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        history.ok()["profileHistory"][0],
        json!({ "oldValue": "dana@old.test", "newValue": "dana@new.test", "source": "MANUAL", "outcome": "APPLIED" })
    );

    // Only the given fields change.
    let response = app
        .gql(
            Some(&t.agent),
            update,
            json!({ "id": id, "input": { "displayName": "Dana L." } }),
        )
        .await;
    assert_eq!(response.ok()["updateLead"]["displayName"], "Dana L.");
    assert_eq!(response.ok()["updateLead"]["email"], "dana@new.test");
    // Nothing to change, or a bad value: refused, nothing written.
    let empty = app
        .gql(Some(&t.agent), update, json!({ "id": id, "input": {} }))
        .await;
    empty.expect_error("BAD_USER_INPUT");
    assert_eq!(empty.field(), Some("input"));
    let bad = app
        .gql(
            Some(&t.agent),
            update,
            json!({ "id": id, "input": { "displayName": "Bad", "email": "nope" } }),
        )
        .await;
    bad.expect_error("BAD_USER_INPUT");
    assert_eq!(bad.field(), Some("input.email"));
    let lead = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { lead(id: $id) { displayName } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(lead.ok()["lead"]["displayName"], "Dana L.");
    // Viewers may not edit.
    app.gql(
        Some(&t.viewer),
        update,
        json!({ "id": id, "input": { "displayName": "V" } }),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn creating_a_lead_with_a_taken_phone_or_email_is_a_conflict_that_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation($input: LeadInput!) { createLead(input: $input) { id } }"#;
    app.gql(
        Some(&t.agent),
        create,
        json!({ "input": { "displayName": "Dana", "phone": "+1 415-555-2671", "email": "dana@example.com" } }),
    )
    .await
    .ok();
    let count = "{ leads { totalCount } }";

    for (input, field) in [
        (
            json!({ "displayName": "Impostor", "phone": "(415) 555-2671" }),
            "input.phone",
        ),
        (
            json!({ "displayName": "Impostor", "phone": "+14155552671", "email": "other@example.com" }),
            "input.phone",
        ),
        (
            json!({ "displayName": "Impostor", "email": "DANA@Example.com" }),
            "input.email",
        ),
    ] {
        let response = app
            .gql(Some(&t.agent), create, json!({ "input": input }))
            .await;
        let message = response.expect_error("CONFLICT").to_owned();
        assert!(message.contains(field), "`{message}` should name {field}");
        assert_eq!(response.data()["createLead"], Value::Null);
    }
    let total = app.gql(Some(&t.viewer), count, json!({})).await;
    assert_eq!(total.ok()["leads"]["totalCount"], 1);
    let impostors = app
        .gql(
            Some(&t.viewer),
            r#"{ leads(filter: { search: "impostor" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(impostors.ok()["leads"]["totalCount"], 0);
    let other = app
        .gql(
            Some(&t.viewer),
            r#"{ leads(filter: { search: "other@example.com" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        other.ok()["leads"]["totalCount"],
        0,
        "the email of a refused lead must not be kept"
    );
    // The same number in another tenant is fine.
    let b = app.tenant("Other").await;
    app.gql(
        Some(&b.agent),
        create,
        json!({ "input": { "phone": "+14155552671" } }),
    )
    .await
    .ok();
}

#[tokio::test]
async fn lead_pages_load_relations_with_a_constant_number_of_statements() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let now = app.state.now();
    let inputs: Vec<Value> = (0..100)
        .map(|i| {
            json!({
                "channel": "WEB", "externalUserId": format!("visitor-{i:03}"),
                "email": format!("visitor{i:03}@example.com"), "content": "Hello!",
                "occurredAt": rfc3339(now - Duration::minutes(200 - i))
            })
        })
        .collect();
    record_batch(&app, &t.agent, inputs).await;

    let query = r#"query($first: Int!) { leads(first: $first) { edges { node {
        id lastSession { id channel } identities { kind value } } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let before = app.statements();
        let response = app
            .gql(Some(&t.viewer), query, json!({ "first": first }))
            .await;
        let cost = app.statements() - before;
        let edges = response.ok()["leads"]["edges"].as_array().unwrap().clone();
        assert_eq!(edges.len(), first);
        for edge in &edges {
            let node = &edge["node"];
            assert_eq!(node["lastSession"]["channel"], "WEB", "{node}");
            let values: Vec<&str> = node["identities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["value"].as_str().unwrap())
                .collect();
            assert_eq!(values.len(), 2, "{node}");
            assert!(values.iter().any(|v| v.starts_with("visitor-")), "{node}");
        }
        costs.push(cost);
    }
    // An N+1 would cost 100+ statements for the big page. Not exactly equal: the DataLoaders
    // batch the keys that arrive within their short window, so a slow moment may split a
    // batch in two; the cost still does not grow with the page.
    for (first, cost) in [10, 100].iter().zip(&costs) {
        assert!(
            *cost <= 10,
            "a page of {first} leads took {cost} statements ({costs:?})"
        );
    }
}

#[tokio::test]
async fn search_ignores_case_in_accented_and_non_latin_names() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation($input: LeadInput!) { createLead(input: $input) { id } }"#;
    let mut ids = Vec::new();
    for name in ["Élodie Durand", "Øystein Ås", "Ирина Петрова"] {
        let response = app
            .gql(
                Some(&t.agent),
                create,
                json!({ "input": { "displayName": name } }),
            )
            .await;
        ids.push(
            response.ok()["createLead"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for (search, lead) in [
        ("Élodie", 0),
        ("élodie", 0),
        ("ÉLODIE DURAND", 0),
        ("øystein", 1),
        ("ØYSTEIN ÅS", 1),
        ("Ирина", 2),
        ("ирина", 2),
        ("ПЕТРОВА", 2),
    ] {
        let (found, total) = filtered(&app, &t.viewer, json!({ "search": search })).await;
        assert_eq!(found, vec![ids[lead].clone()], "search `{search}`");
        assert_eq!(total, 1, "search `{search}`");
    }
}

#[tokio::test]
async fn first_with_before_never_returns_more_than_first() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    seed_25(&app, &t).await;
    let all = leads_page(&app, &t.viewer, json!({ "first": 25 })).await;
    let cursor = all["edges"][24]["cursor"].clone();

    // Relay allows `first` with `before`; either honour `first` or refuse the combination,
    // but never silently page by another size.
    let response = app
        .gql(
            Some(&t.viewer),
            LEADS,
            json!({ "first": 5, "before": cursor }),
        )
        .await;
    match response.code() {
        Some("BAD_USER_INPUT") => {
            assert!(
                matches!(response.field(), Some("first" | "before")),
                "{}",
                response.body
            );
        }
        _ => {
            let rows = ids_of(&response.ok()["leads"]).len();
            assert!(rows <= 5, "asked for first: 5, got {rows} rows");
        }
    }
}

#[tokio::test]
async fn update_lead_cannot_take_another_leads_phone_or_email() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let create = r#"mutation($input: LeadInput!) { createLead(input: $input) { id } }"#;
    let dana = app
        .gql(Some(&t.agent), create, json!({ "input": { "displayName": "Dana", "phone": "+1 415-555-2671", "email": "dana@example.com" } }))
        .await;
    let dana = dana.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    let noa = app
        .gql(
            Some(&t.agent),
            create,
            json!({ "input": { "displayName": "Noa", "phone": "+1 212 736 5000" } }),
        )
        .await;
    let noa = noa.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    let read = r#"query($id: ID!) { lead(id: $id) { primaryPhone email updatedAt profile { key value } } }"#;
    let before = app
        .gql(Some(&t.viewer), read, json!({ "id": noa }))
        .await
        .ok()
        .clone();

    let update = r#"mutation($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { id primaryPhone email } }"#;
    for (input, field) in [
        (json!({ "phone": "(415) 555-2671" }), "input.phone"),
        (json!({ "email": "DANA@example.com" }), "input.email"),
    ] {
        let response = app
            .gql(Some(&t.agent), update, json!({ "id": noa, "input": input }))
            .await;
        // createLead refuses the same values with CONFLICT; editing must not create a second
        // lead with Dana's number or address either.
        let message = response.expect_error("CONFLICT").to_owned();
        assert!(message.contains(field), "`{message}` should name {field}");
    }
    let after = app
        .gql(Some(&t.viewer), read, json!({ "id": noa }))
        .await
        .ok()
        .clone();
    assert_eq!(before, after, "Noa is unchanged");
    let by_phone = app
        .gql(
            Some(&t.viewer),
            r#"{ leadByPhone(phone: "+14155552671") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(by_phone.ok()["leadByPhone"]["id"], dana.as_str());
}

/// Every id of a list, paged `step` at a time forward (`first`/`after`) or backward
/// (`last`/`before`) through `field` of `query`'s data.
async fn page_through(
    app: &TestApp,
    token: &str,
    query: &str,
    vars: Value,
    pick: impl Fn(&Value) -> Value,
    backward: bool,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    for _ in 0..200 {
        let mut v = vars.clone();
        if backward {
            v["last"] = json!(7);
            v["before"] = cursor.clone();
        } else {
            v["first"] = json!(7);
            v["after"] = cursor.clone();
        }
        let data = app.gql(Some(token), query, v).await.ok().clone();
        let connection = pick(&data);
        let edges = connection["edges"].as_array().unwrap();
        let mut page: Vec<String> = edges
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect();
        if backward {
            page.reverse();
        }
        ids.extend(page);
        let info = &connection["pageInfo"];
        let (more, next) = if backward {
            (info["hasPreviousPage"] == true, info["startCursor"].clone())
        } else {
            (info["hasNextPage"] == true, info["endCursor"].clone())
        };
        if !more {
            return ids;
        }
        cursor = next;
    }
    panic!("paging never ended: {} ids so far", ids.len());
}

fn assert_each_once(mut ids: Vec<String>, expected: usize, what: &str) {
    assert_eq!(ids.len(), expected, "{what}: rows seen (repeats included)");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "{what}: distinct rows seen");
}

/// 200 leads and 200 messages recorded in the same instant (to the nanosecond, as SQLite keeps
/// it): paging through them in every order and both directions finds each exactly once, and
/// paging ends.
#[tokio::test]
async fn paging_through_rows_that_share_a_time_finds_each_exactly_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    app.clock.advance(Duration::nanoseconds(123_456_789));
    for batch in 0..2 {
        let inputs: Vec<Value> = (0..100)
            .map(|i| json!({ "channel": "WEB", "externalUserId": format!("c{batch}-{i}"), "content": "hi" }))
            .collect();
        record_batch(&app, &t.agent, inputs).await;
        let same: Vec<Value> = (0..100)
            .map(|i| json!({ "channel": "SMS", "externalUserId": "+14155552671", "content": format!("m{batch}-{i}") }))
            .collect();
        record_batch(&app, &t.agent, same).await;
    }
    let leads = |d: &Value| d["leads"].clone();
    for order in ["LAST_ACTIVITY_DESC", "CREATED_AT_DESC", "CREATED_AT_ASC"] {
        for backward in [false, true] {
            let filter = json!({ "order": order, "filter": { "channel": "WEB" } });
            let ids = page_through(&app, &t.viewer, LEADS, filter, leads, backward).await;
            assert_each_once(ids, 200, &format!("leads {order}, backward: {backward}"));
        }
    }
    let session = app
        .gql(
            Some(&t.viewer),
            r#"{ leadByPhone(phone: "+14155552671") { lastSession { id } } }"#,
            json!({}),
        )
        .await
        .ok()["leadByPhone"]["lastSession"]["id"]
        .clone();
    const MESSAGES: &str = r#"query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $order: MessageOrder!) {
      session(id: $id) { messages(first: $first, after: $after, last: $last, before: $before, order: $order) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } } }"#;
    let messages = |d: &Value| d["session"]["messages"].clone();
    for order in ["OLDEST_FIRST", "NEWEST_FIRST"] {
        for backward in [false, true] {
            let vars = json!({ "id": session, "order": order });
            let ids = page_through(&app, &t.viewer, MESSAGES, vars, messages, backward).await;
            assert_each_once(ids, 200, &format!("messages {order}, backward: {backward}"));
        }
    }
}
