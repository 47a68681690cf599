//! The results CSV: one row per input data row, in input order.
//!
//! Owns the results-file contract of DESIGN.md: the column order and cell
//! neutralization against spreadsheet formulas ([`ResultsWriter`], written
//! through [`AtomicFile`]: a temporary file, mode 0600, put in place only
//! when complete); putting outcomes that arrive out of order back in input
//! order ([`InputOrder`], which the output set feeds every output through);
//! and [`Window`], which keeps rows from being started more than
//! [`WINDOW_ROWS`] ahead of the rows written, so one slow row cannot make
//! the reorder buffer grow with the file. It must not decide outcomes.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::model::outcome::{Outcome, Status};
use crate::output::set::Named;
use crate::util::atomic::AtomicFile;
use crate::util::background::Background;

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

/// `--results PATH`, for the writability check of the output set.
pub fn named(path: PathBuf) -> Named {
    Named {
        flag: "--results",
        path,
        note: "",
        instead: "to write into the run folder",
    }
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

/// Puts outcomes that arrive in the order they finished back in input
/// order. Holds only the rows that overtook an earlier one.
#[derive(Debug)]
pub struct InputOrder {
    pending: BTreeMap<u64, Outcome>,
    next_row: u64,
}

impl Default for InputOrder {
    fn default() -> InputOrder {
        InputOrder {
            pending: BTreeMap::new(),
            next_row: 1,
        }
    }
}

impl InputOrder {
    /// Takes one outcome; hands it, and any buffered successors, to
    /// `deliver` once every earlier row was delivered.
    pub fn push(
        &mut self,
        outcome: Outcome,
        mut deliver: impl FnMut(&Outcome) -> io::Result<()>,
    ) -> io::Result<()> {
        if outcome.row != self.next_row {
            self.pending.insert(outcome.row, outcome);
            return Ok(());
        }
        deliver(&outcome)?;
        self.next_row += 1;
        while let Some(next) = self.pending.remove(&self.next_row) {
            deliver(&next)?;
            self.next_row += 1;
        }
        Ok(())
    }

    /// Rows delivered so far.
    pub fn delivered(&self) -> u64 {
        self.next_row - 1
    }

    /// Fails unless exactly rows `1..=rows` were delivered.
    pub fn check_complete(&self, rows: u64) -> io::Result<()> {
        if let Some((row, _)) = self.pending.first_key_value() {
            return Err(io::Error::other(format!(
                "internal error: row {} has no outcome but row {row} does",
                self.next_row
            )));
        }
        if self.delivered() != rows {
            return Err(io::Error::other(format!(
                "internal error: {} results for {rows} rows",
                self.delivered()
            )));
        }
        Ok(())
    }
}

/// Writes outcomes, given in input order, into the results file.
pub struct ResultsWriter {
    out: csv::Writer<Sink>,
    path: PathBuf,
}

/// Where the results file's bytes go.
enum Sink {
    /// Straight to the file: an import learns that the file cannot be
    /// written by the row that could not be, and stops sending at once.
    Direct(BufWriter<AtomicFile>),
    /// Through a thread of its own: a check writes a row per input row,
    /// and its pass (the slowest stage) must not wait for the page cache.
    Batched(Background<AtomicFile>),
}

impl Sink {
    fn finish(self) -> io::Result<AtomicFile> {
        match self {
            Sink::Direct(w) => w.into_inner().map_err(io::IntoInnerError::into_error),
            Sink::Batched(w) => w.finish(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Direct(w) => w.write(buf),
            Sink::Batched(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Direct(w) => w.flush(),
            Sink::Batched(w) => w.flush(),
        }
    }
}

impl ResultsWriter {
    /// Starts a results file at `path` (a temporary file beside it until
    /// [`ResultsWriter::finish`]; removed if dropped before).
    pub fn create(path: &Path) -> io::Result<ResultsWriter> {
        let file = AtomicFile::create(path)?;
        ResultsWriter::start(path, Sink::Direct(BufWriter::new(file)))
    }

    /// [`ResultsWriter::create`] for a check: written on a thread of its
    /// own, a write error surfacing a few hundred KiB later (nothing is
    /// sent, so nothing waits for it).
    pub fn create_batched(path: &Path) -> io::Result<ResultsWriter> {
        let file = AtomicFile::create(path)?;
        ResultsWriter::start(path, Sink::Batched(Background::new(file)?))
    }

    fn start(path: &Path, sink: Sink) -> io::Result<ResultsWriter> {
        let mut out = csv::WriterBuilder::new().from_writer(sink);
        out.write_record(HEADER)?;
        Ok(ResultsWriter {
            out,
            path: path.to_owned(),
        })
    }

    /// True when written on a thread of its own
    /// ([`ResultsWriter::create_batched`]).
    pub fn is_batched(&self) -> bool {
        matches!(self.out.get_ref(), Sink::Batched(_))
    }

    /// The path it will have once finished.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the next row's outcome.
    pub fn write(&mut self, outcome: &Outcome) -> io::Result<()> {
        write_outcome(&mut self.out, outcome)
    }

    /// Syncs the file and puts it in place.
    pub fn finish(self) -> io::Result<PathBuf> {
        self.finish_amending(std::iter::empty::<io::Result<(u64, ())>>(), |o, ()| o)
    }

    /// [`ResultsWriter::finish`] after replacing rows already written:
    /// `amendments` gives `(row, fact)` in increasing row order, and each
    /// such row's outcome is replaced by `amend(outcome, fact)`. For what is
    /// known only after every row was written (repeated codes in a one-pass
    /// `validate`); the file is rewritten only when there is something to
    /// amend. The writer only writes: `amend` decides the new outcome.
    pub fn finish_amending<T>(
        self,
        amendments: impl Iterator<Item = io::Result<(u64, T)>>,
        amend: impl FnMut(Outcome, T) -> Outcome,
    ) -> io::Result<PathBuf> {
        let mut written = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?;
        let mut amendments = amendments.peekable();
        if amendments.peek().is_none() {
            return written.commit();
        }
        written.flush()?;
        // A second file for the same path: the first, read back, is
        // removed when dropped.
        let mut amended = AtomicFile::create(written.path())?;
        rewrite(&written, &mut amended, amendments, amend)?;
        amended.commit()
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
/// [`ResultsWriter::finish_amending`]).
fn rewrite<T>(
    written: &AtomicFile,
    to: &mut AtomicFile,
    amendments: impl Iterator<Item = io::Result<(u64, T)>>,
    mut amend: impl FnMut(Outcome, T) -> Outcome,
) -> io::Result<()> {
    let mut amendments = amendments;
    let from = written.temp_path();
    let mut input = csv::Reader::from_reader(written.read_back()?);
    let mut out = csv::Writer::from_writer(BufWriter::new(to));
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
    out.flush()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid row's outcome.
    pub(crate) fn outcome(row: u64) -> Outcome {
        Outcome::local(
            row,
            row + 1,
            format!("C{row}"),
            Status::Valid,
            String::new(),
        )
    }

    #[test]
    fn outcomes_come_out_in_input_order_and_gaps_are_found() {
        let mut order = InputOrder::default();
        let mut out = Vec::new();
        for row in [3, 1, 2, 6, 4] {
            order
                .push(outcome(row), |o| {
                    out.push(o.row);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(order.delivered(), 4);
        assert!(order.check_complete(4).is_err(), "row 6 waits for row 5");
        order.push(outcome(5), |_| Ok(())).unwrap();
        assert!(order.check_complete(6).is_ok());
        assert!(order.check_complete(7).is_err());
    }

    #[test]
    fn rows_amended_after_writing_are_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "an earlier run's\n").unwrap();
        let mut w = ResultsWriter::create(&path).unwrap();
        for row in 1..=4 {
            w.write(&outcome(row)).unwrap();
        }
        let mut already_invalid = outcome(5);
        (already_invalid.status, already_invalid.error) =
            (Status::Invalid, "Name: is required".into());
        w.write(&already_invalid).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "an earlier run's\n",
            "the old file stays until the new one is complete"
        );
        let problems = [(2, "CustomerCode: repeated"), (5, "CustomerCode: repeated")];
        w.finish_amending(problems.into_iter().map(Ok), |mut o, problem| {
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
        w.write(&outcome(1)).unwrap();
        assert!(
            w.finish_amending([Ok((7, ()))].into_iter(), |o, ()| o)
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
        w.finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
