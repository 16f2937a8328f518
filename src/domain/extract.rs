//! The built-in fact extractor: profile facts a customer states about themselves (name, email,
//! phone, city, preferred currency, interests, preferred language, and with [`super::wishes`]
//! what they are looking for). English and Hebrew; no LLM. [`super::dialogue`] reads a message
//! as the answer to the agent's last question.

use std::ops::Range;
use std::sync::LazyLock;

use super::classify::{self, Classification, Intent};
use super::phone::{PhoneNumber, parse_region};
use super::profile::KnownKey;
use super::profile::keys::{FieldKey, normalize_value};
use super::text::hebrew;
use super::text::lexicon::{Lexicon, Rule, grouped, listed, phrases};
use super::text::pattern::{Pattern, compile, find_iter, is_match};
use super::text::tokens::Tokens;

/// The profile key a fact is for: a well-known key, or one of the keys the extractor adds for
/// what a customer is looking for (they are tenant-style keys: no fixed label in the context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactKey {
    Known(KnownKey),
    /// Bedrooms wanted (a studio is 0).
    Bedrooms,
    /// Israeli room count (the living room counts): `3`, `2.5`.
    Rooms,
    /// Animal kinds in English, sorted and comma-separated, or `none`.
    Pets,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    MoveIn,
    /// The listing the customer asks about, as they wrote it.
    PropertyOfInterest,
}

impl FactKey {
    pub const fn as_str(self) -> &'static str {
        match self {
            FactKey::Known(key) => key.as_str(),
            FactKey::Bedrooms => "bedrooms",
            FactKey::Rooms => "rooms",
            FactKey::Pets => "pets",
            FactKey::MoveIn => "move_in",
            FactKey::PropertyOfInterest => "property_of_interest",
        }
    }

    pub fn known(self) -> Option<KnownKey> {
        match self {
            FactKey::Known(key) => Some(key),
            _ => None,
        }
    }

    pub fn field_key(self) -> FieldKey {
        match self {
            FactKey::Known(key) => FieldKey::known(key),
            other => FieldKey::builtin(other.as_str()),
        }
    }
}

impl From<KnownKey> for FactKey {
    fn from(key: KnownKey) -> Self {
        FactKey::Known(key)
    }
}

impl PartialEq<KnownKey> for FactKey {
    fn eq(&self, other: &KnownKey) -> bool {
        *self == FactKey::Known(*other)
    }
}

/// A fact found in one customer message, ready to become a profile proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub key: FactKey,
    /// Normalized as `profile::keys::normalize_value` would (E.164 phones, lowercase emails,
    /// ISO currency codes). For list keys (`interests`, `preferences`): one item.
    pub value: String,
    /// In `0.0..=1.0`: explicit statements ("my name is Dana") score high, inferences low.
    pub confidence: f64,
}

/// Facts in a customer message read on its own (no question before it). `classification` is
/// the classifier's verdict on the same text; `default_region` (ISO 3166) parses national
/// phone numbers. See [`super::dialogue::read`] for a message read as an answer.
///
/// At most one name and one city (the most explicit statement wins); every value is passed
/// through `normalize_value`, and a value that does not pass is dropped rather than guessed at.
pub fn extract_facts(
    text: &str,
    classification: &Classification,
    default_region: &str,
) -> Vec<Fact> {
    super::dialogue::read(text, classification, default_region, None)
        .facts(super::dialogue::Asked::NOTHING)
}

/// What a message states on its own: the facts, and phone numbers written without a phone cue
/// (they become facts only when the agent asked for a number).
pub(super) fn stated(
    toks: &Tokens<'_>,
    classification: &Classification,
    default_region: &str,
) -> (Vec<Fact>, Vec<Fact>) {
    let text = toks.text;
    let mut found = Vec::new();
    found.extend(name(toks));
    let emails = emails(text, &mut found);
    let mut uncued = Vec::new();
    phones(
        toks,
        default_region,
        &emails,
        &mut found,
        &mut uncued,
        false,
    );
    found.extend(city(toks));
    found.extend(preferred_currency(toks, classification));
    interests(toks, classification, &mut found);
    found.extend(preferred_language(toks, classification));
    (found, uncued)
}

/// Phone numbers in a message that answers "what's your number?": any number that parses as
/// possible for `region`, cue or not.
pub(super) fn answered_phones(toks: &Tokens<'_>, region: &str) -> Vec<Fact> {
    let (mut found, mut uncued) = (Vec::new(), Vec::new());
    let spans = emails(toks.text, &mut Vec::new());
    phones(toks, region, &spans, &mut found, &mut uncued, true);
    found.extend(uncued);
    found
}

pub(super) fn fact(key: impl Into<FactKey>, value: impl Into<String>, confidence: f64) -> Fact {
    Fact {
        key: key.into(),
        value: value.into(),
        confidence,
    }
}

/// Normalizes every value, drops what does not normalize, and merges repeats (keeping the
/// higher confidence).
pub(super) fn finish(found: Vec<Fact>, region: &str) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    for raw in found {
        // Phones come out of the very parser `normalize_value` uses; parsing is costly.
        let value = if raw.key == KnownKey::Phone {
            raw.value
        } else {
            match normalize_value(&raw.key.field_key(), &raw.value, region, "value") {
                Ok(value) => value,
                Err(_) => continue,
            }
        };
        let confidence = raw.confidence.clamp(0.0, 1.0);
        match out
            .iter_mut()
            .find(|f| f.key == raw.key && f.value == value)
        {
            Some(seen) => seen.confidence = seen.confidence.max(confidence),
            None => out.push(fact(raw.key, value, confidence)),
        }
    }
    out
}

/// Greeting words that may open an introduction ("Hi, this is Dana", "היי זה יוסי").
pub(super) const GREETINGS: &str = "\
    hi hiya heya hello hey there morning evening afternoon shalom שלום היי הי הלו אהלן טוב טובים";

/// Whether word `i` opens a clause: first word, after punctuation, or right after a greeting.
pub(super) fn clause_start(toks: &Tokens<'_>, i: usize) -> bool {
    i == 0
        || toks
            .gap_before(i)
            .contains([',', '.', '!', '?', ';', ':', '\n', '-', '–', '('])
        || listed(GREETINGS, toks.word(i - 1))
}

/// Whether a clause ends right after word `i` (punctuation, a line break or the end).
pub(super) fn clause_end(toks: &Tokens<'_>, i: usize) -> bool {
    i + 1 >= toks.len()
        || toks
            .gap_after(i)
            .contains([',', '.', '!', '?', ';', ':', '\n', '(', ')'])
}

