//! Phone numbers in E.164: what a person typed, and the numbers channels identify customers by.
//!
//! Read the way libphonenumber reads them, which the `phonenumber` crate does not do for every
//! number: a number written with `+` (or an international dialling prefix) ignores the default
//! region (the crate stripped the region's national prefix from it, so with `US`
//! `+4915123456789` became `+495123456789`), and a prefix is taken off only when what remains
//! is the better number. Numbers in ranges the metadata does not list (yet) are accepted when
//! their length fits the country, and say so: [`PhoneNumber::is_verified`].

use phonenumber::country;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};

use super::InvalidInput;

/// A phone number in E.164 form (`+972525551234`), built only by [`PhoneNumber::parse`],
/// [`PhoneNumber::from_channel_id`] and [`PhoneNumber::from_e164`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    verified: bool,
}

impl PhoneNumber {
    /// What a person typed: `054-123 4567`, `+1 (415) 555-2671`, `00 49 1512 3456789`. Without
    /// a country code the number is read as a national number of `default_region` (ISO 3166
    /// alpha-2); only digits that cannot be one are read as a number with its country code but
    /// no `+` (`972541234567` in a `US` tenant). `field` names the input in the error.
    pub fn parse(input: &str, default_region: &str, field: &str) -> Result<Self, InvalidInput> {
        let text = phone_text(input, field)?;
        let region = region_metadata(default_region);
        let digits = digits_of(text);
        let found = if text.starts_with('+') {
            best_of(&[Reading::International(&digits)])
        } else {
            let mut readings = vec![
                Reading::AfterIdd(&digits, region),
                Reading::National(text, &digits, region),
            ];
            // A leading 0 is a trunk or dialling prefix: the number was dialled, not
            // copied from somewhere with its country code.
            if !text.starts_with('0') {
                readings.push(Reading::International(&digits));
            }
            best_of(&readings)
        };
        found.map_err(|reason| rejected(field, &reason))
    }

    /// The number a channel knows a customer by: a WhatsApp `wa_id` (`4915123456789`: the
    /// country code without `+`) or a caller id (`+14155552671`, `0525551234`). Digits are
    /// read with their country code, unless `default_region` reads them as a listed national
    /// number (a caller id in national format); None for channels whose ids always carry the
    /// country code. Numbers the metadata does not list are kept (unverified): the channel saw
    /// them.
    pub fn from_channel_id(
        id: &str,
        default_region: Option<&str>,
        field: &str,
    ) -> Result<Self, InvalidInput> {
        let text = phone_text(id, field)?;
        let region = default_region.and_then(region_metadata);
        let digits = digits_of(text);
        let found = if text.starts_with('+') {
            best_of(&[Reading::International(&digits)])
        } else if text.starts_with('0') {
            best_of(&[
                Reading::AfterIdd(&digits, region),
                Reading::National(text, &digits, region),
            ])
        } else {
            let national = Reading::National(text, &digits, region);
            if let Some(Ok(number)) = national.best()
                && number.verified
            {
                return Ok(number);
            }
            best_of(&[Reading::International(&digits), national])
        };
        found.map_err(|reason| rejected(field, &reason))
    }

    /// A number stored in E.164 form (an identity, a profile value), or None when `value` is
    /// not one exactly.
    pub fn from_e164(value: &str) -> Option<Self> {
        let digits = value.strip_prefix('+')?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (code, national) = split_country_code(digits)?;
        Number::new(code, national).fit().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    pub fn into_string(self) -> String {
        self.e164
    }

    /// Whether the number is in a range the numbering metadata lists as assigned
    /// (libphonenumber's "valid"). Otherwise only its length fits its country: a range newer
    /// than the metadata, or a typo.
    pub fn is_verified(&self) -> bool {
        self.verified
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.e164)
    }
}

/// Digits with the punctuation people write numbers with (`+`, spaces, `-`, `.`, parentheses),
/// optionally as a `tel:` URI, and at least seven digits.
pub fn looks_like_phone(text: &str) -> bool {
    let text = text.strip_prefix("tel:").unwrap_or(text);
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
}

/// Checks a default-region setting such as `IL` or `us`.
pub fn parse_region(region: &str) -> Result<country::Id, InvalidInput> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| {
            InvalidInput::new(
                "defaultRegion",
                "not an ISO 3166 region code (e.g. US, IL, GB)",
            )
        })
}

