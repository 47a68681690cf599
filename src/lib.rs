//! notify-import: bulk-import customers from CSV files into the Notify API.
//!
//! The tree follows a row through the stages (see DESIGN.md); data flows
//! one way, source → pass → plan → upload → outputs:
//!
//! - [`model`]: the types every stage shares (fields, the customer
//!   payload, problems, statuses and outcomes, a row's plan). It imports
//!   nothing else from the crate.
//! - [`input`]: file → records: the one open of the input
//!   ([`input::InputFile`]), encoding, delimiter, header, the records of a
//!   [`input::RecordSource`], the column mapping.
//! - [`check`]: records → checked rows in one pass ([`check::pass`]),
//!   offline: mapping, validation, the repeated-code index.
//! - [`plan`]: checked rows → each row's fate (the only place it is
//!   decided: invalid, repeated, done before, unchanged, or send with a
//!   write mode).
//! - [`upload`]: customers → outcomes over the network ([`upload::api`] is
//!   the HTTP client, `upload::pace` the request rate).
//! - [`output`]: outcomes → what the user gets back: a run's outputs as
//!   one set (`output::set`: results file, errors file, `report.html`
//!   (`output::page`), `summary.json` / `--summary-json`), progress and the
//!   printed summary.
//! - `store`: what outlives the process (the journal: its format, writer
//!   and resume; delta state; the run locks); it looks up and records, and
//!   decides nothing.
//! - `run`: one run from start to finish: its folder, the error that
//!   ends it and its exit code, the next-step line, and the wiring of the
//!   stages for it (`run::pipeline`).
//!
//! Around them: [`cli`] / [`config`] (raw arguments, then checked
//! settings), [`util`] (`atomic`: outputs written whole, mode 0600;
//! `background`: writes on a thread of their own;
//! `redact`: the API key never reaches an output; `spill`: per-row facts
//! sorted on disk so memory stays flat; `nofollow`: the tool's own files
//! are never reached through a planted link; `text`: names compared and
//! values quoted alike in every stage), and `sandbox`, an embedded
//! emulator of the API for trying and testing (cargo feature `sandbox`, on
//! by default).

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

use std::io;
use std::path::PathBuf;

use crate::config::{Config, UsageError};
use crate::input::InputError;
use crate::model::failure::WriteFailure;
use crate::output::set::OutputRefused;
pub use crate::run::RunError;
use crate::store::journal::JournalError;
use crate::upload::api::ApiError;

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

