//! `summary.json` and `--summary-json`: the machine-readable outcome of a
//! run, for cron jobs and monitoring.
//!
//! Owns the JSON document (its shape is the contract in
//! `schema/summary.schema.json`; a test keeps the two in step), made from
//! the facts the output set collected ([`RunDone`]), and writing it as an
//! output of the run ([`Summary`], registered twice: into the run folder,
//! and to `--summary-json`, a file written whole with mode 0600 or stdout
//! for `-`). It is written by every run that started (it holds the lock
//! and has its run folder), errors after that included; a run refused
//! before it starts writes none, so it never replaces the summary of the
//! run that refused it. It must not decide outcomes or exit codes: it
//! reports the ones the run returned.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::config::{Endpoint, SummaryTarget};
use crate::exit;
use crate::model::outcome::{Counts, Status};
use crate::output::plan_file::{Action, PlanFacts};
use crate::output::set::{Failure, Named, Output, RunDone};
use crate::run::RunError;
use crate::util::run_dir;
use crate::util::{atomic, redact};

/// Version of the document's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The document.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// `import`, `check` for `validate` / `--dry-run` (nothing sent), or
    /// `plan` (Notify read, nothing written there).
    pub mode: &'static str,
    /// How rows are written (`--mode`): `create`, `upsert`, `update` or
    /// `overwrite`; `null` for a check.
    pub write_mode: Option<&'static str>,
    /// The process exit code.
    pub exit_code: u8,
    /// The exit code in words.
    pub result: &'static str,
    /// The error that ended the run (exit 2 or 3), if any.
    pub error: Option<String>,
    /// Why the run stopped before the end of the file, if it did.
    pub stopped: Option<String>,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC.
    pub finished_at: String,
    /// Wall time of the whole run.
    pub duration_secs: f64,
    /// The input file.
    pub input: Input,
    /// Data rows accounted for in the results file (0 if none was written).
    pub rows: u64,
    /// Rows per status; they add up to `rows`.
    pub counts: StatusCounts,
    /// HTTP requests sent (creates and searches, retries included).
    pub requests: u64,
    /// Requests repeated after a failed attempt.
    pub retries: u64,
    /// `429 Too Many Requests` answers received.
    pub rate_limited: u64,
    /// Achieved rates over `duration_secs`.
    pub rate: Rate,
    /// How requests were paced and what was learned about the API's
    /// limit; `null` when nothing was sent.
    pub pace: Option<Pace>,
    /// Where rows were sent; `null` when nothing is sent.
    pub target: Option<TargetInfo>,
    /// Delta mode; `null` without `--state`.
    pub delta: Option<DeltaInfo>,
    /// What a plan found; `null` for any other run.
    pub plan: Option<PlanInfo>,
    /// Files the run wrote or left behind.
    pub files: Files,
    /// The profile whose settings the run took (`--profile`, or the one
    /// the resumed run was started with); `null` when none.
    pub profile: Option<ProfileInfo>,
    /// The unfinished run this one left behind (`--restart`, or the input
    /// changed since it); `null` when it left none.
    pub abandoned_run: Option<AbandonedRun>,
    /// Codes whose create may have gone through without a run seeing it
    /// (answer lost, look-up failed): the next import to the same API
    /// looks each up before sending it. 0 for a check.
    pub left_in_doubt: u64,
}

/// A profile of a config file.
#[derive(Debug, Serialize)]
pub struct ProfileInfo {
    /// Its name (`[profiles.NAME]`).
    pub name: String,
    /// The config file that holds it.
    pub file: String,
}

/// An unfinished run left as it was.
#[derive(Debug, Serialize)]
pub struct AbandonedRun {
    /// Its folder, marked `abandoned` and otherwise untouched.
    pub folder: String,
    /// Why: `by --restart`, or how the input changed.
    pub reason: String,
}

/// Name and version.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// `notify-import`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// What was read.
#[derive(Debug, Serialize)]
pub struct Input {
    /// As given on the command line.
    pub path: String,
    /// Bytes; `null` if the file could not be read.
    pub size_bytes: Option<u64>,
    /// `xxh3-128:<32 hex digits>` of the content, the same fingerprint the
    /// journal uses; `null` if the file could not be read.
    pub fingerprint: Option<String>,
    /// Character encoding the file was read as (WHATWG name, e.g.
    /// `UTF-8`, `windows-1252`); `null` if the run stopped before reading.
    pub encoding: Option<String>,
    /// Field delimiter, the character itself; `null` as for `encoding`,
    /// and for a workbook.
    pub delimiter: Option<String>,
    /// The sheet read, for a workbook; `null` for CSV.
    pub sheet: Option<String>,
}

