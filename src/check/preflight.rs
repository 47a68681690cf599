//! Preflight: read, map and validate every row before anything is sent.
//!
//! Owns the passes over the input. [`scan`] reads the whole file once
//! (offline) to find file-level problems, count rows for the progress bar,
//! and find every row whose CustomerCode came earlier; [`plan`] reads it
//! again and hands each row on, as a payload to send or as a final local
//! outcome (`invalid`). [`scan_and_check`] is the one pass of `validate` /
//! `--dry-run`. Memory stays flat: the duplicate check sorts the codes'
//! hashes with [`crate::util::spill`] (in memory up to its budget, in temporary
//! files beyond), and never holds the rows. It must not touch the network.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};
use std::time::SystemTime;

use crate::check::validate::{self, ChangeTally, Validation};
use crate::input::mapping::{Mapping, Source, header_key};
use crate::input::reader::{CsvReader, Record};
use crate::input::{self, InputError, InputInfo, InputOptions};
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::{Planned, Request};
use crate::model::problem::Problem;
use crate::store::journal::Resume;
use crate::util::spill::{self, Scratch, Sorted, Spill};

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
    // The run reports these two through `mapping_description`; the fields
    // let tests check the counts behind that text.
    /// Valid rows that reach Notify without a country (it stores NL).
    #[cfg(test)]
    pub no_country: RowSample,
    /// Valid rows whose language is none the API knows (sent as is).
    #[cfg(test)]
    pub unknown_languages: RowSample,
    /// Rows whose code came earlier, by row: read once, by [`plan`] or
    /// [`Preflight::take_duplicates`].
    duplicates: Mutex<Option<Sorted<Duplicate>>>,
    /// Where temporary files go.
    scratch: Scratch,
    stamp: FileStamp,
}

/// Invalid rows per kind of problem (field + rule), with example lines.
#[derive(Debug, Default)]
pub struct ProblemTally {
    /// Per kind: rows, first lines, and the kind as shown (with the
    /// user's column name and the first value).
    kinds: std::collections::BTreeMap<String, (u64, Vec<u64>, String)>,
    /// Per field, the user's column when its name differs from the
    /// field's: `Postcode → Postalcode`.
    labels: [Option<String>; Field::ALL.len()],
}

impl ProblemTally {
    /// Names fields as the user's columns do (`Postcode → Postalcode`).
    fn set_labels(&mut self, mapping: &Mapping) {
        for field in Field::ALL {
            let Some(Source::Column(c)) = mapping.source(field).map(|fs| &fs.source) else {
                continue;
            };
            let column = mapping.headers()[*c].trim();
            if header_key(column) != header_key(field.api_name()) {
                self.labels[field.index()] = Some(format!("{column} \u{2192} {field}"));
            }
        }
    }

    fn add(&mut self, line: u64, problems: &[Problem]) {
        for p in problems {
            self.add_rows(p, 1, &[line]);
        }
    }

    /// Counts `rows` rows with `problem`, `lines` being the first of them.
    fn add_rows(&mut self, problem: &Problem, rows: u64, lines: &[u64]) {
        if rows == 0 {
            return;
        }
        let (kind, example) = problem_kind(problem);
        let labels = &self.labels;
        let entry = self.kinds.entry(kind).or_insert_with_key(|kind| {
            let text = match problem.field {
                Some(_) => kind.split_once(": ").map_or(kind.as_str(), |(_, t)| t),
                None => kind.as_str(),
            };
            let text = match &example {
                Some(value) => text.replacen("\"…\"", &format!("e.g. {value}"), 1),
                None => text.to_string(),
            };
            let shown = match problem.field {
                Some(f) => match &labels[f.index()] {
                    Some(label) => format!("{label}: {text}"),
                    None => format!("{f}: {text}"),
                },
                None => text,
            };
            (0, Vec::new(), shown)
        });
        entry.0 += rows;
        entry.1.extend(lines);
        entry.1.sort_unstable();
        entry.1.truncate(EXAMPLES_PER_PROBLEM);
    }

