//! Applying a mapping to one record: the record's raw cells as a
//! [`Customer`], and the problems of a record that does not line up with
//! the header (a shifted row, a value in a column set aside as empty).
//!
//! Runs once per row of files with a million rows, so filling a customer
//! reuses its buffers and allocates nothing once they have grown.
//!
//! It must not decide which column feeds a field (that is `resolve.rs`),
//! and must not trim, normalize or judge values: only joined parts are
//! trimmed, so the join has single spaces, and value maps compare cells
//! trimmed.

use csv::StringRecord;

use super::{Mapping, Source};
use crate::input::header::Role;
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::problem::{Problem, ProblemKind};

impl Mapping {
    /// The record's raw cells as a customer (untrimmed; a missing or empty
    /// cell leaves the field unset).
    pub fn customer(&self, rec: &StringRecord) -> Customer {
        let mut customer = Customer::default();
        self.customer_into(rec, &mut customer);
        customer
    }

    /// Like [`Mapping::customer`], overwriting every field of `out` and
    /// reusing its buffers (no allocation once they have grown).
    pub fn customer_into(&self, rec: &StringRecord, out: &mut Customer) {
        for field in Field::ALL {
            // A short record (fewer fields than the header) simply lacks the
            // cell; `width_problem` reports the field count.
            let Some(fs) = &self.fields[field.index()] else {
                out.clear(field);
                continue;
            };
            match &fs.source {
                Source::Column(i) => out.set_str(field, rec.get(*i).unwrap_or("")),
                Source::Constant(value) => out.set_str(field, value),
                Source::Join(columns) => join_into(out.buffer_mut(field), rec, columns),
                Source::Fallback(first, rest) => match rec.get(*first) {
                    Some(cell) if !cell.trim().is_empty() => out.set_str(field, cell),
                    _ => join_into(out.buffer_mut(field), rec, rest),
                },
            }
            if fs.values.is_empty() && fs.default.is_none() {
                continue;
            }
            let current = out.get(field).unwrap_or("").trim();
            let replacement = if current.is_empty() {
                fs.default.as_deref()
            } else {
                fs.values
                    .iter()
                    .find(|(from, _)| same_value(from, current))
                    .map(|(_, to)| to.as_str())
            };
            if let Some(value) = replacement {
                // Owned: `value` borrows `self`, `out` is written.
                out.set_str(field, value);
            }
        }
    }

    /// A problem if the record's cells do not line up with the header's:
    /// a value past the last named column (a shifted row, even when the
    /// header ends in a delimiter), or fewer cells than named columns.
    /// Empty cells past the header (trailing delimiters) are tolerated.
    pub fn width_problem(&self, rec: &StringRecord) -> Option<Problem> {
        let named = self
            .headers
            .iter()
            .rposition(|h| !h.trim().is_empty())
            .map_or(0, |i| i + 1);
        let used = used_width(rec, rec.len());
        if rec.len() > self.headers.len() && used > named || rec.len() < named {
            return Some(Problem::field_count(rec.len(), self.headers.len()));
        }
        // As wide as the header, with a value under its unnamed last cell.
        (used > named)
            .then(|| Problem::row(ProblemKind::UnnamedColumn, unnamed_column_message(used)))
    }

    /// A problem when `rec` has a value in a column that was passed over
    /// for another (by `resolve.rs`) and the chosen column does
    /// not hold that value: it would otherwise be dropped without a word.
    /// A column that fills the chosen one's empty cells counts only where
    /// both hold values.
    pub fn set_aside_problem(&self, rec: &StringRecord) -> Option<Problem> {
        let &(role, column, chosen, _) =
            self.set_aside.iter().find(|&&(_, c, chosen, fills)| {
                let value = rec.get(c).map_or("", str::trim);
                let used = rec.get(chosen).map_or("", str::trim);
                !value.is_empty() && value != used && !(fills && used.is_empty())
            })?;
        let name = &self.headers[column];
        let message = format!(
            "column #{} {name:?} has a value here that column #{}, the one used, does not hold",
            column + 1,
            chosen + 1,
        );
        let kind = ProblemKind::SetAside { column };
        Some(match role {
            Role::Field(field) => Problem::new(
                field,
                kind,
                format!("{message}; choose one with --map {field}=#{}", column + 1),
            ),
            _ => Problem::row(kind, format!("{message}; choose one in a mapping file")),
        })
    }
}

/// The message of a value under the header's unnamed last column, the
/// `column`th (`N` for the run header's count).
pub fn unnamed_column_message(column: impl std::fmt::Display) -> String {
    format!(
        "has a value in column #{column}, which has no name in the header (is the row shifted?)"
    )
}

/// The problem kind of [`unnamed_column_message`], for a tally of rows
/// with values in different unnamed columns.
pub const UNNAMED_COLUMN_KIND: &str =
    "has a value in a column with no name in the header (is the row shifted?)";