/// Rows per status (every status of the results contract).
#[derive(Debug, Serialize)]
pub struct StatusCounts {
    /// `created`.
    pub created: u64,
    /// `updated`.
    pub updated: u64,
    /// `overwritten`.
    pub overwritten: u64,
    /// `exists`.
    pub exists: u64,
    /// `unchanged`.
    pub unchanged: u64,
    /// `not_found`.
    pub not_found: u64,
    /// `valid`.
    pub valid: u64,
    /// `invalid`.
    pub invalid: u64,
    /// `failed`.
    pub failed: u64,
    /// `skipped`.
    pub skipped: u64,
}

/// What a plan found: rows per action and the fields that would change.
#[derive(Debug, Serialize)]
pub struct PlanInfo {
    /// Rows per action; they add up to `rows` (unless the plan stopped).
    pub actions: PlanActions,
    /// Per field, the rows it would change in, most first.
    pub fields: Vec<FieldCount>,
    /// `plan.csv`, when it was written.
    pub file: Option<String>,
}

/// Rows per action of `plan.csv`.
#[derive(Debug, Serialize)]
pub struct PlanActions {
    /// `create`.
    pub create: u64,
    /// `update`.
    pub update: u64,
    /// `overwrite`.
    pub overwrite: u64,
    /// `unchanged`.
    pub unchanged: u64,
    /// `exists`.
    pub exists: u64,
    /// `not_found`.
    pub not_found: u64,
    /// `invalid`.
    pub invalid: u64,
}

/// One field and the rows it would change in.
#[derive(Debug, Serialize)]
pub struct FieldCount {
    /// The API's name of the field (`City`).
    pub field: &'static str,
    /// Rows.
    pub rows: u64,
}

impl From<&PlanFacts> for PlanInfo {
    fn from(p: &PlanFacts) -> PlanInfo {
        PlanInfo {
            actions: PlanActions {
                create: p.count(Action::Create),
                update: p.count(Action::Update),
                overwrite: p.count(Action::Overwrite),
                unchanged: p.count(Action::Unchanged),
                exists: p.count(Action::Exists),
                not_found: p.count(Action::NotFound),
                invalid: p.count(Action::Invalid),
            },
            fields: p
                .fields
                .iter()
                .map(|(f, rows)| FieldCount {
                    field: f.api_name(),
                    rows: *rows,
                })
                .collect(),
            file: p.file.as_deref().map(display),
        }
    }
}

/// Achieved rates.
#[derive(Debug, Serialize)]
pub struct Rate {
    /// Requests per second.
    pub requests_per_sec: f64,
    /// Rows per second.
    pub rows_per_sec: f64,
}

/// Pacing of the requests.
#[derive(Debug, Serialize)]
pub struct Pace {
    /// `fixed` (`--rate N`) or `auto` (`--rate auto`).
    pub mode: &'static str,
    /// `--rate`, or `--max-rate` with `auto`: the highest rate allowed.
    pub max_rate: f64,
    /// The rate achieved at the end of the run, requests/s: answers the
    /// server admitted per second over its last seconds.
    pub effective_rate: f64,
    /// What the server admitted when 429s began, requests/s (`null` if
    /// none came).
    pub learned_ceiling: Option<f64>,
    /// The rate the API's advertised policy allows (`null` if none).
    pub advertised_rate: Option<f64>,
    /// Seconds the pool was paused in all, after 429s or for a spent
    /// quota: time no request could leave.
    pub paused_secs: f64,
}

/// The API.
#[derive(Debug, Serialize)]
pub struct TargetInfo {
    /// Base URL; `null` for the embedded sandbox (its port changes per run).
    pub url: Option<String>,
    /// True for `--sandbox`.
    pub sandbox: bool,
    /// `test` or `live` (never the key).
    pub key_kind: &'static str,
}

/// Delta-mode settings.
#[derive(Debug, Serialize)]
pub struct DeltaInfo {
    /// The state database.
    pub state: String,
    /// `--full`: unchanged rows were sent too.
    pub full: bool,
}

