//! Normalization: the form a value is sent in, and a record of every
//! change made to it ([`Change`]), so nothing is altered silently.
//!
//! - every value is trimmed, and inner runs of whitespace (tabs, line
//!   breaks, non-breaking spaces) become one space, except in
//!   `CustomerCode`: a code is a key the user looks customers up by, so
//!   only its ends are trimmed (Exact pads codes with leading spaces);
//! - the apostrophe a spreadsheet (or our own results and errors files)
//!   puts before text that would run as a formula is dropped: it is a
//!   marker, not part of the value;
//! - `Country`: a name or code becomes the ISO 3166-1 alpha-2 code, as far
//!   as `country.rs` knows it;
//! - `Postalcode`: a Dutch postcode (`1234ab`, `1234 ab`) becomes `1234 AB`
//!   when Country is NL or empty;
//! - `Email`/`InvoiceEmail`: the domain is lower-cased (the part before `@`
//!   is the mailbox owner's business and is left alone);
//! - `Language`: a known code or name becomes the API's word, as far as
//!   `language.rs` knows it.
//!
//! It must not judge values (that is `rules.rs`), and must not truncate or
//! guess beyond the conversions above: a value that breaks a rule is
//! reported, not repaired. It runs on every value of files with a million
//! rows, so a value that is already normal allocates nothing.

use std::fmt;

use super::country::{Naming, country_code};
use super::language::{LANGUAGES, language_word};
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::util::text::quoted;

/// One kind of normalization, for counting in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Whitespace removed from the ends.
    Trimmed,
    /// Inner whitespace runs, tabs or line breaks became one space.
    SpacesCollapsed,
    /// A two-letter country code upper-cased (`nl` → `NL`).
    CountryCase,
    /// A country name, alpha-3 code or vehicle sign converted (`Nederland`
    /// → `NL`).
    CountryConverted,
    /// A Dutch postcode formatted (`1234ab` → `1234 AB`).
    PostcodeFormatted,
    /// An e-mail domain lower-cased.
    EmailDomainLowercased,
    /// The apostrophe a spreadsheet (or our own results and errors files)
    /// puts before text that would otherwise run as a formula was removed
    /// (`'+31 20` → `+31 20`); it is a marker, not part of the value.
    FormulaMarkerRemoved,
    /// A language code or name became the API's word (`nl_NL`,
    /// `Nederlands` → `dutch`).
    LanguageConverted,
}

impl ChangeKind {
    /// Every kind, in summary order.
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::FormulaMarkerRemoved,
        ChangeKind::Trimmed,
        ChangeKind::SpacesCollapsed,
        ChangeKind::CountryCase,
        ChangeKind::CountryConverted,
        ChangeKind::PostcodeFormatted,
        ChangeKind::EmailDomainLowercased,
        ChangeKind::LanguageConverted,
    ];

    /// A summary label: "country names converted: 12".
    pub const fn label(self) -> &'static str {
        match self {
            ChangeKind::Trimmed => "values trimmed",
            ChangeKind::SpacesCollapsed => "inner whitespace collapsed",
            ChangeKind::CountryCase => "country codes upper-cased",
            ChangeKind::CountryConverted => "country names converted",
            ChangeKind::PostcodeFormatted => "Dutch postcodes formatted",
            ChangeKind::EmailDomainLowercased => "e-mail domains lower-cased",
            ChangeKind::FormulaMarkerRemoved => "spreadsheet formula markers (') removed",
            ChangeKind::LanguageConverted => "languages converted to dutch/english/german/french",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`ChangeKind`]s (one value can be trimmed *and* converted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChangeKinds(u8);

impl ChangeKinds {
    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: ChangeKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Adds `kind`.
    pub fn insert(&mut self, kind: ChangeKind) {
        self.0 |= kind.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in [`ChangeKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

impl From<ChangeKind> for ChangeKinds {
    fn from(kind: ChangeKind) -> Self {
        ChangeKinds(kind.bit())
    }
}

/// What normalization did to one value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The field.
    pub field: Field,
    /// What was done.
    pub kinds: ChangeKinds,
    /// The value as read.
    pub from: String,
    /// The value as sent (empty: left out of the payload).
    pub to: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.field,
            quoted(&self.from),
            quoted(&self.to)
        )
    }
}

/// Counts of changes per kind over many rows, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeTally {
    counts: [u64; ChangeKind::ALL.len()],
}

impl ChangeTally {
    /// Counts each kind of each change once.
    pub fn add(&mut self, changes: &[Change]) {
        for change in changes {
            for kind in change.kinds.iter() {
                self.counts[kind as usize] += 1;
            }
        }
    }

    /// How many values had `kind` applied.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.counts[kind as usize]
    }

    /// The non-zero counts, in [`ChangeKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (ChangeKind, u64)> + '_ {
        ChangeKind::ALL
            .into_iter()
            .map(|k| (k, self.count(k)))
            .filter(|&(_, n)| n > 0)
    }
}

impl fmt::Display for ChangeTally {
    /// One line per kind: `country names converted: 12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, n) in self.iter() {
            writeln!(f, "{}: {n}", kind.label())?;
        }
        Ok(())
    }
}

