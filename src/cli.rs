//! Raw command-line arguments (clap derive).
//!
//! Owns flag names, help texts and defaults as the user sees them. It must
//! not validate combinations, read files or environment variables: that is
//! [`crate::config`], which turns a [`Cli`] into a checked `Config`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[cfg(feature = "sandbox")]
use crate::sandbox::SandboxArgs;

const AFTER_HELP: &str = "\
The API key is read from the NOTIFY_API_KEY environment variable or from --api-key-file,
never from a command-line argument.

Exit codes:
  0    every row ended as asked: created, updated, unchanged, exists, overwritten, not_found (update mode), valid (a check)
  1    the run finished, but some rows are invalid, failed or skipped
  2    usage or setup error, nothing sent (bad flag, unreadable file, bad key, file-level CSV problem)
  3    stopped after sending began (key rejected, API unreachable or stalled, disk full); continue with --resume
  130  interrupted (Ctrl-C / SIGTERM); results are written; continue with --resume

Each run writes its files into its own folder, <FILE stem>.runs/<UTC start>/ beside FILE
(or under --runs-dir); <FILE stem>.runs/latest points at the newest.";

/// `--version`: the version, whether the build has the embedded sandbox,
/// and the git commit when built from a checkout (see `build.rs`).
pub const VERSION: &str = env!("NOTIFY_IMPORT_VERSION");

/// Bulk-import customers from a CSV file into the Notify invoicing API.
#[derive(Debug, Parser)]
#[command(
    name = "notify-import",
    version = VERSION,
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do (default: import).
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate FILE, then upload its valid rows (the default command).
    Import(ImportArgs),
    /// Show what `import` would change in Notify, per row and field, without writing anything there (it reads Notify's customers): writes plan.csv in a run folder.
    Plan(PlanArgs),
    /// Check FILE offline (no key, no network) and write the results file with valid/invalid.
    Validate(ValidateArgs),
    /// Take back what an import run did: restore the fields it updated, delete the customers it created (its own run folder, results and report).
    Undo(UndoArgs),
    /// Run the embedded Notify emulator on 127.0.0.1 for manual tests.
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Print how FILE's columns map to the API fields, as a mapping file to edit and pass to --mapping.
    Mapping(MappingArgs),
    /// Write a customer file to start from: an example line, then the canonical header.
    Template(TemplateArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions(CompletionsArgs),
    /// Print the manual page (roff; `notify-import man > notify-import.1`).
    Man,
    /// Print the effective settings of an import and where each comes from (flag, environment, profile, default).
    Config(ConfigArgs),
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Where to write it [default: standard output].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,

    /// Field delimiter: , ; | or tab (Excel with a Dutch or German locale expects ;).
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = crate::input::parse_delimiter)]
    pub delimiter: u8,
}

/// Arguments of `mapping`.
#[derive(Debug, Args)]
pub struct MappingArgs {
    /// The file and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// `--profile`, `--config`.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

// ---- `import` and `plan` (issue 20: each subcommand accepts only the
// flags it uses): shared groups, flattened into each command that uses
// them, so `plan` neither lists nor accepts a flag only sending uses. ----

/// Arguments of `import`. A repeated flag takes its last value, so a shell
/// alias with defaults can be overridden.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP, args_override_self = true)]
pub struct ImportArgs {
    /// The file and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// Where rows go and how they are written.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The pace of the requests.
    #[command(flatten)]
    pub pace: PaceArgs,

    /// What only an import that sends uses: a check instead, delta mode,
    /// recovery.
    #[command(flatten)]
    pub send: SendArgs,

    /// The results and errors files a run may be told to write elsewhere.
    #[command(flatten)]
    pub files: NamedOutputArgs,

    /// Where the run's files go and what is shown.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Progress while requests go out.
    #[command(flatten)]
    pub progress: ProgressArgs,

    /// `--profile`, `--config`.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

/// Arguments of `plan`: an import's reading, target and pace (it reads
/// Notify's customers paced like an import), its `--mode`; not what only
/// sending uses (`--dry-run`, `--resume`, `--restart`, `--state`,
/// `--full`, `--max-errors`) nor `--results`/`--errors` (its plan.csv and
/// results go into its run folder).
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP, args_override_self = true)]
pub struct PlanArgs {
    /// The file and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// Which Notify to read, and the write mode to plan.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The pace of the reads.
    #[command(flatten)]
    pub pace: PaceArgs,

