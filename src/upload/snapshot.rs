//! What Notify holds for a file's codes, learned cheaply.
//!
//! Owns [`Snapshot`] (Notify's customers whose code is in the file, with
//! every field Notify holds, looked up by code), [`FileCodes`] (the
//! file's codes, fed one row at a time) and `learn`, which reads the
//! customer list page by page and searches the codes the list has not
//! reached when that is cheaper ([`keep_listing`]). It must not compare
//! fields, plan writes or send anything but reads.
//!
//! Memory stays flat in the file's size and in Notify's: the codes, the
//! customers found and the snapshot live in [`spill`] sorts and
//! [`crate::util::lookup`] tables (in memory up to the scratch budget, in unnamed
//! temporary files beyond), keyed by a 128-bit hash of the code; only
//! customers whose code is in the file are kept. Every request goes
//! through the uploader's pacer (never faster than `--rate`, 429s pause
//! the pool) and its retry policy (bounded attempts with backoff, the
//! row deadline, the stop handle).

use std::io::{self, BufRead};
use std::path::PathBuf;

use futures::StreamExt;
use tokio::time::Instant;

use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::remote::Existing;
use crate::upload::api::retry::Backoff;
use crate::upload::api::{ApiError, ErrorKind};
use crate::upload::{StopReason, Uploader};
use crate::util::lookup::{Keyed, Table};
use crate::util::spill::{self, Record, Scratch, Spill};

/// Requests that learning one code by search costs when Notify holds it:
/// the search (whose documented answer has only the id and the code) and
/// the read of its fields (the one-item list page that starts at its id).
/// The cost of a code Notify does not hold is one search; the rule
/// assumes the dearer case. Searches whose answers carry the fields cost 1.
pub const SEARCH_COST: u64 = 2;

/// Why Notify's state could not be learned.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A read kept failing, or the API refused it (key, redirect, a
    /// next-page link to another address, an unusable answer).
    #[error("cannot read the customers Notify holds: {0}")]
    Api(ApiError),
    /// The run stopped (signal, unreachable API) while learning.
    #[error("stopped while reading the customers Notify holds: {0}")]
    Stopped(StopReason),
    /// A temporary file could not be written or read.
    #[error("cannot use temporary files in {}: {source}", dir.display())]
    Spill {
        /// The scratch directory.
        dir: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

/// What learning cost and found, for the progress line and the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// Distinct codes of the file.
    pub codes: u64,
    /// List pages read.
    pub pages: u64,
    /// Customers the list pages held (all of them, in the file or not).
    pub listed: u64,
    /// Whether the list was read to its end (false: the rest was searched).
    pub listed_all: bool,
    /// Codes searched one by one.
    pub searches: u64,
    /// Reads of one customer's fields after a search found it.
    pub lookups: u64,
    /// The file's codes Notify holds.
    pub found: u64,
}

impl Learned {
    /// Requests sent to learn the state (retries not counted).
    pub fn requests(&self) -> u64 {
        self.pages + self.searches + self.lookups
    }
}

/// The selection rule, asked after each list page while a next page
/// exists: go on listing (true), or search the `unresolved` codes the
/// list has not shown yet (false).
///
/// Notify's size is unknown until the list ends, so this is the
/// ski-rental rule: list while the pages read are fewer than what
/// searching the rest would cost. Its total is at most twice the cheaper
/// of "list everything" and "search everything" (plus the one page that
/// always comes first), and it is exact in the two common cases: Notify
/// holds at most 250 customers (one page says so), or about as many as
/// the file (every page finds up to 250 codes, so the unresolved codes
/// shrink faster than the pages grow, and the list is read to its end:
/// ceil(N/250) pages, no search).
pub fn keep_listing(pages_read: u64, unresolved: u64, per_code: u64) -> bool {
    pages_read < unresolved.saturating_mul(per_code)
}

/// Notify's customers whose code is in the file, by code.
pub struct Snapshot {
    held: Table<Held>,
    learned: Learned,
    /// Where the table's temporary file is, for errors.
    dir: PathBuf,
}

impl Snapshot {
    /// A snapshot holding `items` (tests, and callers that know the state
    /// already). A code given twice keeps its first customer.
    pub fn from_existing(items: impl IntoIterator<Item = Existing>) -> Snapshot {
        let held = items
            .into_iter()
            .enumerate()
            .map(|(seq, e)| Held::new(&e, seq as u64));
        let mut sorted: Vec<Held> = held.collect();
        sorted.sort();
        let mut last: Option<(u128, String)> = None;
        sorted.retain(|h| {
            let key = (h.hash, h.code.clone());
            let keep = last.as_ref() != Some(&key);
            last = Some(key);
            keep
        });
        let found = sorted.len() as u64;
        // In memory whatever the size: the budget is never reached, so no
        // file is made and the directory is never written.
        let scratch = Scratch {
            dir: std::env::temp_dir(),
            budget: usize::MAX,
        };
        let held = Table::build(sorted.into_iter().map(Ok), &scratch)
            .unwrap_or_else(|_| unreachable!("an in-memory table does no I/O"));
        Snapshot {
            held,
            learned: Learned {
                found,
                ..Learned::default()
            },
            dir: scratch.dir,
        }
    }

