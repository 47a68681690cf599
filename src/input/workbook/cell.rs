//! A cell as the user sees it in the spreadsheet, as text.
//!
//! Owns the rules: strings as they are; a whole number without `.0` or an
//! exponent (a phone `31612345678`); other numbers to Excel's 15
//! significant digits; a number whose format pads zeros (`00000`,
//! `"NL"000000`) with its zeros (`00123`); dates as `YYYY-MM-DD` (with the
//! time when it has one); booleans as `TRUE`/`FALSE`; formulas by the
//! value the program saved with them (calamine reads that); error cells
//! (`#N/A`) empty. A number that no format pads, and an error cell, leave
//! a [`CellNote`] for the pass to warn about.
//!
//! It must not know which field a column maps to: the pass decides which
//! notes matter.

use std::fmt::Write;

use calamine::{DataRef, ExcelDateTime};

/// Something about a cell the text alone does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellNote {
    /// 0-based column.
    pub column: usize,
    /// What.
    pub kind: CellNoteKind,
}

/// What a [`CellNote`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellNoteKind {
    /// The cell holds a number, not text: a leading zero (of a phone, a
    /// postcode, a code) is gone, and long digit strings lose digits.
    Number,
    /// The cell holds an error (`#N/A`), read as empty.
    Error(&'static str),
}

/// A number format that shows a whole number padded with zeros, with
/// literal text around it: `00000`, `"K"0000`, `000-000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroPad {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// `0`: a digit, zero when the number has no more.
    Zero,
    /// `#` or `?`: a digit when the number has one.
    Optional,
    Literal(char),
}

impl ZeroPad {
    /// The pattern of format code `code` (its first section), if it is a
    /// zero-padding one: at least one `0` placeholder and nothing but
    /// digit placeholders and literals (no decimals, grouping, percent,
    /// exponent, colour, date or text part).
    pub fn parse(code: &str) -> Option<ZeroPad> {
        let mut parts = Vec::new();
        let mut chars = code.chars();
        while let Some(c) = chars.next() {
            match c {
                ';' => break,
                '0' => parts.push(Part::Zero),
                '#' | '?' => parts.push(Part::Optional),
                '"' => {
                    for c in chars.by_ref() {
                        if c == '"' {
                            break;
                        }
                        parts.push(Part::Literal(c));
                    }
                }
                '\\' => parts.push(Part::Literal(chars.next()?)),
                // `_x` leaves the width of x: a space is near enough.
                '_' => {
                    chars.next()?;
                    parts.push(Part::Literal(' '));
                }
                '-' | ' ' | '(' | ')' | '+' | '/' | ':' | '$' => parts.push(Part::Literal(c)),
                _ => return None,
            }
        }
        parts.contains(&Part::Zero).then_some(ZeroPad { parts })
    }

    /// `n` as the format shows it: digits fill the placeholders from the
    /// right; digits beyond them go before the leftmost one, as in Excel.
    pub fn render(&self, n: u64, out: &mut String) {
        let digits = n.to_string();
        let mut digits = digits.as_bytes();
        if n == 0 {
            digits = b"";
        }
        let first = self
            .parts
            .iter()
            .position(|p| !matches!(p, Part::Literal(_)));
        let mut reversed: Vec<char> = Vec::new();
        for (i, part) in self.parts.iter().enumerate().rev() {
            match part {
                Part::Literal(c) => reversed.push(*c),
                Part::Zero | Part::Optional => {
                    if Some(i) == first && !digits.is_empty() {
                        reversed.extend(digits.iter().rev().map(|&d| char::from(d)));
                        digits = b"";
                        continue;
                    }
                    match digits.split_last() {
                        Some((&d, rest)) => {
                            reversed.push(char::from(d));
                            digits = rest;
                        }
                        None if *part == Part::Zero => reversed.push('0'),
                        None => {}
                    }
                }
            }
        }
        out.extend(reversed.iter().rev());
    }
}

