//! A failed write of one of a run's files, described for the user.
//!
//! Owns the words for it (`disk full writing PATH`) and what to fix first
//! (`free space`), from the innermost I/O error's kind. Shared by the
//! upload's stop reason (a results file that cannot take a row stops the
//! sending) and the run's error (which says how to continue), so neither
//! reaches into the other. It must not decide what a failure means for
//! the run.

use std::io;
use std::path::{Path, PathBuf};

/// A failed write, described for the user.
#[derive(Debug, Clone)]
pub struct WriteFailure {
    path: PathBuf,
    kind: io::ErrorKind,
    text: String,
}

impl WriteFailure {
    /// `err` while writing `path`.
    pub fn new(path: &Path, err: &io::Error) -> WriteFailure {
        WriteFailure {
            path: path.to_owned(),
            kind: root_kind(err),
            text: err.to_string(),
        }
    }

    /// `disk full writing PATH`, or the cause in the system's words.
    pub fn failure(&self) -> String {
        let path = self.path.display();
        match self.kind {
            io::ErrorKind::StorageFull => format!("disk full writing {path}"),
            io::ErrorKind::FileTooLarge => {
                format!("file size limit reached writing {path}")
            }
            io::ErrorKind::PermissionDenied => format!("no permission to write {path}"),
            io::ErrorKind::NotFound => {
                format!(
                    "cannot write {path}: its folder was removed ({})",
                    self.text
                )
            }
            _ => format!("cannot write {path}: {}", self.text),
        }
    }

    /// What to fix before continuing.
    pub fn remedy(&self) -> &'static str {
        match self.kind {
            io::ErrorKind::StorageFull => "free space",
            io::ErrorKind::FileTooLarge => "raise the file size limit (ulimit -f)",
            io::ErrorKind::PermissionDenied => "restore write permission",
            _ => "fix the cause",
        }
    }
}

/// The kind of the innermost I/O error: the CSV writer wraps the one from
/// the file system in an error of kind `Other`.
fn root_kind(err: &io::Error) -> io::ErrorKind {
    if let Some(csv_err) = err.get_ref().and_then(|e| e.downcast_ref::<csv::Error>())
        && let csv::ErrorKind::Io(inner) = csv_err.kind()
    {
        return root_kind(inner);
    }
    if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<io::Error>()) {
        return root_kind(inner);
    }
    err.kind()
}
