//! One broken rule of a row: what the check finds and every later stage
//! reports (results, errors file, summary).
//!
//! It must hold no rules itself; `check/` decides what is a problem.

use std::fmt;

use crate::model::field::Field;

/// One broken rule of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field concerned; `None` for a problem of the row as a whole.
    pub field: Option<Field>,
    /// What is wrong, phrased to follow the field name.
    pub message: String,
    /// The message as the summary groups it, when the default (numbers
    /// and quoted values left out) would hide a constant such as a limit.
    pub kind: Option<String>,
}

impl Problem {
    /// A problem with one field.
    pub fn new(field: Field, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field),
            message: message.into(),
            kind: None,
        }
    }

    /// A problem with the row as a whole.
    pub fn row(message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            message: message.into(),
            kind: None,
        }
    }

    /// A record whose field count differs from the header's.
    pub fn field_count(found: usize, header: usize) -> Problem {
        Problem::row(format!("has {found} fields, the header has {header}")).with_kind(format!(
            "has more or fewer fields than the header's {header}"
        ))
    }

    /// Sets how the summary groups this problem (see [`Problem::kind`]).
    pub fn with_kind(mut self, kind: impl Into<String>) -> Problem {
        self.kind = Some(kind.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
