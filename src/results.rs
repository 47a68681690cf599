//! The results CSV: one row per input data row, in input order.
//!
//! Owns the results-file contract of DESIGN.md: the column order, cell
//! neutralization against spreadsheet formulas, writing to a temporary file
//! (mode 0600) that is renamed into place only when complete, and putting
//! outcomes that arrive out of order back in input order. The reorder
//! buffer holds only the rows that overtook an earlier one (bounded by the
//! upload concurrency), never the whole file. It must not decide outcomes.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::outcome::Outcome;

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

/// Refuses to replace an existing file unless forced; checked before any work.
pub fn check_writable(path: &Path, force: bool) -> io::Result<()> {
    if path.exists() && !force {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists; pass --force to replace it or --results PATH",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Creates `path` for writing with mode 0600 (owner only): result files
/// hold customer data.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
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
        let mut row = itoa::Buffer::new();
        let mut line = itoa::Buffer::new();
        let mut attempts = itoa::Buffer::new();
        let mut http = itoa::Buffer::new();
        self.out.write_record([
            row.format(o.row),
            line.format(o.line),
            &neutralize(&o.code),
            o.status.as_str(),
            &neutralize(o.customer_id.as_deref().unwrap_or("")),
            o.http_status.map(|s| http.format(s)).unwrap_or(""),
            attempts.format(o.attempts),
            &neutralize(&crate::redact::scrub(&o.error)),
        ])?;
        Ok(())
    }

    /// Flushes, syncs and renames the file into place. Fails if a row is
    /// missing, so a results file is never silently incomplete.
    pub fn finish(mut self, expected_rows: u64) -> io::Result<PathBuf> {
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
        let file = self.out.get_ref().get_ref();
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.finished = true;
        Ok(self.path.clone())
    }
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
    use crate::outcome::Status;

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
