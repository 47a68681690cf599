//! `undo`'s side of the journal: what the undone run changed, read from
//! its journal, and the undo's own journal, so an undo that is killed
//! continues with `undo --resume` without sending anything twice that
//! should not be.
//!
//! Owns [`ChangeReader`] (the rows the run created, updated or may have
//! created, from its `done` and `patch` records, through
//! [`super::resume`]'s reading) and [`UndoJournal`] (JSON lines, mode
//! 0600: an [`UndoHeader`], then a `restore` record with the values
//! about to be sent before each `PATCH`, a `delete` record before each
//! `DELETE`, and a `done` record with each row's outcome) with
//! [`UndoResume`], what an earlier, stopped undo finished and what it had
//! sent without an answer. A `PATCH` whose answer was lost is sent again
//! as journaled (never compared anew: Notify may already hold the old
//! values); a `DELETE` whose answer was lost is sent again (a 404 then
//! means it was deleted). Like the rest of the store it decides nothing.
//!
//! Memory: the undone run's rows are read one at a time (twice: once to
//! count them and note the codes to learn, once to undo them); an undo's
//! own [`UndoResume`] holds the outcomes a stopped undo recorded, as many
//! as it finished.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::format::{self, Header};
use super::{JournalError, Resume, resume};
use crate::model::field::Field;
use crate::model::outcome::Status;
use crate::model::undo::{ChangeKind, RunChange, UndoAction, UndoOutcome};
use crate::util::nofollow;

/// The format version of an undo's journal.
const VERSION: u32 = 1;

/// What the undone run changed in Notify, one row at a time in row
/// order, from its journal (its `journal.done`, or the `journal` of a
/// run that stopped). Rows the run left as they were (unchanged, exists,
/// not found, invalid, refused) are not in it. Flat in memory: the
/// journal's outcomes are read back sorted on disk ([`Resume`]), and
/// lines and codes the journal lacks come from the run's results file,
/// read alongside.
pub struct ChangeReader {
    header: Header,
    resume: Resume,
    /// Codes of rows without a final outcome (from `patch` and `send`
    /// records): as many as were unfinished.
    codes: HashMap<u64, String>,
    compared: bool,
    row: u64,
    path: PathBuf,
    results: Option<ResultsLines>,
    lands_by: Option<SystemTime>,
}

impl std::fmt::Debug for ChangeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChangeReader({}, row {})", self.path.display(), self.row)
    }
}

impl ChangeReader {
    /// Opens the journal at `path`; `results` is the run's results file
    /// (it may be missing: a killed run has none).
    pub fn open(path: &Path, results: &Path) -> Result<ChangeReader, JournalError> {
        let codes = unfinished_codes(path)?;
        let (header, resume) = resume::load(path).map(|(h, r, _)| (h, r))?;
        let compared = matches!(header.write_mode(), "upsert" | "update");
        // The run's own --timeout (the default where its journal is older).
        let timeout = std::time::Duration::from_millis(header.timeout_ms.unwrap_or(30_000));
        let lands_by = (resume.in_doubt_rows() > 0)
            .then(|| resume.lands_by(timeout))
            .flatten();
        Ok(ChangeReader {
            header,
            resume,
            codes,
            compared,
            row: 0,
            path: path.to_owned(),
            results: ResultsLines::open(results),
            lands_by,
        })
    }

    /// The journal's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// For a run that stopped with creates whose answer never came: after
    /// when none of them can land any more (before that, a look-up could
    /// miss a customer still being made).
    pub fn lands_by(&self) -> Option<SystemTime> {
        self.lands_by
    }

