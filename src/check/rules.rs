//! Rules: the field rules of the create-customer docs (`notify-api.md`
//! §2.2, §4.5–4.8), checked on a normalized customer so a row is either
//! sent or reported with all its problems at once.
//!
//! - `CustomerCode` and `Name` are required; a value empty after trimming
//!   is left out of the payload;
//! - lengths are counted in Unicode characters, not bytes: `Postalcode` 10,
//!   `Phone`/`Mobile` 20, `RegistrationNumber` and `Language` unlimited
//!   (none documented), everything else 250;
//! - `Country` is an ISO 3166-1 alpha-2 code (celes' list, which includes
//!   `XK` for Kosovo);
//! - `Email`/`InvoiceEmail` is one bare address with a dotted domain (no
//!   display name, no IP literal);
//! - no value holds U+FFFD (what decoding put in place of a lone UTF-16
//!   surrogate or a byte invalid in the file's encoding) or a NUL: either
//!   would be sent silently, as `"�x"` or `\u0000`; the value's other
//!   rules are not checked then;
//! - `Phone`/`Mobile` holds only digits, spaces and `+ - ( ) / .`, with `+`
//!   once and before the first digit, and at least [`MIN_PHONE_DIGITS`]
//!   digits, then optionally an extension (`x89`, `ext. 12`, `toestel 3`,
//!   `tst. 3`: the API only limits the length); other letters (`n.v.t.`)
//!   are rejected.
//!
//! A message about a value quotes it as it was in the file, before
//! normalization, so the user can find it.
//!
//! It must not change a value (that is `normalize.rs`): a value that
//! breaks a rule is reported, not repaired. It runs on every value of
//! files with a million rows, so the common valid value is checked without
//! allocating.

use email_address::{EmailAddress, Options};

use super::country::is_country;
use super::normalize::Change;
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::problem::{EmailFault, OddCharacter, PhoneFault, Problem, ProblemKind};
use crate::util::text::quoted;

/// Fewest digits a phone number may have. A national number with its area
/// code has well over 6 digits in the countries our users invoice (NL and
/// BE: 9–10 with the leading 0); fewer is a placeholder such as `0`, `-`
/// or `112`, not a number the customer can be reached on.
pub const MIN_PHONE_DIGITS: usize = 6;

/// Adds every rule `c` breaks to `problems`, in field order. `changes`
/// are normalization's, for quoting values as read; `suspect` its fields
/// (a bit per [`Field::index`]) that may hold an odd character.
pub(super) fn check_into(
    c: &Customer,
    changes: &[Change],
    suspect: u16,
    problems: &mut Vec<Problem>,
) {
    for field in Field::ALL {
        let Some(value) = c.get(field) else {
            if matches!(field, Field::CustomerCode | Field::Name) {
                problems.push(Problem::new(field, ProblemKind::Required, "is required"));
            }
            continue;
        };
        if suspect & (1 << field.index()) != 0
            && let Some((kind, message)) = odd_character(value)
        {
            problems.push(Problem::new(field, kind, message));
            continue;
        }
        if let Some(max) = max_chars(field)
            && let Some(message) = too_long(value, max)
        {
            problems.push(Problem::new(field, ProblemKind::TooLong { max }, message));
        }
        // Messages quote the value as read.
        let shown = || {
            changes
                .iter()
                .find(|ch| ch.field == field)
                .map_or(value, |ch| ch.from.as_str())
        };
        let format_problem = match field {
            Field::Country => country_problem(value, shown),
            Field::Email | Field::InvoiceEmail => email_problem(value, shown),
            Field::Phone | Field::Mobile => phone_problem(value),
            _ => None,
        };
        if let Some((kind, message)) = format_problem {
            problems.push(Problem::new(field, kind, message));
        }
    }
}

/// A character that has no place in a value: what decoding made of
/// something it could not decode, or a NUL. Found without allocating: both
/// are rare, and the common value is plain text.
fn odd_character(value: &str) -> Option<(ProblemKind, String)> {
    let (at, c) = value
        .chars()
        .enumerate()
        .find(|(_, c)| matches!(c, '\u{FFFD}' | '\0'))?;
    let odd = if c == '\0' {
        OddCharacter::Nul
    } else {
        OddCharacter::Undecodable
    };
    let message = format!(
        "{} at character {}; {}",
        odd_character_message(odd),
        at + 1,
        match odd {
            OddCharacter::Nul => "remove it (the file may be damaged, or not text)",
            OddCharacter::Undecodable =>
                "a lone UTF-16 surrogate or a byte invalid in the file's encoding: fix the text, or give the right --encoding",
        }
    );
    Some((ProblemKind::OddCharacter(odd), message))
}

