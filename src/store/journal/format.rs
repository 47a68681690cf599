//! The journal's format on disk: one JSON object a line, the header first,
//! then one record per line.
//!
//! Owns the [`Header`] (the input's [`Fingerprint`], target API, key kind,
//! never the key, and the options that change outcomes), the records (`send`
//! before a create goes out, `patch` with the before-image before an update
//! goes out, `done` with a row's final outcome), and how each becomes a
//! line and is read back. It must not open files, decide
//! what a record means for a run (that is [`super::resume`]) or decide
//! anything about rows.

use std::collections::BTreeMap;
use std::io;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::field::Field;
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::{FieldChange, Update};

/// The format version this tool writes and can continue.
pub(super) const VERSION: u32 = 1;

/// Size and content hash of the input, as its one pass parsed it.
pub use crate::model::checked::Fingerprint;

/// What a run is, for deciding whether a journal may be continued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Journal format version.
    pub journal: u32,
    /// The input file's fingerprint.
    pub input: Fingerprint,
    /// The API base URL.
    pub api_url: String,
    /// `test` or `live`.
    pub key_kind: String,
    /// Whether the run sends `Overwrite=true`.
    pub overwrite: bool,
    /// The write mode (`create`, `upsert`, `update`, `overwrite`). Absent
    /// in older journals, whose mode `overwrite` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `--clear-empty`: blank cells clear Notify's values.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_empty: bool,
    /// Data rows in the input.
    pub rows: u64,
    /// When the journal was started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Sent to the embedded sandbox, whose data ends with the process: such
    /// a run can never be resumed. Absent (false) in older journals.
    #[serde(default)]
    pub sandbox: bool,
    /// The run's `--timeout` in milliseconds: a resumed run waits for this
    /// run's creates at least as long as this run would have. Absent in
    /// older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// How the columns were mapped: `--mapping` (with its content's hash)
    /// and `--map`, as words, or `the default mapping` without either. A
    /// resumed run must map them alike. Absent in older journals (not
    /// compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
}

impl Header {
    /// A header for a new run.
    pub fn new(
        input: Fingerprint,
        api_url: &str,
        key_kind: &str,
        overwrite: bool,
        rows: u64,
    ) -> Header {
        let started_unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Header {
            journal: VERSION,
            input,
            api_url: api_url.to_owned(),
            key_kind: key_kind.to_owned(),
            overwrite,
            mode: None,
            clear_empty: false,
            rows,
            started_unix,
            sandbox: false,
            timeout_ms: None,
            mapping: None,
        }
    }

    /// Why `self` (the journal on disk) cannot be continued by a run that
    /// would write `now`; `None` when it can.
    pub fn mismatch(&self, now: &Header) -> Option<String> {
        if self.sandbox {
            return Some(
                "that run sent to the embedded sandbox, which ended with it; start a new run with --restart".into(),
            );
        }
        if self.journal != now.journal {
            return Some(format!(
                "it was written by journal format {}, this tool writes {}",
                self.journal, now.journal
            ));
        }
        if self.input != now.input {
            return Some(format!(
                "the input file changed since that run ({} bytes then, {} now, different content); import the new file without --resume: a new run starts and leaves that one as it is",
                self.input.size, now.input.size
            ));
        }
        if let (Some(then), Some(now)) = (&self.mapping, &now.mapping)
            && then != now
        {
            return Some(format!(
                "that run mapped the columns with {then}, this one with {now}; give the same --mapping and --map as that run"
            ));
        }
        if self.api_url != now.api_url {
            return Some(format!(
                "that run sent to {}, this one would send to {}",
                self.api_url, now.api_url
            ));
        }
        if self.key_kind != now.key_kind {
            return Some(format!(
                "that run used a {} key, this one a {} key",
                self.key_kind, now.key_kind
            ));
        }
        if self.write_mode() != now.write_mode() {
            return Some(format!(
                "that run ran with --mode {}, this one with --mode {}",
                self.write_mode(),
                now.write_mode()
            ));
        }
        if self.clear_empty != now.clear_empty {
            let flag = |on: bool| if on { "with" } else { "without" };
            return Some(format!(
                "that run ran {} --clear-empty, this one {}",
                flag(self.clear_empty),
                flag(now.clear_empty)
            ));
        }
        None
    }

