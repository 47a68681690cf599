//! Streaming CSV reader with physical line numbers.
//!
//! Owns turning a byte stream into a header row plus data records, each
//! tagged with its 1-based data row number and the physical line (1-based,
//! counted in `\n`) where the record starts. Memory is bounded by the largest
//! record, never by the file: records are parsed from a fixed-size buffer
//! into reused allocations.
//!
//! It must not interpret columns (that is `mapping/`), judge values
//! (`validate.rs`) or reject rows: a record whose field count differs from
//! the header's is returned as-is, and the caller marks it invalid. Only
//! file-level problems are errors: unreadable bytes, text that is not UTF-8,
//! a quoted field that is never closed, a record over
//! [`ReaderOptions::max_record_bytes`]. The last two exist because one
//! missing `"` otherwise turns the rest of the file into a single value and
//! the import "succeeds" with a fraction of the rows.
//!
//! Blank lines, and records whose fields are all empty or spaces (Excel
//! writes `;;;;` for formatted empty rows), carry no data: they are skipped
//! without a row number and counted ([`CsvReader::skipped_empty_records`]).
//!
//! It reads UTF-8; other encodings are transcoded in front of it
//! (`decode.rs`), so line numbers are counted in the decoded text.
//!
//! Why `csv-core` and not `csv::Reader`: `csv::Reader` stamps a record with
//! the position where the *previous* read stopped. After a CRLF that is one
//! line too early (the `\r` ends a record, its `\n` is only consumed by the
//! next read), and after blank lines it points at the first blank line
//! (blank lines are skipped inside the next read). So this module skips
//! blank lines itself before handing bytes to `csv-core`, which makes the
//! line where a record starts exact for LF, CRLF, quoted newlines and blank
//! lines alike. A bare `\r` (classic Mac line ending) still ends a record but
//! does not count as a line, so line numbers in such files stay at 1.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use csv::{Position, StringRecord};
use csv_core::ReadRecordResult;

use super::InputError;

/// Read buffer size: large enough that per-read overhead vanishes, small
/// enough that memory stays flat whatever the file size.
const BUFFER_CAPACITY: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reached only when the text was not checked up front: through
/// [`CsvReader::open`] (UTF-8 only), or when the file changed after
/// [`crate::input::open`] checked it.
const NOT_UTF8: &str = "the file is not UTF-8 text here (it may have changed while being read); \
     save it as UTF-8 (CSV UTF-8 in Excel), or let the import detect the encoding";

/// Default cap on the bytes of one record: far above any real customer
/// row, low enough that an unclosed quote is caught after a few hundred
/// lines instead of after swallowing the file.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 * 1024;

/// How to parse the file. All reader construction goes through this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Field separator byte (`,` by default).
    pub delimiter: u8,
    /// Longest record, in (decoded) bytes without its line terminator; a
    /// longer one is a file-level error. See [`DEFAULT_MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
    /// The physical line of the header row: records that start before it
    /// (a title, a format line, Excel's `sep=;`) are passed over, and the
    /// first record starting on or after it is the header. 1 by default.
    pub header_line: u64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            delimiter: b',',
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            header_line: 1,
        }
    }
}

/// One data record of the input file.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// 1-based data row number (the header is not a row).
    pub row: u64,
    /// Physical 1-based line where the record starts.
    pub line: u64,
    /// The raw field values; may have more or fewer fields than the header.
    pub fields: StringRecord,
    /// What a workbook's cells hold that their text does not show (a
    /// number, an error); always empty for CSV.
    pub notes: Vec<super::workbook::CellNote>,
}

/// A streaming CSV reader over one input file.
pub struct CsvReader {
    path: PathBuf,
    src: BufReader<Box<dyn Read + Send>>,
    core: csv_core::Reader,
    max_record_bytes: usize,
    headers: StringRecord,
    /// Physical line where the header record starts.
    header_line: u64,
    /// Physical line of the next unread byte.
    line: u64,
    /// Bytes consumed so far, for the records' `Position`.
    byte: u64,
    /// Data rows returned so far.
    rows: u64,
    /// Records skipped because every field was empty.
    skipped: u64,
    /// Unescaped field bytes of the record being parsed.
    out: Vec<u8>,
    /// End offsets of the fields in `out`.
    ends: Vec<usize>,
}

