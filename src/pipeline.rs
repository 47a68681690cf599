//! One run over an input file: preflight, then upload or dry run, then
//! results, errors file and summary.
//!
//! Owns the wiring of the stages (threads, channels, runtime, signals) and
//! the exit code of a finished run. It must not hold rules of its own: each
//! stage's logic lives in its module.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::api::ApiClient;
use crate::config::{self, ApiKey, RunConfig, Target, UploadConfig};
use crate::errors_file;
use crate::input::InputError;
use crate::journal::{self, Header, Journal, Resume};
use crate::outcome::{Counts, Outcome, Status};
use crate::preflight::{self, Planned, Preflight};
use crate::report::{Reporter, Summary};
use crate::results::{self, ResultsWriter};
use crate::spill::Scratch;
use crate::upload::{self, StopReason, UploadSettings, Uploader};
use crate::{SetupError, exit, lock, other, runtime, sandbox, state, summary};

/// Rows buffered between stages; bounds memory and gives backpressure.
const CHANNEL_ROWS: usize = 1024;

/// Runs `run` and returns the exit code; writes `--summary-json` whatever
/// the outcome.
pub fn run_file(run: &RunConfig) -> Result<u8, SetupError> {
    let recorder = summary::Recorder::start(run);
    let result = run_file_locked(run, &recorder);
    recorder.finish(run, result)
}

/// The run itself, under the run lock.
fn run_file_locked(run: &RunConfig, recorder: &summary::Recorder) -> Result<u8, SetupError> {
    // First, so a second run is refused before it looks at any file.
    let _lock = lock::RunLock::acquire(&run.results)?;
    let started = Instant::now();
    let resuming = run.upload.as_ref().is_some_and(|u| u.resume);
    results::check_writable(&run.results, run.force || resuming)
        .map_err(|e| SetupError::Other(e.to_string()))?;
    errors_file::check_writable(&run.errors, run.force || resuming)
        .map_err(|e| SetupError::Other(e.to_string()))?;
    let Some(upload) = &run.upload else {
        return validate_file(run, recorder, started);
    };
    check_journal(run, resuming)?;
    let pre = preflight::scan(&run.input, &run.input_options, &scratch(run))?;
    recorder.input(&pre.info);
    let reporter = Reporter::new(pre.rows, &run.output);
    report_input(&pre, &reporter);
    let valid_line = format!(
        "{} rows: {} valid, {} invalid",
        pre.rows,
        pre.valid,
        pre.invalid()
    );
    let result = upload_file(run, upload, &pre, &reporter, &valid_line, started);
    recorder.facts(reporter.recorded());
    reporter.finish();
    result
}

/// Where temporary files go (sorted codes and outcomes, to keep memory
/// flat): beside the results, where the user chose to put data.
fn scratch(run: &RunConfig) -> Scratch {
    Scratch::beside(&run.results)
}

/// Tells the log and the user what the preflight found.
fn report_input(pre: &Preflight, reporter: &Reporter) {
    if !pre.unknown_columns.is_empty() {
        tracing::warn!(
            "{}: ignoring columns that match no Notify field: {}",
            pre.path.display(),
            pre.unknown_columns.join(", ")
        );
    }
    reporter.info(&input_report(pre));
}

/// What the tool decided about the input and what it found: encoding,
/// delimiter, mapping, normalizations and problems with example lines.
fn input_report(pre: &Preflight) -> String {
    let indent = |text: &str| -> String { text.lines().map(|l| format!("  {l}\n")).collect() };
    let mut out = format!(
        "{}:\n{}",
        pre.path.display(),
        indent(&pre.mapping_description)
    );
    let changes = pre.changes.to_string();
    if !changes.is_empty() {
        out.push_str(&format!(
            "normalized (the results show the sent values):\n{}",
            indent(&changes)
        ));
    }
    let problems = pre.problems.iter();
    if !problems.is_empty() {
        out.push_str("problems (rows not sent):\n");
        for (kind, n, lines) in problems {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            out.push_str(&format!("  {n:>6} × {kind} (line {})\n", lines.join(", ")));
        }
    }
    out.trim_end().to_owned()
}

/// The encoding and delimiter, for the summary.
fn input_line(pre: &Preflight) -> String {
    format!("{}; {}", pre.info.encoding, pre.info.delimiter)
}

