//! Preflight: read, map and validate every row before anything is sent.
//!
//! Owns the passes over the input. [`scan`] reads the whole file once
//! (offline) to find file-level problems, count rows for the progress bar,
//! and remember the first row of every CustomerCode; [`plan`] reads it
//! again and hands each row on, as a payload to send or as a final local
//! outcome (`invalid`). [`scan_and_check`] is the one pass of `validate` /
//! `--dry-run`. Memory stays flat but for the duplicate check: 16 bytes a
//! slot (a 64-bit hash of each code and its first row, see `CodeSet`),
//! about 22 bytes per row; never the rows. It must not touch the network.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
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
    /// Every code's hash ([`code_hash`]) with the row it first appears on,
    /// so the second pass can name the first row of a duplicate.
    codes: CodeSet,
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

fn code_hash(code: &str) -> u64 {
    // Fixed keys, so both passes agree.
    BuildHasherDefault::<DefaultHasher>::default().hash_one(code)
}

/// Code hashes with their first rows: open addressing with linear probing
/// in one `Vec<Slot>`, 16 bytes a slot, filled up to 4/5 and sized from
/// the file early on, so it is not rebuilt while it is large.
///
/// Why not a `HashMap<u64, u64>` from code to first row, as before:
/// power-of-two sizes that leave up to half the slots empty, and old and
/// new table held together while it doubles. Peak RSS of `validate` at 1M
/// rows went from 58 MB with the map to about 32 MB with this table.
#[derive(Debug)]
struct CodeSet {
    /// Open addressing; a hash of `0` marks an empty slot (a hash of 0 is
    /// stored as 1). Hash and first row share a slot, so a lookup costs one
    /// cache miss, not two (the set is far larger than the caches).
    slots: Vec<Slot>,
    len: usize,
}

/// One code: its hash and the row it was first seen on (saturating at
/// u32::MAX), so one streaming pass can say "duplicate of row N".
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hash: u64,
    first: u32,
}

impl CodeSet {
    /// Most slots in use, in fifths: linear probing stays at a probe or two
    /// on average below that.
    const MAX_LOAD_FIFTHS: usize = 4;

    fn new() -> CodeSet {
        CodeSet {
            slots: vec![Slot::default(); 1024],
            len: 0,
        }
    }

    /// Makes room for `total` codes in all, if that needs more slots.
    fn reserve(&mut self, total: usize) {
        let want = total.saturating_mul(5) / Self::MAX_LOAD_FIFTHS + 1;
        if want > self.slots.len() {
            self.rebuild(want);
        }
    }

    /// The row `hash` was first seen on, if it was seen.
    fn first_row(&self, hash: u64) -> Option<u64> {
        let slot = self.slots[self.slot_of(hash)];
        (slot.hash != 0).then_some(u64::from(slot.first))
    }

    /// Adds `hash` first seen on `row`; if it was there already, the row
    /// it was first seen on.
    fn insert(&mut self, hash: u64, row: u64) -> Result<(), u64> {
        if (self.len + 1) * 5 > self.slots.len() * Self::MAX_LOAD_FIFTHS {
            self.rebuild(self.slots.len() * 2);
        }
        let i = self.slot_of(hash);
        let slot = &mut self.slots[i];
        if slot.hash != 0 {
            return Err(u64::from(slot.first));
        }
        *slot = Slot {
            hash: hash.max(1),
            first: u32::try_from(row).unwrap_or(u32::MAX),
        };
        self.len += 1;
        Ok(())
    }

    /// The slot holding `hash`, or the empty slot where it would go.
    fn slot_of(&self, hash: u64) -> usize {
        let hash = hash.max(1);
        let n = self.slots.len();
        // Hashes are uniform, so their high bits pick the slot (Lemire's
        // multiply-shift: any table size, no modulo).
        let mut i = ((u128::from(hash) * n as u128) >> 64) as usize;
        loop {
            match self.slots[i].hash {
                0 => return i,
                h if h == hash => return i,
                _ => i = if i + 1 == n { 0 } else { i + 1 },
            }
        }
    }

    fn rebuild(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); slots]);
        self.len = 0;
        for slot in old.into_iter().filter(|s| s.hash != 0) {
            let i = self.slot_of(slot.hash);
            self.slots[i] = slot;
            self.len += 1;
        }
    }
}

/// Maps and checks one record; shared by both passes so they agree.
struct Checker {
    mapping: Mapping,
    customer: Customer,
    checked: Validation,
    problems: Vec<Problem>,
}

impl Checker {
    fn new(mapping: Mapping) -> Checker {
        Checker {
            mapping,
            customer: Customer::default(),
            checked: Validation::default(),
            problems: Vec::new(),
        }
    }