/// Normalizes `c` in place and adds what was changed to `changes`, in
/// field order.
/// Returns the fields (a bit per [`Field::index`]) whose value held a
/// byte the fast path does not vouch for (a control character, NUL, or a
/// lead byte of U+FFFD among others): only those can break the
/// odd-character rule, so the rules look at them alone.
pub(super) fn normalize_into(c: &mut Customer, changes: &mut Vec<Change>) -> u16 {
    let mut suspect = 0u16;
    // Country first: whether a postcode is Dutch depends on it.
    for field in NORMALIZE_ORDER {
        let mut plain = true;
        let normal = normalized(c, field, &mut plain);
        if !plain {
            suspect |= 1 << field.index();
        }
        if let Some((value, kinds)) = normal {
            let to = value.clone();
            let from = c.replace(field, value);
            changes.push(Change {
                field,
                kinds,
                from,
                to,
            });
        }
    }
    if changes.len() > 1 {
        changes.sort_by_key(|ch| ch.field);
    }
    suspect
}

/// Field order for normalizing: Country before Postalcode.
const NORMALIZE_ORDER: [Field; 13] = [
    Field::CustomerCode,
    Field::Name,
    Field::Address,
    Field::Country,
    Field::Postalcode,
    Field::City,
    Field::Contact,
    Field::Phone,
    Field::Mobile,
    Field::Email,
    Field::InvoiceEmail,
    Field::RegistrationNumber,
    Field::Language,
];

/// The normalized value of `field` and what was done, or `None` when it
/// is already normal (the common case, which allocates nothing).
/// `plain` is cleared when the value left the fast path.
fn normalized(c: &Customer, field: Field, plain: &mut bool) -> Option<(String, ChangeKinds)> {
    let raw = c.get(field)?;
    let mut kinds = ChangeKinds::default();
    let value = match strip_formula_marker(raw) {
        Some(v) => {
            kinds.insert(ChangeKind::FormulaMarkerRemoved);
            v
        }
        None => raw,
    };
    let collapse = field != Field::CustomerCode;
    *plain = plainly_spaced(value.as_bytes(), collapse);
    let spaced = clean_whitespace(value, collapse, *plain, &mut kinds)
        .or_else(|| (value.len() != raw.len()).then(|| value.to_owned()));
    let clean: &str = spaced.as_deref().unwrap_or(value);
    let converted = match field {
        Field::Country => country_code(clean).map(|(code, naming)| {
            kinds.insert(match naming {
                Naming::CodeCase => ChangeKind::CountryCase,
                Naming::Other => ChangeKind::CountryConverted,
            });
            code
        }),
        Field::Postalcode if matches!(c.get(Field::Country), None | Some("NL")) => {
            dutch_postcode(clean).inspect(|_| kinds.insert(ChangeKind::PostcodeFormatted))
        }
        Field::Email | Field::InvoiceEmail => {
            lowercase_domain(clean).inspect(|_| kinds.insert(ChangeKind::EmailDomainLowercased))
        }
        // The API's own words (the common case) need no lookup.
        Field::Language if LANGUAGES.contains(&clean) => None,
        Field::Language => language_word(clean)
            .filter(|word| *word != clean)
            .map(|word| {
                kinds.insert(ChangeKind::LanguageConverted);
                word.to_string()
            }),
        _ => None,
    };
    converted.or(spaced).map(|new| (new, kinds))
}

