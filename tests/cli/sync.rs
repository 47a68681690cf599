//! Keeping Notify in step with a file: `plan`, `--mode upsert|update`,
//! `--clear-empty`, and a killed upsert resumed. Each test starts a
//! sandbox holding customers (`--customers`), runs the real binary, and
//! asserts the files, the exit code and what the server received (and
//! did not).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::harness::*;
use notify_import::sandbox::{Faults, ListShape, LoggedRequest};

const LIMIT: Duration = Duration::from_secs(60);

/// Customers Notify holds at the start: the import format, as exported
/// from the accounting package last month (a `Land` column, Dutch names).
const HELD: &str = "\
Klantnummer;Naam;Adres;Postcode;Plaats;Land;Telefoon;E-mail
K001;Bakkerij De Korenbloem;Molenstraat 1;1234 AB;Ede;NL;0318123456;info@korenbloem.nl
K002;Fietsenmaker Jansen;Stationsweg 4;6711 PL;Ede;NL;0318654321;jansen@example.nl
K003;Schildersbedrijf Post;Dorpsstraat 9;3911 CA;Rhenen;NL;0317123456;post@example.nl
";

/// This month's export: K001 as it was (postcode and country written
/// differently, same after normalization), K002 moved, K003 blank phone
/// and a new e-mail, K004 new, K005 invalid (no name).
const FILE: &str = "\
Klantnummer;Naam;Adres;Postcode;Plaats;Land;Telefoon;E-mail
K001;Bakkerij De Korenbloem;Molenstraat 1;1234ab;Ede;nl;0318123456;info@korenbloem.nl
K002;Fietsenmaker Jansen;Arnhemseweg 12;6711 PL;Wageningen;NL;0318654321;jansen@example.nl
K003;Schildersbedrijf Post;Dorpsstraat 9;3911 CA;Rhenen;NL;;kantoor@post.nl
K004;Hoveniersbedrijf Groen;Parklaan 2;6716 AA;Ede;NL;0318777777;groen@example.nl
K005;;Nergens 1;1234 AB;Ede;NL;;
";

/// A sandbox holding `held` (the import format).
fn holding(s: &Scratch, held: &str) -> SandboxHandle {
    let path = s.file("notify-now.csv", held);
    sandbox::spawn(SandboxOptions {
        customers: Some(path),
        ..SandboxOptions::default()
    })
    .expect("start sandbox")
}

/// `notify-import plan FILE` against `sb`, plus `extra`.
fn plan(sb: &SandboxHandle, file: &Path, extra: &[&str]) -> Output {
    notify_import()
        .arg("plan")
        .arg(file)
        .args(["--api-url", &sb.base_url()])
        .args(["--rate", "1000", "--burst", "10"])
        .args(extra)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .expect("run notify-import")
}

/// Requests that write: anything but a read.
fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .collect()
}

/// One row of `plan.csv`.
#[derive(Debug, serde::Deserialize)]
struct PlanRow {
    row: u64,
    line: u64,
    customer_code: String,
    action: String,
    changes: String,
    customer_id: String,
}

fn plan_rows(path: &Path) -> Vec<PlanRow> {
    let mut rdr = csv::Reader::from_path(path).expect("plan.csv exists");
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "row",
            "line",
            "customer_code",
            "action",
            "changes",
            "customer_id"
        ]
    );
    rdr.deserialize().map(|r| r.expect("plan row")).collect()
}

