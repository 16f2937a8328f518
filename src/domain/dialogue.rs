//! Reading a customer's message as part of a conversation: what the agent's last message asked
//! for, and what the customer's reply means as an answer to it.
//!
//! A customer message is read once, when it arrives ([`read`]), for everything it could mean;
//! which of those meanings holds is settled later, cheaply, by the question it answers
//! ([`Reading::facts`]). Ingest keeps the last question on the session; the summary job reads
//! it from the transcript.

use std::sync::LazyLock;

use chrono::NaiveDate;

use super::classify::Classification;
use super::extract::{
    self, CORRECTION_CONFIDENCE, Fact, NameCue, Script, clause_end, clause_start, corrects, fact,
    proper_word, read_name, read_name_span,
};
use super::profile::KnownKey;
use super::text::lexicon::{Lexicon, Rule, grouped, listed};
use super::text::tokens::Tokens;
use super::wishes;

/// What an agent's message asks the customer for (several things at once: "name and phone?").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Asked(u16);

impl Asked {
    pub const NOTHING: Asked = Asked(0);
    pub const NAME: Asked = Asked(1);
    pub const EMAIL: Asked = Asked(1 << 1);
    pub const PHONE: Asked = Asked(1 << 2);
    pub const CITY: Asked = Asked(1 << 3);
    pub const ADDRESS: Asked = Asked(1 << 4);
    pub const BIRTH_DATE: Asked = Asked(1 << 5);
    /// An order, account, customer or ID number, a zip code, a confirmation code, a PIN, a
    /// plate, an amount: digits that are never a phone number.
    pub const IDENTIFIER: Asked = Asked(1 << 6);
    pub const BUDGET: Asked = Asked(1 << 7);
    pub const BEDROOMS: Asked = Asked(1 << 8);
    pub const PETS: Asked = Asked(1 << 9);
    pub const MOVE_IN: Asked = Asked(1 << 10);
    /// "And your last name?": the answer completes a first name given before.
    pub const SURNAME: Asked = Asked(1 << 11);

    const NAMES: [(Asked, &'static str); 12] = [
        (Asked::NAME, "name"),
        (Asked::EMAIL, "email"),
        (Asked::PHONE, "phone"),
        (Asked::CITY, "city"),
        (Asked::ADDRESS, "address"),
        (Asked::BIRTH_DATE, "birth_date"),
        (Asked::IDENTIFIER, "identifier"),
        (Asked::BUDGET, "budget"),
        (Asked::BEDROOMS, "bedrooms"),
        (Asked::PETS, "pets"),
        (Asked::MOVE_IN, "move_in"),
        (Asked::SURNAME, "surname"),
    ];

    pub const fn contains(self, other: Asked) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[must_use]
    pub const fn with(self, other: Asked) -> Asked {
        Asked(self.0 | other.0)
    }

    /// The stored spelling: question names separated by spaces (`None` for nothing).
    pub fn to_stored(self) -> Option<String> {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(a, _)| self.contains(*a))
            .map(|(_, n)| *n)
            .collect();
        (!names.is_empty()).then(|| names.join(" "))
    }

