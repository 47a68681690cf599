//! Issue 23 part 1: never two creates, whatever the server enforces. A
//! [`FakeServer`] with a ledger of the creates that landed per code, which
//! can act on a create after the client gave up on it (its answer comes
//! past `--timeout`) or answer 5xx after creating. What is asserted is
//! what the server's ledger holds, the results file and the exit code.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::fake::{FakeServer, Reply, Request};
use crate::harness::*;

/// How the ledger server treats a create of a code.
#[derive(Debug, Clone, Copy)]
enum Create {
    /// Creates it, then answers 201.
    Plain,
    /// Creates it after `SLOW` (past the client's `--timeout 1`), then
    /// answers 201 to a client that has long hung up.
    Slow,
    /// Creates it, then answers 500 with the API's problem JSON.
    Error500,
    /// Creates it, then answers 502 with a gateway's HTML page.
    Gateway502,
}

/// A create outlives `--timeout 1` by half of it, as in the issue.
const SLOW: Duration = Duration::from_millis(1500);

/// The creates that landed, per code (a repeat is a second customer), and
/// the POSTs refused because the code existed (when it enforces).
#[derive(Default)]
struct Ledger {
    creates: BTreeMap<String, usize>,
    refused: BTreeMap<String, usize>,
}

/// Starts a ledger server: `how` says what a create of each code does;
/// `enforce`: a repeated code gets 409 instead of a second customer.
fn ledger_api(
    how: impl Fn(&str) -> Create + Send + Sync + 'static,
    enforce: bool,
) -> (FakeServer, Arc<Mutex<Ledger>>) {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let book = ledger.clone();
    let server = FakeServer::start(move |req: &Request| {
        let found = |code: &str| json!({"id": format!("id-{code}"), "customerCode": code});
        if let Some(code) = req.customer_code() {
            let how = how(&code);
            if matches!(how, Create::Slow) {
                std::thread::sleep(SLOW);
            }
            let mut l = book.lock().unwrap();
            if enforce && l.creates.contains_key(&code) {
                *l.refused.entry(code.clone()).or_default() += 1;
                return Reply::json(
                    409,
                    &json!({"status": 409, "title": "Conflict", "detail": "Customer code already exists"}),
                );
            }
            *l.creates.entry(code.clone()).or_default() += 1;
            return match how {
                Create::Plain | Create::Slow => Reply::json(201, &found(&code)),
                Create::Error500 => Reply::json(
                    500,
                    &json!({"status": 500, "title": "Internal Server Error", "detail": "database hiccup"}),
                ),
                Create::Gateway502 => Reply {
                    status: 502,
                    body: b"<html><h1>502 Bad Gateway</h1></html>".to_vec(),
                    ..Reply::default()
                },
            };
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

/// `notify-import import FILE --api-url URL --timeout 1` plus `extra`.
fn import_command(url: &str, file: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = notify_import();
    cmd.arg("import")
        .arg(file)
        .args(["--api-url", url, "--timeout", "1", "--rate", "1000"])
        .args(extra)
        .env("NOTIFY_API_KEY", TEST_KEY);
    cmd
}

#[track_caller]
fn assert_each_created_once(ledger: &Mutex<Ledger>, codes: usize) {
    let l = ledger.lock().unwrap();
    assert_eq!(l.creates.len(), codes, "{:?}", l.creates);
    assert!(
        l.creates.values().all(|n| *n == 1),
        "created twice: {:?}",
        l.creates
    );
    assert!(
        l.refused.is_empty(),
        "posted again after it existed: {:?}",
        l.refused
    );
}

/// A create that outlives `--timeout` (the server acts on it after the
/// client hung up), a 500 in the API's JSON after creating, and a 502
/// gateway page after creating: each row is in doubt, looked up only once
/// its create can no longer land, found, and reported `created` with its
/// id; every code is created exactly once, on a server that enforces
/// nothing and on one that refuses repeats (which would turn a second
/// create into `exists`).
#[test]
fn a_create_in_doubt_is_looked_up_once_it_can_no_longer_land_and_never_sent_twice() {
    for enforce in [false, true] {
        let (api, ledger) = ledger_api(
            |code| match code {
                "C0001" | "C0002" => Create::Slow,
                "C0003" => Create::Error500,
                "C0004" => Create::Gateway502,
                _ => Create::Plain,
            },
            enforce,
        );
        let s = Scratch::new();
        let input = s.customers("in.csv", 5);
        let started = std::time::Instant::now();
        let out = import_command(&api.base_url(), &input, &["--concurrency", "5"])
            .output()
            .unwrap();

        assert_exit(&out, 0);
        assert!(started.elapsed() < Duration::from_secs(60));
        assert_each_created_once(&ledger, 5);
        let rows = results(&s.path("in.runs/latest/results.csv"));
        for row in &rows {
            assert_eq!(row.status, "created", "{row:?}");
            assert_eq!(row.customer_id, format!("id-{}", row.customer_code));
        }
        let searched: Vec<String> = api
            .requests()
            .iter()
            .filter_map(Request::searched_code)
            .collect();
        for code in ["C0001", "C0002", "C0003", "C0004"] {
            assert_eq!(
                searched.iter().filter(|c| *c == code).count(),
                1,
                "{code} looked up once: {searched:?}"
            );
        }
        assert!(!searched.contains(&"C0005".to_owned()), "{searched:?}");
    }
}

/// SIGKILL while creates are slow (each outlives `--timeout 1`), then
/// `--resume` at once: the resumed run looks up the killed process's
/// rows only once their creates can no longer land, so no code is
/// created twice, none is refused as a repeat, and no row this import
/// created is reported `exists`; every row ends `created`, exit 0.
#[cfg(unix)]
#[test]
fn sigkill_while_creates_are_slow_then_resume_at_once_creates_nothing_twice() {
    for enforce in [false, true] {
        let (api, ledger) = ledger_api(|_| Create::Slow, enforce);
        let s = Scratch::new();
        let input = s.customers("in.csv", 6);
        let mut child = import_command(&api.base_url(), &input, &["--concurrency", "3"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until(Duration::from_secs(30), "three creates on the wire", || {
            api.requests().iter().filter(|r| r.method == "POST").count() >= 3
        });
        child.kill().unwrap();
        let _ = child.wait();
        assert!(
            ledger.lock().unwrap().creates.is_empty(),
            "killed before any create landed"
        );

        let out = import_command(&api.base_url(), &input, &["--concurrency", "3", "--resume"])
            .output()
            .unwrap();
        assert_exit(&out, 0);
        assert_each_created_once(&ledger, 6);
        let rows = results(&s.path("in.runs/latest/results.csv"));
        assert_eq!(rows.len(), 6);
        for row in &rows {
            assert_eq!(row.status, "created", "enforce {enforce}: {row:?}");
            assert_eq!(row.customer_id, format!("id-{}", row.customer_code));
        }
    }
}