/// `'=...`, `'+...`, `'-...`, `'@...` (also before a tab or CR): the text
/// after the apostrophe that spreadsheets and [`crate::output::results::neutralize`]
/// add so the cell is not run as a formula. Such an apostrophe is never part
/// of a real customer value, so it is dropped on input; this is what makes
/// an errors file import exactly.
fn strip_formula_marker(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('\'')?;
    matches!(
        rest.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
    .then_some(rest)
}

/// Trims `value` and, if `collapse`, turns inner whitespace runs into one
/// space; `None` if nothing changes.
fn clean_whitespace(
    value: &str,
    collapse: bool,
    plain: bool,
    kinds: &mut ChangeKinds,
) -> Option<String> {
    if plain {
        return None;
    }
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        kinds.insert(ChangeKind::Trimmed);
    }
    if collapse && needs_collapse(trimmed) {
        kinds.insert(ChangeKind::SpacesCollapsed);
        let mut out = String::with_capacity(trimmed.len());
        for (i, word) in trimmed.split_whitespace().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        return Some(out);
    }
    (trimmed.len() != value.len()).then(|| trimmed.to_string())
}

/// Fast path over bytes: true if `bytes` certainly needs no trimming and
/// (if `collapse`) no collapsing. That holds for visible ASCII with single
/// inner spaces, plus non-ASCII characters that cannot be whitespace:
/// every Unicode whitespace character above ASCII is encoded with a lead
/// byte C2 (U+0085, U+00A0), E1 (U+1680), E2 (U+2000–U+205F) or E3
/// (U+3000), so `é` (C3 A9) stays on the fast path and NBSP does not.
/// Anything else, including ASCII control characters, takes the exact
/// char-wise path; so does the lead byte EF of U+FFFD (and of the rare
/// characters U+F000–U+FFFF), for the odd-character rule's sake.
fn plainly_spaced(bytes: &[u8], collapse: bool) -> bool {
    /// Per byte: 1 = space, 2 = needs the slow path, 0 = plain.
    static CLASS: [u8; 256] = {
        let mut class = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            class[b] = match b as u8 {
                b' ' => 1,
                0x00..=0x1F | 0x7F | 0xC2 | 0xE1 | 0xE2 | 0xE3 | 0xEF => 2,
                _ => 0,
            };
            b += 1;
        }
        class
    };
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    if CLASS[usize::from(first)] | CLASS[usize::from(last)] != 0 {
        return false;
    }
    // Branch-free: this runs over every byte of every value.
    let (mut bad, mut prev_space) = (0u8, 0u8);
    let double_space = u8::from(collapse);
    for &b in bytes {
        let class = CLASS[usize::from(b)];
        let space = class & 1;
        bad |= (class & 2) | (space & prev_space & double_space);
        prev_space = space;
    }
    bad == 0
}

