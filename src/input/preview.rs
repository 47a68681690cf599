//! Preview: what the first 64 KiB of a file say before it is read for real.
//!
//! Owns three decisions made from the decoded start of the file: Excel's
//! `sep=;` first line ([`sep_line`]), which line holds the header row
//! ([`find_header`]), and what the first data rows look like per column
//! ([`ColumnStats`]: filled, unique, and the rows themselves), which lets
//! the mapping prefer a filled column over an empty namesake, compare two
//! columns that claim one field, and list code candidates.
//!
//! The sample is bounded: the data rows that start within the first
//! 64 KiB of the decoded file (at most 10,000), the same for every
//! command, so `mapping`, `validate` and `import` decide alike.
//!
//! It must not map columns (that is `mapping/`) or refuse a file: a
//! preview that cannot be parsed simply finds nothing, and the real reader
//! then reports the problem with its line.

use std::collections::HashSet;
use std::io;
use std::path::Path;

use super::header::{self, Role};
use super::reader::{CsvReader, ReaderOptions, Record};
use crate::model::field::Field;

/// The header row is looked for in the records starting on these lines.
pub const HEADER_SEARCH_LINES: u64 = 20;

/// The delimiter named by Excel's `sep=X` first line (after an optional
/// UTF-8 BOM), if the text starts with one.
pub fn sep_line(text: &[u8]) -> Option<u8> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let rest = text.strip_prefix(b"sep=")?;
    let (&delimiter, after) = rest.split_first()?;
    let line_ends = matches!(after.first(), None | Some(b'\r' | b'\n'));
    (line_ends && !matches!(delimiter, b'\r' | b'\n' | b'"')).then_some(delimiter)
}

/// Where the header is and why the lines above it were passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderChoice {
    /// Physical line (1-based) of the header row.
    pub line: u64,
    /// `--header-line` chose it (else it was found).
    pub forced: bool,
    /// What the passed-over lines held (`a title`, `Excel's sep= line`,
    /// ...), each once, in order; empty when the header is on line 1.
    pub skipped: Vec<&'static str>,
}

impl Default for HeaderChoice {
    fn default() -> Self {
        HeaderChoice {
            line: 1,
            forced: false,
            skipped: Vec::new(),
        }
    }
}

impl std::fmt::Display for HeaderChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.line)?;
        match self.line {
            0 | 1 => {}
            2 => write!(f, "; line 1 skipped")?,
            n => write!(f, "; lines 1\u{2013}{} skipped", n - 1)?,
        }
        if !self.skipped.is_empty() {
            write!(f, " ({})", self.skipped.join(", "))?;
        }
        if self.forced {
            f.write_str(" (--header-line)")?;
        }
        Ok(())
    }
}

/// Per column of the header, over the data rows of the preview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnStats {
    /// Data rows looked at.
    pub rows: usize,
    /// Per column: rows with a non-blank cell.
    pub filled: Vec<usize>,
    /// Per column: no non-blank value occurs twice.
    pub unique: Vec<bool>,
    /// Per column: some value is an ERP's own record id
    /// (`__export__.res_partner_42_…`), never a customer code.
    pub record_ids: Vec<bool>,
    /// The rows looked at, as (line, trimmed cells): the bounded sample
    /// on which the mapping compares columns that claim one field.
    pub sample: Vec<(u64, Vec<String>)>,
}

impl ColumnStats {
    /// The stats of `rows` (line, cells): the data rows of a preview, or
    /// of any other record source's first rows.
    pub fn from_rows(rows: impl IntoIterator<Item = (u64, Vec<String>)>) -> ColumnStats {
        let mut stats = ColumnStats::default();
        let mut seen: Vec<HashSet<String>> = Vec::new();
        for (line, cells) in rows {
            stats.rows += 1;
            let mut trimmed = Vec::with_capacity(cells.len());
            for (c, cell) in cells.into_iter().enumerate() {
                if stats.filled.len() <= c {
                    stats.filled.resize(c + 1, 0);
                    stats.unique.resize(c + 1, true);
                    stats.record_ids.resize(c + 1, false);
                    seen.resize_with(c + 1, HashSet::new);
                }
                let cell = cell.trim().to_string();
                if !cell.is_empty() {
                    stats.filled[c] += 1;
                    if cell.starts_with("__export__.") || cell.starts_with("__import__.") {
                        stats.record_ids[c] = true;
                    }
                    if !seen[c].insert(cell.clone()) {
                        stats.unique[c] = false;
                    }
                }
                trimmed.push(cell);
            }
            stats.sample.push((line, trimmed));
        }
        stats
    }

