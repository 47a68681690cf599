//! Preflight: read, map and validate every row before anything is sent.
//!
//! Owns the two passes over the input. [`scan`] reads the whole file once
//! (offline) to find file-level problems, count rows for the progress bar,
//! and find the CustomerCodes that occur more than once; [`plan`] reads it
//! again and hands each row on, as a payload to send or as a final local
//! outcome (`invalid`, or `valid` in a dry run). Memory stays flat but for
//! the duplicate check: during the first pass 8 bytes per row (a 63-bit
//! hash of the code and a valid bit, see [`CodeLog`]), afterwards only the
//! repeated codes; never the rows. It must not touch the network.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
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
    /// Keys ([`code_key`]) of the codes found on more than one row.
    repeated_codes: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
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

/// The top bit of a [`CodeLog`] entry: the row passed every rule.
const CLEAN_BIT: u64 = 1 << 63;

/// A code's 63-bit key: its hash without the top bit, which [`CodeLog`]
/// uses for itself.
fn code_key(code: &str) -> u64 {
    // Fixed keys, so both passes agree.
    BuildHasherDefault::<DefaultHasher>::default().hash_one(code) & !CLEAN_BIT
}

/// The first pass's record of codes: one `u64` per row with a code, in row
/// order, holding the code's key and whether the row passed every rule.
///
/// Why not a map from code to first row, as before: a `HashMap<u64, u64>`
/// takes 17 bytes per slot, keeps up to half its slots empty after
/// doubling, and holds old and new table while it grows. Peak RSS of
/// `validate` went from 9 MB at 100k rows to 58 MB at 1M rows; with this
/// log it is 8 bytes per row.
#[derive(Debug, Default)]
struct CodeLog(Vec<u64>);

impl CodeLog {
    /// Entries sorted at a time: the stable sort needs a scratch buffer of
    /// half a chunk (256 KiB) instead of one as large as the whole log.
    const CHUNK: usize = 1 << 16;

    fn push(&mut self, key: u64, clean: bool) {
        self.0.push(key | if clean { CLEAN_BIT } else { 0 });
    }

    /// The keys found more than once, and how many rows that pass every
    /// rule repeat an earlier row's code (so are not valid after all).
    fn repeats(mut self) -> (HashSet<u64, BuildHasherDefault<IdentityHasher>>, u64) {
        let key = |entry: u64| entry & !CLEAN_BIT;
        // A stable sort keeps equal keys in row order inside a chunk; the
        // merge takes the lowest (key, index) first, and an earlier chunk
        // has lower indexes, so each key comes out in row order: its first
        // entry is its first row.
        for chunk in self.0.chunks_mut(Self::CHUNK) {
            chunk.sort_by_key(|&e| key(e));
        }
        let log = &self.0;
        let mut heads: BinaryHeap<Reverse<(u64, usize)>> = (0..log.len())
            .step_by(Self::CHUNK)
            .map(|i| Reverse((key(log[i]), i)))
            .collect();
        let mut repeated = HashSet::default();
        let mut clean_repeats = 0;
        let mut previous = None;
        while let Some(Reverse((k, i))) = heads.pop() {
            if previous == Some(k) {
                repeated.insert(k);
                clean_repeats += log[i] >> 63;
            }
            previous = Some(k);
            let next = i + 1;
            if next % Self::CHUNK != 0 && next < log.len() {
                heads.push(Reverse((key(log[next]), next)));
            }
        }
        (repeated, clean_repeats)
    }
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
    let mut codes = CodeLog::default();
    let mut count = 0;
    let mut clean = 0;
    while rows.next()? {
        count += 1;
        let ok = rows.problems.is_empty();
        clean += u64::from(ok);
        let code = rows.customer.code();
        if !code.is_empty() {
            codes.push(code_key(code), ok);
        }
    }
    let (repeated_codes, clean_repeats) = codes.repeats();
    Ok(Preflight {
        path: path.to_owned(),
        rows: count,
        valid: clean - clean_repeats,
        unknown_columns: rows.mapping.unknown_columns().to_vec(),
        repeated_codes,
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
    // First row of each repeated code; rows come in order, so the first
    // one seen is the first one in the file.
    let mut first_rows: HashMap<u64, u64, BuildHasherDefault<IdentityHasher>> = HashMap::default();
    while rows.next()? {
        let row = rows.record.row;
        let line = rows.record.line;
        let code = rows.customer.code().to_owned();
        if !code.is_empty() {
            let key = code_key(&code);
            let first = pre
                .repeated_codes
                .contains(&key)
                .then(|| *first_rows.entry(key).or_insert(row));
            match first {
                Some(first) if first != row => rows.problems.push(Problem {
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

    /// The obvious map-based answer to [`CodeLog::repeats`].
    fn reference(entries: &[(u64, bool)]) -> (HashSet<u64>, u64) {
        let mut first = HashMap::new();
        let (mut repeated, mut clean_repeats) = (HashSet::new(), 0);
        for (row, &(key, clean)) in entries.iter().enumerate() {
            if *first.entry(key).or_insert(row) != row {
                repeated.insert(key);
                clean_repeats += u64::from(clean);
            }
        }
        (repeated, clean_repeats)
    }

    fn repeats(entries: &[(u64, bool)]) -> (HashSet<u64>, u64) {
        let mut log = CodeLog::default();
        for &(key, clean) in entries {
            log.push(key, clean);
        }
        let (repeated, clean_repeats) = log.repeats();
        (repeated.into_iter().collect(), clean_repeats)
    }

    #[test]
    fn the_first_row_of_a_code_counts_even_across_chunks() {
        let n = 2 * CodeLog::CHUNK + 100;
        let mut entries: Vec<(u64, bool)> = (0..n as u64).map(|i| (1000 + i, true)).collect();
        // Key 5: first row invalid, later copies valid in later chunks.
        entries[3] = (5, false);
        entries[CodeLog::CHUNK + 7] = (5, true);
        entries[2 * CodeLog::CHUNK + 50] = (5, true);
        // Key 11: a valid first row just before a chunk border.
        entries[CodeLog::CHUNK - 1] = (11, true);
        entries[CodeLog::CHUNK] = (11, false);
        let (repeated, clean_repeats) = repeats(&entries);
        assert_eq!(repeated, HashSet::from([5, 11]));
        assert_eq!(clean_repeats, 2);
        assert_eq!(reference(&entries), (repeated, clean_repeats));
    }

    #[test]
    fn repeats_agree_with_a_map() {
        // Few distinct keys, so most rows repeat one; about three chunks.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let entries: Vec<(u64, bool)> = (0..3 * CodeLog::CHUNK + 17)
            .map(|_| (next() % 50_000, next() % 3 != 0))
            .collect();
        assert_eq!(repeats(&entries), reference(&entries));
        assert_eq!(repeats(&[]), (HashSet::new(), 0));
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
        let pre = scan(&path).unwrap();
        assert_eq!((pre.rows, pre.valid), (5, 2));
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
}
