//! The repeated-code index: which rows repeat a customer code of an
//! earlier row, found without holding the codes in memory.
//!
//! Owns [`CodeIndex`] (fed one code per row by the pass) and the sorted
//! list of repeating rows it leaves ([`Duplicates`], in row order, each
//! with the line of its code's first row). Memory stays flat: the codes'
//! 128-bit hashes are sorted with [`crate::util::spill`] (in memory up to
//! its budget, in temporary files beyond). It decides nothing about a
//! row's fate: the planner does.

use std::path::PathBuf;

use crate::input::InputError;
use crate::model::field::Field;
use crate::model::problem::{Problem, ProblemKind};
use crate::util::spill::{self, Scratch, Sorted, Spill};

/// How many example lines are kept for the report.
const EXAMPLES: usize = 3;

/// The codes of a pass, as they come.
pub struct CodeIndex {
    codes: Spill<CodeSeen>,
    scratch: Scratch,
}

impl CodeIndex {
    /// An empty index spilling to `scratch`.
    pub fn new(scratch: &Scratch) -> CodeIndex {
        CodeIndex {
            codes: Spill::new(scratch),
            scratch: scratch.clone(),
        }
    }

    /// Notes the code of one row; `valid` when the row broke no other rule.
    /// An empty code repeats nothing.
    pub fn push(&mut self, code: &str, row: u64, line: u64, valid: bool) -> Result<(), InputError> {
        if code.is_empty() {
            return Ok(());
        }
        let seen = CodeSeen::new(code, row, line, valid);
        self.codes
            .push(seen)
            .map_err(|e| spill_error(&self.scratch, e))
    }

    /// Sorts the codes and lists every row whose code came earlier.
    pub fn finish(self) -> Result<Repeats, InputError> {
        let scratch = self.scratch;
        let scan = find_duplicates(self.codes, &scratch).map_err(|e| spill_error(&scratch, e))?;
        Ok(Repeats {
            count: scan.count,
            were_valid: scan.were_valid,
            first_lines: scan.first_lines,
            rows: Duplicates {
                rows: scan.rows,
                dir: scratch.dir,
            },
        })
    }
}

fn spill_error(scratch: &Scratch, source: std::io::Error) -> InputError {
    InputError::Spill {
        dir: scratch.dir.clone(),
        source,
    }
}

/// What the index found.
#[derive(Debug)]
pub struct Repeats {
    /// Rows whose code came earlier.
    pub count: u64,
    /// Of those, rows that broke no other rule.
    pub were_valid: u64,
    /// The first few of their lines, for the report.
    pub first_lines: Vec<u64>,
    /// The repeating rows, in row order.
    pub rows: Duplicates,
}

/// The repeating rows of a pass, in row order; read once.
#[derive(Debug)]
pub struct Duplicates {
    rows: Sorted<Duplicate>,
    dir: PathBuf,
}

impl Iterator for Duplicates {
    type Item = Result<Duplicate, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.rows.next()?;
        Some(next.map_err(|source| InputError::Spill {
            dir: self.dir.clone(),
            source,
        }))
    }
}

/// One non-empty code seen by the first pass. Sorted by hash, then row, so
/// every code's rows come together, first row first.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CodeSeen {
    /// 128-bit hash of the normalized code: equal hashes of different
    /// codes are as likely as a random bit flip in memory (about 1 in
    /// 10^27 at a million rows), so they count as the same code.
    hash: u128,
    row: u64,
    /// The physical line, with [`VALID_BIT`] set if the row broke no other
    /// rule.
    line_valid: u64,
}

/// Set in `line_valid` when the row broke no rule (before the duplicate
/// check); lines never reach 2^63.
const VALID_BIT: u64 = 1 << 63;

