//! One run over an input file: the one pass, then the plan and the
//! upload (or, for a check, nothing more), each row's outcome into the
//! run's outputs ([`Outputs`]), which are written at the end.
//!
//! Owns the wiring of the stages (threads, channels, runtime, signals) and
//! handing how they ended to [`mod@crate::run`], which holds the rules:
//! the checks before a run starts and its folder ([`crate::run::start`]),
//! the exit code, the journal kept or removed and the next-step line
//! ([`crate::run::finish`]), and the error of a failed run
//! ([`RunError`]). The input is opened once ([`InputFile`]) and read once
//! ([`pass::run`]); an import keeps its checked rows in the run folder
//! ([`RowsFile`]) for the planner and the errors file. It must not hold
//! rules of its own: a row's fate is the planner's ([`crate::plan`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::check::pass::{self, Pass};
use crate::config::{self, ApiKey, Endpoint, OutputConfig, RunConfig, UploadConfig};
use crate::input::header::likeliest_columns;
use crate::input::{self, ColumnStats, InputError, InputFile, Mapping, MappingFile, RecordSource};
use crate::model::checked::{CheckedRow, Verdict};
use crate::model::failure::WriteFailure;
use crate::model::field::Field;
use crate::model::outcome::{Counts, Outcome, Status};
use crate::model::plan::{FieldChange, Planned, Write, WriteMode};
use crate::model::remote::Existing;
use crate::model::timeline::Timeline;
use crate::output::plan_file::{self, Action, PlanFacts, PlanRow, PlanWriter};
use crate::output::report::{self, PaceFacts, Reporter};
use crate::output::results;
use crate::output::set::{InputRows, Outputs};
use crate::plan::diff::Clearable;
use crate::plan::rows::{RowsFile, RowsWriter};
use crate::plan::{self, Planner};
use crate::run::finish::{RowsEnd, RunEnd, UploadEnd, finish};
use crate::run::next_step::Unmapped;
use crate::run::{RunError, RunFiles, Start};
use crate::store::journal::{Header, Journal, Resume};
use crate::store::state;
use crate::upload::api::{ApiClient, ErrorKind};
use crate::upload::snapshot::{FileCodes, Snapshot, SnapshotError};
use crate::upload::{self, StopReason, UploadSettings, Uploader};
use crate::util::spill::Scratch;
use crate::{SetupError, runtime};

#[cfg(feature = "sandbox")]
type Embedded = crate::sandbox::SandboxHandle;
// Config refuses `--sandbox` in a build without it, so there is never one.
#[cfg(not(feature = "sandbox"))]
type Embedded = std::convert::Infallible;

/// Rows buffered between stages; bounds memory and gives backpressure.
const CHANNEL_ROWS: usize = 1024;

/// Runs `run` and returns the exit code. A run refused before it starts
/// (lock held, unfinished run, existing named output) writes nothing; a
/// run that started writes its summary whatever the outcome.
pub fn run_file(run: &RunConfig) -> Result<u8, RunError> {
    let mut outputs = Outputs::for_run(run);
    let start = Start::prepare(run, &outputs)?;
    let result = run_started(run, &start, &mut outputs);
    outputs.run_done(run, &start.files, result)
}

/// The run itself, under the run lock, in its folder.
fn run_started(run: &RunConfig, start: &Start, outputs: &mut Outputs) -> Result<u8, RunError> {
    let files = &start.files;
    let folder = files.folder.path();
    // The one open of the input, made (and locked) by the start.
    let file = &start.input;
    let Some(upload) = &run.upload else {
        return validate_file(run, files, file, outputs);
    };
    let mut sink = KeepRows {
        rows: RowsWriter::create(folder).map_err(|source| spill_error(folder, source))?,
        failed: None,
    };
    let mut pass = pass::run(file, &run.input_options, &scratch(files), &mut sink)
        .map_err(SetupError::from)?;
    if let Some(source) = sink.failed {
        return Err(spill_error(folder, source).into());
    }
    let rows = sink
        .rows
        .finish()
        .map_err(|source| spill_error(folder, source))?;
    outputs.input(&pass);
    let reporter = Reporter::new(pass.rows, &run.output);
    report_input(&pass, &reporter);
    let result = if upload.plan_only {
        plan_file(run, start, upload, &mut pass, &rows, outputs, &reporter)
    } else {
        upload_file(run, start, upload, &mut pass, &rows, outputs, &reporter)
    };
    outputs.totals(reporter.recorded());
    reporter.finish();
    result
}

/// An import's sink: every checked row kept on disk for the planner and
/// the errors file.
struct KeepRows {
    rows: RowsWriter,
    failed: Option<io::Error>,
}

impl pass::Sink for KeepRows {
    fn row(&mut self, row: &pass::Checked<'_>) -> bool {
        match self.rows.push(row) {
            Ok(()) => true,
            Err(e) => {
                self.failed = Some(e);
                false
            }
        }
    }

