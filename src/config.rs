//! Validated settings, built from the raw [`Cli`](crate::cli::Cli).
//!
//! Owns defaults that depend on other values, the checks on flag
//! combinations, reading the API key (environment or key file) and checking
//! its format, and checking the API URL. Every usage error is found here,
//! before the input file is opened or anything is sent. It must not open the
//! input file or touch the network.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod key_file;
pub mod layers;
pub mod profile;
pub mod url;

pub use layers::{LoadError, Provenance, load};

use crate::cli::{
    ColorChoice, Command, ImportArgs, InputArgs, LogFormat, NamedOutputArgs, OutputArgs, PaceArgs,
    PlanArgs, RateArg, SendArgs, TargetArgs,
};
use crate::input::InputOptions;
use crate::model::plan::WriteMode;
use crate::run::Runs;
#[cfg(feature = "sandbox")]
use crate::sandbox::SandboxOptions;

/// The documented production API.
pub const DEFAULT_API_URL: &str = "https://api.notify.cm/v2";
/// Environment variable holding the API key.
pub const KEY_ENV: &str = "NOTIFY_API_KEY";
/// Environment variable overriding the API URL.
pub const URL_ENV: &str = "NOTIFY_API_URL";
/// Where `--rate auto` starts: the default `--rate`, polite for an API
/// that documents no limit.
pub const AUTO_START_RATE: f64 = 10.0;

/// A usage or setup problem; the process exits 2 and nothing is sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// What the process was asked to do, fully checked.
#[derive(Debug)]
pub enum Config {
    /// Read, validate and (unless a dry run) upload a file.
    Run(Box<RunConfig>),
    /// Serve the emulator until interrupted.
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxOptions),
    /// Print the resolved mapping of a file.
    ShowMapping {
        /// The input CSV.
        input: PathBuf,
        /// How to read it.
        options: InputOptions,
    },
    /// Print a shell completion script.
    Completions(clap_complete::Shell),
    /// Print the manual page.
    Man,
    /// Take back an import run (`undo`).
    Undo(Box<UndoConfig>),
    /// `config`: print the effective settings and where each came from.
    ShowSettings(crate::output::report::SettingsShown),
    /// Write the template customer file.
    Template {
        /// Where to (`None`: standard output).
        path: Option<PathBuf>,
        /// Replace an existing file.
        force: bool,
        /// Field delimiter.
        delimiter: u8,
    },
}

/// Settings of a run over one input file.
#[derive(Debug)]
pub struct RunConfig {
    /// The input CSV.
    pub input: PathBuf,
    /// How to read it (encoding, delimiter, mapping).
    pub input_options: InputOptions,
    /// Where the run's files go.
    pub outputs: Outputs,
    /// `None` for `validate` and `--dry-run`: nothing is sent.
    pub upload: Option<UploadConfig>,
    /// Terminal output settings.
    pub output: OutputConfig,
    /// Where `--summary-json` goes, if asked for.
    pub summary_json: Option<SummaryTarget>,
    /// `--dry-run`: where the import would have gone (`None` otherwise).
    pub dry_run_target: Option<DryRunTarget>,
    /// The profile taken, and the recorded run a `--resume` continues.
    pub provenance: Provenance,
}

/// The target flags of `import --dry-run`, which sends nothing: the
/// import it advises goes where the user pointed it.
#[derive(Debug, Clone, Default)]
pub struct DryRunTarget {
    /// `--sandbox`.
    pub sandbox: bool,
    /// `--api-url`, else `NOTIFY_API_URL`, as given.
    pub api_url: Option<String>,
    /// `--api-key-file`.
    pub key_file: Option<PathBuf>,
    /// `--live`.
    pub live: bool,
    /// `--mode` (`--overwrite` is `--mode overwrite`).
    pub mode: WriteMode,
    /// `--clear-empty`.
    pub clear_empty: bool,
}

/// Where a run's files go: its run folder, unless the user named a file.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The runs of this input (`NAME.runs/`).
    pub runs: Runs,
    /// `--runs-dir` as given (commands printed for the user repeat it).
    pub runs_dir: Option<PathBuf>,
    /// `--results`: written there instead of the run folder.
    pub results: Option<PathBuf>,
    /// `--errors`: written there instead of the run folder.
    pub errors: Option<PathBuf>,
    /// `--overwrite-outputs`: the files named above may replace existing ones.
    pub overwrite: bool,
    /// `--keep-runs`: run folders kept (0: all).
    pub keep_runs: u32,
    /// `report.html` in the run folder (off with `--no-report`).
    pub report: bool,
}

