//! The outputs of a run, as one set: what is registered, checked before
//! the run starts, fed rows in input order, and written at the end.
//!
//! Owns [`Outputs::for_run`], the one place that says which outputs a run
//! writes; the one writability check ([`Outputs::check_writable`]: a file
//! the user named that exists is refused unless `--overwrite-outputs`); the
//! order rows reach the outputs in (input order, whatever order the
//! uploader finished them in); and when each output is written.
//!
//! # Two kinds of output, and why
//!
//! The **results file** is every run's record of every row: its rows move
//! the window that bounds the uploader ([`results::Window`]), a row it
//! cannot take stops the sending, a failure to complete it fails the run,
//! a check patches repeated codes into it at the end, and the other
//! outputs are made from it. Those are its own rules, so it is a field of
//! the set, not a member of the list.
//!
//! **Every other output** ([`Output`]: the errors file, the HTML report,
//! the summary; next the plan file) is derived: it may take each row
//! ([`Output::row`]), writes once the rows are over ([`Output::rows_done`],
//! with the finished results file and the input's cells) or once the run
//! is over ([`Output::run_done`], with the exit code or the error), and a
//! failure to write it is reported but changes nothing else. They are a
//! list of boxed trait objects: an output is one new file implementing
//! [`Output`] and one line in [`Outputs::for_run`], and nothing else
//! matches on which outputs exist (an enum would put every output in every
//! `match`). The list is walked once per row and per phase; the indirection
//! costs nothing a run can measure.
//!
//! Every output is written through [`crate::util::atomic`]: whole or not at
//! all, mode 0600. It must not decide outcomes or exit codes: it writes the
//! ones the run hands it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use csv::StringRecord;

use crate::check::pass::Pass;
use crate::check::tally::RowProblems;
use crate::config::RunConfig;
use crate::input::{InputError, RecordSource};
use crate::model::checked::Fingerprint;
use crate::model::field::Field;
use crate::model::outcome::{Counts, Outcome};
use crate::model::problem::ProblemKind;
use crate::output::errors_file::ErrorsFile;
use crate::output::page::HtmlReport;
use crate::output::plan_file::PlanFacts;
use crate::output::report::{Reporter, TotalsOwned};
use crate::output::results::{self, InputOrder, ResultsWriter};
use crate::output::summary::Summary;
use crate::run::{RunError, RunFiles};

/// Why a derived output was not written; reported, never matched on.
pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// An output derived from a run's rows or facts (see the module doc).
/// Every method but [`Output::name`] has a default that does nothing, so
/// an output implements only the moments it writes at.
pub(crate) trait Output: Send {
    /// What it is, for messages: `errors file`, `summary`.
    fn name(&self) -> &'static str;

    /// The file the user named for it, if any: checked before the run
    /// starts ([`Outputs::check_writable`]).
    fn named(&self) -> Option<Named> {
        None
    }

    /// The next row's outcome; rows come in input order, each once. An
    /// output that cannot take one keeps the failure for its next phase:
    /// only the results file stops a run. In a check, a row whose code
    /// repeats an earlier one still reads `valid` here: repeats are known
    /// only after the last row and are patched into the results file alone
    /// ([`Outputs::finish_rows_amending`]), so an output that needs every
    /// row's final outcome reads the finished results file in
    /// [`Output::rows_done`], as the errors file does.
    fn row(&mut self, _outcome: &Outcome) {}

    /// The rows start over from the first: the pass found that the input
    /// mixes encodings and reads it again. Forget the rows taken so far.
    fn restart_rows(&mut self) {}

    /// Every row has its outcome and the results file is complete. Returns
    /// the file written, if one was.
    fn rows_done(&mut self, _done: &RowsDone<'_>) -> Result<Option<PathBuf>, Failure> {
        Ok(None)
    }

    /// The run is over, its exit code or error known; called for every run
    /// that started, also one that failed before its first row.
    fn run_done(&mut self, _done: &RunDone<'_>) -> Result<(), Failure> {
        Ok(())
    }
}

/// A file the user named for an output (`--errors PATH`), which must not
/// replace an existing file unless `--overwrite-outputs`. (Run folders are
/// new for every run, so only a named file can exist.)
#[derive(Debug, Clone)]
pub struct Named {
    /// The flag that named it, e.g. `--errors`.
    pub flag: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Why an existing one matters, e.g. ` (maybe rows being fixed)`.
    pub note: &'static str,
    /// What leaving the flag out does, e.g. `to write into the run folder`.
    pub instead: &'static str,
}

