//! The message from the check stage to this one: each row as a request
//! to send or an outcome already known.
//!
//! The planner produces it and
//! delta mode may turn a send into a known outcome. It must hold no logic.

use crate::model::outcome::Outcome;

/// One row as this stage receives it.
#[derive(Debug)]
pub enum Planned {
    /// A valid row: send it.
    Send(Request),
    /// A row whose outcome is already known (invalid).
    Done(Outcome),
}

/// A valid row to send.
#[derive(Debug)]
pub struct Request {
    /// 1-based data row.
    pub row: u64,
    /// Physical line of the record.
    pub line: u64,
    /// Normalized customer code.
    pub code: String,
    /// JSON request body.
    pub body: Vec<u8>,
    /// An earlier run sent this row and never learned the answer: look
    /// the code up before creating.
    pub in_doubt: bool,
    /// Send `Overwrite=true` for this row even without `--overwrite`
    /// (delta mode: the customer exists and its payload changed).
    pub overwrite: bool,
}
