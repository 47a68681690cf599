//! One run over an input file: preflight, then upload or dry run, then
//! results and summary.
//!
//! Owns the wiring of the stages (threads, channels, runtime, signals) and
//! the exit code of a finished run. It must not hold rules of its own: each
//! stage's logic lives in its module.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::api::ApiClient;
use crate::config::{self, ApiKey, RunConfig, Target, UploadConfig};
use crate::input::InputError;
use crate::outcome::{Counts, Outcome, Status};
use crate::preflight::{self, Planned, Preflight};
use crate::report::{Reporter, Summary};
use crate::results::{self, ResultsWriter};
use crate::upload::{self, StopReason, UploadSettings, Uploader};
use crate::{SetupError, exit, other, runtime, sandbox};

/// Rows buffered between stages; bounds memory and gives backpressure.
const CHANNEL_ROWS: usize = 1024;

/// Runs `run` and returns the exit code.
pub fn run_file(run: &RunConfig) -> Result<u8, SetupError> {
    let started = Instant::now();
    results::check_writable(&run.results, run.force)
        .map_err(|e| SetupError::Other(e.to_string()))?;
    let pre = preflight::scan(&run.input)?;
    if !pre.unknown_columns.is_empty() {
        tracing::warn!(
            "{}: ignoring columns that match no Notify field: {}",
            run.input.display(),
            pre.unknown_columns.join(", ")
        );
    }
    let reporter = Reporter::new(pre.rows, &run.output);
    let valid_line = format!(
        "{} rows: {} valid, {} invalid",
        pre.rows,
        pre.valid,
        pre.invalid()
    );
    let result = match &run.upload {
        None => {
            reporter.info(&format!(
                "notify-import: checking {} ({valid_line}); nothing is sent",
                run.input.display()
            ));
            validate_only(run, &pre, &reporter, started)
        }
        Some(upload) => upload_file(run, upload, &pre, &reporter, &valid_line, started),
    };
    reporter.finish();
    result
}

/// `validate` / `--dry-run`: the second pass straight into the results file.
fn validate_only(
    run: &RunConfig,
    pre: &Preflight,
    reporter: &Reporter,
    started: Instant,
) -> Result<u8, SetupError> {
    let mut writer = ResultsWriter::create(&run.results).map_err(|e| other("results", e))?;
    let mut counts = Counts::default();
    let mut write_err = None;
    preflight::plan(pre, true, |item| {
        let Planned::Done(outcome) = item else {
            return false;
        };
        counts.add(outcome.status);
        reporter.row_done();
        match writer.push(outcome) {
            Ok(()) => true,
            Err(e) => {
                write_err = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = write_err {
        return Err(other("cannot write the results file", e));
    }
    let path = writer
        .finish(pre.rows)
        .map_err(|e| other("cannot write the results file", e))?;
    let summary = Summary {
        counts: &counts,
        elapsed: started.elapsed(),
        requests: None,
        results: &path,
        stopped: None,
    };
    print_summary(run, reporter, &summary);
    Ok(if counts.all_succeeded() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    })
}

fn print_summary(run: &RunConfig, reporter: &Reporter, summary: &Summary<'_>) {
    if run.output.quiet {
        reporter.print(&summary.one_line());
    } else {
        reporter.print(&summary.text());
    }
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
        None => format!("{url} with a {} key", key.kind()),
    };
    reporter.info(&format!(
        "notify-import: importing {} ({valid_line}) into {where_to}{}; {} req/s, {} in flight",
        run.input.display(),
        if upload.overwrite {
            " with overwrite"
        } else {
            ""
        },
        upload.rate,
        upload.concurrency
    ));
    let client =
        Arc::new(ApiClient::new(&url, &key, upload.timeout).map_err(|e| other("HTTP client", e))?);
    let settings = UploadSettings {
        overwrite: upload.overwrite,
        rate: upload.rate,
        burst: upload.burst,
        concurrency: upload.concurrency,
    };
    let uploader = Uploader::new(client.clone(), settings);
    let rt = runtime()?;
    let (counts, path, read_err) = pipeline(&rt, run, pre, &uploader, reporter)?;
    drop(rt);
    if let Some(handle) = sandbox {
        handle.shutdown();
    }
    let stopped = match uploader.stop_reason() {
        Some(StopReason::Auth(e)) => Some(format!("{e}")),
        Some(StopReason::Interrupted) => Some("interrupted".to_owned()),
        None => read_err.as_ref().map(|e| format!("{e}")),
    };
    let summary = Summary {
        counts: &counts,
        elapsed: started.elapsed(),
        requests: Some(client.requests_sent()),
        results: &path,
        stopped: stopped.clone(),
    };
    print_summary(run, reporter, &summary);
    if let Some(why) = &stopped {
        tracing::error!("{why}");
    }
    Ok(match uploader.stop_reason() {
        Some(StopReason::Auth(_)) => exit::ABORTED,
        Some(StopReason::Interrupted) => exit::INTERRUPTED,
        None if read_err.is_some() => exit::ABORTED,
        None if counts.all_succeeded() => exit::OK,
        None => exit::ROWS_FAILED,
    })
}

/// Reader thread → uploader (on `rt`) → writer thread. Returns the counts,
/// the results path and a second-pass read error, if one cut the input short.
fn pipeline(
    rt: &tokio::runtime::Runtime,
    run: &RunConfig,
    pre: &Preflight,
    uploader: &Uploader,
    reporter: &Reporter,
) -> Result<(Counts, std::path::PathBuf, Option<InputError>), SetupError> {
    let mut writer = ResultsWriter::create(&run.results).map_err(|e| other("results", e))?;
    let (row_tx, row_rx) = mpsc::channel::<Planned>(CHANNEL_ROWS);
    let (out_tx, mut out_rx) = mpsc::channel::<Outcome>(CHANNEL_ROWS);

    let signals = rt.spawn(watch_signals(uploader.stop_handle()));
    let (mut counts, write_err, read_err) = std::thread::scope(|scope| {
        // The sender moves into the reader thread, so the channel closes
        // (and the uploader ends) when the reader is done.
        let reader = scope
            .spawn(move || preflight::plan(pre, false, |item| row_tx.blocking_send(item).is_ok()));
        let writer_thread = scope.spawn(|| {
            let mut counts = Counts::default();
            let mut err = None;
            while let Some(outcome) = out_rx.blocking_recv() {
                counts.add(outcome.status);
                reporter.row_done();
                if err.is_none() {
                    err = writer.push(outcome).err();
                }
            }
            (counts, err)
        });
        rt.block_on(uploader.run(row_rx, out_tx));
        let read_err = reader.join().ok().and_then(Result::err);
        let (counts, write_err) = writer_thread.join().unwrap_or_default();
        (counts, write_err, read_err)
    });
    signals.abort();
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

/// First SIGINT/SIGTERM: stop sending, let in-flight requests finish.
/// Second: exit at once.
async fn watch_signals(stop: upload::StopHandle) {
    for n in 0.. {
        if wait_for_signal().await.is_err() {
            return;
        }
        if n == 0 {
            stop.interrupt();
        } else {
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    }
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
