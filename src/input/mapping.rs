//! Header matching: which column feeds which API field.
//!
//! Owns the decision, made once per file from the header row, of which
//! column holds each [`Field`], and the copying of a record's raw cells into
//! a [`Customer`]. Header names match case- and separator-insensitively
//! (`CustomerCode`, `customer_code`, `Customer code`, `CUSTOMER-CODE`).
//!
//! It must not trim, normalize or judge values (that is `validate.rs`), and
//! must not read the file (that is `reader.rs`).
//!
//! Extension points: `ALIASES` lists the accepted names per field (today
//! only the API names; Dutch names such as `Klantcode` go there), and
//! [`header_key`] is the single normalization both sides go through (add
//! accent folding there). `--map Field=Column` overrides can be applied to
//! the result of [`Mapping::from_headers`] before records are mapped.

use std::path::Path;

use csv::StringRecord;

use super::InputError;
use crate::customer::Customer;
use crate::fields::Field;

/// Accepted header names per field, compared through [`header_key`].
///
/// A name may appear under one field only; a header cell matching two
/// fields would be resolved by table order, which nobody expects.
const ALIASES: &[(Field, &[&str])] = &[
    (Field::CustomerCode, &["CustomerCode"]),
    (Field::Name, &["Name"]),
    (Field::Address, &["Address"]),
    (Field::Postalcode, &["Postalcode"]),
    (Field::City, &["City"]),
    (Field::Country, &["Country"]),
    (Field::Contact, &["Contact"]),
    (Field::Phone, &["Phone"]),
    (Field::Mobile, &["Mobile"]),
    (Field::Email, &["Email"]),
    (Field::InvoiceEmail, &["InvoiceEmail"]),
    (Field::RegistrationNumber, &["RegistrationNumber"]),
    (Field::Language, &["Language"]),
];

/// Which column (0-based) feeds each field, and which columns feed none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    columns: [Option<usize>; Field::ALL.len()],
    unknown: Vec<String>,
}

impl Mapping {
    /// Matches the header row against the field names.
    ///
    /// Errors when no column maps to CustomerCode, or when two columns map
    /// to the same field (guessing which one is meant could send the wrong
    /// data).
    pub fn from_headers(path: &Path, headers: &StringRecord) -> Result<Mapping, InputError> {
        Mapping::with_aliases(path, headers, ALIASES)
    }

