//! The journal: an append-only log of every send and every final outcome,
//! so a crash, a kill or Ctrl-C loses nothing that `--resume` cannot
//! recover, and no customer is ever created twice.
//!
//! Owns the journal file of a run folder (JSON lines, mode 0600): a header with
//! the input fingerprint, target API, key kind (never the key) and the
//! options that change outcomes; then one `send` record written *before*
//! each create request, and one `done` record per final outcome written
//! before the outcome is reported. Each record is one `write` call, so a
//! killed process leaves at most a torn last line, which loading ignores;
//! a background thread fsyncs in small batches (every 200 ms) against power
//! loss. Loading for `--resume` keeps two bits a row and sorts the recorded
//! outcomes by row on disk ([`crate::util::spill`]), so memory stays flat. It
//! must not decide outcomes or talk to the network.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::model::outcome::{Outcome, Status};
use crate::util::spill::{self, Sorted, Spill};

const VERSION: u32 = 1;
const SYNC_EVERY: Duration = Duration::from_millis(200);

/// Size and content hash of the input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// xxh3-128 of the content, hex.
    pub hash: String,
}

/// Reads the whole file once to fingerprint it.
#[cfg(test)]
pub fn fingerprint(path: &Path) -> io::Result<Fingerprint> {
    let mut file = File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(Fingerprint {
        size,
        hash: format!("{:032x}", hasher.digest128()),
    })
}

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
    /// Data rows in the input.
    pub rows: u64,
    /// When the journal was started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Sent to the embedded sandbox, whose data ends with the process: such
    /// a run can never be resumed. Absent (false) in older journals.
    #[serde(default)]
    pub sandbox: bool,
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
            rows,
            started_unix,
            sandbox: false,
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
                "the input file changed since that run ({} bytes then, {} now, different content); import the new file as a new run with --restart",
                self.input.size, now.input.size
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
        if self.overwrite != now.overwrite {
            let flag = |o: bool| {
                if o {
                    "with --overwrite"
                } else {
                    "without --overwrite"
                }
            };
            return Some(format!(
                "that run ran {}, this one {}",
                flag(self.overwrite),
                flag(now.overwrite)
            ));
        }
        None
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Record {
    /// A create request for row `r` is about to be sent.
    Send { r: u64 },
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

/// A journal problem that stops the run.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not a journal this tool can continue.
    #[error("journal {path}: line {line}: {message}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// What an earlier, stopped run already did. Flat in memory: two bits a
/// row, with the recorded outcomes sorted by row in temporary files beside
/// the journal and read back as the rows come ([`Resume::finished`]).
#[derive(Debug)]
pub struct Resume {
    /// Rows a create was sent for.
    sent: RowSet,
    /// Rows with a final outcome: not sent again.
    done: RowSet,
    /// Final outcomes by row, then by position in the journal.
    outcomes: Sorted<DoneLine>,
    /// The first outcome not yet asked for.
    next: Option<DoneLine>,
    dir: PathBuf,
}

impl Resume {
    /// Rows with a final outcome.
    pub fn done_rows(&self) -> u64 {
        self.done.len()
    }

    /// Rows sent without a final outcome.
    pub fn in_doubt_rows(&self) -> u64 {
        self.sent.len_without(&self.done)
    }

    /// Whether `row` was sent without a final outcome: the customer may
    /// exist, so the code is looked up before any new create.
    pub fn is_in_doubt(&self, row: u64) -> bool {
        self.sent.contains(row) && !self.done.contains(row)
    }

    /// The final outcome recorded for `row` (the last one, if several).
    /// Rows must be asked for in increasing order, as the input gives them.
    pub fn finished(&mut self, row: u64) -> io::Result<Option<Outcome>> {
        let mut found = None;
        loop {
            if self.next.is_none() {
                self.next = self.outcomes.next().transpose()?;
            }
            match self.next.take_if(|line| line.row <= row) {
                Some(line) if line.row == row => found = Some(line),
                Some(_) => {}
                None => break,
            }
        }
        let Some(line) = found else {
            return Ok(None);
        };
        match serde_json::from_slice(&line.json) {
            Ok(Record::Done {
                r,
                l,
                c,
                s,
                id,
                h,
                a,
                e,
            }) => Ok(Some(Outcome {
                row: r,
                line: l,
                code: c,
                status: parse_status(&s).unwrap_or(Status::Failed),
                customer_id: id,
                http_status: h,
                attempts: a,
                error: e,
            })),
            _ => Err(io::Error::other(format!(
                "a recorded outcome of row {row} no longer reads back from {}",
                self.dir.display()
            ))),
        }
    }

    /// Where the sorted outcomes are kept.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One bit per row number.
#[derive(Default)]
struct RowSet {
    words: Vec<u64>,
}

impl std::fmt::Debug for RowSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The count, not a million bits.
        write!(f, "RowSet({} rows)", self.len())
    }
}