    /// Rows of the sample with a value in column `c`.
    pub fn filled_rows(&self, c: usize) -> usize {
        self.filled.get(c).copied().unwrap_or(0)
    }

    /// The first sampled row where columns `a` and `b` both hold a value
    /// and the values differ: (line, `a`'s value, `b`'s value).
    pub fn conflict(&self, a: usize, b: usize) -> Option<(u64, &str, &str)> {
        self.sample.iter().find_map(|(line, cells)| {
            let (x, y) = (cell(cells, a), cell(cells, b));
            (!x.is_empty() && !y.is_empty() && x != y).then_some((*line, x, y))
        })
    }

    /// Sampled rows where column `a` is empty and `b` holds a value.
    pub fn gaps_filled(&self, a: usize, b: usize) -> usize {
        self.sample
            .iter()
            .filter(|(_, cells)| cell(cells, a).is_empty() && !cell(cells, b).is_empty())
            .count()
    }

    /// Column `c` holds an ERP's record ids (see [`ColumnStats::record_ids`]).
    pub fn has_record_ids(&self, c: usize) -> bool {
        self.record_ids.get(c).copied().unwrap_or(false)
    }

    /// Column `c` (0-based) has a value in some previewed row. True when
    /// nothing was previewed: no evidence is not evidence of emptiness.
    pub fn has_values(&self, c: usize) -> bool {
        self.rows == 0 || self.filled.get(c).is_some_and(|&n| n > 0)
    }

    /// Column `c` is filled in every previewed row with distinct values:
    /// a candidate for CustomerCode.
    pub fn is_key_like(&self, c: usize) -> bool {
        self.rows > 0
            && self.filled.get(c) == Some(&self.rows)
            && self.unique.get(c).copied().unwrap_or(false)
            && !self.has_record_ids(c)
    }
}

/// Cell `c` of a sampled row, empty when the row is short.
fn cell(cells: &[String], c: usize) -> &str {
    cells.get(c).map_or("", String::as_str)
}

/// The result of looking at the start of a file.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// The header row's line.
    pub header: HeaderChoice,
    /// Columns of the data rows that follow it.
    pub stats: ColumnStats,
}

/// Looks at `text` (the decoded start of the file; `complete` when it is
/// the whole file) read with `options.delimiter`: finds the header (or
/// takes `forced`), then counts the data rows after it.
pub fn find_header(
    text: &[u8],
    complete: bool,
    options: ReaderOptions,
    forced: Option<u64>,
) -> Preview {
    // A cut-off last record would look like a short row: drop it.
    let Some(text) = whole_lines(text, complete) else {
        return Preview::default();
    };
    let records = read_records(text, options, 1, Some(HEADER_SEARCH_LINES));
    let sep = sep_line(text).is_some();
    let header = match forced {
        Some(line) => HeaderChoice {
            line,
            forced: true,
            skipped: skipped_kinds(&records, line, sep),
        },
        None => {
            let line = detect(&records, sep);
            HeaderChoice {
                line,
                forced: false,
                skipped: skipped_kinds(&records, line, sep),
            }
        }
    };
    let data = read_records(text, options, header.line, None);
    // The first record is the header.
    let stats = ColumnStats::from_rows(data.into_iter().skip(1));
    Preview { header, stats }
}

/// [`find_header`] for rows already split into cells (a workbook's, as
/// (row number, cells)): the header among the rows on the first
/// [`HEADER_SEARCH_LINES`] lines (or `forced`), the stats over the rows
/// after it.
pub fn find_header_in_rows(rows: &[(u64, Vec<String>)], forced: Option<u64>) -> Preview {
    let search: Vec<(u64, Vec<String>)> = rows
        .iter()
        .filter(|(line, _)| *line <= HEADER_SEARCH_LINES)
        .cloned()
        .collect();
    let first = rows.first().map_or(1, |(line, _)| *line);
    let header = match forced {
        Some(line) => HeaderChoice {
            line,
            forced: true,
            skipped: skipped_kinds(&search, line, false),
        },
        None => {
            let line = if search.is_empty() {
                first
            } else {
                detect(&search, false)
            };
            HeaderChoice {
                line,
                forced: false,
                skipped: skipped_kinds(&search, line, false),
            }
        }
    };
    let stats =
        ColumnStats::from_rows(rows.iter().filter(|(line, _)| *line > header.line).cloned());
    Preview { header, stats }
}

