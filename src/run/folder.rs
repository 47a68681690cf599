//! Run folders: one folder per run, so no run ever overwrites or deletes
//! the files of another.
//!
//! Owns the layout under `NAME.runs/` (beside the input, or in
//! `--runs-dir`): one folder per run named after its UTC start
//! (`2026-12-02T182601Z`, `-2`, `-3`… when two start in the same second,
//! `-check` for `validate` / `--dry-run`, `-plan`, `-undo`) holding `results.csv`,
//! `errors.csv`, `summary.json`, `report.html` and `journal`; the `latest` pointer (a
//! symlink where the OS allows, else a text file with the folder's name);
//! the lock file shared by every run of the input; finding the unfinished
//! run (a journal, not marked `abandoned`, not a sandbox run); marking one
//! abandoned; finding what the newest earlier run left in doubt; and removing the oldest finished folders beyond
//! `--keep-runs`.
//!
//! Nothing here is reached through someone else's link: `NAME.runs` may
//! be a link only of the user running the tool, run folders are made with
//! `mkdir` (which never follows one), and files are made with
//! [`crate::util::nofollow`]. Once made, the runs folder and the run's
//! folder are held open ([`RunDir`]) and every file of the run, `latest`
//! and the lock included, is reached through them: renaming `NAME.runs`
//! away mid-run and putting a link in its place changes nothing about
//! where the run writes. A `latest` that this tool did not make (a
//! directory, a file of other content) is left as it is and reported.
//!
//! Inside another run's folder it only ever adds the `abandoned` mark (or,
//! when that run is finished and beyond `--keep-runs`, removes the files a
//! run writes, and the folder if that empties it: never what else is in
//! it, such as the runs of an import of its errors file).
//! It must not decide outcomes or exit codes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::store::doubt::{self, Doubt, DoubtError, Target};
use crate::store::journal;
use crate::util::nofollow;
use crate::util::run_dir::{self, RunDir};
use std::sync::{Arc, OnceLock};

/// The results file in a run folder.
pub const RESULTS: &str = "results.csv";
/// The errors file in a run folder (written only when a row was not imported).
pub const ERRORS: &str = "errors.csv";
/// The errors file of a workbook input, in a run's folder.
pub const ERRORS_WORKBOOK: &str = "errors.xlsx";
/// The run's own summary document.
pub const SUMMARY: &str = "summary.json";
/// The run as a page to read, print or send (off with `--no-report`).
pub const REPORT: &str = "report.html";
/// The journal (left only by a run that stopped before the end).
pub const JOURNAL: &str = "journal";
/// The journal of a run that finished after sending: what it created and
/// the before-images of what it updated, for `undo`. No longer `journal`,
/// so the run does not read as unfinished.
pub const FINISHED_JOURNAL: &str = "journal.done";
/// Marks a run `--restart` left behind: never resumed, never blocking.
pub const ABANDONED: &str = "abandoned";
/// Points at the newest run folder.
pub const LATEST: &str = "latest";
/// The run lock of the input (see [`crate::store::lock`]).
pub const LOCK: &str = "lock";

const CHECK_SUFFIX: &str = "-check";
const PLAN_SUFFIX: &str = "-plan";
const UNDO_SUFFIX: &str = "-undo";
/// Left in a run's folder once `undo` took that run back.
pub const UNDONE: &str = "undone";

/// What a run folder holds: an import's, a check's (`-check`) or a
/// plan's (`-plan`) files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunKind {
    /// `import`: it sends, keeps a journal and may be resumed.
    Import,
    /// `validate` / `--dry-run`: nothing sent.
    Check,
    /// `plan`: Notify read, nothing written there.
    Plan,
    /// `undo`: another run taken back.
    Undo,
}

impl RunKind {
    const fn suffix(self) -> &'static str {
        match self {
            RunKind::Import => "",
            RunKind::Check => CHECK_SUFFIX,
            RunKind::Plan => PLAN_SUFFIX,
            RunKind::Undo => UNDO_SUFFIX,
        }
    }
}

