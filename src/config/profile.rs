//! The config file and its named profiles (`[profiles.live]`,
//! `[profiles.test]`).
//!
//! Owns where the file is found (`--config` / `NOTIFY_IMPORT_CONFIG`, else
//! `./notify-import.toml`, else `notify-import/config.toml` in the user's
//! config directory), its keys and what each means as a command-line flag
//! ([`KEYS`]), and its errors, each naming the file and line. A profile
//! never holds the API key: a key in the file is refused. Paths in a
//! profile are relative to the file's folder. It turns a profile into
//! flags ([`Value::words`]) and checks nothing those flags' parsers
//! check: which value wins is [`super::layers`]'s.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::UsageError;

/// The config file's name in the current folder.
pub const LOCAL_FILE: &str = "notify-import.toml";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "NOTIFY_IMPORT_CONFIG";
/// Environment variable naming the profile.
pub const PROFILE_ENV: &str = "NOTIFY_IMPORT_PROFILE";

/// What a profile key holds, and so how it becomes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value as typed (`--api-url URL`).
    Text,
    /// A number, or for `rate` also `auto`.
    Number,
    /// A path, relative to the config file's folder.
    Path,
    /// `true` gives the bare flag (`--live`).
    Switch,
    /// The write mode by name (`create`, `upsert`, `update`, `overwrite`).
    Mode,
}

/// A setting a profile may hold: its key in the file, the flag it stands
/// for, and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key in `[profiles.NAME]`.
    pub name: &'static str,
    /// The command-line flag it stands for.
    pub flag: &'static str,
    /// What it holds.
    pub kind: Kind,
}

const fn key(name: &'static str, flag: &'static str, kind: Kind) -> Key {
    Key { name, flag, kind }
}

/// Every key a profile may hold, in the order `config` shows them.
pub const KEYS: [Key; 18] = [
    key("api_url", "--api-url", Kind::Text),
    key("api_key_file", "--api-key-file", Kind::Path),
    key("live", "--live", Kind::Switch),
    key("mode", "--mode", Kind::Mode),
    key("rate", "--rate", Kind::Number),
    key("max_rate", "--max-rate", Kind::Number),
    key("burst", "--burst", Kind::Number),
    key("concurrency", "--concurrency", Kind::Number),
    key("timeout", "--timeout", Kind::Number),
    key("stall_timeout", "--stall-timeout", Kind::Text),
    key("max_attempts", "--max-attempts", Kind::Number),
    key("max_retry_after", "--max-retry-after", Kind::Number),
    key("max_errors", "--max-errors", Kind::Number),
    key("grace_period", "--grace-period", Kind::Number),
    key("mapping", "--mapping", Kind::Path),
    key("default_country", "--default-country", Kind::Text),
    key("runs_dir", "--runs-dir", Kind::Path),
    key("state", "--state", Kind::Path),
];

/// Keys that would hold the key itself: refused with a message of their own.
const SECRET_KEYS: [&str; 6] = ["api_key", "key", "token", "secret", "password", "apikey"];

/// The flags of a write mode by name; `None` for an unknown one. The one
/// place that knows how the command line spells a mode.
pub fn mode_words(mode: &str) -> Option<Vec<String>> {
    use crate::model::plan::WriteMode;
    [
        WriteMode::Create,
        WriteMode::Upsert,
        WriteMode::Update,
        WriteMode::Overwrite,
    ]
    .into_iter()
    .find(|m| m.as_str() == mode)
    .map(|m| match m {
        WriteMode::Create => Vec::new(),
        m => vec!["--mode".to_owned(), m.as_str().to_owned()],
    })
}

/// How the config file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// `--config PATH`.
    Flag,
    /// `NOTIFY_IMPORT_CONFIG`.
    Env,
    /// `./notify-import.toml`.
    Local,
    /// The user's config directory.
    UserDir,
}

/// One value of a profile, with the line it is on.
#[derive(Debug, Clone)]
pub struct Value {
    /// The key.
    pub key: Key,
    /// The value's flags (`["--rate", "5"]`; none for `live = false`).
    pub words: Vec<String>,
    /// The value as the file has it, for `config`.
    pub shown: String,
    /// 1-based line in the file.
    pub line: usize,
}

/// A profile of a config file.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// How the file was found.
    pub found: Found,
    /// Its values, in [`KEYS`] order.
    pub values: Vec<Value>,
}

impl Profile {
    /// The value of `key`, if the profile sets it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.key.name == key)
    }

    /// `profile NAME in FILE`, as `config` and the run header say it.
    pub fn describe(&self) -> String {
        format!("profile {} in {}", self.name, self.file.display())
    }
}

