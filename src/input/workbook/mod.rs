//! Workbook input: one sheet of an XLSX, XLSM, XLSB, XLS or ODS file as
//! records, through the same [`RecordSource`] seam as CSV.
//!
//! Owns opening the workbook with calamine, choosing the sheet (`--sheet
//! NAME|N`, else the first sheet with data, visible ones first), and
//! turning its rows into records: each cell as the user sees it
//! (`cell.rs`), the record's line being the sheet's row number as Excel
//! shows it, rows with no value skipped and counted, every row as wide as
//! the header (a value right of the header's last column makes it wider,
//! so the row is flagged rather than the value dropped).
//!
//! Memory: the file's bytes are held (they are what the fingerprint
//! hashes). An XLSX sheet is streamed from its XML, a bounded number of
//! rows ahead of the pass, so only its shared strings grow with the sheet;
//! calamine reads an XLSB, XLS or ODS sheet whole (about 32 bytes a cell
//! plus its text), so those are bounded by the sheet, not the stream.
//!
//! The rows are read on a thread of their own (calamine's XLSX cell
//! reader borrows its workbook); it stops when the source is dropped.
//!
//! It must not map columns or judge values: header detection and mapping
//! are `input/`'s, as for CSV.

pub mod cell;

use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use calamine::{Data, DataRef, Reader, SheetType, SheetVisible};
use csv::StringRecord;

use super::format::WorkbookFormat;
use super::{InputError, Record, RecordSource};
pub use cell::{CellNote, CellNoteKind};

/// Rows handed from the reading thread at a time.
const BATCH: usize = 256;
/// Batches in flight: the thread is at most this far ahead.
const IN_FLIGHT: usize = 4;

/// The sheet a run reads, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetChoice {
    /// The workbook's format.
    pub format: WorkbookFormat,
    /// The sheet's name.
    pub name: String,
    /// 1-based position among the workbook's sheets.
    pub position: usize,
    /// `--sheet` named it (else it is the first with data).
    pub named: bool,
    /// The workbook's other sheets, in order.
    pub others: Vec<String>,
}

