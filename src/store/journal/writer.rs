//! Writing the journal: append, fsync, close.
//!
//! Owns the open journal of a run. Each record is one `write` call, so a
//! killed process leaves at most a torn last line (which reading ignores
//! and continuing cuts); a background thread fsyncs in small batches
//! (every 200 ms) against power loss, and closing syncs what is left. A
//! `send` record must be on disk (written) before its request goes out;
//! whether to send is not decided here. It never interprets what an old
//! journal says (that is [`super::resume`]).

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::JournalError;
use super::format::{self, Header, Record};
use super::resume::{self, Resume};
use crate::model::outcome::Outcome;
use crate::model::plan::Update;
use crate::util::nofollow;

const SYNC_EVERY: Duration = Duration::from_millis(200);

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    dirty: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    syncer: Option<JoinHandle<()>>,
}

impl Journal {
    /// Starts a new journal with `header`. The file must be new (a run
    /// folder is new for every run): nothing in its place is followed or
    /// replaced.
    pub fn create(path: &Path, header: &Header) -> Result<Journal, JournalError> {
        let io = |source| JournalError::io(path, source);
        let mut file = nofollow::create_new(path).map_err(|e| io(e.into()))?;
        file.write_all(&format::line(header).map_err(io)?)
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Journal::start(path, file)
    }

    /// Loads an existing journal and opens it for appending.
    pub fn resume(path: &Path) -> Result<(Journal, Header, Resume), JournalError> {
        let io = |source| JournalError::io(path, source);
        let (header, resume, valid_len) = resume::load(path)?;
        // Written to: never through a link, and only a plain file of its own.
        let mut file = nofollow::open(path, false).map_err(|e| io(e.into()))?;
        // Cut a torn last line so new records start on a line of their own.
        file.set_len(valid_len).map_err(io)?;
        file.seek(io::SeekFrom::End(0)).map_err(io)?;
        Ok((Journal::start(path, file)?, header, resume))
    }

    fn start(path: &Path, file: File) -> Result<Journal, JournalError> {
        let sync_file = file
            .try_clone()
            .map_err(|source| JournalError::io(path, source))?;
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
                .map_err(|source| JournalError::io(path, source))?
        };
        Ok(Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
            dirty,
            stop,
            syncer: Some(syncer),
        })
    }

    /// Records that a create for `row` (code `code`) is about to be
    /// sent, and when.
    /// Must succeed before the request goes out, and be written again if
    /// it goes out later than planned (a resumed run waits from the last).
    pub fn sending(&self, row: u64, code: &str) -> Result<(), JournalError> {
        self.append(&Record::Send {
            r: row,
            at: Some(format::millis(std::time::SystemTime::now())),
            c: Some(code.to_owned()),
        })
    }

    /// Records that the last create of `row` may have gone through, and
    /// can no longer land after `by`.
    pub fn lands_by(&self, row: u64, by: std::time::SystemTime) -> Result<(), JournalError> {
        self.append(&Record::Lands {
            r: row,
            by: format::millis(by),
        })
    }

    /// Records that `row` (code `code`) came to this run in doubt, from
    /// an earlier run whose create of it can no longer land after `by`.
    pub fn in_doubt(
        &self,
        row: u64,
        code: &str,
        by: std::time::SystemTime,
    ) -> Result<(), JournalError> {
        self.append(&Record::Doubt {
            r: row,
            c: code.to_owned(),
            by: format::millis(by),
        })
    }

    /// Records that no create of `row` sent so far can have gone through.
    pub fn cleared(&self, row: u64) -> Result<(), JournalError> {
        self.append(&Record::Clear { r: row })
    }

    /// Records the before-image of an update of `row` (code `code`): the
    /// customer's values of the fields it changes, and the values sent.
    /// Must succeed before the `PATCH` goes out.
    pub fn patching(&self, row: u64, code: &str, update: &Update) -> Result<(), JournalError> {
        self.append(&Record::patch(row, code, update))
    }

    /// Records a row's final outcome.
    pub fn outcome(&self, o: &Outcome) -> Result<(), JournalError> {
        self.append(&Record::done(o))
    }

    fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::io(&self.path, source);
        let line = format::line(record).map_err(io)?;
        let mut file = self.file()?;
        // One write per record: a kill leaves whole lines plus at most one torn one.
        // The cause stays whole in the error: the run's stop reason keeps
        // it, and the user is told its remedy (`run::finish`).
        file.write_all(&line).map_err(io)?;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// The file, for one write or sync.
    fn file(&self) -> Result<std::sync::MutexGuard<'_, File>, JournalError> {
        self.file
            .lock()
            .map_err(|_| JournalError::io(&self.path, io::Error::other("journal lock poisoned")))
    }

    /// Syncs what was written so far, for a journal still shared (the
    /// syncer thread stops when the last holder drops it).
    pub fn sync(&self) -> Result<(), JournalError> {
        self.file()?
            .sync_all()
            .map_err(|source| JournalError::io(&self.path, source))
    }

    /// Syncs and closes the journal.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.stop_syncer();
        self.sync()
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{done, header};
    use super::*;
    use crate::model::outcome::Status;
    use std::fs::OpenOptions;

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(1, "C").unwrap();
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
    fn every_record_is_one_whole_line_and_a_sound_journal_reports_no_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let j = Journal::create(&path, &header()).unwrap();
        j.sending(2, "C").unwrap();
        j.outcome(&done(2, Status::Created, Some(201))).unwrap();
        j.sync().unwrap();
        j.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(text.ends_with('\n'));
        assert!(lines[1].starts_with(r#"{"t":"send","r":2,"at":"#), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_journals_place_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        let journal = dir.path().join("journal");
        // A journal-shaped victim: resuming would cut and append to it.
        Journal::create(&victim, &header())
            .unwrap()
            .close()
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&victim)
            .unwrap()
            .write_all(b"{\"t\":\"se")
            .unwrap();
        let before = std::fs::read(&victim).unwrap();
        std::os::unix::fs::symlink(&victim, &journal).unwrap();
        let created = Journal::create(&journal, &header()).err().unwrap();
        assert!(created.to_string().contains("symbolic link"), "{created}");
        let resumed = Journal::resume(&journal).err().unwrap();
        assert!(resumed.to_string().contains("symbolic link"), "{resumed}");
        assert_eq!(std::fs::read(&victim).unwrap(), before);
    }
}
