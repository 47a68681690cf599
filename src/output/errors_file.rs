//! The errors file: the input rows that did not make it, ready to be fixed
//! and imported again.
//!
//! Owns writing `--errors PATH` (default `errors.csv` in the run folder): the
//! input's header plus an `error` column, then every row whose results
//! status is `invalid`, `failed` or `skipped`, with its original cells as
//! decoded (not trimmed, not normalized) and the results file's `error`
//! text. It is written in the input's delimiter, as UTF-8 with a byte-order
//! mark (so Excel shows accents and keeps saving UTF-8), CRLF line ends,
//! mode 0600 (it holds customer data), whole or not at all
//! ([`AtomicFile`]). As one of a run's outputs ([`ErrorsFile`]), it is
//! written once the rows are over, when some row was not imported.
//!
//! Memory stays flat: the rows' cells come from a [`RecordSource`] (an
//! import's checked rows kept on disk by its pass; for a check, its input
//! read again through the handle the run opened) in lock-step with the
//! finished results file; both are in row order. Row and line numbers must
//! agree on every row, so rows that do not belong to the results are
//! refused rather than paired with the wrong outcomes.
//!
//! Every cell is neutralized against spreadsheet formulas the same way as
//! in the results file ([`results::neutralize`]: `+31 20 123 4567` becomes
//! `'+31 20 123 4567`), because this file is made to be opened in Excel.
//! The import still gets the exact value back: the input normalization
//! drops such a leading apostrophe (`validate`, `FormulaMarkerRemoved`), so
//! a fixed errors file imports exactly what the original row meant.
//!
//! A path ending in `.xlsx` (the default for a workbook input) gets a
//! workbook instead (`errors_workbook.rs`): the same rows and `error`
//! column, every cell a text cell, so codes keep their leading zeros.
//!
//! It must not decide outcomes: the results file says which rows failed.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use csv::StringRecord;

use crate::input::mapping::used_width;
use crate::input::{InputError, Record, RecordSource};
use crate::model::outcome::{Counts, Status};
use crate::output::set::{Failure, InputRows, Named, Output, RowsDone};
use crate::output::{errors_workbook, results};
use crate::util::atomic::AtomicFile;

/// Its name among the outputs ([`Output::name`]).
pub const NAME: &str = "errors file";

/// The name of the column added after the input's own columns.
pub const ERROR_COLUMN: &str = "error";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a row with this status belongs in the errors file.
pub fn includes(status: Status) -> bool {
    matches!(status, Status::Invalid | Status::Failed | Status::Skipped)
}

/// How many rows belong in the errors file.
pub fn count(counts: &Counts) -> u64 {
    Status::ALL
        .iter()
        .filter(|s| includes(**s))
        .map(|s| counts.get(*s))
        .sum()
}

/// The errors file as an output of a run: `--errors PATH`, else
/// `errors.csv` in the run folder.
pub(crate) struct ErrorsFile {
    named: Option<PathBuf>,
}

impl ErrorsFile {
    /// At `named` (`--errors`), else in the run folder.
    pub fn new(named: Option<PathBuf>) -> ErrorsFile {
        ErrorsFile { named }
    }
}

impl Output for ErrorsFile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn named(&self) -> Option<Named> {
        self.named.clone().map(|path| Named {
            flag: "--errors",
            path,
            note: " (maybe rows being fixed)",
            instead: "to write into the run folder",
        })
    }

    /// Written when some row was not imported. A failure is reported, not
    /// fatal: the results file already holds every outcome, and the exit
    /// code already says rows are missing.
    fn rows_done(&mut self, done: &RowsDone<'_>) -> Result<Option<PathBuf>, Failure> {
        let path = &done.files.errors;
        if count(done.counts) == 0 {
            if self.named.is_none() {
                // The run folder's own: a resumed run's rows that had not
                // been sent before the stop. Every one is imported now.
                return match crate::util::run_dir::remove_file(path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        Err(format!("{}: cannot remove it: {e}", path.display()).into())
                    }
                    _ => Ok(None),
                };
            }
            // An --errors PATH the user named: the file is theirs, so it
            // is pointed out, never removed.
            if path.exists() {
                done.reporter.info(&format!(
                    "notify-import: every row was imported; {} is from an earlier run",
                    path.display()
                ));
            }
            return Ok(None);
        }
        // Rows that cannot be read back cannot be copied either.
        let Some(rows) = done.rows else {
            return Ok(None);
        };
        Ok(match write(rows, done.results, path)? {
            0 => None,
            _ => Some(path.clone()),
        })
    }
}

