//! Search-key normalisation, applied identically when indexing and when querying.
//!
//! Arabic: tashkeel (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel are
//! removed; the alef forms أ إ آ ٱ become ا; ta marbuta ة becomes ه; alef maqsura ى becomes ي;
//! the Persian yeh ی and keheh ک become ي and ك; Arabic-Indic and Persian digits become ASCII.
//! Latin: case-folded, diacritics stripped (é → e). Anything that is not a letter or a digit
//! separates tokens. The result is the tokens joined by single spaces.

use crate::phone::ascii_digit;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

fn fold_char(c: char) -> Option<char> {
    let c = ascii_digit(c);
    match c {
        '\u{0640}' => None,                                                    // tatweel
        '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => Some('\u{0627}'), // alef forms → ا
        '\u{0629}' => Some('\u{0647}'),                                        // ة → ه
        '\u{0649}' | '\u{06CC}' => Some('\u{064A}'),                           // ى, ی → ي
        '\u{06A9}' => Some('\u{0643}'),                                        // ک → ك
        '\u{200C}' | '\u{200D}' => None, // ZWNJ/ZWJ carry no meaning here
        c if is_combining_mark(c) => None, // tashkeel, Latin accents
        c => Some(c),
    }
}

/// Normalises text into search tokens joined by single spaces.
pub fn search_key(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut separator = false;
    for c in input.nfd().filter_map(fold_char) {
        if c.is_alphanumeric() {
            if separator && !out.is_empty() {
                out.push(' ');
            }
            separator = false;
            out.extend(c.to_lowercase());
        } else {
            separator = true;
        }
    }
    out
}

/// The normalised tokens of `input`.
pub fn search_tokens(input: &str) -> Vec<String> {
    search_key(input)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Only the digits of `input`, in ASCII (Arabic-Indic and Persian digits converted).
pub fn digits_only(input: &str) -> String {
    input
        .chars()
        .map(ascii_digit)
        .filter(char::is_ascii_digit)
        .collect()
}

/// True when `input` looks like phone digits typed or pasted into the search box: digits with
/// the separators, marks and `tel:` scheme a phone field accepts ([`crate::phone::phone_text`]),
/// nothing else.
pub fn looks_like_phone_digits(input: &str) -> bool {
    crate::phone::phone_text(input).is_some_and(|d| d.bytes().any(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arabic_hamza_alef_forms_fold_to_bare_alef() {
        assert_eq!(search_key("أحمد"), search_key("احمد"));
        assert_eq!(search_key("إبراهيم"), "ابراهيم");
        assert_eq!(search_key("آمنة"), "امنه");
        assert_eq!(search_key("ٱلله"), "الله");
    }

    #[test]
    fn tashkeel_and_tatweel_are_removed() {
        assert_eq!(search_key("مُحَمَّد"), "محمد");
        assert_eq!(search_key("محـــمد"), "محمد");
        assert_eq!(search_key("الرَّحْمٰن"), "الرحمن");
    }

    #[test]
    fn ta_marbuta_and_alef_maqsura_fold() {
        assert_eq!(search_key("فاطمة"), "فاطمه");
        assert_eq!(search_key("مصطفى"), "مصطفي");
        assert_eq!(search_key("علی"), "علي"); // Persian yeh
    }

    #[test]
    fn arabic_indic_and_persian_digits_become_ascii() {
        assert_eq!(search_key("٩٢١٢٣٤٥٦"), "92123456");
        assert_eq!(search_key("۳۴۵۶"), "3456");
        assert_eq!(digits_only("+٩٦٨ ٩٢١٢-٣٤٥٦"), "96892123456");
    }

    #[test]
    fn latin_is_case_folded_and_stripped_of_diacritics() {
        assert_eq!(search_key("  ZOË  Ålvarez-Núñez "), "zoe alvarez nunez");
        assert_eq!(search_tokens("Al-Said, Ahmed"), vec!["al", "said", "ahmed"]);
    }

    #[test]
    fn phone_digit_queries_are_recognised() {
        assert!(looks_like_phone_digits("3456"));
        assert!(looks_like_phone_digits("+968 9212-3456"));
        assert!(looks_like_phone_digits("٣٤٥٦"));
        // As pasted: direction marks, a `tel:` link, slashes, full-width digits.
        assert!(looks_like_phone_digits("\u{200F}9212\u{200E}3456"));
        assert!(looks_like_phone_digits("tel:+96892123456"));
        assert!(looks_like_phone_digits("+968/9212/3456"));
        assert!(looks_like_phone_digits("９２１２"));
        assert!(!looks_like_phone_digits("\u{200F}"));
        assert!(!looks_like_phone_digits("tel:"));
        assert!(!looks_like_phone_digits("ahmed"));
        assert!(!looks_like_phone_digits("CUST-00012"));
        assert!(!looks_like_phone_digits("--"));
    }

    fn arabic_letter() -> impl Strategy<Value = char> {
        prop::sample::select(
            "ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآٱةىیکـًٌٍَُِّْٰ٠١٢٣٤٥٦٧٨٩ "
                .chars()
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(s in "\\PC{0,40}") {
            let once = search_key(&s);
            prop_assert_eq!(search_key(&once), once);
        }

        #[test]
        fn arabic_keys_never_keep_marks_variants_or_non_ascii_digits(
            s in prop::collection::vec(arabic_letter(), 0..30).prop_map(|v| v.into_iter().collect::<String>())
        ) {
            let key = search_key(&s);
            for c in key.chars() {
                prop_assert!(!is_combining_mark(c), "mark {:?} in {:?}", c, key);
                prop_assert!(!"أإآٱةىیکـ".contains(c), "variant {:?} in {:?}", c, key);
                prop_assert!(!('\u{0660}'..='\u{0669}').contains(&c), "digit {:?}", c);
            }
        }

        #[test]
        fn a_prefix_of_a_name_normalises_to_a_prefix_of_its_key(s in "[a-zA-ZéÉñ]{1,20}", cut in 0usize..20) {
            let prefix: String = s.chars().take(cut).collect();
            prop_assert!(search_key(&s).starts_with(&search_key(&prefix)));
        }
    }
}
