//! Tallies of a pass for the run header: invalid rows per kind of
//! problem (field and [`ProblemKind`]), and rows worth a warning, each
//! with the first few lines.
//!
//! It counts; the words around the counts are the report's
//! (`output::report`). A kind's own text is its rule's message, with the
//! values that differ from row to row left out (or given as an example).

use std::collections::BTreeMap;

use csv::StringRecord;

use crate::check::{duplicates, rules};
use crate::input::mapping::{Mapping, Source, UNNAMED_COLUMN_KIND, header_key};
use crate::model::field::Field;
use crate::model::problem::{PhoneFault, Problem, ProblemKind};
use crate::util::text::printable;

/// How many invalid rows keep their problems one by one, for the report's
/// rows to fix (which lists at most as many rows).
pub const ROWS_DETAILED: usize = 1000;

/// The characters of a cell kept for the report; a longer cell is cut.
const VALUE_MAX_CHARS: usize = 200;

/// How many example lines are kept per kind.
const EXAMPLES_PER_PROBLEM: usize = 3;

/// Invalid rows per kind of problem (field + rule), with example lines.
#[derive(Debug, Default)]
pub struct ProblemTally {
    /// Per field (`None`: the row as a whole) and kind.
    kinds: BTreeMap<(Option<Field>, ProblemKind), Group>,
    /// Per field, the user's column when its name differs from the
    /// field's: `Postcode → Postalcode`.
    labels: [Option<String>; Field::ALL.len()],
    /// The first [`ROWS_DETAILED`] invalid rows, each with its problems.
    detailed: Vec<RowProblems>,
}

/// One invalid row's problems as the report lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblems {
    /// 1-based data row.
    pub row: u64,
    /// Physical line where the record starts.
    pub line: u64,
    /// Its problems, in the results file's order.
    pub problems: Vec<ShownProblem>,
}

/// One problem of a row, with its kind as the run header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownProblem {
    /// The kind as the run header counts it ([`ProblemTally::iter`]).
    pub kind: String,
    /// The field concerned; `None` for the row as a whole.
    pub field: Option<Field>,
    /// The cell(s) of the field's column(s) as decoded (control characters
    /// escaped, cut after 200 characters); empty for the row as a
    /// whole.
    pub value: String,
    /// What is wrong, phrased to follow the field name.
    pub message: String,
}

/// The rows of one kind of problem.
#[derive(Debug)]
struct Group {
    rows: u64,
    /// The first few lines.
    lines: Vec<u64>,
    /// The kind as shown, with the user's column name and the first value.
    shown: String,
}

impl ProblemTally {
    /// Names fields as the user's columns do (`Postcode → Postalcode`).
    pub fn set_labels(&mut self, mapping: &Mapping) {
        for field in Field::ALL {
            let Some(Source::Column(c)) = mapping.source(field).map(|fs| &fs.source) else {
                continue;
            };
            let column = mapping.headers()[*c].trim();
            if header_key(column) != header_key(field.api_name()) {
                self.labels[field.index()] = Some(format!("{column} \u{2192} {field}"));
            }
        }
    }

    /// Counts one invalid row (on `line`) with its problems.
    pub fn add(&mut self, line: u64, problems: &[Problem]) {
        for p in problems {
            self.add_rows(p, 1, &[line]);
        }
    }

    /// Keeps an invalid row's problems with the cells they are about, once
    /// [`ProblemTally::add`] counted them; only the first
    /// [`ROWS_DETAILED`] rows are kept, so a valid row costs nothing and a
    /// later invalid one a length check.
    pub fn keep(
        &mut self,
        row: u64,
        line: u64,
        problems: &[Problem],
        cells: &StringRecord,
        mapping: &Mapping,
    ) {
        if self.detailed.len() >= ROWS_DETAILED {
            return;
        }
        let problems = problems
            .iter()
            .map(|p| ShownProblem {
                kind: self.shown(p.field, p.kind).unwrap_or_default().to_owned(),
                field: p.field,
                value: value_of(p, cells, mapping),
                message: p.message.clone(),
            })
            .collect();
        self.detailed.push(RowProblems {
            row,
            line,
            problems,
        });
    }

    /// The first [`ROWS_DETAILED`] invalid rows, with their problems.
    pub fn detailed(&self) -> &[RowProblems] {
        &self.detailed
    }

    /// How the run header shows a kind, once a row of it was counted.
    pub fn shown(&self, field: Option<Field>, kind: ProblemKind) -> Option<&str> {
        self.kinds.get(&(field, kind)).map(|g| g.shown.as_str())
    }