/// What an [`OddCharacter`] problem says, for every row of the kind.
pub(super) fn odd_character_message(odd: OddCharacter) -> &'static str {
    match odd {
        OddCharacter::Nul => "holds a NUL character (byte 0)",
        OddCharacter::Undecodable => {
            "holds a character that could not be decoded (shown as \u{FFFD})"
        }
    }
}

/// The documented maximum length in characters, if any.
fn max_chars(field: Field) -> Option<usize> {
    match field {
        Field::Postalcode => Some(10),
        Field::Phone | Field::Mobile => Some(20),
        // No limit documented; the server decides.
        Field::RegistrationNumber | Field::Language => None,
        // Checked as a two-letter code instead.
        Field::Country => None,
        Field::CustomerCode
        | Field::Name
        | Field::Address
        | Field::City
        | Field::Contact
        | Field::Email
        | Field::InvoiceEmail => Some(250),
    }
}

fn too_long(value: &str, max: usize) -> Option<String> {
    // A UTF-8 character is at least one byte, so a short value needs no count.
    if value.len() <= max {
        return None;
    }
    let chars = value.chars().count();
    (chars > max).then(|| format!("is longer than {max} characters ({chars})"))
}

fn country_problem<'a>(
    value: &str,
    shown: impl FnOnce() -> &'a str,
) -> Option<(ProblemKind, String)> {
    if is_country(value) {
        return None;
    }
    // Codes people use that ISO assigns differently.
    let hint = match value.to_ascii_uppercase().as_str() {
        "UK" => "GB for the United Kingdom",
        "EL" => "GR for Greece",
        _ => "NL",
    };
    let message = format!(
        "{} is not a known country: give a two-letter ISO country code (e.g. {hint}) or a country name",
        quoted(shown())
    );
    Some((ProblemKind::UnknownCountry, message))
}

fn email_problem<'a>(
    value: &str,
    shown: impl FnOnce() -> &'a str,
) -> Option<(ProblemKind, String)> {
    if is_plain_email(value) {
        return None;
    }
    let err = EmailAddress::parse_with_options(value, email_options()).err()?;
    use email_address::Error as E;
    let fault = match err {
        E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
            EmailFault::DisplayName
        }
        E::MissingSeparator => EmailFault::MissingAt,
        E::LocalPartEmpty => EmailFault::EmptyLocalPart,
        E::DomainEmpty => EmailFault::EmptyDomain,
        E::DomainTooFew => EmailFault::NoTopLevelDomain,
        E::LocalPartTooLong => EmailFault::LocalPartTooLong,
        E::DomainTooLong | E::SubDomainTooLong => EmailFault::DomainTooLong,
        E::SubDomainEmpty | E::DomainInvalidSeparator => EmailFault::EmptyDomainPart,
        E::UnsupportedDomainLiteral | E::InvalidIPAddress => EmailFault::IpAddress,
        _ if value.contains([';', ',']) => EmailFault::SeveralAddresses,
        _ if value.contains(char::is_whitespace) => EmailFault::Space,
        _ => EmailFault::Character,
    };
    let message = format!(
        "{} is not a valid e-mail address: {}",
        quoted(shown()),
        email_advice(fault)
    );
    Some((ProblemKind::BadEmail(fault), message))
}

/// The e-mail parser's options for what the API takes: one bare address
/// (no display name) with a dotted domain (no IP literal).
fn email_options() -> Options {
    Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text()
}

/// What the user should know about `fault`, after "is not a valid e-mail
/// address: ".
fn email_advice(fault: EmailFault) -> &'static str {
    match fault {
        EmailFault::DisplayName => "give only the address, without a name or < >",
        EmailFault::MissingAt => "the @ is missing",
        EmailFault::EmptyLocalPart => "nothing before the @",
        EmailFault::EmptyDomain => "nothing after the @",
        EmailFault::NoTopLevelDomain => "the domain needs an ending such as .nl",
        EmailFault::LocalPartTooLong => "the part before the @ is longer than 64 characters",
        EmailFault::DomainTooLong => "the domain is too long",
        EmailFault::EmptyDomainPart => {
            "the domain has an empty part (two dots in a row, or a dot at the start or end)"
        }
        EmailFault::IpAddress => "an IP address is not accepted as the domain",
        EmailFault::SeveralAddresses => "put only one address in the cell",
        EmailFault::Space => "it contains a space",
        EmailFault::Character => "it contains a character that is not allowed in an address",
    }
}