    /// The customer Notify holds with `code`, if the file has that code
    /// and Notify holds it.
    pub fn get(&self, code: &str) -> Result<Option<Existing>, SnapshotError> {
        let found = self
            .held
            .get(hash(code))
            .map_err(|source| SnapshotError::Spill {
                dir: self.dir.clone(),
                source,
            })?;
        Ok(found
            .into_iter()
            .find(|h| h.code == code)
            .map(Held::into_existing))
    }

    /// Customers held.
    pub fn len(&self) -> u64 {
        self.held.len()
    }

    /// Whether Notify holds none of the file's codes.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// What learning cost and found.
    pub fn learned(&self) -> &Learned {
        &self.learned
    }
}

/// The file's codes, fed one row at a time; repeats are fine.
pub struct FileCodes {
    codes: Spill<Code>,
    scratch: Scratch,
}

impl FileCodes {
    /// No codes yet; temporary files go to `scratch`.
    pub fn new(scratch: &Scratch) -> FileCodes {
        FileCodes {
            codes: Spill::new(scratch),
            scratch: scratch.clone(),
        }
    }

    /// Notes one row's (valid, normalized) code; empty ones are ignored.
    pub fn push(&mut self, code: &str) -> Result<(), SnapshotError> {
        if code.is_empty() {
            return Ok(());
        }
        self.codes
            .push(Code {
                hash: hash(code),
                code: code.to_owned(),
            })
            .map_err(|source| spill_error(&self.scratch, source))
    }

    /// The distinct codes, as a table.
    fn into_table(self) -> io::Result<Table<Code>> {
        let mut last: Option<Code> = None;
        let distinct = self.codes.sorted()?.filter(move |c| match c {
            Ok(c) if last.as_ref() == Some(c) => false,
            Ok(c) => {
                last = Some(c.clone());
                true
            }
            Err(_) => true,
        });
        Table::build(distinct, &self.scratch)
    }
}

fn spill_error(scratch: &Scratch, source: io::Error) -> SnapshotError {
    SnapshotError::Spill {
        dir: scratch.dir.clone(),
        source,
    }
}

/// The 128-bit key of a code (as the duplicate check hashes them).
fn hash(code: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(code.as_bytes())
}

/// Learns what Notify holds for `codes`, through `uploader`'s pacer,
/// retry policy and stop handle: the list first, page by page, then a
/// search for each code the list has not shown when [`keep_listing`] says
/// that is cheaper. `progress` is called after each request. Pages are
/// bounded: the rule stops listing after at most `SEARCH_COST` pages per
/// code of the file.
#[allow(dead_code)] // its caller is `plan`/`import --mode` (branch sync)
pub(crate) async fn learn(
    uploader: &Uploader,
    codes: FileCodes,
    progress: &(dyn Fn(&Learned) + Sync),
) -> Result<Snapshot, SnapshotError> {
    let scratch = codes.scratch.clone();
    let spill_err = |source| spill_error(&scratch, source);
    let codes = codes.into_table().map_err(spill_err)?;
    let mut learned = Learned {
        codes: codes.len(),
        ..Learned::default()
    };
    let mut found = Spill::<Held>::new(&scratch);
    let mut seq = 0u64;
    // Nothing to learn: not one request.
    if codes.is_empty() {
        learned.listed_all = true;
        return finish(found, learned, &scratch);
    }
    let client = uploader.client.clone();
    let mut next = Some(client.first_page());
    let mut matched = 0u64;
    while let Some(url) = next.take() {
        let page = read(uploader, || client.list_page(&url)).await?;
        learned.pages += 1;
        learned.listed += page.items.len() as u64;
        for item in page.items {
            let held = Held::new(&item, seq);
            seq += 1;
            if in_file(&codes, &held).map_err(spill_err)? {
                matched += 1;
                found.push(held).map_err(spill_err)?;
            }
        }
        learned.found = matched;
        progress(&learned);
        match page.next {
            None => learned.listed_all = true,
            // A page that names itself next would be read forever.
            Some(again) if again == url => {
                return Err(SnapshotError::Api(ApiError::bad_response(
                    reqwest::StatusCode::OK,
                    "the next-page link names the page itself",
                )));
            }
            Some(url) => {
                let unresolved = learned.codes.saturating_sub(matched);
                if keep_listing(learned.pages, unresolved, SEARCH_COST) {
                    next = Some(url);
                }
            }
        }
    }
    if learned.listed_all {
        return finish(found, learned, &scratch);
    }
    // The list is longer than the file's codes are worth: search the rest.
    let (mut found, unresolved) = split_unresolved(found, &codes, &scratch).map_err(spill_err)?;
    let unresolved = unresolved.sorted().map_err(spill_err)?;
    let searches = futures::stream::iter(unresolved)
        .map(|code| async {
            let code = code.map_err(|source| spill_error(&scratch, source))?;
            learn_one(uploader, code.code).await
        })
        .buffer_unordered(uploader.settings.concurrency.max(1));
    let mut searches = std::pin::pin!(searches);
    while let Some(one) = searches.next().await {
        let (hit, lookups) = one?;
        learned.searches += 1;
        learned.lookups += lookups;
        if let Some(existing) = hit {
            learned.found += 1;
            found.push(Held::new(&existing, seq)).map_err(spill_err)?;
            seq += 1;
        }
        progress(&learned);
    }
    finish(found, learned, &scratch)
}

