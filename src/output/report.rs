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
use crate::model::plan::WriteMode;
use crate::model::timeline::Timeline;
use crate::output::plan_file::{Action, PlanFacts};

/// The bar currently on screen, so log lines can be printed above it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes to stderr, suspending the active progress bar around the write.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        let text = crate::util::redact::scrub_bytes(buf);
        // The formatter escapes ESC in messages and uses it for colours;
        // every other control character of a message is escaped here.
        let text = escape_controls(&text);
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

/// `bytes` with control characters other than line feed, tab and ESC
/// written as `\u{..}` (see [`crate::util::text::printable`]).
fn escape_controls(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let unsafe_byte = |b: &u8| *b < 0x20 && !matches!(*b, b'\n' | b'\t' | 0x1B) || *b == 0x7F;
    if !bytes.iter().any(unsafe_byte) {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for b in bytes {
        if unsafe_byte(b) {
            out.extend_from_slice(format!("\\u{{{b:x}}}").as_bytes());
        } else {
            out.push(*b);
        }
    }
    std::borrow::Cow::Owned(out)
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
    /// Requests answered so far (the uploader counts them).
    answered: Arc<AtomicU64>,
    /// When the reporter was made: the clock of [`Recent`].
    started: Instant,
    /// The bar's recent rates.
    recent: Mutex<Recent>,
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
        let answered = Arc::new(AtomicU64::new(0));
        // Lines instead of a bar wherever the bar cannot be drawn.
        let lines = output.progress && !output.quiet && (!on_terminal || json);
        let ticker = output
            .progress_interval
            .filter(|_| lines)
            .and_then(|every| start_ticker(total, every, json, done.clone(), answered.clone()));
        Reporter {
            bar,
            shown,
            quiet: output.quiet,
            json,
            done,
            answered,
            started: Instant::now(),
            recent: Mutex::new(Recent::default()),
            ticker: Mutex::new(ticker),
            recorded: Mutex::new(None),
        }
    }

    /// The counter the uploader adds each answered request to: the
    /// progress line shows how many were answered a second lately.
    pub fn answered_gauge(&self) -> Arc<AtomicU64> {
        self.answered.clone()
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
            let answered = self.answered.load(Ordering::Relaxed);
            if answered > 0
                && let Ok(mut recent) = self.recent.lock()
            {
                recent.push(self.started.elapsed(), n + 1, answered);
                if let Some(rates) = recent.rates() {
                    self.bar
                        .set_message(format!("{:.1} req/s", rates.requests_per_sec));
                }
            }
        }
    }

    /// Takes the rows bar off the screen while another line has it (the
    /// one that shows Notify's customers being read: two bars drawn to
    /// one terminal line would take turns); [`Reporter::show_bar`] puts
    /// it back.
    pub fn hide_bar(&self) {
        if self.shown {
            self.bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    /// Puts the rows bar back after [`Reporter::hide_bar`], its clock
    /// restarted: no row was done while it was away, and its rate and
    /// estimate count from now.
    pub fn show_bar(&self) {
        if self.shown {
            self.bar.reset();
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
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
        // The run header and summary quote the input's header names.
        let text = crate::util::text::printable(&text);
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
    answered: Arc<AtomicU64>,
) -> Option<Ticker> {
    let (stop, stopped) = mpsc::channel::<()>();
    let started = Instant::now();
    let thread = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            let mut recent = Recent::default();
            recent.push(Duration::ZERO, 0, 0);
            // Ends when the sender is dropped (Disconnected): no busy loop,
            // no sleep, and `finish` returns at once.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let rows = done.load(Ordering::Relaxed);
                recent.push(started.elapsed(), rows, answered.load(Ordering::Relaxed));
                let line = Progress::now(rows, total, &recent);
                if json {
                    tracing::info!(
                        target: RUN_TARGET,
                        done = line.done,
                        total = line.total,
                        rows_per_sec = line.rates.map(|r| r.rows_per_sec),
                        requests_per_sec = line.rates.map(|r| r.requests_per_sec),
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

/// How far back the progress line's rates look.
const RECENT: Duration = Duration::from_secs(10);

/// The rows finished and requests answered over the last [`RECENT`]:
/// what the run achieves now, not its average since the start (which a
/// slow start or a long 429 pause skews for the rest of the run) nor the
/// pace it is allowed. Fed cumulative counts with the time since the
/// start, so a test drives it with a clock of its own.
#[derive(Debug, Default)]
struct Recent {
    /// (time since the start, rows finished, requests answered), oldest
    /// first; the oldest is the last one at or before the window's start.
    samples: std::collections::VecDeque<(Duration, u64, u64)>,
}

/// Rates over the recent window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    rows_per_sec: f64,
    requests_per_sec: f64,
}

impl Recent {
    fn push(&mut self, at: Duration, rows: u64, requests: u64) {
        self.samples.push_back((at, rows, requests));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|s| at.saturating_sub(s.0) >= RECENT)
        {
            self.samples.pop_front();
        }
    }

    /// The rates over the window; `None` until it spans a second.
    fn rates(&self) -> Option<Rates> {
        let (t0, rows0, req0) = *self.samples.front()?;
        let (t1, rows1, req1) = *self.samples.back()?;
        let secs = t1.saturating_sub(t0).as_secs_f64();
        (secs >= 1.0).then(|| Rates {
            rows_per_sec: rows1.saturating_sub(rows0) as f64 / secs,
            requests_per_sec: req1.saturating_sub(req0) as f64 / secs,
        })
    }
}

/// One progress line: done/total, the recent rates and the ETA they give.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    done: u64,
    total: u64,
    /// Over the last [`RECENT`]; `None` in the first second.
    rates: Option<Rates>,
    eta: Option<Duration>,
}

impl Progress {
    fn now(done: u64, total: u64, recent: &Recent) -> Progress {
        let rates = recent.rates();
        let left = total.saturating_sub(done);
        let eta = rates
            .map(|r| r.rows_per_sec)
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs((left as f64 / r).ceil() as u64));
        Progress {
            done,
            total,
            rates,
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
        let rates = match self.rates {
            Some(r) => format!(
                "{:.1} rows/s, {:.1} req/s answered over the last {} s",
                r.rows_per_sec,
                r.requests_per_sec,
                RECENT.as_secs()
            ),
            None => "rate not yet known".to_owned(),
        };
        format!(
            "progress: {}/{} rows ({pct:.0}%), {rates}, eta {eta}",
            self.done, self.total
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
    /// How long sending was paused in all (429 answers, a spent quota).
    pub paused: Duration,
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
    /// How an import wrote rows (`None` for a check or a plan): what its
    /// summary lists even at 0.
    pub mode: Option<WriteMode>,
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
        // (nothing sent, no request count) and a plan (reads only: its
        // rows are valid or invalid) only tell valid from invalid.
        let checked = self.requests.is_none() || self.counts.get(Status::Valid) > 0;
        let shown: &[Status] = match self.mode {
            _ if checked => &[Status::Valid, Status::Invalid],
            Some(WriteMode::Upsert) => &[
                Status::Created,
                Status::Updated,
                Status::Unchanged,
                Status::Invalid,
                Status::Failed,
            ],
            Some(WriteMode::Update) => &[
                Status::Updated,
                Status::Unchanged,
                Status::NotFound,
                Status::Invalid,
                Status::Failed,
            ],
            Some(WriteMode::Overwrite) => &[
                Status::Created,
                Status::Overwritten,
                Status::Invalid,
                Status::Failed,
            ],
            Some(WriteMode::Create) | None => &[
                Status::Created,
                Status::Exists,
                Status::Invalid,
                Status::Failed,
            ],
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
    description.push_str(&workbook_warnings(&pass.cell_numbers, &pass.cell_errors));
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

/// The run-header warnings about a workbook's cells: numbers where codes
/// or phone numbers go, and error cells read as empty; empty when there
/// is nothing to say.
pub fn workbook_warnings(numbers: &RowSample, errors: &RowSample) -> String {
    let mut out = String::new();
    let names = |sample: &RowSample| -> String {
        let names: Vec<String> = sample.values.iter().map(|v| format!("{v:?}")).collect();
        names.join(", ")
    };
    if numbers.rows > 0 {
        out.push_str(&format!(
            "warning: {} with a code or phone number stored as a number in the sheet ({}; {}): a leading zero may already be lost (0612… becomes 612…); check these rows, format the column as Text in the sheet and retype them\n",
            rows_text(numbers.rows),
            names(numbers),
            numbers.lines_text()
        ));
    }
    if errors.rows > 0 {
        out.push_str(&format!(
            "warning: {} with an error cell ({}; {}) in an imported column, read as empty: fix the formula in the sheet\n",
            rows_text(errors.rows),
            names(errors),
            errors.lines_text()
        ));
    }
    out
}

/// The encoding and delimiter (or the sheet), for the summary.
pub fn input_line(pass: &Pass) -> String {
    match &pass.info.sheet {
        Some(sheet) => format!("{} workbook, sheet {:?}", sheet.format, sheet.name),
        None => format!("{}; {}", pass.info.encoding, pass.info.delimiter),
    }
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
    /// How rows are written (`--mode`).
    pub mode: WriteMode,
    /// `--clear-empty`.
    pub clear_empty: bool,
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
    /// The profile whose settings it took: its name and file.
    pub profile: Option<(&'a str, &'a Path)>,
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
        "notify-import: importing {} ({}) into {where_to}{}{}; {pace} (burst {}), {} in flight; files in {}",
        h.input.display(),
        h.rows,
        match (h.mode, h.clear_empty) {
            (WriteMode::Create, _) => "",
            (WriteMode::Overwrite, _) => " with overwrite (the API's Overwrite flag)",
            (WriteMode::Upsert, false) => {
                " in upsert mode (new codes created, changed fields of existing customers updated, blank cells kept)"
            }
            (WriteMode::Upsert, true) => {
                " in upsert mode (new codes created, changed fields of existing customers updated, blank cells cleared)"
            }
            (WriteMode::Update, false) => {
                " in update mode (changed fields of existing customers updated, nothing created, blank cells kept)"
            }
            (WriteMode::Update, true) => {
                " in update mode (changed fields of existing customers updated, nothing created, blank cells cleared)"
            }
        },
        h.profile
            .map(|(name, file)| profile_note(name, file))
            .unwrap_or_default(),
        h.burst,
        h.concurrency,
        h.folder.display()
    )
}

// ---- `config` and profiles (issue 20) ----

/// One setting as `config` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRow {
    /// Its name (the profile key).
    pub name: String,
    /// The effective value.
    pub value: String,
    /// Where it came from: `flag`, `env NAME`, `profile NAME in FILE line
    /// N`, `default`.
    pub source: String,
}

/// What `config` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsShown {
    /// The profile used and what chose it, if one was.
    pub profile: Option<String>,
    /// The config file in use or found, if any.
    pub file: Option<PathBuf>,
    /// The profiles that file has.
    pub profiles: Vec<String>,
    /// Where a config file is looked for.
    pub looked_at: String,
    /// The settings.
    pub rows: Vec<SettingRow>,
}

/// The text of `config`: the file and profile, then one line per setting
/// with its value and where it came from (a flag beats an environment
/// variable, which beats the profile, which beats the default).
pub fn settings_text(s: &SettingsShown) -> String {
    let mut out = String::new();
    match &s.file {
        Some(f) => out.push_str(&format!(
            "config file: {}{}\n",
            f.display(),
            if s.profiles.is_empty() {
                " (no profiles)".to_owned()
            } else {
                format!(" (profiles: {})", s.profiles.join(", "))
            }
        )),
        None => out.push_str(&format!("config file: none (looked at {})\n", s.looked_at)),
    }
    out.push_str(&format!(
        "profile: {}\n",
        s.profile
            .as_deref()
            .unwrap_or("none (choose one with --profile NAME)")
    ));
    let name_w = s.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let value_w = s
        .rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for r in &s.rows {
        out.push_str(&format!(
            "  {:name_w$}  {:value_w$}  ({})\n",
            r.name, r.value, r.source
        ));
    }
    out
}

/// The run header's note of the profile whose settings it took.
pub fn profile_note(name: &str, file: &Path) -> String {
    format!(" (profile {name} from {})", file.display())
}

// ---- end of `config` and profiles ----

/// The line that opens a plan.
pub fn plan_header(
    input: &Path,
    rows: &str,
    target: Target<'_>,
    mode: WriteMode,
    folder: &Path,
    profile: Option<(&str, &Path)>,
) -> String {
    let where_to = match target {
        Target::Sandbox(url) => format!("the embedded sandbox at {url}"),
        Target::Live(url) => format!("{url} with a LIVE key (read only)"),
        Target::Test(url) => format!("{url} with a test key"),
    };
    format!(
        "notify-import: planning an import of {} ({rows}) into {where_to} with --mode {mode}{}: Notify is read, nothing is written there; files in {}",
        input.display(),
        profile
            .map(|(name, file)| profile_note(name, file))
            .unwrap_or_default(),
        folder.display()
    )
}

/// What a plan found: rows per action, and the fields that change most.
pub fn plan_lines(facts: &PlanFacts) -> String {
    let mut out = String::from("Plan (--mode ");
    out.push_str(facts.mode);
    out.push_str(")\n");
    for action in Action::ALL {
        let n = facts.count(action);
        let always = matches!(action, Action::Create | Action::Update | Action::Unchanged);
        if n > 0 || (always && facts.mode != "create" && facts.mode != "overwrite") {
            out.push_str(&format!("  {:<12}{n:>8}\n", action.as_str()));
        }
    }
    if !facts.fields.is_empty() {
        let most: Vec<String> = facts
            .fields
            .iter()
            .take(5)
            .map(|(f, n)| format!("{f} {n}"))
            .collect();
        out.push_str(&format!("  fields that change most: {}\n", most.join(", ")));
    }
    if let Some(file) = &facts.file {
        out.push_str(&format!("  plan: {}", file.display()));
    }
    out.trim_end().to_owned()
}

/// How far learning Notify's state has come (see `upload::snapshot`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LearnFacts {
    /// Distinct codes of the file.
    pub codes: u64,
    /// List pages read.
    pub pages: u64,
    /// Customers those pages held.
    pub listed: u64,
    /// Codes searched one by one.
    pub searches: u64,
    /// Reads of a found customer's fields.
    pub lookups: u64,
    /// The file's codes Notify holds.
    pub found: u64,
    /// Whether the list was read to its end.
    pub listed_all: bool,
}

/// The line that keeps a terminal user company while Notify's customers
/// are read: a spinner on a terminal, nothing off one, with `--quiet`,
/// `--no-progress` or JSON logs (the summary line says what it cost).
pub struct LearnProgress {
    bar: ProgressBar,
}

impl LearnProgress {
    /// A progress line for the output settings.
    pub fn new(output: &OutputConfig) -> LearnProgress {
        let shown = output.progress
            && !output.quiet
            && output.log_format != LogFormat::Json
            && io::stderr().is_terminal();
        let bar = if shown {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        LearnProgress { bar }
    }

    /// Shows how far it has come.
    pub fn update(&self, facts: &LearnFacts) {
        if !self.bar.is_hidden() {
            self.bar.set_message(learn_progress_text(facts));
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for LearnProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The progress line's text.
pub fn learn_progress_text(f: &LearnFacts) -> String {
    let mut text = format!(
        "reading the customers Notify holds: {} {} ({} customers), {} of {} codes found",
        f.pages,
        if f.pages == 1 { "page" } else { "pages" },
        f.listed,
        f.found,
        f.codes
    );
    if f.searches > 0 {
        text.push_str(&format!(", {} searched", f.searches));
    }
    text
}

/// What learning cost, once done.
pub fn learned_line(f: &LearnFacts) -> String {
    let n = |count: u64, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let how = if f.listed_all {
        format!(
            "the whole list ({}, {})",
            n(f.pages, "page", "pages"),
            n(f.listed, "customer", "customers")
        )
    } else {
        format!(
            "{} ({}), then {} searched",
            n(f.pages, "list page", "list pages"),
            n(f.listed, "customer", "customers"),
            n(f.searches, "code", "codes")
        )
    };
    format!(
        "notify-import: Notify holds {} of the file's {}; read {how}: {}",
        f.found,
        n(f.codes, "code", "codes"),
        n(f.pages + f.searches + f.lookups, "request", "requests")
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

// ---- undo (begin) ----

/// The line that opens an undo.
pub fn undo_header(
    undone: &Path,
    changes: u64,
    target: Target<'_>,
    force: bool,
    folder: &Path,
) -> String {
    let where_to = match target {
        Target::Sandbox(url) | Target::Test(url) => format!("{url} with a test key"),
        Target::Live(url) => format!("{url} with a LIVE key (REAL customer data)"),
    };
    format!(
        "notify-import: undoing the run in {}: {changes} customer{} it created or updated, in {where_to}{}; files in {}",
        undone.display(),
        if changes == 1 { "" } else { "s" },
        if force {
            " (--force: customers changed since are restored too)"
        } else {
            ""
        },
        folder.display()
    )
}

/// What an undo of a stopped run says while it waits for that run's
/// last creates to land (or not) before looking them up.
pub fn undo_waiting_line(wait: Duration) -> String {
    format!(
        "notify-import: that run stopped before some creates were answered; waiting {} s, until none of them can still land, before looking them up",
        wait.as_secs().max(1)
    )
}

/// What a resumed undo says at the start.
pub fn undo_resuming_line(folder: &Path, done: u64, pending: u64) -> String {
    format!(
        "notify-import: resuming the undo in {}: {done} rows already undone, {pending} sent again because their answer was lost",
        folder.display()
    )
}

/// A row left alone because it changed in Notify since the run: both
/// values of each field (a warning, shown with `--quiet` too).
pub fn undo_conflict_line(o: &crate::model::undo::UndoOutcome) -> String {
    let fields: Vec<String> = o
        .conflicts
        .iter()
        .map(|(field, sent, now)| {
            format!(
                "{field}: the run sent {}, Notify now holds {}",
                crate::util::text::quoted(sent),
                crate::util::text::quoted(now)
            )
        })
        .collect();
    format!(
        "conflict: line {} customer {} ({}) changed in Notify since the run: {}; left as it is (--force restores it)",
        o.line,
        crate::util::text::quoted(&o.code),
        o.customer_id,
        fields.join("; ")
    )
}

/// A created customer Notify refused to delete (a warning).
pub fn undo_kept_line(o: &crate::model::undo::UndoOutcome) -> String {
    format!(
        "kept: line {} customer {} ({}): {}",
        o.line,
        crate::util::text::quoted(&o.code),
        o.customer_id,
        o.detail
    )
}

/// The summary an undo ends with.
pub fn undo_summary(
    counts: &crate::model::undo::UndoCounts,
    results: &Path,
    report: Option<&Path>,
    next: &str,
) -> String {
    use crate::model::undo::UndoAction;
    let mut out = String::from("Undo\n");
    for action in UndoAction::ALL {
        let n = counts.get(action);
        if n > 0 || action.is_undone() {
            out.push_str(&format!("  {:<12}{n:>8}\n", action.as_str()));
        }
    }
    out.push_str(&format!("  results: {}\n", results.display()));
    if let Some(report) = report {
        out.push_str(&format!("Report: {}\n", report.display()));
    }
    out.push_str(&format!("Next: {next}"));
    out
}

/// The `Next:` words after an undo, by how it ended.
pub fn undo_next_step(
    counts: &crate::model::undo::UndoCounts,
    stopped: Option<&str>,
    resume: &str,
) -> String {
    use crate::model::undo::UndoAction;
    if let Some(why) = stopped {
        return format!("the undo stopped ({why}); continue it with: {resume}");
    }
    if counts.all_undone() {
        return "nothing; every change of that run is undone".into();
    }
    let mut parts = Vec::new();
    if counts.get(UndoAction::Conflict) > 0 {
        parts.push("check the conflicts in the results (changed in Notify since the run) and undo again with --force to restore them anyway");
    }
    if counts.get(UndoAction::Kept) > 0 {
        parts.push("the kept customers have invoices in Notify and stay");
    }
    if counts.get(UndoAction::Failed) > 0 {
        parts.push("see why the failed rows failed in the results' detail column, fix it, then undo again with --force");
    }
    parts.join("; ")
}

/// Why a folder cannot be undone: it is not an import run's.
pub fn undo_not_an_import(folder: &Path, kind: &str) -> String {
    format!(
        "{} is {kind}, which wrote nothing to Notify: there is nothing to undo; give the folder of an import run (customers.runs/<UTC start>)",
        folder.display()
    )
}

/// `undo --sandbox` makes no sense: nothing of a sandbox run is left.
pub fn undo_needs_api_url() -> &'static str {
    "undo needs the API the run sent to: --api-url (the embedded sandbox ended with its run)"
}

/// The folder given cannot be opened.
pub fn undo_cannot_open(folder: &Path, e: &io::Error) -> String {
    format!(
        "cannot open the run folder {}: {e}; give the folder of an import run, e.g. customers.runs/latest",
        folder.display()
    )
}

/// The folder given is not a run folder.
pub fn undo_not_a_run_folder(folder: &Path) -> String {
    format!(
        "{} is not a run folder of notify-import (named after its UTC start, e.g. customers.runs/2026-12-02T182601Z); give the folder of an import run",
        folder.display()
    )
}

/// An undo's folder is not undone.
pub fn undo_of_an_undo(folder: &Path) -> String {
    format!(
        "{} is an undo's folder: an undo is not undone; to put back what it took back, import the file again",
        folder.display()
    )
}

/// The run left no journal.
pub fn undo_no_journal(folder: &Path) -> String {
    format!(
        "{} has no journal: that run sent nothing, or the journal was removed; there is nothing to undo",
        folder.display()
    )
}

/// The run's (or a stopped undo's) journal cannot be read.
pub fn undo_unreadable_journal(e: &str) -> String {
    format!("cannot read what that run did: {e}; nothing was sent")
}

/// A sandbox run's customers ended with it.
pub fn undo_of_a_sandbox_run() -> &'static str {
    "that run sent to the embedded sandbox (--sandbox), whose customers ended with it: there is nothing left to undo"
}

/// The undo would go to another API than the run.
pub fn undo_other_api(then: &str, now: &str) -> String {
    format!(
        "that run sent to {then}, and this undo would send to {now}: undo it where it was imported (--api-url {then})"
    )
}

/// The undo has another kind of key than the run.
pub fn undo_other_key(then: &str, now: &str) -> String {
    format!(
        "that run used a {then} key, this undo has a {now} key: use a key of the account the run imported into"
    )
}

/// `--resume` with no stopped undo.
pub fn undo_nothing_to_resume(folder: &Path) -> String {
    format!(
        "there is no stopped undo of {} to resume; undo it without --resume",
        folder.display()
    )
}

/// A stopped undo is in the way of a new one.
pub fn undo_resume_first(folder: &Path) -> String {
    format!(
        "an undo of that run stopped unfinished in {}: continue it with --resume",
        folder.display()
    )
}

/// Why a folder cannot be undone again.
pub fn undo_already_undone(folder: &Path, mark: &str) -> String {
    format!(
        "the run in {} was undone already ({}); undoing it again would restore its before-images over what Notify holds now: add --force if that is what you want",
        folder.display(),
        mark.trim()
    )
}

// ---- undo (end) ----

/// Under the import header (a warning): the unfinished run this one
/// left behind.
pub fn abandoned_line(folder: &Path, why: &str) -> String {
    format!(
        "the unfinished run in {} is left as it was and marked abandoned ({why}); this is a new run",
        folder.display()
    )
}

/// Under the import header: codes earlier runs left in doubt.
pub fn inherited_doubt_line(codes: u64) -> String {
    let codes = match codes {
        1 => "1 code".to_owned(),
        n => format!("{} codes", crate::run::next_step::grouped(n)),
    };
    format!(
        "notify-import: {codes} an earlier run left in doubt (its create's answer was lost) are looked up before anything is sent for them"
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
    fn progress_line_has_done_total_the_recent_rates_and_the_eta_they_give() {
        let mut recent = Recent::default();
        recent.push(Duration::ZERO, 0, 0);
        let start = Progress::now(0, 10, &recent);
        assert!(
            start.text().ends_with("rate not yet known, eta unknown"),
            "{}",
            start.text()
        );
        // A minute at 100 rows/s (120 req/s), then a 429 storm: 10 s at
        // 10 rows/s (10 req/s). The whole-run average (87 rows/s) and the
        // allowed pace say nothing about when it ends; the last 10 s do.
        for sec in 1..=60u64 {
            recent.push(Duration::from_secs(sec), sec * 100, sec * 120);
        }
        for sec in 61..=70u64 {
            recent.push(
                Duration::from_secs(sec),
                6000 + (sec - 60) * 10,
                7200 + (sec - 60) * 10,
            );
        }
        let p = Progress::now(6100, 7000, &recent);
        assert_eq!(
            p.rates,
            Some(Rates {
                rows_per_sec: 10.0,
                requests_per_sec: 10.0
            })
        );
        assert_eq!(p.eta, Some(Duration::from_secs(90)));
        assert_eq!(
            p.text(),
            "progress: 6100/7000 rows (87%), 10.0 rows/s, 10.0 req/s answered over the last 10 s, eta 1m 30s"
        );
        assert!(
            recent.samples.len() <= 12,
            "bounded: {}",
            recent.samples.len()
        );
        // Samples a tick apart at an uneven clock still span the window.
        recent.push(Duration::from_millis(75_500), 6155, 7255);
        let r = recent.rates().unwrap();
        assert!((r.rows_per_sec - 10.0).abs() < 1e-9, "{r:?}");
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