/// `validate` / `--dry-run`: one pass over the file, straight into the
/// results file (nothing is sent, so nothing needs the file checked first;
/// a file-level problem drops the unfinished results file).
fn validate_file(
    run: &RunConfig,
    recorder: &summary::Recorder,
    started: Instant,
) -> Result<u8, SetupError> {
    let mut writer = ResultsWriter::create(&run.results).map_err(|e| other("results", e))?;
    // The row count is known only at the end, and a million rows take a
    // second or two: no bar, no progress lines.
    let output = crate::config::OutputConfig {
        progress: false,
        ..run.output
    };
    let reporter = Reporter::new(0, &output);
    let mut write_err = None;
    let pre =
        preflight::scan_and_check(&run.input, &run.input_options, &scratch(run), |outcome| {
            reporter.row_done();
            match writer.push(outcome) {
                Ok(()) => true,
                Err(e) => {
                    write_err = Some(e);
                    false
                }
            }
        })?;
    recorder.input(&pre.info);
    if let Some(e) = write_err {
        return Err(other("cannot write the results file", e));
    }
    report_input(&pre, &reporter);
    reporter.info(&format!(
        "notify-import: checked {} ({} rows: {} valid, {} invalid); nothing was sent",
        run.input.display(),
        pre.rows,
        pre.valid,
        pre.invalid()
    ));
    // Repeated codes are known only now: they join the rows' problems.
    let duplicates = pre.take_duplicates().into_iter().flatten().map(|d| {
        d.map(|d| (d.row, d.problem().to_string()))
            .map_err(std::io::Error::other)
    });
    let path = writer
        .finish_adding(pre.rows, duplicates)
        .map_err(|e| other("cannot write the results file", e))?;
    let mut counts = Counts::default();
    counts.add_rows(Status::Valid, pre.valid);
    counts.add_rows(Status::Invalid, pre.invalid());
    let errors = write_errors_file(run, &counts, &path, &reporter);
    let summary = Summary {
        counts: &counts,
        elapsed: started.elapsed(),
        requests: None,
        retries: 0,
        rate_limited: 0,
        input: input_line(&pre),
        results: &path,
        errors: errors.as_deref(),
        stopped: None,
        pace: None,
    };
    print_summary(run, &reporter, &summary);
    recorder.facts(reporter.recorded());
    reporter.finish();
    Ok(if counts.all_succeeded() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    })
}

/// Writes the errors file when some row was not imported. A failure is
/// reported, not fatal: the results file already holds every outcome, and
/// the exit code already says rows are missing.
fn write_errors_file(
    run: &RunConfig,
    counts: &Counts,
    results: &std::path::Path,
    reporter: &Reporter,
) -> Option<std::path::PathBuf> {
    let not_imported: u64 = Status::ALL
        .iter()
        .filter(|s| errors_file::includes(**s))
        .map(|s| counts.get(*s))
        .sum();
    if not_imported == 0 {
        // Only reachable with --force or --resume; the file is the user's
        // now, so it is pointed out, never removed.
        if run.errors.exists() {
            reporter.info(&format!(
                "notify-import: every row was imported; {} is from an earlier run",
                run.errors.display()
            ));
        }
        return None;
    }
    match errors_file::write(&run.input, &run.input_options, results, &run.errors) {
        Ok(0) => None,
        Ok(_) => Some(run.errors.clone()),
        Err(e) => {
            tracing::error!("the errors file was not written: {e}");
            None
        }
    }
}

fn print_summary(_run: &RunConfig, reporter: &Reporter, summary: &Summary<'_>) {
    // One line with --quiet or JSON logs; the facts are kept for --summary-json.
    reporter.summary(summary);
}

