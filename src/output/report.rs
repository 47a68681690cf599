//! What the user sees on stderr: logs, the progress bar, the summary.
//!
//! Owns the tracing subscriber (stderr only; stdout is for data; text or
//! JSON lines), the progress bar (shown only on a terminal, drawn at most 10
//! times a second), the progress lines printed instead when stderr is not a
//! terminal (cron mail, log files), and the summary text. Log lines go
//! through the bar so they never tear it, and through
//! [`redact::scrub_bytes`](crate::util::redact::scrub_bytes) so the API key never
//! reaches stderr. No colours unless stderr is a terminal and neither
//! `NO_COLOR` nor `TERM=dumb` is set. It must not decide outcomes or exit
//! codes.

use std::io::{self, IsTerminal, Write};

use crate::cli::ColorChoice;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::check::pass::Pass;
use crate::check::tally::RowSample;
use crate::cli::LogFormat;
use crate::config::OutputConfig;
use crate::model::outcome::{Counts, Status};
use crate::model::timeline::Timeline;

/// The bar currently on screen, so log lines can be printed above it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes to stderr, suspending the active progress bar around the write.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        let text = crate::util::redact::scrub_bytes(buf);
        match bar {
            Some(bar) => bar.suspend(|| io::stderr().write_all(&text))?,
            None => io::stderr().write_all(&text)?,
        }
        // The caller's bytes were all consumed, whatever scrubbing did to them.
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Target of the run header and progress lines when they go through
/// tracing (JSON logs); hidden by `--quiet`.
const RUN_TARGET: &str = "notify_import::run";
/// Target of the final summary line in JSON logs; shown even with `--quiet`.
const SUMMARY_TARGET: &str = "notify_import::summary";

/// Sets up logging on stderr. `-q` shows errors only, default info,
/// `-v` debug, `-vv` trace for this crate. `RUST_LOG` overrides, as
/// comma-separated `target=level` directives (a plain filter rather than
/// `EnvFilter`: its regex engine was a tenth of a cold build).
pub fn init_logging(output: &OutputConfig) {
    let level = match (output.quiet, output.verbose) {
        (true, _) => "warn",
        (false, 0) => "warn",
        (false, 1) => "notify_import=debug,warn",
        (false, _) => "notify_import=trace,info",
    };
    let json = output.log_format == LogFormat::Json;
    // In JSON mode the run header, progress and summary are log events too,
    // so a log shipper sees one format; they need their targets let through.
    let level = match (json, output.quiet) {
        (false, _) => level.to_owned(),
        (true, true) => format!("{level},{SUMMARY_TARGET}=info"),
        (true, false) => format!("{level},{RUN_TARGET}=info,{SUMMARY_TARGET}=info"),
    };
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok());
    let filter = from_env.unwrap_or_else(|| level.parse().unwrap_or_default());
    // `--color always|never` beats NO_COLOR, as in cargo and ripgrep.
    let color = match output.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(|| BarAwareStderr);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        let layer = layer
            .json()
            .with_ansi(false)
            .with_target(true)
            .with_current_span(false);
        registry.with(layer).try_init()
    } else {
        let layer = layer.with_ansi(color).with_target(false).without_time();
        registry.with(layer).try_init()
    };
}

/// Progress and messages for one run.
pub struct Reporter {
    bar: ProgressBar,
    /// Whether `bar` draws at all (asking it takes its lock).
    shown: bool,
    quiet: bool,
    json: bool,
    done: Arc<AtomicU64>,
    /// The pacer's current rate (`f64` bits; 0 while nothing is sent).
    pace: Arc<AtomicU64>,
    ticker: Mutex<Option<Ticker>>,
    recorded: Mutex<Option<TotalsOwned>>,
}