/// A file the user named for an output cannot be written there.
#[derive(Debug, thiserror::Error)]
pub enum OutputRefused {
    /// It exists and `--overwrite-outputs` was not given.
    #[error(
        "{} {} already exists{}; pass --overwrite-outputs to replace it, or leave out {} {}",
        .0.flag, .0.path.display(), .0.note, .0.flag, .0.instead
    )]
    Exists(Named),
    /// The folder it would go in does not exist (a typo, or not made yet).
    #[error(
        "{} {}: the folder {} does not exist; create it first (mkdir -p {}), or name a file in an existing folder, or leave out {} {}",
        .named.flag, .named.path.display(), .folder.display(), .folder.display(), .named.flag, .named.instead
    )]
    NoFolder {
        /// The file named.
        named: Named,
        /// Its folder.
        folder: PathBuf,
    },
    /// It, or what should be its folder, is of the wrong kind: a folder
    /// where the file goes, or a file where its folder goes. Nothing
    /// could be written there at the end of the run, after sending.
    #[error(
        "{} {}: {} is a {}; name a file in an existing folder, or leave out {} {}",
        .named.flag, .named.path.display(), .at.display(), .found, .named.flag, .named.instead
    )]
    WrongKind {
        /// The file named.
        named: Named,
        /// The path of the wrong kind (the file named, or its folder).
        at: PathBuf,
        /// What is there.
        found: Found,
    },
}

/// What is in the way of a named output ([`OutputRefused::WrongKind`]).
#[derive(Debug, Clone, Copy)]
pub enum Found {
    /// A folder where the file goes.
    Folder,
    /// A file where its folder goes.
    File,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Found::Folder => "folder, not a file",
            Found::File => "file, not a folder",
        })
    }
}

/// Where the input's rows can be read again, with their original cells:
/// an import's checked rows kept in the run folder, or a check's input
/// through the handle the run opened.
pub(crate) struct InputRows<'a> {
    /// The input as the user named it.
    pub input: &'a Path,
    /// The input's header row.
    pub headers: &'a StringRecord,
    /// The input's delimiter.
    pub delimiter: u8,
    /// Opens the rows from the first.
    pub open: &'a dyn Fn() -> Result<Box<dyn RecordSource>, InputError>,
}

/// What the outputs get once every row has its outcome.
pub(crate) struct RowsDone<'a> {
    /// Outcomes per status.
    pub counts: &'a Counts,
    /// The complete results file.
    pub results: &'a Path,
    /// Where the run writes its files.
    pub files: &'a RunFiles,
    /// The input's rows again; `None` when they cannot be read back.
    pub rows: Option<&'a InputRows<'a>>,
    /// For a line to the user.
    pub reporter: &'a Reporter,
}

/// What the outputs get once the run is over.
pub(crate) struct RunDone<'a> {
    /// The run's settings.
    pub run: &'a RunConfig,
    /// Where the run wrote its files.
    pub files: &'a RunFiles,
    /// The exit code, or the error that ended the run.
    pub result: &'a Result<u8, RunError>,
    /// What was learned along the way.
    pub facts: &'a RunFacts,
    /// How long the run took: taken once, so every output describes the
    /// same end.
    pub elapsed: Duration,
}

/// The facts of a run that outputs describe, collected as it goes.
#[derive(Debug)]
pub(crate) struct RunFacts {
    /// When the run started (for its duration).
    pub started: Instant,
    /// When the run started (for the record).
    pub started_at: SystemTime,
    /// How the input was read, once the pass read it.
    pub input: Option<InputFacts>,
    /// The totals of the printed summary, once the rows are over.
    pub totals: Option<TotalsOwned>,
    /// What a plan found (`plan` only).
    pub plan: Option<PlanFacts>,
}