    /// Reads [`Asked::to_stored`] back; unknown names are ignored.
    pub fn from_stored(stored: Option<&str>) -> Asked {
        stored
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| Self::NAMES.iter().find(|(_, name)| *name == n))
            .fold(Asked::NOTHING, |acc, (a, _)| acc.with(*a))
    }

    /// What an agent's (or staff member's) message asks for. Only questions count: the
    /// message must contain a question mark, and the cue must be in a sentence that ends in one
    /// ("Thanks Joseph. Are you searching in Evanston?" asks about the city, not a name).
    pub fn of_agent_message(text: &str) -> Asked {
        let lower = text.to_lowercase();
        if !text.contains('?')
            && !["please", "pls", "בבקשה", "נא "]
                .iter()
                .any(|w| lower.contains(w))
        {
            return Asked::NOTHING;
        }
        let toks = Tokens::new(text);
        let mut asked = Asked::NOTHING;
        for hit in QUESTIONS.scan(&toks) {
            let rest = toks
                .text
                .get(toks.list[hit.start].orig.start..)
                .unwrap_or("");
            // The sentence the cue is in ends with a question mark, or is a request ("Name and
            // phone please", "Full name please, for the booking system").
            let end = rest.find(['?', '.', '!', '\n']);
            let sentence = &rest[..end.unwrap_or(rest.len())];
            let question = end.is_some_and(|i| rest[i..].starts_with('?'));
            if question || is_request(sentence) {
                asked = asked.with(*hit.value);
            }
        }
        // "When?", "ומתי?", "When do you need it?": in a home search, when to move in; not when
        // the agent talks about an appointment, a viewing or a trip.
        if !asked.contains(Asked::MOVE_IN) && asks_when(&toks) {
            asked = asked.with(Asked::MOVE_IN);
        }
        // "Can I get your order number?": the number asked for is not a phone number.
        if asked.contains(Asked::IDENTIFIER) && !has_phone_word(&toks) {
            asked = Asked(asked.0 & !Asked::PHONE.0);
        }
        if asked.contains(Asked::EMAIL) {
            asked = Asked(asked.0 & !Asked::ADDRESS.0);
        }
        asked
    }
}

/// "… please" up to the first comma, "please send …", "… בבקשה": asked without a question mark.
fn is_request(sentence: &str) -> bool {
    let clause = sentence.split([',', ':', ';']).next().unwrap_or("");
    let words: Vec<String> = clause
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    words
        .last()
        .is_some_and(|w| ["please", "pls", "plz", "בבקשה"].contains(&w.as_str()))
        || sentence
            .split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("please") || w == "נא")
}

/// Words that make "when?" about something other than moving in.
const NOT_MOVING: &str = "\
    appointment come coming book booking visit viewing tour see showing slot trip travel flight \
    fly flying travelling traveling leave leaving arrive arriving checkin stay pick pickup \
    delivery deliver callback תור לקבוע לראות ביקור \
    סיור להגיע לטוס טיסה חופשה לאסוף משלוח פגישה";

/// Whether a question asks "when?" with nothing that makes it about an appointment.
fn asks_when(toks: &Tokens<'_>) -> bool {
    let when = (0..toks.len()).any(|i| {
        let w = toks.word(i);
        w == "when" || toks.matches(i, "מתי") || w == "ומתי"
    });
    when && !(0..toks.len()).any(|i| NOT_MOVING.split_whitespace().any(|n| toks.matches(i, n)))
}

fn has_phone_word(toks: &Tokens<'_>) -> bool {
    (0..toks.len()).any(|i| {
        [
            "phone",
            "mobile",
            "cell",
            "callback",
            "whatsapp",
            "טלפון",
            "נייד",
            "וואטסאפ",
        ]
        .iter()
        .any(|w| toks.matches(i, w))
    })
}