/// Whether trimmed `s` has whitespace other than single spaces.
fn needs_collapse(s: &str) -> bool {
    let mut prev_space = false;
    for ch in s.chars() {
        if ch.is_whitespace() {
            if ch != ' ' || prev_space {
                return true;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    false
}

/// `1234ab`, `1234 ab`, `1234AB` → `1234 AB`; `None` if already so or not
/// a Dutch postcode (four digits, the first not 0, then two letters).
fn dutch_postcode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let (digits, rest) = b.split_at_checked(4)?;
    let letters = rest.strip_prefix(b" ").unwrap_or(rest);
    let is_postcode = matches!(digits[0], b'1'..=b'9')
        && digits.iter().all(u8::is_ascii_digit)
        && letters.len() == 2
        && letters.iter().all(u8::is_ascii_alphabetic);
    if !is_postcode || (rest.len() == 3 && letters.iter().all(u8::is_ascii_uppercase)) {
        return None;
    }
    let mut out = String::with_capacity(7);
    out.push_str(&s[..4]);
    out.push(' ');
    out.push_str(&s[s.len() - 2..].to_ascii_uppercase());
    Some(out)
}

/// The address with its domain lower-cased; `None` if it already is.
fn lowercase_domain(s: &str) -> Option<String> {
    let at = s.rfind('@')?;
    let domain = &s[at + 1..];
    if domain.is_ascii() {
        return domain
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| format!("{}@{}", &s[..at], domain.to_ascii_lowercase()));
    }
    // Some upper-case letters have no lower case (𝕆): compare, not guess.
    let lower = domain.to_lowercase();
    (lower != domain).then(|| format!("{}@{lower}", &s[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::validate::tests::customer;
    use crate::check::validate::{validate, validate_with_changes};
    use proptest::prelude::*;

    #[test]
    fn values_are_trimmed_and_blank_ones_dropped() {
        let mut c = customer(&[
            (Field::CustomerCode, "  007\t"),
            (Field::City, " \u{a0}"),
            (Field::Language, " dutch "),
        ]);
        assert!(validate(&mut c).is_empty());
        assert_eq!(c.code(), "007");
        assert_eq!(c.get(Field::City), None);
        assert_eq!(c.get(Field::Language), Some("dutch"));
    }

    #[test]
    fn dutch_postcodes_are_formatted_for_nl_or_no_country() {
        let check = |postcode: &str, country: Option<&str>, expected: &str| {
            let mut c = customer(&[(Field::Postalcode, postcode)]);
            if let Some(country) = country {
                c.set(Field::Country, country);
            }
            assert!(validate(&mut c).is_empty());
            assert_eq!(
                c.get(Field::Postalcode),
                Some(expected),
                "{postcode} {country:?}"
            );
        };
        check("1234ab", None, "1234 AB");
        check("1234 ab", Some("NL"), "1234 AB");
        check(" 1234AB", Some("Nederland"), "1234 AB");
        check("1234  ab", Some("nl"), "1234 AB");
        check("1234 AB", None, "1234 AB");
        check("1234ab", Some("BE"), "1234ab");
        check("1000", Some("BE"), "1000");
        check("0123ab", None, "0123ab");
        check("12345", Some("DE"), "12345");
        check("1234abc", None, "1234abc");
        check("SW1A 1AA", Some("GB"), "SW1A 1AA");
    }

    #[test]
    fn email_domains_are_lower_cased() {
        let mut c = customer(&[(Field::Email, "Ann.Smit@Example.NL")]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid());
        assert_eq!(c.get(Field::Email), Some("Ann.Smit@example.nl"));
        assert_eq!(v.changes.len(), 1);
        assert_eq!(
            v.changes[0].to_string(),
            "Email: \"Ann.Smit@Example.NL\" → \"Ann.Smit@example.nl\""
        );
        let mut c = customer(&[(Field::InvoiceEmail, "x@ÉXAMPLE.nl")]);
        validate(&mut c);
        assert_eq!(c.get(Field::InvoiceEmail), Some("x@éxample.nl"));
    }

    #[test]
    fn inner_whitespace_is_collapsed_except_in_codes() {
        let mut c = customer(&[
            (Field::CustomerCode, "  AB  12 "),
            (Field::Name, "Jansen\t & \u{a0}Zn.\r\nB.V."),
            (Field::Address, "Dorpsstraat  1"),
            (Field::City, "Den Haag"),
        ]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(c.code(), "AB  12");
        assert_eq!(c.get(Field::Name), Some("Jansen & Zn. B.V."));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 1"));
        let changed: Vec<(Field, Vec<ChangeKind>)> = v
            .changes
            .iter()
            .map(|ch| (ch.field, ch.kinds.iter().collect()))
            .collect();
        assert_eq!(
            changed,
            [
                (Field::CustomerCode, vec![ChangeKind::Trimmed]),
                (Field::Name, vec![ChangeKind::SpacesCollapsed]),
                (Field::Address, vec![ChangeKind::SpacesCollapsed]),
            ]
        );
        assert_eq!(v.changes[0].from, "  AB  12 ");
    }

    #[test]
    fn nothing_changed_means_no_changes() {
        let mut c = customer(&[
            (Field::Country, "NL"),
            (Field::Postalcode, "1234 AB"),
            (Field::Email, "Ann@example.nl"),
            (Field::City, "’s-Hertogenbosch"),
            (Field::Name, "José Müller"),
        ]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid() && v.changes.is_empty(), "{v:?}");
        assert_eq!(v.changes.capacity(), 0, "no allocation");
    }

    #[test]
    fn tally_counts_kinds() {
        let mut tally = ChangeTally::default();
        for country in ["Nederland", "NLD", " België", "NL"] {
            let mut c = customer(&[(Field::Country, country)]);
            tally.add(&validate_with_changes(&mut c).changes);
        }
        assert_eq!(tally.count(ChangeKind::CountryConverted), 3);
        assert_eq!(tally.count(ChangeKind::Trimmed), 1);
        assert_eq!(
            tally.to_string(),
            "values trimmed: 1\ncountry names converted: 3\n"
        );
    }

    proptest! {
        #[test]
        fn whitespace_fast_path_agrees_with_the_slow_path(
            s in "[ a\t\u{a0}\u{2003}\u{3000}\u{85}é©ü\r\n\u{1}]{0,8}",
            collapse in any::<bool>(),
        ) {
            if plainly_spaced(s.as_bytes(), collapse) {
                prop_assert_eq!(s.trim(), s.as_str());
                if collapse {
                    prop_assert!(!needs_collapse(&s), "{:?}", s);
                }
            }
        }
    }
}
