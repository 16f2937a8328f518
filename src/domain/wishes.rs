//! What a customer is looking for: budget, bedrooms (or Israeli room counts), pets, move-in
//! date and preferences, in English and Hebrew. Values stay in the customer's words where they
//! are words (preferences); numbers, dates and animal kinds are normalized.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, Months, NaiveDate};

use super::classify::Classification;
use super::dialogue::Asked;
use super::extract::{Fact, FactKey, clause_end, clause_start, corrects, fact};
use super::profile::KnownKey;
use super::text::lexicon::{Lexicon, Rule, grouped, listed};
use super::text::numbers::parse_number;
use super::text::pattern::{Pattern, compile};
use super::text::tokens::Tokens;

/// What [`read`] found: facts stated outright, and what the message means as an answer.
#[derive(Debug, Default)]
pub(super) struct Wishes {
    pub(super) stated: Vec<Fact>,
    pub(super) answers: Vec<(Asked, Fact)>,
}

pub(super) fn read(
    toks: &Tokens<'_>,
    classification: &Classification,
    region: &str,
    today: Option<NaiveDate>,
) -> Wishes {
    let mut w = Wishes::default();
    let _ = classification;
    rooms(toks, &mut w);
    budget(toks, region, &mut w);
    pets(toks, &mut w);
    if let Some(today) = today {
        move_in(toks, today, region, &mut w);
    }
    preferences(toks, &mut w);
    property_of_interest(toks, &mut w);
    w
}

// ---------------------------------------------------------------------------------------------
// Budget

/// A sum as people write it: a currency sign, the number ("3.5k", "1,100", "2.3"), a scale word
/// and a currency word.
static AMOUNT: Pattern = LazyLock::new(|| {
    compile(
        r#"(?i)([$£€₪])?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(k\b|thousand|million|grand|אלף|מיליון)?\s?(₪|ש"ח|ש״ח|שקלים|שקל|nis|dollars|dollar|usd|euros|euro|eur|€|pounds|gbp|£|pcm)?"#,
    )
});

/// Words that make a sum a budget.
const BUDGET_WORDS: &str = "\
    budget up to upto max maximum under around about approximately spend afford pay pre approved \
    preapproved range between no more than tops ceiling תקציב עד בסביבות מקסימום באזור \
    בערך סביב לא יותר מ בין";

/// Words after a sum that say how often it is paid.
const MONTH_WORDS: &str = "month monthly pcm mo בחודש לחודש חודשי";
const TOTAL_WORDS: &str = "\
    total whole trip week holiday vacation honeymoon person pp two overall buy buying each \
    purchase mortgage approved לשנינו לזוג לאדם לטיול לחופשה סהכ לקנות קנייה משכנתא";

fn region_currency(region: &str) -> &'static str {
    match region {
        "US" => "USD",
        "GB" => "GBP",
        "IL" => "ILS",
        "CA" => "CAD",
        "AU" => "AUD",
        _ => "EUR",
    }
}

fn currency_of(sign: Option<&str>, word: Option<&str>) -> Option<&'static str> {
    let w = word.map(str::to_lowercase);
    match (sign, w.as_deref()) {
        (Some("$"), _) | (_, Some("dollars" | "dollar" | "usd")) => Some("USD"),
        (Some("£"), _) | (_, Some("pounds" | "gbp" | "£" | "pcm")) => Some("GBP"),
        (Some("€"), _) | (_, Some("euros" | "euro" | "eur" | "€")) => Some("EUR"),
        (Some("₪"), _) | (_, Some("₪" | "ש\"ח" | "ש״ח" | "שקלים" | "שקל" | "nis")) => {
            Some("ILS")
        }
        _ => None,
    }
}

/// One sum in the message.
struct Sum {
    amount: f64,
    currency: Option<&'static str>,
    /// Word index of the number.
    at: usize,
    end: usize,
    /// Written as a monthly rate ("/mo").
    per_month: bool,
}

fn sums(toks: &Tokens<'_>) -> Vec<Sum> {
    let text = toks.text;
    let mut out = Vec::new();
    for caps in super::text::pattern::captures_iter(&AMOUNT, text) {
        let Some(number) = caps.get(2) else { continue };
        let end = (2..=4)
            .filter_map(|g| caps.get(g))
            .map(|m| m.end())
            .max()
            .unwrap_or(number.end());
        // Part of a phone number, a time, a date or a word ("2br", "10am", "1/5"); a range
        // ("8-10k") and a Hebrew prefix ("ל-9000") may come before.
        let mut back = text[..number.start()].chars().rev();
        let before = back.next();
        let range_or_prefix = before == Some('-')
            && back
                .next()
                .is_some_and(|c| c.is_ascii_digit() || super::text::hebrew::is_letter(c));
        let after = text[end..].chars().next();
        // "$2,800/mo", "1500/month": a rate, not a date.
        let per_month = ["/mo", "/month", "/m ", "/pcm"]
            .iter()
            .any(|p| text[end..].to_lowercase().starts_with(p))
            || text[end..].eq_ignore_ascii_case("/m");
        let glued_before = !range_or_prefix
            && before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | ':' | '-' | '.'));
        let glued_after =
            after.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | ':' | '%'));
        if glued_before || (glued_after && !per_month) {
            continue;
        }
        let Some(mut amount) = parse_number(number.as_str()) else {
            continue;
        };
        let scale = caps.get(3).map(|m| m.as_str().to_lowercase());
        amount *= match scale.as_deref() {
            Some("k" | "thousand" | "grand" | "אלף") => 1e3,
            Some("million" | "מיליון") => 1e6,
            _ => 1.0,
        };
        let digits = number.as_str().bytes().filter(u8::is_ascii_digit).count();
        if digits >= 7 && scale.is_none() && caps.get(1).is_none() {
            continue;
        }
        let currency = currency_of(
            caps.get(1).map(|m| m.as_str()),
            caps.get(4).map(|m| m.as_str()),
        );
        let at = toks.index_at(number.start());
        let end = toks.index_at(end.saturating_sub(1)) + 1;
        // A count of things ("2 bedrooms", "3 חדרים", "two adults") is not a sum.
        let next = toks.word(end);
        if scale.is_none()
            && currency.is_none()
            && (ROOM_WORDS.longest_at(toks, end).is_some()
                || listed(COUNTED, next)
                || (1900..=2100).contains(&(amount as i64)) && amount.fract() == 0.0)
        {
            continue;
        }
        out.push(Sum {
            amount,
            currency,
            at,
            end,
            per_month,
        });
    }
    out
}

/// Words after a number that make it a count, not a sum.
const COUNTED: &str = "\
    adults adult kids children people persons nights night days day weeks week cars car years \
    year am pm oclock minutes hours units floor floors bathrooms bathroom baths bath min \
    לילות ימים אנשים ילדים שבועות שנים דקות שעות קומה";

