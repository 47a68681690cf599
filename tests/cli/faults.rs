//! Reliability under faults: every test checks the universal promises (one
//! results row per input row, no code created twice, the exit code) plus
//! its own. Servers are the in-process sandbox on 127.0.0.1:0; every run is
//! bounded in time and rows.

use std::time::Duration;

use crate::harness::*;
use notify_import::sandbox::{Faults, JunkMode, RetryAfterStyle};

const LIMIT: Duration = Duration::from_secs(60);

fn sandbox_with_faults(faults: Faults) -> SandboxHandle {
    sandbox::spawn(SandboxOptions {
        faults,
        ..SandboxOptions::default()
    })
    .unwrap()
}

/// Runs an import with fast backoff so retries do not slow the suite.
fn run(sb: &SandboxHandle, input: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--rate", "500", "--burst", "5", "--concurrency", "4"];
    args.extend_from_slice(extra);
    wait_bounded(spawn_import(sb, input, &args), LIMIT)
}

fn all_created(rows: &[ResultRow]) {
    let bad: Vec<_> = rows.iter().filter(|r| r.status != "created").collect();
    assert!(bad.is_empty(), "rows not created: {bad:#?}");
}

#[test]
fn retry_after_pauses_every_worker_for_the_whole_window() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        rate: Some(4.0),
        burst: 1,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 8);
    let out = run(&sb, &input, &["--rate", "200", "--concurrency", "4"]);
    assert_exit(&out, 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 8, &sb);
    all_created(&rows);
    assert_ids_match_server(&rows, &sb);

    let log = sb.request_log();
    let limited: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
    assert!(
        !limited.is_empty(),
        "the sandbox never rate-limited; the test proves nothing"
    );
    assert_quiet_during_pauses(&log);
}

#[test]
fn retry_after_as_http_date_is_honoured() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        rate: Some(5.0),
        burst: 1,
        retry_after: RetryAfterStyle::HttpDate,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 6);
    assert_exit(&run(&sb, &input, &["--rate", "200"]), 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 6, &sb);
    all_created(&rows);
    assert!(sb.stats().rate_limited_429 > 0);
}

#[test]
fn retry_after_above_the_cap_stops_cleanly_and_resume_finishes() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        rate: Some(1.0),
        burst: 1,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 10);
    let out = run(&sb, &input, &["--rate", "200", "--max-retry-after", "0"]);
    assert_exit(&out, 3);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 10, &sb);
    assert!(rows.iter().any(|r| r.status == "skipped"));

    sb.set_faults(Faults::default());
    assert_exit(&run(&sb, &input, &["--resume"]), 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 10, &sb);
    all_created(&rows);
    assert_eq!(
        sb.stats().duplicate_create_attempts,
        0,
        "no row sent again after it was created"
    );
}

#[test]
fn twenty_percent_503_still_creates_everything() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        fail_rate: 0.2,
        seed: 3,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 40);
    assert_exit(&run(&sb, &input, &["--max-attempts", "10"]), 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 40, &sb);
    all_created(&rows);
    assert_ids_match_server(&rows, &sb);
    let stats = sb.stats();
    assert!(stats.faults_injected > 0);
    // Any 5xx to a create leaves it in doubt: the API's own 503 ended its
    // handling, so the code is looked up at once, and once per 503.
    assert_eq!(stats.searches, stats.faults_injected);
    assert_eq!(stats.requests, 40 + 2 * stats.faults_injected);
    assert_eq!(stats.duplicate_create_attempts, 0);
}

#[test]
fn dropped_connections_after_commit_make_no_duplicates_and_keep_the_right_ids() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        drop_rate: 0.1,
        seed: 11,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 40);
    // A dropped connection's create may still land: the look-up waits
    // --timeout after it.
    assert_exit(&run(&sb, &input, &["--timeout", "2"]), 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 40, &sb);
    all_created(&rows);
    assert_ids_match_server(&rows, &sb);
    let stats = sb.stats();
    assert!(
        stats.faults_injected > 0,
        "no connection was dropped; the test proves nothing"
    );
    assert_eq!(stats.creates, 40);
    assert_eq!(
        stats.duplicate_create_attempts, 0,
        "a lost create was sent again"
    );
    assert_eq!(
        stats.searches, stats.faults_injected,
        "one search per lost answer"
    );
}