static QUESTIONS: LazyLock<Lexicon<Asked>> = LazyLock::new(|| {
    grouped(&[
        (
            Asked::NAME,
            Rule::ANY,
            "name, names, full name, who am i speaking, \
             who am i speaking with, who do i have, who is this, whos interested, \
             who am i booking for, and you are, spell your name, שם, שמך, שם מלא, \
             קוראים לך, על שם, עם מי אני מדבר, עם מי אני מדברת, ואת, ואתה",
        ),
        (
            Asked::SURNAME,
            Rule::ANY,
            "last name, surname, family name, שם משפחה, ושם משפחה",
        ),
        (
            Asked::PHONE,
            Rule::ANY,
            "phone, phone number, number, best number, callback number, contact number, mobile, \
             cell, whatsapp, best contact, a contact, טלפון, מספר, נייד, וואטסאפ, ליצור קשר",
        ),
        (
            Asked::EMAIL,
            Rule::ANY,
            "email, e mail, mail, email address, מייל, אימייל, דואל, דוא\"ל",
        ),
        (
            Asked::CITY,
            Rule::ANY,
            "which city, what city, where, where are you, where do you live, איפה, באיזו עיר, \
             איזו עיר",
        ),
        (Asked::ADDRESS, Rule::ANY, "address, current address, כתובת"),
        (
            Asked::BIRTH_DATE,
            Rule::ANY,
            "date of birth, dob, birthday, birth date, תאריך לידה",
        ),
        (
            Asked::IDENTIFIER,
            Rule::ANY,
            "order, order number, reference, ref, account, account number, customer id, id, \
             pin, zip, zip code, postcode, post code, code, confirmation, booking number, \
             tracking, claim, policy, nhs, patient id, member id, group number, voucher, reg, \
             registration, plate, licence, license, vin, card, digits, amount, ticket, case, \
             passport, תעודת זהות, ת\"ז, זהות, הזמנה, מספר לקוח, חשבון, מיקוד, אישור, הפניה, \
             רישוי, מעקב, תביעה, קוד, ספרות, כרטיס, סכום, אסמכתא",
        ),
        (
            Asked::BUDGET,
            Rule::ANY,
            "budget, price range, monthly max, how much, תקציב, טווח מחירים",
        ),
        (
            Asked::BEDROOMS,
            Rule::ANY,
            "bedrooms, bedroom, how many rooms, what size, size, rooms, bed, חדרים, כמה חדרים",
        ),
        (
            Asked::PETS,
            Rule::ANY,
            "pets, pet, animals, חיות, חיות מחמד, חיית מחמד",
        ),
        (
            Asked::MOVE_IN,
            Rule::ANY,
            "move, move in, moving, move date, timeline, start date, להיכנס, כניסה, הכניסה, \
             ממתי, לוח זמנים",
        ),
    ])
});

/// A customer message read for everything it could mean.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// What the message says whatever was asked.
    stated: Vec<Fact>,
    /// Phone numbers without a phone cue: given only when the agent asked for a number.
    numbers: Vec<Fact>,
    /// What the message means as the answer to a question, by the question.
    answers: Vec<(Asked, Fact)>,
    /// The message is a bare confirmation ("yes", "correct", "כן").
    confirms: bool,
    /// A number written right after a name the message gives ("I'm Laura Chen, 214-555-0147"),
    /// with that name: the customer signs with their own number.
    signed: Vec<(String, Fact)>,
}

/// Reads a customer message. `today` (the day it was written) resolves dates; without it no
/// move-in date is read.
pub fn read(
    text: &str,
    classification: &Classification,
    default_region: &str,
    today: Option<NaiveDate>,
) -> Reading {
    let toks = Tokens::new(text);
    let (mut stated, uncued) = extract::stated(&toks, classification, default_region);
    let wishes = wishes::read(&toks, classification, default_region, today);
    stated.extend(wishes.stated);
    let mut answers: Vec<(Asked, Fact)> = wishes.answers;
    if let Some(name) = name_answer(&toks) {
        answers.push((Asked::SURNAME, name.clone()));
        answers.push((Asked::NAME, name));
    }
    if let Some(city) = city_answer(&toks) {
        answers.push((Asked::CITY, city));
    }
    let has_phone = stated.iter().any(|f| f.key == KnownKey::Phone);
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let numbers = if !has_phone && digits >= 7 {
        extract::answered_phones(&toks, default_region)
    } else {
        uncued
    };
    let numbers = extract::finish(numbers, default_region);
    let names = stated
        .iter()
        .chain(answers.iter().map(|(_, f)| f))
        .filter(|f| f.key == KnownKey::Name);
    let signed = names
        .filter_map(|name| {
            let number = signed_number(text, &name.value, default_region)?;
            numbers
                .iter()
                .any(|n| n.value == number.value)
                .then(|| (name.value.clone(), number))
        })
        .collect();
    Reading {
        stated: extract::finish(stated, default_region),
        numbers,
        signed,
        answers: answers
            .into_iter()
            .flat_map(|(q, f)| {
                extract::finish(vec![f], default_region)
                    .into_iter()
                    .map(move |f| (q, f))
            })
            .collect(),
        confirms: confirms(&toks),
    }
}

