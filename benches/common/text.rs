//! What generated customers and agents say: English and Hebrew templates with names, cities,
//! products and amounts, filled from a seeded RNG.

use rand::Rng;
use rand::rngs::SmallRng;

/// The language a customer writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    He,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::He => "he",
        }
    }
}

/// Where a message sits in its conversation (templates differ at the start and the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Open,
    Middle,
    Close,
}

/// A person's name: as shown, and a Latin spelling for email addresses.
#[derive(Debug, Clone)]
pub struct Name {
    pub first: String,
    pub last: String,
    pub latin: String,
}

impl Name {
    pub fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

const EN_FIRST: &[&str] = &[
    "Dana", "Noa", "Michael", "Sarah", "David", "Emily", "Daniel", "Rachel", "John", "Maya",
    "Jonathan", "Olivia", "Ethan", "Tamar", "Adam", "Lior", "Hannah", "Ben", "Jessica", "Ari",
];
const EN_LAST: &[&str] = &[
    "Cohen", "Levi", "Smith", "Johnson", "Friedman", "Brown", "Katz", "Miller", "Goldberg",
    "Davis", "Shapiro", "Wilson", "Klein", "Rosen", "Taylor", "Green",
];
/// Hebrew first names with a Latin spelling.
const HE_FIRST: &[(&str, &str)] = &[
    ("דנה", "dana"),
    ("נועה", "noa"),
    ("מיכאל", "michael"),
    ("שרה", "sara"),
    ("דוד", "david"),
    ("יעל", "yael"),
    ("דניאל", "daniel"),
    ("רחל", "rachel"),
    ("יוסי", "yossi"),
    ("מאיה", "maya"),
    ("אבי", "avi"),
    ("תמר", "tamar"),
    ("עומר", "omer"),
    ("שירה", "shira"),
    ("איתי", "itai"),
    ("ליאור", "lior"),
];
const HE_LAST: &[(&str, &str)] = &[
    ("כהן", "cohen"),
    ("לוי", "levi"),
    ("מזרחי", "mizrahi"),
    ("פרץ", "peretz"),
    ("ביטון", "biton"),
    ("אברהם", "avraham"),
    ("פרידמן", "friedman"),
    ("אזולאי", "azulay"),
    ("דהן", "dahan"),
    ("חדד", "hadad"),
    ("גבאי", "gabay"),
    ("שפירא", "shapira"),
];
const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "walla.co.il",
    "icloud.com",
    "example.org",
];

pub const EN_CITIES: &[&str] = &[
    "Tel Aviv",
    "Haifa",
    "Jerusalem",
    "Eilat",
    "Netanya",
    "New York",
    "London",
    "Boston",
    "Chicago",
    "Miami",
];
pub const HE_CITIES: &[&str] = &[
    "תל אביב",
    "חיפה",
    "ירושלים",
    "אילת",
    "נתניה",
    "באר שבע",
    "רמת גן",
    "הרצליה",
];
const EN_PRODUCTS: &[&str] = &[
    "flight to Rome",
    "hotel room in Paris",
    "travel insurance",
    "car rental in Eilat",
    "iPhone 15",
    "laptop",
    "noise cancelling headphones",
    "annual subscription",
    "double room",
    "concert tickets",
    "teeth cleaning",
    "weekend package in the Galilee",
];
const HE_PRODUCTS: &[&str] = &[
    "טיסה לרומא",
    "חדר במלון בפריז",
    "ביטוח נסיעות",
    "השכרת רכב באילת",
    "אייפון 15",
    "מחשב נייד",
    "אוזניות",
    "מנוי שנתי",
    "חדר זוגי",
    "כרטיסים להופעה",
    "ניקוי שיניים",
    "חבילת סופ\"ש בגליל",
];
/// Interests as the profile keeps them (canonical English, like the extractor's output).
pub const INTERESTS: &[&str] = &[
    "flights",
    "hotels",
    "insurance",
    "car_rental",
    "phones",
    "laptops",
    "headphones",
    "subscriptions",
    "concerts",
    "dental",
];
const EN_DAYS: &[&str] = &[
    "tomorrow",
    "Monday",
    "next Tuesday",
    "Thursday",
    "Friday morning",
    "the day after tomorrow",
];
const HE_DAYS: &[&str] = &[
    "מחר",
    "יום שני",
    "יום רביעי",
    "יום חמישי",
    "שישי בבוקר",
    "מחרתיים",
];
/// (code, English words, Hebrew words)
const CURRENCIES: &[(&str, &str, &str)] = &[
    ("ILS", "shekels", "שקל"),
    ("USD", "dollars", "דולר"),
    ("EUR", "euros", "יורו"),
];
const STAFF: &[&str] = &[
    "Noa (staff)",
    "Avi (staff)",
    "Dana (staff)",
    "Michael (staff)",
    "Shira (staff)",
];

