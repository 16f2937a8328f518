//! Hebrew wording.

use chrono::{DateTime, Utc};

use super::{Ago, ContextWording, DatedStep, NextSteps, SummaryWording, Wording};

pub(super) static WORDING: Wording = Wording {
    roles: ["לקוח", "נציג", "צוות", "מערכת"],
    context: ContextWording {
        title: "הקשר זיכרון",
        for_customer: "עבור",
        channel_label: "ערוץ",
        profile: "פרופיל הלקוח",
        returning: "לקוח חוזר",
        opening: "פתיחה מוצעת",
        last_conversation: "השיחה האחרונה",
        notes: "הערות צוות",
        pinned: "[מוצמד]",
        by: "מאת",
        current_conversation: "השיחה הנוכחית",
        relevant: "רגעים רלוונטיים מהעבר",
        channels: ["וואטסאפ", "שיחת טלפון", "צ'אט באתר", "SMS", "אימייל"],
        sources: ["צוות", "ייבוא מ-CRM", "ערוץ", "בינה מלאכותית"],
        keys: [
            "שם",
            "אימייל",
            "טלפון",
            "עיר",
            "מטבע מועדף",
            "שפה מועדפת",
            "תחומי עניין",
            "שירות מבוקש",
            "העדפות",
            "תקציב",
        ],
        extracted_keys: [
            "חדרי שינה",
            "חדרים",
            "חיות מחמד",
            "תאריך כניסה",
            "נכס מבוקש",
        ],
        call_summary: "סיכום שיחה",
        system_note: "הערת מערכת",
        suggested_opening,
        omitted,
        ago,
        on_date,
    },
    summary: SummaryWording {
        channels: [
            "שיחת וואטסאפ",
            "שיחת טלפון",
            "צ'אט באתר",
            "שיחת SMS",
            "התכתבות באימייל",
        ],
        about: " בנושא ",
        with_customer: " עם הלקוח",
        // "and" is a letter joined to the next word.
        and: " ו",
        outcome_label: "תוצאה",
        outcomes: ["נקבעה הזמנה", "טופל", "ממתין", "תלונה שלא נפתרה"],
        pending_promise: " (הנציג התחייב לחזור ללקוח)",
        pending_question: " (השאלה האחרונה של הלקוח לא נענתה)",
        promised: "הנציג התחייב",
        topics: [
            ("ברכה", "ברכה"),
            ("מידע על מוצרים", "בירור מוצר"),
            ("מחירים", "מחירים"),
            ("המרת מטבע", "המרת מטבע"),
            ("הזמנה", "הזמנה"),
            ("שינוי מועד", "שינוי מועד"),
            ("פנייה לתמיכה", "תמיכה"),
            ("תלונה", "תלונה"),
            ("פרידה", "פרידה"),
            ("נושאים אחרים", "אחר"),
        ],
        topics_label: "נושאים",
        products_label: "מוצרים",
        amounts_label: "סכומים",
        dates_label: "תאריכים",
        sentiment_label: "סנטימנט",
        sentiments: ["חיובי", "ניטרלי", "שלילי", "מעורב"],
        products: &[
            ("flights", "טיסות"),
            ("hotels", "מלונות"),
            ("car_rental", "השכרת רכב"),
            ("travel_insurance", "ביטוח נסיעות"),
            ("insurance", "ביטוח"),
            ("loans", "הלוואות"),
            ("mortgage", "משכנתא"),
            ("credit_card", "כרטיס אשראי"),
            ("currency_exchange", "המרת מטבע"),
            ("phones", "טלפונים"),
            ("laptops", "מחשבים ניידים"),
            ("tablets", "טאבלטים"),
            ("tv", "טלוויזיות"),
            ("headphones", "אוזניות"),
            ("courses", "קורסים"),
            ("subscriptions", "מנויים"),
            ("haircut", "תספורת"),
            ("dental", "טיפולי שיניים"),
            ("tours", "סיורים"),
            ("tickets", "כרטיסים"),
        ],
        next_steps: NextSteps {
            confirm_booking: DatedStep {
                dated: |d| format!("לוודא מול הלקוח את ההזמנה ל-{d}."),
                undated: "לוודא מול הלקוח את פרטי ההזמנה.",
            },
            confirm_new_date: DatedStep {
                dated: |d| format!("לאשר את המועד החדש: {d}."),
                undated: "לתאם עם הלקוח מועד חדש.",
            },
            follow_up_booking: DatedStep {
                dated: |d| format!("לחזור ללקוח לגבי בקשת ההזמנה ל-{d}."),
                undated: "לחזור ללקוח לגבי בקשת ההזמנה.",
            },
            follow_up_date: DatedStep {
                dated: |d| format!("לחזור ללקוח לגבי {d}."),
                undated: "לחזור ללקוח לגבי המועד שהוזכר.",
            },
        },
    },
};

fn suggested_opening(first_name: Option<&str>) -> String {
    match first_name {
        Some(first) => format!("היי {first}! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?"),
        None => "היי! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?".to_owned(),
    }
}

fn omitted(n: usize) -> String {
    match n {
        1 => "… הושמטה הודעה קודמת אחת".to_owned(),
        n => format!("… הושמטו {n} הודעות קודמות"),
    }
}

/// Hebrew has dual forms for two hours and two days, and says one of a unit without a number.
fn ago(ago: Ago) -> String {
    match ago {
        Ago::JustNow => "הרגע".to_owned(),
        Ago::Minutes(1) => "לפני דקה".to_owned(),
        Ago::Minutes(n) => format!("לפני {n} דקות"),
        Ago::Hours(1) => "לפני שעה".to_owned(),
        Ago::Hours(2) => "לפני שעתיים".to_owned(),
        Ago::Hours(n) => format!("לפני {n} שעות"),
        Ago::Days(1) => "לפני יום".to_owned(),
        Ago::Days(2) => "לפני יומיים".to_owned(),
        Ago::Days(n) => format!("לפני {n} ימים"),
    }
}

fn on_date(at: DateTime<Utc>) -> String {
    format!("ב-{}", at.format("%d.%m.%Y"))
}
