//! Languages: the API's word for a language value.
//!
//! The API takes one of [`LANGUAGES`]. A known code or name becomes that
//! word ([`language_word`]: `nl_NL`, `Nederlands` → `dutch`); anything
//! else passes through (the run header counts it).
//!
//! It must not reject a value: one it does not know is sent as it is.

use crate::util::text::comparison_key;

/// The languages the API knows, by the word it takes.
pub const LANGUAGES: [&str; 4] = ["dutch", "english", "german", "french"];

/// Names and codes per API word, as [`comparison_key`]s: ISO 639-1 and -2
/// codes, and the language's name in NL, EN, DE and FR.
const LANGUAGE_NAMES: [(&str, &[&str]); 4] = [
    (
        "dutch",
        &[
            "nl",
            "nld",
            "dut",
            "dutch",
            "nederlands",
            "hollands",
            "vlaams",
            "flemish",
            "niederlandisch",
            "neerlandais",
            "flamand",
        ],
    ),
    (
        "english",
        &["en", "eng", "english", "engels", "englisch", "anglais"],
    ),
    (
        "german",
        &["de", "deu", "ger", "german", "duits", "deutsch", "allemand"],
    ),
    (
        "french",
        &[
            "fr",
            "fra",
            "fre",
            "french",
            "frans",
            "franzosisch",
            "francais",
        ],
    ),
];

/// The API's word for a language value (`nl_NL`, `en-GB`, `NL`,
/// `Nederlands`, `Dutch / Nederlands` → `dutch`), or `None` when it is not
/// recognised (it is then sent as is, and counted in the run header).
pub fn language_word(value: &str) -> Option<&'static str> {
    let value = value.trim();
    // `Dutch / Nederlands`: either half.
    let halves = value.split('/').map(str::trim);
    for half in halves {
        // `nl_NL`, `en-GB`, `fr BE`: the language before the region.
        let base = half.split(['_', '-', ' ']).next().unwrap_or(half);
        for candidate in [half, base] {
            let key = comparison_key(candidate);
            if let Some((word, _)) = LANGUAGE_NAMES
                .iter()
                .find(|(_, names)| names.contains(&key.as_str()))
            {
                return Some(word);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::normalize::ChangeKind;
    use crate::check::validate::tests::customer;
    use crate::check::validate::validate_with_changes;
    use crate::model::field::Field;

    #[test]
    fn languages_become_the_api_words() {
        for (value, word) in [
            ("nl_NL", Some("dutch")),
            ("nl-BE", Some("dutch")),
            ("NL", Some("dutch")),
            ("Nederlands", Some("dutch")),
            ("Dutch / Nederlands", Some("dutch")),
            ("en_US", Some("english")),
            ("en-GB", Some("english")),
            ("Engels", Some("english")),
            ("Deutsch", Some("german")),
            ("de", Some("german")),
            ("Français", Some("french")),
            ("fr_BE", Some("french")),
            ("dutch", Some("dutch")),
            ("x", None),
            ("Klingon", None),
            ("1", None),
        ] {
            assert_eq!(language_word(value), word, "{value}");
        }
        let mut c = customer(&[
            (Field::CustomerCode, "1"),
            (Field::Name, "A"),
            (Field::Language, "en_US"),
        ]);
        let v = validate_with_changes(&mut c);
        assert_eq!(c.get(Field::Language), Some("english"));
        assert_eq!(
            v.changes[0].kinds.iter().collect::<Vec<_>>(),
            [ChangeKind::LanguageConverted]
        );
        let mut c = customer(&[
            (Field::CustomerCode, "1"),
            (Field::Name, "A"),
            (Field::Language, "dutch"),
        ]);
        assert!(validate_with_changes(&mut c).changes.is_empty());
    }
}
