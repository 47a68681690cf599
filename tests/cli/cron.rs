//! Nightly cron use: the run lock, `--summary-json` against its schema,
//! delta mode (`--state`, `--full`) and output when stderr is not a terminal.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use notify_import::sandbox::Faults;
use serde_json::Value;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

/// A sandbox that answers every request after `latency_ms`.
fn slow_sandbox(latency_ms: u64) -> SandboxHandle {
    sandbox_with_faults(Faults {
        latency_ms,
        ..Faults::default()
    })
}

/// Every violation of `schema/summary.schema.json` by `doc`, if any.
fn schema_violations(doc: &Value) -> Option<String> {
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/summary.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("summary.schema.json", schema)
        .expect("schema loads");
    let index = compiler
        .compile("summary.schema.json", &mut schemas)
        .expect("schema compiles");
    schemas.validate(doc, index).err().map(|e| format!("{e:#}"))
}

/// Checks `doc` against the schema; panics with every violation.
#[track_caller]
pub fn assert_valid_summary(doc: &Value) {
    if let Some(e) = schema_violations(doc) {
        panic!("summary does not match the schema: {e}\n{doc:#}");
    }
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary written"))
        .expect("summary is JSON")
}

/// Rows per status in a results file.
fn tally(rows: &[ResultRow]) -> BTreeMap<String, u64> {
    let mut t = BTreeMap::new();
    for r in rows {
        *t.entry(r.status.clone()).or_default() += 1;
    }
    t
}

#[track_caller]
pub fn assert_counts_match(doc: &Value, rows: &[ResultRow]) {
    let tally = tally(rows);
    let counts = doc["counts"].as_object().unwrap();
    for (status, n) in counts {
        assert_eq!(
            n.as_u64().unwrap(),
            tally.get(status).copied().unwrap_or(0),
            "count of {status}"
        );
    }
    for status in tally.keys() {
        assert!(counts.contains_key(status), "status {status} not counted");
    }
    assert_eq!(doc["rows"].as_u64().unwrap(), rows.len() as u64);
}

// ---- run lock ----

#[test]
fn a_second_run_of_the_same_input_is_refused_at_once_names_the_holder_and_writes_no_summary() {
    let s = Scratch::new();
    // The monitoring file as an earlier night left it.
    let summary = s.file("monitor.json", "{\"result\":\"ok\"}\n");
    let busy = slow_sandbox(100);
    // 200 rows one at a time at 100 ms each: far longer than this test.
    let input = s.customers("in.csv", 200);
    let monitor = [
        "--summary-json",
        summary.to_str().unwrap(),
        "--overwrite-outputs",
    ];
    let mut first = spawn_import(
        &busy,
        &input,
        &[&["--rate", "1000", "--concurrency", "1"][..], &monitor].concat(),
    );
    wait_until(LIMIT, "the first run to send", || {
        busy.stats().requests >= 1
    });

    let other = sandbox();
    let out = import(&other, &input, &monitor);
    let first_still_running = first.try_wait().unwrap().is_none();
    first.kill().unwrap();
    let _ = first.wait();

    assert_exit(&out, 2);
    assert!(first_still_running, "the second run waited for the first");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "another import is running (pid {}, since ",
            first.id()
        )),
        "{stderr}"
    );
    assert_eq!(other.stats().requests, 0, "the refused run sent nothing");
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "{\"result\":\"ok\"}\n",
        "the refused run wrote no summary over the running run's"
    );
    assert_eq!(run_folders(&s.path("in.runs")).len(), 1, "nor a run folder");
}

#[test]
fn a_run_refused_by_the_state_lock_writes_no_summary_either() {
    let s = Scratch::new();
    let summary = s.file("monitor.json", "{\"result\":\"ok\"}\n");
    let state = s.path("state.db");
    let busy = slow_sandbox(100);
    let first_input = s.customers("a.csv", 200);
    let shared = [
        "--state",
        state.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
        "--overwrite-outputs",
    ];
    let mut first = spawn_import(
        &busy,
        &first_input,
        &[&["--rate", "1000", "--concurrency", "1"][..], &shared].concat(),
    );
    wait_until(LIMIT, "the first run to send", || {
        busy.stats().requests >= 1
    });
    let other = sandbox();
    let second_input = s.customers("b.csv", 2);
    let out = import(&other, &second_input, &shared);
    let first_still_running = first.try_wait().unwrap().is_none();
    first.kill().unwrap();
    let _ = first.wait();

    assert_exit(&out, 2);
    assert!(first_still_running, "the second run waited for the first");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another import is running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(other.stats().requests, 0);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "{\"result\":\"ok\"}\n"
    );
    assert!(run_folders(&s.path("b.runs")).is_empty());
}

