//! How an import's end becomes its exit code, its next-step line and
//! whether its journal stays.
//!
//! Owns those three rules, so the wiring in [`crate::pipeline`] holds none:
//! a run that reached the end of its input is finished (its journal goes,
//! its rows not imported are in its errors file); a run that stopped after
//! sending keeps its journal for `--resume`; a run that sent nothing has
//! nothing to resume. Failures to write are [`super::RunError`]s. It must
//! not print or touch files.

use std::path::Path;

use super::next_step::Commands;
use crate::exit;
use crate::outcome::Counts;
use crate::upload::StopReason;

/// Where the sending ended.
#[derive(Debug, Clone, Copy)]
pub enum End<'a> {
    /// Every row of the input has its final outcome.
    Reached,
    /// Sending stopped early (signal, `--max-errors`, unreachable API...).
    Stopped(&'a StopReason),
    /// The input changed while it was read a second time.
    InputChanged,
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
            End::Stopped(_) | End::InputChanged | End::WriteFailed => exit::ABORTED,
            End::Reached if counts.all_succeeded() => exit::OK,
            End::Reached => exit::ROWS_FAILED,
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
            End::Reached => commands.after_import(not_imported, errors),
            _ if !self.anything_sent => Some(format!(
                "nothing was sent; start again: {}",
                commands.import()
            )),
            // The changed input cannot be matched with the journal.
            End::InputChanged => Some(format!(
                "the input changed while it was read; import it as a new run: {} --restart",
                commands.import()
            )),
            End::Stopped(_) | End::WriteFailed => Some(commands.after_stop(self.sandbox)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

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
        assert!(ending(End::InputChanged, true).keeps_journal());
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
        assert_eq!(ending(End::InputChanged, true).exit_code(&counts), 3);
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
