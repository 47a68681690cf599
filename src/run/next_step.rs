//! The one line after a run that says what to do next, as the exact
//! command to type.
//!
//! Owns the choice of that line from how the run ended: a check with
//! invalid rows (fix the input, check again, then import), a check without
//! (import), an import with rows not imported (fix and import the errors
//! file), an import that left rows in doubt (import the input again: it
//! looks them up first), a stop before the end (`--resume`, and nothing about fixing rows
//! that had no problem), a stopped `--sandbox` run (not resumable: start
//! again), a required field no column feeds (`--map Field=Column`, naming
//! the likeliest columns, rather than "fix the rows"). It must not print:
//! [`crate::output::report`] shows the line.
//!
//! Every command carries the flags that decide what the typed command
//! reads and sends, so it does what the line says: how to read the input
//! (`--encoding`, `--delimiter`, `--header-line`, `--max-record-bytes`),
//! what its columns mean (`--mapping`, `--map`, `--default-country`),
//! where and how to send (`--api-url`, `--api-key-file`, `--live`,
//! `--overwrite`, `--state`) and where its runs are (`--runs-dir`). The
//! errors file is read differently from the input it came from (UTF-8
//! with its header on the first line), so a command about it drops
//! `--encoding` and `--header-line`. The key itself is never part of a
//! command.

use std::path::Path;

use crate::model::field::Field;

/// The program name as the user types it.
const PROGRAM: &str = "notify-import";

/// The flags of a run that its commands repeat, as shell words.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// How to read the input file itself: `--encoding`, `--header-line`
    /// (not repeated for the errors file).
    pub reading: Vec<String>,
    /// How to read any file of these rows: `--delimiter`,
    /// `--max-record-bytes`, `--mapping`, `--map`, `--default-country`.
    pub meaning: Vec<String>,
    /// Where and how to send: `--api-url`, `--api-key-file`, `--live`,
    /// `--overwrite`, `--state` (import commands only).
    pub target: Vec<String>,
}

impl Flags {
    /// Adds `--flag value` to `to` (the value quoted for the shell).
    pub fn push(to: &mut Vec<String>, flag: &str, value: &str) {
        to.push(format!("{flag} {}", shell_text(value)));
    }

    /// Adds `--map FIELD=COLUMN` to `to` (the column quoted for the shell).
    pub fn push_map(to: &mut Vec<String>, field: Field, column: &str) {
        to.push(map_flag(field, column));
    }
}

/// A required field that no column feeds, with the columns most likely
/// to hold it (best first; none when no column is free).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The field.
    pub field: Field,
    /// Header names of columns that feed no field, likeliest first.
    pub likeliest: Vec<String>,
}

/// Builds the commands for one input, with the flags needed to find its
/// runs again and to read and send it as this run did.
#[derive(Debug, Clone)]
pub struct Commands<'a> {
    input: &'a Path,
    runs_dir: Option<&'a Path>,
    /// Import commands repeat `--sandbox` (a trial stays a trial).
    sandbox: bool,
    flags: Flags,
    /// Commands about the errors file: the input's own reading flags do
    /// not apply.
    errors_file: bool,
    /// The run recorded how it was started (`run.toml`): its resume needs
    /// no flag but those that find its runs folder.
    recorded: bool,
}

