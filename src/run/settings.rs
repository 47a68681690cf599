//! `run.toml`: how a run was started, kept in its folder so that
//! `--resume` continues it as it was.
//!
//! Owns the file's content (input options, the mapping file and a hash of
//! its content, `--map`, the default country, where it sent and how,
//! where the key came from — the environment variable's name or the key
//! file's path, never the key —, the pace, the state, the output paths
//! the user named, the profile), writing it (mode 0600, a new file that
//! no planted link can redirect), reading it back, and turning it into
//! the flags that repeat it ([`RunSettings::words`]). Paths are recorded
//! absolute, so a resume works from any folder. It must not decide
//! whether a resume may go on: [`crate::config`] compares.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{self, Endpoint, RunConfig};
use crate::util::nofollow;

/// The file's name in a run folder.
pub const RUN_TOML: &str = "run.toml";

/// Most bytes read back: the settings of a run take a few hundred.
const MAX_RUN_TOML: u64 = 256 * 1024;

/// How a run was started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// `import`, `dry-run` or `validate`.
    pub command: String,
    /// The input file.
    pub input: PathBuf,
    /// The profile whose settings it took, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The config file of that profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<PathBuf>,
    /// How the input is read and what its columns mean.
    #[serde(default)]
    pub input_options: InputSettings,
    /// Where and how it sends (not for `validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSettings>,
    /// The pace (an import only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pace: Option<PaceSettings>,
    /// The output files the user named.
    #[serde(default)]
    pub outputs: OutputSettings,
}

/// How the input is read and what its columns mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputSettings {
    /// `--encoding` (none: detected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `--delimiter` (none: detected); `tab` for a tab.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// `--header-line` (none: found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_line: Option<u64>,
    /// `--max-record-bytes`.
    #[serde(default)]
    pub max_record_bytes: usize,
    /// `--mapping`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<PathBuf>,
    /// `xxh3-128:<hex>` of the mapping file's content when the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_hash: Option<String>,
    /// `--map` entries, `Field=Column`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<String>,
    /// `--default-country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
}

/// Where and how a run sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSettings {
    /// `--sandbox`: the embedded sandbox (never resumable).
    #[serde(default)]
    pub sandbox: bool,
    /// The API URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The environment variable the key was read from (never the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// `--api-key-file` (never the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    /// `--live`.
    #[serde(default)]
    pub live: bool,
    /// The write mode, as the command line names it.
    pub mode: String,
    /// `--clear-empty`.
    #[serde(default)]
    pub clear_empty: bool,
    /// `--state`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<PathBuf>,
    /// `--full`.
    #[serde(default)]
    pub full: bool,
}

/// The pace of an import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaceSettings {
    /// `--rate`: a number or `auto`.
    pub rate: String,
    /// `--max-rate`.
    pub max_rate: f64,
    /// `--burst`.
    pub burst: u32,
    /// `--concurrency`.
    pub concurrency: usize,
    /// `--timeout`, seconds.
    pub timeout: f64,
    /// `--stall-timeout`.
    pub stall_timeout: String,
    /// `--max-attempts`.
    pub max_attempts: u32,
    /// `--max-retry-after`, seconds.
    pub max_retry_after: u64,
    /// `--max-errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_errors: Option<u64>,
    /// `--grace-period`, seconds.
    pub grace_period: f64,
}

/// The output files the user named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputSettings {
    /// `--results`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<PathBuf>,
    /// `--errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<PathBuf>,
    /// `--summary-json` (a file, not `-`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_json: Option<PathBuf>,
    /// `--runs-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_dir: Option<PathBuf>,
}

/// `path` made absolute against the current folder (nothing is resolved:
/// a link stays a link).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// `xxh3-128:<hex>` of the file at `path`; `None` when it cannot be read.
pub fn content_hash(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!(
        "xxh3-128:{:032x}",
        xxhash_rust::xxh3::xxh3_128(&bytes)
    ))
}

/// `--delimiter` as typed.
pub fn delimiter_word(d: u8) -> String {
    match d {
        b'\t' => "tab".to_owned(),
        other => char::from(other).to_string(),
    }
}