pub(super) fn is_capitalized(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// "dana" and "DANA" become "Dana"; "McDonald" stays as written.
pub(super) fn title_case(word: &str) -> String {
    let has_lower = word.chars().any(char::is_lowercase);
    let has_upper = word.chars().any(char::is_uppercase);
    if has_lower && has_upper && is_capitalized(word) {
        return word.to_owned();
    }
    let mut out = String::with_capacity(word.len());
    let mut start = true;
    for c in word.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, '\'' | '’' | '-');
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Script {
    Latin,
    Hebrew,
}

/// A word that can be part of a name or a place: 2–30 letters of one script (apostrophes and
/// geresh allowed inside).
pub(super) fn proper_word(word: &str) -> Option<Script> {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if !(2..=30).contains(&letters)
        || !word
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '׳' | '"' | '״'))
    {
        return None;
    }
    let hebrew_letters = word.chars().filter(|c| hebrew::is_letter(*c)).count();
    if hebrew_letters == letters {
        Some(Script::Hebrew)
    } else if hebrew_letters == 0
        && word.chars().all(|c| {
            !c.is_alphabetic() || c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c)
        })
    {
        Some(Script::Latin)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Name

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameCue {
    /// "my name is", "קוראים לי", "שמי".
    Explicit,
    /// "Name's Dana" (clause start).
    NameIs,
    /// "This is Dana" (clause start, capitalized).
    ThisIs,
    /// "Call me Dana" (capitalized).
    CallMe,
    /// "I'm Dana" (capitalized).
    Im,
    /// "אני דנה" (clause start, Hebrew, guarded by stoplists).
    Ani,
    /// "היי זה יוסי" (right after a greeting, guarded like `Ani`).
    Ze,
    /// "Name: Joseph Banter", "שם: מיכל אברהם" (a label and a colon or dash).
    Label,
    /// "it's Sanya Afzal", "hiya its jess patterson" (clause start; the name ends the clause).
    Its,
    /// A clause that answers "what's your name?" (see `dialogue`): read like `Explicit`.
    Answer,
}

impl NameCue {
    fn confidence(self) -> f64 {
        match self {
            NameCue::Explicit => 0.9,
            NameCue::NameIs => 0.85,
            NameCue::ThisIs | NameCue::CallMe => 0.75,
            NameCue::Im => 0.7,
            NameCue::Ani => 0.55,
            NameCue::Ze => 0.6,
            NameCue::Label => 0.9,
            NameCue::Its => 0.75,
            NameCue::Answer => 0.85,
        }
    }

    fn needs_clause_start(self) -> bool {
        matches!(
            self,
            NameCue::NameIs | NameCue::ThisIs | NameCue::Ani | NameCue::Label | NameCue::Its
        )
    }

    /// Hebrew has no capitals to tell a name from a word, so these cues read at most two
    /// words and want the name to end the clause or be followed by what introductions say next.
    fn loose(self) -> bool {
        matches!(self, NameCue::Ani | NameCue::Ze)
    }
}

/// "אני" with ש/כ/ב… attached is "that I", "when I": not an introduction; "ואני" (and I) is.
const ANI: Rule = Rule {
    bad_prefix: &['ה', 'ב', 'ל', 'מ', 'ש', 'כ'],
    ..Rule::ANY
};

static NAME_CUES: LazyLock<Lexicon<NameCue>> = LazyLock::new(|| {
    grouped(&[
        (
            NameCue::Explicit,
            Rule::ANY,
            "my name is, my names, my full name is, my first name is, קוראים לי, שמי, שמי הוא, \
             השם שלי, השם שלי הוא, שמי המלא, השם המלא שלי, השם המלא שלי הוא",
        ),
        (NameCue::NameIs, Rule::ANY, "names, name is"),
        (NameCue::ThisIs, Rule::ANY, "this is"),
        (
            NameCue::CallMe,
            Rule::ANY,
            "call me, you can call me, people call me",
        ),
        (NameCue::Im, Rule::ANY, "im, i am"),
        (NameCue::Ani, ANI, "אני"),
        (NameCue::Ze, Rule::ANY, "זה, זו, זאת"),
        (
            NameCue::Label,
            Rule::ANY,
            "name, full name, customer name, שם, שם מלא, שם הלקוח, שם הלקוחה",
        ),
        (NameCue::Its, Rule::ANY, "its, it is"),
    ])
});

/// Words after "I'm", "this is", "call me" that are not names.
pub(super) const EN_NAME_STOP: &str = "\
    a an the not no so very really just also still already sorry fine good great ok okay well \
    here there from in at on with for to of by about regarding re calling trying looking \
    interested having writing wondering waiting going coming leaving planning thinking hoping \
    asking reaching contacting texting messaging getting doing travelling traveling flying \
    staying living moving working following checking replying responding considering new back \
    glad happy sure afraid available busy free ready done able unable currently always never \
    now today tomorrow tonight yesterday too customer client student retired married single and \
    but or your my his her their our this that it its what who how why when where which i im me \
    you we they he she hi hello hey thanks thank please sir madam excited curious confused \
    disappointed upset angry frustrated tired sick pregnant late early aware unsure english \
    hebrew israeli american british jewish french german russian monday tuesday wednesday \
    thursday friday saturday sunday january february march april may june july august september \
    october november december one two someone somebody anyone nobody everyone all both any some \
    more less over under like as if then than because since yes yeah yep nope hmm um uh lol \
    gonna wanna gotta need want would could should can will shall might must do does did have \
    has had be been being is am are was were get got let lets make call text email phone number \
    whatsapp contact reach speak talk tell say ask see book booking order buy pay price cost \
    help support sales team manager service company business owner agent representative human \
    person robot bot ai asap later soon again anytime maybe urgent important ridiculous \
    terrible awful amazing awesome crazy insane unacceptable weird strange correct wrong right \
    true false perfect exactly mr mrs ms miss dr mister doctor interesting it's whats thats \
    wait hold listen look home abroad outside inside online old young new mom dad wife husband \
    mother father son daughter a vip outrageous unbelievable broken expensive cheap nice bad \
    horrible disgusting fantastic excellent wonderful incredible absurd annoying frustrating \
    stupid silly funny hard easy fast slow serious useless pathetic shocking disappointing \
    confusing impossible possible mine yours ours concerning unreal awkward rude overpriced";

/// Words after "אני", "שמי", "קוראים לי" that are not names.
pub(super) const HE_NAME_STOP: &str = "\
    לא כן רוצה רוצים מחפש מחפשת מתעניין מתעניינת מעוניין מעוניינת צריך צריכה גר גרה פה כאן שם \
    בסדר טוב טובה שמח שמחה לקוח לקוחה בן בת עם של גם רק עוד כבר עדיין מאוד ממש באמת פשוט רציתי \
    אשמח יכול יכולה חושב חושבת מבקש מבקשת מנסה מתקשר מתקשרת מדבר מדברת יודע יודעת מצטער מצטערת \
    סטודנט סטודנטית אמא אבא שוב לגבי בקשר מאוכזב מאוכזבת ישראלי ישראלית נשוי נשואה רווק רווקה \
    הוא היא זה זו זאת את אתה אתם אנחנו אני מה איך למה מתי איפה כמה היי שלום תודה עובד עובדת \
    חייב חייבת אמור אמורה הולך הולכת בא באה מגיע מגיעה נמצא נמצאת פנוי פנויה זמין זמינה גרוש \
    גרושה עצמאי עצמאית בעל בעלת אחד אחת הכי די קצת נורא סתם ממתין ממתינה מחכה אוהב אוהבת חדש \
    חדשה ותיק ותיקה אישה גבר ילד ילדה מורה רופא רופאה עורך עורכת נציג נציגה מנהל מנהלת בעלים \
    אה אמ אממ הבת הבן אגב עדיף מעדיף מעדיפה מבין מבינה מסכים מסכימה לבד עצמי בחופש במילואים בעבודה בבית בדרך הלקוח הלקוחה \
    אותו אותה שלי שלך ביי בוקר ערב אתמול היום מחר הולכים רוצות תקוע תקועה חולה בהריון מפחד \
    מפחדת כועס כועסת עייף עייפה מוכן מוכנה בטוח בטוחה יקר יקרה זול זולה מדי מעולה מצוין מצוינת \
    נהדר נהדרת נכון חשוב חשובה דחוף דחופה מוזר מוזרה ברור בדיוק אפשרי מסובך הכל הכול כל רציני \
    רצינית מגעיל מדהים מדהימה חבל לגמרי אולי עכשיו אחר אחרת שונה נוח קשה קל קלה גדול גדולה קטן \
    קטנה ארוך קצר מהיר איטי בעיה תקלה";

/// Hebrew names that start like a prefixed word or a participle (מ, ל, ה, ב, ש…).
const HE_NAME_ALLOW: &str = "\
    מיכל מיכאל מירב מרים מאיר מנחם מרדכי מעיין מלכה מאיה מורן מור מתן משה מיה מיקה מלי מיכה \
    מאור מרב מירי מורדי ליאור לירון לימור ליאת לינוי לאה לי ליה לוטם ליאם לביא הדס הילה הדר \
    הראל הלל הודיה הגר הני ברק בני בועז בתיה בר ברכה בנימין בן שירה שרון שני שחר שלומי שמעון \
    שמואל שרה שלמה שקד שיר שי שגיא שלי שולה כרמל כנרת כליל ורד ויקטור ולדימיר וילי";

/// Follow "אני דנה" without punctuation and still leave it an introduction.
const HE_NAME_FOLLOWERS: &str = "\
    רציתי רוצה מחפש מחפשת צריך צריכה מתעניין מתעניינת מעוניין מעוניינת אשמח מ מחברת מתקשר \
    מתקשרת פונה כותב כותבת שאלה";

const TITLES: &str = "mr mrs ms miss dr mister doctor ד\"ר דר";

/// Looks like a verb or a prefixed word rather than a name ("מחפשת", "להזמין", "הבעלים").
pub(super) fn hebrew_verb_like(word: &str) -> bool {
    word.starts_with(['מ', 'ל', 'ה']) && word.chars().count() >= 4 && !listed(HE_NAME_ALLOW, word)
}

/// The name a cue at words `..at` introduces, as written (Latin words title-cased).
pub(super) fn read_name(toks: &Tokens<'_>, at: usize, cue: NameCue) -> Option<String> {
    read_name_span(toks, at, cue).map(|(name, _)| name)
}

/// [`read_name`], and the index of the name's last word.
pub(super) fn read_name_span(
    toks: &Tokens<'_>,
    at: usize,
    cue: NameCue,
) -> Option<(String, usize)> {
    let gap = toks.gap_before(at);
    if at >= toks.len()
        || cue != NameCue::Answer
            && !gap
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, ':' | '-' | '"' | '–' | '—'))
    {
        return None;
    }
    let mut first = at;
    if listed(TITLES, toks.word(first)) && !cue.loose() {
        first += 1;
        if !toks
            .gap_before(first)
            .trim_start_matches('.')
            .chars()
            .all(char::is_whitespace)
        {
            return None;
        }
    }
    let script = proper_word(toks.orig(first))?;
    let mut words: Vec<usize> = Vec::new();
    let mut k = first;
    // "אני X" reads at most a first and a last name.
    let most = if cue.loose() { 2 } else { 3 };
    while words.len() < most && k < toks.len() {
        if !words.is_empty() {
            let gap = toks.gap_before(k);
            if !(gap == "-" || (gap.chars().all(char::is_whitespace) && !gap.contains('\n'))) {
                break;
            }
        }
        let (orig, word) = (toks.orig(k), toks.word(k));
        // The start of an email address ("kayla simmons kayla.simmons@gmail.com").
        let chunk = toks.text[toks.list[k].orig.start..]
            .split_whitespace()
            .next();
        if chunk.is_some_and(|c| c.contains('@')) {
            break;
        }
        // "This is John's phone" names someone else.
        if proper_word(orig) != Some(script) || orig.ends_with("'s") || orig.ends_with("’s") {
            break;
        }
        let acceptable = match script {
            Script::Latin => {
                let capitalized_cue = !matches!(
                    cue,
                    NameCue::Explicit | NameCue::Label | NameCue::Its | NameCue::Answer
                );
                let caps_ok = if words.is_empty() {
                    !capitalized_cue || is_capitalized(orig)
                } else {
                    // "Dana Cohen" or "dana cohen", never "Dana and".
                    is_capitalized(orig) == is_capitalized(toks.orig(first))
                };
                // "Megan Price", "Tom Young": a capitalized word after a capitalized first name
                // is a surname even when it is also a word.
                let surname = !words.is_empty() && is_capitalized(orig) && orig.len() > 1;
                caps_ok && (surname || !listed(EN_NAME_STOP, word))
            }
            Script::Hebrew => {
                // After a bare "אני" a prefix letter usually means a verb or a place
                // ("אני בבית"); inside a name a leading ו is "and" ("דנה ואני").
                let risky_start: &[char] = match (words.is_empty(), cue) {
                    (true, cue) if cue.loose() => &hebrew::PREFIXES,
                    (true, _) => &[],
                    (false, _) => &['ו'],
                };
                let allowed = listed(HE_NAME_ALLOW, word) || !word.starts_with(risky_start);
                // Surnames often start like a participle (מזרחי, מימון, לוי); after a first
                // name given on cue they are read as written. "בן" inside a name is "Ben".
                // (A verb-like word inside a clause is still a verb: "עדיף להתקשר אחרי".)
                let surname = !words.is_empty() && !cue.loose() && clause_end(toks, k);
                let ben = surname && word == "בן" && proper_word(toks.orig(k + 1)).is_some();
                // A surname that starts with ו ("וייס", "וקנין") ends the name on cue.
                let vav_surname = surname && word.starts_with('ו') && word.chars().count() >= 4;
                ben || ((allowed || vav_surname)
                    && !listed(HE_NAME_STOP, word)
                    && (surname || !hebrew_verb_like(word))
                    && CITIES.longest_at(toks, k).is_none())
            }
        };
        if !acceptable {
            break;
        }
        words.push(k);
        k += 1;
    }
    let &last = words.last()?;
    let lowercase_latin = script == Script::Latin && !is_capitalized(toks.orig(first));
    // ("my name is albert sanders and my id is…": a function word after it ends the name.)
    let ended_by_stopword = lowercase_latin && listed(EN_NAME_STOP, toks.word(last + 1));
    // "kayla simmons kayla.simmons@gmail.com": an email address after the name ends it.
    let ended_by_email = toks.list.get(last + 1).is_some_and(|t| {
        toks.text[t.orig.start..]
            .split_whitespace()
            .next()
            .is_some_and(|c| c.contains('@'))
    });
    let ended_by_stopword = ended_by_stopword || ended_by_email;
    if (lowercase_latin || cue.loose())
        && words.len() > 1
        && !clause_end(toks, last)
        && !ended_by_stopword
    {
        // Without capitals or punctuation only the first word is surely the name.
        words.truncate(1);
    }
    if cue.loose() {
        if script != Script::Hebrew {
            return None;
        }
        let last = *words.last()?;
        let next = toks.word(last + 1);
        let introduced =
            clause_end(toks, last) || next.starts_with('ו') || listed(HE_NAME_FOLLOWERS, next);
        if !introduced {
            return None;
        }
    }
    let mut name = String::new();
    for (n, &i) in words.iter().enumerate() {
        if n > 0 {
            name.push_str(if toks.gap_before(i) == "-" { "-" } else { " " });
        }
        match script {
            Script::Latin => name.push_str(&title_case(toks.orig(i))),
            Script::Hebrew => name.push_str(toks.orig(i)),
        }
    }
    Some((name, *words.last()?))
}

