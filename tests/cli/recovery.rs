//! Issue 20, recovery: an interrupted cron run does not block the next
//! night's new export, and codes a finished run left in doubt (answer
//! lost, look-up failed) are looked up by the next plain run before
//! anything is sent for them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_import::sandbox::Faults;
use serde_json::json;

use crate::cron::{assert_valid_summary, read_json};
use crate::fake::{FakeServer, Reply, Request};
use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Every file under `dir` (links not followed), by path relative to
/// `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_owned(), bytes)
        })
        .collect()
}

/// A night's export: `n` customers with codes `<prefix>0001`...
fn export(s: &Scratch, name: &str, prefix: &str, n: usize) -> PathBuf {
    let mut text = format!("{HEADER}\n");
    for i in 1..=n {
        text.push_str(&format!(
            "{prefix}{i:04},Klant {i} B.V.,Straat {i},1234 AB,Utrecht,NL,Jan {i},0301234{i:03},,klant{i}@example.nl,,,dutch\n"
        ));
    }
    s.file(name, &text)
}

/// Night 1 is interrupted (SIGINT) part way; night 2's export, a new
/// file at the same path, is imported by the same command with no flag:
/// a new run (exit 0, not 2) whose header names the earlier run, which is
/// left byte for byte as it was, marked abandoned; night 2's summary
/// records it, and the sandbox has every night-2 customer, once. Then the
/// same after a kill -9, with a night-4 file of exactly night 3's size
/// (told apart by its content), under `--quiet`; and the same file after
/// an interruption is still refused with the advice to resume.
#[cfg(unix)]
#[test]
fn an_interrupted_night_does_not_block_the_next_nights_new_file() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    });
    let input = export(&s, "nacht.csv", "A", 40);
    let slow = ["--rate", "1000", "--concurrency", "1", "--timeout", "1"];
    let child = spawn_import(&sb, &input, &slow);
    wait_until(LIMIT, "night 1 under way", || sb.stats().creates >= 3);
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let night1 = latest_run(&input);
    assert!(night1.join("journal").exists(), "night 1 is unfinished");
    let before = snapshot(&night1);
    assert!(sb.stats().creates < 40);

    // Night 2: a new export at the same path.
    export(&s, "nacht.csv", "B", 30);
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 0);
    let night2 = latest_run(&input);
    assert_ne!(night2, night1);
    let err = stderr(&out);
    let named = format!(
        "the unfinished run in {} is left as it was and marked abandoned",
        night1.display()
    );
    assert!(err.contains(&named), "{err}");
    assert!(!err.contains("--resume"), "no resume advice: {err}");
    let mut after = snapshot(&night1);
    let mark = after
        .remove(Path::new("abandoned"))
        .expect("night 1 marked abandoned");
    assert!(
        String::from_utf8(mark)
            .unwrap()
            .contains("the input changed"),
        "the mark says why"
    );
    assert_eq!(
        after, before,
        "night 1's files are byte for byte as they were"
    );

    let rows = results(&night2.join("results.csv"));
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
    let by_code = sb.stats().creates_by_code;
    for i in 1..=30 {
        assert_eq!(by_code.get(&format!("B{i:04}")), Some(&1), "B{i:04}");
    }
    assert!(by_code.values().all(|n| *n == 1), "{by_code:?}");
    let summary = read_json(&night2.join("summary.json"));
    assert_valid_summary(&summary);
    assert_eq!(
        summary["abandoned_run"]["folder"].as_str(),
        Some(night1.to_str().unwrap())
    );
    assert_eq!(summary["left_in_doubt"], 0);

    // Night 3 dies by kill -9; night 4's file has night 3's size exactly.
    let night3_input = export(&s, "nacht.csv", "C", 40);
    let mut child = spawn_import(&sb, &night3_input, &slow);
    wait_until(LIMIT, "night 3 under way", || {
        sb.stats()
            .creates_by_code
            .keys()
            .any(|c| c.starts_with('C'))
    });
    child.kill().unwrap();
    let _ = child.wait();
    let night3 = latest_run(&input);
    let before = snapshot(&night3);
    let size = std::fs::metadata(&input).unwrap().len();
    export(&s, "nacht.csv", "D", 40);
    assert_eq!(std::fs::metadata(&input).unwrap().len(), size);
    // The cron recipe's --quiet still says what was left behind.
    let out = import(&sb, &input, &["--quiet"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&format!("the unfinished run in {}", night3.display())),
        "{}",
        stderr(&out)
    );
    let mut after = snapshot(&night3);
    assert!(after.remove(Path::new("abandoned")).is_some());
    assert_eq!(after, before);
    let by_code = sb.stats().creates_by_code;
    assert_eq!(by_code.keys().filter(|c| c.starts_with('D')).count(), 40);
    assert!(by_code.values().all(|n| *n == 1), "{by_code:?}");

    // The same file after an interruption still asks: resume or restart.
    let child = spawn_import(&sb, &export(&s, "nacht.csv", "E", 40), &slow);
    wait_until(LIMIT, "night 5 under way", || {
        sb.stats()
            .creates_by_code
            .keys()
            .any(|c| c.starts_with('E'))
    });
    assert_exit(&interrupt(child, LIMIT), 130);
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
}

