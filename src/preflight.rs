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
use crate::input::mapping::Mapping;
use crate::input::reader::{CsvReader, Record};
use crate::input::{self, InputError, InputInfo, InputOptions};
use crate::journal::Resume;
use crate::outcome::{Outcome, Status};
use crate::validate::{self, ChangeTally, Problem, Validation};

/// How many example lines are kept per kind of problem for the report.
const EXAMPLES_PER_PROBLEM: usize = 3;

/// What the first pass learned about the file.
#[derive(Debug)]
pub struct Preflight {
    /// The input file.
    pub path: PathBuf,
    /// How to read it (the same options for both passes).
    pub options: InputOptions,
    /// The encoding, delimiter and mapping decisions.
    pub info: InputInfo,
    /// The resolved mapping, as the run header shows it.
    pub mapping_description: String,
    /// What normalization changed, per kind.
    pub changes: ChangeTally,
    /// Invalid rows per kind of problem, with the first few lines.
    pub problems: ProblemTally,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that pass every local rule.
    pub valid: u64,
    /// Header names that matched no field.
    pub unknown_columns: Vec<String>,
    first_row_of_code: HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>,
    stamp: FileStamp,
}

/// Invalid rows per kind of problem (field + rule), with example lines.
#[derive(Debug, Default)]
pub struct ProblemTally {
    kinds: std::collections::BTreeMap<String, (u64, Vec<u64>)>,
}

impl ProblemTally {
    fn add(&mut self, line: u64, problems: &[Problem]) {
        for p in problems {
            let kind = problem_kind(p);
            let entry = self.kinds.entry(kind).or_default();
            entry.0 += 1;
            if entry.1.len() < EXAMPLES_PER_PROBLEM {
                entry.1.push(line);
            }
        }
    }

    /// `(kind, rows, first lines)`, most frequent first.
    pub fn iter(&self) -> Vec<(&str, u64, &[u64])> {
        let mut v: Vec<_> = self
            .kinds
            .iter()
            .map(|(k, (n, lines))| (k.as_str(), *n, lines.as_slice()))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// A short, stable name for a problem: its field and the message with
/// quoted user values and numbers left out, so equal rules group together.
fn problem_kind(p: &Problem) -> String {
    let mut kind = String::new();
    let mut in_quote = false;
    for ch in p.message.chars() {
        match ch {
            '"' => {
                in_quote = !in_quote;
                if in_quote {
                    kind.push_str("\"…\"");
                }
            }
            _ if in_quote => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('N') {
                    kind.push('N');
                }
            }
            c => kind.push(c),
        }
    }
    match p.field {
        Some(f) => format!("{f}: {kind}"),
        None => kind,
    }
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
    record: Record,
    customer: Customer,
    checked: Validation,
    problems: Vec<Problem>,
}

impl RowChecker {
    fn open(path: &Path, options: &InputOptions) -> Result<(RowChecker, InputInfo), InputError> {
        let opened = input::open(path, options)?;
        let checker = RowChecker {
            reader: opened.reader,
            mapping: opened.mapping,
            record: Record::default(),
            customer: Customer::default(),
            checked: Validation::default(),
            problems: Vec::new(),
        };
        Ok((checker, opened.info))
    }

    /// Reads the next row into `self`; `Ok(false)` at the end of the file.
    fn next(&mut self) -> Result<bool, InputError> {
        if !self.reader.read(&mut self.record)? {
            return Ok(false);
        }
        self.mapping
            .customer_into(&self.record.fields, &mut self.customer);
        validate::validate_into(&mut self.customer, &mut self.checked);
        self.problems.clear();
        // A row whose cells do not line up with the header is not trusted:
        // its values may sit under the wrong columns.
        if let Some(p) = self.mapping.width_problem(&self.record.fields) {
            self.problems.push(p);
        }
        self.problems.extend(self.checked.problems.iter().cloned());
        Ok(true)
    }
}

/// First pass: reads and validates the whole file; no row is kept.
pub fn scan(path: &Path, options: &InputOptions) -> Result<Preflight, InputError> {
    let before = stamp(path)?;
    let (mut rows, info) = RowChecker::open(path, options)?;
    let mapping_description = info.describe(&rows.mapping);
    let mut first_row_of_code = HashMap::default();
    let mut changes = ChangeTally::default();
    let mut problems = ProblemTally::default();
    let mut count = 0;
    let mut valid = 0;
    while rows.next()? {
        count += 1;
        changes.add(&rows.checked.changes);
        let code = rows.customer.code();
        let row = rows.record.row;
        let first = *first_row_of_code.entry(code_hash(code)).or_insert(row);
        if !code.is_empty() && first != row {
            rows.problems.push(duplicate_problem(first));
        }
        if rows.problems.is_empty() {
            valid += 1;
        } else {
            problems.add(rows.record.line, &rows.problems);
        }
    }
    Ok(Preflight {
        path: path.to_owned(),
        options: options.clone(),
        info,
        mapping_description,
        changes,
        problems,
        rows: count,
        valid,
        unknown_columns: rows.mapping.unknown_columns().to_vec(),
        first_row_of_code,
        stamp: before,
    })
}

fn duplicate_problem(first: u64) -> Problem {
    Problem::new(
        crate::fields::Field::CustomerCode,
        format!("duplicate of row {first}; only the first row with a code is sent"),
    )
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
    let (mut rows, _) = RowChecker::open(&pre.path, &pre.options)?;
    while rows.next()? {
        let row = rows.record.row;
        let line = rows.record.line;
        let code = rows.customer.code().to_owned();
        if !code.is_empty() {
            match pre.first_row_of_code.get(&code_hash(&code)) {
                Some(&first) if first != row => rows.problems.push(duplicate_problem(first)),
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