#[test]
fn a_trickling_body_times_out_and_is_reconciled_without_hanging() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        slow_body_ms: 400,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 4);
    let out = run(&sb, &input, &["--timeout", "1"]);
    assert_exit(&out, 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 4, &sb);
    all_created(&rows);
    assert!(
        rows.iter().all(|r| r.attempts == 2),
        "create + search each: {rows:#?}"
    );
    assert_eq!(sb.stats().duplicate_create_attempts, 0);
}

#[test]
fn junk_answers_are_reconciled_without_duplicates() {
    for (i, junk) in [JunkMode::EmptyOk, JunkMode::Html502, JunkMode::CreatedNoId]
        .into_iter()
        .enumerate()
    {
        let s = Scratch::new();
        let sb = sandbox_with_faults(Faults {
            junk: Some(junk),
            junk_rate: 0.3,
            seed: i as u64,
            ..Faults::default()
        });
        let input = s.customers("in.csv", 20);
        // A 502 page's create may still land: the look-up waits --timeout.
        let out = run(&sb, &input, &["--max-attempts", "10", "--timeout", "2"]);
        assert_exit(&out, 0);
        let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 20, &sb);
        all_created(&rows);
        assert_ids_match_server(&rows, &sb);
        let stats = sb.stats();
        assert!(stats.faults_injected > 0, "{junk:?}: no junk sent");
        assert_eq!(stats.duplicate_create_attempts, 0, "{junk:?}");
    }
}

#[test]
fn a_rejected_row_is_sent_exactly_once() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["C0003".into()],
        ..Faults::default()
    });
    let input = s.customers("in.csv", 5);
    let out = run(&sb, &input, &[]);
    assert_exit(&out, 1);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 5, &sb);
    let bad = &rows[2];
    assert_eq!(
        (bad.status.as_str(), bad.http_status.as_str(), bad.attempts),
        ("failed", "400", 1)
    );
    assert!(
        bad.error.contains("rejected by this sandbox"),
        "{}",
        bad.error
    );
    let posts_for_bad = sb
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.status == 400)
        .count();
    assert_eq!(posts_for_bad, 1);
    assert_eq!(sb.stats().requests, 5);
}

#[test]
fn max_errors_stops_cleanly_with_exit_3() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 30);
    let out = run(
        &sb,
        &input,
        &[
            "--max-errors",
            "3",
            "--max-attempts",
            "1",
            "--concurrency",
            "1",
        ],
    );
    assert_exit(&out, 3);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 30, &sb);
    assert_eq!(rows.iter().filter(|r| r.status == "failed").count(), 3);
    assert_eq!(rows.iter().filter(|r| r.status == "skipped").count(), 27);
    assert_eq!(sb.stats().requests, 3);
}

#[test]
fn server_absent_stops_as_unreachable_then_resume_completes_when_it_is_back() {
    let s = Scratch::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let input = s.customers("in.csv", 12);
    let url = format!("http://127.0.0.1:{port}/v2");
    let absent = |extra: &[&str]| {
        let mut cmd = notify_import();
        cmd.arg(&input)
            .args(["--api-url", &url, "--rate", "500", "--concurrency", "2"])
            .args(extra)
            .env("NOTIFY_API_KEY", TEST_KEY)
            .stderr(std::process::Stdio::piped());
        wait_bounded(cmd.spawn().unwrap(), LIMIT)
    };
    let out = absent(&[]);
    assert_exit(&out, 3);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.status != "created"));

    let sb = sandbox::spawn(SandboxOptions {
        port,
        ..SandboxOptions::default()
    })
    .unwrap();
    let out = absent(&["--resume"]);
    assert_exit(&out, 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 12, &sb);
    all_created(&rows);
}