/// The runs of one input: `NAME.runs/`.
#[derive(Debug, Clone)]
pub struct Runs {
    dir: PathBuf,
    /// The folder once held ([`Runs::hold`]), shared by clones.
    held: Arc<OnceLock<Arc<RunDir>>>,
}

/// One run's folder.
#[derive(Debug, Clone)]
pub struct RunFolder {
    path: PathBuf,
    key: Key,
    /// The folder held open for the run writing in it ([`RunFolder::hold`]).
    _held: Option<Arc<RunDir>>,
}

impl PartialEq for RunFolder {
    fn eq(&self, other: &RunFolder) -> bool {
        (&self.path, &self.key) == (&other.path, &other.key)
    }
}

impl Eq for RunFolder {}

/// Sort key of a folder name: start second, then the same-second counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    stamp: String,
    seq: u32,
    kind: RunKind,
}

impl Key {
    /// `2026-12-02T182601Z[-N][-check]`; `None` for any other name, so
    /// files a user put in the runs folder are never taken for runs.
    fn parse(name: &str) -> Option<Key> {
        let (rest, kind) = match (
            name.strip_suffix(CHECK_SUFFIX),
            name.strip_suffix(PLAN_SUFFIX),
            name.strip_suffix(UNDO_SUFFIX),
        ) {
            (Some(rest), _, _) => (rest, RunKind::Check),
            (None, Some(rest), _) => (rest, RunKind::Plan),
            (None, None, Some(rest)) => (rest, RunKind::Undo),
            (None, None, None) => (name, RunKind::Import),
        };
        let stamp = rest.get(..18)?;
        let b = stamp.as_bytes();
        let shape = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[17] == b'Z';
        let digits = [0..4, 5..7, 8..10, 11..17]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit));
        if !(shape && digits) {
            return None;
        }
        let seq = match &rest[18..] {
            "" => 1,
            more => more.strip_prefix('-')?.parse().ok().filter(|n| *n >= 2)?,
        };
        Some(Key {
            stamp: stamp.to_owned(),
            seq,
            kind,
        })
    }

    fn name(&self) -> String {
        let seq = match self.seq {
            1 => String::new(),
            n => format!("-{n}"),
        };
        format!("{}{seq}{}", self.stamp, self.kind.suffix())
    }
}

/// `2026-12-02T182601Z` for `time`.
fn stamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace(':', "")
}

impl Runs {
    /// The runs of `input`: `NAME.runs` in `runs_dir`, or beside the input.
    pub fn for_input(input: &Path, runs_dir: Option<&Path>) -> Option<Runs> {
        let stem = input.file_stem()?;
        let mut name = stem.to_os_string();
        name.push(".runs");
        let dir = match runs_dir {
            Some(d) => d.join(name),
            None => input.with_file_name(name),
        };
        Some(Runs {
            dir,
            held: Arc::default(),
        })
    }

    /// `NAME.runs` itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates `NAME.runs` (and its parents) if needed, unless it is
    /// another user's link ([`Runs::refuse_foreign_link`]). Errors here
    /// and below name no path: the caller's error does
    /// ([`crate::SetupError`]).
    pub fn create(&self) -> io::Result<()> {
        self.refuse_foreign_link()?;
        fs::create_dir_all(&self.dir)?;
        self.hold()
    }