impl RunSettings {
    /// The settings of `run`, as it starts.
    pub fn of(run: &RunConfig) -> RunSettings {
        let o = &run.input_options;
        let input_options = InputSettings {
            encoding: o.encoding.clone(),
            delimiter: o.delimiter.map(delimiter_word),
            header_line: o.header_line,
            max_record_bytes: o.max_record_bytes,
            mapping: o.mapping_file.as_deref().map(absolute),
            mapping_hash: o.mapping_file.as_deref().and_then(content_hash),
            map: o.map.iter().map(|(f, c)| format!("{f}={c}")).collect(),
            default_country: o.default_country.clone(),
        };
        let (command, target, pace) = match (&run.upload, &run.dry_run_target) {
            (Some(u), _) => {
                let (api_url, key_env, live) = match &u.target {
                    Endpoint::Sandbox => (None, None, false),
                    Endpoint::Remote { url, key } => (
                        Some(url.as_str().to_owned()),
                        u.key_file.is_none().then(|| config::KEY_ENV.to_owned()),
                        key.kind() == config::KeyKind::Live,
                    ),
                };
                let target = TargetSettings {
                    sandbox: matches!(u.target, Endpoint::Sandbox),
                    api_url,
                    key_env,
                    api_key_file: u.key_file.as_deref().map(absolute),
                    live,
                    mode: u.mode.as_str().to_owned(),
                    clear_empty: u.clear_empty,
                    state: u.state.as_deref().map(absolute),
                    full: u.full,
                };
                let pace = PaceSettings {
                    rate: if u.auto_rate {
                        "auto".to_owned()
                    } else {
                        u.rate.to_string()
                    },
                    max_rate: u.max_rate,
                    burst: u.burst,
                    concurrency: u.concurrency,
                    timeout: u.timeout.as_secs_f64(),
                    stall_timeout: humantime::format_duration(u.stall_timeout).to_string(),
                    max_attempts: u.max_attempts,
                    max_retry_after: u.max_retry_after.as_secs(),
                    max_errors: u.max_errors,
                    grace_period: u.grace_period.as_secs_f64(),
                };
                ("import", Some(target), Some(pace))
            }
            (None, Some(dry)) => {
                let target = TargetSettings {
                    sandbox: dry.sandbox,
                    api_url: dry.api_url.clone(),
                    key_env: None,
                    api_key_file: dry.key_file.as_deref().map(absolute),
                    live: dry.live,
                    mode: dry.mode.as_str().to_owned(),
                    clear_empty: dry.clear_empty,
                    state: None,
                    full: false,
                };
                ("dry-run", Some(target), None)
            }
            (None, None) => ("validate", None, None),
        };
        let summary_json = match &run.summary_json {
            Some(config::SummaryTarget::File(p)) => Some(absolute(p)),
            _ => None,
        };
        RunSettings {
            command: command.to_owned(),
            input: absolute(&run.input),
            profile: run.provenance.profile.as_ref().map(|p| p.name.clone()),
            config_file: run.provenance.profile.as_ref().map(|p| absolute(&p.file)),
            input_options,
            target,
            pace,
            outputs: OutputSettings {
                results: run.outputs.results.as_deref().map(absolute),
                errors: run.outputs.errors.as_deref().map(absolute),
                summary_json,
                runs_dir: run.outputs.runs_dir.as_deref().map(absolute),
            },
        }
    }

    /// The file's text: a comment saying what it is, then the settings.
    pub fn to_text(&self) -> Result<String, toml::ser::Error> {
        let body = toml::to_string(self)?;
        Ok(format!(
            "# How this run was started (notify-import {}). `notify-import import FILE --resume`\n# continues it with these settings; the API key itself is never written here.\n{body}",
            env!("CARGO_PKG_VERSION")
        ))
    }

