//! Plan: the only owner of a row's fate.
//!
//! Owns the decision for every checked row: invalid (a local rule), a
//! repeated code (only its first row is sent), done in an earlier run
//! (`--resume`), unchanged since its last import (delta state), and with
//! what Notify holds ([`Holds`], learnt before planning): unchanged (Notify
//! already has these values), not found (`--mode update`), exists (`plan`
//! in create mode), or send with a [`WriteMode`]: a create, or an update
//! of the changed fields only ([`diff`]). A resumed run re-sends the
//! update it journaled, before-image included, without comparing anew. A
//! create is looked up first when an earlier run left it in doubt (the
//! journal of a resumed run, or the codes of `store::doubt`). It reads
//! what `store/` recorded (journal, delta state, doubt) but `store/`
//! decides nothing; the uploader executes the plan as it is. [`rows`]
//! keeps an import's checked rows on disk in between. [`undo`] decides,
//! for `undo`, what taking back each row a run changed takes.
//!
//! It must not read the input (the pass did), touch the network (what
//! Notify holds is handed to it), or write outputs.

pub mod diff;
pub mod rows;
pub mod undo;

use std::time::Duration;

use crate::check::duplicates::{self, Duplicate, Duplicates};
use crate::input::InputError;
use crate::model::checked::{CheckedRow, Verdict};
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::{FieldChange, Planned, Request, Update, Write, WriteMode};
use crate::model::remote::Existing;
use crate::store::doubt::Doubt;
use crate::store::journal::Resume;
use crate::store::state::{self, Delta};
use diff::Clearable;

/// What Notify holds for the file's codes, as the planner asks it: one
/// code at a time, in input order. Learnt before planning (the planner
/// itself never touches the network).
pub trait Holds {
    /// The customer Notify holds with `code`, if any.
    fn existing(&mut self, code: &str) -> Result<Option<Existing>, InputError>;
}

