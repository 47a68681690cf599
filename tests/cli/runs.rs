//! Run folders (issue 12): one folder per run, nothing of an earlier run
//! ever overwritten, resume that finds its run, the right next step after
//! every outcome, exit 3 with `--resume` after a write failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_import::sandbox::Faults;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Every file under `dir` (links followed), by path relative to `dir`,
/// with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn an_edited_errors_file_and_earlier_results_survive_every_later_run_byte_for_byte() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.path("klanten.csv");
    copy_sample("customers.csv", &input);
    assert_exit(&import(&sb, &input, &[]), 1);
    let first = latest_run(&input);
    let errors = first.join("errors.csv");
    // The user fixes rows in the errors file by hand.
    let mut edited = std::fs::read(&errors).unwrap();
    edited.extend_from_slice(b"fixed by hand\r\n");
    std::fs::write(&errors, &edited).unwrap();
    let before = snapshot(&first);

    let runs: [&[&str]; 3] = [&[], &["--overwrite-outputs"], &["--force"]];
    for flags in runs {
        assert_exit(&import(&sb, &input, flags), 1);
        assert_exit(&validate(&input, flags), 1);
    }
    assert_eq!(
        snapshot(&first),
        before,
        "the first run's folder is untouched"
    );
    assert_eq!(std::fs::read(&errors).unwrap(), edited);
    assert_eq!(run_folders(&s.path("klanten.runs")).len(), 7);
    assert_eq!(
        sb.stats().creates,
        26,
        "later runs found the customers: exists"
    );
}

#[test]
fn validate_then_import_needs_no_flag_and_the_check_has_its_own_folder() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("klanten.csv", 5);
    let out = validate(&input, &[]);
    assert_exit(&out, 0);
    let check = latest_run(&input);
    assert!(check.to_string_lossy().ends_with("-check"), "{check:?}");
    assert_eq!(
        next_line(&out),
        format!(
            "every row is valid; import them: notify-import import {}",
            input.display()
        )
    );

    let out = import(&sb, &input, &[]);
    assert_exit(&out, 0);
    let run = latest_run(&input);
    assert_ne!(run, check);
    assert_eq!(results(&run.join("results.csv")).len(), 5);
    assert_eq!(results(&check.join("results.csv")).len(), 5);
    assert_eq!(sb.stats().creates, 5);
    assert!(
        !stderr(&out).contains("Next:"),
        "nothing to do after a clean import"
    );
}

#[cfg(unix)]
#[test]
fn after_kill_9_a_plain_run_is_told_to_resume_and_resume_finishes_in_the_same_folder() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    });
    let input = s.customers("klanten.csv", 40);
    let mut child = spawn_import(
        &sb,
        &input,
        &["--rate", "1000", "--concurrency", "1", "--timeout", "1"],
    );
    wait_until(LIMIT, "creates before the kill", || sb.stats().creates >= 3);
    child.kill().unwrap(); // SIGKILL: no cleanup
    let _ = child.wait();
    let killed = latest_run(&input);
    let before = sb.stats();
    assert!(before.creates < 40);

    // Another sandbox: a request of the killed run may still be on its way
    // to `sb`.
    let fresh = sandbox();
    let out = import(&fresh, &input, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    let line = err.trim_end();
    let head = format!(
        "notify-import: error: an earlier run of {} stopped after ",
        input.display()
    );
    let tail = format!(
        " of 40 rows ({}); continue it: notify-import import {} --resume; or start a new run and leave that one as it is: --restart",
        killed.display(),
        input.display(),
    );
    let done: u64 = line
        .strip_prefix(&head)
        .and_then(|l| l.strip_suffix(&tail))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the resume message comes first, alone:\n{err}"));
    assert!(done >= 2 && done <= before.creates, "{done} rows done");
    assert_eq!(fresh.stats().requests, 0, "nothing sent");
    assert_eq!(
        run_folders(&s.path("klanten.runs")),
        std::slice::from_ref(&killed)
    );

    sb.set_faults(Faults::default());
    let out = import(&sb, &input, &["--resume", "--timeout", "1"]);
    assert_exit(&out, 0);
    assert_eq!(
        run_folders(&s.path("klanten.runs")),
        std::slice::from_ref(&killed)
    );
    let rows = assert_universal(&killed.join("results.csv"), 40, &sb);
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
    assert_eq!(sb.stats().creates, 40);
    assert_eq!(sb.stats().duplicate_create_attempts, 0);
    assert!(
        !killed.join("journal").exists(),
        "finished: nothing to resume"
    );
    // Finished, so the next run is not refused.
    assert_exit(&import(&sb, &input, &[]), 0);
}

