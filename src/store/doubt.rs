//! Codes in doubt, carried from one run of an input to the next.
//!
//! Owns the `doubt` file of a run folder: the codes whose create may have
//! gone through without the run seeing it (the answer was lost and the
//! look-up failed, or the process was killed with the create in flight),
//! for one API and key kind, and after when such a create can no longer
//! land. Every import that sends to an API writes its folder's file at
//! its start with what it inherits from the newest earlier run of the
//! same target ([`Doubt::inherit`]: that run's file, less the codes its
//! journal settled, plus the codes its journal leaves in doubt), and
//! again at its end with what is still in doubt. So a plain re-run, a
//! `--resume` or the run of a changed file looks each such code up before
//! anything is sent for it, and a run stopped before it got to them
//! passes them on.
//!
//! One line of JSON for the head, then one JSON string per code. It
//! decides nothing about rows (the planner does), and it only reads
//! another run's folder.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::journal::{self, JournalError};
use crate::util::atomic;
use crate::util::run_dir;

/// The file's name in a run folder.
pub const FILE: &str = "doubt";

/// The format version of the file.
const VERSION: u32 = 1;

/// The first line of the file.
#[derive(Debug, Serialize, Deserialize)]
struct Head {
    doubt: u32,
    api_url: String,
    key_kind: String,
    /// Milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lands_by: Option<u64>,
}

/// The API and key kind codes are in doubt with (a customer exists per
/// API and per test or live key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The API base URL, as the journal records it.
    pub api_url: String,
    /// `test` or `live`.
    pub key_kind: String,
}

/// Codes that may exist at `target` without a run having seen them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubt {
    /// Where they may exist.
    pub target: Target,
    /// After when no create of them can land any more: a look-up before
    /// could miss one still on its way.
    pub lands_by: Option<SystemTime>,
    codes: BTreeSet<String>,
}

/// A `doubt` file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DoubtError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Not a file this tool wrote.
    #[error("{path}: line {line}: not a notify-import doubt file")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based.
        line: usize,
    },
    /// The journal beside it.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl Doubt {
    /// Nothing in doubt at `target`.
    pub fn none(target: Target) -> Doubt {
        Doubt {
            target,
            lands_by: None,
            codes: BTreeSet::new(),
        }
    }

    /// Codes in doubt.
    pub fn len(&self) -> u64 {
        self.codes.len() as u64
    }

    /// Whether no code is in doubt.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Whether `code` may exist: look it up before sending it.
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains(code)
    }

    /// Reads the `doubt` file at `path`; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Doubt>, DoubtError> {
        let io_err = |source| DoubtError::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |line| DoubtError::Corrupt {
            path: path.to_owned(),
            line,
        };
        let file = match run_dir::open_read(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        let mut lines = BufReader::new(file).lines();
        let head: Head = match lines.next() {
            Some(line) => serde_json::from_str(&line.map_err(io_err)?).map_err(|_| corrupt(1))?,
            None => return Err(corrupt(1)),
        };
        if head.doubt != VERSION {
            return Err(corrupt(1));
        }
        let mut codes = BTreeSet::new();
        for (i, line) in lines.enumerate() {
            let code: String =
                serde_json::from_str(&line.map_err(io_err)?).map_err(|_| corrupt(i + 2))?;
            codes.insert(code);
        }
        Ok(Some(Doubt {
            target: Target {
                api_url: head.api_url,
                key_kind: head.key_kind,
            },
            lands_by: head
                .lands_by
                .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            codes,
        }))
    }

    /// Writes the file at `path`, whole or not at all, mode 0600.
    pub fn write(&self, path: &Path) -> Result<(), DoubtError> {
        let io_err = |source| DoubtError::Io {
            path: path.to_owned(),
            source,
        };
        let head = Head {
            doubt: VERSION,
            api_url: self.target.api_url.clone(),
            key_kind: self.target.key_kind.clone(),
            lands_by: self.lands_by.map(|t| {
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }),
        };
        let mut file = atomic::AtomicFile::create(path).map_err(io_err)?;
        json_line(&mut file, &head).map_err(io_err)?;
        for code in &self.codes {
            json_line(&mut file, code).map_err(io_err)?;
        }
        file.commit().map_err(io_err)?;
        Ok(())
    }

    /// What a run in the folder holding `doubt_file` and (while it was
    /// unfinished) `journal_file` leaves in doubt: the codes it inherited
    /// that its journal did not settle, and those its own sends left in
    /// doubt. `None` when the folder has neither file, or they are for
    /// another target than `target`. `timeout`: this run's `--timeout`
    /// (see [`journal::Resume::lands_by`]).
    pub fn inherit(
        doubt_file: &Path,
        journal_file: &Path,
        target: &Target,
        timeout: Duration,
    ) -> Result<Option<Doubt>, DoubtError> {
        Doubt::left(doubt_file, journal_file, target, timeout, false)
    }

    /// What a run that reached the end of its input leaves in doubt: only
    /// what its journal says. Every row came to it, and each inherited
    /// code it had a row for was journaled when the row came; the others
    /// are not in its file (or in a row not sent): they are not passed on
    /// for ever.
    pub fn left_at_end(
        doubt_file: &Path,
        journal_file: &Path,
        target: &Target,
        timeout: Duration,
    ) -> Result<Option<Doubt>, DoubtError> {
        Doubt::left(doubt_file, journal_file, target, timeout, true)
    }

    fn left(
        doubt_file: &Path,
        journal_file: &Path,
        target: &Target,
        timeout: Duration,
        reached_end: bool,
    ) -> Result<Option<Doubt>, DoubtError> {
        let mut doubt = match reached_end {
            false => Doubt::read(doubt_file)?.filter(|d| d.target == *target),
            true => None,
        };
        if !run_dir::exists(journal_file) {
            return Ok(doubt);
        }
        let header = journal::header(journal_file)?;
        let same = header.api_url == target.api_url && header.key_kind == target.key_kind;
        if !same || header.sandbox {
            return Ok(doubt);
        }
        let mut inherited = doubt.take().unwrap_or_else(|| Doubt::none(target.clone()));
        let left = journal::doubtful(journal_file, timeout, |code| {
            inherited.codes.remove(code);
        })?;
        if left.unnamed > 0 {
            tracing::warn!(
                "{}: {} rows sent without an answer are not named by code (an older journal); they cannot be looked up before a new run sends them",
                journal_file.display(),
                left.unnamed
            );
        }
        inherited.codes.extend(left.codes);
        inherited.lands_by = inherited.lands_by.max(left.lands_by);
        Ok(Some(inherited))
    }

    /// Adds what `other` holds (the same target).
    pub fn merge(&mut self, other: Doubt) {
        self.codes.extend(other.codes);
        self.lands_by = self.lands_by.max(other.lands_by);
    }
}

