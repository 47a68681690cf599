//! Field rules of the create-customer docs, applied locally before any request.
//!
//! Owns normalizing one [`Customer`] (trim every value, upper-case the
//! country code) and listing every rule it breaks, so a row is either sent
//! as-is or reported with all its problems at once. The rules follow the
//! API docs (`notify-api.md` §2.2, §4.5–4.8):
//!
//! - every value is trimmed; a value that is empty after trimming is left
//!   out of the payload;
//! - `CustomerCode` and `Name` are required;
//! - lengths are counted in Unicode characters, not bytes: `Postalcode` 10,
//!   `Phone`/`Mobile` 20, `RegistrationNumber` and `Language` unlimited
//!   (none documented), everything else 250;
//! - `Country` is an ISO 3166-1 alpha-2 code (celes' list, which includes
//!   `XK` for Kosovo), any case in, upper case out;
//! - `Email`/`InvoiceEmail` is one bare address with a dotted domain (no
//!   display name, no IP literal);
//! - `Phone`/`Mobile` holds only digits, spaces and `+ - ( ) / .`, with `+`
//!   once and before the first digit, and at least [`MIN_PHONE_DIGITS`]
//!   digits; letters (`ext.`, `n.v.t.`) are rejected;
//! - `Language` passes through (the docs list no values).
//!
//! Values stay text: nothing is parsed into numbers, so leading zeros in
//! codes, postal codes and phone numbers survive.
//!
//! It must not read files, know about columns or touch the network, and it
//! must not truncate or guess: a value that breaks a rule is reported, not
//! repaired. Validation runs once per row of files with a million rows, so
//! the common case (an already clean value) allocates nothing.

use std::fmt;
use std::sync::LazyLock;

use email_address::{EmailAddress, Options};

use crate::customer::Customer;
use crate::fields::Field;

/// Fewest digits a phone number may have. A national number with its area
/// code has well over 6 digits in the countries our users invoice (NL and
/// BE: 9–10 with the leading 0); fewer is a placeholder such as `0`, `-`
/// or `112`, not a number the customer can be reached on.
pub const MIN_PHONE_DIGITS: usize = 6;

/// Longest value that is quoted in full in a message; longer ones are cut so
/// one bad cell cannot flood the results file.
const QUOTE_MAX_CHARS: usize = 40;

/// One broken rule of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field concerned; `None` for a problem of the row as a whole.
    pub field: Option<Field>,
    /// What is wrong, phrased to follow the field name.
    pub message: String,
}

impl Problem {
    /// A problem with one field.
    pub fn new(field: Field, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A problem with the row as a whole.
    pub fn row(message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            message: message.into(),
        }
    }