#[test]
fn restart_leaves_the_unfinished_run_exactly_as_it_was_and_never_resumes_it() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("klanten.csv", 6);
    let out = import(&sb, &input, &stop);
    assert_exit(&out, 3);
    let old = latest_run(&input);
    let before = snapshot(&old);
    assert!(before.contains_key(Path::new("journal")));

    // The unfinished run is reported first, before any other check.
    let taken = s.file("taken.csv", "mine");
    let out = import(&sb, &input, &["--results", taken.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("an earlier run of "),
        "{}",
        stderr(&out)
    );

    sb.set_faults(Faults::default());
    let out = import(&sb, &input, &["--restart"]);
    assert_exit(&out, 0);
    let new = latest_run(&input);
    assert_ne!(new, old);
    let mut after = snapshot(&old);
    assert!(after.remove(Path::new("abandoned")).is_some(), "marked");
    assert_eq!(after, before, "every file of the old run as it was");
    assert_eq!(sb.stats().creates, 6);

    // It no longer blocks a run, and --resume does not pick it up.
    let out = import(&sb, &input, &["--resume"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("no unfinished run of"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&old).len(), before.len() + 1);
}

#[cfg(unix)]
#[test]
fn each_outcome_ends_with_its_own_next_step() {
    let s = Scratch::new();
    let input = s.path("klanten.csv");
    copy_sample("customers.csv", &input);
    let shown = input.display().to_string();

    // A check with invalid rows: fix the input, check again, then import.
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let check = latest_run(&input);
    assert_eq!(
        next_line(&out),
        format!(
            "fix the invalid rows in {shown} (or copy the fixed cells from {}), check again with notify-import validate {shown}, then: notify-import import {shown}",
            check.join("errors.csv").display()
        )
    );

    // An import with invalid rows: fix and import the errors file.
    let sb = sandbox();
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 1);
    let errors = latest_run(&input).join("errors.csv");
    assert_eq!(
        next_line(&out),
        format!(
            "fix the rows in {} (its error column says why), then: notify-import import {} --api-url {}",
            errors.display(),
            errors.display(),
            sb.base_url()
        )
    );

    // A stop (exit 3): continue with --resume, nothing about fixing rows.
    let other = s.customers("other.csv", 4);
    let (failing, stop) = stopping_sandbox();
    let out = import(&failing, &other, &stop);
    assert_exit(&out, 3);
    let resume = format!("notify-import import {} --resume", other.display());
    assert_eq!(
        next_line(&out),
        format!("continue where it stopped (rows already done are not sent again): {resume}")
    );

    // Ctrl-C: the same.
    let slow = sandbox_with_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let third = s.customers("third.csv", 60);
    let child = spawn_import(&slow, &third, &["--rate", "50", "--concurrency", "2"]);
    wait_until(LIMIT, "some creates", || slow.stats().creates >= 3);
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let line = next_line(&out);
    assert!(
        line.ends_with(&format!(
            "notify-import import {} --resume",
            third.display()
        )),
        "{line}"
    );
    assert!(!line.contains("fix"), "{line}");
}

