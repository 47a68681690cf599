//! Private files, written whole or not at all ([`AtomicFile`], [`write()`]).
//!
//! Owns how every output of a run reaches the disk. [`AtomicFile`] writes
//! a temporary file with a random name in the target's own folder (so the
//! final rename never crosses a file system), mode 0600 (outputs hold
//! customer data), and puts it in place with one rename only once it is
//! complete and synced ([`AtomicFile::commit`]). Until then the old file at
//! the path, if any, is untouched, and a reader sees either it or the new
//! one whole. Dropped before the commit (an error, a panic, a run that
//! stopped), the temporary file is removed. Only a killed process leaves
//! one behind, named `.NAME.XXXXXX.tmp` beside the target so the user can
//! tell what it was.
//!
//! In a folder held for the run ([`crate::util::run_dir`]) the temporary
//! file is made, renamed and removed through the held handle, so a path
//! swapped mid-run cannot send the file elsewhere.
//!
//! It knows nothing of what is written, and adds no context to errors:
//! callers name the file the way their messages need.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::NamedTempFile;

use super::run_dir::{self, RunDir};

/// A file being written to a temporary name, put in place by
/// [`AtomicFile::commit`]; removed if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    temp: Temp,
    path: PathBuf,
}

/// The temporary file: by path, or in a held folder.
#[derive(Debug)]
enum Temp {
    Path(NamedTempFile),
    Held(HeldTemp),
}

/// A temporary file in a held folder; removed through the handle when
/// dropped uncommitted.
#[derive(Debug)]
struct HeldTemp {
    dir: Arc<RunDir>,
    name: OsString,
    file: File,
    /// Its path, for messages.
    path: PathBuf,
    committed: bool,
}

impl Drop for HeldTemp {
    fn drop(&mut self) {
        #[cfg(unix)]
        if !self.committed {
            let _ = self.dir.remove(&self.name);
        }
    }
}