    /// Counts `rows` rows with `problem`'s kind, `lines` being the first of
    /// them.
    pub fn add_rows(&mut self, problem: &Problem, rows: u64, lines: &[u64]) {
        if rows == 0 {
            return;
        }
        let labels = &self.labels;
        let entry = self
            .kinds
            .entry((problem.field, problem.kind))
            .or_insert_with(|| {
                let text = kind_text(problem);
                let shown = match problem.field {
                    Some(f) => match &labels[f.index()] {
                        Some(label) => format!("{label}: {text}"),
                        None => format!("{f}: {text}"),
                    },
                    None => text,
                };
                Group {
                    rows: 0,
                    lines: Vec::new(),
                    shown,
                }
            });
        entry.rows += rows;
        entry.lines.extend(lines);
        entry.lines.sort_unstable();
        entry.lines.truncate(EXAMPLES_PER_PROBLEM);
    }

    /// `(kind, rows, first lines)`, most frequent first.
    pub fn iter(&self) -> Vec<(&str, u64, &[u64])> {
        let mut v: Vec<_> = self
            .kinds
            .values()
            .map(|g| (g.shown.as_str(), g.rows, g.lines.as_slice()))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// Rows with something worth a warning, with the first lines and values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowSample {
    /// Rows counted.
    pub rows: u64,
    /// The first few lines.
    pub lines: Vec<u64>,
    /// The first few distinct values.
    pub values: Vec<String>,
}

impl RowSample {
    /// Counts one row, keeping its line and `value` as examples.
    pub fn add(&mut self, line: u64, value: Option<&str>) {
        self.rows += 1;
        if self.lines.len() < EXAMPLES_PER_PROBLEM {
            self.lines.push(line);
        }
        if let Some(value) = value
            && self.values.len() < EXAMPLES_PER_PROBLEM
            && !self.values.iter().any(|v| v == value)
        {
            self.values.push(value.to_string());
        }
    }