fn summary(folder: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn plan_shows_what_upsert_would_change_and_writes_nothing_to_notify() {
    let s = Scratch::new();
    let sb = holding(&s, HELD);
    let before = by_code(&sb);
    let input = s.file("klanten.csv", FILE);
    let out = plan(&sb, &input, &["--mode", "upsert"]);
    // K005 is invalid: a plan ends as a check does.
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    assert!(
        folder.to_string_lossy().ends_with("-plan"),
        "{}",
        folder.display()
    );
    let rows = plan_rows(&folder.join("plan.csv"));
    let got: Vec<(u64, u64, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.row,
                r.line,
                r.customer_code.as_str(),
                r.action.as_str(),
                r.changes.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, 2, "K001", "unchanged", ""),
            (
                2,
                3,
                "K002",
                "update",
                "Address: Stationsweg 4 → Arnhemseweg 12; City: Ede → Wageningen"
            ),
            (
                3,
                4,
                "K003",
                "update",
                "Email: post@example.nl → kantoor@post.nl"
            ),
            (4, 5, "K004", "create", ""),
            (5, 6, "K005", "invalid", ""),
        ]
    );
    for r in &rows[..3] {
        assert_eq!(
            Some(&r.customer_id),
            before.get(&r.customer_code).map(|c| &c.id)
        );
    }
    assert_eq!(rows[3].customer_id, "");
    // Read only: no request but reads, and Notify as it was.
    assert_eq!(writes(&sb.request_log()), Vec::<&LoggedRequest>::new());
    let stats = sb.stats();
    assert_eq!((stats.creates, stats.updates, stats.deletes), (0, 0, 0));
    assert_eq!(by_code(&sb), before);
    let doc = summary(&folder);
    assert_eq!(doc["mode"], "plan");
    assert_eq!(doc["write_mode"], "upsert");
    assert_eq!(doc["plan"]["actions"]["create"], 1);
    assert_eq!(doc["plan"]["actions"]["update"], 2);
    assert_eq!(doc["plan"]["actions"]["unchanged"], 1);
    assert_eq!(doc["plan"]["actions"]["invalid"], 1);
    assert_eq!(doc["plan"]["fields"][0]["field"], "Address");
    assert!(folder.join("report.html").exists());
    let page = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(
        page.contains("Arnhemseweg 12"),
        "the report lists the updates"
    );
    let err = stderr(&out);
    assert!(err.contains("update") && err.contains("Address 1"), "{err}");

    // With --mode create the existing codes are `exists`; with update the
    // new one is `not_found`.
    assert_exit(&plan(&sb, &input, &["--mode", "create"]), 1);
    let actions: Vec<String> = plan_rows(&latest_run(&input).join("plan.csv"))
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, ["exists", "exists", "exists", "create", "invalid"]);
    assert_exit(&plan(&sb, &input, &["--mode", "update"]), 1);
    let actions: Vec<String> = plan_rows(&latest_run(&input).join("plan.csv"))
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        ["unchanged", "update", "update", "not_found", "invalid"]
    );
    assert_eq!(writes(&sb.request_log()), Vec::<&LoggedRequest>::new());
}

#[test]
fn upsert_creates_new_codes_patches_only_changed_fields_and_skips_the_unchanged() {
    let s = Scratch::new();
    let sb = holding(&s, HELD);
    let before = by_code(&sb);
    let input = s.file("klanten.csv", FILE);
    let out = import(&sb, &input, &["--mode", "upsert"]);
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    let rows = assert_universal(&folder.join("results.csv"), 5, &sb);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["unchanged", "updated", "updated", "created", "invalid"]
    );
    let log = sb.request_log();
    let sent = writes(&log);
    let posts: Vec<_> = sent.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "one create, for K004");
    let patches: BTreeMap<String, BTreeMap<String, String>> = sent
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| (r.path.clone(), r.fields.clone().unwrap_or_default()))
        .collect();
    let field_map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        patches,
        BTreeMap::from([
            (
                format!("/customers/{}", before["K002"].id),
                field_map(&[("Address", "Arnhemseweg 12"), ("City", "Wageningen")])
            ),
            (
                format!("/customers/{}", before["K003"].id),
                field_map(&[("Email", "kantoor@post.nl")])
            ),
        ]),
        "one PATCH per changed customer, with only the changed fields"
    );
    assert_eq!(sent.len(), 3, "nothing for K001");
    let now = by_code(&sb);
    assert_eq!(now["K002"].city.as_deref(), Some("Wageningen"));
    assert_eq!(
        now["K003"].phone.as_deref(),
        Some("0317123456"),
        "a blank cell keeps Notify's value"
    );
    assert_eq!(rows[1].customer_id, before["K002"].id);
    let doc = summary(&folder);
    assert_eq!(doc["counts"]["updated"], 2);
    assert_eq!(doc["counts"]["unchanged"], 1);
    // Finished: nothing to resume, and what it changed stays readable
    // (for undo): the ids it created, the before-images it replaced.
    assert!(!folder.join("journal").exists());
    let done = std::fs::read_to_string(folder.join("journal.done")).unwrap();
    let records: Vec<serde_json::Value> = done
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let patch = records
        .iter()
        .find(|r| r["t"] == "patch" && r["c"] == "K002")
        .expect("K002's before-image");
    assert_eq!(patch["id"], before["K002"].id.as_str());
    assert_eq!(
        patch["ch"],
        serde_json::json!({
            "Address": {"old": "Stationsweg 4", "new": "Arnhemseweg 12"},
            "City": {"old": "Ede", "new": "Wageningen"}
        })
    );
    assert!(
        records.iter().any(|r| r["t"] == "done"
            && r["c"] == "K004"
            && r["s"] == "created"
            && r["id"] == rows[3].customer_id.as_str()),
        "the created customer's id: {done}"
    );

    // The same file again: nothing differs, nothing is written.
    let writes_before = writes(&sb.request_log()).len();
    let out = import(&sb, &input, &["--mode", "upsert"]);
    assert_exit(&out, 1);
    let rows = results(&latest_run(&input).join("results.csv"));
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "unchanged",
            "unchanged",
            "unchanged",
            "unchanged",
            "invalid"
        ]
    );
    assert_eq!(writes(&sb.request_log()).len(), writes_before);
}

