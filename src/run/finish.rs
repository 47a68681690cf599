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
//! Failures to write are [`super::RunError`]s. [`Ending`] holds the rules
//! and touches nothing; [`finish`] applies them, once per run. Neither
//! reads the input or talks to the network.

use std::io;
use std::path::{Path, PathBuf};

use super::next_step::Commands;
use super::start::commands;
use super::{RunError, RunFiles};
use crate::config::RunConfig;
use crate::exit;
use crate::input::InputError;
use crate::model::outcome::Counts;
use crate::output::errors_file;
use crate::output::report::{PaceFacts, Reporter, Totals};
use crate::output::set::{InputRows, Outputs, RowsDone};
use crate::store::journal::JournalError;
use crate::upload::StopReason;

/// Where the run ended.
#[derive(Debug, Clone, Copy)]
pub enum End<'a> {
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

/// An import's end, with what decides what follows.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// Where the sending ended.
    pub end: End<'a>,
    /// At least one request went out.
    pub anything_sent: bool,
    /// Sent to the embedded sandbox (never resumable).
    pub sandbox: bool,
}

impl Ending<'_> {
    /// Whether the journal stays for `--resume` (and the run folder counts
    /// as unfinished).
    pub fn keeps_journal(&self) -> bool {
        self.anything_sent && !matches!(self.end, End::Reached)
    }

    /// The exit code of a run that ended without a [`super::RunError`].
    pub fn exit_code(&self, counts: &Counts) -> u8 {
        match self.end {
            End::Stopped(StopReason::Interrupted) => exit::INTERRUPTED,
            End::Stopped(_) | End::RowsUnreadable | End::WriteFailed => exit::ABORTED,
            End::Reached | End::Checked if counts.all_succeeded() => exit::OK,
            End::Reached | End::Checked => exit::ROWS_FAILED,
        }
    }

    /// The line that says what to do next; `None` when there is nothing to do.
    pub fn next_step(
        &self,
        commands: &Commands<'_>,
        not_imported: u64,
        errors: Option<&Path>,
    ) -> Option<String> {
        match self.end {
            End::Checked => Some(commands.after_check(not_imported, errors)),
            End::Reached => commands.after_import(not_imported, errors),
            _ if !self.anything_sent => Some(format!(
                "nothing was sent; start again: {}",
                commands.import()
            )),
            End::Stopped(_) | End::RowsUnreadable | End::WriteFailed => {
                Some(commands.after_stop(self.sandbox))
            }
        }
    }
}

/// How a run's rows ended, handed to [`finish`].
pub(crate) struct Finished<'a> {
    /// Outcomes per status.
    pub counts: Counts,
    /// The finished results file, or why it could not be written.
    pub written: io::Result<PathBuf>,
    /// The checked rows could not be read back, cutting the run short.
    pub read_err: Option<InputError>,
    /// The encoding and delimiter, for the summary.
    pub input: String,
    /// The input's rows again, for the outputs made from them.
    pub rows: InputRows<'a>,
    /// How the sending went; `None` for a check, which sends nothing.
    pub sending: Option<Sending>,
}

/// How an import's sending ended.
pub(crate) struct Sending {
    pub stop: Option<StopReason>,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    /// How requests were paced and what was learned.
    pub pace: PaceFacts,
    /// To the embedded sandbox (never resumable).
    pub sandbox: bool,
    /// Closing (and syncing) the journal.
    pub closed: Result<(), JournalError>,
}