/// `value` as one line of JSON.
fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    out.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checked::Fingerprint;
    use crate::model::outcome::{Outcome, Status};
    use crate::store::journal::{Header, Journal};

    fn target() -> Target {
        Target {
            api_url: "http://x/v2".into(),
            key_kind: "test".into(),
        }
    }

    fn outcome(row: u64, code: &str, status: Status, http: u16) -> Outcome {
        Outcome {
            http_status: Some(http),
            ..Outcome::local(row, row + 1, code.into(), status, String::new())
        }
    }

    #[test]
    fn a_folder_passes_on_what_it_inherited_less_what_it_settled_plus_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (doubt, journal) = (dir.path().join(FILE), dir.path().join("journal"));
        let mut earlier = Doubt::none(target());
        earlier.codes.extend(["OLD1".to_owned(), "OLD2".to_owned()]);
        earlier.lands_by = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(5));
        earlier.write(&doubt).unwrap();
        assert_eq!(Doubt::read(&doubt).unwrap().as_ref(), Some(&earlier));

        let fp = Fingerprint {
            size: 1,
            hash: "a".into(),
        };
        let j =
            Journal::create(&journal, &Header::new(fp, "http://x/v2", "test", false, 4)).unwrap();
        // OLD1 was looked up and settled; A was created; B was killed in
        // flight; C gave up after a lost answer.
        j.outcome(&outcome(1, "OLD1", Status::Created, 200))
            .unwrap();
        j.sending(2, "A").unwrap();
        j.outcome(&outcome(2, "A", Status::Created, 201)).unwrap();
        j.sending(3, "B").unwrap();
        j.sending(4, "C").unwrap();
        j.outcome(&outcome(4, "C", Status::Failed, 503)).unwrap();
        j.close().unwrap();

        let left = Doubt::inherit(&doubt, &journal, &target(), Duration::from_secs(1))
            .unwrap()
            .unwrap();
        let codes: Vec<&str> = left.codes.iter().map(String::as_str).collect();
        assert_eq!(codes, ["B", "C", "OLD2"]);
        assert!(
            left.lands_by > earlier.lands_by,
            "B's send plus twice the timeout"
        );
        assert!(left.contains("B") && !left.contains("A"));

        let at_end = Doubt::left_at_end(&doubt, &journal, &target(), Duration::from_secs(1))
            .unwrap()
            .unwrap();
        let codes: Vec<&str> = at_end.codes.iter().map(String::as_str).collect();
        assert_eq!(
            codes,
            ["B", "C"],
            "OLD2 had no row in a run that reached its end"
        );

        let other = Target {
            key_kind: "live".into(),
            ..target()
        };
        assert_eq!(
            Doubt::inherit(&doubt, &journal, &other, Duration::from_secs(1)).unwrap(),
            None,
            "another key kind inherits nothing"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "nothing written beside another run's files");
    }

    #[test]
    fn no_file_is_none_and_a_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(Doubt::read(&path).unwrap(), None);
        std::fs::write(&path, "hello\n").unwrap();
        let err = Doubt::read(&path).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains(FILE), "{err}");
    }
}
