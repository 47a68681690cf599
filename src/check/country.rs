//! Countries: which ISO 3166-1 alpha-2 code a value stands for, and
//! whether a code is one (celes' list, which includes `XK` for Kosovo).
//!
//! A value stands for a code when it is a two-letter code in any case, an
//! alpha-3 code or English name (celes), a Dutch, French or German name
//! ([`COUNTRY_NAMES`], e.g. `Nederland`, `België`, `Duitsland`), or a
//! one-letter international vehicle sign as AFAS writes them (`B` = BE,
//! `D` = DE; a single letter is never an ISO code, so this cannot misread
//! one). Numeric codes are not accepted: SnelStart's CBS numbers are not
//! ISO numbers.
//!
//! It must not guess: a value no table knows is no country (`rules.rs`
//! reports it), and vehicle signs of two or more letters are not
//! converted, since some are ISO codes of other countries (AFAS's `CL`,
//! Sri Lanka, is Chile's ISO code).

use std::sync::LazyLock;

use crate::util::text::comparison_key;

/// Country names in Dutch (and the French and German names Belgian and
/// German-border exports use) that celes does not know, by
/// [`comparison_key`]. English names and alpha-3 codes come from celes.
pub const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("nederland", "NL"),
    ("paysbas", "NL"),
    ("niederlande", "NL"),
    ("belgie", "BE"),
    ("belgique", "BE"),
    ("belgien", "BE"),
    ("duitsland", "DE"),
    ("allemagne", "DE"),
    ("deutschland", "DE"),
    ("frankrijk", "FR"),
    ("frankreich", "FR"),
    ("verenigdkoninkrijk", "GB"),
    ("grootbrittannie", "GB"),
    ("engeland", "GB"),
    ("royaumeuni", "GB"),
    ("luxemburg", "LU"),
    ("spanje", "ES"),
    ("espagne", "ES"),
    ("italie", "IT"),
    ("oostenrijk", "AT"),
    ("autriche", "AT"),
    ("osterreich", "AT"),
    ("oesterreich", "AT"),
    ("zwitserland", "CH"),
    ("suisse", "CH"),
    ("schweiz", "CH"),
    ("denemarken", "DK"),
    ("zweden", "SE"),
    ("noorwegen", "NO"),
    ("polen", "PL"),
    ("ierland", "IE"),
    ("verenigdestaten", "US"),
    ("verenigdestatenvanamerika", "US"),
    ("amerika", "US"),
    ("etatsunis", "US"),
    ("griekenland", "GR"),
    ("tsjechie", "CZ"),
    ("tsjechischerepubliek", "CZ"),
    ("hongarije", "HU"),
    ("roemenie", "RO"),
    ("bulgarije", "BG"),
    ("kroatie", "HR"),
    ("slovenie", "SI"),
    ("slowakije", "SK"),
    ("estland", "EE"),
    ("letland", "LV"),
    ("litouwen", "LT"),
    ("turkije", "TR"),
    ("marokko", "MA"),
    ("australie", "AU"),
    ("nieuwzeeland", "NZ"),
    ("zuidafrika", "ZA"),
    ("brazilie", "BR"),
    ("rusland", "RU"),
    ("oekraine", "UA"),
    ("ijsland", "IS"),
    ("indonesie", "ID"),
    ("sintmaarten", "SX"),
];

/// One-letter international vehicle signs, as AFAS writes countries
/// (`accounting-exports.md` §6). Longer AFAS codes are left to celes
/// (`FIN`, `USA` are also alpha-3) or rejected: `CL` is Sri Lanka in AFAS
/// and Chile in ISO, so it cannot be converted safely.
const VEHICLE_SIGNS: &[(&str, &str)] = &[
    ("a", "AT"),
    ("b", "BE"),
    ("d", "DE"),
    ("e", "ES"),
    ("f", "FR"),
    ("h", "HU"),
    ("i", "IT"),
    ("l", "LU"),
    ("n", "NO"),
    ("p", "PT"),
    ("s", "SE"),
];

/// How a value that is not yet the code as the API takes it names a
/// country (normalization counts the two apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Naming {
    /// The two-letter code in another case (`nl`, `Nl`).
    CodeCase,
    /// A name, an alpha-3 code or a vehicle sign (`Nederland`, `NLD`, `B`).
    Other,
}

/// The alpha-2 code `s` stands for and how `s` names it, or `None` when
/// `s` already is an upper-case code, or is no country we know.
pub(super) fn country_code(s: &str) -> Option<(String, Naming)> {
    if is_country(s) {
        return None;
    }
    if let &[a, b] = s.as_bytes() {
        let upper =
            String::from_utf8_lossy(&[a.to_ascii_uppercase(), b.to_ascii_uppercase()]).into_owned();
        // An invalid two-letter code stays as typed; messages quote it.
        return is_country(&upper).then_some((upper, Naming::CodeCase));
    }
    let key = comparison_key(s);
    let table = if key.len() == 1 {
        VEHICLE_SIGNS
    } else {
        COUNTRY_NAMES
    };
    if let Some((_, code)) = table.iter().find(|(name, _)| *name == key) {
        return Some((code.to_string(), Naming::Other));
    }
    // celes' FromStr also takes numeric codes; those are not accepted.
    if key.len() < 2 || !key.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let country: celes::Country = key.parse().ok()?;
    Some((country.alpha2.to_string(), Naming::Other))
}

