//! Input: reading a customer file into records and mapping columns to fields.
//!
//! Owns everything between the bytes on disk and a [`Customer`](crate::check::customer::Customer)
//! with raw (untrimmed) text values: the encoding (`decode.rs`), the
//! delimiter (`sniff.rs`), the CSV records (`reader.rs`) and the column
//! mapping (`mapping.rs`). [`open`] is the one entry point: it makes every
//! decision, refuses a file that cannot be read correctly (a file-level
//! [`InputError`], exit 2, nothing sent), and reports each decision in
//! [`InputInfo`] so the run header can show it.
//!
//! Offline by construction: nothing here touches the network or the
//! uploader. [`open`] is deterministic: the pipeline opens a file twice
//! (preflight, then upload) and gets the same decisions both times.
//!
//! The per-row loop, allocation-free once the buffers have grown:
//!
//! ```no_run
//! use notify_import::check::customer::Customer;
//! use notify_import::input::{self, InputOptions, Record};
//! use notify_import::check::validate::{self, ChangeTally, Validation};
//!
//! # fn main() -> Result<(), input::InputError> {
//! let mut input = input::open("customers.csv".as_ref(), &InputOptions::default())?;
//! eprint!("{}", input.info.describe(&input.mapping)); // the run header
//! let (mut rec, mut customer) = (Record::default(), Customer::default());
//! let (mut checked, mut tally) = (Validation::default(), ChangeTally::default());
//! while input.reader.read(&mut rec)? {
//!     let width = input.mapping.width_problem(&rec.fields); // row problem, if any
//!     input.mapping.customer_into(&rec.fields, &mut customer);
//!     validate::validate_into(&mut customer, &mut checked);
//!     tally.add(&checked.changes);
//!     // invalid if `width.is_some() || !checked.is_valid()`
//! }
//! eprint!("{tally}"); // "country names converted: 12", ...
//! # Ok(())
//! # }
//! ```

pub mod decode;
pub mod mapping;
pub mod reader;
pub mod sniff;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use decode::{EncodingChoice, EncodingSource};
pub use mapping::{FieldSource, Mapping, MappingFile, Origin, Source, Target, parse_map_arg};
pub use reader::{CsvReader, DEFAULT_MAX_RECORD_BYTES, ReaderOptions, Record};
pub use sniff::{DelimiterChoice, DelimiterSource, parse_delimiter};

use crate::check::fields::Field;
use sniff::delimiter_name;

/// Everything the user can say about how to read a file. `Default` is
/// "no flags": detect the encoding and delimiter, map by header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputOptions {
    /// `--encoding`: a WHATWG label; `None` detects.
    pub encoding: Option<String>,
    /// `--delimiter`; `None` detects.
    pub delimiter: Option<u8>,
    /// `--max-record-bytes`: longest record before the file is refused.
    pub max_record_bytes: usize,
    /// `--map Field=Column`, in command-line order (a later one for the
    /// same field wins); parse with [`parse_map_arg`].
    pub map: Vec<(Field, String)>,
    /// `--mapping FILE`.
    pub mapping_file: Option<PathBuf>,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            encoding: None,
            delimiter: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            map: Vec::new(),
            mapping_file: None,
        }
    }
}

/// An input file ready to stream: the reader is past the header.
#[derive(Debug)]
pub struct OpenedInput {
    /// Yields the data records, already decoded.
    pub reader: CsvReader,
    /// Turns a record into a customer.
    pub mapping: Mapping,
    /// What was decided and why, for the run header and the summary.
    pub info: InputInfo,
}

/// The decisions [`open`] made about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputInfo {
    /// The file, as named.
    pub path: PathBuf,
    /// The encoding and how it was chosen.
    pub encoding: EncodingChoice,
    /// The delimiter and how it was chosen.
    pub delimiter: DelimiterChoice,
    /// The mapping file used, if any.
    pub mapping_file: Option<PathBuf>,
}

impl InputInfo {
    /// The run-header lines: encoding, delimiter, one line per field with
    /// its source, and the columns not imported. `mapping` is the one
    /// returned with this info.
    pub fn describe(&self, mapping: &Mapping) -> String {
        let mut out = format!(
            "encoding: {}\ndelimiter: {}\n",
            self.encoding, self.delimiter
        );
        if let Some(file) = &self.mapping_file {
            out.push_str(&format!("mapping file: {}\n", file.display()));
        }
        let headers = mapping.headers();
        for field in Field::ALL {
            let line = match mapping.source(field) {
                None => "(no column)".to_string(),
                Some(fs) => {
                    let what = match &fs.source {
                        Source::Column(c) => format!("column {:?}", headers[*c]),
                        Source::Join(cs) => {
                            let names: Vec<String> =
                                cs.iter().map(|&c| format!("{:?}", headers[c])).collect();
                            format!("columns {} joined", names.join(" + "))
                        }
                        Source::Constant(v) => format!("fixed value {v:?}"),
                    };
                    format!("{what} (from {})", fs.origin)
                }
            };
            out.push_str(&format!("  {:<18} {line}\n", field.api_name()));
        }
        if !mapping.unknown_columns().is_empty() {
            let names: Vec<String> = mapping
                .unknown_columns()
                .iter()
                .map(|n| format!("{n:?}"))
                .collect();
            out.push_str(&format!("not imported: {}\n", names.join(", ")));
        }
        out
    }
}

