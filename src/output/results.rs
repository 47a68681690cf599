//! The results CSV: one row per input data row, in input order.
//!
//! Owns the results-file contract of DESIGN.md: the column order, cell
//! neutralization against spreadsheet formulas, writing to a temporary file
//! (mode 0600) that is renamed into place only when complete, and putting
//! outcomes that arrive out of order back in input order. The reorder
//! buffer holds only the rows that overtook an earlier one, and
//! [`Window`] keeps rows from being started more than [`WINDOW_ROWS`]
//! ahead of the results file, so one slow row cannot make the buffer grow
//! with the file. It must not decide outcomes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::model::outcome::{Outcome, Status};

/// The header of the results file.
pub const HEADER: [&str; 8] = [
    "row",
    "line",
    "customer_code",
    "status",
    "customer_id",
    "http_status",
    "attempts",
    "error",
];

/// Makes a cell safe to open in a spreadsheet: text that a spreadsheet
/// would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets
/// a leading apostrophe. Values sent to the API are never changed.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Refuses to replace an existing `--results` file unless
/// `--overwrite-outputs`; checked before any work. (Run folders are new
/// for every run, so only a path the user named can exist.)
pub fn check_writable(path: &Path, overwrite: bool) -> io::Result<()> {
    if path.exists() && !overwrite {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "--results {} already exists; pass --overwrite-outputs to replace it, or leave out --results to write into the run folder",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Creates `path` for writing with mode 0600 (owner only): result files
/// hold customer data. `path` is a temporary file's: a link or a second
/// name of another file in its place is refused, never written through.
pub fn create_private(path: &Path) -> io::Result<File> {
    Ok(crate::util::nofollow::replace(path)?)
}

/// How far ahead of the last row written to the results file a row may be
/// started. Bounds the reorder buffer (an outcome is a few hundred bytes)
/// while leaving minutes of work for the rows behind a slow one at the
/// rates the API allows.
pub const WINDOW_ROWS: u64 = 8192;

/// Lets rows start only within a window of the rows written so far; the
/// reading side waits in [`Window::admit`], the writing side moves the
/// window with [`Window::written`].
#[derive(Debug)]
pub struct Window {
    size: u64,
    /// Rows written, or `None` once closed (nothing will be written).
    written: Mutex<Option<u64>>,
    moved: Condvar,
}

impl Window {
    /// A window of `size` rows.
    pub fn new(size: u64) -> Window {
        Window {
            size: size.max(1),
            written: Mutex::new(Some(0)),
            moved: Condvar::new(),
        }
    }

    /// Waits until `row` is within the window; `false` if the window was
    /// closed (the writer gave up), so the caller stops.
    pub fn admit(&self, row: u64) -> bool {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match *written {
                None => return false,
                Some(w) if row <= w.saturating_add(self.size) => return true,
                Some(_) => {
                    written = self
                        .moved
                        .wait(written)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// `rows` rows are in the results file.
    pub fn written(&self, rows: u64) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = written.as_mut()
            && rows > *w
        {
            *w = rows;
            self.moved.notify_all();
        }
    }

    /// Nothing more will be written: every waiting and later `admit` fails.
    pub fn close(&self) {
        *self.written.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.moved.notify_all();
    }

    /// Closes the window when dropped: held by the writing side, so a
    /// writer that ends early, even by a panic, never leaves the reading
    /// side waiting.
    pub fn close_on_drop(&self) -> CloseOnDrop<'_> {
        CloseOnDrop(self)
    }
}

/// See [`Window::close_on_drop`].
#[derive(Debug)]
pub struct CloseOnDrop<'a>(&'a Window);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Streams outcomes into the results file in input order.
pub struct ResultsWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: csv::Writer<BufWriter<File>>,
    pending: BTreeMap<u64, Outcome>,
    next_row: u64,
    finished: bool,
}

impl ResultsWriter {
    /// Starts a results file at `path` (written to a temporary file beside it).
    pub fn create(path: &Path) -> io::Result<ResultsWriter> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("results.csv");
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = create_private(&tmp).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", tmp.display()))
        })?;
        let mut out = csv::WriterBuilder::new().from_writer(BufWriter::new(file));
        out.write_record(HEADER)?;
        Ok(ResultsWriter {
            path: path.to_owned(),
            tmp,
            out,
            pending: BTreeMap::new(),
            next_row: 1,
            finished: false,
        })
    }

    /// Adds one outcome; writes it and any buffered successors once every
    /// earlier row is written.
    pub fn push(&mut self, outcome: Outcome) -> io::Result<()> {
        if outcome.row != self.next_row {
            self.pending.insert(outcome.row, outcome);
            return Ok(());
        }
        self.write(&outcome)?;
        self.next_row += 1;
        while let Some(next) = self.pending.remove(&self.next_row) {
            self.write(&next)?;
            self.next_row += 1;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.next_row - 1
    }

    fn write(&mut self, o: &Outcome) -> io::Result<()> {
        write_outcome(&mut self.out, o)
    }

    /// Flushes, syncs and renames the file into place. Fails if a row is
    /// missing, so a results file is never silently incomplete.
    pub fn finish(self, expected_rows: u64) -> io::Result<PathBuf> {
        self.finish_amending(
            expected_rows,
            std::iter::empty::<io::Result<(u64, ())>>(),
            |o, ()| o,
        )
    }

    /// [`ResultsWriter::finish`] after replacing rows already written:
    /// `amendments` gives `(row, fact)` in increasing row order, and each
    /// such row's outcome is replaced by `amend(outcome, fact)`. For what is
    /// known only after every row was written (repeated codes in a one-pass
    /// `validate`); the file is rewritten only when there is something to
    /// amend. The writer only writes: `amend` decides the new outcome.
    pub fn finish_amending<T>(
        mut self,
        expected_rows: u64,
        amendments: impl Iterator<Item = io::Result<(u64, T)>>,
        amend: impl FnMut(Outcome, T) -> Outcome,
    ) -> io::Result<PathBuf> {
        if let Some((row, _)) = self.pending.first_key_value() {
            return Err(io::Error::other(format!(
                "internal error: row {} has no outcome but row {row} does",
                self.next_row
            )));
        }
        if self.rows_written() != expected_rows {
            return Err(io::Error::other(format!(
                "internal error: {} results for {expected_rows} rows",
                self.rows_written()
            )));
        }
        self.out.flush()?;
        let mut amendments = amendments.peekable();
        if amendments.peek().is_none() {
            self.out.get_ref().get_ref().sync_all()?;
            std::fs::rename(&self.tmp, &self.path)?;
        } else {
            let amended = self.tmp.with_extension("amended.tmp");
            let result = rewrite(&self.tmp, &amended, amendments, amend)
                .and_then(|()| std::fs::rename(&amended, &self.path));
            if result.is_err() {
                let _ = std::fs::remove_file(&amended);
            }
            result?;
            std::fs::remove_file(&self.tmp)?;
        }
        self.finished = true;
        Ok(self.path.clone())
    }
}

