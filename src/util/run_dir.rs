//! Folders held open for a run ([`RunDir`]): the runs folder and the run's
//! own folder, opened once without following a link, so that whatever
//! happens to their path afterwards, the run's files go where the held
//! folder is.
//!
//! Why: the path `in.runs/2026-12-02T182601Z/summary.json` is resolved
//! anew at every open. Someone who can write to the input's folder (not to
//! the runs folder) can rename `in.runs` away mid-run and put a link to a
//! folder of theirs in its place; a tool run as root from cron would then
//! write the customer data, or replace files, wherever that link leads.
//! Every file inside a held folder is instead reached relative to the held
//! handle (`openat`, `renameat`, `unlinkat`, `mkdirat`, `symlinkat`), and
//! the last component never through a link.
//!
//! Owns the handles and the table of held folders by path: [`held`] tells
//! [`crate::util::atomic`] and [`crate::util::nofollow`] (and the few
//! renames and removals below, and [`crate::util::spill`]'s scratch
//! files) that a path's folder is held, so every
//! writer of a run's files goes through the handle without a handle
//! threaded through every signature, and a writer added later is covered
//! without knowing. A folder is held as long as a [`RunDir`] for it lives.
//! It knows nothing of what the files are; it must not decide what a
//! failure means for a run.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// A folder held open; files in it are reached through the handle.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

/// The folders held, by the path they were opened at.
static HELD: Mutex<Vec<(PathBuf, Weak<RunDir>)>> = Mutex::new(Vec::new());

impl RunDir {
    /// Holds the folder at `path`, which must be a folder and not a link.
    /// When its parent is held, it is opened through the parent's handle.
    /// The same folder held twice shares one handle.
    pub fn hold(path: &Path) -> io::Result<Arc<RunDir>> {
        if let Some(dir) = find(path) {
            return Ok(dir);
        }
        #[cfg(unix)]
        let fd = {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match held(path) {
                Some((parent, name)) => rustix::fs::openat(&parent.fd, name, flags, Mode::empty()),
                None => rustix::fs::open(path, flags, Mode::empty()),
            }
            .map_err(|e| refused(path, e.into()))?
        };
        Ok(register(RunDir {
            path: path.to_owned(),
            #[cfg(unix)]
            fd,
        }))
    }