/// The trimmed text, without `tel:`, when it is made of phone characters.
fn phone_text<'a>(input: &'a str, field: &str) -> Result<&'a str, InvalidInput> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(InvalidInput::new(field, "phone number is empty"));
    }
    if trimmed.len() > 40 {
        return Err(InvalidInput::new(field, "phone number is too long"));
    }
    // Only text made of phone characters: ids such as `client:bob12345678` must never be
    // mistaken for a number (that would merge unrelated customers).
    if !looks_like_phone(trimmed) {
        let text = trimmed.strip_prefix("tel:").unwrap_or(trimmed);
        let reason = if text
            .chars()
            .all(|c| c.is_ascii_digit() || "+ -.()".contains(c))
        {
            "it is too short"
        } else {
            "it has characters other than digits, spaces, +, -, . and parentheses"
        };
        return Err(rejected(field, reason));
    }
    Ok(trimmed.strip_prefix("tel:").unwrap_or(trimmed).trim_start())
}

fn rejected(field: &str, reason: &str) -> InvalidInput {
    InvalidInput::new(
        field,
        format!("not a valid phone number: {reason} (use international format, e.g. +14155552671)"),
    )
}

fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn region_metadata(region: &str) -> Option<&'static Metadata> {
    let id = parse_region(region).ok()?;
    DATABASE.by_id(id.as_ref())
}

