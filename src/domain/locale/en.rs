//! English wording.

use chrono::{DateTime, Utc};

use super::{Ago, ContextWording, DatedStep, NextSteps, SummaryWording, Wording};

pub(super) static WORDING: Wording = Wording {
    roles: ["Customer", "Agent", "Staff", "System"],
    context: ContextWording {
        title: "Memory context",
        for_customer: "for",
        channel_label: "channel",
        profile: "Customer profile",
        returning: "Returning customer",
        opening: "suggested opening",
        last_conversation: "Last conversation",
        notes: "Staff notes",
        pinned: "[pinned]",
        by: "by",
        current_conversation: "Current conversation",
        relevant: "Relevant past moments",
        channels: ["WhatsApp", "phone call", "web chat", "SMS", "email"],
        sources: ["staff", "CRM import", "channel", "AI"],
        keys: [
            "Name",
            "Email",
            "Phone",
            "City",
            "Preferred currency",
            "Preferred language",
            "Interests",
            "Service interest",
            "Preferences",
            "Budget",
        ],
        extracted_keys: [
            "Bedrooms",
            "Rooms",
            "Pets",
            "Move-in date",
            "Property of interest",
        ],
        call_summary: "Call summary",
        system_note: "System note",
        suggested_opening,
        omitted,
        ago,
        on_date,
    },
    summary: SummaryWording {
        channels: [
            "WhatsApp conversation",
            "Phone call",
            "Web chat",
            "SMS conversation",
            "Email conversation",
        ],
        about: " about ",
        with_customer: " with the customer",
        and: " and ",
        outcome_label: "Outcome",
        outcomes: ["booked", "resolved", "pending", "complaint not resolved"],
        pending_promise: " (the agent will follow up)",
        pending_question: " (the customer's last question is unanswered)",
        promised: "Agent promised",
        topics: [
            ("a greeting", "greeting"),
            ("product information", "product inquiry"),
            ("pricing", "pricing"),
            ("currency exchange", "currency conversion"),
            ("a booking", "booking"),
            ("rescheduling", "rescheduling"),
            ("a support issue", "support request"),
            ("a complaint", "complaint"),
            ("saying goodbye", "goodbye"),
            ("other matters", "other"),
        ],
        topics_label: "Topics",
        products_label: "Products",
        amounts_label: "Amounts",
        dates_label: "Dates",
        sentiment_label: "Sentiment",
        sentiments: ["positive", "neutral", "negative", "mixed"],
        // The classifier's canonical names are English already.
        products: &[],
        next_steps: NextSteps {
            confirm_booking: DatedStep {
                dated: |d| format!("Confirm the booking for {d} with the customer."),
                undated: "Confirm the booking details with the customer.",
            },
            confirm_new_date: DatedStep {
                dated: |d| format!("Confirm the new date: {d}."),
                undated: "Agree on a new date with the customer.",
            },
            follow_up_booking: DatedStep {
                dated: |d| format!("Follow up on the booking request for {d}."),
                undated: "Follow up on the booking request.",
            },
            follow_up_date: DatedStep {
                dated: |d| format!("Follow up about {d}."),
                undated: "Follow up about the date mentioned.",
            },
        },
    },
};

fn suggested_opening(first_name: Option<&str>) -> String {
    match first_name {
        Some(first) => {
            format!("Hi {first}! Do you want to continue where we left off, or start fresh?")
        }
        None => "Hi! Do you want to continue where we left off, or start fresh?".to_owned(),
    }
}

fn omitted(n: usize) -> String {
    match n {
        1 => "… 1 earlier message omitted".to_owned(),
        n => format!("… {n} earlier messages omitted"),
    }
}

fn ago(ago: Ago) -> String {
    let (n, unit) = match ago {
        Ago::JustNow => return "just now".to_owned(),
        Ago::Minutes(n) => (n, "minute"),
        Ago::Hours(n) => (n, "hour"),
        Ago::Days(n) => (n, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural} ago")
}

fn on_date(at: DateTime<Utc>) -> String {
    format!("on {}", at.format("%Y-%m-%d"))
}