#[test]
fn clear_empty_clears_blank_cells_of_mapped_columns_only() {
    let s = Scratch::new();
    let sb = holding(
        &s,
        "CustomerCode,Name,Phone,Mobile,City\nA1,Ann,0201234567,0612345678,Ede\n",
    );
    // No Mobile column: it is not cleared, whatever --clear-empty says.
    let input = s.file("klanten.csv", "CustomerCode,Name,Phone,City\nA1,Ann,,Ede\n");
    assert_exit(&import(&sb, &input, &["--mode", "upsert"]), 0);
    assert_eq!(
        results(&latest_run(&input).join("results.csv"))[0].status,
        "unchanged"
    );
    assert_eq!(writes(&sb.request_log()).len(), 0);
    let out = import(&sb, &input, &["--mode", "update", "--clear-empty"]);
    assert_exit(&out, 0);
    assert_eq!(
        results(&latest_run(&input).join("results.csv"))[0].status,
        "updated"
    );
    let log = sb.request_log();
    let sent = writes(&log);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].fields,
        Some(BTreeMap::from([("Phone".to_owned(), String::new())]))
    );
    let a1 = &by_code(&sb)["A1"];
    assert!(a1.phone.as_deref().unwrap_or("").is_empty(), "{a1:?}");
    assert_eq!(a1.mobile.as_deref(), Some("0612345678"));
}

#[test]
fn update_mode_creates_nothing_and_not_found_is_no_error() {
    let s = Scratch::new();
    let sb = holding(&s, HELD);
    let input = s.file(
        "klanten.csv",
        "Klantnummer;Naam;Plaats\nK002;Fietsenmaker Jansen;Wageningen\nK900;Nieuw B.V.;Ede\n",
    );
    let out = import(&sb, &input, &["--mode", "update"]);
    assert_exit(&out, 0);
    let rows = results(&latest_run(&input).join("results.csv"));
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["updated", "not_found"]);
    assert_eq!(sb.stats().creates, 0);
    assert!(!by_code(&sb).contains_key("K900"));
    assert_eq!(summary(&latest_run(&input))["counts"]["not_found"], 1);
}