    fn with_aliases(
        path: &Path,
        headers: &StringRecord,
        aliases: &[(Field, &[&str])],
    ) -> Result<Mapping, InputError> {
        let keys: Vec<(Field, String)> = aliases
            .iter()
            .flat_map(|&(field, names)| names.iter().map(move |n| (field, header_key(n))))
            .collect();
        let mut mapping = Mapping {
            columns: [None; Field::ALL.len()],
            unknown: Vec::new(),
        };
        for (column, name) in headers.iter().enumerate() {
            // An empty header cell (often a trailing delimiter) names nothing.
            if name.trim().is_empty() {
                continue;
            }
            let key = header_key(name);
            let Some(&(field, _)) = keys.iter().find(|(_, k)| *k == key) else {
                if !mapping.unknown.iter().any(|u| u == name) {
                    mapping.unknown.push(name.to_string());
                }
                continue;
            };
            let slot = &mut mapping.columns[field.index()];
            if let Some(first) = *slot {
                return Err(InputError::AmbiguousColumn {
                    path: path.to_path_buf(),
                    field,
                    first: first + 1,
                    first_column: headers.get(first).unwrap_or_default().to_string(),
                    second: column + 1,
                    second_column: name.to_string(),
                });
            }
            *slot = Some(column);
        }
        if mapping.column(Field::CustomerCode).is_none() {
            return Err(InputError::NoCustomerCode {
                path: path.to_path_buf(),
                found: headers.iter().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(mapping)
    }

    /// The 0-based column that feeds `f`, if any.
    pub fn column(&self, f: Field) -> Option<usize> {
        self.columns[f.index()]
    }

    /// Header names that matched no field, each once, in header order.
    /// Empty header cells are not listed.
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown
    }

    /// The record's raw cells as a customer (untrimmed; a missing or empty
    /// cell leaves the field unset).
    pub fn customer(&self, rec: &StringRecord) -> Customer {
        let mut customer = Customer::default();
        self.customer_into(rec, &mut customer);
        customer
    }

    /// Like [`Mapping::customer`], overwriting every field of `out`.
    pub fn customer_into(&self, rec: &StringRecord, out: &mut Customer) {
        for field in Field::ALL {
            // A short record (fewer fields than the header) simply lacks the
            // cell; the caller reports the field count separately.
            match self.column(field).and_then(|i| rec.get(i)) {
                Some(value) => out.set(field, value),
                None => out.clear(field),
            }
        }
    }
}

/// The comparison key of a header name: letters and digits only, lowercased,
/// so case, spaces, `_`, `-`, `.` and other punctuation do not matter
/// (`Invoice e-mail` and `InvoiceEmail` share the key `invoiceemail`).
pub fn header_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report.
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> StringRecord {
        StringRecord::from(names.to_vec())
    }

    fn map(names: &[&str]) -> Result<Mapping, InputError> {
        Mapping::from_headers(Path::new("c.csv"), &headers(names))
    }

    #[test]
    fn header_key_ignores_case_and_separators() {
        for name in [
            "CustomerCode",
            "customer_code",
            "Customer code",
            "CUSTOMER-CODE",
            " customer.code ",
        ] {
            assert_eq!(header_key(name), "customercode", "{name}");
        }
        assert_eq!(header_key("Invoice e-mail"), header_key("InvoiceEmail"));
        assert_eq!(header_key("KLANTNAAM"), "klantnaam");
    }

    /// `RegistrationNumber` as `registration_number`, `Registration Number`
    /// and `REGISTRATION-NUMBER`.
    fn spellings(api_name: &str) -> [String; 4] {
        let mut words: Vec<String> = Vec::new();
        for c in api_name.chars() {
            match words.last_mut() {
                Some(word) if !c.is_uppercase() => word.push(c),
                _ => words.push(c.to_string()),
            }
        }
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        [
            api_name.to_string(),
            lower.join("_"),
            words.join(" "),
            lower.join("-").to_uppercase(),
        ]
    }

    #[test]
    fn every_field_matches_its_name_in_any_spelling() {
        assert_eq!(spellings("CustomerCode")[1], "customer_code");
        for field in Field::ALL {
            for spelling in spellings(field.api_name()) {
                let mut names = vec![spelling.as_str()];
                if field != Field::CustomerCode {
                    names.insert(0, "CustomerCode");
                }
                let m = map(&names).unwrap();
                assert_eq!(m.column(field), Some(names.len() - 1), "{spelling}");
                assert!(m.unknown_columns().is_empty(), "{spelling}");
            }
        }
    }

    #[test]
    fn columns_in_any_order() {
        let m = map(&["Invoice e-mail", "Name", "customer_code"]).unwrap();
        assert_eq!(m.column(Field::CustomerCode), Some(2));
        assert_eq!(m.column(Field::Name), Some(1));
        assert_eq!(m.column(Field::InvoiceEmail), Some(0));
        assert_eq!(m.column(Field::Email), None);
        assert!(m.unknown_columns().is_empty());
    }

    #[test]
    fn unknown_columns_are_listed_once_and_empty_cells_ignored() {
        let m = map(&["CustomerCode", "Notes", "", "Balance", "Notes", " "]).unwrap();
        assert_eq!(m.unknown_columns(), ["Notes", "Balance"]);
    }

    #[test]
    fn missing_customer_code_is_an_error() {
        let err = map(&["Klantnummer", "Name"]).unwrap_err();
        match &err {
            InputError::NoCustomerCode { found, .. } => assert_eq!(found, "Klantnummer, Name"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("no CustomerCode column"), "{err}");
    }

    #[test]
    fn two_columns_for_one_field_is_an_error() {
        let err = map(&["CustomerCode", "Email", "Name", "E-mail"]).unwrap_err();
        match err {
            InputError::AmbiguousColumn {
                field,
                first,
                first_column,
                second,
                second_column,
                ..
            } => {
                assert_eq!(field, Field::Email);
                assert_eq!((first, first_column.as_str()), (2, "Email"));
                assert_eq!((second, second_column.as_str()), (4, "E-mail"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn customer_takes_raw_values() {
        let m = map(&["Name", "CustomerCode", "Phone", "Notes"]).unwrap();
        let c = m.customer(&headers(&["  Ann  ", "007", "", "x"]));
        assert_eq!(c.get(Field::Name), Some("  Ann  "));
        assert_eq!(c.code(), "007");
        assert_eq!(c.get(Field::Phone), None);
        assert_eq!(c.iter().count(), 2);
    }

    #[test]
    fn customer_into_overwrites_and_tolerates_short_records() {
        let m = map(&["CustomerCode", "Name", "City"]).unwrap();
        let mut c = m.customer(&headers(&["1", "Ann", "Delft"]));
        m.customer_into(&headers(&["2"]), &mut c);
        assert_eq!(c.code(), "2");
        assert_eq!(c.get(Field::Name), None);
        assert_eq!(c.get(Field::City), None);
        m.customer_into(&headers(&["3", "Bob", "Ede", "extra"]), &mut c);
        assert_eq!(c.get(Field::City), Some("Ede"));
    }

    #[test]
    fn alias_table_is_unambiguous() {
        let keys: Vec<String> = ALIASES
            .iter()
            .flat_map(|(_, names)| names.iter().map(|n| header_key(n)))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "alias key {k} appears twice");
        }
        for field in Field::ALL {
            assert!(
                ALIASES.iter().any(|(f, _)| *f == field),
                "{field} has no names"
            );
        }
    }
}