    fn restart(&mut self) -> io::Result<()> {
        self.rows.restart()
    }
}

/// A check's sink: every row's local outcome straight into the outputs.
struct WriteOutcomes<'a> {
    outputs: &'a mut Outputs,
    reporter: &'a Reporter,
    failed: Option<io::Error>,
}

impl pass::Sink for WriteOutcomes<'_> {
    fn row(&mut self, row: &pass::Checked<'_>) -> bool {
        self.reporter.row_done();
        match self.outputs.push(row.outcome()) {
            Ok(()) => true,
            Err(e) => {
                self.failed = Some(e);
                false
            }
        }
    }

    fn restart(&mut self) -> io::Result<()> {
        self.outputs.restart_rows()
    }
}

fn spill_error(dir: &Path, source: io::Error) -> SetupError {
    SetupError::Input(InputError::Spill {
        dir: dir.to_owned(),
        source,
    })
}

/// Where temporary files go (sorted codes and outcomes, to keep memory
/// flat): the run folder, private to the user.
fn scratch(files: &RunFiles) -> Scratch {
    Scratch::in_dir(files.folder.path())
}

/// The required field no column feeds, if any, with the columns likeliest
/// to hold it. Only the name can be missing here: a file without a code
/// column is refused before any row is read.
fn unmapped(run: &RunConfig, pass: &Pass) -> Option<Unmapped> {
    if pass.invalid() == 0 {
        return None;
    }
    let o = &run.input_options;
    let file = match &o.mapping_file {
        Some(path) => MappingFile::load(path).ok()?,
        None => MappingFile::default(),
    };
    let mapping = Mapping::resolve_with(
        &run.input,
        &pass.headers,
        &file,
        &o.map,
        &ColumnStats::default(),
    )
    .ok()?;
    let field = Field::Name;
    mapping.source(field).is_none().then(|| Unmapped {
        field,
        likeliest: likeliest_columns(field, mapping.unknown_columns(), 3),
    })
}

/// Tells the log and the user what the pass found.
fn report_input(pass: &Pass, reporter: &Reporter) {
    if let Some(warning) = report::unknown_columns_warning(pass) {
        tracing::warn!("{warning}");
    }
    reporter.info(&report::input_report(pass));
}

/// `validate` / `--dry-run`: the one pass, straight into the results file
/// (nothing is sent, so nothing needs the rows kept; a file-level problem
/// drops the unfinished results file). Repeated codes are known at the
/// end: the planner's producer amends their rows.
fn validate_file(
    run: &RunConfig,
    files: &RunFiles,
    file: &InputFile,
    outputs: &mut Outputs,
) -> Result<u8, RunError> {
    outputs
        .start_rows(&files.results, true)
        .map_err(|e| RunError::writing(&files.results, &e, false, String::new()))?;
    // The row count is known only at the end, and a million rows take a
    // second or two: no bar, no progress lines.
    let output = crate::config::OutputConfig {
        progress: false,
        ..run.output
    };
    let reporter = Reporter::new(0, &output);
    let mut sink = WriteOutcomes {
        outputs: &mut *outputs,
        reporter: &reporter,
        failed: None,
    };
    let mut pass = pass::run(file, &run.input_options, &scratch(files), &mut sink)
        .map_err(SetupError::from)?;
    let write_err = sink.failed;
    outputs.input(&pass);
    let written = match write_err {
        Some(e) => Err(e),
        None => {
            report_input(&pass, &reporter);
            reporter.info(&report::checked_line(&run.input, &pass));
            let repeats = pass.take_repeats().into_iter().flatten().map(|d| {
                d.map(|d| (d.row, d.first_line))
                    .map_err(std::io::Error::other)
            });
            outputs.finish_rows_amending(pass.rows, repeats, plan::repeated)
        }
    };
    let mut counts = Counts::default();
    counts.add_rows(Status::Valid, pass.valid);
    counts.add_rows(Status::Invalid, pass.invalid());
    // The errors file reads the input again through the one open handle.
    let open = || -> Result<Box<dyn RecordSource>, InputError> {
        Ok(input::open_file(file, &run.input_options)?.reader)
    };
    let end = RunEnd {
        rows: RowsEnd {
            counts,
            written,
            read_err: None,
        },
        input: report::input_line(&pass),
        cells: InputRows {
            input: &run.input,
            headers: &pass.headers,
            delimiter: pass.info.delimiter.delimiter,
            open: &open,
        },
        upload: None,
        unmapped: unmapped(run, &pass),
    };
    let result = finish(run, files, outputs, &reporter, end);
    outputs.totals(reporter.recorded());
    reporter.finish();
    result
}