/// How the input was read.
#[derive(Debug, Clone)]
pub(crate) struct InputFacts {
    /// The encoding's WHATWG name.
    pub encoding: String,
    /// The delimiter, the character itself.
    pub delimiter: String,
    /// The sheet, for a workbook (then encoding and delimiter mean
    /// nothing).
    pub sheet: Option<String>,
    /// Of the bytes the pass parsed; `None` if it did not read to the end.
    pub fingerprint: Option<Fingerprint>,
    /// Where the header row is, in words (`line 3; lines 1–2 skipped`).
    pub header: String,
    /// How the input was read and mapped, as the run header says it: one
    /// line per decision (encoding, delimiter, each field's source).
    pub description: String,
    /// Invalid rows per kind of problem, most frequent first: the kind in
    /// words, its rows and its first lines.
    pub problems: Vec<(String, u64, Vec<u64>)>,
    /// The first invalid rows with their problems, for the report.
    pub detailed: Vec<RowProblems>,
    /// How the run header shows repeated codes, when some repeated.
    pub repeated: Option<String>,
}

/// The files the derived outputs wrote once the rows were over, by
/// [`Output::name`].
#[derive(Debug, Default)]
pub(crate) struct Written(Vec<(&'static str, PathBuf)>);

impl Written {
    /// The file the output called `name` wrote, if it wrote one.
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.as_path())
    }
}

/// A run's outputs.
pub(crate) struct Outputs {
    /// `--results PATH`, if given.
    results_named: Option<PathBuf>,
    /// Open from [`Outputs::start_rows`] until the rows are over.
    results: Option<ResultsWriter>,
    order: InputOrder,
    derived: Vec<Box<dyn Output>>,
    facts: RunFacts,
}

impl Outputs {
    /// The outputs of `run`, in the order they are written: the one place
    /// that registers them. A check and an import write the same ones; an
    /// output of one command only goes on its own line under a condition
    /// on `run.upload`.
    pub fn for_run(run: &RunConfig) -> Outputs {
        let mut derived: Vec<Box<dyn Output>> = vec![
            // After the results file, which it is made from.
            Box::new(ErrorsFile::new(run.outputs.errors.clone())),
        ];
        if run.outputs.report {
            // After the errors file, which it points to for the rows it
            // leaves out.
            derived.push(Box::new(HtmlReport::new()));
        }
        // Last: it lists the files the others wrote.
        derived.push(Box::new(Summary::in_run_folder()));
        if let Some(target) = &run.summary_json {
            derived.push(Box::new(Summary::to(target.clone())));
        }
        Outputs::with(run.outputs.results.clone(), derived)
    }

    fn with(results_named: Option<PathBuf>, derived: Vec<Box<dyn Output>>) -> Outputs {
        Outputs {
            results_named,
            results: None,
            order: InputOrder::default(),
            derived,
            facts: RunFacts {
                started: Instant::now(),
                started_at: SystemTime::now(),
                input: None,
                totals: None,
                plan: None,
            },
        }
    }

    /// Refuses a file the user named whose folder does not exist, or that
    /// exists, unless `overwrite` or it is one of `own` (absolute paths:
    /// the resumed run's own outputs, which it continues); checked before
    /// anything is written.
    pub fn check_writable(&self, overwrite: bool, own: &[PathBuf]) -> Result<(), OutputRefused> {
        let results = self.results_named.clone().map(results::named);
        let named = results
            .into_iter()
            .chain(self.derived.iter().filter_map(|o| o.named()));
        for named in named {
            let folder = match named.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            if !folder.exists() {
                return Err(OutputRefused::NoFolder { named, folder });
            }
            if !folder.is_dir() {
                return Err(OutputRefused::WrongKind {
                    named,
                    at: folder,
                    found: Found::File,
                });
            }
            if named.path.is_dir() {
                let at = named.path.clone();
                return Err(OutputRefused::WrongKind {
                    named,
                    at,
                    found: Found::Folder,
                });
            }
            let continued = own.contains(&crate::run::settings::absolute(&named.path));
            if named.path.exists() && !overwrite && !continued {
                return Err(OutputRefused::Exists(named));
            }
        }
        Ok(())
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.facts.started
    }

    /// Starts the results file at `path`; rows may come from now on.
    /// `check`: nothing is sent, so the file is written on a thread of its
    /// own (see [`ResultsWriter::create_batched`]).
    pub fn start_rows(&mut self, path: &Path, check: bool) -> io::Result<()> {
        self.results = Some(if check {
            ResultsWriter::create_batched(path)?
        } else {
            ResultsWriter::create(path)?
        });
        Ok(())
    }

    /// Where the results file goes, once started (for messages).
    pub fn results_path(&self) -> &Path {
        self.results
            .as_ref()
            .map_or(Path::new(""), ResultsWriter::path)
    }