    /// The run's write mode, as `--mode` names it (an older journal's
    /// from its `overwrite`).
    pub fn write_mode(&self) -> &str {
        match &self.mode {
            Some(mode) => mode,
            None if self.overwrite => "overwrite",
            None => "create",
        }
    }

    /// Reads a header from its line (without the newline).
    pub(super) fn parse(line: &[u8]) -> Result<Header, String> {
        serde_json::from_slice(line)
            .map_err(|e| format!("not a notify-import journal header ({e})"))
    }
}

/// One line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub(super) enum Record {
    /// A create request for row `r` (code `c`) is about to be sent, at
    /// `at` (milliseconds since the Unix epoch; absent in older journals):
    /// a resumed run looks the code up only once that request can no
    /// longer land.
    Send {
        r: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
        /// The row's code, so a later run of a changed file can look it
        /// up (absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        c: Option<String>,
    },
    /// No create of row `r` sent so far can have gone through (each was
    /// refused, rate limited or rejected, or a look-up found nothing):
    /// unless it is sent again, a resumed run need not look it up.
    Clear { r: u64 },
    /// A create of row `r` got an answer that does not prove nothing was
    /// created; that create can no longer land after `by` (milliseconds
    /// since the Unix epoch).
    Lands { r: u64, by: u64 },
    /// Row `r` (code `c`) comes to this run in doubt: an earlier run's
    /// create of its code may have gone through, and can no longer land
    /// after `by` (milliseconds since the Unix epoch). Read as a send
    /// whose answer proved nothing: looked up before anything is sent.
    Doubt { r: u64, c: String, by: u64 },
    /// An update of row `r` is about to be sent: `PATCH` of customer `id`
    /// (code `c`) changing each field of `ch` from its value in Notify
    /// before the run (`old`, the before-image) to `new`. Written before
    /// every such request; a resumed run sends this update again rather
    /// than comparing anew (Notify may already hold `new`).
    Patch {
        r: u64,
        c: String,
        id: String,
        ch: BTreeMap<String, Change>,
    },
    /// The final outcome of row `r`.
    Done {
        r: u64,
        l: u64,
        c: String,
        s: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        h: Option<u16>,
        a: u32,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        e: String,
    },
}

impl Record {
    /// The `done` record of an outcome.
    pub(super) fn done(o: &Outcome) -> Record {
        Record::Done {
            r: o.row,
            l: o.line,
            c: o.code.clone(),
            s: o.status.as_str().to_owned(),
            id: o.customer_id.clone(),
            h: o.http_status,
            a: o.attempts,
            e: o.error.clone(),
        }
    }

    /// Reads a record from its line (without the newline).
    pub(super) fn parse(line: &[u8]) -> Result<Record, String> {
        serde_json::from_slice(line).map_err(|e| format!("unreadable record ({e})"))
    }

    /// The row the record is about.
    pub(super) fn row(&self) -> u64 {
        match self {
            Record::Send { r, .. }
            | Record::Clear { r }
            | Record::Patch { r, .. }
            | Record::Lands { r, .. }
            | Record::Doubt { r, .. }
            | Record::Done { r, .. } => *r,
        }
    }

    /// The outcome a `done` record holds; `None` for a `send`. A status
    /// this tool no longer knows reads as `failed`.
    pub(super) fn into_outcome(self) -> Option<Outcome> {
        let Record::Done {
            r,
            l,
            c,
            s,
            id,
            h,
            a,
            e,
        } = self
        else {
            return None;
        };
        Some(Outcome {
            row: r,
            line: l,
            code: c,
            status: parse_status(&s).unwrap_or(Status::Failed),
            customer_id: id,
            http_status: h,
            attempts: a,
            error: e,
        })
    }
}