    /// Where the run's files go and what is shown.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Progress while Notify is read.
    #[command(flatten)]
    pub progress: ProgressArgs,

    /// `--profile`, `--config`.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

/// Where rows go and how they are written: `import` and `plan`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// Start the embedded sandbox in-process and import into it (no account needed).
    // Kept (hidden) in a build without the sandbox so that using it gets a
    // clear message from config rather than "unexpected argument".
    #[arg(long, conflicts_with_all = ["api_url", "api_key_file", "live"], hide = cfg!(not(feature = "sandbox")))]
    pub sandbox: bool,

    /// Base URL of the Notify API.
    #[arg(
        long,
        value_name = "URL",
        help = "Base URL of the Notify API [env: NOTIFY_API_URL] [default: https://api.notify.cm/v2]"
    )]
    pub api_url: Option<String>,

    /// Read the API key from this file (first line) instead of NOTIFY_API_KEY.
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// Allow a live_ key (real data). Without it only test_ keys are accepted.
    #[arg(long)]
    pub live: bool,

    /// How rows are written to Notify [default: create].
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<ModeArg>,

    /// The same as --mode overwrite: resend every field of customers whose CustomerCode exists, with the API's own Overwrite=true flag (Notify advises its update API instead: --mode upsert).
    #[arg(long)]
    pub overwrite: bool,

    /// With --mode upsert or update: a blank cell of a mapped column clears Notify's value (sends ""); without it a blank cell keeps Notify's value.
    #[arg(long)]
    pub clear_empty: bool,
}

/// What only an import that sends uses: `import` alone.
#[derive(Debug, Clone, Default, Args)]
pub struct SendArgs {
    /// Validate and write the results file (valid/invalid) without sending anything.
    #[arg(help_heading = "Target", long)]
    pub dry_run: bool,

    /// Delta mode: remember what was imported in this SQLite file and send only new and changed rows (unchanged rows are `unchanged`).
    #[arg(help_heading = "Target", long, value_name = "PATH", conflicts_with_all = ["sandbox", "dry_run"])]
    pub state: Option<PathBuf>,

    /// With --state: send every row this once, unchanged ones too (the state is still updated).
    #[arg(help_heading = "Target", long, requires = "state")]
    pub full: bool,

    /// Continue the stopped run of FILE in its run folder: rows already done are not sent again.
    #[arg(help_heading = "Recovery", long)]
    pub resume: bool,

    /// Start a new run although an earlier one of FILE stopped unfinished; that run is marked abandoned and its files stay as they are.
    #[arg(help_heading = "Recovery", long, conflicts_with_all = ["resume", "dry_run"])]
    pub restart: bool,

    /// Stop cleanly after N failed rows (invalid rows do not count).
    #[arg(help_heading = "Recovery", long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_errors: Option<u64>,
}

/// The pace of requests: `import` and `plan` (whose reads are paced as
/// an import's requests).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Pace")]
pub struct PaceArgs {
    /// Requests per second: the API's limit if you know it, or `auto` to
    /// start at 10/s and find the limit (up to --max-rate).
    #[arg(long, default_value = "10", value_name = "N|auto", value_parser = parse_rate)]
    pub rate: RateArg,

    /// Highest rate `--rate auto` may try, requests per second.
    #[arg(long, default_value_t = 100.0, value_name = "N", value_parser = rate)]
    pub max_rate: f64,

    /// Requests allowed at once above the steady rate.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: u32,

    /// Maximum requests in flight.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::builder::RangedI64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,

    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECS", value_parser = timeout)]
    pub timeout: f64,

    /// Stop the run (exit 3, resumable) when no request has succeeded for this long: a 429 storm or an API that only fails (e.g. 90s, 10m, 1h).
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = stall_timeout)]
    pub stall_timeout: std::time::Duration,

    /// Attempts per row before it is marked failed (429 answers do not count).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Longest Retry-After to honour, in seconds; a longer one stops the run (resumable).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub max_retry_after: u64,

    /// After Ctrl-C/SIGTERM, how long requests in flight may finish, in seconds.
    #[arg(help_heading = "Recovery", long, default_value_t = 10.0, value_name = "SECS", value_parser = grace_period)]
    pub grace_period: f64,
}

/// Progress while requests go out: `import` and `plan`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct ProgressArgs {
    /// Never show a progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,

    /// When stderr is not a terminal: print a progress line every SECS seconds (0: never).
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = progress_interval)]
    pub progress_interval: f64,
}

