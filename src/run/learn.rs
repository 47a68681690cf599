//! Wiring of learning Notify's state for one run: the progress line, the
//! read itself and the line that says what it cost.
//!
//! Owns nothing but the order: [`crate::upload::snapshot::learn`] decides
//! what to read, [`crate::output::report`] holds every word shown. It
//! must not decide anything about rows.

use crate::config::OutputConfig;
use crate::output::report::{self, LearnFacts, LearnProgress, Reporter};
use crate::upload::Uploader;
use crate::upload::snapshot::{self, FileCodes, Learned, Snapshot, SnapshotError};

/// The report's view of what learning did.
pub(crate) fn facts(l: &Learned) -> LearnFacts {
    LearnFacts {
        codes: l.codes,
        pages: l.pages,
        listed: l.listed,
        searches: l.searches,
        lookups: l.lookups,
        found: l.found,
        listed_all: l.listed_all,
    }
}

/// Learns what Notify holds for `codes` on `rt`, with the progress line
/// on a terminal; says what it cost (not with `--quiet`).
pub(crate) fn learn(
    rt: &tokio::runtime::Runtime,
    uploader: &Uploader,
    codes: FileCodes,
    output: &OutputConfig,
    reporter: &Reporter,
) -> Result<Snapshot, SnapshotError> {
    let progress = LearnProgress::new(output);
    let show = |l: &Learned| progress.update(&facts(l));
    let learned = rt.block_on(snapshot::learn(uploader, codes, &show));
    progress.finish();
    if let Ok(s) = &learned {
        reporter.info(&report::learned_line(&facts(s.learned())));
    }
    learned
}