fn budget(toks: &Tokens<'_>, region: &str, w: &mut Wishes) {
    let sums = sums(toks);
    if sums.is_empty() {
        return;
    }
    // A sum in a message that says what home the customer looks for ("a 2 bedroom in chicago,
    // … 2200-2600") is what they can pay.
    let home_search = w
        .stated
        .iter()
        .any(|f| matches!(f.key, FactKey::Bedrooms | FactKey::Rooms));
    let cued = |s: &Sum| {
        s.per_month
            || home_search && s.amount >= 300.0
            || toks.any_before(s.at, 4, BUDGET_WORDS)
            || (s.end..s.end + 2).any(|i| listed("max tops maximum מקסימום", toks.word(i)))
            || (s.end..s.end + 3).any(|i| listed(MONTH_WORDS, toks.word(i)))
            || (toks.word(s.end) == "a" && toks.word(s.end + 1) == "month")
    };
    // Alternatives and ranges ("2000-2500", "3000, maybe 3500") are read as the upper bound.
    let best = |pick: &dyn Fn(&Sum) -> bool| {
        sums.iter()
            .filter(|s| pick(s) && s.amount >= 100.0)
            .max_by(|a, b| a.amount.total_cmp(&b.amount))
    };
    let period = |s: &Sum| -> &'static str {
        let window = s.at.saturating_sub(6)..(s.end + 6).min(toks.len());
        let near = |list: &'static str| window.clone().any(|i| listed(list, toks.word(i)));
        if s.per_month
            || near(MONTH_WORDS)
            || toks.word(s.end) == "a" && toks.word(s.end + 1) == "month"
        {
            "month"
        } else if (0..toks.len()).any(|i| listed(TOTAL_WORDS, toks.word(i)))
            || s.amount >= 100_000.0
        {
            "total"
        } else if window
            .clone()
            .any(|i| ["year", "yearly", "annually", "לשנה"].contains(&toks.word(i)))
        {
            "year"
        } else {
            "month"
        }
    };
    let currency = |s: &Sum| {
        s.currency
            .or_else(|| sums.iter().find_map(|o| o.currency))
            .unwrap_or_else(|| region_currency(region))
    };
    let value = |s: &Sum| {
        let amount = if s.amount.fract() == 0.0 {
            format!("{}", s.amount as i64)
        } else {
            format!("{}", s.amount)
        };
        format!("{amount} {}/{}", currency(s), period(s))
    };
    // "Is it still $2,150?" asks about a price; it states no budget.
    let question = toks.text.trim_end().ends_with('?');
    if !question && let Some(s) = best(&cued) {
        w.stated.push(fact(KnownKey::Budget, value(s), 0.75));
    }
    if let Some(s) = best(&|_| true) {
        w.answers
            .push((Asked::BUDGET, fact(KnownKey::Budget, value(s), 0.8)));
    }
}

// ---------------------------------------------------------------------------------------------
// Bedrooms and rooms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoomWord {
    Bedroom,
    /// Hebrew "חדרים", or "room apartment" in Israel: the living room counts.
    Room,
}

static ROOM_WORDS: LazyLock<Lexicon<RoomWord>> = LazyLock::new(|| {
    grouped(&[
        (
            RoomWord::Bedroom,
            Rule::ANY,
            "bedroom, bedrooms, bed, beds, br, bd, bdr, bedroom apartment, bed flat",
        ),
        (
            RoomWord::Room,
            Rule::ANY,
            "חדרים, חדר, חדרי, room apartment, room flat, rooms apartment",
        ),
    ])
});

const NUMBER_WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("אחד", 1.0),
    ("אחת", 1.0),
    ("שניים", 2.0),
    ("שתיים", 2.0),
    ("שני", 2.0),
    ("שתי", 2.0),
    ("שלושה", 3.0),
    ("שלוש", 3.0),
    ("ארבעה", 4.0),
    ("ארבע", 4.0),
    ("חמישה", 5.0),
    ("חמש", 5.0),
    ("שישה", 6.0),
];

/// A count at word `i`: digits ("2", "2.5" as two words), a number word, "חצי" after one.
fn count_at(toks: &Tokens<'_>, i: usize) -> Option<(f64, usize)> {
    let word = toks.word(i);
    let (mut value, mut end) = if toks.list.get(i).is_some_and(|t| t.numeric) {
        let v: f64 = word.parse().ok()?;
        if toks.gap_after(i) == "." && toks.word(i + 1) == "5" {
            (v + 0.5, i + 2)
        } else {
            (v, i + 1)
        }
    } else {
        let v = NUMBER_WORDS
            .iter()
            .find(|(w, _)| toks.matches(i, w))
            .map(|(_, v)| *v)?;
        (v, i + 1)
    };
    if toks.word(end) == "וחצי" || toks.word(end) == "and" && toks.word(end + 1) == "a half" {
        value += 0.5;
        end += 1;
    }
    (value <= 9.0).then_some((value, end))
}

/// Words for a flat with no separate bedroom.
const STUDIO: &str = "studio studios סטודיו";

fn rooms(toks: &Tokens<'_>, w: &mut Wishes) {
    let hebrew = toks.list.iter().any(|t| t.hebrew);
    // The count each word starts, read once for both passes below.
    let counts: Vec<Option<(f64, usize)>> = (0..toks.len()).map(|i| count_at(toks, i)).collect();
    let mut found: Vec<(f64, RoomWord)> = Vec::new();
    // Words already read as part of a count ("2.5" is two words).
    let mut read_up_to = 0;
    for (i, count) in counts.iter().enumerate() {
        if i < read_up_to {
            continue;
        }
        if listed(STUDIO, toks.word(i)) || toks.matches(i, "יחידת") && toks.word(i + 1) == "דיור"
        {
            found.push((0.0, RoomWord::Bedroom));
            continue;
        }
        // "דירת חדר", "דירת 3 חדרים".
        if toks.matches(i, "דירת") && toks.word(i + 1) == "חדר" {
            found.push((1.0, RoomWord::Room));
            continue;
        }
        let Some((n, end)) = *count else {
            continue;
        };
        read_up_to = end;
        // "2-bed", "2 bedroom", "2br".
        if let Some(hit) = ROOM_WORDS.longest_at(toks, end) {
            found.push((n, *hit.value));
        } else if toks.word(i).len() > 1 {
            let word = toks.word(i);
            for suffix in ["br", "bd", "bed", "bdr"] {
                if let Some(d) = word.strip_suffix(suffix)
                    && let Ok(n) = d.parse::<f64>()
                {
                    found.push((n, RoomWord::Bedroom));
                }
            }
        }
    }
    // "2br" reads as one word.
    for i in 0..toks.len() {
        let word = toks.word(i);
        for suffix in ["br", "bd", "bdr"] {
            if let Some(d) = word.strip_suffix(suffix)
                && !d.is_empty()
                && let Ok(n) = d.parse::<f64>()
            {
                found.push((n, RoomWord::Bedroom));
            }
        }
    }
    let pick = |found: &[(f64, RoomWord)]| {
        if corrects(toks, toks.len()) {
            found.last().copied()
        } else {
            found
                .iter()
                .copied()
                .max_by(|a, b| bedrooms_of(*a).total_cmp(&bedrooms_of(*b)))
        }
    };
    if let Some(best) = pick(&found) {
        push_rooms(&mut w.stated, best, 0.75);
        return;
    }
    // An answer to "how many bedrooms?": "at least two", "3", "שלושה".
    if let Some(n) = counts
        .into_iter()
        .flatten()
        .map(|(n, _)| n)
        .max_by(f64::total_cmp)
    {
        let kind = if hebrew {
            RoomWord::Room
        } else {
            RoomWord::Bedroom
        };
        let mut facts = Vec::new();
        push_rooms(&mut facts, (n, kind), 0.7);
        w.answers
            .extend(facts.into_iter().map(|f| (Asked::BEDROOMS, f)));
    }
}

