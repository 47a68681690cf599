//! The checked rows of an import, kept on disk between the pass and the
//! end of the run.
//!
//! Owns [`RowsWriter`] (the pass appends each [`Checked`] row: position,
//! code, original cells, and the payload or the problems) and [`Rows`]
//! (read back in input order, by the planner and then by the errors file).
//! The file is unnamed, in the run folder: memory stays flat, the disk
//! holds about the input's size for the length of the run, and the OS
//! removes it when the run ends, even after a crash. Reading the rows from
//! here, never from the input again, is what makes a run immune to the
//! input changing under it.
//!
//! It must not decide anything about a row.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::check::pass::Checked;
use crate::input::{InputError, Record, RecordSource};
use crate::model::checked::{CheckedRow, Verdict};

const INVALID: u8 = 0;
const VALID: u8 = 1;

/// Appends checked rows to an unnamed temporary file.
pub struct RowsWriter {
    out: BufWriter<File>,
    dir: PathBuf,
    rows: u64,
}

impl RowsWriter {
    /// A new, empty file in `dir`.
    pub fn create(dir: &Path) -> io::Result<RowsWriter> {
        Ok(RowsWriter {
            out: BufWriter::with_capacity(256 * 1024, tempfile::tempfile_in(dir)?),
            dir: dir.to_owned(),
            rows: 0,
        })
    }

    /// Appends one row.
    pub fn push(&mut self, row: &Checked<'_>) -> io::Result<()> {
        let out = &mut self.out;
        out.write_all(&row.row().to_le_bytes())?;
        out.write_all(&row.line().to_le_bytes())?;
        put(out, row.code().as_bytes())?;
        if row.is_valid() {
            out.write_all(&[VALID])?;
            put(out, &row.body())?;
        } else {
            out.write_all(&[INVALID])?;
            put(out, row.error().as_bytes())?;
        }
        let cells = row.cells();
        put_len(out, cells.len())?;
        for cell in cells {
            put(out, cell.as_bytes())?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Ends the writing; the rows can now be read, as often as needed.
    pub fn finish(self) -> io::Result<RowsFile> {
        let file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        Ok(RowsFile {
            file,
            dir: self.dir,
            rows: self.rows,
        })
    }
}

fn put_len(out: &mut impl Write, len: usize) -> io::Result<()> {
    let len = u32::try_from(len).map_err(|_| io::Error::other("a value over 4 GiB"))?;
    out.write_all(&len.to_le_bytes())
}

fn put(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    put_len(out, bytes.len())?;
    out.write_all(bytes)
}

/// The finished file of checked rows.
#[derive(Debug)]
pub struct RowsFile {
    file: File,
    dir: PathBuf,
    rows: u64,
}

impl RowsFile {
    /// Rows written.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// True when the input had no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Reads the rows from the first, in input order. Readers take turns:
    /// each starts from the beginning of the one file.
    pub fn read(&self) -> Result<Rows, InputError> {
        let io = |source| self.error(source);
        let mut file = self.file.try_clone().map_err(io)?;
        file.rewind().map_err(io)?;
        Ok(Rows {
            input: BufReader::with_capacity(256 * 1024, file),
            dir: self.dir.clone(),
            headers: csv::StringRecord::new(),
            row: CheckedRow::default(),
        })
    }

    fn error(&self, source: io::Error) -> InputError {
        InputError::Spill {
            dir: self.dir.clone(),
            source,
        }
    }
}

/// Checked rows read back in input order.
#[derive(Debug)]
pub struct Rows {
    input: BufReader<File>,
    dir: PathBuf,
    /// Only for [`RecordSource`]: the errors file takes its header from
    /// the pass.
    headers: csv::StringRecord,
    row: CheckedRow,
}

impl Rows {
    /// Reads the next row into `row`; `Ok(false)` at the end.
    pub fn next_into(&mut self, row: &mut CheckedRow) -> Result<bool, InputError> {
        self.decode(row).map_err(|source| InputError::Spill {
            dir: self.dir.clone(),
            source,
        })
    }

    fn decode(&mut self, row: &mut CheckedRow) -> io::Result<bool> {
        let r = &mut self.input;
        if r.fill_buf()?.is_empty() {
            return Ok(false);
        }
        let mut eight = [0u8; 8];
        r.read_exact(&mut eight)?;
        row.row = u64::from_le_bytes(eight);
        r.read_exact(&mut eight)?;
        row.line = u64::from_le_bytes(eight);
        row.code = String::from_utf8(take(r)?).map_err(io::Error::other)?;
        let mut tag = [0u8; 1];
        r.read_exact(&mut tag)?;
        let value = take(r)?;
        row.verdict = match tag[0] {
            VALID => Verdict::Valid(value),
            INVALID => Verdict::Invalid(String::from_utf8(value).map_err(io::Error::other)?),
            other => return Err(io::Error::other(format!("unknown row tag {other}"))),
        };
        let cells = len(r)?;
        row.cells.clear();
        for _ in 0..cells {
            let cell = take(r)?;
            row.cells
                .push_field(std::str::from_utf8(&cell).map_err(io::Error::other)?);
        }
        Ok(true)
    }
}

fn len(r: &mut impl Read) -> io::Result<usize> {
    let mut four = [0u8; 4];
    r.read_exact(&mut four)?;
    Ok(u32::from_le_bytes(four) as usize)
}

fn take(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut value = vec![0u8; len(r)?];
    r.read_exact(&mut value)?;
    Ok(value)
}

/// The errors file reads the rows' cells as records.
impl RecordSource for Rows {
    fn headers(&self) -> &csv::StringRecord {
        &self.headers
    }

    fn read(&mut self, rec: &mut Record) -> Result<bool, InputError> {
        let mut row = std::mem::take(&mut self.row);
        let more = self.next_into(&mut row)?;
        if more {
            rec.row = row.row;
            rec.line = row.line;
            std::mem::swap(&mut rec.fields, &mut row.cells);
        }
        self.row = row;
        Ok(more)
    }
}
