//! Extraction that reads the dialogue: a customer's reply is read as the answer to the agent's
//! last question (names, phone numbers, what a renter looks for), order numbers are never
//! phones, corrections win, staff values never change, and the summary adds what single
//! messages could not.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, record, set_profile_field, update_settings};

const PROFILE: &str = r#"query($id: ID!) { lead(id: $id) { profile { key value source } } }"#;

/// One conversation of one customer on the web chat.
struct Chat<'a> {
    app: &'a TestApp,
    tenant: &'a TestTenant,
    visitor: String,
    lead: Option<String>,
}

impl<'a> Chat<'a> {
    fn new(app: &'a TestApp, tenant: &'a TestTenant, visitor: &str) -> Self {
        Self {
            app,
            tenant,
            visitor: visitor.to_owned(),
            lead: None,
        }
    }

    async fn say(&mut self, role: &str, content: &str) {
        let recorded = record(
            self.app,
            &self.tenant.agent,
            json!({ "channel": "WEB", "externalUserId": self.visitor, "role": role,
                    "content": content }),
        )
        .await;
        self.lead = recorded["lead"]["id"].as_str().map(str::to_owned);
    }

    async fn agent(&mut self, content: &str) {
        self.say("AGENT", content).await;
    }

    async fn customer(&mut self, content: &str) {
        self.say("CUSTOMER", content).await;
    }

    fn lead(&self) -> &str {
        self.lead.as_deref().expect("a message was recorded")
    }

    /// The lead's profile as staff see it.
    async fn profile(&self) -> Profile {
        let response = self
            .app
            .gql(
                Some(&self.tenant.viewer),
                PROFILE,
                json!({ "id": self.lead() }),
            )
            .await;
        Profile(response.ok()["lead"]["profile"].clone())
    }
}

struct Profile(Value);

impl Profile {
    /// A field's value, or `None` when the field is not there.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .as_array()
            .and_then(|fields| fields.iter().find(|f| f["key"] == key))
            .and_then(|f| f["value"].as_str())
    }

    fn source(&self, key: &str) -> Option<&str> {
        self.0
            .as_array()
            .and_then(|fields| fields.iter().find(|f| f["key"] == key))
            .and_then(|f| f["source"].as_str())
    }
}

#[tokio::test]
async fn a_customer_who_answers_the_agents_name_question_is_known_by_that_name() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Brightkey Realty").await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.agent("Hi! Thanks for reaching out. May I have your full name?")
        .await;
    chat.customer("Crystal Minh").await;
    let profile = chat.profile().await;
    assert_eq!(profile.get("name"), Some("Crystal Minh"), "{:#}", profile.0);
    assert_eq!(profile.source("name"), Some("AI"));
}

#[tokio::test]
async fn digits_given_after_the_agent_asks_for_an_order_number_are_never_the_customers_phone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Lumen Home").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.agent("Hello, Lumen Home support. Can I get your order number?")
        .await;
    // A valid Israeli mobile number, written as an order number.
    chat.customer("0525551234").await;
    assert_eq!(chat.profile().await.get("phone"), None);
    chat.agent("Thanks. And a phone number we can reach you on?")
        .await;
    chat.customer("054-772-3190").await;
    assert_eq!(chat.profile().await.get("phone"), Some("+972547723190"));
}

#[tokio::test]
async fn a_number_without_a_phone_cue_is_not_taken_for_the_customers_phone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "US""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("my account is (312) 555-0148, the invoice is wrong")
        .await;
    assert_eq!(chat.profile().await.get("phone"), None);
    chat.customer("you can call me at (312) 555-0199").await;
    assert_eq!(chat.profile().await.get("phone"), Some("+13125550199"));
}

#[tokio::test]
async fn a_correction_replaces_the_name_the_customer_gave_before() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Harbour & Lane").await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.agent("Hello, Harbour & Lane lettings. What's your name please?")
        .await;
    chat.customer("Hi it's Sanya Azfal").await;
    assert_eq!(chat.profile().await.get("name"), Some("Sanya Azfal"));
    chat.agent("Thanks Sanya. What are you after?").await;
    chat.customer("Sorry, it's Sanya Afzal, autocorrect. Looking for a one bed flat")
        .await;
    assert_eq!(chat.profile().await.get("name"), Some("Sanya Afzal"));
}