/// The results and errors files, when not the run folder's own: `import`
/// and `validate`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct NamedOutputArgs {
    /// Where to write the results CSV.
    #[arg(
        long,
        value_name = "PATH",
        help = "Where to write the results CSV [default: results.csv in the run folder, <FILE stem>.runs/<UTC start>/]"
    )]
    pub results: Option<PathBuf>,

    /// Where to write the rows that were not imported (invalid, failed, skipped), to fix and import again.
    #[arg(
        long,
        value_name = "PATH",
        help = "Where to write the rows that were not imported, with an error column, to fix and import again [default: errors.csv in the run folder; written only if a row was not imported]"
    )]
    pub errors: Option<PathBuf>,
}

// ---- end of `import` and `plan` ----

/// `--mode`: how rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// New codes are created; customers whose code exists are left alone (`exists`).
    Create,
    /// New codes are created; for existing customers only the fields that differ are sent (PATCH), and nothing when none does (`unchanged`).
    Upsert,
    /// As upsert, but codes Notify does not have are not created (`not_found`).
    Update,
    /// Every row is sent with the API's Overwrite=true flag, all fields of existing customers resent (Notify advises upsert instead).
    Overwrite,
}

impl From<ModeArg> for crate::model::plan::WriteMode {
    fn from(mode: ModeArg) -> Self {
        use crate::model::plan::WriteMode;
        match mode {
            ModeArg::Create => WriteMode::Create,
            ModeArg::Upsert => WriteMode::Upsert,
            ModeArg::Update => WriteMode::Update,
            ModeArg::Overwrite => WriteMode::Overwrite,
        }
    }
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP, args_override_self = true)]
pub struct ValidateArgs {
    /// The file and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// The results and errors files, when not the run folder's own.
    #[command(flatten)]
    pub files: NamedOutputArgs,

    /// Where the results go and what is shown.
    #[command(flatten)]
    pub output: OutputArgs,

    /// `--profile`, `--config`.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

// ---- undo (begin) ----

/// Arguments of `undo`. The target and pace flags are the import's.
#[derive(Debug, Args)]
#[command(after_help = UNDO_AFTER_HELP, args_override_self = true)]
pub struct UndoArgs {
    /// The import run to take back: its folder, e.g. customers.runs/2026-12-02T182601Z (or customers.runs/latest).
    #[arg(value_name = "RUN_FOLDER")]
    pub run_folder: PathBuf,

    /// Restore customers changed in Notify since the run wrote them too (conflicts), and undo a run that was undone before.
    #[arg(long)]
    pub force: bool,

    /// Continue the stopped undo of RUN_FOLDER: rows already undone are not sent again.
    #[arg(help_heading = "Recovery", long)]
    pub resume: bool,

    /// `--profile`, `--config`: the target and pace of a profile (its
    /// other settings mean nothing to an undo).
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// Base URL of the Notify API (the one the run sent to).
    #[arg(
        long,
        help_heading = "Target",
        value_name = "URL",
        help = "Base URL of the Notify API, the one the run sent to [env: NOTIFY_API_URL] [default: https://api.notify.cm/v2]"
    )]
    pub api_url: Option<String>,

    /// Read the API key from this file (first line) instead of NOTIFY_API_KEY.
    #[arg(help_heading = "Target", long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// Allow a live_ key (real data). Without it only test_ keys are accepted.
    #[arg(help_heading = "Target", long)]
    pub live: bool,

    /// Requests per second: the API's limit if you know it, or `auto` to start at 10/s and find the limit (up to --max-rate).
    #[arg(help_heading = "Pace", long, default_value = "10", value_name = "N|auto", value_parser = parse_rate)]
    pub rate: RateArg,

    /// Highest rate `--rate auto` may try, requests per second.
    #[arg(help_heading = "Pace", long, default_value_t = 100.0, value_name = "N", value_parser = rate)]
    pub max_rate: f64,

    /// Requests allowed at once above the steady rate.
    #[arg(help_heading = "Pace", long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: u32,

    /// Maximum requests in flight.
    #[arg(help_heading = "Pace", long, default_value_t = 8, value_name = "N", value_parser = clap::builder::RangedI64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,

    /// Per-request timeout in seconds.
    #[arg(help_heading = "Pace", long, default_value_t = 30.0, value_name = "SECS", value_parser = timeout)]
    pub timeout: f64,

    /// Stop the undo (exit 3, resumable) when no request has succeeded for this long (e.g. 90s, 10m, 1h).
    #[arg(help_heading = "Pace", long, default_value = "10m", value_name = "DURATION", value_parser = stall_timeout)]
    pub stall_timeout: std::time::Duration,

    /// Attempts per request before the row is marked failed (429 answers do not count).
    #[arg(help_heading = "Pace", long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Longest Retry-After to honour, in seconds; a longer one stops the undo (resumable).
    #[arg(help_heading = "Pace", long, default_value_t = 60, value_name = "SECS")]
    pub max_retry_after: u64,

    /// After Ctrl-C/SIGTERM, how long requests in flight may finish, in seconds.
    #[arg(help_heading = "Recovery", long, default_value_t = 10.0, value_name = "SECS", value_parser = grace_period)]
    pub grace_period: f64,

    /// Write a machine-readable summary of the undo (JSON); `-` for stdout.
    #[arg(help_heading = "Output", long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Do not write report.html into the undo's run folder.
    #[arg(help_heading = "Output", long)]
    pub no_report: bool,

    /// Print only warnings, errors and the final summary.
    #[arg(help_heading = "Output", short, long)]
    pub quiet: bool,

    /// More log output (-v debug, -vv trace).
    #[arg(help_heading = "Output", short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Colours in log lines: `auto`, `always` or `never`.
    #[arg(help_heading = "Output", long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Log line format on stderr: `text` or `json`.
    #[arg(help_heading = "Output", long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