/// The API a run talks to: the in-process sandbox (alive as long as its
/// handle), or the URL and key given.
fn connect(upload: &UploadConfig) -> Result<(Option<Embedded>, reqwest::Url, ApiKey), RunError> {
    Ok(match &upload.target {
        #[cfg(feature = "sandbox")]
        Endpoint::Sandbox => {
            use crate::sandbox;
            let handle =
                sandbox::spawn(sandbox::SandboxOptions::default()).map_err(SetupError::Sandbox)?;
            let url = config::check_url(&handle.base_url()).map_err(SetupError::from)?;
            (Some(handle), url, ApiKey::sandbox())
        }
        #[cfg(not(feature = "sandbox"))]
        Endpoint::Sandbox => {
            return Err(SetupError::Usage(config::UsageError(
                "--sandbox: this binary was built without the sandbox; use a build with the `sandbox` feature".into(),
            ))
            .into());
        }
        Endpoint::Remote { url, key } => (None, url.clone(), key.clone()),
    })
}

/// Where requests go, as the run's header names it: the embedded
/// sandbox, or Notify's live or test environment by the key's kind.
fn target<'a>(sandbox: bool, key: &ApiKey, url: &'a str) -> report::Target<'a> {
    if sandbox {
        report::Target::Sandbox(url)
    } else if key.kind() == config::KeyKind::Live {
        report::Target::Live(url)
    } else {
        report::Target::Test(url)
    }
}

/// The pacing a run's summary reports: the rate asked for (the ceiling
/// with `--auto-rate`) and what the pacer came to.
fn pace_facts(upload: &UploadConfig, pace: &upload::pace::PaceReport) -> PaceFacts {
    PaceFacts {
        auto: upload.auto_rate,
        rate: if upload.auto_rate {
            upload.max_rate
        } else {
            upload.rate
        },
        final_rate: pace.final_rate,
        ceiling: pace.ceiling,
        advertised: pace.advertised,
        paused: pace.paused,
    }
}

/// The uploader's settings from the run's (`reporter` shows its pace).
pub(super) fn upload_settings(upload: &UploadConfig, reporter: &Reporter) -> UploadSettings {
    let mut settings = UploadSettings::new(upload.rate, upload.burst, upload.concurrency);
    settings.max_attempts = upload.max_attempts;
    settings.max_retry_after = upload.max_retry_after;
    settings.max_errors = upload.max_errors;
    settings.timeout = upload.timeout;
    settings.stall_timeout = upload.stall_timeout;
    // A row alone never outlasts a stall of the whole run: a 429 storm
    // ends as a stall (rows skipped, resumable), not as failed rows.
    settings.row_deadline = settings.row_deadline.max(upload.stall_timeout);
    if upload.auto_rate {
        settings.pace = upload::pace::PaceSettings {
            start: upload.rate,
            target: upload.max_rate,
            burst: upload.burst,
            auto: true,
            probe_first: true,
        };
    }
    settings.answered = reporter.answered_gauge();
    settings
}

/// `plan`: reads what Notify holds for the file's codes (list pages or
/// searches, paced like an import), plans every row as the import would,
/// and writes `plan.csv` beside a check's results (valid or invalid).
/// No write request is ever made: there is no uploader of rows here, and
/// the planner never touches the network.
fn plan_file(
    run: &RunConfig,
    start: &Start,
    upload: &UploadConfig,
    pass: &mut Pass,
    rows: &RowsFile,
    outputs: &mut Outputs,
    reporter: &Reporter,
) -> Result<u8, RunError> {
    let files = &start.files;
    let folder = files.folder.path();
    outputs
        .start_rows(&files.results, true)
        .map_err(|e| RunError::writing(&files.results, &e, false, String::new()))?;
    let (sandbox, url, key) = connect(upload)?;
    let url_text = url.to_string();
    let target = target(sandbox.is_some(), &key, &url_text);
    reporter.info(&report::plan_header(
        &run.input,
        &report::rows_line(pass),
        target,
        upload.mode,
        folder,
        run.provenance.profile_used(),
    ));
    let client = Arc::new(ApiClient::new(&url, &key, upload.timeout).map_err(SetupError::Client)?);
    crate::upload::api::tls::check(&url, upload.timeout).map_err(SetupError::from)?;
    let repeats = pass.take_repeats().ok_or_else(|| {
        SetupError::Internal("the repeated codes of this pass were already read".into())
    })?;
    let planner = Planner::new(upload.mode, repeats, None, None, false, upload.timeout)
        .map_err(SetupError::from)?;
    // The uploader only paces and retries the reads; no row reaches it.
    let uploader = Uploader::new(client.clone(), upload_settings(upload, reporter), None);
    let rt = runtime()?;
    let signals = rt.spawn(watch_signals(uploader.stop_handle(), upload.grace_period));
    let learned = learn_snapshot(&rt, &uploader, rows, folder, &run.output, reporter);
    signals.abort();
    drop(rt);
    #[cfg(feature = "sandbox")]
    if let Some(handle) = sandbox {
        handle.shutdown();
    }
    let rows_end = match learned? {
        Some(snapshot) => {
            let held = Held {
                snapshot,
                dir: folder.to_owned(),
            };
            let planner = planner.comparing(Box::new(held), clearable(upload, pass), folder);
            let path = folder.join(plan_file::FILE);
            let (rows_end, facts) =
                write_plan(outputs, rows, planner, &path, upload.mode, reporter)?;
            reporter.info(&report::plan_lines(&facts));
            outputs.plan(facts);
            rows_end
        }
        None => skip_all(outputs, rows, &uploader),
    };
    let pace = uploader.pace_report();
    let upload_end = UploadEnd {
        stop: uploader.stop_reason(),
        requests: client.requests_sent(),
        resumed: false,
        retries: uploader
            .counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        rate_limited: uploader.rate_limited(),
        pace: pace_facts(upload, &pace),
        sandbox: matches!(upload.target, Endpoint::Sandbox),
        closed: Ok(()),
        timeline: Timeline::default(),
    };
    drop(uploader);
    finish_sent(
        run, files, outputs, reporter, pass, rows, rows_end, upload_end,
    )
}

