//! The run locks: at most one run at a time per input file, per runs
//! folder and per delta-state file.
//!
//! Owns two kinds of lock, both exclusive advisory OS locks (`flock`,
//! through std's `File::try_lock`) held for the whole run and dropped by
//! the OS when the holding process ends in any way (exit, panic, SIGKILL),
//! so a lock left by a killed run never blocks: only a live holder does.
//!
//! - [`RunLock`], a lock file: `NAME.runs/lock` for the runs folder,
//!   `<state>.lock` for a state file. The holder's pid and start time are
//!   written inside so a refused run can say who holds it (nothing here
//!   decides from that text whether a run is alive: it is not a PID file).
//!   The file is opened without following links and must be a plain file
//!   of its own that is empty or holds such a text; anything else is
//!   refused untouched, so a planted link or file never makes a run write
//!   over another file. The lock file is left in place when the run ends:
//!   deleting it would let a run that opened the old file and a run that
//!   creates a new one both "hold" the lock. A lock this process already
//!   holds is shared, not taken again: a run takes the `--state` lock at
//!   its start, and opening the state shares it.
//! - [`InputLock`], the lock on the input file itself, opened read-only:
//!   it follows the file, not the path, so the same file reached through a
//!   link, another relative path or another `--runs-dir` is refused too.
//!
//! It must not decide anything else about the run.