/// Whether `held`'s code is one of the file's.
fn in_file(codes: &Table<Code>, held: &Held) -> io::Result<bool> {
    Ok(codes.get(held.hash)?.iter().any(|c| c.code == held.code))
}

/// The customers found so far (sorted, as a fresh spill) and the file's
/// codes that none of them has (spilled too): one merge of the two
/// sorted streams, so memory stays flat however many were found.
fn split_unresolved(
    found: Spill<Held>,
    codes: &Table<Code>,
    scratch: &Scratch,
) -> io::Result<(Spill<Held>, Spill<Code>)> {
    let mut held = found.sorted()?.peekable();
    let mut again = Spill::new(scratch);
    let mut unresolved = Spill::new(scratch);
    codes.for_each(|c| {
        let mut hit = false;
        loop {
            let order = match held.peek() {
                None => break,
                Some(Ok(h)) => (h.hash, h.code.as_str()).cmp(&(c.hash, c.code.as_str())),
                Some(Err(_)) => {
                    return Err(held
                        .next()
                        .and_then(Result::err)
                        .unwrap_or_else(|| io::Error::other("a temporary file failed")));
                }
            };
            if order == std::cmp::Ordering::Greater {
                break;
            }
            if let Some(h) = held.next() {
                hit |= order == std::cmp::Ordering::Equal;
                again.push(h?)?;
            }
        }
        if !hit {
            unresolved.push(c)?;
        }
        Ok(true)
    })?;
    for h in held {
        again.push(h?)?;
    }
    Ok((again, unresolved))
}

/// Searches one code; when the answer lacks the fields, reads them. The
/// customer (if Notify holds it) and the field reads it took.
async fn learn_one(
    uploader: &Uploader,
    code: String,
) -> Result<(Option<Existing>, u64), SnapshotError> {
    let client = &uploader.client;
    let Some(hit) = read(uploader, || client.search_hit(&code)).await? else {
        return Ok((None, 0));
    };
    if hit.has_fields {
        return Ok((Some(hit.existing), 0));
    }
    let id = hit.existing.id;
    let full = read(uploader, || client.customer_at(&id)).await?;
    // Deleted between the two reads: Notify no longer holds it.
    Ok((full.filter(|c| c.code() == code), 1))
}

/// Builds the snapshot from the customers found: in code order, the
/// first one seen of a code kept.
fn finish(
    found: Spill<Held>,
    learned: Learned,
    scratch: &Scratch,
) -> Result<Snapshot, SnapshotError> {
    let build = || -> io::Result<Table<Held>> {
        let mut last: Option<(u128, String)> = None;
        let distinct = found.sorted()?.filter(move |h| match h {
            Ok(h) => {
                let key = (h.hash, h.code.clone());
                let first = last.as_ref() != Some(&key);
                last = Some(key);
                first
            }
            Err(_) => true,
        });
        Table::build(distinct, scratch)
    };
    let held = build().map_err(|source| spill_error(scratch, source))?;
    let mut learned = learned;
    learned.found = held.len();
    Ok(Snapshot {
        held,
        learned,
        dir: scratch.dir.clone(),
    })
}