/// Why the errors file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ErrorsFileError {
    /// The input could not be read again.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The results file could not be read.
    #[error("{path}: cannot read the results file: {source}")]
    Results {
        /// The results file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// The results file does not describe the input as it is now.
    #[error(
        "{input}: {what}; the input changed since it was read, so its rows cannot be matched with {results}"
    )]
    Mismatch {
        /// The input file.
        input: PathBuf,
        /// The results file.
        results: PathBuf,
        /// What did not match.
        what: String,
    },
    /// Writing the errors file failed.
    #[error("{path}: cannot write the errors file: {source}")]
    Write {
        /// The errors file (or its temporary file).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Writes the rows that `results` marks `invalid`, `failed` or `skipped`
/// to `errors`; returns how many. With none, nothing is written (an
/// existing file is left alone) and the answer is 0.
pub fn write(rows: &InputRows<'_>, results: &Path, errors: &Path) -> Result<u64, ErrorsFileError> {
    let input = rows.input;
    let mut source = (rows.open)()?;
    let mut outcomes = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(results)
        .map_err(|source| results_err(results, source))?;
    let columns = ResultsColumns::find(&mut outcomes, results)?;

    let write_err = |source| ErrorsFileError::Write {
        path: errors.to_owned(),
        source,
    };
    let workbook = errors
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let mut out: Box<dyn RowsOut> = if workbook {
        Box::new(errors_workbook::Sheet::new(errors).map_err(write_err)?)
    } else {
        let mut file = BufWriter::new(AtomicFile::create(errors).map_err(write_err)?);
        file.write_all(UTF8_BOM).map_err(write_err)?;
        Box::new(CsvOut(
            csv::WriterBuilder::new()
                .delimiter(rows.delimiter)
                .terminator(csv::Terminator::CRLF)
                // A row as wide as the header gets `error` under the error
                // column; a row of another width (invalid for that reason)
                // is written as it was, `error` after its last cell, so it
                // stays invalid until fixed.
                .flexible(true)
                .from_writer(file),
        ))
    };
    let pair = Pair {
        input,
        results,
        columns,
    };
    let count = pair.copy_rows(
        rows.headers,
        source.as_mut(),
        &mut outcomes,
        out.as_mut(),
        errors,
    )?;
    if count == 0 {
        return Ok(0);
    }
    out.commit().map_err(write_err)?;
    Ok(count)
}

/// Where the errors file's rows go: CSV here, a workbook in
/// `errors_workbook.rs`.
pub(crate) trait RowsOut {
    /// One row: its cells, then the error text.
    fn row(&mut self, cells: &[&str], error: &str) -> io::Result<()>;
    /// Puts the finished file in place.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

struct CsvOut(csv::Writer<BufWriter<AtomicFile>>);

impl RowsOut for CsvOut {
    fn row(&mut self, cells: &[&str], error: &str) -> io::Result<()> {
        let cells = cells
            .iter()
            .map(|c| results::neutralize(c))
            .chain(std::iter::once(error.into()));
        self.0
            .write_record(cells.collect::<Vec<_>>().iter().map(|c| c.as_bytes()))
            .map_err(io::Error::from)
    }

    fn commit(self: Box<Self>) -> io::Result<()> {
        self.0
            .into_inner()
            .map_err(|e| e.into_error())?
            .into_inner()
            .map_err(|e| e.into_error())?
            .commit()
            .map(drop)
    }
}

fn results_err(path: &Path, source: csv::Error) -> ErrorsFileError {
    ErrorsFileError::Results {
        path: path.to_owned(),
        source,
    }
}

/// The input and its results file, read side by side.
struct Pair<'a> {
    input: &'a Path,
    results: &'a Path,
    columns: ResultsColumns,
}

impl Pair<'_> {
    fn mismatch(&self, what: String) -> ErrorsFileError {
        ErrorsFileError::Mismatch {
            input: self.input.to_owned(),
            results: self.results.to_owned(),
            what,
        }
    }

    /// Writes the header and the rows that did not make it; returns how
    /// many rows were written.
    fn copy_rows(
        &self,
        header: &StringRecord,
        reader: &mut dyn RecordSource,
        outcomes: &mut csv::Reader<File>,
        out: &mut dyn RowsOut,
        path: &Path,
    ) -> Result<u64, ErrorsFileError> {
        // The errors file of an errors file: replace its `error` column
        // instead of adding a second one.
        let named = used_width(header, header.len());
        let old_error = named
            .checked_sub(1)
            .filter(|&i| header[i].trim().eq_ignore_ascii_case(ERROR_COLUMN));
        // Up to the last named column: a trailing delimiter's empty header
        // cell is not copied, so `error` sits right after the data columns
        // and a re-import of this file lines up.
        let width = match old_error {
            Some(e) => used_width(header, e),
            None => named,
        };
        write_record(out, header, old_error, width, ERROR_COLUMN, path)?;

        let mut record = Record::default();
        let mut outcome = StringRecord::new();
        let (mut row_buf, mut line_buf) = (itoa::Buffer::new(), itoa::Buffer::new());
        let mut count = 0;
        while reader.read(&mut record)? {
            let more = outcomes
                .read_record(&mut outcome)
                .map_err(|e| results_err(self.results, e))?;
            if !more {
                return Err(self.mismatch(format!(
                    "row {} (line {}) has no results row",
                    record.row, record.line
                )));
            }
            let (row, line) = (self.columns.get(&outcome, 0), self.columns.get(&outcome, 1));
            if row != row_buf.format(record.row) || line != line_buf.format(record.line) {
                return Err(self.mismatch(format!(
                    "row {} starts on line {}, but the results put row {row:?} on line {line:?}",
                    record.row, record.line
                )));
            }
            let status = self.columns.get(&outcome, 2);
            if !Status::ALL
                .iter()
                .any(|s| includes(*s) && s.as_str() == status)
            {
                continue;
            }
            // The error is already neutralized in the results file, by the
            // same rule.
            let error = self.columns.get(&outcome, 3);
            write_record(out, &record.fields, old_error, width, error, path)?;
            count += 1;
        }
        if outcomes
            .read_record(&mut outcome)
            .map_err(|e| results_err(self.results, e))?
        {
            return Err(self.mismatch("the results have more rows than the file".to_owned()));
        }
        Ok(count)
    }
}