/// Destination of the JSON summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryTarget {
    /// `--summary-json -`: standard output (which carries nothing else).
    Stdout,
    /// A file, written whole (temporary file, then rename), mode 0600.
    File(PathBuf),
}

/// How progress and logs are shown.
#[derive(Debug, Clone, Copy)]
pub struct OutputConfig {
    /// Only errors and the final summary.
    pub quiet: bool,
    /// Show a progress bar (still only on a terminal).
    pub progress: bool,
    /// 0 = info, 1 = debug, 2+ = trace.
    pub verbose: u8,
    /// Text or JSON log lines.
    pub log_format: LogFormat,
    /// `--color`.
    pub color: ColorChoice,
    /// Progress lines off a terminal this often; `None`: never.
    pub progress_interval: Option<Duration>,
}

/// Settings of the upload stage.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Where to send.
    pub target: Endpoint,
    /// How rows are written (`--mode`; `--overwrite` is `--mode overwrite`).
    pub mode: WriteMode,
    /// `--clear-empty`: a blank cell of a mapped column clears Notify's
    /// value (upsert and update only).
    pub clear_empty: bool,
    /// `plan`: read Notify and write the plan; never write to Notify.
    pub plan_only: bool,
    /// Requests per second: the fixed rate, or the start with `auto_rate`.
    pub rate: f64,
    /// `--rate auto`: look for the API's limit, up to `max_rate`.
    pub auto_rate: bool,
    /// Highest rate `--rate auto` may use.
    pub max_rate: f64,
    /// Requests allowed at once above the steady rate.
    pub burst: u32,
    /// Requests in flight.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// `--stall-timeout`: no successful answer for this long stops the run.
    pub stall_timeout: Duration,
    /// Continue the unfinished run.
    pub resume: bool,
    /// Start a new run and mark the unfinished one abandoned.
    pub restart: bool,
    /// Attempts per row.
    pub max_attempts: u32,
    /// Longest Retry-After honoured.
    pub max_retry_after: Duration,
    /// Stop after this many failed rows.
    pub max_errors: Option<u64>,
    /// How long in-flight requests may finish after a stop signal.
    pub grace_period: Duration,
    /// Delta mode: the state database.
    pub state: Option<PathBuf>,
    /// Send every row once even if the state says it is unchanged.
    pub full: bool,
    /// `--api-key-file`, as given (commands printed for the user repeat it).
    pub key_file: Option<PathBuf>,
    /// Things worth telling the user once logging is up (e.g. a key file
    /// others can read); config runs before logging exists.
    pub warnings: Vec<String>,
}

/// The API to talk to.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The embedded emulator, started in-process on loopback.
    Sandbox,
    /// A real (or standalone sandbox) API.
    Remote {
        /// Base URL, without a trailing slash, e.g. `https://api.notify.cm/v2`.
        url: reqwest::Url,
        /// The key.
        key: ApiKey,
    },
}

/// Whether a key targets test or live data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `test_` key: the sandbox environment of a company profile.
    Test,
    /// `live_` key: real data.
    Live,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Test => "test",
            KeyKind::Live => "LIVE",
        })
    }
}

/// An API key. Its `Debug` and `Display` never show the secret.
#[derive(Clone)]
pub struct ApiKey {
    secret: String,
    kind: KeyKind,
}

