//! Plan: the only owner of a row's fate.
//!
//! Owns the decision for every checked row: invalid (a local rule), a
//! repeated code (only its first row is sent), done in an earlier run
//! (`--resume`), unchanged since its last import (delta state), or send
//! with a [`WriteMode`], looked up first when an earlier run left it in
//! doubt (the journal of a resumed run, or the codes of
//! `store::doubt`). It reads what `store/` recorded (journal,
//! delta state, doubt) but `store/` decides nothing; the uploader executes
//! the plan as it is. [`rows`] keeps an import's checked rows on disk in between.
//!
//! It must not read the input (the pass did), touch the network, or write
//! outputs.

pub mod rows;

use std::time::Duration;

use crate::check::duplicates::{self, Duplicate, Duplicates};
use crate::input::InputError;
use crate::model::checked::{CheckedRow, Verdict};
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::{Planned, Request, WriteMode};
use crate::store::doubt::Doubt;
use crate::store::journal::Resume;
use crate::store::state::{self, Delta};

/// What the planner weighs besides the row itself.
pub struct Planner<'a> {
    mode: WriteMode,
    repeats: Duplicates,
    next_repeat: Option<Duplicate>,
    resume: Option<Resume>,
    delta: Option<&'a Delta>,
    /// `--full`: send every valid row even when the delta state says it is
    /// unchanged.
    full: bool,
    /// `--timeout`: how long the resumed run's creates could stay open.
    timeout: Duration,
    /// Codes earlier runs left in doubt ([`Planner::with_doubt`]).
    doubt: Option<Doubt>,
}

impl<'a> Planner<'a> {
    /// A planner for rows in input order.
    pub fn new(
        mode: WriteMode,
        mut repeats: Duplicates,
        resume: Option<Resume>,
        delta: Option<&'a Delta>,
        full: bool,
        timeout: Duration,
    ) -> Result<Planner<'a>, InputError> {
        let next_repeat = repeats.next().transpose()?;
        Ok(Planner {
            mode,
            repeats,
            next_repeat,
            resume,
            delta,
            full,
            timeout,
            doubt: None,
        })
    }

    /// Codes earlier runs left in doubt at this run's target (their
    /// answer was lost and the look-up failed, or they were in flight
    /// when a run was killed): a row with one of them is looked up
    /// before it is sent, as a resumed row in doubt is.
    pub fn with_doubt(mut self, doubt: Option<Doubt>) -> Self {
        self.doubt = doubt.filter(|d| !d.is_empty());
        self
    }

    /// The delta state the plan reads, for recording the outcomes.
    pub fn delta(&self) -> Option<&'a Delta> {
        self.delta
    }

    /// The fate of `row`, the next row in input order.
    pub fn plan(&mut self, row: CheckedRow) -> Result<Planned, InputError> {
        let repeat_of = match self.next_repeat.take_if(|d| d.row == row.row) {
            Some(d) => {
                self.next_repeat = self.repeats.next().transpose()?;
                Some(d.first_line)
            }
            None => None,
        };
        let earlier = match self.resume.as_mut() {
            Some(r) => r.finished(row.row).map_err(|source| InputError::Spill {
                dir: r.dir().to_owned(),
                source,
            })?,
            None => None,
        };
        if let Some(done) = earlier.filter(|o| o.code == row.code) {
            return Ok(Planned::Done(done));
        }
        let body = match (row.verdict, repeat_of) {
            (Verdict::Valid(body), None) => body,
            (verdict, repeat_of) => {
                let error = match verdict {
                    Verdict::Invalid(error) => error,
                    Verdict::Valid(_) => String::new(),
                };
                let outcome = Outcome::local(row.row, row.line, row.code, Status::Invalid, error);
                return Ok(Planned::Done(match repeat_of {
                    Some(first_line) => repeated(outcome, first_line),
                    None => outcome,
                }));
            }
        };
        let in_doubt = self
            .resume
            .as_ref()
            .filter(|r| r.is_in_doubt(row.row))
            .and_then(|r| r.lands_by(self.timeout))
            .or_else(|| {
                let d = self.doubt.as_ref().filter(|d| d.contains(&row.code))?;
                // Its create cannot land any more: look it up now.
                Some(d.lands_by.unwrap_or(std::time::SystemTime::UNIX_EPOCH))
            });
        let mut mode = self.mode;
        if let Some(delta) = self.delta {
            let hash = state::payload_hash(&body);
            match delta.lookup(&row.code) {
                Some(known) if known.confirmed() && known.hash == hash && !self.full => {
                    return Ok(Planned::Done(Outcome {
                        customer_id: Some(known.id),
                        ..Outcome::local(
                            row.row,
                            row.line,
                            row.code,
                            Status::Unchanged,
                            String::new(),
                        )
                    }));
                }
                // A known code with another payload is an update: the
                // customer exists, so only Overwrite=true can change it.
                Some(known) if known.hash != hash => mode = WriteMode::Overwrite,
                _ => {}
            }
            delta.expect(row.row, hash);
        }
        Ok(Planned::Send(Request {
            row: row.row,
            line: row.line,
            code: row.code,
            body,
            in_doubt,
            mode,
        }))
    }
}