/// What the ledger server does with searches.
#[derive(Default)]
struct Ledger {
    /// Creates that landed, per code.
    creates: BTreeMap<String, usize>,
}

/// A server that does not reject a repeated code: every create lands;
/// while `lossy` is set, creates answer 502 (a gateway's page: the answer
/// is lost) and searches 503 (the look-up fails).
fn lossy_api(lossy: Arc<AtomicBool>) -> (FakeServer, Arc<Mutex<Ledger>>) {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let book = ledger.clone();
    let server = FakeServer::start(move |req: &Request| {
        let lost = lossy.load(Ordering::SeqCst);
        let found = |code: &str| json!({"id": format!("id-{code}"), "customerCode": code});
        if let Some(code) = req.customer_code() {
            *book
                .lock()
                .unwrap()
                .creates
                .entry(code.clone())
                .or_default() += 1;
            return if lost {
                Reply {
                    status: 502,
                    body: b"<html><h1>502 Bad Gateway</h1></html>".to_vec(),
                    ..Reply::default()
                }
            } else {
                Reply::json(201, &found(&code))
            };
        }
        if lost {
            return Reply::json(503, &json!({"status": 503, "title": "Service Unavailable"}));
        }
        match req.searched_code() {
            Some(code) if book.lock().unwrap().creates.contains_key(&code) => {
                Reply::json(200, &found(&code))
            }
            _ => Reply::json(404, &json!({"status": 404, "title": "Not Found"})),
        }
    });
    (server, ledger)
}

/// Run 1 loses every answer and cannot look anything up: its rows end
/// `failed`, in doubt, and its advice is a plain re-run. Run 2, that
/// command as printed (no `--resume`), looks each code up before sending
/// anything: every customer exists exactly once on a server that would
/// take a second create, and is reported with its id.
#[test]
fn rows_left_in_doubt_by_a_finished_run_are_looked_up_by_the_next_plain_run() {
    let lossy = Arc::new(AtomicBool::new(true));
    let (api, ledger) = lossy_api(lossy.clone());
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let run = |args: &[&str]| {
        notify_import()
            .args(args)
            .args(["--timeout", "1", "--max-attempts", "2", "--rate", "1000"])
            .env("NOTIFY_API_KEY", TEST_KEY)
            .current_dir(s.dir.path())
            .output()
            .unwrap()
    };
    let url = api.base_url();
    let out = run(&["import", "in.csv", "--api-url", &url]);
    assert_exit(&out, 1);
    let first = latest_run(&input);
    assert!(!first.join("journal").exists(), "run 1 finished");
    let rows = results(&first.join("results.csv"));
    assert!(rows.iter().all(|r| r.status == "failed"), "{rows:?}");
    assert!(
        rows.iter().all(|r| r
            .error
            .contains("the next import of this input looks it up")),
        "{rows:?}"
    );
    let summary = read_json(&first.join("summary.json"));
    assert_valid_summary(&summary);
    assert_eq!(summary["left_in_doubt"], 3);
    let next = next_line(&out);
    assert!(
        next.starts_with("3 customers may exist although their answers were lost"),
        "{next}"
    );
    let command = next.rsplit_once(": ").unwrap().1;
    assert!(
        !command.contains("--resume") && !command.contains('\''),
        "{command}"
    );
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        words[..3],
        ["notify-import", "import", "in.csv"],
        "{command}"
    );
    assert_eq!(ledger.lock().unwrap().creates.len(), 3);

    lossy.store(false, Ordering::SeqCst);
    let posts_before = crate::fake::posts_by_code(&api);
    let out = run(&words[1..]);
    assert_exit(&out, 0);
    let creates = ledger.lock().unwrap().creates.clone();
    assert_eq!(creates.len(), 3);
    assert!(
        creates.values().all(|n| *n == 1),
        "created twice: {creates:?}"
    );
    assert_eq!(
        crate::fake::posts_by_code(&api),
        posts_before,
        "nothing was sent again"
    );
    let second = latest_run(&input);
    assert_ne!(second, first);
    for row in results(&second.join("results.csv")) {
        assert_eq!(row.status, "created", "{row:?}");
        assert_eq!(row.customer_id, format!("id-{}", row.customer_code));
    }
    let summary = read_json(&second.join("summary.json"));
    assert_eq!(summary["left_in_doubt"], 0, "settled");
    assert!(stderr(&out).contains("3 codes an earlier run left in doubt"));
}