/// The thread printing progress lines; stops when `stop` is dropped.
struct Ticker {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Reporter {
    /// A reporter for `total` rows.
    pub fn new(total: u64, output: &OutputConfig) -> Reporter {
        let json = output.log_format == LogFormat::Json;
        let on_terminal = io::stderr().is_terminal();
        let shown = output.progress && on_terminal && !json;
        let bar = if shown {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows {per_sec} {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = Some(bar.clone());
        }
        let done = Arc::new(AtomicU64::new(0));
        let pace = Arc::new(AtomicU64::new(0));
        // Lines instead of a bar wherever the bar cannot be drawn.
        let lines = output.progress && !output.quiet && (!on_terminal || json);
        let ticker = output
            .progress_interval
            .filter(|_| lines)
            .and_then(|every| start_ticker(total, every, json, done.clone(), pace.clone()));
        Reporter {
            bar,
            shown,
            quiet: output.quiet,
            json,
            done,
            pace,
            ticker: Mutex::new(ticker),
            recorded: Mutex::new(None),
        }
    }

    /// The gauge the pacer writes its current rate to, shown on the
    /// progress line.
    pub fn rate_gauge(&self) -> Arc<AtomicU64> {
        self.pace.clone()
    }

    /// One row finished.
    pub fn row_done(&self) {
        // A hidden bar (not a terminal, --no-progress, JSON logs) still
        // takes a lock and reads the clock on every `inc`: 1.3% of
        // `validate` on a million rows, for a bar nobody sees.
        if self.shown {
            self.bar.inc(1);
        }
        let n = self.done.fetch_add(1, Ordering::Relaxed);
        if self.shown && n.is_multiple_of(64) {
            // The message allocates: refreshed every 64 rows, not each.
            let pace = f64::from_bits(self.pace.load(Ordering::Relaxed));
            if pace > 0.0 {
                self.bar.set_message(format!("pace {pace:.1} req/s"));
            }
        }
    }

    /// An informational line (not shown with `--quiet`).
    pub fn info(&self, text: &str) {
        if self.quiet {
            return;
        }
        if self.json {
            tracing::info!(target: RUN_TARGET, "{text}");
        } else {
            self.print(text);
        }
    }

    /// A line shown even with `--quiet` (the final summary).
    pub fn print(&self, text: &str) {
        if self.json {
            tracing::info!(target: SUMMARY_TARGET, "{text}");
            return;
        }
        let text = crate::util::redact::scrub(text);
        self.bar.suspend(|| {
            let _ = writeln!(io::stderr(), "{text}");
        });
    }

    /// Prints the final summary (one line with `--quiet` or JSON logs) and
    /// keeps its facts for `--summary-json`.
    pub fn summary(&self, summary: &Totals<'_>) {
        if let Ok(mut slot) = self.recorded.lock() {
            *slot = Some(summary.facts());
        }
        if self.quiet || self.json {
            self.print(&summary.one_line());
        } else {
            self.print(&summary.text());
        }
    }

    /// The facts of the summary printed last, if any.
    pub fn recorded(&self) -> Option<TotalsOwned> {
        self.recorded.lock().ok().and_then(|mut s| s.take())
    }

    /// Removes the bar from the screen and stops progress lines.
    pub fn finish(&self) {
        self.stop_ticker();
        self.bar.finish_and_clear();
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = None;
        }
    }

    fn stop_ticker(&self) {
        let ticker = self.ticker.lock().ok().and_then(|mut t| t.take());
        if let Some(Ticker { stop, thread }) = ticker {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// Starts the progress-line thread; `None` if no thread can be started
/// (progress lines are a nicety, not worth failing the run for).
fn start_ticker(
    total: u64,
    every: Duration,
    json: bool,
    done: Arc<AtomicU64>,
    pace: Arc<AtomicU64>,
) -> Option<Ticker> {
    let (stop, stopped) = mpsc::channel::<()>();
    let started = Instant::now();
    let thread = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            // Ends when the sender is dropped (Disconnected): no busy loop,
            // no sleep, and `finish` returns at once.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let mut line =
                    Progress::now(done.load(Ordering::Relaxed), total, started.elapsed());
                let rate = f64::from_bits(pace.load(Ordering::Relaxed));
                line.pace = (rate > 0.0).then_some(rate);
                if json {
                    tracing::info!(
                        target: RUN_TARGET,
                        done = line.done,
                        total = line.total,
                        rows_per_sec = line.rate,
                        pace_per_sec = line.pace,
                        eta_secs = line.eta.map(|d| d.as_secs()),
                        "{}",
                        line.text()
                    );
                } else {
                    // One write, so the line cannot interleave with a log line.
                    let text = format!("{}\n", line.text());
                    let _ = BarAwareStderr.write_all(text.as_bytes());
                }
            }
        })
        .ok()?;
    Some(Ticker { stop, thread })
}

/// One progress line: done/total, rate, ETA, current pace.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    done: u64,
    total: u64,
    rate: f64,
    /// The pacer's current request rate, when requests are sent.
    pace: Option<f64>,
    eta: Option<Duration>,
}

