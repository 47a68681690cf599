//! `plan.csv`: what an import would do to Notify, one row per input row.
//!
//! Owns the plan's vocabulary ([`Action`]), the file
//! (`row,line,customer_code,action,changes,customer_id`, input order,
//! written whole, mode 0600, every cell CSV-injection safe like the
//! results file's) and what the terminal, `summary.json` and the report
//! say of a plan ([`PlanFacts`]: rows per action, the fields that change
//! most, the first customers to create and to update). `changes` lists
//! each changed field as `Field: old → new`, joined by `; `.
//!
//! Bounded: counts are per action and per field, and the report's lists
//! stop at [`SHOWN`] customers each. It must not decide what a row's
//! action is: the planner does, and the run hands each row over.

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::field::Field;
use crate::model::plan::FieldChange;
use crate::output::results::neutralize;
use crate::util::atomic::AtomicFile;
use crate::util::redact;

/// The file's name in the run folder.
pub const FILE: &str = "plan.csv";

/// Customers the report lists per kind (to create, to update).
pub const SHOWN: usize = 1000;

const HEADER: [&str; 6] = [
    "row",
    "line",
    "customer_code",
    "action",
    "changes",
    "customer_id",
];

/// What an import would do with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new customer.
    Create,
    /// The changed fields of a customer Notify holds (`PATCH`).
    Update,
    /// Notify already holds these values: nothing is sent.
    Unchanged,
    /// `--mode update`: Notify has no such code, and nothing is created.
    NotFound,
    /// `--mode create`: Notify has the code; the customer is left alone.
    Exists,
    /// `--mode overwrite`: every field of the customer Notify holds is
    /// sent again with `Overwrite=true`.
    Overwrite,
    /// The row breaks a local rule (see the results and errors files).
    Invalid,
}

impl Action {
    /// Every action, in the order the plan lists them.
    pub const ALL: [Action; 7] = [
        Action::Create,
        Action::Update,
        Action::Overwrite,
        Action::Unchanged,
        Action::Exists,
        Action::NotFound,
        Action::Invalid,
    ];

    /// The word in the file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::NotFound => "not_found",
            Action::Exists => "exists",
            Action::Overwrite => "overwrite",
            Action::Invalid => "invalid",
        }
    }
}

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow<'a> {
    /// 1-based data row.
    pub row: u64,
    /// Physical line of the record.
    pub line: u64,
    /// The row's (normalized) code.
    pub code: &'a str,
    /// What an import would do.
    pub action: Action,
    /// The fields it would change, with Notify's value and the file's.
    pub changes: &'a [FieldChange],
    /// Notify's id for the code, when Notify holds it.
    pub id: Option<&'a str>,
}

/// `Field: old → new; …`, as the file and the report show changes.
pub fn describe(changes: &[FieldChange]) -> String {
    let mut out = String::new();
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&format!("{}: {} → {}", c.field, c.old, c.new));
    }
    out
}

/// A customer the report lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The input line.
    pub line: u64,
    /// The code.
    pub code: String,
    /// What changes (updates and overwrites; empty for creates).
    pub changes: Vec<(Field, String, String)>,
}

/// What a plan found, for the terminal, `summary.json` and the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanFacts {
    /// The write mode the plan is for.
    pub mode: &'static str,
    /// Rows per action, in [`Action::ALL`] order.
    pub actions: Vec<(Action, u64)>,
    /// Rows each field would change in, most first.
    pub fields: Vec<(Field, u64)>,
    /// The first customers to create.
    pub creates: Vec<Listed>,
    /// The first customers to update (or overwrite), with their changes.
    pub updates: Vec<Listed>,
    /// `plan.csv`, once written.
    pub file: Option<PathBuf>,
}

impl PlanFacts {
    /// Rows with `action`.
    pub fn count(&self, action: Action) -> u64 {
        self.actions
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(0, |(_, n)| *n)
    }
}

/// Writes `plan.csv` row by row and keeps what the plan found.
pub struct PlanWriter {
    out: csv::Writer<BufWriter<AtomicFile>>,
    actions: [u64; Action::ALL.len()],
    fields: [u64; Field::ALL.len()],
    creates: Vec<Listed>,
    updates: Vec<Listed>,
    mode: &'static str,
}

impl PlanWriter {
    /// Starts `plan.csv` at `path`, for a plan of `mode`.
    pub fn create(path: &Path, mode: &'static str) -> io::Result<PlanWriter> {
        let file = AtomicFile::create(path)?;
        let mut out = csv::WriterBuilder::new().from_writer(BufWriter::new(file));
        out.write_record(HEADER)?;
        Ok(PlanWriter {
            out,
            actions: [0; Action::ALL.len()],
            fields: [0; Field::ALL.len()],
            creates: Vec::new(),
            updates: Vec::new(),
            mode,
        })
    }