/// What the planner weighs besides the row itself.
pub struct Planner<'a> {
    mode: WriteMode,
    /// What Notify holds: needed by `--mode upsert`/`update` and by
    /// `plan`; `None` for an import that only creates or overwrites.
    remote: Option<Box<dyn Holds + Send>>,
    /// The fields a blank cell clears (`--clear-empty`).
    clear: Clearable,
    /// Where the checked rows are kept, for the error of one that no
    /// longer reads back.
    rows_dir: std::path::PathBuf,
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
            remote: None,
            clear: Clearable::NONE,
            rows_dir: std::path::PathBuf::new(),
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

    /// Compares every row with what Notify holds (`remote`); a blank
    /// cell of a `clear` field clears Notify's value. The checked rows
    /// are kept in `rows_dir`.
    pub fn comparing(
        mut self,
        remote: Box<dyn Holds + Send>,
        clear: Clearable,
        rows_dir: &std::path::Path,
    ) -> Planner<'a> {
        self.remote = Some(remote);
        self.clear = clear;
        rows_dir.clone_into(&mut self.rows_dir);
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
        let (row_no, line) = (row.row, row.line);
        let send = |code: String, in_doubt, write| {
            Ok(Planned::Send(Request {
                row: row_no,
                line,
                code,
                in_doubt,
                write,
            }))
        };
        // The update that run journaled, sent again as it was: Notify may
        // hold its new values by now, and its before-image must stay the
        // one from before that run.
        if let Some(update) = self.resume.as_mut().and_then(|r| r.update(row_no)) {
            return send(row.code, None, Write::Update(update));
        }
        let in_doubt = self
            .resume
            .as_ref()
            .filter(|r| r.is_in_doubt(row_no))
            .and_then(|r| r.lands_by(self.timeout))
            .or_else(|| {
                let d = self.doubt.as_ref().filter(|d| d.contains(&row.code))?;
                // Its create cannot land any more: look it up now.
                Some(d.lands_by.unwrap_or(std::time::SystemTime::UNIX_EPOCH))
            });
        let create = |body, overwrite, existing| Write::Create {
            body,
            overwrite,
            existing,
        };
        // A create of an earlier run may have gone through: the uploader
        // looks the code up before sending again, whatever Notify held
        // when this run began.
        if in_doubt.is_some() {
            let overwrite = self.mode == WriteMode::Overwrite;
            return send(row.code, in_doubt, create(body, overwrite, None));
        }
        let existing = match self.remote.as_mut() {
            Some(remote) => remote.existing(&row.code)?,
            None => None,
        };
        let done = |code: String, status, id: Option<String>| {
            Ok(Planned::Done(Outcome {
                customer_id: id,
                ..Outcome::local(row_no, line, code, status, String::new())
            }))
        };
        match (self.mode, existing) {
            (WriteMode::Create, Some(e)) => done(row.code, Status::Exists, Some(e.id)),
            (WriteMode::Overwrite, Some(e)) => {
                let changes = self.changes(&body, &e, Clearable::NONE)?;
                let update = Update { id: e.id, changes };
                send(row.code, None, create(body, true, Some(update)))
            }
            (WriteMode::Upsert | WriteMode::Update, Some(e)) => {
                let changes = self.changes(&body, &e, self.clear)?;
                if changes.is_empty() {
                    return done(row.code, Status::Unchanged, Some(e.id));
                }
                send(row.code, None, Write::Update(Update { id: e.id, changes }))
            }
            (WriteMode::Update, None) => done(row.code, Status::NotFound, None),
            (WriteMode::Upsert, None) => send(row.code, None, create(body, false, None)),
            (WriteMode::Create | WriteMode::Overwrite, None) => {
                let mut overwrite = self.mode == WriteMode::Overwrite;
                if let Some(delta) = self.delta {
                    let hash = state::payload_hash(&body);
                    match delta.lookup(&row.code) {
                        Some(known) if known.confirmed() && known.hash == hash && !self.full => {
                            return done(row.code, Status::Unchanged, Some(known.id));
                        }
                        // A known code with another payload is an update:
                        // the customer exists, so only Overwrite=true can
                        // change it.
                        Some(known) if known.hash != hash => overwrite = true,
                        _ => {}
                    }
                    delta.expect(row_no, hash);
                }
                send(row.code, None, create(body, overwrite, None))
            }
        }
    }

    /// What an update of `existing` to the row's `body` changes.
    fn changes(
        &self,
        body: &[u8],
        existing: &Existing,
        clear: Clearable,
    ) -> Result<Vec<FieldChange>, InputError> {
        let file = diff::customer_of_body(body).ok_or_else(|| InputError::Spill {
            dir: self.rows_dir.clone(),
            source: std::io::Error::other("a checked row's body no longer reads back"),
        })?;
        Ok(diff::changes(&file, &existing.customer, clear))
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
    use crate::model::field::Field;
    use crate::plan::rows::RowsWriter;
    use crate::util::spill::Scratch;

    /// What the planner made of each row of `text`: `send <mode>` or the
    /// status and error of a row not sent.
    fn planned(text: &str, delta: Option<&Delta>, full: bool) -> Vec<String> {
        planned_in(text, WriteMode::Create, None, delta, full)
    }

    /// What Notify holds, as a test gives it.
    struct Given(Vec<Existing>);

    impl Holds for Given {
        fn existing(&mut self, code: &str) -> Result<Option<Existing>, InputError> {
            Ok(self.0.iter().find(|e| e.code() == code).cloned())
        }
    }

    /// A customer Notify holds: id `id-<code>`, and these fields.
    fn held(code: &str, values: &[(Field, &str)]) -> Existing {
        let mut customer = crate::model::customer::Customer::default();
        customer.set(Field::CustomerCode, code);
        for (f, v) in values {
            customer.set(*f, *v);
        }
        Existing {
            id: format!("id-{code}"),
            customer,
        }
    }

    /// As [`planned`], in `mode` against what Notify holds (`given`,
    /// with the fields `--clear-empty` clears).
    fn planned_in(
        text: &str,
        mode: WriteMode,
        given: Option<(Vec<Existing>, Clearable)>,
        delta: Option<&Delta>,
        full: bool,
    ) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        let file = InputFile::open(&path, &crate::input::InputOptions::default()).unwrap();
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
            mode,
            pass.take_repeats().unwrap(),
            None,
            delta,
            full,
            Duration::from_secs(30),
        )
        .unwrap();
        if let Some((given, clear)) = given {
            planner = planner.comparing(Box::new(Given(given)), clear, dir.path());
        }
        let mut read = rows.read().unwrap();
        let mut row = CheckedRow::default();
        let mut out = Vec::new();
        while read.next_into(&mut row).unwrap() {
            out.push(match planner.plan(std::mem::take(&mut row)).unwrap() {
                Planned::Send(r) => match r.write {
                    Write::Create {
                        overwrite: true, ..
                    } => "send overwrite".to_owned(),
                    Write::Create { .. } => "send create".to_owned(),
                    Write::Update(u) => {
                        let changes: Vec<String> = u
                            .changes
                            .iter()
                            .map(|c| format!("{} {:?}->{:?}", c.field, c.old, c.new))
                            .collect();
                        format!("update {} {}", u.id, changes.join(" "))
                    }
                },
                Planned::Done(o) => [
                    o.status.to_string(),
                    o.customer_id.unwrap_or_default(),
                    o.error,
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
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
    fn upsert_creates_new_codes_updates_changed_fields_and_skips_the_rest() {
        let text =
            "Code,Name,City,Phone\nA,Ann,Delft,\nB,Bob,Ede,0201234567\nC,Cas,,\nA,Ann twice,,\n";
        let given = vec![
            held(
                "A",
                &[
                    (Field::Name, "Ann"),
                    (Field::City, "Ede"),
                    (Field::Phone, "0612345678"),
                ],
            ),
            held(
                "B",
                &[
                    (Field::Name, "Bob"),
                    (Field::City, "Ede "),
                    (Field::Phone, "0201234567"),
                ],
            ),
        ];
        let upsert = planned_in(
            text,
            WriteMode::Upsert,
            Some((given.clone(), Clearable::NONE)),
            None,
            false,
        );
        assert_eq!(
            upsert,
            [
                r#"update id-A City "Ede"->"Delft""#,
                "unchanged id-B",
                "send create",
                "invalid CustomerCode: duplicate of line 2; only the first row with a code is sent",
            ]
        );
        let update = planned_in(
            text,
            WriteMode::Update,
            Some((
                given.clone(),
                Clearable::of([Field::Name, Field::City, Field::Phone]),
            )),
            None,
            false,
        );
        assert_eq!(
            &update[..3],
            [
                r#"update id-A City "Ede"->"Delft" Phone "0612345678"->"""#,
                "unchanged id-B",
                "not_found",
            ],
            "update mode creates nothing; --clear-empty clears the blank Phone"
        );
        let create = planned_in(
            text,
            WriteMode::Create,
            Some((given.clone(), Clearable::NONE)),
            None,
            false,
        );
        assert_eq!(&create[..3], ["exists id-A", "exists id-B", "send create"]);
        let overwrite = planned_in(
            text,
            WriteMode::Overwrite,
            Some((given, Clearable::NONE)),
            None,
            false,
        );
        assert_eq!(&overwrite[..3], ["send overwrite"; 3]);
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
            ["unchanged id-A", "send overwrite", "send create"]
        );
        assert_eq!(
            planned(again, Some(&delta), true),
            ["send create", "send overwrite", "send create"],
            "--full sends unchanged rows"
        );
    }
}