#[cfg(unix)]
#[test]
fn a_sandbox_run_gives_no_resume_advice_and_resume_sandbox_is_refused() {
    let s = Scratch::new();
    let input = s.customers("klanten.csv", 400);
    let journal = s.path("klanten.runs/latest/journal");
    let child = notify_import()
        .arg(&input)
        .args(["--sandbox", "--rate", "20", "--grace-period", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A few sends recorded: the run is well into sending (signals are
    // handled from before the first send).
    wait_until(LIMIT, "sends in the journal", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.matches(r#""t":"send""#).count() >= 3)
    });
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let line = next_line(&out);
    assert!(!line.contains("--resume"), "{line}");
    assert!(line.contains("cannot be resumed"), "{line}");

    let out = notify_import()
        .arg(&input)
        .args(["--sandbox", "--resume"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--resume cannot continue a --sandbox run"),
        "{}",
        stderr(&out)
    );
    // The stopped sandbox run does not block a new one.
    let small = s.customers("small.csv", 2);
    let out = notify_import()
        .arg(&small)
        .arg("--sandbox")
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

/// Starts the import with SIGXFSZ ignored, so that once its file size
/// limit is lowered (`prlimit`) a write past it fails with EFBIG instead of
/// killing the process: a full disk after sending began, without root or
/// a filesystem of our own. (A limit set at the start would stop the pass,
/// whose checked rows are the run's largest file, before any request.)
#[cfg(unix)]
fn spawn_import_ignoring_xfsz(sb: &SandboxHandle, input: &Path) -> std::process::Child {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_notify-import"))
        .arg("import")
        .arg(input)
        .args(["--api-url", &sb.base_url(), "--rate", "100", "--burst", "1"])
        .env_remove("NOTIFY_API_URL")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("NOTIFY_API_KEY", TEST_KEY)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_write_failure_after_sending_stops_at_once_exits_3_and_resume_completes() {
    let s = Scratch::new();
    let sb = sandbox();
    let rows = 600;
    let input = s.customers("klanten.csv", rows);
    let child = spawn_import_ignoring_xfsz(&sb, &input);
    wait_until(Duration::from_secs(60), "the first creates", || {
        sb.stats().creates >= 20
    });
    // 512 bytes: the journal and the results file are past it already.
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &child.id().to_string(), "--fsize=512"])
        .status()
        .unwrap();
    assert!(limited.success(), "prlimit");
    let out = wait_bounded(child, Duration::from_secs(60));
    assert_exit(&out, 3);
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    let resume = format!("notify-import import {} --resume", input.display());
    assert!(
        last.starts_with("notify-import: error: file size limit reached writing ")
            && last.contains("; every sent row is in the journal; ")
            && last.ends_with(&format!(", then: {resume}")),
        "{err}"
    );
    let stopped = sb.stats();
    assert!(stopped.creates > 0, "it failed after sending");
    assert!(stopped.creates < rows as u64, "sending stopped at once");

    let out = import(&sb, &input, &["--resume"]);
    assert_exit(&out, 0);
    let got = assert_universal(&latest_run(&input).join("results.csv"), rows as u64, &sb);
    assert!(got.iter().all(|r| r.status == "created"));
    assert_ids_match_server(&got, &sb);
    assert_eq!(sb.stats().creates, rows as u64);
    assert_eq!(sb.stats().duplicate_create_attempts, 0);
}

/// A folder that appears where the named results file goes, after the
/// run started (a folder there at the start is refused before sending):
/// the rename at the end fails, the run exits 3 with every sent row in
/// the journal, and the resume completes the same run's results there
/// once the folder is gone, sending nothing again.
#[cfg(unix)]
#[test]
fn a_results_file_that_cannot_be_put_in_place_exits_3_and_resume_completes() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        latency_ms: 20,
        ..Faults::default()
    });
    let rows = 20;
    let input = s.customers("klanten.csv", rows);
    let results_path = s.path("out.csv");
    let named = [
        "--results",
        results_path.to_str().unwrap(),
        "--overwrite-outputs",
        "--concurrency",
        "1",
    ];
    let child = spawn_import(&sb, &input, &named);
    wait_until(LIMIT, "the first create", || sb.stats().creates >= 1);
    // A folder where the results file should go: the rename at the end fails.
    std::fs::create_dir_all(results_path.join("in-the-way")).unwrap();
    let out = wait_bounded(child, LIMIT);
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot write {}", results_path.display()))
            && err.contains("every sent row is in the journal")
            && err.contains(&format!(
                "notify-import import {} --resume",
                input.display()
            )),
        "{err}"
    );
    assert_eq!(sb.stats().creates, rows as u64);

    // The resume continues the run's own --results (run.toml), once the
    // folder in the way is gone.
    std::fs::remove_dir_all(&results_path).unwrap();
    let requests = sb.stats().requests;
    let out = import(&sb, &input, &["--resume"]);
    assert_exit(&out, 0);
    let got = assert_universal(&results_path, rows as u64, &sb);
    assert!(got.iter().all(|r| r.status == "created"), "{got:?}");
    assert_eq!(sb.stats().requests, requests, "every row was already done");
}