fn bedrooms_of((n, kind): (f64, RoomWord)) -> f64 {
    match kind {
        RoomWord::Bedroom => n,
        RoomWord::Room => (n.floor() - 1.0).max(0.0),
    }
}

fn push_rooms(out: &mut Vec<Fact>, (n, kind): (f64, RoomWord), confidence: f64) {
    if kind == RoomWord::Room {
        out.push(fact(FactKey::Rooms, format!("{n}"), confidence));
    }
    out.push(fact(
        FactKey::Bedrooms,
        format!("{}", bedrooms_of((n, kind)) as i64),
        confidence,
    ));
}

// ---------------------------------------------------------------------------------------------
// Pets

static ANIMALS: LazyLock<Lexicon<&'static str>> = LazyLock::new(|| {
    grouped(&[
        (
            "dog",
            Rule::ANY,
            "dog, dogs, puppy, puppies, pup, pug, pugs, lab, labs, labrador, husky, huskies, \
             golden retriever, retriever, german shepherd, shepherd, poodle, beagle, bulldog, \
             terrier, chihuahua, dachshund, corgi, doodle, goldendoodle, כלב, כלבה, כלבים, \
             כלבלב, כלבות",
        ),
        (
            "cat",
            Rule::ANY,
            "cat, cats, kitten, kittens, kitty, חתול, חתולה, חתולים, חתלתול",
        ),
        ("rabbit", Rule::ANY, "rabbit, rabbits, bunny, ארנב, ארנבת"),
        (
            "bird",
            Rule::ANY,
            "bird, birds, parrot, parakeet, ציפור, תוכי",
        ),
        ("hamster", Rule::ANY, "hamster, אוגר"),
        ("fish", Rule::ANY, "fish, דג, דגים"),
    ])
});

/// Words before an animal that say the customer has none of it.
const NOT_OWNED: &str = "\
    no not allergic allergy want wanting hoping someday eventually maybe future without אין \
    לא בלי אלרגי אלרגית רוצים רוצה";

fn pets(toks: &Tokens<'_>, w: &mut Wishes) {
    let mut kinds: Vec<&'static str> = Vec::new();
    for hit in ANIMALS.scan(toks) {
        // "pet-friendly", "dog park", "dogs allowed?" without owning one.
        if toks.any_before(hit.start, 4, NOT_OWNED) {
            continue;
        }
        if !kinds.contains(hit.value) {
            kinds.push(hit.value);
        }
    }
    let says_none = (0..toks.len()).any(|i| {
        let (word, next) = (toks.word(i), toks.word(i + 1));
        (word == "no" && ["pets", "pet", "animals"].contains(&next))
            || (["אין", "בלי"].contains(&word) && next.starts_with("חיות"))
            || (word == "not" && next == "yet")
    });
    if !kinds.is_empty() {
        kinds.sort_unstable();
        w.stated.push(fact(FactKey::Pets, kinds.join(", "), 0.7));
    } else if says_none {
        w.stated.push(fact(FactKey::Pets, "none", 0.75));
    } else {
        let first = toks.word(0);
        if ["no", "nope", "none", "nah", "לא", "אין", "אף"].contains(&first) {
            w.answers
                .push((Asked::PETS, fact(FactKey::Pets, "none", 0.7)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Move-in date

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    ("ינואר", 1),
    ("פברואר", 2),
    ("מרץ", 3),
    ("מרס", 3),
    ("אפריל", 4),
    ("מאי", 5),
    ("יוני", 6),
    ("יולי", 7),
    ("אוגוסט", 8),
    ("ספטמבר", 9),
    ("אוקטובר", 10),
    ("נובמבר", 11),
    ("דצמבר", 12),
];

/// Words that say the customer is talking about moving in.
const MOVE_WORDS: &str = "\
    move moving movein lease start להיכנס כניסה לעבור מעבר נכנסים להכנס עובר עוברת עוברים";

/// Words before a date that say when something else ends ("our lease is up May 31 so June 1st").
const ENDING_WORDS: &str = "lease contract expires ends החוזה חוזה נגמר נגמרת מסתיים";

const NOW_WORDS: &str = "asap immediately מיידית מיידי מיד";

fn month_at(toks: &Tokens<'_>, i: usize) -> Option<u32> {
    let word = toks.word(i);
    // "may" is also a verb: only as a month after a day or before one, or with a qualifier.
    MONTHS.iter().find_map(|(name, m)| {
        let hit = word == *name || toks.matches(i, name);
        hit.then_some(*m)
    })
}

/// A move-in date as `YYYY-MM-DD` or `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum When {
    Day(NaiveDate),
    Month(i32, u32),
}

impl When {
    fn text(self) -> String {
        match self {
            When::Day(d) => d.format("%Y-%m-%d").to_string(),
            When::Month(y, m) => format!("{y:04}-{m:02}"),
        }
    }

    fn key(self) -> (i32, u32, u32) {
        match self {
            When::Day(d) => (d.year(), d.month(), d.day()),
            When::Month(y, m) => (y, m, 0),
        }
    }
}

/// The next month `m` on or after `today`'s month.
fn next_month(today: NaiveDate, m: u32) -> (i32, u32) {
    let year = if m >= today.month() {
        today.year()
    } else {
        today.year() + 1
    };
    (year, m)
}

static NUMERIC_DATE: Pattern =
    LazyLock::new(|| compile(r"\b(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?\b"));

fn dates(toks: &Tokens<'_>, today: NaiveDate, day_first: bool) -> Vec<When> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        let word = toks.word(i);
        // "מיד אחרי החגים" (right after the holidays) is not now.
        let after = ["after", "אחרי"].contains(&toks.word(i + 1));
        if listed(NOW_WORDS, word) && !after
            || (word == "right" && toks.word(i + 1) == "away")
            || (word == "as" && toks.word(i + 1) == "soon")
        {
            out.push(When::Day(today));
            continue;
        }
        // "in two weeks", "בעוד שבועיים", "in a month", "next month".
        if word == "in" || toks.matches(i, "עוד") || word == "בעוד" {
            let mut k = i + 1;
            if ["about", "around", "roughly", "a"].contains(&toks.word(k)) {
                k += 1;
            }
            let (n, after) = match count_at(toks, k) {
                Some((n, end)) => (n, end),
                None => (1.0, k),
            };
            let unit = toks.word(after);
            if unit.starts_with("week") || unit == "שבוע" || unit == "שבועות" {
                out.push(When::Day(today + Duration::days(7 * n as i64)));
            } else if toks.word(k) == "שבועיים" {
                out.push(When::Day(today + Duration::days(14)));
            } else if unit.starts_with("month") || unit == "חודש" || unit == "חודשים" {
                if let Some(d) = today.checked_add_months(Months::new(n as u32)) {
                    out.push(When::Month(d.year(), d.month()));
                }
            } else if toks.word(k) == "חודשיים"
                && let Some(d) = today.checked_add_months(Months::new(2))
            {
                out.push(When::Month(d.year(), d.month()));
            }
            continue;
        }
        if (word == "next" && toks.word(i + 1) == "month")
            || (toks.matches(i, "חודש") && toks.word(i + 1) == "הבא")
        {
            if let Some(d) = today.checked_add_months(Months::new(1)) {
                out.push(When::Month(d.year(), d.month()));
            }
            continue;
        }
        let Some(m) = month_at(toks, i) else { continue };
        // "may" needs a day or a qualifier to be the month.
        let day_before = i
            .checked_sub(1)
            .and_then(|p| day_number(toks, p))
            .or_else(|| {
                // "1st of July", "ה-1 ליולי".
                (toks.word(i.wrapping_sub(1)) == "of")
                    .then(|| i.checked_sub(2).and_then(|p| day_number(toks, p)))
                    .flatten()
            });
        let day_after = day_number(toks, i + 1);
        if word == "may" && day_before.is_none() && day_after.is_none() {
            let qualifier = i.checked_sub(1).is_some_and(|p| {
                [
                    "early",
                    "mid",
                    "late",
                    "end",
                    "in",
                    "of",
                    "beginning",
                    "by",
                    "from",
                ]
                .contains(&toks.word(p))
            });
            if !qualifier {
                continue;
            }
        }
        let (y, m) = next_month(today, m);
        let day = day_after.or(day_before);
        match day.and_then(|d| NaiveDate::from_ymd_opt(y, m, d)) {
            Some(date) => out.push(When::Day(date)),
            None => out.push(When::Month(y, m)),
        }
    }
    for caps in super::text::pattern::captures_iter(&NUMERIC_DATE, toks.text) {
        let (Some(a), Some(b)) = (caps.get(1), caps.get(2)) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.as_str().parse::<u32>(), b.as_str().parse::<u32>()) else {
            continue;
        };
        let (d, m) = if day_first { (a, b) } else { (b, a) };
        let year = caps
            .get(3)
            .and_then(|y| y.as_str().parse::<i32>().ok())
            .map(|y| if y < 100 { 2000 + y } else { y });
        let date = match year {
            Some(y) => NaiveDate::from_ymd_opt(y, m, d),
            None => NaiveDate::from_ymd_opt(today.year(), m, d)
                .filter(|date| *date >= today)
                .or_else(|| NaiveDate::from_ymd_opt(today.year() + 1, m, d)),
        };
        if let Some(date) = date {
            out.push(When::Day(date));
        }
    }
    out
}

/// Day ordinals written as words ("August fifteenth").
const DAY_WORDS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("thirteenth", 13),
    ("fourteenth", 14),
    ("fifteenth", 15),
    ("sixteenth", 16),
    ("seventeenth", 17),
    ("eighteenth", 18),
    ("nineteenth", 19),
    ("twentieth", 20),
    ("thirtieth", 30),
];