    /// Takes one row's outcome, in any order: each output gets the rows in
    /// input order. An error means the results file cannot take rows any
    /// more, and the run must stop sending.
    /// Forgets every row taken so far (see [`Output::restart_rows`]): the
    /// results file starts again, empty, at the same path.
    pub fn restart_rows(&mut self) -> io::Result<()> {
        let Some(results) = self.results.take() else {
            return Err(not_started());
        };
        let (path, batched) = (results.path().to_owned(), results.is_batched());
        // Dropped unfinished: its temporary file is removed.
        drop(results);
        self.order = InputOrder::default();
        for output in &mut self.derived {
            output.restart_rows();
        }
        self.start_rows(&path, batched)
    }

    pub fn push(&mut self, outcome: Outcome) -> io::Result<()> {
        let Some(results) = self.results.as_mut() else {
            return Err(not_started());
        };
        let derived = &mut self.derived;
        self.order.push(outcome, |o| {
            results.write(o)?;
            for output in derived.iter_mut() {
                output.row(o);
            }
            Ok(())
        })
    }

    /// Rows the outputs have taken, in input order.
    pub fn rows_written(&self) -> u64 {
        self.order.delivered()
    }

    /// Completes the results file once every one of `rows` rows has its
    /// outcome, and returns its path. Fails, writing nothing, if a row is
    /// missing: a results file is never silently incomplete.
    pub fn finish_rows(&mut self, rows: u64) -> io::Result<PathBuf> {
        self.finish_rows_amending(rows, std::iter::empty::<io::Result<(u64, ())>>(), |o, ()| o)
    }

    /// [`Outputs::finish_rows`] after replacing the outcome of rows already
    /// written (see [`ResultsWriter::finish_amending`]): for what a check
    /// learns only after its last row, its repeated codes.
    pub fn finish_rows_amending<T>(
        &mut self,
        rows: u64,
        amendments: impl Iterator<Item = io::Result<(u64, T)>>,
        amend: impl FnMut(Outcome, T) -> Outcome,
    ) -> io::Result<PathBuf> {
        let results = self.results.take().ok_or_else(not_started)?;
        self.order.check_complete(rows)?;
        results.finish_amending(amendments, amend)
    }

    /// Writes the derived outputs that are made from the rows; a failure
    /// is logged, and the run goes on.
    pub fn rows_done(&mut self, done: &RowsDone<'_>) -> Written {
        let mut written = Written::default();
        for output in &mut self.derived {
            match output.rows_done(done) {
                Ok(Some(path)) => written.0.push((output.name(), path)),
                Ok(None) => {}
                Err(e) => tracing::error!("the {} was not written: {e}", output.name()),
            }
        }
        written
    }

    /// Keeps how the pass read the input and what it found, for the
    /// outputs that describe it.
    pub fn input(&mut self, pass: &Pass) {
        let info = &pass.info;
        self.facts.input = Some(InputFacts {
            encoding: info.encoding.name().to_owned(),
            delimiter: char::from(info.delimiter.delimiter).to_string(),
            sheet: info.sheet.as_ref().map(|s| s.name.clone()),
            fingerprint: pass.fingerprint.clone(),
            header: info.header.to_string(),
            description: pass.mapping_description.clone(),
            problems: pass
                .problems
                .iter()
                .into_iter()
                .map(|(kind, rows, lines)| (kind.to_owned(), rows, lines.to_vec()))
                .collect(),
            detailed: pass.problems.detailed().to_vec(),
            repeated: pass
                .problems
                .shown(Some(Field::CustomerCode), ProblemKind::Repeated)
                .map(str::to_owned),
        });
    }

    /// Keeps what a plan found, for the summary and the report.
    pub fn plan(&mut self, facts: PlanFacts) {
        self.facts.plan = Some(facts);
    }

    /// Keeps the totals of the summary the user was shown.
    pub fn totals(&mut self, totals: Option<TotalsOwned>) {
        if totals.is_some() {
            self.facts.totals = totals;
        }
    }