impl ApiKey {
    /// Checks the format (`test_`/`live_` + 16..=128 letters or digits).
    /// The error never contains the key.
    pub fn parse(raw: &str, origin: &str) -> Result<ApiKey, UsageError> {
        let secret = raw.trim();
        let (kind, rest) = if let Some(rest) = secret.strip_prefix("test_") {
            (KeyKind::Test, rest)
        } else if let Some(rest) = secret.strip_prefix("live_") {
            (KeyKind::Live, rest)
        } else {
            return Err(usage(format!(
                "the API key from {origin} does not start with test_ or live_; copy the key from Notify's API settings"
            )));
        };
        if !(16..=128).contains(&rest.len()) || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(usage(format!(
                "the API key from {origin} does not look like a Notify key ({kind} key with {} characters after the prefix; expected 16 to 128 letters and digits); check for a truncated or wrong value",
                rest.chars().count()
            )));
        }
        // Registered before the key exists anywhere else, so every output
        // path can scrub it; the part after the public prefix too, as a
        // server may echo that alone.
        crate::util::redact::register(secret);
        crate::util::redact::register(rest);
        Ok(ApiKey {
            secret: secret.to_owned(),
            kind,
        })
    }

    /// A key for the in-process sandbox.
    #[cfg(feature = "sandbox")]
    pub fn sandbox() -> ApiKey {
        let secret = format!("test_{}", uuid::Uuid::new_v4().simple());
        crate::util::redact::register(&secret);
        ApiKey {
            secret,
            kind: KeyKind::Test,
        }
    }

    /// Test or live.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The secret itself, for the Authorization header only.
    pub fn expose(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, redacted)", self.kind)
    }
}

impl Config {
    /// Checks the raw arguments; reads the key (env or file) for an import.
    pub fn from_cli(cli: crate::cli::Cli) -> Result<Config, UsageError> {
        Config::from_cli_with_env(cli, |name| std::env::var(name).ok())
    }