impl Progress {
    fn now(done: u64, total: u64, elapsed: Duration) -> Progress {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let left = total.saturating_sub(done);
        let eta = (rate > 0.0).then(|| Duration::from_secs((left as f64 / rate).ceil() as u64));
        Progress {
            done,
            total,
            rate,
            pace: None,
            eta,
        }
    }

    fn text(&self) -> String {
        let pct = if self.total > 0 {
            self.done as f64 * 100.0 / self.total as f64
        } else {
            100.0
        };
        let eta = match self.eta {
            Some(d) => humantime::format_duration(d).to_string(),
            None => "unknown".to_owned(),
        };
        let pace = self
            .pace
            .map(|p| format!(", pace {p:.1} req/s"))
            .unwrap_or_default();
        format!(
            "progress: {}/{} rows ({pct:.0}%), {:.1} rows/s, eta {eta}{pace}",
            self.done, self.total, self.rate
        )
    }
}

/// An owned copy of [`Totals`], kept after the run for `--summary-json`.
#[derive(Debug, Clone)]
pub struct TotalsOwned {
    /// Rows per status.
    pub counts: Counts,
    /// HTTP requests made (`None` when nothing could be sent).
    pub requests: Option<u64>,
    /// Requests repeated after a failed attempt.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// The results file.
    pub results: PathBuf,
    /// The errors file, when one was written.
    pub errors: Option<PathBuf>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// How requests were paced (`None` when nothing could be sent).
    pub pace: Option<PaceFacts>,
    /// What to do next: the words of the summary's `Next:` line.
    pub next: Option<String>,
    /// Requests and 429 answers over time (`None` when nothing was sent).
    pub timeline: Option<Timeline>,
}

/// How a run paced its requests and what it learned about the API's limit.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceFacts {
    /// `--rate auto`: the limit was looked for.
    pub auto: bool,
    /// `--rate`, or `--max-rate` with `auto`.
    pub rate: f64,
    /// The rate achieved at the end of the run (admitted answers per
    /// second over its last seconds), requests/s.
    pub final_rate: f64,
    /// The learned ceiling: what the server admitted when 429s began.
    pub ceiling: Option<f64>,
    /// The rate allowed by the policy the API advertised.
    pub advertised: Option<f64>,
    /// How long the pool was paused in all (after 429s, for a spent quota).
    pub paused: std::time::Duration,
}

impl PaceFacts {
    /// How the pace was chosen, e.g. `--rate auto (up to 100/s)`.
    pub fn chosen(&self) -> String {
        if self.auto {
            format!("--rate auto (up to {}/s)", self.rate)
        } else {
            format!("--rate {}/s", self.rate)
        }
    }

    /// What it achieved at the end (over the last 10 s) and learned, e.g.
    /// `achieved 47.5 req/s at the end;
    /// learned ceiling 50.0 req/s`.
    pub fn outcome(&self) -> String {
        let mut out = format!("achieved {:.1} req/s at the end", self.final_rate);
        match self.ceiling {
            Some(c) => out.push_str(&format!("; learned ceiling {c:.1} req/s")),
            None => out.push_str("; no 429, no ceiling learned"),
        }
        if let Some(a) = self.advertised {
            out.push_str(&format!("; the API advertised {a:.1} req/s"));
        }
        out
    }
}