/// Ends a run that reached Notify (`plan` or an import): the results,
/// summary and report from what its rows and uploader came to.
#[allow(clippy::too_many_arguments)]
fn finish_sent(
    run: &RunConfig,
    files: &RunFiles,
    outputs: &mut Outputs,
    reporter: &Reporter,
    pass: &Pass,
    rows: &RowsFile,
    rows_end: RowsEnd,
    upload_end: UploadEnd,
) -> Result<u8, RunError> {
    let open = || -> Result<Box<dyn RecordSource>, InputError> { Ok(Box::new(rows.read()?)) };
    let end = RunEnd {
        rows: rows_end,
        input: report::input_line(pass),
        cells: InputRows {
            input: &run.input,
            headers: &pass.headers,
            delimiter: pass.info.delimiter.delimiter,
            open: &open,
        },
        upload: Some(upload_end),
        unmapped: unmapped(run, pass),
    };
    finish(run, files, outputs, reporter, end)
}

/// Plans every row in input order into `plan.csv` at `path` and a check's
/// outcome (valid, or invalid with its problems) into the results.
fn write_plan(
    outputs: &mut Outputs,
    rows: &RowsFile,
    mut planner: Planner<'_>,
    path: &Path,
    mode: WriteMode,
    reporter: &Reporter,
) -> Result<(RowsEnd, PlanFacts), RunError> {
    let plan_err = |e: io::Error| RunError::writing(path, &e, false, String::new());
    let mut writer = PlanWriter::create(path, mode.as_str()).map_err(plan_err)?;
    let mut counts = Counts::default();
    let mut read_err = None;
    let mut row = CheckedRow::default();
    let mut read = rows.read().map_err(SetupError::from)?;
    loop {
        let planned = match read.next_into(&mut row) {
            Ok(false) => break,
            Ok(true) => planner.plan(std::mem::take(&mut row)),
            Err(e) => Err(e),
        };
        let planned = match planned {
            Ok(p) => p,
            Err(e) => {
                read_err = Some(e);
                break;
            }
        };
        let (outcome, action, changes, id) = plan_row(planned);
        writer
            .push(&PlanRow {
                row: outcome.row,
                line: outcome.line,
                code: &outcome.code,
                action,
                changes: &changes,
                id: id.as_deref(),
            })
            .map_err(plan_err)?;
        counts.add(outcome.status);
        reporter.row_done();
        if let Err(e) = outputs.push(outcome) {
            return Ok((
                RowsEnd {
                    counts,
                    written: Err(e),
                    read_err,
                },
                writer.facts(),
            ));
        }
    }
    if read_err.is_some() {
        // Every row still gets a results line; the plan stays unwritten.
        let facts = writer.facts();
        for n in outputs.rows_written() + 1..=rows.len() {
            counts.add(Status::Skipped);
            let error = "not planned: the run's checked rows could not be read back".to_owned();
            if let Err(e) =
                outputs.push(Outcome::local(n, 0, String::new(), Status::Skipped, error))
            {
                return Ok((
                    RowsEnd {
                        counts,
                        written: Err(e),
                        read_err,
                    },
                    facts,
                ));
            }
        }
        return Ok((
            RowsEnd {
                written: outputs.finish_rows(rows.len()),
                counts,
                read_err,
            },
            facts,
        ));
    }
    let facts = writer.finish().map_err(plan_err)?;
    Ok((
        RowsEnd {
            written: outputs.finish_rows(rows.len()),
            counts,
            read_err,
        },
        facts,
    ))
}