#[tokio::test]
async fn labels_and_lower_case_introductions_give_the_full_name() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "US""#).await;
    let mut labelled = Chat::new(&app, &t, "visitor-1");
    labelled
        .customer("Name: Joseph Banter\nPhone: (312) 555-0148\nEmail: jbanter@outlook.com")
        .await;
    let profile = labelled.profile().await;
    assert_eq!(
        profile.get("name"),
        Some("Joseph Banter"),
        "{:#}",
        profile.0
    );
    assert_eq!(profile.get("phone"), Some("+13125550148"));
    assert_eq!(profile.get("email"), Some("jbanter@outlook.com"));
    let mut lower = Chat::new(&app, &t, "caller-2");
    lower
        .customer("uh yeah hi, my name is albert sanders and my customer id is 884213")
        .await;
    let profile = lower.profile().await;
    assert_eq!(
        profile.get("name"),
        Some("Albert Sanders"),
        "{:#}",
        profile.0
    );
    assert_eq!(profile.get("phone"), None);
}

#[tokio::test]
async fn what_a_renter_looks_for_is_recorded_budget_bedrooms_pets_and_move_in() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Brightkey Realty").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "US""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("a 2 bedroom in Austin, ideally close to downtown. I have a cat")
        .await;
    chat.agent("Got it. Any budget in mind?").await;
    chat.customer("up to 3.5k a month").await;
    chat.agent("And when would you like to move in?").await;
    chat.customer("June 1st if possible").await;
    let profile = chat.profile().await;
    assert_eq!(profile.get("bedrooms"), Some("2"), "{:#}", profile.0);
    assert_eq!(profile.get("pets"), Some("cat"));
    assert_eq!(profile.get("budget"), Some("3500 USD/month"));
    // Recorded today (the test clock's day); June 1st is the next one.
    let move_in = profile.get("move_in").expect("a move-in date");
    assert!(move_in.ends_with("-06-01"), "{move_in}");
}

#[tokio::test]
async fn a_hebrew_customer_answers_in_hebrew_and_the_values_stay_in_hebrew() {
    let app = TestApp::spawn().await;
    let t = app.tenant("נדל\"ן השרון").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.agent("היי, מה השם המלא שלך?").await;
    chat.customer("נועה כהן").await;
    chat.agent("נעים מאוד! מה את מחפשת?").await;
    chat.customer("דירת 3 חדרים, עד 7000 בחודש, עם מרפסת").await;
    chat.agent("יש חיות?").await;
    chat.customer("אין חיות").await;
    chat.agent("ומספר טלפון?").await;
    chat.customer("052-555-1234").await;
    let profile = chat.profile().await;
    assert_eq!(profile.get("name"), Some("נועה כהן"), "{:#}", profile.0);
    assert_eq!(profile.get("rooms"), Some("3"));
    assert_eq!(profile.get("bedrooms"), Some("2"));
    assert_eq!(profile.get("budget"), Some("7000 ILS/month"));
    assert_eq!(profile.get("pets"), Some("none"));
    assert_eq!(profile.get("phone"), Some("+972525551234"));
    assert_eq!(profile.get("preferences"), Some("מרפסת"));
}

#[tokio::test]
async fn a_value_staff_set_is_never_changed_by_what_the_customer_says() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("hello").await;
    set_profile_field(&app, &t.agent, chat.lead(), "name", "Rachel Greenberg")
        .await
        .ok();
    set_profile_field(&app, &t.agent, chat.lead(), "bedrooms", "2")
        .await
        .ok();
    chat.agent("What's your name?").await;
    chat.customer("Rae Green").await;
    chat.agent("How many bedrooms?").await;
    chat.customer("3 bedrooms now").await;
    let profile = chat.profile().await;
    assert_eq!(
        profile.get("name"),
        Some("Rachel Greenberg"),
        "{:#}",
        profile.0
    );
    assert_eq!(profile.source("name"), Some("MANUAL"));
    assert_eq!(profile.get("bedrooms"), Some("2"));
}

#[tokio::test]
async fn a_closed_conversation_adds_the_last_name_the_messages_alone_could_not() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Parkview Lofts").await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.agent("Hi, thanks for your interest! What's your name?")
        .await;
    chat.customer("Maya").await;
    chat.agent("Hi Maya! And your last name?").await;
    chat.customer("Delgado").await;
    assert_eq!(chat.profile().await.get("name"), Some("Maya"));
    app.clock.advance(Duration::hours(1));
    app.sweep(1).await;
    app.run_jobs(1).await;
    assert_eq!(chat.profile().await.get("name"), Some("Maya Delgado"));
}

#[tokio::test]
async fn a_question_in_one_customers_conversation_does_not_make_another_customers_digits_a_phone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    update_settings(&app, &other.admin, r#"defaultRegion: "IL""#).await;
    let mut asked = Chat::new(&app, &t, "visitor-1");
    asked.agent("What's your phone number?").await;
    // Another customer of the same business, and a customer of another business with the
    // same visitor id: neither was asked anything.
    let mut second = Chat::new(&app, &t, "visitor-2");
    second.customer("0525551234").await;
    let mut elsewhere = Chat::new(&app, &other, "visitor-1");
    elsewhere.customer("0525551234").await;
    assert_eq!(second.profile().await.get("phone"), None);
    assert_eq!(elsewhere.profile().await.get("phone"), None);
    asked.customer("0525551234").await;
    assert_eq!(asked.profile().await.get("phone"), Some("+972525551234"));
}

