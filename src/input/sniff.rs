//! Delimiter detection: which of `,` `;` tab `|` separates the fields.
//!
//! Owns choosing the delimiter from the start of the decoded text (the
//! header plus up to [`SNIFF_RECORDS`] records, parsed with quotes
//! respected), and refusing a delimiter that leaves the header as one
//! column while another candidate splits it: such a file would otherwise
//! import as one long column of garbage, or fail on every row with a
//! confusing "no CustomerCode column".
//!
//! The choice: among candidates that split the header into at least two
//! columns, the one under which most records have the header's field count
//! wins; ties go to more header columns, then to the order `,` `;` tab `|`.
//! Excel's locale decides `,` or `;`, Informer writes tabs, so none is
//! assumed.
//!
//! It must not read files or build the reader: `mod.rs` hands it a prefix.

use std::fmt;

use csv_core::ReadFieldResult;

/// The delimiters tried, in tie-break order.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Data records looked at after the header.
pub const SNIFF_RECORDS: usize = 20;

/// Bytes of decoded text the sniffer gets at most; header plus 20 records
/// fit many times over.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// How the delimiter was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelimiterSource {
    /// `--delimiter` named it.
    Override,
    /// Detected: it splits the header into `columns` columns, and
    /// `consistent` of the `records` records looked at have that many fields.
    Detected {
        /// Header columns under this delimiter.
        columns: usize,
        /// Records looked at (at most [`SNIFF_RECORDS`]).
        records: usize,
        /// Of those, how many had the header's field count.
        consistent: usize,
    },
    /// No candidate splits the header: a one-column file, read with `,`.
    SingleColumn,
    /// Excel's `sep=X` first line named it.
    SepLine,
}

/// The delimiter a file is read with, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelimiterChoice {
    /// The field separator byte.
    pub delimiter: u8,
    /// Why this one.
    pub source: DelimiterSource,
}

impl fmt::Display for DelimiterChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", delimiter_name(self.delimiter))?;
        match self.source {
            DelimiterSource::Override => f.write_str("(--delimiter)"),
            DelimiterSource::Detected {
                columns,
                records,
                consistent,
            } => write!(
                f,
                "(detected: {columns} header columns, {consistent} of the first {records} records match)"
            ),
            DelimiterSource::SepLine => f.write_str("(the file's sep= line)"),
            DelimiterSource::SingleColumn => {
                f.write_str("(the header has one column under every candidate delimiter)")
            }
        }
    }
}

/// How a delimiter is written in messages and on the command line:
/// `';'`, `tab`.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        d if d.is_ascii_graphic() || d == b' ' => format!("'{}'", char::from(d)),
        d => format!("byte 0x{d:02X}"),
    }
}

/// Parses a `--delimiter` value: one ASCII character, or `tab`, `\t`,
/// `comma`, `semicolon`, `pipe`. Quotes and line breaks cannot separate
/// fields.
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    let d = match s {
        "tab" | "\\t" | "TAB" => b'\t',
        "comma" => b',',
        "semicolon" => b';',
        "pipe" => b'|',
        _ => match s.as_bytes() {
            &[b] if b.is_ascii() => b,
            _ => {
                return Err(format!(
                    "{s:?} is not a delimiter: give one character such as ';' or ',', or 'tab'"
                ));
            }
        },
    };
    if matches!(d, b'"' | b'\n' | b'\r') {
        return Err(format!(
            "{} cannot separate fields: it is part of the CSV syntax",
            delimiter_name(d)
        ));
    }
    Ok(d)
}

/// What the text looks like under one delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The delimiter.
    pub delimiter: u8,
    /// Fields in the header (0 if there is no complete header).
    pub columns: usize,
    /// Complete data records looked at.
    pub records: usize,
    /// Records whose field count equals the header's.
    pub consistent: usize,
}

/// Parses `text` (the start of the decoded file; `complete` if it is all of
/// it) under `delimiter`.
pub fn shape(text: &[u8], complete: bool, delimiter: u8) -> Shape {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut scratch = [0u8; 1024];
    let mut shape = Shape {
        delimiter,
        columns: 0,
        records: 0,
        consistent: 0,
    };
    let mut input = text;
    let mut fields = 0;
    // Records seen including the header.
    let mut seen = 0;
    while seen <= SNIFF_RECORDS {
        let at_end = input.is_empty();
        // An empty input means "end of file" to csv-core: only say so when
        // it is, or a partial last record would count as complete.
        if at_end && !complete {
            break;
        }
        let (res, nin, _) = core.read_field(input, &mut scratch);
        input = &input[nin..];
        match res {
            // Field contents do not matter here, only where fields end.
            ReadFieldResult::OutputFull => {}
            ReadFieldResult::InputEmpty if at_end => break,
            ReadFieldResult::InputEmpty => {}
            ReadFieldResult::Field { record_end } => {
                fields += 1;
                if record_end {
                    if seen == 0 {
                        shape.columns = fields;
                    } else {
                        shape.records += 1;
                        if fields == shape.columns {
                            shape.consistent += 1;
                        }
                    }
                    seen += 1;
                    fields = 0;
                }
            }
            ReadFieldResult::End => break,
        }
    }
    shape
}