/// The one place a run's end becomes an exit code or a [`RunError`], a
/// next-step line, a kept or removed journal, the outputs made from its
/// rows and the summary the reporter shows.
pub(crate) fn finish(
    run: &RunConfig,
    files: &RunFiles,
    outputs: &mut Outputs,
    reporter: &Reporter,
    finished: Finished<'_>,
) -> Result<u8, RunError> {
    let Finished {
        counts,
        written,
        read_err,
        input,
        rows,
        sending,
    } = finished;
    let commands = commands(run);
    let ending = match &sending {
        None => Ending {
            end: End::Checked,
            anything_sent: false,
            sandbox: false,
        },
        Some(s) => Ending {
            end: match (&s.stop, &read_err, &written) {
                (_, _, Err(_)) | (Some(StopReason::Journal(_)), _, _) => End::WriteFailed,
                (Some(stop), _, _) => End::Stopped(stop),
                (None, Some(_), _) => End::RowsUnreadable,
                (None, None, Ok(_)) => End::Reached,
            },
            anything_sent: s.requests > 0,
            sandbox: s.sandbox,
        },
    };
    if sending.is_some() && !ending.keeps_journal() {
        // Nothing to resume, and the folder no longer blocks a run.
        let _ = std::fs::remove_file(&files.journal);
    }
    let resume = || commands.continue_after_failure(ending.sandbox);
    // Write failures first: they decide what is safe to say.
    let path = match written {
        Ok(path) => path,
        Err(e) => {
            return Err(RunError::writing(
                &files.results,
                &e,
                ending.anything_sent,
                resume(),
            ));
        }
    };
    if let Some(s) = &sending {
        // The journal could not be written: the user gets the failed
        // write's remedy, as for the results file.
        if let Some(StopReason::Journal(e)) = &s.stop
            && let JournalError::Io { source, .. } = e.as_ref()
        {
            return Err(RunError::writing(
                &files.journal,
                source,
                ending.anything_sent,
                resume(),
            ));
        }
        if let Err(e) = &s.closed {
            if matches!(ending.end, End::Reached) {
                // The journal is not needed any more: the results are complete.
                tracing::warn!("{e}");
            } else if ending.anything_sent {
                return Err(RunError::AfterSending {
                    failure: format!("cannot sync {e}"),
                    remedy: "fix the cause",
                    resume: resume(),
                });
            }
        }
    }
    let stopped = match sending.as_ref().and_then(|s| s.stop.as_ref()) {
        Some(reason) => Some(reason.to_string()),
        None => read_err.as_ref().map(|e| format!("{e}")),
    };
    let written = outputs.rows_done(&RowsDone {
        counts: &counts,
        results: &path,
        files,
        rows: read_err.is_none().then_some(&rows),
        reporter,
    });
    let errors = written.get(errors_file::NAME);
    let next = ending.next_step(&commands, errors_file::count(&counts), errors);
    reporter.summary(&Totals {
        counts: &counts,
        elapsed: outputs.started().elapsed(),
        requests: sending.as_ref().map(|s| s.requests),
        retries: sending.as_ref().map_or(0, |s| s.retries),
        rate_limited: sending.as_ref().map_or(0, |s| s.rate_limited),
        input,
        results: &path,
        errors,
        stopped: stopped.clone(),
        next,
        pace: sending.as_ref().map(|s| s.pace.clone()),
    });
    if let Some(why) = &stopped {
        tracing::error!("{why}");
    }
    Ok(ending.exit_code(&counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::outcome::Status;

    fn ending(end: End<'_>, anything_sent: bool) -> Ending<'_> {
        Ending {
            end,
            anything_sent,
            sandbox: false,
        }
    }

    #[test]
    fn only_a_run_that_stopped_after_sending_keeps_its_journal() {
        let stop = StopReason::Interrupted;
        assert!(ending(End::Stopped(&stop), true).keeps_journal());
        assert!(ending(End::RowsUnreadable, true).keeps_journal());
        assert!(ending(End::WriteFailed, true).keeps_journal());
        assert!(!ending(End::Reached, true).keeps_journal());
        assert!(!ending(End::Stopped(&stop), false).keeps_journal());
    }

    #[test]
    fn exit_codes_follow_the_end() {
        let mut counts = Counts::default();
        counts.add(Status::Created);
        assert_eq!(ending(End::Reached, true).exit_code(&counts), 0);
        let interrupted = StopReason::Interrupted;
        let too_many = StopReason::TooManyErrors(3);
        assert_eq!(
            ending(End::Stopped(&interrupted), true).exit_code(&counts),
            130
        );
        assert_eq!(ending(End::Stopped(&too_many), true).exit_code(&counts), 3);
        assert_eq!(ending(End::RowsUnreadable, true).exit_code(&counts), 3);
        counts.add(Status::Failed);
        assert_eq!(ending(End::Reached, true).exit_code(&counts), 1);
    }

    #[test]
    fn the_next_step_never_asks_to_fix_rows_of_a_stopped_run() {
        let commands = Commands::new(Path::new("k.csv"), None);
        let errors = Some(Path::new("k.runs/a/errors.csv"));
        let stop = StopReason::Interrupted;
        let stopped = ending(End::Stopped(&stop), true)
            .next_step(&commands, 9, errors)
            .unwrap();
        assert!(
            stopped.ends_with("notify-import import k.csv --resume"),
            "{stopped}"
        );
        assert!(!stopped.contains("fix"), "{stopped}");
        let nothing = ending(End::Stopped(&stop), false)
            .next_step(&commands, 9, errors)
            .unwrap();
        assert!(!nothing.contains("--resume"), "{nothing}");
        let finished = ending(End::Reached, true).next_step(&commands, 9, errors);
        assert!(finished.unwrap().contains("k.runs/a/errors.csv"));
        assert_eq!(
            ending(End::Reached, true).next_step(&commands, 0, None),
            None
        );
    }
}