    /// A record whose field count differs from the header's.
    pub fn field_count(found: usize, header: usize) -> Problem {
        Problem::row(format!("has {found} fields, the header has {header}"))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Normalizes `c` in place and returns every rule it breaks, in field order.
/// An empty result means the customer can be sent.
pub fn validate(c: &mut Customer) -> Vec<Problem> {
    let mut problems = Vec::new();
    for field in Field::ALL {
        normalize(c, field);
        let Some(value) = c.get(field) else {
            if matches!(field, Field::CustomerCode | Field::Name) {
                problems.push(Problem::new(field, "is required"));
            }
            continue;
        };
        if let Some(message) = max_chars(field).and_then(|max| too_long(value, max)) {
            problems.push(Problem::new(field, message));
        }
        let format_problem = match field {
            Field::Country => country_problem(value),
            Field::Email | Field::InvoiceEmail => email_problem(value),
            Field::Phone | Field::Mobile => phone_problem(value),
            _ => None,
        };
        if let Some(message) = format_problem {
            problems.push(Problem::new(field, message));
        }
    }
    problems
}

/// The problems as one line for the results file's `error` cell.
pub fn describe(problems: &[Problem]) -> String {
    let mut line = String::new();
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        line.push_str(&problem.to_string());
    }
    line
}

/// Trims the value and upper-cases a valid country code; allocates only if
/// that changes something.
fn normalize(c: &mut Customer, field: Field) {
    let Some(value) = c.get(field) else {
        return;
    };
    // `str::trim` decodes characters from both ends; a value that starts and
    // ends with a visible ASCII character (nearly all) cannot change.
    let clean_ends = |b: &[u8]| {
        b.first().is_some_and(u8::is_ascii_graphic) && b.last().is_some_and(u8::is_ascii_graphic)
    };
    let trimmed = if clean_ends(value.as_bytes()) {
        value
    } else {
        value.trim()
    };
    if field == Field::Country
        && trimmed.len() == 2
        && trimmed.bytes().any(|b| b.is_ascii_lowercase())
    {
        let upper = trimmed.to_ascii_uppercase();
        // An invalid code stays as typed, so the message quotes the user's text.
        if is_country(&upper) {
            c.set(field, upper);
            return;
        }
    }
    if trimmed.len() != value.len() {
        // `set` drops a value that is now empty.
        let trimmed = trimmed.to_string();
        c.set(field, trimmed);
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
    (chars > max).then(|| format!("is {chars} characters, the maximum is {max}"))
}

fn is_country(code: &str) -> bool {
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

fn country_problem(value: &str) -> Option<String> {
    if is_country(value) {
        return None;
    }
    // Codes people use that ISO assigns differently.
    let hint = match value.to_ascii_uppercase().as_str() {
        "UK" => "GB for the United Kingdom",
        "EL" => "GR for Greece",
        _ => "NL",
    };
    Some(format!(
        "{} is not a two-letter ISO country code (e.g. {hint})",
        quoted(value)
    ))
}

fn email_problem(value: &str) -> Option<String> {
    if is_plain_email(value) {
        return None;
    }
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let err = EmailAddress::parse_with_options(value, options).err()?;
    use email_address::Error as E;
    let why = match err {
        E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
            "give only the address, without a name or < >"
        }
        E::MissingSeparator => "the @ is missing",
        E::LocalPartEmpty => "nothing before the @",
        E::DomainEmpty => "nothing after the @",
        E::DomainTooFew => "the domain needs an ending such as .nl",
        E::LocalPartTooLong => "the part before the @ is longer than 64 characters",
        E::DomainTooLong | E::SubDomainTooLong => "the domain is too long",
        E::SubDomainEmpty | E::DomainInvalidSeparator => {
            "the domain has an empty part (two dots in a row, or a dot at the start or end)"
        }
        E::UnsupportedDomainLiteral | E::InvalidIPAddress => {
            "an IP address is not accepted as the domain"
        }
        _ if value.contains([';', ',']) => "put only one address in the cell",
        _ if value.contains(char::is_whitespace) => "it contains a space",
        _ => "it contains a character that is not allowed in an address",
    };
    Some(format!(
        "{} is not a valid e-mail address: {why}",
        quoted(value)
    ))
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

fn phone_problem(value: &str) -> Option<String> {
    // No "; " in messages: `describe` joins problems with it.
    const ALLOWED: &str = "only digits, spaces and + - ( ) / . are allowed";
    let mut digits = 0;
    let mut plus_seen = false;
    for ch in value.chars() {
        match ch {
            '0'..='9' => digits += 1,
            ' ' | '-' | '(' | ')' | '/' | '.' => {}
            // `+31 20 …` and `(+31) 20 …`, but not `020+123` or `++31`.
            '+' if digits == 0 && !plus_seen => plus_seen = true,
            '+' => return Some("has a + that is not at the start".to_string()),
            other => return Some(format!("contains {other:?} ({ALLOWED})")),
        }
    }
    (digits < MIN_PHONE_DIGITS)
        .then(|| format!("has {digits} digits, a phone number needs at least {MIN_PHONE_DIGITS}"))
}

/// `value` in double quotes for a message, cut after [`QUOTE_MAX_CHARS`].
fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("\"{}…\"", value[..cut].escape_debug()),
        None => format!("\"{}\"", value.escape_debug()),
    }
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn customer(values: &[(Field, &str)]) -> Customer {
        let mut c = Customer::default();
        c.set(Field::CustomerCode, "C1");
        c.set(Field::Name, "Ann");
        for &(field, value) in values {
            c.set(field, value);
        }
        c
    }

    /// The problems of a customer with `values` on top of a valid code and name.
    fn problems(values: &[(Field, &str)]) -> Vec<String> {
        validate(&mut customer(values))
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    fn ok(field: Field, value: &str) {
        assert_eq!(
            problems(&[(field, value)]),
            Vec::<String>::new(),
            "{value:?}"
        );
    }

    fn bad(field: Field, value: &str, expected: &str) {
        let found = problems(&[(field, value)]);
        assert_eq!(found.len(), 1, "{value:?}: {found:?}");
        assert!(found[0].starts_with(&format!("{field}: ")), "{found:?}");
        assert!(found[0].contains(expected), "{value:?}: {found:?}");
    }

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
            "is 11 characters, the maximum is 10",
        );
        ok(Field::Name, &"ü".repeat(250));
        bad(
            Field::Name,
            &"x".repeat(251),
            "is 251 characters, the maximum is 250",
        );
        bad(
            Field::Phone,
            "+31 20 123 4567 89 012",
            "is 22 characters, the maximum is 20",
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
            "Nederland",
            "\"Nederland\" is not a two-letter ISO country code (e.g. NL)",
        );
        bad(Field::Country, "uk", "(e.g. GB for the United Kingdom)");
        bad(Field::Country, "ZZ", "\"ZZ\" is not");
        bad(Field::Country, "NLD", "is not a two-letter");
        bad(Field::Country, "n1", "is not a two-letter");
        // An invalid code is reported as typed, not upper-cased.
        let mut c = customer(&[(Field::Country, "xx")]);
        validate(&mut c);
        assert_eq!(c.get(Field::Country), Some("xx"));
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
            "020 123 4567 ext 12",
            "contains 'e' (only digits",
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
        bad(Field::Phone, "020\t1234567", "contains '\\t'");
    }

