//! One broken rule of a row: what the check finds and every later stage
//! reports (results, errors file, run header), and which rule it is
//! ([`ProblemKind`]), so problems are counted by kind, not by their text.
//!
//! It must hold no rules itself: `check/` (and the mapping, for rows that
//! do not line up with the header) decides what is a problem and words it.

use std::fmt;

use crate::model::field::Field;

/// One broken rule of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field concerned; `None` for a problem of the row as a whole.
    pub field: Option<Field>,
    /// Which rule: what the run header counts rows by, with the field.
    pub kind: ProblemKind,
    /// What is wrong in this row, phrased to follow the field name.
    pub message: String,
}

/// Which rule a [`Problem`] breaks: one variant per rule, carrying what the
/// run header shows of it for every row of the kind (a limit, the header's
/// width), never a row's own values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// A field that must have a value has none (`CustomerCode`, `Name`).
    Required,
    /// Longer than the documented maximum, counted in characters.
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// A country no table knows. The message starts with the value as read,
    /// quoted.
    UnknownCountry,
    /// Not one bare e-mail address with a dotted domain. The message starts
    /// with the value as read, quoted.
    BadEmail(EmailFault),
    /// Not a phone number.
    BadPhone(PhoneFault),
    /// The record has more or fewer fields than the header.
    FieldCount {
        /// Fields in the header.
        header: usize,
    },
    /// A value under the header's unnamed last column (a shifted row).
    UnnamedColumn,
    /// A value in a column that was passed over for an equal one because
    /// it was empty in the first rows.
    SetAside {
        /// The 0-based column set aside.
        column: usize,
    },
    /// The customer code repeats an earlier row's; only the first is sent.
    Repeated,
    /// A character no customer's value holds on purpose, which would be
    /// sent silently.
    OddCharacter(OddCharacter),
}

/// Which character ([`ProblemKind::OddCharacter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OddCharacter {
    /// U+FFFD, what decoding put in place of what it could not decode (a
    /// lone UTF-16 surrogate, a byte invalid in the file's encoding).
    Undecodable,
    /// U+0000, a NUL byte.
    Nul,
}

/// What is wrong with an e-mail address ([`ProblemKind::BadEmail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmailFault {
    /// A display name or angle brackets around the address.
    DisplayName,
    /// No `@`.
    MissingAt,
    /// Nothing before the `@`.
    EmptyLocalPart,
    /// Nothing after the `@`.
    EmptyDomain,
    /// A domain without an ending such as `.nl`.
    NoTopLevelDomain,
    /// More than 64 characters before the `@`.
    LocalPartTooLong,
    /// A domain (or one of its parts) too long.
    DomainTooLong,
    /// An empty part in the domain (two dots in a row, a dot at an end).
    EmptyDomainPart,
    /// An IP address as the domain.
    IpAddress,
    /// More than one address in the cell.
    SeveralAddresses,
    /// A space in the address.
    Space,
    /// Another character an address cannot hold.
    Character,
}

/// What is wrong with a phone number ([`ProblemKind::BadPhone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhoneFault {
    /// A `+` after a digit, or a second one.
    MisplacedPlus,
    /// A character a phone number cannot hold (the first one found).
    Character(char),
    /// Too few digits to be a number the customer can be reached on.
    TooFewDigits,
}

impl Problem {
    /// A problem with one field.
    pub fn new(field: Field, kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field),
            kind,
            message: message.into(),
        }
    }

    /// A problem with the row as a whole.
    pub fn row(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            field: None,
            kind,
            message: message.into(),
        }
    }

    /// A record whose field count differs from the header's.
    pub fn field_count(found: usize, header: usize) -> Problem {
        Problem::row(
            ProblemKind::FieldCount { header },
            format!("has {found} fields, the header has {header}"),
        )
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