/// `--resume` maps the columns as the stopped run did: another `--map`,
/// or none, is refused naming the difference; the same one finishes.
#[cfg(unix)]
#[test]
fn resume_refuses_another_map_and_continues_with_the_same() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    });
    let mut text = "Klantnummer,Firma naam,Bedrijf\n".to_owned();
    for i in 1..=40 {
        text.push_str(&format!("K{i:04},Firma {i},Bedrijf {i}\n"));
    }
    let input = s.file("map.csv", &text);
    let map = [
        "--map",
        "CustomerCode=Klantnummer",
        "--map",
        "Name=Firma naam",
    ];
    let slow = ["--rate", "1000", "--concurrency", "1", "--timeout", "1"];
    let child = spawn_import(&sb, &input, &[&map[..], &slow[..]].concat());
    wait_until(LIMIT, "creates before the interrupt", || {
        sb.stats().creates >= 3
    });
    assert_exit(&interrupt(child, LIMIT), 130);
    let creates = sb.stats().creates;

    for other in [
        &["--map", "CustomerCode=Klantnummer", "--map", "Name=Bedrijf"][..],
        &["--map", "CustomerCode=Klantnummer"][..],
    ] {
        let out = import(&sb, &input, &[other, &["--resume"]].concat());
        assert_exit(&out, 2);
        let err = stderr(&out);
        // Named by run.toml's check (settings) before the journal's.
        assert!(
            err.contains("--map") && err.contains("Firma naam") && err.contains("--resume"),
            "{err}"
        );
        assert_eq!(sb.stats().creates, creates, "nothing sent");
    }
    let out = import(&sb, &input, &[&map[..], &["--resume"]].concat());
    assert_exit(&out, 0);
    let rows = results(&latest_run(&input).join("results.csv"));
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
}

/// "stopped after X of Y rows" counts every row the stopped run finished:
/// its invalid rows and its failed one, not only the rows it sent.
#[test]
fn stopped_after_counts_every_finished_row_not_only_the_sent_ones() {
    let s = Scratch::new();
    let (sb, flags) = stopping_sandbox();
    let mut text = format!("{HEADER}\n");
    for i in 1..=10 {
        // Rows 1-3 have no name: invalid, never sent.
        let name = if i <= 3 {
            String::new()
        } else {
            format!("Klant {i}")
        };
        text.push_str(&format!("C{i:04},{name},,,,NL,,,,,,,\n"));
    }
    let input = s.file("k.csv", &text);
    let out = import(&sb, &input, &flags);
    assert_exit(&out, 3);
    let stopped = latest_run(&input);
    let rows = results(&stopped.join("results.csv"));
    let finished = rows.iter().filter(|r| r.status != "skipped").count();
    assert_eq!(finished, 4, "3 invalid and 1 failed: {rows:?}");

    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("stopped after 4 of 10 rows"), "{err}");
}

/// `--keep-runs` removes only what runs of this input wrote: the runs of
/// an import of an old run's errors file (nested in its folder) stay, with
/// that folder, and a link planted in an old folder in place of one of its
/// files is removed as a link, never followed.
#[cfg(unix)]
#[test]
fn keep_runs_never_removes_a_nested_run_nor_follows_a_planted_link() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.path("klanten.csv");
    copy_sample("customers.csv", &input);
    assert_exit(&import(&sb, &input, &[]), 1);
    let first = latest_run(&input);
    // The errors file imported as it is: its runs are inside `first`.
    assert_exit(&import(&sb, &first.join("errors.csv"), &[]), 1);
    let nested = run_folders(&first.join("errors.runs"));
    assert_eq!(nested.len(), 1);
    let nested_files = files_under(&nested[0]);
    assert!(!nested_files.is_empty());

    assert_exit(&import(&sb, &input, &[]), 1);
    let second = latest_run(&input);
    let victim = s.file("victim.txt", "precious");
    std::fs::remove_file(second.join("summary.json")).unwrap();
    std::os::unix::fs::symlink(&victim, second.join("summary.json")).unwrap();
    let elsewhere = s.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("keep.csv"), "mine").unwrap();
    std::fs::remove_file(second.join("results.csv")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, second.join("results.csv")).unwrap();

    let out = import(&sb, &input, &["--keep-runs", "1"]);
    assert_exit(&out, 1);
    let left = run_folders(&s.path("klanten.runs"));
    assert_eq!(left, [first.clone(), latest_run(&input)], "the second went");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("keep.csv")).unwrap(),
        "mine"
    );
    for f in &nested_files {
        assert!(f.exists(), "{} kept", f.display());
    }
    let names: Vec<String> = std::fs::read_dir(&first)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["errors.runs"], "the first run's own files went");
    assert!(
        stderr(&out).contains("--keep-runs: kept"),
        "{}",
        stderr(&out)
    );
}