impl Reading {
    /// The facts the message gives after a message that asked `asked`.
    ///
    /// Answers fill what the message does not state outright; a number is a phone only with a
    /// phone cue or as the answer to a phone question, never after a question for an order
    /// number, an ID, a code or a date of birth; at most one name.
    pub fn facts(&self, asked: Asked) -> Vec<Fact> {
        let mut out = self.stated.clone();
        let phone_question = asked.contains(Asked::PHONE);
        if phone_question && !out.iter().any(|f| f.key == KnownKey::Phone) {
            out.extend(self.numbers.iter().take(1).cloned());
        }
        let signed = self.signed.iter().find(|(name, _)| {
            out.iter()
                .chain(
                    self.answers
                        .iter()
                        .filter(|(q, _)| asked.contains(*q))
                        .map(|(_, f)| f),
                )
                .any(|f| f.key == KnownKey::Name && f.value == *name)
        });
        if let Some((_, number)) = signed
            && !asked.contains(Asked::IDENTIFIER)
            && !out.iter().any(|f| f.key == KnownKey::Phone)
        {
            out.push(number.clone());
        }
        for (q, answer) in &self.answers {
            // A last name alone completes the first name: [`Reading::surname`] (the summary
            // job, which sees both) joins them; a full name is a name.
            let full_name = answer.key == KnownKey::Name && answer.value.contains(' ');
            if !asked.contains(*q) || (*q == Asked::SURNAME && !full_name) {
                continue;
            }
            // The full name asked for after a first name replaces it.
            let mut answer = answer.clone();
            if *q == Asked::SURNAME {
                answer.confidence = answer.confidence.max(CORRECTION_CONFIDENCE);
            }
            let answer = &answer;
            match out.iter_mut().find(|f| f.key == answer.key) {
                // A list item, or nothing yet for the key: the answer adds to it.
                None => out.push(answer.clone()),
                Some(_) if answer.key == KnownKey::Preferences => out.push(answer.clone()),
                Some(stated) if stated.value == answer.value => {
                    stated.confidence = stated.confidence.max(answer.confidence);
                }
                Some(_) => {}
            }
        }
        out
    }

    /// The answer to "and your last name?", when it is one word.
    pub fn surname(&self) -> Option<&str> {
        self.answers
            .iter()
            .find(|(q, f)| *q == Asked::SURNAME && !f.value.contains(' '))
            .map(|(_, f)| f.value.as_str())
    }

    /// Every phone number and email address the message could give, whatever was asked (to
    /// look up which leads they already find).
    pub fn contacts(&self) -> impl Iterator<Item = &Fact> {
        self.stated
            .iter()
            .chain(&self.numbers)
            .filter(|f| f.key == KnownKey::Phone || f.key == KnownKey::Email)
    }

    /// Whether the message is a bare "yes" (to a read-back of the customer's details).
    pub fn confirms(&self) -> bool {
        self.confirms
    }
}

/// The phone number written right after `name` in `text` ("Laura Chen, 214-555-0147",
/// "בועז פלד, 054-3390021").
fn signed_number(text: &str, name: &str, region: &str) -> Option<Fact> {
    let lower = text.to_lowercase();
    let at = lower.find(&name.to_lowercase())? + name.to_lowercase().len();
    let rest = lower.get(at..)?;
    let rest = rest.trim_start_matches([' ', ',', '-', '–', ':', '/']);
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(') {
        return None;
    }
    let end = rest.find(|c: char| c.is_alphabetic()).unwrap_or(rest.len());
    let toks = Tokens::new(&rest[..end]);
    extract::answered_phones(&toks, region).into_iter().next()
}

