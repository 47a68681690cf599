//! One input row after the pass: where it sits, its original cells and
//! what the check made of it. The pass produces it; the planner and the
//! errors file consume it (an import keeps them on disk in between).
//!
//! It must hold no rules: `check/` decides the verdict.

use csv::StringRecord;

/// What the check made of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It broke a local rule: not sent; the problems as the results file
    /// shows them.
    Invalid(String),
    /// It may be sent: the JSON body.
    Valid(Vec<u8>),
}

/// One checked input row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedRow {
    /// 1-based data row.
    pub row: u64,
    /// Physical line where the record starts.
    pub line: u64,
    /// Normalized customer code, possibly empty.
    pub code: String,
    /// The original cells as decoded (for the errors file).
    pub cells: StringRecord,
    /// The check's verdict.
    pub verdict: Verdict,
}

/// The size and content hash of an input, as it was parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// xxh3-128 of the bytes, as 32 hex digits.
    pub hash: String,
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict::Invalid(String::new())
    }
}