    /// The next row the run changed (or may have), if any.
    pub fn next_change(&mut self) -> Result<Option<RunChange>, JournalError> {
        while self.row < self.header.rows {
            self.row += 1;
            let row = self.row;
            let finished = self
                .resume
                .finished(row)
                .map_err(|e| JournalError::io(&self.path, e))?;
            let update = self.resume.update(row);
            let in_doubt = self.resume.is_in_doubt(row);
            let compared = self.compared;
            let (mut line, mut code) = finished
                .as_ref()
                .map(|o| (o.line, o.code.clone()))
                .unwrap_or_default();
            let kind = match (finished, update) {
                (Some(o), None) => match (o.status, o.customer_id) {
                    (Status::Created, Some(id)) => ChangeKind::Created { id },
                    (Status::Overwritten, Some(id)) => ChangeKind::Overwritten { id },
                    (Status::Created | Status::Overwritten, None) => {
                        ChangeKind::CreateInDoubt { compared }
                    }
                    _ => continue,
                },
                // A refused PATCH (4xx) changed nothing.
                (Some(o), Some(_)) if o.status != Status::Updated => continue,
                (Some(_), Some(update)) => ChangeKind::Updated {
                    id: update.id,
                    changes: update.changes,
                    confirmed: true,
                },
                (None, Some(update)) => ChangeKind::Updated {
                    id: update.id,
                    changes: update.changes,
                    confirmed: false,
                },
                (None, None) if in_doubt => ChangeKind::CreateInDoubt { compared },
                (None, None) => continue,
            };
            if code.is_empty() {
                // No outcome: the code its patch or send record names.
                code = self.codes.remove(&row).unwrap_or_default();
            }
            if (line == 0 || code.is_empty())
                && let Some((l, c)) = self.results.as_mut().and_then(|r| r.get(row))
            {
                if line == 0 {
                    line = l;
                }
                if code.is_empty() {
                    code = c;
                }
            }
            return Ok(Some(RunChange {
                row,
                line,
                code,
                kind,
            }));
        }
        Ok(None)
    }
}