/// Opens `path` with `options`: chooses the encoding and delimiter, reads
/// the header and resolves the mapping. File-level problems are errors.
pub fn open(path: &Path, options: &InputOptions) -> Result<OpenedInput, InputError> {
    let file = path.to_path_buf();
    open_source(path, options, move || {
        std::fs::File::open(&file).map(|f| Box::new(f) as Box<dyn Read + Send>)
    })
}

/// [`open`] for bytes in memory (tests, fuzzing); `name` only appears in
/// messages.
pub fn open_bytes(
    name: &Path,
    data: impl Into<Arc<[u8]>>,
    options: &InputOptions,
) -> Result<OpenedInput, InputError> {
    let data: Arc<[u8]> = data.into();
    open_source(name, options, move || {
        Ok(Box::new(io::Cursor::new(Arc::clone(&data))) as Box<dyn Read + Send>)
    })
}

/// The shared body of [`open`] and [`open_bytes`]; `source` opens the raw
/// bytes from the start (called twice when the encoding must be detected).
fn open_source(
    path: &Path,
    options: &InputOptions,
    source: impl Fn() -> io::Result<Box<dyn Read + Send>>,
) -> Result<OpenedInput, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The mapping file first: its mistakes do not depend on the CSV.
    let file_entries = match &options.mapping_file {
        Some(p) => MappingFile::load(p)?,
        None => MappingFile::default(),
    };
    let encoding = decode::choose(path, &source, options.encoding.as_deref())?;
    let mut text = decode::decoding_reader(&encoding, source().map_err(io_err)?);

    let mut prefix = Vec::with_capacity(sniff::SNIFF_BYTES);
    (&mut text)
        .take(sniff::SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err)?;
    let complete = prefix.len() < sniff::SNIFF_BYTES;
    let delimiter = choose_delimiter(path, &prefix, complete, options.delimiter)?;

    let reader = CsvReader::with_options(
        path,
        io::Cursor::new(prefix).chain(text),
        ReaderOptions {
            delimiter: delimiter.delimiter,
            max_record_bytes: options.max_record_bytes,
        },
    )?;
    let mapping = Mapping::resolve(path, reader.headers(), file_entries.entries(), &options.map)?;
    Ok(OpenedInput {
        reader,
        mapping,
        info: InputInfo {
            path: path.to_path_buf(),
            encoding,
            delimiter,
            mapping_file: options.mapping_file.clone(),
        },
    })
}

fn choose_delimiter(
    path: &Path,
    text: &[u8],
    complete: bool,
    forced: Option<u8>,
) -> Result<DelimiterChoice, InputError> {
    let best = sniff::detect(text, complete);
    let Some(forced) = forced else {
        return Ok(match best {
            Some(s) => DelimiterChoice {
                delimiter: s.delimiter,
                source: DelimiterSource::Detected {
                    columns: s.columns,
                    records: s.records,
                    consistent: s.consistent,
                },
            },
            None => DelimiterChoice {
                delimiter: b',',
                source: DelimiterSource::SingleColumn,
            },
        });
    };
    // A forced delimiter that leaves the header one column, where another
    // would split it, is almost surely a mistake: refuse rather than import
    // every row as one long value.
    let forced_columns = sniff::shape(text, complete, forced).columns;
    if forced_columns <= 1
        && let Some(likely) = best.filter(|s| s.delimiter != forced)
    {
        return Err(InputError::WrongDelimiter {
            path: path.to_path_buf(),
            used: forced,
            likely: likely.delimiter,
            columns: likely.columns,
        });
    }
    Ok(DelimiterChoice {
        delimiter: forced,
        source: DelimiterSource::Override,
    })
}