impl<'a> Commands<'a> {
    /// Commands about `input` (as the user gave it), whose runs are in
    /// `runs_dir` when `--runs-dir` was given.
    pub fn new(input: &'a Path, runs_dir: Option<&'a Path>) -> Commands<'a> {
        Commands {
            input,
            runs_dir,
            sandbox: false,
            flags: Flags::default(),
            errors_file: false,
            recorded: false,
        }
    }

    /// The same, for a run that recorded its settings in `run.toml`.
    pub fn recorded(self, recorded: bool) -> Commands<'a> {
        Commands { recorded, ..self }
    }

    /// The same, for a `--sandbox` run.
    pub fn sandbox(self, sandbox: bool) -> Commands<'a> {
        Commands { sandbox, ..self }
    }

    /// The same, repeating `flags`.
    pub fn flags(self, flags: Flags) -> Commands<'a> {
        Commands { flags, ..self }
    }

    /// `cmd` followed by the flags that apply to it.
    fn finish(&self, mut cmd: String, import: bool) -> String {
        let mut words: Vec<&String> = Vec::new();
        if !self.errors_file {
            words.extend(&self.flags.reading);
        }
        words.extend(&self.flags.meaning);
        if import {
            words.extend(&self.flags.target);
        }
        for w in words {
            cmd.push(' ');
            cmd.push_str(w);
        }
        if let Some(dir) = self.runs_dir {
            cmd.push_str(" --runs-dir ");
            cmd.push_str(&shell_word(dir));
        }
        cmd
    }

    /// `notify-import import INPUT` with this run's flags (`--sandbox`
    /// after a sandbox run).
    pub fn import(&self) -> String {
        let sandbox = if self.sandbox { " --sandbox" } else { "" };
        self.finish(
            format!("{PROGRAM} import {}{sandbox}", shell_word(self.input)),
            true,
        )
    }

    /// `notify-import plan INPUT` with this run's flags.
    pub fn plan(&self) -> String {
        let sandbox = if self.sandbox { " --sandbox" } else { "" };
        self.finish(
            format!("{PROGRAM} plan {}{sandbox}", shell_word(self.input)),
            true,
        )
    }

    /// `notify-import validate INPUT` with the flags that say how to read it.
    pub fn validate(&self) -> String {
        self.finish(
            format!("{PROGRAM} validate {}", shell_word(self.input)),
            false,
        )
    }

    /// `notify-import import INPUT --resume` (never with `--sandbox`):
    /// after a run that recorded its settings, only `--runs-dir` besides
    /// (the rest, key file included, comes from its `run.toml`).
    pub fn resume(&self) -> String {
        if self.recorded {
            let mut cmd = format!("{PROGRAM} import {} --resume", shell_word(self.input));
            if let Some(dir) = self.runs_dir {
                cmd.push_str(" --runs-dir ");
                cmd.push_str(&shell_word(dir));
            }
            return cmd;
        }
        self.finish(
            format!("{PROGRAM} import {} --resume", shell_word(self.input)),
            true,
        )
    }

    /// The same commands with `--map FIELD=COLUMN` added.
    fn with_map(&self, field: Field, column: &str) -> Commands<'a> {
        let mut more = self.clone();
        more.flags.meaning.push(map_flag(field, column));
        more
    }

    /// After `validate` / `--dry-run`.
    pub fn after_check(&self, invalid: u64, errors: Option<&Path>) -> String {
        if invalid == 0 {
            return format!("every row is valid; import them: {}", self.import());
        }
        let copy = match errors {
            Some(e) => format!(" (or copy the fixed cells from {})", e.display()),
            None => String::new(),
        };
        format!(
            "fix the invalid rows in {}{copy}, check again with {}, then: {}",
            self.input.display(),
            self.validate(),
            self.import()
        )
    }

    /// After a plan: the import that makes its changes (with the same
    /// mode and flags), once the invalid rows, if any, are fixed.
    pub fn after_plan(&self, invalid: u64, errors: Option<&Path>) -> String {
        if invalid == 0 {
            return format!("to make these changes: {}", self.import());
        }
        let copy = match errors {
            Some(e) => format!(" (the rows are in {})", e.display()),
            None => String::new(),
        };
        format!(
            "{invalid} rows are invalid and would not be sent{copy}; fix them, or make the other changes: {}",
            self.import()
        )
    }

    /// After a run in which a required field had no column: every row is
    /// invalid for it, and the remedy is a mapping, not the rows. `check`:
    /// the run was a check (the advice is to check again).
    pub fn after_unmapped(&self, missing: &Unmapped, check: bool) -> String {
        let field = missing.field;
        let Some(best) = missing.likeliest.first() else {
            return format!(
                "no column of {} holds {field} and every column is taken; add a {field} column, then: {}",
                self.input.display(),
                if check {
                    self.validate()
                } else {
                    self.import()
                }
            );
        };
        let named: Vec<String> = missing.likeliest.iter().map(|c| format!("{c:?}")).collect();
        let which = if named.len() > 1 {
            format!("the likeliest are {}", named.join(", "))
        } else {
            format!("the likeliest is {}", named[0])
        };
        let mapped = self.with_map(field, best);
        format!(
            "no column of {} has a name known for {field} ({which}); take {field} from a column with --map, then {}: {}",
            self.input.display(),
            if check { "check again" } else { "import again" },
            if check {
                mapped.validate()
            } else {
                mapped.import()
            }
        )
    }

    /// After an import that reached the end of its input; `None` when
    /// every row made it.
    pub fn after_import(&self, not_imported: u64, errors: Option<&Path>) -> Option<String> {
        if not_imported == 0 {
            return None;
        }
        Some(match errors {
            Some(e) => format!(
                "fix the rows in {} (its error column says why), then: {}",
                e.display(),
                Commands {
                    input: e,
                    runs_dir: None,
                    errors_file: true,
                    ..self.clone()
                }
                .import()
            ),
            None => format!(
                "{not_imported} rows were not imported; their reasons are in the results file"
            ),
        })
    }

    /// After an import that reached the end but left `in_doubt` codes in
    /// doubt (an answer lost, the look-up failed): a plain new run of the
    /// same input looks each up before sending anything for it (an import
    /// of the errors file would not: its runs are elsewhere). `errors`:
    /// where the rows not imported are listed, if anywhere.
    pub fn after_doubt(&self, in_doubt: u64, errors: Option<&Path>) -> String {
        let codes = match in_doubt {
            1 => "1 customer may exist although its answer was lost (the look-up failed too)"
                .to_owned(),
            n => format!(
                "{} customers may exist although their answers were lost (the look-ups failed too)",
                grouped(n)
            ),
        };
        let rest = match errors {
            Some(e) => format!(
                " (every row not imported is in {}, with the reason)",
                e.display()
            ),
            None => String::new(),
        };
        format!(
            "{codes}; run the import again, which looks them up before sending anything for them{rest}: {}",
            self.import()
        )
    }

    /// The command that continues a run that failed after sending: its
    /// `--resume`, or for a `--sandbox` run (which cannot be resumed) a
    /// new run.
    pub fn continue_after_failure(&self, sandbox: bool) -> String {
        if sandbox {
            format!(
                "{} (a new run: the sandbox ended with this one)",
                self.import()
            )
        } else {
            self.resume()
        }
    }

    /// After a run that stopped before the end (Ctrl-C, a stop, exit 3).
    pub fn after_stop(&self, sandbox: bool) -> String {
        if sandbox {
            return format!(
                "a --sandbox run cannot be resumed (the embedded sandbox ended with it); start again: {}",
                self.import()
            );
        }
        format!(
            "continue where it stopped (rows already done are not sent again): {}",
            self.resume()
        )
    }
}