fn upload_file(
    run: &RunConfig,
    upload: &UploadConfig,
    pre: &Preflight,
    reporter: &Reporter,
    valid_line: &str,
    started: Instant,
) -> Result<u8, SetupError> {
    // The in-process sandbox lives as long as this function.
    let (sandbox, url, key) = match &upload.target {
        Target::Sandbox => {
            let handle = sandbox::spawn(sandbox::SandboxOptions::default())
                .map_err(|e| other("cannot start the sandbox", e))?;
            let url = config::check_url(&handle.base_url())?;
            (Some(handle), url, ApiKey::sandbox())
        }
        Target::Remote { url, key } => (None, url.clone(), key.clone()),
    };
    let where_to = match &sandbox {
        Some(_) => format!("the embedded sandbox at {url}"),
        // Said loudly: a live run writes into the customer's real books.
        None if key.kind() == config::KeyKind::Live => {
            format!("{url} with a LIVE key (REAL customer data)")
        }
        None => format!("{url} with a {} key", key.kind()),
    };
    let pace = if upload.auto_rate {
        format!(
            "pace --rate auto: from {}/s up to --max-rate {}/s, holding under the limit it finds",
            upload.rate, upload.max_rate
        )
    } else {
        format!("pace --rate {}/s", upload.rate)
    };
    reporter.info(&format!(
        "notify-import: importing {} ({valid_line}) into {where_to}{}; {pace} (burst {}), {} in flight",
        run.input.display(),
        if upload.overwrite {
            " with overwrite"
        } else {
            ""
        },
        upload.burst,
        upload.concurrency
    ));
    let client =
        Arc::new(ApiClient::new(&url, &key, upload.timeout).map_err(|e| other("HTTP client", e))?);
    // Before the journal, so a refused state leaves no journal behind.
    let delta = open_delta(upload, &url, &key, reporter)?;
    let (journal, resume) = open_journal(run, upload, pre, &url, &key, reporter)?;
    let journal = Arc::new(journal);
    let mut settings = UploadSettings::new(
        upload.overwrite,
        upload.rate,
        upload.burst,
        upload.concurrency,
    );
    settings.max_attempts = upload.max_attempts;
    settings.max_retry_after = upload.max_retry_after;
    settings.max_errors = upload.max_errors;
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
    let piped = pipeline(&rt, run, pre, resume, &uploader, reporter, delta.as_ref());
    signals.abort();
    drop(rt);
    if let Some(handle) = sandbox {
        handle.shutdown();
    }
    if let Some(Err(e)) = delta.as_ref().map(state::Delta::finish) {
        tracing::error!("{e}; the next run re-checks the rows that were not recorded");
    }
    let (counts, path, read_err) = piped?;
    let journal_path = journal.path().to_owned();
    if let Ok(journal) = Arc::try_unwrap(journal) {
        journal.close().map_err(|e| other("journal", e))?;
    }
    let stop = uploader.stop_reason();
    let unfinished = counts.get(Status::Skipped) + counts.get(Status::Failed);
    if unfinished == 0 && stop.is_none() && read_err.is_none() {
        // Every row has its final outcome in the results file: nothing to resume.
        let _ = std::fs::remove_file(&journal_path);
    }
    let stopped = match &stop {
        Some(reason) => Some(reason.to_string()),
        None => read_err.as_ref().map(|e| format!("{e}")),
    };
    // After a second-pass read error the input no longer matches the
    // results, so its rows cannot be copied.
    let errors = match read_err {
        None => write_errors_file(run, &counts, &path, reporter),
        Some(_) => None,
    };
    let summary = Summary {
        counts: &counts,
        elapsed: started.elapsed(),
        requests: Some(client.requests_sent()),
        retries: uploader
            .counters()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        rate_limited: uploader.rate_limited(),
        input: input_line(pre),
        results: &path,
        errors: errors.as_deref(),
        stopped: stopped.clone(),
        pace: Some({
            let p = uploader.pace_report();
            crate::report::PaceFacts {
                auto: upload.auto_rate,
                rate: if upload.auto_rate {
                    upload.max_rate
                } else {
                    upload.rate
                },
                final_rate: p.final_rate,
                ceiling: p.ceiling,
                advertised: p.advertised,
            }
        }),
    };
    print_summary(run, reporter, &summary);
    if let Some(why) = &stopped {
        tracing::error!("{why}");
    }
    if unfinished > 0 && journal_path.exists() {
        reporter.info(&format!(
            "notify-import: {unfinished} rows are not done; the journal {} lets `--resume` continue without sending anything twice",
            journal_path.display()
        ));
    }
    Ok(match stop {
        Some(StopReason::Interrupted) => exit::INTERRUPTED,
        Some(_) => exit::ABORTED,
        None if read_err.is_some() => exit::ABORTED,
        None if counts.all_succeeded() => exit::OK,
        None => exit::ROWS_FAILED,
    })
}

/// Before reading the input: an earlier run's journal must be continued
/// (`--resume`) or explicitly discarded (`--force`), never ignored.
fn check_journal(run: &RunConfig, resuming: bool) -> Result<(), SetupError> {
    let path = journal::path_for(&run.results);
    if path.exists() && !resuming && !run.force {
        return Err(SetupError::Usage(config::UsageError(format!(
            "an earlier run left a journal at {}: continue it with --resume (nothing is sent twice), or start over with --force",
            path.display()
        ))));
    }
    Ok(())
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
    let kind = match key.kind() {
        config::KeyKind::Test => "test",
        config::KeyKind::Live => "live",
    };
    let delta = state::Delta::open(path, &format!("{url} ({kind} key)"), upload.full)?;
    reporter.info(&format!(
        "notify-import: delta mode: {} knows {} customers; {}",
        path.display(),
        delta.known(),
        if upload.full {
            "--full: every valid row is sent"
        } else {
            "rows with the same data as their last import are not sent (unchanged)"
        }
    ));
    Ok(Some(delta))
}