/// A planned row as the plan shows it: the check's outcome for the
/// results (valid, or invalid with its problems), the action, what it
/// changes and Notify's id.
fn plan_row(planned: Planned) -> (Outcome, Action, Vec<FieldChange>, Option<String>) {
    let valid = |row, line, code| Outcome::local(row, line, code, Status::Valid, String::new());
    match planned {
        Planned::Done(o) => {
            let action = match o.status {
                Status::Unchanged => Action::Unchanged,
                Status::NotFound => Action::NotFound,
                Status::Exists => Action::Exists,
                _ => Action::Invalid,
            };
            let id = o.customer_id.clone();
            let outcome = if action == Action::Invalid {
                Outcome {
                    status: Status::Invalid,
                    ..o
                }
            } else {
                valid(o.row, o.line, o.code)
            };
            (outcome, action, Vec::new(), id)
        }
        Planned::Send(r) => {
            let outcome = valid(r.row, r.line, r.code);
            match r.write {
                Write::Update(u) => (outcome, Action::Update, u.changes, Some(u.id)),
                Write::Create {
                    existing: Some(u), ..
                } => (outcome, Action::Overwrite, u.changes, Some(u.id)),
                Write::Create { .. } => (outcome, Action::Create, Vec::new(), None),
            }
        }
    }
}

fn upload_file(
    run: &RunConfig,
    start: &Start,
    upload: &UploadConfig,
    pass: &mut Pass,
    rows: &RowsFile,
    outputs: &mut Outputs,
    reporter: &Reporter,
) -> Result<u8, RunError> {
    let valid_line = report::rows_line(pass);
    let files = &start.files;
    // Before anything else is started: a results file that cannot be
    // created refuses the run with nothing to undo.
    outputs
        .start_rows(&files.results, false)
        .map_err(|e| RunError::writing(&files.results, &e, false, String::new()))?;
    // The in-process sandbox lives as long as this function.
    let (sandbox, url, key) = connect(upload)?;
    let url_text = url.to_string();
    let target = target(sandbox.is_some(), &key, &url_text);
    reporter.info(&report::import_header(&report::ImportHeader {
        input: &run.input,
        rows: valid_line,
        target,
        mode: upload.mode,
        clear_empty: upload.clear_empty,
        auto_rate: upload.auto_rate,
        rate: upload.rate,
        max_rate: upload.max_rate,
        burst: upload.burst,
        concurrency: upload.concurrency,
        folder: files.folder.path(),
        profile: run.provenance.profile_used(),
    }));
    if let Some(old) = &files.abandoned {
        // A warning: a cron job run with --quiet hears of it too.
        tracing::warn!("{}", report::abandoned_line(&old.folder, &old.why));
    }
    if let Some(doubt) = start.doubt.as_ref().filter(|d| !d.is_empty()) {
        reporter.info(&report::inherited_doubt_line(doubt.len()));
    }
    let client = Arc::new(ApiClient::new(&url, &key, upload.timeout).map_err(SetupError::Client)?);
    // Before the journal: an untrusted certificate is a setup error, with
    // nothing sent and nothing to resume.
    crate::upload::api::tls::check(&url, upload.timeout).map_err(SetupError::from)?;
    // Before the journal, so a refused state leaves no journal behind.
    let delta = open_delta(upload, &url, &key, reporter)?;
    let header = header(run, upload, pass, &url, &key, sandbox.is_some())?;
    let (journal, resume) = open_journal(run, start, &header, reporter)?;
    let journal = Arc::new(journal);
    let repeats = pass.take_repeats().ok_or_else(|| {
        SetupError::Internal("the repeated codes of this pass were already read".into())
    })?;
    let planner = Planner::new(
        upload.mode,
        repeats,
        resume,
        delta.as_ref(),
        upload.full,
        upload.timeout,
    )
    .map_err(SetupError::from)?
    .with_doubt(start.doubt.clone());
    let compare = upload.mode.compares().then(|| Compare {
        clear: clearable(upload, pass),
        dir: files.folder.path(),
        output: &run.output,
    });
    let sent = send(
        outputs, upload, rows, planner, compare, &client, journal, reporter,
    );
    #[cfg(feature = "sandbox")]
    if let Some(handle) = sandbox {
        handle.shutdown();
    }
    if let Some(Err(e)) = delta.as_ref().map(state::Delta::finish) {
        tracing::error!("{e}; the next run re-checks the rows that were not recorded");
    }
    let (rows_end, mut upload_end) = sent?;
    upload_end.resumed = start.resuming;
    finish_sent(
        run, files, outputs, reporter, pass, rows, rows_end, upload_end,
    )
}

/// How a run in upsert or update mode compares rows with Notify.
struct Compare<'a> {
    /// The fields a blank cell clears.
    clear: Clearable,
    /// The run folder (temporary files, and the checked rows).
    dir: &'a Path,
    /// How progress is shown while Notify is read.
    output: &'a OutputConfig,
}

