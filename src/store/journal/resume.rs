//! Reading an old journal back: what its run finished and what is in doubt.
//!
//! Owns the one pass over a journal (header, then each record; a torn last
//! line, left by a process killed mid-write, is not part of it), the rule
//! of which recorded outcome ends a row for good, and [`Resume`], which
//! keeps two bits a row and sorts the recorded outcomes by row on disk
//! ([`crate::util::spill`]) so memory stays flat. It never writes the
//! journal (that is [`super::writer`]) and decides nothing about what to
//! send: it answers what the journal says.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::JournalError;
use super::format::{Header, Record, from_millis, parse_status};
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::Update;
use crate::util::spill::{self, Sorted, Spill};

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
    /// The last `patch` record of the row [`Resume::finished`] was last
    /// asked about.
    update: Option<(u64, Update)>,
    /// When the last create of that run whose answer never came was sent
    /// (at the latest).
    last_unanswered: Option<SystemTime>,
    /// The latest time a create of that run whose answer proved nothing
    /// can land.
    last_lands_by: Option<SystemTime>,
    /// That run's `--timeout`, if its journal says.
    timeout: Option<Duration>,
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

    /// After when no create of that run can land any more, so its rows in
    /// doubt may be looked up: the latest horizon its answers set, and for
    /// a create whose answer never came (the process was killed) its send
    /// time plus twice `timeout` (its connection stayed open at most
    /// `timeout`, and the server is then given `timeout` to act on it).
    /// One time for the whole run, not one a row, so memory stays flat.
    /// `None` when nothing was sent. That run's own `--timeout` is used
    /// where it was longer.
    pub fn lands_by(&self, timeout: Duration) -> Option<SystemTime> {
        let timeout = self.timeout.map_or(timeout, |then| then.max(timeout));
        let unanswered = self.last_unanswered.map(|sent| sent + timeout * 2);
        unanswered.max(self.last_lands_by)
    }

    /// The final outcome recorded for `row` (the last one, if several).
    /// Rows must be asked for in increasing order, as the input gives them.
    /// Also reads the row's before-image, for [`Resume::update`].
    pub fn finished(&mut self, row: u64) -> io::Result<Option<Outcome>> {
        let mut found = None;
        self.update = None;
        loop {
            if self.next.is_none() {
                self.next = self.outcomes.next().transpose()?;
            }
            match self.next.take_if(|line| line.row <= row) {
                Some(line) if line.row == row && line.json.starts_with(PATCH_PREFIX) => {
                    let update = Record::parse(&line.json)
                        .ok()
                        .and_then(Record::into_update)
                        .ok_or_else(|| self.unreadable(row))?;
                    self.update = Some((row, update));
                }
                Some(line) if line.row == row => found = Some(line),
                Some(_) => {}
                None => break,
            }
        }
        let Some(line) = found else {
            return Ok(None);
        };
        Record::parse(&line.json)
            .ok()
            .and_then(Record::into_outcome)
            .map(Some)
            .ok_or_else(|| self.unreadable(row))
    }

    fn unreadable(&self, row: u64) -> io::Error {
        io::Error::other(format!(
            "a recorded outcome of row {row} no longer reads back from {}",
            self.dir.display()
        ))
    }

    /// The update that run sent (or was about to send) for `row`, with
    /// the before-image it journaled: the last one, if several. Asked
    /// after [`Resume::finished`] for the same row. A resumed run sends it
    /// again as it is (a `PATCH` is idempotent) and never compares anew:
    /// Notify may hold the new values by now.
    pub fn update(&mut self, row: u64) -> Option<Update> {
        self.update.take_if(|(r, _)| *r == row).map(|(_, u)| u)
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

    fn remove(&mut self, row: u64) {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1 << bit);
        }
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

/// How a `patch` record's line starts ([`super::format::line`] writes
/// the tag first), so the outcomes read back need not parse it to tell.
const PATCH_PREFIX: &[u8] = br#"{"t":"patch""#;

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