    /// `line 4` or `lines 2, 3, 4, ...`.
    pub fn lines_text(&self) -> String {
        let lines: Vec<String> = self.lines.iter().map(u64::to_string).collect();
        let more = if self.rows > self.lines.len() as u64 {
            ", ..."
        } else {
            ""
        };
        let word = if self.lines.len() == 1 {
            "line"
        } else {
            "lines"
        };
        format!("{word} {}{more}", lines.join(", "))
    }
}

/// The cell(s) a problem is about, as the file has them: the column set
/// aside, else the field's column(s), non-empty cells joined by ` | `.
fn value_of(problem: &Problem, cells: &StringRecord, mapping: &Mapping) -> String {
    let Some(field) = problem.field else {
        return String::new();
    };
    let columns = match problem.kind {
        ProblemKind::SetAside { column } => vec![column],
        _ => match mapping.source(field) {
            Some(fs) => match &fs.source {
                Source::Constant(text) => return shown_value(text),
                source => source.columns(),
            },
            None => Vec::new(),
        },
    };
    let joined: Vec<&str> = columns
        .iter()
        .filter_map(|c| cells.get(*c))
        .filter(|c| !c.is_empty())
        .collect();
    shown_value(&joined.join(" | "))
}

/// A value cut after [`VALUE_MAX_CHARS`], control characters escaped.
fn shown_value(value: &str) -> String {
    let cut = match value.char_indices().nth(VALUE_MAX_CHARS) {
        Some((at, _)) => format!("{}\u{2026}", &value[..at]),
        None => value.to_owned(),
    };
    printable(&cut).into_owned()
}

/// How the run header names `first`'s kind, `first` being the first
/// problem of it: its message where every row of the kind has the same
/// one, else the rule with `N` for the number that differs, or with
/// `first`'s value as the example.
fn kind_text(first: &Problem) -> String {
    match first.kind {
        ProblemKind::Required
        | ProblemKind::BadPhone(PhoneFault::MisplacedPlus | PhoneFault::Character(_))
        | ProblemKind::SetAside { .. } => first.message.clone(),
        ProblemKind::TooLong { max } => format!("is longer than {max} characters"),
        // The message starts with the value, quoted.
        ProblemKind::UnknownCountry | ProblemKind::BadEmail(_) => {
            format!("e.g. {}", first.message)
        }
        ProblemKind::BadPhone(PhoneFault::TooFewDigits) => rules::too_few_digits_kind(),
        ProblemKind::FieldCount { header } => {
            format!("has more or fewer fields than the header's {header}")
        }
        ProblemKind::UnnamedColumn => UNNAMED_COLUMN_KIND.to_owned(),
        ProblemKind::Repeated => duplicates::KIND_TEXT.to_owned(),
        ProblemKind::OddCharacter(odd) => rules::odd_character_message(odd).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::validate::tests::customer;
    use crate::check::validate::validate;
    use crate::input::mapping::unnamed_column_message;

    /// The tally's kinds and counts after each problem of `problems` was
    /// found on its own line.
    fn tallied(problems: &[Problem]) -> Vec<(String, u64)> {
        let mut tally = ProblemTally::default();
        for (line, p) in (2..).zip(problems) {
            tally.add(line, std::slice::from_ref(p));
        }
        let kinds = tally.iter();
        kinds
            .into_iter()
            .map(|(k, n, _)| (k.to_owned(), n))
            .collect()
    }

    fn checked(values: &[(Field, &str)]) -> Vec<Problem> {
        validate(&mut customer(values))
    }

    #[test]
    fn rows_group_by_field_and_rule_whatever_their_values() {
        let mut problems = Vec::new();
        for values in [
            [(Field::Phone, "112"), (Field::Email, "ann@example")],
            [(Field::Phone, "12345"), (Field::Email, "bob@example")],
            [(Field::Mobile, "1"), (Field::Email, "bob.example.nl")],
            [(Field::Phone, "n.v.t."), (Field::Country, "Utrecht")],
            [(Field::Phone, "nvt"), (Field::Country, "uk")],
        ] {
            problems.extend(checked(&values));
        }
        assert_eq!(
            tallied(&problems),
            [
                (
                    "Country: e.g. \"Utrecht\" is not a known country: give a two-letter ISO country code (e.g. NL) or a country name".to_owned(),
                    2
                ),
                (
                    "Email: e.g. \"ann@example\" is not a valid e-mail address: the domain needs an ending such as .nl".to_owned(),
                    2
                ),
                (
                    "Phone: contains 'n' (only digits, spaces and + - ( ) / . are allowed, and an extension such as x12 or toestel 12)".to_owned(),
                    2
                ),
                (
                    "Phone: has too few digits, a phone number needs at least 6".to_owned(),
                    2
                ),
                (
                    "Email: e.g. \"bob.example.nl\" is not a valid e-mail address: the @ is missing".to_owned(),
                    1
                ),
                (
                    "Mobile: has too few digits, a phone number needs at least 6".to_owned(),
                    1
                ),
            ]
        );
    }

    #[test]
    fn limits_stay_in_the_text_and_row_numbers_do_not() {
        let problems = [
            checked(&[(Field::Postalcode, "12345678901")]),
            checked(&[(Field::Postalcode, "123456789012")]),
            checked(&[(Field::Name, &"x".repeat(251))]),
            vec![
                Problem::field_count(3, 5),
                Problem::field_count(7, 5),
                Problem::field_count(3, 4),
                duplicates::problem(2),
                duplicates::problem(9),
                Problem::row(ProblemKind::UnnamedColumn, unnamed_column_message(6)),
            ],
        ]
        .concat();
        assert_eq!(
            tallied(&problems),
            [
                ("CustomerCode: repeats the code of an earlier line; only the first row with a code is sent".to_owned(), 2),
                ("Postalcode: is longer than 10 characters".to_owned(), 2),
                ("has more or fewer fields than the header's 5".to_owned(), 2),
                ("Name: is longer than 250 characters".to_owned(), 1),
                ("has a value in a column with no name in the header (is the row shifted?)".to_owned(), 1),
                ("has more or fewer fields than the header's 4".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn no_kind_prints_a_placeholder_for_a_number() {
        let problems = [
            checked(&[(Field::Phone, "123")]),
            vec![
                Problem::row(ProblemKind::UnnamedColumn, unnamed_column_message(6)),
                duplicates::problem(2),
            ],
        ]
        .concat();
        for (kind, _) in tallied(&problems) {
            let words: Vec<&str> = kind
                .split(|c: char| !c.is_alphanumeric() && c != '#')
                .collect();
            assert!(!words.iter().any(|w| *w == "N" || *w == "#N"), "{kind}");
        }
    }

    #[test]
    fn a_column_set_aside_is_one_kind_per_column() {
        let set_aside = |column: usize| {
            let message = format!("column #{} \"Naam\" has a value here, …", column + 1);
            Problem::new(Field::Name, ProblemKind::SetAside { column }, message)
        };
        assert_eq!(
            tallied(&[set_aside(2), set_aside(2), set_aside(4)]),
            [
                ("Name: column #3 \"Naam\" has a value here, …".to_owned(), 2),
                ("Name: column #5 \"Naam\" has a value here, …".to_owned(), 1),
            ]
        );
    }
}
