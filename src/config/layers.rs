//! Where each setting comes from: a flag beats an environment variable,
//! which beats the profile, which beats the default; and `--resume` takes
//! what the run it continues recorded (`run.toml`) in place of a default.
//!
//! Owns that precedence, the refusal of a `--resume` whose flags, profile
//! or environment would change what is sent (naming the flag, the
//! recorded value and the given one), and the facts `config` prints. It
//! works on arguments: a profile and a recorded run become flags placed
//! before the user's, so every value goes through the parser of the flag
//! it stands for and the last one given wins. It must not read the key or
//! open the input.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;

use super::profile::{self, Found, Profile};
use super::{Config, URL_ENV, UsageError};
use crate::cli::{self, Cli, Command, ImportArgs, ProfileArgs};
use crate::run::Runs;
use crate::run::settings::{self, RunSettings};

/// Why the arguments cannot be used: clap's own error (printed as clap
/// prints it) or a usage error.
#[derive(Debug)]
pub enum LoadError {
    /// A parse error, or `--help` / `--version`.
    Clap(clap::Error),
    /// A usage or setup error.
    Usage(UsageError),
}

impl From<clap::Error> for LoadError {
    fn from(e: clap::Error) -> LoadError {
        LoadError::Clap(e)
    }
}

impl From<UsageError> for LoadError {
    fn from(e: UsageError) -> LoadError {
        LoadError::Usage(e)
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (its name).
    Env(&'static str),
    /// The profile.
    Profile,
    /// The run being resumed (`run.toml`).
    Recorded,
    /// The built-in default.
    Default,
}

/// How the settings of a run were put together.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The profile whose settings were taken.
    pub profile: Option<ProfileRef>,
    /// With `--resume`: the run folder whose `run.toml` was taken, and the
    /// output files that run named (continued, not refused as existing).
    pub recorded: Option<Recorded>,
}

/// A profile, named.
#[derive(Debug, Clone)]
pub struct ProfileRef {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// How the file was found: a command typed later needs `--config`
    /// unless it is found by default again.
    pub found: Found,
}

impl ProfileRef {
    /// The flags that choose this profile again, as shell words.
    pub fn words(&self) -> Vec<String> {
        let mut words = vec![format!(
            "--profile {}",
            crate::run::next_step::shell_text(&self.name)
        )];
        if matches!(self.found, Found::Flag | Found::Env) {
            words.push(format!(
                "--config {}",
                crate::run::next_step::shell_word(&settings::absolute(&self.file))
            ));
        }
        words
    }
}

/// What a resume took from the run it continues.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The run folder.
    pub folder: PathBuf,
    /// The output files it named, absolute.
    pub own_outputs: Vec<PathBuf>,
    /// The profile it was started with (name and file), as `run.toml`
    /// records it: its settings are the recorded ones, so a resume
    /// without `--profile` still took them.
    pub profile: Option<(String, PathBuf)>,
}

impl Provenance {
    /// The profile whose settings the run took, as the run header, the
    /// summary and the report name it: the one chosen now, else the one
    /// the resumed run was started with.
    pub fn profile_used(&self) -> Option<(&str, &Path)> {
        match (&self.profile, &self.recorded) {
            (Some(p), _) => Some((p.name.as_str(), p.file.as_path())),
            (None, Some(r)) => r
                .profile
                .as_ref()
                .map(|(name, file)| (name.as_str(), file.as_path())),
            (None, None) => None,
        }
    }
}

