//! The start of a run: the checks that may refuse it, and its folder.
//!
//! Owns the order of those checks, so the right message comes first: the
//! input exists, the runs folder's lock, the lock on the input file itself
//! (one run per file, however it is reached) and the `--state` lock are
//! free, no unfinished run is in the way (else the user chooses `--resume`
//! or `--restart`; an unfinished run of another version of the file is
//! left behind on its own), the files the user named may be written. Only
//! then is anything written: the `abandoned` mark, the new run folder (or
//! the unfinished one for `--resume`) with what earlier runs left in doubt,
//! `latest`, and old folders removed by `--keep-runs`. A refused run writes no file. It must not read the
//! input's rows or send anything.

use std::path::Path;
use std::time::SystemTime;

use super::next_step::{self, Commands, Flags};
use super::{RunFiles, RunFolder, RunKind, recovery};
use crate::SetupError;
use crate::config::{self, Endpoint, RunConfig};
use crate::input::InputFile;
use crate::model::plan::WriteMode;
use crate::output::set::Outputs;
use crate::store::doubt::Doubt;
use crate::store::lock::{InputLock, LockError, RunLock};

/// A run that may start: it holds the lock and has its folder.
pub struct Start {
    // Never read: held for the whole run.
    _lock: RunLock,
    _input_lock: InputLock,
    _state_lock: Option<RunLock>,
    /// The input, opened once for the whole run (its lock is on this
    /// open file).
    pub input: InputFile,
    /// Where the run writes.
    pub files: RunFiles,
    /// Continuing the unfinished run in its folder.
    pub resuming: bool,
    /// Codes earlier runs left in doubt at this run's target: looked up
    /// before anything is sent for them. `None` for a check or the sandbox.
    pub doubt: Option<Doubt>,
}

impl Start {
    /// The checks before a run starts, in the order that gives the right
    /// message first: the locks (another run is busy with this path, this
    /// file or this state), an unfinished run (the user decides: `--resume`
    /// or `--restart`), then the files the user named for the run's
    /// `outputs`. Then the run's folder: a new one, or the unfinished one to
    /// resume.
    pub(crate) fn prepare(run: &RunConfig, outputs: &Outputs) -> Result<Start, SetupError> {
        // The one open of the input. A mistyped input name must not leave
        // a runs folder behind. What cannot be read twice (a FIFO) is
        // copied into an unnamed temporary file.
        let input = InputFile::open(&run.input, &run.input_options)?;
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
            .refuse_foreign_link()
            .map_err(folder_err("create the runs folder", runs_dir))?;
        // A run of the same path is named best by its runs folder's lock
        // (its pid and start), so that one is asked first where it exists;
        // the input's own lock then refuses the same file reached another
        // way, before anything is made for this run.
        let held = if runs_dir.is_dir() {
            out.runs
                .hold()
                .map_err(folder_err("open the runs folder", runs_dir))?;
            Some(RunLock::acquire_at(out.runs.lock_path(), &run.input)?)
        } else {
            None
        };
        let input_lock = lock_input(run, &input)?;
        // Taken once, here, and held for the whole run: a run refused by it
        // writes nothing, and none can slip in before the state is opened
        // (opening it shares this lock).
        let state_lock = run
            .upload
            .as_ref()
            .and_then(|u| u.state.as_deref())
            .map(RunLock::acquire)
            .transpose()?;
        out.runs
            .create()
            .map_err(folder_err("create the runs folder", runs_dir))?;
        let lock = match held {
            Some(lock) => lock,
            None => RunLock::acquire_at(out.runs.lock_path(), &run.input)?,
        };
        let mut resume_from = None;
        let mut abandon = None;
        // A plan writes nothing to Notify: an unfinished import is no
        // reason to refuse one; but the import it advises would be
        // refused for it (unless the input changed since), so the advice
        // needs to know.
        let mut unfinished_import = None;
        if run.upload.as_ref().is_some_and(|u| u.plan_only)
            && let Ok(Some(f)) = out.runs.unfinished()
            && recovery::input_changed(&f, &input).is_none()
        {
            unfinished_import = Some(f.path().to_owned());
        }
        if let Some(upload) = run.upload.as_ref().filter(|u| !u.plan_only) {
            let unfinished = out
                .runs
                .unfinished()
                .map_err(folder_err("read the runs folder", runs_dir))?;
            match unfinished {
                Some(f) if upload.resume => resume_from = Some(f),
                Some(f) if upload.restart => abandon = Some((f, "by --restart".to_owned())),
                // A changed file is a new run (a new night's export): that
                // run can never be resumed with it, so it does not block.
                Some(f) => match recovery::input_changed(&f, &input) {
                    Some(why) => abandon = Some((f, why)),
                    None => return Err(unfinished_error(run, &f)),
                },
                None => {}
            }
        }
        // A resume continues the output files its run named.
        let own = super::settings::own_outputs(run, resume_from.as_ref())?;
        outputs.check_writable(out.overwrite, &own)?;
        if let Some((old, why)) = &abandon {
            old.abandon(why)
                .map_err(folder_err("mark abandoned the run in", old.path()))?;
        }
        // Before a new folder is made (and `--keep-runs` removes old ones).
        let doubt = recovery::inherited(run, &out.runs, resume_from.as_ref());
        let resuming = resume_from.is_some();
        let (folder, foreign_latest) = match resume_from {
            Some(folder) => {
                let folder = folder
                    .hold()
                    .map_err(folder_err("open the run folder", runs_dir))?;
                let foreign = out
                    .runs
                    .point_latest(&folder)
                    .map_err(folder_err("point `latest` at", folder.path()))?;
                (folder, foreign)
            }
            None => out
                .runs
                .new_run(SystemTime::now(), kind(run))
                .map_err(folder_err("create a run folder in", runs_dir))?,
        };
        if !resuming {
            super::settings::RunSettings::of(run)
                .write(folder.path())
                .map_err(folder_err("write run.toml in", folder.path()))?;
        }
        if !resuming && let Some(doubt) = &doubt {
            // Passed on even if this run stops before it looks them up.
            doubt
                .write(&folder.doubt())
                .map_err(|e| SetupError::RunFolder {
                    action: "write what is in doubt into",
                    path: folder.path().to_owned(),
                    source: std::io::Error::other(e.to_string()),
                })?;
        }
        // Someone else's `latest` costs this run its pointer, not its work.
        if let Some(foreign) = foreign_latest {
            tracing::warn!("{foreign}");
        }
        match out.runs.prune(out.keep_runs, &folder) {
            Ok(removed) => {
                for path in removed {
                    tracing::debug!("--keep-runs: removed {}", path.display());
                }
            }
            // Old folders staying is no reason to stop this run.
            Err(e) => tracing::warn!("--keep-runs: cannot remove an old run folder: {e}"),
        }
        let mut files = RunFiles::new(
            folder,
            out.results.as_deref(),
            out.errors.as_deref(),
            out.report,
        );
        files.abandoned = abandon.map(|(f, why)| recovery::Abandoned {
            folder: f.path().to_owned(),
            why,
        });
        files.unfinished_import = unfinished_import;
        // A workbook's rows go back into a workbook, to fix in Excel.
        if out.errors.is_none() && input.is_workbook() {
            files.errors = files.folder.errors_workbook();
        }
        Ok(Start {
            _lock: lock,
            _input_lock: input_lock,
            _state_lock: state_lock,
            input,
            files,
            resuming,
            doubt,
        })
    }
}