#[test]
fn the_state_lock_is_taken_at_the_start_even_before_the_state_file_exists() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    let (state, summary) = (s.path("state.db"), s.path("monitor.json"));
    // Another process holds the lock of a state not written yet: its own
    // open of the lock file, locked, with its pid inside.
    let holder = std::fs::File::create(s.path("state.db.lock")).unwrap();
    holder.try_lock().unwrap();
    std::io::Write::write_all(&mut &holder, b"pid 4242\nsince 2026-01-01T00:00:00Z\n").unwrap();
    let out = import(
        &sb,
        &input,
        &[
            "--state",
            state.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("another import is running (pid 4242, since 2026-01-01T00:00:00Z); it holds ")
            && err.contains("state.db.lock"),
        "{err}"
    );
    assert_eq!(sb.stats().requests, 0);
    assert!(
        !summary.exists(),
        "refused before the run started: no summary"
    );
    assert!(
        !state.exists() && !s.path("in.runs").exists(),
        "nor any other file"
    );
}

#[cfg(unix)]
#[test]
fn the_lock_of_a_killed_run_does_not_block_the_next_run() {
    let s = Scratch::new();
    let sb = slow_sandbox(100);
    let input = s.customers("in.csv", 30);
    let mut child = spawn_import(
        &sb,
        &input,
        &["--rate", "1000", "--concurrency", "1", "--timeout", "1"],
    );
    wait_until(LIMIT, "creates before the kill", || sb.stats().creates >= 3);
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    let _ = child.wait();
    assert!(
        s.path("in.runs/lock").exists(),
        "the killed run's lock file is still there"
    );

    sb.set_faults(Faults::default());
    let out = import(&sb, &input, &["--resume", "--timeout", "1"]);
    assert_exit(&out, 0);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(rows.len(), 30);
    let stats = sb.stats();
    assert_eq!(stats.creates, 30);
    assert!(stats.creates_by_code.values().all(|n| *n == 1));
}

#[cfg(unix)]
#[test]
fn one_run_per_input_file_through_a_link_another_path_or_another_runs_dir() {
    let s = Scratch::new();
    // Slow enough that the first run is surely still sending while the
    // others are refused; sped up once they have been.
    let busy = slow_sandbox(500);
    let input = s.customers("in.csv", 30);
    std::os::unix::fs::symlink("in.csv", s.path("alias.csv")).unwrap();
    std::fs::create_dir(s.path("sub")).unwrap();
    let elsewhere = s.path("elsewhere");
    let mut first = spawn_import(&busy, &input, &["--rate", "1000", "--concurrency", "1"]);
    wait_until(LIMIT, "the first run to send", || {
        busy.stats().requests >= 1
    });

    let through_link = import(&busy, &s.path("alias.csv"), &[]);
    let other_runs_dir = import(&busy, &input, &["--runs-dir", elsewhere.to_str().unwrap()]);
    let other_relative_path = notify_import()
        .current_dir(s.path("sub"))
        .args(["import", "../in.csv", "--api-url", &busy.base_url()])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    let first_still_running = first.try_wait().unwrap().is_none();
    busy.set_faults(Faults::default());
    let holder = format!("another import is running (pid {}", first.id());
    let first = wait_bounded(first, LIMIT);

    assert!(
        first_still_running,
        "the others ran while the first was busy"
    );
    for (how, out) in [
        ("through a link", &through_link),
        ("with another --runs-dir", &other_runs_dir),
        ("through another relative path", &other_relative_path),
    ] {
        assert_exit(out, 2);
        assert!(stderr(out).contains(&holder), "{how}: {}", stderr(out));
    }
    assert!(
        stderr(&through_link).contains("in.csv, which")
            && stderr(&through_link).contains("alias.csv leads to"),
        "{}",
        stderr(&through_link)
    );
    assert!(
        !s.path("alias.runs").exists() && !elsewhere.exists(),
        "a refused run makes no runs folder"
    );
    assert_exit(&first, 0);
    let stats = busy.stats();
    assert_eq!(stats.creates, 30);
    assert_eq!(stats.creates_by_code.len(), 30);
    assert!(
        stats.creates_by_code.values().all(|n| *n == 1),
        "{:?}",
        stats.creates_by_code
    );
    assert_eq!(results(&s.path("in.runs/latest/results.csv")).len(), 30);
}