/// The header line of `text` when it is not line 1, found by trying every
/// candidate delimiter (the sniffer alone would read a title or format
/// line as the header): the delimiter under which a header row names the
/// most fields wins. `None` when line 1 is the header, or no line is.
pub fn header_below_line_1(text: &[u8], complete: bool) -> Option<u64> {
    let text = whole_lines(text, complete)?;
    let mut best: Option<(usize, u64)> = None;
    for delimiter in super::sniff::CANDIDATES {
        let options = ReaderOptions {
            delimiter,
            ..ReaderOptions::default()
        };
        let records = read_records(text, options, 1, Some(HEADER_SEARCH_LINES));
        let sep = sep_line(text).is_some();
        let line = detect(&records, sep);
        let Some((_, cells)) = records.iter().find(|(at, _)| *at == line) else {
            continue;
        };
        if !looks_like_header(cells) {
            continue;
        }
        let score = roles(cells).len();
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, line));
        }
    }
    best.map(|(_, line)| line).filter(|&line| line > 1)
}

/// The bytes of `text` from the start of physical line `line` (1-based).
pub fn from_line(text: &[u8], line: u64) -> &[u8] {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(at) => start += at + 1,
            None => return &[],
        }
    }
    &text[start..]
}

/// `text` without a cut-off last line (unless it is the whole file).
fn whole_lines(text: &[u8], complete: bool) -> Option<&[u8]> {
    if complete {
        return Some(text);
    }
    text.iter()
        .rposition(|&b| b == b'\n')
        .map(|end| &text[..=end])
}

/// The header line among `records` (line, cells): the first record that
/// names a code or name field and two more roles, with the most cells of
/// all such records; else the first record (after a `sep=` line).
fn detect(records: &[(u64, Vec<String>)], sep: bool) -> u64 {
    let candidates: Vec<(u64, usize)> = records
        .iter()
        .filter(|(line, _)| !(sep && *line == 1))
        .filter(|(_, cells)| looks_like_header(cells))
        .map(|(line, cells)| (*line, cells.len()))
        .collect();
    let widest = candidates.iter().map(|&(_, w)| w).max().unwrap_or(0);
    if let Some(&(line, _)) = candidates.iter().find(|&&(_, w)| w == widest) {
        return line;
    }
    records
        .iter()
        .map(|(line, _)| *line)
        .find(|&line| !(sep && line == 1))
        .unwrap_or(1)
}

/// A code or name column and at least two other roles.
pub fn looks_like_header(cells: &[String]) -> bool {
    let roles = roles(cells);
    let key = roles
        .iter()
        .any(|r| matches!(r, Role::Field(Field::CustomerCode | Field::Name)));
    key && roles.len() >= 3
}