/// The report of an import that met 429s says how long sending was
/// paused (issue 22), in the pace table beside the 429 count.
#[test]
fn the_report_shows_the_time_spent_paused() {
    let sb = sandbox_with_faults(Faults {
        rate: Some(4.0),
        burst: 1,
        ..Faults::default()
    });
    let s = Scratch::new();
    let input = s.customers("k.csv", 8);
    let out = notify_import()
        .arg("import")
        .arg(&input)
        .args(["--api-url", &sb.base_url(), "--rate", "40", "--burst", "4"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let folder = latest_run(&input);
    let summary = read_json(&folder.join("summary.json"));
    assert!(summary["rate_limited"].as_u64().unwrap() > 0, "{summary}");
    let page = std::fs::read_to_string(folder.join("report.html")).unwrap();
    let row = page
        .split("Time spent paused")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no paused time in the report"));
    assert!(row.contains(" s (after 429 answers"), "{row}");
    assert!(!row.contains("none"), "{row}");
}

/// An unfinished run whose journal cannot be read cannot be resumed: the
/// refusal offers only what works, `--restart`, and that command works.
#[test]
fn an_unreadable_journal_is_not_offered_for_resume() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("k.csv", 3);
    assert_exit(&import(&sb, &input, &stop), 3);
    let stopped = latest_run(&input);
    std::fs::write(stopped.join("journal"), "not a journal\n").unwrap();
    sb.set_faults(Faults::default());
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("cannot be resumed"), "{err}");
    assert!(!err.contains("--resume"), "{err}");
    let command = err.trim_end().rsplit_once("as it is: ").unwrap().1;
    assert!(command.ends_with(" --restart"), "{command}");
    let words: Vec<&str> = command.split_whitespace().collect();
    let out = notify_import()
        .args(&words[1..])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(stopped.join("abandoned").exists());
}

/// A `--resume` that has nothing left to send still continues a run that
/// sent: run 1 creates C0001, then stops at `--max-errors 1` on C0002
/// (rejected, 400) with every row done (exit 3, journal kept); its
/// resume sends nothing and finishes (exit 1, C0002 failed). The run
/// folder keeps what run 1 created as `journal.done`, so `undo` of that
/// folder deletes C0001 (before the fix the resume removed the journal,
/// as for a run that sent nothing, and undo found "nothing to undo").
#[test]
fn a_resume_that_sends_nothing_keeps_what_the_run_created_for_undo() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["C0002".into()],
        ..Faults::default()
    });
    let input = s.customers("in.csv", 2);
    let out = import(
        &sb,
        &input,
        &["--concurrency", "1", "--rate", "1000", "--max-errors", "1"],
    );
    assert_exit(&out, 3);
    let folder = latest_run(&input);
    assert!(folder.join("journal").exists(), "run 1 is unfinished");
    assert_eq!(sb.stats().creates, 1);

    let before = sb.stats().requests;
    let out = import(&sb, &input, &["--resume"]);
    assert_exit(&out, 1);
    assert_eq!(
        sb.stats().requests,
        before,
        "the resume had nothing to send"
    );
    assert_eq!(latest_run(&input), folder, "the same run, finished");
    assert!(
        !folder.join("journal").exists(),
        "finished: nothing to resume"
    );
    assert!(
        folder.join("journal.done").exists(),
        "what run 1 created stays readable: {:?}",
        files_under(&folder)
    );

    let out = notify_import()
        .arg("undo")
        .arg(&folder)
        .args(["--api-url", &sb.base_url()])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(sb.stats().deletes, 1);
    assert!(by_code(&sb).is_empty(), "C0001 deleted");
}