/// Allocation-free check for the shape nearly every address has: ASCII
/// `local@label.label` with plain characters. It accepts a strict subset of
/// what `email_address` accepts with our options (dot-atom local part of at
/// most 64 bytes; at least two labels of at most 63 bytes that start and end
/// with a letter or digit; domain of at most 254 bytes), so it only skips
/// work: whatever it does not accept goes to the full parser.
fn is_plain_email(s: &str) -> bool {
    // One pass over the bytes; `split` and friends cost more than the check.
    let bytes = s.as_bytes();
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    if local.len() > 64 || domain.len() > 254 {
        return false;
    }
    // Local part: atoms separated by single dots.
    let mut after_dot = true;
    for &b in local {
        match b {
            b'.' if after_dot => return false,
            b'.' => after_dot = true,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'+' | b'%' => {
                after_dot = false;
            }
            _ => return false,
        }
    }
    if after_dot {
        return false;
    }
    // Domain: labels of letters, digits and inner hyphens.
    let (mut labels, mut label_len, mut last_alnum) = (1, 0, false);
    for &b in domain {
        match b {
            b'.' if label_len == 0 || !last_alnum => return false,
            b'.' => {
                labels += 1;
                label_len = 0;
                last_alnum = false;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                label_len += 1;
                last_alnum = true;
            }
            b'-' if label_len > 0 => {
                label_len += 1;
                last_alnum = false;
            }
            _ => return false,
        }
        if label_len > 63 {
            return false;
        }
    }
    label_len > 0 && last_alnum && labels >= 2
}

/// `value` without a trailing extension (`x89`, `ext. 12`, `toestel 3`,
/// `tst. 3`), which the API accepts within its length limit.
fn without_extension(value: &str) -> &str {
    // Every marker has a letter; most numbers have none (this runs per row).
    if !value.bytes().any(|b| b.is_ascii_alphabetic()) {
        return value;
    }
    let lower = value.to_ascii_lowercase();
    for marker in ["extension", "toestel", "ext", "tst", "x"] {
        let Some(at) = lower.rfind(marker) else {
            continue;
        };
        // Same byte offsets: ASCII lower-casing keeps every length.
        let ext = value[at + marker.len()..].trim_start_matches(['.', ':', ' ']);
        let main = value[..at].trim_end();
        if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) && !main.is_empty() {
            return main;
        }
    }
    value
}

fn phone_problem(value: &str) -> Option<(ProblemKind, String)> {
    // No "; " in messages: `describe` joins problems with it.
    const ALLOWED: &str = "only digits, spaces and + - ( ) / . are allowed, and an extension such as x12 or toestel 12";
    let value = without_extension(value);
    let mut digits = 0;
    let mut plus_seen = false;
    for ch in value.chars() {
        match ch {
            '0'..='9' => digits += 1,
            ' ' | '-' | '(' | ')' | '/' | '.' => {}
            // `+31 20 …` and `(+31) 20 …`, but not `020+123` or `++31`.
            '+' if digits == 0 && !plus_seen => plus_seen = true,
            '+' => {
                let message = "has a + that is not at the start".to_string();
                return Some((ProblemKind::BadPhone(PhoneFault::MisplacedPlus), message));
            }
            other => {
                let message = format!("contains {other:?} ({ALLOWED})");
                return Some((ProblemKind::BadPhone(PhoneFault::Character(other)), message));
            }
        }
    }
    (digits < MIN_PHONE_DIGITS).then(|| {
        let message = too_few_digits_message(digits);
        (ProblemKind::BadPhone(PhoneFault::TooFewDigits), message)
    })
}

/// The message of a phone number with `digits` digits, too few (`N` for
/// the run header's count).
pub(super) fn too_few_digits_message(digits: impl std::fmt::Display) -> String {
    format!("has {digits} digits, a phone number needs at least {MIN_PHONE_DIGITS}")
}