/// One way to read the digits someone wrote.
enum Reading<'a> {
    /// Country code first (after a `+`, or a channel id's bare digits).
    International(&'a str),
    /// After the region's international dialling prefix (`00`, `011`).
    AfterIdd(&'a str, Option<&'static Metadata>),
    /// A national number of the region (the text, its digits).
    National(&'a str, &'a str, Option<&'static Metadata>),
}

/// The first reading that applies and yields a number: its verified candidate, else its first
/// possible one. The reason is the first applicable reading's: the one the writer most likely
/// meant.
fn best_of(readings: &[Reading<'_>]) -> Result<PhoneNumber, String> {
    let mut first_reason = None;
    for reading in readings {
        match reading.best() {
            Some(Ok(number)) => return Ok(number),
            Some(Err(reason)) => {
                first_reason.get_or_insert(reason);
            }
            None => {}
        }
    }
    Err(first_reason.unwrap_or_else(|| "it has no country code".to_owned()))
}

impl Reading<'_> {
    /// The reading's best number, or why there is none; None when it does not apply.
    fn best(&self) -> Option<Result<PhoneNumber, String>> {
        match *self {
            Reading::International(digits) => {
                if digits.is_empty() {
                    return None;
                }
                let Some((code, national)) = split_country_code(digits) else {
                    return Some(Err("it does not start with a country code".to_owned()));
                };
                // As written; else what the crate makes of it, which drops a national prefix
                // written after the country code (`+44 (0)20 7183 8750`).
                let stripped = || {
                    phonenumber::parse(None, format!("+{digits}"))
                        .ok()
                        .filter(|p| p.code().value() == code)
                        .map(|p| Number::new(code, &p.national().to_string()))
                };
                Some(best_candidate(
                    std::iter::once(Number::new(code, national))
                        .chain(std::iter::once_with(stripped).flatten()),
                ))
            }
            Reading::AfterIdd(digits, region) => {
                let idd = region?.international_prefix()?.find(digits)?;
                let rest = &digits[idd.end()..];
                // Country codes never start with 0.
                (idd.start() == 0 && !rest.is_empty() && !rest.starts_with('0'))
                    .then(|| Reading::International(rest).best())
                    .flatten()
            }
            Reading::National(text, digits, region) => {
                let meta = region?;
                let code = meta.country_code();
                // What the crate makes of it (it knows national prefixes with carrier codes),
                // then the digits without the national prefix, as written (Russia's 800
                // numbers begin with its national prefix, 8), and without a country code
                // written without `+` (`590690001234` in Guadeloupe).
                let parsed = || {
                    phonenumber::parse(meta.id().parse().ok(), text)
                        .ok()
                        .filter(|p| p.code().value() == code)
                        .map(|p| Number::new(code, &p.national().to_string()))
                };
                let without_prefix = || {
                    let prefix = meta.national_prefix().filter(|p| !p.is_empty())?;
                    Some(Number::new(code, digits.strip_prefix(prefix)?))
                };
                let after_code = || {
                    digits
                        .strip_prefix(code.to_string().as_str())
                        .map(|national| Number::new(code, national))
                };
                Some(best_candidate(
                    std::iter::once_with(parsed)
                        .flatten()
                        .chain(std::iter::once_with(without_prefix).flatten())
                        .chain(std::iter::once_with(|| Number::new(code, digits)))
                        .chain(std::iter::once_with(after_code).flatten()),
                ))
            }
        }
    }
}

/// The first verified candidate, else the first possible one, else the first one's reason.
fn best_candidate(candidates: impl Iterator<Item = Number>) -> Result<PhoneNumber, String> {
    let mut possible = None;
    let mut first_reason = None;
    for candidate in candidates {
        match candidate.fit() {
            Ok(number) if number.verified => return Ok(number),
            Ok(number) => {
                possible.get_or_insert(number);
            }
            Err(reason) => {
                first_reason.get_or_insert(reason);
            }
        }
    }
    possible.ok_or_else(|| first_reason.unwrap_or_else(|| "it has no digits".to_owned()))
}

/// The country code a string of digits starts with (codes are prefix-free), and the rest.
fn split_country_code(digits: &str) -> Option<(u16, &str)> {
    (1..=3.min(digits.len())).find_map(|len| {
        let code = digits[..len].parse::<u16>().ok()?;
        DATABASE.by_code(&code).map(|_| (code, &digits[len..]))
    })
}

/// A country code and a national significant number, not yet checked.
struct Number {
    code: u16,
    national: String,
}

impl Number {
    fn new(code: u16, national: &str) -> Self {
        Self {
            code,
            national: national.to_owned(),
        }
    }

    /// The number, verified when the metadata lists its range; or why it cannot be one.
    fn fit(self) -> Result<PhoneNumber, String> {
        let regions = DATABASE
            .by_code(&self.code)
            .ok_or_else(|| format!("+{} is not a country code", self.code))?;
        let main = regions
            .iter()
            .find(|m| m.is_main_country_for_code())
            .or(regions.first())
            .ok_or_else(|| format!("+{} is not a country code", self.code))?;
        let length = self.national.len() as u16;
        // Lengths as the number's own region has them: Canada's 7-digit 310 numbers are
        // valid, though the main region of +1, the US, has none that short.
        let verified = region_of(&regions, &self.national).is_some_and(|region| {
            Lengths::of(region).possible.contains(&length) && is_assigned(region, &self.national)
        });
        if !verified {
            let lengths = Lengths::of(main);
            if !lengths.possible.contains(&length) {
                return Err(lengths.why_not(self.code, length));
            }
        }
        Ok(PhoneNumber {
            e164: format!("+{}{}", self.code, self.national),
            verified,
        })
    }
}

/// The lengths of a country's national numbers (libphonenumber's "possible" lengths: those of
/// every number type), and of local numbers dialled without an area code.
struct Lengths {
    possible: Vec<u16>,
    local: Vec<u16>,
}

impl Lengths {
    fn of(meta: &Metadata) -> Self {
        let mut possible = Vec::new();
        let mut local = Vec::new();
        for desc in number_types(meta) {
            possible.extend_from_slice(desc.possible_length());
            local.extend_from_slice(desc.possible_local_length());
        }
        if possible.is_empty() {
            possible.extend_from_slice(meta.descriptors().general().possible_length());
        }
        for lengths in [&mut possible, &mut local] {
            lengths.sort_unstable();
            lengths.dedup();
        }
        Self { possible, local }
    }

    fn why_not(&self, code: u16, length: u16) -> String {
        let (Some(&min), Some(&max)) = (self.possible.first(), self.possible.last()) else {
            return format!("+{code} has no numbers to call");
        };
        let expected = format!(
            "numbers with country code +{code} have {} digits after it",
            spell_lengths(&self.possible)
        );
        if self.local.contains(&length) {
            format!("it is too short, a local number without its area code ({expected})")
        } else if length < min {
            format!("it is too short ({expected})")
        } else if length > max {
            format!("it is too long ({expected})")
        } else {
            format!("it has the wrong number of digits ({expected})")
        }
    }
}

/// `10`, `9 to 11`, `8, 10 or 12`.
fn spell_lengths(lengths: &[u16]) -> String {
    match lengths {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if usize::from(last - first) + 1 == lengths.len() => {
            format!("{first} to {last}")
        }
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u16::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

/// The descriptors of the kinds of numbers people are reached at (not short codes).
fn number_types(meta: &Metadata) -> impl Iterator<Item = &Descriptor> {
    let d = meta.descriptors();
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
}

/// Which of the regions sharing a country code a national number belongs to
/// (libphonenumber's `getRegionCodeForNumberFromRegionList`).
fn region_of<'m>(regions: &[&'m Metadata], national: &str) -> Option<&'m Metadata> {
    if let [only] = regions {
        return Some(only);
    }
    regions
        .iter()
        .copied()
        .find(|meta| match meta.leading_digits() {
            Some(leading) => leading.find(national).is_some_and(|m| m.start() == 0),
            None => is_assigned(meta, national),
        })
}

