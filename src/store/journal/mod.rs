//! The journal: an append-only log of every send and every final outcome,
//! so a crash, a kill or Ctrl-C loses nothing that `--resume` cannot
//! recover, and no customer is ever created twice.
//!
//! One file per run folder (JSON lines, mode 0600), in three parts:
//! [`format`] (the header with the input fingerprint, target API, key kind
//! and the options that change outcomes; the `send` and `done` records and
//! how each is a line), [`writer`] (append, fsync, close, the first write
//! that failed) and [`resume`] (reading an old journal back: what was
//! finished, what is in doubt). A `send` record is written *before* each
//! create request, a `patch` record (the before-image) *before* each
//! update request, a `done` record before the outcome is reported.
//!
//! What a run changed in Notify, for taking it back (`undo`), reads from
//! these lines alone (each a JSON object with its kind in `t` and its row
//! in `r`):
//!
//! - created: `{"t":"done","r":ROW,"c":CODE,"s":"created","id":ID,…}`,
//!   the customer the run made (delete it);
//! - updated: `{"t":"patch","r":ROW,"c":CODE,"id":ID,"ch":{FIELD:{"old":
//!   OLD,"new":NEW},…}}` with the API's field names (`City`, `Email`…)
//!   and the values as Notify held them before (`old`, `""` for unset)
//!   and as sent (`new`, `""` clears), followed by `{"t":"done","r":ROW,
//!   "s":"updated","id":ID,…}` once Notify confirmed it. A `patch` with no
//!   `done` of status `updated` after it was sent or about to be sent and
//!   its answer is unknown: Notify holds `old` or `new`. A row has at most
//!   one update's before-image: a resumed run re-sends the journaled
//!   update rather than reading the customer again, so `old` is always
//!   the value from before the first run touched it.
//!
//! `undo` reads these through [`undo::ChangeReader`] and keeps a journal of its
//! own ([`undo::UndoJournal`]).
//!
//! The last `done` of a row is its outcome; `send`, `clear` and `lands`
//! records only serve `--resume`. A run that reached the end of its input
//! after sending keeps its journal as `journal.done` in its run folder
//! (see [`crate::run::folder::FINISHED_JOURNAL`]), so these lines outlive
//! the run; a stopped run's `journal` holds them until it is resumed.
//!
//! Like the rest of the store it decides nothing: it records what the run
//! did and answers what an earlier run did. It must not decide outcomes or
//! talk to the network.

mod format;
mod resume;
pub mod undo;
mod writer;

use std::io;
use std::path::{Path, PathBuf};

pub use format::Header;
pub use resume::{Resume, doubtful, header, progress};
pub use writer::Journal;

/// A journal problem that stops the run.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not a journal this tool can continue.
    #[error("journal {path}: line {line}: {message}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl JournalError {
    fn io(path: &Path, source: io::Error) -> JournalError {
        JournalError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Reads the journal at `path` line by line, handing each complete line
/// (without its `\n`) to `each` with its 1-based number. A torn last line
/// ends the reading: the process died mid-write, and what it recorded
/// never happened as far as the journal is concerned (a torn `send` or
/// `restore` is covered because its request was not yet sent, a torn
/// `done` leaves the row in doubt). Returns the length of the complete
/// lines: where the next record is appended.
fn each_line(
    path: &Path,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), JournalError>,
) -> Result<u64, JournalError> {
    use std::io::BufRead;
    let io = |source| JournalError::io(path, source);
    let mut reader = io::BufReader::new(crate::util::run_dir::open_read(path).map_err(io)?);
    let mut buf = Vec::new();
    let mut valid_len = 0u64;
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io)?;
        n += 1;
        let Some(text) = buf.strip_suffix(b"\n") else {
            return Ok(valid_len);
        };
        each(n, text)?;
        valid_len += read as u64;
    }
}

/// A header and outcomes for the tests of each part.
#[cfg(test)]
mod fixtures {
    use super::Header;
    use crate::model::checked::Fingerprint;
    use crate::model::outcome::{Outcome, Status};

    /// A three-row run against a test URL.
    pub fn header() -> Header {
        Header::new(
            Fingerprint {
                size: 10,
                hash: "ab".into(),
            },
            "http://x/v2",
            "test",
            false,
            3,
        )
    }

    /// An outcome of `row` with an id, code `C<row>` and one attempt.
    pub fn done(row: u64, status: Status, http: Option<u16>) -> Outcome {
        Outcome {
            row,
            line: row + 1,
            code: format!("C{row}"),
            status,
            customer_id: Some(format!("id-{row}")),
            http_status: http,
            attempts: 1,
            error: String::new(),
        }
    }
}