/// Creates `.NAME.XXXXXX.tmp` in the held `dir` (new, mode 0600, never
/// through a link).
#[cfg(unix)]
fn held_temp(dir: Arc<RunDir>, prefix: &std::ffi::OsStr, path: &Path) -> io::Result<HeldTemp> {
    use rustix::fs::OFlags;
    let mut last = None;
    for _ in 0..64 {
        let mut name = prefix.to_os_string();
        name.push(
            std::iter::repeat_with(fastrand::alphanumeric)
                .take(6)
                .collect::<String>(),
        );
        name.push(".tmp");
        match dir.open(&name, OFlags::RDWR | OFlags::CREATE | OFlags::EXCL, 0o600) {
            Ok(file) => {
                return Ok(HeldTemp {
                    path: path.with_file_name(&name),
                    dir,
                    name,
                    file,
                    committed: false,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

impl AtomicFile {
    /// Starts writing `path`: creates the temporary file beside it.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        // `results.csv` has the parent `""`: the current folder.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path.file_name().unwrap_or(path.as_os_str());
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        #[cfg(unix)]
        if let Some((dir, _)) = run_dir::held(path) {
            return Ok(AtomicFile {
                temp: Temp::Held(held_temp(dir, &prefix, path)?),
                path: path.to_owned(),
            });
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // tempfile's default on unix already, made explicit: the mode is a
        // promise to the user, not an accident of a dependency.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        Ok(AtomicFile {
            temp: Temp::Path(builder.tempfile_in(dir)?),
            path: path.to_owned(),
        })
    }

    /// The path it will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file's path, for messages.
    pub fn temp_path(&self) -> &Path {
        match &self.temp {
            Temp::Path(t) => t.path(),
            Temp::Held(t) => &t.path,
        }
    }

    /// The temporary file opened anew for reading from its start, never
    /// through its path (which may lead elsewhere by now).
    pub fn read_back(&self) -> io::Result<File> {
        use io::Seek;
        let mut file = match &self.temp {
            Temp::Path(t) => t.reopen()?,
            #[cfg(unix)]
            Temp::Held(t) => t.dir.open(&t.name, rustix::fs::OFlags::RDONLY, 0)?,
            #[cfg(not(unix))]
            Temp::Held(t) => t.file.try_clone()?,
        };
        file.rewind()?;
        Ok(file)
    }

    /// The temporary file itself.
    pub fn file(&self) -> &File {
        match &self.temp {
            Temp::Path(t) => t.as_file(),
            Temp::Held(t) => &t.file,
        }
    }

    /// Syncs the file and renames it into place, replacing any file there.
    /// On an error the temporary file is removed and the old file stays.
    pub fn commit(self) -> io::Result<PathBuf> {
        self.file().sync_all()?;
        // The rename is the commit: a crash before it leaves the old file,
        // after it the new one, synced.
        match self.temp {
            Temp::Path(t) => t.persist(&self.path).map_err(|e| e.error)?,
            #[cfg(unix)]
            Temp::Held(mut t) => {
                let name = self.path.file_name().unwrap_or(self.path.as_os_str());
                t.dir.rename(&t.name, name)?;
                t.committed = true;
                return Ok(self.path);
            }
            #[cfg(not(unix))]
            Temp::Held(_) => unreachable!("folders are held only on unix"),
        };
        Ok(self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.temp {
            Temp::Path(t) => t.write(buf),
            Temp::Held(t) => t.file.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.temp {
            Temp::Path(t) => t.write_all(buf),
            Temp::Held(t) => t.file.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.temp {
            Temp::Path(t) => t.flush(),
            Temp::Held(t) => t.file.flush(),
        }
    }
}

/// Writes `bytes` to `path` whole or not at all, mode 0600.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_old_file_stays_whole_until_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        std::fs::write(&path, "old\n").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new, ").unwrap();
        file.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        let temp = file.temp_path().to_owned();
        assert_eq!(temp.parent(), Some(dir.path()), "beside the target");
        let temp_name = temp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            temp_name.starts_with(".results.csv.") && temp_name.ends_with(".tmp"),
            "{temp_name}"
        );
        file.write_all(b"whole\n").unwrap();
        assert_eq!(file.commit().unwrap(), path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new, whole\n");
        assert_eq!(names(dir.path()), ["results.csv"], "no temporary file left");
    }

    #[test]
    fn dropped_before_the_commit_nothing_is_left_and_the_old_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.csv");
        std::fs::write(&path, "being fixed").unwrap();
        {
            let mut file = AtomicFile::create(&path).unwrap();
            file.write_all(b"half a file").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "being fixed");
        assert_eq!(names(dir.path()), ["errors.csv"]);
        let fresh = dir.path().join("summary.json");
        drop(AtomicFile::create(&fresh).unwrap());
        assert!(!fresh.exists());
        assert_eq!(names(dir.path()), ["errors.csv"]);
    }

    #[test]
    fn a_failed_commit_leaves_nothing_behind_and_the_old_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        // A folder in the way: the rename fails.
        let path = dir.path().join("out.csv");
        std::fs::create_dir_all(path.join("in-the-way")).unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"rows").unwrap();
        assert!(file.commit().is_err());
        assert!(path.join("in-the-way").is_dir());
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn a_missing_folder_fails_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(&dir.path().join("gone/summary.json"), b"{}").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_bare_file_name_goes_to_the_current_folder() {
        let file = AtomicFile::create(Path::new("x.csv")).unwrap();
        let folder = file.temp_path().parent().unwrap().canonicalize().unwrap();
        assert_eq!(
            folder,
            std::env::current_dir().unwrap().canonicalize().unwrap()
        );
    }

    #[cfg(unix)]
    #[test]
    fn in_a_held_folder_a_swapped_path_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let held = RunDir::hold(&run).unwrap();
        let mut kept = AtomicFile::create(&run.join("summary.json")).unwrap();
        let dropped = AtomicFile::create(&run.join("report.html")).unwrap();
        // Swapped for a link to someone else's folder mid-write.
        let moved = dir.path().join("moved");
        std::fs::rename(&run, &moved).unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, &run).unwrap();
        kept.write_all(b"{}").unwrap();
        let mut back = String::new();
        io::Read::read_to_string(&mut kept.read_back().unwrap(), &mut back).unwrap();
        assert_eq!(back, "{}", "read back through the handle");
        kept.commit().unwrap();
        drop(dropped);
        assert_eq!(names(&moved), ["summary.json"], "no temporary file left");
        assert_eq!(
            std::fs::read_to_string(moved.join("summary.json")).unwrap(),
            "{}"
        );
        assert!(names(&target).is_empty(), "nothing through the link");
        drop(held);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_before_and_after_the_commit() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        // An existing file readable by others is replaced by a private one.
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let file = AtomicFile::create(&path).unwrap();
        assert_eq!(mode(file.temp_path()), 0o600);
        file.commit().unwrap();
        assert_eq!(mode(&path), 0o600);
        write(&path, b"{}\n").unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