    /// Maps `record` into `self.customer` and lists its problems.
    fn check(&mut self, record: &Record) {
        self.mapping
            .customer_into(&record.fields, &mut self.customer);
        validate::validate_into(&mut self.customer, &mut self.checked);
        self.problems.clear();
        // A row whose cells do not line up with the header is not trusted:
        // its values may sit under the wrong columns.
        if let Some(p) = self.mapping.width_problem(&record.fields) {
            self.problems.push(p);
        }
        self.problems.extend(self.checked.problems.iter().cloned());
    }
}

/// Reads rows one after the other and checks each (the second pass).
struct RowChecker {
    reader: CsvReader,
    record: Record,
    checker: Checker,
}

impl RowChecker {
    fn open(path: &Path, options: &InputOptions) -> Result<RowChecker, InputError> {
        let opened = input::open(path, options)?;
        Ok(RowChecker {
            reader: opened.reader,
            record: Record::default(),
            checker: Checker::new(opened.mapping),
        })
    }

    /// Reads the next row into `self`; `Ok(false)` at the end of the file.
    fn next(&mut self) -> Result<bool, InputError> {
        if !self.reader.read(&mut self.record)? {
            return Ok(false);
        }
        self.checker.check(&self.record);
        Ok(true)
    }
}

/// Records read per batch handed from the reading thread to the checking one.
const BATCH: usize = 1024;

/// The reading side of [`scan`]: parses records into batches (reusing the
/// batches sent back) so decoding and CSV parsing run on one core while
/// mapping and validation run on another.
fn read_batches(
    reader: &mut CsvReader,
    to_check: mpsc::SyncSender<Result<Vec<Record>, InputError>>,
    returned: mpsc::Receiver<Vec<Record>>,
) {
    loop {
        let mut batch = returned.try_recv().unwrap_or_default();
        let mut n = 0;
        let mut end = false;
        while n < BATCH {
            if batch.len() == n {
                batch.push(Record::default());
            }
            match reader.read(&mut batch[n]) {
                Ok(true) => n += 1,
                Ok(false) => {
                    end = true;
                    break;
                }
                Err(e) => {
                    let _ = to_check.send(Err(e));
                    return;
                }
            }
        }
        batch.truncate(n);
        if n > 0 && to_check.send(Ok(batch)).is_err() {
            return;
        }
        if end {
            return;
        }
    }
}

/// First pass: reads and validates the whole file; no row is kept.
pub fn scan(path: &Path, options: &InputOptions) -> Result<Preflight, InputError> {
    scan_inner(path, options, None)
}

/// One pass for `validate` / `--dry-run`: [`scan`] that also hands every
/// row's final outcome (`valid` or `invalid`) to `emit`, in input order, so
/// the file is read once. Stops emitting (and reading) when `emit` returns
/// false.
pub fn scan_and_check(
    path: &Path,
    options: &InputOptions,
    mut emit: impl FnMut(Outcome) -> bool,
) -> Result<Preflight, InputError> {
    scan_inner(path, options, Some(&mut emit))
}

fn scan_inner(
    path: &Path,
    options: &InputOptions,
    mut emit: Option<&mut dyn FnMut(Outcome) -> bool>,
) -> Result<Preflight, InputError> {
    let before = stamp(path)?;
    let opened = input::open(path, options)?;
    let (mut reader, info) = (opened.reader, opened.info);
    let mut checker = Checker::new(opened.mapping);
    let mapping_description = info.describe(&checker.mapping);
    let mut codes = CodeSet::new();
    let mut changes = ChangeTally::default();
    let mut problems = ProblemTally::default();
    let mut count = 0;
    let mut valid = 0;
    std::thread::scope(|scope| -> Result<(), InputError> {
        let (to_check, batches) = mpsc::sync_channel(4);
        let (give_back, returned) = mpsc::channel();
        scope.spawn(move || read_batches(&mut reader, to_check, returned));
        // Leaving this closure drops `batches`, which ends the reader.
        for batch in batches {
            let batch = batch?;
            for record in &batch {
                checker.check(record);
                let rows = &mut checker;
                count += 1;
                changes.add(&rows.checked.changes);
                if count == SIZE_SAMPLE_ROWS {
                    reserve_for_file(&mut codes, before.len, record);
                }
                let code = rows.customer.code();
                if !code.is_empty() {
                    let hash = code_hash(code);
                    if let Err(first) = codes.insert(hash, record.row) {
                        rows.problems.push(duplicate_problem(first));
                    }
                }
                if rows.problems.is_empty() {
                    valid += 1;
                } else {
                    problems.add(record.line, &rows.problems);
                }
                if let Some(emit) = emit.as_mut() {
                    let (row, line) = (record.row, record.line);
                    let code = rows.customer.code().to_owned();
                    let outcome = if rows.problems.is_empty() {
                        Outcome::local(row, line, code, Status::Valid, String::new())
                    } else {
                        let error = validate::describe(&rows.problems);
                        Outcome::local(row, line, code, Status::Invalid, error)
                    };
                    if !emit(outcome) {
                        return Ok(());
                    }
                }
            }
            let _ = give_back.send(batch);
        }
        Ok(())
    })?;
    Ok(Preflight {
        path: path.to_owned(),
        options: options.clone(),
        info,
        mapping_description,
        changes,
        problems,
        rows: count,
        valid,
        unknown_columns: checker.mapping.unknown_columns().to_vec(),
        codes,
        stamp: before,
    })
}

