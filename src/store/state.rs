//! Delta mode (`--state PATH`): remember what the API confirmed, so a
//! nightly run of a full export sends only new and changed customers.
//!
//! Owns the state database (embedded SQLite, one table keyed by
//! CustomerCode holding the hash of the payload the API last confirmed, the
//! customer id, that outcome and its time), deciding per row whether it is
//! `unchanged` (same payload hash as a confirmed import: not sent), changed
//! (known code, new payload: sent with `Overwrite=true`) or new (sent as
//! usual), and recording confirmed outcomes.
//!
//! The rule that keeps it honest is the journal's: a row is written to the
//! state only from its final outcome, after the server confirmed it
//! (`created`, `overwritten`, or `exists` with an id), in batched
//! transactions (every [`BATCH_ROWS`] outcomes or [`BATCH_TIME`], and at
//! the end). A crash can lose the last batch, which costs a few needless
//! requests on the next run, but a row is never marked done before the
//! server said so. Failed rows leave their old entry alone.
//!
//! Memory stays flat: rows are looked up one at a time with a prepared
//! statement (the state is not loaded), and the payload hash of a row in
//! flight is kept only until its outcome arrives. The database is bound
//! to one API URL and key kind; a state written for another target is
//! refused, because its "unchanged" would be a lie there. A `<state>.lock`
//! keeps two runs from sharing it: a run takes it at its start and opening
//! the state shares that lock instead of taking it again
//! ([`crate::store::lock`]).
//!
//! It must not send anything or decide outcomes of rows it lets through.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::model::outcome::{Outcome, Status};
use crate::store::lock::{LockError, RunLock};
use crate::util::nofollow;

/// Format of the database; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;
/// Confirmed outcomes per transaction.
pub const BATCH_ROWS: usize = 100;
/// Longest time a confirmed outcome waits for its transaction (checked
/// whenever an outcome arrives).
pub const BATCH_TIME: Duration = Duration::from_secs(1);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS customers (
    code         TEXT PRIMARY KEY,   -- CustomerCode, as sent
    payload_hash TEXT NOT NULL,      -- xxh3-128 (hex) of the JSON body the API confirmed
    customer_id  TEXT NOT NULL,      -- Notify's id
    last_status  TEXT NOT NULL,      -- created | overwritten | exists
    updated_at   TEXT NOT NULL       -- RFC 3339 UTC, when the API confirmed it
) WITHOUT ROWID;
";

/// A state problem that stops the run before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// SQLite refused (unreadable, not a database, disk full...).
    #[error("delta state {path}: {source}")]
    Db {
        /// The state file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The file could not be created or its mode set.
    #[error("delta state {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state was written for another API or key kind.
    #[error(
        "delta state {path} belongs to {found}, but this run sends to {wanted}; use one --state file per API and key kind (or delete {path} to start over)"
    )]
    OtherTarget {
        /// The state file.
        path: PathBuf,
        /// Target recorded in the file.
        found: String,
        /// Target of this run.
        wanted: String,
    },
    /// Written by a newer version of the tool.
    #[error(
        "delta state {path} has format {found}; this version reads format {SCHEMA_VERSION}. Upgrade notify-import or start a new state file"
    )]
    Version {
        /// The state file.
        path: PathBuf,
        /// Format recorded in the file.
        found: String,
    },
    /// Another run uses the same state file.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// What the state knows about one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The payload hash of its last import ([`payload_hash`]).
    pub hash: String,
    /// Notify's id.
    pub id: String,
    /// The status of its last import.
    pub status: String,
}

impl Known {
    /// True when the server confirmed the last import.
    pub fn confirmed(&self) -> bool {
        is_confirmed(&self.status)
    }
}