/// Whether the region's metadata lists the number as one of its kinds.
fn is_assigned(meta: &Metadata, national: &str) -> bool {
    meta.descriptors().general().is_match(national)
        && number_types(meta).any(|desc| desc.is_match(national))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn typed(text: &str, region: &str) -> PhoneNumber {
        PhoneNumber::parse(text, region, "phone")
            .unwrap_or_else(|e| panic!("{text} in {region}: {}", e.message))
    }

    fn refusal(text: &str, region: &str) -> String {
        let err = PhoneNumber::parse(text, region, "phone").expect_err(text);
        assert_eq!(err.field, "phone");
        err.message
    }

    #[test]
    fn national_numbers_use_the_default_region() {
        assert_eq!(typed("052-555-1234", "IL").as_str(), "+972525551234");
        assert_eq!(typed("(415) 555-2671", "US").as_str(), "+14155552671");
        assert_eq!(typed("1 415 555 2671", "US").as_str(), "+14155552671");
        assert_eq!(typed("030 123456", "DE").as_str(), "+4930123456");
    }

    #[test]
    fn international_numbers_and_whatsapp_ids() {
        assert_eq!(typed("+972 52 555 1234", "US").as_str(), "+972525551234");
        assert_eq!(typed("tel:+14155552671", "IL").as_str(), "+14155552671");
        let wa_id = PhoneNumber::from_channel_id("972525551234", None, "from").unwrap();
        assert_eq!(wa_id.as_str(), "+972525551234");
        // Digits that cannot be a national number are a number written without its `+`.
        assert_eq!(typed("972525551234", "US").as_str(), "+972525551234");
        // A Belgian wa_id whose digits also make a US number: a wa_id has its country code.
        let belgian = PhoneNumber::from_channel_id("3212345678", None, "from").unwrap();
        assert_eq!(belgian.as_str(), "+3212345678");
    }

    #[test]
    fn numbers_written_with_a_plus_keep_every_digit_in_a_tenant_of_another_country() {
        for number in [
            "+4915123456789",
            "+8613812345678",
            "+201001234567",
            "+60123456789",
            "+5511987654321",
        ] {
            for region in ["US", "IL", "GB", "DE", "BR"] {
                assert_eq!(
                    typed(number, region).as_str(),
                    number,
                    "default region {region}"
                );
                let id = PhoneNumber::from_channel_id(number, Some(region), "from").unwrap();
                assert_eq!(id.as_str(), number, "caller id in {region}");
            }
            let wa_id = PhoneNumber::from_channel_id(&number[1..], None, "from").unwrap();
            assert_eq!(wa_id.as_str(), number);
        }
    }

    #[test]
    fn numbers_dialled_from_abroad_keep_every_digit() {
        assert_eq!(
            typed("011 49 1512 3456789", "US").as_str(),
            "+4915123456789"
        );
        assert_eq!(typed("00 49 1512 3456789", "IL").as_str(), "+4915123456789");
        assert_eq!(typed("00 1 415 555 2671", "GB").as_str(), "+14155552671");
    }

    #[test]
    fn a_us_number_typed_in_national_format_stays_in_the_us() {
        // 690 is not a US area code (yet): the number is kept as a US one, unverified, not
        // read as Tokelau's +690 3721211.
        let number = typed("(690) 372-1211", "US");
        assert_eq!(number.as_str(), "+16903721211");
        assert!(!number.is_verified());
        assert_eq!(typed("690-372-1211", "US").as_str(), "+16903721211");
        // A channel id carries its country code: the same digits from WhatsApp are Tokelau's.
        let wa_id = PhoneNumber::from_channel_id("6903721211", Some("US"), "from").unwrap();
        assert_eq!(wa_id.as_str(), "+6903721211");
    }

    #[test]
    fn a_caller_id_without_its_country_code_is_read_in_the_tenants_region() {
        for (id, region, e164) in [
            ("0525551234", "IL", "+972525551234"),
            ("4155552671", "US", "+14155552671"),
            ("2025550123", "US", "+12025550123"),
            ("5125550123", "US", "+15125550123"),
            ("14155552671", "US", "+14155552671"),
            ("+1 (415) 555-2671", "IL", "+14155552671"),
            ("972525551234", "US", "+972525551234"),
        ] {
            let number = PhoneNumber::from_channel_id(id, Some(region), "from").unwrap();
            assert_eq!(number.as_str(), e164, "{id} in {region}");
        }
        assert!(PhoneNumber::from_channel_id("0525551234", None, "from").is_err());
    }

    #[test]
    fn numbers_in_ranges_the_metadata_does_not_list_are_kept_unverified() {
        let listed = typed("+972525551234", "US");
        assert!(listed.is_verified());
        let unlisted = typed("+972501234567", "US");
        assert_eq!(unlisted.as_str(), "+972501234567");
        assert!(!unlisted.is_verified());
        let wa_id = PhoneNumber::from_channel_id("972501234567", None, "from").unwrap();
        assert_eq!(wa_id, unlisted);
        let caller = PhoneNumber::from_channel_id("+972501234567", Some("US"), "from").unwrap();
        assert_eq!(caller, unlisted);
    }

    #[test]
    fn impossible_numbers_are_refused_with_the_reason() {
        let short = refusal("+1 555 1234", "US");
        assert!(short.contains("too short"), "{short}");
        assert!(short.contains("+1 have 10 digits"), "{short}");
        let long = refusal("+49 1512 3456 7891 2345", "US");
        assert!(long.contains("too long"), "{long}");
        let code = refusal("+999 1234567", "US");
        assert!(code.contains("country code"), "{code}");
        let local = refusal("555-1234", "US");
        assert!(local.contains("area code"), "{local}");
        for id in ["+1 555 1234", "5551234", "12345678901234567"] {
            assert!(
                PhoneNumber::from_channel_id(id, Some("US"), "from").is_err(),
                "{id}"
            );
        }
    }

    #[test]
    fn garbage_is_rejected_with_the_field_name() {
        let err = PhoneNumber::parse("12ab", "US", "input.phone").unwrap_err();
        assert_eq!(err.field, "input.phone");
        assert!(PhoneNumber::parse("", "US", "phone").is_err());
        assert!(PhoneNumber::parse("+1 555", "US", "phone").is_err());
    }

    #[test]
    fn ids_with_digits_are_not_phone_numbers() {
        for id in [
            "client:bob12345678",
            "user_14155552671",
            "bsuid.972525551234",
            "CA1234567890abc",
        ] {
            assert!(PhoneNumber::parse(id, "US", "phone").is_err(), "{id}");
            assert!(
                PhoneNumber::from_channel_id(id, Some("US"), "from").is_err(),
                "{id}"
            );
        }
        assert!(PhoneNumber::parse("tel:+14155552671", "US", "phone").is_ok());
        assert!(PhoneNumber::parse("(415) 555.2671", "US", "phone").is_ok());
    }

    #[test]
    fn stored_numbers_read_back_with_their_verification() {
        let listed = PhoneNumber::from_e164("+972525551234").unwrap();
        assert!(listed.is_verified());
        assert!(
            !PhoneNumber::from_e164("+972501234567")
                .unwrap()
                .is_verified()
        );
        for not_e164 in [
            "972525551234",
            "+972 52 555 1234",
            "+1555",
            "+9991234567",
            "",
        ] {
            assert_eq!(PhoneNumber::from_e164(not_e164), None, "{not_e164}");
        }
    }

    #[test]
    fn regions() {
        assert!(parse_region("il").is_ok());
        assert!(parse_region("Atlantis").is_err());
    }

    #[test]
    fn lengths_are_spelled_for_people() {
        assert_eq!(spell_lengths(&[10]), "10");
        assert_eq!(spell_lengths(&[9, 10, 11]), "9 to 11");
        assert_eq!(spell_lengths(&[8, 10, 12]), "8, 10 or 12");
    }

    /// Every example number of every region and kind in the metadata, but those shorter than
    /// the seven digits a text needs to be read as a phone number: (region, E.164).
    fn example_numbers() -> Vec<(String, String)> {
        let mut examples: Vec<(String, String)> = DATABASE
            .iter()
            .flat_map(|meta| {
                number_types(meta).filter_map(move |desc| {
                    let e164 = format!("+{}{}", meta.country_code(), desc.example()?);
                    looks_like_phone(&e164).then(|| (meta.id().to_owned(), e164))
                })
            })
            .collect();
        examples.sort();
        examples.dedup();
        examples
    }

    /// Tenants' regions a number from elsewhere is typed in: national prefixes 0, 1, 8 and
    /// none, and international prefixes 00, 011, 810.
    const TENANT_REGIONS: &[&str] = &["US", "IL", "GB", "DE", "BR", "CN", "RU", "IT", "JP"];

    #[test]
    fn every_example_number_written_with_a_plus_keeps_its_digits_in_every_tenant() {
        let examples = example_numbers();
        assert!(examples.len() > 1000, "{} examples", examples.len());
        let regions: std::collections::BTreeSet<&str> =
            examples.iter().map(|(r, _)| r.as_str()).collect();
        assert!(regions.len() > 240, "{} regions", regions.len());
        for (region, e164) in &examples {
            let spaced = format!("+{} {}", &e164[1..3], &e164[3..]);
            for tenant in TENANT_REGIONS {
                for written in [e164.as_str(), spaced.as_str()] {
                    let number = typed(written, tenant);
                    assert_eq!(number.as_str(), e164, "{region}'s {written} in {tenant}");
                    assert!(number.is_verified(), "{region}'s {written} in {tenant}");
                }
            }
            let wa_id = PhoneNumber::from_channel_id(&e164[1..], None, "from")
                .unwrap_or_else(|e| panic!("{region}'s {e164}: {}", e.message));
            assert_eq!(wa_id.as_str(), e164, "{region}'s wa_id");
        }
    }

    #[test]
    fn every_example_number_typed_in_its_own_country_reads_back() {
        for meta in DATABASE.iter().filter(|m| m.id() != "001") {
            let prefix = meta.national_prefix().unwrap_or_default();
            for example in number_types(meta).filter_map(Descriptor::example) {
                let e164 = format!("+{}{example}", meta.country_code());
                for written in [format!("{prefix}{example}"), example.to_owned()] {
                    if !looks_like_phone(&written) {
                        continue;
                    }
                    let number = typed(&written, meta.id());
                    assert_eq!(number.as_str(), e164, "{written} in {}", meta.id());
                    assert!(number.is_verified(), "{written} in {}", meta.id());
                }
            }
        }
    }

    /// `+` and the digits of `e164` with separators at `cuts` (positions into the digits).
    fn written_with(e164: &str, cuts: &[(usize, char)]) -> String {
        let digits = &e164[1..];
        let mut out = String::from("+");
        for (i, d) in digits.chars().enumerate() {
            if let Some((_, sep)) = cuts.iter().find(|(at, _)| *at == i && i > 0) {
                out.push(*sep);
            }
            out.push(d);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn example_numbers_written_any_way_with_a_plus_read_back_in_any_region(
            example in prop::sample::select(example_numbers()),
            tenant in prop::sample::select(
                DATABASE.iter().map(|m| m.id().to_owned()).filter(|id| id != "001").collect::<Vec<_>>()
            ),
            cuts in prop::collection::vec(
                (1usize..15, prop::sample::select(vec![' ', '-', '.'])), 0..4),
        ) {
            let (region, e164) = example;
            let written = written_with(&e164, &cuts);
            let number = PhoneNumber::parse(&written, &tenant, "phone");
            prop_assert!(number.is_ok(), "{region}'s {written} in {tenant}: {number:?}");
            let number = number.unwrap();
            prop_assert_eq!(number.as_str(), e164.as_str(), "{}'s {} in {}", region, written, tenant);
            prop_assert!(number.is_verified());
        }
    }
}
