//! How a run ends, check or import: its exit code, its next-step line,
//! whether its journal stays, and when the outputs made from its rows are
//! written (the errors file; see [`crate::output::set`]) and its summary
//! shown.
//!
//! Owns those rules, so the wiring in [`crate::run::pipeline`] holds none:
//! a run that reached the end of its input is finished (its journal goes,
//! its rows not imported are in its errors file); a run that stopped after
//! sending keeps its journal for `--resume`; a run that sent nothing has
//! nothing to resume; a check ends like an import that sent nothing.
//! Failures to write are [`super::RunError`]s. Neither [`End`] nor
//! [`finish`] reads the input or talks to the network.
//!
//! One word for one idea, the end of a run:
//! - [`RunEnd`]: everything a run hands over once its rows are over: its
//!   [`RowsEnd`] (the part a check and an import share: counts, results
//!   file, a read error) and, for an import, its [`UploadEnd`] (how the
//!   sending stopped, what it cost, the journal closed);
//! - [`End`]: what of it decides what follows (its [`EndKind`], whether
//!   anything was sent, whether to the sandbox); it holds the rules and
//!   touches nothing;
//! - [`finish`]: the verb, the one function that applies them, once per
//!   run.
//!
//! A row's end is another idea: its [`crate::model::outcome::Outcome`].

use std::io;
use std::path::{Path, PathBuf};

use super::next_step::{Commands, Unmapped};
use super::start::commands;
use super::{RunError, RunFiles};
use crate::config::RunConfig;
use crate::exit;
use crate::input::InputError;
use crate::model::outcome::Counts;
use crate::model::timeline::Timeline;
use crate::output::errors_file;
use crate::output::report::{PaceFacts, Reporter, Totals};
use crate::output::set::{InputRows, Outputs, RowsDone};
use crate::store::journal::JournalError;
use crate::upload::StopReason;

/// Where a run ended.
#[derive(Debug, Clone, Copy)]
pub enum EndKind<'a> {
    /// A check (`validate`, `--dry-run`) gave every row its outcome.
    Checked,
    /// Every row of the input has its final outcome.
    Reached,
    /// Sending stopped early (signal, `--max-errors`, unreachable API...).
    Stopped(&'a StopReason),
    /// The run's checked rows could not be read back.
    RowsUnreadable,
    /// The results file or the journal could not be written.
    WriteFailed,
}

/// A run's end, with what decides what follows.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    /// Where the run ended.
    pub kind: EndKind<'a>,
    /// At least one request went out.
    pub anything_sent: bool,
    /// Sent to the embedded sandbox (never resumable).
    pub sandbox: bool,
}

impl End<'_> {
    /// Whether the journal stays for `--resume` (and the run folder counts
    /// as unfinished).
    pub fn keeps_journal(&self) -> bool {
        self.anything_sent && !matches!(self.kind, EndKind::Reached)
    }

    /// The exit code of a run that ended without a [`super::RunError`].
    pub fn exit_code(&self, counts: &Counts) -> u8 {
        match self.kind {
            EndKind::Stopped(StopReason::Interrupted) => exit::INTERRUPTED,
            EndKind::Stopped(_) | EndKind::RowsUnreadable | EndKind::WriteFailed => exit::ABORTED,
            EndKind::Reached | EndKind::Checked if counts.all_succeeded() => exit::OK,
            EndKind::Reached | EndKind::Checked => exit::ROWS_FAILED,
        }
    }

    /// The line that says what to do next; `None` when there is nothing to do.
    pub fn next_step(
        &self,
        commands: &Commands<'_>,
        not_imported: u64,
        errors: Option<&Path>,
        unmapped: Option<&Unmapped>,
    ) -> Option<String> {
        match (self.kind, unmapped) {
            // Every row lacks the field: the remedy is a mapping.
            (EndKind::Checked, Some(u)) => return Some(commands.after_unmapped(u, true)),
            (EndKind::Reached, Some(u)) if not_imported > 0 => {
                return Some(commands.after_unmapped(u, false));
            }
            _ => {}
        }
        match self.kind {
            EndKind::Checked => Some(commands.after_check(not_imported, errors)),
            EndKind::Reached => commands.after_import(not_imported, errors),
            _ if !self.anything_sent => Some(format!(
                "nothing was sent; start again: {}",
                commands.import()
            )),
            EndKind::Stopped(_) | EndKind::RowsUnreadable | EndKind::WriteFailed => {
                Some(commands.after_stop(self.sandbox))
            }
        }
    }
}