/// The problem kind of [`too_few_digits_message`], for a tally of rows
/// with different counts.
pub(super) fn too_few_digits_kind() -> String {
    format!("has too few digits, a phone number needs at least {MIN_PHONE_DIGITS}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::validate::tests::{bad, customer, field_value, ok, problems};
    use crate::check::validate::validate;
    use proptest::prelude::*;

    #[test]
    fn an_undecodable_character_or_a_nul_makes_the_value_invalid() {
        let mut c = Customer::default();
        c.set(Field::CustomerCode, "C1");
        c.set(Field::Name, "\u{FFFD}x");
        c.set(Field::Phone, "0301\u{0}234567");
        let p = validate(&mut c);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(
            p[0].kind,
            ProblemKind::OddCharacter(OddCharacter::Undecodable)
        );
        assert!(
            p[0].to_string().starts_with(
                "Name: holds a character that could not be decoded (shown as \u{FFFD}) at character 1"
            ),
            "{}",
            p[0]
        );
        assert!(p[0].message.contains("--encoding"), "{}", p[0]);
        assert_eq!(p[1].kind, ProblemKind::OddCharacter(OddCharacter::Nul));
        assert!(
            p[1].to_string()
                .starts_with("Phone: holds a NUL character (byte 0) at character 5; remove it"),
            "{}",
            p[1]
        );
        assert!(!p[1].message.contains('\0'));
    }

    #[test]
    fn code_and_name_are_required() {
        let mut c = Customer::default();
        c.set(Field::Name, "   ");
        let found: Vec<String> = validate(&mut c).iter().map(Problem::to_string).collect();
        assert_eq!(found, ["CustomerCode: is required", "Name: is required"]);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        ok(Field::Postalcode, &"é".repeat(10));
        bad(
            Field::Postalcode,
            &"é".repeat(11),
            "is longer than 10 characters (11)",
        );
        ok(Field::Name, &"ü".repeat(250));
        bad(
            Field::Name,
            &"x".repeat(251),
            "is longer than 250 characters (251)",
        );
        bad(
            Field::Phone,
            "+31 20 123 4567 89 012",
            "is longer than 20 characters (22)",
        );
        // Trimmed before counting.
        ok(Field::Postalcode, "  1234 AB   ");
    }

    #[test]
    fn registration_number_and_language_have_no_limit() {
        ok(Field::RegistrationNumber, &"1".repeat(300));
        ok(Field::Language, &"x".repeat(300));
    }

    #[test]
    fn country_is_an_upper_case_alpha2_code() {
        let mut c = customer(&[(Field::Country, " nl ")]);
        assert!(validate(&mut c).is_empty());
        assert_eq!(c.get(Field::Country), Some("NL"));
        ok(Field::Country, "Be");
        ok(Field::Country, "XK");
        bad(
            Field::Country,
            "Nederlnd",
            "\"Nederlnd\" is not a known country: give a two-letter ISO country code (e.g. NL)",
        );
        bad(Field::Country, "uk", "(e.g. GB for the United Kingdom)");
        bad(Field::Country, "ZZ", "\"ZZ\" is not");
        bad(Field::Country, "n1", "is not a known country");
        // Numeric codes are not taken (CBS numbers are not ISO numbers).
        bad(Field::Country, "528", "is not a known country");
        bad(Field::Country, "6030", "is not a known country");
        // An invalid code is reported as typed, not upper-cased.
        let mut c = customer(&[(Field::Country, "xx")]);
        validate(&mut c);
        assert_eq!(c.get(Field::Country), Some("xx"));
    }

    #[test]
    fn invalid_values_are_quoted_as_read() {
        let found = problems(&[(Field::Country, "  Nedrland ")]);
        assert!(found[0].contains("\"  Nedrland \""), "{found:?}");
        let found = problems(&[(Field::Email, " Ann @Example.NL")]);
        assert!(found[0].contains("\" Ann @Example.NL\""), "{found:?}");
    }

    #[test]
    fn emails_must_be_bare_addresses_with_a_tld() {
        ok(Field::Email, "ann@example.nl");
        ok(Field::InvoiceEmail, " invoices+2024@sub.example.co.uk ");
        bad(
            Field::Email,
            "ann@example",
            "the domain needs an ending such as .nl",
        );
        bad(Field::Email, "ann.example.nl", "the @ is missing");
        bad(Field::Email, "Ann <ann@example.nl>", "without a name");
        bad(Field::Email, "ann@[127.0.0.1]", "IP address");
        bad(Field::InvoiceEmail, "a@x.nl; b@x.nl", "only one address");
        bad(Field::InvoiceEmail, "a@x.nl,b@x.nl", "only one address");
        bad(Field::Email, "ann @example.nl", "space");
        bad(Field::Email, "@example.nl", "nothing before the @");
        bad(Field::Email, "ann@example..nl", "empty part");
        bad(
            Field::Email,
            "ann@example",
            "Email: \"ann@example\" is not a valid e-mail address",
        );
    }

    #[test]
    fn phones_hold_plausible_characters() {
        for phone in [
            "0201234567",
            "+31 20 123 4567",
            "(+31) 6-12345678",
            "020/123.45.67",
            "+31 (0)20 123 45 67",
        ] {
            ok(Field::Phone, phone);
            ok(Field::Mobile, phone);
        }
        bad(
            Field::Phone,
            "020 123 4567 ask Jan",
            "contains 'a' (only digits",
        );
        bad(Field::Mobile, "n.v.t.", "contains 'n'");
        bad(Field::Phone, "020+1234567", "+ that is not at the start");
        bad(Field::Phone, "++31201234567", "+ that is not at the start");
        bad(
            Field::Phone,
            "-",
            "has 0 digits, a phone number needs at least 6",
        );
        bad(Field::Phone, "112", "has 3 digits");
        // A tab is whitespace: collapsed to a space, then fine.
        ok(Field::Phone, "020\t1234567");
    }

    #[test]
    fn phone_extensions_are_accepted() {
        for phone in [
            "555-867-5309 x89",
            "(776) 821-0650 x839",
            "020 1234567 ext. 12",
            "020 1234567 ext 12",
            "020 123456 toestel 3",
            "020 1234567 tst. 3",
            "0201234567x5",
        ] {
            ok(Field::Phone, phone);
        }
        // An extension alone, or letters after it, is still no number.
        assert!(
            !problems(&[
                (Field::CustomerCode, "1"),
                (Field::Name, "A"),
                (Field::Phone, "x89")
            ])
            .is_empty()
        );
        assert!(
            !problems(&[
                (Field::CustomerCode, "1"),
                (Field::Name, "A"),
                (Field::Phone, "020 1234567 x1a")
            ])
            .is_empty()
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let found = problems(&[(Field::Country, &"x".repeat(300))]);
        assert!(
            found[0].contains(&format!("\"{}…\"", "x".repeat(40))),
            "{found:?}"
        );
    }

    fn full_parser_accepts(s: &str) -> bool {
        EmailAddress::parse_with_options(s, email_options()).is_ok()
    }

    #[test]
    fn plain_email_fast_path_only_accepts_what_the_parser_accepts() {
        for s in [
            "a@b.nl",
            "first.last+tag@mail-1.example.co.uk",
            "x_%-@a1.b2",
        ] {
            assert!(is_plain_email(s), "{s}");
            assert!(full_parser_accepts(s), "{s}");
        }
        for s in [
            "a@b",
            ".a@b.nl",
            "a.@b.nl",
            "a..b@c.nl",
            "a@-b.nl",
            "a@b-.nl",
            "a@b..nl",
            "a@b.nl.",
            "a@@b.nl",
            "a@b@c.nl",
            "@b.nl",
            "a@",
            "é@b.nl",
            "\"a\"@b.nl",
        ] {
            assert!(!is_plain_email(s), "{s}");
        }
        let long_local = format!("{}@b.nl", "a".repeat(65));
        assert!(!is_plain_email(&long_local));
        assert!(!full_parser_accepts(&long_local));
        let long_label = format!("a@{}.nl", "b".repeat(64));
        assert!(!is_plain_email(&long_label));
    }

    proptest! {
        #[test]
        fn plain_email_fast_path_is_a_subset(s in "[a-zA-Z0-9._%+@-]{0,10}@[a-zA-Z0-9.@_-]{0,12}") {
            prop_assert!(!is_plain_email(&s) || full_parser_accepts(&s), "{}", s);
        }

        #[test]
        fn plain_email_fast_path_is_a_subset_on_field_values(s in field_value()) {
            let s = s.trim();
            prop_assert!(!is_plain_email(s) || full_parser_accepts(s), "{}", s);
        }
    }
}
