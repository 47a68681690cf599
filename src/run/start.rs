//! The start of a run: the checks that may refuse it, and its folder.
//!
//! Owns the order of those checks, so the right message comes first: the
//! input exists, the run lock of the input (and the `--state` lock) is
//! free, no unfinished run is in the way (else the user chooses `--resume`
//! or `--restart`), the files the user named may be written. Only then is
//! anything written: the `abandoned` mark, the new run folder (or the
//! unfinished one for `--resume`), `latest`, and old folders removed by
//! `--keep-runs`. A refused run writes no file. It must not read the
//! input's rows or send anything.

use std::path::Path;
use std::time::SystemTime;

use super::next_step::{self, Commands};
use super::{RunFiles, RunFolder};
use crate::SetupError;
use crate::config::{self, Endpoint, RunConfig};
use crate::input::InputError;
use crate::output::set::Outputs;
use crate::store::lock::RunLock;

/// A run that may start: it holds the lock and has its folder.
pub struct Start {
    // Never read: held for the whole run.
    _lock: RunLock,
    /// Where the run writes.
    pub files: RunFiles,
    /// Continuing the unfinished run in its folder.
    pub resuming: bool,
}

impl Start {
    /// The checks before a run starts, in the order that gives the right
    /// message first: the lock (another run is busy), an unfinished run (the
    /// user decides: `--resume` or `--restart`), then the files the user named
    /// for the run's `outputs`. Then the run's folder: a new one, or the
    /// unfinished one to resume.
    pub(crate) fn prepare(run: &RunConfig, outputs: &Outputs) -> Result<Start, SetupError> {
        // A mistyped input name must not leave a runs folder behind.
        if let Err(source) = std::fs::metadata(&run.input) {
            return Err(SetupError::Input(InputError::Io {
                path: run.input.clone(),
                source,
            }));
        }
        let out = &run.outputs;
        let runs_dir = out.runs.dir();
        let folder_err = |action, path: &Path| {
            let path = path.to_owned();
            move |source| SetupError::RunFolder {
                action,
                path,
                source,
            }
        };
        out.runs
            .create()
            .map_err(folder_err("create the runs folder", runs_dir))?;
        let lock = RunLock::acquire_at(out.runs.lock_path(), &run.input)?;
        // The state's own lock is taken when the state is opened, after the
        // run started; asking now lets a run refused by it write nothing (a
        // run starting in between is still refused then, with a summary).
        if let Some(state) = run.upload.as_ref().and_then(|u| u.state.as_deref())
            && state.exists()
        {
            drop(RunLock::acquire(state)?);
        }
        let mut resume_from = None;
        let mut abandon = None;
        if let Some(upload) = &run.upload {
            let unfinished = out
                .runs
                .unfinished()
                .map_err(folder_err("read the runs folder", runs_dir))?;
            match unfinished {
                Some(f) if upload.resume => resume_from = Some(f),
                Some(f) if upload.restart => abandon = Some(f),
                Some(f) => return Err(unfinished_error(run, &f)),
                None => {}
            }
        }
        outputs.check_writable(out.overwrite)?;
        if let Some(old) = &abandon {
            old.abandon()
                .map_err(folder_err("mark abandoned the run in", old.path()))?;
        }
        let resuming = resume_from.is_some();
        let folder = match resume_from {
            Some(folder) => {
                out.runs
                    .point_latest(&folder)
                    .map_err(folder_err("point `latest` at", folder.path()))?;
                folder
            }
            None => out
                .runs
                .new_run(SystemTime::now(), run.upload.is_none())
                .map_err(folder_err("create a run folder in", runs_dir))?,
        };
        match out.runs.prune(out.keep_runs, &folder) {
            Ok(removed) => {
                for path in removed {
                    tracing::debug!("--keep-runs: removed {}", path.display());
                }
            }
            // Old folders staying is no reason to stop this run.
            Err(e) => tracing::warn!("--keep-runs: cannot remove an old run folder: {e}"),
        }
        let files = RunFiles::new(folder, out.results.as_deref(), out.errors.as_deref());
        Ok(Start {
            _lock: lock,
            files,
            resuming,
        })
    }
}

/// The refusal of a new run while an earlier one is unfinished.
fn unfinished_error(run: &RunConfig, folder: &RunFolder) -> SetupError {
    let commands = commands(run);
    let how_far = match folder.progress() {
        Some((done, rows)) => format!(
            "stopped after {} of {} rows",
            next_step::grouped(done),
            next_step::grouped(rows)
        ),
        None => "stopped (its journal cannot be read)".to_owned(),
    };
    SetupError::Usage(config::UsageError(format!(
        "an earlier run of {} {how_far} ({}); continue it: {}; or start a new run and leave that one as it is: --restart",
        run.input.display(),
        folder.path().display(),
        commands.resume()
    )))
}

/// The commands printed for this input.
pub fn commands(run: &RunConfig) -> Commands<'_> {
    let sandbox = run
        .upload
        .as_ref()
        .is_some_and(|u| matches!(u.target, Endpoint::Sandbox));
    Commands::new(&run.input, run.outputs.runs_dir.as_deref()).sandbox(sandbox)
}