impl CodeSeen {
    fn new(code: &str, row: u64, line: u64, valid: bool) -> CodeSeen {
        CodeSeen {
            hash: xxhash_rust::xxh3::xxh3_128(code.as_bytes()),
            row,
            line_valid: line | if valid { VALID_BIT } else { 0 },
        }
    }
}

impl spill::Record for CodeSeen {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.row.to_le_bytes());
        out.extend_from_slice(&self.line_valid.to_le_bytes());
    }

    fn decode(input: &mut impl std::io::BufRead) -> std::io::Result<Option<Self>> {
        let Some(bytes) = spill::read_array::<32>(input)? else {
            return Ok(None);
        };
        let [lo, hi, row, line_valid] = spill::u64s::<4>(&bytes);
        Ok(Some(CodeSeen {
            hash: u128::from(lo) | (u128::from(hi) << 64),
            row,
            line_valid,
        }))
    }
}

/// A row whose code appeared on an earlier row. Sorted by row, so the
/// second pass (or the results of a one-pass `validate`) meets them in
/// input order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duplicate {
    /// The repeating row.
    pub row: u64,
    /// The line of the first row with the same code: the one that is sent.
    pub first_line: u64,
}

impl spill::Record for Duplicate {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.row.to_le_bytes());
        out.extend_from_slice(&self.first_line.to_le_bytes());
    }

    fn decode(input: &mut impl std::io::BufRead) -> std::io::Result<Option<Self>> {
        let Some(bytes) = spill::read_array::<16>(input)? else {
            return Ok(None);
        };
        let [row, first_line] = spill::u64s::<2>(&bytes);
        Ok(Some(Duplicate { row, first_line }))
    }
}

impl Duplicate {
    /// The problem the row gets.
    pub fn problem(&self) -> Problem {
        problem(self.first_line)
    }
}

/// The problem of a row whose code first came on `first_line`.
pub fn problem(first_line: u64) -> Problem {
    Problem::new(
        Field::CustomerCode,
        ProblemKind::Repeated,
        message(first_line),
    )
}

/// The run header's tally of repeated codes (one line for rows whose
/// first lines differ).
pub const KIND_TEXT: &str =
    "repeats the code of an earlier line; only the first row with a code is sent";

/// The message of a repeated code.
pub fn message(first_line: impl std::fmt::Display) -> String {
    format!("duplicate of line {first_line}; only the first row with a code is sent")
}

/// What the duplicate check found, and the repeating rows by row number.
struct DuplicateScan {
    rows: Sorted<Duplicate>,
    count: u64,
    /// Duplicates that broke no other rule: they were counted valid.
    were_valid: u64,
    /// The first few lines, for the report.
    first_lines: Vec<u64>,
}

/// Sorts the codes the first pass saw and lists every row whose code came
/// earlier, with the first row. Memory: the spill budget, not the file.
fn find_duplicates(codes: Spill<CodeSeen>, scratch: &Scratch) -> std::io::Result<DuplicateScan> {
    let mut rows = Spill::new(scratch);
    let (mut count, mut were_valid, mut first_lines) = (0, 0, Vec::new());
    let mut current: Option<(u128, u64)> = None;
    for seen in codes.sorted()? {
        let seen = seen?;
        match current {
            Some((hash, first)) if hash == seen.hash => {
                count += 1;
                if seen.line_valid & VALID_BIT != 0 {
                    were_valid += 1;
                }
                let line = seen.line_valid & !VALID_BIT;
                let at = first_lines.partition_point(|l| *l < line);
                if at < EXAMPLES {
                    first_lines.insert(at, line);
                    first_lines.truncate(EXAMPLES);
                }
                rows.push(Duplicate {
                    row: seen.row,
                    first_line: first,
                })?;
            }
            // Messages speak of lines, like every other message.
            _ => current = Some((seen.hash, seen.line_valid & !VALID_BIT)),
        }
    }
    Ok(DuplicateScan {
        rows: rows.sorted()?,
        count,
        were_valid,
        first_lines,
    })
}
