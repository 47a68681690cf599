//! A row's fate as the planner decides it, and the write mode it is sent
//! with: the message from the plan stage to the uploader.
//!
//! The planner (`plan/`) is its only producer; the uploader executes it as
//! it is. It must hold no logic.

use std::fmt;
use std::time::SystemTime;

use crate::model::outcome::Outcome;

/// How a row is written to Notify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// `POST`: a new code is created; an existing one is left alone
    /// (`exists`).
    #[default]
    Create,
    /// `POST ?Overwrite=true`: the API's own flag, which replaces an
    /// existing customer's fields (Notify advises its update API instead).
    Overwrite,
}

impl WriteMode {
    /// The mode as the command line names it.
    pub const fn as_str(self) -> &'static str {
        match self {
            WriteMode::Create => "create",
            WriteMode::Overwrite => "overwrite",
        }
    }
}

impl fmt::Display for WriteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row as the uploader receives it.
#[derive(Debug)]
pub enum Planned {
    /// Send it.
    Send(Request),
    /// Its outcome is already known (invalid, repeated, done before,
    /// unchanged): nothing is sent.
    Done(Outcome),
}

/// A row to send.
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
    /// An earlier run sent this row and never learned whether it was
    /// created: look the code up before creating, after this time (when
    /// that create can no longer land).
    pub in_doubt: Option<SystemTime>,
    /// How to write it.
    pub mode: WriteMode,
}