const UNDO_AFTER_HELP: &str = "\
The API key is read from the NOTIFY_API_KEY environment variable or from --api-key-file,
never from a command-line argument. The undo must go to the API the run sent to, with a key of the same kind.

Exit codes:
  0    every change was undone: updated customers restored, created customers deleted
  1    some rows were not undone: conflict (changed in Notify since), kept (Notify refused to delete), failed
  2    usage or setup error, nothing sent (not an import run, already undone, wrong API)
  3    stopped after sending began (key rejected, API unreachable or stalled); continue with --resume
  130  interrupted (Ctrl-C / SIGTERM); continue with --resume

The undo writes its own run folder, <FILE stem>.runs/<UTC start>-undo/, beside the undone run's.";

// ---- undo (end) ----

/// How to read the customer file: every command that reads one.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// The customer file: CSV, or a workbook (xlsx, xlsm, xlsb, xls, ods); a header row and a CustomerCode column required.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Text encoding of FILE (any WHATWG label, e.g. windows-1252, utf-8, utf-16le) [default: detected: BOM, else UTF-8 if valid, else Windows-1252].
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// Field delimiter: , ; | or tab (also "tab", "\t") [default: detected from the header and first records].
    #[arg(long, value_name = "CHAR", value_parser = crate::input::parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The line of the header row (1-based), when the detected one is wrong [default: the first of the first 20 lines that names a code or name column and two more].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_line: Option<u64>,

    /// The sheet of a workbook (xlsx, xlsm, xlsb, xls, ods) to read: its name, or its position from 1 [default: the first sheet with data].
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,

    /// Take a field from a column: --map Name=Bedrijfsnaam, or by position: --map Phone=#26 (repeatable; overrides the header names).
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = crate::input::parse_map_arg)]
    pub map: Vec<(crate::model::field::Field, String)>,

    /// A TOML mapping file (field = "Column", field = ["Col1", "Col2"] joined, field = { value = "fixed" }).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// Country of the rows without one (an empty cell, or no Country column); without it Notify stores NL.
    #[arg(long, value_name = "XX", value_parser = crate::check::validate::parse_country_arg)]
    pub default_country: Option<String>,

    /// Largest record in bytes; a longer one (typically an unclosed quote) refuses the file.
    #[arg(long, value_name = "BYTES", default_value_t = crate::input::DEFAULT_MAX_RECORD_BYTES, value_parser = clap::builder::RangedI64ValueParser::<usize>::new().range(1024..))]
    pub max_record_bytes: usize,
}