/// The fields `--clear-empty` clears when blank: those a column feeds.
fn clearable(upload: &UploadConfig, pass: &Pass) -> Clearable {
    if upload.clear_empty {
        Clearable::of(pass.mapped.iter().copied())
    } else {
        Clearable::NONE
    }
}

/// What Notify holds, as the planner asks it.
struct Held {
    snapshot: Snapshot,
    dir: PathBuf,
}

impl plan::Holds for Held {
    fn existing(&mut self, code: &str) -> Result<Option<Existing>, InputError> {
        self.snapshot.get(code).map_err(|e| InputError::Spill {
            dir: self.dir.clone(),
            source: io::Error::other(e.to_string()),
        })
    }
}

/// The valid rows' codes, for learning what Notify holds of them.
fn file_codes(rows: &RowsFile, scratch: &Scratch) -> Result<FileCodes, RunError> {
    let mut codes = FileCodes::new(scratch);
    let mut read = rows.read().map_err(SetupError::from)?;
    let mut row = CheckedRow::default();
    while read.next_into(&mut row).map_err(SetupError::from)? {
        if matches!(row.verdict, Verdict::Valid(_)) {
            codes
                .push(&row.code)
                .map_err(|e| snapshot_error(scratch, e))?;
        }
    }
    Ok(codes)
}

/// A snapshot's temporary files failing is a setup error: nothing was
/// sent.
fn snapshot_error(scratch: &Scratch, e: SnapshotError) -> RunError {
    spill_error(&scratch.dir, io::Error::other(e.to_string())).into()
}

/// Learns what Notify holds for the file's codes, on `rt` through the
/// uploader's pace and stop handle. A read that keeps failing stops the
/// run as a failed send would (nothing was written: every row is then
/// skipped, and `--resume` learns again).
fn learn_snapshot(
    rt: &tokio::runtime::Runtime,
    uploader: &Uploader,
    rows: &RowsFile,
    dir: &Path,
    output: &OutputConfig,
    reporter: &Reporter,
) -> Result<Option<Snapshot>, RunError> {
    let scratch = Scratch::in_dir(dir);
    let codes = file_codes(rows, &scratch)?;
    // The reading has a progress line of its own.
    reporter.hide_bar();
    let learned = crate::run::learn::learn(rt, uploader, codes, output, reporter);
    reporter.show_bar();
    match learned {
        Ok(snapshot) => Ok(Some(snapshot)),
        Err(SnapshotError::Stopped(reason)) => {
            uploader.stop_handle().stop(reason);
            Ok(None)
        }
        Err(SnapshotError::Api(e)) => {
            let stop = match e.kind() {
                ErrorKind::Auth => StopReason::Auth(e),
                ErrorKind::Redirected => StopReason::Redirected(e),
                _ => StopReason::Unreachable(e),
            };
            uploader.stop_handle().stop(stop);
            Ok(None)
        }
        Err(e @ SnapshotError::Spill { .. }) => Err(snapshot_error(&scratch, e)),
    }
}

/// Runs the uploader over the planned rows and hands back how the rows
/// and the sending ended. With `compare`, what Notify holds is learnt
/// first and the planner compares every row with it. The uploader is
/// gone and the journal closed (its final fsync checked) when this
/// returns.
#[allow(clippy::too_many_arguments)]
fn send(
    outputs: &mut Outputs,
    upload: &UploadConfig,
    rows: &RowsFile,
    planner: Planner<'_>,
    compare: Option<Compare<'_>>,
    client: &Arc<ApiClient>,
    journal: Arc<Journal>,
    reporter: &Reporter,
) -> Result<(RowsEnd, UploadEnd), RunError> {
    let settings = upload_settings(upload, reporter);
    let uploader = Uploader::new(client.clone(), settings, Some(journal.clone()));
    let rt = runtime()?;
    let signals = rt.spawn(watch_signals(uploader.stop_handle(), upload.grace_period));
    let (rows_end, timeline) = sampled(client, &uploader, || -> Result<RowsEnd, RunError> {
        let planner = match compare {
            None => planner,
            Some(c) => match learn_snapshot(&rt, &uploader, rows, c.dir, c.output, reporter)? {
                Some(snapshot) => {
                    let held = Held {
                        snapshot,
                        dir: c.dir.to_owned(),
                    };
                    planner.comparing(Box::new(held), c.clear, c.dir)
                }
                None => return Ok(skip_all(outputs, rows, &uploader)),
            },
        };
        Ok(pipeline(&rt, outputs, rows, planner, &uploader, reporter))
    });
    signals.abort();
    drop(rt);
    let rows_end = rows_end?;
    let stop = uploader.stop_reason();
    let retries = uploader
        .counters()
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    let rate_limited = uploader.rate_limited();
    let pace = uploader.pace_report();
    drop(uploader);
    // The uploader is gone, so this is the last holder: the journal is
    // closed and its final fsync checked.
    let closed = match Arc::try_unwrap(journal) {
        Ok(journal) => journal.close(),
        Err(shared) => shared.sync(),
    };
    let upload_end = UploadEnd {
        stop,
        requests: client.requests_sent(),
        resumed: false,
        retries,
        rate_limited,
        pace: pace_facts(upload, &pace),
        sandbox: matches!(upload.target, Endpoint::Sandbox),
        closed,
        timeline,
    };
    Ok((rows_end, upload_end))
}

