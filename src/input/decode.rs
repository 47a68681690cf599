//! Text encoding: which one a file is in, and turning it into UTF-8.
//!
//! Owns the encoding decision and the streaming transcoder in front of the
//! CSV reader. The rule, in order:
//!
//! 1. a byte-order mark (UTF-8, UTF-16LE, UTF-16BE) wins, even over
//!    `--encoding`: it is unambiguous, and a label that contradicts it is a
//!    mistake we report in the decision rather than act on;
//! 2. `--encoding NAME` (any WHATWG label, e.g. `latin1`, `cp1252`,
//!    `utf-16le`);
//! 3. UTF-8 if the *whole* file is valid UTF-8 (a prefix check would let
//!    a `ë` on row 90 000 fail the run halfway). The one pass of a run
//!    decides it while it reads ([`Detection`]); [`choose`] decides it by
//!    a read of its own (the `mapping` command, a check's errors file);
//! 4. otherwise Windows-1252, what Excel and Dutch bookkeeping packages
//!    write on Windows. Every byte decodes under it, so this never fails.
//!
//! Known blind spot of rule 3: Windows-1252 text whose only non-ASCII bytes
//! happen to form valid UTF-8 (e.g. `ß€`, bytes DF 80) is read as UTF-8.
//! Real text hits this only as mojibake (`Ã©`); `--encoding` fixes it.
//!
//! UTF-8 is handed to the reader untranscoded (it strips a BOM and checks
//! each record itself), so the common case costs no copy. Other encodings
//! go through `encoding_rs_io`, which replaces undecodable sequences (only
//! possible in UTF-16) with U+FFFD.
//!
//! It must not parse CSV or know about columns; after decoding, line
//! numbers are counted in the decoded text, which has the same newlines.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::InputError;

/// Chunk size of the UTF-8 check.
const CHUNK: usize = 64 * 1024;

/// How the encoding was chosen, for the run header and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingSource {
    /// The file starts with a byte-order mark.
    Bom,
    /// `--encoding` named it.
    Override,
    /// No BOM, no override, and every byte of the file is valid UTF-8.
    DetectedUtf8,
    /// No BOM, no override, and the file is not valid UTF-8: the first
    /// invalid byte is on `line`, so it was read as Windows-1252.
    DetectedNotUtf8 {
        /// Physical line (1-based) of the first byte that is not UTF-8.
        line: u64,
    },
}

/// The encoding a file is read in, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingChoice {
    /// The encoding used to decode the file.
    pub encoding: &'static Encoding,
    /// Why this encoding.
    pub source: EncodingSource,
    /// `--encoding` named a different encoding than the BOM, which won.
    pub ignored_override: Option<&'static Encoding>,
}

impl EncodingChoice {
    /// The WHATWG name, e.g. `UTF-8`, `windows-1252`, `UTF-16LE`.
    pub fn name(&self) -> &'static str {
        self.encoding.name()
    }
}

impl fmt::Display for EncodingChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.name())?;
        match self.source {
            EncodingSource::Bom => f.write_str("(byte-order mark)")?,
            EncodingSource::Override => f.write_str("(--encoding)")?,
            EncodingSource::DetectedUtf8 => f.write_str("(detected: the file is valid UTF-8)")?,
            EncodingSource::DetectedNotUtf8 { line } => write!(
                f,
                "(detected: not UTF-8 from line {line} on; pass --encoding to choose another)"
            )?,
        }
        if let Some(ignored) = self.ignored_override {
            write!(f, "; --encoding {} ignored", ignored.name())?;
        }
        Ok(())
    }
}

/// Resolves an `--encoding` label (WHATWG names and aliases, any case).
///
/// The WHATWG "replacement" encoding (labels such as `iso-2022-kr`) turns
/// a whole file into one U+FFFD, so it is refused like an unknown label.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label_no_replacement(label.trim().as_bytes())
}