/// The most explicit self-introduction in the message.
///
/// "I'm X", "this is X" and "call me X" need a capitalized X outside a stoplist ("I'm looking",
/// "this is ridiculous", "call me tomorrow" are not names); "אני X" also needs a clause start,
/// an X that does not look like a verb or a prefixed word, and nothing but punctuation or an
/// expected follow-up ("רוצה", "ואני") after it.
fn name(toks: &Tokens<'_>) -> Option<Fact> {
    let mut best: Option<Fact> = None;
    for hit in NAME_CUES.scan(toks) {
        let cue = *hit.value;
        if cue.needs_clause_start() && !clause_start(toks, hit.start) {
            continue;
        }
        let after_greeting = hit
            .start
            .checked_sub(1)
            .is_some_and(|p| listed(GREETINGS, toks.word(p)));
        if cue == NameCue::Ze && !after_greeting {
            continue;
        }
        if cue == NameCue::Label && !toks.gap_after(hit.end - 1).contains([':', '-', '–', '—'])
        {
            continue;
        }
        // "my name's Derek, Derek Huang", "my name is, uh, Samantha, Samantha Greer": the
        // fullest name in the clauses right after the cue.
        let value = match read_name_span(toks, hit.end, cue) {
            Some((value, last)) => super::dialogue::fuller_name(toks, &value, last + 1)
                .map_or(value, |(fuller, _)| fuller),
            None if matches!(cue, NameCue::Explicit | NameCue::NameIs) => {
                match super::dialogue::fuller_name(toks, "", hit.end) {
                    Some((value, _)) => value,
                    None => continue,
                }
            }
            None => continue,
        };
        if cue == NameCue::Its {
            // "It's orange.": one lowercase word after "it's" is a word, not a name.
            if !value.contains([' ', '-']) && !is_capitalized(toks.orig(hit.end)) {
                continue;
            }
            let last = hit.end + value.split([' ', '-']).count() - 1;
            let glued = matches!(toks.gap_after(last), "." | "@" | "_") && last + 1 < toks.len();
            if glued
                || (!clause_end(toks, last) && !toks.list.get(last + 1).is_some_and(|t| t.numeric))
            {
                continue;
            }
        }
        let confidence = if corrects(toks, hit.start) {
            CORRECTION_CONFIDENCE
        } else {
            cue.confidence()
        };
        if best.as_ref().is_none_or(|b| confidence > b.confidence) {
            best = Some(fact(KnownKey::Name, value, confidence));
        }
    }
    if best.is_none() {
        best = name_here(toks);
    }
    best
}

/// A correction outranks what the customer said before ("sorry, it's Sanya Afzal").
pub(super) const CORRECTION_CONFIDENCE: f64 = 0.95;

/// Words that mark a correction of something said before.
const CORRECTION_WORDS: &str = "\
    sorry actually correction typo autocorrect mean meant oops סליחה טעיתי תיקון בעצם טעות";

/// Whether a correction word comes before word `at` in the message.
pub(super) fn corrects(toks: &Tokens<'_>, at: usize) -> bool {
    toks.any_before(at, at.min(8), CORRECTION_WORDS)
}

/// "Carlos Mendez here": a capitalized name at a clause start, then "here".
fn name_here(toks: &Tokens<'_>) -> Option<Fact> {
    let here = (1..toks.len()).find(|&i| toks.word(i) == "here")?;
    (here.saturating_sub(3)..here)
        .filter(|&i| clause_start(toks, i))
        .find_map(|start| {
            // Read like an answer (a comma may come before it), but only capitalized.
            let (value, last) = read_name_span(toks, start, NameCue::Answer)?;
            (last + 1 == here && is_capitalized(toks.orig(start)))
                .then(|| fact(KnownKey::Name, value, NameCue::ThisIs.confidence()))
        })
}

// ---------------------------------------------------------------------------------------------
// Email and phone

