//! Input: reading a customer file into records and mapping columns to fields.
//!
//! Owns everything between the bytes on disk and a [`Customer`](crate::model::customer::Customer)
//! with raw (untrimmed) text values: the encoding (`decode.rs`), the
//! delimiter (`sniff.rs`), the header row, an Excel `sep=` line and what
//! the first rows hold (`preview.rs`), the CSV records (`reader.rs`), what
//! a header cell names (`header.rs`) and the column mapping
//! (`mapping/`). [`open`] is the one entry point: it makes every
//! decision, refuses a file that cannot be read correctly (a file-level
//! [`InputError`], exit 2, nothing sent), and reports each decision in
//! [`InputInfo`] so the run header can show it.
//!
//! Offline by construction: nothing here touches the network or the
//! uploader. A run opens its file once ([`InputFile`]) and reads its
//! records once, in one pass.
//!
//! The per-row loop, allocation-free once the buffers have grown:
//!
//! ```no_run
//! use notify_import::model::customer::Customer;
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
pub mod file;
pub mod format;
pub mod header;
pub mod mapping;
pub mod preview;
pub mod reader;
pub mod sniff;
pub mod spool;
pub mod workbook;

use std::fmt;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use decode::{EncodingChoice, EncodingSource};
pub use file::{Fingerprinter, InputFile};
pub use mapping::{FieldSource, Mapping, MappingFile, Origin, Source, Target, parse_map_arg};
pub use preview::{ColumnStats, HeaderChoice};
pub use reader::{CsvReader, DEFAULT_MAX_RECORD_BYTES, ReaderOptions, Record};
pub use sniff::{DelimiterChoice, DelimiterSource, parse_delimiter};
pub use workbook::SheetChoice;

use crate::model::field::Field;
use csv::StringRecord;
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
    /// `--header-line N`: the header row's physical line; `None` finds it.
    pub header_line: Option<u64>,
    /// `--default-country XX`: the country of rows without one.
    pub default_country: Option<String>,
    /// `--sheet NAME|N`: the sheet of a workbook; `None` takes the first
    /// with data.
    pub sheet: Option<String>,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            encoding: None,
            delimiter: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            map: Vec::new(),
            mapping_file: None,
            header_line: None,
            default_country: None,
            sheet: None,
        }
    }
}

/// Where the records of an input come from: the seam a new input format
/// plugs into. A source has already made every file-level decision; it
/// yields the header and then each data record with its row and line.
pub trait RecordSource: Send + fmt::Debug {
    /// The header row's cells.
    fn headers(&self) -> &csv::StringRecord;
    /// Reads the next data record into `rec`; `Ok(false)` at the end.
    fn read(&mut self, rec: &mut Record) -> Result<bool, InputError>;
    /// Records passed over because every cell was empty (so far).
    fn skipped_empty_records(&self) -> u64 {
        0
    }
}

impl RecordSource for CsvReader {
    fn headers(&self) -> &csv::StringRecord {
        CsvReader::headers(self)
    }

    fn read(&mut self, rec: &mut Record) -> Result<bool, InputError> {
        CsvReader::read(self, rec)
    }

    fn skipped_empty_records(&self) -> u64 {
        CsvReader::skipped_empty_records(self)
    }
}

/// An input file ready to stream: the reader is past the header.
#[derive(Debug)]
pub struct OpenedInput {
    /// Yields the data records, already decoded.
    pub reader: Box<dyn RecordSource>,
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
    /// Where the header row is.
    pub header: HeaderChoice,
    /// The sheet read, for a workbook (then `encoding` and `delimiter`
    /// mean nothing).
    pub sheet: Option<SheetChoice>,
}