/// Starts a new journal or continues the old one after checking that it
/// belongs to this input, target and mode.
fn open_journal(
    run: &RunConfig,
    upload: &UploadConfig,
    pre: &Preflight,
    url: &reqwest::Url,
    key: &ApiKey,
    reporter: &Reporter,
) -> Result<(Journal, Option<Resume>), SetupError> {
    let path = journal::path_for(&run.results);
    let fp = journal::fingerprint(&run.input).map_err(|e| {
        SetupError::Input(InputError::Io {
            path: run.input.clone(),
            source: e,
        })
    })?;
    let kind = match key.kind() {
        config::KeyKind::Test => "test",
        config::KeyKind::Live => "live",
    };
    let header = Header::new(fp, url.as_str(), kind, upload.overwrite, pre.rows);
    if upload.resume && path.exists() {
        let (journal, old, resume) =
            Journal::resume(&path).map_err(|e| other("cannot resume", e))?;
        if let Some(why) = old.mismatch(&header) {
            return Err(SetupError::Usage(config::UsageError(format!(
                "cannot resume from {}: {why}",
                path.display()
            ))));
        }
        reporter.info(&format!(
            "notify-import: resuming: {} rows already done, {} to check first because an earlier send's answer was lost",
            resume.done_rows(),
            resume.in_doubt_rows()
        ));
        return Ok((journal, Some(resume)));
    }
    if upload.resume {
        reporter.info("notify-import: no journal to resume; starting a new run");
    }
    let journal = Journal::create(&path, &header).map_err(|e| other("journal", e))?;
    Ok((journal, None))
}

/// Reader thread → uploader (on `rt`) → writer thread. Returns the counts,
/// the results path and a second-pass read error, if one cut the input short.
fn pipeline(
    rt: &tokio::runtime::Runtime,
    run: &RunConfig,
    pre: &Preflight,
    resume: Option<Resume>,
    uploader: &Uploader,
    reporter: &Reporter,
    delta: Option<&state::Delta>,
) -> Result<(Counts, std::path::PathBuf, Option<InputError>), SetupError> {
    let mut writer = ResultsWriter::create(&run.results).map_err(|e| other("results", e))?;
    let window = results::Window::new(results::WINDOW_ROWS);
    let (row_tx, row_rx) = mpsc::channel::<Planned>(CHANNEL_ROWS);
    let (out_tx, mut out_rx) = mpsc::channel::<Outcome>(CHANNEL_ROWS);

    let (mut counts, write_err, read_err) = std::thread::scope(|scope| {
        // The sender moves into the reader thread, so the channel closes
        // (and the uploader ends) when the reader is done.
        let window = &window;
        let reader = scope.spawn(move || {
            let mut resume = resume;
            preflight::plan(pre, false, resume.as_mut(), |item| {
                let row = match &item {
                    Planned::Send { row, .. } => *row,
                    Planned::Done(outcome) => outcome.row,
                };
                if !window.admit(row) {
                    return false;
                }
                let item = match delta {
                    Some(d) => d.classify(item),
                    None => item,
                };
                row_tx.blocking_send(item).is_ok()
            })
        });
        let writer_thread = scope.spawn(|| {
            let _close = window.close_on_drop();
            let mut counts = Counts::default();
            let mut err = None;
            while let Some(outcome) = out_rx.blocking_recv() {
                counts.add(outcome.status);
                if let Some(d) = delta {
                    d.record(&outcome);
                }
                reporter.row_done();
                if err.is_none() {
                    err = writer.push(outcome).err();
                    match err {
                        None => window.written(writer.rows_written()),
                        // Nothing more reaches the file: stop the reader
                        // instead of letting it wait for the window.
                        Some(_) => window.close(),
                    }
                }
            }
            (counts, err)
        });
        rt.block_on(uploader.run(row_rx, out_tx));
        let read_err = reader.join().ok().and_then(Result::err);
        let (counts, write_err) = writer_thread.join().unwrap_or_default();
        (counts, write_err, read_err)
    });
    if let Some(e) = write_err {
        return Err(other("cannot write the results file", e));
    }
    // A second-pass read error (the file changed under us) cut the input
    // short: every row still gets a results line.
    if read_err.is_some() {
        for row in writer.rows_written() + 1..=pre.rows {
            counts.add(Status::Skipped);
            let error = "not sent: the input could not be read again".to_owned();
            writer
                .push(Outcome::local(
                    row,
                    0,
                    String::new(),
                    Status::Skipped,
                    error,
                ))
                .map_err(|e| other("cannot write the results file", e))?;
        }
    }
    let path = writer
        .finish(pre.rows)
        .map_err(|e| other("cannot write the results file", e))?;
    Ok((counts, path, read_err))
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