static EMAIL: Pattern =
    LazyLock::new(|| compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"));

/// Every address in the message; returns their spans so their digits are not phones.
fn emails(text: &str, found: &mut Vec<Fact>) -> Vec<Range<usize>> {
    find_iter(&EMAIL, text)
        .map(|m| {
            found.push(fact(KnownKey::Email, m.as_str(), 0.95));
            m.range()
        })
        .collect()
}

/// Digits with the separators people put in phone numbers.
static PHONE_CANDIDATE: Pattern = LazyLock::new(|| compile(r"\+?\(?[0-9][0-9 ().\-]{5,22}[0-9]"));

static DATE_SHAPE: Pattern =
    LazyLock::new(|| compile(r"^[0-9]{1,4}[./\-][0-9]{1,2}[./\-][0-9]{1,4}$"));

/// Words near a number that make it a phone number.
pub(super) const PHONE_WORDS: &str = "\
    phone number mobile cell cellphone whatsapp call text reach contact tel טלפון מספר נייד \
    פלאפון וואטסאפ ווטסאפ ווצאפ להתקשר תתקשר תתקשרי תתקשרו טל";

/// Words before a number that make it an identifier, not a phone.
pub(super) const ID_WORDS: &str = "\
    order invoice ticket booking reservation reference ref confirmation tracking account card \
    policy id passport הזמנה חשבונית אסמכתא כרטיס פוליסה חשבון זהות דרכון אישור";

/// "my number is", "call me at", "המספר שלי": the customer is giving their number.
pub(super) fn giving_number(toks: &Tokens<'_>, at: usize) -> bool {
    (at.saturating_sub(6)..at).any(|j| {
        let (w, next) = (toks.word(j), toks.word(j + 1));
        (w == "my"
            && ["number", "phone", "mobile", "cell", "cellphone", "whatsapp"].contains(&next))
            || (["call", "text", "reach", "whatsapp", "contact", "ring"].contains(&w)
                && next == "me")
            || (["מספר", "טלפון", "נייד", "פלאפון"]
                .iter()
                .any(|p| toks.matches(j, p))
                && next == "שלי")
    })
}

/// How many phone parses one message may cost: parsing is the slowest step of extraction, and a
/// pasted spreadsheet of numbers should not stall ingestion.
const PHONE_PARSE_BUDGET: usize = 16;

/// Phone numbers that parse as valid for `region`.
///
/// National numbers must be valid in the default region; digit runs without `+` or trunk zero
/// (WhatsApp-style "972525551234") count when the region reads them as valid or a phone word is
/// near. Numbers next to a currency, dates, and numbers right after "order"/"ticket"/"הזמנה"
/// are left alone.
///
/// A number counts as given only with a phone cue (a phone word or "my number" before it, or
/// the `+` form); others go to `uncued`. `answer` reads the message as the answer to "what's
/// your number?": every number that is possible for the region is given.
fn phones(
    toks: &Tokens<'_>,
    region: &str,
    emails: &[Range<usize>],
    found: &mut Vec<Fact>,
    uncued: &mut Vec<Fact>,
    answer: bool,
) {
    let text = toks.text;
    let mut scan = PhoneScan {
        toks,
        region,
        answer,
        country: parse_region(region).ok(),
        currencies: classify::currency_mentions(toks),
        budget: PHONE_PARSE_BUDGET,
    };
    for m in find_iter(&PHONE_CANDIDATE, text) {
        if emails
            .iter()
            .any(|e| e.start < m.end() && m.start() < e.end)
        {
            continue;
        }
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| {
            c.is_alphanumeric() && !hebrew::is_letter(c) || matches!(c, '@' | '/' | '#')
        }) || after.is_some_and(|c| {
            c.is_alphanumeric() && !hebrew::is_letter(c) || matches!(c, '@' | '/' | '%')
        }) {
            continue;
        }
        // Whitespace may join two numbers (or a count and a number): try the pieces too.
        let pieces: Vec<Range<usize>> = split_ranges(m.as_str(), m.start());
        let mut s = 0;
        while s < pieces.len() && scan.budget > 0 {
            // "2 0525551234": a one- or two-digit count before a number is not its area code.
            let piece = &text[pieces[s].clone()];
            let count_like = piece.len() <= 2 && piece.bytes().all(|b| b.is_ascii_digit());
            let accepted = match count_like
                .then(|| scan.longest_from(&pieces, s + 1))
                .flatten()
            {
                Some(rest) => Some(rest),
                None => scan.longest_from(&pieces, s),
            };
            match accepted {
                Some((e, (f, cued))) => {
                    if cued || answer {
                        found.push(f);
                    } else {
                        uncued.push(f);
                    }
                    s = e;
                }
                None => s += 1,
            }
        }
    }
}

fn split_ranges(s: &str, offset: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push(offset + st..offset + i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push(offset + st..offset + s.len());
    }
    out
}

struct PhoneScan<'a, 't> {
    toks: &'a Tokens<'t>,
    region: &'a str,
    /// Reading an answer to "what's your number?".
    answer: bool,
    country: Option<phonenumber::country::Id>,
    currencies: Vec<classify::CurrencyMention>,
    budget: usize,
}

impl PhoneScan<'_, '_> {
    /// The longest run of `pieces` from `s` that is a phone number, and where it ends.
    fn longest_from(&mut self, pieces: &[Range<usize>], s: usize) -> Option<(usize, (Fact, bool))> {
        (s + 1..=pieces.len()).rev().find_map(|e| {
            let span = pieces[s].start..pieces[e - 1].end;
            self.at(&span).map(|f| (e, f))
        })
    }

    /// The phone number at `span`, and whether a phone cue gives it.
    fn at(&mut self, span: &Range<usize>) -> Option<(Fact, bool)> {
        let (toks, text) = (self.toks, self.toks.text);
        let candidate = text
            .get(span.clone())?
            .trim_matches(|c: char| matches!(c, '.' | '-' | ' '));
        let digits = candidate.bytes().filter(u8::is_ascii_digit).count();
        if !(7..=15).contains(&digits) || is_match(&DATE_SHAPE, candidate) {
            return None;
        }
        let near_money = self.currencies.iter().any(|c| {
            let blank = |a: usize, b: usize| {
                text.get(a..b)
                    .is_some_and(|g| g.len() <= 2 && g.trim().is_empty())
            };
            (c.span.end <= span.start && blank(c.span.end, span.start))
                || (c.span.start >= span.end && blank(span.end, c.span.start))
        });
        if near_money {
            return None;
        }
        let at = toks.index_at(span.start);
        let giving = giving_number(toks, at);
        if !giving && toks.any_before(at, 3, ID_WORDS) {
            return None;
        }
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        // The same parse `normalize_value` runs, so the value is already normalized.
        // Only numbers in listed ranges: in free text, a merely possible one is as likely an
        // order or account number.
        // An answer to "what's your number?" may be a possible number outside listed ranges.
        // So may a number the customer says is theirs ("my mobile is", "טלפון: …").
        let strongly_cued = giving || toks.any_before(at, 3, PHONE_WORDS);
        let phone = PhoneNumber::parse(candidate, self.region, "phone")
            .ok()
            .filter(|p| self.answer || strongly_cued || p.is_verified())?;
        let cued = giving || toks.any_before(at, 6, PHONE_WORDS) || candidate.starts_with('+');
        // The parser also reads bare digit runs as international numbers (WhatsApp ids): in
        // free text only near a phone word, or when the default region itself reads them.
        let bare = !candidate.starts_with(['+', '0', '(']);
        if bare && !cued && !self.answer {
            self.budget = self.budget.saturating_sub(1);
            let national = self
                .country
                .and_then(|c| phonenumber::parse(Some(c), candidate).ok())
                .is_some_and(|p| phonenumber::is_valid(&p));
            if !national {
                return None;
            }
        }
        let f = fact(
            KnownKey::Phone,
            phone.into_string(),
            if giving || self.answer { 0.9 } else { 0.85 },
        );
        Some((f, cued))
    }
}

// ---------------------------------------------------------------------------------------------
// City