impl RowSet {
    fn insert(&mut self, row: u64) {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    fn contains(&self, row: u64) -> bool {
        let (word, bit) = ((row / 64) as usize, row % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Rows in `self` and not in `other`.
    fn len_without(&self, other: &RowSet) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.words.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }
}

/// A `done` line of the journal as written, keyed by row and position.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct DoneLine {
    row: u64,
    /// Line number in the journal: the later of two outcomes wins.
    seq: u64,
    json: Vec<u8>,
}

impl spill::Record for DoneLine {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.row.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&(self.json.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.json);
    }

    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
        let Some(head) = spill::read_array::<24>(input)? else {
            return Ok(None);
        };
        let [row, seq, len] = spill::u64s::<3>(&head);
        let mut json = vec![0; usize::try_from(len).map_err(io::Error::other)?];
        input.read_exact(&mut json)?;
        Ok(Some(DoneLine { row, seq, json }))
    }

    fn heap_bytes(&self) -> usize {
        self.json.len()
    }
}

/// Whether a recorded outcome ends the row for good. Failures that a
/// retry may fix (5xx, timeouts, gave up) are tried again on resume.
fn is_final(status: Status, http: Option<u16>) -> bool {
    match status {
        // A rejected row stays rejected; a rejected key or a rate limit does not.
        Status::Failed => matches!(http, Some(400..=499)) && !matches!(http, Some(401 | 403 | 429)),
        Status::Skipped => false,
        _ => true,
    }
}

fn parse_status(s: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|st| st.as_str() == s)
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    dirty: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    syncer: Option<JoinHandle<()>>,
}

impl Journal {
    /// Starts a new journal (replacing any old one) with `header`.
    pub fn create(path: &Path, header: &Header) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = crate::util::atomic::create_private(path).map_err(io)?;
        let mut line = serde_json::to_vec(header).map_err(|e| io(e.into()))?;
        line.push(b'\n');
        file.write_all(&line).map_err(io)?;
        file.sync_all().map_err(io)?;
        Journal::start(path, file)
    }

    /// Loads an existing journal and opens it for appending.
    pub fn resume(path: &Path) -> Result<(Journal, Header, Resume), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let (header, resume, valid_len) = load(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        // Cut a torn last line so new records start on a line of their own.
        file.set_len(valid_len).map_err(io)?;
        let mut file = file;
        std::io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(io)?;
        Ok((Journal::start(path, file)?, header, resume))
    }

    fn start(path: &Path, file: File) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let sync_file = file.try_clone().map_err(io)?;
        let dirty = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let syncer = {
            let (dirty, stop) = (dirty.clone(), stop.clone());
            std::thread::Builder::new()
                .name("journal-sync".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::park_timeout(SYNC_EVERY);
                        if dirty.swap(false, Ordering::AcqRel) {
                            let _ = sync_file.sync_data();
                        }
                    }
                    let _ = sync_file.sync_data();
                })
                .map_err(io)?
        };
        Ok(Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
            dirty,
            stop,
            syncer: Some(syncer),
        })
    }

    /// Records that a create for `row` is about to be sent. Must succeed
    /// before the request goes out.
    pub fn sending(&self, row: u64) -> Result<(), JournalError> {
        self.append(&Record::Send { r: row })
    }

    /// Records a row's final outcome.
    pub fn outcome(&self, o: &Outcome) -> Result<(), JournalError> {
        self.append(&Record::Done {
            r: o.row,
            l: o.line,
            c: o.code.clone(),
            s: o.status.as_str().to_owned(),
            id: o.customer_id.clone(),
            h: o.http_status,
            a: o.attempts,
            e: o.error.clone(),
        })
    }

    fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| io(e.into()))?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| io(io::Error::other("journal lock poisoned")))?;
        // One write per record: a kill leaves whole lines plus at most one torn one.
        // The cause stays whole in the error: the run's stop reason keeps
        // it, and the user is told its remedy (`run::finish`).
        file.write_all(&line).map_err(io)?;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Syncs what was written so far, for a journal still shared (the
    /// syncer thread stops when the last holder drops it).
    pub fn sync(&self) -> Result<(), JournalError> {
        let file = self.file.lock().map_err(|_| JournalError::Io {
            path: self.path.clone(),
            source: io::Error::other("journal lock poisoned"),
        })?;
        file.sync_all().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Syncs and closes the journal.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.stop_syncer();
        let file = self.file.lock().map_err(|_| JournalError::Io {
            path: self.path.clone(),
            source: io::Error::other("journal lock poisoned"),
        })?;
        file.sync_all().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn stop_syncer(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.syncer.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop_syncer();
    }
}

/// The header of the journal at `path` (its first line only).
pub fn header(path: &Path) -> Result<Header, JournalError> {
    let mut line = Vec::new();
    BufReader::new(File::open(path).map_err(|source| JournalError::Io {
        path: path.to_owned(),
        source,
    })?)
    .read_until(b'\n', &mut line)
    .map_err(|source| JournalError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(&line)).map_err(|e| {
        JournalError::Corrupt {
            path: path.to_owned(),
            line: 1,
            message: format!("not a notify-import journal header ({e})"),
        }
    })
}

/// How far a journal's run got, without loading its outcomes.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The run's header.
    pub header: Header,
    /// Rows with a final outcome.
    pub done: u64,
}