/// Chooses the encoding of the bytes `open` yields (read to the end when
/// there is no BOM and no override, or when UTF-8 must be checked; opened a
/// second time only to find the line of a byte that is not UTF-8, so the
/// common all-valid pass counts nothing).
///
/// Errors: an unknown `override_label`; an I/O error; invalid bytes under
/// an explicit UTF-8, naming the line ([`InputError::NotUtf8`]).
pub fn choose<R: Read>(
    path: &Path,
    open: impl Fn() -> io::Result<R>,
    override_label: Option<&str>,
) -> Result<EncodingChoice, InputError> {
    let io_err = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let forced = match override_label {
        Some(label) => {
            Some(
                encoding_for_label(label).ok_or_else(|| InputError::UnknownEncoding {
                    label: label.to_string(),
                })?,
            )
        }
        None => None,
    };
    let mut r = open().map_err(io_err)?;
    let mut prefix = [0u8; 3];
    let n = read_up_to(&mut r, &mut prefix).map_err(io_err)?;
    // The line of the first byte that is not UTF-8, if any.
    let check = |r: R| -> Result<Option<u64>, InputError> {
        let Some(offset) =
            first_non_utf8(io::Cursor::new(&prefix[..n]).chain(r)).map_err(io_err)?
        else {
            return Ok(None);
        };
        let line = line_at(open().map_err(io_err)?, offset).map_err(io_err)?;
        Ok(Some(line))
    };
    if let Some((encoding, _)) = Encoding::for_bom(&prefix[..n]) {
        // A UTF-8 BOM is checked like any UTF-8 file: bad bytes after it
        // cannot be fixed with --encoding (the BOM wins), so say so now
        // rather than halfway through the upload.
        if encoding == UTF_8
            && let Some(line) = check(r)?
        {
            return Err(InputError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                bom: true,
            });
        }
        return Ok(EncodingChoice {
            encoding,
            source: EncodingSource::Bom,
            ignored_override: forced.filter(|&f| f != encoding),
        });
    }
    let first_bad_line = match forced {
        Some(encoding) if encoding != UTF_8 => {
            return Ok(EncodingChoice {
                encoding,
                source: EncodingSource::Override,
                ignored_override: None,
            });
        }
        _ => check(r)?,
    };
    match (forced, first_bad_line) {
        (Some(_), Some(line)) => Err(InputError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            bom: false,
        }),
        (Some(encoding), None) => Ok(EncodingChoice {
            encoding,
            source: EncodingSource::Override,
            ignored_override: None,
        }),
        (None, None) => Ok(EncodingChoice {
            encoding: UTF_8,
            source: EncodingSource::DetectedUtf8,
            ignored_override: None,
        }),
        (None, Some(line)) => Ok(EncodingChoice {
            encoding: WINDOWS_1252,
            source: EncodingSource::DetectedNotUtf8 { line },
            ignored_override: None,
        }),
    }
}

/// Wraps the raw byte stream so it yields UTF-8 in `choice`'s encoding.
pub fn decoding_reader(choice: &EncodingChoice, raw: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    if choice.encoding == UTF_8 {
        // The reader strips the BOM and checks UTF-8 per record, naming the
        // line; transcoding would only copy (and hide bad bytes as U+FFFD).
        return raw;
    }
    Box::new(
        DecodeReaderBytesBuilder::new()
            .encoding(Some(choice.encoding))
            // Only reached with a BOM when the BOM chose `encoding`; either
            // way the BOM must not end up in the first header cell.
            .bom_override(true)
            .strip_bom(true)
            .build(raw),
    )
}

/// Whether the encoding of a file without a byte-order mark or
/// `--encoding` can be decided while it is read, instead of by a read of
/// the whole file before: [`choose_streaming`] and [`Detecting`].
///
/// The rule stays rule 3 of the module docs, decided in the one pass: the
/// file is read as UTF-8; at its first byte that is not UTF-8, if every
/// byte before was ASCII (what Windows-1252 exports look like: their first
/// accent is that byte), the rest is decoded as Windows-1252, which gives
/// exactly what decoding the whole file so would. If valid non-ASCII UTF-8
/// came before it, the text already handed on would read differently under
/// Windows-1252: the reader stops with [`MixedEncoding`] and the caller
/// reads the file again as Windows-1252 (rare: a file that mixes both).
#[derive(Debug, Clone, Default)]
pub struct Detection(std::sync::Arc<std::sync::Mutex<Option<EncodingChoice>>>);

