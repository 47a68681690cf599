//! The copy of an input that can be read only once (a FIFO, a pipe,
//! `/dev/stdin`, a character device), and its bounds.
//!
//! Owns copying such an input into an unnamed temporary file so it can be
//! read from offsets like a regular file, and refusing, while copying,
//! what could never be imported: binary data (a NUL byte in the first
//! 64 KiB: `/dev/zero`, `/dev/urandom`) and a line longer than
//! `--max-record-bytes` (an endless line such as `yes | tr -d '\n'`, which
//! would otherwise fill the disk before the reader ever saw it). Both are
//! refused as soon as they show, never after the copy.
//!
//! The line check only bounds the copy: it counts raw bytes (or UTF-16
//! code units) between line breaks against a bound that only a record
//! over the cap can pass, so it refuses nothing the reader would accept.
//! The reader keeps the exact cap ([`super::reader`]); a regular file is
//! never copied and meets only that one. The check does no work per byte:
//! each piece read is looked at only up to its first line break and from
//! its last one on.
//!
//! It must not parse CSV or decode text: that comes after it, from the copy.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::InputError;

/// Bytes looked at before anything is copied.
const SNIFF: usize = 64 * 1024;

/// Bytes moved per read while copying.
const CHUNK: usize = 64 * 1024;

/// Copies `src` (already opened from `path`, which only names it in
/// errors) into an unnamed temporary file in `dir` (the system's temporary
/// folder when `None`). `encoding` is `--encoding` as resolved (`None`
/// when not given or not a known label: the label is refused later).
pub(super) fn copy<R: Read>(
    path: &Path,
    src: &mut R,
    dir: Option<&Path>,
    max_record_bytes: usize,
    encoding: Option<&'static Encoding>,
) -> Result<File, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut start = Vec::with_capacity(SNIFF);
    src.by_ref()
        .take(SNIFF as u64)
        .read_to_end(&mut start)
        .map_err(io_err)?;
    let utf16 = start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF");
    // A workbook (ZIP, OLE) is binary by nature: neither check applies.
    let workbook =
        start.starts_with(b"PK\x03\x04") || start.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    // A device such as /dev/zero or /dev/urandom never ends: refuse what is
    // plainly not text before copying it (a UTF-16 export has NUL bytes
    // too, after its byte-order mark).
    if !utf16 && !workbook && start.contains(&0) {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidData,
            "is not a text file (it holds NUL bytes); name a CSV file",
        )));
    }
    let mut meter = (!workbook).then(|| LineMeter::new(&start, max_record_bytes, encoding));
    let mut copy = match dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    }
    .map_err(io_err)?;
    // What is measured is copied only once it passed: on a refusal, the
    // copy holds exactly the bytes before `pending`.
    let mut pending = start;
    let mut buf = vec![0u8; CHUNK];
    loop {
        if let Some(meter) = &mut meter
            && !meter.feed(&pending)
        {
            let line = meter.refused_line(&mut copy, &pending).map_err(io_err)?;
            return Err(InputError::RecordTooLong {
                path: path.to_path_buf(),
                line,
                limit: max_record_bytes,
            });
        }
        copy.write_all(&pending).map_err(io_err)?;
        let n = loop {
            match src.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                read => break read.map_err(io_err)?,
            }
        };
        if n == 0 {
            return Ok(copy);
        }
        pending.clear();
        pending.extend_from_slice(&buf[..n]);
    }
}

/// Measures the lines of a text as it streams by, in raw units.
#[derive(Debug)]
struct LineMeter {
    unit: Unit,
    /// Longest line allowed, in units.
    bound: u64,
    /// Units of the current line so far.
    run: u64,
    /// Bytes fed so far, counting the byte-order mark.
    offset: u64,
    /// Byte offset where the current line starts.
    line_start: u64,
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    /// Bytes: UTF-8 and every encoding that keeps ASCII as is. Lines are
    /// not counted while the text streams by (only a refusal needs the
    /// number).
    Byte,
    /// UTF-16 code units, where a `0x0A` byte is not always a line break:
    /// lines are counted as they go. `pending` holds the first byte of a
    /// unit split between two reads.
    Utf16 {
        big_endian: bool,
        pending: Option<u8>,
        line: u64,
    },
}

