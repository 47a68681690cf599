//! Validation of one customer: the field rules of the create-customer
//! docs, applied locally before any request.
//!
//! Owns the per-row entry points ([`validate`], [`validate_into`]) and
//! their result ([`Validation`]): a customer is normalized
//! (`normalize.rs`), then checked against every rule (`rules.rs`), so a
//! row is either sent or reported with all its problems at once, and
//! every change made to a value is reported too ([`Change`]): nothing is
//! altered silently. The country and language tables are `country.rs` and
//! `language.rs`. Their public items are re-exported here, the one path
//! callers use.
//!
//! Values stay text: nothing is parsed into numbers, so leading zeros in
//! codes, postal codes and phone numbers survive.
//!
//! It must not read files, know about columns or touch the network.
//! Validation runs once per row of files with a million rows, so a row that
//! needs no change allocates nothing (with [`validate_into`] and reused
//! buffers, not even its result).

use super::{normalize, rules};
use crate::model::customer::Customer;
use crate::model::problem::Problem;

pub use super::country::{COUNTRY_NAMES, parse_country_arg};
pub use super::language::{LANGUAGES, language_word};
pub use super::normalize::{Change, ChangeKind, ChangeKinds, ChangeTally};
pub use super::rules::MIN_PHONE_DIGITS;

/// The outcome of validating one row: the rules it breaks and the changes
/// normalization made. Reuse one across rows with [`validate_into`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Every broken rule, in field order; empty means the row can be sent.
    pub problems: Vec<Problem>,
    /// Every changed value, in field order.
    pub changes: Vec<Change>,
}

impl Validation {
    /// No rule broken.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Normalizes `c` in place and returns every rule it breaks, in field
/// order. An empty result means the customer can be sent.
///
/// This drops the list of changes; the pipeline should use
/// [`validate_into`] (or [`validate_with_changes`]) so they can be reported.
pub fn validate(c: &mut Customer) -> Vec<Problem> {
    validate_with_changes(c).problems
}

/// Normalizes `c` in place and returns every rule it breaks and every
/// change made, in field order.
pub fn validate_with_changes(c: &mut Customer) -> Validation {
    let mut out = Validation::default();
    validate_into(c, &mut out);
    out
}

/// [`validate_with_changes`] into `out` (cleared first), reusing its
/// vectors: the per-row call of a long file.
pub fn validate_into(c: &mut Customer, out: &mut Validation) {
    let Validation { problems, changes } = out;
    problems.clear();
    changes.clear();
    let suspect = normalize::normalize_into(c, changes);
    rules::check_into(c, changes, suspect, problems);
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::field::Field;
    use crate::model::problem::ProblemKind;
    use proptest::prelude::*;

    /// A customer with a valid code and name, and `values` on top.
    pub(in crate::check) fn customer(values: &[(Field, &str)]) -> Customer {
        let mut c = Customer::default();
        c.set(Field::CustomerCode, "C1");
        c.set(Field::Name, "Ann");
        for &(field, value) in values {
            c.set(field, value);
        }
        c
    }

    /// The problems of a customer with `values` on top of a valid code and name.
    pub(in crate::check) fn problems(values: &[(Field, &str)]) -> Vec<String> {
        validate(&mut customer(values))
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    /// Asserts that `value` in `field` breaks no rule.
    pub(in crate::check) fn ok(field: Field, value: &str) {
        assert_eq!(
            problems(&[(field, value)]),
            Vec::<String>::new(),
            "{value:?}"
        );
    }

    /// Asserts that `value` in `field` breaks one rule, with `expected` in
    /// its message.
    pub(in crate::check) fn bad(field: Field, value: &str, expected: &str) {
        let found = problems(&[(field, value)]);
        assert_eq!(found.len(), 1, "{value:?}: {found:?}");
        assert!(found[0].starts_with(&format!("{field}: ")), "{found:?}");
        assert!(found[0].contains(expected), "{value:?}: {found:?}");
    }

    /// Values of every shape a field meets: any text, short words, near
    /// e-mail addresses, phone numbers, and long non-ASCII runs.
    pub(in crate::check) fn field_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "\\s{0,2}[a-zA-Z]{1,3}\\s{0,2}",
            "\\s?[a-zé.+]{0,6}@[a-z.\\[\\]0-9]{0,8}\\s?",
            "[a-zA-Z0-9._%+-]{0,8}@[a-zA-Z0-9.-]{0,12}",
            "\\s?[+0-9 ()./a-]{0,24}\\s?",
            "[é€ x]{0,260}",
        ]
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
        c.set(Field::Country, "Hollandia");
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
                "CustomerCode: is required; Name: is required; Postalcode: is longer than 10 characters (12)"
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
            Problem::new(Field::Name, ProblemKind::Required, "is required"),
        ];
        assert_eq!(
            describe(&p),
            "has 3 fields, the header has 2; Name: is required"
        );
    }

    proptest! {
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
            let before = c.clone();
            let first = validate_with_changes(&mut c);
            let normalized = c.clone();
            let second = validate_with_changes(&mut c);
            prop_assert_eq!(&c, &normalized);
            // A second pass changes nothing; problems do not depend on
            // whether the value was already normal, except in the quoted
            // original, so compare the fields only.
            prop_assert!(second.changes.is_empty(), "{:?}", second.changes);
            let fields = |v: &Validation| v.problems.iter().map(|p| p.field).collect::<Vec<_>>();
            prop_assert_eq!(fields(&first), fields(&second));
            // Every change is reported, and only changes.
            for field in Field::ALL {
                let change = first.changes.iter().find(|ch| ch.field == field);
                match change {
                    Some(ch) => {
                        prop_assert_eq!(Some(ch.from.as_str()), before.get(field));
                        prop_assert_eq!(ch.to.as_str(), c.get(field).unwrap_or(""));
                        prop_assert!(ch.from != ch.to);
                        prop_assert!(!ch.kinds.is_empty());
                    }
                    None => prop_assert_eq!(before.get(field), c.get(field)),
                }
            }
            for (_, value) in c.iter() {
                prop_assert_eq!(value, value.trim());
                prop_assert!(!value.is_empty());
            }
        }
    }
}