/// `--map FIELD=COLUMN` as one shell word.
fn map_flag(field: Field, column: &str) -> String {
    let word = shell_text(column);
    format!("--map {field}={word}")
}

/// A key the sandbox and the client's format check both accept.
#[cfg(feature = "sandbox")]
pub const SANDBOX_EXAMPLE_KEY: &str = "test_sandbox0example0key0";

/// After `sandbox` started at `url`: the key it accepts and an import
/// command to paste into another terminal. `required`: it accepts only
/// the key of `--required-key` (not shown: it may come from the
/// environment, hidden).
#[cfg(feature = "sandbox")]
pub fn after_sandbox_start(url: &str, required: bool) -> String {
    let (rule, env) = if required {
        (
            "it accepts only the key of --required-key (NOTIFY_SANDBOX_KEY)".to_owned(),
            "NOTIFY_API_KEY=\"$NOTIFY_SANDBOX_KEY\"".to_owned(),
        )
    } else {
        (
            format!(
                "it accepts any test_ key (a live_ key is refused), for example {SANDBOX_EXAMPLE_KEY}"
            ),
            format!("NOTIFY_API_KEY={SANDBOX_EXAMPLE_KEY}"),
        )
    };
    format!(
        "key: {rule}\nimport into it from another terminal:\n  {env} {PROGRAM} import customers.csv --api-url {}\nstop it with Ctrl-C",
        shell_text(url)
    )
}

/// After `template PATH`: what it wrote and what to do with it.
pub fn after_template(path: &Path) -> String {
    format!(
        "wrote {}: an example customer on line 1 (above the header, so it is never imported), the column names on line 2; add your customers from line 3 on, then check them: {PROGRAM} validate {}",
        path.display(),
        shell_word(path)
    )
}

/// The refusal of a first argument that is neither a command nor an
/// existing file, but close to the command `meant`.
pub fn did_you_mean(typed: &str, meant: &str) -> String {
    format!(
        "'{typed}' is not a command of {PROGRAM} (nor an existing file); did you mean '{meant}'?"
    )
}

/// `n` with its digits in groups of three, as people write counts in
/// prose: `1 394 of 3 000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `path` as one shell word: as is when it has no special characters,
/// else single-quoted.
pub fn shell_word(path: &Path) -> String {
    shell_text(&path.display().to_string())
}