#[tokio::test]
async fn an_agent_who_asks_without_a_question_mark_or_just_asks_when_is_still_answered() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Shemesh Properties").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("hey, looking for a 4 room apartment in Haifa, with parking")
        .await;
    chat.agent("Sure. And when do you need it?").await;
    chat.customer("1/10").await;
    chat.agent("Name and phone please").await;
    chat.customer("Yael Friedman 050-555-8821").await;
    let profile = chat.profile().await;
    assert_eq!(
        profile.get("name"),
        Some("Yael Friedman"),
        "{:#}",
        profile.0
    );
    assert_eq!(profile.get("phone"), Some("+972505558821"));
    // Day first in Israel: the 1st of October.
    let move_in = profile.get("move_in").expect("a move-in date");
    assert!(move_in.ends_with("-10-01"), "{move_in}");

    // In Hebrew: "ומתי?" and a date in words; a name signed with its number.
    let mut chat = Chat::new(&app, &t, "visitor-2");
    chat.customer("מחפשים דירת 3 חדרים בגבעתיים").await;
    chat.agent("ומתי?").await;
    chat.customer("בתחילת החודש הבא").await;
    chat.agent("שם?").await;
    chat.customer("בועז פלד, 054-3390021").await;
    let profile = chat.profile().await;
    assert_eq!(profile.get("name"), Some("בועז פלד"), "{:#}", profile.0);
    assert_eq!(profile.get("phone"), Some("+972543390021"));
    assert!(
        profile.get("move_in").is_some_and(|m| m.len() == 7),
        "{:#}",
        profile.0
    );
}

#[tokio::test]
async fn an_appointment_time_is_not_a_move_in_date_and_an_order_number_after_a_name_is_not_a_phone()
{
    let app = TestApp::spawn().await;
    let t = app.tenant("Glow Salon").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "US""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("hi, can I book a cut?").await;
    chat.agent("Sure! When would you like to come in?").await;
    chat.customer("March 3rd").await;
    chat.agent("Name and order number for the voucher?").await;
    chat.customer("Laura Chen, 2145550147").await;
    let profile = chat.profile().await;
    assert_eq!(profile.get("name"), Some("Laura Chen"), "{:#}", profile.0);
    assert_eq!(profile.get("move_in"), None);
    assert_eq!(profile.get("phone"), None);
}

#[tokio::test]
async fn the_listing_a_customer_asks_about_is_remembered_and_labelled_in_their_language() {
    let app = TestApp::spawn().await;
    let t = app.tenant("נדל\"ן העיר").await;
    update_settings(&app, &t.admin, r#"defaultRegion: "IL", locale: "he""#).await;
    let mut chat = Chat::new(&app, &t, "visitor-1");
    chat.customer("שלום, ראיתי את המודעה של הדירה ברחוב הרצל ברחובות. היא עדיין פנויה?")
        .await;
    chat.agent("כן! מה התקציב?").await;
    chat.customer("עד 6000 לחודש, ועדיף עם מרפסת").await;
    let profile = chat.profile().await;
    assert_eq!(
        profile.get("property_of_interest"),
        Some("דירה ברחוב הרצל ברחובות"),
        "{:#}",
        profile.0
    );
    let response = app
        .gql(
            Some(&t.viewer),
            "query($id: ID!) { memoryContext(leadId: $id) { rendered { text } } }",
            json!({ "id": chat.lead() }),
        )
        .await;
    let text = response.ok()["memoryContext"]["rendered"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for label in [
        "- נכס מבוקש: דירה ברחוב הרצל ברחובות",
        "- תקציב: 6000 ILS/month",
    ] {
        assert!(text.contains(label), "missing {label:?} in\n{text}");
    }
    assert!(!text.contains("property_of_interest"), "{text}");

    // An English customer's listing, on an English-locale business.
    let en = app.tenant("Redwood Property").await;
    update_settings(&app, &en.admin, r#"defaultRegion: "US""#).await;
    let mut chat = Chat::new(&app, &en, "visitor-1");
    chat.customer("hey! saw the loft on Bedford Ave. is it still available?")
        .await;
    let profile = chat.profile().await;
    assert_eq!(
        profile.get("property_of_interest"),
        Some("loft on Bedford Ave")
    );
}
