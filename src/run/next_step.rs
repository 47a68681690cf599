//! The one line after a run that says what to do next, as the exact
//! command to type.
//!
//! Owns the choice of that line from how the run ended: a check with
//! invalid rows (fix the input, check again, then import), a check without
//! (import), an import with rows not imported (fix and import the errors
//! file), a stop before the end (`--resume`, and nothing about fixing rows
//! that had no problem), a stopped `--sandbox` run (not resumable: start
//! again). It must not print: [`crate::report`] shows the line.

use std::path::Path;

/// The program name as the user types it.
const PROGRAM: &str = "notify-import";

/// Builds the commands for one input, with the flags needed to find its
/// runs again.
#[derive(Debug, Clone, Copy)]
pub struct Commands<'a> {
    input: &'a Path,
    runs_dir: Option<&'a Path>,
    /// Import commands repeat `--sandbox` (a trial stays a trial).
    sandbox: bool,
}

impl<'a> Commands<'a> {
    /// Commands about `input` (as the user gave it), whose runs are in
    /// `runs_dir` when `--runs-dir` was given.
    pub fn new(input: &'a Path, runs_dir: Option<&'a Path>) -> Commands<'a> {
        Commands {
            input,
            runs_dir,
            sandbox: false,
        }
    }

    /// The same, for a `--sandbox` run.
    pub fn sandbox(self, sandbox: bool) -> Commands<'a> {
        Commands { sandbox, ..self }
    }

    fn with_runs_dir(&self, mut cmd: String) -> String {
        if let Some(dir) = self.runs_dir {
            cmd.push_str(" --runs-dir ");
            cmd.push_str(&shell_word(dir));
        }
        cmd
    }

    /// `notify-import import INPUT` (`--sandbox` after a sandbox run).
    pub fn import(&self) -> String {
        let sandbox = if self.sandbox { " --sandbox" } else { "" };
        self.with_runs_dir(format!(
            "{PROGRAM} import {}{sandbox}",
            shell_word(self.input)
        ))
    }

    /// `notify-import import INPUT --resume` (never with `--sandbox`).
    pub fn resume(&self) -> String {
        self.with_runs_dir(format!(
            "{PROGRAM} import {} --resume",
            shell_word(self.input)
        ))
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
            "fix the invalid rows in {}{copy}, check again with {PROGRAM} validate {}, then: {}",
            self.input.display(),
            shell_word(self.input),
            self.import()
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
                    ..*self
                }
                .import()
            ),
            None => format!(
                "{not_imported} rows were not imported; their reasons are in the results file"
            ),
        })
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
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=+,@%".contains(c));
    if plain {
        text
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