/// The header of the journal at `path` (its first line only).
pub fn header(path: &Path) -> Result<Header, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut line = Vec::new();
    BufReader::new(crate::util::run_dir::open_read(path).map_err(io)?)
        .read_until(b'\n', &mut line)
        .map_err(io)?;
    Header::parse(line.strip_suffix(b"\n").unwrap_or(&line)).map_err(|message| {
        JournalError::Corrupt {
            path: path.to_owned(),
            line: 1,
            message,
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

/// What a journal leaves in doubt for a later run of the same input, by
/// code (a later run may read a changed file, whose rows are numbered
/// otherwise).
#[derive(Debug, Clone)]
pub struct Doubtful {
    /// Codes of the rows sent without a final outcome, in row order.
    pub codes: Vec<String>,
    /// Rows in doubt whose code the journal does not name (written by an
    /// older version): they cannot be looked up by code.
    pub unnamed: u64,
    /// After when no create of that run can land (see [`Resume::lands_by`]).
    pub lands_by: Option<SystemTime>,
}

/// The codes the run of the journal at `path` leaves in doubt; `settled`
/// is given the code of every row that run finished for good (a look-up
/// or a create that settled it). Reads the journal twice, never writes
/// anything beside it (the run folder may be another run's).
pub fn doubtful(
    path: &Path,
    timeout: Duration,
    mut settled: impl FnMut(&str),
) -> Result<Doubtful, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let pass = read(path, |line| {
        if let Ok(Record::Done { c, .. }) = Record::parse(&line.json) {
            settled(&c);
        }
        Ok(())
    })?;
    let last_unanswered = last_unanswered(&pass, path)?;
    let timeout = pass
        .header
        .timeout_ms
        .map(Duration::from_millis)
        .map_or(timeout, |then| then.max(timeout));
    let lands_by = last_unanswered
        .map(|sent| sent + timeout * 2)
        .max(pass.lands_by.map(from_millis));
    // The code of each row in doubt: the last record of it that names one.
    let mut named: std::collections::BTreeMap<u64, String> = Default::default();
    let mut reader = BufReader::new(crate::util::run_dir::open_read(path).map_err(io)?);
    let mut buf = Vec::new();
    let mut first = true;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        let Some(text) = buf.strip_suffix(b"\n") else {
            break;
        };
        if std::mem::take(&mut first) {
            continue;
        }
        let (r, c) = match Record::parse(text) {
            Ok(Record::Send { r, c: Some(c), .. }) => (r, c),
            Ok(Record::Doubt { r, c, .. } | Record::Done { r, c, .. }) => (r, c),
            _ => continue,
        };
        if pass.sent.contains(r) && !pass.done.contains(r) {
            named.insert(r, c);
        }
    }
    let in_doubt = pass.sent.len_without(&pass.done);
    Ok(Doubtful {
        unnamed: in_doubt.saturating_sub(named.len() as u64),
        codes: named.into_values().collect(),
        lands_by,
    })
}

/// When the last create whose answer never came was sent (at the latest).
fn last_unanswered(pass: &Pass, path: &Path) -> Result<Option<SystemTime>, JournalError> {
    // A journal of an older version has no send times: its last write
    // came after its last send.
    Ok(match pass.unanswered.values().max() {
        Some(SendTime::Untimed) => Some(
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map_err(|source| JournalError::Io {
                    path: path.to_owned(),
                    source,
                })?,
        ),
        Some(SendTime::At(ms)) => Some(from_millis(*ms)),
        None => None,
    })
}

/// Reads a journal: header, what is done and what is in doubt, and the
/// length of the part made of whole lines (where appending continues).
pub(super) fn load(path: &Path) -> Result<(Header, Resume, u64), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let scratch = spill::Scratch::beside(path);
    let mut outcomes = Spill::new(&scratch);
    let read = read(path, |line| outcomes.push(line))?;
    let last_unanswered = last_unanswered(&read, path)?;
    let resume = Resume {
        sent: read.sent,
        done: read.done,
        outcomes: outcomes.sorted().map_err(io)?,
        next: None,
        update: None,
        last_unanswered,
        last_lands_by: read.lands_by.map(from_millis),
        timeout: read.header.timeout_ms.map(Duration::from_millis),
        dir: scratch.dir,
    };
    Ok((read.header, resume, read.valid_len))
}

/// What one pass over a journal found.
struct Pass {
    header: Header,
    sent: RowSet,
    done: RowSet,
    /// Rows whose last create has no later record: its answer never came
    /// (in flight when the process died). As many as were in flight.
    unanswered: HashMap<u64, SendTime>,
    /// The latest `lands` time, ms since the Unix epoch.
    lands_by: Option<u64>,
    valid_len: u64,
}