// ---- --summary-json ----

#[test]
fn summary_json_validates_against_the_schema_and_its_counts_equal_the_results_file() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["10003".into()],
        ..Faults::default()
    });
    let input = s.path("customers.csv");
    copy_sample("customers.csv", &input);
    let summary = s.path("summary.json");
    let out = import(&sb, &input, &["--summary-json", summary.to_str().unwrap()]);
    assert_exit(&out, 1);

    let doc = read_json(&s.path("summary.json"));
    assert_valid_summary(&doc);
    let rows = results(&s.path("customers.runs/latest/results.csv"));
    assert_counts_match(&doc, &rows);
    assert_eq!(doc["counts"]["invalid"], 5);
    assert_eq!(doc["counts"]["failed"], 1);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["result"], "rows_failed");
    assert_eq!(doc["mode"], "import");
    assert_eq!(doc["requests"].as_u64(), Some(sb.stats().requests));
    assert_eq!(doc["target"]["key_kind"], "test");
    assert_eq!(doc["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let run = latest_run(&input);
    assert_eq!(
        doc["files"]["run_folder"].as_str().map(Path::new),
        Some(run.as_path())
    );
    assert_eq!(
        doc["files"]["results"].as_str().map(Path::new),
        Some(run.join("results.csv").as_path())
    );
    assert_eq!(
        doc["files"]["errors"].as_str().map(Path::new),
        Some(run.join("errors.csv").as_path()),
        "invalid and failed rows went to the errors file"
    );
    assert_eq!(doc["input"]["encoding"], "UTF-8");
    assert_eq!(doc["input"]["delimiter"], ",");
    let fp = doc["input"]["fingerprint"].as_str().unwrap();
    assert!(fp.starts_with("xxh3-128:"), "{fp}");
    assert_eq!(
        doc["input"]["size_bytes"].as_u64(),
        Some(std::fs::metadata(&input).unwrap().len())
    );
}

#[test]
fn summary_json_to_stdout_is_the_only_thing_on_stdout() {
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let out = validate(&input, &["--summary-json", "-"]);
    assert_exit(&out, 0);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_valid_summary(&doc);
    assert_eq!(doc["mode"], "check");
    assert_eq!(doc["counts"]["valid"], 3);
    assert_eq!(doc["requests"], 0);
    assert!(doc["target"].is_null());
    assert_counts_match(&doc, &results(&s.path("in.runs/latest/results.csv")));

    // The schema has teeth: an unknown field, a missing one or a new
    // status would all be caught.
    let mut extra = doc.clone();
    extra["surprise"] = Value::Bool(true);
    assert!(schema_violations(&extra).is_some());
    let mut missing = doc.clone();
    missing.as_object_mut().unwrap().remove("retries");
    assert!(schema_violations(&missing).is_some());
    let mut status = doc.clone();
    status["counts"]["pending"] = Value::from(0);
    assert!(schema_violations(&status).is_some());
}

#[test]
fn summary_json_reports_the_detected_encoding_and_delimiter() {
    let s = Scratch::new();
    let input = s.path("export.csv");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/samples/dutch-export.csv"),
        &input,
    )
    .unwrap();
    let summary = s.path("s.json");
    let out = validate(&input, &["--summary-json", summary.to_str().unwrap()]);
    assert_exit(&out, 1);
    let doc = read_json(&summary);
    assert_valid_summary(&doc);
    assert_eq!(doc["input"]["encoding"], "windows-1252");
    assert_eq!(doc["input"]["delimiter"], ";");
    assert_counts_match(&doc, &results(&s.path("export.runs/latest/results.csv")));
}

