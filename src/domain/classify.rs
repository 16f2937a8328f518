//! The built-in message classifier: intent with a confidence, and the entities a message
//! mentions (products, currencies, amounts, dates). English and Hebrew; no LLM.
//!
//! A message is split into words once ([`Tokens`]); phrase lexicons ([`Lexicon`]) are then
//! matched longest-first, Hebrew words also with their one-letter prefixes stripped, so
//! "ובשבוע" finds "שבוע" and "לשקלים" finds "שקלים" (see [`super::text`]).

use std::ops::Range;
use std::sync::LazyLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::text::hebrew;
use super::text::language::detect_language;
use super::text::lexicon::{Lexicon, Rule, grouped, phrases};
use super::text::numbers::{MULTIPLIERS, parse_number};
use super::text::pattern::{Pattern, captures_iter, compile, find_iter};
use super::text::tokens::Tokens;
use super::vocabulary::vocabulary;

vocabulary! {
    /// What a message is about.
    Intent {
        Greeting => "greeting",
        ProductInquiry => "product_inquiry",
        Pricing => "pricing",
        CurrencyConversion => "currency_conversion",
        Booking => "booking",
        Reschedule => "reschedule",
        SupportRequest => "support_request",
        Complaint => "complaint",
        Goodbye => "goodbye",
        Other => "other",
    }
}

/// A sum of money a message mentions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    pub value: f64,
    /// ISO 4217 code when the message says which currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// A date or time a message mentions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateMention {
    /// The words as written ("tomorrow", "מחר", "12/03").
    pub text: String,
    /// The calendar date, when it can be resolved relative to `today`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

/// What a message mentions, stored in the message's metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entities {
    /// Product categories in canonical English (`flights`, `insurance`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// ISO 4217 codes, in order of mention, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub currencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amounts: Vec<Amount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DateMention>,
}

impl Entities {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
            && self.currencies.is_empty()
            && self.amounts.is_empty()
            && self.dates.is_empty()
    }
}

/// The classifier's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub intent: Intent,
    /// In `0.0..=1.0`; `Other` comes with a low confidence.
    pub confidence: f64,
    pub entities: Entities,
    /// See [`detect_language`].
    pub language: Option<&'static str>,
}

/// Classifies one message. `today` resolves relative dates ("tomorrow").
///
/// Intent: weighted English and Hebrew phrases vote (each phrase once), helped by what the
/// entities show (two currencies and a sum make a conversion; a named product alone makes a
/// product inquiry). A greeting or a goodbye around a real request steps aside for it ("Hi, how
/// much is a flight to Rome?" is pricing). Confidence grows with the winner's score and its
/// margin over the runner-up: one clear phrase gives about 0.7–0.85, two competing ones about
/// 0.5, and `Other` (nothing recognized) at most 0.35.
///
/// Dates: a weekday ("Monday", "next Tuesday", "ביום שני") resolves to its next occurrence
/// strictly after `today`, or to `today` itself when the message also says "today"/"היום";
/// "next week"/"בשבוע הבא" name no single day and stay unresolved; `dd/mm` reads day first
/// (month first only when that is the only valid reading) and, without a year, means the next
/// such day on or after `today`.
///
/// Amounts: numbers next to a currency ("$100", "250 ש״ח"), or bare numbers right after a money
/// word ("budget 5000", "convert 100 to euros"); other numbers (counts, times, phone numbers)
/// are not amounts.
pub fn classify(text: &str, today: NaiveDate) -> Classification {
    let toks = Tokens::new(text);
    let currencies = currency_mentions(&toks);
    let (dates, date_spans) = date_mentions(&toks, today);
    let amounts = amounts(&toks, &currencies, &date_spans);
    let entities = Entities {
        products: unique(product_mentions(&toks).into_iter().map(|(_, p)| p)),
        currencies: unique(currencies.iter().map(|c| c.code)),
        amounts,
        dates,
    };
    let (intent, confidence) = intent_of(&toks, &entities, &currencies);
    Classification {
        intent,
        confidence,
        entities,
        language: detect_language(text),
    }
}