impl Detection {
    /// The decision, once the reader switched to Windows-1252; `None` while
    /// (and if) everything read was UTF-8.
    pub fn switched(&self) -> Option<EncodingChoice> {
        self.0.lock().ok().and_then(|c| *c)
    }

    fn set(&self, choice: EncodingChoice) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(choice);
        }
    }
}

/// The text before the first byte that is not UTF-8 held non-ASCII UTF-8:
/// read the file again as Windows-1252 from its first byte.
#[derive(Debug, thiserror::Error)]
#[error("not UTF-8 from line {line} on, after UTF-8 text")]
pub struct MixedEncoding {
    /// Physical line of the first byte that is not UTF-8.
    pub line: u64,
}

impl MixedEncoding {
    /// The [`MixedEncoding`] inside an I/O error, if it is one.
    pub fn within(e: &io::Error) -> Option<&MixedEncoding> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<MixedEncoding>())
    }
}

/// [`choose`], except that without a byte-order mark or an override only
/// the first bytes are read: the answer is `None`, and the file is to be
/// read through [`Detecting`].
pub fn choose_streaming<R: Read>(
    path: &Path,
    open: impl Fn() -> io::Result<R>,
    override_label: Option<&str>,
) -> Result<Option<EncodingChoice>, InputError> {
    if override_label.is_some() {
        return choose(path, open, override_label).map(Some);
    }
    let mut r = open().map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut prefix = [0u8; 3];
    let n = read_up_to(&mut r, &mut prefix).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if Encoding::for_bom(&prefix[..n]).is_some() {
        return choose(path, open, None).map(Some);
    }
    Ok(None)
}

/// Reads UTF-8 as it is, switching to Windows-1252 at the first byte that
/// is not UTF-8 (see [`Detection`]).
pub struct Detecting<R> {
    raw: R,
    detection: Detection,
    /// Raw bytes read and not yet handed on (a character split by a read
    /// waits here for its end).
    pending: Vec<u8>,
    /// Decoded bytes ready to hand on, from `out_at`.
    out: Vec<u8>,
    out_at: usize,
    /// Newlines handed on so far (for the line of the switch).
    newlines: u64,
    non_ascii: bool,
    /// Set once switched.
    decoder: Option<encoding_rs::Decoder>,
    at_end: bool,
}

impl<R: Read> Detecting<R> {
    /// Reads `raw`, recording a switch in `detection`.
    pub fn new(raw: R, detection: Detection) -> Detecting<R> {
        Detecting {
            raw,
            detection,
            pending: Vec::with_capacity(CHUNK + 4),
            out: Vec::with_capacity(CHUNK * 3 + 16),
            out_at: 0,
            newlines: 0,
            non_ascii: false,
            decoder: None,
            at_end: false,
        }
    }