/// `(canonical, spellings)`: the canonical name is in the spellings' language.
const CITY_NAMES: &[(&str, &str)] = &[
    (
        "Tel Aviv",
        "tel aviv, telaviv, tlv, tel aviv yafo, tel aviv jaffa",
    ),
    ("תל אביב", "תל אביב, ת\"א, תל אביב יפו"),
    ("Jerusalem", "jerusalem"),
    ("ירושלים", "ירושלים, ירושליים"),
    ("Haifa", "haifa"),
    ("חיפה", "חיפה"),
    ("Eilat", "eilat, elat"),
    ("אילת", "אילת"),
    ("Beer Sheva", "beer sheva, beersheva, beer sheba, beersheba"),
    ("באר שבע", "באר שבע, ב\"ש"),
    ("Netanya", "netanya, natanya"),
    ("נתניה", "נתניה"),
    ("Herzliya", "herzliya, herzlia, herzliyya"),
    ("הרצליה", "הרצליה"),
    ("Ramat Gan", "ramat gan"),
    ("רמת גן", "רמת גן"),
    (
        "Rishon LeZion",
        "rishon lezion, rishon le zion, rishon letzion, rishon lezion",
    ),
    ("ראשון לציון", "ראשון לציון, ראשל\"צ"),
    (
        "Petah Tikva",
        "petah tikva, petach tikva, petah tiqva, petach tikvah, petah tikvah",
    ),
    ("פתח תקווה", "פתח תקווה, פתח תקוה, פ\"ת"),
    ("Ashdod", "ashdod"),
    ("אשדוד", "אשדוד"),
    ("Ashkelon", "ashkelon"),
    ("אשקלון", "אשקלון"),
    ("Holon", "holon"),
    ("חולון", "חולון"),
    ("Bat Yam", "bat yam"),
    ("בת ים", "בת ים"),
    ("Rehovot", "rehovot, rehovoth"),
    ("רחובות", "רחובות"),
    ("Kfar Saba", "kfar saba, kfar sava"),
    ("כפר סבא", "כפר סבא"),
    ("Raanana", "raanana"),
    ("רעננה", "רעננה"),
    ("Hod HaSharon", "hod hasharon"),
    ("הוד השרון", "הוד השרון"),
    ("Modiin", "modiin"),
    ("מודיעין", "מודיעין"),
    ("Bnei Brak", "bnei brak"),
    ("בני ברק", "בני ברק"),
    ("Nazareth", "nazareth"),
    ("נצרת", "נצרת"),
    ("Acre", "acre, akko, acco"),
    ("עכו", "עכו"),
    ("Tiberias", "tiberias"),
    ("טבריה", "טבריה"),
    ("Safed", "safed, tzfat"),
    ("צפת", "צפת"),
    ("Nahariya", "nahariya"),
    ("נהריה", "נהריה"),
    ("Karmiel", "karmiel, carmiel"),
    ("כרמיאל", "כרמיאל"),
    ("Afula", "afula"),
    ("עפולה", "עפולה"),
    ("Givatayim", "givatayim"),
    ("גבעתיים", "גבעתיים"),
    ("Caesarea", "caesarea"),
    ("קיסריה", "קיסריה"),
    ("Kiryat Shmona", "kiryat shmona"),
    ("קריית שמונה", "קריית שמונה, קרית שמונה"),
    ("Beit Shemesh", "beit shemesh"),
    ("בית שמש", "בית שמש"),
    ("Hadera", "hadera"),
    ("חדרה", "חדרה"),
    ("Ramla", "ramla"),
    ("רמלה", "רמלה"),
    ("Lod", "lod"),
    ("לוד", "לוד"),
    ("Yavne", "yavne, yavneh"),
    ("יבנה", "יבנה"),
    ("Zichron Yaakov", "zichron yaakov, zikhron yaakov"),
    ("זכרון יעקב", "זכרון יעקב, זיכרון יעקב"),
    ("New York", "new york, new york city, nyc"),
    ("ניו יורק", "ניו יורק"),
    ("London", "london"),
    ("לונדון", "לונדון"),
    ("Paris", "paris"),
    ("פריז", "פריז, פריס"),
    ("Berlin", "berlin"),
    ("ברלין", "ברלין"),
    ("Madrid", "madrid"),
    ("מדריד", "מדריד"),
    ("Rome", "rome"),
    ("רומא", "רומא"),
    ("Barcelona", "barcelona"),
    ("ברצלונה", "ברצלונה"),
    ("Amsterdam", "amsterdam"),
    ("אמסטרדם", "אמסטרדם"),
    ("Prague", "prague"),
    ("פראג", "פראג"),
    ("Vienna", "vienna"),
    ("וינה", "וינה"),
    ("Athens", "athens"),
    ("אתונה", "אתונה"),
    ("Budapest", "budapest"),
    ("בודפשט", "בודפשט"),
    ("Lisbon", "lisbon"),
    ("ליסבון", "ליסבון"),
    ("Milan", "milan"),
    ("מילאנו", "מילאנו"),
    ("Florence", "florence"),
    ("פירנצה", "פירנצה"),
    ("Venice", "venice"),
    ("ונציה", "ונציה"),
    ("Munich", "munich"),
    ("מינכן", "מינכן"),
    ("Zurich", "zurich"),
    ("ציריך", "ציריך"),
    ("Geneva", "geneva"),
    ("ז'נבה", "ז'נבה"),
    ("Brussels", "brussels"),
    ("בריסל", "בריסל"),
    ("Dublin", "dublin"),
    ("דבלין", "דבלין"),
    ("Los Angeles", "los angeles"),
    ("לוס אנג'לס", "לוס אנג'לס"),
    ("San Francisco", "san francisco"),
    ("סן פרנסיסקו", "סן פרנסיסקו"),
    ("Chicago", "chicago"),
    ("שיקגו", "שיקגו"),
    ("Boston", "boston"),
    ("בוסטון", "בוסטון"),
    ("Miami", "miami"),
    ("מיאמי", "מיאמי"),
    ("Washington", "washington"),
    ("וושינגטון", "וושינגטון"),
    ("Toronto", "toronto"),
    ("טורונטו", "טורונטו"),
    ("Montreal", "montreal"),
    ("מונטריאול", "מונטריאול"),
    ("Dubai", "dubai"),
    ("דובאי", "דובאי"),
    ("Bangkok", "bangkok"),
    ("בנגקוק", "בנגקוק"),
    ("Tokyo", "tokyo"),
    ("טוקיו", "טוקיו"),
    ("Moscow", "moscow"),
    ("מוסקבה", "מוסקבה"),
    ("Kyiv", "kyiv, kiev"),
    ("קייב", "קייב, קייב"),
    ("Istanbul", "istanbul"),
    ("איסטנבול", "איסטנבול"),
    ("Sydney", "sydney"),
    ("סידני", "סידני"),
    ("Melbourne", "melbourne"),
    ("מלבורן", "מלבורן"),
    ("Larnaca", "larnaca"),
    ("לרנקה", "לרנקה"),
    ("Limassol", "limassol"),
    ("לימסול", "לימסול"),
    ("Cairo", "cairo"),
    ("קהיר", "קהיר"),
    ("Warsaw", "warsaw"),
    ("ורשה", "ורשה"),
    ("Bucharest", "bucharest"),
    ("בוקרשט", "בוקרשט"),
    ("Tbilisi", "tbilisi"),
    ("טביליסי", "טביליסי"),
];

pub(super) static CITIES: LazyLock<Lexicon<&'static str>> = LazyLock::new(|| {
    Lexicon::new(CITY_NAMES.iter().flat_map(|&(canonical, spellings)| {
        phrases(spellings).map(move |s| (s, canonical, Rule::ANY))
    }))
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CityCue {
    /// "I live in", "based in".
    Lives,
    /// "I'm from": also said of employers ("I'm from Acme"), so weaker for unknown places.
    From,
    /// "moving to": not there yet.
    Moving,
    /// "גר ב…", "מתגוררת ב…".
    HeLives,
    /// "עובר לגור ב…", "עוברת ל…".
    HeMoving,
    /// "אני מ…" with a known city only.
    HeFrom,
}

/// "גר" with ב/ל/מ… attached is another word ("לגור" is to live, not "lives").
const GAR: Rule = Rule {
    bad_prefix: &['ה', 'ב', 'ל', 'מ', 'כ'],
    ..Rule::ANY
};

static CITY_CUES: LazyLock<Lexicon<CityCue>> = LazyLock::new(|| {
    grouped(&[
        (
            CityCue::Lives,
            Rule::ANY,
            "i live in, we live in, live in, living in, based in, located in, i reside in, \
             reside in, residing in",
        ),
        (
            CityCue::From,
            Rule::ANY,
            "im from, i am from, were from, we are from, i come from, originally from",
        ),
        (
            CityCue::Moving,
            Rule::ANY,
            "moving to, relocating to, we are moving to, im moving to",
        ),
        (
            CityCue::HeLives,
            GAR,
            "גר, גרה, גרים, גרות, מתגורר, מתגוררת, מתגוררים",
        ),
        (
            CityCue::HeMoving,
            GAR,
            "עובר לגור, עוברת לגור, עוברים לגור, עובר, עוברת, עוברים",
        ),
        (CityCue::HeFrom, ANI, "אני, אנחנו"),
    ])
});

/// Words after "I live in" that are not cities.
pub(super) const EN_CITY_STOP: &str = "\
    a an the my our this that israel usa us america england uk britain france germany spain \
    italy canada australia russia ukraine europe asia africa india china japan mexico brazil \
    hope fear peace denial town city area center centre north south east west downtown suburbs \
    house apartment flat home here there same another different with and but near between \
    abroad hotel states country village building street neighborhood it a one two now today \
    tomorrow next monday tuesday wednesday thursday friday saturday sunday your their his her \
    company team office work school university college bank support sales customer";

/// Words after "גר ב…" that are not cities.
const HE_CITY_STOP: &str = "\
    בית דירה אזור מרכז צפון דרום ישראל ארץ חו\"ל עיר שכונה קיבוץ מושב כפר רחוב בניין חדר מלון \
    ארה\"ב אמריקה אנגליה צרפת גרמניה אירופה שטחים עבודה הבית מקום שכירות קרוואן אותו אותה פה \
    כאן שם זמן זה ה לא עם כל ערך סדר קרבת סמוך מרחק דיוק עיקר";

fn city_confidence(cue: CityCue, known: bool) -> f64 {
    match (cue, known) {
        (CityCue::Lives | CityCue::From | CityCue::HeLives | CityCue::HeFrom, true) => 0.8,
        (CityCue::Moving | CityCue::HeMoving, true) => 0.55,
        (CityCue::Lives | CityCue::HeLives, false) => 0.6,
        (CityCue::From | CityCue::HeFrom, false) => 0.5,
        (CityCue::Moving | CityCue::HeMoving, false) => 0.4,
    }
}

/// The place the customer says they live in (or come from, or move to).
fn city(toks: &Tokens<'_>) -> Option<Fact> {
    let mut best: Option<Fact> = None;
    for hit in CITY_CUES.scan(toks) {
        let cue = *hit.value;
        let Some((value, known)) = city_after(toks, hit.end, cue) else {
            continue;
        };
        let confidence = city_confidence(cue, known);
        if best.as_ref().is_none_or(|b| confidence > b.confidence) {
            best = Some(fact(KnownKey::City, value, confidence));
        }
    }
    best
}

pub(super) fn city_after(toks: &Tokens<'_>, at: usize, cue: CityCue) -> Option<(String, bool)> {
    if at >= toks.len() {
        return None;
    }
    match cue {
        CityCue::Lives | CityCue::From | CityCue::Moving => {
            if !toks.gap_before(at).chars().all(char::is_whitespace) {
                return None;
            }
            let start = if toks.word(at) == "the" { at + 1 } else { at };
            if let Some(hit) = CITIES
                .longest_at(toks, start)
                .filter(|h| h.prefix.is_empty())
            {
                return Some(((*hit.value).to_owned(), true));
            }
            unknown_latin_city(toks, start).map(|v| (v, false))
        }
        CityCue::HeLives | CityCue::HeMoving | CityCue::HeFrom => {
            let wanted: &[char] = match cue {
                CityCue::HeLives => &['ב'],
                CityCue::HeMoving => &['ב', 'ל'],
                _ => &['מ'],
            };
            // "ב-חיפה" splits into a lone prefix and the city.
            let lone = toks.word(at).chars().count() == 1
                && toks.word(at).starts_with(wanted)
                && toks
                    .gap_after(at)
                    .trim()
                    .chars()
                    .all(|c| matches!(c, '-' | '־'));
            let (first, need_prefix) = if lone { (at + 1, false) } else { (at, true) };
            if first >= toks.len() {
                return None;
            }
            if let Some(hit) = CITIES.longest_at(toks, first) {
                let prefixed = hit.prefix.contains(wanted);
                if prefixed == need_prefix {
                    return Some(((*hit.value).to_owned(), true));
                }
            }
            if cue == CityCue::HeFrom {
                return None;
            }
            unknown_hebrew_city(toks, first, need_prefix.then_some(wanted)).map(|v| (v, false))
        }
    }
}