fn unique(items: impl Iterator<Item = &'static str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.iter().any(|seen| seen == item) {
            out.push(item.to_owned());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Intent lexicon

/// `(intent, weight, phrases)`. Weights: 1.5+ unmistakable, ~1.0 clear, ≤0.7 a hint. `Other`
/// with weight 0 marks phrases that only look like a signal ("no problem", "of course").
const INTENT_PHRASES: &[(Intent, f64, &str)] = &[
    (
        Intent::Greeting,
        1.0,
        "hi, hello, hey, heya, hiya, howdy, greetings, good morning, good afternoon, \
         good evening, hi there, hey there, hello there, shalom, שלום, היי, הי, הלו, אהלן, \
         בוקר טוב, ערב טוב, צהריים טובים, צהרים טובים, שלום רב",
    ),
    (
        Intent::Greeting,
        0.7,
        "morning, whats up, how are you, how are you doing, how r u, yo, sup, מה נשמע, \
         מה שלומך, מה שלומכם, מה קורה",
    ),
    (
        Intent::Pricing,
        1.3,
        "how much, what does it cost, what do you charge, price list, price range, כמה עולה, \
         כמה זה עולה, כמה עולים, כמה עולות, כמה זה יעלה, כמה יעלה, מה המחיר, הצעת מחיר, מחירון",
    ),
    (
        Intent::Pricing,
        1.0,
        "rates for, rate for, price for, prices for, price, prices, pricing, cost, costs, \
         quote, quotes, tariff, fee, fees, מחיר, מחירים, עלות, עלויות, תעריף, תעריפים, כמה כסף, \
         כמה זה",
    ),
    (
        Intent::Pricing,
        0.7,
        "expensive, cheap, cheaper, cheapest, discount, discounts, deal, deals, special offer, \
         affordable, installments, payment plan, תשלומים, budget, עולה, יקר, יקרה, יקרים, זול, \
         זולה, זולים, הכי זול, הנחה, הנחות, מבצע, מבצעים, משתלם, תקציב",
    ),
    (Intent::Pricing, 0.5, "rate, rates, charge, כמה, לשלם"),
    (
        Intent::CurrencyConversion,
        1.8,
        "exchange rate, exchange rates, conversion rate, currency rate, שער חליפין, שער יציג",
    ),
    (
        Intent::CurrencyConversion,
        1.5,
        "convert, converting, conversion, change money, exchange money, currency converter, \
         להמיר, להחליף כסף, להחליף מטבע, המרה, המרת כסף, המרת מטבע",
    ),
    (
        Intent::CurrencyConversion,
        1.0,
        "המרת, חליפין, יציג, כמה שווה",
    ),
    (Intent::CurrencyConversion, 0.8, "שער"),
    (Intent::CurrencyConversion, 0.6, "exchange, worth in"),
    (Intent::CurrencyConversion, 0.3, "rate, rates"),
    (
        Intent::Booking,
        1.5,
        "make an appointment, make a reservation, make a booking, book an appointment, \
         set an appointment, set up an appointment, schedule an appointment, place an order, \
         table for, לקבוע תור, לקבוע פגישה, לזמן תור, להזמין תור, להזמין מקום, לשריין מקום, \
         לשריין",
    ),
    (
        Intent::Booking,
        1.2,
        "book, reserve, sign up, sign me up, enroll, enrol, register, להזמין, לקבוע, להירשם, \
         לרשום אותי",
    ),
    (
        Intent::Booking,
        1.0,
        "booking, reservation, reservations, appointment, appointments, schedule, availability, \
         registration, slot, slots, free slot, הזמנה, תור, פגישה, שריון, מקום פנוי, זמינות, \
         הרשמה",
    ),
    (Intent::Booking, 0.7, "order"),
    (
        Intent::Booking,
        0.5,
        "available, פנוי, פנויה, פנויים, זמין, זמינה",
    ),
    (
        Intent::Reschedule,
        2.2,
        "reschedule, rescheduling, postpone, move my appointment, move the appointment, \
         move my booking, move my reservation, change my appointment, change the appointment, \
         change my booking, change my reservation, change the date, change the time, \
         change the day, push back my appointment, change my flight, change the flight, \
         move my flight, change my ticket, לשנות את טיסה, להחליף טיסה, לדחות, להזיז, \
         לשנות את תור, לשנות תור, לשנות את מועד, לשנות מועד, לשנות את תאריך, לשנות תאריך, \
         לשנות את שעה, לשנות שעה, לשנות את הזמנה, לשנות הזמנה, להעביר את תור, להעביר תור, \
         להקדים, דחייה, דחיה",
    ),
    (
        Intent::Reschedule,
        1.5,
        "different date, different time, different day, another date, another time, \
         another day, earlier time, later time, push back, bring forward, cant make it, \
         cannot make it, wont make it, cancel my appointment, cancel the appointment, \
         cancel my booking, cancel the booking, cancel my reservation, cancel the reservation, \
         מועד אחר, תאריך אחר, יום אחר, שעה אחרת, לבטל את תור, לבטל תור, לבטל את הזמנה, \
         לבטל הזמנה, לא אוכל להגיע, לא יכול להגיע, לא יכולה להגיע, לא אגיע",
    ),
    (Intent::Reschedule, 0.8, "cancel, cancellation, לבטל, ביטול"),
    (
        Intent::SupportRequest,
        1.5,
        "not working, isnt working, is not working, doesnt work, does not work, dont work, \
         wont work, wont turn on, doesnt turn on, stopped working, cant log in, cant login, \
         cannot log in, cannot login, unable to log in, locked out, forgot my password, \
         reset my password, technical support, tech support, cancel my subscription, \
         cancel the subscription, hasnt arrived, has not arrived, didnt arrive, did not arrive, \
         not arrived, havent received, have not received, didnt receive, did not receive, \
         where is my order, where is my package, wrong item, i need help, i need some help, \
         having trouble, having problems, having issues, לא עובד, לא עובדת, לא עובדים, \
         לא עובדות, הפסיק לעבוד, הפסיקה לעבוד, לא נדלק, לא נדלקת, לא נטען, לא נטענת, \
         לא מצליח להתחבר, לא מצליחה להתחבר, שכחתי סיסמה, שכחתי את סיסמה, תמיכה טכנית, \
         לבטל את מנוי, לבטל מנוי, לא הגיע, לא הגיעה, לא הגיעו, לא קיבלתי, איפה הזמנה, \
         אני צריך עזרה, אני צריכה עזרה",
    ),
    (
        Intent::SupportRequest,
        1.2,
        "broken, error, errors, bug, crash, crashes, crashed, crashing, defective, faulty, \
         damaged, repair, cant access, cannot access, תקלה, תקלות, שבור, שבורה, שבורים, נשבר, \
         נשברה, שגיאה, פגום, פגומה, מקולקל, מקולקלת, לא מצליח, לא מצליחה, החזר כספי, תיקון",
    ),
    (
        Intent::SupportRequest,
        1.0,
        "problem, problems, issue, issues, help with, need help, refund, refunds, warranty, \
         glitch, fix, support, unsubscribe, tracking, track my order, my order, trouble, \
         was cancelled, was canceled, got cancelled, got canceled, לא מסתדר, לא מסתדרת, בעיה, \
         בעיות, עזרה, צריך עזרה, צריכה עזרה, תמיכה, לתקן, החזר, אחריות, נתקע, נתקעה",
    ),
    (
        Intent::SupportRequest,
        0.7,
        "broke, stuck, failed, fails, failing, declined, password, return, returns, reset, \
         להחזיר, סיסמה, סיסמא, תקוע, תקועה",
    ),
    (
        Intent::SupportRequest,
        0.5,
        "help, how do i, how can i, לעזור, תעזרו, תעזור",
    ),
    (
        Intent::Complaint,
        1.6,
        "unacceptable, complaint, complain, complaints, disgrace, outrageous, scam, fraud, \
         ripped off, never again, waste of money, bad service, poor service, terrible service, \
         worst service, speak to a manager, speak to your manager, talk to a manager, \
         talk to your manager, תלונה, להתלונן, חוצפה, שערורייה, שערוריה, לא מקובל, לא מקובלת, \
         רמאות, רמאים, נוכלים, עוקץ, אף אחד לא עונה, אף אחד לא חוזר, אף אחד לא חזר, שירות גרוע, \
         שירות מחפיר, זלזול, מזלזלים",
    ),
    (
        Intent::Complaint,
        1.4,
        "been waiting, מחכה כבר, מחכים כבר, terrible, awful, horrible, disappointed, \
         disappointing, disappointment, worst, ridiculous, disgusting, rude, furious, fed up, \
         not happy, unhappy, not satisfied, dissatisfied, unprofessional, misleading, lied, \
         charged twice, double charged, still waiting, nobody answers, no one answers, \
         nobody answered, no one answered, nobody called, no one called, nobody told, \
         no one told, waste of time, money back, גרוע, גרועה, גרועים, גרועות, מאוכזב, מאוכזבת, \
         מאוכזבים, אכזבה, בושה, נוראי, נוראית, איום, איומה, מחפיר, לא מרוצה, לא מרוצים, \
         לא מקצועי, לא מקצועית, עדיין מחכה, עדיין מחכים, כסף בחזרה, לתבוע, מרגיז, מעצבן",
    ),
    (
        Intent::Complaint,
        1.0,
        "on hold, unbelievable, כבר שעה, angry, upset, frustrated, frustrating, annoyed, \
         annoying, lawyer, sue, ignored, report you, very bad, עורך דין, כועס, כועסת, מתוסכל, \
         מתוסכלת",
    ),
    (
        Intent::Complaint,
        0.6,
        "manager, supervisor, bad, נורא, מנהל, אחראי",
    ),
    (
        Intent::Goodbye,
        1.5,
        "bye, goodbye, good bye, bye bye, byebye, ביי, להתראות, ביי ביי, יאללה ביי, \
         שלום ולהתראות",
    ),
    (
        Intent::Goodbye,
        1.3,
        "thats all, that is all, have a nice day, have a good day, have a great day, \
         have a nice evening, good night, see you, see ya, talk to you later, talk later, \
         thanks for your help, thanks for the help, thank you for your help, \
         thank you for the help, thanks for helping, thank you for helping, זה הכל, זה הכול, \
         זהו זה, לילה טוב, יום טוב, שיהיה יום טוב, ערב נעים, תודה על העזרה, תודה על עזרה, \
         נתראה, סיימנו, שבוע טוב, שבת שלום",
    ),
    (
        Intent::Goodbye,
        1.0,
        "not interested, no thanks, no thank you, nothing else, take care, לא מעוניין, \
         לא מעוניינת, לא מעוניינים, לא מתעניין, לא מתעניינת, לא תודה, אין צורך, זהו, נדבר",
    ),
    (Intent::Goodbye, 0.8, "thats it, לא צריך"),
    (
        Intent::Goodbye,
        0.6,
        "thanks, thank you, thx, ty, cheers, תודה, תודה רבה, תנקס",
    ),
    (
        Intent::ProductInquiry,
        1.4,
        "do you sell, do you offer, do you carry, do you provide, interested in, looking for, \
         in stock, אתם מוכרים, מוכרים, מתעניין, מתעניינת, מתעניינים, מעוניין, מעוניינת, \
         מעוניינים, מחפש, מחפשת, מחפשים, במלאי",
    ),
    (
        Intent::ProductInquiry,
        1.0,
        "tell me about, tell me more, more information, more info, more details, \
         information about, info about, information on, what kind of, what kinds of, \
         what type of, what types of, which models, buy, purchase, do you have, have you got, \
         יש לכם, יש לכן, יש אצלכם, פרטים נוספים, מידע נוסף, מידע על, פרטים על, לקנות, לרכוש, \
         איזה סוגים, אילו סוגים, יש לך, האם יש",
    ),
    (
        Intent::ProductInquiry,
        0.7,
        "details, options, recommend, recommendation, catalog, catalogue, פרטים, מידע, \
         אפשרויות, ממליץ, ממליצה, ממליצים, קטלוג",
    ),
    (
        Intent::ProductInquiry,
        0.4,
        "i want, i need, id like, i would like, im after, available, אני רוצה, אני צריך, \
         אני צריכה, רציתי, ארצה, זמין, זמינה",
    ),
    (
        Intent::Other,
        0.0,
        "no problem, not a problem, no problems, no worries, no issue, no issues, of course, \
         not bad, not too bad, how can i help, how may i help, אין בעיה, אין בעיות, בלי בעיה, \
         לא נורא, בכיף",
    ),
];

/// Every intent phrase with the intents it speaks for (a few speak for two).
static INTENTS: LazyLock<Lexicon<Vec<(Intent, f64)>>> = LazyLock::new(|| {
    let mut merged: Vec<(&'static str, Vec<(Intent, f64)>)> = Vec::new();
    for &(intent, weight, list) in INTENT_PHRASES {
        for phrase in phrases(list) {
            match merged.iter_mut().find(|(p, _)| *p == phrase) {
                Some((_, votes)) => votes.push((intent, weight)),
                None => merged.push((phrase, vec![(intent, weight)])),
            }
        }
    }
    Lexicon::new(
        merged
            .into_iter()
            .map(|(phrase, votes)| (phrase, votes, Rule::ANY)),
    )
});

/// Intents that carry a request; an opener or a closer steps aside for them.
const CONTENT: [Intent; 7] = [
    Intent::ProductInquiry,
    Intent::Pricing,
    Intent::CurrencyConversion,
    Intent::Booking,
    Intent::Reschedule,
    Intent::SupportRequest,
    Intent::Complaint,
];

/// Who wins a tie: the more specific request first.
const PRIORITY: [Intent; 9] = [
    Intent::Reschedule,
    Intent::Complaint,
    Intent::CurrencyConversion,
    Intent::Booking,
    Intent::Pricing,
    Intent::SupportRequest,
    Intent::ProductInquiry,
    Intent::Goodbye,
    Intent::Greeting,
];

/// Below this the message says nothing we recognize.
const MIN_SCORE: f64 = 0.45;

fn intent_of(
    toks: &Tokens<'_>,
    entities: &Entities,
    currencies: &[CurrencyMention],
) -> (Intent, f64) {
    let mut score = [0.0f64; Intent::ALL.len()];
    let mut counted: Vec<usize> = Vec::new();
    for hit in INTENTS.scan(toks) {
        // A phrase said twice is not twice the evidence.
        if counted.contains(&hit.entry) {
            continue;
        }
        counted.push(hit.entry);
        for &(intent, weight) in hit.value {
            score[intent as usize] += weight;
        }
    }
    let content = |score: &[f64]| {
        CONTENT
            .iter()
            .map(|&i| score[i as usize])
            .fold(0.0, f64::max)
    };

    // Two currencies, "in dollars", "how many shekels", "dollar rate": a conversion.
    let conversion = Intent::CurrencyConversion as usize;
    let distinct = entities.currencies.len();
    let priced = entities.amounts.iter().any(|a| a.currency.is_some());
    // With a sum or a conversion word it is surely a conversion; "is the price in shekels or
    // dollars?" is still a question about the price.
    let sure = priced || score[conversion] > 0.0;
    if distinct >= 2 {
        score[conversion] += if sure { 1.2 } else { 0.5 };
    }
    if currencies.iter().any(|c| c.target) {
        score[conversion] += if sure { 0.8 } else { 0.4 };
    }
    if distinct >= 1
        && (0..toks.len()).any(|i| ["rate", "rates", "שער"].iter().any(|w| toks.matches(i, w)))
    {
        score[conversion] += 1.0;
    }
    // A product named with nothing else asked is a question about it.
    let inquiry = Intent::ProductInquiry as usize;
    if !entities.products.is_empty() {
        if content(&score) < 0.5 {
            let asks = toks.text.contains(['?', '؟']);
            score[inquiry] += if asks { 0.7 } else { 0.5 };
        } else if score[inquiry] > 0.0 {
            score[inquiry] += 0.3;
        }
    }
    if !entities.dates.is_empty() && score[Intent::Booking as usize] > 0.0 {
        score[Intent::Booking as usize] += 0.3;
    }
    // "Hi, how much is…" is a pricing question; "terrible service, bye" is a complaint.
    let asked = content(&score);
    if asked >= 0.5 {
        score[Intent::Greeting as usize] *= 0.25;
    }
    if asked >= 1.0 {
        score[Intent::Goodbye as usize] *= 0.5;
    }

    let mut best = (Intent::Other, 0.0f64);
    let mut runner_up = 0.0f64;
    for intent in PRIORITY {
        let s = score[intent as usize];
        if s > best.1 {
            runner_up = best.1;
            best = (intent, s);
        } else if s > runner_up {
            runner_up = s;
        }
    }
    if best.1 < MIN_SCORE {
        let confidence = if toks.len() == 0 { 0.2 } else { 0.35 };
        return (Intent::Other, confidence);
    }
    // Strength grows with evidence (1.0 → 0.63, 2.0 → 0.86); a close runner-up halves it.
    let strength = 1.0 - (-best.1).exp();
    let margin = (best.1 - runner_up) / best.1;
    let confidence = 0.35 + 0.6 * strength * (0.5 + 0.5 * margin);
    (best.0, confidence.clamp(0.0, 0.95))
}

// ---------------------------------------------------------------------------------------------
// Products

/// Contact usage: "call me on my phone", "phone number", "בטלפון", "מספר טלפון".
const PHONE: Rule = Rule {
    not_after: &[
        "on", "by", "via", "over", "call", "text", "reach", "contact", "מספר", "מס",
    ],
    not_before: &[
        "number", "numbers", "no", "nr", "num", "call", "calls", "me", "us", "you", "him", "her",
        "them", "back", "line", "מספר",
    ],
    bad_prefix: &['ב', 'ל'],
    ..Rule::ANY
};

/// Paying with a card is not asking for one: "by credit card", "בכרטיס אשראי".
const CARD: Rule = Rule {
    not_after: &["by", "with", "via", "using", "my"],
    bad_prefix: &['ב'],
    ..Rule::ANY
};

const ROOM: Rule = Rule {
    not_after: &[
        "living",
        "meeting",
        "chat",
        "bath",
        "waiting",
        "dining",
        "class",
        "conference",
        "escape",
        "emergency",
        "operating",
        "changing",
        "fitting",
        "server",
        "no",
        "show",
    ],
    not_before: &["כושר", "ישיבות", "המתנה", "בריחה", "אוכל", "עבודה"],
    ..Rule::ANY
};

/// "of course" is not a course; "world class" is not a class.
const COURSE: Rule = Rule {
    not_after: &["of", "world", "middle", "working", "high", "top"],
    ..Rule::ANY
};

/// "plan" the noun, not "I plan to".
const PLAN: Rule = Rule {
    not_after: &[
        "i", "we", "you", "they", "to", "dont", "will", "would", "travel",
    ],
    not_before: &["to", "on"],
    ..Rule::ANY
};

/// A show to see, not "show me".
const SHOW: Rule = Rule {
    only_after: &[
        "a", "the", "this", "that", "tonight", "tonights", "your", "for", "live",
    ],
    ..Rule::ANY
};

/// An event ticket, not a support ticket or a ticket number.
const TICKET: Rule = Rule {
    not_after: &["support", "open", "opened", "service"],
    not_before: &["number", "id", "no", "מספר", "אשראי"],
    ..Rule::ANY
};

const PRODUCT_PHRASES: &[(&str, Rule, &str)] = &[
    (
        "flights",
        Rule::ANY,
        "flight, flights, plane ticket, plane tickets, flight ticket, flight tickets, \
         airline ticket, airline tickets, air ticket, air tickets, airfare, fly, flying, \
         business class, economy class, first class, טיסה, טיסות, לטוס, כרטיס טיסה, \
         כרטיסי טיסה, כרטיס לטיסה",
    ),
    (
        "hotels",
        Rule::ANY,
        "hotel, hotels, accommodation, accommodations, hostel, hostels, resort, resorts, \
         place to stay, hotel room, hotel rooms, מלון, מלונות, בית מלון, בתי מלון, צימר, \
         צימרים, לינה",
    ),
    (
        "hotels",
        ROOM,
        "room, rooms, double room, single room, suite, חדר, חדרים, חדר זוגי",
    ),
    (
        "car_rental",
        Rule::ANY,
        "car rental, car rentals, rental car, rental cars, rent a car, rent car, renting a car, \
         hire a car, car hire, השכרת רכב, השכרת רכבים, רכב שכור, להשכיר רכב, לשכור רכב, \
         השכרת מכונית, לשכור מכונית",
    ),
    (
        "travel_insurance",
        Rule::ANY,
        "travel insurance, ביטוח נסיעות, ביטוח נסיעה, ביטוח לחו\"ל, ביטוח בריאות לחו\"ל",
    ),
    (
        "insurance",
        Rule::ANY,
        "insurance, insurances, insurance policy, ביטוח, ביטוחים, פוליסת ביטוח",
    ),
    (
        "loans",
        Rule::ANY,
        "loan, loans, personal loan, הלוואה, הלוואות",
    ),
    (
        "mortgage",
        Rule::ANY,
        "mortgage, mortgages, home loan, home loans, משכנתא, משכנתה, משכנתאות",
    ),
    (
        "credit_card",
        CARD,
        "credit card, credit cards, כרטיס אשראי, כרטיסי אשראי",
    ),
    (
        "currency_exchange",
        Rule::ANY,
        "money exchange, currency exchange, exchange money, foreign currency, forex, מט\"ח, \
         המרת מט\"ח, המרת כספים, המרת מטבע, חלפן, חלפני כספים, צ'יינג",
    ),
    (
        "phones",
        PHONE,
        "phone, phones, telephone, telephones, smartphone, smartphones, iphone, iphones, \
         cell phone, cellphone, mobile phone, mobile phones, android phone, galaxy, טלפון, \
         טלפונים, טלפון נייד, טלפון חכם, פלאפון, פלאפונים, סלולרי, סמארטפון, אייפון, גלקסי",
    ),
    (
        "laptops",
        Rule::ANY,
        "laptop, laptops, notebook computer, macbook, macbooks, chromebook, מחשב נייד, \
         מחשבים ניידים, לפטופ, מקבוק",
    ),
    (
        "tablets",
        Rule::ANY,
        "tablet, tablets, ipad, ipads, טאבלט, טאבלטים, אייפד",
    ),
    (
        "tv",
        Rule::ANY,
        "tv, tvs, television, televisions, smart tv, טלוויזיה, טלויזיה, טלוויזיות, טלויזיות, \
         טלוויזיה חכמה",
    ),
    (
        "headphones",
        Rule::ANY,
        "headphones, headphone, earphones, earbuds, airpods, headset, headsets, אוזניות, אוזניה",
    ),
    (
        "courses",
        COURSE,
        "course, courses, class, classes, lesson, lessons, workshop, workshops, online course, \
         קורס, קורסים, סדנה, סדנאות, שיעור פרטי, שיעורים פרטיים, שיעורים",
    ),
    (
        "subscriptions",
        Rule::ANY,
        "subscription, subscriptions, membership, memberships, data plan, מנוי, מנויים, מינוי",
    ),
    ("subscriptions", PLAN, "plan, plans"),
    (
        "haircut",
        Rule::ANY,
        "haircut, haircuts, hair cut, barber, תספורת, תספורות",
    ),
    (
        "dental",
        Rule::ANY,
        "dentist, dental, teeth cleaning, teeth whitening, dental cleaning, toothache, \
         root canal, רופא שיניים, רופאת שיניים, ניקוי שיניים, הלבנת שיניים, טיפול שיניים, שיניים",
    ),
    (
        "tours",
        Rule::ANY,
        "tour, tours, guided tour, guided tours, excursion, excursions, day trip, day trips, \
         סיור, סיורים, סיור מודרך, טיול מאורגן",
    ),
    (
        "tickets",
        Rule::ANY,
        "concert, concerts, theater, theatre, כרטיסים, הופעה, הופעות, קונצרט, הצגה, הצגות",
    ),
    ("tickets", SHOW, "show, shows"),
    ("tickets", TICKET, "ticket, tickets, כרטיס"),
];

static PRODUCTS: LazyLock<Lexicon<&'static str>> = LazyLock::new(|| grouped(PRODUCT_PHRASES));

/// Product categories the message names, with the word index where each is named.
///
/// A phone is a product unless the words around it make it a way to reach someone ("call me on
/// my phone", "phone number", "בטלפון"); "my phone is broken" keeps `phones`.
pub(crate) fn product_mentions(toks: &Tokens<'_>) -> Vec<(usize, &'static str)> {
    PRODUCTS
        .scan(toks)
        .into_iter()
        .filter(|hit| {
            // "my phone 052-…", "הטלפון שלי 054-…": a phone number follows, so it is a contact.
            let digits_after: usize = (hit.end..hit.end + 4)
                .filter_map(|j| toks.list.get(j).filter(|t| t.numeric).map(|t| t.orig.len()))
                .sum();
            *hit.value != "phones" || digits_after < 7
        })
        .map(|hit| (hit.start, *hit.value))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Currencies and amounts

/// "שקל" behind מ is "משקל" (weight).
const SHEKEL: Rule = Rule {
    bad_prefix: &['מ'],
    ..Rule::ANY
};

/// A currency only right after a number, and with nothing attached ("100 שח", not "בשח").
const AFTER_NUMBER: Rule = Rule {
    after_number: true,
    bad_prefix: &hebrew::PREFIXES,
    ..Rule::ANY
};

const UPPER: Rule = Rule {
    upper_only: true,
    ..Rule::ANY
};

const CURRENCY_PHRASES: &[(&str, Rule, &str)] = &[
    (
        "USD",
        Rule::ANY,
        "usd, dollar, dollars, us dollar, us dollars, american dollar, american dollars, buck, \
         bucks, דולר, דולרים, דולר אמריקאי, דולרים אמריקאים",
    ),
    (
        "CAD",
        Rule::ANY,
        "cad, canadian dollar, canadian dollars, דולר קנדי, דולרים קנדיים",
    ),
    (
        "AUD",
        Rule::ANY,
        "aud, australian dollar, australian dollars, דולר אוסטרלי",
    ),
    (
        "NZD",
        Rule::ANY,
        "nzd, new zealand dollar, new zealand dollars",
    ),
    ("HKD", Rule::ANY, "hkd, hong kong dollar, hong kong dollars"),
    ("SGD", Rule::ANY, "sgd, singapore dollar, singapore dollars"),
    ("EUR", Rule::ANY, "eur, euro, euros, יורו, אירו"),
    (
        "GBP",
        Rule::ANY,
        "gbp, pound, pounds, pound sterling, pounds sterling, sterling, british pound, \
         british pounds, ליש\"ט, לירה שטרלינג, לירות שטרלינג, פאונד, פאונדים",
    ),
    (
        "ILS",
        Rule::ANY,
        "ils, nis, shekel, shekels, sheqel, sheqels, new shekel, new shekels, israeli shekel, \
         israeli shekels, ש\"ח",
    ),
    ("ILS", SHEKEL, "שקל, שקלים"),
    ("ILS", AFTER_NUMBER, "שח"),
    ("JPY", Rule::ANY, "jpy, yen, japanese yen, ין יפני"),
    ("JPY", AFTER_NUMBER, "ין"),
    (
        "CHF",
        Rule::ANY,
        "chf, swiss franc, swiss francs, franc, francs, פרנק, פרנקים, פרנק שוויצרי",
    ),
    ("CNY", Rule::ANY, "cny, rmb, yuan, renminbi, יואן"),
    ("INR", Rule::ANY, "inr, rupee, rupees, רופי"),
    (
        "RUB",
        Rule::ANY,
        "ruble, rubles, rouble, roubles, רובל, רובלים",
    ),
    ("TRY", Rule::ANY, "turkish lira, turkish liras, לירה טורקית"),
    ("SEK", Rule::ANY, "sek, swedish krona, swedish kronor"),
    ("NOK", Rule::ANY, "nok, norwegian krone, norwegian kroner"),
    ("DKK", Rule::ANY, "dkk, danish krone, danish kroner"),
    ("PLN", Rule::ANY, "pln, zloty, zlotys"),
    ("CZK", Rule::ANY, "czk, czech koruna"),
    ("HUF", Rule::ANY, "huf, forint, forints"),
    ("MXN", Rule::ANY, "mxn, mexican peso, mexican pesos"),
    ("BRL", Rule::ANY, "brl, brazilian real, brazilian reais"),
    ("ZAR", Rule::ANY, "zar, south african rand"),
    ("AED", Rule::ANY, "aed, dirham, dirhams, דירהם"),
    ("THB", Rule::ANY, "thb, baht, באט"),
    ("KRW", Rule::ANY, "krw, korean won"),
    ("EGP", Rule::ANY, "egp, egyptian pound, egyptian pounds"),
    (
        "JOD",
        Rule::ANY,
        "jod, jordanian dinar, jordanian dinars, דינר",
    ),
    ("UAH", Rule::ANY, "uah, hryvnia, hryvnias"),
    ("BGN", Rule::ANY, "bgn, bulgarian lev"),
    ("ISK", Rule::ANY, "isk, icelandic krona"),
    ("RUB", UPPER, "rub"),
    ("TRY", UPPER, "try"),
    ("RON", UPPER, "ron"),
    ("PHP", UPPER, "php"),
];

static CURRENCIES: LazyLock<Lexicon<&'static str>> = LazyLock::new(|| grouped(CURRENCY_PHRASES));

fn symbol_currency(c: char) -> Option<&'static str> {
    Some(match c {
        '$' => "USD",
        '€' => "EUR",
        '£' => "GBP",
        '₪' => "ILS",
        '¥' => "JPY",
        '₹' => "INR",
        '₽' => "RUB",
        '₩' => "KRW",
        '₺' => "TRY",
        '₴' => "UAH",
        '฿' => "THB",
        '₱' => "PHP",
        '₫' => "VND",
        _ => return None,
    })
}

/// Dollars other than the US one, written with letters before the sign (C$, A$, NZ$…).
const DOLLAR_PREFIXES: &[(&str, &str)] = &[
    ("US", "USD"),
    ("NZ", "NZD"),
    ("HK", "HKD"),
    ("SG", "SGD"),
    ("AU", "AUD"),
    ("CA", "CAD"),
    ("A", "AUD"),
    ("C", "CAD"),
    ("S", "SGD"),
];

/// A currency the message names, by symbol, code or word.
#[derive(Debug, Clone)]
pub(crate) struct CurrencyMention {
    pub(crate) code: &'static str,
    /// Bytes of the original text.
    pub(crate) span: Range<usize>,
    /// Named as what to convert into: "to ILS", "in dollars", "לשקלים", "how many euros".
    pub(crate) target: bool,
}

/// Whether word `i` sits where a conversion target goes: after "to"/"in"/"into", a lone
/// Hebrew "ל"/"ב", or "how many"/"כמה".
fn target_slot(toks: &Tokens<'_>, i: usize) -> bool {
    let Some(prev) = i.checked_sub(1) else {
        return false;
    };
    match toks.word(prev) {
        "to" | "into" | "in" | "ל" | "ב" | "כמה" => true,
        "many" => prev.checked_sub(1).is_some_and(|p| toks.word(p) == "how"),
        _ => false,
    }
}

/// Currencies in order of mention.
pub(crate) fn currency_mentions(toks: &Tokens<'_>) -> Vec<CurrencyMention> {
    let mut found: Vec<CurrencyMention> = CURRENCIES
        .scan(toks)
        .into_iter()
        .map(|hit| CurrencyMention {
            code: hit.value,
            span: toks.list[hit.start].orig.start..toks.list[hit.end - 1].orig.end,
            target: hit.prefix.contains(['ל', 'ב']) || target_slot(toks, hit.start),
        })
        .collect();
    let text = toks.text;
    for (at, c) in text.char_indices() {
        let Some(mut code) = symbol_currency(c) else {
            continue;
        };
        let mut start = at;
        if c == '$' {
            let before = &text[..at];
            if let Some(&(letters, other)) = DOLLAR_PREFIXES.iter().find(|(letters, _)| {
                before.strip_suffix(letters).is_some_and(|rest| {
                    !rest.chars().next_back().is_some_and(char::is_alphanumeric)
                })
            }) {
                code = other;
                start = at - letters.len();
            }
        }
        let next = toks.index_at(start);
        let target = next > 0
            && toks.list[next - 1].orig.end <= start
            && text
                .get(toks.list[next - 1].orig.end..start)
                .is_some_and(|gap| gap.trim().is_empty())
            && target_slot(toks, next);
        found.push(CurrencyMention {
            code,
            span: start..at + c.len_utf8(),
            target,
        });
    }
    found.sort_by_key(|m| m.span.start);
    found
}

/// The currency a conversion asks for, when the message names one ("to ILS", "בדולרים").
pub(crate) fn conversion_target(mentions: &[CurrencyMention]) -> Option<&'static str> {
    mentions.iter().rev().find(|m| m.target).map(|m| m.code)
}

/// Words after which a bare number is money: "budget 5000", "convert 100", "לשלם 300".
const MONEY_CUES: &str = "\
    budget pay paying paid spend spending afford price cost costs convert exchange transfer \
    deposit withdraw borrow loan תקציב לשלם משלם משלמת שילמתי להוציא להמיר להעביר מחיר עולה \
    עלות הלוואה ללוות להפקיד למשוך";

// Word boundaries are ASCII-only ((?-u:\b)) throughout: Unicode ones make the regex engine
// leave its fast DFA on every non-ASCII message, and the patterns only border on digits and
// English words anyway.
static NUMBER: Pattern = LazyLock::new(|| compile(r"[0-9]+(?:[.,][0-9]+)*(?:[kK](?-u:\b))?"));

/// Whether bytes `a..b` of `text` are at most a couple of spaces.
fn blank_between(text: &str, a: usize, b: usize) -> bool {
    text.get(a..b)
        .is_some_and(|gap| gap.len() <= 2 && gap.chars().all(char::is_whitespace))
}

fn amounts(
    toks: &Tokens<'_>,
    currencies: &[CurrencyMention],
    date_spans: &[Range<usize>],
) -> Vec<Amount> {
    let text = toks.text;
    let mut found = Vec::new();
    for whole in find_iter(&NUMBER, text) {
        let (start, mut end) = (whole.start(), whole.end());
        let thousands = whole.as_str().ends_with(['k', 'K']);
        let digits_end = if thousands { end - 1 } else { end };
        if date_spans.iter().any(|d| d.start < end && start < d.end) {
            continue;
        }
        let before = text[..start].chars().next_back();
        let before2 = text[..start].chars().rev().nth(1);
        let after = text[end..].chars().next();
        let after2 = text[end..].chars().nth(1);
        // Hebrew prefixes attach to numbers ("ב-100", "ב100"); other letters make a code (A320).
        let glued = |c: char| c.is_alphanumeric() && !hebrew::is_letter(c);
        let skip_before = before
            .is_some_and(|c| glued(c) || matches!(c, '/' | ':' | '+' | '#' | '.'))
            || (before == Some('-') && before2.is_some_and(|c| c.is_ascii_digit()));
        let skip_after = after.is_some_and(|c| glued(c) || matches!(c, '/' | ':' | '%' | '°'))
            || (after == Some('-') && after2.is_some_and(|c| c.is_ascii_digit()));
        let digits = &text[start..digits_end];
        if skip_before || skip_after || digits.bytes().filter(u8::is_ascii_digit).count() > 12 {
            continue;
        }
        let Some(mut value) = parse_number(digits) else {
            continue;
        };
        if thousands {
            value *= 1e3;
        }
        let next = toks.index_at(end);
        if let Some(&(_, factor)) = MULTIPLIERS.iter().find(|(w, _)| {
            toks.word(next) == *w && blank_between(text, end, toks.list[next].orig.start)
        }) {
            value *= factor;
            end = toks.list[next].orig.end;
        }
        let currency = currencies
            .iter()
            .find(|m| blank_between(text, m.span.end, start))
            .or_else(|| {
                currencies
                    .iter()
                    .find(|m| blank_between(text, end, m.span.start))
            })
            .map(|m| m.code.to_owned());
        let first_word = toks.index_at(start);
        if currency.is_none() && !toks.any_before(first_word, 3, MONEY_CUES) {
            continue;
        }
        let amount = Amount { value, currency };
        if !found.contains(&amount) {
            found.push(amount);
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Dates

#[derive(Debug, Clone, Copy)]
enum Day {
    /// Days after today.
    Offset(u64),
    Weekday(Weekday),
    /// A span rather than a day ("next week").
    Vague,
}

/// "יום שני" behind ה is "היום שני" (today is Monday), not "on Monday".
const YOM: Rule = Rule {
    bad_prefix: &['ה'],
    ..Rule::ANY
};

/// A bare weekday number-name is a weekday only as "בשישי" (on Friday).
const BARE_WEEKDAY: Rule = Rule {
    need_prefix: &['ב'],
    ..Rule::ANY
};

/// "לשבת" is "to sit"; "שבת שלום" is a greeting.
const SHABBAT: Rule = Rule {
    bad_prefix: &['ל'],
    not_before: &["שלום"],
    ..Rule::ANY
};

const DATE_PHRASES: &[(Day, Rule, &str)] = &[
    (
        Day::Offset(0),
        Rule::ANY,
        "today, tonight, this evening, this morning, this afternoon, later today, היום, הערב, \
         הלילה",
    ),
    (
        Day::Offset(1),
        Rule::ANY,
        "tomorrow, tmrw, tmr, tomorow, tommorow, מחר",
    ),
    (
        Day::Offset(2),
        Rule::ANY,
        "day after tomorrow, the day after tomorrow, מחרתיים",
    ),
    (
        Day::Vague,
        Rule::ANY,
        "next week, next month, this weekend, next weekend, שבוע הבא, חודש הבא, סוף שבוע, \
         סוף השבוע",
    ),
    (
        Day::Weekday(Weekday::Mon),
        Rule::ANY,
        "monday, next monday, this monday",
    ),
    (
        Day::Weekday(Weekday::Tue),
        Rule::ANY,
        "tuesday, next tuesday, this tuesday",
    ),
    (
        Day::Weekday(Weekday::Wed),
        Rule::ANY,
        "wednesday, next wednesday, this wednesday",
    ),
    (
        Day::Weekday(Weekday::Thu),
        Rule::ANY,
        "thursday, next thursday, this thursday",
    ),
    (
        Day::Weekday(Weekday::Fri),
        Rule::ANY,
        "friday, next friday, this friday",
    ),
    (
        Day::Weekday(Weekday::Sat),
        Rule::ANY,
        "saturday, next saturday, this saturday",
    ),
    (
        Day::Weekday(Weekday::Sun),
        Rule::ANY,
        "sunday, next sunday, this sunday",
    ),
    (Day::Weekday(Weekday::Sun), YOM, "יום ראשון, יום א'"),
    (Day::Weekday(Weekday::Mon), YOM, "יום שני, יום ב'"),
    (Day::Weekday(Weekday::Tue), YOM, "יום שלישי, יום ג'"),
    (Day::Weekday(Weekday::Wed), YOM, "יום רביעי, יום ד'"),
    (Day::Weekday(Weekday::Thu), YOM, "יום חמישי, יום ה'"),
    (Day::Weekday(Weekday::Fri), YOM, "יום שישי, יום ו'"),
    (Day::Weekday(Weekday::Sat), YOM, "יום שבת, יום ש'"),
    (Day::Weekday(Weekday::Tue), BARE_WEEKDAY, "שלישי"),
    (Day::Weekday(Weekday::Wed), BARE_WEEKDAY, "רביעי"),
    (Day::Weekday(Weekday::Thu), BARE_WEEKDAY, "חמישי"),
    (Day::Weekday(Weekday::Fri), BARE_WEEKDAY, "שישי"),
    (Day::Weekday(Weekday::Sat), SHABBAT, "שבת"),
];

static DATES: LazyLock<Lexicon<Day>> = LazyLock::new(|| grouped(DATE_PHRASES));

/// Digits with `/`, `.` or `-` between them; the shape is checked in [`numeric_date`].
static NUMERIC_DATE: Pattern = LazyLock::new(|| compile(r"[0-9]+(?:[/.\-][0-9]+)+"));

const EN_MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

static EN_DAY_MONTH: Pattern = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?-u:\b)([0-9]{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({EN_MONTHS})(?-u:\b)(?:,?\s+([0-9]{{4}})(?-u:\b))?"
    ))
});

static EN_MONTH_DAY: Pattern = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?-u:\b)({EN_MONTHS})\.?\s+([0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+([0-9]{{4}})(?-u:\b))?"
    ))
});