#[test]
fn a_setup_error_of_a_started_run_still_writes_a_valid_summary() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.file("in.csv", "Name,City\nACME,Utrecht\n");
    let summary = s.path("s.json");
    let out = import(&sb, &input, &["--summary-json", summary.to_str().unwrap()]);
    assert_exit(&out, 2);
    let doc = read_json(&s.path("s.json"));
    assert_valid_summary(&doc);
    assert_eq!(doc["result"], "setup_error");
    assert_eq!(doc["rows"], 0);
    assert!(doc["files"]["results"].is_null());
    assert!(doc["input"]["encoding"].is_null(), "stopped before reading");
    assert!(doc["error"].as_str().unwrap().contains("CustomerCode"));
    assert_eq!(
        std::fs::read(s.path("in.runs/latest/summary.json")).unwrap(),
        std::fs::read(&summary).unwrap(),
        "the run folder holds the same summary"
    );
    assert_eq!(sb.stats().requests, 0);
}

// ---- delta mode ----

/// The nightly scenario: run 1 creates N; run 2 with three rows edited and
/// one added sends exactly four requests and marks the rest unchanged.
#[test]
fn nightly_delta_sends_only_new_and_changed_rows() {
    const N: usize = 20;
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", N);
    let state = s.path("state.db");
    let state_arg = state.to_str().unwrap();

    assert_exit(&import(&sb, &input, &["--state", state_arg]), 0);
    let first = results(&s.path("in.runs/latest/results.csv"));
    assert!(first.iter().all(|r| r.status == "created"));
    assert_eq!(sb.stats().requests, N as u64);

    // Edit three rows, add one.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for i in [2, 9, 17] {
        lines[i] = lines[i].replace("Utrecht", "Zwolle");
    }
    lines.push(format!(
        "C{:04},Nieuwe Klant B.V.,Laan 1,1234 AB,Ede,NL,,,,nieuw@example.nl,,,dutch",
        N + 1
    ));
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let before = sb.stats();
    let summary = s.path("s.json");
    let out = import(
        &sb,
        &input,
        &[
            "--state",
            state_arg,
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let after = sb.stats();
    assert_eq!(after.requests - before.requests, 4, "exactly four requests");
    assert_eq!(after.overwrites - before.overwrites, 3);
    assert_eq!(after.creates - before.creates, 1);
    assert!(after.creates_by_code.values().all(|n| *n == 1));

    let second = results(&s.path("in.runs/latest/results.csv"));
    let t = tally(&second);
    assert_eq!(t.get("unchanged"), Some(&(N as u64 - 3)));
    assert_eq!(t.get("overwritten"), Some(&3));
    assert_eq!(t.get("created"), Some(&1));
    for r in second.iter().filter(|r| r.status != "created") {
        let was = &first[(r.row - 1) as usize];
        assert_eq!(r.customer_id, was.customer_id, "row {} keeps its id", r.row);
    }
    for i in [2u64, 9, 17] {
        assert_eq!(second[(i - 1) as usize].status, "overwritten", "row {i}");
    }
    let stored = sb.customers();
    assert_eq!(
        stored
            .iter()
            .filter(|c| c.city.as_deref() == Some("Zwolle"))
            .count(),
        3,
        "the edits reached the API"
    );
    let doc = read_json(&s.path("s.json"));
    assert_valid_summary(&doc);
    assert_counts_match(&doc, &second);
    assert_eq!(doc["requests"], 4);
    assert_eq!(doc["delta"]["full"], false);

    // A third run with nothing changed sends nothing at all.
    let before = sb.stats();
    assert_exit(&import(&sb, &input, &["--state", state_arg]), 0);
    assert_eq!(sb.stats().requests, before.requests);
    let third = results(&s.path("in.runs/latest/results.csv"));
    assert!(third.iter().all(|r| r.status == "unchanged"));
}

#[test]
fn full_sends_every_row_despite_the_state() {
    const N: usize = 8;
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", N);
    let state = s.path("state.db");
    let state_arg = state.to_str().unwrap();
    assert_exit(&import(&sb, &input, &["--state", state_arg]), 0);

    let before = sb.stats().requests;
    let out = import(&sb, &input, &["--state", state_arg, "--full"]);
    assert_exit(&out, 0);
    assert_eq!(sb.stats().requests - before, N as u64, "every row sent");
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert!(rows.iter().all(|r| r.status == "exists"), "{rows:?}");

    // The state is still there for the next ordinary run.
    let before = sb.stats().requests;
    assert_exit(&import(&sb, &input, &["--state", state_arg]), 0);
    assert_eq!(sb.stats().requests, before);
}

#[test]
fn failed_rows_are_not_recorded_and_are_sent_again_next_night() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["C0002".into()],
        ..Faults::default()
    });
    let input = s.customers("in.csv", 3);
    let state = s.path("state.db");
    let state_arg = state.to_str().unwrap();
    assert_exit(&import(&sb, &input, &["--state", state_arg]), 1);

    sb.set_faults(Faults::default());
    let before = sb.stats();
    // No flag: a run that reached the end of its file does not block the next.
    assert_exit(&import(&sb, &input, &["--state", state_arg]), 0);
    let after = sb.stats();
    assert_eq!(after.requests - before.requests, 1, "only the failed row");
    assert_eq!(after.creates_by_code["C0002"], 1);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(
        rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ["unchanged", "created", "unchanged"]
    );
}