impl fmt::Display for SheetChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} workbook, sheet {:?}", self.format, self.name)?;
        if self.named {
            f.write_str(" (--sheet)")?;
        } else if !self.others.is_empty() {
            f.write_str(" (the first with data)")?;
        }
        if !self.others.is_empty() {
            let others: Vec<String> = self.others.iter().map(|n| format!("{n:?}")).collect();
            write!(
                f,
                "; other sheets: {} (choose one with --sheet NAME or --sheet N)",
                others.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One row of the sheet with a value.
#[derive(Debug, Default)]
pub struct Row {
    /// The sheet's row number (1-based, as Excel shows it).
    pub line: u64,
    /// The cells from column A, up to the last with a value.
    pub cells: Vec<String>,
    /// What the cells' text does not show.
    pub notes: Vec<CellNote>,
}

enum Message {
    Rows(Vec<Row>),
    /// Rows with cells but no value, passed over.
    Blank(u64),
    Failed(InputError),
    /// The whole sheet was sent: a thread that stops without saying so
    /// (a panic in the reader) must not pass for the end of the sheet.
    End,
}

/// The rows of one sheet, read on a thread of their own.
pub struct SheetRows {
    from: Receiver<Message>,
    batch: std::vec::IntoIter<Row>,
    blank: u64,
    path: PathBuf,
    done: bool,
}

impl fmt::Debug for SheetRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SheetRows")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SheetRows {
    /// The next row with a value; `None` at the end of the sheet.
    pub fn next_row(&mut self) -> Result<Option<Row>, InputError> {
        loop {
            if let Some(row) = self.batch.next() {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            match self.from.recv() {
                Ok(Message::Rows(rows)) => self.batch = rows.into_iter(),
                Ok(Message::Blank(n)) => self.blank += n,
                Ok(Message::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Ok(Message::End) => self.done = true,
                Err(_) => {
                    self.done = true;
                    return Err(InputError::Workbook {
                        path: self.path.clone(),
                        message: "the sheet could not be read to its end (the workbook reader stopped at something it does not understand); open the file in Excel or LibreOffice and save it again, or save the sheet as CSV UTF-8".into(),
                    });
                }
            }
        }
    }

    /// Rows passed over so far because no cell had a value.
    pub fn blank_rows(&self) -> u64 {
        self.blank
    }
}

/// The error for a workbook calamine cannot read.
fn unreadable(path: &Path, format: WorkbookFormat, e: impl fmt::Display) -> InputError {
    InputError::Workbook {
        path: path.to_path_buf(),
        message: format!(
            "this {format} workbook cannot be read ({e}); open it in Excel or LibreOffice and save it again, or save the sheet as CSV UTF-8"
        ),
    }
}

type Bytes = Cursor<Arc<[u8]>>;

enum Book {
    Xlsx(calamine::Xlsx<Bytes>),
    Xlsb(calamine::Xlsb<Bytes>),
    Xls(calamine::Xls<Bytes>),
    Ods(calamine::Ods<Bytes>),
}

impl Book {
    fn open(path: &Path, format: WorkbookFormat, bytes: Arc<[u8]>) -> Result<Book, InputError> {
        let cursor = Cursor::new(bytes);
        let err = |e: &dyn fmt::Display| unreadable(path, format, e);
        Ok(match format {
            WorkbookFormat::Xlsx | WorkbookFormat::Xlsm => {
                Book::Xlsx(calamine::Xlsx::new(cursor).map_err(|e| err(&e))?)
            }
            WorkbookFormat::Xlsb => Book::Xlsb(calamine::Xlsb::new(cursor).map_err(|e| err(&e))?),
            WorkbookFormat::Xls => Book::Xls(calamine::Xls::new(cursor).map_err(|e| err(&e))?),
            WorkbookFormat::Ods => Book::Ods(calamine::Ods::new(cursor).map_err(|e| err(&e))?),
        })
    }

    fn sheets(&self) -> Vec<calamine::Sheet> {
        match self {
            Book::Xlsx(b) => b.sheets_metadata().to_vec(),
            Book::Xlsb(b) => b.sheets_metadata().to_vec(),
            Book::Xls(b) => b.sheets_metadata().to_vec(),
            Book::Ods(b) => b.sheets_metadata().to_vec(),
        }
    }

    /// The whole sheet (every format but XLSX, which is streamed).
    fn range(&mut self, name: &str) -> Result<calamine::Range<Data>, String> {
        match self {
            Book::Xlsx(b) => b.worksheet_range(name).map_err(|e| e.to_string()),
            Book::Xlsb(b) => b.worksheet_range(name).map_err(|e| e.to_string()),
            Book::Xls(b) => b.worksheet_range(name).map_err(|e| e.to_string()),
            Book::Ods(b) => b.worksheet_range(name).map_err(|e| e.to_string()),
        }
    }
}

/// Opens sheet `wanted` (`--sheet`: a name, else a 1-based position), or
/// the first sheet with data, of the workbook in `bytes`.
pub fn open(
    path: &Path,
    format: WorkbookFormat,
    bytes: Arc<[u8]>,
    wanted: Option<&str>,
) -> Result<(SheetChoice, SheetRows), InputError> {
    // calamine has panicked on damaged files before: that is this file's
    // problem, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        open_caught(path, format, bytes, wanted)
    }))
    .unwrap_or_else(|_| {
        Err(unreadable(
            path,
            format,
            "the reader stopped at something it does not understand",
        ))
    })
}