    /// Holds `NAME.runs` open ([`RunDir::hold_own_link`]): from here on,
    /// the lock, `latest` and new run folders are reached through it.
    pub fn hold(&self) -> io::Result<()> {
        if self.held.get().is_none() {
            let dir = RunDir::hold_own_link(&self.dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.dir.display())))?;
            // A clone that held it meanwhile holds the same handle.
            let _ = self.held.set(dir);
        }
        Ok(())
    }

    /// Refuses a `NAME.runs` that is another user's symbolic link: that
    /// user would choose where the runs go (and which folders
    /// `--keep-runs` removes).
    pub fn refuse_foreign_link(&self) -> io::Result<()> {
        let owner = nofollow::foreign_link(&self.dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.dir.display())))?;
        match owner {
            None => Ok(()),
            Some(owner) => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link owned by another user (uid {owner}); runs are never kept behind someone else's link: remove it, or keep the runs elsewhere with --runs-dir",
                    self.dir.display()
                ),
            )),
        }
    }

    /// The lock file of every run of this input.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK)
    }

    /// Every run folder, oldest first.
    pub fn folders(&self) -> io::Result<Vec<RunFolder>> {
        let mut found = Vec::new();
        // Once held, listed through the handle: the path may lead to
        // someone else's folder by now.
        let held = match self.held.get() {
            Some(dir) => Arc::clone(dir),
            None => match RunDir::hold_own_link(&self.dir) {
                Ok(dir) => dir,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
                Err(e) => return Err(e),
            },
        };
        for (name, is_dir) in held.entries()? {
            // Never follow `latest` or any other link: only real folders.
            if !is_dir {
                continue;
            }
            let Some(key) = name.to_str().and_then(Key::parse) else {
                continue;
            };
            found.push(RunFolder {
                path: self.dir.join(name),
                key,
                _held: None,
            });
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    /// The newest unfinished run, if any.
    pub fn unfinished(&self) -> io::Result<Option<RunFolder>> {
        Ok(self
            .folders()?
            .into_iter()
            .rev()
            .find(RunFolder::is_unfinished))
    }

    /// What the newest earlier import to `target` leaves in doubt (see
    /// [`Doubt::inherit`]): runs to another target are passed over, and
    /// so are check runs and folders with neither a `doubt` file nor a
    /// journal (a run refused at its start).
    pub fn inherit(
        &self,
        target: &Target,
        timeout: std::time::Duration,
    ) -> Result<Option<Doubt>, DoubtError> {
        let folders = self.folders().map_err(|source| DoubtError::Io {
            path: self.dir.clone(),
            source,
        })?;
        for folder in folders.iter().rev().filter(|f| !f.is_check()) {
            let (file, journal) = (folder.doubt(), folder.journal());
            if !file.exists() && !journal.exists() {
                continue;
            }
            if let Some(doubt) = Doubt::inherit(&file, &journal, target, timeout)? {
                return Ok(Some(doubt));
            }
        }
        Ok(None)
    }

    /// Creates the folder of a new run started at `now` and points
    /// `latest` at it (see [`Runs::point_latest`]; when that fails, the
    /// new, empty folder is removed again). The same-second counter is
    /// shared by checks and imports, so names sort in the order the runs
    /// started.
    pub fn new_run(
        &self,
        now: SystemTime,
        kind: RunKind,
    ) -> io::Result<(RunFolder, Option<ForeignLatest>)> {
        let stamp = stamp(now);
        for seq in 1..10_000 {
            let key = Key {
                stamp: stamp.clone(),
                seq,
                kind,
            };
            let twin_exists = [
                RunKind::Import,
                RunKind::Check,
                RunKind::Plan,
                RunKind::Undo,
            ]
            .into_iter()
            .filter(|k| *k != kind)
            .any(|k| {
                let twin = Key {
                    kind: k,
                    ..key.clone()
                };
                run_dir::exists(&self.dir.join(twin.name()))
            });
            if twin_exists {
                continue;
            }
            let path = self.dir.join(key.name());
            match run_dir::create_private_dir(&path) {
                Ok(()) => {
                    let folder = RunFolder {
                        path,
                        key,
                        _held: None,
                    };
                    let folder = match folder.clone().hold() {
                        Ok(folder) => folder,
                        Err(e) => {
                            let _ = remove_dir(&folder.path);
                            return Err(e);
                        }
                    };
                    return match self.point_latest(&folder) {
                        Ok(foreign) => Ok((folder, foreign)),
                        Err(e) => {
                            let path = folder.path.clone();
                            drop(folder);
                            let _ = remove_dir(&path);
                            Err(e)
                        }
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("too many runs started in the same second"))
    }

    /// Points `latest` at `folder` (replaced whole, never half-written).
    /// A `latest` this tool did not make is left as it is: returned, for
    /// the run to report.
    pub fn point_latest(&self, folder: &RunFolder) -> io::Result<Option<ForeignLatest>> {
        let latest = self.dir.join(LATEST);
        if let Some(what) = self.foreign_latest(&latest)? {
            return Ok(Some(ForeignLatest {
                path: latest,
                what,
                folder: folder.path.clone(),
            }));
        }
        let tmp = self
            .dir
            .join(format!(".{LATEST}.{}.tmp", std::process::id()));
        // Unlinking a link removes the link, never what it points at.
        let _ = run_dir::remove_file(&tmp);
        let name = folder.name();
        let text = || -> io::Result<()> {
            use io::Write;
            nofollow::create_new(&tmp)?.write_all(format!("{name}\n").as_bytes())
        };
        // `symlink` never follows anything in its place.
        #[cfg(unix)]
        let made = run_dir::symlink(Path::new(&name), &tmp)
            // A file system without symlinks (a share): the text file.
            .or_else(|_| text());
        #[cfg(not(unix))]
        let made = text();
        let result = made.and_then(|()| run_dir::rename(&tmp, &latest));
        if result.is_err() {
            let _ = run_dir::remove_file(&tmp);
        }
        result
            .map(|()| None)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", latest.display())))
    }

    /// What is at `latest` when this tool did not make it: not a link
    /// (the pointer, which replacing never follows), nor a small text file
    /// naming a run folder (the pointer where there are no links).
    fn foreign_latest(&self, latest: &Path) -> io::Result<Option<&'static str>> {
        let meta = match fs::symlink_metadata(latest) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            return Ok(None);
        }
        if !meta.is_file() {
            return Ok(Some(nofollow::what(meta.file_type())));
        }
        let names_a_run = nofollow::read_start(latest, 64).is_ok_and(|text| {
            std::str::from_utf8(&text)
                .ok()
                .and_then(|t| t.strip_suffix('\n'))
                .and_then(Key::parse)
                .is_some()
        });
        Ok((!names_a_run).then_some("a file"))
    }

    /// Removes the oldest finished run folders so that at most `keep` run
    /// folders remain; unfinished ones and `current` are never removed
    /// (they may leave more than `keep`). `keep == 0` keeps every run.
    /// Only the files a run writes are removed ([`RunFolder::remove`]): a
    /// folder holding anything else (the runs of its errors file, a link,
    /// a file of the user's) keeps it, and stays. Returns the folders
    /// removed.
    pub fn prune(&self, keep: u32, current: &RunFolder) -> io::Result<Vec<PathBuf>> {
        if keep == 0 {
            return Ok(Vec::new());
        }
        let folders = self.folders()?;
        let excess = folders.len().saturating_sub(keep as usize);
        let mut removed = Vec::new();
        for folder in folders.into_iter().take(excess) {
            if folder == *current || folder.is_unfinished() {
                continue;
            }
            let kept = folder.remove()?;
            if kept.is_empty() {
                removed.push(folder.path);
            } else {
                tracing::warn!(
                    "--keep-runs: kept {}: it holds what no run of this input wrote ({}); move that away for it to go",
                    folder.path.display(),
                    kept.join(", ")
                );
            }
        }
        Ok(removed)
    }
}

/// The files a run writes in its folder: `--keep-runs` removes these and
/// nothing else. `run.toml` records how the run was started.
const RUN_FILES: [&str; 11] = [
    RESULTS,
    ERRORS,
    ERRORS_WORKBOOK,
    SUMMARY,
    REPORT,
    JOURNAL,
    FINISHED_JOURNAL,
    ABANDONED,
    doubt::FILE,
    crate::output::plan_file::FILE,
    "run.toml",
];

/// One of [`RUN_FILES`], or what a killed write of one left behind
/// (`.NAME.XXXXXX.tmp`, see [`crate::util::atomic`]).
fn is_run_file(name: &str) -> bool {
    let leftover = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.rsplit_once('.'))
        .map(|(file, _)| file);
    RUN_FILES.contains(&name) || leftover.is_some_and(|f| RUN_FILES.contains(&f))
}

/// A `latest` this tool did not make, left as it is.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} is {what} that notify-import did not make; it was left as it is, so it does not point at this run ({folder}): move it away so that latest points at the newest run again"
)]
pub struct ForeignLatest {
    /// `NAME.runs/latest`.
    pub path: PathBuf,
    /// What is there, e.g. `a directory`.
    pub what: &'static str,
    /// The run's folder, which it does not point at.
    pub folder: PathBuf,
}