/// Parses `args` (as `std::env::args_os` gives them) and builds the
/// checked configuration, with profiles and `--resume` applied.
pub fn load(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, LoadError> {
    let args = cli::normalize(args)?;
    let (cli, matches) = cli::parse_matches(&args)?;
    let Some((sub, sub_matches)) = matches.subcommand() else {
        return Ok(Config::from_cli_with_env(cli, env)?);
    };
    let user: Vec<OsString> = args.iter().skip(2).cloned().collect();
    match &cli.command {
        Command::Import(_)
        | Command::Plan(_)
        | Command::Validate(_)
        | Command::Mapping(_)
        | Command::Undo(_) => {
            let layered = layered(sub, &user, &cli, sub_matches, &env)?;
            let (cli, _) = cli::parse_matches(&layered.args)?;
            let mut config = Config::from_cli_with_env(cli, &env)?;
            let warning = layered
                .profile
                .as_ref()
                .and_then(|p| others_may_write(&p.file));
            match &mut config {
                Config::Run(run) => {
                    if let (Some(upload), Some(warning)) = (&mut run.upload, warning) {
                        upload.warnings.push(warning);
                    }
                    run.provenance = layered.provenance;
                }
                Config::Undo(undo) => {
                    undo.upload.warnings.extend(warning);
                    undo.profile = layered.provenance.profile;
                }
                _ => {}
            }
            Ok(config)
        }
        Command::Config(a) => {
            // `config` weighs the import flags given after `--` as an
            // import of a placeholder file would.
            let mut import: Vec<OsString> = vec![args[0].clone(), "import".into(), "FILE".into()];
            import.extend(a.import.iter().cloned());
            if let Some(p) = &a.profile.profile {
                import.extend(["--profile".into(), p.into()]);
            }
            if let Some(c) = &a.profile.config {
                import.extend(["--config".into(), c.into()]);
            }
            let (icli, imatches) = cli::parse_matches(&import)?;
            let (_, isub) = imatches
                .subcommand()
                .ok_or_else(|| UsageError("internal error: no import command".into()))?;
            let user: Vec<OsString> = import.iter().skip(2).cloned().collect();
            let layered = layered("import", &user, &icli, isub, &env)?;
            let (fcli, _) = cli::parse_matches(&layered.args)?;
            let Command::Import(args) = fcli.command else {
                return Err(UsageError("internal error: not an import".into()).into());
            };
            Ok(Config::ShowSettings(describe(
                &args,
                &layered,
                &a.profile,
                sub_matches,
                &env,
            )))
        }
        _ => Ok(Config::from_cli_with_env(cli, env)?),
    }
}

/// A warning when others may change the config file: its profile says
/// where customers are sent and which key file is read.
fn others_may_write(path: &Path) -> Option<String> {
    let mode = super::loose_mode(path, 0o022)?;
    Some(format!(
        "the config file {} can be changed by other users (mode {mode:o}), and its profile says where customers are sent; run `chmod go-w {}`",
        path.display(),
        path.display()
    ))
}

/// The arguments with the profile and the recorded run before the user's.
struct Layered {
    args: Vec<OsString>,
    provenance: Provenance,
    /// The profile loaded, if one was chosen.
    profile: Option<Profile>,
    /// Flags (by argument id) the user gave on the command line.
    explicit: Vec<String>,
    /// Argument ids the profile supplied.
    from_profile: Vec<String>,
}

/// The argument id clap gives a flag (`--api-url` → `api_url`).
fn id_of(flag: &str) -> String {
    flag.trim_start_matches('-').replace('-', "_")
}

fn profile_args(cli: &Cli) -> Option<&ProfileArgs> {
    match &cli.command {
        Command::Import(a) => Some(&a.profile),
        Command::Plan(a) => Some(&a.profile),
        Command::Validate(a) => Some(&a.profile),
        Command::Mapping(a) => Some(&a.profile),
        Command::Config(a) => Some(&a.profile),
        Command::Undo(a) => Some(&a.profile),
        _ => None,
    }
}

fn found_by(source: Option<ValueSource>) -> Found {
    match source {
        Some(ValueSource::EnvVariable) => Found::Env,
        _ => Found::Flag,
    }
}

/// The profile chosen by `--profile` / `NOTIFY_IMPORT_PROFILE`, if any.
fn chosen_profile(
    pa: &ProfileArgs,
    matches: &clap::ArgMatches,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Profile>, UsageError> {
    let Some(name) = &pa.profile else {
        return Ok(None);
    };
    let named = pa
        .config
        .as_deref()
        .map(|p| (p, found_by(matches.value_source("config"))));
    let Some((path, found)) = profile::locate(named, env) else {
        return Err(UsageError(format!(
            "--profile {name}: there is no config file (looked at {}); create one with a [profiles.{name}] table (see the README), or name it with --config PATH",
            profile::looked_at(env)
        )));
    };
    profile::load(&path, found, name).map(Some)
}

fn layered(
    sub: &str,
    user: &[OsString],
    cli: &Cli,
    matches: &clap::ArgMatches,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Layered, LoadError> {
    use clap::CommandFactory;
    let command = Cli::command();
    let accepts = |id: &str| {
        command
            .find_subcommand(sub)
            .is_some_and(|c| c.get_arguments().any(|a| a.get_id() == id))
    };
    let explicit: Vec<String> = matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect();
    let given = |id: &str| explicit.iter().any(|e| e == id);
    let pa = profile_args(cli).cloned().unwrap_or_default();
    let profile = chosen_profile(&pa, matches, env)?;
    if let Some(p) = &profile {
        check_values(p)?;
    }
    let import = match &cli.command {
        Command::Import(a) => Some(a),
        _ => None,
    };
    let sandbox = match &cli.command {
        Command::Import(a) => a.target.sandbox,
        Command::Plan(a) => a.target.sandbox,
        _ => false,
    };
    let dry_run = import.is_some_and(|a| a.send.dry_run);
    let mut chosen = Vec::new();
    let mut from_profile = Vec::new();
    for value in profile.iter().flat_map(|p| &p.values) {
        let id = id_of(value.key.flag);
        let target = matches!(value.key.name, "api_url" | "api_key_file" | "live");
        let skip = !accepts(&id)
            || given(&id)
            // `--overwrite` is `--mode overwrite`: either beats the profile's mode.
            || (value.key.name == "mode" && super::MODE_IDS.iter().any(|m| given(m)))
            || (value.key.name == "api_url" && env(URL_ENV).is_some())
            || (sandbox && (target || value.key.name == "state"))
            || (dry_run && value.key.name == "state");
        if !skip {
            chosen.push(value);
            from_profile.push(id);
        }
    }
    let profile_words = profile::os_words(&chosen);
    let head = [OsString::from("notify-import"), OsString::from(sub)];
    let mut args: Vec<OsString> = head.to_vec();
    args.extend(profile_words.iter().cloned());
    args.extend(user.iter().cloned());
    let mut provenance = Provenance {
        profile: profile.as_ref().map(|p| ProfileRef {
            name: p.name.clone(),
            file: p.file.clone(),
            found: p.found,
        }),
        recorded: None,
    };
    if let Some(a) = import
        && a.send.resume
        && !a.target.sandbox
        && !a.send.dry_run
    {
        let (given_cli, _) = cli::parse_matches(&args)?;
        if let Command::Import(g) = &given_cli.command
            && let Some((folder, recorded)) = recorded_run(g)?
        {
            let sources = Sources {
                explicit: &explicit,
                from_profile: &from_profile,
                url_env: env(URL_ENV),
            };
            check_resume(g, &recorded, &folder, &sources)?;
            let mut with_recorded = head.to_vec();
            // `--map` is the one flag that adds up rather than overrides:
            // given again (and checked equal above), the recorded entries
            // would be doubled.
            let words = recorded.words();
            let gave_map = !g.input.map.is_empty();
            for pair in words.chunks(2) {
                if !(gave_map && pair[0] == "--map") {
                    with_recorded.extend(pair.iter().map(OsString::from));
                }
            }
            with_recorded.extend(profile_words);
            with_recorded.extend(user.iter().cloned());
            args = with_recorded;
            provenance.recorded = Some(Recorded {
                folder,
                own_outputs: recorded.own_outputs(),
                profile: recorded.profile.clone().zip(recorded.config_file.clone()),
            });
        }
    }
    Ok(Layered {
        args,
        provenance,
        profile,
        explicit,
        from_profile,
    })
}

/// Each value of `profile` as its flag's parser sees it, so a bad one
/// (`rate = 0`) is refused naming the file and line, whatever the command.
fn check_values(profile: &Profile) -> Result<(), UsageError> {
    for value in &profile.values {
        let mut args: Vec<OsString> = vec!["notify-import".into(), "import".into(), "FILE".into()];
        args.extend(value.words.iter().map(OsString::from));
        if let Err(e) = cli::parse_matches(&args) {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let why = first.strip_prefix("error: ").unwrap_or(first);
            return Err(UsageError(format!(
                "{} line {}: {} = {} in [profiles.{}]: {why}",
                profile.file.display(),
                value.line,
                value.key.name,
                value.shown,
                profile.name
            )));
        }
    }
    Ok(())
}

/// The unfinished run of the input of `args` and its `run.toml`, if it
/// has one (a run of an earlier version has none: its flags are taken as
/// given, and the journal checks them).
fn recorded_run(args: &ImportArgs) -> Result<Option<(PathBuf, RunSettings)>, UsageError> {
    let Some(runs) = Runs::for_input(&args.input.file, args.output.runs_dir.as_deref()) else {
        return Ok(None);
    };
    if !runs.dir().is_dir() {
        return Ok(None);
    }
    let Ok(Some(folder)) = runs.unfinished() else {
        return Ok(None);
    };
    match RunSettings::read(folder.path()) {
        Ok(Some(s)) => Ok(Some((folder.path().to_owned(), s))),
        Ok(None) => Ok(None),
        Err(why) => Err(UsageError(format!(
            "cannot resume the run in {}: its settings cannot be read ({why}); start a new run and leave that one as it is: --restart",
            folder.path().display()
        ))),
    }
}

struct Sources<'a> {
    explicit: &'a [String],
    from_profile: &'a [String],
    url_env: Option<String>,
}

impl Sources<'_> {
    /// Where the value of argument `id` came from, if it was given at all.
    fn given(&self, id: &str) -> Option<String> {
        if self.explicit.iter().any(|e| e == id) {
            Some("given".to_owned())
        } else if self.from_profile.iter().any(|e| e == id) {
            Some("from the profile".to_owned())
        } else if id == "api_url" && self.url_env.is_some() {
            Some(format!("from {URL_ENV}"))
        } else {
            None
        }
    }
}

fn shown_path(p: Option<&Path>) -> String {
    p.map_or_else(|| "(none)".to_owned(), |p| p.display().to_string())
}

fn shown<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
}

fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| match super::url::check(u, "--api-url") {
        Ok(url) => url.as_str().trim_end_matches('/').to_owned(),
        Err(_) => u.trim_end_matches('/').to_owned(),
    };
    norm(a) == norm(b)
}

/// Refuses a resume whose given settings would change what is sent.
fn check_resume(
    g: &ImportArgs,
    r: &RunSettings,
    folder: &Path,
    sources: &Sources<'_>,
) -> Result<(), UsageError> {
    let refuse = |flag: &str, how: String, recorded: String, given: String| {
        UsageError(format!(
            "--resume continues the run in {} as it was started, with {flag} {recorded} (its run.toml), but {flag} {given} was {how}: that would change what is sent; leave it out to continue that run, or start a new run with these settings and leave that one as it is: --restart",
            folder.display()
        ))
    };
    let i = &g.input;
    let ri = &r.input_options;
    let target = r.target.clone().unwrap_or_default();
    // (argument id, flag, recorded, given, same)
    let mut checks: Vec<(&str, &str, String, String, bool)> = Vec::new();
    let given_url = g.target.api_url.clone().or_else(|| sources.url_env.clone());
    if let (Some(given), Some(rec)) = (&given_url, &target.api_url) {
        checks.push((
            "api_url",
            "--api-url",
            rec.clone(),
            given.clone(),
            same_url(given, rec),
        ));
    }
    let mapping = i.mapping.as_deref().map(settings::absolute);
    checks.push((
        "mapping",
        "--mapping",
        shown_path(ri.mapping.as_deref()),
        shown_path(mapping.as_deref()),
        mapping == ri.mapping,
    ));
    let map: Vec<String> = i.map.iter().map(|(f, c)| format!("{f}={c}")).collect();
    checks.push((
        "map",
        "--map",
        ri.map.join(" --map "),
        map.join(" --map "),
        map == ri.map,
    ));
    let mode = super::requested_mode(g).as_str();
    for id in super::MODE_IDS {
        checks.push((
            id,
            "mode",
            target.mode.clone(),
            mode.to_owned(),
            mode == target.mode,
        ));
    }
    checks.push((
        "encoding",
        "--encoding",
        shown(ri.encoding.as_ref()),
        shown(i.encoding.as_ref()),
        i.encoding == ri.encoding,
    ));
    let delimiter = i.delimiter.map(settings::delimiter_word);
    checks.push((
        "delimiter",
        "--delimiter",
        shown(ri.delimiter.as_ref()),
        shown(delimiter.as_ref()),
        delimiter == ri.delimiter,
    ));
    checks.push((
        "header_line",
        "--header-line",
        shown(ri.header_line),
        shown(i.header_line),
        i.header_line == ri.header_line,
    ));
    checks.push((
        "max_record_bytes",
        "--max-record-bytes",
        ri.max_record_bytes.to_string(),
        i.max_record_bytes.to_string(),
        i.max_record_bytes == ri.max_record_bytes,
    ));
    checks.push((
        "sheet",
        "--sheet",
        shown(ri.sheet.as_ref()),
        shown(i.sheet.as_ref()),
        i.sheet == ri.sheet,
    ));
    checks.push((
        "default_country",
        "--default-country",
        shown(ri.default_country.as_ref()),
        shown(i.default_country.as_ref()),
        i.default_country == ri.default_country,
    ));
    checks.push((
        "live",
        "--live",
        target.live.to_string(),
        g.target.live.to_string(),
        g.target.live == target.live,
    ));
    let state = g.send.state.as_deref().map(settings::absolute);
    checks.push((
        "state",
        "--state",
        shown_path(target.state.as_deref()),
        shown_path(state.as_deref()),
        state == target.state,
    ));
    checks.push((
        "full",
        "--full",
        target.full.to_string(),
        g.send.full.to_string(),
        g.send.full == target.full,
    ));
    for (id, flag, recorded, given, same) in checks {
        if same {
            continue;
        }
        if let Some(how) = sources.given(id) {
            return Err(refuse(flag, how, recorded, given));
        }
    }
    // The mapping file's content is part of what is sent, whoever names it.
    if let (Some(path), Some(hash)) = (&ri.mapping, &ri.mapping_hash) {
        let now = settings::content_hash(path);
        if now.as_ref() != Some(hash) {
            return Err(UsageError(format!(
                "--resume continues the run in {} as it was started, but its mapping file {} {} since ({hash} then, {} now): that would change what is sent; put back the mapping it started with, or start a new run and leave that one as it is: --restart",
                folder.display(),
                path.display(),
                if now.is_some() {
                    "changed"
                } else {
                    "cannot be read"
                },
                now.as_deref().unwrap_or("unreadable")
            )));
        }
    }
    Ok(())
}