fn open_caught(
    path: &Path,
    format: WorkbookFormat,
    bytes: Arc<[u8]>,
    wanted: Option<&str>,
) -> Result<(SheetChoice, SheetRows), InputError> {
    let mut book = Book::open(path, format, bytes)?;
    let sheets: Vec<calamine::Sheet> = book
        .sheets()
        .into_iter()
        .filter(|s| matches!(s.typ, SheetType::WorkSheet))
        .collect();
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let refuse = |message: String| InputError::Workbook {
        path: path.to_path_buf(),
        message,
    };
    if sheets.is_empty() {
        return Err(refuse(
            "the workbook has no worksheet; save the customer list on a worksheet".into(),
        ));
    }
    let listed = || {
        let list: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} {n:?}", i + 1))
            .collect();
        list.join(", ")
    };
    // A sheet read whole while looking for data is kept, not read twice.
    let mut loaded = None;
    let index = match wanted {
        Some(wanted) => names
            .iter()
            .position(|n| n == wanted)
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.trim().eq_ignore_ascii_case(wanted.trim()))
            })
            .or_else(|| {
                wanted
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| (1..=names.len()).contains(&n))
                    .map(|n| n - 1)
            })
            .ok_or_else(|| {
                refuse(format!(
                    "--sheet {wanted:?}: the workbook has no such sheet; its sheets are {}",
                    listed()
                ))
            })?,
        None => {
            let mut order: Vec<usize> = (0..sheets.len())
                .filter(|&i| sheets[i].visible == SheetVisible::Visible)
                .collect();
            order.extend((0..sheets.len()).filter(|&i| sheets[i].visible != SheetVisible::Visible));
            let mut found = None;
            for i in order {
                let has = match &mut book {
                    Book::Xlsx(b) => {
                        xlsx_has_data(b, &names[i]).map_err(|e| unreadable(path, format, e))?
                    }
                    other => {
                        let range = other
                            .range(&names[i])
                            .map_err(|e| unreadable(path, format, e))?;
                        let has = range.used_cells().any(|(_, _, v)| has_value(v));
                        if has {
                            loaded = Some(range);
                        }
                        has
                    }
                };
                if has {
                    found = Some(i);
                    break;
                }
            }
            found.ok_or_else(|| {
                refuse(format!(
                    "no sheet of the workbook holds any value (sheets: {}); fill in the customer list, or save the file again in the program that made it",
                    listed()
                ))
            })?
        }
    };
    let name = names[index].clone();
    let choice = SheetChoice {
        format,
        name: name.clone(),
        position: index + 1,
        named: wanted.is_some(),
        others: names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, n)| n.clone())
            .collect(),
    };
    let (to, from) = sync_channel(IN_FLIGHT);
    let thread_path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sheet".into())
        .spawn(move || {
            let sent = match (book, loaded) {
                (Book::Xlsx(mut b), _) => stream_xlsx(&mut b, &name, &to, &thread_path, format),
                (_, Some(range)) => send_range(&range, &to, format),
                (mut other, None) => match other.range(&name) {
                    Ok(range) => send_range(&range, &to, format),
                    Err(e) => Err(Some(unreadable(&thread_path, format, e))),
                },
            };
            match sent {
                Ok(()) => {
                    let _ = to.send(Message::End);
                }
                Err(Some(e)) => {
                    let _ = to.send(Message::Failed(e));
                }
                Err(None) => {}
            }
        })
        .map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((
        choice,
        SheetRows {
            from,
            batch: Vec::new().into_iter(),
            blank: 0,
            path: path.to_path_buf(),
            done: false,
        },
    ))
}

/// A cell of a whole sheet as the streamed ones come.
fn as_ref(value: &Data) -> DataRef<'_> {
    match value {
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::String(s) => DataRef::SharedString(s),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(d) => DataRef::DateTime(*d),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
        Data::Empty => DataRef::Empty,
    }
}

