//! Output: what the user gets back from a run.
//!
//! Owns [`results`] (the results CSV), `errors_file` (the rows to fix
//! and import again), `report` (logs, progress, the summary text),
//! `summary` (`--summary-json`) and `template` (a file to start from).
//! It must not decide outcomes, only record them.

pub(crate) mod errors_file;
pub(crate) mod report;
pub mod results;
pub(crate) mod summary;
pub(crate) mod template;