impl fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// Where a raw record sits in the file.
struct RawRecord {
    line: u64,
    byte: u64,
    fields: usize,
}

impl CsvReader {
    /// Opens `path` as UTF-8 with `,` and reads its header row. An empty
    /// file is [`InputError::NoHeader`].
    ///
    /// This does no encoding detection or delimiter sniffing; the pipeline
    /// uses [`crate::input::open`], which does both.
    pub fn open(path: &Path) -> Result<CsvReader, InputError> {
        let file = std::fs::File::open(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        CsvReader::with_options(path, file, ReaderOptions::default())
    }

    /// Reads CSV from `r`; `path_for_messages` only names it in errors.
    pub fn from_reader<R: Read + Send + 'static>(
        path_for_messages: &Path,
        r: R,
    ) -> Result<CsvReader, InputError> {
        CsvReader::with_options(path_for_messages, r, ReaderOptions::default())
    }

    /// Reads CSV from `r` with explicit options; the one place readers are built.
    pub fn with_options<R: Read + Send + 'static>(
        path_for_messages: &Path,
        r: R,
        options: ReaderOptions,
    ) -> Result<CsvReader, InputError> {
        let path = path_for_messages.to_path_buf();
        let src = strip_bom(r).map_err(|source| InputError::Io {
            path: path.clone(),
            source,
        })?;
        let core = csv_core::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .build();
        let mut reader = CsvReader {
            path,
            src: BufReader::with_capacity(BUFFER_CAPACITY, src),
            core,
            max_record_bytes: options.max_record_bytes,
            headers: StringRecord::new(),
            header_line: 1,
            line: 1,
            byte: 0,
            rows: 0,
            skipped: 0,
            out: vec![0; 1024],
            ends: vec![0; 32],
        };
        let raw = loop {
            let Some(raw) = reader.read_raw()? else {
                return Err(InputError::NoHeader {
                    path: reader.path.clone(),
                });
            };
            if raw.line >= options.header_line {
                break raw;
            }
        };
        // Empty records above the header are not data rows either.
        reader.skipped = 0;
        reader.header_line = raw.line;
        let mut headers = StringRecord::new();
        reader.fill(&raw, 0, &mut headers)?;
        reader.headers = headers;
        Ok(reader)
    }

    /// The header row (BOM stripped, values untouched).
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The physical line (1-based) where the header record starts.
    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    /// The path used in messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records skipped so far because all their fields were empty or
    /// spaces (blank lines are not counted: they are not records).
    pub fn skipped_empty_records(&self) -> u64 {
        self.skipped
    }

    /// Reads the next data record into `rec`, reusing its allocation.
    /// Returns `Ok(false)` at the end of the file.
    pub fn read(&mut self, rec: &mut Record) -> Result<bool, InputError> {
        let Some(raw) = self.read_raw()? else {
            return Ok(false);
        };
        self.rows += 1;
        rec.row = self.rows;
        rec.line = raw.line;
        self.fill(&raw, self.rows, &mut rec.fields)?;
        Ok(true)
    }

    /// Parses the next record with data into `out`/`ends`; `None` at EOF.
    fn read_raw(&mut self) -> Result<Option<RawRecord>, InputError> {
        loop {
            let Some(raw) = self.read_any()? else {
                return Ok(None);
            };
            let end = match raw.fields {
                0 => 0,
                n => self.ends[n - 1],
            };
            // Fields are contiguous in `out`, so one scan covers them all;
            // a real record fails on its first byte.
            if self.out[..end].iter().all(|&b| b == b' ' || b == b'\t') {
                self.skipped += 1;
                continue;
            }
            return Ok(Some(raw));
        }
    }

    /// Parses the next record into `out`/`ends`; `None` at EOF.
    fn read_any(&mut self) -> Result<Option<RawRecord>, InputError> {
        // Skip blank lines (runs of CR/LF) here rather than inside csv-core,
        // so `self.line` is exactly the line the record starts on.
        loop {
            let buf = fill_buf(&mut self.src, &self.path)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let skip = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let newlines = buf[..skip].iter().filter(|&&b| b == b'\n').count();
            let reached_record = skip < buf.len();
            self.src.consume(skip);
            self.line += newlines as u64;
            self.byte += skip as u64;
            if reached_record {
                break;
            }
        }
        let start = RawRecord {
            line: self.line,
            byte: self.byte,
            fields: 0,
        };
        // csv-core counts the `\n`s inside the record (quoted newlines and an
        // LF terminator); seed it with ours so the two counts stay one.
        self.core.set_line(self.line);
        let (mut outlen, mut endlen) = (0, 0);
        // Bytes of this record consumed so far, for the size cap.
        let mut consumed = 0usize;
        // At end of input, csv-core would close an open quoted field
        // silently. Feeding it one `\n` instead tells the two cases apart: a
        // complete record ends on it, an open quote swallows it.
        let mut fed_newline = false;
        loop {
            let buf = fill_buf(&mut self.src, &self.path)?;
            let at_end = buf.is_empty();
            let input: &[u8] = match (at_end, fed_newline) {
                (false, _) => buf,
                (true, false) => b"\n",
                (true, true) => {
                    return Err(self.unclosed_quote(&start, endlen, None));
                }
            };
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..]);
            if at_end {
                fed_newline = nin > 0;
            } else {
                self.src.consume(nin);
                self.byte += nin as u64;
                consumed += nin;
            }
            outlen += nout;
            endlen += nend;
            let complete = res == ReadRecordResult::Record;
            // The terminator csv-core consumed is not part of the record.
            let record_bytes = if complete && !at_end {
                consumed.saturating_sub(1)
            } else {
                consumed
            };
            if record_bytes > self.max_record_bytes {
                let field_start = match endlen {
                    0 => 0,
                    n => self.ends[n - 1],
                };
                // Only a quoted field can hold a line break, so a break in
                // the field still open means its closing quote is missing.
                let open_field = &self.out[field_start..outlen];
                if !complete && open_field.iter().any(|&b| b == b'\n' || b == b'\r') {
                    return Err(self.unclosed_quote(&start, endlen, Some(self.max_record_bytes)));
                }
                return Err(InputError::RecordTooLong {
                    path: self.path.clone(),
                    line: start.line,
                    limit: self.max_record_bytes,
                });
            }
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    if !at_end {
                        self.line = self.core.line();
                    }
                    return Ok(Some(RawRecord {
                        fields: endlen,
                        ..start
                    }));
                }
                ReadRecordResult::End => {
                    self.line = self.core.line();
                    return Ok(None);
                }
            }
        }
    }

    /// The error for a quoted field that is still open: it names the line
    /// the field starts on, found from the line breaks in the fields of the
    /// record before it (only quoted fields can hold any).
    fn unclosed_quote(&self, start: &RawRecord, endlen: usize, limit: Option<usize>) -> InputError {
        let field_start = match endlen {
            0 => 0,
            n => self.ends[n - 1],
        };
        let newlines = self.out[..field_start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        InputError::UnclosedQuote {
            path: self.path.clone(),
            line: start.line + newlines as u64,
            limit,
        }
    }

    /// Copies the parsed fields into `dst` (reusing its buffers) and checks
    /// that they are UTF-8.
    ///
    /// The fields are contiguous in `out`, so the whole record is checked
    /// in one `from_utf8` call, and each field is then cut from that `&str`
    /// with `get`, which also checks that the cut is a char boundary (two
    /// fields `\xC3` and `\xA9` make a valid `é` together but neither is
    /// UTF-8 alone). `push_field(&str)` copies without a second check. Only
    /// when that fails does the per-field check run, to name the place.
    fn fill(&self, raw: &RawRecord, row: u64, dst: &mut StringRecord) -> Result<(), InputError> {
        let end = match raw.fields {
            0 => 0,
            n => self.ends[n - 1],
        };
        let mut pos = Position::new();
        pos.set_line(raw.line).set_byte(raw.byte).set_record(row);
        if let Ok(text) = std::str::from_utf8(&self.out[..end]) {
            dst.clear();
            let mut from = 0;
            let mut whole = true;
            for &end in &self.ends[..raw.fields] {
                match text.get(from..end) {
                    Some(field) => dst.push_field(field),
                    None => {
                        whole = false;
                        break;
                    }
                }
                from = end;
            }
            if whole {
                dst.set_position(Some(pos));
                return Ok(());
            }
        }
        self.fill_checked(raw, pos, dst)
    }

    /// [`CsvReader::fill`] field by field: the path of text that is not
    /// UTF-8, which finds the field and offset of the first bad byte.
    fn fill_checked(
        &self,
        raw: &RawRecord,
        pos: Position,
        dst: &mut StringRecord,
    ) -> Result<(), InputError> {
        let mut bytes = std::mem::take(dst).into_byte_record();
        bytes.clear();
        let mut from = 0;
        for &end in &self.ends[..raw.fields] {
            bytes.push_field(&self.out[from..end]);
            from = end;
        }
        bytes.set_position(Some(pos));
        match StringRecord::from_byte_record(bytes) {
            Ok(record) => {
                *dst = record;
                Ok(())
            }
            Err(err) => {
                let bad = err.utf8_error();
                let field_start = match bad.field() {
                    0 => 0,
                    i => self.ends[i - 1],
                };
                let offset = field_start + bad.valid_up_to();
                let newlines = self.out[..offset].iter().filter(|&&b| b == b'\n').count();
                *dst = StringRecord::from_byte_record_lossy(err.into_byte_record());
                Err(InputError::Csv {
                    path: self.path.clone(),
                    line: raw.line + newlines as u64,
                    message: NOT_UTF8.to_string(),
                })
            }
        }
    }
}