impl LineMeter {
    /// A meter for a text that starts with `start`, under the encoding
    /// decode.rs will choose: a byte-order mark wins over `--encoding`.
    fn new(start: &[u8], max_record_bytes: usize, label: Option<&'static Encoding>) -> LineMeter {
        let (encoding, bom) = if start.starts_with(b"\xFF\xFE") {
            (Some(UTF_16LE), 2)
        } else if start.starts_with(b"\xFE\xFF") {
            (Some(UTF_16BE), 2)
        } else if start.starts_with(b"\xEF\xBB\xBF") {
            (Some(UTF_8), 3)
        } else {
            (label, 0)
        };
        let cap = max_record_bytes as u64;
        // The bound is what certainly decodes to more than the cap. A UTF-16
        // code unit decodes to 1 to 3 bytes. Without a label the text is
        // UTF-8 or Windows-1252, and a single-byte encoding spends one byte
        // per character: at least one decoded byte each. The multi-byte
        // legacy encodings (GB18030, Shift_JIS, ...) spend at most two raw
        // bytes per decoded byte in real text.
        let (unit, bound) = match encoding {
            Some(e) if e == UTF_16LE || e == UTF_16BE => (
                Unit::Utf16 {
                    big_endian: e == UTF_16BE,
                    pending: None,
                    line: 1,
                },
                cap,
            ),
            None => (Unit::Byte, cap),
            Some(e) if e == UTF_8 || e.is_single_byte() => (Unit::Byte, cap),
            Some(_) => (Unit::Byte, cap.saturating_mul(2)),
        };
        // The reader strips the byte-order mark: it is no part of line 1.
        let bom = bom as u64;
        LineMeter {
            unit,
            bound: bound.max(1),
            run: 0,
            offset: 0,
            line_start: bom,
        }
    }

    /// Takes the next bytes of the text; `false` once the current line is
    /// longer than the bound (see [`LineMeter::refused_line`]).
    fn feed(&mut self, bytes: &[u8]) -> bool {
        // The byte-order mark, fed with the first bytes, is skipped.
        let skip = self
            .line_start
            .saturating_sub(self.offset)
            .min(bytes.len() as u64) as usize;
        self.offset += skip as u64;
        let bytes = &bytes[skip..];
        match &mut self.unit {
            Unit::Byte => {
                // A line wholly inside a piece no longer than the bound is
                // within it, so each piece is looked at only from its
                // first line break back and from its last one on: the
                // bytes between are never touched, and normal lines cost
                // nothing per byte.
                let step = usize::try_from(self.bound).unwrap_or(usize::MAX);
                let is_break = |b: &u8| *b == b'\n' || *b == b'\r';
                for piece in bytes.chunks(step) {
                    match piece.iter().position(is_break) {
                        None => self.run += piece.len() as u64,
                        Some(first) => {
                            if self.run + first as u64 > self.bound {
                                return false;
                            }
                            let last = piece.iter().rposition(is_break).unwrap_or(first);
                            self.line_start = self.offset + last as u64 + 1;
                            self.run = (piece.len() - last - 1) as u64;
                        }
                    }
                    if self.run > self.bound {
                        return false;
                    }
                    self.offset += piece.len() as u64;
                }
                true
            }
            Unit::Utf16 {
                big_endian,
                pending,
                line,
            } => {
                for &b in bytes {
                    self.offset += 1;
                    let Some(first) = pending.take() else {
                        *pending = Some(b);
                        continue;
                    };
                    let unit = match big_endian {
                        true => u16::from_be_bytes([first, b]),
                        false => u16::from_le_bytes([first, b]),
                    };
                    if unit == u16::from(b'\n') || unit == u16::from(b'\r') {
                        *line += u64::from(unit == u16::from(b'\n'));
                        self.run = 0;
                    } else {
                        self.run += 1;
                        if self.run > self.bound {
                            return false;
                        }
                    }
                }
                true
            }
        }
    }

