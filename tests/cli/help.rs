//! Help a bookkeeper can follow (issue 20): grouped flags, commands that
//! accept only their own flags, a suggestion for a misspelt command,
//! a sandbox that says how to use it, warnings under `--quiet`, a check's
//! summary that shows only what a check does.

use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn import_help_groups_its_flags_under_headings_in_order() {
    let out = notify_import().args(["import", "--help"]).output().unwrap();
    assert_exit(&out, 0);
    let help = String::from_utf8(out.stdout).unwrap();
    let at = |s: &str| {
        help.find(s)
            .unwrap_or_else(|| panic!("{s:?} not in\n{help}"))
    };
    let headings = [
        "\nInput:",
        "\nTarget:",
        "\nPace:",
        "\nRecovery:",
        "\nOutput:",
    ];
    let places: Vec<usize> = headings.iter().map(|h| at(h)).collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{help}");
    // A flag of each group sits under its heading.
    for (flag, group) in [
        ("--mapping <FILE>", 0),
        ("--api-url <URL>", 1),
        ("--rate <N|auto>", 2),
        ("--resume", 3),
        ("--results <PATH>", 4),
    ] {
        let p = at(&format!("      {flag}"));
        assert!(p > places[group], "{flag} before its heading");
        if let Some(next) = places.get(group + 1) {
            assert!(p < *next, "{flag} after the next heading");
        }
    }
}

#[test]
fn each_command_accepts_only_the_flags_it_uses() {
    let s = Scratch::new();
    let input = s.customers("x.csv", 1);
    let y = s.path("y.csv");
    for (command, flag) in [
        ("mapping", &["--results", y.to_str().unwrap()][..]),
        ("mapping", &["--quiet"]),
        ("validate", &["--rate", "5"]),
        ("validate", &["--no-progress"]),
        ("validate", &["--resume"]),
        // `plan` reads Notify and writes nothing there: what only sending
        // uses is no flag of it.
        ("plan", &["--resume"]),
        ("plan", &["--restart"]),
        ("plan", &["--dry-run"]),
        ("plan", &["--state", "s.db"]),
        ("plan", &["--full"]),
        ("plan", &["--max-errors", "3"]),
        ("plan", &["--results", y.to_str().unwrap()]),
        ("plan", &["--errors", y.to_str().unwrap()]),
    ] {
        let out = notify_import()
            .arg(command)
            .arg(&input)
            .args(flag)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(&format!("unexpected argument '{}'", flag[0])),
            "{command} {flag:?}: {}",
            stderr(&out)
        );
    }
    assert!(!y.exists(), "nothing written");
    assert!(!s.path("x.runs").exists(), "no run folder");
}

