//! Column mapping: which column (or columns, or fixed value) feeds which
//! API field.
//!
//! Owns the [`Mapping`] of one header (for each [`Field`], a
//! [`FieldSource`]: the [`Source`] of its value and the [`Origin`] of that
//! choice) and the questions the rest of the crate asks it. The work on it
//! is split by concern:
//!
//! - `resolve.rs` decides, once per file from the header row, which column
//!   feeds which field;
//! - `apply.rs` fills a [`Customer`](crate::model::customer::Customer)
//!   from one record by that decision, once per row;
//! - `file.rs` holds the user's explicit choices: the mapping file
//!   ([`MappingFile`]), read and written in one place, and `--map`.
//!
//! A column is named by its header text or by its position, `#26`
//! (1-based, as the run header numbers them): the only way to choose one
//! of two columns with the same name.
//!
//! It must not trim, normalize or judge values (that is `check/`, except
//! that joined parts are trimmed so the join has single spaces), and must
//! not read the CSV (that is `reader.rs`).

mod apply;
mod file;
mod resolve;

use std::fmt;

use super::header::Role;
use crate::model::field::Field;

pub use super::header::header_key;
pub use apply::{UNNAMED_COLUMN_KIND, unnamed_column_message, used_width};
pub use file::{MappingFile, Target, field_by_name, parse_map_arg};

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One column (0-based).
    Column(usize),
    /// Several columns (0-based), their non-empty values joined with a space.
    Join(Vec<usize>),
    /// The same text for every row.
    Constant(String),
    /// The first column where its cell is filled, else the other columns
    /// joined (Name = company, else First + Last).
    Fallback(usize, Vec<usize>),
}

impl Source {
    /// The columns this source reads.
    pub fn columns(&self) -> Vec<usize> {
        match self {
            Source::Column(c) => vec![*c],
            Source::Join(columns) => columns.clone(),
            Source::Constant(_) => Vec::new(),
            Source::Fallback(first, rest) => std::iter::once(*first)
                .chain(rest.iter().copied())
                .collect(),
        }
    }
}

/// Who decided a field's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A header name matched a built-in alias.
    Alias,
    /// A mapping file (`--mapping`).
    File,
    /// `--map Field=Column`.
    Option,
    /// `--default-country`.
    DefaultCountry,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Alias => "header name",
            Origin::File => "mapping file",
            Origin::Option => "--map",
            Origin::DefaultCountry => "--default-country",
        })
    }
}

/// Shown after a mapping error: where the file's mapping came from.
pub(crate) fn describe_origin(origin: Origin, field: Field, column: &str) -> String {
    match origin {
        Origin::Option => format!("--map {field}={column}"),
        Origin::File => format!("the mapping file's {field} = \"{column}\""),
        Origin::Alias => format!("the header name {column:?}"),
        Origin::DefaultCountry => format!("--default-country {column}"),
    }
}

/// Values of a column replaced before checking: `(from, to)` pairs, `from`
/// compared trimmed and case-insensitively.
pub type ValueMap = Vec<(String, String)>;

/// A field's source and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSource {
    /// Where the value comes from.
    pub source: Source,
    /// Who decided.
    pub origin: Origin,
    /// Values replaced (from a mapping file); empty for none.
    pub values: ValueMap,
    /// The value of an empty cell (`--default-country`).
    pub default: Option<String>,
}

impl FieldSource {
    fn new(source: Source, origin: Origin) -> FieldSource {
        FieldSource {
            source,
            origin,
            values: ValueMap::new(),
            default: None,
        }
    }
}

/// Two columns that claim one field equally well and hold different
/// values on one sampled row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field both claim.
    pub field: Field,
    /// The first column (0-based).
    pub first: usize,
    /// The second column (0-based).
    pub second: usize,
    /// The sampled row's line where they differ.
    pub line: u64,
    /// The two values there.
    pub values: (String, String),
}

/// Where each field's value comes from, for one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    fields: [Option<FieldSource>; Field::ALL.len()],
    headers: Vec<String>,
    unknown: Vec<String>,
    /// Choices between equal columns, for the run header.
    notes: Vec<String>,
    /// Columns passed over for an equal (or, empty in the sample, a
    /// better) one: (what they match, the column, the chosen column, and
    /// whether it fills the chosen one's empty cells). A row where one
    /// holds a value the chosen column lacks is a row problem.
    set_aside: Vec<(Role, usize, usize, bool)>,
    /// Fields two equal columns claim with different values: not mapped,
    /// and the file refused ([`Mapping::require_complete`]).
    conflicts: Vec<Conflict>,
    /// Columns filled with distinct values in the previewed rows.
    code_candidates: Vec<usize>,
    /// Previewed data rows behind `code_candidates`.
    previewed: usize,
}

impl Mapping {
    /// Adds a line to [`Mapping::notes`].
    pub fn add_note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Decisions between equal columns, one line each, for the run header.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Fields left unmapped because two columns hold different values
    /// for them (the file is refused until one is chosen).
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// The 0-based column that feeds `f`, if it comes from exactly one.
    pub fn column(&self, f: Field) -> Option<usize> {
        match self.source(f) {
            Some(FieldSource {
                source: Source::Column(c),
                ..
            }) => Some(*c),
            _ => None,
        }
    }

    /// Where `f` comes from, if anywhere.
    pub fn source(&self, f: Field) -> Option<&FieldSource> {
        self.fields[f.index()].as_ref()
    }

    /// The header names, as read.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Header names that feed no field, each once, in header order.
    /// Empty header cells are not listed.
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use csv::StringRecord;

    use super::*;
    use crate::input::InputError;
    use crate::input::preview::ColumnStats;

    pub(super) fn headers(names: &[&str]) -> StringRecord {
        StringRecord::from(names.to_vec())
    }

    /// The mapping of a header by aliases alone.
    pub(super) fn map(names: &[&str]) -> Result<Mapping, InputError> {
        Mapping::from_headers(Path::new("c.csv"), &headers(names))
    }

    /// The mapping of a header with mapping-file text and `--map` values.
    pub(super) fn map_with(
        names: &[&str],
        file: &str,
        options: &[&str],
    ) -> Result<Mapping, InputError> {
        let file = MappingFile::parse(Path::new("m.toml"), file)?;
        let options: Vec<(Field, String)> =
            options.iter().map(|o| parse_map_arg(o).unwrap()).collect();
        let path = Path::new("c.csv");
        let m = Mapping::resolve_with(
            path,
            &headers(names),
            &file,
            &options,
            &ColumnStats::default(),
        )?;
        m.require_complete(path)?;
        Ok(m)
    }
}