/// `text` as one shell word: as is when it has no special characters,
/// else single-quoted.
pub fn shell_text(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=+,@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_command() {
        let c = Commands::new(Path::new("klanten.csv"), None);
        assert_eq!(c.resume(), "notify-import import klanten.csv --resume");
        let check = c.after_check(9, Some(Path::new("k.runs/a-check/errors.csv")));
        assert!(
            check.starts_with("fix the invalid rows in klanten.csv (or copy the fixed cells from k.runs/a-check/errors.csv)")
                && check.ends_with("then: notify-import import klanten.csv"),
            "{check}"
        );
        let import = c
            .after_import(9, Some(Path::new("k.runs/a/errors.csv")))
            .unwrap();
        assert!(
            import.ends_with("then: notify-import import k.runs/a/errors.csv"),
            "{import}"
        );
        assert_eq!(c.after_import(0, None), None);
        assert!(!c.after_stop(true).contains("--resume"));
        assert!(!c.continue_after_failure(true).contains("--resume"));
        assert!(!c.after_stop(false).contains("fix"));
    }

    #[test]
    fn a_sandbox_run_suggests_sandbox_commands() {
        let c = Commands::new(Path::new("k.csv"), None).sandbox(true);
        let next = c.after_import(1, Some(Path::new("k.runs/a/errors.csv")));
        assert!(
            next.unwrap()
                .ends_with("then: notify-import import k.runs/a/errors.csv --sandbox")
        );
        assert!(
            c.after_stop(true)
                .ends_with("notify-import import k.csv --sandbox")
        );
        // An unfinished real run is continued without the sandbox.
        assert_eq!(c.resume(), "notify-import import k.csv --resume");
    }

    #[test]
    fn commands_carry_the_flags_that_decide_what_is_read_and_sent() {
        let mut flags = Flags::default();
        Flags::push(&mut flags.reading, "--encoding", "windows-1252");
        Flags::push(&mut flags.meaning, "--mapping", "k.mapping.toml");
        Flags::push_map(&mut flags.meaning, Field::Name, "Firma naam");
        Flags::push(&mut flags.target, "--api-url", "http://127.0.0.1:8799/v2");
        let c = Commands::new(Path::new("k.csv"), None).flags(flags);
        assert_eq!(
            c.validate(),
            "notify-import validate k.csv --encoding windows-1252 --mapping k.mapping.toml --map Name='Firma naam'"
        );
        assert_eq!(
            c.resume(),
            "notify-import import k.csv --resume --encoding windows-1252 --mapping k.mapping.toml --map Name='Firma naam' --api-url http://127.0.0.1:8799/v2"
        );
        // The errors file is UTF-8 with its header first: no --encoding.
        let next = c.after_import(1, Some(Path::new("e.csv"))).unwrap();
        assert!(
            next.ends_with(
                "then: notify-import import e.csv --mapping k.mapping.toml --map Name='Firma naam' --api-url http://127.0.0.1:8799/v2"
            ),
            "{next}"
        );
    }

    #[test]
    fn a_recorded_run_resumes_without_its_flags_but_finds_its_runs() {
        let mut flags = Flags::default();
        Flags::push(&mut flags.meaning, "--mapping", "k.mapping.toml");
        Flags::push(&mut flags.target, "--api-url", "http://127.0.0.1:8799/v2");
        let c = Commands::new(Path::new("k.csv"), Some(Path::new("/var/n"))).flags(flags);
        assert!(c.resume().contains("--api-url"));
        let c = c.recorded(true);
        assert_eq!(
            c.resume(),
            "notify-import import k.csv --resume --runs-dir /var/n"
        );
        assert!(c.import().contains("--mapping k.mapping.toml"));
    }

    #[test]
    fn a_missing_column_is_advised_as_a_map() {
        let c = Commands::new(Path::new("odd.csv"), None);
        let missing = Unmapped {
            field: Field::Name,
            likeliest: vec!["Firma naam".into(), "Omschrijving".into()],
        };
        let check = c.after_unmapped(&missing, true);
        assert!(
            check.contains(r#"the likeliest are "Firma naam", "Omschrijving""#)
                && check.ends_with(
                    "check again: notify-import validate odd.csv --map Name='Firma naam'"
                ),
            "{check}"
        );
        assert!(!check.contains("fix"), "{check}");
        let import = c.after_unmapped(&missing, false);
        assert!(
            import.ends_with("import again: notify-import import odd.csv --map Name='Firma naam'"),
            "{import}"
        );
    }

    #[test]
    fn counts_are_grouped_by_three() {
        let got: Vec<String> = [0, 999, 1394, 3000, 1_234_567].map(grouped).into();
        assert_eq!(got, ["0", "999", "1 394", "3 000", "1 234 567"]);
    }

    #[test]
    fn paths_are_quoted_for_the_shell_and_runs_dir_is_kept() {
        let c = Commands::new(Path::new("my file's.csv"), Some(Path::new("/var/lib/n")));
        assert_eq!(
            c.resume(),
            r"notify-import import 'my file'\''s.csv' --resume --runs-dir /var/lib/n"
        );
    }
}