/// A file-level input problem: the run stops before anything is sent (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The input file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A temporary file (for sorting codes or outcomes by row in flat
    /// memory) could not be written or read.
    #[error(
        "{dir}: cannot use temporary files there ({source}); the check for repeated codes and --resume sort per-row data there (about 32 bytes a row): make the directory writable with room to spare, or write the results to another directory with --results"
    )]
    Spill {
        /// The directory of the temporary files.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header row.
    #[error(
        "{path}: the file is empty; it needs a header row naming the columns (e.g. CustomerCode,Name,...)"
    )]
    NoHeader {
        /// The input file.
        path: PathBuf,
    },
    /// The CSV itself is broken at a line (e.g. bytes that are not text).
    #[error("{path}: line {line}: {message}")]
    Csv {
        /// The input file.
        path: PathBuf,
        /// Physical line (1-based) where the problem was found.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// `--encoding` names no encoding.
    #[error(
        "--encoding {label:?} is not an encoding name; use e.g. utf-8, windows-1252 (also: latin1, cp1252), utf-16le"
    )]
    UnknownEncoding {
        /// The label as given.
        label: String,
    },
    /// The file must be UTF-8 (`--encoding utf-8`, or a UTF-8 byte-order
    /// mark), but is not.
    #[error(
        "{path}: line {line}: this is not valid UTF-8, {}",
        if *bom {
            "but the file starts with a UTF-8 byte-order mark; it mixes encodings: open it in a text editor and save it again as UTF-8"
        } else {
            "but --encoding utf-8 was given; leave --encoding out to detect the encoding, or name the right one (e.g. --encoding windows-1252)"
        }
    )]
    NotUtf8 {
        /// The input file.
        path: PathBuf,
        /// Physical line (1-based) of the first invalid byte.
        line: u64,
        /// UTF-8 because of a byte-order mark (else because of `--encoding`).
        bom: bool,
    },
    /// The delimiter leaves the header one column while another splits it.
    #[error(
        "{path}: with delimiter {} the header is a single column, but {} splits it into {columns} columns; use --delimiter {}",
        delimiter_name(*used),
        delimiter_name(*likely),
        shell_delimiter(*likely)
    )]
    WrongDelimiter {
        /// The input file.
        path: PathBuf,
        /// The delimiter that was asked for.
        used: u8,
        /// The candidate that splits the header best.
        likely: u8,
        /// Header columns under `likely`.
        columns: usize,
    },
    /// A quoted field is never closed.
    #[error(
        "{path}: line {line}: a quoted field starts here and its closing quote is missing{}; close it (a quote inside a quoted value is written twice: \"\")",
        match limit {
            Some(limit) => format!(" (still open after {limit} bytes, the --max-record-bytes limit)"),
            None => " (it runs to the end of the file)".to_string(),
        }
    )]
    UnclosedQuote {
        /// The input file.
        path: PathBuf,
        /// Physical line (1-based) where the quoted field starts.
        line: u64,
        /// The record cap, if that is what caught it (else end of file).
        limit: Option<usize>,
    },
    /// A record is longer than the cap.
    #[error(
        "{path}: line {line}: the record starting here is longer than {limit} bytes (--max-record-bytes); raise the limit if that is intended, or look for a quote that is not closed"
    )]
    RecordTooLong {
        /// The input file.
        path: PathBuf,
        /// Physical line (1-based) where the record starts.
        line: u64,
        /// The cap.
        limit: usize,
    },
    /// The header has no column that maps to CustomerCode.
    #[error(
        "{path}: no CustomerCode column (found: {found}); name it with --map CustomerCode=<column>, or rename the column to CustomerCode"
    )]
    NoCustomerCode {
        /// The input file.
        path: PathBuf,
        /// The header as found, comma-separated.
        found: String,
    },
    /// Two columns claim the same field.
    #[error(
        "{path}: columns {first_column} and {second_column} (columns {first} and {second}) both map to {field}; choose one with --map {field}=<column>, or rename one"
    )]
    AmbiguousColumn {
        /// The input file.
        path: PathBuf,
        /// The field claimed twice.
        field: Field,
        /// 1-based column number of the first claimant.
        first: usize,
        /// Header text of the first claimant.
        first_column: String,
        /// 1-based column number of the second claimant.
        second: usize,
        /// Header text of the second claimant.
        second_column: String,
    },
    /// `--map` or the mapping file names a column the file does not have.
    #[error(
        "{path}: there is no column {column:?} (asked for by {}); the columns are: {found}",
        mapping::describe_origin(*origin, *field, column)
    )]
    UnknownColumn {
        /// The input file.
        path: PathBuf,
        /// The field it was meant for.
        field: Field,
        /// The column name as given.
        column: String,
        /// Where the name came from.
        origin: Origin,
        /// The header as found, comma-separated.
        found: String,
    },
    /// The mapping file cannot be used.
    #[error("{path}: {message}")]
    MappingFile {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A delimiter as the user would type it after `--delimiter`.
fn shell_delimiter(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        d => format!("'{}'", char::from(d)),
    }
}

impl fmt::Display for InputInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: encoding {}, delimiter {}",
            self.path.display(),
            self.encoding,
            self.delimiter
        )
    }
}

#[cfg(test)]
mod tests;
