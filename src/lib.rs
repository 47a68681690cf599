//! notify-import: bulk-import customers from CSV files into the Notify API.
//!
//! The tree follows a row through the stages (see DESIGN.md); data flows
//! one way, source → pass → plan → upload → outputs:
//!
//! - [`model`]: the types every stage shares (fields, the customer
//!   payload, problems, statuses and outcomes, a row's plan). It imports
//!   nothing else from the crate.
//! - [`input`]: file → records (encoding, delimiter, column mapping).
//! - [`check`]: records → customers, and which rows may be sent (offline).
//! - [`plan`]: checked rows → each row's fate (the only place it is
//!   decided: invalid, repeated, done before, unchanged, or send with a
//!   write mode).
//! - [`upload`]: customers → outcomes over the network ([`upload::api`] is
//!   the HTTP client, `upload::pace` the request rate).
//! - [`output`]: outcomes → what the user gets back: a run's outputs as
//!   one set (`output::set`: results file, errors file, `summary.json` /
//!   `--summary-json`), progress and the printed summary.
//! - `store`: what outlives the process (journal, delta state, lock); it
//!   looks up and records, and decides nothing.
//! - `run`: one run from start to finish: its folder, the error that
//!   ends it and its exit code, the next-step line, and the wiring of the
//!   stages for it (`run::pipeline`).
//!
//! Around them: [`cli`] / [`config`] (raw arguments, then checked
//! settings), [`util`] (`atomic`: outputs written whole, mode 0600;
//! `redact`: the API key never reaches an output; `spill`: per-row facts
//! sorted on disk so memory stays flat), and
//! `sandbox`, an embedded emulator of the API for trying and testing
//! (cargo feature `sandbox`, on by default).

pub mod check;
pub mod cli;
pub mod config;
pub mod input;
pub mod model;
pub mod output;
pub mod plan;
pub(crate) mod run;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub(crate) mod store;
pub mod upload;
pub mod util;

use crate::config::{Config, UsageError};
use crate::input::InputError;
pub use crate::run::RunError;

/// Process exit codes (the contract in DESIGN.md).
pub mod exit {
    /// Every row succeeded.
    pub const OK: u8 = 0;
    /// Some rows invalid, failed or skipped.
    pub const ROWS_FAILED: u8 = 1;
    /// Usage or setup error; nothing sent.
    pub const USAGE: u8 = 2;
    /// Stopped after sending began (resumable).
    pub const ABORTED: u8 = 3;
    /// Interrupted by a signal.
    pub const INTERRUPTED: u8 = 130;
}

/// A problem found before anything was sent: the process exits 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A bad flag, key or URL.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A file-level input problem.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another run holds the lock on the results (or state) file.
    #[error(transparent)]
    Lock(#[from] store::lock::LockError),
    /// The delta state cannot be used.
    #[error(transparent)]
    State(#[from] store::state::StateError),
    /// Anything else that stopped the run (results file, runtime, sandbox).
    #[error("{0}")]
    Other(String),
}

pub(crate) fn other(context: &str, err: impl std::fmt::Display) -> SetupError {
    SetupError::Other(format!("{context}: {err}"))
}

/// Runs what `config` asks for and returns the process exit code; an
/// error's exit code is [`RunError::exit_code`].
pub fn run(config: Config) -> Result<u8, RunError> {
    // A panic message could format a value holding the key: print it scrubbed.
    util::redact::install_panic_hook();
    match config {
        #[cfg(feature = "sandbox")]
        Config::Sandbox(opts) => {
            let rt = runtime()?;
            rt.block_on(sandbox::serve_until_ctrl_c(opts))
                .map_err(|e| other("sandbox", e))?;
            Ok(exit::OK)
        }
        Config::ShowMapping { input, options } => {
            let opened = input::open_for_mapping(&input, &options).map_err(SetupError::from)?;
            eprint!("{}", opened.info.describe(&opened.mapping));
            print!("{}", opened.mapping.describe());
            Ok(exit::OK)
        }
        Config::Template {
            path,
            force,
            delimiter,
        } => {
            output::template::write(path.as_deref(), force, delimiter)
                .map_err(|e| other("cannot write the template", e))?;
            Ok(exit::OK)
        }
        Config::Run(run) => {
            output::report::init_logging(&run.output);
            // Found while checking the arguments, before logging existed.
            for warning in run.upload.iter().flat_map(|u| &u.warnings) {
                tracing::warn!("{warning}");
            }
            // Safe to log whole: the key's Debug is redacted.
            tracing::debug!("settings: {run:?}");
            run::pipeline::run_file(&run)
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, SetupError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| other("cannot start the async runtime", e))
}
