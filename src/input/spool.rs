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
//! code units) between line breaks, which never exceeds the decoded
//! record the reader caps, so it refuses nothing the reader would accept.
//! The reader keeps the exact cap ([`super::reader`]); a regular file is
//! never copied and meets only that one.
//!
//! It must not parse CSV or decode text: that comes after it, from the copy.

use std::fs::File;
use std::io::{self, Read, Write};
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
pub(super) fn copy(
    path: &Path,
    src: &mut File,
    dir: Option<&Path>,
    max_record_bytes: usize,
    encoding: Option<&'static Encoding>,
) -> Result<File, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut start = Vec::with_capacity(SNIFF);
    src.take(SNIFF as u64)
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
    let too_long = |meter: &LineMeter| InputError::RecordTooLong {
        path: path.to_path_buf(),
        line: meter.line,
        limit: max_record_bytes,
    };
    let mut copy = match dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    }
    .map_err(io_err)?;
    if let Some(meter) = &mut meter {
        let bom = meter.bom;
        if !meter.feed(&start[bom..]) {
            return Err(too_long(meter));
        }
    }
    copy.write_all(&start).map_err(io_err)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        if let Some(meter) = &mut meter
            && !meter.feed(&buf[..n])
        {
            return Err(too_long(meter));
        }
        copy.write_all(&buf[..n]).map_err(io_err)?;
    }
    Ok(copy)
}

/// Measures the lines of a text as it streams by, in raw units.
#[derive(Debug)]
struct LineMeter {
    unit: Unit,
    /// Longest line allowed, in units.
    bound: u64,
    /// Physical line (1-based) of the current line, counted in `\n` like
    /// the reader (a bare `\r` ends a record but not a line).
    line: u64,
    /// Units of the current line so far.
    run: u64,
    /// Bytes of a byte-order mark at the start, not part of the first line
    /// (the reader strips it).
    bom: usize,
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    /// Bytes: UTF-8 and every encoding that keeps ASCII as is.
    Byte,
    /// UTF-16 code units; `pending` holds the first byte of a unit split
    /// between two reads.
    Utf16 {
        big_endian: bool,
        pending: Option<u8>,
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
                },
                cap,
            ),
            None => (Unit::Byte, cap),
            Some(e) if e == UTF_8 || e.is_single_byte() => (Unit::Byte, cap),
            Some(_) => (Unit::Byte, cap.saturating_mul(2)),
        };
        LineMeter {
            unit,
            bound,
            line: 1,
            run: 0,
            bom,
        }
    }

    /// Takes the next bytes of the text; `false` once the current line is
    /// longer than the bound (`line` names it).
    fn feed(&mut self, bytes: &[u8]) -> bool {
        match &mut self.unit {
            Unit::Byte => {
                // One scan per line break, not a branch per byte: a long
                // line is crossed by `position` alone.
                let mut rest = bytes;
                while let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                    if self.run + i as u64 > self.bound {
                        return false;
                    }
                    self.line += u64::from(rest[i] == b'\n');
                    self.run = 0;
                    rest = &rest[i + 1..];
                }
                self.run += rest.len() as u64;
                self.run <= self.bound
            }
            Unit::Utf16 {
                big_endian,
                pending,
            } => {
                for &b in bytes {
                    let Some(first) = pending.take() else {
                        *pending = Some(b);
                        continue;
                    };
                    let unit = match big_endian {
                        true => u16::from_be_bytes([first, b]),
                        false => u16::from_le_bytes([first, b]),
                    };
                    if unit == u16::from(b'\n') || unit == u16::from(b'\r') {
                        self.line += u64::from(unit == u16::from(b'\n'));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` in pieces of `piece` bytes; the line refused, if any.
    fn refused(start: &[u8], text: &[u8], cap: usize, piece: usize) -> Option<u64> {
        let mut meter = LineMeter::new(start, cap, None);
        for chunk in text.chunks(piece) {
            if !meter.feed(chunk) {
                return Some(meter.line);
            }
        }
        None
    }

    #[test]
    fn a_line_is_refused_once_past_the_cap_and_named_by_its_number() {
        let mut text = b"Code,Name\r\n1,A\r\n\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10));
        text.extend(b"\n3,C\n");
        for piece in [1, 3, 4096] {
            assert_eq!(refused(b"", &text, 10, piece), None, "exactly the cap");
            assert_eq!(refused(b"", &text, 9, piece), Some(4), "one past it");
        }
    }

    #[test]
    fn a_bare_carriage_return_ends_a_record_but_not_a_line() {
        let text = b"Code,Name\r1,A\r2,B\r3,C\r".repeat(100);
        assert_eq!(refused(b"", &text, 9, 7), None);
        assert_eq!(refused(b"", b"1,A\r2,B\r3,CCCCCCCCCC\r", 9, 7), Some(1));
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
                let mut meter = LineMeter::new(bytes, 16, None);
                assert!(meter.feed(&bytes[meter.bom..]));
                let mut meter = LineMeter::new(bytes, 15, None);
                let bom = meter.bom;
                assert!(!bytes[bom..].chunks(piece).all(|c| meter.feed(c)));
                assert_eq!(meter.line, 2);
            }
        }
    }

    #[test]
    fn a_multi_byte_legacy_encoding_gets_twice_the_bytes() {
        let gbk = Encoding::for_label(b"gbk");
        let mut meter = LineMeter::new(b"", 10, gbk);
        assert!(meter.feed(&[b'x'; 20]));
        assert!(!meter.feed(b"x"));
        let mut meter = LineMeter::new(b"", 10, Encoding::for_label(b"latin1"));
        assert!(!meter.feed(&[b'x'; 11]));
    }
}