/// The distinct roles the cells name.
fn roles(cells: &[String]) -> Vec<Role> {
    let mut roles: Vec<Role> = Vec::new();
    for role in cells
        .iter()
        .filter_map(|c| header::classify(c).map(|claim| claim.role))
    {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles
}

/// What the records above `line` hold, each kind once.
fn skipped_kinds(records: &[(u64, Vec<String>)], line: u64, sep: bool) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    for (at, cells) in records.iter().filter(|(at, _)| *at < line) {
        let filled = cells.iter().filter(|c| !c.trim().is_empty()).count();
        let kind = if sep && *at == 1 {
            "Excel's sep= line"
        } else if filled <= 1 {
            "a title"
        } else {
            "not column names"
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// The records of `text` from the one starting at `from_line` on, as
/// (line, cells); stops at `until_line`, at 10,000 records, or at the
/// first parse error (the real reader will name it).
fn read_records(
    text: &[u8],
    options: ReaderOptions,
    from_line: u64,
    until_line: Option<u64>,
) -> Vec<(u64, Vec<String>)> {
    const MAX_RECORDS: usize = 10_000;
    let reader = CsvReader::with_options(
        Path::new("preview"),
        io::Cursor::new(text.to_vec()),
        ReaderOptions {
            header_line: from_line,
            ..options
        },
    );
    let Ok(mut reader) = reader else {
        return Vec::new();
    };
    let first_line = reader.header_line();
    let mut out = vec![(
        first_line,
        reader.headers().iter().map(str::to_string).collect(),
    )];
    let mut rec = Record::default();
    while out.len() < MAX_RECORDS {
        match reader.read(&mut rec) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        if until_line.is_some_and(|until| rec.line > until) {
            break;
        }
        out.push((rec.line, rec.fields.iter().map(str::to_string).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(text: &str, delimiter: u8) -> Preview {
        let options = ReaderOptions {
            delimiter,
            ..ReaderOptions::default()
        };
        find_header(text.as_bytes(), true, options, None)
    }

    #[test]
    fn sep_lines() {
        assert_eq!(sep_line(b"sep=;\r\nCode;Naam"), Some(b';'));
        assert_eq!(sep_line(b"\xEF\xBB\xBFsep=,\nCode"), Some(b','));
        assert_eq!(sep_line(b"sep=\t"), Some(b'\t'));
        assert_eq!(sep_line(b"sep=;;\n"), None);
        assert_eq!(sep_line(b"Code;sep=;\n"), None);
        assert_eq!(sep_line(b"sep=\n"), None);
    }

    #[test]
    fn the_header_is_found_below_titles_and_format_lines() {
        let p = preview(
            "My Invoices\n\n\"CLIENTS\"\nID,Name,Email,City\n1,A,a@x.nl,Ede\n",
            b',',
        );
        assert_eq!(p.header.line, 4);
        assert_eq!(
            p.header.to_string(),
            "line 4; lines 1\u{2013}3 skipped (a title)"
        );
        assert_eq!(p.stats.rows, 1);
        let p = preview(
            "\"EXTF\";700;16;\"Debitoren\";5;2018\nKonto;Firma;Ort;Land\n10001;A;Köln;DE\n",
            b';',
        );
        assert_eq!(p.header.line, 2);
        assert_eq!(p.header.skipped, ["not column names"]);
        let p = preview("sep=;\nCode;Naam\n1;A\n", b';');
        assert_eq!(p.header.line, 2);
        assert_eq!(p.header.skipped, ["Excel's sep= line"]);
        // No recognisable header: line 1, as always.
        let p = preview("a,b\n1,2\n", b',');
        assert_eq!(p.header, HeaderChoice::default());
        assert_eq!(p.header.to_string(), "line 1");
    }

    #[test]
    fn the_widest_matching_row_wins() {
        // A data row that happens to hold field names is narrower.
        let p = preview(
            "Code;Name;City\nCode;Name;City;Phone;Email\n1;A;B;C;D\n",
            b';',
        );
        assert_eq!(p.header.line, 2);
    }

    #[test]
    fn stats_count_filled_and_unique_cells() {
        let p = preview("Code,Name,Phone,Phone\n1,A,,x\n2,A,,y\n", b',');
        assert_eq!(p.stats.rows, 2);
        assert_eq!(p.stats.filled, [2, 2, 0, 2]);
        assert!(p.stats.is_key_like(0));
        assert!(!p.stats.is_key_like(1));
        assert!(!p.stats.has_values(2));
        assert!(p.stats.has_values(3));
    }

    #[test]
    fn stats_compare_two_columns_row_by_row() {
        let p = preview(
            "Code,Phone,Tel,Mobile\n1,020-1,020-1,\n2,, 030-2 ,06-1\n3,040-3,050-3,\n",
            b',',
        );
        assert_eq!(p.stats.sample.len(), 3);
        assert_eq!(
            p.stats.sample[1],
            (
                3,
                vec!["2".into(), String::new(), "030-2".into(), "06-1".into()]
            )
        );
        // Trimmed values compared; the first row where both differ.
        assert_eq!(p.stats.conflict(1, 2), Some((4, "040-3", "050-3")));
        assert_eq!(p.stats.conflict(1, 3), None);
        assert_eq!(p.stats.gaps_filled(1, 2), 1);
        assert_eq!(p.stats.gaps_filled(2, 1), 0);
        assert_eq!(p.stats.filled_rows(3), 1);
        // A short row lacks the cell: empty, not a panic.
        let p = preview("Code,Phone,Tel\n1,020-1\n", b',');
        assert_eq!(p.stats.conflict(1, 2), None);
        assert_eq!(p.stats.gaps_filled(2, 1), 1);
    }

    #[test]
    fn the_sample_is_bounded_by_the_preview() {
        let mut text = String::from("Code,Name\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},N{i}\n"));
        }
        let p = preview(&text, b',');
        assert_eq!(p.stats.rows, 9_999);
        assert_eq!(p.stats.sample.len(), p.stats.rows);
    }

    #[test]
    fn a_header_below_a_title_is_found_under_any_delimiter() {
        let text = b"Export\n\nCode;Naam;Plaats\n1;A;B\n";
        assert_eq!(header_below_line_1(text, true), Some(3));
        assert_eq!(from_line(text, 3), b"Code;Naam;Plaats\n1;A;B\n");
        assert_eq!(
            header_below_line_1(b"Code;Naam;Plaats\n1;A;B\n", true),
            None
        );
        assert_eq!(header_below_line_1(b"a;b\n1;2\n", true), None);
    }

    #[test]
    fn a_forced_line_is_taken() {
        let options = ReaderOptions {
            delimiter: b',',
            ..ReaderOptions::default()
        };
        let p = find_header(b"x\ny\nCode,Naam\n1,A\n", true, options, Some(3));
        assert_eq!(
            p.header.to_string(),
            "line 3; lines 1\u{2013}2 skipped (a title) (--header-line)"
        );
    }
}