/// Words that may open an answer before the value ("sure, it's …", "כן, …").
const ANSWER_OPENERS: &str = "\
    hi hey hello hiya yes yeah yep yup sure ok okay of course its it is im i am this is my name \
    uh um er btw me
    names name is um uh oh so well כן בטח היי שלום אוקיי זה אני שמי קוראים לי השם שלי";

/// How many opener words follow word `from`.
fn skip_openers(toks: &Tokens<'_>, from: usize) -> usize {
    let mut n = 0;
    while from + n < toks.len() && n < 5 && listed(ANSWER_OPENERS, toks.word(from + n)) {
        n += 1;
    }
    n
}

/// The message as the answer to "what's your name?": a name that fills a clause ("Crystal
/// Minh", "tyler brooks. 646 555 0193", "רון שפירא 050-5558821", "Her mom, Jennifer Marsh",
/// "Tom. Tom Barrera."); the fullest one wins.
fn name_answer(toks: &Tokens<'_>) -> Option<Fact> {
    let mut best: Option<(String, usize, usize)> = None;
    for start in (0..toks.len()).filter(|&i| i == 0 || clause_start(toks, i)) {
        let at = start + skip_openers(toks, start);
        let Some((value, last)) = read_name_span(toks, at, NameCue::Answer) else {
            continue;
        };
        if !ends_answer(toks, last) || someone_elses(toks, at) {
            continue;
        }
        let words = value.split([' ', '-']).count();
        // A lone lowercase word is as likely a reply ("thanks", "tomorrow") as a name.
        let lone_lower = words == 1
            && proper_word(toks.orig(at)) == Some(Script::Latin)
            && !toks.orig(last).starts_with(char::is_uppercase);
        if lone_lower {
            continue;
        }
        if best.as_ref().is_none_or(|(_, n, _)| words > *n) {
            best = Some((value, words, at));
        }
    }
    let (value, _, at) = best?;
    let confidence = if corrects(toks, at) {
        CORRECTION_CONFIDENCE
    } else {
        0.85
    };
    Some(fact(KnownKey::Name, value, confidence))
}

/// Words before a name that make it someone else's ("under my husband's name, Paul Frost",
/// "על שם בעלי").
const SOMEONE_ELSES: &str = "\
    under husbands wifes sons daughters moms mums dads mothers fathers partners friends bosses \
    boyfriends girlfriends בעלי אשתי בני בתי אמא אבא";

fn someone_elses(toks: &Tokens<'_>, at: usize) -> bool {
    (at.saturating_sub(6)..at).any(|k| {
        listed(SOMEONE_ELSES, toks.word(k)) || toks.word(k) == "על" && toks.word(k + 1) == "שם"
    })
}

/// A name in the clauses that start within a few words after `from` that is fuller than `name`
/// and starts like it (any name when `name` is empty), with the index of its last word.
pub(super) fn fuller_name(toks: &Tokens<'_>, name: &str, from: usize) -> Option<(String, usize)> {
    let first = name.split(' ').next().unwrap_or("");
    // The fullest: "Samantha, Samantha Greer" after "my name is, uh,".
    (from..(from + 5).min(toks.len()))
        .filter(|&i| i == from || clause_start(toks, i))
        .filter_map(|start| {
            let at = start + skip_openers(toks, start);
            let (value, last) = read_name_span(toks, at, NameCue::Answer)?;
            let fuller =
                value.split(' ').count() > name.split(' ').filter(|w| !w.is_empty()).count();
            (ends_answer(toks, last) && fuller && value.starts_with(first)).then_some((value, last))
        })
        .max_by_key(|(value, last)| (value.split(' ').count(), usize::MAX - last))
}