/// Runs one read through the pacer with the uploader's retry policy:
/// 429s pause the pool and are not counted (the row deadline bounds
/// them); transient failures are retried with backoff up to
/// `max_attempts`; anything else ends learning. The stall watchdog runs
/// meanwhile, as it does while sending: no successful answer for
/// `--stall-timeout` (a permanent 429 storm) stops the run.
async fn read<T, F, Fut>(uploader: &Uploader, request: F) -> Result<T, SnapshotError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    tokio::select! {
        r = attempts(uploader, request) => r,
        // Never ends: once it has stopped the run, the attempts see it.
        () = uploader.watch_stall() => Err(SnapshotError::Stopped(StopReason::Interrupted)),
    }
}

/// [`read`]'s attempts.
async fn attempts<T, F, Fut>(uploader: &Uploader, request: F) -> Result<T, SnapshotError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let s = &uploader.settings;
    let deadline = Instant::now() + s.row_deadline;
    let mut backoff = Backoff::new(s.backoff_base, s.backoff_max);
    let mut failures = 0u32;
    let stopped =
        || SnapshotError::Stopped(uploader.stop.reason().unwrap_or(StopReason::Interrupted));
    let mut tries = 0u32;
    loop {
        let Some(mut ticket) = uploader.pacer.acquire(&uploader.stop.token).await else {
            return Err(stopped());
        };
        if tries > 0 {
            uploader
                .counters
                .retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tries += 1;
        let err = match uploader.guarded(&mut ticket, request()).await {
            Ok(value) => return Ok(value),
            Err(ApiError::Aborted) => return Err(stopped()),
            Err(e) => e,
        };
        match err.kind() {
            ErrorKind::RateLimited => {
                if !uploader.rate_limited_pause(ticket, &err) {
                    return Err(stopped());
                }
            }
            ErrorKind::Transient | ErrorKind::InDoubt => {
                failures += 1;
                if failures >= s.max_attempts || Instant::now() >= deadline {
                    return Err(SnapshotError::Api(err));
                }
                if !uploader.sleep(backoff.next_delay()).await {
                    return Err(stopped());
                }
            }
            ErrorKind::Auth | ErrorKind::Redirected | ErrorKind::Invalid | ErrorKind::Duplicate => {
                return Err(SnapshotError::Api(err));
            }
        }
        if Instant::now() >= deadline {
            return Err(SnapshotError::Api(err));
        }
    }
}

/// One of the file's codes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Code {
    hash: u128,
    code: String,
}

impl Record for Code {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        put_str(out, &self.code);
    }

    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
        let Some(head) = spill::read_array::<16>(input)? else {
            return Ok(None);
        };
        Ok(Some(Code {
            hash: u128::from_le_bytes(head),
            code: get_str(input)?,
        }))
    }

    fn heap_bytes(&self) -> usize {
        self.code.len()
    }
}

impl Keyed for Code {
    fn key(&self) -> u128 {
        self.hash
    }
}

/// A customer Notify holds, as kept on disk. Sorted by code hash, code,
/// then the order seen (so the first seen of a code comes first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    hash: u128,
    code: String,
    seq: u64,
    id: String,
    /// The fields after the code, in [`Field::ALL`] order.
    values: Vec<String>,
}

impl Held {
    fn new(e: &Existing, seq: u64) -> Held {
        let code = e.code().to_owned();
        Held {
            hash: hash(&code),
            code,
            seq,
            id: e.id.clone(),
            values: Field::ALL[1..]
                .iter()
                .map(|f| e.customer.get(*f).unwrap_or("").to_owned())
                .collect(),
        }
    }

    fn into_existing(self) -> Existing {
        let mut customer = Customer::default();
        customer.set(Field::CustomerCode, self.code);
        for (field, value) in Field::ALL[1..].iter().zip(self.values) {
            customer.set(*field, value);
        }
        Existing {
            id: self.id,
            customer,
        }
    }
}

impl Record for Held {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        put_str(out, &self.code);
        put_str(out, &self.id);
        for v in &self.values {
            put_str(out, v);
        }
    }

    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
        let Some(head) = spill::read_array::<24>(input)? else {
            return Ok(None);
        };
        let [lo, hi, seq] = spill::u64s::<3>(&head);
        let code = get_str(input)?;
        let id = get_str(input)?;
        let values = (1..Field::ALL.len())
            .map(|_| get_str(input))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Some(Held {
            hash: u128::from(lo) | (u128::from(hi) << 64),
            code,
            seq,
            id,
            values,
        }))
    }

    fn heap_bytes(&self) -> usize {
        self.code.len() + self.id.len() + self.values.iter().map(String::len).sum::<usize>()
    }
}

impl Keyed for Held {
    fn key(&self) -> u128 {
        self.hash
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Values come from answers capped far below 4 GiB.
    let n = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..n as usize]);
}

fn get_str(input: &mut impl BufRead) -> io::Result<String> {
    let Some(len) = spill::read_array::<4>(input)? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a temporary file ended inside a record",
        ));
    };
    let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
