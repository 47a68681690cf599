//! What Notify holds for a file's codes, learned cheaply.
//!
//! Owns [`Snapshot`] (Notify's customers whose code is in the file, with
//! their fields, looked up by code), [`FileCodes`] (the file's codes, fed
//! one by one) and [`learn`], which chooses per code between searching
//! and reading the customer list page by page. It must not compare
//! fields, plan writes or send anything but reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::remote::Existing;
use crate::upload::api::ApiError;
use crate::upload::{StopReason, Uploader};
use crate::util::spill::Scratch;

/// Why Notify's state could not be learned.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A read kept failing, or the API refused it (key, redirect, a
    /// next-page link to another address).
    #[error("cannot read the customers Notify holds: {0}")]
    Api(ApiError),
    /// The run stopped (signal, unreachable API, stall) while learning.
    #[error("stopped while reading the customers Notify holds: {0}")]
    Stopped(StopReason),
    /// A temporary file could not be written or read.
    #[error("cannot use temporary files in {}: {source}", dir.display())]
    Spill {
        /// The scratch directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// What learning cost and found, for the report and the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    /// Distinct codes of the file.
    pub codes: u64,
    /// List pages read.
    pub pages: u64,
    /// Customers the list pages held (all of them, in the file or not).
    pub listed: u64,
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

/// Notify's customers whose code is in the file, by code.
pub struct Snapshot {
    by_code: BTreeMap<String, Existing>,
    learned: Learned,
}

impl Snapshot {
    /// A snapshot holding `items` (tests, and callers that know the state
    /// already). A code given twice keeps its first customer.
    pub fn from_existing(items: impl IntoIterator<Item = Existing>) -> Snapshot {
        let mut by_code = BTreeMap::new();
        for item in items {
            by_code.entry(item.code().to_owned()).or_insert(item);
        }
        let found = by_code.len() as u64;
        Snapshot {
            by_code,
            learned: Learned {
                found,
                ..Learned::default()
            },
        }
    }

    /// The customer Notify holds with `code`, if the file has that code
    /// and Notify holds it.
    pub fn get(&self, code: &str) -> Result<Option<Existing>, SnapshotError> {
        Ok(self.by_code.get(code).cloned())
    }

    /// Customers held.
    pub fn len(&self) -> u64 {
        self.by_code.len() as u64
    }

    /// Whether Notify holds none of the file's codes.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// What learning cost and found.
    pub fn learned(&self) -> &Learned {
        &self.learned
    }
}

/// The file's codes, fed one row at a time; repeats are fine.
pub struct FileCodes {
    codes: Vec<String>,
    #[allow(dead_code)] // read by `learn`, built next
    scratch: Scratch,
}

impl FileCodes {
    /// No codes yet; temporary files go to `scratch`.
    pub fn new(scratch: &Scratch) -> FileCodes {
        FileCodes {
            codes: Vec::new(),
            scratch: scratch.clone(),
        }
    }

    /// Notes one row's (valid, normalized) code; empty ones are ignored.
    pub fn push(&mut self, code: &str) -> Result<(), SnapshotError> {
        if !code.is_empty() {
            self.codes.push(code.to_owned());
        }
        Ok(())
    }
}

/// Learns what Notify holds for `codes`, through `uploader`'s pacer,
/// retry policy and stop handle; `progress` is called after each list
/// page (for the progress line).
#[allow(dead_code)] // its caller is `plan`/`import --mode` (branch sync)
pub(crate) async fn learn(
    uploader: &Uploader,
    codes: FileCodes,
    progress: &(dyn Fn(&Learned) + Sync),
) -> Result<Snapshot, SnapshotError> {
    let _ = (uploader, progress, codes.codes.len());
    Err(SnapshotError::Spill {
        dir: codes.scratch.dir,
        source: std::io::Error::other("learning Notify's state is not built yet"),
    })
}