    /// Writes `run.toml` into the new run folder `folder` (mode 0600,
    /// never through a link).
    pub fn write(&self, folder: &Path) -> std::io::Result<()> {
        let path = folder.join(RUN_TOML);
        let text = self.to_text().map_err(std::io::Error::other)?;
        let mut file = nofollow::create_new(&path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    }

    /// Reads `run.toml` of the run folder `folder`; `Ok(None)` when it has
    /// none (a run of an earlier version).
    pub fn read(folder: &Path) -> Result<Option<RunSettings>, String> {
        let path = folder.join(RUN_TOML);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let bytes = nofollow::read_start(&path, MAX_RUN_TOML).map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {}", path.display(), e.message().trim_end()))
    }

    /// The flags that start a run as this one was started, after
    /// `import FILE` (the output paths too: a resume continues them).
    pub fn words(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::new();
        let mut push = |flag: &str, value: String| {
            w.push(flag.to_owned());
            w.push(value);
        };
        let i = &self.input_options;
        if let Some(e) = &i.encoding {
            push("--encoding", e.clone());
        }
        if let Some(d) = &i.delimiter {
            push("--delimiter", d.clone());
        }
        if let Some(h) = i.header_line {
            push("--header-line", h.to_string());
        }
        if i.max_record_bytes > 0 {
            push("--max-record-bytes", i.max_record_bytes.to_string());
        }
        if let Some(m) = &i.mapping {
            push("--mapping", m.display().to_string());
        }
        for m in &i.map {
            push("--map", m.clone());
        }
        if let Some(c) = &i.default_country {
            push("--default-country", c.clone());
        }
        if let Some(t) = &self.target {
            if let Some(u) = &t.api_url {
                push("--api-url", u.clone());
            }
            if let Some(k) = &t.api_key_file {
                push("--api-key-file", k.display().to_string());
            }
            if let Some(s) = &t.state {
                push("--state", s.display().to_string());
            }
        }
        if let Some(p) = &self.pace {
            push("--rate", p.rate.clone());
            push("--max-rate", p.max_rate.to_string());
            push("--burst", p.burst.to_string());
            push("--concurrency", p.concurrency.to_string());
            push("--timeout", p.timeout.to_string());
            push("--stall-timeout", p.stall_timeout.clone());
            push("--max-attempts", p.max_attempts.to_string());
            push("--max-retry-after", p.max_retry_after.to_string());
            if let Some(n) = p.max_errors {
                push("--max-errors", n.to_string());
            }
            push("--grace-period", p.grace_period.to_string());
        }
        let o = &self.outputs;
        if let Some(r) = &o.results {
            push("--results", r.display().to_string());
        }
        if let Some(e) = &o.errors {
            push("--errors", e.display().to_string());
        }
        if let Some(s) = &o.summary_json {
            push("--summary-json", s.display().to_string());
        }
        if let Some(t) = &self.target {
            if t.live {
                w.push("--live".to_owned());
            }
            if t.full {
                w.push("--full".to_owned());
            }
            w.extend(crate::config::profile::mode_words(&t.mode).unwrap_or_default());
            if t.clear_empty {
                w.push("--clear-empty".to_owned());
            }
        }
        w
    }

    /// The output files this run named (a resume continues them).
    pub fn own_outputs(&self) -> Vec<PathBuf> {
        let o = &self.outputs;
        [&o.results, &o.errors, &o.summary_json]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The output files a resume continues: those the resumed run named.
/// The run found unfinished now (`resuming`, under the lock) must be the
/// one whose `run.toml` the settings were taken from.
pub fn own_outputs(
    run: &RunConfig,
    resuming: Option<&super::RunFolder>,
) -> Result<Vec<PathBuf>, crate::SetupError> {
    let (Some(folder), Some(recorded)) = (resuming, &run.provenance.recorded) else {
        return Ok(Vec::new());
    };
    if folder.path() != recorded.folder {
        return Err(crate::SetupError::Usage(config::UsageError(format!(
            "the unfinished run of {} changed while this one started ({} instead of {}); start again",
            run.input.display(),
            folder.path().display(),
            recorded.folder.display()
        ))));
    }
    Ok(recorded.own_outputs.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads_back_as_written_and_repeats_as_flags() {
        let s = RunSettings {
            command: "import".into(),
            input: "/srv/k.csv".into(),
            profile: Some("live".into()),
            config_file: Some("/etc/n.toml".into()),
            input_options: InputSettings {
                delimiter: Some("tab".into()),
                max_record_bytes: 1 << 20,
                map: vec!["Name=Firma naam".into()],
                ..InputSettings::default()
            },
            target: Some(TargetSettings {
                api_url: Some("http://127.0.0.1:9/v2".into()),
                key_env: Some("NOTIFY_API_KEY".into()),
                mode: "overwrite".into(),
                ..TargetSettings::default()
            }),
            pace: Some(PaceSettings {
                rate: "auto".into(),
                max_rate: 50.0,
                burst: 1,
                concurrency: 8,
                timeout: 30.0,
                stall_timeout: "10m".into(),
                max_attempts: 5,
                max_retry_after: 60,
                max_errors: None,
                grace_period: 2.5,
            }),
            outputs: OutputSettings::default(),
        };
        let dir = tempfile::tempdir().unwrap();
        s.write(dir.path()).unwrap();
        assert_eq!(RunSettings::read(dir.path()).unwrap(), Some(s.clone()));
        assert!(s.write(dir.path()).is_err(), "never replaced");
        let words = s.words().join(" ");
        assert!(
            words.contains("--delimiter tab")
                && words.contains("--map Name=Firma naam")
                && words.contains("--rate auto")
                && words.ends_with("--mode overwrite"),
            "{words}"
        );
        assert_eq!(RunSettings::read(&dir.path().join("none")).unwrap(), None);
    }
}
