//! A row's fate as the planner decides it, and the write mode it is sent
//! with: the message from the plan stage to the uploader.
//!
//! The planner (`plan/`) is its only producer; the uploader executes it as
//! it is. It must hold no logic.

use std::fmt;
use std::time::SystemTime;

use crate::model::field::Field;
use crate::model::outcome::Outcome;

/// How a row is written to Notify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// `POST`: a new code is created; an existing one is left alone
    /// (`exists`).
    #[default]
    Create,
    /// New codes are created (`POST`); for a code Notify has, only the
    /// fields whose value differs are sent (`PATCH`), and nothing at all
    /// when none does (`unchanged`).
    Upsert,
    /// As [`WriteMode::Upsert`], but a code Notify does not have is not
    /// created (`not_found`).
    Update,
    /// `POST ?Overwrite=true`: the API's own flag, which replaces an
    /// existing customer's fields (Notify advises its update API instead).
    Overwrite,
}

impl WriteMode {
    /// Every mode, as `--mode` lists them.
    pub const ALL: [WriteMode; 4] = [
        WriteMode::Create,
        WriteMode::Upsert,
        WriteMode::Update,
        WriteMode::Overwrite,
    ];

    /// The mode as the command line names it.
    pub const fn as_str(self) -> &'static str {
        match self {
            WriteMode::Create => "create",
            WriteMode::Upsert => "upsert",
            WriteMode::Update => "update",
            WriteMode::Overwrite => "overwrite",
        }
    }

    /// The mode `--mode` names.
    pub fn parse(name: &str) -> Option<WriteMode> {
        WriteMode::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// True for the modes that compare each row with what Notify holds
    /// (so an import learns Notify's customers before planning).
    pub const fn compares(self) -> bool {
        matches!(self, WriteMode::Upsert | WriteMode::Update)
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
    /// unchanged, not found): nothing is sent.
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
    /// An earlier run sent a create for this row and never learned whether
    /// it was created: look the code up before creating, after this time
    /// (when that create can no longer land).
    pub in_doubt: Option<SystemTime>,
    /// What to send.
    pub write: Write,
}

/// The request a row is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// `POST /customers`, the whole row.
    Create {
        /// JSON request body.
        body: Vec<u8>,
        /// `?Overwrite=true` (`--mode overwrite`).
        overwrite: bool,
        /// The customer Notify holds with the code, when the plan knew
        /// it had one (an overwrite): its id and the fields the write
        /// changes.
        existing: Option<Update>,
    },
    /// `PATCH /customers/{id}` with the changed fields only.
    Update(Update),
}

/// An update of one customer Notify holds: its id and each changed field
/// with the value it had (the before-image) and the value sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Notify's customer id.
    pub id: String,
    /// The changed fields, in field order; never empty.
    pub changes: Vec<FieldChange>,
}

/// One field a `PATCH` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field.
    pub field: Field,
    /// Notify's value before (as Notify returned it; `""` when unset).
    pub old: String,
    /// The value sent (`""` clears it: `--clear-empty`).
    pub new: String,
}

impl Update {
    /// The `PATCH` body: the changed fields with their documented
    /// PascalCase names, `""` included (it clears the field).
    pub fn body(&self) -> Vec<u8> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .changes
            .iter()
            .map(|c| (c.field.api_name().to_owned(), c.new.clone().into()))
            .collect();
        serde_json::to_vec(&map).unwrap_or_default()
    }
}
