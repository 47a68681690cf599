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

use crate::cli::{Command, ImportArgs, InputArgs, LogFormat, RateArg};
use crate::input::InputOptions;
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
    Sandbox(SandboxOptions),
    /// Print the resolved mapping of a file.
    ShowMapping {
        /// The input CSV.
        input: PathBuf,
        /// How to read it.
        options: InputOptions,
    },
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
    /// Where the results CSV goes.
    pub results: PathBuf,
    /// Replace an existing results file.
    pub force: bool,
    /// Where the rows that were not imported go (written only if there are any).
    pub errors: PathBuf,
    /// `None` for `validate` and `--dry-run`: nothing is sent.
    pub upload: Option<UploadConfig>,
    /// Terminal output settings.
    pub output: OutputConfig,
    /// Where `--summary-json` goes, if asked for.
    pub summary_json: Option<SummaryTarget>,
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
    /// Progress lines off a terminal this often; `None`: never.
    pub progress_interval: Option<Duration>,
}

/// Settings of the upload stage.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Where to send.
    pub target: Target,
    /// Send `Overwrite=true`.
    pub overwrite: bool,
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
    /// Continue from the journal.
    pub resume: bool,
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
    /// Things worth telling the user once logging is up (e.g. a key file
    /// others can read); config runs before logging exists.
    pub warnings: Vec<String>,
}

/// The API to talk to.
#[derive(Debug, Clone)]
pub enum Target {
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
        // path can scrub it.
        crate::redact::register(secret);
        Ok(ApiKey {
            secret: secret.to_owned(),
            kind,
        })
    }

    /// A key for the in-process sandbox.
    pub fn sandbox() -> ApiKey {
        let secret = format!("test_{}", uuid::Uuid::new_v4().simple());
        crate::redact::register(&secret);
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
            Command::Sandbox(args) => Ok(Config::Sandbox(args.into_options())),
            Command::Mapping(args) => Ok(Config::ShowMapping {
                options: input_options(&args.input)?,
                input: args.input.file,
            }),
            Command::Template(args) => Ok(Config::Template {
                path: args.path,
                force: args.force,
                delimiter: args.delimiter,
            }),
            Command::Validate(args) => run_config(args.input, None),
            Command::Import(args) => {
                let upload = if args.dry_run {
                    None
                } else {
                    Some(upload_config(&args, &env)?)
                };
                run_config(args.input, upload)
            }
        }
    }
}

fn input_options(input: &InputArgs) -> Result<InputOptions, UsageError> {
    if input.max_record_bytes < 1024 {
        return Err(usage("--max-record-bytes must be at least 1024"));
    }
    Ok(InputOptions {
        encoding: input.encoding.clone(),
        delimiter: input.delimiter,
        max_record_bytes: input.max_record_bytes,
        map: input.map.clone(),
        mapping_file: input.mapping.clone(),
    })
}

fn run_config(input: InputArgs, upload: Option<UploadConfig>) -> Result<Config, UsageError> {
    let input_options = input_options(&input)?;
    let results = match &input.results {
        Some(p) => p.clone(),
        None => default_results_path(&input.file)?,
    };
    if results == input.file {
        return Err(usage(format!(
            "--results {} is the input file; choose another path",
            results.display()
        )));
    }
    let errors = errors_path(&input, &results)?;
    let taken = [input.file.as_path(), results.as_path(), errors.as_path()];
    let summary_json = summary_target(&input, &taken)?;
    let progress_interval = progress_interval(input.progress_interval)?;
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
        results,
        force: input.force,
        errors,
        upload,
        output: OutputConfig {
            quiet: input.quiet,
            progress: !input.no_progress && !input.quiet,
            verbose: input.verbose,
            log_format: input.log_format,
            progress_interval,
        },
        summary_json,
    })))
}