/// Facts about a finished run, for the summary.
pub struct Totals<'a> {
    /// Rows per status.
    pub counts: &'a Counts,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// HTTP requests made (`None` when nothing could be sent).
    pub requests: Option<u64>,
    /// Requests repeated after a failed attempt.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// The input's encoding and delimiter.
    pub input: String,
    /// The results file.
    pub results: &'a Path,
    /// The errors file, when one was written.
    pub errors: Option<&'a Path>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// What to do next, as the exact command (see [`crate::run::next_step`]).
    pub next: Option<String>,
    /// How requests were paced (`None` when nothing could be sent).
    pub pace: Option<PaceFacts>,
    /// Where `report.html` goes (`None` with `--no-report`).
    pub report: Option<&'a Path>,
    /// Requests and 429 answers over time (`None` when nothing was sent).
    pub timeline: Option<&'a Timeline>,
}

impl Totals<'_> {
    /// An owned copy of these facts.
    pub fn facts(&self) -> TotalsOwned {
        TotalsOwned {
            counts: self.counts.clone(),
            requests: self.requests,
            retries: self.retries,
            rate_limited: self.rate_limited,
            results: self.results.to_owned(),
            errors: self.errors.map(Path::to_owned),
            stopped: self.stopped.clone(),
            pace: self.pace.clone(),
            next: self.next.clone(),
            timeline: self.timeline.cloned(),
        }
    }

    /// A one-line summary (used with `--quiet`).
    pub fn one_line(&self) -> String {
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.counts.get(**s) > 0)
            .map(|s| format!("{} {}", self.counts.get(*s), s))
            .collect();
        let mut line = format!(
            "{}: {} in {} ({}); results: {}",
            rows_text(self.counts.total()),
            if parts.is_empty() {
                "nothing to do".to_owned()
            } else {
                parts.join(", ")
            },
            format_secs(self.elapsed),
            rate(self.counts.total(), self.elapsed, "rows"),
            self.results.display()
        );
        if let Some(errors) = self.errors {
            line.push_str(&format!("; errors: {}", errors.display()));
        }
        if let Some(report) = self.report {
            line.push_str(&format!("; report: {}", report.display()));
        }
        if let Some(why) = &self.stopped {
            line.push_str(&format!("; stopped early: {why}"));
        }
        if let Some(p) = self.pace.as_ref().filter(|p| p.auto || p.ceiling.is_some()) {
            line.push_str(&format!("; pace {}: {}", p.chosen(), p.outcome()));
        }
        if let Some(next) = &self.next {
            line.push_str(&format!("; next: {next}"));
        }
        line
    }

    /// The multi-line summary.
    pub fn text(&self) -> String {
        let mut out = String::from("\nSummary\n");
        // Always shown, even at 0: what this kind of run does. A check
        // (nothing sent, no request count) only tells valid from invalid.
        let shown: &[Status] = if self.requests.is_none() {
            &[Status::Valid, Status::Invalid]
        } else {
            &[
                Status::Created,
                Status::Exists,
                Status::Invalid,
                Status::Failed,
            ]
        };
        for status in Status::ALL {
            let n = self.counts.get(status);
            if n > 0 || shown.contains(&status) {
                out.push_str(&format!("  {:<12}{n:>8}\n", status.as_str()));
            }
        }
        out.push_str(&format!("  {:<12}{:>8}\n", "rows", self.counts.total()));
        out.push_str(&format!(
            "  time        {:>8}  ({})\n",
            format_secs(self.elapsed),
            rate(self.counts.total(), self.elapsed, "rows")
        ));
        if let Some(requests) = self.requests {
            out.push_str(&format!(
                "  requests    {requests:>8}  ({})\n",
                rate(requests, self.elapsed, "req")
            ));
            if self.retries > 0 || self.rate_limited > 0 {
                out.push_str(&format!(
                    "  retries     {:>8}  ({} rate-limited answers)\n",
                    self.retries, self.rate_limited
                ));
            }
        }
        if let Some(p) = &self.pace {
            out.push_str(&format!("  pace        {}: {}\n", p.chosen(), p.outcome()));
        }
        if let Some(why) = &self.stopped {
            out.push_str(&format!("  stopped early: {why}\n"));
        }
        out.push_str(&format!("  input       {}\n", self.input));
        out.push_str(&format!("Results: {}", self.results.display()));
        if let Some(errors) = self.errors {
            out.push_str(&format!(
                "\nErrors:  {} (the rows not imported, each with its error)",
                errors.display()
            ));
        }
        if let Some(report) = self.report {
            out.push_str(&format!(
                "\nReport:  {} (the run as a page to read, print or send)",
                report.display()
            ));
        }
        // Last, so it is what the user reads before typing again.
        if let Some(next) = &self.next {
            out.push_str(&format!("\nNext:    {next}"));
        }
        out
    }
}

