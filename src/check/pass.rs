//! The one pass: read, decode, parse, map and validate every row once.
//!
//! Owns the walk over an opened input for every command that reads rows
//! (`validate`, `import`, `plan`): each record is mapped and checked, its
//! code fed to the repeated-code index, and the row handed to the caller's
//! sink as a [`Checked`] view (its cells, code, and either the payload to
//! send or its problems). The input's fingerprint is hashed from the same
//! bytes the records are parsed from. File-level problems are errors, so
//! they stop a run before anything is sent.
//!
//! Decoding and parsing run on one core, mapping and validation on another
//! (batches of records handed over and given back, so nothing is allocated
//! per row once the buffers have grown).
//!
//! It must not touch the network, decide a row's fate beyond its own
//! checks (the planner does) or write outputs (the sink does).

use std::sync::mpsc;

use csv::StringRecord;

use crate::check::duplicates::{CodeIndex, Duplicates};
use crate::check::tally::{ProblemTally, RowSample};
use crate::check::validate::{self, ChangeTally, Validation};
use crate::input::decode;
use crate::input::mapping::Mapping;
use crate::input::{
    self, Fingerprinter, InputError, InputFile, InputInfo, InputOptions, Record, RecordSource,
};
use crate::input::{EncodingChoice, EncodingSource};
use crate::model::checked::Fingerprint;
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::outcome::{Outcome, Status};
use crate::model::problem::Problem;
use crate::util::spill::Scratch;

/// Records read per batch handed from the reading thread to the checking one.
const BATCH: usize = 1024;

/// What the pass learned about the input.
#[derive(Debug)]
pub struct Pass {
    /// The encoding, delimiter and header decisions.
    pub info: InputInfo,
    /// The resolved mapping, as the run header shows it.
    pub mapping_description: String,
    /// The header row's cells (for the errors file).
    pub headers: StringRecord,
    /// What normalization changed, per kind.
    pub changes: ChangeTally,
    /// Invalid rows per kind of problem (repeated codes included).
    pub problems: ProblemTally,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that pass every local rule and repeat no earlier code.
    pub valid: u64,
    /// Header names that matched no field.
    pub unknown_columns: Vec<String>,
    /// The fields the mapping feeds (a column, columns or a fixed value):
    /// the ones `--clear-empty` may clear when blank.
    pub mapped: Vec<Field>,
    /// Valid rows that reach Notify without a country (it stores NL).
    pub no_country: RowSample,
    /// Valid rows whose language is none the API knows (sent as is).
    pub unknown_languages: RowSample,
    /// Rows of a workbook with a number where a code or phone goes (its
    /// leading zero may be lost); the values are the column names.
    pub cell_numbers: RowSample,
    /// Rows of a workbook with an error cell (`#N/A`) in a column that is
    /// imported, read as empty; the values are the errors.
    pub cell_errors: RowSample,
    /// The input as parsed; `None` when the sink stopped the pass early.
    pub fingerprint: Option<Fingerprint>,
    /// Rows whose code came earlier, in row order: read once.
    repeats: Option<Duplicates>,
}

impl Pass {
    /// Rows that will not be sent because a local rule failed.
    pub fn invalid(&self) -> u64 {
        self.rows - self.valid
    }

    /// The rows whose code came earlier, in row order, each with the line
    /// of its code's first row; `None` once taken.
    pub fn take_repeats(&mut self) -> Option<Duplicates> {
        self.repeats.take()
    }
}

/// One row as the pass leaves it, lent to the sink.
pub struct Checked<'a> {
    record: &'a Record,
    customer: &'a Customer,
    checker: &'a Checker,
}

