//! What the user sees on stderr: logs, the progress bar, the summary.
//!
//! Owns the tracing subscriber (stderr only; stdout is for data), the
//! progress bar (shown only on a terminal, drawn at most 10 times a second)
//! and the summary text. Log lines go through the bar so they never tear
//! it. It must not decide outcomes or exit codes.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use crate::config::OutputConfig;
use crate::outcome::{Counts, Status};

/// The bar currently on screen, so log lines can be printed above it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes to stderr, suspending the active progress bar around the write.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Sets up logging on stderr. `-q` shows errors only, default info,
/// `-v` debug, `-vv` trace for this crate. `RUST_LOG` overrides.
pub fn init_logging(output: &OutputConfig) {
    let level = match (output.quiet, output.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "notify_import=debug,warn",
        (false, _) => "notify_import=trace,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| BarAwareStderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Progress and messages for one run.
pub struct Reporter {
    bar: ProgressBar,
    quiet: bool,
}

impl Reporter {
    /// A reporter for `total` rows.
    pub fn new(total: u64, output: &OutputConfig) -> Reporter {
        let bar = if output.progress && io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows {per_sec} eta {eta}",
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
        Reporter {
            bar,
            quiet: output.quiet,
        }
    }

    /// One row finished.
    pub fn row_done(&self) {
        self.bar.inc(1);
    }

    /// An informational line (not shown with `--quiet`).
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.print(text);
        }
    }

    /// A line shown even with `--quiet` (the final summary).
    pub fn print(&self, text: &str) {
        self.bar.suspend(|| {
            let _ = writeln!(io::stderr(), "{text}");
        });
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = None;
        }
    }
}

/// Facts about a finished run, for the summary.
pub struct Summary<'a> {
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
}

impl Summary<'_> {
    /// A one-line summary (used with `--quiet`).
    pub fn one_line(&self) -> String {
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.counts.get(**s) > 0)
            .map(|s| format!("{} {}", self.counts.get(*s), s))
            .collect();
        let mut line = format!(
            "{} rows: {} in {} ({}); results: {}",
            self.counts.total(),
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
        if let Some(why) = &self.stopped {
            line.push_str(&format!("; stopped early: {why}"));
        }
        line
    }

    /// The multi-line summary.
    pub fn text(&self) -> String {
        let mut out = String::from("\nSummary\n");
        let shown = [
            Status::Created,
            Status::Exists,
            Status::Invalid,
            Status::Failed,
        ];
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
        if let Some(why) = &self.stopped {
            out.push_str(&format!("  stopped early: {why}\n"));
        }
        out.push_str(&format!("  input       {}\n", self.input));
        out.push_str(&format!("Results: {}", self.results.display()));
        if let Some(errors) = self.errors {
            out.push_str(&format!(
                "\nErrors:  {} (the rows not imported; fix them and import this file)",
                errors.display()
            ));
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