/// A row whose code first came on `first_line`: `invalid`, with the
/// repeat added to whatever else it broke. The one producer of this
/// outcome, for an import's plan and for a check's results alike.
pub fn repeated(mut outcome: Outcome, first_line: u64) -> Outcome {
    let problem = duplicates::problem(first_line).to_string();
    outcome.status = Status::Invalid;
    outcome.error = if outcome.error.is_empty() {
        problem
    } else {
        format!("{}; {problem}", outcome.error)
    };
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::pass;
    use crate::input::{InputFile, InputOptions};
    use crate::plan::rows::RowsWriter;
    use crate::util::spill::Scratch;

    /// What the planner made of each row of `text`: `send <mode>` or the
    /// status and error of a row not sent.
    fn planned(text: &str, delta: Option<&Delta>, full: bool) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        let file = InputFile::open(&path, None).unwrap();
        let mut writer = RowsWriter::create(dir.path()).unwrap();
        let mut pass = pass::run(
            &file,
            &InputOptions::default(),
            &Scratch::in_dir(dir.path()),
            &mut pass::FnSink(|row: &pass::Checked<'_>| {
                writer.push(row).unwrap();
                true
            }),
        )
        .unwrap();
        let rows = writer.finish().unwrap();
        let mut planner = Planner::new(
            WriteMode::Create,
            pass.take_repeats().unwrap(),
            None,
            delta,
            full,
            Duration::from_secs(30),
        )
        .unwrap();
        let mut read = rows.read().unwrap();
        let mut row = CheckedRow::default();
        let mut out = Vec::new();
        while read.next_into(&mut row).unwrap() {
            out.push(match planner.plan(std::mem::take(&mut row)).unwrap() {
                Planned::Send(r) => format!("send {}", r.mode),
                Planned::Done(o) => format!("{} {}", o.status, o.error).trim_end().to_owned(),
            });
        }
        assert_eq!(out.len() as u64, rows.len());
        out
    }

    #[test]
    fn invalid_rows_and_repeated_codes_are_not_sent() {
        let got = planned(
            "CustomerCode,Name\nA,Ann\nA,Ann again\nB,\nB,Bob\nC,Cas\n",
            None,
            false,
        );
        assert_eq!(
            got,
            [
                "send create",
                "invalid CustomerCode: duplicate of line 2; only the first row with a code is sent",
                "invalid Name: is required",
                "invalid CustomerCode: duplicate of line 4; only the first row with a code is sent",
                "send create",
            ]
        );
    }

    #[test]
    fn the_delta_state_makes_unchanged_rows_done_and_changed_rows_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let target = "http://127.0.0.1:1/v2 (test key)";
        let first = "Code,Name\nA,Ann\nB,Bob\nC,Cas\n";
        {
            let delta = Delta::open(&db, target).unwrap();
            assert_eq!(planned(first, Some(&delta), false), ["send create"; 3]);
            for (row, code, status) in [(1, "A", Status::Created), (2, "B", Status::Exists)] {
                delta.record(&Outcome {
                    customer_id: Some(format!("id-{code}")),
                    ..Outcome::local(row, row + 1, code.into(), status, String::new())
                });
            }
            // C failed: nothing recorded, so it is sent again.
            delta.finish().unwrap();
        }
        let delta = Delta::open(&db, target).unwrap();
        let again = "Code,Name\nA,Ann\nB,Bob changed\nC,Cas\n";
        assert_eq!(
            planned(again, Some(&delta), false),
            ["unchanged", "send overwrite", "send create"]
        );
        assert_eq!(
            planned(again, Some(&delta), true),
            ["send create", "send overwrite", "send create"],
            "--full sends unchanged rows"
        );
    }
}