    /// Refills `out` from `raw`; `false` at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_at = 0;
        while self.out.is_empty() {
            if self.at_end && self.pending.is_empty() {
                return Ok(false);
            }
            let had = self.pending.len();
            self.pending.resize(had + CHUNK, 0);
            let n = loop {
                match self.raw.read(&mut self.pending[had..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.pending.truncate(had);
                        return Err(e);
                    }
                }
            };
            self.pending.truncate(had + n);
            self.at_end |= n == 0;
            self.convert()?;
        }
        Ok(true)
    }

    /// Moves what can be decoded from `pending` to `out`.
    fn convert(&mut self) -> io::Result<()> {
        if let Some(decoder) = self.decoder.as_mut() {
            windows_1252_into(decoder, &self.pending, &mut self.out, self.at_end);
            self.pending.clear();
            return Ok(());
        }
        let (good, bad) = match std::str::from_utf8(&self.pending) {
            Ok(_) => (self.pending.len(), false),
            // An incomplete character at the end: more bytes may finish it.
            Err(e) if e.error_len().is_none() && !self.at_end => (e.valid_up_to(), false),
            Err(e) => (e.valid_up_to(), true),
        };
        let valid = &self.pending[..good];
        if !self.non_ascii && !valid.is_ascii() {
            self.non_ascii = true;
        }
        if bad {
            let line = self.newlines + count_newlines(valid) + 1;
            if self.non_ascii {
                return Err(io::Error::other(MixedEncoding { line }));
            }
            self.detection.set(EncodingChoice {
                encoding: WINDOWS_1252,
                source: EncodingSource::DetectedNotUtf8 { line },
                ignored_override: None,
            });
            // Every byte before is ASCII: the same under Windows-1252.
            self.out.extend_from_slice(valid);
            let mut decoder = WINDOWS_1252.new_decoder_without_bom_handling();
            windows_1252_into(
                &mut decoder,
                &self.pending[good..],
                &mut self.out,
                self.at_end,
            );
            self.decoder = Some(decoder);
            self.pending.clear();
            return Ok(());
        }
        self.newlines += count_newlines(valid);
        self.out.extend_from_slice(valid);
        self.pending.drain(..good);
        Ok(())
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Decodes Windows-1252 `bytes` (every byte decodes) onto `out`.
fn windows_1252_into(
    decoder: &mut encoding_rs::Decoder,
    bytes: &[u8],
    out: &mut Vec<u8>,
    last: bool,
) {
    let start = out.len();
    // At most three UTF-8 bytes per input byte.
    out.resize(start + bytes.len() * 3 + 16, 0);
    let (_, _, written, _) = decoder.decode_to_utf8(bytes, &mut out[start..], last);
    out.truncate(start + written);
}

impl<R: Read> Read for Detecting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_at == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

/// Streams `r` and returns the offset of the first byte that is not
/// UTF-8, or `None` if it all is (an empty stream is).
fn first_non_utf8(mut r: impl Read) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; CHUNK];
    // Bytes of a character split across two reads, moved to the front.
    let mut carry = 0;
    let mut offset = 0u64;
    loop {
        let n = match r.read(&mut buf[carry..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let filled = carry + n;
        let good = match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => filled,
            // An incomplete character at the end: more bytes may finish it,
            // unless the stream has ended.
            Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
            Err(e) => return Ok(Some(offset + e.valid_up_to() as u64)),
        };
        if n == 0 {
            return Ok(None);
        }
        offset += good as u64;
        buf.copy_within(good..filled, 0);
        carry = filled - good;
    }
}

