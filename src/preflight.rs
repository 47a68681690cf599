//! Preflight: read, map and validate every row before anything is sent.
//!
//! Owns the two passes over the input. [`scan`] reads the whole file once
//! (offline) to find file-level problems, count rows for the progress bar,
//! and remember the first row of every CustomerCode; [`plan`] reads it again
//! and hands each row on, as a payload to send or as a final local outcome
//! (`invalid`, or `valid` in a dry run). Memory stays flat: per row only a
//! 64-bit hash of the code and its first row number are kept, never the
//! rows. It must not touch the network.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::customer::Customer;
use crate::input::InputError;
use crate::input::mapping::Mapping;
use crate::input::reader::{CsvReader, Record};
use crate::journal::Resume;
use crate::outcome::{Outcome, Status};
use crate::validate::{self, Problem};

/// What the first pass learned about the file.
#[derive(Debug)]
pub struct Preflight {
    /// The input file.
    pub path: PathBuf,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that pass every local rule.
    pub valid: u64,
    /// Header names that matched no field.
    pub unknown_columns: Vec<String>,
    first_row_of_code: HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>,
    stamp: FileStamp,
}

impl Preflight {
    /// Rows that will not be sent because a local rule failed.
    pub fn invalid(&self) -> u64 {
        self.rows - self.valid
    }
}

/// One row, ready for the next stage.
#[derive(Debug)]
pub enum Planned {
    /// A valid row: send this JSON body.
    Send {
        /// 1-based data row.
        row: u64,
        /// Physical line of the record.
        line: u64,
        /// Normalized customer code.
        code: String,
        /// JSON request body.
        body: Vec<u8>,
        /// An earlier run sent this row and never learned the answer: look
        /// the code up before creating.
        in_doubt: bool,
        /// Send `Overwrite=true` for this row even without `--overwrite`
        /// (delta mode: the customer exists and its payload changed).
        overwrite: bool,
    },
    /// A row whose outcome is already known (invalid).
    Done(Outcome),
}

/// Size and modification time, to notice a file rewritten between passes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Result<FileStamp, InputError> {
    let meta = std::fs::metadata(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// Hash values are already hashes; hashing them again would waste time.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn code_hash(code: &str) -> u64 {
    // Fixed keys, so both passes agree.
    BuildHasherDefault::<DefaultHasher>::default().hash_one(code)
}

/// Reads rows and checks each one; shared by both passes so they agree.
struct RowChecker {
    reader: CsvReader,
    mapping: Mapping,
    header_len: usize,
    record: Record,
    customer: Customer,
    problems: Vec<Problem>,
}

impl RowChecker {
    fn open(path: &Path) -> Result<RowChecker, InputError> {
        let reader = CsvReader::open(path)?;
        let mapping = Mapping::from_headers(path, reader.headers())?;
        let header_len = reader.headers().len();
        Ok(RowChecker {
            reader,
            mapping,
            header_len,
            record: Record {
                row: 0,
                line: 0,
                fields: csv::StringRecord::new(),
            },
            customer: Customer::default(),
            problems: Vec::new(),
        })
    }

    /// Reads the next row into `self`; `Ok(false)` at the end of the file.
    fn next(&mut self) -> Result<bool, InputError> {
        if !self.reader.read(&mut self.record)? {
            return Ok(false);
        }
        self.mapping
            .customer_into(&self.record.fields, &mut self.customer);
        self.problems = validate::validate(&mut self.customer);
        if let Some(p) = self.field_count_problem() {
            self.problems.insert(0, p);
        }
        Ok(true)
    }

    /// A row with more cells than the header (beyond empty trailing ones),
    /// or fewer cells (other than unnamed trailing columns), is not trusted:
    /// its values may sit under the wrong columns.
    fn field_count_problem(&self) -> Option<Problem> {
        let got = self.record.fields.len();
        let want = self.header_len;
        let ok = if got > want {
            self.record
                .fields
                .iter()
                .skip(want)
                .all(|v| v.trim().is_empty())
        } else {
            self.reader
                .headers()
                .iter()
                .skip(got)
                .all(|h| h.trim().is_empty())
        };
        (!ok).then(|| Problem {
            field: None,
            message: format!(
                "row has {got} fields but the header has {want}; check for a missing or extra delimiter or an unquoted value"
            ),
        })
    }
}

/// First pass: reads and validates the whole file; no row is kept.
pub fn scan(path: &Path) -> Result<Preflight, InputError> {
    let before = stamp(path)?;
    let mut rows = RowChecker::open(path)?;
    let mut first_row_of_code = HashMap::default();
    let mut count = 0;
    let mut valid = 0;
    while rows.next()? {
        count += 1;
        let code = rows.customer.code();
        let duplicate = !code.is_empty()
            && *first_row_of_code
                .entry(code_hash(code))
                .or_insert(rows.record.row)
                != rows.record.row;
        if rows.problems.is_empty() && !duplicate {
            valid += 1;
        }
    }
    Ok(Preflight {
        path: path.to_owned(),
        rows: count,
        valid,
        unknown_columns: rows.mapping.unknown_columns().to_vec(),
        first_row_of_code,
        stamp: before,
    })
}

/// Second pass: hands every row, in input order, to `emit`. Stops early
/// (without error) when `emit` returns false. `dry_run` turns valid rows
/// into `valid` outcomes instead of payloads. With `resume`, rows an
/// earlier run finished keep their recorded outcome.
pub fn plan(
    pre: &Preflight,
    dry_run: bool,
    resume: Option<&Resume>,
    mut emit: impl FnMut(Planned) -> bool,
) -> Result<(), InputError> {
    if stamp(&pre.path)? != pre.stamp {
        return Err(InputError::Csv {
            path: pre.path.clone(),
            line: 1,
            message: "the file changed while it was being checked; wait until it is completely written and run again".into(),
        });
    }
    let mut rows = RowChecker::open(&pre.path)?;
    while rows.next()? {
        let row = rows.record.row;
        let line = rows.record.line;
        let code = rows.customer.code().to_owned();
        if !code.is_empty() {
            match pre.first_row_of_code.get(&code_hash(&code)) {
                Some(&first) if first != row => rows.problems.push(Problem {
                    field: Some(crate::fields::Field::CustomerCode),
                    message: format!(
                        "duplicate of row {first}; only the first row with a code is sent"
                    ),
                }),
                _ => {}
            }
        }
        let earlier = resume
            .and_then(|r| r.done.get(&row))
            .filter(|o| o.code == code);
        let item = if let Some(done) = earlier {
            Planned::Done(done.clone())
        } else if !rows.problems.is_empty() {
            let error = validate::describe(&rows.problems);
            Planned::Done(Outcome::local(row, line, code, Status::Invalid, error))
        } else if dry_run {
            Planned::Done(Outcome::local(
                row,
                line,
                code,
                Status::Valid,
                String::new(),
            ))
        } else {
            let in_doubt = resume.is_some_and(|r| r.in_doubt.contains(&row));
            Planned::Send {
                row,
                line,
                code,
                body: rows.customer.to_json(),
                in_doubt,
                overwrite: false,
            }
        };
        if !emit(item) {
            break;
        }
    }
    Ok(())
}
