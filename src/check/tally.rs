//! Tallies of a pass for the run header: invalid rows per kind of
//! problem, and rows worth a warning, each with the first few lines.
//!
//! It counts; the words around the counts are the report's
//! (`output::report`).

use crate::input::mapping::{Mapping, Source, header_key};
use crate::model::field::Field;
use crate::model::problem::Problem;

/// How many example lines are kept per kind.
const EXAMPLES_PER_PROBLEM: usize = 3;

/// Invalid rows per kind of problem (field + rule), with example lines.
#[derive(Debug, Default)]
pub struct ProblemTally {
    /// Per kind: rows, first lines, and the kind as shown (with the
    /// user's column name and the first value).
    kinds: std::collections::BTreeMap<String, (u64, Vec<u64>, String)>,
    /// Per field, the user's column when its name differs from the
    /// field's: `Postcode → Postalcode`.
    labels: [Option<String>; Field::ALL.len()],
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

    /// Counts `rows` rows with `problem`, `lines` being the first of them.
    pub fn add_rows(&mut self, problem: &Problem, rows: u64, lines: &[u64]) {
        if rows == 0 {
            return;
        }
        let (kind, example) = problem_kind(problem);
        let labels = &self.labels;
        let entry = self.kinds.entry(kind).or_insert_with_key(|kind| {
            let text = match problem.field {
                Some(_) => kind.split_once(": ").map_or(kind.as_str(), |(_, t)| t),
                None => kind.as_str(),
            };
            let text = match &example {
                Some(value) => text.replacen("\"…\"", &format!("e.g. {value}"), 1),
                None => text.to_string(),
            };
            let shown = match problem.field {
                Some(f) => match &labels[f.index()] {
                    Some(label) => format!("{label}: {text}"),
                    None => format!("{f}: {text}"),
                },
                None => text,
            };
            (0, Vec::new(), shown)
        });
        entry.0 += rows;
        entry.1.extend(lines);
        entry.1.sort_unstable();
        entry.1.truncate(EXAMPLES_PER_PROBLEM);
    }

    /// `(kind, rows, first lines)`, most frequent first.
    pub fn iter(&self) -> Vec<(&str, u64, &[u64])> {
        let mut v: Vec<_> = self
            .kinds
            .values()
            .map(|(n, lines, shown)| (shown.as_str(), *n, lines.as_slice()))
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

/// A short, stable name for a problem: its field and the message with
/// quoted user values and numbers left out, so equal rules group together
/// (or the problem's own [`Problem::kind`]); and the first quoted value.
fn problem_kind(p: &Problem) -> (String, Option<String>) {
    if let Some(kind) = &p.kind {
        return match p.field {
            Some(f) => (format!("{f}: {kind}"), None),
            None => (kind.clone(), None),
        };
    }
    let mut kind = String::new();
    let mut example: Option<String> = None;
    let mut in_quote = false;
    let mut quoted = String::new();
    for ch in p.message.chars() {
        match ch {
            '"' => {
                in_quote = !in_quote;
                if in_quote {
                    kind.push_str("\"…\"");
                    quoted.clear();
                } else if example.is_none() {
                    example = Some(format!("\"{quoted}\""));
                }
            }
            _ if in_quote => quoted.push(ch),
            c if c.is_ascii_digit() => {
                if !kind.ends_with('N') {
                    kind.push('N');
                }
            }
            c => kind.push(c),
        }
    }
    let kind = match p.field {
        Some(f) => format!("{f}: {kind}"),
        None => kind,
    };
    (kind, example)
}