    /// `(kind, rows, first lines)`, most frequent first.
    pub fn iter(&self) -> Vec<(&str, u64, &[u64])> {
        let mut v: Vec<_> = self
            .kinds
            .values()
            .map(|(n, lines, shown)| (shown.as_str(), *n, lines.as_slice()))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// Rows with something worth a warning, with the first lines and values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowSample {
    /// Rows counted.
    pub rows: u64,
    /// The first few lines.
    pub lines: Vec<u64>,
    /// The first few distinct values.
    pub values: Vec<String>,
}

impl RowSample {
    fn add(&mut self, line: u64, value: Option<&str>) {
        self.rows += 1;
        if self.lines.len() < EXAMPLES_PER_PROBLEM {
            self.lines.push(line);
        }
        if let Some(value) = value
            && self.values.len() < EXAMPLES_PER_PROBLEM
            && !self.values.iter().any(|v| v == value)
        {
            self.values.push(value.to_string());
        }
    }

    fn lines_text(&self) -> String {
        let lines: Vec<String> = self.lines.iter().map(u64::to_string).collect();
        let more = if self.rows > self.lines.len() as u64 {
            ", ..."
        } else {
            ""
        };
        let word = if self.lines.len() == 1 {
            "line"
        } else {
            "lines"
        };
        format!("{word} {}{more}", lines.join(", "))
    }
}

/// `1 row` or `n rows`.
pub fn rows_text(n: u64) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

/// The run-header warnings for rows without a country and languages the
/// API does not know; empty when there is nothing to say.
pub fn input_warnings(no_country: &RowSample, languages: &RowSample) -> String {
    let mut out = String::new();
    if no_country.rows > 0 {
        let verb = if no_country.rows == 1 { "has" } else { "have" };
        out.push_str(&format!(
            "warning: {} {verb} no country; Notify will store NL: add a Country column or --default-country DE ({})\n",
            rows_text(no_country.rows),
            no_country.lines_text()
        ));
    }
    if languages.rows > 0 {
        let values: Vec<String> = languages.values.iter().map(|v| format!("{v:?}")).collect();
        out.push_str(&format!(
            "warning: {} with a language that is not recognised, sent as is: {} ({}); the API knows {}: map values in a mapping file, e.g. Language = {{ column = \"Taal\", values = {{ NL = \"dutch\" }} }}\n",
            rows_text(languages.rows),
            values.join(", "),
            languages.lines_text(),
            validate::LANGUAGES.join(", ")
        ));
    }
    out
}

/// A short, stable name for a problem: its field and the message with
/// quoted user values and numbers left out, so equal rules group together
/// (or the problem's own [`Problem::kind`]); and the first quoted value.
fn problem_kind(p: &Problem) -> (String, Option<String>) {
    if let Some(kind) = &p.kind {
        return match p.field {
            Some(f) => (format!("{f}: {kind}"), None),
            None => (kind.clone(), None),
        };
    }
    let mut kind = String::new();
    let mut example: Option<String> = None;
    let mut in_quote = false;
    let mut quoted = String::new();
    for ch in p.message.chars() {
        match ch {
            '"' => {
                in_quote = !in_quote;
                if in_quote {
                    kind.push_str("\"…\"");
                    quoted.clear();
                } else if example.is_none() {
                    example = Some(format!("\"{quoted}\""));
                }
            }
            _ if in_quote => quoted.push(ch),
            c if c.is_ascii_digit() => {
                if !kind.ends_with('N') {
                    kind.push('N');
                }
            }
            c => kind.push(c),
        }
    }
    let kind = match p.field {
        Some(f) => format!("{f}: {kind}"),
        None => kind,
    };
    (kind, example)
}

impl Preflight {
    /// Rows that will not be sent because a local rule failed.
    pub fn invalid(&self) -> u64 {
        self.rows - self.valid
    }

    /// The rows whose code came earlier, by row number, with the first
    /// row of their code. There is one such list: `None` once taken
    /// (here or by [`plan`]).
    pub fn take_duplicates(&self) -> Option<Duplicates<'_>> {
        let rows = self
            .duplicates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        Some(Duplicates { pre: self, rows })
    }

    fn spill_error(&self, source: std::io::Error) -> InputError {
        InputError::Spill {
            dir: self.scratch.dir.clone(),
            source,
        }
    }
}

/// The duplicate rows of a [`Preflight`], in row order.
#[derive(Debug)]
pub struct Duplicates<'a> {
    pre: &'a Preflight,
    rows: Sorted<Duplicate>,
}