/// Capitalized words after "I live in" that may be a city the gazetteer does not know; in a
/// message written all in lowercase, one word at the end of a clause.
pub(super) fn unknown_latin_city(toks: &Tokens<'_>, at: usize) -> Option<String> {
    let all_lowercase = !toks.text.chars().any(char::is_uppercase);
    let mut words: Vec<String> = Vec::new();
    let mut k = at;
    while words.len() < 3 && k < toks.len() {
        if !words.is_empty() {
            let gap = toks.gap_before(k);
            if !(gap == " " || gap == "-") {
                break;
            }
        }
        let orig = toks.orig(k);
        if proper_word(orig) != Some(Script::Latin)
            || listed(EN_CITY_STOP, toks.word(k))
            || !(is_capitalized(orig) || all_lowercase)
        {
            break;
        }
        words.push(title_case(orig));
        k += 1;
    }
    if words.is_empty() || (all_lowercase && (words.len() > 1 || !clause_end(toks, at))) {
        return None;
    }
    Some(words.join(" "))
}

/// A Hebrew word (two at the end of a clause) after "גר ב…" that the gazetteer does not know.
pub(super) fn unknown_hebrew_city(
    toks: &Tokens<'_>,
    at: usize,
    prefix: Option<&[char]>,
) -> Option<String> {
    let orig = toks.orig(at);
    let word = match prefix {
        Some(wanted) => orig.strip_prefix(wanted)?,
        None => orig,
    };
    if proper_word(word) != Some(Script::Hebrew) || listed(HE_CITY_STOP, word) {
        return None;
    }
    let second = toks.orig(at + 1);
    let two = at + 1 < toks.len()
        && toks.gap_before(at + 1) == " "
        && proper_word(second) == Some(Script::Hebrew)
        && !second.starts_with('ו')
        && !listed(HE_CITY_STOP, second)
        && !listed(HE_NAME_STOP, second)
        && clause_end(toks, at + 1);
    Some(if two {
        format!("{word} {second}")
    } else {
        word.to_owned()
    })
}

// ---------------------------------------------------------------------------------------------
// Currency, interests, language

/// From a conversion, the currency the customer wants to see: the target ("to ILS", "בדולרים")
/// when named, else the second currency mentioned. A price asked "in dollars" also counts, less.
fn preferred_currency(toks: &Tokens<'_>, classification: &Classification) -> Option<Fact> {
    let mentions = classify::currency_mentions(toks);
    let target = classify::conversion_target(&mentions);
    match classification.intent {
        Intent::CurrencyConversion => target
            .map(str::to_owned)
            .or_else(|| classification.entities.currencies.get(1).cloned())
            .map(|code| fact(KnownKey::PreferredCurrency, code, 0.6)),
        // "in shekels or dollars?" names no preference.
        Intent::Pricing if classification.entities.currencies.len() == 1 => {
            target.map(|code| fact(KnownKey::PreferredCurrency, code, 0.5))
        }
        _ => None,
    }
}

const INTEREST_CUES: &str = "interested מתעניין מתעניינת מתעניינים מעוניין מעוניינת מעוניינים";

/// One fact per product: stated interest ("interested in", "מתעניין ב") scores higher than a
/// product merely asked about, priced or booked.
fn interests(toks: &Tokens<'_>, classification: &Classification, found: &mut Vec<Fact>) {
    let asked = matches!(
        classification.intent,
        Intent::ProductInquiry | Intent::Pricing | Intent::Booking | Intent::CurrencyConversion
    );
    let products = classify::product_mentions(toks);
    if products.is_empty() {
        return;
    }
    let cues: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            listed(INTEREST_CUES, toks.word(i))
                && !toks.any_before(i, 2, "not no never לא אינני איני")
        })
        .collect();
    for (at, product) in products {
        let stated = cues.iter().any(|&c| {
            c < at
                && at - c <= 8
                && toks
                    .text
                    .get(toks.list[c].orig.end..toks.list[at].orig.start)
                    .is_some_and(|between| !between.contains(['.', '!', '?', '\n']))
        });
        if stated {
            found.push(fact(KnownKey::Interests, product, 0.75));
        } else if asked {
            found.push(fact(KnownKey::Interests, product, 0.6));
        }
    }
}

static LANGUAGES: LazyLock<Lexicon<&'static str>> = LazyLock::new(|| {
    grouped(&[
        ("en", Rule::ANY, "english, אנגלית"),
        ("he", Rule::ANY, "hebrew, ivrit, עברית"),
        ("ar", Rule::ANY, "arabic, ערבית"),
        ("ru", Rule::ANY, "russian, רוסית"),
        ("fr", Rule::ANY, "french, צרפתית"),
        ("es", Rule::ANY, "spanish, ספרדית"),
        ("de", Rule::ANY, "german, גרמנית"),
        ("it", Rule::ANY, "italian, איטלקית"),
        ("pt", Rule::ANY, "portuguese, פורטוגזית, פורטוגלית"),
        ("am", Rule::ANY, "amharic, אמהרית"),
        ("zh", Rule::ANY, "chinese, mandarin, סינית"),
        ("ja", Rule::ANY, "japanese, יפנית"),
        ("uk", Rule::ANY, "ukrainian, אוקראינית"),
    ])
});

/// Words before a language name that make it a request to use it.
const LANGUAGE_CUES: &str = "\
    speak speaks speaking talk continue switch write answer reply respond prefer chat \
    communicate use in לדבר מדבר מדברת מדברים דבר תדבר תדברי תדברו דברו מעדיף מעדיפה מעדיפים \
    לכתוב תכתוב תכתבי תענה תעני לעבור נעבור אפשר";