const HE_MONTHS: &[&str] = &[
    "ינואר",
    "פברואר",
    "מרץ|מרס",
    "אפריל",
    "מאי",
    "יוני",
    "יולי",
    "אוגוסט",
    "ספטמבר",
    "אוקטובר",
    "נובמבר",
    "דצמבר",
];

static HE_DAY_MONTH: Pattern = LazyLock::new(|| {
    compile(&format!(
        r"(?-u:\b)([0-9]{{1,2}})\s*[בל][-־]?\s*({})(?:\s+([0-9]{{4}})(?-u:\b))?",
        HE_MONTHS.join("|")
    ))
});

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_lowercase();
    if let Some(i) = HE_MONTHS
        .iter()
        .position(|m| m.split('|').any(|v| v == lower))
    {
        return u32::try_from(i + 1).ok();
    }
    let prefix = lower.get(..3)?;
    let i = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| *m == prefix)?;
    u32::try_from(i + 1).ok()
}

/// The first `month`/`day` on or after `today`.
fn upcoming(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    (0..5).find_map(|ahead| {
        NaiveDate::from_ymd_opt(today.year() + ahead, month, day).filter(|d| *d >= today)
    })
}

fn dated(year: Option<i32>, month: u32, day: u32, today: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => upcoming(today, month, day),
    }
}