impl Iterator for Duplicates<'_> {
    type Item = Result<Duplicate, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.rows.next()?;
        Some(next.map_err(|e| self.pre.spill_error(e)))
    }
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
        duplicate_problem(self.first_line)
    }
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
                if at < EXAMPLES_PER_PROBLEM {
                    first_lines.insert(at, line);
                    first_lines.truncate(EXAMPLES_PER_PROBLEM);
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
        // its values may sit under the wrong columns, so field messages
        // about them (`Country: "Utrecht"`) would mislead: the width is
        // its only problem.
        match self.mapping.width_problem(&record.fields) {
            Some(p) => self.problems.push(p),
            None => {
                self.problems.extend(self.checked.problems.iter().cloned());
                self.problems
                    .extend(self.mapping.set_aside_problem(&record.fields));
            }
        }
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

/// First pass: reads and validates the whole file; no row is kept. The
/// duplicate check sorts the codes, in temporary files in `scratch` when
/// they outgrow its budget.
pub fn scan(
    path: &Path,
    options: &InputOptions,
    scratch: &Scratch,
) -> Result<Preflight, InputError> {
    scan_inner(path, options, scratch, None)
}

/// One pass for `validate` / `--dry-run`: [`scan`] that also hands every
/// row's outcome (`valid` or `invalid`) to `emit`, in input order, so the
/// file is read once. Stops emitting (and reading) when `emit` returns
/// false. Repeated codes are known only at the end: the emitted outcomes
/// leave them out, and [`Preflight::take_duplicates`] lists them (the
/// counts and problems of the returned preflight include them).
pub fn scan_and_check(
    path: &Path,
    options: &InputOptions,
    scratch: &Scratch,
    mut emit: impl FnMut(Outcome) -> bool,
) -> Result<Preflight, InputError> {
    scan_inner(path, options, scratch, Some(&mut emit))
}

fn scan_inner(
    path: &Path,
    options: &InputOptions,
    scratch: &Scratch,
    mut emit: Option<&mut dyn FnMut(Outcome) -> bool>,
) -> Result<Preflight, InputError> {
    let spill_error = |source| InputError::Spill {
        dir: scratch.dir.clone(),
        source,
    };
    let before = stamp(path)?;
    let opened = input::open(path, options)?;
    let (mut reader, info) = (opened.reader, opened.info);
    let mut checker = Checker::new(opened.mapping);
    let mut mapping_description = info.describe(&checker.mapping);
    let mut no_country = RowSample::default();
    let mut unknown_languages = RowSample::default();
    let mut codes = Spill::new(scratch);
    let mut changes = ChangeTally::default();
    let mut problems = ProblemTally::default();
    problems.set_labels(&checker.mapping);
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
                // Only rows that are sent: an invalid row's values may be
                // shifted, and it is reported already.
                let valid_row = rows.problems.is_empty();
                if valid_row && rows.customer.get(Field::Country).is_none() {
                    no_country.add(record.line, None);
                }
                if let Some(language) = rows.customer.get(Field::Language)
                    && valid_row
                    && !validate::LANGUAGES.contains(&language)
                {
                    unknown_languages.add(record.line, Some(language));
                }
                let code = rows.customer.code();
                if !code.is_empty() {
                    let seen = CodeSeen::new(code, record.row, record.line, valid_row);
                    codes.push(seen).map_err(spill_error)?;
                }
                if valid_row {
                    valid += 1;
                } else {
                    problems.add(record.line, &rows.problems);
                }
                if let Some(emit) = emit.as_mut()
                    && !emit(local_outcome(record, rows))
                {
                    return Ok(());
                }
            }
            let _ = give_back.send(batch);
        }
        Ok(())
    })?;
    mapping_description.push_str(&input_warnings(&no_country, &unknown_languages));
    let duplicates = find_duplicates(codes, scratch).map_err(spill_error)?;
    valid -= duplicates.were_valid;
    problems.add_rows(
        &duplicate_problem(0),
        duplicates.count,
        &duplicates.first_lines,
    );
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
        #[cfg(test)]
        no_country,
        #[cfg(test)]
        unknown_languages,
        duplicates: Mutex::new(Some(duplicates.rows)),
        scratch: scratch.clone(),
        stamp: before,
    })
}

fn duplicate_problem(first_line: u64) -> Problem {
    Problem::new(
        crate::model::field::Field::CustomerCode,
        format!("duplicate of line {first_line}; only the first row with a code is sent"),
    )
}

/// A checked row's outcome when nothing is sent for it: `invalid` with its
/// problems, else `valid`. The one producer of both, for the one pass of a
/// check and for the rows an import does not send.
fn local_outcome(record: &Record, checked: &Checker) -> Outcome {
    let (row, line) = (record.row, record.line);
    let code = checked.customer.code().to_owned();
    if checked.problems.is_empty() {
        Outcome::local(row, line, code, Status::Valid, String::new())
    } else {
        let error = validate::describe(&checked.problems);
        Outcome::local(row, line, code, Status::Invalid, error)
    }
}