/// Writes the cells of `record` and then `error`. Empty cells past
/// `width` (a trailing delimiter) are left out, so `error` lands under the
/// error column; a row with values past `width`, or one too short, keeps
/// its shape and so stays invalid until fixed. The old `error` cell is
/// left out when the input is itself an errors file.
fn write_record(
    out: &mut dyn RowsOut,
    record: &StringRecord,
    old_error: Option<usize>,
    width: usize,
    error: &str,
    path: &Path,
) -> Result<(), ErrorsFileError> {
    let skip = old_error
        .filter(|&e| e < record.len() && record.iter().skip(e + 1).all(|c| c.trim().is_empty()));
    let kept: Vec<&str> = record
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, c)| c)
        .collect();
    let used = kept
        .iter()
        .rposition(|c| !c.trim().is_empty())
        .map_or(0, |i| i + 1);
    let keep = kept.len().min(width.max(used));
    out.row(&kept[..keep], error)
        .map_err(|source| ErrorsFileError::Write {
            path: path.to_owned(),
            source,
        })
}

/// Where `row`, `line`, `status` and `error` sit in the results file.
struct ResultsColumns([usize; 4]);

impl ResultsColumns {
    fn find(rdr: &mut csv::Reader<File>, path: &Path) -> Result<ResultsColumns, ErrorsFileError> {
        let header = rdr.headers().map_err(|e| results_err(path, e))?;
        let mut at = [0; 4];
        for (slot, name) in at.iter_mut().zip(["row", "line", "status", "error"]) {
            *slot = header.iter().position(|h| h == name).ok_or_else(|| {
                results_err(path, io::Error::other(format!("no {name:?} column")).into())
            })?;
        }
        Ok(ResultsColumns(at))
    }

