//! The outcome of one input row: the unit the results file is made of.
//!
//! Owns the status vocabulary of the results contract (DESIGN.md) and the
//! per-status counts. It must not know how outcomes are produced or written.

use std::fmt;

/// Status of one row in the results file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// A new customer was created (201).
    Created,
    /// An existing customer's changed fields were sent with `PATCH`
    /// (`--mode upsert` or `update`).
    Updated,
    /// An existing customer with the code was updated (`--overwrite`).
    Overwritten,
    /// The code already existed; the customer was left alone.
    Exists,
    /// The row broke a local rule; it was not sent.
    Invalid,
    /// The API rejected the row or it could not be delivered.
    Failed,
    /// Not attempted: the run stopped early.
    Skipped,
    /// Dry run: the row would be sent.
    Valid,
    /// Nothing to send: Notify already holds these values (`--mode
    /// upsert`/`update`), or delta mode's last import sent the same payload.
    Unchanged,
    /// `--mode update`: the code is not in Notify, and update mode creates
    /// nothing. Not an error.
    NotFound,
}

impl Status {
    /// Every status, in the order summaries list them.
    pub const ALL: [Status; 10] = [
        Status::Created,
        Status::Updated,
        Status::Overwritten,
        Status::Exists,
        Status::Unchanged,
        Status::NotFound,
        Status::Valid,
        Status::Invalid,
        Status::Failed,
        Status::Skipped,
    ];

    /// The word written in the results file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Overwritten => "overwritten",
            Status::Exists => "exists",
            Status::Invalid => "invalid",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Valid => "valid",
            Status::Unchanged => "unchanged",
            Status::NotFound => "not_found",
        }
    }

    /// True for the statuses that make exit code 0 possible.
    pub const fn is_success(self) -> bool {
        matches!(
            self,
            Status::Created
                | Status::Updated
                | Status::Overwritten
                | Status::Exists
                | Status::Valid
                | Status::Unchanged
                | Status::NotFound
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 1-based data row number.
    pub row: u64,
    /// Physical line where the record starts.
    pub line: u64,
    /// The row's customer code (as normalized), possibly empty.
    pub code: String,
    /// The status.
    pub status: Status,
    /// Notify's id, when known.
    pub customer_id: Option<String>,
    /// HTTP status of the last response, when there was one.
    pub http_status: Option<u16>,
    /// Requests made for this row (creates, updates and searches).
    pub attempts: u32,
    /// Every problem, or the API's message; empty on success.
    pub error: String,
}

impl Outcome {
    /// An outcome with no request made.
    pub fn local(row: u64, line: u64, code: String, status: Status, error: String) -> Outcome {
        Outcome {
            row,
            line,
            code,
            status,
            customer_id: None,
            http_status: None,
            attempts: 0,
            error,
        }
    }
}

/// Rows per status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    counts: [u64; Status::ALL.len()],
}

impl Counts {
    /// Counts one outcome.
    pub fn add(&mut self, status: Status) {
        self.counts[status as usize] += 1;
    }

    /// Counts `rows` outcomes of one status.
    pub fn add_rows(&mut self, status: Status, rows: u64) {
        self.counts[status as usize] += rows;
    }

    /// Rows with `status`.
    pub fn get(&self, status: Status) -> u64 {
        self.counts[status as usize]
    }

    /// All rows counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// True when every row has a success status.
    pub fn all_succeeded(&self) -> bool {
        Status::ALL
            .iter()
            .all(|s| s.is_success() || self.get(*s) == 0)
    }
}