/// "1st", "15", "ה-1" as a day of the month.
fn day_number(toks: &Tokens<'_>, i: usize) -> Option<u32> {
    let word = toks.word(i);
    let digits = word
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    let digits = digits.trim_start_matches('ה');
    if let Some((_, d)) = DAY_WORDS.iter().find(|(w, _)| *w == word) {
        return Some(*d);
    }
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn move_in(toks: &Tokens<'_>, today: NaiveDate, region: &str, w: &mut Wishes) {
    let hebrew = toks.list.iter().any(|t| t.hebrew);
    // Day first everywhere but in messages that write month/day (US, and English elsewhere
    // when the business is in the US or Canada).
    let month_first = !hebrew && toks.text.contains('/') && ["US", "CA"].contains(&region);
    let day_first = !month_first;
    let found = dates(toks, today, day_first);
    // "Our lease is up May 31, so June 1st": when the message says when something ends, the
    // move-in is the later date.
    let ending = (0..toks.len()).any(|i| listed(ENDING_WORDS, toks.word(i)));
    let pick = if ending && found.len() > 1 {
        found.iter().copied().max_by_key(|w| w.key())
    } else {
        found.iter().copied().min_by_key(|w| w.key())
    };
    let Some(earliest) = pick else {
        return;
    };
    let value = earliest.text();
    // A date in a message that says what home the customer looks for ("a 2 bedroom in chicago,
    // … june 1") is when they want it.
    let home_search = w
        .stated
        .iter()
        .any(|f| matches!(f.key, FactKey::Bedrooms | FactKey::Rooms));
    let cued = home_search
        || (0..toks.len()).any(|i| {
            MOVE_WORDS.split_whitespace().any(|m| toks.matches(i, m))
                || toks.word(i).starts_with("move")
        });
    if cued {
        w.stated.push(fact(FactKey::MoveIn, value.clone(), 0.75));
    }
    w.answers
        .push((Asked::MOVE_IN, fact(FactKey::MoveIn, value, 0.8)));
}

// ---------------------------------------------------------------------------------------------
// Preferences

/// Features people ask of a place or a service, recorded as they say them.
static FEATURES: LazyLock<Lexicon<()>> = LazyLock::new(|| {
    grouped(&[(
        (),
        Rule::ANY,
        "parking, garage, balcony, terrace, patio, garden, yard, fenced yard, backyard, \
         elevator, lift, laundry, in unit laundry, washer, dishwasher, pool, gym, doorman, \
         furnished, unfurnished, quiet, quiet street, quiet building, ground floor, no stairs, \
         air conditioning, ac, storage, outdoor space, natural light, good light, lots of light, \
         view, sea view, pet friendly, dog friendly, cat friendly, female stylist, male stylist, \
         female doctor, male doctor, female dentist, female therapist, mornings, morning, \
         afternoons, afternoon, evenings, evening, weekends, weekend, weekdays, early morning, \
         bathrooms, 2 bathrooms, two bathrooms, 3 bathrooms, home office, walk in closet, \
         fireplace, hardwood, basement, porch, single level, one level, walkable, \
         good school district, school district, good schools, utilities included, \
         all inclusive, all inclusive resort, adults only, free breakfast, breakfast included, \
         beaches, beach, wine tours, spa, hotel with a spa, hotel with a pool, ocean view, \
         period property, section 8, \
         חניה, חנייה, חניה מקורה, שתי חניות, מרפסת, מרפסת שמש, מרפסת סוכה, מעלית, גינה, מחסן, \
         ממד, ממ\"ד, מזגן, משופצת, מרוהטת, שקטה, שקט, קומת קרקע, בית פרטי, בית קרקע, נוף, \
         נוף לים, בוקר, בבוקר, בשעות הבוקר, מוקדם בבוקר, אחה\"צ, אחר הצהריים, ערב, בערב, \
         סופ\"ש, ימי שישי, בימי שישי, מעצבת, רופאה, בלי מדרגות, ליד הים, חופים, בריכה, ספא, \
         כולל ארנונה, כולל הכל, כולל הכול, נגישות, נגישה, נגישות לכיסא גלגלים, מלון בוטיק, \
         השכרת רכב, יד שנייה, מוכנה לכניסה, גדר, גדר גבוהה, בית ספר טוב",
    )])
});

/// Times of day that are a preference only when said as a habit ("mornings") or with a cue
/// ("better in the morning"); "this morning", "thursday evening" are a day, not a wish.
const TIMES_OF_DAY: &str = "\
    morning afternoon evening weekend בוקר בבוקר ערב בערב אחה\"צ סופ\"ש";

/// Words that make a time of day a preference.
const PREFERENCE_CUES: &str = "\
    prefer prefers preferably better best works usually only always ideally early עדיף מעדיף \
    מעדיפה רק נוח נוחה תמיד בשעות מוקדם";

/// Words that make a wish out of a question ("I need parking, is there any?").
const NEED_WORDS: &str = "\
    need needs must want wanted would like important require required צריך צריכה חייב חייבת \
    חשוב רוצה רוצים";

/// Phrases that introduce a place the customer wants to be near.
const NEAR: &str = "close near walking ליד קרוב קרובה";

/// Words that end a "near …" or "prefer …" phrase ("near a trailhead would be a dream").
const PHRASE_STOP: &str = "\
    and but so with for would will is be please if because im i we its thats שזה כי אם ואם \
    זה";

/// Words that introduce what the customer would rather have ("preferably Carmel area").
const PREFER: &str = "prefer preferably ideally רצוי עדיף מעדיף מעדיפה מעדיפים";

/// The sentence around word `i` ends with a question mark.
fn in_question(toks: &Tokens<'_>, i: usize) -> bool {
    let from = toks.list[i].orig.end;
    toks.text[from..]
        .find(['?', '.', '!', '\n'])
        .is_some_and(|e| toks.text[from + e..].starts_with('?'))
}

/// The sentence around word `i` says the customer needs or wants something.
fn in_need(toks: &Tokens<'_>, i: usize) -> bool {
    let start = (0..=i)
        .rev()
        .find(|&k| toks.gap_before(k).contains(['.', '!', '?', '\n']));
    (start.unwrap_or(0)..i).any(|k| NEED_WORDS.split_whitespace().any(|w| toks.matches(k, w)))
}

/// Words `from..` up to a clause end or a stop word, at most `most` of them.
fn phrase_end(toks: &Tokens<'_>, from: usize, most: usize) -> usize {
    let mut k = from;
    while k < toks.len() && k < from + most {
        if k > from && (toks.gap_before(k).contains([',', '.', '!', '?', ';', '\n']))
            || listed(PHRASE_STOP, toks.word(k))
        {
            break;
        }
        k += 1;
    }
    k
}

fn preferences(toks: &Tokens<'_>, w: &mut Wishes) {
    let mut items: Vec<String> = Vec::new();
    let span = |from: usize, to: usize| -> String {
        toks.text[toks.list[from].orig.start..toks.list[to - 1].orig.end]
            .trim_end_matches(['.', ',', '!', '?'])
            .to_owned()
    };
    for hit in FEATURES.scan(toks) {
        // "Is there parking?" asks; "I need parking, is there?" wishes.
        if in_question(toks, hit.start) && !in_need(toks, hit.start) {
            continue;
        }
        if toks.any_before(hit.start, 2, "no dont not without לא אין") {
            // "no stairs" is itself a wish; "no parking" is not a preference.
            if !(toks.word(hit.start) == "stairs" || toks.word(hit.start) == "מדרגות") {
                continue;
            }
        }
        // "Office Manager": a capitalized word inside a clause is a name, not a feature.
        let orig = toks.orig(hit.start);
        if orig.starts_with(char::is_uppercase) && !clause_start(toks, hit.start) {
            continue;
        }
        // "good morning", "ערב טוב", "this evening", "thursday evening".
        if hit.end == hit.start + 1 && listed(TIMES_OF_DAY, toks.word(hit.start)) {
            let greeting = hit.start == 0
                || toks.word(hit.start.wrapping_sub(1)) == "good"
                || toks.word(hit.end) == "טוב";
            let cued = toks.any_before(hit.start, 4, PREFERENCE_CUES);
            if greeting || !cued {
                continue;
            }
        }
        // Without the prefix letters ("וחניה" is "and parking").
        let start = toks.list[hit.start].orig.start + hit.prefix.len();
        let end = toks.list[hit.end - 1].orig.end;
        let phrase = toks.text[start..end].to_owned();
        if !items.contains(&phrase) {
            items.push(phrase);
        }
    }
    let question = toks.text.trim_end().ends_with('?');
    for i in 0..toks.len() {
        // "close to downtown", "near the PATH", "ליד הים".
        if !question && listed(NEAR, toks.word(i)) {
            let mut k = i + 1;
            if ["to", "distance", "ל"].contains(&toks.word(k)) {
                k += 1;
            }
            if toks.word(k) == "to" {
                k += 1;
            }
            // "near me", "close by" say nothing about the place.
            if ["me", "you", "here", "by", "there", "us"].contains(&toks.word(k)) {
                continue;
            }
            let end = phrase_end(toks, k, 4);
            if end > k {
                let phrase = span(i, end);
                if !items.iter().any(|it| phrase.contains(it.as_str())) {
                    items.push(phrase);
                }
            }
        }
        // "preferably Carmel area", "prefer lincoln park or lakeview", "רצוי בקטמון או בבקעה".
        if PREFER.split_whitespace().any(|p| toks.matches(i, p)) {
            let mut k = i + 1;
            if ["a", "an", "the", "ב"].contains(&toks.word(k)) {
                k += 1;
            }
            if ["to", "not", "that", "it", "if", "this", "להתקשר", "לא", "ש"]
                .contains(&toks.word(k))
                || toks.word(k).starts_with('ל') && toks.list.get(k).is_some_and(|t| t.hebrew)
            {
                continue;
            }
            let end = phrase_end(toks, k, 6);
            if end > k && !(k..end).any(|m| toks.list[m].numeric) {
                let phrase = span(k, end);
                let known = items
                    .iter()
                    .any(|it| phrase.contains(it.as_str()) || it.contains(phrase.as_str()));
                if !known {
                    items.push(phrase);
                }
            }
        }
    }
    // "Capitol Hill or Fremont", "Kreuzberg, Neukölln or Friedrichshain", "גבעתיים או רמת גן".
    for alternatives in places_or_places(toks) {
        if !items.iter().any(|it| it.contains(alternatives.as_str())) {
            items.retain(|it| !alternatives.contains(it.as_str()));
            items.push(alternatives);
        }
    }
    // "after 6pm", "אחרי שש בערב", "שיחות אחרי 17:00".
    for i in 0..toks.len() {
        if !["after", "אחרי"].contains(&toks.word(i)) || question {
            continue;
        }
        let next = toks.word(i + 1);
        let time = toks.list.get(i + 1).is_some_and(|t| t.numeric)
            || next
                .strip_suffix("pm")
                .or(next.strip_suffix("am"))
                .is_some_and(|d| d.parse::<u32>().is_ok())
            || NUMBER_WORDS.iter().any(|(n, _)| *n == next)
            || ["ארבע", "שמונה", "שבע", "חמש"].contains(&next);
        if time {
            let end = phrase_end(toks, i + 1, 3);
            let mut end = end.max(i + 2);
            // "17:00" is two words.
            if toks.gap_after(i + 1) == ":" {
                end = end.max(i + 3);
            }
            items.push(span(i, end.min(toks.len())));
        }
    }
    // "2br/2ba", "two bed, two bath", "2 bathrooms": recorded as "2 bathrooms".
    for i in 0..toks.len() {
        let word = toks.word(i);
        let glued = word
            .strip_suffix("ba")
            .and_then(|d| d.parse::<u32>().ok())
            .filter(|n| (1..=5).contains(n));
        let counted = count_at(toks, i).and_then(|(n, end)| {
            [
                "bath",
                "baths",
                "bathroom",
                "bathrooms",
                "ba",
                "שירותים",
                "מקלחות",
            ]
            .contains(&toks.word(end))
            .then_some(n as u32)
        });
        if let Some(n) = glued.or(counted)
            && !question
        {
            let item = format!("{n} bathrooms");
            items.retain(|it| !it.ends_with("bathrooms") || it.starts_with(char::is_numeric));
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    // "not with the same person", "לא אצל אותה ספרית".
    for i in 0..toks.len() {
        let same = (toks.word(i) == "same" && toks.any_before(i, 3, "not"))
            || (["אותה", "אותו"].contains(&toks.word(i)) && toks.any_before(i, 2, "לא"));
        if same && i + 1 < toks.len() {
            let from = (i.saturating_sub(3)..i)
                .find(|&k| ["not", "לא"].contains(&toks.word(k)))
                .unwrap_or(i);
            items.push(span(from, (i + 2).min(toks.len())));
        }
    }
    for item in items {
        w.stated.push(fact(KnownKey::Preferences, item, 0.6));
    }
}

/// Places named as alternatives: capitalized words joined by "or" (and commas) in English,
/// words behind "ב" or known places joined by "או" in Hebrew.
fn places_or_places(toks: &Tokens<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for i in 1..toks.len() {
        let word = toks.word(i);
        if word != "or" && word != "או" {
            continue;
        }
        let hebrew = word == "או";
        let place_word = |k: usize| {
            let orig = toks.orig(k);
            k < toks.len()
                && !toks.list[k].numeric
                && if hebrew {
                    toks.list[k].hebrew && !listed(HE_NOT_PLACE, toks.word(k))
                } else {
                    orig.starts_with(char::is_uppercase)
                        && proper_latin(orig)
                        && !listed(super::extract::EN_NAME_STOP, toks.word(k))
                }
        };
        // The alternative after "or": up to three words.
        let mut end = i + 1;
        while end < toks.len() && end < i + 4 && place_word(end) {
            end += 1;
            if clause_end(toks, end - 1) {
                break;
            }
        }
        if end == i + 1 {
            continue;
        }
        let start = if hebrew {
            // Hebrew has no capitals: the first place carries "ב" or is a known place
            // ("ברמת גן או בגבעתיים", "גבעתיים או רמת גן").
            let qualifies = |k: usize| {
                let first = toks.word(k);
                super::extract::CITIES.longest_at(toks, k).is_some()
                    || first.starts_with('ב') && first.chars().count() > 3
            };
            match (1..=3)
                .filter(|n| *n <= i)
                .map(|n| i - n)
                .take_while(|&k| place_word(k) && (k + 1 == i || !clause_end(toks, k)))
                .find(|&k| qualifies(k))
            {
                Some(k) => k,
                None => continue,
            }
        } else {
            // Places separated by commas, each up to three capitalized words.
            let mut start = i;
            while start > 0 && start + 8 > i && place_word(start - 1) {
                start -= 1;
                if clause_start(toks, start) && !toks.gap_before(start).contains(',') {
                    break;
                }
            }
            start
        };
        if start == i {
            continue;
        }
        out.push(
            toks.text[toks.list[start].orig.start..toks.list[end - 1].orig.end]
                .trim_end_matches(['.', ',', '!', '?'])
                .to_owned(),
        );
    }
    out
}

/// Hebrew words that are not places ("שלושה או ארבעה", "מחר או מחרתיים").
const HE_NOT_PLACE: &str = "\
    מחר מחרתיים היום אחד אחת שניים שתיים שלושה שלוש ארבעה ארבע חמישה חמש כן לא אולי משהו \
    דירה בית חדרים חדר זה עם של עד אבל כי אם רק גם יותר פחות";

fn proper_latin(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_alphabetic() || matches!(c, '\'' | '-' | '’'))
}

// ---------------------------------------------------------------------------------------------
// Property of interest

/// Nouns for a home on offer ("the loft on Bedford Ave", "your listing on Maple Ave").
const LISTING_NOUNS: &str = "\
    apartment apt flat place house home unit condo studio loft townhouse listing property \
    penthouse duplex cottage bungalow villa room bedroom br";

/// Words that end a street name ("22 Elm St", "the loft on Bedford Ave").
const STREET_WORDS: &str = "\
    st street ave avenue rd road blvd boulevard lane ln dr drive way pl place sq square ct \
    court terrace parkway pkwy";

/// Words in a message about a listing (an address alone may be the customer's own).
const LISTING_TALK: &str = "\
    available listing listings listed interested see viewing view tour visit saw properties \
    property still rent sale showing";

/// Words that make an address the customer's own, not a listing.
const OWN_ADDRESS: &str = "my address live moved ship shipping deliver delivery billing";

/// Hebrew nouns for a home on offer, without the article ("הדירה ברחוב הרצל").
const HE_LISTING_NOUNS: &str = "דירה דירת נכס בית פנטהאוז דופלקס וילה יחידה יחידת סטודיו קוטג'";

/// Words that end the description of a listing in Hebrew ("הדירה בדיזנגוף 120 עדיין זמינה?").
const HE_LISTING_STOP: &str = "\
    עדיין עוד זמינה זמין פנויה פנוי רלוונטית רלוונטי היא הוא זה זאת אפשר יש עם כי אם מה מתי \
    כמה שפרסמתם שפרסמת שראיתי שראינו למכירה להשכרה";

/// Places that name where a listing was seen, not where it is ("הדירה במודעה").
const HE_SEEN_IN: &str = "מודעה אתר פייסבוק יד2 אינטרנט";

/// Whether word `i` can be part of an English location: a capitalized word, a number, an
/// ordinal ("5th") or a street word.
fn location_word(toks: &Tokens<'_>, i: usize) -> bool {
    let (orig, word) = (toks.orig(i), toks.word(i));
    let ordinal = word.len() > 2
        && ["st", "nd", "rd", "th"].iter().any(|s| {
            word.strip_suffix(s)
                .is_some_and(|d| d.parse::<u32>().is_ok())
        });
    i < toks.len()
        && word != "i"
        && (is_capitalized_word(orig)
            || toks.list[i].numeric
            || ordinal
            || listed(STREET_WORDS, word))
}

fn is_capitalized_word(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// The listing a customer asks about, as they wrote it: "the townhouse on Birch", "the 3-room
/// in Florentin", "22 Elm St", "the Lakeview condo", "הדירה ברחוב הרצל", "הדירה עם הבריכה",
/// "דיזנגוף 120". Only a
/// home the customer points at (an article or "your", an address); "a 2 bedroom in Austin"
/// is a wish, and "my address" is theirs. The first one named wins.
fn property_of_interest(toks: &Tokens<'_>, w: &mut Wishes) {
    let mut found: Vec<(usize, String)> = Vec::new();
    let phrase = |from: usize, to: usize| {
        toks.text[toks.list[from].orig.start..toks.list[to].orig.end].to_owned()
    };
    let own = (0..toks.len()).any(|i| listed(OWN_ADDRESS, toks.word(i)))
        || toks.text.to_lowercase().contains("my address");
    for i in 0..toks.len() {
        let word = toks.word(i);
        // English: "the|your|that [up to three words] noun [for sale|rent] on|at|in Place".
        if ["the", "your", "that"].contains(&word) {
            let first = i + 1;
            let Some(noun) = (first..(first + 4).min(toks.len()))
                .take_while(|&k| {
                    k == first
                        || !toks
                            .gap_before(k)
                            .contains([',', '.', '!', '?', ';', ':', '\n'])
                })
                .find(|&k| listed(LISTING_NOUNS, toks.word(k)))
            else {
                continue;
            };
            let mut k = noun + 1;
            if toks.word(k) == "listing" {
                k += 1;
            }
            if toks.word(k) == "for" && ["sale", "rent"].contains(&toks.word(k + 1)) {
                k += 2;
            }
            let mut end = None;
            if ["on", "at", "in", "off"].contains(&toks.word(k))
                && !clause_start(toks, k)
                && !clause_start(toks, k + 1)
            {
                let mut j = k + 1;
                while j < toks.len() && j < k + 5 && location_word(toks, j) {
                    end = Some(j);
                    if clause_end(toks, j) {
                        break;
                    }
                    j += 1;
                }
                // A location starts with a name or a number ("on 5th", "in Florentin").
                if !(is_capitalized_word(toks.orig(k + 1))
                    || toks.word(k + 1).starts_with(|c: char| c.is_ascii_digit()))
                {
                    end = None;
                }
            }
            // "the Lakeview condo", "the pool house listing": the name is before the noun.
            let named = (first..noun).any(|m| is_capitalized_word(toks.orig(m)))
                || (toks.word(noun) == "listing" && noun > first);
            match end {
                Some(end) => found.push((i, phrase(first, end))),
                None if named && !["bedroom", "br", "room"].contains(&toks.word(noun)) => {
                    found.push((i, phrase(first, noun)))
                }
                None => {}
            }
            continue;
        }
        // An address: "22 Elm St", "14 Hill Rd" in a message about listings.
        if toks.list[i].numeric
            && !own
            && (0..toks.len()).any(|m| listed(LISTING_TALK, toks.word(m)))
        {
            let mut j = i + 1;
            while j < toks.len() && j < i + 4 && is_capitalized_word(toks.orig(j)) {
                if listed(STREET_WORDS, toks.word(j)) && j > i + 1 {
                    found.push((i, phrase(i, j)));
                    break;
                }
                j += 1;
            }
            continue;
        }
        // Hebrew: "הדירה ברחוב הרצל ברחובות", "הדירה של שלושה חדרים", "הנכס בדיזנגוף 120".
        if toks.list[i].hebrew
            && let Some(noun) = word.strip_prefix('ה')
            && listed(HE_LISTING_NOUNS, noun)
        {
            let start = i + 1;
            let opens = ["של", "עם"].contains(&toks.word(start))
                || (toks.word(start).starts_with('ב')
                    && !HE_SEEN_IN
                        .split_whitespace()
                        .any(|p| toks.matches(start, p)));
            if !opens || clause_start(toks, start) {
                continue;
            }
            let mut end = start;
            while end + 1 < toks.len()
                && end + 1 < start + 5
                && !clause_end(toks, end)
                && !listed(HE_LISTING_STOP, toks.word(end + 1))
            {
                end += 1;
            }
            let from = toks.list[i].orig.start + 'ה'.len_utf8();
            found.push((i, toks.text[from..toks.list[end].orig.end].to_owned()));
            continue;
        }
        // "דיזנגוף 120", "הרצל 14" in a message about listings.
        if toks.list[i].hebrew
            && !own
            && toks.list.get(i + 1).is_some_and(|t| t.numeric)
            && toks.word(i + 1).len() <= 3
            && !toks.matches(i, "רחוב")
            && !listed(HE_NAME_STOP_FOR_STREETS, word)
            && (0..toks.len()).any(|m| {
                [
                    "נכסים",
                    "נכס",
                    "זמינה",
                    "זמין",
                    "פנויה",
                    "מודעה",
                    "דירה",
                    "לראות",
                ]
                .iter()
                .any(|t| toks.matches(m, t))
            })
            && ROOM_WORDS.longest_at(toks, i + 2).is_none()
            && clause_start(toks, i)
        {
            found.push((i, phrase(i, i + 1)));
        }
    }
    if let Some((_, value)) = found.into_iter().min_by_key(|(at, _)| *at) {
        let value = value.trim_end_matches(['.', ',', '?', '!']).to_owned();
        w.stated.push(fact(FactKey::PropertyOfInterest, value, 0.7));
    }
}

/// Words before a number that are not street names ("עד 7000", "קומה 3").
const HE_NAME_STOP_FOR_STREETS: &str = "עד בערך בסביבות קומה תקציב מקסימום בין כ ב ל גיל בן בת";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classify::classify;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()
    }

    /// What a message states outright, by key.
    fn stated(text: &str, region: &str, key: &str) -> Vec<String> {
        let toks = Tokens::new(text);
        read(&toks, &classify(text, today()), region, Some(today()))
            .stated
            .into_iter()
            .filter(|f| f.key.as_str() == key)
            .map(|f| f.value)
            .collect()
    }

    #[test]
    fn budgets_keep_amount_currency_and_period() {
        for (text, region, want) in [
            ("my budget is $3000 a month", "US", "3000 USD/month"),
            ("up to 3.5k a month", "US", "3500 USD/month"),
            ("max £1,100 pcm", "GB", "1100 GBP/month"),
            ("עד 7000 בחודש", "IL", "7000 ILS/month"),
            ("pre-approved, up to 750 thousand", "US", "750000 USD/total"),
            ("התקציב 2.3 מיליון", "IL", "2300000 ILS/total"),
            (
                "budget around 8-10k total for both of us",
                "US",
                "10000 USD/total",
            ),
            ("budget is 2000-2500", "DE", "2500 EUR/month"),
        ] {
            assert_eq!(stated(text, region, "budget"), [want], "{text}");
        }
        // A price asked about, a count and a phone number are not budgets.
        for text in [
            "is it still $2,150?",
            "2 bedrooms for 3 nights",
            "call 0525551234",
        ] {
            assert!(stated(text, "US", "budget").is_empty(), "{text}");
        }
    }

    #[test]
    fn bedrooms_and_israeli_room_counts() {
        for (text, bedrooms, rooms) in [
            ("a two bedroom apartment", "2", None),
            ("studio or 1br", "1", None),
            ("2 or 3 bedrooms", "3", None),
            ("a studio please", "0", None),
            ("דירת 3 חדרים בתל אביב", "2", Some("3")),
            ("2.5 חדרים עם מרפסת", "1", Some("2.5")),
            ("דירת חדר", "0", Some("1")),
        ] {
            assert_eq!(stated(text, "IL", "bedrooms"), [bedrooms], "{text}");
            let want: Vec<&str> = rooms.into_iter().collect();
            assert_eq!(stated(text, "IL", "rooms"), want, "{text}");
        }
    }

    #[test]
    fn pets_are_kinds_in_english_and_none_when_there_are_none() {
        assert_eq!(
            stated("I have a cat and two labs", "US", "pets"),
            ["cat, dog"]
        );
        assert_eq!(stated("ויש לי כלב קטן", "IL", "pets"), ["dog"]);
        assert_eq!(stated("nope, no pets", "US", "pets"), ["none"]);
        assert_eq!(stated("אין חיות", "IL", "pets"), ["none"]);
        assert!(stated("I'm allergic to cats", "US", "pets").is_empty());
    }

    #[test]
    fn move_in_dates_resolve_against_the_day_of_the_message() {
        for (text, want) in [
            ("we'd like to move in June 1st", "2026-06-01"),
            ("moving 1st of July", "2026-07-01"),
            ("move in early january", "2027-01"),
            ("need to move asap", "2026-03-14"),
            ("להיכנס בעוד שבועיים", "2026-03-28"),
            ("כניסה מתחילת אפריל", "2026-04"),
            ("move in june or july", "2026-06"),
        ] {
            assert_eq!(stated(text, "US", "move_in"), [want], "{text}");
        }
        // A viewing date is not a move-in date.
        assert!(stated("can I see it on June 1st?", "US", "move_in").is_empty());
    }

    #[test]
    fn move_in_dates_people_write_in_words_and_around_other_dates() {
        for (text, want) in [
            ("we'd move in from March 1st", "2026-03-01"),
            ("moving next month", "2026-04"),
            ("נרצה להיכנס בתחילת החודש הבא", "2026-04"),
            ("August fifteenth. My lease is up.", "2026-08-15"),
            // The day a lease ends is not the day they move in.
            (
                "Our current lease is up May 31 so June 1st ideally",
                "2026-06-01",
            ),
            // "Right after the holidays" is not "right away".
            ("מחפשים להיכנס מיד אחרי החגים, נגיד 15.10", "2026-10-15"),
            ("אני עוברת לתל אביב בספטמבר", "2026-09"),
            // A date in a message that says what home they look for.
            ("2 bedroom in chicago, have a cat. june 1", "2026-06-01"),
        ] {
            assert_eq!(stated(text, "US", "move_in"), [want], "{text}");
        }
    }

    #[test]
    fn the_listing_a_customer_asks_about_is_kept_as_they_wrote_it() {
        for (text, region, want) in [
            (
                "Hi, saw your listing on Maple Ave. Is it still available?",
                "US",
                "listing on Maple Ave",
            ),
            ("hey is the studio on 5th still up", "US", "studio on 5th"),
            (
                "I'd like to see the 3-room in Florentin",
                "IL",
                "3-room in Florentin",
            ),
            ("Is 22 Elm St still available?", "US", "22 Elm St"),
            (
                "interested in 14 Hill Rd, 90 Spring St, and the Lakeview condo",
                "US",
                "14 Hill Rd",
            ),
            ("the Lakeview condo looks great", "US", "Lakeview condo"),
            (
                "i would like to visit the house for sale in Tampa",
                "US",
                "house for sale in Tampa",
            ),
            (
                "ראיתי את המודעה של הדירה ברחוב ביאליק ברמת גן. היא עדיין פנויה?",
                "IL",
                "דירה ברחוב ביאליק ברמת גן",
            ),
            ("הדירה בדיזנגוף 120 עדיין זמינה?", "IL", "דירה בדיזנגוף 120"),
            (
                "אפשר לראות את הנכסים באתר: הרצל 14 וסוקולוב 90?",
                "IL",
                "הרצל 14",
            ),
        ] {
            assert_eq!(
                stated(text, region, "property_of_interest"),
                [want],
                "{text}"
            );
        }
        for text in [
            // A wish, not a listing.
            "looking for a 2 bedroom in Austin",
            "מחפשת דירה בבאר שבע",
            // The customer's own address.
            "my address is 218 Jones St, I moved last week",
            // Where the listing was seen is not the listing.
            "אני מעוניין בדירה במודעה",
            "I saw the ad for the apartment",
        ] {
            assert!(
                stated(text, "US", "property_of_interest").is_empty(),
                "{text}"
            );
        }
    }

    #[test]
    fn budgets_written_as_a_rate_or_beside_the_home_they_want() {
        assert_eq!(
            stated("Budget is $2,800/mo", "US", "budget"),
            ["2800 USD/month"]
        );
        assert_eq!(
            stated("a 2 bedroom in chicago. 2200-2600. june 1", "US", "budget"),
            ["2600 USD/month"]
        );
        // A number of a street is not a budget.
        assert!(stated("is the 2 bedroom on 84th still free?", "US", "budget").is_empty());
    }

    #[test]
    fn preferences_as_people_phrase_them() {
        let prefs = |text: &str| stated(text, "US", "preferences");
        assert_eq!(
            prefs("prefer lincoln park or lakeview"),
            ["lincoln park or lakeview"]
        );
        assert_eq!(
            prefs("preferably Carmel area, with parking"),
            ["parking", "Carmel area"]
        );
        assert_eq!(
            prefs("Capitol Hill or Fremont would be great"),
            ["Capitol Hill or Fremont"]
        );
        assert_eq!(prefs("רצוי בקטמון או בבקעה"), ["בקטמון או בבקעה"]);
        assert_eq!(prefs("looking for a 2br/2ba"), ["2 bathrooms"]);
        assert_eq!(prefs("need a two bed, two bath"), ["2 bathrooms"]);
        assert_eq!(prefs("please call after 6pm"), ["after 6pm"]);
        assert_eq!(
            prefs("I guess. But not with the same person."),
            ["not with the same person"]
        );
        assert_eq!(prefs("mornings are best for me"), ["mornings"]);
        assert_eq!(prefs("עדיף בשעות הבוקר"), ["בשעות הבוקר"]);
        // A greeting, a day and a question are not wishes.
        for text in [
            "good morning, i would like to visit the house",
            "בוקר טוב, אני מחפשת דירה",
            "my check engine light came on this morning",
            "thursday evening works",
            "Is the pool house listing pet friendly? I have 3 cats",
            "Melissa Grant, Office Manager at Tidewater",
            "is there a salon near me where I can get a cut",
        ] {
            assert!(prefs(text).is_empty(), "{text}: {:?}", prefs(text));
        }
        // "need parking, is there any?" still wishes for it.
        assert_eq!(prefs("I need parking, is there any?"), ["parking"]);
    }

    #[test]
    fn preferences_stay_in_the_customers_words() {
        assert_eq!(
            stated(
                "a 2 bedroom, ideally close to downtown",
                "US",
                "preferences"
            ),
            ["close to downtown"]
        );
        assert_eq!(
            stated("עם מעלית וחניה", "IL", "preferences"),
            ["מעלית", "חניה"]
        );
        assert!(stated("is there parking?", "US", "preferences").is_empty());
    }
}