impl Checked<'_> {
    /// 1-based data row.
    pub fn row(&self) -> u64 {
        self.record.row
    }

    /// Physical line where the record starts.
    pub fn line(&self) -> u64 {
        self.record.line
    }

    /// The normalized code, possibly empty.
    pub fn code(&self) -> &str {
        self.customer.code()
    }

    /// The original cells, as decoded.
    pub fn cells(&self) -> &StringRecord {
        &self.record.fields
    }

    /// True when the row broke no local rule (repeats are known later).
    pub fn is_valid(&self) -> bool {
        self.checker.problems.is_empty()
    }

    /// The row's problems as the results file shows them.
    pub fn error(&self) -> String {
        validate::describe(&self.checker.problems)
    }

    /// Appends the JSON body to send to `out`.
    pub fn write_body(&self, out: &mut Vec<u8>) {
        self.customer.write_json(out);
    }

    /// The row's outcome when nothing is sent for it: `invalid` with its
    /// problems, else `valid`. The one producer of both.
    pub fn outcome(&self) -> Outcome {
        let (row, line) = (self.record.row, self.record.line);
        let code = self.code().to_owned();
        if self.is_valid() {
            Outcome::local(row, line, code, Status::Valid, String::new())
        } else {
            Outcome::local(row, line, code, Status::Invalid, self.error())
        }
    }
}

/// What takes the rows of a pass.
pub trait Sink {
    /// One row, in input order; `false` stops the pass (without error).
    fn row(&mut self, row: &Checked<'_>) -> bool;

    /// The pass starts over from the first row, because the file turned
    /// out to mix UTF-8 and Windows-1252 ([`decode::MixedEncoding`]): forget
    /// every row taken so far.
    fn restart(&mut self) -> std::io::Result<()>;
}

/// A sink made of a closure, for callers that never start over (tests):
/// a restart is an error.
#[cfg(test)]
pub(crate) struct FnSink<F>(pub F);

#[cfg(test)]
impl<F: FnMut(&Checked<'_>) -> bool> Sink for FnSink<F> {
    fn row(&mut self, row: &Checked<'_>) -> bool {
        (self.0)(row)
    }

    fn restart(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("this sink cannot start over"))
    }
}

/// Reads every row of `file` once, handing each to `sink` in input order;
/// the pass stops early (without error) when the sink says so. The
/// repeated-code index sorts in `scratch`. The encoding is decided while
/// reading; only a file that mixes UTF-8 and Windows-1252 is read twice
/// (the sink is told to start over).
pub fn run(
    file: &InputFile,
    options: &InputOptions,
    scratch: &Scratch,
    sink: &mut dyn Sink,
) -> Result<Pass, InputError> {
    let mut decided = None;
    loop {
        match walk(file, options, scratch, sink, decided) {
            Err(InputError::Io { source, path }) => match decode::MixedEncoding::within(&source) {
                Some(mixed) if decided.is_none() => {
                    decided = Some(EncodingChoice {
                        encoding: encoding_rs::WINDOWS_1252,
                        source: EncodingSource::DetectedNotUtf8 { line: mixed.line },
                        ignored_override: None,
                    });
                    sink.restart().map_err(|source| InputError::Io {
                        path: path.clone(),
                        source,
                    })?;
                }
                _ => return Err(InputError::Io { source, path }),
            },
            done => return done,
        }
    }
}