/// Chooses the delimiter for `text` (see the module doc). `None` means no
/// candidate splits the header.
pub fn detect(text: &[u8], complete: bool) -> Option<Shape> {
    let shapes = CANDIDATES.map(|d| shape(text, complete, d));
    shapes
        .iter()
        .filter(|s| s.columns >= 2)
        // `max_by` keeps the last of equals; reverse so the earlier
        // candidate wins a tie.
        .rev()
        .max_by(|a, b| {
            // Compare consistent/records without division; no records
            // (a header-only prefix) counts as fully consistent.
            let ratio = |s: &Shape| match s.records {
                0 => (1, 1),
                n => (s.consistent, n),
            };
            let ((ca, ra), (cb, rb)) = (ratio(a), ratio(b));
            (ca * rb).cmp(&(cb * ra)).then(a.columns.cmp(&b.columns))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(text: &str) -> Option<u8> {
        detect(text.as_bytes(), true).map(|s| s.delimiter)
    }

    #[test]
    fn dutch_semicolon_export() {
        let text = "Code;Naam;Adres;Plaats;\r\n1;Jansen, B.V.;Straat 1, 2e;Ede;\r\n";
        assert_eq!(best(text), Some(b';'));
        let s = shape(text.as_bytes(), true, b';');
        assert_eq!((s.columns, s.records, s.consistent), (5, 1, 1));
    }

    #[test]
    fn each_candidate_is_found() {
        for d in CANDIDATES {
            let sep = char::from(d).to_string();
            let text = ["a", "b", "c"].join(&sep) + "\n" + &["1", "2", "3"].join(&sep) + "\n";
            assert_eq!(best(&text), Some(d), "{d}");
        }
    }

    #[test]
    fn quotes_are_respected() {
        // Commas inside quotes do not count; the ';' split is consistent.
        let text = "a;b\n\"x,y,z\";2\n\"p,q\";3\n";
        assert_eq!(best(text), Some(b';'));
        // A header that splits both ways: the consistent one wins.
        let text = "Naam;Adres, nr;Plaats\nA;B 1, 2;C\nD;E, 3;F\nG;H;I\n";
        assert_eq!(best(text), Some(b';'));
    }

    #[test]
    fn a_newline_in_a_quoted_header_field() {
        let text = "\"a\nb\";c\n1;2\n";
        let s = shape(text.as_bytes(), true, b';');
        assert_eq!((s.columns, s.records), (2, 1));
    }

    #[test]
    fn header_only_prefers_more_columns() {
        assert_eq!(best("a,b;c;d\n"), Some(b';'));
        assert_eq!(best("a,b\n"), Some(b','));
    }

    #[test]
    fn one_column_everywhere() {
        assert_eq!(best("CustomerCode\n1\n2\n"), None);
        assert_eq!(best(""), None);
    }

    #[test]
    fn an_incomplete_last_record_is_not_counted() {
        let s = shape(b"a;b\n1;2\n3", false, b';');
        assert_eq!((s.records, s.consistent), (1, 1));
        let s = shape(b"a;b\n1;2\n3", true, b';');
        assert_eq!((s.records, s.consistent), (2, 1));
        // Without a complete header there is nothing to go on.
        assert_eq!(shape(b"a;b", false, b';').columns, 0);
    }

    #[test]
    fn only_the_first_records_are_read() {
        let text = format!("a;b\n{}x\n", "1;2\n".repeat(30));
        let s = shape(text.as_bytes(), true, b';');
        assert_eq!((s.records, s.consistent), (SNIFF_RECORDS, SNIFF_RECORDS));
    }

    #[test]
    fn bom_is_ignored() {
        let s = shape("\u{feff}a;b\n".as_bytes(), true, b';');
        assert_eq!(s.columns, 2);
    }

    #[test]
    fn parse_delimiter_values() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("semicolon"), Ok(b';'));
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("é").is_err());
        assert_eq!(delimiter_name(b'\t'), "tab");
        assert_eq!(delimiter_name(b';'), "';'");
    }
}