/// Reads how far the run of the journal at `path` got.
pub fn progress(path: &Path) -> Result<Progress, JournalError> {
    let read = read(path, |_| Ok(()))?;
    Ok(Progress {
        header: read.header,
        done: read.done.len(),
    })
}

/// Reads a journal: header, what is done and what is in doubt, and the
/// length of the part made of whole lines.
fn load(path: &Path) -> Result<(Header, Resume, u64), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let scratch = spill::Scratch::beside(path);
    let mut outcomes = Spill::new(&scratch);
    let read = read(path, |line| outcomes.push(line))?;
    let resume = Resume {
        sent: read.sent,
        done: read.done,
        outcomes: outcomes.sorted().map_err(io)?,
        next: None,
        dir: scratch.dir,
    };
    Ok((read.header, resume, read.valid_len))
}

/// What one pass over a journal found.
struct Pass {
    header: Header,
    sent: RowSet,
    done: RowSet,
    valid_len: u64,
}

/// One pass over a journal; every final outcome goes to `keep`.
fn read(
    path: &Path,
    mut keep: impl FnMut(DoneLine) -> io::Result<()>,
) -> Result<Pass, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let corrupt = |line: usize, message: String| JournalError::Corrupt {
        path: path.to_owned(),
        line,
        message,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut buf = Vec::new();
    let mut header: Option<Header> = None;
    let mut sent = RowSet::default();
    let mut done = RowSet::default();
    let mut valid_len = 0u64;
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.last() != Some(&b'\n') {
            // A torn last line: the process died mid-write. What it
            // recorded never happened as far as the journal is concerned:
            // a torn `send` is covered because its request was not yet
            // sent, a torn `done` leaves the row in doubt.
            break;
        }
        let text = &buf[..buf.len() - 1];
        let Some(header) = &header else {
            let h: Header = serde_json::from_slice(text)
                .map_err(|e| corrupt(n, format!("not a notify-import journal header ({e})")))?;
            header = Some(h);
            valid_len += read as u64;
            continue;
        };
        let record = serde_json::from_slice::<Record>(text)
            .map_err(|err| corrupt(n, format!("unreadable record ({err})")))?;
        let row = match &record {
            Record::Send { r } | Record::Done { r, .. } => *r,
        };
        if row == 0 || row > header.rows {
            return Err(corrupt(
                n,
                format!("row {row} is not a row of the {}-row input", header.rows),
            ));
        }
        match record {
            Record::Send { r } => sent.insert(r),
            Record::Done { r, s, h, .. } => {
                let status =
                    parse_status(&s).ok_or_else(|| corrupt(n, format!("unknown status {s:?}")))?;
                if is_final(status, h) {
                    done.insert(r);
                    let line = DoneLine {
                        row: r,
                        seq: n as u64,
                        json: text.to_vec(),
                    };
                    keep(line).map_err(io)?;
                }
            }
        }
        valid_len += read as u64;
    }
    let header = header.ok_or_else(|| corrupt(1, "empty journal".into()))?;
    Ok(Pass {
        header,
        sent,
        done,
        valid_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::new(
            Fingerprint {
                size: 10,
                hash: "ab".into(),
            },
            "http://x/v2",
            "test",
            false,
            3,
        )
    }

    fn done(row: u64, status: Status, http: Option<u16>) -> Outcome {
        Outcome {
            row,
            line: row + 1,
            code: format!("C{row}"),
            status,
            customer_id: Some(format!("id-{row}")),
            http_status: http,
            attempts: 1,
            error: String::new(),
        }
    }

    #[test]
    fn final_outcomes_are_done_and_unfinished_sends_are_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(1).unwrap();
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        j.sending(2).unwrap();
        j.sending(3).unwrap();
        j.outcome(&done(3, Status::Failed, Some(503))).unwrap();
        j.close().unwrap();

        let (_j, h, mut resume) = Journal::resume(&path).unwrap();
        assert_eq!(h, header());
        assert_eq!(resume.done_rows(), 1);
        let finished: Vec<Option<String>> = (1..=3)
            .map(|row| resume.finished(row).unwrap().and_then(|o| o.customer_id))
            .collect();
        assert_eq!(finished, [Some("id-1".to_owned()), None, None]);
        let doubt: Vec<u64> = (1..=3).filter(|r| resume.is_in_doubt(*r)).collect();
        assert_eq!(
            doubt,
            [2, 3],
            "a 503 after a send is retried, searching first"
        );
        assert_eq!(resume.in_doubt_rows(), 2);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(1).unwrap();
        j.close().unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"t":"done","r":1,"l":2,"c":"C1","s":"crea"#)
            .unwrap();
        drop(f);

        let (j, _, resume) = Journal::resume(&path).unwrap();
        assert_eq!(resume.done_rows(), 0);
        assert!(resume.is_in_doubt(1));
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        j.close().unwrap();
        let (_j, _, mut resume) = Journal::resume(&path).unwrap();
        assert_eq!(
            resume.finished(1).unwrap().map(|o| o.status),
            Some(Status::Created),
            "the appended record reads back"
        );
    }

    #[test]
    fn outcomes_come_back_by_row_the_last_one_winning_however_many() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        let rows = 3000;
        let mut h = header();
        h.rows = rows;
        let j = Journal::create(&path, &h).unwrap();
        // Finished out of order, as concurrent uploads finish; every third
        // row first failed for good, then (a later run) was created.
        for row in (1..=rows).rev() {
            let mut first = done(row, Status::Failed, Some(409));
            first.customer_id = None;
            j.outcome(&first).unwrap();
        }
        for row in (3..=rows).step_by(3) {
            j.outcome(&done(row, Status::Created, Some(201))).unwrap();
        }
        j.close().unwrap();
        let (_j, _, mut resume) = Journal::resume(&path).unwrap();
        assert_eq!(resume.done_rows(), rows);
        for row in 1..=rows {
            let o = resume.finished(row).unwrap().expect("every row finished");
            assert_eq!(o.row, row);
            let expected = if row % 3 == 0 {
                Status::Created
            } else {
                Status::Failed
            };
            assert_eq!(o.status, expected, "row {row}");
        }
        assert!(resume.finished(rows + 1).unwrap().is_none());
    }

    #[test]
    fn progress_counts_final_rows_and_the_header_says_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut h = header();
        h.sandbox = true;
        let j = Journal::create(&path, &h).unwrap();
        j.sending(1).unwrap();
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        j.sending(2).unwrap();
        j.outcome(&done(2, Status::Failed, Some(503))).unwrap();
        j.close().unwrap();
        let p = progress(&path).unwrap();
        assert_eq!((p.done, p.header.rows), (1, 3), "a 503 is not final");
        assert!(super::header(&path).unwrap().sandbox);
        let why = p.header.mismatch(&header()).unwrap();
        assert!(why.contains("sandbox"), "{why}");
    }

    #[test]
    fn a_journal_without_the_sandbox_field_reads_as_not_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut text = serde_json::to_value(header()).unwrap();
        text.as_object_mut().unwrap().remove("sandbox");
        std::fs::write(&path, format!("{text}\n")).unwrap();
        assert!(!super::header(&path).unwrap().sandbox);
    }

    #[test]
    fn a_row_beyond_the_input_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut text = serde_json::to_string(&header()).unwrap();
        text.push_str("\n{\"t\":\"send\",\"r\":4000000000000}\n");
        std::fs::write(&path, text).unwrap();
        let err = Journal::resume(&path).err().unwrap().to_string();
        assert!(err.contains("line 2") && err.contains("3-row"), "{err}");
    }

    #[test]
    fn garbage_in_the_middle_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut text = serde_json::to_string(&header()).unwrap();
        text.push_str("\nnot json\n{\"t\":\"send\",\"r\":1}\n");
        std::fs::write(&path, text).unwrap();
        let err = Journal::resume(&path).err().unwrap().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn header_mismatches_are_explained() {
        let a = header();
        let mut b = header();
        b.overwrite = true;
        assert!(a.mismatch(&b).unwrap().contains("--overwrite"));
        let mut c = header();
        c.input.size = 11;
        assert!(a.mismatch(&c).unwrap().contains("input file changed"));
        assert!(a.mismatch(&header()).is_none());
    }

    #[test]
    fn fingerprint_changes_with_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let f1 = fingerprint(&p).unwrap();
        std::fs::write(&p, "a,b\n1,3\n").unwrap();
        let f2 = fingerprint(&p).unwrap();
        assert_eq!(f1.size, f2.size);
        assert_ne!(f1.hash, f2.hash);
    }
}