#[test]
fn mode_flags_that_contradict_each_other_are_refused_before_anything_is_sent() {
    let s = Scratch::new();
    let sb = holding(&s, HELD);
    let input = s.file("klanten.csv", FILE);
    for (args, expected) in [
        (
            &["--mode", "upsert", "--overwrite"][..],
            "--overwrite is --mode overwrite",
        ),
        (&["--clear-empty"][..], "--clear-empty"),
        (
            &["--mode", "overwrite", "--clear-empty"][..],
            "resends whole rows",
        ),
    ] {
        let out = import(&sb, &input, args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = plan(&sb, &input, &["--resume"]);
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, 0);
}

/// `rows` customers K0001…: every other one held by Notify with another
/// city, the rest new, so a kill lands among updates and creates alike.
fn half_held(s: &Scratch, rows: usize) -> (PathBuf, SandboxHandle) {
    let mut held = String::from("CustomerCode,Name,City\n");
    let mut file = String::from("CustomerCode,Name,City\n");
    for i in 1..=rows {
        if i % 2 == 1 {
            held.push_str(&format!("K{i:04},Klant {i},Ede\n"));
        }
        file.push_str(&format!("K{i:04},Klant {i},Wageningen\n"));
    }
    let sb = holding(s, &held);
    (s.file("klanten.csv", &file), sb)
}

#[cfg(unix)]
#[test]
fn sigkill_during_upsert_then_resume_leaves_every_customer_right_and_none_created_twice() {
    let s = Scratch::new();
    let (input, sb) = half_held(&s, 60);
    let ids_before: BTreeMap<String, String> = by_code(&sb)
        .into_iter()
        .map(|(code, c)| (code, c.id))
        .collect();
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
            "--timeout",
            "1",
        ],
    );
    wait_until(LIMIT, "writes before the kill", || {
        let st = sb.stats();
        st.updates >= 5 && st.creates >= 5
    });
    child.kill().unwrap(); // SIGKILL: no cleanup
    let _ = child.wait();
    let at_kill = sb.stats();
    assert!(at_kill.updates + at_kill.creates < 60, "killed mid-run");
    let killed = latest_run(&input);
    let journal = std::fs::read_to_string(killed.join("journal")).unwrap();
    assert!(
        journal.contains(r#""t":"patch""#) && journal.contains(r#""old":"Ede""#),
        "the before-images are journaled: {journal}"
    );
    sb.set_faults(Faults::default());
    let out = import(
        &sb,
        &input,
        &["--mode", "upsert", "--resume", "--timeout", "1"],
    );
    assert_exit(&out, 0);
    let rows = assert_universal(&killed.join("results.csv"), 60, &sb);
    for r in &rows {
        if r.row % 2 == 1 {
            assert_eq!(r.status, "updated", "{r:?}");
            assert_eq!(Some(&r.customer_id), ids_before.get(&r.customer_code));
        } else {
            assert_eq!(r.status, "created", "{r:?}");
        }
    }
    let now = by_code(&sb);
    assert_eq!(now.len(), 60);
    assert!(
        now.values()
            .all(|c| c.city.as_deref() == Some("Wageningen")),
        "every customer in the file's state"
    );
    assert!(sb.stats().creates_by_code.values().all(|n| *n == 1));
    // Rows the killed run had updated were sent again from the journal,
    // never compared anew: every before-image is still Notify's value
    // from before the first run.
    let done = std::fs::read_to_string(killed.join("journal.done")).unwrap();
    let olds: Vec<String> = done
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["t"] == "patch")
        .map(|r| r["ch"]["City"]["old"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert!(olds.len() >= 30, "{} before-images", olds.len());
    assert!(olds.iter().all(|o| o == "Ede"), "{olds:?}");
}

/// `held` customers K00001… in Notify, `changed` of them (every
/// `held / changed`-th) with another city in the file.
fn long_list(
    s: &Scratch,
    held: usize,
    changed: usize,
    shape: ListShape,
) -> (PathBuf, SandboxHandle) {
    let mut now = String::from("CustomerCode,Name,City\n");
    let mut file = String::from("CustomerCode,Name,City\n");
    for i in 1..=held {
        now.push_str(&format!("K{i:05},Klant {i},Ede\n"));
        let city = if i % (held / changed) == 0 {
            "Delft"
        } else {
            "Ede"
        };
        file.push_str(&format!("K{i:05},Klant {i},{city}\n"));
    }
    let path = s.file("notify-now.csv", &now);
    let sb = sandbox::spawn(SandboxOptions {
        customers: Some(path),
        list_shape: shape,
        ..SandboxOptions::default()
    })
    .expect("start sandbox");
    (s.file("klanten.csv", &file), sb)
}

#[test]
fn upsert_of_600_held_customers_reads_3_list_pages_and_patches_only_the_5_changed() {
    let s = Scratch::new();
    let (input, sb) = long_list(&s, 600, 5, ListShape::Id);
    let out = import(&sb, &input, &["--mode", "upsert"]);
    assert_exit(&out, 0);
    let st = sb.stats();
    assert_eq!(st.lists, 3, "ceil(600 / 250) pages: {st:?}");
    assert_eq!(st.searches, 0);
    let by = |m: &str| st.requests_by_method.get(m).copied().unwrap_or(0);
    assert_eq!((by("POST"), by("PATCH"), by("DELETE")), (0, 5, 0));
    assert_eq!(st.requests, 3 + 5, "nothing else");
    let rows = results(&latest_run(&input).join("results.csv"));
    assert_eq!(rows.iter().filter(|r| r.status == "updated").count(), 5);
    assert_eq!(rows.iter().filter(|r| r.status == "unchanged").count(), 595);
}

#[test]
fn plan_reads_the_list_in_the_docs_other_item_shape_alike() {
    let s = Scratch::new();
    let (input, sb) = long_list(&s, 300, 3, ListShape::Number);
    assert_exit(&plan(&sb, &input, &["--mode", "update"]), 0);
    let rows = plan_rows(&latest_run(&input).join("plan.csv"));
    let ids: BTreeMap<String, String> = by_code(&sb).into_iter().map(|(c, v)| (c, v.id)).collect();
    let updates: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r.action == "update")
        .map(|r| (r.customer_code.as_str(), r.changes.as_str()))
        .collect();
    assert_eq!(
        updates,
        [
            ("K00100", "City: Ede → Delft"),
            ("K00200", "City: Ede → Delft"),
            ("K00300", "City: Ede → Delft")
        ]
    );
    assert!(
        rows.iter()
            .all(|r| Some(&r.customer_id) == ids.get(&r.customer_code))
    );
    assert_eq!(writes(&sb.request_log()), Vec::<&LoggedRequest>::new());
}