fn has_value(v: &Data) -> bool {
    match v {
        Data::Empty => false,
        Data::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

fn xlsx_has_data(
    book: &mut calamine::Xlsx<Bytes>,
    name: &str,
) -> Result<bool, calamine::XlsxError> {
    let mut cells = book.worksheet_cells_reader(name)?;
    while let Some(cell) = cells.next_cell()? {
        let has = match cell.get_value() {
            DataRef::Empty => false,
            DataRef::String(s) => !s.trim().is_empty(),
            DataRef::SharedString(s) => !s.trim().is_empty(),
            _ => true,
        };
        if has {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `Err(None)`: the source was dropped, stop quietly.
type Sent = Result<(), Option<InputError>>;

/// Collects cells row by row into batches.
struct Batcher<'a> {
    to: &'a SyncSender<Message>,
    batch: Vec<Row>,
    row: Row,
    blank: u64,
    text: String,
}

impl<'a> Batcher<'a> {
    fn new(to: &'a SyncSender<Message>) -> Batcher<'a> {
        Batcher {
            to,
            batch: Vec::with_capacity(BATCH),
            row: Row::default(),
            blank: 0,
            text: String::new(),
        }
    }

    /// Puts the cell `(line, column)`, whose text is `self.text`.
    fn cell(&mut self, line: u64, column: usize, note: Option<CellNoteKind>) -> Sent {
        if line != self.row.line {
            self.end_row()?;
            self.row.line = line;
        }
        if self.text.is_empty() && note.is_none() {
            return Ok(());
        }
        if self.row.cells.len() <= column {
            self.row.cells.resize(column + 1, String::new());
        }
        std::mem::swap(&mut self.row.cells[column], &mut self.text);
        if let Some(kind) = note {
            self.row.notes.push(CellNote { column, kind });
        }
        Ok(())
    }

    fn end_row(&mut self) -> Sent {
        if self.row.line == 0 {
            return Ok(());
        }
        let row = std::mem::take(&mut self.row);
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            // Formatted but empty (or only error cells): no data, as a
            // CSV row of empty fields.
            self.blank += 1;
            return Ok(());
        }
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Sent {
        if self.blank > 0 {
            self.to
                .send(Message::Blank(std::mem::take(&mut self.blank)))
                .map_err(|_| None)?;
        }
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.to.send(Message::Rows(batch)).map_err(|_| None)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Sent {
        self.end_row()?;
        self.flush()
    }
}

fn stream_xlsx(
    book: &mut calamine::Xlsx<Bytes>,
    name: &str,
    to: &SyncSender<Message>,
    path: &Path,
    format: WorkbookFormat,
) -> Sent {
    let err = |e: calamine::XlsxError| Some(unreadable(path, format, e));
    let mut cells = book.worksheet_cells_reader(name).map_err(err)?;
    let pads: Vec<Option<cell::ZeroPad>> = cells
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .and_then(|f| cell::ZeroPad::parse(&f.format_code))
        })
        .collect();
    let mut out = Batcher::new(to);
    while let Some((c, style)) = cells.next_cell_with_style_id().map_err(err)? {
        let (row, column) = c.get_position();
        let pad = pads.get(style).and_then(Option::as_ref);
        let note = cell::text_into(c.get_value(), pad, &mut out.text);
        out.cell(u64::from(row) + 1, column as usize, note)?;
    }
    out.finish()
}

fn send_range(
    range: &calamine::Range<Data>,
    to: &SyncSender<Message>,
    format: WorkbookFormat,
) -> Sent {
    let Some((first_row, first_column)) = range.start() else {
        return Ok(());
    };
    let mut out = Batcher::new(to);
    for (r, row) in range.rows().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let mut value = as_ref(value);
            // calamine reads an OpenDocument error cell as its text
            // (`#N/A`, which is also Namibia's code once folded).
            if format == WorkbookFormat::Ods
                && let DataRef::SharedString(s) = value
                && let Some(e) = cell::error_literal(s)
            {
                value = DataRef::Error(e);
            }
            let note = cell::text_into(&value, None, &mut out.text);
            let line = u64::from(first_row) + r as u64 + 1;
            out.cell(line, first_column as usize + c, note)?;
        }
    }
    out.finish()
}

/// A sheet as a [`RecordSource`]: the rows from the header on (those read
/// ahead to find the header first), each padded to the header's width.
#[derive(Debug)]
pub struct SheetSource {
    headers: StringRecord,
    ahead: std::vec::IntoIter<Row>,
    rows: SheetRows,
    read: u64,
}

impl SheetSource {
    /// `ahead` are the rows after the header already read.
    pub fn new(headers: StringRecord, ahead: Vec<Row>, rows: SheetRows) -> SheetSource {
        SheetSource {
            headers,
            ahead: ahead.into_iter(),
            rows,
            read: 0,
        }
    }
}

impl RecordSource for SheetSource {
    fn headers(&self) -> &StringRecord {
        &self.headers
    }

    fn read(&mut self, rec: &mut Record) -> Result<bool, InputError> {
        let row = match self.ahead.next() {
            Some(row) => row,
            None => match self.rows.next_row()? {
                Some(row) => row,
                None => return Ok(false),
            },
        };
        self.read += 1;
        rec.row = self.read;
        rec.line = row.line;
        rec.fields.clear();
        let width = self.headers.len().max(row.cells.len());
        for c in 0..width {
            rec.fields
                .push_field(row.cells.get(c).map_or("", String::as_str));
        }
        rec.notes.clear();
        rec.notes.extend_from_slice(&row.notes);
        Ok(true)
    }

    /// Rows with formatted cells but no value, anywhere in the sheet.
    fn skipped_empty_records(&self) -> u64 {
        self.rows.blank_rows()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rust_xlsxwriter::Workbook;

    use crate::input::{self, InputError, InputOptions, Record};

    /// A sheet's name and its rows of (column, text).
    type Sheet<'a> = (&'a str, &'a [&'a [(u16, &'a str)]]);

    /// An XLSX of `sheets`.
    fn xlsx(sheets: &[Sheet<'_>]) -> Vec<u8> {
        let mut book = Workbook::new();
        for (name, rows) in sheets {
            let ws = book.add_worksheet();
            ws.set_name(*name).unwrap();
            for (r, row) in rows.iter().enumerate() {
                for (c, text) in row.iter() {
                    ws.write_string(r as u32, *c, *text).unwrap();
                }
            }
        }
        book.save_to_buffer().unwrap()
    }

    fn read_all(
        bytes: Vec<u8>,
        options: &InputOptions,
    ) -> Result<Vec<(u64, Vec<String>, bool)>, InputError> {
        let mut opened = input::open_bytes(Path::new("k.xlsx"), bytes, options)?;
        let mut rec = Record::default();
        let mut out = Vec::new();
        while opened.reader.read(&mut rec)? {
            let wide = opened.mapping.width_problem(&rec.fields).is_some();
            out.push((
                rec.line,
                rec.fields.iter().map(str::to_owned).collect(),
                wide,
            ));
        }
        Ok(out)
    }

    #[test]
    fn rows_are_as_wide_as_the_header_and_a_value_beyond_it_is_flagged() {
        let bytes = xlsx(&[(
            "Klanten",
            &[
                &[(0, "Code"), (1, "Naam"), (2, "Plaats")],
                &[(0, "1"), (1, "A")],
                &[],
                &[(0, "2"), (1, "B"), (2, "Ede"), (4, "notitie")],
            ],
        )]);
        let rows = read_all(bytes, &InputOptions::default()).unwrap();
        assert_eq!(
            rows,
            [
                (2, vec!["1".into(), "A".into(), String::new()], false),
                (
                    4,
                    vec![
                        "2".into(),
                        "B".into(),
                        "Ede".into(),
                        String::new(),
                        "notitie".into()
                    ],
                    true
                ),
            ]
        );
    }

    #[test]
    fn the_header_line_can_be_forced_and_must_exist() {
        let bytes = xlsx(&[(
            "S",
            &[
                &[(0, "x")],
                &[(0, "Nummer"), (1, "Omschrijving")],
                &[(0, "7"), (1, "Zeven")],
            ],
        )]);
        let options = InputOptions {
            header_line: Some(2),
            map: vec![
                (crate::model::field::Field::CustomerCode, "Nummer".into()),
                (crate::model::field::Field::Name, "Omschrijving".into()),
            ],
            ..InputOptions::default()
        };
        let rows = read_all(bytes.clone(), &options).unwrap();
        assert_eq!(rows, [(3, vec!["7".into(), "Zeven".into()], false)]);
        let options = InputOptions {
            header_line: Some(9),
            ..options
        };
        let err = read_all(bytes, &options).unwrap_err();
        assert!(
            matches!(err, InputError::NoHeaderAt { line: 9, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_workbook_without_any_value_is_refused_naming_its_sheets() {
        let bytes = xlsx(&[("Blad1", &[]), ("Blad2", &[&[(0, "  ")]])]);
        let err = read_all(bytes, &InputOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k.xlsx: no sheet of the workbook holds any value (sheets: 1 \"Blad1\", 2 \"Blad2\"); fill in the customer list, or save the file again in the program that made it"
        );
    }

    #[test]
    fn a_damaged_workbook_is_an_error_not_a_panic() {
        let mut bytes = xlsx(&[("S", &[&[(0, "Code"), (1, "Naam")], &[(0, "1"), (1, "A")]])]);
        // Keep the ZIP directory, spoil the compressed parts.
        let cut = bytes.len() / 3;
        for b in &mut bytes[30..cut] {
            *b ^= 0x5A;
        }
        let err = read_all(bytes, &InputOptions::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("cannot be read")
                || text.contains("could not be read")
                || text.contains("damaged"),
            "{text}"
        );
    }
}
