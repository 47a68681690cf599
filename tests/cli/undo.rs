//! `notify-import undo RUN_FOLDER`: an upsert run taken back. Each test
//! starts a sandbox holding customers (`--customers`), imports with
//! `--mode upsert`, undoes that run with the real binary, and asserts the
//! sandbox's customers, what it received (and did not), the undo's files
//! and its exit code.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::harness::*;
use notify_import::sandbox::{Faults, LoggedRequest};

const LIMIT: Duration = Duration::from_secs(60);

/// A sandbox holding `held` (the import format), on `port` (0: any).
fn holding_on(s: &Scratch, name: &str, held: &str, port: u16) -> SandboxHandle {
    let path = s.file(name, held);
    sandbox::spawn(SandboxOptions {
        customers: Some(path),
        port,
        ..SandboxOptions::default()
    })
    .expect("start sandbox")
}

/// `notify-import undo FOLDER` against `sb`, plus `extra`.
fn undo(sb: &SandboxHandle, folder: &Path, extra: &[&str]) -> Output {
    notify_import()
        .arg("undo")
        .arg(folder)
        .args(["--api-url", &sb.base_url()])
        .args(["--rate", "1000", "--burst", "10"])
        .args(extra)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .expect("run notify-import")
}

/// Requests that write, from the `from`th request of the log on.
fn writes_since(sb: &SandboxHandle, from: usize) -> Vec<LoggedRequest> {
    sb.request_log()
        .into_iter()
        .skip(from)
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .collect()
}

/// A write the sandbox received: method, path and the fields of its body.
type Sent = (String, String, Option<BTreeMap<String, String>>);

/// One row of an undo's results.
#[derive(Debug, serde::Deserialize)]
struct UndoRow {
    row: u64,
    line: String,
    customer_code: String,
    action: String,
    customer_id: String,
    detail: String,
}

fn undo_rows(folder: &Path) -> Vec<UndoRow> {
    let mut rdr = csv::Reader::from_path(folder.join("results.csv")).expect("results.csv");
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "row",
            "line",
            "customer_code",
            "action",
            "customer_id",
            "detail"
        ]
    );
    rdr.deserialize().map(|r| r.expect("undo row")).collect()
}

fn actions(rows: &[UndoRow]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|r| (r.customer_code.as_str(), r.action.as_str()))
        .collect()
}

/// The undo's `summary.json`, checked against its schema.
pub(crate) fn summary(folder: &Path) -> serde_json::Value {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap())
            .unwrap();
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/undo-summary.schema.json"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("undo-summary.schema.json", schema)
        .unwrap();
    let index = compiler
        .compile("undo-summary.schema.json", &mut schemas)
        .unwrap();
    if let Err(e) = schemas.validate(&doc, index) {
        panic!("summary does not match the schema: {e:#}\n{doc:#}");
    }
    doc
}