/// Reads `yyyy-mm-dd`, `dd/mm`, `dd/mm/yy(yy)`, `dd.mm.yyyy`, `dd-mm-yyyy`; day first, month
/// first only when day first is impossible.
fn numeric_date(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    let sep = s.chars().find(|c| !c.is_ascii_digit())?;
    if s.chars().any(|c| !c.is_ascii_digit() && c != sep) {
        return None;
    }
    let parts: Vec<&str> = s.split(sep).collect();
    let num = |p: &str| p.parse::<u32>().ok();
    match parts.as_slice() {
        [y, m, d] if sep == '-' && y.len() == 4 && m.len() <= 2 && d.len() <= 2 => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, num(m)?, num(d)?)
        }
        [a, b] if sep == '/' && a.len() <= 2 && b.len() <= 2 => {
            let (a, b) = (num(a)?, num(b)?);
            upcoming(today, b, a).or_else(|| upcoming(today, a, b))
        }
        [a, b, y]
            if a.len() <= 2 && b.len() <= 2 && (y.len() == 4 || (y.len() == 2 && sep != '-')) =>
        {
            let year = y.parse::<i32>().ok()? + if y.len() == 2 { 2000 } else { 0 };
            let (a, b) = (num(a)?, num(b)?);
            NaiveDate::from_ymd_opt(year, b, a).or_else(|| NaiveDate::from_ymd_opt(year, a, b))
        }
        _ => None,
    }
}

