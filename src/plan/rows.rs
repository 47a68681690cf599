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
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::check::pass::Checked;
use crate::input::{InputError, Record, RecordSource};
use crate::model::checked::{CheckedRow, Verdict};
use crate::util::background::Background;

const INVALID: u8 = 0;
const VALID: u8 = 1;

/// Appends checked rows to an unnamed temporary file.
pub struct RowsWriter {
    /// Written on a thread of its own: the pass is the import's slowest
    /// stage and must not wait for the page cache.
    out: Background<File>,
    dir: PathBuf,
    rows: u64,
    /// One row's encoding, reused: the file gets one write per row.
    row: Vec<u8>,
}

impl RowsWriter {
    /// A new, empty file in `dir`.
    pub fn create(dir: &Path) -> io::Result<RowsWriter> {
        Ok(RowsWriter {
            out: Background::new(tempfile::tempfile_in(dir)?)?,
            dir: dir.to_owned(),
            rows: 0,
            row: Vec::with_capacity(1024),
        })
    }

    /// Appends one row: row and line, the code, the verdict (the body to
    /// send, or the problems), then the cells as one block of bytes with
    /// the end of each.
    pub fn push(&mut self, row: &Checked<'_>) -> io::Result<()> {
        let buf = &mut self.row;
        buf.clear();
        buf.extend_from_slice(&row.row().to_le_bytes());
        buf.extend_from_slice(&row.line().to_le_bytes());
        put(buf, row.code().as_bytes())?;
        if row.is_valid() {
            buf.push(VALID);
            let at = buf.len();
            buf.extend_from_slice(&[0; 4]);
            row.write_body(buf);
            let len = len32(buf.len() - at - 4)?;
            buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        } else {
            buf.push(INVALID);
            put(buf, row.error().as_bytes())?;
        }
        let cells = row.cells().as_byte_record();
        buf.extend_from_slice(&len32(cells.len())?.to_le_bytes());
        let mut end = 0;
        for cell in cells {
            end += cell.len();
            buf.extend_from_slice(&len32(end)?.to_le_bytes());
        }
        put(buf, cells.as_slice())?;
        self.out.write_all(buf)?;
        self.rows += 1;
        Ok(())
    }

    /// Forgets the rows written so far: a new, empty file (the pass
    /// starts over, see [`crate::check::pass::Sink::restart`]).
    pub fn restart(&mut self) -> io::Result<()> {
        *self = RowsWriter::create(&self.dir)?;
        Ok(())
    }

    /// Ends the writing; the rows can now be read, as often as needed.
    pub fn finish(self) -> io::Result<RowsFile> {
        let file = self.out.finish()?;
        Ok(RowsFile {
            file,
            dir: self.dir,
            rows: self.rows,
        })
    }
}

fn len32(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| io::Error::other("a value over 4 GiB"))
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    out.extend_from_slice(&len32(bytes.len())?.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
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
            ends: Vec::new(),
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
    /// Where each cell of the row being read ends.
    ends: Vec<usize>,
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
        self.ends.clear();
        for _ in 0..cells {
            self.ends.push(len(r)?);
        }
        let bytes = take(r)?;
        let text = std::str::from_utf8(&bytes).map_err(io::Error::other)?;
        row.cells.clear();
        let mut start = 0;
        for &end in &self.ends {
            let cell = text
                .get(start..end)
                .ok_or_else(|| io::Error::other("a cell outside its row"))?;
            row.cells.push_field(cell);
            start = end;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::pass;
    use crate::input::{InputFile, InputOptions};
    use crate::util::spill::Scratch;

    #[test]
    fn rows_read_back_as_the_pass_saw_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let text = "Code;Naam;Plaats;\n1;Café \"De Hoek\";Ede;\n2;;\"Den\nHaag\";\n3;Ann;;x;\n4;\"Smit; Zn\";Ede;\n";
        std::fs::write(&path, text).unwrap();
        let file = InputFile::open(&path, &crate::input::InputOptions::default()).unwrap();
        let mut writer = RowsWriter::create(dir.path()).unwrap();
        let mut seen = Vec::new();
        pass::run(
            &file,
            &InputOptions::default(),
            &Scratch::in_dir(dir.path()),
            &mut pass::FnSink(|row: &pass::Checked<'_>| {
                writer.push(row).unwrap();
                let mut body = Vec::new();
                row.write_body(&mut body);
                seen.push(CheckedRow {
                    row: row.row(),
                    line: row.line(),
                    code: row.code().to_owned(),
                    cells: row.cells().clone(),
                    verdict: if row.is_valid() {
                        Verdict::Valid(body)
                    } else {
                        Verdict::Invalid(row.error())
                    },
                });
                true
            }),
        )
        .unwrap();
        let rows = writer.finish().unwrap();
        assert_eq!(rows.len(), 4);
        for _ in 0..2 {
            let mut read = rows.read().unwrap();
            let mut back = Vec::new();
            let mut row = CheckedRow::default();
            while read.next_into(&mut row).unwrap() {
                back.push(std::mem::take(&mut row));
            }
            assert_eq!(back, seen, "read twice, the same both times");
        }
        assert!(matches!(seen[1].verdict, Verdict::Invalid(_)));
        assert_eq!(&seen[1].cells[2], "Den\nHaag");
    }
}