/// A problem found before anything was sent: the process exits 2. Each
/// kind says what failed, where, and what the user can do about it.
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
    /// The API cannot be reached securely (an untrusted certificate).
    #[error(transparent)]
    Tls(#[from] upload::api::TlsError),
    /// The delta state cannot be used.
    #[error(transparent)]
    State(#[from] store::state::StateError),
    /// The runs folder of the input, or a run folder in it, cannot be
    /// created, read or updated.
    #[error(
        "cannot {action} {}: {source}; check that you may write there and that the disk has space, or keep the runs elsewhere with --runs-dir",
        path.display()
    )]
    RunFolder {
        /// What was being done, e.g. `create the runs folder`.
        action: &'static str,
        /// The folder or file it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file the user named for an output exists, or its folder does not.
    #[error(transparent)]
    Outputs(#[from] OutputRefused),
    /// A file of the run could not be written before anything was sent.
    #[error("{}; {}, then start the run again", .0.failure(), .0.remedy())]
    Write(WriteFailure),
    /// The run's journal cannot be started.
    #[error(
        "cannot start the run's journal: {0}; check that you may write in the run folder and that the disk has space"
    )]
    Journal(#[source] JournalError),
    /// The unfinished run's journal cannot be continued.
    #[error("cannot resume: {0}; start a new run and leave that one as it is: --restart")]
    Resume(#[source] JournalError),
    /// The HTTP client cannot be set up (its message says why).
    #[error(transparent)]
    Client(ApiError),
    /// The async runtime cannot start.
    #[error(
        "cannot start the async runtime: {0}; the system is short of threads or memory: stop other programs or raise the limit (ulimit -u), then start again"
    )]
    Runtime(#[source] io::Error),
    /// The embedded sandbox cannot start or serve.
    #[error(
        "the sandbox cannot run: {0}; if its port is taken, choose another with `notify-import sandbox --port` (0: any free port)"
    )]
    Sandbox(#[source] io::Error),
    /// The sandbox's `--customers` file cannot be read (its message names
    /// the file, the line and what to fix).
    #[error("the sandbox cannot start: {0}")]
    SandboxCustomers(#[source] io::Error),
    /// The template cannot be written (its message names the file).
    #[error("cannot write the template: {0}")]
    Template(#[source] io::Error),
    /// The manual page cannot be written to standard output.
    #[error("cannot write the manual page: {0}")]
    Man(#[source] io::Error),
    /// A bug: a step of the run was reached in a state it never should be.
    #[error("internal error: {0}; please report it")]
    Internal(String),
}

/// The manual page: the program's own sections, then each command's
/// synopsis and options under a heading of its own (one page, so `man
/// notify-import` shows every flag).
fn man_page(out: &mut dyn io::Write) -> io::Result<()> {
    use clap::CommandFactory;
    let cmd = cli::Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        writeln!(out, ".SH \"COMMAND: {}\"", name.to_uppercase())?;
        let sub = sub.clone().bin_name(format!("notify-import {name}"));
        let man = clap_mangen::Man::new(sub);
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
    }
    Ok(())
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
            let required = opts.required_key.is_some();
            rt.block_on(sandbox::serve_until_ctrl_c(opts, |url| {
                println!("{}", run::next_step::after_sandbox_start(url, required));
            }))
            .map_err(|e| match e.kind() {
                // Only the `--customers` file's problems are InvalidData.
                io::ErrorKind::InvalidData => SetupError::SandboxCustomers(e),
                _ => SetupError::Sandbox(e),
            })?;
            Ok(exit::OK)
        }
        Config::ShowMapping { input, options } => {
            let opened = input::open_for_mapping(&input, &options).map_err(SetupError::from)?;
            let describe = opened.info.describe(&opened.mapping);
            eprint!("{}", util::text::printable(&describe));
            print!("{}", util::text::printable(&opened.mapping.describe()));
            Ok(exit::OK)
        }
        Config::Completions(shell) => {
            use clap::CommandFactory;
            let mut cmd = cli::Cli::command();
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut cmd, "notify-import", &mut out);
            Ok(exit::OK)
        }
        Config::Man => {
            let mut out = io::stdout().lock();
            man_page(&mut out)
                .and_then(|()| io::Write::flush(&mut out))
                .map_err(SetupError::Man)?;
            Ok(exit::OK)
        }
        Config::ShowSettings(shown) => {
            print!("{}", output::report::settings_text(&shown));
            Ok(exit::OK)
        }
        Config::Template {
            path,
            force,
            delimiter,
        } => {
            output::template::write(path.as_deref(), force, delimiter)
                .map_err(SetupError::Template)?;
            if let Some(path) = &path {
                eprintln!("{}", run::next_step::after_template(path));
            }
            Ok(exit::OK)
        }
        Config::Undo(undo) => {
            output::report::init_logging(&undo.output);
            for warning in &undo.upload.warnings {
                tracing::warn!("{warning}");
            }
            run::undo::run(&undo)
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
        .map_err(SetupError::Runtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn setup_errors_name_what_failed_where_and_what_to_do() {
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        let folder = SetupError::RunFolder {
            action: "create the runs folder",
            path: PathBuf::from("/srv/k.runs"),
            source: denied(),
        };
        let text = folder.to_string();
        assert!(
            text.starts_with("cannot create the runs folder /srv/k.runs: ")
                && text.ends_with("or keep the runs elsewhere with --runs-dir"),
            "{text}"
        );
        let write = SetupError::Write(WriteFailure::new(Path::new("r.csv"), &denied()));
        assert_eq!(
            write.to_string(),
            "no permission to write r.csv; restore write permission, then start the run again"
        );
        let resume = SetupError::Resume(JournalError::Corrupt {
            path: PathBuf::from("k.runs/x/journal"),
            line: 3,
            message: "not JSON".into(),
        });
        assert!(resume.to_string().contains("k.runs/x/journal"), "{resume}");
        assert!(resume.to_string().ends_with("--restart"), "{resume}");
        assert_eq!(RunError::from(write).exit_code(), exit::USAGE);
    }
}