/// Changes a customer in Notify directly, as someone in Notify's web app
/// would: `PATCH /v2/customers/{id}` with a JSON body, over plain HTTP.
fn patch_directly(sb: &SandboxHandle, id: &str, body: &str) {
    let mut conn = std::net::TcpStream::connect(sb.addr()).expect("connect");
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    let path = format!("{}/customers/{id}", reqwest_path(&sb.base_url()));
    write!(
        conn,
        "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TEST_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sb.addr(),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The path part of a base URL (`http://127.0.0.1:P/v2` → `/v2`).
fn reqwest_path(base: &str) -> String {
    let rest = base.split_once("//").map_or(base, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_owned())
}

/// Notify before the run: K001 as in the file, K002 in Ede with no
/// phone, K003 with another e-mail (exported last month: a `Land` column,
/// Dutch headers).
const HELD: &str = "\
Klantnummer;Naam;Plaats;Land;Telefoon;E-mail
K001;Bakkerij De Korenbloem;Ede;NL;0318123456;info@korenbloem.nl
K002;Fietsenmaker Jansen;Ede;NL;;jansen@example.nl
K003;Schildersbedrijf Post;Rhenen;NL;0317123456;post@example.nl
";

/// This month's export: K001 the same, K002 moved and given a phone,
/// K003 a new e-mail, K004 and K005 new.
const FILE: &str = "\
Klantnummer;Naam;Plaats;Land;Telefoon;E-mail
K001;Bakkerij De Korenbloem;Ede;NL;0318123456;info@korenbloem.nl
K002;Fietsenmaker Jansen;Wageningen;NL;0318654321;jansen@example.nl
K003;Schildersbedrijf Post;Rhenen;NL;0317123456;kantoor@post.nl
K004;Hoveniersbedrijf Groen;Ede;NL;0318777777;groen@example.nl
K005;Loodgieter Smit;Bennekom;NL;;smit@example.nl
";

#[test]
fn undo_restores_the_before_images_deletes_what_was_created_and_sends_nothing_else() {
    let s = Scratch::new();
    let sb = holding_on(&s, "notify-now.csv", HELD, 0);
    let before = by_code(&sb);
    let input = s.file("klanten.csv", FILE);
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    let run = latest_run(&input);
    assert!(run.join("journal.done").exists());
    let after_import = by_code(&sb);
    assert_eq!(after_import["K002"].city.as_deref(), Some("Wageningen"));
    assert_eq!(after_import.len(), 5);
    let run_results = std::fs::read(run.join("results.csv")).unwrap();

    let mark = sb.request_log().len();
    let out = undo(&sb, &run, &[]);
    assert_exit(&out, 0);

    // Notify holds exactly what it held before the run.
    assert_eq!(by_code(&sb), before);
    // One PATCH per updated customer with only the fields the run changed
    // (the phone that was unset cleared with ""), one DELETE per created
    // one, nothing for K001.
    let mut writes: Vec<Sent> = writes_since(&sb, mark)
        .into_iter()
        .map(|r| (r.method, r.path, r.fields))
        .collect();
    writes.sort();
    let id = |code: &str| after_import[code].id.clone();
    let path = |code: &str| format!("/customers/{}", id(code));
    let fields = |pairs: &[(&str, &str)]| {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let mut want = vec![
        ("DELETE".to_owned(), path("K004"), None),
        ("DELETE".to_owned(), path("K005"), None),
        (
            "PATCH".to_owned(),
            path("K002"),
            fields(&[("City", "Ede"), ("Phone", "")]),
        ),
        (
            "PATCH".to_owned(),
            path("K003"),
            fields(&[("Email", "post@example.nl")]),
        ),
    ];
    want.sort();
    assert_eq!(writes, want);
    assert!(
        !sb.request_log()
            .iter()
            .skip(mark)
            .any(|r| r.path.contains(&id("K001"))),
        "nothing is sent about a customer the run did not change"
    );

    // The undo's own folder, results, summary and report.
    let folder = latest_run(&input);
    assert!(
        folder.to_string_lossy().ends_with("-undo"),
        "{}",
        folder.display()
    );
    assert_ne!(folder, run);
    let rows = undo_rows(&folder);
    assert_eq!(
        actions(&rows),
        [
            ("K002", "restored"),
            ("K003", "restored"),
            ("K004", "deleted"),
            ("K005", "deleted")
        ]
    );
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3, 4, 5]);
    assert_eq!(rows[0].line, "3");
    assert_eq!(rows[0].customer_id, id("K002"));
    assert!(
        rows[0].detail.contains("City: Wageningen → Ede"),
        "{}",
        rows[0].detail
    );
    let sum = summary(&folder);
    assert_eq!(sum["exit_code"], 0);
    assert_eq!(sum["actions"]["restored"], 2);
    assert_eq!(sum["actions"]["deleted"], 2);
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    let page = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#undo table.restored tbody tr").unwrap();
    assert_eq!(page.select(&sel).count(), 2);
    let sel = scraper::Selector::parse("#undo table.deleted tbody tr").unwrap();
    assert_eq!(page.select(&sel).count(), 2);
    assert!(stderr(&out).contains("Report: "), "{}", stderr(&out));
    assert_nowhere(TEST_KEY, &out, s.dir.path());

    // The undone run keeps its results, and says it was undone.
    assert_eq!(std::fs::read(run.join("results.csv")).unwrap(), run_results);
    assert!(
        std::fs::read_to_string(run.join("undone"))
            .unwrap()
            .contains("-undo")
    );

    // A second undo is refused before anything is sent.
    let mark = sb.request_log().len();
    let again = undo(&sb, &run, &[]);
    assert_exit(&again, 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(sb.request_log().len(), mark);
}

/// Notify's customers now, as a `--customers` file that keeps their ids,
/// with the codes in `invoiced` marked as having invoices.
fn as_preload(sb: &SandboxHandle, invoiced: &[&str]) -> String {
    let mut text = String::from("NotifyId,CustomerCode,Name,City,Email,HasInvoices\n");
    let mut all = sb.customers();
    // The last row is the newest: keep Notify's order.
    all.reverse();
    for c in all {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            c.id,
            c.customer_code,
            c.name.unwrap_or_default(),
            c.city.unwrap_or_default(),
            c.email.unwrap_or_default(),
            if invoiced.contains(&c.customer_code.as_str()) {
                "yes"
            } else {
                "no"
            }
        ));
    }
    text
}

