//! Output: what the user gets back from a run.
//!
//! Owns `set` (a run's outputs as one set: registered once, checked
//! before the run, fed rows in input order, written at the end),
//! [`results`] (the results CSV), `errors_file` (the rows to fix and
//! import again), `page` (`report.html`, the run as a page to read, print
//! or send), `plan_file` (`plan.csv`: what an import would change),
//! `summary` (`summary.json`, `--summary-json`), `report`
//! (logs, progress, the summary text), `template` (a file to start
//! from) and `undo` (an undo's results, summary and page). Every file it writes is written whole, mode 0600
//! ([`crate::util::atomic`]). It must not decide outcomes, only record
//! them.

pub(crate) mod errors_file;
pub(crate) mod errors_workbook;
pub(crate) mod page;
pub(crate) mod plan_file;
pub(crate) mod report;
pub mod results;
pub(crate) mod set;
pub(crate) mod summary;
pub(crate) mod template;
pub(crate) mod undo;