/// Where a run's files go and what it shows: `validate`, `import` and `plan`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Let --results, --errors and --summary-json replace existing files (run folders are never overwritten).
    // `--force` is the old name, kept hidden for one version; it no longer
    // discards anything else.
    #[arg(long, alias = "force")]
    pub overwrite_outputs: bool,

    /// Keep the run folders in `DIR/<FILE stem>.runs/` instead of beside FILE.
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,

    /// Keep at most N run folders of FILE, removing the oldest finished ones (0: keep all); an unfinished run is never removed.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub keep_runs: u32,

    /// Write a machine-readable summary of the run (JSON, schema in schema/summary.schema.json); `-` for stdout.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// Print only warnings (one line each), errors and the final summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// More log output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Colours in log lines: `auto` on a terminal unless NO_COLOR is set; `always` and `never` beat NO_COLOR.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Do not write report.html (the run as a page to read, print or send) into the run folder.
    #[arg(long)]
    pub no_report: bool,

    /// Log line format on stderr: `text` for people and cron mail, `json` (one object per line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

// ---- Profiles and `config` (issue 20): the settings file's flags. ----

/// Which profile of which settings file: `import`, `validate`, `mapping`
/// and `config`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Profile")]
pub struct ProfileArgs {
    /// Take settings from [profiles.NAME] of the config file; a flag beats an environment variable, which beats the profile.
    #[arg(long, value_name = "NAME", env = "NOTIFY_IMPORT_PROFILE")]
    pub profile: Option<String>,

    /// The config file with the profiles [default: ./notify-import.toml, else notify-import/config.toml in the user's config directory].
    #[arg(long, value_name = "PATH", env = "NOTIFY_IMPORT_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Arguments of `config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Import flags to weigh in, after `--` (e.g. `-- --rate 5 --api-url URL`).
    #[arg(last = true, value_name = "IMPORT FLAGS", allow_hyphen_values = true)]
    pub import: Vec<OsString>,

    /// Which profile of which file.
    #[command(flatten)]
    pub profile: ProfileArgs,
}

// ---- end of profiles and `config` ----

/// `--color`: when log lines are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Always (even when piped, and despite NO_COLOR).
    Always,
    /// Never.
    Never,
}

/// Format of log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain lines, no colours off a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

// clap ranges only integers; these are its value parsers for the numbers
// with a fraction, so a bad one is a usage error like any other.

fn number_where(s: &str, ok: impl Fn(f64) -> bool, expected: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && ok(v) => Ok(v),
        _ => Err(expected.to_owned()),
    }
}

fn rate(s: &str) -> Result<f64, String> {
    number_where(
        s,
        |v| v > 0.0,
        "must be a positive number of requests per second",
    )
}

fn timeout(s: &str) -> Result<f64, String> {
    number_where(
        s,
        |v| v > 0.0 && v <= 3600.0,
        "must be between 0 and 3600 seconds",
    )
}

fn stall_timeout(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d)
            if d >= std::time::Duration::from_secs(1)
                && d <= std::time::Duration::from_secs(7 * 86_400) =>
        {
            Ok(d)
        }
        Ok(_) => Err("must be between 1s and 7 days".to_owned()),
        Err(e) => Err(format!("{e}; write a duration such as 90s, 10m or 1h")),
    }
}

fn grace_period(s: &str) -> Result<f64, String> {
    number_where(
        s,
        |v| (0.0..=3600.0).contains(&v),
        "must be between 0 and 3600 seconds",
    )
}

fn progress_interval(s: &str) -> Result<f64, String> {
    number_where(
        s,
        |v| (0.0..=86_400.0).contains(&v),
        "must be between 0 (off) and 86400 seconds",
    )
}

const SUBCOMMANDS: [&str; 11] = [
    "import",
    "plan",
    "validate",
    "undo",
    "sandbox",
    "mapping",
    "template",
    "completions",
    "man",
    "config",
    "help",
];

/// Parses arguments, treating `notify-import FILE ...` as `notify-import import FILE ...`.
///
/// A first argument that is neither a command nor an existing file, but
/// close to a command's name (`valdate`, `imprt`), is refused with the
/// command it probably meant, before any key or file is looked at.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(normalize(args)?)
}

/// The arguments as clap parses them: `import` inserted where the
/// shorthand `notify-import FILE ...` leaves it out, or the refusal of a
/// misspelt command.
pub fn normalize<I, T>(args: I) -> Result<Vec<OsString>, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let needs_default = match args.get(1).and_then(|a| a.to_str()) {
        None => false,
        Some(first) => {
            !SUBCOMMANDS.contains(&first) && !matches!(first, "-h" | "--help" | "-V" | "--version")
        }
    };
    if needs_default {
        if let Some(first) = args.get(1).and_then(|a| a.to_str())
            && !first.starts_with('-')
            && !std::path::Path::new(first).exists()
            && let Some(meant) = closest_command(first)
        {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            return Err(cmd.error(
                clap::error::ErrorKind::InvalidSubcommand,
                crate::run::next_step::did_you_mean(first, meant),
            ));
        }
        args.insert(1, OsString::from("import"));
    }
    Ok(args)
}