/// Everything a run hands to [`finish`] once its rows are over.
pub(crate) struct RunEnd<'a> {
    /// How the rows ended.
    pub rows: RowsEnd,
    /// The encoding and delimiter, for the summary.
    pub input: String,
    /// The input's rows again, for the outputs made from them.
    pub cells: InputRows<'a>,
    /// How the sending ended; `None` for a check, which sends nothing.
    pub upload: Option<UploadEnd>,
    /// A required field no column feeds (every row invalid for it).
    pub unmapped: Option<Unmapped>,
}

/// How a run's rows ended, check or import.
pub(crate) struct RowsEnd {
    /// Outcomes per status.
    pub counts: Counts,
    /// The finished results file, or why it could not be written.
    pub written: io::Result<PathBuf>,
    /// The checked rows could not be read back, cutting the run short.
    pub read_err: Option<InputError>,
}

/// How an import's sending ended.
pub(crate) struct UploadEnd {
    /// Why the sending stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Requests sent.
    pub requests: u64,
    /// The run continues an unfinished run's journal, which records the
    /// sends of the run it continues: something was sent even when this
    /// process sends nothing more (its journal must stay, or become
    /// `journal.done`, like that of a run that sent).
    pub resumed: bool,
    /// Requests repeated after a failed attempt.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// How requests were paced and what was learned.
    pub pace: PaceFacts,
    /// To the embedded sandbox (never resumable).
    pub sandbox: bool,
    /// Closing (and syncing) the journal.
    pub closed: Result<(), JournalError>,
    /// Requests and 429 answers over time.
    pub timeline: Timeline,
}