/// Where a started run writes each of its files.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// The run's folder.
    pub folder: RunFolder,
    /// The results CSV (`--results`, else in the folder).
    pub results: PathBuf,
    /// The errors CSV (`--errors`, else in the folder).
    pub errors: PathBuf,
    /// The journal, always in the folder.
    pub journal: PathBuf,
    /// The run's own summary document, always in the folder.
    pub summary: PathBuf,
    /// `report.html` in the folder; `None` with `--no-report`.
    pub report: Option<PathBuf>,
    /// The unfinished run this one left behind, if it did (set by the
    /// start).
    pub abandoned: Option<super::recovery::Abandoned>,
    /// For a plan: the unfinished import of the same, unchanged input
    /// that a plain `import` of it would be refused for (set by the
    /// start), so the plan's advice can say `--restart`.
    pub unfinished_import: Option<PathBuf>,
}

impl RunFiles {
    /// The files of a run in `folder`, with the paths the user named;
    /// `report`: whether it writes `report.html`.
    pub fn new(
        folder: RunFolder,
        results: Option<&Path>,
        errors: Option<&Path>,
        report: bool,
    ) -> RunFiles {
        RunFiles {
            report: report.then(|| folder.path.join(REPORT)),
            results: results.map_or_else(|| folder.results(), Path::to_owned),
            errors: errors.map_or_else(|| folder.errors(), Path::to_owned),
            journal: folder.journal(),
            summary: folder.summary(),
            folder,
            abandoned: None,
            unfinished_import: None,
        }
    }
}