    /// As [`Config::from_cli`], with the environment injected (for tests).
    pub fn from_cli_with_env(
        cli: crate::cli::Cli,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, UsageError> {
        match cli.command {
            #[cfg(feature = "sandbox")]
            Command::Sandbox(args) => Ok(Config::Sandbox(args.into_options())),
            Command::Mapping(args) => Ok(Config::ShowMapping {
                options: input_options(&args.input)?,
                input: args.input.file,
            }),
            Command::Completions(args) => Ok(Config::Completions(args.shell)),
            Command::Config(_) => Err(usage(
                "internal error: `config` is answered by config::load; please report it",
            )),
            Command::Man => Ok(Config::Man),
            Command::Template(args) => Ok(Config::Template {
                path: args.path,
                force: args.force,
                delimiter: args.delimiter,
            }),
            // A check draws no progress (its row count is known only at
            // the end); the interval keeps its default.
            Command::Validate(args) => run_config(
                args.input,
                args.files,
                args.output,
                (false, 10.0),
                None,
                None,
            ),
            Command::Plan(args) => plan_config(args, &env),
            Command::Undo(args) => undo_config(args, &env),
            Command::Import(args) => {
                if args.send.dry_run && args.send.resume {
                    return Err(usage(
                        "--resume continues an import that stopped after sending, and --dry-run sends nothing: leave out one of them (--dry-run alone checks the file, as `notify-import validate FILE` does)",
                    ));
                }
                let (upload, dry_run) = if args.send.dry_run {
                    let t = &args.target;
                    let target = DryRunTarget {
                        sandbox: t.sandbox,
                        api_url: t.api_url.clone().or_else(|| env(URL_ENV)),
                        key_file: t.api_key_file.clone(),
                        live: t.live,
                        mode: write_mode(t, args.send.state.is_some())?,
                        clear_empty: t.clear_empty,
                    };
                    (None, Some(target))
                } else {
                    (
                        Some(upload_config(&args.target, &args.pace, &args.send, &env)?),
                        None,
                    )
                };
                let progress = (!args.progress.no_progress, args.progress.progress_interval);
                run_config(
                    args.input,
                    args.files,
                    args.output,
                    progress,
                    upload,
                    dry_run,
                )
            }
        }
    }
}

/// `plan`: an import's settings that send nothing but reads. The flags
/// that only mean something for sending are not `plan`'s (see
/// [`PlanArgs`]): clap refuses them as unknown.
fn plan_config(
    args: PlanArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Config, UsageError> {
    let mut upload = upload_config(&args.target, &args.pace, &SendArgs::default(), env)?;
    upload.plan_only = true;
    let progress = (!args.progress.no_progress, args.progress.progress_interval);
    run_config(
        args.input,
        NamedOutputArgs::default(),
        args.output,
        progress,
        Some(upload),
        None,
    )
}

// ---- undo (begin) ----

/// Settings of `undo`.
#[derive(Debug)]
pub struct UndoConfig {
    /// The run folder to take back, as given.
    pub folder: PathBuf,
    /// `--force`: restore conflicts too, and undo a run undone before.
    pub force: bool,
    /// Target and pace (its `mode` means nothing here; `resume` is
    /// `--resume`).
    pub upload: UploadConfig,
    /// Terminal output settings.
    pub output: OutputConfig,
    /// `report.html` in the undo's folder.
    pub report: bool,
    /// Where `--summary-json` goes, if asked for.
    pub summary_json: Option<SummaryTarget>,
    /// The profile whose target and pace were taken, if one was chosen:
    /// the undo's `--resume` command chooses it again.
    pub profile: Option<layers::ProfileRef>,
}

/// `undo`: the import's target checks (URL first, then the key, and a
/// live key needs `--live`) and pace.
fn undo_config(
    args: crate::cli::UndoArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Config, UsageError> {
    // The run's own target, as its run.toml recorded it, comes before the
    // default: `undo RUN_FOLDER` alone reaches what the run reached (a
    // flag or the environment still wins, and a URL other than the run's
    // is refused later).
    let recorded = crate::run::settings::RunSettings::read(&args.run_folder)
        .ok()
        .flatten()
        .and_then(|s| s.target);
    let (raw, origin) = match (&args.api_url, env(URL_ENV)) {
        (Some(flag), _) => (flag.clone(), "--api-url"),
        (None, Some(var)) => (var, URL_ENV),
        (None, None) => match recorded.as_ref().and_then(|t| t.api_url.clone()) {
            Some(u) => (u, "the run's run.toml"),
            None => (DEFAULT_API_URL.to_owned(), "the default API URL"),
        },
    };
    let url = url::check(&raw, origin).map_err(|e| usage(e.to_string()))?;
    let key_file = match (&args.api_key_file, env(KEY_ENV)) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(v)) if !v.trim().is_empty() => None,
        (None, _) => recorded.as_ref().and_then(|t| t.api_key_file.clone()),
    };
    // An undo has no sandbox and no file to validate: the key's advice
    // is the import's without those.
    if key_file.is_none() && env(KEY_ENV).is_none_or(|v| v.trim().is_empty()) {
        return Err(usage(format!(
            "no API key: set {KEY_ENV} or pass --api-key-file PATH (a key of the account the run sent to), or choose the run's profile with --profile NAME"
        )));
    }
    let key = read_key(key_file.as_deref(), env)?;
    if key.kind() == KeyKind::Live && !args.live {
        return Err(usage(
            "this is a live_ key (real data); add --live to confirm, or use a test_ key",
        ));
    }
    let (rate, auto_rate) = match args.rate {
        RateArg::Fixed(r) => (r, false),
        RateArg::Auto => (AUTO_START_RATE.min(args.max_rate), true),
    };
    let summary_json = match &args.summary_json {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(SummaryTarget::Stdout),
        Some(p) => Some(SummaryTarget::File(p.clone())),
    };
    let upload = UploadConfig {
        target: Endpoint::Remote { url, key },
        mode: WriteMode::Create,
        clear_empty: false,
        plan_only: false,
        rate,
        auto_rate,
        max_rate: args.max_rate,
        burst: args.burst,
        concurrency: args.concurrency,
        timeout: Duration::from_secs_f64(args.timeout),
        stall_timeout: args.stall_timeout,
        resume: args.resume,
        restart: false,
        max_attempts: args.max_attempts,
        max_retry_after: Duration::from_secs(args.max_retry_after),
        max_errors: None,
        grace_period: Duration::from_secs_f64(args.grace_period),
        state: None,
        full: false,
        warnings: key_file
            .as_deref()
            .and_then(key_file_warning)
            .into_iter()
            .collect(),
        key_file,
    };
    Ok(Config::Undo(Box::new(UndoConfig {
        folder: args.run_folder,
        force: args.force,
        upload,
        output: OutputConfig {
            quiet: args.quiet,
            progress: !args.quiet,
            verbose: args.verbose,
            log_format: args.log_format,
            color: args.color,
            progress_interval: None,
        },
        report: !args.no_report,
        summary_json,
        profile: None,
    })))
}

// ---- undo (end) ----

fn input_options(input: &InputArgs) -> Result<InputOptions, UsageError> {
    Ok(InputOptions {
        encoding: input.encoding.clone(),
        delimiter: input.delimiter,
        max_record_bytes: input.max_record_bytes,
        map: input.map.clone(),
        mapping_file: input.mapping.clone(),
        header_line: input.header_line,
        default_country: input.default_country.clone(),
        sheet: input.sheet.clone(),
    })
}

/// `progress`: whether a bar may be shown, and the interval of progress
/// lines off a terminal (`import` only).
fn run_config(
    input: InputArgs,
    files: NamedOutputArgs,
    out: OutputArgs,
    progress: (bool, f64),
    upload: Option<UploadConfig>,
    dry_run_target: Option<DryRunTarget>,
) -> Result<Config, UsageError> {
    let input_options = input_options(&input)?;
    let runs = Runs::for_input(&input.file, out.runs_dir.as_deref()).ok_or_else(|| {
        usage(format!(
            "{} does not name a file; give the path of the CSV file",
            input.file.display()
        ))
    })?;
    if let Some(results) = &files.results
        && *results == input.file
    {
        return Err(usage(format!(
            "--results {} is the input file; choose another path",
            results.display()
        )));
    }
    check_errors_path(&input.file, &files)?;
    let mut taken = vec![input.file.as_path()];
    taken.extend(files.results.as_deref());
    taken.extend(files.errors.as_deref());
    let summary_json = summary_target(&out, &taken)?;
    let progress_interval = progress_interval(progress.1);
    if let Some(state) = upload.as_ref().and_then(|u| u.state.as_ref())
        && taken.contains(&state.as_path())
    {
        return Err(usage(format!(
            "--state {} is the input, results or errors file; choose another path",
            state.display()
        )));
    }
    Ok(Config::Run(Box::new(RunConfig {
        input: input.file,
        input_options,
        outputs: Outputs {
            runs,
            runs_dir: out.runs_dir,
            results: files.results,
            errors: files.errors,
            overwrite: out.overwrite_outputs,
            keep_runs: out.keep_runs,
            report: !out.no_report,
        },
        upload,
        output: OutputConfig {
            quiet: out.quiet,
            progress: progress.0 && !out.quiet,
            verbose: out.verbose,
            log_format: out.log_format,
            color: out.color,
            progress_interval,
        },
        summary_json,
        dry_run_target,
        provenance: Provenance::default(),
    })))
}

/// `taken`: the input, results and errors paths, which it must not be.
fn summary_target(out: &OutputArgs, taken: &[&Path]) -> Result<Option<SummaryTarget>, UsageError> {
    Ok(match &out.summary_json {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(SummaryTarget::Stdout),
        Some(p) if taken.contains(&p.as_path()) => {
            return Err(usage(format!(
                "--summary-json {} is the input, results or errors file; choose another path",
                p.display()
            )));
        }
        Some(p) => Some(SummaryTarget::File(p.clone())),
    })
}

/// Zero means never; the range was checked by the parser.
fn progress_interval(secs: f64) -> Option<Duration> {
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// `--errors` must be none of the run's other files.
fn check_errors_path(file: &Path, out: &NamedOutputArgs) -> Result<(), UsageError> {
    let Some(errors) = &out.errors else {
        return Ok(());
    };
    if *errors == file || Some(errors) == out.results.as_ref() {
        return Err(usage(format!(
            "--errors {} is the input or results file; choose another path",
            errors.display()
        )));
    }
    Ok(())
}

/// The argument ids that choose the write mode (what a profile's `mode`
/// and a recorded run's mode stand for).
pub const MODE_IDS: [&str; 2] = ["mode", "overwrite"];

/// The write mode the arguments ask for, for showing and comparing; a
/// contradiction among them is refused by [`write_mode`] when the run is
/// configured.
pub fn requested_mode(args: &ImportArgs) -> WriteMode {
    write_mode(&args.target, args.send.state.is_some()).unwrap_or_default()
}

/// The target URL from `--api-url`, `NOTIFY_API_URL` or the default, checked.
fn target_url(
    args: &TargetArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<reqwest::Url, UsageError> {
    let (raw, origin) = match (&args.api_url, env(URL_ENV)) {
        (Some(flag), _) => (flag.clone(), "--api-url"),
        (None, Some(var)) => (var, URL_ENV),
        (None, None) => (DEFAULT_API_URL.to_owned(), "the default API URL"),
    };
    url::check(&raw, origin).map_err(|e| usage(e.to_string()))
}

fn upload_config(
    args: &TargetArgs,
    pace: &PaceArgs,
    send: &SendArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<UploadConfig, UsageError> {
    // First of all: a URL with a password in it is refused before any
    // other message could repeat it.
    let remote_url = if args.sandbox {
        None
    } else {
        Some(target_url(args, env)?)
    };
    if send.resume && args.sandbox {
        return Err(usage(
            "--resume cannot continue a --sandbox run: the embedded sandbox and everything sent to it ended with that run; run again without --resume to start over in a new sandbox",
        ));
    }
    // Both are positive: clap's parsers checked them.
    let (rate, auto_rate) = match pace.rate {
        RateArg::Fixed(r) => (r, false),
        RateArg::Auto => (AUTO_START_RATE.min(pace.max_rate), true),
    };
    if args.sandbox && cfg!(not(feature = "sandbox")) {
        return Err(usage(
            "--sandbox: this notify-import was built without the embedded sandbox (cargo feature `sandbox`); use --api-url with a test_ key, or a build with default features",
        ));
    }
    let target = if let Some(url) = remote_url {
        let key = read_key(args.api_key_file.as_deref(), env)?;
        if key.kind() == KeyKind::Live && !args.live {
            return Err(usage(
                "this is a live_ key (real data); add --live to confirm, or use a test_ key",
            ));
        }
        Endpoint::Remote { url, key }
    } else {
        Endpoint::Sandbox
    };
    Ok(UploadConfig {
        target,
        mode: write_mode(args, send.state.is_some())?,
        clear_empty: args.clear_empty,
        plan_only: false,
        rate,
        auto_rate,
        max_rate: pace.max_rate,
        burst: pace.burst,
        concurrency: pace.concurrency,
        timeout: Duration::from_secs_f64(pace.timeout),
        stall_timeout: pace.stall_timeout,
        resume: send.resume,
        restart: send.restart,
        max_attempts: pace.max_attempts,
        max_retry_after: Duration::from_secs(pace.max_retry_after),
        max_errors: send.max_errors,
        grace_period: Duration::from_secs_f64(pace.grace_period),
        state: send.state.clone(),
        full: send.full,
        key_file: args.api_key_file.clone(),
        warnings: args
            .api_key_file
            .as_deref()
            .and_then(key_file_warning)
            .into_iter()
            .collect(),
    })
}

/// `--mode`, with `--overwrite` as its alias; `--clear-empty` only
/// where blank cells are compared.
pub fn write_mode(args: &TargetArgs, state: bool) -> Result<WriteMode, UsageError> {
    let mode = match (args.mode.map(WriteMode::from), args.overwrite) {
        (None, false) => WriteMode::Create,
        (None | Some(WriteMode::Overwrite), true) => WriteMode::Overwrite,
        (Some(mode), false) => mode,
        (Some(mode), true) => {
            return Err(usage(format!(
                "--overwrite is --mode overwrite, and --mode {mode} was given too: leave out one of them"
            )));
        }
    };
    if args.clear_empty && !mode.compares() {
        return Err(usage(format!(
            "--clear-empty clears Notify's values where a cell is blank, which only --mode upsert or --mode update do (--mode {mode} {}): add --mode upsert, or leave out --clear-empty",
            if mode == WriteMode::Overwrite {
                "resends whole rows"
            } else {
                "never changes an existing customer"
            }
        )));
    }
    if mode.compares() && state {
        return Err(usage(format!(
            "--state (delta mode) is for --mode create and overwrite; --mode {mode} compares each row with what Notify holds and sends nothing for unchanged rows already: leave out --state"
        )));
    }
    Ok(mode)
}

fn read_key(
    file: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ApiKey, UsageError> {
    match file {
        Some(path) => {
            let first = key_file::first_line(path).map_err(|e| usage(e.to_string()))?;
            ApiKey::parse(&first, &format!("{}", path.display()))
        }
        None => match env(KEY_ENV) {
            Some(v) if !v.trim().is_empty() => ApiKey::parse(&v, KEY_ENV),
            _ => Err(usage(format!(
                "no API key: set {KEY_ENV} or pass --api-key-file PATH (or {}validate the file with `notify-import validate FILE`)",
                // A client-only build has no sandbox to suggest.
                if cfg!(feature = "sandbox") {
                    "try --sandbox, or "
                } else {
                    ""
                }
            ))),
        },
    }
}

/// A warning when the key file can be read by anyone but its owner.
fn key_file_warning(path: &Path) -> Option<String> {
    let mode = loose_mode(path, 0o077)?;
    Some(format!(
        "the API key file {} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    ))
}

/// The permission bits of the file at `path` when any bit of `loose` is
/// set in them; `None` when none is, it cannot be read, or off Unix
/// (where there are no such bits to check).
fn loose_mode(path: &Path, loose: u32) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & loose != 0).then_some(mode & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, loose);
        None
    }
}

/// Parses the API URL given by `--api-url`; see [`url::check`].
pub fn check_url(raw: &str) -> Result<reqwest::Url, UsageError> {
    url::check(raw, "--api-url").map_err(|e| usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug";

    fn config(args: &[&str], env: &[(&str, &str)]) -> Result<Config, UsageError> {
        let mut full = vec!["notify-import"];
        full.extend_from_slice(args);
        let cli = crate::cli::parse_from(full).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_cli_with_env(cli, move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    /// The write mode and `--clear-empty` of `import a.csv ARGS` (or the
    /// usage error).
    fn mode_of(args: &[&str]) -> Result<(WriteMode, bool, bool), String> {
        let mut full = vec!["import", "a.csv"];
        full.extend_from_slice(args);
        match config(&full, &[(KEY_ENV, KEY)]) {
            Ok(Config::Run(run)) => {
                let u = run.upload.as_ref().unwrap();
                Ok((u.mode, u.clear_empty, u.plan_only))
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.0),
        }
    }

    #[test]
    fn mode_defaults_to_create_and_overwrite_is_its_alias() {
        assert_eq!(mode_of(&[]), Ok((WriteMode::Create, false, false)));
        assert_eq!(
            mode_of(&["--overwrite"]),
            Ok((WriteMode::Overwrite, false, false))
        );
        assert_eq!(
            mode_of(&["--mode", "overwrite", "--overwrite"]),
            Ok((WriteMode::Overwrite, false, false))
        );
        assert_eq!(
            mode_of(&["--mode", "update", "--clear-empty"]),
            Ok((WriteMode::Update, true, false))
        );
        for (args, says) in [
            (
                &["--mode", "upsert", "--overwrite"][..],
                "leave out one of them",
            ),
            (&["--clear-empty"][..], "add --mode upsert"),
            (
                &["--mode", "upsert", "--state", "s.db"][..],
                "leave out --state",
            ),
        ] {
            let err = mode_of(args).unwrap_err();
            assert!(err.contains(says), "{args:?}: {err}");
        }
        let plan = config(&["plan", "a.csv", "--mode", "upsert"], &[(KEY_ENV, KEY)]);
        assert!(
            matches!(plan, Ok(Config::Run(r)) if r.upload.as_ref().is_some_and(|u| u.plan_only))
        );
        // What only sending uses is no flag of `plan`: clap refuses it.
        for flag in ["--resume", "--restart", "--dry-run", "--full", "--results"] {
            let err = crate::cli::parse_from(["notify-import", "plan", "a.csv", flag]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{flag}"
            );
        }
    }

    #[test]
    fn key_is_never_shown() {
        let key = ApiKey::parse(KEY, "env").unwrap();
        assert!(!format!("{key:?}").contains("R7HQ"));
        let err = ApiKey::parse("secret_R7HQ9QpXgx8J32rW9X9Uy", "env").unwrap_err();
        assert!(!err.to_string().contains("R7HQ"));
    }

    #[test]
    fn key_format_is_checked() {
        assert!(ApiKey::parse("test_short", "env").is_err());
        assert!(ApiKey::parse("test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM", "env").is_ok());
        assert!(ApiKey::parse("test_abc def ghi jkl mno pqr", "env").is_err());
    }

    #[test]
    fn rate_is_a_number_or_auto() {
        let env = [(KEY_ENV, KEY)];
        let upload = |args: &[&str]| match config(args, &env) {
            Ok(Config::Run(run)) => run.upload.expect("an import"),
            _ => panic!("expected an import"),
        };
        let u = upload(&["a.csv", "--rate", "auto"]);
        assert!(u.auto_rate);
        assert_eq!((u.rate, u.max_rate), (AUTO_START_RATE, 100.0));
        let u = upload(&["a.csv", "--rate", "auto", "--max-rate", "5"]);
        assert_eq!((u.rate, u.max_rate), (5.0, 5.0));
        let u = upload(&["a.csv", "--rate", "25"]);
        assert!(!u.auto_rate);
        assert_eq!(u.rate, 25.0);
        // Out of range is clap's to refuse now (a usage error, exit 2).
        assert!(crate::cli::parse_from(["notify-import", "a.csv", "--max-rate", "0"]).is_err());
    }

    #[test]
    fn live_key_needs_live_flag() {
        let live = KEY.replace("test_", "live_");
        assert!(config(&["a.csv"], &[(KEY_ENV, &live)]).is_err());
        assert!(config(&["a.csv", "--live"], &[(KEY_ENV, &live)]).is_ok());
    }

    #[test]
    fn missing_key_is_a_usage_error_unless_dry_run() {
        assert!(config(&["a.csv"], &[]).is_err());
        assert!(config(&["a.csv", "--dry-run"], &[]).is_ok());
        assert!(config(&["validate", "a.csv"], &[]).is_ok());
    }

    #[test]
    fn the_url_comes_from_the_flag_then_the_environment_and_is_checked_first() {
        let secret = "https://u:hunter2pass@api.notify.cm/v2";
        let err = config(&["a.csv", "--api-url", secret], &[]).unwrap_err();
        assert!(err.to_string().starts_with("--api-url https://…@"), "{err}");
        // Refused before the missing key is mentioned.
        let err = config(&["a.csv"], &[(URL_ENV, secret)]).unwrap_err();
        assert!(
            err.to_string().starts_with("NOTIFY_API_URL https://…@"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2pass"));
        let env = [(KEY_ENV, KEY), (URL_ENV, "https://env.example/v2")];
        let Config::Run(run) = config(&["a.csv"], &env).unwrap() else {
            panic!("expected a run")
        };
        let Some(Endpoint::Remote { url, .. }) = run.upload.map(|u| u.target) else {
            panic!("expected a remote target")
        };
        assert_eq!(url.as_str(), "https://env.example/v2");
    }

    #[test]
    fn runs_default_next_to_input() {
        let Config::Run(run) = config(&["validate", "dir/in.csv"], &[]).unwrap() else {
            panic!("expected a run")
        };
        assert_eq!(run.outputs.runs.dir(), Path::new("dir/in.runs"));
        assert_eq!(run.outputs.results, None);
        assert_eq!(run.outputs.errors, None);
        let args = ["validate", "dir/in.csv", "--runs-dir", "/var/lib/n"];
        let Config::Run(run) = config(&args, &[]).unwrap() else {
            panic!("expected a run")
        };
        assert_eq!(run.outputs.runs.dir(), Path::new("/var/lib/n/in.runs"));
    }

    #[test]
    fn force_is_only_the_old_name_of_overwrite_outputs() {
        let Config::Run(run) = config(&["validate", "in.csv", "--force"], &[]).unwrap() else {
            panic!("expected a run")
        };
        assert!(run.outputs.overwrite);
    }

    #[test]
    fn a_dry_run_cannot_resume() {
        let err = config(&["in.csv", "--dry-run", "--resume"], &[]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--resume continues an import that stopped after sending, and --dry-run sends nothing"),
            "{err}"
        );
    }

    #[test]
    fn a_sandbox_run_cannot_be_resumed() {
        let err = config(&["in.csv", "--sandbox", "--resume"], &[]).unwrap_err();
        assert!(
            err.to_string().contains("cannot continue a --sandbox run"),
            "{err}"
        );
    }

    #[test]
    fn the_errors_file_is_none_of_the_other_files() {
        for errors in ["in.csv", "out.csv"] {
            let args = [
                "validate",
                "in.csv",
                "--results",
                "out.csv",
                "--errors",
                errors,
            ];
            assert!(config(&args, &[]).is_err(), "{errors}");
        }
    }

    #[test]
    fn numeric_limits_are_checked() {
        for bad in [
            &["--rate", "0"][..],
            &["--concurrency", "0"],
            &["--burst", "0"],
            &["--timeout=-1"],
        ] {
            let mut args = vec!["notify-import", "a.csv"];
            args.extend_from_slice(bad);
            // The ranges are the parser's now (clap, exit 2); either stage
            // refusing is what the user sees.
            let refused = crate::cli::parse_from(args).map_or(true, |cli| {
                Config::from_cli_with_env(cli, |n| (n == KEY_ENV).then(|| KEY.to_owned())).is_err()
            });
            assert!(refused, "{bad:?}");
        }
    }
}