/// Where the config file is: `named` (from `--config` or the environment),
/// else `./notify-import.toml`, else the user's config directory. `None`
/// when none exists (a named one is returned even when it does not: its
/// reading says so).
pub fn locate(
    named: Option<(&Path, Found)>,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<(PathBuf, Found)> {
    if let Some((path, found)) = named {
        return Some((path.to_owned(), found));
    }
    let local = PathBuf::from(LOCAL_FILE);
    if local.is_file() {
        return Some((local, Found::Local));
    }
    user_file(env)
        .filter(|p| p.is_file())
        .map(|p| (p, Found::UserDir))
}

/// `notify-import/config.toml` in the user's config directory:
/// `$XDG_CONFIG_HOME`, else `~/.config` (`%APPDATA%` on Windows).
pub fn user_file(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if cfg!(windows) {
        nonempty("APPDATA")
    } else {
        nonempty("XDG_CONFIG_HOME").or_else(|| nonempty("HOME").map(|h| h.join(".config")))
    }?;
    Some(dir.join("notify-import").join("config.toml"))
}

/// The places looked at, for the message when no file is found.
pub fn looked_at(env: &impl Fn(&str) -> Option<String>) -> String {
    let mut places = vec![format!("./{LOCAL_FILE}")];
    places.extend(user_file(env).map(|p| p.display().to_string()));
    places.join(" and ")
}

/// Most bytes a config file may have: a few profiles take a few KiB.
const MAX_CONFIG: u64 = 1 << 20;

/// Reads profile `name` of the config file at `path`. Every key of every
/// profile is checked, so a mistake in another profile is found too.
pub fn load(path: &Path, found: Found, name: &str) -> Result<Profile, UsageError> {
    let profiles = read(path)?;
    let Some(values) = profiles.get(name) else {
        let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
        return Err(UsageError(format!(
            "{}: there is no profile {name:?} (no [profiles.{name}] table){}; check the name given to --profile or {PROFILE_ENV}",
            path.display(),
            if known.is_empty() {
                " and no profile at all".to_owned()
            } else {
                format!("; it has {}", known.join(", "))
            }
        )));
    };
    Ok(Profile {
        name: name.to_owned(),
        file: path.to_owned(),
        found,
        values: values.clone(),
    })
}

/// The names of the profiles in the file at `path`.
pub fn names(path: &Path) -> Result<Vec<String>, UsageError> {
    Ok(read(path)?.into_keys().collect())
}

type Table = BTreeMap<String, toml::Spanned<toml::Value>>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    profiles: BTreeMap<String, Table>,
}

fn read(path: &Path) -> Result<BTreeMap<String, Vec<Value>>, UsageError> {
    let bytes = read_capped(path).map_err(|e| {
        UsageError(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        UsageError(format!(
            "the config file {} is not UTF-8 text; save it as UTF-8",
            path.display()
        ))
    })?;
    let doc: Document = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(&text, s.start));
        UsageError(format!(
            "{} line {line}: {}; a config file holds [profiles.NAME] tables (see the README)",
            path.display(),
            e.message().trim_end()
        ))
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut out = BTreeMap::new();
    for (name, table) in doc.profiles {
        let mut values = Vec::new();
        for (k, v) in &table {
            let line = line_of(&text, v.span().start);
            let at = || format!("{} line {line}", path.display());
            if SECRET_KEYS.contains(&k.as_str()) {
                return Err(UsageError(format!(
                    "{}: `{k}` in [profiles.{name}]: the config file never holds the API key; put the key in a file of its own (chmod 600) and name it with api_key_file = \"PATH\", or set NOTIFY_API_KEY",
                    at()
                )));
            }
            let Some(key) = KEYS.iter().find(|key| key.name == k) else {
                let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                return Err(UsageError(format!(
                    "{}: unknown key `{k}` in [profiles.{name}]; a profile may hold {}",
                    at(),
                    known.join(", ")
                )));
            };
            let (words, shown) = words(*key, v.get_ref(), base)
                .map_err(|why| UsageError(format!("{}: {k} in [profiles.{name}] {why}", at())))?;
            values.push(Value {
                key: *key,
                words,
                shown,
                line,
            });
        }
        values.sort_by_key(|v| KEYS.iter().position(|k| k.name == v.key.name));
        out.insert(name, values);
    }
    Ok(out)
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_CONFIG} bytes; check the path"
        )));
    }
    Ok(bytes)
}

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(1, |t| t.matches('\n').count() + 1)
}