/// Writes one outcome as a results row.
fn write_outcome<W: io::Write>(out: &mut csv::Writer<W>, o: &Outcome) -> io::Result<()> {
    let mut row = itoa::Buffer::new();
    let mut line = itoa::Buffer::new();
    let mut attempts = itoa::Buffer::new();
    let mut http = itoa::Buffer::new();
    out.write_record([
        row.format(o.row),
        line.format(o.line),
        &neutralize(&o.code),
        o.status.as_str(),
        &neutralize(o.customer_id.as_deref().unwrap_or("")),
        o.http_status.map(|s| http.format(s)).unwrap_or(""),
        attempts.format(o.attempts),
        &neutralize(&crate::util::redact::scrub(&o.error)),
    ])?;
    Ok(())
}

/// Reads back a row [`write_outcome`] wrote.
fn read_outcome(record: &csv::StringRecord, from: &Path) -> io::Result<Outcome> {
    let bad = |what: &str| {
        io::Error::other(format!(
            "{}: the results row {:?} has no valid {what}",
            from.display(),
            record.get(0).unwrap_or("")
        ))
    };
    let cell = |i: usize| record.get(i).unwrap_or("");
    let number = |i: usize, what: &str| cell(i).parse::<u64>().map_err(|_| bad(what));
    let status = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == cell(3))
        .ok_or_else(|| bad("status"))?;
    Ok(Outcome {
        row: number(0, "row")?,
        line: number(1, "line")?,
        code: cell(2).to_owned(),
        status,
        customer_id: Some(cell(4).to_owned()).filter(|id| !id.is_empty()),
        http_status: match cell(5) {
            "" => None,
            s => Some(s.parse().map_err(|_| bad("http_status"))?),
        },
        attempts: cell(6).parse().map_err(|_| bad("attempts"))?,
        error: cell(7).to_owned(),
    })
}