/// Writes `value` as text into `out` (cleared first); `pad` is the cell's
/// zero-padding format, if any. Returns what the pass should know.
pub fn text_into(
    value: &DataRef<'_>,
    pad: Option<&ZeroPad>,
    out: &mut String,
) -> Option<CellNoteKind> {
    out.clear();
    match value {
        DataRef::Empty => None,
        DataRef::String(s) => {
            out.push_str(s);
            None
        }
        DataRef::SharedString(s) => {
            out.push_str(s);
            None
        }
        DataRef::Bool(b) => {
            out.push_str(if *b { "TRUE" } else { "FALSE" });
            None
        }
        DataRef::Int(i) => number(*i as f64, pad, out),
        DataRef::Float(f) => number(*f, pad, out),
        DataRef::DateTime(dt) => {
            date_time(dt, out);
            None
        }
        DataRef::DateTimeIso(s) => {
            iso_date_time(s, out);
            None
        }
        DataRef::DurationIso(s) => {
            out.push_str(s);
            None
        }
        DataRef::Error(e) => Some(CellNoteKind::Error(error_name(e))),
    }
}

/// The error a cell's text names, when it is exactly one of the
/// spreadsheet error values (`#N/A`, `#DIV/0!`, ...).
pub fn error_literal(text: &str) -> Option<calamine::CellErrorType> {
    use calamine::CellErrorType as E;
    [E::Div0, E::NA, E::Name, E::Null, E::Num, E::Ref, E::Value]
        .into_iter()
        .find(|e| error_name(e) == text)
}

fn error_name(e: &calamine::CellErrorType) -> &'static str {
    use calamine::CellErrorType as E;
    match e {
        E::Div0 => "#DIV/0!",
        E::NA => "#N/A",
        E::Name => "#NAME?",
        E::Null => "#NULL!",
        E::Num => "#NUM!",
        E::Ref => "#REF!",
        E::Value => "#VALUE!",
        E::GettingData => "#DATA!",
    }
}

/// Largest whole number an `f64` holds exactly, below which a whole
/// number is written with all its digits.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn number(f: f64, pad: Option<&ZeroPad>, out: &mut String) -> Option<CellNoteKind> {
    let whole = f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT;
    if let Some(pad) = pad
        && whole
        && f >= 0.0
    {
        pad.render(f as u64, out);
        return None;
    }
    general(f, out);
    Some(CellNoteKind::Number)
}