/// Removes the empty folder `path` made for a run that could not start,
/// through the held runs folder when it is held.
fn remove_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((dir, name)) = run_dir::held(path) {
        return dir.remove_dir(name);
    }
    fs::remove_dir(path)
}

impl RunFolder {
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its name, e.g. `2026-12-02T182601Z`.
    pub fn name(&self) -> String {
        self.key.name()
    }

    /// A `validate` / `--dry-run` run.
    pub fn is_check(&self) -> bool {
        self.key.kind == RunKind::Check
    }

    /// A `plan` run.
    pub fn is_plan(&self) -> bool {
        self.key.kind == RunKind::Plan
    }

    /// What the folder holds.
    pub fn kind(&self) -> RunKind {
        self.key.kind
    }

    /// The run folder at `path` (its name a run's) and the runs it is
    /// one of; `None` when the name is not a run folder's.
    pub fn at(path: &Path) -> Option<(Runs, RunFolder)> {
        let key = Key::parse(path.file_name()?.to_str()?)?;
        let runs = Runs {
            dir: path.parent()?.to_owned(),
            held: Arc::default(),
        };
        Some((
            runs,
            RunFolder {
                path: path.to_owned(),
                key,
                _held: None,
            },
        ))
    }

    /// This folder held open ([`RunDir`]) for the run writing in it: its
    /// files are reached through the handle for as long as this value (or
    /// a clone) lives. Refused when a link is in its place.
    pub fn hold(self) -> io::Result<RunFolder> {
        let held = RunDir::hold(&self.path)?;
        Ok(RunFolder {
            _held: Some(held),
            ..self
        })
    }

    /// `results.csv` in this folder.
    pub fn results(&self) -> PathBuf {
        self.path.join(RESULTS)
    }

    /// `errors.csv` in this folder.
    pub fn errors(&self) -> PathBuf {
        self.path.join(ERRORS)
    }

    /// `errors.xlsx` in this folder (for a workbook input).
    pub fn errors_workbook(&self) -> PathBuf {
        self.path.join(ERRORS_WORKBOOK)
    }

