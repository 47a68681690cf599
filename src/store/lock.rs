//! The run lock: at most one run at a time per input (the lock file in its
//! runs folder) and per delta-state file (`<state>.lock`).
//!
//! Owns the lock file: an exclusive advisory OS lock (`flock`, through
//! std's `File::try_lock`) held for the whole run, with the holder's pid
//! and start time written inside so a refused run can say who holds it.
//! The OS drops the lock when the holding process ends in any way (exit,
//! panic, SIGKILL), so a lock file left by a killed run never blocks: only
//! a live holder does. That is why this is not a PID file: nothing here
//! ever decides from the file's content whether a run is alive.
//!
//! The lock file is opened without following links and must be a plain
//! file of its own that is empty or holds such a text; anything else is
//! refused untouched, so a planted link or file never makes a run write
//! over another file. It is left in place when the run ends: deleting it
//! would let a run that opened the old file and a run that creates a new
//! one both "hold" the lock. It must not decide anything else about the
//! run.

use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::util::nofollow::{self, OpenError};

/// What a lock file holds: `pid N` then `since T`.
const HOLDER_PREFIX: &[u8] = b"pid ";

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
    /// Something other than a lock file of this tool is where the lock
    /// file goes; it was left as it is.
    #[error(
        "{lock} is {what}, not a lock file of notify-import; nothing was written to it. Remove it (if you did not put it there, someone may have planted it to make this tool write over another file) and run again"
    )]
    NotALockFile {
        /// The lock file's path.
        lock: PathBuf,
        /// What is there instead, e.g. `a symbolic link`.
        what: &'static str,
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
        let mut file = nofollow::open(&path, true).map_err(|e| match e {
            OpenError::NotPlain { what, .. } => LockError::NotALockFile {
                lock: path.clone(),
                what,
            },
            OpenError::Io { source, .. } => io_err(source),
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // Best effort: the holder may be between taking the lock
                // and writing its pid.
                let text = read_holder(&mut file).unwrap_or_default();
                return Err(LockError::Busy {
                    lock: path.clone(),
                    guarded: guarded.to_owned(),
                    holder: describe_holder(&String::from_utf8_lossy(&text)),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // Only a holder writes, so what is there now is a finished text.
        let text = read_holder(&mut file).map_err(io_err)?;
        if !(text.is_empty() || text.starts_with(HOLDER_PREFIX)) {
            return Err(LockError::NotALockFile {
                lock: path,
                what: "a file with other content",
            });
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        let since = humantime::format_rfc3339_seconds(SystemTime::now());
        write!(file, "pid {}\nsince {since}\n", std::process::id()).map_err(io_err)?;
        Ok(RunLock { _file: file })
    }
}

/// The start of a lock file (a holder's text is a few dozen bytes).
fn read_holder(file: &mut File) -> io::Result<Vec<u8>> {
    let mut text = Vec::new();
    file.rewind()?;
    file.take(256).read_to_end(&mut text)?;
    Ok(text)
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
    use std::fs::OpenOptions;

    /// Holds the lock on `lock` as another process would: its own open of
    /// the file, with its own text inside.
    fn held_elsewhere(lock: &Path, text: &str) -> File {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(lock)
            .unwrap();
        file.try_lock().unwrap();
        (&file).write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn a_lock_held_elsewhere_is_refused_with_the_holders_pid_and_its_text_kept() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("r.csv");
        assert_eq!(path_for(&guarded), dir.path().join("r.csv.lock"));
        let text = "pid 4242\nsince 2026-01-01T00:00:00Z\n";
        let other = held_elsewhere(&path_for(&guarded), text);
        let err = RunLock::acquire(&guarded).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{message}");
        assert!(
            message.contains("another import is running (pid 4242, since 2026-01-01T00:00:00Z)"),
            "{message}"
        );
        assert_eq!(std::fs::read_to_string(path_for(&guarded)).unwrap(), text);
        drop(other);
        let mine = RunLock::acquire(&guarded).unwrap();
        let now = std::fs::read_to_string(path_for(&guarded)).unwrap();
        assert!(
            now.starts_with(&format!("pid {}\nsince ", std::process::id())),
            "{now}"
        );
        drop(mine);
        assert!(path_for(&guarded).exists(), "the lock file stays");
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

    #[cfg(unix)]
    #[test]
    fn a_link_a_directory_or_another_files_content_where_the_lock_goes_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let linked = dir.path().join("a.db");
        std::os::unix::fs::symlink(&victim, path_for(&linked)).unwrap();
        let foreign = dir.path().join("b.db");
        std::fs::write(path_for(&foreign), "not a lock\n").unwrap();
        let folder = dir.path().join("c.db");
        std::fs::create_dir(path_for(&folder)).unwrap();
        for (guarded, what) in [
            (&linked, "a symbolic link"),
            (&foreign, "a file with other content"),
            (&folder, "a directory"),
        ] {
            let err = RunLock::acquire(guarded).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, LockError::NotALockFile { what: w, .. } if w == what),
                "{message}"
            );
            assert!(
                message.contains(&path_for(guarded).display().to_string())
                    && message.contains("Remove it"),
                "{message}"
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(
            std::fs::read_to_string(path_for(&foreign)).unwrap(),
            "not a lock\n"
        );
    }
}