/// Rows read before [`CodeSet`] is sized from the file.
const SIZE_SAMPLE_ROWS: u64 = 1024;

/// Sizes `codes` for the rows the file likely holds, judged by the bytes
/// the first rows took (before `record`, the sample's last row).
fn reserve_for_file(codes: &mut CodeSet, file_len: u64, record: &Record) {
    let Some(read) = record
        .fields
        .position()
        .map(|p| p.byte())
        .filter(|b| *b > 0)
    else {
        return;
    };
    // A tenth more than the estimate: rows vary in length.
    let rows = file_len.saturating_mul(SIZE_SAMPLE_ROWS) / read * 11 / 10;
    codes.reserve(usize::try_from(rows).unwrap_or(usize::MAX));
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
    let mut rows = RowChecker::open(&pre.path, &pre.options)?;
    while rows.next()? {
        let row = rows.record.row;
        let line = rows.record.line;
        let code = rows.checker.customer.code().to_owned();
        if !code.is_empty() {
            match pre.codes.first_row(code_hash(&code)) {
                Some(first) if first != row => {
                    rows.checker.problems.push(duplicate_problem(first));
                }
                _ => {}
            }
        }
        let earlier = resume
            .and_then(|r| r.done.get(&row))
            .filter(|o| o.code == code);
        let item = if let Some(done) = earlier {
            Planned::Done(done.clone())
        } else if !rows.checker.problems.is_empty() {
            let error = validate::describe(&rows.checker.problems);
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
                body: rows.checker.customer.to_json(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_set_finds_repeats_through_growth_and_reserve() {
        let mut set = CodeSet::new();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let keys: Vec<u64> = (0..5000).map(|_| next()).collect();
        for (i, &k) in keys.iter().enumerate() {
            if i == 1500 {
                set.reserve(20_000);
            }
            assert_eq!(set.insert(k, i as u64 + 1), Ok(()), "new key {i}");
        }
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(
                set.insert(k, 99_999),
                Err(i as u64 + 1),
                "first row of key {i}"
            );
        }
        // 0 marks an empty slot; a hash of 0 still counts once.
        assert_eq!(set.insert(0, 7), Ok(()));
        assert_eq!(set.insert(0, 8), Err(7));
        assert_eq!(set.len, keys.len() + 1);
        assert!(set.len * 5 <= set.slots.len() * CodeSet::MAX_LOAD_FIFTHS);
    }

    #[test]
    fn scan_counts_and_plan_marks_repeated_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(
            &path,
            "CustomerCode,Name\nA,Ann\nA,Ann again\nB,\nB,Bob\nC,Cas\n",
        )
        .unwrap();
        let pre = scan(&path, &InputOptions::default()).unwrap();
        assert_eq!((pre.rows, pre.valid), (5, 2));
        let kinds = pre.problems.iter();
        let duplicates = kinds
            .iter()
            .find(|(kind, _, _)| kind.contains("duplicate of row N"))
            .expect("duplicates in the tally");
        assert_eq!((duplicates.1, duplicates.2), (2, &[3, 5][..]));
        let mut seen = Vec::new();
        plan(&pre, true, None, |item| {
            let Planned::Done(o) = item else {
                panic!("a dry run sends nothing")
            };
            seen.push((o.status, o.error));
            true
        })
        .unwrap();
        let statuses: Vec<Status> = seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            statuses,
            [
                Status::Valid,
                Status::Invalid,
                Status::Invalid,
                Status::Invalid,
                Status::Valid
            ]
        );
        assert!(seen[1].1.contains("duplicate of row 1"), "{seen:?}");
        assert!(seen[3].1.contains("duplicate of row 3"), "{seen:?}");
    }

    #[test]
    fn the_code_set_is_sized_from_the_first_rows() {
        let mut record = Record::default();
        let mut pos = csv::Position::new();
        // The sample took 20 bytes a row; the file holds 100 times as much.
        pos.set_byte(20 * SIZE_SAMPLE_ROWS);
        record.fields.set_position(Some(pos));
        let mut set = CodeSet::new();
        reserve_for_file(&mut set, 100 * 20 * SIZE_SAMPLE_ROWS, &record);
        let rows = 100 * SIZE_SAMPLE_ROWS as usize;
        assert!(set.slots.len() * CodeSet::MAX_LOAD_FIFTHS >= rows * 5);
        assert!(set.slots.len() < rows * 2, "{} slots", set.slots.len());
        // No position (or nothing read): left alone.
        let mut set = CodeSet::new();
        reserve_for_file(&mut set, 1 << 30, &Record::default());
        assert_eq!(set.slots.len(), 1024);
    }
}