    /// Writes the outputs that describe the whole run, then hands `result`
    /// back unchanged: an output that cannot be written is reported on
    /// stderr and does not change the exit code, which describes the run.
    pub fn run_done(
        mut self,
        run: &RunConfig,
        files: &RunFiles,
        result: Result<u8, RunError>,
    ) -> Result<u8, RunError> {
        let done = RunDone {
            run,
            files,
            result: &result,
            facts: &self.facts,
            elapsed: self.facts.started.elapsed(),
        };
        for output in &mut self.derived {
            if let Err(e) = output.run_done(&done) {
                tracing::error!("the {} was not written: {e}", output.name());
            }
        }
        result
    }
}

fn not_started() -> io::Error {
    io::Error::other("internal error: rows before the results file was started")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::results::tests::outcome;
    use std::sync::{Arc, Mutex};

    /// Records the rows it is given.
    struct Rows(Arc<Mutex<Vec<u64>>>);

    impl Output for Rows {
        fn name(&self) -> &'static str {
            "rows"
        }
        fn row(&mut self, outcome: &Outcome) {
            self.0.lock().unwrap().push(outcome.row);
        }
    }

    /// Names `path`.
    struct NamedFile(PathBuf);

    impl Output for NamedFile {
        fn name(&self) -> &'static str {
            "named"
        }
        fn named(&self) -> Option<Named> {
            Some(Named {
                flag: "--named",
                path: self.0.clone(),
                note: " (maybe in use)",
                instead: "to write into the run folder",
            })
        }
    }

    #[test]
    fn every_output_gets_the_rows_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut outputs = Outputs::with(None, vec![Box::new(Rows(seen.clone()))]);
        outputs.start_rows(&path, false).unwrap();
        for row in [3, 1, 2, 5, 4] {
            outputs.push(outcome(row)).unwrap();
        }
        assert_eq!(outputs.rows_written(), 5);
        outputs.finish_rows(5).unwrap();
        assert_eq!(*seen.lock().unwrap(), [1, 2, 3, 4, 5]);
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or_default())
            .collect();
        assert_eq!(rows, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_missing_row_fails_instead_of_writing_a_short_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut outputs = Outputs::with(None, Vec::new());
        outputs.start_rows(&path, false).unwrap();
        outputs.push(outcome(2)).unwrap();
        let err = outputs.finish_rows(2).unwrap_err();
        assert!(err.to_string().contains("row 1 has no outcome"), "{err}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut outputs = Outputs::with(None, Vec::new());
        outputs.start_rows(&path, true).unwrap();
        outputs.push(outcome(1)).unwrap();
        assert!(outputs.finish_rows(2).is_err(), "one row short");
        assert!(!path.exists());
    }

    #[test]
    fn rows_before_the_start_are_an_error_not_a_panic() {
        let mut outputs = Outputs::with(None, Vec::new());
        assert!(outputs.push(outcome(1)).is_err());
        assert!(outputs.finish_rows(0).is_err());
    }

    #[test]
    fn a_named_file_that_exists_is_refused_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("taken.csv");
        std::fs::write(&taken, "mine").unwrap();
        let free = dir.path().join("free.csv");
        let outputs = Outputs::with(Some(free.clone()), vec![Box::new(NamedFile(free))]);
        assert!(outputs.check_writable(false, &[]).is_ok());
        let outputs = Outputs::with(None, vec![Box::new(NamedFile(taken.clone()))]);
        let err = outputs.check_writable(false, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "--named {} already exists (maybe in use); pass --overwrite-outputs to replace it, or leave out --named to write into the run folder",
                taken.display()
            )
        );
        assert!(outputs.check_writable(true, &[]).is_ok());
        let outputs = Outputs::with(Some(taken.clone()), Vec::new());
        let err = outputs.check_writable(false, &[]).unwrap_err();
        assert!(err.to_string().starts_with("--results "), "{err}");
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
    }

    #[test]
    fn a_named_file_in_a_missing_folder_is_refused_naming_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let nodir = dir.path().join("nodir");
        let outputs = Outputs::with(Some(nodir.join("x.csv")), Vec::new());
        let err = outputs.check_writable(true, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "--results {}: the folder {} does not exist; create it first (mkdir -p {})",
                nodir.join("x.csv").display(),
                nodir.display(),
                nodir.display()
            )),
            "{err}"
        );
        assert!(!err.contains("removed"), "{err}");
        assert!(!nodir.exists(), "nothing made");
        let bare = Outputs::with(Some(PathBuf::from("x-not-there.csv")), Vec::new());
        assert!(
            bare.check_writable(false, &[]).is_ok(),
            "the current folder"
        );
    }
}