fn resolve(day: Day, today: NaiveDate, says_today: bool) -> Option<NaiveDate> {
    match day {
        Day::Offset(n) => today.checked_add_days(Days::new(n)),
        Day::Weekday(weekday) => {
            let ahead =
                (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
            let ahead = if ahead == 0 && !says_today { 7 } else { ahead };
            today.checked_add_days(Days::new(u64::from(ahead)))
        }
        Day::Vague => None,
    }
}

/// Date mentions in order, and the byte spans they cover (so their digits are not amounts).
fn date_mentions(toks: &Tokens<'_>, today: NaiveDate) -> (Vec<DateMention>, Vec<Range<usize>>) {
    let text = toks.text;
    let mut found: Vec<(Range<usize>, Option<NaiveDate>)> = Vec::new();
    let mut add = |span: Range<usize>, date: Option<NaiveDate>| {
        if !found
            .iter()
            .any(|(s, _)| s.start < span.end && span.start < s.end)
        {
            found.push((span, date));
        }
    };
    for caps in captures_iter(&EN_DAY_MONTH, text) {
        if let (Some(m), Some(d), Some(mon)) = (caps.get(0), caps.get(1), caps.get(2)) {
            let year = caps.get(3).and_then(|y| y.as_str().parse().ok());
            let date = month_number(mon.as_str())
                .zip(d.as_str().parse().ok())
                .and_then(|(mon, d)| dated(year, mon, d, today));
            if date.is_some() {
                add(m.range(), date);
            }
        }
    }
    for caps in captures_iter(&EN_MONTH_DAY, text).chain(captures_iter(&HE_DAY_MONTH, text)) {
        let (Some(m), Some(a), Some(b)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        // "מאי" inside "מאיה" is no month.
        if text[b.end()..].starts_with(hebrew::is_letter) {
            continue;
        }
        // English puts the month first, Hebrew the day.
        let (mon, d) = if a.as_str().starts_with(|c: char| c.is_ascii_digit()) {
            (b, a)
        } else {
            (a, b)
        };
        let year = caps.get(3).and_then(|y| y.as_str().parse().ok());
        let date = month_number(mon.as_str())
            .zip(d.as_str().parse().ok())
            .and_then(|(mon, d)| dated(year, mon, d, today));
        if date.is_some() {
            add(m.range(), date);
        }
    }
    for m in find_iter(&NUMERIC_DATE, text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| c.is_alphanumeric() && !hebrew::is_letter(c) || c == '+')
            || after.is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        if let Some(date) = numeric_date(m.as_str(), today) {
            add(m.range(), Some(date));
        }
    }
    let hits = DATES.scan(toks);
    let says_today = hits.iter().any(|h| matches!(h.value, Day::Offset(0)));
    for hit in hits {
        let span = toks.list[hit.start].orig.start..toks.list[hit.end - 1].orig.end;
        add(span, resolve(*hit.value, today, says_today));
    }
    found.sort_by_key(|(span, _)| span.start);
    let spans = found.iter().map(|(span, _)| span.clone()).collect();
    let mut mentions: Vec<DateMention> = Vec::new();
    for (span, date) in found {
        let mention = DateMention {
            text: text[span].to_owned(),
            date,
        };
        if !mentions.contains(&mention) {
            mentions.push(mention);
        }
    }
    (mentions, spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A pattern that does not compile finds nothing at run time (`text::pattern`); here it
    /// fails the build's tests instead.
    #[test]
    fn every_built_in_pattern_compiles() {
        for (name, pattern) in [
            ("NUMBER", &NUMBER),
            ("NUMERIC_DATE", &NUMERIC_DATE),
            ("EN_DAY_MONTH", &EN_DAY_MONTH),
            ("EN_MONTH_DAY", &EN_MONTH_DAY),
            ("HE_DAY_MONTH", &HE_DAY_MONTH),
        ] {
            assert!(pattern.is_some(), "{name} does not compile");
        }
    }

    /// A Wednesday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 12).expect("valid date")
    }

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn intent(text: &str) -> Intent {
        classify(text, today()).intent
    }

    fn check(cases: &[&str], expected: Intent) {
        for text in cases {
            let c = classify(text, today());
            assert_eq!(c.intent, expected, "{text:?} → {c:?}");
            assert!(c.confidence > 0.45, "{text:?} confidence {}", c.confidence);
        }
    }

    #[test]
    fn every_lexicon_phrase_reads_as_its_own_words() {
        let lexicon_phrases = INTENTS
            .phrases()
            .chain(PRODUCTS.phrases())
            .chain(CURRENCIES.phrases())
            .chain(DATES.phrases());
        for phrase in lexicon_phrases {
            let toks = Tokens::new(&phrase);
            let words: Vec<&str> = (0..toks.len()).map(|i| toks.word(i)).collect();
            assert_eq!(
                words.join(" "),
                phrase,
                "phrase {phrase:?} would never match"
            );
        }
    }

    #[test]
    fn greetings() {
        check(
            &[
                "Hi",
                "Hello!",
                "hey there",
                "Good morning",
                "good evening :)",
                "שלום",
                "היי",
                "בוקר טוב",
                "ערב טוב לכולם",
                "אהלן, מה נשמע?",
            ],
            Intent::Greeting,
        );
    }

    #[test]
    fn a_greeting_gives_way_to_the_question() {
        assert_eq!(intent("Hi, how much is a flight to Rome?"), Intent::Pricing);
        assert_eq!(intent("שלום, כמה עולה טיסה לרומא?"), Intent::Pricing);
        assert_eq!(
            intent("Hello, I need to reschedule my appointment"),
            Intent::Reschedule
        );
        assert_eq!(intent("היי, יש לכם ביטוח נסיעות?"), Intent::ProductInquiry);
        let c = classify("Hi, how much is a flight to Rome?", today());
        assert!(c.confidence >= 0.65, "{c:?}");
        assert_eq!(c.entities.products, ["flights"]);
    }

    #[test]
    fn product_inquiries() {
        check(
            &[
                "Do you have travel insurance?",
                "Do you sell iPhones?",
                "I'm interested in a mortgage",
                "I'm looking for a laptop for my son",
                "Tell me more about your courses",
                "Do you offer teeth whitening?",
                "Is the iPhone 15 in stock?",
                "יש לכם השכרת רכב באילת?",
                "אני מתעניין במשכנתא",
                "אני מחפשת מחשב נייד",
                "מוכרים אוזניות?",
                "אשמח לפרטים נוספים על הקורס",
                "iPhone 15?",
            ],
            Intent::ProductInquiry,
        );
    }

    #[test]
    fn pricing() {
        check(
            &[
                "How much is a hotel room in Paris?",
                "What's the price of the premium plan?",
                "how much does a haircut cost",
                "Can I get a quote for car rental?",
                "What are your fees?",
                "Any discounts for students?",
                "כמה עולה תספורת?",
                "מה המחיר של מנוי שנתי?",
                "כמה זה עולה?",
                "אפשר הצעת מחיר לביטוח?",
                "מה העלות של ניקוי שיניים",
            ],
            Intent::Pricing,
        );
    }

    #[test]
    fn currency_conversion() {
        check(
            &[
                "Convert 100 USD to ILS",
                "What's the exchange rate for euros?",
                "how much is 100 dollars in shekels",
                "100 euros in dollars?",
                "How many shekels is $250?",
                "What's the dollar rate today?",
                "אני רוצה להמיר 500 שקל לדולרים",
                "מה שער הדולר היום?",
                "כמה שקלים זה 100 יורו?",
                "כמה זה 200 דולר בשקלים",
                "המרה של 1000 ש\"ח ליורו",
            ],
            Intent::CurrencyConversion,
        );
    }

    #[test]
    fn booking() {
        check(
            &[
                "I'd like to book a flight to London",
                "Can I make an appointment for tomorrow?",
                "I want to reserve a table for 4 tonight",
                "Do you have availability on Monday?",
                "Please schedule a teeth cleaning for next week",
                "Sign me up for the yoga class",
                "אני רוצה לקבוע תור לתספורת",
                "אפשר להזמין חדר לסוף השבוע?",
                "רוצה לשריין מקום בסיור של יום שישי",
                "אפשר תור למחר בבוקר?",
            ],
            Intent::Booking,
        );
    }

    #[test]
    fn reschedule() {
        check(
            &[
                "I need to reschedule my appointment",
                "Can we move my appointment to Thursday?",
                "Could I change the date of my booking?",
                "I can't make it tomorrow, can we do another day?",
                "Please postpone my haircut to next week",
                "I want to cancel my reservation",
                "אפשר לדחות את התור?",
                "אני צריך להזיז את הפגישה ליום חמישי",
                "רציתי לשנות את התור למחר",
                "לא אוכל להגיע מחר, אפשר מועד אחר?",
                "אפשר להקדים את התור?",
            ],
            Intent::Reschedule,
        );
    }

    #[test]
    fn support_requests() {
        check(
            &[
                "My phone is broken",
                "The app is not working",
                "I can't log in to my account",
                "I have a problem with my order",
                "I got an error when paying",
                "My package hasn't arrived yet",
                "I need help with my subscription",
                "How do I get a refund?",
                "יש לי תקלה באפליקציה",
                "הטלפון לא עובד",
                "ההזמנה שלי לא הגיעה",
                "אני צריכה עזרה עם החשבון",
                "המחשב נשבר, אפשר לתקן?",
                "לא מצליח להתחבר",
            ],
            Intent::SupportRequest,
        );
    }

    #[test]
    fn complaints() {
        check(
            &[
                "This is terrible service",
                "I'm very disappointed with the hotel",
                "Unacceptable! I've been waiting for two weeks",
                "Worst experience ever, I want my money back",
                "I want to file a complaint",
                "Your agent was rude to me",
                "שירות גרוע",
                "אני מאוד מאוכזבת מהטיסה",
                "אני רוצה להגיש תלונה",
                "חוצפה! אף אחד לא עונה לטלפון",
                "זה לא מקובל עליי",
                "The room was awful and the staff ignored us. Bye.",
            ],
            Intent::Complaint,
        );
    }

    #[test]
    fn goodbyes() {
        check(
            &[
                "Bye",
                "Thanks, that's all",
                "Thank you for your help!",
                "ok thanks, have a nice day",
                "Goodbye",
                "ביי",
                "תודה רבה, זה הכל",
                "להתראות",
                "תודה על העזרה",
                "לילה טוב",
                "No thanks, not interested",
            ],
            Intent::Goodbye,
        );
    }

    #[test]
    fn other_is_unsure() {
        for text in [
            "",
            "   ",
            "ok",
            "👍",
            "123",
            "The weather is nice",
            "מה?",
            "No problem",
            "אין בעיה",
            "asdfgh qwerty",
        ] {
            let c = classify(text, today());
            assert_eq!(c.intent, Intent::Other, "{text:?} → {c:?}");
            assert!(c.confidence <= 0.4, "{text:?}");
        }
    }

    #[test]
    fn confidence_reflects_clarity() {
        let clear = classify("I want to reschedule my appointment", today());
        assert!((0.7..=0.95).contains(&clear.confidence), "{clear:?}");
        let single = classify("Do you sell laptops?", today());
        assert!((0.7..=0.9).contains(&single.confidence), "{single:?}");
        let mixed = classify("I have a problem, how much is the repair?", today());
        assert!(mixed.confidence < clear.confidence, "{mixed:?}");
    }

    #[test]
    fn currencies_in_order_without_repeats() {
        let c = classify(
            "Convert $100 to € and then 50 USD to ש״ח, and 20 dollars",
            today(),
        );
        assert_eq!(c.entities.currencies, ["USD", "EUR", "ILS"]);
        let c = classify("כמה זה 100 שקל בדולרים? ואם זה 100 ליש\"ט?", today());
        assert_eq!(c.entities.currencies, ["ILS", "USD", "GBP"]);
        let c = classify("prices in gbp, chf, jpy or NIS", today());
        assert_eq!(c.entities.currencies, ["GBP", "CHF", "JPY", "ILS"]);
        let c = classify("C$50 or A$60 or US$70 or £5 or ¥300 or ₪40", today());
        assert_eq!(
            c.entities.currencies,
            ["CAD", "AUD", "USD", "GBP", "JPY", "ILS"]
        );
    }

    #[test]
    fn currency_words_that_are_also_words() {
        // Lowercase "try"/"rub" are verbs; "משקל" is weight; "בין" is between.
        let c = classify("I'll try to rub it, the משקל is fine, בין 2 ל-3", today());
        assert!(c.entities.currencies.is_empty(), "{c:?}");
        let c = classify("Convert 100 TRY to RUB", today());
        assert_eq!(c.entities.currencies, ["TRY", "RUB"]);
        let c = classify("100 שח זה הרבה", today());
        assert_eq!(c.entities.currencies, ["ILS"]);
    }

    fn amount(value: f64, currency: Option<&str>) -> Amount {
        Amount {
            value,
            currency: currency.map(str::to_owned),
        }
    }

    #[test]
    fn amounts_with_their_currency() {
        let cases: &[(&str, Vec<Amount>)] = &[
            ("$100", vec![amount(100.0, Some("USD"))]),
            ("it costs 100 dollars", vec![amount(100.0, Some("USD"))]),
            ("₪250 please", vec![amount(250.0, Some("ILS"))]),
            ("שילמתי 250 ש\"ח", vec![amount(250.0, Some("ILS"))]),
            ("1,200.50 EUR", vec![amount(1200.5, Some("EUR"))]),
            ("about 100$ total", vec![amount(100.0, Some("USD"))]),
            ("€ 1.200,50", vec![amount(1200.5, Some("EUR"))]),
            ("EUR 75", vec![amount(75.0, Some("EUR"))]),
            ("budget of 5k$", vec![amount(5000.0, Some("USD"))]),
            ("5 thousand dollars", vec![amount(5000.0, Some("USD"))]),
            ("בערך 3 אלף שקל", vec![amount(3000.0, Some("ILS"))]),
            ("ב-100 שקלים", vec![amount(100.0, Some("ILS"))]),
            ("my budget is 5000", vec![amount(5000.0, None)]),
            ("convert 100 to euros", vec![amount(100.0, None)]),
            (
                "convert 100 USD to 370 ILS",
                vec![amount(100.0, Some("USD")), amount(370.0, Some("ILS"))],
            ),
        ];
        for (text, expected) in cases {
            let c = classify(text, today());
            assert_eq!(&c.entities.amounts, expected, "{text:?}");
        }
    }

    #[test]
    fn numbers_that_are_not_amounts() {
        for text in [
            "100",
            "2 tickets for 3 people",
            "call me at 052-555-1234",
            "see you at 10:30",
            "on 12/03/2025",
            "50% off",
            "flight A320",
            "room 12",
            "+972525551234",
            "2025-03-14",
        ] {
            let c = classify(text, today());
            assert!(
                c.entities.amounts.is_empty(),
                "{text:?} → {:?}",
                c.entities.amounts
            );
        }
    }

    fn dates(text: &str) -> Vec<(String, Option<NaiveDate>)> {
        classify(text, today())
            .entities
            .dates
            .into_iter()
            .map(|d| (d.text, d.date))
            .collect()
    }

    fn one(text: &str, d: Option<NaiveDate>) -> Vec<(String, Option<NaiveDate>)> {
        vec![(text.to_owned(), d)]
    }

    #[test]
    fn relative_english_dates() {
        assert_eq!(dates("today please"), one("today", date(2025, 3, 12)));
        assert_eq!(dates("Tonight?"), one("Tonight", date(2025, 3, 12)));
        assert_eq!(dates("tomorrow at 5"), one("tomorrow", date(2025, 3, 13)));
        assert_eq!(
            dates("the day after tomorrow"),
            one("the day after tomorrow", date(2025, 3, 14))
        );
        assert_eq!(dates("sometime next week"), one("next week", None));
        assert_eq!(dates("on Monday"), one("Monday", date(2025, 3, 17)));
        assert_eq!(
            dates("next Tuesday"),
            one("next Tuesday", date(2025, 3, 18))
        );
        assert_eq!(dates("Friday works"), one("Friday", date(2025, 3, 14)));
        // Today is a Wednesday: "Wednesday" alone is next week's…
        assert_eq!(dates("Wednesday"), one("Wednesday", date(2025, 3, 19)));
        // …unless the message says today.
        assert_eq!(
            dates("today, Wednesday"),
            vec![
                ("today".to_owned(), date(2025, 3, 12)),
                ("Wednesday".to_owned(), date(2025, 3, 12))
            ]
        );
    }

    #[test]
    fn relative_hebrew_dates() {
        assert_eq!(dates("אפשר היום?"), one("היום", date(2025, 3, 12)));
        assert_eq!(dates("מחר בבוקר"), one("מחר", date(2025, 3, 13)));
        assert_eq!(dates("ולמחר?"), one("ולמחר", date(2025, 3, 13)));
        assert_eq!(dates("מחרתיים"), one("מחרתיים", date(2025, 3, 14)));
        assert_eq!(dates("בשבוע הבא"), one("בשבוע הבא", None));
        assert_eq!(dates("ביום ראשון"), one("ביום ראשון", date(2025, 3, 16)));
        assert_eq!(dates("ביום שני בערב"), one("ביום שני", date(2025, 3, 17)));
        assert_eq!(dates("יום ב׳"), one("יום ב׳", date(2025, 3, 17)));
        assert_eq!(dates("בשישי"), one("בשישי", date(2025, 3, 14)));
        assert_eq!(dates("בשבת"), one("בשבת", date(2025, 3, 15)));
        assert!(dates("שבת שלום").is_empty());
        assert!(dates("אפשר לשבת בחוץ?").is_empty());
        assert!(dates("שני אנשים").is_empty());
        // "היום שני" is "today is Monday", not "on Monday".
        assert_eq!(dates("היום שני"), one("היום", date(2025, 3, 12)));
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(dates("on 15/03"), one("15/03", date(2025, 3, 15)));
        // Already past this year: next year's.
        assert_eq!(dates("on 01/02"), one("01/02", date(2026, 2, 1)));
        assert_eq!(dates("12/03/2025"), one("12/03/2025", date(2025, 3, 12)));
        // Invalid day first: month first.
        assert_eq!(dates("03/25/2025"), one("03/25/2025", date(2025, 3, 25)));
        assert_eq!(dates("ב-5.4.26"), one("5.4.26", date(2026, 4, 5)));
        assert_eq!(dates("2025-04-01"), one("2025-04-01", date(2025, 4, 1)));
        assert_eq!(dates("March 20th"), one("March 20th", date(2025, 3, 20)));
        assert_eq!(
            dates("the 3rd of May 2026"),
            one("3rd of May 2026", date(2026, 5, 3))
        );
        assert_eq!(dates("ב-20 במאי"), one("20 במאי", date(2025, 5, 20)));
        assert!(dates("13/13").is_empty());
        assert!(dates("1.5 kg").is_empty());
        assert!(dates("052-555-1234").is_empty());
        assert!(dates("1/2/3/4").is_empty());
    }

    fn products(text: &str) -> Vec<String> {
        classify(text, today()).entities.products
    }

    #[test]
    fn products_in_both_languages() {
        assert_eq!(
            products("cheap flights and a hotel in Rome"),
            ["flights", "hotels"]
        );
        assert_eq!(
            products("Do you have travel insurance?"),
            ["travel_insurance"]
        );
        assert_eq!(products("I need insurance"), ["insurance"]);
        assert_eq!(products("rent a car in Eilat"), ["car_rental"]);
        assert_eq!(
            products("mortgage or a personal loan"),
            ["mortgage", "loans"]
        );
        assert_eq!(products("I want a new credit card"), ["credit_card"]);
        assert_eq!(
            products("do you sell iPhones and AirPods"),
            ["phones", "headphones"]
        );
        assert_eq!(products("plane tickets to Paris"), ["flights"]);
        assert_eq!(products("tickets for the show"), ["tickets"]);
        assert_eq!(products("טיסה לרומא ומלון"), ["flights", "hotels"]);
        assert_eq!(products("ביטוח נסיעות לחו\"ל"), ["travel_insurance"]);
        assert_eq!(products("השכרת רכב"), ["car_rental"]);
        assert_eq!(products("משכנתא והלוואה"), ["mortgage", "loans"]);
        assert_eq!(products("כרטיס אשראי חדש"), ["credit_card"]);
        assert_eq!(products("המרת מט\"ח"), ["currency_exchange"]);
        assert_eq!(products("מחשב נייד וטאבלט"), ["laptops", "tablets"]);
        assert_eq!(products("קורס ערב"), ["courses"]);
        assert_eq!(products("מנוי לחדר כושר"), ["subscriptions"]);
        assert_eq!(products("תספורת ורופא שיניים"), ["haircut", "dental"]);
        assert_eq!(products("סיור מודרך ביפו"), ["tours"]);
        assert_eq!(products("כרטיסים להופעה"), ["tickets"]);
        assert_eq!(products("הטלפון שלי נשבר"), ["phones"]);
    }

    #[test]
    fn contact_phones_and_other_lookalikes_are_not_products() {
        for text in [
            "call me on my phone",
            "what's your phone number?",
            "reach me by phone",
            "I'll phone you tomorrow",
            "תתקשרו אליי בטלפון",
            "מספר טלפון 0525551234",
            "can I pay by credit card?",
            "אפשר לשלם בכרטיס אשראי?",
            "of course",
            "I plan to visit",
            "show me what you have",
            "I opened a support ticket",
            "the meeting room",
        ] {
            assert!(products(text).is_empty(), "{text:?} → {:?}", products(text));
        }
        assert_eq!(products("my phone is broken"), ["phones"]);
    }

    #[test]
    fn language_is_detected() {
        assert_eq!(classify("כמה עולה טיסה", today()).language, Some("he"));
        assert_eq!(classify("How much is it", today()).language, Some("en"));
        assert_eq!(classify("👍", today()).language, None);
    }

    #[test]
    fn long_and_odd_input() {
        let long = "hello שלום 😀 $100 ".repeat(500);
        let c = classify(&long, today());
        assert!(c.confidence <= 1.0);
        let deep = "9".repeat(8000);
        assert!(classify(&deep, today()).entities.amounts.is_empty());
        let c = classify("ש\"\"\"ח '''' \"\" ׳׳ ב׳׳ ₪₪ $ 1..2,,3 -- //", today());
        assert!(c.confidence <= 1.0);
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,300}") {
            let c = classify(&text, today());
            prop_assert!((0.0..=1.0).contains(&c.confidence));
        }

        #[test]
        fn never_panics_on_mixed_scripts(
            text in "[a-zA-Z0-9 א-ת ְ-ׇ$€£₪¥.,:/\\-'\"״׳?!😀🎉\u{200f}\n]{0,200}",
            y in 1i32..9000,
            d in 0u32..400,
        ) {
            let day = NaiveDate::from_yo_opt(y, d % 365 + 1).unwrap_or_else(today);
            let c = classify(&text, day);
            prop_assert!((0.0..=1.0).contains(&c.confidence));
            for a in &c.entities.amounts {
                prop_assert!(a.value.is_finite());
            }
        }
    }
}