/// One walk of [`run`] over the whole file.
fn walk(
    file: &InputFile,
    options: &InputOptions,
    scratch: &Scratch,
    sink: &mut dyn Sink,
    decided: Option<EncodingChoice>,
) -> Result<Pass, InputError> {
    let fingerprinter = Fingerprinter::default();
    let detection = decode::Detection::default();
    let opened = input::open_for_pass(file, options, &fingerprinter, &detection, decided)?;
    let (mut reader, mut info) = (opened.reader, opened.info);
    let headers = reader.headers().clone();
    // Mapping a record into a customer runs on the reading thread, which
    // has room to spare; checking it on this one.
    let mapping = opened.mapping.clone();
    let mut checker = Checker::new(opened.mapping);
    let mut tally = Tally {
        columns: NotedColumns::of(&checker.mapping),
        ..Tally::default()
    };
    tally.problems.set_labels(&checker.mapping);
    let mut index = CodeIndex::new(scratch);
    let mut stopped = false;
    std::thread::scope(|scope| -> Result<(), InputError> {
        let (to_check, batches) = mpsc::sync_channel(4);
        let (give_back, returned) = mpsc::channel();
        scope.spawn(move || read_batches(reader.as_mut(), &mapping, to_check, returned));
        // Leaving this closure drops `batches`, which ends the reader.
        for batch in batches {
            let mut batch = batch?;
            for Mapped { record, customer } in &mut batch {
                checker.check(record, customer);
                let checked = Checked {
                    record,
                    customer,
                    checker: &checker,
                };
                tally.add(&checked);
                index.push(checked.code(), record.row, record.line, checked.is_valid())?;
                if !sink.row(&checked) {
                    stopped = true;
                    return Ok(());
                }
            }
            let _ = give_back.send(batch);
        }
        Ok(())
    })?;
    // The encoding as the reading found it.
    if let Some(found) = detection.switched() {
        info.encoding = found;
    }
    let mapping_description = info.describe(&checker.mapping);
    let repeats = index.finish()?;
    let mut problems = tally.problems;
    problems.add_rows(
        &crate::check::duplicates::problem(0),
        repeats.count,
        &repeats.first_lines,
    );
    Ok(Pass {
        info,
        mapping_description,
        headers,
        changes: tally.changes,
        problems,
        rows: tally.rows,
        valid: tally.valid - repeats.were_valid,
        unknown_columns: checker.mapping.unknown_columns().to_vec(),
        mapped: Field::ALL
            .into_iter()
            .filter(|f| checker.mapping.source(*f).is_some())
            .collect(),
        no_country: tally.no_country,
        unknown_languages: tally.unknown_languages,
        cell_numbers: tally.cell_numbers,
        cell_errors: tally.cell_errors,
        fingerprint: if stopped {
            None
        } else {
            fingerprinter.finish()
        },
        repeats: Some(repeats.rows),
    })
}

/// The counts of a pass, row by row.
#[derive(Default)]
struct Tally {
    rows: u64,
    valid: u64,
    changes: ChangeTally,
    problems: ProblemTally,
    no_country: RowSample,
    unknown_languages: RowSample,
    cell_numbers: RowSample,
    cell_errors: RowSample,
    columns: NotedColumns,
}

/// Which columns' workbook cell notes deserve a warning.
#[derive(Default)]
struct NotedColumns {
    /// Columns whose text a number can spoil: codes and phone numbers,
    /// with the column's name.
    digits: Vec<(usize, String)>,
    /// Every column that feeds a field.
    used: Vec<usize>,
}

impl NotedColumns {
    fn of(mapping: &Mapping) -> NotedColumns {
        let mut noted = NotedColumns::default();
        for field in Field::ALL {
            let Some(fs) = mapping.source(field) else {
                continue;
            };
            let columns: Vec<usize> = match &fs.source {
                input::Source::Column(c) => vec![*c],
                input::Source::Join(cs) => cs.clone(),
                input::Source::Fallback(first, rest) => std::iter::once(*first)
                    .chain(rest.iter().copied())
                    .collect(),
                input::Source::Constant(_) => Vec::new(),
            };
            let digits = matches!(
                field,
                Field::CustomerCode
                    | Field::Phone
                    | Field::Mobile
                    | Field::Postalcode
                    | Field::RegistrationNumber
            );
            for c in columns {
                noted.used.push(c);
                if digits {
                    let name = mapping.headers().get(c).cloned().unwrap_or_default();
                    noted.digits.push((c, name));
                }
            }
        }
        noted
    }
}