fn format_secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn rate(n: u64, d: Duration, unit: &str) -> String {
    let secs = d.as_secs_f64();
    if secs <= 0.0 {
        return format!("- {unit}/s");
    }
    format!("{:.1} {unit}/s", n as f64 / secs)
}

/// `1 row` or `n rows`.
pub fn rows_text(n: u64) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

/// The run-header warnings for rows without a country and languages the
/// API does not know; empty when there is nothing to say.
pub fn input_warnings(no_country: &RowSample, languages: &RowSample) -> String {
    let mut out = String::new();
    if no_country.rows > 0 {
        let verb = if no_country.rows == 1 { "has" } else { "have" };
        out.push_str(&format!(
            "warning: {} {verb} no country; Notify will store NL: add a Country column or --default-country DE ({})\n",
            rows_text(no_country.rows),
            no_country.lines_text()
        ));
    }
    if languages.rows > 0 {
        let values: Vec<String> = languages.values.iter().map(|v| format!("{v:?}")).collect();
        out.push_str(&format!(
            "warning: {} with a language that is not recognised, sent as is: {} ({}); the API knows {}: map values in a mapping file, e.g. Language = {{ column = \"Taal\", values = {{ NL = \"dutch\" }} }}\n",
            rows_text(languages.rows),
            values.join(", "),
            languages.lines_text(),
            crate::check::validate::LANGUAGES.join(", ")
        ));
    }
    out
}

/// What the pass decided about the input and what it found, for the run
/// header: encoding, delimiter, mapping, warnings, normalizations, and the
/// problems per kind with example lines.
pub fn input_report(pass: &Pass) -> String {
    let indent = |text: &str| -> String { text.lines().map(|l| format!("  {l}\n")).collect() };
    let mut description = pass.mapping_description.clone();
    description.push_str(&input_warnings(&pass.no_country, &pass.unknown_languages));
    let mut out = format!("{}:\n{}", pass.info.path.display(), indent(&description));
    let changes = pass.changes.to_string();
    if !changes.is_empty() {
        out.push_str(&format!(
            "normalized before sending (the values sent, not the file's, reach Notify):\n{}",
            indent(&changes)
        ));
    }
    let problems = pass.problems.iter();
    if !problems.is_empty() {
        out.push_str("problems (rows not sent):\n");
        for (kind, n, lines) in problems {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            out.push_str(&format!("  {n:>6} × {kind} (line {})\n", lines.join(", ")));
        }
    }
    out.trim_end().to_owned()
}

/// The warning about columns that match no field; `None` when all match.
pub fn unknown_columns_warning(pass: &Pass) -> Option<String> {
    let n = pass.unknown_columns.len();
    // The run header lists them ("not imported: ..."); a long list twice
    // hides the rest.
    (n > 0).then(|| {
        format!(
            "{}: ignoring {n} column{} that match no Notify field (listed under \"not imported\")",
            pass.info.path.display(),
            if n == 1 { "" } else { "s" }
        )
    })
}

/// The encoding and delimiter, for the summary.
pub fn input_line(pass: &Pass) -> String {
    format!("{}; {}", pass.info.encoding, pass.info.delimiter)
}

/// The line that ends a check.
pub fn checked_line(input: &Path, pass: &Pass) -> String {
    format!(
        "notify-import: checked {} ({}); nothing was sent",
        input.display(),
        rows_line(pass)
    )
}