    /// The cell of column `which` (0 row, 1 line, 2 status, 3 error).
    fn get<'r>(&self, record: &'r StringRecord, which: usize) -> &'r str {
        self.0.get(which).and_then(|&c| record.get(c)).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{self, InputOptions};
    use crate::model::outcome::Outcome;
    use crate::output::results::ResultsWriter;

    /// Writes `input` and a results file with one outcome per data row
    /// (`(line, status, error)`), then the errors file; returns its bytes.
    fn run(
        dir: &Path,
        input: &[u8],
        outcomes: &[(u64, Status, &str)],
    ) -> (Result<u64, ErrorsFileError>, PathBuf) {
        run_with(dir, input, outcomes, &InputOptions::default())
    }

    fn run_with(
        dir: &Path,
        input: &[u8],
        outcomes: &[(u64, Status, &str)],
        options: &InputOptions,
    ) -> (Result<u64, ErrorsFileError>, PathBuf) {
        let input_path = dir.join("in.csv");
        std::fs::write(&input_path, input).unwrap();
        let results_path = dir.join("in.results.csv");
        let mut w = ResultsWriter::create(&results_path).unwrap();
        for (i, (line, status, error)) in outcomes.iter().enumerate() {
            let row = i as u64 + 1;
            w.write(&Outcome::local(
                row,
                *line,
                format!("C{row}"),
                *status,
                (*error).to_owned(),
            ))
            .unwrap();
        }
        w.finish().unwrap();
        let errors = dir.join("in.errors.csv");
        let opened = crate::input::open(&input_path, options).unwrap();
        let headers = opened.reader.headers().clone();
        let open = || -> Result<Box<dyn RecordSource>, InputError> {
            Ok(crate::input::open(&input_path, options)?.reader)
        };
        let rows = InputRows {
            input: &input_path,
            headers: &headers,
            delimiter: opened.info.delimiter.delimiter,
            open: &open,
        };
        let got = write(&rows, &results_path, &errors);
        (got, errors)
    }

    #[test]
    fn a_trailing_delimiter_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (got, errors) = run(
            dir.path(),
            b"Code;Naam;Plaats;
1;;Ede;
2;B;Ede;x;
",
            &[
                (2, Status::Invalid, "Name: is required"),
                (3, Status::Invalid, "has 5 fields"),
            ],
        );
        assert_eq!(got.unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(&errors).unwrap(),
            "\u{feff}Code;Naam;Plaats;error\r\n1;;Ede;Name: is required\r\n2;B;Ede;x;has 5 fields\r\n"
        );
        // Imported again: the first row lines up, the shifted one does not.
        let mut opened = input::open(&errors, &InputOptions::default()).unwrap();
        let mut rec = Record::default();
        assert!(opened.reader.read(&mut rec).unwrap());
        assert!(opened.mapping.width_problem(&rec.fields).is_none());
        assert!(opened.reader.read(&mut rec).unwrap());
        assert!(opened.mapping.width_problem(&rec.fields).is_some());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// For any file shape (header with or without a trailing delimiter,
        /// rows short, exact, with trailing delimiters or shifted), the
        /// errors file read back has a structural problem exactly on the
        /// rows that had one, and `error` under the error column otherwise.
        #[test]
        fn the_errors_file_adds_no_structural_problem(
            header_width in 1usize..5,
            header_trailing in proptest::bool::ANY,
            rows in proptest::collection::vec(
                (1usize..7, proptest::collection::vec(proptest::bool::ANY, 7), 0usize..3),
                1..6,
            ),
            semicolon in proptest::bool::ANY,
        ) {
            let delimiter = if semicolon { ';' } else { ',' };
            let names = ["Code", "Naam", "Plaats", "Land"];
            let mut text = names[..header_width].join(&delimiter.to_string());
            if header_trailing {
                text.push(delimiter);
            }
            text.push('\n');
            for (width, filled, trailing) in &rows {
                let cells: Vec<String> = (0..*width)
                    .map(|i| if i == 0 || filled[i] { format!("v{i}") } else { String::new() })
                    .collect();
                text.push_str(&cells.join(&delimiter.to_string()));
                for _ in 0..*trailing {
                    text.push(delimiter);
                }
                text.push('\n');
            }
            let options = InputOptions {
                delimiter: Some(delimiter as u8),
                ..InputOptions::default()
            };
            let dir = tempfile::tempdir().unwrap();
            let outcomes: Vec<(u64, Status, &str)> = (0..rows.len())
                .map(|i| (i as u64 + 2, Status::Invalid, "e"))
                .collect();
            let (got, errors) = run_with(dir.path(), text.as_bytes(), &outcomes, &options);
            proptest::prop_assert_eq!(got.unwrap(), rows.len() as u64);

            let mut before = input::open(&dir.path().join("in.csv"), &options).unwrap();
            let mut after = input::open(&errors, &options).unwrap();
            let error_column = after.mapping.headers().len() - 1;
            proptest::prop_assert_eq!(&after.mapping.headers()[error_column], ERROR_COLUMN);
            let (mut old, mut new) = (Record::default(), Record::default());
            while before.reader.read(&mut old).unwrap() {
                proptest::prop_assert!(after.reader.read(&mut new).unwrap());
                let was = before.mapping.width_problem(&old.fields);
                let is = after.mapping.width_problem(&new.fields);
                proptest::prop_assert_eq!(was.is_some(), is.is_some(), "{}\n{:?}", text, new.fields);
                if is.is_none() {
                    proptest::prop_assert_eq!(new.fields.get(error_column), Some("e"));
                }
            }
            proptest::prop_assert!(!after.reader.read(&mut new).unwrap());
        }
    }

    #[test]
    fn bad_rows_keep_their_cells_neutralized_in_the_input_delimiter_with_a_bom() {
        let dir = tempfile::tempdir().unwrap();
        // Windows-1252 (0xE9 = é), `;`, CRLF, a quoted line break.
        let input = b"Code;Naam;Telefoon\r\n\
            1;Caf\xe9 A;020 1\r\n\
            2; Caf\xe9 B ;+31 20 123\r\n\
            3;\"twee\r\nregels\";=1+1\r\n\
            4;D;-5\r\n";
        let (got, errors) = run(
            dir.path(),
            input,
            &[
                (2, Status::Created, ""),
                (3, Status::Failed, "API: rejected; x"),
                (4, Status::Invalid, "=bad"),
                (6, Status::Skipped, "not sent"),
            ],
        );
        assert_eq!(got.unwrap(), 3);
        let bytes = std::fs::read(&errors).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}Code;Naam;Telefoon;error\r\n\
             2; Café B ;'+31 20 123;\"API: rejected; x\"\r\n\
             3;\"twee\r\nregels\";'=1+1;'=bad\r\n\
             4;D;'-5;not sent\r\n"
        );
    }

    #[test]
    fn without_bad_rows_nothing_is_written_and_an_old_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.errors.csv"), "old").unwrap();
        let (got, errors) = run(
            dir.path(),
            b"CustomerCode,Name\nA,B\n",
            &[(2, Status::Created, "")],
        );
        assert_eq!(got.unwrap(), 0);
        assert_eq!(std::fs::read_to_string(errors).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "no temp file left"
        );
    }

    #[test]
    fn an_errors_file_imported_again_gets_its_error_column_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (got, errors) = run(
            dir.path(),
            b"\xEF\xBB\xBFCustomerCode,Name,error\r\nA,,Name: is required\r\n",
            &[(2, Status::Invalid, "Name: still required")],
        );
        assert_eq!(got.unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(errors).unwrap(),
            "\u{feff}CustomerCode,Name,error\r\nA,,Name: still required\r\n"
        );
    }

    #[test]
    fn a_row_of_another_width_is_written_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (got, errors) = run(
            dir.path(),
            b"CustomerCode,Name,City\nA,B\n",
            &[(2, Status::Invalid, "has 2 cells")],
        );
        assert_eq!(got.unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(errors).unwrap(),
            "\u{feff}CustomerCode,Name,City,error\r\nA,B,has 2 cells\r\n"
        );
    }

    #[test]
    fn results_that_do_not_match_the_input_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (got, errors) = run(
            dir.path(),
            b"CustomerCode,Name\nA,\nB,\n",
            &[(2, Status::Invalid, "x"), (4, Status::Invalid, "y")],
        );
        assert!(
            matches!(got, Err(ErrorsFileError::Mismatch { .. })),
            "{got:?}"
        );
        assert!(!errors.exists());
        let (got, _) = run(dir.path(), b"CustomerCode,Name\nA,\n", &[]);
        assert!(
            matches!(got, Err(ErrorsFileError::Mismatch { .. })),
            "{got:?}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_errors_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (got, errors) = run(
            dir.path(),
            b"CustomerCode,Name\nA,\n",
            &[(2, Status::Invalid, "x")],
        );
        assert_eq!(got.unwrap(), 1);
        let mode = std::fs::metadata(errors).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