/// Parses `--default-country`: an ISO alpha-2 code in any case, or a
/// country name or alpha-3 code the importer converts (`Germany`, `DEU`).
pub fn parse_country_arg(s: &str) -> Result<String, String> {
    let s = s.trim();
    if is_country(s) {
        return Ok(s.to_string());
    }
    country_code(s).map(|(code, _)| code).ok_or_else(|| {
        format!("{s:?} is not a country; give an ISO code such as NL, BE, DE, FR or US")
    })
}

/// Whether `code` is an ISO alpha-2 code as the API takes it: upper case.
pub(super) fn is_country(code: &str) -> bool {
    // celes looks codes up in a hashed map, a measurable cost per row; its
    // answers for all 676 pairs of letters fit in one small bit table.
    static ALPHA2: LazyLock<[u32; 26]> = LazyLock::new(|| {
        let mut table = [0u32; 26];
        for (first, row) in (b'A'..=b'Z').zip(table.iter_mut()) {
            for second in b'A'..=b'Z' {
                let code = [first, second];
                let known = std::str::from_utf8(&code)
                    .is_ok_and(|code| celes::Country::from_alpha2(code).is_ok());
                if known {
                    *row |= 1 << (second - b'A');
                }
            }
        }
        table
    });
    match code.as_bytes() {
        &[first @ b'A'..=b'Z', second @ b'A'..=b'Z'] => {
            ALPHA2[usize::from(first - b'A')] & (1 << (second - b'A')) != 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::normalize::ChangeKind;
    use crate::check::validate::tests::customer;
    use crate::check::validate::validate_with_changes;
    use crate::model::field::Field;

    /// The country code `value` normalizes to, and the change kinds.
    fn country(value: &str) -> (Option<String>, Vec<ChangeKind>) {
        let mut c = customer(&[(Field::Country, value)]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid(), "{value}: {:?}", v.problems);
        let kinds = v.changes.iter().flat_map(|ch| ch.kinds.iter()).collect();
        (c.get(Field::Country).map(str::to_string), kinds)
    }

    #[test]
    fn country_names_and_codes_become_alpha2() {
        for (value, code) in [
            ("Nederland", "NL"),
            ("nederland", "NL"),
            ("NEDERLAND", "NL"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("Holland", "NL"),
            ("NLD", "NL"),
            ("nld", "NL"),
            ("België", "BE"),
            ("Belgie", "BE"),
            ("Belgium", "BE"),
            ("Belgique", "BE"),
            ("BEL", "BE"),
            ("Duitsland", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("Frankrijk", "FR"),
            ("Verenigd Koninkrijk", "GB"),
            ("United Kingdom", "GB"),
            ("Luxemburg", "LU"),
            ("Luxembourg", "LU"),
            ("Spanje", "ES"),
            ("Italië", "IT"),
            ("Oostenrijk", "AT"),
            ("Zwitserland", "CH"),
            ("Denemarken", "DK"),
            ("Zweden", "SE"),
            ("Noorwegen", "NO"),
            ("Polen", "PL"),
            ("Portugal", "PT"),
            ("Ierland", "IE"),
            ("Verenigde Staten", "US"),
            ("USA", "US"),
            ("Curaçao", "CW"),
            // AFAS / vehicle signs.
            ("B", "BE"),
            ("d", "DE"),
            ("FIN", "FI"),
        ] {
            let (found, kinds) = country(value);
            assert_eq!(found.as_deref(), Some(code), "{value}");
            assert_eq!(kinds, [ChangeKind::CountryConverted], "{value}");
        }
        assert_eq!(
            country(" nl ").1,
            [ChangeKind::Trimmed, ChangeKind::CountryCase]
        );
        assert_eq!(country("NL"), (Some("NL".to_string()), vec![]));
    }

    #[test]
    fn dutch_country_names_are_not_celes_names_for_other_countries() {
        for (name, code) in COUNTRY_NAMES {
            assert_eq!(comparison_key(name), *name, "keys are written folded");
            assert!(is_country(code), "{name}: {code}");
            if let Ok(c) = name.parse::<celes::Country>() {
                assert_eq!(c.alpha2, *code, "{name}");
            }
        }
        for (sign, code) in VEHICLE_SIGNS {
            assert!(is_country(code), "{sign}: {code}");
        }
    }

    #[test]
    fn country_table_agrees_with_celes() {
        for a in 'A'..='Z' {
            for b in 'A'..='Z' {
                let code = format!("{a}{b}");
                assert_eq!(
                    is_country(&code),
                    celes::Country::from_alpha2(&code).is_ok(),
                    "{code}"
                );
            }
        }
        assert!(!is_country("nl"));
        assert!(!is_country("N"));
        assert!(!is_country("NLD"));
    }
}