/// Output files; `null` where there is none.
#[derive(Debug, Serialize)]
pub struct Files {
    /// The run's own folder.
    pub run_folder: String,
    /// The results CSV, when it was written.
    pub results: Option<String>,
    /// The errors CSV (rows to fix and re-import), when one was written.
    pub errors: Option<String>,
    /// `report.html`, the run as a page, when it was written.
    pub report: Option<String>,
    /// The journal, when one was left for `--resume`.
    pub journal: Option<String>,
    /// The delta state database.
    pub state: Option<String>,
    /// `run.toml` in the run folder: how the run was started (what
    /// `--resume` continues), when it was written.
    pub run_settings: Option<String>,
}

/// The summary as an output of a run: one registration per place it goes.
pub(crate) struct Summary {
    /// `None`: `summary.json` in the run folder.
    to: Option<SummaryTarget>,
}

impl Summary {
    /// `summary.json` in the run folder.
    pub fn in_run_folder() -> Summary {
        Summary { to: None }
    }

    /// `--summary-json`.
    pub fn to(target: SummaryTarget) -> Summary {
        Summary { to: Some(target) }
    }
}

impl Output for Summary {
    fn name(&self) -> &'static str {
        "summary"
    }

    fn named(&self) -> Option<Named> {
        match &self.to {
            Some(SummaryTarget::File(path)) => Some(Named {
                flag: "--summary-json",
                path: path.clone(),
                // A monitoring file is rewritten by every run: the flag is
                // the normal way to use it, so it comes first.
                note: "",
                instead: "(each run writes summary.json into its run folder anyway)",
            }),
            _ => None,
        }
    }

    fn run_done(&mut self, done: &RunDone<'_>) -> Result<(), Failure> {
        let own;
        let target = match &self.to {
            Some(target) => target,
            None => {
                own = SummaryTarget::File(done.files.summary.clone());
                &own
            }
        };
        write(target, &document(done))?;
        Ok(())
    }
}