/// `BufReader::fill_buf`, retrying reads interrupted by a signal.
fn fill_buf<'a>(
    src: &'a mut BufReader<Box<dyn Read + Send>>,
    path: &Path,
) -> Result<&'a [u8], InputError> {
    // Probe first, then borrow: returning the borrow from inside the retry
    // loop is rejected by the borrow checker. A second `fill_buf` on a
    // filled buffer does no I/O.
    loop {
        match src.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    }
    src.fill_buf().map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Drops a leading UTF-8 BOM (Excel's "CSV UTF-8" writes one) so the first
/// header cell matches. Reads up to three bytes directly because a buffered
/// peek may see only part of the BOM.
fn strip_bom<R: Read + Send + 'static>(mut r: R) -> io::Result<Box<dyn Read + Send>> {
    let mut prefix = [0u8; 3];
    let mut n = 0;
    while n < prefix.len() {
        match r.read(&mut prefix[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let keep = if prefix[..n] == *UTF8_BOM { 0 } else { n };
    Ok(Box::new(io::Cursor::new(prefix[..keep].to_vec()).chain(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Hands out at most one byte per `read`, to exercise every buffer boundary.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    type Rows = Vec<(u64, u64, Vec<String>)>;

    fn collect(mut reader: CsvReader) -> Result<Rows, InputError> {
        let mut rec = Record::default();
        let mut rows = Vec::new();
        while reader.read(&mut rec)? {
            let fields = rec.fields.iter().map(str::to_string).collect();
            rows.push((rec.row, rec.line, fields));
        }
        Ok(rows)
    }

    /// Reads `data` in one go and byte by byte; both must agree.
    fn read_all(data: &[u8]) -> (Vec<String>, Rows) {
        let path = Path::new("test.csv");
        let whole = CsvReader::from_reader(path, io::Cursor::new(data.to_vec())).unwrap();
        let headers = whole.headers().iter().map(str::to_string).collect();
        let rows = collect(whole).unwrap();
        let trickle =
            CsvReader::from_reader(path, Trickle(io::Cursor::new(data.to_vec()))).unwrap();
        let trickle_headers: Vec<String> = trickle.headers().iter().map(str::to_string).collect();
        assert_eq!(
            trickle_headers, headers,
            "headers differ when read byte by byte"
        );
        assert_eq!(
            collect(trickle).unwrap(),
            rows,
            "rows differ when read byte by byte"
        );
        (headers, rows)
    }

    fn lines(data: &[u8]) -> Vec<u64> {
        read_all(data)
            .1
            .into_iter()
            .map(|(_, line, _)| line)
            .collect()
    }

    fn error(data: &[u8]) -> InputError {
        let path = Path::new("test.csv");
        match CsvReader::from_reader(path, io::Cursor::new(data.to_vec())) {
            Err(e) => e,
            Ok(reader) => collect(reader).unwrap_err(),
        }
    }

    #[test]
    fn lf_line_numbers() {
        assert_eq!(lines(b"a,b\n1,2\n3,4\n"), [2, 3]);
    }

    #[test]
    fn crlf_line_numbers() {
        // csv::Reader would report 1 and 2 here.
        assert_eq!(lines(b"a,b\r\n1,2\r\n3,4\r\n"), [2, 3]);
    }

    #[test]
    fn quoted_newline_line_numbers() {
        let (_, rows) = read_all(b"a,b\n\"x\ny\",2\n3,4\n");
        assert_eq!(rows[0], (1, 2, vec!["x\ny".to_string(), "2".to_string()]));
        assert_eq!(rows[1].1, 4);
        assert_eq!(lines(b"a,b\r\n\"x\r\ny\r\nz\",2\r\n3,4\r\n"), [2, 5]);
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        assert_eq!(lines(b"a,b\n1,2\n\n\n3,4\n"), [2, 5]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n\r\n3,4\r\n"), [2, 4]);
        assert_eq!(lines(b"\n\na,b\n\n1,2\n"), [5]);
        let (_, rows) = read_all(b"a,b\n1,2\n\n3,4\n");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn last_record_without_terminator() {
        assert_eq!(lines(b"a,b\n1,2\n3,4"), [2, 3]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n3,4"), [2, 3]);
    }

    #[test]
    fn field_count_mismatch_is_returned_not_an_error() {
        let (headers, rows) = read_all(b"a,b\n1\n1,2,3\n");
        assert_eq!(headers, ["a", "b"]);
        assert_eq!(rows[0].2, ["1"]);
        assert_eq!(rows[1].2, ["1", "2", "3"]);
    }

    #[test]
    fn bom_is_stripped() {
        let (headers, rows) = read_all(b"\xEF\xBB\xBFCustomerCode,Name\n007,Ann\n");
        assert_eq!(headers, ["CustomerCode", "Name"]);
        assert_eq!(rows, [(1, 2, vec!["007".to_string(), "Ann".to_string()])]);
        // A file that is nothing but a BOM has no header.
        assert!(matches!(
            error(b"\xEF\xBB\xBF"),
            InputError::NoHeader { .. }
        ));
    }

    #[test]
    fn values_are_not_trimmed_or_unquoted_beyond_csv() {
        let (_, rows) = read_all(b"a,b\n 007 ,\"say \"\"hi\"\"\"\n");
        assert_eq!(rows[0].2, [" 007 ", "say \"hi\""]);
    }

    #[test]
    fn empty_file_has_no_header() {
        assert!(matches!(error(b""), InputError::NoHeader { .. }));
        assert!(matches!(error(b"\r\n\n"), InputError::NoHeader { .. }));
    }

    #[test]
    fn open_reads_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "CustomerCode\r\n1\r\n").unwrap();
        let reader = CsvReader::open(&path).unwrap();
        assert_eq!(reader.path(), path);
        assert_eq!(collect(reader).unwrap(), [(1, 2, vec!["1".to_string()])]);

        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            CsvReader::open(&path),
            Err(InputError::NoHeader { .. })
        ));
        let missing = dir.path().join("missing.csv");
        assert!(matches!(
            CsvReader::open(&missing),
            Err(InputError::Io { .. })
        ));
    }

    #[test]
    fn invalid_utf8_names_the_physical_line() {
        // Windows-1252 "é" in a field that starts on line 3; the byte is on line 4.
        let err = error(b"a,b\n1,2\n\"x\ny\",caf\xE9\n");
        match &err {
            InputError::Csv { line, message, .. } => {
                assert_eq!(*line, 4);
                assert!(message.contains("not UTF-8"), "{message}");
                assert!(message.contains("CSV UTF-8"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().starts_with("test.csv: line 4: "), "{err}");
        match error(b"Klantn\xE9,b\n1,2\n") {
            InputError::Csv { line, .. } => assert_eq!(line, 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_character_split_across_fields_is_not_utf8() {
        // Together the two fields are a valid "é"; apart, neither is text.
        match error(b"a,b\n1,2\n\xC3,\xA9\n") {
            InputError::Csv { line, message, .. } => {
                assert_eq!(line, 3);
                assert!(message.contains("not UTF-8"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let (_, rows) = read_all("a,b\nc\u{e9},\u{e9}\n".as_bytes());
        assert_eq!(rows[0].2, ["c\u{e9}", "\u{e9}"]);
    }

    #[test]
    fn other_delimiters_through_options() {
        let options = ReaderOptions {
            delimiter: b';',
            ..ReaderOptions::default()
        };
        let data = b"a;b\n1,5;2\n".to_vec();
        let reader =
            CsvReader::with_options(Path::new("x"), io::Cursor::new(data), options).unwrap();
        assert_eq!(collect(reader).unwrap()[0].2, ["1,5", "2"]);
    }

    #[test]
    fn big_records_and_many_fields_grow_the_buffers() {
        let wide = vec!["x"; 500].join(",");
        let long = "y".repeat(60_000);
        let data = format!("{wide}\n{long}\n{wide}\n");
        let (headers, rows) = read_all(data.as_bytes());
        assert_eq!(headers.len(), 500);
        assert_eq!(rows[0].2, [long]);
        assert_eq!((rows[1].1, rows[1].2.len()), (3, 500));
    }

    #[test]
    fn record_position_matches_our_line() {
        let mut reader =
            CsvReader::from_reader(Path::new("x"), io::Cursor::new(b"a\r\n\r\n1\r\n".to_vec()))
                .unwrap();
        let mut rec = Record::default();
        assert!(reader.read(&mut rec).unwrap());
        let pos = rec.fields.position().unwrap();
        assert_eq!((pos.line(), pos.byte(), pos.record()), (3, 5, 1));
    }

    /// Writes `records` with every field quoted, `blank` empty lines before
    /// each and the chosen terminator; returns the bytes and the line where
    /// each record starts, counted independently of the reader.
    fn render(records: &[(Vec<String>, usize, bool)]) -> (Vec<u8>, Vec<u64>) {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        for (fields, blank, crlf) in records {
            let eol: &[u8] = if *crlf { b"\r\n" } else { b"\n" };
            for _ in 0..*blank {
                out.extend_from_slice(eol);
            }
            starts.push(1 + out.iter().filter(|&&b| b == b'\n').count() as u64);
            let quoted: Vec<String> = fields
                .iter()
                .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                .collect();
            out.extend_from_slice(quoted.join(",").as_bytes());
            out.extend_from_slice(eol);
        }
        (out, starts)
    }

    proptest::proptest! {
        #[test]
        fn fields_and_lines_survive_any_layout(
            records in proptest::collection::vec(
                (
                    proptest::collection::vec("[a,\"\n\r é]{0,6}", 1..4),
                    0usize..3,
                    proptest::bool::ANY,
                ),
                1..8,
            )
        ) {
            // A record of only blanks is skipped by design; keep one visible
            // character so every generated record is a record.
            let mut records = records;
            for (fields, _, _) in &mut records {
                if fields.iter().all(|f| f.trim_matches(' ').is_empty()) {
                    fields[0].insert(0, 'x');
                }
            }
            let (data, starts) = render(&records);
            let (headers, rows) = read_all(&data);
            proptest::prop_assert_eq!(&headers, &records[0].0);
            proptest::prop_assert_eq!(rows.len(), records.len() - 1);
            for (i, (row, line, fields)) in rows.iter().enumerate() {
                proptest::prop_assert_eq!(*row, i as u64 + 1);
                proptest::prop_assert_eq!(*line, starts[i + 1]);
                proptest::prop_assert_eq!(fields, &records[i + 1].0);
            }
        }
    }

    /// An endless CSV source that counts the bytes it has handed out.
    struct Endless {
        pulled: Arc<AtomicU64>,
        pending: Vec<u8>,
        next: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                self.pending = format!("{:08},Customer {:08}\n", self.next, self.next).into_bytes();
                self.next += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.pulled.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
    }

    #[test]
    fn reading_is_streaming() {
        let pulled = Arc::new(AtomicU64::new(0));
        let source = Endless {
            pulled: Arc::clone(&pulled),
            pending: b"CustomerCode,Name\n".to_vec(),
            next: 0,
        };
        let mut reader = CsvReader::from_reader(Path::new("endless"), source).unwrap();
        let mut rec = Record::default();
        for _ in 0..10_000 {
            assert!(reader.read(&mut rec).unwrap());
        }
        assert_eq!((rec.row, rec.line), (10_000, 10_001));
        // 10 000 rows of 27 bytes plus at most one read-ahead buffer.
        let limit = 18 + 10_000 * 27 + BUFFER_CAPACITY as u64;
        assert!(pulled.load(Ordering::Relaxed) <= limit);
    }
}