/// Whether a value ending at word `last` ends its clause: punctuation, a dash, a number or an
/// email address after it, or "here".
fn ends_answer(toks: &Tokens<'_>, last: usize) -> bool {
    let gap = toks.gap_after(last);
    let next = toks.list.get(last + 1);
    let glued = matches!(gap, "." | "@" | "_") && next.is_some();
    let rest_is_email = next.is_some_and(|t| {
        toks.text[t.orig.start..]
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('@'))
    });
    (clause_end(toks, last) && !glued)
        || matches!(gap.trim(), "-" | "–" | "—")
        || next.is_some_and(|t| t.numeric)
        || rest_is_email
        || toks.word(last + 1) == "here"
}

/// The message as the answer to "which city?": a known city, or capitalized words, at its start
/// ("Austin", "in Queens", "בחיפה").
fn city_answer(toks: &Tokens<'_>) -> Option<Fact> {
    let at = skip_openers(toks, 0);
    if at >= toks.len() {
        return None;
    }
    let start = if toks.word(at) == "in" { at + 1 } else { at };
    if let Some(hit) = extract::CITIES.longest_at(toks, start) {
        let prefix_ok = hit.prefix.is_empty() || hit.prefix == "ב";
        if prefix_ok && (clause_end(toks, hit.end - 1) || hit.end >= toks.len()) {
            return Some(fact(KnownKey::City, *hit.value, 0.75));
        }
    }
    let mut words = Vec::new();
    let mut k = start;
    while k < toks.len() && words.len() < 3 {
        let orig = toks.orig(k);
        if proper_word(orig) != Some(Script::Latin)
            || !orig.starts_with(char::is_uppercase)
            || listed(extract::EN_CITY_STOP, toks.word(k))
        {
            break;
        }
        words.push(orig);
        if clause_end(toks, k) {
            break;
        }
        k += 1;
    }
    let last = start + words.len();
    if words.is_empty() || !clause_end(toks, last - 1) {
        return None;
    }
    Some(fact(KnownKey::City, words.join(" "), 0.7))
}

/// "yes", "yep that's me", "correct", "כן", "נכון".
fn confirms(toks: &Tokens<'_>) -> bool {
    const YES: &str = "yes yep yeah yup correct right exactly thats me its me that is כן נכון \
                       בדיוק מאשר מאשרת זה זאת זו אני";
    toks.len() > 0 && toks.len() <= 4 && (0..toks.len()).all(|i| listed(YES, toks.word(i)))
}

/// Facts from an agent's read-back ("Confirming: name Kelsey Morgan, phone 512-555-0170?")
/// that the customer confirmed.
pub fn confirmed_read_back(
    agent_text: &str,
    classification: &Classification,
    default_region: &str,
) -> Vec<Fact> {
    let toks = Tokens::new(agent_text);
    let (stated, _) = extract::stated(&toks, classification, default_region);
    let mut out: Vec<Fact> = stated
        .into_iter()
        .filter(|f| f.key == KnownKey::Phone || f.key == KnownKey::Email)
        .collect();
    for hit in READ_BACK_NAME.scan(&toks) {
        if let Some(value) = read_name(&toks, hit.end, NameCue::Explicit) {
            out.push(fact(KnownKey::Name, value, 0.8));
            break;
        }
    }
    extract::finish(out, default_region)
        .into_iter()
        .map(|mut f| {
            f.confidence = f.confidence.min(0.8);
            f
        })
        .collect()
}

