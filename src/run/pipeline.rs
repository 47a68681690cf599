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
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::check::pass::{self, Pass};
use crate::config::{self, ApiKey, Endpoint, RunConfig, UploadConfig};
use crate::input::header::likeliest_columns;
use crate::input::{self, ColumnStats, InputError, InputFile, Mapping, MappingFile, RecordSource};
use crate::model::checked::CheckedRow;
use crate::model::failure::WriteFailure;
use crate::model::field::Field;
use crate::model::outcome::{Counts, Outcome, Status};
use crate::model::plan::{Planned, WriteMode};
use crate::model::timeline::Timeline;
use crate::output::report::{self, PaceFacts, Reporter};
use crate::output::results;
use crate::output::set::{InputRows, Outputs};
use crate::plan::rows::{RowsFile, RowsWriter};
use crate::plan::{self, Planner};
use crate::run::finish::{RowsEnd, RunEnd, UploadEnd, finish};
use crate::run::next_step::Unmapped;
use crate::run::{RunError, RunFiles, Start};
use crate::store::journal::{Header, Journal, Resume};
use crate::store::state;
use crate::upload::api::ApiClient;
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
    let result = upload_file(run, start, upload, &mut pass, &rows, outputs, &reporter);
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
    let (sandbox, url, key): (Option<Embedded>, _, _) = match &upload.target {
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
    };
    let url_text = url.to_string();
    let target = match &sandbox {
        Some(_) => report::Target::Sandbox(&url_text),
        None if key.kind() == config::KeyKind::Live => report::Target::Live(&url_text),
        None => report::Target::Test(&url_text),
    };
    reporter.info(&report::import_header(&report::ImportHeader {
        input: &run.input,
        rows: valid_line,
        target,
        overwrite: upload.mode == WriteMode::Overwrite,
        auto_rate: upload.auto_rate,
        rate: upload.rate,
        max_rate: upload.max_rate,
        burst: upload.burst,
        concurrency: upload.concurrency,
        folder: files.folder.path(),
    }));
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
    .map_err(SetupError::from)?;
    let sent = send(outputs, upload, rows, planner, &client, journal, reporter);
    #[cfg(feature = "sandbox")]
    if let Some(handle) = sandbox {
        handle.shutdown();
    }
    if let Some(Err(e)) = delta.as_ref().map(state::Delta::finish) {
        tracing::error!("{e}; the next run re-checks the rows that were not recorded");
    }
    let (rows_end, upload_end) = sent?;
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

/// Runs the uploader over the planned rows and hands back how the rows
/// and the sending ended. The uploader is gone and the journal closed
/// (its final fsync checked) when this returns.
fn send(
    outputs: &mut Outputs,
    upload: &UploadConfig,
    rows: &RowsFile,
    planner: Planner<'_>,
    client: &Arc<ApiClient>,
    journal: Arc<Journal>,
    reporter: &Reporter,
) -> Result<(RowsEnd, UploadEnd), RunError> {
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
    settings.rate_gauge = reporter.rate_gauge();
    let uploader = Uploader::new(client.clone(), settings, Some(journal.clone()));
    let rt = runtime()?;
    let signals = rt.spawn(watch_signals(uploader.stop_handle(), upload.grace_period));
    let (rows_end, timeline) = sampled(client, &uploader, || {
        pipeline(&rt, outputs, rows, planner, &uploader, reporter)
    });
    signals.abort();
    drop(rt);
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
        retries,
        rate_limited,
        pace: PaceFacts {
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
        },
        sandbox: matches!(upload.target, Endpoint::Sandbox),
        closed,
        timeline,
    };
    Ok((rows_end, upload_end))
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
    header.sandbox = sandbox;
    header.timeout_ms = Some(u64::try_from(upload.timeout.as_millis()).unwrap_or(u64::MAX));
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
async fn watch_signals(stop: upload::StopHandle, grace: Duration) {
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