/// A number as Excel's General format shows it, without the exponent or
/// thousands separators: whole numbers in full, others rounded to 15
/// significant digits (so 0.1 + 0.2 is `0.3`).
pub fn general(f: f64, out: &mut String) {
    if !f.is_finite() {
        return;
    }
    if f.fract() == 0.0 && f.abs() < EXACT {
        let _ = write!(out, "{}", f as i64);
        return;
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    // `Display` of f64 never uses an exponent.
    let _ = write!(out, "{rounded}");
}

fn date_time(dt: &ExcelDateTime, out: &mut String) {
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    if dt.is_duration() {
        let total = (dt.as_f64() * 86_400.0).round() as i64;
        let _ = write!(
            out,
            "{}:{:02}:{:02}",
            total / 3600,
            (total / 60) % 60,
            total % 60
        );
        return;
    }
    let time_only = dt.as_f64() < 1.0 && dt.as_f64() >= 0.0;
    if !time_only {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
        if (h, mi, s) == (0, 0, 0) {
            return;
        }
        out.push(' ');
    }
    let _ = write!(out, "{h:02}:{mi:02}");
    if s != 0 {
        let _ = write!(out, ":{s:02}");
    }
}

/// An ISO 8601 date-time (OpenDocument's own) as the other dates:
/// `2024-03-01`, `2024-03-01 10:30`.
fn iso_date_time(s: &str, out: &mut String) {
    let s = s
        .strip_suffix("T00:00:00")
        .or_else(|| s.strip_suffix("T00:00"))
        .unwrap_or(s);
    let s = s.strip_suffix(":00").filter(|t| t.len() > 13).unwrap_or(s);
    out.push_str(&s.replacen('T', " ", 1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    fn text(value: DataRef<'_>, pad: Option<&str>) -> (String, Option<CellNoteKind>) {
        let pad = pad.and_then(ZeroPad::parse);
        let mut out = String::from("stale");
        let note = text_into(&value, pad.as_ref(), &mut out);
        (out, note)
    }

    #[test]
    fn numbers_as_the_user_sees_them() {
        let number = Some(CellNoteKind::Number);
        assert_eq!(
            text(DataRef::Float(31612345678.0), None),
            ("31612345678".into(), number)
        );
        assert_eq!(text(DataRef::Float(12.0), None), ("12".into(), number));
        assert_eq!(text(DataRef::Int(-7), None), ("-7".into(), number));
        assert_eq!(
            text(DataRef::Float(0.1 + 0.2), None),
            ("0.3".into(), number)
        );
        assert_eq!(text(DataRef::Float(1.5), None), ("1.5".into(), number));
        assert_eq!(text(DataRef::Float(1e21), None).0, "1000000000000000000000");
        // Zero-padding formats keep the zeros, and then nothing is lost.
        assert_eq!(
            text(DataRef::Float(123.0), Some("00000")),
            ("00123".into(), None)
        );
        assert_eq!(
            text(DataRef::Float(123456.0), Some("00000")),
            ("123456".into(), None)
        );
        assert_eq!(
            text(DataRef::Float(0.0), Some("0000")),
            ("0000".into(), None)
        );
        assert_eq!(
            text(DataRef::Float(42.0), Some("\"K\"0000")),
            ("K0042".into(), None)
        );
        assert_eq!(
            text(DataRef::Float(1234.0), Some("000-000")),
            ("001-234".into(), None)
        );
        assert_eq!(text(DataRef::Float(5.0), Some("#0")), ("5".into(), None));
        // Not a padding format, or not a whole number: the General rule.
        assert_eq!(
            text(DataRef::Float(1234.0), Some("#,##0.00")),
            ("1234".into(), number)
        );
        assert_eq!(
            text(DataRef::Float(12.5), Some("00000")),
            ("12.5".into(), number)
        );
        assert_eq!(ZeroPad::parse("General"), None);
        assert_eq!(ZeroPad::parse("@"), None);
        assert_eq!(ZeroPad::parse("0%"), None);
        assert_eq!(ZeroPad::parse("yyyy-mm-dd"), None);
    }

    #[test]
    fn strings_dates_booleans_and_errors() {
        assert_eq!(
            text(DataRef::SharedString(" 0123 "), None),
            (" 0123 ".into(), None)
        );
        assert_eq!(text(DataRef::String("x".into()), None), ("x".into(), None));
        assert_eq!(text(DataRef::Bool(true), None), ("TRUE".into(), None));
        assert_eq!(text(DataRef::Empty, None), (String::new(), None));
        assert_eq!(
            text(DataRef::Error(calamine::CellErrorType::NA), None),
            (String::new(), Some(CellNoteKind::Error("#N/A")))
        );
        let date = |v| DataRef::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        // 2024-03-01 is serial 45352.
        assert_eq!(text(date(45352.0), None).0, "2024-03-01");
        assert_eq!(text(date(45352.5), None).0, "2024-03-01 12:00");
        assert_eq!(text(date(0.75), None).0, "18:00");
        assert_eq!(
            text(DataRef::DateTimeIso("2024-03-01".into()), None).0,
            "2024-03-01"
        );
        assert_eq!(
            text(DataRef::DateTimeIso("2024-03-01T10:30:00".into()), None).0,
            "2024-03-01 10:30"
        );
    }
}