#[test]
fn a_profile_with_mode_upsert_patches_and_overwrite_given_beats_it() {
    let s = Scratch::new();
    let input = s.file("klanten.csv", FILE);
    let config = s.file(
        "notify-import.toml",
        "[profiles.sync]\nmode = \"upsert\"\nconcurrency = 2\n",
    );
    let c = config.to_str().unwrap();
    let sb = holding(&s, HELD);
    let out = import(&sb, &input, &["--config", c, "--profile", "sync"]);
    assert_exit(&out, 1);
    let rows = assert_universal(&latest_run(&input).join("results.csv"), 5, &sb);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["unchanged", "updated", "updated", "created", "invalid"]
    );
    let log = sb.request_log();
    let sent = writes(&log);
    let count = |m: &str| sent.iter().filter(|r| r.method == m).count();
    assert_eq!((count("PATCH"), count("POST")), (2, 1), "{sent:?}");

    // `--overwrite` on the command line beats the profile's mode: no
    // contradiction, every valid row POSTed with Overwrite=true, no PATCH.
    let sb = holding(&s, HELD);
    let out = import(
        &sb,
        &input,
        &["--config", c, "--profile", "sync", "--overwrite"],
    );
    assert_exit(&out, 1);
    assert!(
        !stderr(&out).contains("leave out one of them"),
        "{}",
        stderr(&out)
    );
    let folder = latest_run(&input);
    let rows = assert_universal(&folder.join("results.csv"), 5, &sb);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "overwritten",
            "overwritten",
            "overwritten",
            "created",
            "invalid"
        ]
    );
    let log = sb.request_log();
    let sent = writes(&log);
    assert!(sent.iter().all(|r| r.method == "POST"), "{sent:?}");
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter().all(|r| r
            .query
            .as_deref()
            .is_some_and(|q| q.contains("verwrite=true"))),
        "{sent:?}"
    );
    let doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(folder.join("run.toml")).unwrap()).unwrap();
    assert_eq!(doc["target"]["mode"].as_str(), Some("overwrite"));
    assert_eq!(doc["profile"].as_str(), Some("sync"));
}