/// The cells of `rec` before `end` up to the last non-blank one: the
/// width without trailing empty cells (trailing delimiters).
pub fn used_width(rec: &StringRecord, end: usize) -> usize {
    (0..end.min(rec.len()))
        .rev()
        .find(|&i| !rec[i].trim().is_empty())
        .map_or(0, |i| i + 1)
}

/// The non-empty cells of `columns`, trimmed and joined with a space.
fn join_into(buf: &mut String, rec: &StringRecord, columns: &[usize]) {
    buf.clear();
    for part in columns.iter().filter_map(|&i| rec.get(i)) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if !buf.is_empty() {
            buf.push(' ');
        }
        buf.push_str(part);
    }
}

/// A value-map key matches a cell: trimmed, case-insensitive, without
/// allocating.
fn same_value(key: &str, cell: &str) -> bool {
    key.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .eq(cell.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::mapping::tests::{headers, map, map_with};

    #[test]
    fn joins_and_constants() {
        let file = r#"
            CustomerCode = "Relatiecode"
            Address = ["Straat", "Huisnummer", "Toevoeging"]
            Language = { value = "dutch" }
        "#;
        let names = ["Relatiecode", "Naam", "Straat", "Huisnummer", "Toevoeging"];
        let m = map_with(&names, file, &[]).unwrap();
        let c = m.customer(&headers(&["1", "Ann", " Dorpsstraat ", "12", ""]));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 12"));
        assert_eq!(c.get(Field::Language), Some("dutch"));
        let c = m.customer(&headers(&["1", "Ann", "Dorpsstraat", "12", "a"]));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 12 a"));
        let c = m.customer(&headers(&["1", "Ann", "", "", ""]));
        assert_eq!(c.get(Field::Address), None);
        assert!(m.unknown_columns().is_empty());
    }

    #[test]
    fn width_allows_one_trailing_delimiter() {
        let m = map(&["Code", "Naam", ""]).unwrap();
        assert!(m.width_problem(&headers(&["1", "A", ""])).is_none());
        assert!(m.width_problem(&headers(&["1", "A"])).is_none());
        assert!(m.width_problem(&headers(&["1"])).is_some());
        let m = map(&["Code", "Naam"]).unwrap();
        assert!(m.width_problem(&headers(&["1", "A", ""])).is_none());
        let p = m.width_problem(&headers(&["1", "A", "x"])).unwrap();
        assert_eq!(p.to_string(), "has 3 fields, the header has 2");
        assert!(m.width_problem(&headers(&["1"])).is_some());
        // Several trailing delimiters are tolerated too.
        assert!(
            m.width_problem(&headers(&["1", "A", "", " ", ""]))
                .is_none()
        );
        // Issue 13: a shifted row under a header that ends in `;`.
        let m = map(&["Code", "Naam", "Plaats", "KvK-nummer", "Taal", ""]).unwrap();
        let shifted = headers(&["1002", "Smit BV", "Delft", "34120011", "x", "dutch", ""]);
        let p = m.width_problem(&shifted).unwrap();
        assert_eq!(p.to_string(), "has 7 fields, the header has 6");
        let p = m
            .width_problem(&headers(&["1", "A", "B", "C", "D", "E"]))
            .unwrap();
        assert!(p.to_string().contains("column #6"), "{p}");
        assert!(
            m.width_problem(&headers(&["1", "A", "B", "C", "D", ""]))
                .is_none()
        );
        assert!(
            m.width_problem(&headers(&["1", "A", "B", "C", "D"]))
                .is_none()
        );
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
    fn value_maps_replace_values_of_any_field() {
        let file = r#"
            Language = { column = "Taal", values = { NL = "dutch", EN = "english" } }
            Country = { column = "Land", values = { "Holland" = "NL" } }
        "#;
        let m = map_with(&["Code", "Naam", "Taal", "Land"], file, &[]).unwrap();
        let c = m.customer(&headers(&["1", "A", " nl ", "holland"]));
        assert_eq!(c.get(Field::Language), Some("dutch"));
        assert_eq!(c.get(Field::Country), Some("NL"));
        // Values without an entry pass through.
        let c = m.customer(&headers(&["1", "A", "fr", "BE"]));
        assert_eq!(c.get(Field::Language), Some("fr"));
        assert_eq!(c.get(Field::Country), Some("BE"));
        // Printed back, the maps survive.
        let again = map_with(&["Code", "Naam", "Taal", "Land"], &m.describe(), &[]).unwrap();
        assert_eq!(again.source(Field::Language), m.source(Field::Language));
        assert_eq!(again.source(Field::Country), m.source(Field::Country));
        // Mistakes are named.
        let err = map_with(
            &["Code", "Taal"],
            "Language = { column = \"Taal\", values = { NL = 1 } }",
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("must map to text"), "{err}");
        let err = map_with(&["Code", "Taal"], "Language = { colum = \"Taal\" }", &[]).unwrap_err();
        assert!(
            err.to_string().contains("\"colum\" is not a mapping key"),
            "{err}"
        );
    }
}