/// When a `send` record says its create went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SendTime {
    /// Milliseconds since the Unix epoch.
    At(u64),
    /// No time (an older journal): the file's last change is the bound.
    Untimed,
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
    let mut header: Option<Header> = None;
    let mut sent = RowSet::default();
    let mut done = RowSet::default();
    let mut unanswered = HashMap::new();
    let mut lands_by: Option<u64> = None;
    let valid_len = super::each_line(path, |n, text| {
        let Some(header) = &header else {
            header = Some(Header::parse(text).map_err(|m| corrupt(n, m))?);
            return Ok(());
        };
        let record = Record::parse(text).map_err(|m| corrupt(n, m))?;
        let row = record.row();
        if row == 0 || row > header.rows {
            return Err(corrupt(
                n,
                format!("row {row} is not a row of the {}-row input", header.rows),
            ));
        }
        match record {
            Record::Send { r, at, .. } => {
                sent.insert(r);
                unanswered.insert(r, at.map_or(SendTime::Untimed, SendTime::At));
            }
            Record::Clear { r } => {
                sent.remove(r);
                unanswered.remove(&r);
            }
            Record::Lands { r, by } => {
                unanswered.remove(&r);
                lands_by = lands_by.max(Some(by));
            }
            Record::Doubt { r, by, .. } => {
                sent.insert(r);
                lands_by = lands_by.max(Some(by));
            }
            Record::Patch { .. } => {
                // Kept with the outcomes, sorted by row: memory stays flat.
                let line = DoneLine {
                    row,
                    seq: n as u64,
                    json: text.to_vec(),
                };
                keep(line).map_err(io)?;
            }
            Record::Done { r, s, h, .. } => {
                unanswered.remove(&r);
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
        Ok(())
    })?;
    let header = header.ok_or_else(|| corrupt(1, "empty journal".into()))?;
    Ok(Pass {
        header,
        sent,
        done,
        unanswered,
        lands_by,
        valid_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Journal;
    use super::super::fixtures::{done, header};
    use super::*;

    #[test]
    fn a_journaled_update_reads_back_with_its_before_image_until_its_row_is_done() {
        use crate::model::field::Field;
        use crate::model::plan::{FieldChange, Update};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let update = |id: &str, old: &str| Update {
            id: id.into(),
            changes: vec![
                FieldChange {
                    field: Field::Name,
                    old: "Ann".into(),
                    new: "Ann B.V.".into(),
                },
                FieldChange {
                    field: Field::City,
                    old: old.into(),
                    new: String::new(),
                },
            ],
        };
        let j = Journal::create(&path, &header()).unwrap();
        j.patching(1, "C1", &update("id-1", "Ede")).unwrap();
        j.patching(2, "C2", &update("id-2", "Delft")).unwrap();
        j.outcome(&done(2, Status::Updated, Some(200))).unwrap();
        j.sending(3, "K3").unwrap();
        j.close().unwrap();
        let line = std::fs::read_to_string(&path).unwrap();
        assert!(
            line.contains(r#"{"t":"patch","r":1,"c":"C1","id":"id-1","ch":{"City":{"old":"Ede","new":""},"Name":{"old":"Ann","new":"Ann B.V."}}}"#),
            "{line}"
        );

        let (_j, _h, mut resume) = Journal::resume(&path).unwrap();
        assert_eq!(resume.finished(1).unwrap(), None);
        assert_eq!(
            resume.update(1),
            Some(update("id-1", "Ede")),
            "sent again as journaled"
        );
        assert_eq!(
            resume.finished(2).unwrap().map(|o| o.status),
            Some(Status::Updated)
        );
        assert!(
            !resume.is_in_doubt(1) && !resume.is_in_doubt(2),
            "an update is never in doubt"
        );
        assert_eq!(resume.finished(3).unwrap(), None);
        assert_eq!(resume.update(3), None);
        assert!(resume.is_in_doubt(3));
    }

    #[test]
    fn final_outcomes_are_done_and_unfinished_sends_are_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(1, "C").unwrap();
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        j.sending(2, "C").unwrap();
        j.sending(3, "C").unwrap();
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

        // Cleared (nothing can have gone through) until sent again.
        let path = dir.path().join("cleared");
        let j = Journal::create(&path, &header()).unwrap();
        for row in [1, 2] {
            j.sending(row, "C").unwrap();
            j.cleared(row).unwrap();
        }
        j.sending(2, "C").unwrap();
        j.close().unwrap();
        let (_j, _, resume) = Journal::resume(&path).unwrap();
        let doubt: Vec<u64> = (1..=3).filter(|r| resume.is_in_doubt(*r)).collect();
        assert_eq!(doubt, [2]);
    }

    #[test]
    fn a_create_in_doubt_lands_by_its_horizon_or_twice_the_timeout_after_its_send() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let t = Duration::from_secs(5);
        let before = SystemTime::now() - Duration::from_millis(5);
        let j = Journal::create(&path, &header()).unwrap();
        // Row 1: answered in doubt, lands by a known time; row 2: no answer.
        j.sending(1, "C").unwrap();
        let horizon = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        j.lands_by(1, horizon).unwrap();
        j.sending(2, "C").unwrap();
        j.close().unwrap();
        let (_j, _, resume) = Journal::resume(&path).unwrap();
        assert_eq!(resume.lands_by(t), Some(horizon));
        assert_eq!(
            resume
                .lands_by(Duration::from_secs(4_000_000_000))
                .map(|l| l > horizon),
            Some(true)
        );

        // Row 2 answered too: only the horizons count.
        let j = Journal::create(&dir.path().join("answered"), &header()).unwrap();
        j.sending(2, "C").unwrap();
        let soon = SystemTime::now() + t;
        j.lands_by(2, soon).unwrap();
        j.close().unwrap();
        let (_j, _, resume) = Journal::resume(&dir.path().join("answered")).unwrap();
        let got = resume.lands_by(t).unwrap();
        assert!(
            got <= soon && got + Duration::from_millis(1) >= soon,
            "{got:?}"
        );

        // Unanswered only: its send plus twice the timeout.
        let j = Journal::create(&dir.path().join("killed"), &header()).unwrap();
        j.sending(3, "C").unwrap();
        j.close().unwrap();
        let (_j, _, resume) = Journal::resume(&dir.path().join("killed")).unwrap();
        let got = resume.lands_by(t).unwrap();
        assert!(
            got >= before + t * 2 && got <= SystemTime::now() + t * 2,
            "{got:?}"
        );

        // An older journal's untimed send: the file's last change.
        let text = format!(
            "{}\n{{\"t\":\"send\",\"r\":1,\"at\":5000}}\n{{\"t\":\"send\",\"r\":2}}\n",
            serde_json::to_string(&header()).unwrap()
        );
        std::fs::write(&path, text).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let (_j, _, resume) = Journal::resume(&path).unwrap();
        assert_eq!(resume.lands_by(t), Some(mtime + t * 2));

        let j = Journal::create(&dir.path().join("none"), &header()).unwrap();
        j.close().unwrap();
        let (_j, _, resume) = Journal::resume(&dir.path().join("none")).unwrap();
        assert_eq!(resume.lands_by(t), None);
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
        j.sending(1, "C").unwrap();
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        j.sending(2, "C").unwrap();
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
    fn a_bad_line_before_the_end_is_an_error_naming_it() {
        for (lines, expected) in [
            ("{\"t\":\"send\",\"r\":4000000000000}\n", "3-row input"),
            ("not json\n{\"t\":\"send\",\"r\":1}\n", "unreadable record"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("j");
            let text = format!("{}\n{lines}", serde_json::to_string(&header()).unwrap());
            std::fs::write(&path, text).unwrap();
            let err = Journal::resume(&path).err().unwrap().to_string();
            assert!(err.contains("line 2") && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn doubtful_names_the_codes_in_doubt_and_settles_the_finished_ones_writing_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(1, "C1").unwrap();
        j.outcome(&done(1, Status::Created, Some(201))).unwrap();
        // Killed in flight.
        j.sending(2, "C2").unwrap();
        // Gave up after a lost answer.
        j.sending(3, "C3").unwrap();
        j.outcome(&done(3, Status::Failed, Some(503))).unwrap();
        j.close().unwrap();
        let mut settled = Vec::new();
        let d = doubtful(&path, Duration::from_secs(5), |c| {
            settled.push(c.to_owned())
        })
        .unwrap();
        assert_eq!(d.codes, ["C2", "C3"]);
        assert_eq!(settled, ["C1"]);
        assert_eq!(d.unnamed, 0);
        assert!(d.lands_by.is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_rejections_and_successes_are_final() {
        assert!(is_final(Status::Created, Some(201)));
        assert!(is_final(Status::Failed, Some(422)));
        for http in [None, Some(401), Some(403), Some(429), Some(503)] {
            assert!(!is_final(Status::Failed, http), "{http:?}");
        }
        assert!(!is_final(Status::Skipped, None));
    }
}