/// Copies the results file `from` to `to`, replacing the amended rows (see
/// [`ResultsWriter::finish_amending`]), and syncs `to`.
fn rewrite<T>(
    from: &Path,
    to: &Path,
    amendments: impl Iterator<Item = io::Result<(u64, T)>>,
    mut amend: impl FnMut(Outcome, T) -> Outcome,
) -> io::Result<()> {
    let mut amendments = amendments;
    let mut input = csv::Reader::from_path(from)?;
    let mut out = csv::Writer::from_writer(BufWriter::new(create_private(to)?));
    out.write_record(HEADER)?;
    let mut record = csv::StringRecord::new();
    let mut next = amendments.next().transpose()?;
    while input.read_record(&mut record)? {
        let outcome = read_outcome(&record, from)?;
        let Some((_, fact)) = next.take_if(|(next_row, _)| *next_row == outcome.row) else {
            out.write_record(&record)?;
            continue;
        };
        write_outcome(&mut out, &amend(outcome, fact))?;
        next = amendments.next().transpose()?;
    }
    if let Some((row, _)) = next {
        return Err(io::Error::other(format!(
            "internal error: an amendment for row {row}, which has no results line"
        )));
    }
    out.flush()?;
    out.get_ref().get_ref().sync_all()
}

impl Drop for ResultsWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(row: u64) -> Outcome {
        Outcome::local(
            row,
            row + 1,
            format!("C{row}"),
            Status::Valid,
            String::new(),
        )
    }

    #[test]
    fn out_of_order_outcomes_are_written_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        for row in [3, 1, 2, 5, 4] {
            w.push(outcome(row)).unwrap();
        }
        w.finish(5).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(rows, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn a_missing_row_fails_instead_of_writing_a_short_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        w.push(outcome(2)).unwrap();
        assert!(w.finish(2).is_err());
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp file removed"
        );
    }

    #[test]
    fn rows_amended_after_writing_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        for row in 1..=4 {
            w.push(outcome(row)).unwrap();
        }
        let mut already_invalid = outcome(5);
        (already_invalid.status, already_invalid.error) =
            (Status::Invalid, "Name: is required".into());
        w.push(already_invalid).unwrap();
        let problems = [(2, "CustomerCode: repeated"), (5, "CustomerCode: repeated")];
        w.finish_amending(5, problems.into_iter().map(Ok), |mut o, problem| {
            o.status = Status::Invalid;
            o.error = if o.error.is_empty() {
                problem.to_owned()
            } else {
                format!("{}; {problem}", o.error)
            };
            o
        })
        .unwrap();
        let mut rows = csv::Reader::from_path(&path).unwrap();
        let rows: Vec<(String, String)> = rows
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[3].to_owned(), r[7].to_owned())
            })
            .collect();
        let expected = [
            ("valid", ""),
            ("invalid", "CustomerCode: repeated"),
            ("valid", ""),
            ("valid", ""),
            ("invalid", "Name: is required; CustomerCode: repeated"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(s, e)| (s.to_string(), e.to_string()))
            .collect();
        assert_eq!(rows, expected);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary files removed"
        );
    }

    #[test]
    fn a_problem_for_a_row_that_is_not_there_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path).unwrap();
        w.push(outcome(1)).unwrap();
        assert!(
            w.finish_amending(1, [Ok((7, ()))].into_iter(), |o, ()| o)
                .is_err()
        );
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_window_admits_rows_as_earlier_ones_are_written() {
        let window = std::sync::Arc::new(Window::new(2));
        assert!(window.admit(1) && window.admit(2));
        let waiting = {
            let window = window.clone();
            std::thread::spawn(move || window.admit(5))
        };
        window.written(2);
        window.written(1); // never moves back
        window.written(3);
        assert!(waiting.join().unwrap(), "row 5 fits once 3 are written");
        let closed = {
            let window = window.clone();
            std::thread::spawn(move || window.admit(100))
        };
        let writer = {
            let window = window.clone();
            std::thread::spawn(move || {
                let _close = window.close_on_drop();
                panic!("a writer that dies");
            })
        };
        assert!(writer.join().is_err());
        assert!(!closed.join().unwrap(), "a closed window admits nothing");
        assert!(!window.admit(1));
    }

    #[test]
    fn formula_cells_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("+31 20"), "'+31 20");
        assert_eq!(neutralize("@SUM"), "'@SUM");
        assert_eq!(neutralize("-1"), "'-1");
        assert_eq!(neutralize("ACME"), "ACME");
    }

    #[cfg(unix)]
    #[test]
    fn results_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let w = ResultsWriter::create(&path).unwrap();
        w.finish(0).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