/// What `config` prints: each effective setting of an import, with where
/// it came from.
fn describe(
    args: &ImportArgs,
    layered: &Layered,
    pa: &ProfileArgs,
    matches: &clap::ArgMatches,
    env: &impl Fn(&str) -> Option<String>,
) -> crate::output::report::SettingsShown {
    use crate::output::report::{SettingRow, SettingsShown};
    let source_of = |id: &str, env_name: Option<&'static str>| -> String {
        if layered.explicit.iter().any(|e| e == id) {
            return "flag".to_owned();
        }
        if let Some(name) = env_name
            && env(name).is_some()
        {
            return format!("env {name}");
        }
        if layered.from_profile.iter().any(|e| e == id)
            && let Some(p) = &layered.profile
        {
            let line = p
                .values
                .iter()
                .find(|v| id_of(v.key.flag) == id)
                .map_or(0, |v| v.line);
            return format!("{} line {line}", p.describe());
        }
        "default".to_owned()
    };
    let mut rows = Vec::new();
    let mut row = |name: &str, value: String, source: String| {
        rows.push(SettingRow {
            name: name.to_owned(),
            value,
            source,
        });
    };
    let url = args
        .target
        .api_url
        .clone()
        .or_else(|| env(URL_ENV))
        .unwrap_or_else(|| super::DEFAULT_API_URL.to_owned());
    // A password or `?token=` in the URL is refused by an import, and is
    // never printed, here neither.
    row(
        "api_url",
        super::url::safe_to_show(&url),
        source_of("api_url", Some(URL_ENV)),
    );
    let (key, key_source) = match &args.target.api_key_file {
        Some(p) => (
            format!("read from the file {}", p.display()),
            source_of("api_key_file", None),
        ),
        None => (
            format!(
                "read from {}{}",
                super::KEY_ENV,
                if env(super::KEY_ENV).is_some() {
                    " (set)"
                } else {
                    " (not set)"
                }
            ),
            "default".to_owned(),
        ),
    };
    row("api_key", key, key_source);
    row(
        "live",
        args.target.live.to_string(),
        source_of("live", None),
    );
    let mode_source = super::MODE_IDS
        .iter()
        .map(|id| source_of(id, None))
        .find(|s| s != "default")
        .unwrap_or_else(|| "default".to_owned());
    row(
        "mode",
        super::requested_mode(args).as_str().to_owned(),
        mode_source,
    );
    let rate = match args.pace.rate {
        cli::RateArg::Auto => "auto".to_owned(),
        cli::RateArg::Fixed(r) => r.to_string(),
    };
    row("rate", rate, source_of("rate", None));
    row(
        "max_rate",
        args.pace.max_rate.to_string(),
        source_of("max_rate", None),
    );
    row(
        "burst",
        args.pace.burst.to_string(),
        source_of("burst", None),
    );
    row(
        "concurrency",
        args.pace.concurrency.to_string(),
        source_of("concurrency", None),
    );
    row(
        "timeout",
        args.pace.timeout.to_string(),
        source_of("timeout", None),
    );
    row(
        "stall_timeout",
        humantime::format_duration(args.pace.stall_timeout).to_string(),
        source_of("stall_timeout", None),
    );
    row(
        "max_attempts",
        args.pace.max_attempts.to_string(),
        source_of("max_attempts", None),
    );
    row(
        "max_retry_after",
        args.pace.max_retry_after.to_string(),
        source_of("max_retry_after", None),
    );
    row(
        "max_errors",
        shown(args.send.max_errors),
        source_of("max_errors", None),
    );
    row(
        "grace_period",
        args.pace.grace_period.to_string(),
        source_of("grace_period", None),
    );
    row(
        "mapping",
        shown_path(args.input.mapping.as_deref()),
        source_of("mapping", None),
    );
    row(
        "default_country",
        shown(args.input.default_country.as_ref()),
        source_of("default_country", None),
    );
    row(
        "runs_dir",
        args.output.runs_dir.as_deref().map_or_else(
            || "beside the input file".to_owned(),
            |p| p.display().to_string(),
        ),
        source_of("runs_dir", None),
    );
    row(
        "state",
        shown_path(args.send.state.as_deref()),
        source_of("state", None),
    );
    let profile = layered.profile.as_ref().map(|p| {
        format!(
            "{} ({})",
            p.describe(),
            if matches.value_source("profile") == Some(ValueSource::EnvVariable) {
                "chosen by NOTIFY_IMPORT_PROFILE"
            } else {
                "chosen by --profile"
            }
        )
    });
    let file = match pa.config.as_deref() {
        Some(p) => Some(p.to_owned()),
        None => profile::locate(None, env).map(|(p, _)| p),
    };
    let profiles = file
        .as_deref()
        .map(|f| profile::names(f).unwrap_or_default());
    SettingsShown {
        profile,
        file,
        profiles: profiles.unwrap_or_default(),
        looked_at: profile::looked_at(env),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug";

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, LoadError> {
        let mut full = vec!["notify-import".to_owned()];
        full.extend(args.iter().map(|a| (*a).to_owned()));
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        load(full.into_iter().map(OsString::from), move |n| {
            env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.toml");
        std::fs::write(
            &file,
            "[profiles.test]\napi_url = \"https://profile.example/v2\"\nburst = 3\nconcurrency = 4\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let url = |c: Config| match c {
            Config::Run(r) => match r.upload.unwrap().target {
                super::super::Endpoint::Remote { url, .. } => {
                    (url.to_string(), r.provenance.profile.map(|p| p.name))
                }
                super::super::Endpoint::Sandbox => panic!("sandbox"),
            },
            _ => panic!("not a run"),
        };
        let env = [("NOTIFY_API_KEY", KEY)];
        let (u, p) = url(run(&["a.csv", "--config", f, "--profile", "test"], &env).unwrap());
        assert_eq!(
            (u.as_str(), p.as_deref()),
            ("https://profile.example/v2", Some("test"))
        );
        let env2 = [("NOTIFY_API_KEY", KEY), (URL_ENV, "https://env.example/v2")];
        let (u, _) = url(run(&["a.csv", "--config", f, "--profile", "test"], &env2).unwrap());
        assert_eq!(u, "https://env.example/v2");
        let args = [
            "a.csv",
            "--config",
            f,
            "--profile",
            "test",
            "--api-url",
            "https://flag.example/v2",
        ];
        let (u, _) = url(run(&args, &env2).unwrap());
        assert_eq!(u, "https://flag.example/v2");
        let Config::Run(r) = run(
            &["a.csv", "--config", f, "--profile", "test", "--burst", "7"],
            &env,
        )
        .unwrap() else {
            panic!()
        };
        let u = r.upload.unwrap();
        assert_eq!((u.burst, u.concurrency), (7, 4));
    }

    #[test]
    fn a_bad_value_names_the_file_and_line_for_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.toml");
        std::fs::write(&file, "[profiles.test]\nburst = 3\nrate = 0\n").unwrap();
        let f = file.to_str().unwrap();
        for args in [
            &["validate", "a.csv", "--config", f, "--profile", "test"][..],
            &["a.csv", "--config", f, "--profile", "test"],
        ] {
            let Err(LoadError::Usage(e)) = run(args, &[("NOTIFY_API_KEY", KEY)]) else {
                panic!("{args:?}")
            };
            let e = e.to_string();
            assert!(
                e.starts_with(&format!(
                    "{f} line 3: rate = 0 in [profiles.test]: invalid value '0' for '--rate"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn an_unknown_profile_or_a_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.toml");
        std::fs::write(&file, "[profiles.test]\nburst = 3\n").unwrap();
        let f = file.to_str().unwrap();
        let Err(LoadError::Usage(e)) = run(
            &["validate", "a.csv", "--config", f, "--profile", "live"],
            &[],
        ) else {
            panic!()
        };
        assert!(e.to_string().contains("no profile \"live\""), "{e}");
        let missing = dir.path().join("none.toml");
        let Err(LoadError::Usage(e)) = run(
            &[
                "validate",
                "a.csv",
                "--config",
                missing.to_str().unwrap(),
                "--profile",
                "x",
            ],
            &[],
        ) else {
            panic!()
        };
        assert!(e.to_string().contains("cannot read the config file"), "{e}");
    }
}