/// Where an import sends, as its run header names it.
pub enum Target<'a> {
    /// The embedded sandbox, at this URL.
    Sandbox(&'a str),
    /// A real API with a test key.
    Test(&'a str),
    /// A real API with a live key: said loudly, it writes into the
    /// customer's real books.
    Live(&'a str),
}

/// What the run header of an import says.
pub struct ImportHeader<'a> {
    /// The input as named.
    pub input: &'a Path,
    /// The pass's rows line ([`rows_line`]).
    pub rows: String,
    /// Where to.
    pub target: Target<'a>,
    /// Sent with the API's `Overwrite` flag.
    pub overwrite: bool,
    /// `--rate auto`: from `rate` up to `max_rate`.
    pub auto_rate: bool,
    /// `--rate`, or where auto starts.
    pub rate: f64,
    /// `--max-rate`.
    pub max_rate: f64,
    /// `--burst`.
    pub burst: u32,
    /// `--concurrency`.
    pub concurrency: usize,
    /// The run folder.
    pub folder: &'a Path,
}

/// The line that opens an import.
pub fn import_header(h: &ImportHeader<'_>) -> String {
    let where_to = match h.target {
        Target::Sandbox(url) => format!("the embedded sandbox at {url}"),
        Target::Live(url) => format!("{url} with a LIVE key (REAL customer data)"),
        Target::Test(url) => format!("{url} with a test key"),
    };
    let pace = if h.auto_rate {
        format!(
            "pace --rate auto: from {}/s up to --max-rate {}/s, holding under the limit it finds",
            h.rate, h.max_rate
        )
    } else {
        format!("pace --rate {}/s", h.rate)
    };
    format!(
        "notify-import: importing {} ({}) into {where_to}{}; {pace} (burst {}), {} in flight; files in {}",
        h.input.display(),
        h.rows,
        if h.overwrite { " with overwrite" } else { "" },
        h.burst,
        h.concurrency,
        h.folder.display()
    )
}

/// What delta mode says at the start.
pub fn delta_line(state: &Path, known: u64, full: bool) -> String {
    format!(
        "notify-import: delta mode: {} knows {known} customers; {}",
        state.display(),
        if full {
            "--full: every valid row is sent"
        } else {
            "rows with the same data as their last import are not sent (unchanged)"
        }
    )
}

/// What a resumed run says at the start.
pub fn resuming_line(folder: &Path, done: u64, in_doubt: u64) -> String {
    format!(
        "notify-import: resuming the run in {}: {done} rows already done, {in_doubt} to check first because an earlier send's answer was lost",
        folder.display()
    )
}

/// What `--resume` says when there is nothing to resume.
pub fn nothing_to_resume_line(input: &Path) -> String {
    format!(
        "notify-import: no unfinished run of {} to resume; starting a new run",
        input.display()
    )
}

/// `N rows: V valid, I invalid`.
pub fn rows_line(pass: &Pass) -> String {
    format!(
        "{}: {} valid, {} invalid",
        rows_text(pass.rows),
        pass.valid,
        pass.invalid()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_has_done_total_rate_and_eta() {
        let p = Progress::now(250, 1000, Duration::from_secs(25));
        assert_eq!(p.rate, 10.0);
        assert_eq!(p.eta, Some(Duration::from_secs(75)));
        assert_eq!(
            p.text(),
            "progress: 250/1000 rows (25%), 10.0 rows/s, eta 1m 15s"
        );
        let start = Progress::now(0, 10, Duration::from_secs(1));
        assert!(start.text().ends_with("eta unknown"), "{}", start.text());
        let mut paced = Progress::now(250, 1000, Duration::from_secs(25));
        paced.pace = Some(47.5);
        assert_eq!(
            paced.text(),
            "progress: 250/1000 rows (25%), 10.0 rows/s, eta 1m 15s, pace 47.5 req/s"
        );
    }

    #[test]
    fn pace_says_what_was_chosen_and_learned() {
        let p = PaceFacts {
            auto: true,
            rate: 100.0,
            final_rate: 47.5,
            ceiling: Some(50.0),
            advertised: None,
            paused: Duration::ZERO,
        };
        assert_eq!(p.chosen(), "--rate auto (up to 100/s)");
        assert_eq!(
            p.outcome(),
            "achieved 47.5 req/s at the end; learned ceiling 50.0 req/s"
        );
    }
}