#[test]
fn a_state_written_for_another_api_is_refused_before_sending() {
    let s = Scratch::new();
    let a = sandbox();
    let b = sandbox();
    let input = s.customers("in.csv", 2);
    let state_arg = s.path("state.db").to_str().unwrap().to_owned();
    assert_exit(&import(&a, &input, &["--state", &state_arg]), 0);
    let out = import(&b, &input, &["--state", &state_arg]);
    assert_exit(&out, 2);
    assert_eq!(b.stats().requests, 0);
    assert!(
        !s.path("in.runs/latest/journal").exists(),
        "a refused run leaves no journal"
    );
}

// ---- output off a terminal ----

#[test]
fn off_a_terminal_progress_comes_as_plain_lines_and_quiet_keeps_only_the_summary() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 20);
    // 20 rows at 10/s take at least 1.9 s: several 0.3 s intervals.
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &sb.base_url()])
        .args(["--rate", "10", "--progress-interval", "0.3"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\x1b'),
        "no colours or cursor moves off a terminal"
    );
    assert!(!stderr.contains('\r'), "no carriage returns off a terminal");
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(progress.len() >= 2, "{stderr}");
    assert!(
        progress
            .iter()
            .all(|l| l.contains("/20 rows") && l.contains(", eta ")),
        "{progress:?}"
    );
    // Once a second has passed: the rates achieved lately, not the pace.
    assert!(
        progress
            .iter()
            .any(|l| l.contains("rows/s, ") && l.contains(" req/s answered over the last 10 s")),
        "{progress:?}"
    );

    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &sb.base_url()])
        .args(["--rate", "10", "--progress-interval", "0.3", "--quiet"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "only the one-line summary: {stderr}");
    assert!(lines[0].starts_with("20 rows: 20 exists"), "{stderr}");
}

#[test]
fn json_logs_are_one_json_object_per_line() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 5);
    let out = import(&sb, &input, &["--log-format", "json", "-v"]);
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "notify_import::summary"),
        "{stderr}"
    );
}

#[test]
fn summary_json_counts_429s_and_retries_as_the_server_saw_them() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        rate: Some(4.0),
        burst: 1,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 6);
    let summary = s.path("s.json");
    let out = import(
        &sb,
        &input,
        &[
            "--concurrency",
            "4",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let doc = read_json(&summary);
    assert_valid_summary(&doc);
    let stats = sb.stats();
    assert!(
        stats.rate_limited_429 > 0,
        "the test needs 429s to prove anything"
    );
    assert_eq!(doc["rate_limited"].as_u64(), Some(stats.rate_limited_429));
    assert_eq!(doc["requests"].as_u64(), Some(stats.requests));
    // Every request beyond one per row was a retry.
    assert_eq!(
        doc["retries"].as_u64(),
        Some(stats.requests - 6),
        "retries = requests - rows"
    );
}