/// The document for a run that is over.
fn document(done: &RunDone<'_>) -> RunSummary {
    let RunDone {
        run,
        files,
        result,
        facts,
        elapsed,
    } = *done;
    let totals = facts.totals.as_ref();
    let (exit_code, error) = match result {
        Ok(code) => (*code, None),
        Err(e) => (
            e.exit_code(),
            Some(redact::scrub(&e.to_string()).into_owned()),
        ),
    };
    let counts = totals.map(|f| f.counts.clone()).unwrap_or_default();
    let requests = totals.and_then(|f| f.requests).unwrap_or(0);
    let rows = counts.total();
    let secs = elapsed.as_secs_f64();
    let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let input = facts.input.as_ref();
    let fingerprint = input.and_then(|i| i.fingerprint.as_ref());
    let journal = &files.journal;
    let state = run.upload.as_ref().and_then(|u| u.state.as_ref());
    // A state database held by another run is not this run's file.
    let ours = !matches!(result, Err(RunError::Setup(crate::SetupError::Lock(_))));
    RunSummary {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        mode: match &run.upload {
            Some(u) if u.plan_only => "plan",
            Some(_) => "import",
            None => "check",
        },
        write_mode: run.upload.as_ref().map(|u| u.mode.as_str()),
        exit_code,
        result: result_word(exit_code),
        error,
        stopped: totals
            .and_then(|f| f.stopped.as_deref())
            .map(|s| redact::scrub(s).into_owned()),
        started_at: humantime::format_rfc3339_millis(facts.started_at).to_string(),
        finished_at: humantime::format_rfc3339_millis(facts.started_at + elapsed).to_string(),
        duration_secs: round3(secs),
        input: Input {
            path: display(&run.input),
            size_bytes: fingerprint.map(|f| f.size),
            fingerprint: fingerprint.map(|f| format!("xxh3-128:{}", f.hash)),
            encoding: input
                .filter(|i| i.sheet.is_none())
                .map(|i| i.encoding.clone()),
            delimiter: input
                .filter(|i| i.sheet.is_none())
                .map(|i| i.delimiter.clone()),
            sheet: input.and_then(|i| i.sheet.clone()),
        },
        rows,
        counts: StatusCounts::from(&counts),
        requests,
        retries: totals.map_or(0, |f| f.retries),
        rate_limited: totals.map_or(0, |f| f.rate_limited),
        rate: Rate {
            requests_per_sec: round3(per_sec(requests)),
            rows_per_sec: round3(per_sec(rows)),
        },
        pace: totals.and_then(|f| f.pace.as_ref()).map(|p| Pace {
            mode: if p.auto { "auto" } else { "fixed" },
            max_rate: round3(p.rate),
            effective_rate: round3(p.final_rate),
            learned_ceiling: p.ceiling.map(round3),
            advertised_rate: p.advertised.map(round3),
            paused_secs: round3(p.paused.as_secs_f64()),
        }),
        target: run.upload.as_ref().map(|u| match &u.target {
            Endpoint::Sandbox => TargetInfo {
                url: None,
                sandbox: true,
                key_kind: "test",
            },
            Endpoint::Remote { url, key } => TargetInfo {
                url: Some(url.to_string()),
                sandbox: false,
                key_kind: match key.kind() {
                    crate::config::KeyKind::Test => "test",
                    crate::config::KeyKind::Live => "live",
                },
            },
        }),
        delta: run.upload.as_ref().and_then(|u| {
            u.state.as_ref().map(|s| DeltaInfo {
                state: display(s),
                full: u.full,
            })
        }),
        plan: facts.plan.as_ref().map(PlanInfo::from),
        files: Files {
            run_folder: display(files.folder.path()),
            results: totals.map(|f| display(&f.results)),
            errors: totals.and_then(|f| f.errors.as_deref()).map(display),
            // Written just before (registered earlier), unless it failed.
            report: files
                .report
                .as_deref()
                .filter(|r| run_dir::exists(r))
                .map(display),
            journal: (run.upload.is_some() && run_dir::exists(journal)).then(|| display(journal)),
            state: state.filter(|s| ours && s.exists()).map(|s| display(s)),
            run_settings: Some(files.folder.path().join(crate::run::settings::RUN_TOML))
                .filter(|p| run_dir::exists(p))
                .map(|p| display(&p)),
        },
        profile: run
            .provenance
            .profile_used()
            .map(|(name, file)| ProfileInfo {
                name: name.to_owned(),
                file: display(file),
            }),
        abandoned_run: files.abandoned.as_ref().map(|a| AbandonedRun {
            folder: display(&a.folder),
            reason: a.why.clone(),
        }),
        left_in_doubt: crate::run::recovery::left_in_doubt(run, files),
    }
}

impl From<&Counts> for StatusCounts {
    fn from(c: &Counts) -> StatusCounts {
        StatusCounts {
            created: c.get(Status::Created),
            updated: c.get(Status::Updated),
            overwritten: c.get(Status::Overwritten),
            exists: c.get(Status::Exists),
            unchanged: c.get(Status::Unchanged),
            not_found: c.get(Status::NotFound),
            valid: c.get(Status::Valid),
            invalid: c.get(Status::Invalid),
            failed: c.get(Status::Failed),
            skipped: c.get(Status::Skipped),
        }
    }
}

/// The exit code in words (the table in DESIGN.md).
pub fn result_word(code: u8) -> &'static str {
    match code {
        exit::OK => "ok",
        exit::ROWS_FAILED => "rows_failed",
        exit::USAGE => "setup_error",
        exit::ABORTED => "aborted",
        exit::INTERRUPTED => "interrupted",
        _ => "unknown",
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Writes `doc` to `target`.
pub fn write(target: &SummaryTarget, doc: &RunSummary) -> io::Result<()> {
    let mut text = serde_json::to_vec_pretty(doc).map_err(io::Error::other)?;
    text.push(b'\n');
    match target {
        SummaryTarget::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(&text)?;
            out.flush()
        }
        SummaryTarget::File(path) => write_file(path, &text),
    }
}

/// Whole or not at all: a reader never sees half a summary.
fn write_file(path: &Path, text: &[u8]) -> io::Result<()> {
    atomic::write(path, text)
        .map(drop)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_words_cover_the_exit_codes() {
        assert_eq!(result_word(0), "ok");
        assert_eq!(result_word(1), "rows_failed");
        assert_eq!(result_word(2), "setup_error");
        assert_eq!(result_word(3), "aborted");
        assert_eq!(result_word(130), "interrupted");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "old").unwrap();
        write_file(&path, b"{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