    /// After [`LineMeter::feed`] refused `pending`: the physical line
    /// (1-based, counted in `\n` like the reader: a bare `\r` ends a
    /// record but not a line) of the line refused. Bytes are counted only
    /// now, from `copy` (everything fed before `pending`) and `pending`.
    fn refused_line(&self, copy: &mut File, pending: &[u8]) -> io::Result<u64> {
        if let Unit::Utf16 { line, .. } = self.unit {
            return Ok(line);
        }
        let newlines = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let copied = copy.seek(io::SeekFrom::End(0))?;
        copy.rewind()?;
        let mut before = Read::by_ref(copy).take(self.line_start.min(copied));
        let mut buf = vec![0u8; CHUNK];
        let mut line = 1;
        loop {
            match before.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => line += newlines(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let in_pending = self.line_start.saturating_sub(copied) as usize;
        Ok(line + newlines(&pending[..in_pending.min(pending.len())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies `text` read `piece` bytes at a time, as [`copy`] does; the
    /// line refused, if any.
    fn refused(text: &[u8], cap: usize, piece: usize, label: Option<&str>) -> Option<u64> {
        let label = label.and_then(|l| Encoding::for_label(l.as_bytes()));
        let mut meter = LineMeter::new(text, cap, label);
        let mut copy = tempfile::tempfile().unwrap();
        for chunk in text.chunks(piece) {
            if !meter.feed(chunk) {
                return Some(meter.refused_line(&mut copy, chunk).unwrap());
            }
            copy.write_all(chunk).unwrap();
        }
        None
    }

    #[test]
    fn a_line_is_refused_once_past_the_cap_and_named_by_its_number() {
        let mut text = b"Code,Name\r\n1,A\r\n\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10));
        text.extend(b"\n3,C\n");
        for piece in [1, 2, 3, 4, 7, 4096] {
            assert_eq!(refused(&text, 10, piece, None), None, "exactly the cap");
            assert_eq!(refused(&text, 9, piece, None), Some(4), "one past it");
        }
        // Many short lines, far longer in all than the cap.
        let many = b"12345,Klant\n".repeat(10_000);
        assert_eq!(refused(&many, 11, 64 * 1024, None), None);
        assert_eq!(refused(&many, 10, 64 * 1024, None), Some(1));
        let mut late = many.clone();
        late.extend(std::iter::repeat_n(b'y', 5000));
        assert_eq!(refused(&late, 4096, 1000, None), Some(10_001));
    }

    #[test]
    fn a_bare_carriage_return_ends_a_record_but_not_a_line() {
        let text = b"Code,Name\r1,A\r2,B\r3,C\r".repeat(100);
        assert_eq!(refused(&text, 9, 7, None), None);
        assert_eq!(refused(b"1,A\r2,B\r3,CCCCCCCCCC\r", 9, 7, None), Some(1));
        assert_eq!(refused(b"1,A\n2,B\r3,CCCCCCCCCC\r", 9, 3, None), Some(2));
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_first_line() {
        let text = b"\xEF\xBB\xBFCode,Name\n";
        assert_eq!(refused(text, 9, 1, None), None);
        assert_eq!(refused(text, 8, 2, None), Some(1));
    }

    #[test]
    fn utf16_counts_code_units_and_ignores_bytes_that_look_like_breaks() {
        // U+0A0A and U+0D0A hold 0x0A bytes that are not line breaks.
        let text: String = "Code,Name\n".to_string() + &"\u{0A0A}\u{0D0A}".repeat(8) + "\n";
        let mut le = b"\xFF\xFE".to_vec();
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = b"\xFE\xFF".to_vec();
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        for bytes in [&le, &be] {
            for piece in [1, 3, 64] {
                assert_eq!(refused(bytes, 16, piece, None), None);
                assert_eq!(refused(bytes, 15, piece, None), Some(2));
            }
        }
        // Without a byte-order mark, --encoding says so.
        let bare = &le[2..];
        assert_eq!(refused(bare, 16, 5, Some("utf-16le")), None);
        assert_eq!(refused(bare, 15, 5, Some("utf-16le")), Some(2));
    }

    #[test]
    fn a_multi_byte_legacy_encoding_gets_twice_the_bytes() {
        let text = [b'x'; 21];
        assert_eq!(refused(&text[..20], 10, 3, Some("gbk")), None);
        assert_eq!(refused(&text, 10, 3, Some("gbk")), Some(1));
        assert_eq!(refused(&text[..11], 10, 3, Some("latin1")), Some(1));
    }

    #[test]
    fn the_copy_holds_every_byte_or_the_refusal_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = Path::new("in.csv");
        let text = b"Code,Name\n1,A\n".repeat(20_000);
        let mut copied = copy(path, &mut text.as_slice(), Some(dir.path()), 1024, None).unwrap();
        let mut back = Vec::new();
        copied.rewind().unwrap();
        copied.read_to_end(&mut back).unwrap();
        assert_eq!(back, text);

        let mut endless = text.as_slice().chain(io::repeat(b'y'));
        match copy(path, &mut endless, Some(dir.path()), 1024, None) {
            Err(InputError::RecordTooLong { line, limit, .. }) => {
                assert_eq!((line, limit), (40_001, 1024));
            }
            other => panic!("{other:?}"),
        }
    }
}