#[cfg(unix)]
#[test]
fn sigint_finishes_in_flight_writes_results_and_resume_completes() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 80);
    let child = spawn_import(&sb, &input, &["--rate", "50", "--concurrency", "4"]);
    wait_until(LIMIT, "some creates", || sb.stats().creates >= 5);
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 80, &sb);
    let created = rows.iter().filter(|r| r.status == "created").count() as u64;
    assert!(
        rows.iter()
            .all(|r| r.status == "created" || r.status == "skipped")
    );
    assert_eq!(
        created,
        sb.stats().creates,
        "every create the server made is in the results"
    );
    assert!(created < 80, "the run was not interrupted");

    assert_exit(&run(&sb, &input, &["--resume"]), 0);
    let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 80, &sb);
    all_created(&rows);
    assert_ids_match_server(&rows, &sb);
    assert_eq!(sb.stats().duplicate_create_attempts, 0);
}

#[cfg(unix)]
#[test]
fn sigkill_at_any_point_then_resume_completes_without_duplicates_or_resends() {
    for (seed, kill_after) in [(1u64, 1u64), (2, 4), (3, 9), (4, 15), (5, 22)] {
        let s = Scratch::new();
        let sb = sandbox_with_faults(Faults {
            latency_ms: 15,
            latency_random: true,
            seed,
            ..Faults::default()
        });
        let input = s.customers("in.csv", 30);
        let mut child = spawn_import(
            &sb,
            &input,
            &["--rate", "300", "--concurrency", "4", "--timeout", "1"],
        );
        wait_until(LIMIT, "creates before the kill", || {
            sb.stats().creates >= kill_after
        });
        child.kill().unwrap();
        let _ = child.wait();
        let before = sb.stats();

        // A plain re-run is told first that the killed run can be
        // continued (when the kill came before the last create).
        if before.creates < 30 {
            // Another sandbox: a request of the killed run may still be
            // on its way to `sb`.
            let fresh = sandbox();
            let out = run(&fresh, &input, &[]);
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(
                err.contains("an earlier run of ")
                    && err.contains(" of 30 rows (")
                    && err.contains("continue it: notify-import import ")
                    && err.contains(
                        " --resume; or start a new run and leave that one as it is: --restart"
                    ),
                "{err}"
            );
            assert_eq!(fresh.stats().requests, 0, "seed {seed}");
        }

        // The killed run's rows in flight are looked up 2 x --timeout
        // after their last send.
        let out = run(&sb, &input, &["--resume", "--timeout", "1"]);
        assert_exit(&out, 0);
        let rows = assert_universal(&s.path("in.runs/latest/results.csv"), 30, &sb);
        all_created(&rows);
        assert_ids_match_server(&rows, &sb);
        let after = sb.stats();
        assert_eq!(after.creates, 30, "seed {seed}");
        assert_eq!(
            after.duplicate_create_attempts, 0,
            "seed {seed}: a created row was sent again"
        );
        // Rows finished before the kill cost nothing on resume: at most one
        // search or create per row that was not finished.
        let unfinished = 30 - before.creates;
        assert!(
            after.requests - before.requests <= 30 + unfinished,
            "seed {seed}"
        );
    }
}

#[test]
fn resume_refuses_a_modified_input() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    let input = s.customers("in.csv", 3);
    let out = run(&sb, &input, &["--max-attempts", "1", "--max-errors", "1"]);
    assert_exit(&out, 3);
    assert!(
        s.path("in.runs/latest/journal").exists(),
        "a stopped run keeps the journal"
    );
    std::fs::write(
        &input,
        std::fs::read_to_string(&input)
            .unwrap()
            .replace("Utrecht", "Zwolle"),
    )
    .unwrap();
    let requests = sb.stats().requests;
    let out = run(&sb, &input, &["--resume"]);
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, requests, "nothing sent");
}

#[test]
fn an_unfinished_run_blocks_a_new_one_and_overwrite_outputs_does_not_discard_it() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("in.csv", 2);
    assert_exit(&run(&sb, &input, &stop), 3);
    let requests = sb.stats().requests;
    for flags in [&[][..], &["--force"], &["--overwrite-outputs"]] {
        let out = run(&sb, &input, flags);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("an earlier run of "),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(sb.stats().requests, requests, "nothing sent");
    assert_eq!(run_folders(&s.path("in.runs")).len(), 1);
    assert!(
        s.path("in.runs/latest/journal").exists(),
        "the journal is never discarded by a flag"
    );
}