/// The codes named by `patch` and `send` records of rows that have no
/// final outcome after them (their `done` record names the code).
fn unfinished_codes(path: &Path) -> Result<HashMap<u64, String>, JournalError> {
    #[derive(Deserialize)]
    struct Named {
        r: u64,
        c: String,
    }
    #[derive(Deserialize)]
    struct Done {
        r: u64,
        s: String,
    }
    let io = |source| JournalError::io(path, source);
    let mut codes = HashMap::new();
    let reader = BufReader::new(crate::util::run_dir::open_read(path).map_err(io)?);
    for line in reader.split(b'\n') {
        let line = line.map_err(io)?;
        let named = line.starts_with(br#"{"t":"patch""#) || line.starts_with(br#"{"t":"send""#);
        if named && let Ok(p) = serde_json::from_slice::<Named>(&line) {
            codes.insert(p.r, p.c);
        } else if line.starts_with(br#"{"t":"done""#)
            && let Ok(d) = serde_json::from_slice::<Done>(&line)
            && !matches!(d.s.as_str(), "failed" | "skipped")
        {
            codes.remove(&d.r);
        }
    }
    Ok(codes)
}

/// The undone run's results file, read alongside the rows: each row's
/// line and code.
struct ResultsLines {
    reader: csv::Reader<File>,
    record: csv::StringRecord,
    /// The row of `record`, once read.
    at: Option<u64>,
}

impl ResultsLines {
    fn open(path: &Path) -> Option<ResultsLines> {
        Some(ResultsLines {
            reader: csv::Reader::from_path(path).ok()?,
            record: csv::StringRecord::new(),
            at: None,
        })
    }

    /// Line and code of `row` (rows asked in increasing order).
    fn get(&mut self, row: u64) -> Option<(u64, String)> {
        loop {
            if let Some(at) = self.at {
                if at == row {
                    let line = self.record.get(1).and_then(|l| l.parse().ok()).unwrap_or(0);
                    return Some((line, self.record.get(2).unwrap_or_default().to_owned()));
                }
                if at > row {
                    return None;
                }
            }
            if !self.reader.read_record(&mut self.record).ok()? {
                return None;
            }
            self.at = self.record.get(0).and_then(|r| r.parse().ok());
        }
    }
}

/// What an undo is, for deciding whether its journal may be continued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoHeader {
    /// Undo journal format version.
    pub undo: u32,
    /// The undone run's folder, as given (made absolute).
    pub of: PathBuf,
    /// The API base URL.
    pub api_url: String,
    /// `test` or `live`.
    pub key_kind: String,
    /// `--force`: conflicts restored too.
    pub force: bool,
    /// Rows the undone run changed.
    pub rows: u64,
    /// When the undo started, seconds since the Unix epoch.
    pub started_unix: u64,
}

impl UndoHeader {
    /// A header for a new undo of the run in `of`.
    pub fn new(of: &Path, api_url: &str, key_kind: &str, force: bool, rows: u64) -> UndoHeader {
        UndoHeader {
            undo: VERSION,
            of: of.to_owned(),
            api_url: api_url.to_owned(),
            key_kind: key_kind.to_owned(),
            force,
            rows,
            started_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// The header of the undo journal at `path`; `None` when it is not one.
    pub fn read(path: &Path) -> Option<UndoHeader> {
        let mut line = Vec::new();
        BufReader::new(crate::util::run_dir::open_read(path).ok()?)
            .read_until(b'\n', &mut line)
            .ok()?;
        serde_json::from_slice(line.strip_suffix(b"\n")?).ok()
    }
}

/// One line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Record {
    /// A `PATCH` of customer `id` (row `r`) with these fields' values is
    /// about to be sent.
    Restore {
        r: u64,
        id: String,
        f: BTreeMap<String, String>,
    },
    /// A `DELETE` of customer `id` (row `r`) is about to be sent.
    Delete { r: u64, id: String },
    /// Row `r`'s outcome.
    Done {
        r: u64,
        l: u64,
        c: String,
        a: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        id: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        d: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cf: Vec<(String, String, String)>,
    },
}

/// A request an earlier undo sent (or was about to) without recording
/// its outcome: sent again as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The `PATCH` of customer `id` with these values.
    Restore {
        /// Notify's customer id.
        id: String,
        /// The fields and values sent.
        fields: Vec<(Field, String)>,
    },
    /// The `DELETE` of customer `id`.
    Delete {
        /// Notify's customer id.
        id: String,
    },
}

/// What an earlier, stopped undo did: outcomes that end a row for good,
/// and requests sent without an outcome. As large as the rows the undone
/// run changed (not its input).
#[derive(Debug, Default)]
pub struct UndoResume {
    /// Final outcomes by row.
    pub done: BTreeMap<u64, UndoOutcome>,
    /// Requests without an outcome, by row.
    pub pending: HashMap<u64, Pending>,
}

/// An undo's open journal, appending. Every record is one `write`, on
/// disk for any later process before the request it announces goes out
/// (a kill loses nothing); it is synced against power loss at most
/// [`SYNC_EVERY`] after it was written, and on [`UndoJournal::close`].
#[derive(Debug)]
pub struct UndoJournal {
    path: PathBuf,
    file: Mutex<(File, std::time::Instant)>,
}

/// How long a record may wait for its sync (one `fsync` a record would
/// cap an undo at a few hundred rows a second).
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

impl UndoJournal {
    /// Starts a new journal with `header`; the file must be new.
    pub fn create(path: &Path, header: &UndoHeader) -> Result<UndoJournal, JournalError> {
        let io = |source| JournalError::io(path, source);
        let mut file = nofollow::create_new(path).map_err(|e| io(e.into()))?;
        file.write_all(&format::line(header).map_err(io)?)
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(UndoJournal {
            path: path.to_owned(),
            file: Mutex::new((file, std::time::Instant::now())),
        })
    }

    /// Reads the journal at `path` and opens it for appending (a torn
    /// last line is cut).
    pub fn resume(path: &Path) -> Result<(UndoJournal, UndoHeader, UndoResume), JournalError> {
        let io = |source| JournalError::io(path, source);
        let corrupt = |line: usize, message: String| JournalError::Corrupt {
            path: path.to_owned(),
            line,
            message,
        };
        let mut header: Option<UndoHeader> = None;
        let mut state = UndoResume::default();
        let valid_len = super::each_line(path, |n, text| {
            if header.is_none() {
                header = Some(
                    serde_json::from_slice(text)
                        .map_err(|e| corrupt(n, format!("not an undo journal header ({e})")))?,
                );
                return Ok(());
            }
            let record: Record = serde_json::from_slice(text)
                .map_err(|e| corrupt(n, format!("unreadable record ({e})")))?;
            match record {
                Record::Restore { r, id, f } => {
                    let fields = f
                        .into_iter()
                        .map(|(name, v)| Field::from_api_name(&name).map(|f| (f, v)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| corrupt(n, "a field this tool does not know".into()))?;
                    state.pending.insert(r, Pending::Restore { id, fields });
                }
                Record::Delete { r, id } => {
                    state.pending.insert(r, Pending::Delete { id });
                }
                Record::Done {
                    r,
                    l,
                    c,
                    a,
                    id,
                    d,
                    cf,
                } => {
                    let action = UndoAction::parse(&a)
                        .ok_or_else(|| corrupt(n, format!("unknown action {a:?}")))?;
                    state.pending.remove(&r);
                    if action.is_final() {
                        state.done.insert(
                            r,
                            UndoOutcome {
                                row: r,
                                line: l,
                                code: c,
                                action,
                                customer_id: id,
                                detail: d,
                                conflicts: cf,
                            },
                        );
                    }
                }
            }
            Ok(())
        })?;
        let header = header.ok_or_else(|| corrupt(1, "empty journal".into()))?;
        let mut file = nofollow::open(path, false).map_err(|e| io(e.into()))?;
        file.set_len(valid_len).map_err(io)?;
        file.seek(io::SeekFrom::End(0)).map_err(io)?;
        let journal = UndoJournal {
            path: path.to_owned(),
            file: Mutex::new((file, std::time::Instant::now())),
        };
        Ok((journal, header, state))
    }

    /// Records the `PATCH` about to restore `fields` of customer `id`.
    pub fn restoring(
        &self,
        row: u64,
        id: &str,
        fields: &[(Field, String)],
    ) -> Result<(), JournalError> {
        self.append(&Record::Restore {
            r: row,
            id: id.to_owned(),
            f: fields
                .iter()
                .map(|(f, v)| (f.api_name().to_owned(), v.clone()))
                .collect(),
        })
    }

    /// Records the `DELETE` about to remove customer `id`.
    pub fn deleting(&self, row: u64, id: &str) -> Result<(), JournalError> {
        self.append(&Record::Delete {
            r: row,
            id: id.to_owned(),
        })
    }

    /// Records a row's outcome (a `skipped` one is not recorded).
    pub fn outcome(&self, o: &UndoOutcome) -> Result<(), JournalError> {
        if o.action == UndoAction::Skipped {
            return Ok(());
        }
        self.append(&Record::Done {
            r: o.row,
            l: o.line,
            c: o.code.clone(),
            a: o.action.as_str().to_owned(),
            id: o.customer_id.clone(),
            d: crate::util::redact::scrub(&o.detail).into_owned(),
            cf: o.conflicts.clone(),
        })
    }

    fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::io(&self.path, source);
        let line = format::line(record).map_err(io)?;
        let mut guard = self
            .file
            .lock()
            .map_err(|_| io(io::Error::other("journal lock poisoned")))?;
        let (file, synced) = &mut *guard;
        // One write a record: a kill leaves whole lines and at most one torn.
        file.write_all(&line).map_err(io)?;
        if synced.elapsed() >= SYNC_EVERY {
            file.sync_data().map_err(io)?;
            *synced = std::time::Instant::now();
        }
        Ok(())
    }

    /// Syncs what was written.
    pub fn close(&self) -> Result<(), JournalError> {
        let io = |source| JournalError::io(&self.path, source);
        let guard = self
            .file
            .lock()
            .map_err(|_| io(io::Error::other("journal lock poisoned")))?;
        guard.0.sync_all().map_err(io)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_undo_reads_back_its_outcomes_and_what_it_sent_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let header = UndoHeader::new(
            Path::new("/r/k.runs/x"),
            "http://127.0.0.1:1/v2",
            "test",
            false,
            3,
        );
        let j = UndoJournal::create(&path, &header).unwrap();
        j.deleting(1, "id-1").unwrap();
        j.outcome(&UndoOutcome {
            row: 1,
            line: 2,
            code: "K1".into(),
            action: UndoAction::Deleted,
            customer_id: "id-1".into(),
            detail: String::new(),
            conflicts: Vec::new(),
        })
        .unwrap();
        j.restoring(2, "id-2", &[(Field::City, "Ede".into())])
            .unwrap();
        j.deleting(3, "id-3").unwrap();
        drop(j);
        // A torn last line, as a kill mid-write leaves.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(br#"{"t":"done","r":3"#)
            .unwrap();
        let (j, h, state) = UndoJournal::resume(&path).unwrap();
        assert_eq!(h, header);
        assert_eq!(state.done.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(
            state.pending.get(&2),
            Some(&Pending::Restore {
                id: "id-2".into(),
                fields: vec![(Field::City, "Ede".into())]
            })
        );
        assert_eq!(
            state.pending.get(&3),
            Some(&Pending::Delete { id: "id-3".into() })
        );
        j.deleting(3, "id-3").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("{\"t\":\"delete\",\"r\":3,\"id\":\"id-3\"}\n"),
            "{text}"
        );
    }
}