#[test]
fn keep_runs_removes_only_the_oldest_finished_runs() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("klanten.csv", 3);
    let runs = s.path("klanten.runs");
    assert_exit(&import(&sb, &input, &stop), 3);
    let unfinished = latest_run(&input);
    for _ in 0..3 {
        assert_exit(&validate(&input, &["--keep-runs", "2"]), 0);
    }
    let folders = run_folders(&runs);
    assert_eq!(folders.len(), 3, "{folders:?}");
    assert!(folders.contains(&unfinished), "an unfinished run is kept");
    assert!(unfinished.join("journal").exists());

    // 0 keeps everything.
    assert_exit(&validate(&input, &["--keep-runs", "0"]), 0);
    assert_eq!(run_folders(&runs).len(), 4);

    // Abandoned counts as finished.
    sb.set_faults(Faults::default());
    assert_exit(&import(&sb, &input, &["--restart", "--keep-runs", "2"]), 0);
    let left = run_folders(&runs);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&unfinished));
    assert!(left.contains(&latest_run(&input)));
}

#[test]
fn runs_dir_holds_the_run_folders_and_the_commands_repeat_it() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("klanten.csv", 3);
    let dir = s.path("var/lib/notify-import");
    let runs_dir = ["--runs-dir", dir.to_str().unwrap()];
    let out = import(&sb, &input, &[&stop[..], &runs_dir].concat());
    assert_exit(&out, 3);
    assert!(!s.path("klanten.runs").exists(), "nothing beside the input");
    let folders = run_folders(&dir.join("klanten.runs"));
    assert_eq!(folders.len(), 1);
    assert!(folders[0].join("journal").exists());
    assert!(folders[0].join("summary.json").exists());
    assert!(
        next_line(&out).ends_with(&format!(
            "notify-import import {} --resume --runs-dir {}",
            input.display(),
            dir.display()
        )),
        "{}",
        next_line(&out)
    );

    sb.set_faults(Faults::default());
    let out = import(&sb, &input, &[&["--resume"][..], &runs_dir].concat());
    assert_exit(&out, 0);
    assert_eq!(run_folders(&dir.join("klanten.runs")), folders);
    assert_universal(&folders[0].join("results.csv"), 3, &sb);
}

#[test]
fn a_mistyped_input_leaves_no_runs_folder() {
    let s = Scratch::new();
    let missing = s.path("klantne.csv");
    let out = validate(&missing, &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("klantne.csv"), "{}", stderr(&out));
    assert!(!s.path("klantne.runs").exists());
}

#[test]
fn a_latest_that_is_not_ours_is_reported_and_blocks_no_run_nor_leaves_empty_folders() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 3);
    let latest = s.path("in.runs/latest");
    std::fs::create_dir_all(&latest).unwrap();
    std::fs::write(latest.join("notes.txt"), "mine").unwrap();
    for night in 1..=2 {
        let out = import(&sb, &input, &[]);
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert!(
            err.contains("in.runs/latest is a directory that notify-import did not make")
                && err.contains("move it away"),
            "night {night}: {err}"
        );
    }
    let folders = run_folders(&s.path("in.runs"));
    assert_eq!(folders.len(), 2);
    for folder in &folders {
        assert_universal(&folder.join("results.csv"), 3, &sb);
    }
    assert_eq!(
        std::fs::read_to_string(latest.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(sb.stats().creates, 3, "the second run found them all");
}