/// The one place a run's end becomes an exit code or a [`RunError`], a
/// next-step line, a kept or removed journal, the outputs made from its
/// rows and the summary the reporter shows.
pub(crate) fn finish(
    run: &RunConfig,
    files: &RunFiles,
    outputs: &mut Outputs,
    reporter: &Reporter,
    run_end: RunEnd<'_>,
) -> Result<u8, RunError> {
    let RunEnd {
        rows: RowsEnd {
            counts,
            written,
            read_err,
        },
        input,
        cells,
        upload,
        unmapped,
    } = run_end;
    let commands = commands(run);
    // A plan reads Notify and writes nothing there: it ends as a check
    // does, with nothing to resume.
    let planned = run.upload.as_ref().is_some_and(|u| u.plan_only);
    let end = match &upload {
        None => End {
            kind: EndKind::Checked,
            anything_sent: false,
            sandbox: false,
        },
        Some(u) => End {
            kind: match (&u.stop, &read_err, &written) {
                (_, _, Err(_)) | (Some(StopReason::Journal(_)), _, _) => EndKind::WriteFailed,
                (Some(stop), _, _) => EndKind::Stopped(stop),
                (None, Some(_), _) => EndKind::RowsUnreadable,
                (None, None, Ok(_)) if planned => EndKind::Checked,
                (None, None, Ok(_)) => EndKind::Reached,
            },
            anything_sent: (u.requests > 0 || u.resumed) && !planned,
            sandbox: u.sandbox,
        },
    };
    if upload.is_some() && !end.keeps_journal() {
        // What the journal leaves in doubt goes on to the next run.
        super::recovery::carry(run, files, matches!(end.kind, EndKind::Reached));
        // Nothing to resume, and the folder no longer blocks a run. What
        // a finished run sent stays readable, for `undo` (the ids it
        // created, the before-images of what it updated).
        let done = files.folder.finished_journal();
        if !(end.anything_sent && crate::util::run_dir::exists(&files.journal))
            || crate::util::run_dir::rename(&files.journal, &done).is_err()
        {
            let _ = crate::util::run_dir::remove_file(&files.journal);
        }
    }
    let resume = || commands.continue_after_failure(end.sandbox);
    // Write failures first: they decide what is safe to say.
    let path = match written {
        Ok(path) => path,
        Err(e) => {
            return Err(RunError::writing(
                &files.results,
                &e,
                end.anything_sent,
                resume(),
            ));
        }
    };
    if let Some(u) = &upload {
        // The journal could not be written: the user gets the failed
        // write's remedy, as for the results file.
        if let Some(StopReason::Journal(e)) = &u.stop
            && let JournalError::Io { source, .. } = e.as_ref()
        {
            return Err(RunError::writing(
                &files.journal,
                source,
                end.anything_sent,
                resume(),
            ));
        }
        if let Err(e) = &u.closed {
            if matches!(end.kind, EndKind::Reached) {
                // The journal is not needed any more: the results are complete.
                tracing::warn!("{e}");
            } else if end.anything_sent {
                return Err(RunError::AfterSending {
                    failure: format!("cannot sync {e}"),
                    remedy: "fix the cause",
                    resume: resume(),
                });
            }
        }
    }
    let stopped = match upload.as_ref().and_then(|u| u.stop.as_ref()) {
        Some(reason) => Some(reason.to_string()),
        None => read_err.as_ref().map(|e| format!("{e}")),
    };
    let written = outputs.rows_done(&RowsDone {
        counts: &counts,
        results: &path,
        files,
        rows: read_err.is_none().then_some(&cells),
        reporter,
    });
    let errors = written.get(errors_file::NAME);
    let mut next = match end.kind {
        EndKind::Checked if planned && unmapped.is_none() => Some(commands.after_plan(
            errors_file::count(&counts),
            errors,
            files.unfinished_import.as_deref(),
        )),
        // Stopped while reading Notify: nothing to resume, plan again.
        EndKind::Stopped(_) | EndKind::RowsUnreadable if planned => Some(format!(
            "nothing was written to Notify; plan again: {}",
            commands.plan()
        )),
        _ => end.next_step(
            &commands,
            errors_file::count(&counts),
            errors,
            unmapped.as_ref(),
        ),
    };
    if matches!(end.kind, EndKind::Reached) && unmapped.is_none() && !planned {
        let in_doubt = super::recovery::left_in_doubt(run, files);
        if in_doubt > 0 {
            next = Some(commands.after_doubt(in_doubt, errors));
        }
    }
    reporter.summary(&Totals {
        counts: &counts,
        elapsed: outputs.started().elapsed(),
        requests: upload.as_ref().map(|u| u.requests),
        retries: upload.as_ref().map_or(0, |u| u.retries),
        rate_limited: upload.as_ref().map_or(0, |u| u.rate_limited),
        input,
        results: &path,
        errors,
        stopped: stopped.clone(),
        next,
        pace: upload.as_ref().map(|u| u.pace.clone()),
        report: files.report.as_deref(),
        timeline: upload.as_ref().map(|u| &u.timeline),
        mode: run.upload.as_ref().filter(|_| !planned).map(|u| u.mode),
    });
    if let Some(why) = &stopped {
        tracing::error!("{why}");
    }
    Ok(end.exit_code(&counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::outcome::Status;

    fn end(kind: EndKind<'_>, anything_sent: bool) -> End<'_> {
        End {
            kind,
            anything_sent,
            sandbox: false,
        }
    }

    #[test]
    fn only_a_run_that_stopped_after_sending_keeps_its_journal() {
        let stop = StopReason::Interrupted;
        assert!(end(EndKind::Stopped(&stop), true).keeps_journal());
        assert!(end(EndKind::RowsUnreadable, true).keeps_journal());
        assert!(end(EndKind::WriteFailed, true).keeps_journal());
        assert!(!end(EndKind::Reached, true).keeps_journal());
        assert!(!end(EndKind::Stopped(&stop), false).keeps_journal());
    }

    #[test]
    fn exit_codes_follow_the_end() {
        let mut counts = Counts::default();
        counts.add(Status::Created);
        assert_eq!(end(EndKind::Reached, true).exit_code(&counts), 0);
        let interrupted = StopReason::Interrupted;
        let too_many = StopReason::TooManyErrors(3);
        assert_eq!(
            end(EndKind::Stopped(&interrupted), true).exit_code(&counts),
            130
        );
        assert_eq!(end(EndKind::Stopped(&too_many), true).exit_code(&counts), 3);
        assert_eq!(end(EndKind::RowsUnreadable, true).exit_code(&counts), 3);
        counts.add(Status::Failed);
        assert_eq!(end(EndKind::Reached, true).exit_code(&counts), 1);
    }

    #[test]
    fn the_next_step_never_asks_to_fix_rows_of_a_stopped_run() {
        let commands = Commands::new(Path::new("k.csv"), None);
        let errors = Some(Path::new("k.runs/a/errors.csv"));
        let stop = StopReason::Interrupted;
        let stopped = end(EndKind::Stopped(&stop), true)
            .next_step(&commands, 9, errors, None)
            .unwrap();
        assert!(
            stopped.ends_with("notify-import import k.csv --resume"),
            "{stopped}"
        );
        assert!(!stopped.contains("fix"), "{stopped}");
        let nothing = end(EndKind::Stopped(&stop), false)
            .next_step(&commands, 9, errors, None)
            .unwrap();
        assert!(!nothing.contains("--resume"), "{nothing}");
        let finished = end(EndKind::Reached, true).next_step(&commands, 9, errors, None);
        assert!(finished.unwrap().contains("k.runs/a/errors.csv"));
        assert_eq!(
            end(EndKind::Reached, true).next_step(&commands, 0, None, None),
            None
        );
    }
}
