//! notify-import: bulk-import customers from CSV files into the Notify API.
//!
//! Pipeline (see DESIGN.md): file → records → customers → outcomes →
//! results. [`run()`] wires the stages; each lives in its own module:
//!
//! - [`cli`] / [`config`]: raw arguments, then checked settings.
//! - [`input`], [`validate`], [`preflight`]: offline reading and checking;
//!   [`spill`] sorts per-row facts on disk so memory stays flat.
//! - [`api`], [`upload`]: the network side.
//! - [`outcome`], [`results`], [`errors_file`], [`report`]: what the user
//!   gets back; [`template`] is a file to start from.
//! - [`summary`]: the machine-readable outcome (`--summary-json`).
//! - [`mod@run`]: each run's own folder (`NAME.runs/<UTC start>/`), the error
//!   that ends a run and its exit code, the next-step line.
//! - [`lock`], [`state`], [`redact`]: running unattended and safely: the
//!   run lock, delta mode, keeping the API key out of every output.
//! - [`sandbox`]: an embedded emulator of the API for trying and testing.

pub mod api;
pub mod cli;
pub mod config;
pub mod customer;
pub mod errors_file;
pub mod fields;
pub mod input;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod pipeline;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod results;
pub mod run;
pub mod sandbox;
pub mod spill;
pub mod state;
pub mod summary;
pub mod template;
pub mod upload;
pub mod validate;

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
    Lock(#[from] lock::LockError),
    /// The delta state cannot be used.
    #[error(transparent)]
    State(#[from] state::StateError),
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
    redact::install_panic_hook();
    match config {
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
            template::write(path.as_deref(), force, delimiter)
                .map_err(|e| other("cannot write the template", e))?;
            Ok(exit::OK)
        }
        Config::Run(run) => {
            report::init_logging(&run.output);
            // Found while checking the arguments, before logging existed.
            for warning in run.upload.iter().flat_map(|u| &u.warnings) {
                tracing::warn!("{warning}");
            }
            // Safe to log whole: the key's Debug is redacted.
            tracing::debug!("settings: {run:?}");
            pipeline::run_file(&run)
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, SetupError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| other("cannot start the async runtime", e))
}