    /// `summary.json` in this folder.
    pub fn summary(&self) -> PathBuf {
        self.path.join(SUMMARY)
    }

    /// The journal of this run once it finished ([`FINISHED_JOURNAL`]).
    pub fn finished_journal(&self) -> PathBuf {
        self.path.join(FINISHED_JOURNAL)
    }

    /// The journal in this folder.
    pub fn journal(&self) -> PathBuf {
        self.path.join(JOURNAL)
    }

    /// Whether `--resume` can continue this run: it left a journal (a run
    /// that reached the end of its input removes it), it was not
    /// abandoned, and it did not send to the embedded sandbox (gone with
    /// its process). A journal that cannot be read counts as unfinished:
    /// the user decides, with `--resume` (which explains) or `--restart`.
    pub fn is_unfinished(&self) -> bool {
        if self.key.kind != RunKind::Import || self.path.join(ABANDONED).exists() {
            return false;
        }
        let journal = self.journal();
        if !journal.exists() {
            return false;
        }
        journal::header(&journal).map_or(true, |h| !h.sandbox)
    }

    /// Rows finished (every status but `skipped`: invalid and repeated
    /// rows too) and rows in all, as its summary says; where the run left
    /// none (killed), the rows its journal saw finished, which are only
    /// rows it sent. `None` if neither can be read.
    pub fn progress(&self) -> Option<(u64, u64)> {
        let summary = std::fs::read(self.summary())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|doc| {
                let rows = doc["rows"].as_u64().filter(|n| *n > 0)?;
                let skipped = doc["counts"]["skipped"].as_u64()?;
                Some((rows.saturating_sub(skipped), rows))
            });
        summary.or_else(|| {
            journal::progress(&self.journal())
                .ok()
                .map(|p| (p.done, p.header.rows))
        })
    }

    /// How this run was started, from its journal's header (`None` when
    /// it cannot be read).
    pub fn started_as(&self) -> Option<journal::Header> {
        journal::header(&self.journal()).ok()
    }

    /// Marks this run abandoned (`--restart`, or its input changed): its
    /// files stay as they are, it no longer blocks a run and is never
    /// resumed. `why` ends the mark's one line.
    pub fn abandon(&self, why: &str) -> io::Result<()> {
        use io::Write;
        let at = humantime::format_rfc3339_seconds(SystemTime::now());
        // Reached through the held runs folder, whatever its path leads to.
        let _held = RunDir::hold(&self.path)?;
        // A new file: nothing in its place is followed or replaced.
        nofollow::create_new(&self.path.join(ABANDONED))?
            .write_all(format!("abandoned at {at}: {why}; this run is never resumed\n").as_bytes())
    }

    /// Removes the files a run writes in this folder (a link in their
    /// place is removed as a link, never followed), then the folder if
    /// nothing else is in it. Returns the names of what it left: anything
    /// else, above all a folder (the runs of an import of this run's
    /// errors file live in `errors.runs` inside it).
    fn remove(&self) -> io::Result<Vec<String>> {
        let mut kept = Vec::new();
        // Through the handle: a swapped path cannot turn this removal on
        // someone else's folder.
        let dir = RunDir::hold(&self.path)?;
        for (name, is_dir) in dir.entries()? {
            let ours = name.to_str().is_some_and(is_run_file);
            if ours && !is_dir {
                dir.remove(&name)?;
            } else {
                kept.push(name.to_string_lossy().into_owned());
            }
        }
        drop(dir);
        if kept.is_empty() {
            remove_dir(&self.path)?;
        }
        kept.sort();
        Ok(kept)
    }

    /// The `doubt` file in this folder ([`crate::store::doubt`]).
    pub fn doubt(&self) -> PathBuf {
        self.path.join(doubt::FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The created runs folder of `k.csv` in a new temporary directory.
    fn fresh() -> (tempfile::TempDir, Runs) {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::for_input(&dir.path().join("k.csv"), None).unwrap();
        runs.create().unwrap();
        (dir, runs)
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000 + secs)
    }

    #[test]
    fn names_are_the_utc_start_and_sort_in_start_order() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::for_input(&dir.path().join("klanten.csv"), None).unwrap();
        assert_eq!(runs.dir(), dir.path().join("klanten.runs"));
        runs.create().unwrap();
        let a = runs.new_run(at(0), RunKind::Check).unwrap().0;
        let b = runs.new_run(at(0), RunKind::Import).unwrap().0;
        let c = runs.new_run(at(0), RunKind::Import).unwrap().0;
        let d = runs.new_run(at(1), RunKind::Import).unwrap().0;
        assert_eq!(a.name(), "2026-11-30T005320Z-check");
        assert_eq!(b.name(), "2026-11-30T005320Z-2");
        assert_eq!(c.name(), "2026-11-30T005320Z-3");
        assert_eq!(d.name(), "2026-11-30T005321Z");
        std::fs::create_dir(runs.dir().join("notes")).unwrap();
        let names: Vec<String> = runs.folders().unwrap().iter().map(|f| f.name()).collect();
        assert_eq!(names, [a.name(), b.name(), c.name(), d.name()]);
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(runs.dir().join(LATEST)).unwrap(),
            PathBuf::from(d.name())
        );
        let e = runs.new_run(at(1), RunKind::Plan).unwrap().0;
        assert_eq!(e.name(), "2026-11-30T005321Z-2-plan");
        assert!(e.is_plan() && !e.is_unfinished());
        let names: Vec<String> = runs.folders().unwrap().iter().map(|f| f.name()).collect();
        assert_eq!(names.last(), Some(&e.name()), "a plan is a run like any");
    }

    #[test]
    fn other_names_are_not_runs() {
        for name in ["latest", "2026-11-30T005320Z-1", "2026-11-30T08132xZ", "x"] {
            assert!(Key::parse(name).is_none(), "{name}");
        }
        assert!(Key::parse("2026-11-30T005320Z-12-check").is_some());
    }

    #[test]
    fn runs_dir_holds_name_runs() {
        let runs = Runs::for_input(Path::new("in/k.csv"), Some(Path::new("/var/x"))).unwrap();
        assert_eq!(runs.dir(), Path::new("/var/x/k.runs"));
        let runs = Runs::for_input(Path::new("k.csv"), None).unwrap();
        assert_eq!(runs.dir(), Path::new("k.runs"));
    }

    #[test]
    fn prune_keeps_unfinished_and_current_runs() {
        let (_dir, runs) = fresh();
        let old: Vec<RunFolder> = (0..4)
            .map(|i| runs.new_run(at(i), RunKind::Import).unwrap().0)
            .collect();
        // The second oldest stopped and may be resumed: a journal.
        let header = journal::Header::new(
            crate::model::checked::Fingerprint {
                size: 1,
                hash: "a".into(),
            },
            "http://x/v2",
            "test",
            false,
            3,
        );
        journal::Journal::create(&old[1].journal(), &header)
            .unwrap()
            .close()
            .unwrap();
        assert!(old[1].is_unfinished());
        let current = runs.new_run(at(9), RunKind::Import).unwrap().0;
        let removed = runs.prune(2, &current).unwrap();
        assert_eq!(
            removed,
            [old[0].path().to_owned(), old[2].path().to_owned()]
        );
        let left: Vec<String> = runs.folders().unwrap().iter().map(|f| f.name()).collect();
        assert_eq!(left, [old[1].name(), old[3].name(), current.name()]);
        // Abandoned counts as finished.
        old[1].abandon("test").unwrap();
        assert!(!old[1].is_unfinished());
        assert_eq!(runs.prune(2, &current).unwrap(), [old[1].path().to_owned()]);
        assert_eq!(runs.prune(0, &current).unwrap(), Vec::<PathBuf>::new());
    }

    #[cfg(unix)]
    #[test]
    fn keep_runs_removes_only_a_runs_own_files_never_through_a_link_nor_a_nested_run() {
        let (dir, runs) = fresh();
        let old: Vec<RunFolder> = (0..3)
            .map(|i| runs.new_run(at(i), RunKind::Import).unwrap().0)
            .collect();
        for f in &old {
            std::fs::write(f.results(), "r").unwrap();
            std::fs::write(f.summary(), "{}").unwrap();
            std::fs::write(f.path().join(".results.csv.a1b2c3.tmp"), "torn").unwrap();
        }
        // The oldest holds the runs of an import of its errors file, and a
        // link named like a run's file that leads to another run's folder.
        let nested = old[0].path().join("errors.runs").join("2026-11-30T010000Z");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("results.csv"), "another run").unwrap();
        // The second holds a link, named as a run's file, into the third.
        std::fs::remove_file(old[1].results()).unwrap();
        std::os::unix::fs::symlink(old[2].path(), old[1].results()).unwrap();
        let victim = dir.path().join("victim.csv");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, old[1].errors()).unwrap();

        let current = runs.new_run(at(9), RunKind::Import).unwrap().0;
        let removed = runs.prune(1, &current).unwrap();
        assert_eq!(
            removed,
            [old[1].path().to_owned(), old[2].path().to_owned()]
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::read_to_string(nested.join("results.csv")).unwrap(),
            "another run"
        );
        // Its own files went; the nested run and the folder stay.
        let left: Vec<String> = std::fs::read_dir(old[0].path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["errors.runs"]);
        assert!(is_run_file(".summary.json.XyZ123.tmp") && !is_run_file(".notes.tmp"));
    }

    #[test]
    fn a_latest_this_tool_did_not_make_is_left_alone_and_reported() {
        let (_dir, runs) = fresh();
        let latest = runs.dir().join(LATEST);
        std::fs::create_dir(&latest).unwrap();
        std::fs::write(latest.join("mine.txt"), "keep").unwrap();
        let (folder, foreign) = runs.new_run(at(0), RunKind::Import).unwrap();
        let foreign = foreign.expect("reported");
        assert_eq!(
            (foreign.what, &foreign.folder),
            ("a directory", &folder.path)
        );
        let text = foreign.to_string();
        assert!(
            text.contains(&latest.display().to_string()) && text.contains("move it away"),
            "{text}"
        );
        assert!(folder.path().is_dir(), "the run goes on in its folder");
        assert_eq!(
            std::fs::read_to_string(latest.join("mine.txt")).unwrap(),
            "keep"
        );

        std::fs::remove_dir_all(&latest).unwrap();
        std::fs::write(&latest, "my notes\n").unwrap();
        let (_, foreign) = runs.new_run(at(1), RunKind::Import).unwrap();
        assert_eq!(foreign.map(|f| f.what), Some("a file"));
        assert_eq!(std::fs::read_to_string(&latest).unwrap(), "my notes\n");
    }

    #[test]
    fn a_latest_text_file_naming_a_run_is_ours_and_replaced() {
        let (_dir, runs) = fresh();
        let latest = runs.dir().join(LATEST);
        std::fs::write(&latest, "2026-11-30T005320Z\n").unwrap();
        let (folder, foreign) = runs.new_run(at(5), RunKind::Import).unwrap();
        assert!(foreign.is_none());
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(&latest).unwrap(),
            PathBuf::from(folder.name())
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_abandoned_mark_is_never_written_through_a_link() {
        let (dir, runs) = fresh();
        let (folder, _) = runs.new_run(at(0), RunKind::Import).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, folder.path().join(ABANDONED)).unwrap();
        assert!(folder.abandon("test").is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[cfg(unix)]
    #[test]
    fn a_runs_folder_behind_another_users_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let runs = Runs::for_input(&dir.path().join("k.csv"), None).unwrap();
        std::os::unix::fs::symlink(&elsewhere, runs.dir()).unwrap();
        runs.create().unwrap();
        // Only root can give a link to another user.
        if std::os::unix::fs::lchown(runs.dir(), Some(65534), None).is_err() {
            return;
        }
        let err = runs.create().unwrap_err().to_string();
        assert!(
            err.contains("owned by another user (uid 65534)") && err.contains("--runs-dir"),
            "{err}"
        );
    }
}