/// One field of a `patch` record: its value before and the value sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Change {
    pub old: String,
    pub new: String,
}

impl Record {
    /// The `patch` record of an update of row `row` (code `code`).
    pub(super) fn patch(row: u64, code: &str, update: &Update) -> Record {
        Record::Patch {
            r: row,
            c: code.to_owned(),
            id: update.id.clone(),
            ch: update
                .changes
                .iter()
                .map(|c| {
                    let change = Change {
                        old: c.old.clone(),
                        new: c.new.clone(),
                    };
                    (c.field.api_name().to_owned(), change)
                })
                .collect(),
        }
    }

    /// The update a `patch` record describes; `None` for other records,
    /// or one naming a field this tool does not know.
    pub(super) fn into_update(self) -> Option<Update> {
        let Record::Patch { id, ch, .. } = self else {
            return None;
        };
        let mut changes = ch
            .into_iter()
            .map(|(name, c)| {
                Field::from_api_name(&name).map(|field| FieldChange {
                    field,
                    old: c.old,
                    new: c.new,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        changes.sort_by_key(|c| c.field);
        Some(Update { id, changes })
    }
}

/// A header or a record as one line: JSON and a newline, so that one
/// `write` call puts it on disk whole or (killed mid-write) torn.
pub(super) fn line(value: &impl Serialize) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    Ok(line)
}

/// `time` as a `send` record holds it: milliseconds since the Unix epoch.
pub(super) fn millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time a `send` record's `at` names.
pub(super) fn from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

/// The status a record names.
pub(super) fn parse_status(s: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|st| st.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{done, header};
    use super::*;

    #[test]
    fn header_mismatches_are_explained() {
        let a = header();
        let mut b = header();
        b.overwrite = true;
        assert!(a.mismatch(&b).unwrap().contains("--mode overwrite"));
        let mut upsert = header();
        upsert.mode = Some("upsert".into());
        assert_eq!(
            a.mismatch(&upsert).unwrap(),
            "that run ran with --mode create, this one with --mode upsert"
        );
        let mut clearing = upsert.clone();
        clearing.clear_empty = true;
        assert!(
            upsert
                .mismatch(&clearing)
                .unwrap()
                .contains("--clear-empty")
        );
        let mut c = header();
        c.input.size = 11;
        assert!(a.mismatch(&c).unwrap().contains("input file changed"));
        let mut d = header();
        d.mapping = Some("--map Name=Firma".into());
        assert_eq!(a.mismatch(&d), None, "an older journal does not say");
        let mut e = header();
        e.mapping = Some("default".into());
        let why = e.mismatch(&d).unwrap();
        assert!(
            why.contains("--map Name=Firma") && why.contains("default"),
            "{why}"
        );
        assert!(a.mismatch(&header()).is_none());
    }

    #[test]
    fn a_done_record_reads_back_as_the_same_outcome_in_one_line() {
        let mut o = done(7, Status::Failed, Some(422));
        o.error = "Name: is required".into();
        let bytes = line(&Record::done(&o)).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(bytes.ends_with(b"\n"));
        let back = Record::parse(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(back.row(), 7);
        assert_eq!(back.into_outcome(), Some(o));
        assert!(
            Record::Send {
                r: 3,
                at: None,
                c: None
            }
            .into_outcome()
            .is_none()
        );
    }

    #[test]
    fn an_unknown_status_reads_as_failed_and_a_bad_line_says_what_it_is() {
        let rec =
            Record::parse(br#"{"t":"done","r":1,"l":2,"c":"C1","s":"zapped","a":1}"#).unwrap();
        assert_eq!(rec.into_outcome().map(|o| o.status), Some(Status::Failed));
        assert!(
            Record::parse(b"not json")
                .unwrap_err()
                .contains("unreadable record")
        );
        assert!(
            Header::parse(b"{}")
                .unwrap_err()
                .contains("not a notify-import journal header")
        );
    }
}