/// Parses normalized `args` (see [`normalize`]) and keeps clap's matches,
/// which say whether each value came from a flag, the environment or a
/// default.
pub fn parse_matches(args: &[OsString]) -> Result<(Cli, clap::ArgMatches), clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

/// The command `typed` is most likely a misspelling of: at most two
/// edits (a transposition counts as one) away, and not shorter than three
/// letters.
fn closest_command(typed: &str) -> Option<&'static str> {
    if typed.chars().count() < 3 {
        return None;
    }
    let typed = typed.to_lowercase();
    SUBCOMMANDS
        .iter()
        .filter(|c| **c != "help")
        .map(|c| (edit_distance(&typed, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions,
/// substitutions and transpositions of neighbours, one each.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_is_the_default_command() {
        let cli = parse_from(["notify-import", "a.csv", "--sandbox"]).unwrap();
        assert!(matches!(cli.command, Command::Import(ref a) if a.target.sandbox));
    }

    #[test]
    fn sandbox_conflicts_with_api_url() {
        let err = parse_from([
            "notify-import",
            "import",
            "a.csv",
            "--sandbox",
            "--api-url",
            "x",
        ]);
        assert!(err.is_err());
    }

    #[test]
    fn rate_takes_a_number_or_auto() {
        assert_eq!(parse_rate("auto"), Ok(RateArg::Auto));
        assert_eq!(parse_rate("AUTO"), Ok(RateArg::Auto));
        assert_eq!(parse_rate("12.5"), Ok(RateArg::Fixed(12.5)));
        assert!(parse_from(["notify-import", "a.csv", "--rate", "fast"]).is_err());
    }

    #[test]
    fn there_is_no_api_key_flag() {
        assert!(parse_from(["notify-import", "a.csv", "--api-key", "test_x"]).is_err());
    }

    #[test]
    fn out_of_range_numbers_are_usage_errors() {
        for (flag, bad, good) in [
            ("--rate", "0", "0.5"),
            ("--rate", "NaN", "1000"),
            ("--burst", "0", "1"),
            ("--concurrency", "257", "256"),
            ("--timeout", "0", "3600"),
            ("--grace-period", "-1", "0"),
            ("--max-attempts", "101", "100"),
            ("--max-errors", "0", "1"),
            ("--max-record-bytes", "1023", "1024"),
            ("--progress-interval", "86401", "0"),
            ("--stall-timeout", "500ms", "2s"),
            ("--stall-timeout", "ten minutes", "1h 30m"),
        ] {
            // `=`: a bare `-1` would be taken for a flag.
            let err = parse_from(["notify-import", "a.csv", &format!("{flag}={bad}")]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag} {bad}"
            );
            assert!(err.to_string().contains(flag), "{err}");
            assert!(
                parse_from(["notify-import", "a.csv", flag, good]).is_ok(),
                "{flag} {good}"
            );
        }
    }

    #[test]
    fn a_misspelt_command_gets_a_suggestion_before_anything_else() {
        for (typed, meant) in [
            ("valdate", "validate"),
            ("imprt", "import"),
            ("vaildate", "validate"),
            ("templat", "template"),
        ] {
            let err = parse_from(["notify-import", typed, "x.csv"]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
            assert!(
                err.to_string()
                    .contains(&format!("did you mean '{meant}'?")),
                "{err}"
            );
        }
        // A file name far from every command is still the import shorthand.
        assert!(parse_from(["notify-import", "klanten.csv"]).is_ok());
        assert_eq!(closest_command("csv"), None);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

/// `--rate`: a number of requests per second, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateArg {
    /// This many requests per second at most.
    Fixed(f64),
    /// Find the API's limit.
    Auto,
}

/// Parses `--rate`: `auto` (any case) or a positive number.
pub fn parse_rate(s: &str) -> Result<RateArg, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(RateArg::Auto);
    }
    rate(s.trim())
        .map(RateArg::Fixed)
        .map_err(|why| format!("{why}, or `auto`"))
}