impl Tally {
    /// Counts the workbook cell notes of a row that matter.
    fn notes(&mut self, line: u64, notes: &[input::workbook::CellNote]) {
        use input::workbook::CellNoteKind;
        let mut number: Option<&str> = None;
        let mut error = None;
        for note in notes {
            match note.kind {
                CellNoteKind::Number => {
                    if let Some((_, name)) =
                        self.columns.digits.iter().find(|(c, _)| *c == note.column)
                    {
                        // Every column concerned is named, not only the
                        // first row's.
                        let names = &mut self.cell_numbers.values;
                        if number.is_some() && names.len() < 5 && !names.contains(name) {
                            names.push(name.clone());
                        }
                        number.get_or_insert(name.as_str());
                    }
                }
                CellNoteKind::Error(what) => {
                    if self.columns.used.contains(&note.column) {
                        error.get_or_insert(what);
                    }
                }
            }
        }
        if let Some(name) = number {
            self.cell_numbers.add(line, Some(name));
        }
        if let Some(what) = error {
            self.cell_errors.add(line, Some(what));
        }
    }

    fn add(&mut self, checked: &Checked<'_>) {
        let line = checked.line();
        let rows = checked.checker;
        let customer = checked.customer;
        self.rows += 1;
        if !checked.record.notes.is_empty() {
            self.notes(line, &checked.record.notes);
        }
        self.changes.add(&rows.checked.changes);
        if !checked.is_valid() {
            self.problems.add(line, &rows.problems);
            self.problems.keep(
                checked.row(),
                line,
                &rows.problems,
                checked.cells(),
                &rows.mapping,
            );
            return;
        }
        self.valid += 1;
        // Only rows that are sent: an invalid row's values may be shifted,
        // and it is reported already.
        if customer.get(Field::Country).is_none() {
            self.no_country.add(line, None);
        }
        if let Some(language) = customer.get(Field::Language)
            && !validate::LANGUAGES.contains(&language)
        {
            self.unknown_languages.add(line, Some(language));
        }
    }
}

/// A record and the customer the mapping made of it.
#[derive(Default)]
struct Mapped {
    record: Record,
    customer: Customer,
}

/// Checks one mapped record.
struct Checker {
    mapping: Mapping,
    checked: Validation,
    problems: Vec<Problem>,
}

impl Checker {
    fn new(mapping: Mapping) -> Checker {
        Checker {
            mapping,
            checked: Validation::default(),
            problems: Vec::new(),
        }
    }