    #[test]
    fn leading_zeros_are_kept() {
        let mut c = customer(&[
            (Field::CustomerCode, "000123"),
            (Field::Phone, "0031201234567"),
            (Field::Postalcode, "0123"),
        ]);
        assert!(validate(&mut c).is_empty());
        let json: serde_json::Value = serde_json::from_slice(&c.to_json()).unwrap();
        assert_eq!(json["CustomerCode"], "000123");
        assert_eq!(json["Phone"], "0031201234567");
        assert_eq!(json["Postalcode"], "0123");
    }

    #[test]
    fn every_problem_of_a_row_is_reported_once_in_field_order() {
        let mut c = Customer::default();
        c.set(Field::Postalcode, "1234 AB 5678");
        c.set(Field::Country, "Holland");
        c.set(Field::Phone, "call me please, thanks!!");
        c.set(Field::Email, "nope");
        c.set(Field::InvoiceEmail, "nope");
        let found = validate(&mut c);
        let fields: Vec<Option<Field>> = found.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                Some(Field::CustomerCode),
                Some(Field::Name),
                Some(Field::Postalcode),
                Some(Field::Country),
                Some(Field::Phone),
                Some(Field::Phone),
                Some(Field::Email),
                Some(Field::InvoiceEmail),
            ]
        );
        for (i, p) in found.iter().enumerate() {
            assert!(!found[i + 1..].contains(p), "{p} reported twice");
        }
        let line = describe(&found);
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(
                "CustomerCode: is required; Name: is required; Postalcode: is 12 characters"
            ),
            "{line}"
        );
        assert_eq!(line.matches("; ").count(), found.len() - 1, "{line}");
    }

    #[test]
    fn describe_and_display() {
        assert_eq!(describe(&[]), "");
        let p = [
            Problem::field_count(3, 2),
            Problem::new(Field::Name, "is required"),
        ];
        assert_eq!(
            describe(&p),
            "has 3 fields, the header has 2; Name: is required"
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
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(s, options).is_ok()
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

    fn field_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "\\s{0,2}[a-zA-Z]{1,3}\\s{0,2}",
            "\\s?[a-zé.+]{0,6}@[a-z.\\[\\]0-9]{0,8}\\s?",
            "[a-zA-Z0-9._%+-]{0,8}@[a-zA-Z0-9.-]{0,12}",
            "\\s?[+0-9 ()./a-]{0,24}\\s?",
            "[é€ x]{0,260}",
        ]
    }

    proptest! {
        #[test]
        fn plain_email_fast_path_is_a_subset(s in "[a-zA-Z0-9._%+@-]{0,10}@[a-zA-Z0-9.@_-]{0,12}") {
            prop_assert!(!is_plain_email(&s) || full_parser_accepts(&s), "{}", s);
        }

        #[test]
        fn validate_never_panics_and_is_idempotent(
            values in proptest::collection::vec(proptest::option::of(field_value()), 13)
        ) {
            let mut c = Customer::default();
            for (field, value) in Field::ALL.into_iter().zip(values) {
                if let Some(value) = value {
                    c.set(field, value);
                }
            }
            for field in [Field::Email, Field::InvoiceEmail] {
                if let Some(value) = c.get(field) {
                    let value = value.trim();
                    prop_assert!(!is_plain_email(value) || full_parser_accepts(value), "{}", value);
                }
            }
            let first = validate(&mut c);
            let normalized = c.clone();
            let second = validate(&mut c);
            prop_assert_eq!(&c, &normalized);
            prop_assert_eq!(first, second);
            for (_, value) in c.iter() {
                prop_assert_eq!(value, value.trim());
                prop_assert!(!value.is_empty());
            }
        }
    }
}