use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
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
    /// A live process holds the lock on the input file itself: a run of
    /// the same file, started through another path to it.
    #[error(
        "another import is running ({holder}) on {file}, which {input} leads to: it was started through another path to that file or with another --runs-dir. Wait for it to finish"
    )]
    InputBusy {
        /// The input as the user named it.
        input: PathBuf,
        /// The file it leads to (its canonical path).
        file: PathBuf,
        /// `pid N`, or `another process` where the OS does not say.
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
    /// The file system cannot lock the input file itself (a network
    /// share may refuse a lock on a file opened read-only).
    #[error("cannot lock {input} itself: {source}")]
    InputUnsupported {
        /// The input.
        input: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
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

/// A file's identity: device and inode (where the OS has them).
type Identity = (u64, u64);

/// The lock files this process holds, by identity, so taking one again
/// shares the held lock (a second `flock` on another open of the same
/// file would be refused, even within one process).
static HELD: Mutex<Vec<(Identity, Weak<File>)>> = Mutex::new(Vec::new());

/// A held lock; released when the last handle to it is dropped (or when
/// the process dies).
#[derive(Debug)]
pub struct RunLock {
    // Never read: holding the open file is what holds the lock.
    _file: Arc<File>,
}

impl RunLock {
    /// Takes the lock for `guarded` without waiting: a second run must be
    /// refused at once, not queue behind the first (cron would pile up runs).
    pub fn acquire(guarded: &Path) -> Result<RunLock, LockError> {
        RunLock::acquire_at(path_for(guarded), guarded)
    }

    /// Takes the lock held in the file `path` for `guarded` (named in the
    /// message of a refused run). When this process already holds that
    /// lock file, the new handle shares it: the lock is taken once.
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
        let id = identity(&file).map_err(io_err)?;
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|(_, file)| file.strong_count() > 0);
        if let Some(shared) = held
            .iter()
            .filter(|(held_id, _)| id.is_some_and(|id| *held_id == id))
            .find_map(|(_, file)| file.upgrade())
        {
            return Ok(RunLock { _file: shared });
        }
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
        let file = Arc::new(file);
        if let Some(id) = id {
            held.push((id, Arc::downgrade(&file)));
        }
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

#[cfg(unix)]
fn identity(file: &File) -> io::Result<Option<Identity>> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok(Some((meta.dev(), meta.ino())))
}

#[cfg(not(unix))]
fn identity(_file: &File) -> io::Result<Option<Identity>> {
    Ok(None)
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

/// The lock on an input file itself, held for the whole run; an input
/// that is not a regular file (a FIFO, standard input, a device) has
/// nothing to lock: it cannot be read twice anyway.
#[derive(Debug)]
pub struct InputLock {
    // Never read: holding the open file is what holds the lock.
    _file: Option<Arc<File>>,
}

impl InputLock {
    /// No lock (where the input's file system cannot lock it).
    pub fn none() -> InputLock {
        InputLock { _file: None }
    }

    /// Takes the lock on `file`, the run's one open of `input`, without
    /// waiting; `None` (a copy of a FIFO or device, which cannot be read
    /// twice anyway) takes nothing.
    #[cfg(unix)]
    pub fn acquire(input: &Path, file: Option<Arc<File>>) -> Result<InputLock, LockError> {
        let Some(file) = file else {
            return Ok(InputLock::none());
        };
        match file.try_lock() {
            Ok(()) => Ok(InputLock { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => Err(LockError::InputBusy {
                input: input.to_owned(),
                file: std::fs::canonicalize(input).unwrap_or_else(|_| input.to_owned()),
                holder: holder_pid(&file)
                    .map_or_else(|| "another process".to_owned(), |pid| format!("pid {pid}")),
            }),
            Err(TryLockError::Error(source)) => Err(LockError::InputUnsupported {
                input: input.to_owned(),
                source,
            }),
        }
    }

    /// Elsewhere the OS's file locks are mandatory: a lock on the input
    /// would keep the run from reading it. The runs folder's lock stays.
    #[cfg(not(unix))]
    pub fn acquire(_input: &Path, _file: Option<Arc<File>>) -> Result<InputLock, LockError> {
        Ok(InputLock::none())
    }
}

/// Who holds the `flock` on `file`, as `/proc/locks` tells (Linux); `None`
/// where it does not say.
#[cfg(target_os = "linux")]
fn holder_pid(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let (dev, ino) = (meta.dev(), meta.ino());
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        rustix::fs::major(dev),
        rustix::fs::minor(dev)
    );
    let mut text = String::new();
    File::open("/proc/locks")
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    // `1: FLOCK  ADVISORY  WRITE 4242 08:02:131073 0 EOF`; a waiter's
    // line has `->` after the number (and this run does not wait).
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [_, "FLOCK", _, _, pid, file, ..] if file == want => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn holder_pid(_file: &File) -> Option<u32> {
    None
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
    fn a_lock_this_process_holds_is_shared_not_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("state.db");
        let first = RunLock::acquire(&guarded).unwrap();
        let second = RunLock::acquire(&guarded).unwrap();
        let try_elsewhere = || {
            let file = File::open(path_for(&guarded)).unwrap();
            file.try_lock().is_ok()
        };
        drop(first);
        assert!(!try_elsewhere(), "held while a handle is left");
        drop(second);
        assert!(try_elsewhere(), "released with the last handle");
        let again = RunLock::acquire(&guarded).unwrap();
        assert!(!try_elsewhere(), "and taken anew after");
        drop(again);
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

    #[cfg(unix)]
    #[test]
    fn the_input_lock_follows_the_file_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "CustomerCode\n1\n").unwrap();
        let alias = dir.path().join("alias.csv");
        std::os::unix::fs::symlink("in.csv", &alias).unwrap();
        let open = |path: &Path| {
            crate::input::InputFile::open(path, &crate::input::InputOptions::default())
                .unwrap()
                .regular()
        };
        let held = InputLock::acquire(&input, open(&input)).unwrap();
        let err = InputLock::acquire(&alias, open(&alias)).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LockError::InputBusy { .. }), "{message}");
        assert!(
            message.contains("in.csv, which") && message.contains("alias.csv leads to"),
            "{message}"
        );
        #[cfg(target_os = "linux")]
        if std::path::Path::new("/proc/locks").exists() {
            assert!(
                message.contains(&format!("(pid {})", std::process::id())),
                "{message}"
            );
        }
        drop(held);
        assert!(InputLock::acquire(&alias, open(&alias)).is_ok());
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            "CustomerCode\n1\n"
        );
    }
}