/// Second pass: hands every row, in input order, to `emit`: a payload to
/// send, or the final outcome of a row not sent. Stops early (without
/// error) when `emit` returns false. With `resume`, rows an earlier run
/// finished keep their recorded outcome.
pub fn plan(
    pre: &Preflight,
    mut resume: Option<&mut Resume>,
    mut emit: impl FnMut(Planned) -> bool,
) -> Result<(), InputError> {
    if stamp(&pre.path)? != pre.stamp {
        return Err(InputError::Csv {
            path: pre.path.clone(),
            line: 1,
            message: "the file changed while it was being checked; wait until it is completely written and run again".into(),
        });
    }
    let mut duplicates = pre.take_duplicates().ok_or_else(|| InputError::Csv {
        path: pre.path.clone(),
        line: 1,
        message: "internal error: the file was planned twice from one check".into(),
    })?;
    let mut next_duplicate = duplicates.next().transpose()?;
    let mut rows = RowChecker::open(&pre.path, &pre.options)?;
    while rows.next()? {
        let row = rows.record.row;
        let line = rows.record.line;
        let code = rows.checker.customer.code().to_owned();
        if let Some(duplicate) = next_duplicate.as_ref().filter(|d| d.row == row) {
            rows.checker.problems.push(duplicate.problem());
            next_duplicate = duplicates.next().transpose()?;
        }
        let earlier = match resume.as_deref_mut() {
            Some(r) => r.finished(row).map_err(|source| InputError::Spill {
                dir: r.dir().to_owned(),
                source,
            })?,
            None => None,
        };
        let item = if let Some(done) = earlier.filter(|o| o.code == code) {
            Planned::Done(done)
        } else if !rows.checker.problems.is_empty() {
            Planned::Done(local_outcome(&rows.record, &rows.checker))
        } else {
            let in_doubt = resume.as_ref().is_some_and(|r| r.is_in_doubt(row));
            Planned::Send(Request {
                row,
                line,
                code,
                body: rows.checker.customer.to_json(),
                in_doubt,
                overwrite: false,
            })
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
    fn scan_counts_and_plan_marks_repeated_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(
            &path,
            "CustomerCode,Name\nA,Ann\nA,Ann again\nB,\nB,Bob\nC,Cas\n",
        )
        .unwrap();
        let pre = scan(
            &path,
            &InputOptions::default(),
            &Scratch::in_dir(dir.path()),
        )
        .unwrap();
        assert_eq!((pre.rows, pre.valid), (5, 2));
        let kinds = pre.problems.iter();
        let duplicates = kinds
            .iter()
            .find(|(kind, _, _)| kind.contains("duplicate of line N"))
            .expect("duplicates in the tally");
        assert_eq!((duplicates.1, duplicates.2), (2, &[3, 5][..]));
        let mut seen = Vec::new();
        plan(&pre, None, |item| {
            seen.push(outcome_of(item));
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
        assert!(seen[1].1.contains("duplicate of line 2"), "{seen:?}");
        assert!(seen[3].1.contains("duplicate of line 4"), "{seen:?}");
    }

    /// A planned row as (status, error), a payload to send being `valid`.
    fn outcome_of(item: Planned) -> (Status, String) {
        match item {
            Planned::Done(o) => (o.status, o.error),
            Planned::Send(_) => (Status::Valid, String::new()),
        }
    }

    /// Plan's outcomes as (status, error) per row.
    fn planned(pre: &Preflight) -> Vec<(Status, String)> {
        let mut seen = Vec::new();
        plan(pre, None, |item| {
            seen.push(outcome_of(item));
            true
        })
        .unwrap();
        seen
    }

    #[test]
    fn duplicates_are_exact_when_the_codes_spill_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let mut text = String::from("CustomerCode,Name\n");
        let mut first_row = std::collections::HashMap::new();
        let mut expected = Vec::new();
        for row in 1..=600u64 {
            let code = format!("C{}", (row * 7) % 250);
            let name = if row % 11 == 0 { "" } else { "Ann" };
            text.push_str(&format!("{code},{name}\n"));
            match first_row.get(&code) {
                Some(first) => expected.push(Duplicate {
                    row,
                    first_line: *first,
                }),
                None => {
                    // The header is line 1.
                    first_row.insert(code, row + 1);
                }
            }
        }
        std::fs::write(&path, text).unwrap();
        let options = InputOptions::default();
        // A budget of a few records: dozens of runs, merged.
        let tiny = Scratch {
            dir: dir.path().join("scratch"),
            budget: 100,
        };
        std::fs::create_dir(&tiny.dir).unwrap();
        let roomy = Scratch::in_dir(dir.path());

        let mut emitted = 0;
        let spilled = scan_and_check(&path, &options, &tiny, |_| {
            emitted += 1;
            true
        })
        .unwrap();
        assert_eq!(emitted, 600);
        let found: Vec<Duplicate> = spilled
            .take_duplicates()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(found, expected);
        assert!(spilled.take_duplicates().is_none(), "read once");
        let in_memory = scan(&path, &options, &roomy).unwrap();
        assert_eq!(
            (spilled.rows, spilled.valid),
            (in_memory.rows, in_memory.valid)
        );
        assert_eq!(spilled.problems.iter(), in_memory.problems.iter());
        let duplicate_kind = spilled
            .problems
            .iter()
            .into_iter()
            .find(|(k, _, _)| k.contains("duplicate"));
        assert_eq!(
            duplicate_kind.map(|(_, n, lines)| (n, lines.to_vec())),
            Some((
                expected.len() as u64,
                vec![
                    expected[0].row + 1,
                    expected[1].row + 1,
                    expected[2].row + 1
                ]
            ))
        );
        let spilled = scan(&path, &options, &tiny).unwrap();
        assert_eq!(planned(&spilled), planned(&in_memory));
        assert_eq!(
            std::fs::read_dir(&tiny.dir).unwrap().count(),
            0,
            "no temporary file left behind"
        );
    }

    fn scanned(text: &str, options: &InputOptions) -> Preflight {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        scan(&path, options, &Scratch::in_dir(dir.path())).unwrap()
    }

    #[test]
    fn the_summary_names_the_users_column_the_limit_and_a_value() {
        let pre = scanned(
            "Code;Naam;Postcode;Land;\n1;A;12345678901;NL;\n2;B;12345678901234;NL;\n3;C;1000;Utrecht;\n4;D;1000;NL;x;\n",
            &InputOptions::default(),
        );
        let kinds: Vec<(&str, u64)> = pre
            .problems
            .iter()
            .iter()
            .map(|(k, n, _)| (*k, *n))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "Postcode \u{2192} Postalcode: is longer than 10 characters",
                    2
                ),
                (
                    "Land \u{2192} Country: e.g. \"Utrecht\" is not a known country: give a two-letter ISO country code (e.g. NL) or a country name",
                    1
                ),
                ("has more or fewer fields than the header's 5", 1),
            ]
        );
    }

    #[test]
    fn rows_without_a_country_and_unknown_languages_are_warned_about() {
        let text = "Code,Name,Taal\n1,A,nl_NL\n2,B,Klingon\n3,C,\n";
        let pre = scanned(text, &InputOptions::default());
        assert_eq!(pre.no_country.rows, 3);
        assert_eq!(pre.no_country.lines, [2, 3, 4]);
        assert_eq!(pre.unknown_languages.rows, 1);
        assert_eq!(pre.unknown_languages.values, ["Klingon"]);
        assert!(
            pre.mapping_description.contains(
                "warning: 3 rows have no country; Notify will store NL: add a Country column or --default-country DE (lines 2, 3, 4)"
            ),
            "{}",
            pre.mapping_description
        );
        assert_eq!(
            pre.changes.count(validate::ChangeKind::LanguageConverted),
            1
        );
        // --default-country fills them in: no warning.
        let options = InputOptions {
            default_country: Some("DE".into()),
            ..InputOptions::default()
        };
        let pre = scanned(text, &options);
        assert_eq!(pre.no_country.rows, 0);
        assert!(
            pre.mapping_description
                .contains("fixed value \"DE\" (from --default-country)")
        );
        // Only empty cells get it when there is a column.
        let pre = scanned("Code,Name,Land\n1,A,FR\n2,B,\n", &options);
        assert_eq!(pre.no_country.rows, 0);
        assert!(
            pre.mapping_description
                .contains("empty cells: DE (--default-country)")
        );
        // An invalid (shifted) row is reported as such, not counted here.
        let pre = scanned("Code;Naam;Taal;\n1;A;x;dutch;\n", &InputOptions::default());
        assert_eq!((pre.no_country.rows, pre.unknown_languages.rows), (0, 0));
        assert_eq!(rows_text(1), "1 row");
        assert_eq!(rows_text(2), "2 rows");
    }
}