/// Confirmed outcomes waiting for their transaction.
struct Pending {
    rows: Vec<(String, String, String, &'static str)>,
    since: Instant,
    error: Option<rusqlite::Error>,
}

/// An open state database.
pub struct Delta {
    path: PathBuf,
    known: u64,
    // Held for the life of the run; see the module docs.
    _lock: RunLock,
    /// Used by the reader thread only; the mutex makes `Delta` shareable.
    reader: Mutex<Connection>,
    /// Used by the writer thread only.
    writer: Mutex<(Connection, Pending)>,
    /// Payload hash of each row sent and not yet finished, by row number.
    in_flight: Mutex<HashMap<u64, String>>,
    lookup_failed: AtomicBool,
}

/// The payload hash: xxh3-128 of the exact JSON body, as hex.
pub fn payload_hash(body: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

impl Delta {
    /// Opens (creating, mode 0600) the state at `path` for `target` (API
    /// URL and key kind, e.g. `https://api.notify.cm/v2 (test key)`).
    pub fn open(path: &Path, target: &str) -> Result<Delta, StateError> {
        let lock = RunLock::acquire(path)?;
        let db = |source| StateError::Db {
            path: path.to_owned(),
            source,
        };
        create_private(path).map_err(|source| StateError::Io {
            path: path.to_owned(),
            source,
        })?;
        let writer = Connection::open(path).map_err(db)?;
        writer.busy_timeout(Duration::from_secs(10)).map_err(db)?;
        // WAL lets the reader thread look rows up while the writer thread
        // commits; the -wal and -shm files get the database file's mode.
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        writer.execute_batch(SCHEMA).map_err(db)?;
        check_meta(&writer, path, target)?;
        let known = writer
            .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, u64>(0))
            .map_err(db)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        reader.busy_timeout(Duration::from_secs(10)).map_err(db)?;
        Ok(Delta {
            path: path.to_owned(),
            known,
            _lock: lock,
            reader: Mutex::new(reader),
            writer: Mutex::new((
                writer,
                Pending {
                    rows: Vec::new(),
                    since: Instant::now(),
                    error: None,
                },
            )),
            in_flight: Mutex::new(HashMap::new()),
            lookup_failed: AtomicBool::new(false),
        })
    }

    /// Customers the state knew when it was opened.
    pub fn known(&self) -> u64 {
        self.known
    }

    /// Notes the payload hash of a row about to be sent, so that its
    /// outcome can be recorded with it.
    pub fn expect(&self, row: u64, hash: String) {
        if let Ok(mut map) = self.in_flight.lock() {
            map.insert(row, hash);
        }
    }

    /// The entry for `code`; `None` when unknown or unreadable. A lookup
    /// error sends the row (never skips it) and is logged once.
    pub fn lookup(&self, code: &str) -> Option<Known> {
        self.reader.lock().ok().and_then(|conn| {
            let result = conn
                .prepare_cached(
                    "SELECT payload_hash, customer_id, last_status FROM customers WHERE code = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([code], |r| {
                        Ok(Known {
                            hash: r.get(0)?,
                            id: r.get(1)?,
                            status: r.get(2)?,
                        })
                    })
                    .optional()
                });
            match result {
                Ok(k) => k,
                Err(e) => {
                    if !self.lookup_failed.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "delta state {}: lookup failed ({e}); rows are sent as if the state were empty",
                            self.path.display()
                        );
                    }
                    None
                }
            }
        })
    }

    /// Writer side: records one final outcome if the server confirmed it.
    pub fn record(&self, outcome: &Outcome) {
        let hash = self
            .in_flight
            .lock()
            .ok()
            .and_then(|mut map| map.remove(&outcome.row));
        let (Some(hash), Some(id)) = (hash, outcome.customer_id.as_ref()) else {
            return;
        };
        let status = match outcome.status {
            Status::Created | Status::Overwritten | Status::Exists => outcome.status.as_str(),
            _ => return,
        };
        let Ok(mut guard) = self.writer.lock() else {
            return;
        };
        let (conn, pending) = &mut *guard;
        if pending.rows.is_empty() {
            pending.since = Instant::now();
        }
        pending
            .rows
            .push((outcome.code.clone(), hash, id.clone(), status));
        if pending.rows.len() >= BATCH_ROWS || pending.since.elapsed() >= BATCH_TIME {
            commit(conn, pending);
        }
    }

    /// Commits what is pending; returns the first write error of the run.
    pub fn finish(&self) -> Result<(), StateError> {
        let Ok(mut guard) = self.writer.lock() else {
            return Ok(());
        };
        let (conn, pending) = &mut *guard;
        commit(conn, pending);
        match pending.error.take() {
            Some(source) => Err(StateError::Db {
                path: self.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Delta {
    fn drop(&mut self) {
        // Only confirmed outcomes are pending, so committing them on any
        // way out (an error return included) is always safe.
        if let Ok(mut guard) = self.writer.lock() {
            let (conn, pending) = &mut *guard;
            commit(conn, pending);
        }
    }
}

fn is_confirmed(status: &str) -> bool {
    matches!(status, "created" | "overwritten" | "exists")
}

/// Writes the pending rows in one transaction. After a failure the state
/// is left alone for the rest of the run (it can only be behind, which is
/// safe) and the error is kept for [`Delta::finish`].
fn commit(conn: &mut Connection, pending: &mut Pending) {
    if pending.rows.is_empty() || pending.error.is_some() {
        pending.rows.clear();
        return;
    }
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let result = (|| {
        let tx = conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO customers (code, payload_hash, customer_id, last_status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (code) DO UPDATE SET
                     payload_hash = excluded.payload_hash,
                     customer_id = excluded.customer_id,
                     last_status = excluded.last_status,
                     updated_at = excluded.updated_at",
            )?;
            for (code, hash, id, status) in &pending.rows {
                upsert.execute(params![code, hash, id, status, now])?;
            }
        }
        tx.commit()
    })();
    pending.rows.clear();
    if let Err(e) = result {
        pending.error = Some(e);
    }
}

/// Checks (or, in a new file, writes) the format version and target.
fn check_meta(conn: &Connection, path: &Path, target: &str) -> Result<(), StateError> {
    let db = |source| StateError::Db {
        path: path.to_owned(),
        source,
    };
    let get = |key: &str| {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    };
    match get("schema_version").map_err(db)? {
        Some(v) if v != SCHEMA_VERSION.to_string() => {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: v,
            });
        }
        Some(_) => {}
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('hash', 'xxh3-128 of the JSON body')",
                [SCHEMA_VERSION.to_string()],
            )
            .map_err(db)?;
        }
    }
    match get("target").map_err(db)? {
        Some(found) if found != target => Err(StateError::OtherTarget {
            path: path.to_owned(),
            found,
            wanted: target.to_owned(),
        }),
        Some(_) => Ok(()),
        None => conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('target', ?1)",
                [target],
            )
            .map(|_| ())
            .map_err(db),
    }
}