/// The kind of folder `run` writes.
fn kind(run: &RunConfig) -> RunKind {
    match &run.upload {
        None => RunKind::Check,
        Some(u) if u.plan_only => RunKind::Plan,
        Some(_) => RunKind::Import,
    }
}

/// The lock on the input file itself: one run per file, however it is
/// reached. Where the file system cannot lock it (a network share may
/// refuse a lock on a file opened read-only), the run goes on under its
/// runs folder's lock alone, and says so.
fn lock_input(run: &RunConfig, input: &InputFile) -> Result<InputLock, LockError> {
    match InputLock::acquire(&run.input, input.regular()) {
        Err(e @ LockError::InputUnsupported { .. }) => {
            tracing::warn!(
                "{e}; only runs of this path and runs folder are kept from running at once"
            );
            Ok(InputLock::none())
        }
        taken => taken,
    }
}

/// The refusal of a new run while an earlier one is unfinished.
fn unfinished_error(run: &RunConfig, folder: &RunFolder) -> SetupError {
    // Its resume goes where that run sent, whatever this one was pointed at.
    let mut flags = flags(run);
    if let Some(header) = folder.started_as() {
        flags.target.retain(|f| {
            !(f.starts_with("--api-url ")
                || f.starts_with("--mode ")
                || f == "--overwrite"
                || f == "--clear-empty"
                || f == "--live")
        });
        if header.api_url.trim_end_matches('/') != config::DEFAULT_API_URL {
            Flags::push(&mut flags.target, "--api-url", &header.api_url);
        }
        if header.key_kind == "live" {
            flags.target.push("--live".to_owned());
        }
        match header.write_mode() {
            "create" => {}
            "overwrite" => flags.target.push("--overwrite".to_owned()),
            mode => Flags::push(&mut flags.target, "--mode", mode),
        }
        if header.clear_empty {
            flags.target.push("--clear-empty".to_owned());
        }
    }
    let commands = commands(run)
        .flags(flags)
        .recorded(super::settings::RunSettings::read(folder.path()).is_ok_and(|s| s.is_some()));
    // No resume can read a journal whose start cannot be read: only the
    // way that works is offered.
    if folder.started_as().is_none() {
        return SetupError::Usage(config::UsageError(format!(
            "an earlier run of {} stopped ({}), and its journal cannot be read, so it cannot be resumed; start a new run and leave that one as it is: {} --restart",
            run.input.display(),
            folder.path().display(),
            commands.import()
        )));
    }
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

/// The commands printed for this input, with the flags that decide what
/// they read and send.
pub fn commands(run: &RunConfig) -> Commands<'_> {
    let sandbox = match (&run.upload, &run.dry_run_target) {
        (Some(u), _) => matches!(u.target, Endpoint::Sandbox),
        (None, Some(dry)) => dry.sandbox,
        (None, None) => false,
    };
    Commands::new(&run.input, run.outputs.runs_dir.as_deref())
        .sandbox(sandbox)
        .flags(flags(run))
        .recorded(true)
}