#[test]
fn a_customer_with_invoices_is_kept_and_one_changed_since_is_a_conflict_until_forced() {
    let s = Scratch::new();
    let held = "CustomerCode,Name,City,Email\nK001,Klant 1,Ede,k1@example.nl\nK002,Klant 2,Ede,k2@example.nl\n";
    let sb = holding_on(&s, "notify-now.csv", held, 0);
    let file = "CustomerCode,Name,City,Email\nK001,Klant 1,Wageningen,k1@example.nl\nK002,Klant 2,Wageningen,k2@example.nl\nK003,Klant 3,Ede,k3@example.nl\nK004,Klant 4,Ede,k4@example.nl\n";
    let input = s.file("klanten.csv", file);
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    let run = latest_run(&input);
    let ids: BTreeMap<String, String> = by_code(&sb).into_iter().map(|(k, c)| (k, c.id)).collect();
    // Someone moves K002 again in Notify's own app.
    patch_directly(&sb, &ids["K002"], r#"{"City":"Arnhem"}"#);
    // K003 is invoiced meanwhile: Notify restarted with the same
    // customers (ids kept) and K003 marked as having invoices.
    let port = sb.addr().port();
    let now = as_preload(&sb, &["K003"]);
    sb.shutdown();
    let sb = holding_on(&s, "notify-invoiced.csv", &now, port);
    assert_eq!(by_code(&sb)["K003"].id, ids["K003"]);

    let mark = sb.request_log().len();
    let out = undo(&sb, &run, &[]);
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    let rows = undo_rows(&folder);
    assert_eq!(
        actions(&rows),
        [
            ("K001", "restored"),
            ("K002", "conflict"),
            ("K003", "kept"),
            ("K004", "deleted")
        ]
    );
    let sum = summary(&folder);
    assert_eq!(sum["exit_code"], 1);
    assert_eq!(sum["actions"]["conflict"], 1);
    assert_eq!(sum["actions"]["kept"], 1);
    let conflict = &rows[1];
    assert!(
        conflict.detail.contains("Arnhem") && conflict.detail.contains("Wageningen"),
        "both values: {}",
        conflict.detail
    );
    assert!(
        rows[2].detail.contains("Customer is not empty"),
        "{}",
        rows[2].detail
    );
    let err = stderr(&out);
    assert!(err.contains("conflict") && err.contains("Arnhem"), "{err}");
    assert!(err.contains("Customer is not empty"), "{err}");
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    let page = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#undo table.conflicts tbody td").unwrap();
    let cells: Vec<String> = page.select(&sel).map(|td| td.text().collect()).collect();
    assert!(
        cells.contains(&"Arnhem".to_owned()) && cells.contains(&"Wageningen".to_owned()),
        "{cells:?}"
    );
    let sel = scraper::Selector::parse("#undo table.kept tbody td").unwrap();
    assert!(page.select(&sel).any(|td| {
        td.text()
            .collect::<String>()
            .contains("Customer is not empty")
    }));
    // The conflicting customer was not touched; nothing was sent for it.
    let now = by_code(&sb);
    assert_eq!(now["K002"].city.as_deref(), Some("Arnhem"));
    assert_eq!(now["K001"].city.as_deref(), Some("Ede"));
    assert!(now.contains_key("K003") && !now.contains_key("K004"));
    assert!(
        writes_since(&sb, mark)
            .iter()
            .all(|r| !r.path.contains(&ids["K002"])),
        "a conflict sends nothing"
    );

    // Again without --force: refused, it was undone.
    assert_exit(&undo(&sb, &run, &[]), 2);
    // With --force the conflict is restored; K003 still has invoices.
    let out = undo(&sb, &run, &["--force"]);
    assert_exit(&out, 1);
    let rows = undo_rows(&latest_run(&input));
    assert_eq!(
        actions(&rows),
        [
            ("K001", "restored"),
            ("K002", "restored"),
            ("K003", "kept"),
            ("K004", "deleted")
        ]
    );
    assert_eq!(by_code(&sb)["K002"].city.as_deref(), Some("Ede"));
}

/// `rows` customers K0001…: every other one held by Notify in Ede, the
/// file moves all to Wageningen, so the run updates half and creates half.
fn half_held(s: &Scratch, rows: usize) -> (PathBuf, SandboxHandle) {
    let mut held = String::from("CustomerCode,Name,City\n");
    let mut file = String::from("CustomerCode,Name,City\n");
    for i in 1..=rows {
        if i % 2 == 1 {
            held.push_str(&format!("K{i:04},Klant {i},Ede\n"));
        }
        file.push_str(&format!("K{i:04},Klant {i},Wageningen\n"));
    }
    let sb = holding_on(s, "notify-now.csv", &held, 0);
    (s.file("klanten.csv", &file), sb)
}

#[cfg(unix)]
#[test]
fn sigkill_during_undo_then_resume_leaves_every_customer_as_before_the_run() {
    let s = Scratch::new();
    let (input, sb) = half_held(&s, 60);
    let before = by_code(&sb);
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    let run = latest_run(&input);
    let base = sb.stats();
    sb.set_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let mut child = notify_import()
        .arg("undo")
        .arg(&run)
        .args(["--api-url", &sb.base_url()])
        .args(["--rate", "1000", "--concurrency", "2", "--timeout", "1"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn notify-import undo");
    wait_until(LIMIT, "writes before the kill", || {
        let st = sb.stats();
        st.updates - base.updates >= 5 && st.deletes - base.deletes >= 5
    });
    child.kill().unwrap(); // SIGKILL: no cleanup
    let _ = child.wait();
    let at_kill = sb.stats();
    assert!(
        (at_kill.updates - base.updates) + (at_kill.deletes - base.deletes) < 60,
        "killed mid-undo"
    );
    let killed = latest_run(&input);
    assert!(killed.to_string_lossy().ends_with("-undo"));
    assert!(
        killed.join("journal").exists(),
        "a stopped undo keeps its journal"
    );
    sb.set_faults(Faults::default());

    // A new undo beside it is refused: it says to resume.
    let refused = undo(&sb, &run, &[]);
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("--resume"),
        "{}",
        stderr(&refused)
    );

    let out = undo(&sb, &run, &["--resume"]);
    assert_exit(&out, 0);
    assert_eq!(latest_run(&input), killed, "the same undo, continued");
    assert_eq!(by_code(&sb), before, "every customer as before the run");
    let rows = undo_rows(&killed);
    assert_eq!(rows.len(), 60);
    assert!(
        rows.iter().all(|r| if r.row % 2 == 1 {
            r.action == "restored"
        } else {
            r.action == "deleted"
        }),
        "{:?}",
        actions(&rows)
    );
    assert!(killed.join("journal.done").exists() && !killed.join("journal").exists());
    let undos = run_folders(&input.with_file_name("klanten.runs"))
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with("-undo"))
        .count();
    assert_eq!(undos, 1);
}

#[test]
fn only_an_import_run_is_undone_and_a_live_key_needs_live() {
    let s = Scratch::new();
    let sb = holding_on(&s, "notify-now.csv", HELD, 0);
    let input = s.file("klanten.csv", FILE);
    assert_exit(&validate(&input, &[]), 0);
    let check = latest_run(&input);
    let out = undo(&sb, &check, &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("nothing to undo"), "{}", stderr(&out));
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    let run = latest_run(&input);
    let live = notify_import()
        .arg("undo")
        .arg(&run)
        .args(["--api-url", &sb.base_url()])
        .env(
            "NOTIFY_API_KEY",
            "live_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug",
        )
        .output()
        .unwrap();
    assert_exit(&live, 2);
    assert!(stderr(&live).contains("--live"), "{}", stderr(&live));
    let mark = sb.request_log().len();
    assert_exit(&undo(&sb, &run, &[]), 0);
    let undo_folder = latest_run(&input);
    let out = undo(&sb, &undo_folder, &["--force"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("undo's folder"), "{}", stderr(&out));
    // Only the first undo sent anything.
    let sent = sb.request_log().len() - mark;
    assert!(sent > 0);
    assert_eq!(undo_rows(&undo_folder).len(), 4);
}

#[cfg(unix)]
#[test]
fn undo_of_a_killed_upsert_takes_back_what_it_did_before_the_kill() {
    let s = Scratch::new();
    let (input, sb) = half_held(&s, 60);
    let before = by_code(&sb);
    sb.set_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let mut child = spawn_import(
        &sb,
        &input,
        &[
            "--mode",
            "upsert",
            "--rate",
            "1000",
            "--concurrency",
            "2",
            // The undo waits until the killed run's creates can no longer
            // land: twice this.
            "--timeout",
            "1",
        ],
    );
    wait_until(LIMIT, "writes before the kill", || {
        let st = sb.stats();
        st.updates >= 5 && st.creates >= 5
    });
    child.kill().unwrap(); // SIGKILL: no cleanup, no results file
    let _ = child.wait();
    let killed = latest_run(&input);
    assert!(killed.join("journal").exists() && !killed.join("results.csv").exists());
    sb.set_faults(Faults::default());
    let at_kill = by_code(&sb);
    assert!(
        at_kill.len() > before.len() && at_kill.len() < 60,
        "killed mid-run"
    );

    let out = undo(&sb, &killed, &[]);
    assert_exit(&out, 0);
    assert_eq!(by_code(&sb), before, "every customer as before the run");
    let rows = undo_rows(&latest_run(&input));
    // Every row the killed run touched, and no other.
    let changed = at_kill
        .iter()
        .filter(|(code, c)| before.get(*code) != Some(*c))
        .count();
    assert!(
        rows.len() >= changed,
        "{} rows for {changed} changed",
        rows.len()
    );
    assert!(rows.iter().all(|r| !r.customer_code.is_empty()));
    // The import taken back is not continued by a later --resume: it is
    // marked abandoned, its files as they were.
    assert!(killed.join("abandoned").exists());
    assert!(killed.join("journal").exists());
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_undo_writes_its_results_exits_130_and_resume_finishes_it() {
    let s = Scratch::new();
    let (input, sb) = half_held(&s, 40);
    let before = by_code(&sb);
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    let run = latest_run(&input);
    let base = sb.stats();
    sb.set_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let child = notify_import()
        .arg("undo")
        .arg(&run)
        .args(["--api-url", &sb.base_url()])
        .args([
            "--rate",
            "1000",
            "--concurrency",
            "1",
            "--grace-period",
            "5",
        ])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn notify-import undo");
    wait_until(LIMIT, "writes before Ctrl-C", || {
        let st = sb.stats();
        (st.updates - base.updates) + (st.deletes - base.deletes) >= 4
    });
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let folder = latest_run(&input);
    let rows = undo_rows(&folder);
    assert_eq!(rows.len(), 40, "every row the run changed has a row");
    let skipped = rows.iter().filter(|r| r.action == "skipped").count();
    assert!(skipped > 0 && skipped < 40, "{:?}", actions(&rows));
    assert_eq!(summary(&folder)["exit_code"], 130);
    assert!(!run.join("undone").exists(), "not undone yet");
    sb.set_faults(Faults::default());
    let out = undo(&sb, &run, &["--resume"]);
    assert_exit(&out, 0);
    assert_eq!(by_code(&sb), before);
    assert!(
        undo_rows(&folder)
            .iter()
            .all(|r| r.action == "restored" || r.action == "deleted")
    );
    assert!(run.join("undone").exists());
}

#[test]
fn a_profile_gives_the_undo_its_target_and_pace() {
    let s = Scratch::new();
    let sb = holding_on(&s, "notify-now.csv", HELD, 0);
    let before = by_code(&sb);
    let input = s.file("klanten.csv", FILE);
    let config = s.file(
        "notify-import.toml",
        &format!(
            "[profiles.nightly]\napi_url = \"{}\"\nrate = 500\nburst = 5\nmode = \"upsert\"\n",
            sb.base_url()
        ),
    );
    let with_profile = |cmd: &str, what: &Path| {
        notify_import()
            .arg(cmd)
            .arg(what)
            .args(["--config", config.to_str().unwrap(), "--profile", "nightly"])
            .env("NOTIFY_API_KEY", TEST_KEY)
            .output()
            .unwrap()
    };
    assert_exit(&with_profile("import", &input), 0);
    let run = latest_run(&input);
    // The profile's mode means nothing to an undo; its target and pace do.
    let out = with_profile("undo", &run);
    assert_exit(&out, 0);
    assert_eq!(by_code(&sb), before);
}

/// `undo RUN_FOLDER` alone reaches what the run reached: the URL and the
/// key file come from the run's `run.toml` (no flag, no environment).
#[test]
fn undo_takes_the_runs_url_and_key_file_from_its_run_toml() {
    let s = Scratch::new();
    let sb = holding_on(&s, "notify-now.csv", HELD, 0);
    let before = by_code(&sb);
    let input = s.file("klanten.csv", FILE);
    let key = s.file("notify.key", &format!("{TEST_KEY}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = notify_import()
        .arg("import")
        .arg(&input)
        .args(["--api-url", &sb.base_url(), "--mode", "upsert"])
        .arg("--api-key-file")
        .arg(&key)
        .env_remove("NOTIFY_API_KEY")
        .env_remove("NOTIFY_API_URL")
        .output()
        .expect("run notify-import");
    assert_exit(&out, 0);
    let run = latest_run(&input);
    assert_ne!(by_code(&sb), before);

    let out = notify_import()
        .arg("undo")
        .arg(&run)
        .env_remove("NOTIFY_API_KEY")
        .env_remove("NOTIFY_API_URL")
        .output()
        .expect("run notify-import");
    assert_exit(&out, 0);
    assert_eq!(by_code(&sb), before);
}
