//! Which language a text is written in, from its script and its words.

/// Writing systems told apart by code point; Latin is the only one shared by many languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Hebrew,
    Arabic,
    Cyrillic,
    Greek,
    /// Han ideographs and kana together: kana make it Japanese.
    Cjk,
    Hangul,
    Thai,
    Devanagari,
}

impl Script {
    const ALL: [Script; 9] = [
        Script::Latin,
        Script::Hebrew,
        Script::Arabic,
        Script::Cyrillic,
        Script::Greek,
        Script::Cjk,
        Script::Hangul,
        Script::Thai,
        Script::Devanagari,
    ];

    fn of(c: char) -> Option<Self> {
        // Fast paths before the slow Unicode table lookup.
        if c.is_ascii() {
            return c.is_ascii_alphabetic().then_some(Script::Latin);
        }
        if matches!(c, '\u{05D0}'..='\u{05EA}' | '\u{05F0}'..='\u{05F2}') {
            return Some(Script::Hebrew);
        }
        if !c.is_alphabetic() {
            return None;
        }
        Some(match u32::from(c) {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x400..=0x52F => Script::Cyrillic,
            0x590..=0x5FF | 0xFB1D..=0xFB4F => Script::Hebrew,
            0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
                Script::Arabic
            }
            0x900..=0x97F => Script::Devanagari,
            0xE00..=0xE7F => Script::Thai,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
            0x3040..=0x30FF
            | 0x31F0..=0x31FF
            | 0xFF66..=0xFF9F
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xF900..=0xFAFF
            | 0x20000..=0x2FA1F => Script::Cjk,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn is_kana(c: char) -> bool {
    matches!(u32::from(c), 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F)
}

/// Letters per script, plus what it takes to trust Latin text.
#[derive(Default)]
struct Tally {
    letters: [usize; Script::ALL.len()],
    kana: usize,
    /// Latin words of two or more letters with a vowel: "ok thanks" counts two, "hmm" none.
    latin_words: usize,
}

impl Tally {
    fn add_chunk(&mut self, chunk: &str) {
        // Addresses and links are Latin whatever language surrounds them.
        if chunk.contains('@') || chunk.contains("://") || chunk.starts_with("www.") {
            return;
        }
        let mut run = 0usize;
        let mut vowel = false;
        for c in chunk.chars() {
            match Script::of(c) {
                Some(script) => {
                    self.letters[script.index()] += 1;
                    if is_kana(c) {
                        self.kana += 1;
                    }
                    if script == Script::Latin {
                        run += 1;
                        vowel |=
                            matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
                                || !c.is_ascii();
                        continue;
                    }
                }
                // An apostrophe keeps "I'm" and "don't" one word.
                None if matches!(c, '\'' | '’') && run > 0 => continue,
                None => {}
            }
            self.end_word(&mut run, &mut vowel);
        }
        self.end_word(&mut run, &mut vowel);
    }

    fn end_word(&mut self, run: &mut usize, vowel: &mut bool) {
        if *run >= 2 && *vowel {
            self.latin_words += 1;
        }
        *run = 0;
        *vowel = false;
    }

    /// Latin letters count half: brand names, product codes and English loanwords sit inside
    /// Hebrew or Arabic sentences far more often than the other way round.
    fn weight(&self, script: Script) -> usize {
        let n = self.letters[script.index()];
        if script == Script::Latin { n } else { n * 2 }
    }
}

/// ISO 639-1 code of the text's dominant language (`he`, `en`, `ar`, `ru`, …), or `None` when
/// there is too little text to tell (digits, emoji, one short Latin word).
///
/// The script decides: Hebrew letters mean `he`, Cyrillic `ru`, Arabic `ar`, Greek `el`, Han
/// `zh` (with kana `ja`), Hangul `ko`, Thai `th`, Devanagari `hi`. Latin text is taken as `en`
/// once it has at least two real words. In mixed text the script with the most letters wins,
/// non-Latin letters counting double.
pub fn detect_language(text: &str) -> Option<&'static str> {
    let mut tally = Tally::default();
    for chunk in text.split_whitespace() {
        tally.add_chunk(chunk);
    }
    let mut ranked = Script::ALL;
    // Stable sort: on a tie the earlier script in `ALL` wins.
    ranked.sort_by_key(|s| std::cmp::Reverse(tally.weight(*s)));
    ranked
        .into_iter()
        .filter(|s| tally.letters[s.index()] >= 2)
        .find_map(|script| language_of(script, &tally))
}

fn language_of(script: Script, tally: &Tally) -> Option<&'static str> {
    Some(match script {
        Script::Latin if tally.latin_words >= 2 => "en",
        Script::Latin => return None,
        Script::Hebrew => "he",
        Script::Arabic => "ar",
        Script::Cyrillic => "ru",
        Script::Greek => "el",
        Script::Cjk if tally.kana > 0 => "ja",
        Script::Cjk => "zh",
        Script::Hangul => "ko",
        Script::Thai => "th",
        Script::Devanagari => "hi",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hebrew() {
        for text in [
            "שלום, מה שלומך?",
            "כמה עולה טיסה לרומא",
            "היי",
            "אני רוצה iPhone 15 Pro Max",
            "המייל שלי dana.cohen@gmail.com",
            "שָׁלוֹם",
            "ש\"ח",
        ] {
            assert_eq!(detect_language(text), Some("he"), "{text}");
        }
    }

    #[test]
    fn english_needs_two_real_words() {
        for text in [
            "Hello there",
            "How much is a flight to Rome?",
            "ok thanks",
            "I'm Dana",
            "I want to fly to תל אביב next week",
        ] {
            assert_eq!(detect_language(text), Some("en"), "{text}");
        }
        for text in ["hello", "Hi!", "ok", "hmm", "iPhone", "OK 👍", "x y z"] {
            assert_eq!(detect_language(text), None, "{text}");
        }
    }

    #[test]
    fn other_scripts() {
        assert_eq!(detect_language("Привет, как дела?"), Some("ru"));
        assert_eq!(detect_language("مرحبا كيف حالك"), Some("ar"));
        assert_eq!(detect_language("Γεια σου"), Some("el"));
        assert_eq!(detect_language("你好世界"), Some("zh"));
        assert_eq!(detect_language("こんにちは世界"), Some("ja"));
        assert_eq!(detect_language("안녕하세요"), Some("ko"));
        assert_eq!(detect_language("สวัสดีครับ"), Some("th"));
        assert_eq!(detect_language("नमस्ते"), Some("hi"));
    }

    #[test]
    fn nothing_to_read() {
        for text in [
            "",
            "   ",
            "123 456",
            "😀😀🎉",
            "+972-52-555-1234",
            "$100",
            "?!",
            "好",
            "dana@example.com",
            "https://example.com/path",
        ] {
            assert_eq!(detect_language(text), None, "{text:?}");
        }
    }

    #[test]
    fn mixed_text_goes_to_the_dominant_script() {
        assert_eq!(
            detect_language("Book me a hotel in תל אביב please"),
            Some("en")
        );
        assert_eq!(
            detect_language("אני מחפש מלון בתל אביב for next week"),
            Some("he")
        );
        assert_eq!(detect_language("Hello שלום עליכם"), Some("he"));
        // Latin dominant but only one word: the next script gets its turn.
        assert_eq!(detect_language("Supercalifragilistic שלום"), Some("he"));
    }
}