    /// Normalizes and checks `customer` (mapped from `record`) and lists
    /// the row's problems.
    fn check(&mut self, record: &Record, customer: &mut Customer) {
        validate::validate_into(customer, &mut self.checked);
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

/// The reading side of [`run`]: parses records and maps them into
/// batches (reusing the batches sent back).
fn read_batches(
    reader: &mut dyn RecordSource,
    mapping: &Mapping,
    to_check: mpsc::SyncSender<Result<Vec<Mapped>, InputError>>,
    returned: mpsc::Receiver<Vec<Mapped>>,
) {
    loop {
        let mut batch = returned.try_recv().unwrap_or_default();
        let mut n = 0;
        let mut end = false;
        while n < BATCH {
            if batch.len() == n {
                batch.push(Mapped::default());
            }
            let item = &mut batch[n];
            match reader.read(&mut item.record) {
                Ok(true) => {
                    mapping.customer_into(&item.record.fields, &mut item.customer);
                    n += 1;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::duplicates::Duplicate;

    /// Runs the pass over `text`, collecting each row's local outcome.
    fn pass_over(
        text: &str,
        options: &InputOptions,
        scratch: Option<&Scratch>,
    ) -> (Pass, Vec<Outcome>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        let file = InputFile::open(&path, &crate::input::InputOptions::default()).unwrap();
        let roomy = Scratch::in_dir(dir.path());
        let mut seen = Vec::new();
        let mut sink = FnSink(|row: &Checked<'_>| {
            seen.push(row.outcome());
            true
        });
        let pass = run(&file, options, scratch.unwrap_or(&roomy), &mut sink).unwrap();
        (pass, seen)
    }

    #[test]
    fn one_pass_counts_rows_finds_repeats_and_fingerprints_what_it_parsed() {
        let text = "CustomerCode,Name\nA,Ann\nA,Ann again\nB,\nB,Bob\nC,Cas\n";
        let (mut pass, seen) = pass_over(text, &InputOptions::default(), None);
        assert_eq!((pass.rows, pass.valid), (5, 2));
        let statuses: Vec<Status> = seen.iter().map(|o| o.status).collect();
        // Repeats are known at the end, not in the rows as they come.
        assert_eq!(
            statuses,
            [
                Status::Valid,
                Status::Valid,
                Status::Invalid,
                Status::Valid,
                Status::Valid
            ]
        );
        let kinds = pass.problems.iter();
        let repeated = kinds
            .iter()
            .find(|(kind, _, _)| kind.contains("repeats the code of an earlier line"))
            .expect("repeats in the tally");
        assert_eq!((repeated.1, repeated.2), (2, &[3, 5][..]));
        let repeats: Vec<Duplicate> = pass.take_repeats().unwrap().map(Result::unwrap).collect();
        assert_eq!(
            repeats,
            [
                Duplicate {
                    row: 2,
                    first_line: 2
                },
                Duplicate {
                    row: 4,
                    first_line: 4
                }
            ]
        );
        assert!(pass.take_repeats().is_none(), "read once");
        let fp = pass.fingerprint.unwrap();
        assert_eq!(fp.size, text.len() as u64);
        assert_eq!(
            fp.hash,
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
        );
    }

    #[test]
    fn a_sink_that_stops_stops_the_pass_and_leaves_no_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let mut text = String::from("Code,Name\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},N\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let file = InputFile::open(&path, &crate::input::InputOptions::default()).unwrap();
        let mut n = 0;
        let pass = run(
            &file,
            &InputOptions::default(),
            &Scratch::in_dir(dir.path()),
            &mut FnSink(|_: &Checked<'_>| {
                n += 1;
                n < 10
            }),
        )
        .unwrap();
        assert_eq!(n, 10);
        assert_eq!(pass.fingerprint, None);
    }

    #[test]
    fn repeats_are_exact_when_the_codes_spill_to_disk() {
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
                // The header is line 1.
                None => {
                    first_row.insert(code, row + 1);
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        // A budget of a few records: dozens of runs, merged.
        let tiny = Scratch {
            dir: dir.path().to_owned(),
            budget: 100,
        };
        let options = InputOptions::default();
        let (mut spilled, seen) = pass_over(&text, &options, Some(&tiny));
        assert_eq!(seen.len(), 600);
        let found: Vec<Duplicate> = spilled
            .take_repeats()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(found, expected);
        let (in_memory, _) = pass_over(&text, &options, None);
        assert_eq!(
            (spilled.rows, spilled.valid),
            (in_memory.rows, in_memory.valid)
        );
        assert_eq!(spilled.problems.iter(), in_memory.problems.iter());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary file left behind"
        );
    }

    #[test]
    fn the_tally_names_the_users_column_the_limit_and_a_value() {
        let (pass, _) = pass_over(
            "Code;Naam;Postcode;Land;\n1;A;12345678901;NL;\n2;B;12345678901234;NL;\n3;C;1000;Utrecht;\n4;D;1000;NL;x;\n",
            &InputOptions::default(),
            None,
        );
        let kinds: Vec<(&str, u64)> = pass
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
    fn rows_without_a_country_and_unknown_languages_are_counted() {
        let text = "Code,Name,Taal\n1,A,nl_NL\n2,B,Klingon\n3,C,\n";
        let (pass, _) = pass_over(text, &InputOptions::default(), None);
        assert_eq!(pass.no_country.rows, 3);
        assert_eq!(pass.no_country.lines, [2, 3, 4]);
        assert_eq!(pass.unknown_languages.rows, 1);
        assert_eq!(pass.unknown_languages.values, ["Klingon"]);
        assert!(
            crate::output::report::input_report(&pass).contains(
                "warning: 3 rows have no country; Notify will store NL: add a Country column or --default-country DE (lines 2, 3, 4)"
            ),
        );
        assert_eq!(
            pass.changes.count(validate::ChangeKind::LanguageConverted),
            1
        );
        // --default-country fills them in: no warning.
        let options = InputOptions {
            default_country: Some("DE".into()),
            ..InputOptions::default()
        };
        let (pass, _) = pass_over(text, &options, None);
        assert_eq!(pass.no_country.rows, 0);
        assert!(
            pass.mapping_description
                .contains("fixed value \"DE\" (from --default-country)")
        );
        // Only empty cells get it when there is a column.
        let (pass, _) = pass_over("Code,Name,Land\n1,A,FR\n2,B,\n", &options, None);
        assert_eq!(pass.no_country.rows, 0);
        assert!(
            pass.mapping_description
                .contains("empty cells: DE (--default-country)")
        );
        // An invalid (shifted) row is reported as such, not counted here.
        let (pass, _) = pass_over(
            "Code;Naam;Taal;\n1;A;x;dutch;\n",
            &InputOptions::default(),
            None,
        );
        assert_eq!((pass.no_country.rows, pass.unknown_languages.rows), (0, 0));
    }

    /// Keeps each row's outcome; starting over forgets them.
    #[derive(Default)]
    struct Collect {
        rows: Vec<Vec<String>>,
        restarts: u32,
    }

    impl Sink for Collect {
        fn row(&mut self, row: &Checked<'_>) -> bool {
            self.rows
                .push(row.cells().iter().map(str::to_owned).collect());
            true
        }

        fn restart(&mut self) -> std::io::Result<()> {
            self.rows.clear();
            self.restarts += 1;
            Ok(())
        }
    }

    /// The encoding decided in the one pass is the one a read of the whole
    /// file first would decide, and the rows read the same: for UTF-8, for
    /// Windows-1252 (switched at its first accent), and for a file that
    /// mixes both (read again from the start as Windows-1252).
    #[test]
    fn the_encoding_found_while_reading_is_the_whole_files() {
        let mut mixed = "Code,Name\n".as_bytes().to_vec();
        for i in 0..3000 {
            mixed.extend_from_slice(format!("{i},Café {i}\n").as_bytes());
        }
        mixed.extend_from_slice(b"9999,Caf\xE9\n");
        let mut ascii_then_1252 = "Code,Name\n".as_bytes().to_vec();
        for i in 0..3000 {
            ascii_then_1252.extend_from_slice(format!("{i},Cafe {i}\n").as_bytes());
        }
        ascii_then_1252.extend_from_slice(b"9999,Caf\xE9 \x80\n");
        let cases: [(&str, Vec<u8>, u32); 4] = [
            ("utf-8", "Code,Name\n1,Café\n2,Ann\n".into(), 0),
            (
                "1252 on line 2",
                b"Code,Name\n1,Caf\xE9\n2,Ann\n".to_vec(),
                0,
            ),
            ("1252 late", ascii_then_1252, 0),
            ("mixed", mixed, 1),
        ];
        for (what, bytes, restarts) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("in.csv");
            std::fs::write(&path, &bytes).unwrap();
            let file = InputFile::open(&path, &crate::input::InputOptions::default()).unwrap();
            let mut sink = Collect::default();
            let pass = run(
                &file,
                &InputOptions::default(),
                &Scratch::in_dir(dir.path()),
                &mut sink,
            )
            .unwrap();
            assert_eq!(sink.restarts, restarts, "{what}");
            let up_front = input::open(&path, &InputOptions::default()).unwrap();
            assert_eq!(pass.info.encoding, up_front.info.encoding, "{what}");
            assert!(
                pass.mapping_description
                    .starts_with(&format!("encoding: {}", up_front.info.encoding)),
                "{what}"
            );
            // The same rows, read the same way, as a reading decided up front.
            let mut reader = up_front.reader;
            let mut record = Record::default();
            let mut expected = Vec::new();
            while reader.read(&mut record).unwrap() {
                expected.push(record.fields.iter().map(str::to_owned).collect::<Vec<_>>());
            }
            assert_eq!(sink.rows, expected, "{what}");
            assert_eq!(pass.rows, expected.len() as u64, "{what}");
            let fp = pass.fingerprint.unwrap();
            assert_eq!(fp.size, bytes.len() as u64, "{what}");
        }
    }
}
