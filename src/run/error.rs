//! The error that ends a run, and the exit code it means.
//!
//! Owns the rule of the exit-code contract for failures: exit 2 only when
//! nothing was sent (the run can simply be started again); any failure
//! after the first request exits 3 and says what is safe and how to
//! continue (`--resume`), because customers were created and the journal
//! holds every sent row. It must not print or decide anything else.

use std::io;
use std::path::Path;

use crate::model::failure::WriteFailure;
use crate::{SetupError, exit};

/// Why a run ended without finishing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Refused or failed before anything was sent: exit 2.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Failed after sending started: exit 3, and `--resume` completes it.
    #[error("{failure}; every sent row is in the journal; {remedy}, then: {resume}")]
    AfterSending {
        /// What failed, e.g. `disk full writing …/results.csv`.
        failure: String,
        /// What the user fixes first, e.g. `free space`.
        remedy: &'static str,
        /// The command that continues the run.
        resume: String,
    },
}

impl RunError {
    /// The process exit code this error means.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Setup(_) => exit::USAGE,
            RunError::AfterSending { .. } => exit::ABORTED,
        }
    }

    /// A failure writing `path`: exit 3 with how to continue when requests
    /// were sent (`resume` is the command), else a setup error (exit 2).
    pub fn writing(path: &Path, err: &io::Error, sent: bool, resume: String) -> RunError {
        let write = WriteFailure::new(path, err);
        if sent {
            RunError::AfterSending {
                failure: write.failure(),
                remedy: write.remedy(),
                resume,
            }
        } else {
            RunError::Setup(SetupError::Write(write))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_sending_exits_3_and_says_how_to_continue() {
        let full = io::Error::from(io::ErrorKind::StorageFull);
        let wrapped = io::Error::from(csv::Error::from(full));
        let err = RunError::writing(
            Path::new("k.runs/x/results.csv"),
            &wrapped,
            true,
            "notify-import import k.csv --resume".into(),
        );
        assert_eq!(err.exit_code(), 3);
        assert_eq!(
            err.to_string(),
            "disk full writing k.runs/x/results.csv; every sent row is in the journal; free space, then: notify-import import k.csv --resume"
        );
    }

    #[test]
    fn nothing_sent_is_exit_2() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let err = RunError::writing(Path::new("r.csv"), &denied, false, String::new());
        assert_eq!(err.exit_code(), 2);
        assert!(!err.to_string().contains("--resume"), "{err}");
    }
}