    /// The next row, in input order.
    pub fn push(&mut self, row: &PlanRow<'_>) -> io::Result<()> {
        let changes = describe(row.changes);
        let id = row.id.map(redact::scrub).unwrap_or_default();
        self.out.write_record([
            row.row.to_string().as_str(),
            row.line.to_string().as_str(),
            &neutralize(row.code),
            row.action.as_str(),
            &neutralize(&redact::scrub(&changes)),
            &neutralize(&id),
        ])?;
        if let Some(i) = Action::ALL.iter().position(|a| *a == row.action) {
            self.actions[i] += 1;
        }
        for c in row.changes {
            self.fields[c.field.index()] += 1;
        }
        let listed = || Listed {
            line: row.line,
            code: row.code.to_owned(),
            changes: row
                .changes
                .iter()
                .map(|c| (c.field, c.old.clone(), c.new.clone()))
                .collect(),
        };
        match row.action {
            Action::Create if self.creates.len() < SHOWN => self.creates.push(listed()),
            Action::Update | Action::Overwrite if self.updates.len() < SHOWN => {
                self.updates.push(listed());
            }
            _ => {}
        }
        Ok(())
    }

    /// What was found so far (the file not yet written).
    pub fn facts(&self) -> PlanFacts {
        let mut fields: Vec<(Field, u64)> = Field::ALL
            .into_iter()
            .map(|f| (f, self.fields[f.index()]))
            .filter(|(_, n)| *n > 0)
            .collect();
        // Most first; equal counts in field order (the sort is stable).
        fields.sort_by_key(|f| std::cmp::Reverse(f.1));
        PlanFacts {
            mode: self.mode,
            actions: Action::ALL.into_iter().zip(self.actions).collect(),
            fields,
            creates: self.creates.clone(),
            updates: self.updates.clone(),
            file: None,
        }
    }

    /// Writes the file whole and returns what the plan found.
    pub fn finish(self) -> io::Result<PlanFacts> {
        let mut facts = self.facts();
        let file = self
            .out
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .into_inner()
            .map_err(|e| e.into_error())?;
        facts.file = Some(file.commit()?);
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_stop_at_shown_while_the_counts_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PlanWriter::create(&dir.path().join(FILE), "upsert").unwrap();
        let changes = [FieldChange {
            field: Field::City,
            old: "Ede".into(),
            new: "Delft".into(),
        }];
        let n = SHOWN as u64 + 7;
        for i in 0..2 * n {
            let update = i % 2 == 0;
            w.push(&PlanRow {
                row: i + 1,
                line: i + 2,
                code: &format!("C{i}"),
                action: if update {
                    Action::Update
                } else {
                    Action::Create
                },
                changes: if update { &changes } else { &[] },
                id: None,
            })
            .unwrap();
        }
        let facts = w.facts();
        assert_eq!((facts.updates.len(), facts.creates.len()), (SHOWN, SHOWN));
        assert_eq!(facts.count(Action::Update), n);
        assert_eq!(facts.count(Action::Create), n);
        assert_eq!(facts.fields, [(Field::City, n)]);
        assert_eq!(facts.updates[SHOWN - 1].line, 2 * (SHOWN as u64 - 1) + 2);
    }

    #[test]
    fn the_plan_file_lists_every_row_with_its_changes_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut w = PlanWriter::create(&path, "upsert").unwrap();
        let change = |field, old: &str, new: &str| FieldChange {
            field,
            old: old.into(),
            new: new.into(),
        };
        let changes = [
            change(Field::City, "Ede", "Delft"),
            change(Field::Phone, "=1+1", ""),
        ];
        let rows = [
            PlanRow {
                row: 1,
                line: 2,
                code: "A",
                action: Action::Update,
                changes: &changes,
                id: Some("id-A"),
            },
            PlanRow {
                row: 2,
                line: 3,
                code: "-B",
                action: Action::Create,
                changes: &[],
                id: None,
            },
            PlanRow {
                row: 3,
                line: 4,
                code: "C",
                action: Action::Unchanged,
                changes: &[],
                id: Some("id-C"),
            },
        ];
        for row in &rows {
            w.push(row).unwrap();
        }
        let facts = w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "row,line,customer_code,action,changes,customer_id\n\
             1,2,A,update,Ede → Delft,id-A\n"
                .replace("Ede → Delft", "City: Ede → Delft; Phone: =1+1 → ")
                + "2,3,'-B,create,,\n3,4,C,unchanged,,id-C\n"
        );
        assert_eq!(facts.count(Action::Update), 1);
        assert_eq!(facts.count(Action::Create), 1);
        assert_eq!(facts.count(Action::Unchanged), 1);
        assert_eq!(facts.fields, [(Field::City, 1), (Field::Phone, 1)]);
        assert_eq!(facts.creates.len(), 1);
        assert_eq!(facts.updates[0].changes.len(), 2);
        assert_eq!(facts.file.as_deref(), Some(path.as_path()));
    }
}