static READ_BACK_NAME: LazyLock<Lexicon<()>> =
    LazyLock::new(|| grouped(&[((), Rule::ANY, "name, שם")]));

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::classify::classify;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()
    }

    fn answer(question: &str, reply: &str, region: &str) -> Vec<(String, String)> {
        let asked = Asked::of_agent_message(question);
        read(reply, &classify(reply, today()), region, Some(today()))
            .facts(asked)
            .into_iter()
            .map(|f| (f.key.as_str().to_owned(), f.value))
            .collect()
    }

    fn value(question: &str, reply: &str, region: &str, key: &str) -> Option<String> {
        answer(question, reply, region)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    #[test]
    fn the_agents_question_is_read_from_the_sentence_that_asks_it() {
        assert_eq!(
            Asked::of_agent_message("May I have your full name?"),
            Asked::NAME
        );
        // "Thanks Joseph." is not a question about a name.
        assert!(
            !Asked::of_agent_message("Thanks Joseph. What's the name of the street?")
                .contains(Asked::PHONE)
        );
        assert!(
            Asked::of_agent_message("Can I get your order number?").contains(Asked::IDENTIFIER)
        );
        assert!(!Asked::of_agent_message("Can I get your order number?").contains(Asked::PHONE));
        assert!(Asked::of_agent_message("ושם וטלפון?").contains(Asked::PHONE));
        assert!(Asked::of_agent_message("ושם וטלפון?").contains(Asked::NAME));
        assert!(Asked::of_agent_message("Hi Maya! And your last name?").contains(Asked::SURNAME));
        assert_eq!(
            Asked::of_agent_message("See you on the 21st!"),
            Asked::NOTHING
        );
        let both = Asked::NAME.with(Asked::PHONE);
        assert_eq!(Asked::from_stored(both.to_stored().as_deref()), both);
        assert_eq!(Asked::NOTHING.to_stored(), None);
    }

    #[test]
    fn answers_to_a_name_question_in_english_and_hebrew() {
        let q = "May I have your full name?";
        assert_eq!(
            value(q, "Crystal Minh", "US", "name").as_deref(),
            Some("Crystal Minh")
        );
        assert_eq!(
            value(q, "tyler brooks. 646 555 0193", "US", "name").as_deref(),
            Some("Tyler Brooks")
        );
        assert_eq!(
            value(q, "Her mom, Jennifer Marsh", "US", "name").as_deref(),
            Some("Jennifer Marsh")
        );
        assert_eq!(
            value("מה השם המלא שלך?", "יוסי כהן", "IL", "name").as_deref(),
            Some("יוסי כהן")
        );
        assert_eq!(
            value("ושם מלא?", "אבי מזרחי", "IL", "name").as_deref(),
            Some("אבי מזרחי")
        );
        // Not a name, and not an answer when nothing was asked.
        assert_eq!(value(q, "sure thing", "US", "name"), None);
        assert_eq!(value("How can I help?", "Crystal Minh", "US", "name"), None);
    }

    #[test]
    fn digits_after_a_question_for_an_identifier_are_never_a_phone() {
        for q in [
            "Can I get your order number?",
            "Could I have your ID number for the file?",
            "Reg number please?",
            "מה מספר ההזמנה?",
            "אפשר מספר תעודת זהות?",
            "Zip code?",
        ] {
            assert_eq!(value(q, "0525551234", "IL", "phone"), None, "{q}");
        }
        assert_eq!(
            value("And a phone number?", "0525551234", "IL", "phone").as_deref(),
            Some("+972525551234")
        );
        // Unasked, a bare number needs a phone cue.
        assert_eq!(value("How can I help?", "0525551234", "IL", "phone"), None);
        assert_eq!(
            value("How can I help?", "call me on 0525551234", "IL", "phone").as_deref(),
            Some("+972525551234")
        );
    }

    #[test]
    fn a_correction_outranks_the_name_before_it() {
        let first =
            read("Hi it's Sanya Azfal", &classify("x", today()), "GB", None).facts(Asked::NAME);
        let fixed = read(
            "Sorry, it's Sanya Afzal, autocorrect",
            &classify("x", today()),
            "GB",
            None,
        )
        .facts(Asked::NOTHING);
        let name = |facts: &[Fact]| {
            facts
                .iter()
                .find(|f| f.key == KnownKey::Name)
                .map(|f| (f.value.clone(), f.confidence))
        };
        let (a, ca) = name(&first).unwrap();
        let (b, cb) = name(&fixed).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("Sanya Azfal", "Sanya Afzal"));
        assert!(cb > ca);
    }

    #[test]
    fn answers_about_budget_rooms_pets_and_move_in() {
        assert_eq!(
            value("Budget?", "like 2200 max", "US", "budget").as_deref(),
            Some("2200 USD/month")
        );
        assert_eq!(
            value("How many bedrooms?", "at least two", "US", "bedrooms").as_deref(),
            Some("2")
        );
        assert_eq!(
            value("כמה חדרים?", "שלושה", "IL", "rooms").as_deref(),
            Some("3")
        );
        assert_eq!(
            value("כמה חדרים?", "שלושה", "IL", "bedrooms").as_deref(),
            Some("2")
        );
        assert_eq!(
            value("Any pets?", "nope", "US", "pets").as_deref(),
            Some("none")
        );
        assert_eq!(
            value("Move-in date?", "November 15th", "US", "move_in").as_deref(),
            Some("2026-11-15")
        );
        // The same words unasked are not a move-in date.
        assert_eq!(
            value("How can I help?", "November 15th", "US", "move_in"),
            None
        );
    }

    #[test]
    fn a_request_without_a_question_mark_still_asks() {
        let both = Asked::of_agent_message("Name and phone please");
        assert!(both.contains(Asked::NAME) && both.contains(Asked::PHONE));
        assert!(
            Asked::of_agent_message("Full name please, for the booking system :)")
                .contains(Asked::NAME)
        );
        assert!(Asked::of_agent_message("שלום! שם מלא בבקשה").contains(Asked::NAME));
        assert_eq!(
            value(
                "Name and phone please",
                "Yael Friedman 050-555-8821",
                "IL",
                "phone"
            )
            .as_deref(),
            Some("+972505558821")
        );
        // A statement that mentions a name asks nothing.
        assert_eq!(
            Asked::of_agent_message("I'll put the booking under that name."),
            Asked::NOTHING
        );
    }

    #[test]
    fn when_alone_asks_for_the_move_in_date_but_not_for_an_appointment() {
        for q in ["When?", "And when do you need it?", "ומתי?", "מתי?"] {
            assert!(Asked::of_agent_message(q).contains(Asked::MOVE_IN), "{q}");
        }
        for q in [
            "When would you like to come in?",
            "When can you come see it?",
            "מתי נוח לך לבוא לראות?",
            "When are you flying?",
        ] {
            assert!(!Asked::of_agent_message(q).contains(Asked::MOVE_IN), "{q}");
        }
        assert_eq!(
            value("ומתי?", "1/5", "IL", "move_in").as_deref(),
            Some("2026-05-01")
        );
        assert_eq!(
            value("When?", "ASAP honestly", "US", "move_in").as_deref(),
            Some("2026-03-14")
        );
    }

    #[test]
    fn a_number_right_after_the_customers_own_name_is_their_phone() {
        assert_eq!(
            value(
                "Want to book?",
                "yes saturday morning please. I'm Laura Chen, 214-555-0147",
                "US",
                "phone"
            )
            .as_deref(),
            Some("+12145550147")
        );
        assert_eq!(
            value("שם?", "בועז פלד, 054-3390021", "IL", "phone").as_deref(),
            Some("+972543390021")
        );
        // Not after a question for an identifier, and not a number elsewhere in the message.
        assert_eq!(
            value(
                "Order number and name?",
                "Laura Chen, 2145550147",
                "US",
                "phone"
            ),
            None
        );
        assert_eq!(
            value(
                "How can I help?",
                "I'm Laura Chen and my order 2145550147 is late",
                "US",
                "phone"
            ),
            None
        );
    }

    #[test]
    fn yes_thats_me_confirms_a_read_back() {
        let reading = |t: &str| read(t, &classify(t, today()), "IL", Some(today()));
        assert!(reading("כן זאת אני").confirms());
        assert!(reading("yes that's me").confirms());
        assert!(!reading("כן אבל המספר השתנה").confirms());
    }
}