/// Creates the file with mode 0600 if it does not exist (SQLite would use
/// the umask), and tightens the mode of an existing one. A state reached
/// through another user's symbolic link is refused: that user would choose
/// which file this run writes. (SQLite itself opens the database and its
/// `-wal`, `-shm` and `-journal` files without following links.)
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(owner) = nofollow::foreign_link(path)? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "it is a symbolic link owned by another user (uid {owner}); a state is never reached through someone else's link: point --state at the file itself"
            ),
        ));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        // Through the open file: a path could be swapped in between.
        opts.open(path)?
            .set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        opts.open(path).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "http://127.0.0.1:1/v2 (test key)";

    fn send(d: &Delta, row: u64, body: &str) {
        d.expect(row, payload_hash(body.as_bytes()));
    }

    fn confirmed(row: u64, code: &str, status: Status) -> Outcome {
        Outcome {
            customer_id: Some(format!("id-{code}")),
            http_status: Some(201),
            attempts: 1,
            ..Outcome::local(row, row + 1, code.into(), status, String::new())
        }
    }

    #[test]
    fn confirmed_outcomes_are_recorded_with_their_payload_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let d = Delta::open(&path, TARGET).unwrap();
            for (row, code) in [(1, "A"), (2, "B"), (3, "C")] {
                send(&d, row, &format!("{{\"c\":\"{code}\"}}"));
            }
            d.record(&confirmed(1, "A", Status::Created));
            d.record(&confirmed(2, "B", Status::Exists));
            // C failed: not recorded.
            d.record(&Outcome::local(
                3,
                4,
                "C".into(),
                Status::Failed,
                "x".into(),
            ));
            d.finish().unwrap();
        }
        let d = Delta::open(&path, TARGET).unwrap();
        assert_eq!(d.known(), 2);
        let a = d.lookup("A").unwrap();
        assert!(a.confirmed());
        assert_eq!(a.hash, payload_hash(b"{\"c\":\"A\"}"));
        assert_eq!(a.id, "id-A");
        assert_eq!(d.lookup("B").unwrap().status, "exists");
        assert_eq!(d.lookup("C"), None);
    }

    #[test]
    fn nothing_is_recorded_before_its_outcome_and_pending_rows_commit_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let d = Delta::open(&path, TARGET).unwrap();
            send(&d, 1, "{}");
            send(&d, 2, "{}");
            d.record(&confirmed(1, "A", Status::Created));
            // Row 2 never gets an outcome (the process would have died).
        }
        let d = Delta::open(&path, TARGET).unwrap();
        assert_eq!(d.known(), 1);
        assert_eq!(d.lookup("B"), None);
    }

    #[test]
    fn a_state_for_another_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Delta::open(&path, TARGET).unwrap());
        let err = Delta::open(&path, "https://api.notify.cm/v2 (live key)")
            .err()
            .unwrap();
        assert!(matches!(err, StateError::OtherTarget { .. }), "{err}");
    }

    #[test]
    fn a_second_user_of_the_same_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // Another process: its own open of the lock file, locked.
        let other = std::fs::File::create(crate::store::lock::path_for(&path)).unwrap();
        other.try_lock().unwrap();
        let err = Delta::open(&path, TARGET).err().unwrap();
        assert!(matches!(err, StateError::Lock(_)), "{err}");
    }

    #[test]
    fn the_lock_the_run_took_at_its_start_is_used_not_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let run = RunLock::acquire(&path).unwrap();
        let d = Delta::open(&path, TARGET).unwrap();
        drop(d);
        let lock = std::fs::File::open(crate::store::lock::path_for(&path)).unwrap();
        assert!(
            lock.try_lock().is_err(),
            "still the run's after the state closed"
        );
        drop(run);
        assert!(lock.try_lock().is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_state_through_my_own_link_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        let link = dir.path().join("state.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        drop(Delta::open(&link, TARGET).unwrap());
        assert!(real.is_file());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(
            &path,
            "this is not sqlite, but long enough to have a header....",
        )
        .unwrap();
        assert!(Delta::open(&path, TARGET).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_wal_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let d = Delta::open(&path, TARGET).unwrap();
        send(&d, 1, "{}");
        d.record(&confirmed(1, "A", Status::Created));
        d.finish().unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{:?}", entry.file_name());
        }
    }
}