/// The flags of `run` that its printed commands repeat.
fn flags(run: &RunConfig) -> Flags {
    let mut flags = Flags::default();
    let o = &run.input_options;
    if let Some(encoding) = &o.encoding {
        Flags::push(&mut flags.reading, "--encoding", encoding);
    }
    if let Some(sheet) = &o.sheet {
        Flags::push(&mut flags.reading, "--sheet", sheet);
    }
    if let Some(line) = o.header_line {
        Flags::push(&mut flags.reading, "--header-line", &line.to_string());
    }
    if let Some(d) = o.delimiter {
        let shown = match d {
            b'\t' => "tab".to_owned(),
            other => char::from(other).to_string(),
        };
        Flags::push(&mut flags.meaning, "--delimiter", &shown);
    }
    if o.max_record_bytes != crate::input::DEFAULT_MAX_RECORD_BYTES {
        Flags::push(
            &mut flags.meaning,
            "--max-record-bytes",
            &o.max_record_bytes.to_string(),
        );
    }
    if let Some(file) = &o.mapping_file {
        Flags::push(&mut flags.meaning, "--mapping", &file.display().to_string());
    }
    for (field, column) in &o.map {
        Flags::push_map(&mut flags.meaning, *field, column);
    }
    if let Some(country) = &o.default_country {
        Flags::push(&mut flags.meaning, "--default-country", country);
    }
    // The profile's other settings (its API URL, key file) come with it.
    if let Some(profile) = &run.provenance.profile {
        flags.meaning.extend(profile.words());
    }
    if let Some(upload) = &run.upload {
        if let Endpoint::Remote { url, key } = &upload.target {
            if url.as_str().trim_end_matches('/') != config::DEFAULT_API_URL {
                Flags::push(&mut flags.target, "--api-url", url.as_str());
            }
            if let Some(file) = &upload.key_file {
                Flags::push(
                    &mut flags.target,
                    "--api-key-file",
                    &file.display().to_string(),
                );
            }
            if key.kind() == config::KeyKind::Live {
                flags.target.push("--live".to_owned());
            }
        }
        match upload.mode {
            WriteMode::Create => {}
            WriteMode::Overwrite => flags.target.push("--overwrite".to_owned()),
            mode => Flags::push(&mut flags.target, "--mode", mode.as_str()),
        }
        if upload.clear_empty {
            flags.target.push("--clear-empty".to_owned());
        }
        if let Some(state) = &upload.state {
            Flags::push(&mut flags.target, "--state", &state.display().to_string());
        }
    }
    // A dry run sent nothing: the import it advises goes where it pointed.
    if let Some(dry) = &run.dry_run_target {
        if let Some(url) = dry
            .api_url
            .as_deref()
            .filter(|u| u.trim_end_matches('/') != config::DEFAULT_API_URL)
        {
            Flags::push(&mut flags.target, "--api-url", url);
        }
        if let Some(file) = &dry.key_file {
            Flags::push(
                &mut flags.target,
                "--api-key-file",
                &file.display().to_string(),
            );
        }
        if dry.live {
            flags.target.push("--live".to_owned());
        }
        match dry.mode {
            WriteMode::Create => {}
            WriteMode::Overwrite => flags.target.push("--overwrite".to_owned()),
            mode => Flags::push(&mut flags.target, "--mode", mode.as_str()),
        }
        if dry.clear_empty {
            flags.target.push("--clear-empty".to_owned());
        }
    }
    flags
}