    /// Holds the folder at `path`, following it if it is a link of the
    /// user running the tool (the only links a runs folder may be, see
    /// [`crate::util::nofollow::foreign_link`]); the folder the link led to
    /// is checked to be the one opened, so a link swapped in between is
    /// refused.
    pub fn hold_own_link(path: &Path) -> io::Result<Arc<RunDir>> {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return RunDir::hold(path);
        }
        if let Some(dir) = find(path) {
            return Ok(dir);
        }
        if let Some(owner) = super::nofollow::foreign_link(path)? {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link owned by another user (uid {owner})",
                    path.display()
                ),
            ));
        }
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(path, flags, Mode::empty())
                .map_err(|e| refused(path, e.into()))?;
            // Opened through the link: still ours, and still leading here?
            let opened = rustix::fs::fstat(&fd)?;
            let ours = super::nofollow::foreign_link(path)?.is_none();
            let now = rustix::fs::stat(path)?;
            if !ours || (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} changed while it was opened", path.display()),
                ));
            }
            Ok(register(RunDir {
                path: path.to_owned(),
                fd,
            }))
        }
        #[cfg(not(unix))]
        Ok(register(RunDir {
            path: path.to_owned(),
        }))
    }

    /// The path it was opened at (for messages: it may lead elsewhere now).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `name` in this folder with `flags` (`NOFOLLOW` added) and
    /// `mode` for a file it creates.
    #[cfg(unix)]
    pub fn open(&self, name: &OsStr, flags: rustix::fs::OFlags, mode: u32) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to`, both in this folder.
    #[cfg(unix)]
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Removes the empty folder `name` in this folder.
    pub fn remove_dir(&self, name: &OsStr) -> io::Result<()> {
        #[cfg(unix)]
        return Ok(rustix::fs::unlinkat(
            &self.fd,
            name,
            rustix::fs::AtFlags::REMOVEDIR,
        )?);
        #[cfg(not(unix))]
        std::fs::remove_dir(self.path.join(name))
    }

    /// Removes the file (or link) `name` in this folder.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        #[cfg(unix)]
        return Ok(rustix::fs::unlinkat(
            &self.fd,
            name,
            rustix::fs::AtFlags::empty(),
        )?);
        #[cfg(not(unix))]
        std::fs::remove_file(self.path.join(name))
    }

    /// A new unnamed file in this folder for scratch data (mode 0600):
    /// `O_TMPFILE` where the file system has it, else a new random name
    /// removed at once.
    #[cfg(unix)]
    pub fn temp_file(&self) -> io::Result<File> {
        use rustix::fs::OFlags;
        #[cfg(target_os = "linux")]
        if let Ok(file) = self.open(OsStr::new("."), OFlags::RDWR | OFlags::TMPFILE, 0o600) {
            return Ok(file);
        }
        let mut last = None;
        for _ in 0..64 {
            let name = format!(
                ".scratch.{}.tmp",
                std::iter::repeat_with(fastrand::alphanumeric)
                    .take(6)
                    .collect::<String>()
            );
            let name = OsStr::new(&name);
            match self.open(name, OFlags::RDWR | OFlags::CREATE | OFlags::EXCL, 0o600) {
                Ok(file) => {
                    self.remove(name)?;
                    return Ok(file);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// What is in this folder: each name, and whether it is a folder (a
    /// link is not one: it is never followed).
    pub fn entries(&self) -> io::Result<Vec<(std::ffi::OsString, bool)>> {
        let mut found = Vec::new();
        #[cfg(unix)]
        {
            use rustix::fs::{AtFlags, FileType};
            use std::os::unix::ffi::OsStrExt;
            for entry in rustix::fs::Dir::read_from(&self.fd)? {
                let entry = entry?;
                let name = entry.file_name();
                if matches!(name.to_bytes(), b"." | b"..") {
                    continue;
                }
                let kind = match entry.file_type() {
                    FileType::Unknown => FileType::from_raw_mode(
                        rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?.st_mode,
                    ),
                    kind => kind,
                };
                found.push((
                    OsStr::from_bytes(name.to_bytes()).to_os_string(),
                    kind == FileType::Directory,
                ));
            }
        }
        #[cfg(not(unix))]
        for entry in std::fs::read_dir(&self.path)? {
            let entry = entry?;
            found.push((entry.file_name(), entry.file_type()?.is_dir()));
        }
        Ok(found)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|(_, dir)| dir.strong_count() > 0);
    }
}

/// Adds `dir` to the table.
fn register(dir: RunDir) -> Arc<RunDir> {
    let dir = Arc::new(dir);
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    held.retain(|(_, d)| d.strong_count() > 0);
    held.push((dir.path.clone(), Arc::downgrade(&dir)));
    dir
}

/// The held folder opened at `path`, if any.
fn find(path: &Path) -> Option<Arc<RunDir>> {
    let held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    held.iter()
        .filter(|(p, _)| p == path)
        .find_map(|(_, dir)| dir.upgrade())
}

/// A refused open that says what was in the way.
fn refused(path: &Path, e: io::Error) -> io::Error {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {}, not a folder",
                path.display(),
                super::nofollow::what(meta.file_type())
            ),
        ),
        _ => e,
    }
}

/// The folder `path` itself when it is held.
pub fn held_folder(path: &Path) -> Option<Arc<RunDir>> {
    if !cfg!(unix) {
        return None;
    }
    find(path)
}

/// The held folder `path` is in, and its name there; `None` when its
/// folder is not held (or on a system without the handles).
pub fn held(path: &Path) -> Option<(Arc<RunDir>, &OsStr)> {
    if !cfg!(unix) {
        return None;
    }
    let name = path.file_name()?;
    find(path.parent()?).map(|dir| (dir, name))
}

/// Whether something is at `path` (a link counts, unfollowed, when its
/// folder is held), looked up through the held folder when it is in one.
pub fn exists(path: &Path) -> bool {
    #[cfg(unix)]
    if let Some((dir, name)) = held(path) {
        return rustix::fs::statat(&dir.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok();
    }
    path.exists()
}

/// `File::open`: reading `path`, through the held folder (never following
/// a link in its place) when it is in one.
pub fn open_read(path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    if let Some((dir, name)) = held(path) {
        return dir.open(name, rustix::fs::OFlags::RDONLY, 0);
    }
    File::open(path)
}

/// `std::fs::rename`, through the held folder when both are in it.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let (Some((dir, a)), Some((other, b))) = (held(from), held(to))
        && Arc::ptr_eq(&dir, &other)
    {
        return dir.rename(a, b);
    }
    std::fs::rename(from, to)
}

/// `std::fs::remove_file`, through the held folder when it is in one.
pub fn remove_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((dir, name)) = held(path) {
        return dir.remove(name);
    }
    std::fs::remove_file(path)
}

/// Creates the folder `path` with mode 0700 (never following a link in
/// its place), through the held folder when its parent is held.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((dir, name)) = held(path) {
        return Ok(rustix::fs::mkdirat(
            &dir.fd,
            name,
            rustix::fs::Mode::from_raw_mode(0o700),
        )?);
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Makes the link `link` to `target` (never following anything in its
/// place), through the held folder when it is in one.
#[cfg(unix)]
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    if let Some((dir, name)) = held(link) {
        return Ok(rustix::fs::symlinkat(target, &dir.fd, name)?);
    }
    std::os::unix::fs::symlink(target, link)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_held_folder_swapped_for_a_link_still_gets_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("in.runs");
        std::fs::create_dir(&runs).unwrap();
        let runs_dir = RunDir::hold(&runs).unwrap();
        let run = runs.join("run");
        create_private_dir(&run).unwrap();
        let run_dir = RunDir::hold(&run).unwrap();
        // The attacker's swap: the path now leads to their folder.
        let moved = dir.path().join("moved");
        std::fs::rename(&runs, &moved).unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir_all(target.join("run")).unwrap();
        std::os::unix::fs::symlink(&target, &runs).unwrap();

        let summary = run.join("summary.json");
        let (found, name) = held(&summary).unwrap();
        assert!(Arc::ptr_eq(&found, &run_dir));
        found
            .open(
                name,
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CREATE,
                0o600,
            )
            .unwrap()
            .write_all(b"{}")
            .unwrap();
        rename(&run.join("summary.json"), &run.join("summary2.json")).unwrap();
        let mut scratch = held_folder(&run).unwrap().temp_file().unwrap();
        scratch.write_all(b"spilled rows").unwrap();
        create_private_dir(&runs.join("next")).unwrap();
        assert!(moved.join("run/summary2.json").is_file());
        let names: Vec<_> = std::fs::read_dir(moved.join("run")).unwrap().collect();
        assert_eq!(names.len(), 1, "the scratch file has no name");
        assert!(moved.join("next").is_dir());
        assert_eq!(std::fs::read_dir(target.join("run")).unwrap().count(), 0);
        assert!(!target.join("next").exists());
        drop((runs_dir, run_dir, found));
        assert!(held(&run.join("summary.json")).is_none(), "released");
    }

    #[test]
    fn a_link_in_place_of_a_folder_to_hold_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = RunDir::hold(&link).unwrap_err().to_string();
        assert!(err.contains("a symbolic link"), "{err}");
        // The user's own link to the runs folder is followed.
        let own = RunDir::hold_own_link(&link).unwrap();
        assert_eq!(own.path(), link);
    }
}
