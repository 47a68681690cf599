//! The run lock: at most one run at a time per input (the lock file in its
//! runs folder) and per delta-state file (`<state>.lock`).
//!
//! Owns the lock file: an exclusive advisory OS lock
//! (`flock`, through std's `File::try_lock`) held for the whole run, with the holder's pid and
//! start time written inside so a refused run can say who holds it. The OS
//! drops the lock when the holding process ends in any way (exit, panic,
//! SIGKILL), so a lock file left by a killed run never blocks: only a live
//! holder does. That is why this is not a PID file: nothing here ever
//! decides from the file's content whether a run is alive.
//!
//! The lock file is left in place when the run ends: deleting it would let a
//! run that opened the old file and a run that creates a new one both "hold"
//! the lock. It must not decide anything else about the run.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A live process holds the lock.
    #[error(
        "another import is running ({holder}); it holds {lock} for {guarded}. Wait for it to finish"
    )]
    Busy {
        /// The lock file.
        lock: PathBuf,
        /// The file the lock guards.
        guarded: PathBuf,
        /// `pid N, since T` as the holder wrote it.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {lock}: {source}")]
    Io {
        /// The lock file.
        lock: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The lock file for `guarded`: `<guarded>.lock`.
pub fn path_for(guarded: &Path) -> PathBuf {
    let mut name = guarded
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    guarded.with_file_name(name)
}

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    // Never read: holding the open file is what holds the lock.
    _file: File,
}

impl RunLock {
    /// Takes the lock for `guarded` without waiting: a second run must be
    /// refused at once, not queue behind the first (cron would pile up runs).
    pub fn acquire(guarded: &Path) -> Result<RunLock, LockError> {
        RunLock::acquire_at(path_for(guarded), guarded)
    }

    /// Takes the lock held in the file `path` for `guarded` (named in the
    /// message of a refused run).
    pub fn acquire_at(path: PathBuf, guarded: &Path) -> Result<RunLock, LockError> {
        let io_err = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        let mut file = open_private(&path).map_err(io_err)?;
        let held_elsewhere = match file.try_lock() {
            Ok(()) => false,
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        };
        if held_elsewhere {
            let mut text = String::new();
            // Best effort: the holder may be between taking the lock and
            // writing its pid.
            let _ = file.read_to_string(&mut text);
            return Err(LockError::Busy {
                lock: path.clone(),
                guarded: guarded.to_owned(),
                holder: describe_holder(&text),
            });
        }
        // Only the holder writes, so a refused run never clobbers the
        // holder's details.
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        let since = humantime::format_rfc3339_seconds(SystemTime::now());
        write!(file, "pid {}\nsince {since}\n", std::process::id()).map_err(io_err)?;
        Ok(RunLock { _file: file })
    }
}

/// Opens (creating, never truncating) with mode 0600.
fn open_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// `pid N, since T` from the lock file's content.
fn describe_holder(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match (field("pid "), field("since ")) {
        (Some(pid), Some(since)) => format!("pid {pid}, since {since}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "it is just starting".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("r.csv");
        let first = RunLock::acquire(&guarded).unwrap();
        assert_eq!(path_for(&guarded), dir.path().join("r.csv.lock"));
        let err = RunLock::acquire(&guarded).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{text}");
        assert!(
            text.contains(&format!(
                "another import is running (pid {}, since ",
                std::process::id()
            )),
            "{text}"
        );
        drop(first);
        let again = RunLock::acquire(&guarded).unwrap();
        drop(again);
        assert!(
            dir.path().join("r.csv.lock").exists(),
            "the lock file stays"
        );
    }

    #[test]
    fn a_leftover_lock_file_nobody_holds_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("r.csv");
        std::fs::write(path_for(&guarded), "pid 999999\nsince then\n").unwrap();
        assert!(RunLock::acquire(&guarded).is_ok());
    }

    #[test]
    fn holder_text_is_parsed_leniently() {
        assert_eq!(describe_holder(""), "it is just starting");
        assert_eq!(
            describe_holder("pid 12\nsince 2025-01-01T00:00:00Z\n"),
            "pid 12, since 2025-01-01T00:00:00Z"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("r.csv");
        let _lock = RunLock::acquire(&guarded).unwrap();
        let mode = std::fs::metadata(path_for(&guarded))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