#[test]
fn a_misspelt_command_is_suggested_before_any_key_or_file_check() {
    let s = Scratch::new();
    for (typed, meant) in [("valdate", "validate"), ("imprt", "import")] {
        // No key, no such file: the suggestion is all the user sees.
        let out = notify_import()
            .args([typed, "x.csv"])
            .current_dir(s.dir.path())
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("did you mean '{meant}'?")) && !err.contains("API key"),
            "{err}"
        );
    }
    // `notify-import FILE` stays the import shorthand for a real file, even
    // one named like a misspelt command.
    s.customers("imprt", 2);
    let out = notify_import()
        .args(["imprt", "--dry-run"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(results(&s.path("imprt.runs/latest/results.csv")).len(), 2);
}

#[cfg(unix)]
#[test]
fn sandbox_prints_the_key_it_accepts_and_an_import_command_that_works() {
    let s = Scratch::new();
    let mut sandbox = notify_import()
        .args(["sandbox", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let mut shown = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("stop it with Ctrl-C");
        shown.push(line);
        if last {
            break;
        }
    }
    let text = shown.join("\n");
    assert!(text.contains("it accepts any test_ key"), "{text}");
    let cmd = shown
        .iter()
        .find_map(|l| l.strip_prefix("  NOTIFY_API_KEY="))
        .unwrap_or_else(|| panic!("no import command in\n{text}"));
    let (key, cmd) = cmd.split_once(' ').unwrap();
    let words: Vec<&str> = cmd.split(' ').collect();
    assert_eq!(
        &words[..3],
        ["notify-import", "import", "customers.csv"],
        "{cmd}"
    );
    s.customers("customers.csv", 3);
    let out = notify_import()
        .args(&words[1..])
        .env("NOTIFY_API_KEY", key)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let rows = results(&s.path("customers.runs/latest/results.csv"));
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
    assert_eq!(rows.len(), 3);
    let stopped = interrupt(sandbox, LIMIT);
    assert_exit(&stopped, 0);
}

#[cfg(unix)]
#[test]
fn quiet_still_prints_warnings_one_line_each() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let sb = sandbox();
    let key = s.file("notify.key", &format!("{TEST_KEY}\n"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let input = s.file("in.csv", "CustomerCode,Name,Kleur\nA1,Acme B.V.,rood\n");
    let out = notify_import()
        .arg("import")
        .arg(&input)
        .args(["--api-url", &sb.base_url(), "--quiet"])
        .arg("--api-key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("can be read by other users") && w.contains("chmod 600")),
        "{err}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("ignoring 1 column")),
        "{err}"
    );
    assert_eq!(
        err.lines().count(),
        3,
        "two warnings and the summary line:\n{err}"
    );
    assert_eq!(sb.stats().creates, 1);
}

#[test]
fn a_check_summary_shows_only_what_a_check_does_and_the_tally_reads_naturally() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        "CustomerCode,Name\nA1,Acme B.V.\nA1,Acme again\nB2,Beta B.V.\n",
    );
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    let summary = &err[err.find("\nSummary\n").expect("a summary")..];
    for word in ["created", "exists", "failed", "requests"] {
        assert!(
            !summary.contains(word),
            "{word} in a check's summary:\n{summary}"
        );
    }
    assert!(summary.contains("  valid              2\n"), "{summary}");
    assert!(summary.contains("  invalid            1\n"), "{summary}");
    assert!(
        err.contains("1 × CustomerCode: repeats the code of an earlier line; only the first row with a code is sent (line 3)"),
        "{err}"
    );
    assert!(!err.contains("line N"), "{err}");
}

#[test]
fn plan_help_lists_what_a_plan_uses_under_the_import_headings_and_nothing_else() {
    let out = notify_import().args(["plan", "--help"]).output().unwrap();
    assert_exit(&out, 0);
    let help = String::from_utf8(out.stdout).unwrap();
    let at = |s: &str| {
        help.find(s)
            .unwrap_or_else(|| panic!("{s:?} not in\n{help}"))
    };
    let places: Vec<usize> = ["\nInput:", "\nTarget:", "\nPace:", "\nOutput:"]
        .iter()
        .map(|h| at(h))
        .collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{help}");
    for (flag, group) in [
        ("--mapping <FILE>", 0),
        ("--sheet <NAME|N>", 0),
        ("--api-url <URL>", 1),
        ("--live", 1),
        ("--mode <MODE>", 1),
        ("--clear-empty", 1),
        ("--rate <N|auto>", 2),
        ("--concurrency <N>", 2),
        ("--runs-dir <DIR>", 3),
        ("--summary-json <PATH>", 3),
    ] {
        let p = at(&format!("      {flag}"));
        assert!(p > places[group], "{flag} before its heading");
        if let Some(next) = places.get(group + 1) {
            assert!(p < *next, "{flag} after the next heading");
        }
    }
    for flag in [
        "--resume",
        "--restart",
        "--dry-run",
        "--state",
        "--full",
        "--max-errors",
        "--results",
        "--errors",
    ] {
        assert!(
            !help.contains(&format!("      {flag} ")) && !help.contains(&format!("      {flag}\n")),
            "{flag} listed:\n{help}"
        );
    }
}

#[test]
fn a_profile_key_plan_does_not_use_is_skipped_for_plan_not_refused() {
    let s = Scratch::new();
    let input = s.customers("x.csv", 2);
    let sb = sandbox();
    let config = s.file(
        "n.toml",
        &format!(
            "[profiles.nightly]\napi_url = \"{}\"\nstate = \"nightly.db\"\nmax_errors = 5\nrate = 500\nburst = 5\n",
            sb.base_url()
        ),
    );
    let out = notify_import()
        .arg("plan")
        .arg(&input)
        .args(["--profile", "nightly", "--config"])
        .arg(&config)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("(profile nightly from "),
        "the plan names its profile: {}",
        stderr(&out)
    );
    assert!(!s.path("nightly.db").exists(), "no state for a plan");
    assert!(
        sb.request_log()
            .iter()
            .all(|r| matches!(r.method.as_str(), "GET" | "HEAD")),
        "a plan only reads"
    );
}