/// Every row `skipped`, as the run stopped (`uploader`'s reason) before
/// planning them: learning what Notify holds failed.
fn skip_all(outputs: &mut Outputs, rows: &RowsFile, uploader: &Uploader) -> RowsEnd {
    let why = uploader
        .stop_reason()
        .map_or_else(String::new, |r| format!(": {r}"));
    let mut counts = Counts::default();
    let mut read = rows.read().ok();
    let mut row = CheckedRow::default();
    for n in 1..=rows.len() {
        let (line, code) = match read.as_mut().map(|r| r.next_into(&mut row)) {
            Some(Ok(true)) => (row.line, std::mem::take(&mut row.code)),
            _ => (0, String::new()),
        };
        let error =
            format!("not sent: the run stopped while reading the customers Notify holds{why}");
        counts.add(Status::Skipped);
        if let Err(e) = outputs.push(Outcome::local(n, line, code, Status::Skipped, error)) {
            return RowsEnd {
                counts,
                written: Err(e),
                read_err: None,
            };
        }
    }
    RowsEnd {
        written: outputs.finish_rows(rows.len()),
        counts,
        read_err: None,
    }
}

/// Runs `work` (the sending) while a thread samples the requests and 429
/// answers once a second, for the report's chart; the uploader needs no
/// hook for it, and one sample a second costs nothing a run can see.
fn sampled<T>(client: &ApiClient, uploader: &Uploader, work: impl FnOnce() -> T) -> (T, Timeline) {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let sampler = scope.spawn(move || {
            let start = Instant::now();
            let mut timeline = Timeline::default();
            let mut next = Duration::from_secs(1);
            loop {
                let wait = next.saturating_sub(start.elapsed());
                let over = !matches!(
                    stopped.recv_timeout(wait),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                // A tick counts at its nominal second, so a late wake-up
                // does not push its requests into the next one.
                let at = if over { start.elapsed() } else { next };
                timeline.sample(at, client.requests_sent(), uploader.rate_limited());
                if over {
                    return timeline;
                }
                next += Duration::from_secs(1);
            }
        });
        let out = work();
        drop(stop);
        (out, sampler.join().unwrap_or_default())
    })
}

/// Opens the delta state of `--state`, bound to this API and key kind.
fn open_delta(
    upload: &UploadConfig,
    url: &reqwest::Url,
    key: &ApiKey,
    reporter: &Reporter,
) -> Result<Option<state::Delta>, SetupError> {
    let Some(path) = &upload.state else {
        return Ok(None);
    };
    let delta = state::Delta::open(path, &format!("{url} ({} key)", key_kind(key)))?;
    reporter.info(&report::delta_line(path, delta.known(), upload.full));
    Ok(Some(delta))
}

/// `test` or `live`, as the journal and state record it.
fn key_kind(key: &ApiKey) -> &'static str {
    match key.kind() {
        config::KeyKind::Test => "test",
        config::KeyKind::Live => "live",
    }
}

/// What this run is, for the journal: a resumed run must match it.
fn header(
    run: &RunConfig,
    upload: &UploadConfig,
    pass: &Pass,
    url: &reqwest::Url,
    key: &ApiKey,
    sandbox: bool,
) -> Result<Header, SetupError> {
    let fp = pass.fingerprint.clone().ok_or_else(|| {
        SetupError::Internal(format!(
            "{} has no fingerprint: it was not read to its end",
            run.input.display()
        ))
    })?;
    let overwrite = upload.mode == WriteMode::Overwrite;
    let mut header = Header::new(fp, url.as_str(), key_kind(key), overwrite, pass.rows);
    // Older journals said only `overwrite`: a create or overwrite run
    // still writes its header as they did, so they resume alike.
    if upload.mode.compares() || upload.clear_empty {
        header.mode = Some(upload.mode.as_str().to_owned());
    }
    header.clear_empty = upload.clear_empty;
    header.sandbox = sandbox;
    header.timeout_ms = Some(u64::try_from(upload.timeout.as_millis()).unwrap_or(u64::MAX));
    header.mapping = Some(crate::run::recovery::mapping_words(run));
    Ok(header)
}