/// The flags of `key = value`, and the value as shown; `Err`: what is
/// wrong with it.
fn words(key: Key, value: &toml::Value, base: &Path) -> Result<(Vec<String>, String), String> {
    use toml::Value as V;
    let flag = key.flag.to_owned();
    match (key.kind, value) {
        (Kind::Switch, V::Boolean(on)) => {
            Ok((if *on { vec![flag] } else { Vec::new() }, on.to_string()))
        }
        (Kind::Switch, _) => Err("must be true or false".to_owned()),
        (Kind::Mode, V::String(mode)) => match mode_words(mode) {
            Some(words) => Ok((words, mode.clone())),
            None => Err(format!(
                "must be one of {}",
                ["create", "upsert", "update", "overwrite"].join(", ")
            )),
        },
        (Kind::Mode, _) => Err("must be a mode's name in quotes, e.g. \"create\"".to_owned()),
        (Kind::Number, V::Integer(n)) => Ok((vec![flag, n.to_string()], n.to_string())),
        (Kind::Number, V::Float(n)) => Ok((vec![flag, n.to_string()], n.to_string())),
        (Kind::Number, V::String(s)) if key.name == "rate" => {
            Ok((vec![flag, s.clone()], s.clone()))
        }
        (Kind::Number, _) => Err("must be a number".to_owned()),
        (Kind::Path, V::String(s)) if !s.is_empty() => {
            let path = base.join(s);
            let shown = path.display().to_string();
            Ok((vec![flag, shown.clone()], shown))
        }
        (Kind::Path, _) => Err("must be a path in quotes".to_owned()),
        (Kind::Text, V::String(s)) => Ok((vec![flag, s.clone()], s.clone())),
        (Kind::Text, V::Integer(n)) if key.name == "stall_timeout" => {
            // A bare number of seconds, as a person might write it.
            let s = format!("{n}s");
            Ok((vec![flag, s.clone()], s))
        }
        (Kind::Text, _) => Err("must be text in quotes".to_owned()),
    }
}

/// `words` as arguments.
pub fn os_words(values: &[&Value]) -> Vec<OsString> {
    values
        .iter()
        .flat_map(|v| v.words.iter().map(OsString::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_profile_becomes_flags_with_paths_beside_the_file() {
        let (dir, path) = file(
            "[profiles.live]\napi_url = \"https://x.example/v2\"\napi_key_file = \"live.key\"\nlive = true\nrate = \"auto\"\nburst = 2\nmode = \"overwrite\"\n\n[profiles.test]\nlive = false\n",
        );
        let p = load(&path, Found::Flag, "live").unwrap();
        let words: Vec<String> = p.values.iter().flat_map(|v| v.words.clone()).collect();
        let key = dir.path().join("live.key").display().to_string();
        assert_eq!(
            words,
            [
                "--api-url",
                "https://x.example/v2",
                "--api-key-file",
                &key,
                "--live",
                "--mode",
                "overwrite",
                "--rate",
                "auto",
                "--burst",
                "2"
            ]
        );
        assert_eq!(p.get("burst").unwrap().line, 6);
        assert!(
            load(&path, Found::Flag, "test").unwrap().values[0]
                .words
                .is_empty()
        );
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let (_d, path) = file("[profiles.live]\nrate = 5\nrat = 6\n");
        let err = load(&path, Found::Flag, "live").unwrap_err().to_string();
        assert!(err.contains("c.toml line 3: unknown key `rat`"), "{err}");
        let (_d, path) = file("[profiles.live]\napi_key = \"test_abc\"\n");
        let err = load(&path, Found::Flag, "live").unwrap_err().to_string();
        assert!(err.contains("line 2: `api_key`") && err.contains("never holds the API key"));
        assert!(!err.contains("test_abc"));
        let (_d, path) = file("[profiles.live]\nrate = 5\n");
        let err = load(&path, Found::Flag, "tset").unwrap_err().to_string();
        assert!(
            err.contains("no profile \"tset\"") && err.contains("it has live"),
            "{err}"
        );
        let (_d, path) = file("[profile.live]\nrate = 5\n");
        let err = load(&path, Found::Flag, "live").unwrap_err().to_string();
        assert!(err.contains("c.toml line 1"), "{err}");
        let (_d, path) = file("[profiles.live]\nlive = \"yes\"\n");
        let err = load(&path, Found::Flag, "live").unwrap_err().to_string();
        assert!(
            err.contains("line 2: live in [profiles.live] must be true or false"),
            "{err}"
        );
    }

    #[test]
    fn the_user_file_is_in_the_config_directory() {
        let env = |n: &str| (n == "HOME").then(|| "/home/a".to_owned());
        if !cfg!(windows) {
            assert_eq!(
                user_file(&env),
                Some(PathBuf::from("/home/a/.config/notify-import/config.toml"))
            );
            let xdg = |n: &str| (n == "XDG_CONFIG_HOME").then(|| "/x".to_owned());
            assert_eq!(
                user_file(&xdg),
                Some(PathBuf::from("/x/notify-import/config.toml"))
            );
        }
    }
}