/// `taken`: the input, results and errors paths, which it must not be.
fn summary_target(input: &InputArgs, taken: &[&Path]) -> Result<Option<SummaryTarget>, UsageError> {
    Ok(match &input.summary_json {
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

fn progress_interval(secs: f64) -> Result<Option<Duration>, UsageError> {
    if !(secs.is_finite() && (0.0..=86_400.0).contains(&secs)) {
        return Err(usage(
            "--progress-interval must be between 0 (off) and 86400 seconds",
        ));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

/// `<dir>/<stem>.results.csv` beside the input.
pub fn default_results_path(input: &Path) -> Result<PathBuf, UsageError> {
    let stem = input.file_stem().and_then(|s| s.to_str()).ok_or_else(|| {
        usage(format!(
            "cannot derive a results file name from {}; pass --results PATH",
            input.display()
        ))
    })?;
    Ok(input.with_file_name(format!("{stem}.results.csv")))
}

/// `--errors`, default `<dir>/<stem>.errors.csv` beside the input; never
/// one of the run's other files.
fn errors_path(input: &InputArgs, results: &Path) -> Result<PathBuf, UsageError> {
    let errors = match &input.errors {
        Some(p) => p.clone(),
        None => {
            let stem = input
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| {
                    usage(format!(
                        "cannot derive an errors file name from {}; pass --errors PATH",
                        input.file.display()
                    ))
                })?;
            input.file.with_file_name(format!("{stem}.errors.csv"))
        }
    };
    if errors == input.file || errors == results || errors == crate::journal::path_for(results) {
        return Err(usage(format!(
            "--errors {} is the input, results or journal file; choose another path",
            errors.display()
        )));
    }
    Ok(errors)
}

fn upload_config(
    args: &ImportArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<UploadConfig, UsageError> {
    let (rate, auto_rate) = match args.rate {
        RateArg::Fixed(r) if r.is_finite() && r > 0.0 => (r, false),
        RateArg::Fixed(_) => {
            return Err(usage(
                "--rate must be a positive number of requests per second, or auto",
            ));
        }
        RateArg::Auto => (AUTO_START_RATE.min(args.max_rate), true),
    };
    if !(args.max_rate.is_finite() && args.max_rate > 0.0) {
        return Err(usage(
            "--max-rate must be a positive number of requests per second",
        ));
    }
    if args.burst == 0 {
        return Err(usage("--burst must be at least 1"));
    }
    if args.concurrency == 0 || args.concurrency > 256 {
        return Err(usage("--concurrency must be between 1 and 256"));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        return Err(usage("--timeout must be between 0 and 3600 seconds"));
    }
    if !(args.grace_period.is_finite() && (0.0..=3600.0).contains(&args.grace_period)) {
        return Err(usage("--grace-period must be between 0 and 3600 seconds"));
    }
    if args.max_attempts == 0 || args.max_attempts > 100 {
        return Err(usage("--max-attempts must be between 1 and 100"));
    }
    if args.max_errors == Some(0) {
        return Err(usage("--max-errors must be at least 1"));
    }
    if args.resume && args.input.force {
        return Err(usage(
            "--resume continues a run and --force starts over; choose one",
        ));
    }
    let target = if args.sandbox {
        Target::Sandbox
    } else {
        let raw_url = args
            .api_url
            .clone()
            .or_else(|| env(URL_ENV))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let url = check_url(&raw_url)?;
        let key = read_key(args.api_key_file.as_deref(), env)?;
        if key.kind() == KeyKind::Live && !args.live {
            return Err(usage(
                "this is a live_ key (real data); add --live to confirm, or use a test_ key",
            ));
        }
        Target::Remote { url, key }
    };
    Ok(UploadConfig {
        target,
        overwrite: args.overwrite,
        rate,
        auto_rate,
        max_rate: args.max_rate,
        burst: args.burst,
        concurrency: args.concurrency,
        timeout: Duration::from_secs_f64(args.timeout),
        resume: args.resume,
        max_attempts: args.max_attempts,
        max_retry_after: Duration::from_secs(args.max_retry_after),
        max_errors: args.max_errors,
        grace_period: Duration::from_secs_f64(args.grace_period),
        state: args.state.clone(),
        full: args.full,
        warnings: args
            .api_key_file
            .as_deref()
            .and_then(key_file_warning)
            .into_iter()
            .collect(),
    })
}

fn read_key(
    file: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ApiKey, UsageError> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage(format!(
                    "cannot read the API key file {}: {e}",
                    path.display()
                ))
            })?;
            let first = text.lines().next().unwrap_or("");
            ApiKey::parse(first, &format!("{}", path.display()))
        }
        None => match env(KEY_ENV) {
            Some(v) if !v.trim().is_empty() => ApiKey::parse(&v, KEY_ENV),
            _ => Err(usage(format!(
                "no API key: set {KEY_ENV} or pass --api-key-file PATH (or try --sandbox, or validate the file with `notify-import validate FILE`)"
            ))),
        },
    }
}

/// A warning when the key file can be read by anyone but its owner.
fn key_file_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o077 != 0).then(|| {
            format!(
                "the API key file {} can be read by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Parses the API URL; anything but loopback must be https.
pub fn check_url(raw: &str) -> Result<reqwest::Url, UsageError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| usage(format!("--api-url {trimmed:?} is not a valid URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(usage(format!(
                "--api-url {url} uses plain http to a non-loopback host; the API key would travel unencrypted. Use https://"
            )));
        }
        other => return Err(usage(format!("--api-url scheme {other:?} is not http(s)"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage("--api-url must not contain credentials"));
    }
    Ok(url)
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
        assert!(config(&["a.csv", "--max-rate", "0"], &env).is_err());
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
    fn plain_http_only_to_loopback() {
        assert!(check_url("http://127.0.0.1:8080/v2").is_ok());
        assert!(check_url("http://localhost/v2/").is_ok());
        assert!(check_url("http://api.notify.cm/v2").is_err());
        assert!(check_url("https://api.notify.cm/v2").is_ok());
    }

    #[test]
    fn results_default_next_to_input() {
        let Config::Run(run) = config(&["validate", "dir/in.csv"], &[]).unwrap() else {
            panic!("expected a run")
        };
        assert_eq!(run.results, PathBuf::from("dir/in.results.csv"));
        assert_eq!(run.errors, PathBuf::from("dir/in.errors.csv"));
    }

    #[test]
    fn the_errors_file_is_none_of_the_other_files() {
        for errors in ["in.csv", "out.csv", "out.csv.journal"] {
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
            let mut args = vec!["a.csv"];
            args.extend_from_slice(bad);
            assert!(config(&args, &[(KEY_ENV, KEY)]).is_err(), "{bad:?}");
        }
    }
}