const EN_CUSTOMER_OPEN: &[&str] = &[
    "Hi, my name is {name}. I'm interested in a {product}.",
    "Hello! Do you have a {product} available next week?",
    "Hi, how much is a {product}?",
    "Good morning, I live in {city} and I'm looking for a {product}.",
    "Hey, it's {first} again about the {product}",
    "Hi there, can I get a quote for a {product}?",
    "Hello, I saw your ad for the {product}, is it still available?",
];
const EN_CUSTOMER_MIDDLE: &[&str] = &[
    "My budget is around {amount} {currency_word}.",
    "Can I pay in {currency_word}? How much is that in shekels?",
    "I'd like to book it for {day}.",
    "Can we move it to {day}? Something came up.",
    "What's the exchange rate for euros today?",
    "Is there a discount if I pay {amount} {currency_word} upfront?",
    "My email is {email}, please send the details there.",
    "I'm from {city}, is pickup possible from there?",
    "The last order arrived damaged, I'm not happy about it.",
    "Do you have availability on {day}?",
    "How long does delivery take to {city}?",
    "OK, and what's included in the price?",
    "Could you call me back at {phone}?",
    "My wife and I want to travel together, do you have a package for two?",
];
const EN_CUSTOMER_CLOSE: &[&str] = &[
    "Thanks, that's all for now!",
    "Great, thank you very much. Bye",
    "Perfect, I'll think about it and get back to you.",
    "Thank you, see you {day}.",
];
const EN_AGENT_OPEN: &[&str] = &[
    "Hi {first}! Thanks for reaching out. How can I help you today?",
    "Hello {first}, this is Noa from Atlas. What can I do for you?",
    "Hi! Happy to help with the {product}.",
];
const EN_AGENT_MIDDLE: &[&str] = &[
    "The {product} costs {amount} {currency}, including taxes.",
    "Sure, I can book that for {day}. Shall I confirm?",
    "I've sent the details to your email.",
    "We have availability on {day} at 10:00 or 14:30.",
    "Sorry to hear that. I've opened a ticket and a manager will call you back today.",
    "Delivery to {city} usually takes 2-3 business days.",
    "Today's rate is about 3.7 shekels to the dollar.",
    "The price includes breakfast and free cancellation up to 48 hours before.",
];
const EN_AGENT_CLOSE: &[&str] = &[
    "Is there anything else I can help you with?",
    "You're welcome, have a great day!",
    "Thanks {first}, talk soon!",
];
const HE_CUSTOMER_OPEN: &[&str] = &[
    "היי, קוראים לי {name}. אני מתעניין ב{product}.",
    "שלום, יש לכם {product} בשבוע הבא?",
    "כמה עולה {product}?",
    "בוקר טוב, אני גר ב{city} ומחפש {product}.",
    "אפשר הצעת מחיר ל{product}?",
    "היי זה שוב {first}, לגבי ה{product}",
    "ראיתי את הפרסומת על {product}, זה עדיין רלוונטי?",
];
const HE_CUSTOMER_MIDDLE: &[&str] = &[
    "התקציב שלי בערך {amount} {currency_word}.",
    "אפשר לשלם בדולרים? כמה זה בשקלים?",
    "אני רוצה לקבוע ל{day}.",
    "אפשר להזיז ל{day}? משהו השתנה אצלי.",
    "מה שער הדולר היום?",
    "המייל שלי {email}, תשלחו לשם בבקשה.",
    "ההזמנה הקודמת הגיעה פגומה, אני ממש לא מרוצה.",
    "יש מקום פנוי {day}?",
    "כמה זמן לוקח משלוח ל{city}?",
    "מה כלול במחיר?",
    "אפשר לחזור אליי למספר {phone}?",
    "יש הנחה אם משלמים {amount} {currency_word} מראש?",
];
const HE_CUSTOMER_CLOSE: &[&str] = &[
    "תודה רבה, זה הכל בינתיים!",
    "מעולה, תודה. ביי",
    "אחשוב על זה ואחזור אליכם.",
    "תודה, נתראה {day}.",
];
const HE_AGENT_OPEN: &[&str] = &[
    "היי {first}! תודה שפנית. איך אפשר לעזור?",
    "שלום {first}, כאן נועה מאטלס. במה אפשר לעזור?",
    "היי! בשמחה אעזור לגבי {product}.",
];
const HE_AGENT_MIDDLE: &[&str] = &[
    "{product} עולה {amount} {currency} כולל מע\"מ.",
    "בטח, אפשר לקבוע ל{day}. לאשר?",
    "שלחתי את הפרטים למייל שלך.",
    "יש לנו מקום {day} ב-10:00 או ב-14:30.",
    "מצטערים לשמוע. פתחתי פנייה ומנהל יחזור אליך היום.",
    "משלוח ל{city} לוקח בדרך כלל 2-3 ימי עסקים.",
    "המחיר כולל ארוחת בוקר וביטול חינם עד 48 שעות לפני.",
];
const HE_AGENT_CLOSE: &[&str] = &[
    "יש עוד משהו שאפשר לעזור בו?",
    "בשמחה, יום נעים!",
    "תודה {first}, נדבר!",
];
const EN_NOTES: &[&str] = &[
    "Prefers WhatsApp over phone calls.",
    "VIP customer: offer the loyalty discount.",
    "Asked for a callback after 18:00.",
    "Complained about a late delivery; refunded 10%.",
    "Interested in a {product}, budget about {amount} {currency}.",
    "Speaks Hebrew and English; prefers English.",
    "Do not call on Saturdays.",
    "Travelling with two kids, needs a family room.",
];
const HE_NOTES: &[&str] = &[
    "מעדיף וואטסאפ על פני שיחות טלפון.",
    "לקוח VIP: להציע הנחת נאמנות.",
    "ביקש שיחזרו אליו אחרי 18:00.",
    "התלונן על איחור במשלוח; קיבל החזר של 10%.",
    "מתעניין ב{product}, תקציב של כ-{amount} {currency}.",
    "לא להתקשר בשבת.",
    "נוסע עם שני ילדים, צריך חדר משפחתי.",
];
const EN_CALL_SUMMARIES: &[&str] = &[
    "Call summary: discussed the {product}, sent a quote of {amount} {currency}.",
    "Call summary: customer will confirm the booking for {day}.",
];
const HE_CALL_SUMMARIES: &[&str] = &[
    "סיכום שיחה: דיברנו על {product}, נשלחה הצעת מחיר של {amount} {currency}.",
    "סיכום שיחה: הלקוח יאשר את ההזמנה ל{day}.",
];
const EN_SUMMARIES: &[&str] = &[
    "{first} asked about a {product} and its price in {currency}; the agent quoted {amount} {currency}. Next step: confirm the booking for {day}.",
    "{first} from {city} compared options for a {product} with a budget of about {amount} {currency}. The agent emailed the details; the customer will get back.",
    "{first} complained about a damaged order; a ticket was opened and a manager promised a call back. Sentiment: negative.",
    "{first} rescheduled the {product} to {day} and asked about the exchange rate.",
];
const HE_SUMMARIES: &[&str] = &[
    "{first} שאל/ה על {product} ועל המחיר ב{currency}; הנציג/ה הציע/ה {amount} {currency}. הצעד הבא: לאשר את ההזמנה ל{day}.",
    "{first} מ{city} השווה/תה אפשרויות ל{product} בתקציב של כ-{amount} {currency}. הפרטים נשלחו במייל; הלקוח/ה יחזור/תחזור.",
    "{first} התלונן/ה על הזמנה פגומה; נפתחה פנייה ומנהל הבטיח לחזור. סנטימנט: שלילי.",
    "{first} הזיז/ה את {product} ל{day} ושאל/ה על שער החליפין.",
];

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Agent,
}