impl InputInfo {
    /// The run-header lines: encoding, delimiter, one line per field with
    /// its source, and the columns not imported. `mapping` is the one
    /// returned with this info.
    pub fn describe(&self, mapping: &Mapping) -> String {
        let mut out = match &self.sheet {
            Some(sheet) => format!("workbook: {sheet}\n"),
            None => format!(
                "encoding: {}\ndelimiter: {}\n",
                self.encoding, self.delimiter
            ),
        };
        if self.header != HeaderChoice::default() {
            out.push_str(&format!("header: {}\n", self.header));
        }
        if let Some(file) = &self.mapping_file {
            out.push_str(&format!("mapping file: {}\n", file.display()));
        }
        let headers = mapping.headers();
        let column = |c: usize| format!("#{} {:?}", c + 1, headers[c]);
        let joined = |cs: &[usize]| {
            let names: Vec<String> = cs.iter().map(|&c| column(c)).collect();
            names.join(" + ")
        };
        for field in Field::ALL {
            let conflict = mapping.conflicts().iter().find(|c| c.field == field);
            let line = match (mapping.source(field), conflict) {
                (None, Some(c)) => format!(
                    "(not mapped: {} and {} hold different values, e.g. line {}: {:?} and {:?}; choose with --map {field}=#{} or --map {field}=#{})",
                    column(c.first),
                    column(c.second),
                    c.line,
                    c.values.0,
                    c.values.1,
                    c.first + 1,
                    c.second + 1
                ),
                (None, None) => "(no column)".to_string(),
                (Some(fs), _) => {
                    let mut what = match &fs.source {
                        Source::Column(c) => format!("column {}", column(*c)),
                        Source::Join(cs) => format!("columns {} joined", joined(cs)),
                        Source::Constant(v) => format!("fixed value {v:?}"),
                        Source::Fallback(first, rest) => format!(
                            "column {}, or where it is empty {}",
                            column(*first),
                            joined(rest)
                        ),
                    };
                    what.push_str(&format!(" (from {})", fs.origin));
                    if !fs.values.is_empty() {
                        what.push_str(&format!(", {} values mapped", fs.values.len()));
                    }
                    if let Some(default) = &fs.default {
                        what.push_str(&format!(", empty cells: {default} (--default-country)"));
                    }
                    what
                }
            };
            out.push_str(&format!("  {:<18} {line}\n", field.api_name()));
        }
        for note in mapping.notes() {
            out.push_str(&format!("  {note}\n"));
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
/// A run opens its input once with [`InputFile::open`] and uses
/// [`open_file`]; this is the shorthand for one reading.
pub fn open(path: &Path, options: &InputOptions) -> Result<OpenedInput, InputError> {
    open_file(&InputFile::open(path, options)?, options)
}

/// [`open`] on a file already opened.
pub fn open_file(file: &InputFile, options: &InputOptions) -> Result<OpenedInput, InputError> {
    let read = Reading {
        fingerprint: None,
        encoding: Encoding::UpFront,
    };
    open_source(file.path(), options, true, read, || {
        Ok(Box::new(file.from_start()) as Box<dyn ReadSeek>)
    })
}

/// [`open_file`] for the one pass: the encoding is decided while the file
/// is read ([`decode::Detection`]), or was decided by an earlier attempt
/// (`decided`, after [`decode::MixedEncoding`]).
pub fn open_for_pass(
    file: &InputFile,
    options: &InputOptions,
    fingerprint: &Fingerprinter,
    detection: &decode::Detection,
    decided: Option<EncodingChoice>,
) -> Result<OpenedInput, InputError> {
    let read = Reading {
        fingerprint: Some(fingerprint),
        encoding: match decided {
            Some(choice) => Encoding::Decided(choice),
            None => Encoding::Streaming(detection),
        },
    };
    open_source(file.path(), options, true, read, || {
        Ok(Box::new(file.from_start()) as Box<dyn ReadSeek>)
    })
}

/// How [`open_source`] reads the bytes.
struct Reading<'a> {
    /// Hash every byte parsed into it.
    fingerprint: Option<&'a Fingerprinter>,
    /// How the encoding is decided.
    encoding: Encoding<'a>,
}

enum Encoding<'a> {
    /// Before reading (a whole read when it must check UTF-8).
    UpFront,
    /// While reading, recorded here.
    Streaming(&'a decode::Detection),
    /// Already.
    Decided(EncodingChoice),
}

/// [`open`] for `notify-import mapping`: the same decision, but a file
/// without a CustomerCode column, or with a field two columns hold
/// differently, is not refused, so the mapping can be printed as a
/// starting point (with the code candidates and the choice to make).
pub fn open_for_mapping(path: &Path, options: &InputOptions) -> Result<OpenedInput, InputError> {
    let file = InputFile::open(path, options)?;
    let read = Reading {
        fingerprint: None,
        encoding: Encoding::UpFront,
    };
    open_source(path, options, false, read, || {
        Ok(Box::new(file.from_start()) as Box<dyn ReadSeek>)
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
    let read = Reading {
        fingerprint: None,
        encoding: Encoding::UpFront,
    };
    open_source(name, options, true, read, move || {
        Ok(Box::new(io::Cursor::new(Arc::clone(&data))) as Box<dyn ReadSeek>)
    })
}

/// Bytes that can be read from any offset: a workbook is a ZIP or OLE
/// container.
pub trait ReadSeek: Read + Seek + Send {}

impl<T: Read + Seek + Send> ReadSeek for T {}

/// The shared body of [`open`] and [`open_bytes`]; `source` opens the raw
/// bytes from the start (called again when the encoding must be detected).
/// A workbook goes to [`open_workbook`]; a file that is neither text nor
/// a workbook is refused, naming what it is.
fn open_source(
    path: &Path,
    options: &InputOptions,
    require_complete: bool,
    read: Reading<'_>,
    source: impl Fn() -> io::Result<Box<dyn ReadSeek>>,
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
    let label = options.encoding.as_deref();
    let utf16 = label
        .and_then(decode::encoding_for_label)
        .is_some_and(|e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE);
    let kind = format::detect(&mut source().map_err(io_err)?, utf16).map_err(io_err)?;
    match kind {
        format::FileKind::Text => {
            if let Some(sheet) = &options.sheet {
                return Err(InputError::Workbook {
                    path: path.to_path_buf(),
                    message: format!(
                        "--sheet {sheet:?}: this is a text (CSV) file, which has no sheets; leave out --sheet"
                    ),
                });
            }
        }
        format::FileKind::Other(what) => {
            return Err(InputError::NotASpreadsheet {
                path: path.to_path_buf(),
                what,
            });
        }
        format::FileKind::Workbook(format) => {
            let mut raw = source().map_err(io_err)?;
            let mut bytes = Vec::new();
            match read.fingerprint {
                Some(f) => f.wrap(raw).read_to_end(&mut bytes),
                None => raw.read_to_end(&mut bytes),
            }
            .map_err(io_err)?;
            return open_workbook(
                path,
                options,
                require_complete,
                &file_entries,
                format,
                bytes,
            );
        }
    }
    let source = || source().map(|s| s as Box<dyn Read + Send>);
    let (encoding, detecting) = match read.encoding {
        Encoding::UpFront => (decode::choose(path, source, label)?, None),
        Encoding::Decided(choice) => (choice, None),
        Encoding::Streaming(detection) => match decode::choose_streaming(path, source, label)? {
            Some(choice) => (choice, None),
            // UTF-8 until the file says otherwise; the pass reports what
            // it found.
            None => (
                EncodingChoice {
                    encoding: encoding_rs::UTF_8,
                    source: EncodingSource::DetectedUtf8,
                    ignored_override: None,
                },
                Some(detection),
            ),
        },
    };
    let raw = source().map_err(io_err)?;
    let raw = match read.fingerprint {
        Some(f) => Box::new(f.wrap(raw)) as Box<dyn Read + Send>,
        None => raw,
    };
    let mut text = match detecting {
        Some(detection) => Box::new(decode::Detecting::new(raw, detection.clone())),
        None => decode::decoding_reader(&encoding, raw),
    };

    let mut prefix = Vec::with_capacity(sniff::SNIFF_BYTES);
    (&mut text)
        .take(sniff::SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err)?;
    let complete = prefix.len() < sniff::SNIFF_BYTES;
    let delimiter = match (options.delimiter, preview::sep_line(&prefix)) {
        (None, Some(delimiter)) => DelimiterChoice {
            delimiter,
            source: DelimiterSource::SepLine,
        },
        (forced, _) => {
            // Sniff from the header row: a title or format line above it
            // would be taken for the header.
            let header_line = match (forced, options.header_line) {
                (_, Some(line)) => Some(line),
                (None, None) => preview::header_below_line_1(&prefix, complete),
                (Some(_), None) => None,
            };
            let text = header_line.map_or(&prefix[..], |line| preview::from_line(&prefix, line));
            choose_delimiter(path, text, complete, forced)?
        }
    };
    let mut reader_options = ReaderOptions {
        delimiter: delimiter.delimiter,
        max_record_bytes: options.max_record_bytes,
        header_line: 1,
    };
    let preview = preview::find_header(&prefix, complete, reader_options, options.header_line);
    reader_options.header_line = preview.header.line;

    let reader = CsvReader::with_options(path, io::Cursor::new(prefix).chain(text), reader_options)
        .map_err(|e| match e {
            InputError::NoHeader { path } if preview.header.forced => InputError::NoHeaderAt {
                path,
                line: preview.header.line,
            },
            e => e,
        })?;
    let mapping = map_columns(
        path,
        options,
        require_complete,
        &file_entries,
        reader.headers(),
        &preview.stats,
    )?;
    Ok(OpenedInput {
        reader: Box::new(reader),
        mapping,
        info: InputInfo {
            path: path.to_path_buf(),
            encoding,
            delimiter,
            mapping_file: options.mapping_file.clone(),
            header: preview.header,
            sheet: None,
        },
    })
}

/// Rows of a workbook read ahead to find the header: the first
/// [`preview::HEADER_SEARCH_LINES`] rows and then, for the column stats,
/// up to this many rows or [`sniff::SNIFF_BYTES`] of text, as for CSV.
const WORKBOOK_PREVIEW_ROWS: usize = 1000;

/// [`open_source`] for a workbook whose bytes are `bytes`.
fn open_workbook(
    path: &Path,
    options: &InputOptions,
    require_complete: bool,
    file_entries: &MappingFile,
    format: format::WorkbookFormat,
    bytes: Vec<u8>,
) -> Result<OpenedInput, InputError> {
    let (sheet, mut rows) = workbook::open(path, format, bytes.into(), options.sheet.as_deref())?;
    let mut ahead = Vec::new();
    let mut text = 0;
    while ahead.len() < WORKBOOK_PREVIEW_ROWS && text < sniff::SNIFF_BYTES {
        let Some(row) = rows.next_row()? else { break };
        text += row.cells.iter().map(String::len).sum::<usize>();
        ahead.push(row);
    }
    let cells: Vec<(u64, Vec<String>)> = ahead.iter().map(|r| (r.line, r.cells.clone())).collect();
    if ahead.is_empty() {
        let others: Vec<String> = sheet.others.iter().map(|n| format!("{n:?}")).collect();
        return Err(InputError::Workbook {
            path: path.to_path_buf(),
            message: format!(
                "sheet {:?} holds no value; choose the sheet with the customers with --sheet (the others: {})",
                sheet.name,
                if others.is_empty() {
                    "none".to_owned()
                } else {
                    others.join(", ")
                }
            ),
        });
    }
    let preview = preview::find_header_in_rows(&cells, options.header_line);
    // The header is the first row on or after the line chosen.
    let Some(at) = ahead.iter().position(|r| r.line >= preview.header.line) else {
        return Err(match preview.header.forced {
            true => InputError::NoHeaderAt {
                path: path.to_path_buf(),
                line: preview.header.line,
            },
            false => InputError::NoHeader {
                path: path.to_path_buf(),
            },
        });
    };
    let mut header = preview.header;
    header.line = ahead[at].line;
    let header_row = ahead.drain(..=at).next_back().unwrap_or_default();
    let used = header_row
        .cells
        .iter()
        .rposition(|c| !c.trim().is_empty())
        .map_or(0, |i| i + 1);
    let headers = StringRecord::from(header_row.cells[..used].to_vec());
    let mut mapping = map_columns(
        path,
        options,
        require_complete,
        file_entries,
        &headers,
        &preview.stats,
    )?;
    // Said, not refused: a command line reused for a workbook export.
    for (flag, given) in [
        ("--encoding", options.encoding.is_some()),
        ("--delimiter", options.delimiter.is_some()),
    ] {
        if given {
            mapping.add_note(format!("{flag} does not apply to a workbook: ignored"));
        }
    }
    Ok(OpenedInput {
        reader: Box::new(workbook::SheetSource::new(headers, ahead, rows)),
        mapping,
        info: InputInfo {
            path: path.to_path_buf(),
            encoding: EncodingChoice {
                encoding: encoding_rs::UTF_8,
                source: EncodingSource::DetectedUtf8,
                ignored_override: None,
            },
            delimiter: DelimiterChoice {
                delimiter: b',',
                source: DelimiterSource::SingleColumn,
            },
            mapping_file: options.mapping_file.clone(),
            header,
            sheet: Some(sheet),
        },
    })
}

/// The mapping of `headers`, from the mapping file, `--map` and the header
/// names; `require_complete` refuses a file the mapping cannot complete.
fn map_columns(
    path: &Path,
    options: &InputOptions,
    require_complete: bool,
    file_entries: &MappingFile,
    headers: &StringRecord,
    stats: &ColumnStats,
) -> Result<Mapping, InputError> {
    // One decision for every command: `mapping` prints it (a field two
    // columns hold differently, or a missing code, as a choice to make),
    // the others refuse the file on it.
    let mut mapping = Mapping::resolve_with(path, headers, file_entries, &options.map, stats)?;
    if require_complete {
        mapping.require_complete(path)?;
    }
    if let Some(code) = &options.default_country {
        mapping.set_default_country(code);
    }
    Ok(mapping)
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
    /// `--header-line` points past the last record.
    #[error(
        "{path}: --header-line {line}: the file has no row on or after line {line}; give the line number of the row naming the columns"
    )]
    NoHeaderAt {
        /// The input file.
        path: PathBuf,
        /// The line asked for.
        line: u64,
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
    /// Neither text nor a workbook that can be read.
    #[error(
        "{path}: this is {what}, not a customer list that can be read; {}",
        format::advice(what)
    )]
    NotASpreadsheet {
        /// The input file.
        path: PathBuf,
        /// What it is, in words.
        what: &'static str,
    },
    /// A workbook that cannot be read, or has no sheet to read.
    #[error("{path}: {message}")]
    Workbook {
        /// The input file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The header has no column that maps to CustomerCode.
    #[error(
        "{path}: no CustomerCode column (found: {}){}; name it with --map CustomerCode=<column> (or =#N, its position), or run `notify-import mapping {}` for a mapping file to edit and pass with --mapping",
        crate::util::text::printable(found),
        if candidates.is_empty() { String::new() } else { format!("; {candidates}") },
        path.display()
    )]
    NoCustomerCode {
        /// The input file.
        path: PathBuf,
        /// The header as found, comma-separated.
        found: String,
        /// Columns that could hold the code, as a phrase; may be empty.
        candidates: String,
    },
    /// `#N` names a column past the last one.
    #[error(
        "{path}: there is no column {column} (asked for by {}); the file has {columns} columns, numbered from #1",
        mapping::describe_origin(*origin, *field, column)
    )]
    NoSuchPosition {
        /// The input file.
        path: PathBuf,
        /// The field it was meant for.
        field: Field,
        /// The `#N` as given.
        column: String,
        /// Where it came from.
        origin: Origin,
        /// Columns in the header.
        columns: usize,
    },
    /// Two columns with one name could be the column `--map` or the
    /// mapping file names.
    #[error(
        "{path}: columns {first_column:?} and {second_column:?} (#{first} and #{second}) both match the column named for {field}; choose one with --map {field}=#{first} (or =#{second}), or rename one"
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
    /// Two columns claim a field equally well and hold different values
    /// on the same row.
    #[error("{path}: {conflict}")]
    ConflictingColumns {
        /// The input file.
        path: PathBuf,
        /// The two columns and where they differ.
        conflict: Box<ColumnConflict>,
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

/// Two columns that claim one field with different values
/// ([`InputError::ConflictingColumns`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnConflict {
    /// The field claimed twice.
    pub field: Field,
    /// 1-based column number of the first claimant.
    pub first: usize,
    /// Header text of the first claimant.
    pub first_column: String,
    /// 1-based column number of the second claimant.
    pub second: usize,
    /// Header text of the second claimant.
    pub second_column: String,
    /// A line where they differ.
    pub line: u64,
    /// Their values on that line.
    pub values: (String, String),
}

impl fmt::Display for ColumnConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        write!(
            f,
            "columns {:?} and {:?} (#{} and #{}) both map to {field} and hold different values on the same rows (line {}: {:?} and {:?}); choose one with --map {field}=#{} or --map {field}=#{} (or by column name), or rename the other",
            self.first_column,
            self.second_column,
            self.first,
            self.second,
            self.line,
            self.values.0,
            self.values.1,
            self.first,
            self.second
        )
    }
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