/// An explicit request ("in English please", "can we speak Hebrew", "אפשר בעברית", "I prefer
/// Hebrew") wins; "switch from Hebrew to English" picks the target. Otherwise the message's own
/// language, once it has at least three words.
fn preferred_language(toks: &Tokens<'_>, classification: &Classification) -> Option<Fact> {
    let mut first: Option<&'static str> = None;
    let mut target: Option<&'static str> = None;
    for hit in LANGUAGES.scan(toks) {
        let i = hit.start;
        let prev = i.checked_sub(1).map_or("", |p| toks.word(p));
        let negated = toks.any_before(i, 2, "not dont cant cannot no never לא אין");
        if negated || prev == "from" || hit.prefix.contains('מ') {
            continue;
        }
        let explicit = hit.prefix.contains('ב')
            || hit.prefix.contains('ל')
            || toks.any_before(i, 4, LANGUAGE_CUES)
            || ["please", "pls", "plz", "בבקשה"].contains(&toks.word(hit.end));
        if !explicit {
            continue;
        }
        first.get_or_insert(*hit.value);
        if ["to", "into"].contains(&prev) || hit.prefix.contains('ל') {
            target = Some(*hit.value);
        }
    }
    if let Some(code) = target.or(first) {
        return Some(fact(KnownKey::PreferredLanguage, code, 0.9));
    }
    let words = (0..toks.len())
        .filter(|&i| toks.word(i).chars().any(char::is_alphabetic))
        .count();
    let language = classification.language?;
    (words >= 3).then(|| fact(KnownKey::PreferredLanguage, language, 0.5))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::classify::classify;

    /// A pattern that does not compile finds nothing at run time (`text::pattern`); here it
    /// fails the build's tests instead.
    #[test]
    fn every_built_in_pattern_compiles() {
        for (name, pattern) in [
            ("EMAIL", &EMAIL),
            ("PHONE_CANDIDATE", &PHONE_CANDIDATE),
            ("DATE_SHAPE", &DATE_SHAPE),
        ] {
            assert!(pattern.is_some(), "{name} does not compile");
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 12).expect("valid date")
    }

    fn facts(text: &str) -> Vec<Fact> {
        facts_in(text, "IL")
    }

    fn facts_in(text: &str, region: &str) -> Vec<Fact> {
        extract_facts(text, &classify(text, today()), region)
    }

    fn values(text: &str, key: KnownKey) -> Vec<String> {
        facts(text)
            .into_iter()
            .filter(|f| f.key == key)
            .map(|f| f.value)
            .collect()
    }

    fn only(text: &str, key: KnownKey) -> Option<(String, f64)> {
        let found: Vec<Fact> = facts(text).into_iter().filter(|f| f.key == key).collect();
        assert!(found.len() <= 1, "{text:?}: {found:?}");
        found.into_iter().next().map(|f| (f.value, f.confidence))
    }

    fn name_of(text: &str) -> Option<(String, f64)> {
        only(text, KnownKey::Name)
    }

    fn named(text: &str, name: &str, confidence: f64) {
        assert_eq!(
            name_of(text),
            Some((name.to_owned(), confidence)),
            "{text:?}"
        );
    }

    #[test]
    fn names_as_people_give_them_in_a_hurry() {
        // A surname that is also a word, after a capitalized first name.
        named("My name is Megan Price", "Megan Price", 0.9);
        // "X here" after a greeting and a comma.
        named(
            "hi, Carlos Mendez here. you can reach me on my work line",
            "Carlos Mendez",
            0.75,
        );
        // A repeated first name, then the full name.
        named(
            "hi Eric, my name is, uh, Samantha, Samantha Greer. I'm calling about a rental",
            "Samantha Greer",
            0.9,
        );
        // A Hebrew surname that starts with ו, on a label.
        named("שם: תמר וייס\nטלפון – 054-444-1290", "תמר וייס", 0.9);
        // "it's orange" is not a name.
        assert_eq!(name_of("Your stylist ruined my color. It's orange."), None);
    }

    #[test]
    fn explicit_names() {
        named("My name is Dana Cohen", "Dana Cohen", 0.9);
        named("hi, my name is dana", "Dana", 0.9);
        named("my name is dana cohen.", "Dana Cohen", 0.9);
        named("my name is dana and I want a room", "Dana", 0.9);
        named("My name is JOHN SMITH", "John Smith", 0.9);
        named("my name is Mr. David Levi", "David Levi", 0.9);
        named("my name's Sarah O'Brien, from Dublin", "Sarah O'Brien", 0.9);
        named("Name's Avi", "Avi", 0.85);
        named("קוראים לי דנה כהן ואני מחפשת מלון", "דנה כהן", 0.9);
        named("שמי יוסי לוי", "יוסי לוי", 0.9);
        named("השם שלי הוא מיכל", "מיכל", 0.9);
        named("שלום, שמי רונית ורציתי לשאול", "רונית", 0.9);
        named("קוראים לי John", "John", 0.9);
    }

    #[test]
    fn introductions() {
        named("Hi, this is Dana from Acme", "Dana", 0.75);
        named("This is Jean-Luc Picard", "Jean-Luc Picard", 0.75);
        named("Call me Dani", "Dani", 0.75);
        named("I'm Dana, looking for a hotel", "Dana", 0.7);
        named(
            "Hello! I am Yossi Levi and I need a loan",
            "Yossi Levi",
            0.7,
        );
        named("היי, אני דנה", "דנה", 0.55);
        named("שלום אני דנה ורציתי לשאול על טיסות", "דנה", 0.55);
        named("אני מיכל, מחפשת דירה", "מיכל", 0.55);
        named("אני דנה כהן.", "דנה כהן", 0.55);
        named("היי זה יוסי, תחזרו אליי", "יוסי", 0.6);
        named("שלום, זו רותי כהן", "רותי כהן", 0.6);
        // The most explicit statement wins.
        named("I'm Dan, my name is Daniel Katz", "Daniel Katz", 0.9);
    }

    #[test]
    fn not_names() {
        for text in [
            "I'm looking for a hotel",
            "I'm interested in flights",
            "I'm not sure",
            "I'm sorry",
            "I'm fine, thanks",
            "I'm from Tel Aviv",
            "I am calling about my order",
            "I'm having a problem",
            "i'm dana",
            "this is ridiculous",
            "This is Unacceptable",
            "This is Outrageous!",
            "This is John's phone",
            "It's Broken",
            "I think this is Great",
            "call me tomorrow",
            "call me at 052-555-1234",
            "Call me back please",
            "Call me Monday",
            "my name is",
            "my name is not important",
            "I'm 25",
            "אני רוצה להזמין חדר",
            "אני מחפש טיסה",
            "אני מתעניינת בקורס",
            "אני לא בטוח",
            "אני גר בחיפה",
            "אני מתל אביב",
            "אני בת 30",
            "אני הבעלים של העסק",
            "אני צריכה עזרה",
            "מה שאני צריך זה מלון",
            "גם אני חושב ככה",
            "אני פה",
            "אני מאוד מאוכזב",
            "אני דנה רוקדת בשמחה",
            "זה יקר.",
            "היי זה יקר מדי",
            "שלום, זה בסדר",
            "אני Dana",
        ] {
            assert_eq!(name_of(text), None, "{text:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            only("my email is Dana.Cohen@Example.COM.", KnownKey::Email),
            Some(("dana.cohen@example.com".to_owned(), 0.95))
        );
        assert_eq!(
            values(
                "המייל שלי dana+travel@gmail.com או dana@work.co.il",
                KnownKey::Email
            ),
            ["dana+travel@gmail.com", "dana@work.co.il"]
        );
        assert!(values("write to dana@localhost", KnownKey::Email).is_empty());
        assert!(values("@@@ a@b", KnownKey::Email).is_empty());
    }

    #[test]
    fn phones() {
        assert_eq!(
            only("my number is 054-765-4321", KnownKey::Phone),
            Some(("+972547654321".to_owned(), 0.9))
        );
        assert_eq!(
            only("המספר שלי 052-5551234", KnownKey::Phone),
            Some(("+972525551234".to_owned(), 0.9))
        );
        assert_eq!(
            only("you can also call 03-555-1234", KnownKey::Phone),
            Some(("+97235551234".to_owned(), 0.85))
        );
        // A number needs a phone cue to be the customer's phone.
        assert_eq!(only("you can also try 03-555-1234", KnownKey::Phone), None);
        assert_eq!(
            only("call me on +1 (415) 555-2671 tomorrow", KnownKey::Phone),
            Some(("+14155552671".to_owned(), 0.9))
        );
        assert_eq!(
            only("whatsapp 972525551234", KnownKey::Phone),
            Some(("+972525551234".to_owned(), 0.85))
        );
        assert_eq!(
            facts_in("call (415) 555-2671", "US")
                .into_iter()
                .filter(|f| f.key == KnownKey::Phone)
                .map(|f| f.value)
                .collect::<Vec<_>>(),
            ["+14155552671"]
        );
        assert_eq!(
            values("call 2 0525551234", KnownKey::Phone),
            ["+972525551234"]
        );
        assert_eq!(
            values("call 0525551234 or 0547654321", KnownKey::Phone),
            ["+972525551234", "+972547654321"]
        );
    }

    #[test]
    fn numbers_that_are_not_phones() {
        for text in [
            "100",
            "my phone is broken",
            "I need 2 rooms for 3 nights",
            "$1,250,000",
            "it costs 1 000 000 ₪",
            "on 12/03/2025",
            "12.03.2025",
            "2025-03-14",
            "my order number is 12345678",
            "order 0525551234",
            "הזמנה 0525551234",
            "ref 972525551234",
            "my email is 0525551234@example.com",
            "1234567",
            "050-1234567",
            "call me tomorrow",
            // Valid numbers without a phone cue: an account number is as likely.
            "0525551234",
            "(415) 555-2671 is what I have",
        ] {
            assert!(
                values(text, KnownKey::Phone).is_empty(),
                "{text:?}: {:?}",
                facts(text)
            );
        }
    }

    fn city_of(text: &str) -> Option<(String, f64)> {
        only(text, KnownKey::City)
    }

    #[test]
    fn cities() {
        let cases: &[(&str, &str, f64)] = &[
            ("I live in Tel Aviv", "Tel Aviv", 0.8),
            ("i live in tel aviv", "Tel Aviv", 0.8),
            ("I'm from Haifa, looking for a flight", "Haifa", 0.8),
            ("we're based in London", "London", 0.8),
            ("I live in the Bronx", "Bronx", 0.6),
            ("I live in Springfield", "Springfield", 0.6),
            ("I live in Santa Fe.", "Santa Fe", 0.6),
            ("i live in springfield", "Springfield", 0.6),
            ("I'm from Acme", "Acme", 0.5),
            ("We are moving to Berlin next month", "Berlin", 0.55),
            ("moving to Cluj", "Cluj", 0.4),
            ("אני גר בתל אביב", "תל אביב", 0.8),
            ("אני גרה ב-חיפה", "חיפה", 0.8),
            ("גרים בפתח תקוה", "פתח תקווה", 0.8),
            ("אני מתגוררת בראשל\"צ", "ראשון לציון", 0.8),
            ("אני מירושלים", "ירושלים", 0.8),
            ("אני מ-אילת", "אילת", 0.8),
            ("אני גר ברעננה ורוצה להזמין", "רעננה", 0.8),
            ("אני גר בקצרין", "קצרין", 0.6),
            ("אנחנו גרים במזכרת בתיה.", "מזכרת בתיה", 0.6),
            ("עוברים לגור בחולון", "חולון", 0.55),
            ("I live in תל אביב", "תל אביב", 0.8),
        ];
        for (text, city, confidence) in cases {
            assert_eq!(
                city_of(text),
                Some(((*city).to_owned(), *confidence)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn not_cities() {
        for text in [
            "I live in Israel",
            "I live in hope",
            "I live in a small town",
            "i'm from the bank",
            "moving to Tuesday",
            "אני גר בבית פרטי",
            "אני גר בערך 10 דקות מהים",
            "אני גרה בישראל",
            "אני מחפש מלון",
            "אני מאוד מאוכזב",
            "הלקוח לגור",
            "Rome is beautiful",
        ] {
            assert_eq!(city_of(text), None, "{text:?}");
        }
    }

    #[test]
    fn preferred_currency() {
        let cases: &[(&str, &str, f64)] = &[
            ("Convert 100 USD to ILS", "ILS", 0.6),
            ("how much is 100 dollars in shekels", "ILS", 0.6),
            ("How many euros is 500 shekels?", "EUR", 0.6),
            ("אני רוצה להמיר 500 שקל לדולרים", "USD", 0.6),
            ("כמה זה 200 דולר בשקלים", "ILS", 0.6),
            ("exchange rate USD EUR", "EUR", 0.6),
            ("How much is the hotel in dollars?", "USD", 0.5),
        ];
        for (text, code, confidence) in cases {
            assert_eq!(
                only(text, KnownKey::PreferredCurrency),
                Some(((*code).to_owned(), *confidence)),
                "{text:?} ({:?})",
                classify(text, today()).intent
            );
        }
        for text in [
            "What's the dollar rate?",
            "I paid 100 dollars and it broke",
            "do you take euros?",
            "Is the price in shekels or dollars?",
        ] {
            assert_eq!(only(text, KnownKey::PreferredCurrency), None, "{text:?}");
        }
    }

    #[test]
    fn interests() {
        let interest = |text: &str| -> Vec<(String, f64)> {
            facts(text)
                .into_iter()
                .filter(|f| f.key == KnownKey::Interests)
                .map(|f| (f.value, f.confidence))
                .collect()
        };
        assert_eq!(
            interest("I'm interested in travel insurance"),
            [("travel_insurance".to_owned(), 0.75)]
        );
        assert_eq!(
            interest("How much is a flight and a hotel in Rome?"),
            [("flights".to_owned(), 0.6), ("hotels".to_owned(), 0.6)]
        );
        assert_eq!(
            interest("אני מתעניינת במשכנתא"),
            [("mortgage".to_owned(), 0.75)]
        );
        assert_eq!(
            interest("אני מעוניין בהשכרת רכב באילת"),
            [("car_rental".to_owned(), 0.75)]
        );
        assert_eq!(
            interest("I want to book a haircut for tomorrow"),
            [("haircut".to_owned(), 0.6)]
        );
        assert!(interest("My phone is broken").is_empty());
        assert!(interest("I'm not interested in insurance").is_empty());
        assert!(interest("The hotel was terrible").is_empty());
        // Repeats collapse into one fact.
        assert_eq!(
            interest("flights, flights, more flights: how much?"),
            [("flights".to_owned(), 0.6)]
        );
    }

    fn language_of(text: &str) -> Option<(String, f64)> {
        only(text, KnownKey::PreferredLanguage)
    }

    #[test]
    fn preferred_language() {
        let cases: &[(&str, &str, f64)] = &[
            ("in English please", "en", 0.9),
            ("Can we speak Hebrew?", "he", 0.9),
            ("אפשר בעברית?", "he", 0.9),
            ("I prefer Hebrew", "he", 0.9),
            ("Do you speak Russian?", "ru", 0.9),
            ("English please", "en", 0.9),
            ("can we switch from Hebrew to English", "en", 0.9),
            ("I don't speak Hebrew, English please", "en", 0.9),
            ("תדבר איתי באנגלית", "en", 0.9),
            ("אני מעדיפה לדבר ערבית", "ar", 0.9),
            ("How much is a flight to Rome?", "en", 0.5),
            ("כמה עולה טיסה לרומא?", "he", 0.5),
            ("Привет, сколько стоит билет?", "ru", 0.5),
        ];
        for (text, code, confidence) in cases {
            assert_eq!(
                language_of(text),
                Some(((*code).to_owned(), *confidence)),
                "{text:?}"
            );
        }
        for text in [
            "hello",
            "Hi there",
            "שלום לך",
            "👍👍👍 !!!",
            "I'm learning Spanish",
            "I don't speak Hebrew",
        ] {
            let got = language_of(text);
            assert!(
                got.as_ref().is_none_or(|(_, c)| *c < 0.9),
                "{text:?}: {got:?}"
            );
        }
        assert_eq!(language_of("Hi there"), None);
        assert_eq!(
            language_of("I don't speak Hebrew"),
            Some(("en".to_owned(), 0.5))
        );
    }

    #[test]
    fn a_full_introduction() {
        let found = facts(
            "Hi, my name is Dana Cohen, I live in Tel Aviv. My email is dana@example.com and my number is 052-555-1234. I'm interested in travel insurance.",
        );
        let got: Vec<(KnownKey, &str)> = found
            .iter()
            .filter_map(|f| Some((f.key.known()?, f.value.as_str())))
            .collect();
        assert_eq!(
            got,
            [
                (KnownKey::Name, "Dana Cohen"),
                (KnownKey::Email, "dana@example.com"),
                (KnownKey::Phone, "+972525551234"),
                (KnownKey::City, "Tel Aviv"),
                (KnownKey::Interests, "travel_insurance"),
                (KnownKey::PreferredLanguage, "en"),
            ]
        );
    }

    #[test]
    fn a_full_hebrew_introduction() {
        let found = facts(
            "שלום, קוראים לי יוסי לוי, אני גר בחיפה והטלפון שלי 054-7654321. אני מתעניין בביטוח נסיעות",
        );
        let got: Vec<(KnownKey, &str)> = found
            .iter()
            .filter_map(|f| Some((f.key.known()?, f.value.as_str())))
            .collect();
        assert_eq!(
            got,
            [
                (KnownKey::Name, "יוסי לוי"),
                (KnownKey::Phone, "+972547654321"),
                (KnownKey::City, "חיפה"),
                (KnownKey::Interests, "travel_insurance"),
                (KnownKey::PreferredLanguage, "he"),
            ]
        );
    }

    #[test]
    fn nothing_from_nothing() {
        for text in ["", " ", "👍", "ok", "123", "?!", "\u{0}\u{1}"] {
            assert!(facts(text).is_empty(), "{text:?}: {:?}", facts(text));
        }
        assert!(
            extract_facts(
                "my number is 052-555-1234",
                &classify("", today()),
                "Atlantis"
            )
            .iter()
            .all(|f| f.key != KnownKey::Phone)
        );
    }

    /// Fragments that reach every extractor, shuffled into messages by the property tests.
    const FRAGMENTS: &[&str] = &[
        "my name is",
        "I'm",
        "call me",
        "this is",
        "קוראים לי",
        "שמי",
        "אני",
        "Dana",
        "דנה",
        "cohen",
        "כהן",
        "I live in",
        "גר ב",
        "בתל אביב",
        "Tel Aviv",
        "from",
        "מ-",
        "dana@x.com",
        "052-555-1234",
        "+1 415 555 2671",
        "972525551234",
        "$100",
        "₪",
        "ש\"ח",
        "to ILS",
        "בדולרים",
        "convert",
        "להמיר",
        "how much",
        "כמה עולה",
        "interested in",
        "מתעניין ב",
        "flight",
        "ביטוח",
        "phone",
        "טלפון",
        "in English please",
        "בעברית",
        "tomorrow",
        "מחר",
        "12/03",
        "ביום ב'",
        "😀",
        "🎉",
        "\u{200f}",
        "\n",
        ",",
        ".",
        "?",
        "'",
        "\"",
        "-",
        "׳",
        "״",
        "İ",
        "ß",
        "ﬀ",
        "\u{05B0}",
    ];

    fn check_facts(text: &str, region: &str) -> Result<(), TestCaseError> {
        let classification = classify(text, today());
        prop_assert!((0.0..=1.0).contains(&classification.confidence));
        let found = extract_facts(text, &classification, region);
        for (i, f) in found.iter().enumerate() {
            prop_assert!((0.0..=1.0).contains(&f.confidence), "{f:?}");
            let again = normalize_value(&f.key.field_key(), &f.value, region, "value");
            prop_assert_eq!(again.as_deref(), Ok(f.value.as_str()), "{:?}", f);
            prop_assert!(
                !found[..i]
                    .iter()
                    .any(|g| g.key == f.key && g.value == f.value),
                "duplicate {:?}",
                f
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn facts_normalize_and_never_panic(text in "\\PC{0,300}", region in "(IL|US|GB|il|XX|)") {
            let _ = crate::domain::text::language::detect_language(&text);
            check_facts(&text, &region)?;
        }

        #[test]
        fn facts_from_realistic_fragments(
            parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..24),
            glue in proptest::collection::vec(proptest::sample::select(&[" ", "", ", ", "\n", "-"][..]), 24),
            region in "(IL|US)",
        ) {
            let mut text = String::new();
            for (part, glue) in parts.iter().zip(glue.iter()) {
                text.push_str(part);
                text.push_str(glue);
            }
            check_facts(&text, &region)?;
        }

        #[test]
        fn hebrew_and_emoji_mixes(text in "[a-zA-Z0-9 א-ת ְ-ׇ@.+\\-()$€₪'\"״׳?!,😀🎉\u{200f}\n]{0,200}") {
            check_facts(&text, "IL")?;
        }
    }

    #[test]
    fn long_messages() {
        let long = "my name is Dana, I live in Tel Aviv, call 052-555-1234. ".repeat(150);
        let found = facts(&long);
        assert_eq!(found.iter().filter(|f| f.key == KnownKey::Name).count(), 1);
        assert_eq!(found.iter().filter(|f| f.key == KnownKey::Phone).count(), 1);
        let word = "a".repeat(8000);
        assert!(name_of(&format!("my name is {word}")).is_none());
    }
}