/// The 1-based line of byte `offset` of `r`.
fn line_at(r: impl Read, offset: u64) -> io::Result<u64> {
    let mut newlines = 0u64;
    let mut rest = r.take(offset);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => return Ok(newlines + 1),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_16BE, UTF_16LE};

    /// Hands out at most three bytes per `read`, to split characters.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn choice(data: &[u8], label: Option<&str>) -> Result<EncodingChoice, InputError> {
        let whole = choose(Path::new("t.csv"), || Ok(data), label);
        let trickled = choose(Path::new("t.csv"), || Ok(Trickle(data)), label);
        assert_eq!(format!("{whole:?}"), format!("{trickled:?}"));
        whole
    }

    fn decode(data: &[u8], label: Option<&str>) -> String {
        let c = choice(data, label).unwrap();
        let mut out = String::new();
        decoding_reader(&c, Box::new(io::Cursor::new(data.to_vec())))
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn bom_wins() {
        let c = choice(b"\xEF\xBB\xBFa;b\r\n", None).unwrap();
        assert_eq!((c.encoding, c.source), (UTF_8, EncodingSource::Bom));
        let c = choice(b"\xFF\xFEa\0", Some("windows-1252")).unwrap();
        assert_eq!((c.encoding, c.source), (UTF_16LE, EncodingSource::Bom));
        assert_eq!(c.ignored_override, Some(WINDOWS_1252));
        assert!(
            c.to_string().contains("--encoding windows-1252 ignored"),
            "{c}"
        );
        let c = choice(b"\xFE\xFF\0a", Some("utf-16be")).unwrap();
        assert_eq!((c.encoding, c.ignored_override), (UTF_16BE, None));
    }

    #[test]
    fn utf16_is_transcoded_without_bom() {
        let mut le = vec![0xFF, 0xFE];
        for u in "Naam;Plaats\r\nMüller;Köln\r\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&le, None), "Naam;Plaats\r\nMüller;Köln\r\n");
        let mut be = vec![0xFE, 0xFF];
        for u in "a,ß".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode(&be, None), "a,ß");
    }

    #[test]
    fn valid_utf8_is_detected_over_the_whole_file() {
        let mut data = "é\n".repeat(50_000).into_bytes();
        let c = choice(&data, None).unwrap();
        assert_eq!(
            (c.encoding, c.source),
            (UTF_8, EncodingSource::DetectedUtf8)
        );
        assert_eq!(choice(b"", None).unwrap().encoding, UTF_8);
        // One Windows-1252 byte far past any prefix.
        data.extend_from_slice(b"caf\xE9\n");
        let c = choice(&data, None).unwrap();
        assert_eq!(c.encoding, WINDOWS_1252);
        assert_eq!(c.source, EncodingSource::DetectedNotUtf8 { line: 50_001 });
    }

    #[test]
    fn a_utf8_bom_before_bad_bytes_is_refused() {
        let err = choice(b"\xEF\xBB\xBFa;b\n1;caf\xE9\n", None).unwrap_err();
        match &err {
            InputError::NotUtf8 { line, bom, .. } => assert_eq!((*line, *bom), (2, true)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("byte-order mark"), "{err}");
    }

    #[test]
    fn truncated_utf8_at_the_end_is_not_utf8() {
        let c = choice(b"a\nb\xC3", None).unwrap();
        assert_eq!(c.source, EncodingSource::DetectedNotUtf8 { line: 2 });
    }

    #[test]
    fn windows_1252_decodes_every_byte() {
        let data = b"Naam;Plaats\r\nJos\xE9 M\xFCller;\x80 Stra\xDFe \xEBn\r\n";
        assert_eq!(
            decode(data, None),
            "Naam;Plaats\r\nJosé Müller;€ Straße ën\r\n"
        );
    }

    #[test]
    fn override_by_any_whatwg_label() {
        for label in ["latin1", "ISO-8859-1", " cp1252 ", "windows-1252"] {
            let c = choice(b"a\xE9", Some(label)).unwrap();
            assert_eq!(
                (c.encoding, c.source),
                (WINDOWS_1252, EncodingSource::Override)
            );
        }
        assert_eq!(decode(b"\xE9", Some("iso-8859-15")), "é");
        // An override applies even where UTF-8 detection would have won.
        assert_eq!(decode("é".as_bytes(), Some("latin1")), "Ã©");
        for label in ["klingon", "", "iso-2022-kr"] {
            let err = choice(b"a", Some(label)).unwrap_err();
            assert!(matches!(err, InputError::UnknownEncoding { .. }), "{label}");
        }
    }

    #[test]
    fn explicit_utf8_names_the_bad_line() {
        let err = choice(b"a;b\r\n1;2\r\n\"x\r\ny\";caf\xE9\r\n", Some("utf-8")).unwrap_err();
        match &err {
            InputError::NotUtf8 { line, .. } => assert_eq!(*line, 4),
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.starts_with("t.csv: line 4: "), "{text}");
        assert!(text.contains("--encoding"), "{text}");
        let c = choice("é".as_bytes(), Some("utf8")).unwrap();
        assert_eq!((c.encoding, c.source), (UTF_8, EncodingSource::Override));
    }

    #[test]
    fn display_says_how() {
        let c = choice(b"caf\xE9", None).unwrap();
        assert_eq!(
            c.to_string(),
            "windows-1252 (detected: not UTF-8 from line 1 on; pass --encoding to choose another)"
        );
        assert_eq!(
            choice(b"abc", None).unwrap().to_string(),
            "UTF-8 (detected: the file is valid UTF-8)"
        );
    }
}
