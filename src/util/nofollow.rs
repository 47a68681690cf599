//! Files the tool makes for itself (lock files, the journal, temporary
//! files, `latest`, marks in a run folder), opened so that a link someone
//! planted in their place is never followed.
//!
//! Owns how such a file is opened: `O_NOFOLLOW` on its last component
//! (and `O_NONBLOCK`, so a FIFO in its place cannot hang the open), mode
//! 0600, `create_new` where the file must be new, nothing truncated before
//! it is known to be a plain file of its own (not a directory, FIFO,
//! socket or device, nor a second name, a hard link, of another file); and
//! [`foreign_link`], whether a path the user named is a symbolic link
//! another user owns. A file in a folder held for the run
//! ([`crate::util::run_dir`]) is opened through the held handle. It only opens and reports: what a refusal means for
//! a run is its caller's business.

use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Why a file of the tool's own could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Something other than a plain file of its own is in its place.
    #[error("{path} is {what}")]
    NotPlain {
        /// The path.
        path: PathBuf,
        /// What is there, e.g. `a symbolic link`.
        what: &'static str,
    },
    /// Opening or creating failed for another reason.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl From<OpenError> for io::Error {
    fn from(e: OpenError) -> io::Error {
        match e {
            OpenError::Io { ref source, .. } => io::Error::new(source.kind(), e.to_string()),
            OpenError::NotPlain { .. } => {
                io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
            }
        }
    }
}

/// How a file is opened: read, write, create, create only if new.
#[derive(Clone, Copy)]
struct How {
    read: bool,
    write: bool,
    create: bool,
    create_new: bool,
}

/// Opens `path` as `how` says, never following a link in its last
/// component; through the held folder when it is in one.
fn open_how(path: &Path, how: How) -> io::Result<File> {
    #[cfg(unix)]
    if let Some((dir, name)) = super::run_dir::held(path) {
        use rustix::fs::OFlags;
        let mut flags = OFlags::NONBLOCK;
        flags |= match (how.read, how.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if how.create || how.create_new {
            flags |= OFlags::CREATE;
        }
        if how.create_new {
            flags |= OFlags::EXCL;
        }
        return dir.open(name, flags, 0o600);
    }
    options()
        .read(how.read)
        .write(how.write)
        .create(how.create)
        .create_new(how.create_new)
        .open(path)
}

/// Options that never follow a link in the last component.
fn options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32);
    }
    opts
}

/// Creates `path`, which must not exist (mode 0600, write only).
pub fn create_new(path: &Path) -> Result<File, OpenError> {
    open_how(
        path,
        How {
            read: false,
            write: true,
            create: false,
            create_new: true,
        },
    )
    .map_err(|e| failed(path, e))
}

/// Opens `path` for reading and writing, creating it (mode 0600) if
/// `create`; never truncates, and refuses anything but a plain file of
/// its own.
pub fn open(path: &Path, create: bool) -> Result<File, OpenError> {
    let file = open_how(
        path,
        How {
            read: true,
            write: true,
            create,
            create_new: false,
        },
    )
    .map_err(|e| failed(path, e))?;
    check_plain(path, &file)?;
    Ok(file)
}

/// [`open`], creating, then emptied: for a temporary file that a crashed
/// earlier process may have left under the same name.
pub fn replace(path: &Path) -> Result<File, OpenError> {
    let file = open(path, true)?;
    file.set_len(0).map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(file)
}

/// The first `limit` bytes of the plain file at `path`, read without
/// following a link (a FIFO in its place does not block the read).
pub fn read_start(path: &Path, limit: u64) -> Result<Vec<u8>, OpenError> {
    use std::io::Read;
    let file = open_how(
        path,
        How {
            read: true,
            write: false,
            create: false,
            create_new: false,
        },
    )
    .map_err(|e| failed(path, e))?;
    check_plain(path, &file)?;
    let mut text = Vec::new();
    file.take(limit)
        .read_to_end(&mut text)
        .map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(text)
}

/// Refuses an opened file that is not a plain file with this one name.
fn check_plain(path: &Path, file: &File) -> Result<(), OpenError> {
    let meta = file.metadata().map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })?;
    let not_plain = |what| {
        Err(OpenError::NotPlain {
            path: path.to_owned(),
            what,
        })
    };
    if !meta.is_file() {
        return not_plain(what(meta.file_type()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return not_plain("a second name (a hard link) of another file");
        }
    }
    Ok(())
}

/// An open that failed: when something other than a plain file is in the
/// way (a link `O_NOFOLLOW` refused, a directory), says what it is.
fn failed(path: &Path, source: io::Error) -> OpenError {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => OpenError::NotPlain {
            path: path.to_owned(),
            what: what(meta.file_type()),
        },
        _ => OpenError::Io {
            path: path.to_owned(),
            source,
        },
    }
}

/// What a file type is, in words.
pub fn what(kind: FileType) -> &'static str {
    if kind.is_symlink() {
        return "a symbolic link";
    }
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_file() {
        "a file"
    } else {
        "not a plain file"
    }
}

/// The owner of `path` when it is a symbolic link that another user owns
/// (following it would let that user choose where this process writes);
/// `None` for anything else, a missing path included.
pub fn foreign_link(path: &Path) -> io::Result<Option<u32>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_symlink() {
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Ok(Some(meta.uid()));
        }
    }
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_refused_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let lock = dir.path().join("lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        for result in [
            open(&lock, true).map(drop),
            replace(&lock).map(drop),
            create_new(&lock).map(drop),
        ] {
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    OpenError::NotPlain {
                        what: "a symbolic link",
                        ..
                    }
                ),
                "{err}"
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_hard_link_a_directory_or_a_fifo_is_refused_before_anything_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let second = dir.path().join("tmp");
        std::fs::hard_link(&victim, &second).unwrap();
        let err = replace(&second).unwrap_err().to_string();
        assert!(err.contains("hard link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(
            open(&sub, true)
                .unwrap_err()
                .to_string()
                .contains("a directory")
        );

        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Would block forever without O_NONBLOCK.
            let err = replace(&fifo).unwrap_err().to_string();
            assert!(err.contains("a named pipe"), "{err}");
        }
    }

    #[test]
    fn files_are_private_new_ones_must_be_new_and_a_leftover_is_emptied() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        create_new(&path).unwrap().write_all(b"old").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = create_new(&path).unwrap_err();
        assert!(
            matches!(&again, OpenError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{again}"
        );
        drop(replace(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn only_links_of_other_users_are_foreign() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine");
        std::os::unix::fs::symlink("elsewhere", &mine).unwrap();
        assert_eq!(foreign_link(&mine).unwrap(), None, "my own link");
        assert_eq!(foreign_link(dir.path()).unwrap(), None, "a directory");
        assert_eq!(foreign_link(&dir.path().join("none")).unwrap(), None);
    }
}