/// Starts a new journal in the run folder, or continues the unfinished
/// run's after checking that it belongs to this input, target and mode.
fn open_journal(
    run: &RunConfig,
    start: &Start,
    header: &Header,
    reporter: &Reporter,
) -> Result<(Journal, Option<Resume>), SetupError> {
    let path = &start.files.journal;
    if start.resuming {
        let (journal, old, resume) = Journal::resume(path).map_err(SetupError::Resume)?;
        if let Some(why) = old.mismatch(header) {
            return Err(SetupError::Usage(config::UsageError(format!(
                "cannot resume the run in {}: {why}",
                start.files.folder.path().display()
            ))));
        }
        reporter.info(&report::resuming_line(
            start.files.folder.path(),
            resume.done_rows(),
            resume.in_doubt_rows(),
        ));
        return Ok((journal, Some(resume)));
    }
    if run.upload.as_ref().is_some_and(|u| u.resume) {
        reporter.info(&report::nothing_to_resume_line(&run.input));
    }
    let journal = Journal::create(path, header).map_err(SetupError::Journal)?;
    Ok((journal, None))
}

/// Planner thread → uploader (on `rt`) → writer thread. Returns how the
/// rows ended: the counts, the finished results file (or why it could not
/// be written) and a read error of the checked rows, if one cut the run
/// short. A results
/// file that cannot be written stops the sending at once: the outcomes
/// still coming are recorded in the journal only, for `--resume`.
fn pipeline(
    rt: &tokio::runtime::Runtime,
    outputs: &mut Outputs,
    rows: &RowsFile,
    mut planner: Planner<'_>,
    uploader: &Uploader,
    reporter: &Reporter,
) -> RowsEnd {
    let window = results::Window::new(results::WINDOW_ROWS);
    let (row_tx, row_rx) = mpsc::channel::<Planned>(CHANNEL_ROWS);
    let (out_tx, mut out_rx) = mpsc::channel::<Outcome>(CHANNEL_ROWS);
    let stop = uploader.stop_handle();
    let delta = planner.delta();

    let (mut counts, write_err, read_err) = std::thread::scope(|scope| {
        // The sender moves into the planner thread, so the channel closes
        // (and the uploader ends) when the planner is done.
        let window = &window;
        let planning = scope.spawn(move || -> Result<(), InputError> {
            let mut checked = rows.read()?;
            let mut row = CheckedRow::default();
            while checked.next_into(&mut row)? {
                if !window.admit(row.row) {
                    break;
                }
                let planned = planner.plan(std::mem::take(&mut row))?;
                if row_tx.blocking_send(planned).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let writer_thread = scope.spawn(|| {
            let _close = window.close_on_drop();
            let mut counts = Counts::default();
            let mut err: Option<io::Error> = None;
            while let Some(outcome) = out_rx.blocking_recv() {
                counts.add(outcome.status);
                if let Some(d) = delta {
                    d.record(&outcome);
                }
                reporter.row_done();
                if err.is_none() {
                    err = outputs.push(outcome).err();
                    match &err {
                        None => window.written(outputs.rows_written()),
                        // Nothing more reaches the file: no new request
                        // starts, and the planner stops instead of waiting
                        // for the window.
                        Some(e) => {
                            stop.stop(StopReason::Output(WriteFailure::new(
                                outputs.results_path(),
                                e,
                            )));
                            window.close();
                        }
                    }
                }
            }
            (counts, err)
        });
        rt.block_on(uploader.run(row_rx, out_tx));
        let read_err = planning.join().ok().and_then(Result::err);
        let (counts, write_err) = writer_thread.join().unwrap_or_default();
        (counts, write_err, read_err)
    });
    if let Some(e) = write_err {
        return RowsEnd {
            counts,
            written: Err(e),
            read_err,
        };
    }
    // The checked rows could not be read back: every row still gets a
    // results line.
    if read_err.is_some() {
        for row in outputs.rows_written() + 1..=rows.len() {
            counts.add(Status::Skipped);
            let error = "not sent: the run's checked rows could not be read back".to_owned();
            let outcome = Outcome::local(row, 0, String::new(), Status::Skipped, error);
            if let Err(e) = outputs.push(outcome) {
                return RowsEnd {
                    counts,
                    written: Err(e),
                    read_err,
                };
            }
        }
    }
    RowsEnd {
        written: outputs.finish_rows(rows.len()),
        counts,
        read_err,
    }
}

/// First SIGINT/SIGTERM: stop sending; requests in flight get `grace` to
/// finish. Second signal, or the grace period over: abandon them (their
/// rows stay in doubt in the journal for `--resume`).
pub(super) async fn watch_signals(stop: upload::StopHandle, grace: Duration) {
    if wait_for_signal().await.is_err() {
        return;
    }
    stop.interrupt();
    tokio::select! {
        _ = tokio::time::sleep(grace) => {}
        _ = wait_for_signal() => {}
    }
    stop.abandon_in_flight();
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