/// One template of each kind, by language.
struct Set {
    customer: [&'static [&'static str]; 3],
    agent: [&'static [&'static str]; 3],
    notes: &'static [&'static str],
    call_summaries: &'static [&'static str],
    summaries: &'static [&'static str],
    cities: &'static [&'static str],
    products: &'static [&'static str],
    days: &'static [&'static str],
}

const EN: Set = Set {
    customer: [EN_CUSTOMER_OPEN, EN_CUSTOMER_MIDDLE, EN_CUSTOMER_CLOSE],
    agent: [EN_AGENT_OPEN, EN_AGENT_MIDDLE, EN_AGENT_CLOSE],
    notes: EN_NOTES,
    call_summaries: EN_CALL_SUMMARIES,
    summaries: EN_SUMMARIES,
    cities: EN_CITIES,
    products: EN_PRODUCTS,
    days: EN_DAYS,
};
const HE: Set = Set {
    customer: [HE_CUSTOMER_OPEN, HE_CUSTOMER_MIDDLE, HE_CUSTOMER_CLOSE],
    agent: [HE_AGENT_OPEN, HE_AGENT_MIDDLE, HE_AGENT_CLOSE],
    notes: HE_NOTES,
    call_summaries: HE_CALL_SUMMARIES,
    summaries: HE_SUMMARIES,
    cities: HE_CITIES,
    products: HE_PRODUCTS,
    days: HE_DAYS,
};

fn set(lang: Lang) -> &'static Set {
    match lang {
        Lang::En => &EN,
        Lang::He => &HE,
    }
}

fn pick<T: Copy>(rng: &mut SmallRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

pub fn name(rng: &mut SmallRng, lang: Lang) -> Name {
    match lang {
        Lang::En => {
            let first = pick(rng, EN_FIRST);
            let last = pick(rng, EN_LAST);
            Name {
                first: first.into(),
                last: last.into(),
                latin: format!("{}.{}", first, last).to_lowercase(),
            }
        }
        Lang::He => {
            let (first, first_latin) = pick(rng, HE_FIRST);
            let (last, last_latin) = pick(rng, HE_LAST);
            Name {
                first: first.into(),
                last: last.into(),
                latin: format!("{first_latin}.{last_latin}"),
            }
        }
    }
}

/// A unique address: the lead's number keeps it unique within the dataset.
pub fn email(rng: &mut SmallRng, name: &Name, unique: usize) -> String {
    format!("{}{}@{}", name.latin, unique, pick(rng, EMAIL_DOMAINS))
}

pub fn staff_label(rng: &mut SmallRng) -> &'static str {
    pick(rng, STAFF)
}

pub fn city(rng: &mut SmallRng, lang: Lang) -> &'static str {
    pick(rng, set(lang).cities)
}

pub fn interest(rng: &mut SmallRng) -> &'static str {
    pick(rng, INTERESTS)
}

/// A currency code.
pub fn currency(rng: &mut SmallRng) -> &'static str {
    pick(rng, CURRENCIES).0
}

/// What a customer knows about themselves, used to fill templates consistently.
pub struct Persona<'a> {
    pub lang: Lang,
    pub name: &'a Name,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub city: &'a str,
}

/// A message for `speaker` at `turn` of a conversation with `persona`.
pub fn message(rng: &mut SmallRng, persona: &Persona<'_>, speaker: Speaker, turn: Turn) -> String {
    let s = set(persona.lang);
    let index = match turn {
        Turn::Open => 0,
        Turn::Middle => 1,
        Turn::Close => 2,
    };
    let templates = match speaker {
        Speaker::Customer => s.customer[index],
        Speaker::Agent => s.agent[index],
    };
    let mut template = pick(rng, templates);
    // Without an email or phone to mention, say something else.
    while (persona.email.is_none() && template.contains("{email}"))
        || (persona.phone.is_none() && template.contains("{phone}"))
    {
        template = pick(rng, templates);
    }
    fill(rng, template, persona)
}

pub fn note(rng: &mut SmallRng, persona: &Persona<'_>, call_summary: bool) -> String {
    let s = set(persona.lang);
    let templates = if call_summary {
        s.call_summaries
    } else {
        s.notes
    };
    let template = pick(rng, templates);
    fill(rng, template, persona)
}

pub fn summary(rng: &mut SmallRng, persona: &Persona<'_>) -> String {
    let template = pick(rng, set(persona.lang).summaries);
    fill(rng, template, persona)
}

/// Replaces `{placeholders}` with the persona's details and random products, days and sums.
fn fill(rng: &mut SmallRng, template: &str, persona: &Persona<'_>) -> String {
    let s = set(persona.lang);
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let (code, en_word, he_word) = pick(rng, CURRENCIES);
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let key = &rest[start + 1..start + len];
        match key {
            "name" => out.push_str(&persona.name.full()),
            "first" => out.push_str(&persona.name.first),
            "city" => out.push_str(persona.city),
            "email" => out.push_str(persona.email.unwrap_or("")),
            "phone" => out.push_str(persona.phone.unwrap_or("")),
            "product" => out.push_str(pick(rng, s.products)),
            "day" => out.push_str(pick(rng, s.days)),
            "amount" => {
                let amount = rng.random_range(2..400u32) * 25;
                out.push_str(&amount.to_string());
            }
            "currency" => out.push_str(code),
            "currency_word" => out.push_str(match persona.lang {
                Lang::En => en_word,
                Lang::He => he_word,
            }),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}
