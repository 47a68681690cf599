//! The features used together, as a demanding user strings them: a
//! profile (`notify-import.toml` with the target, a key file and
//! `mode = "upsert"`) for plan, import and undo; a workbook input; an
//! interrupted upsert with `--clear-empty` and an interrupted undo, each
//! continued with the `Next:` command typed as printed; and every run's
//! `summary.json` checked against its schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use notify_import::sandbox::Faults;
use rust_xlsxwriter::Workbook;

use crate::advice::{commands_in, shell_split};
use crate::cron::{assert_valid_summary, read_json};
use crate::harness::*;
use crate::undo::summary as undo_summary;

const LIMIT: Duration = Duration::from_secs(60);

/// A folder with a sandbox holding the odd codes of K0001…K00`rows` (in
/// Ede, with an e-mail address), a key file and `notify-import.toml`
/// whose profile `test` points at the sandbox with `mode = "upsert"`,
/// one request at a time.
struct Setup {
    s: Scratch,
    sb: SandboxHandle,
}

impl Setup {
    fn new(rows: usize) -> Setup {
        let s = Scratch::new();
        let mut held = String::from("CustomerCode,Name,City,Email\n");
        for i in (1..=rows).step_by(2) {
            held.push_str(&format!("K{i:04},Klant {i},Ede,info{i}@example.nl\n"));
        }
        let sb = sandbox::spawn(SandboxOptions {
            customers: Some(s.file("notify-now.csv", &held)),
            ..SandboxOptions::default()
        })
        .expect("start sandbox");
        let key = s.file("test.key", &format!("{TEST_KEY}\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        s.file(
            "notify-import.toml",
            &format!(
                "[profiles.test]\napi_url = \"{}\"\napi_key_file = \"test.key\"\nmode = \"upsert\"\nrate = 1000\nconcurrency = 1\n",
                sb.base_url()
            ),
        );
        Setup { s, sb }
    }

    /// `notify-import ARGS` in the folder, with no key in the environment
    /// (the profile names the key file).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = notify_import();
        c.args(args).current_dir(self.s.dir.path());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run notify-import")
    }

    /// The last command of `out`'s `Next:` line, typed as printed.
    fn typed_next(&self, out: &Output) -> Output {
        let cmd = commands_in(&next_line(out)).pop().unwrap();
        let words = shell_split(&cmd);
        assert_eq!(words[0], "notify-import", "{cmd}");
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        self.run(&args)
    }

    /// Starts `args`, waits until the sandbox got `writes` more updates
    /// and deletes (each answered 40 ms late), then sends Ctrl-C.
    fn interrupted(&self, args: &[&str], writes: u64) -> Output {
        let base = self.sb.stats();
        self.sb.set_faults(Faults {
            latency_ms: 40,
            ..Faults::default()
        });
        let child = self
            .cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn notify-import");
        wait_until(LIMIT, "writes before Ctrl-C", || {
            let st = self.sb.stats();
            (st.updates - base.updates) + (st.deletes - base.deletes) >= writes
        });
        let out = interrupt(child, LIMIT);
        self.sb.set_faults(Faults::default());
        out
    }
}

/// A workbook as Excel saves it: sheet "Klanten", Dutch header, the codes
/// K0001…, every customer moved to Wageningen.
fn workbook(path: &Path, rows: usize) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Klanten").unwrap();
    for (c, name) in ["Klantnummer", "Bedrijfsnaam", "Plaats"].iter().enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    for i in 1..=rows {
        let r = i as u32;
        sheet.write_string(r, 0, format!("K{i:04}")).unwrap();
        sheet.write_string(r, 1, format!("Klant {i}")).unwrap();
        sheet.write_string(r, 2, "Wageningen").unwrap();
    }
    book.save(path).unwrap();
}

fn statuses(run: &Path) -> Vec<String> {
    results(&run.join("results.csv"))
        .into_iter()
        .map(|r| r.status)
        .collect()
}

#[cfg(unix)]
#[test]
fn an_undo_of_a_workbook_run_interrupted_under_a_profile_finishes_with_its_next_command_typed() {
    let t = Setup::new(30);
    let before = by_code(&t.sb);
    let book: PathBuf = t.s.path("klanten.xlsx");
    workbook(&book, 30);
    let out = t.run(&["plan", "klanten.xlsx", "--profile", "test"]);
    assert_exit(&out, 0);
    let plan = latest_run(&book);
    assert_valid_summary(&read_json(&plan.join("summary.json")));
    // The plan's advice, typed, is the import.
    assert_exit(&t.typed_next(&out), 0);
    let run = latest_run(&book);
    assert_ne!(run, plan);
    assert_valid_summary(&read_json(&run.join("summary.json")));
    let mut done = statuses(&run);
    done.sort();
    done.dedup();
    assert_eq!(done, ["created", "updated"]);

    // `latest` names the undo's own folder once it runs: the advice names
    // the run it undoes, and the profile that reaches its API.
    let out = t.interrupted(&["undo", "klanten.runs/latest", "--profile", "test"], 4);
    assert_exit(&out, 130);
    assert!(!run.join("undone").exists());
    let out = t.typed_next(&out);
    assert_exit(&out, 0);
    assert_eq!(by_code(&t.sb), before, "every customer as before the run");
    assert!(run.join("undone").exists());
    let undo = latest_run(&book);
    let doc = undo_summary(&undo);
    assert_eq!(doc["resumed"], true);
    assert_eq!(doc["actions"]["restored"], 15);
    assert_eq!(doc["actions"]["deleted"], 15);
}

#[cfg(unix)]
#[test]
fn a_resumed_clear_empty_upsert_keeps_no_stale_errors_file_and_its_undo_puts_notify_back() {
    let t = Setup::new(30);
    let before = by_code(&t.sb);
    let mut text = String::from("Klantnummer;Bedrijfsnaam;Plaats;E-mail\n");
    for i in 1..=30 {
        text.push_str(&format!("K{i:04};Klant {i};Wageningen;\n"));
    }
    let input = t.s.file("klanten.csv", &text);
    let args = [
        "import",
        "klanten.csv",
        "--profile",
        "test",
        "--clear-empty",
    ];
    let out = t.interrupted(&args, 4);
    assert_exit(&out, 130);
    let run = latest_run(&input);
    assert!(
        run.join("errors.csv").exists(),
        "the stopped run lists its rows not sent"
    );
    let out = t.typed_next(&out);
    assert_exit(&out, 0);
    assert_eq!(latest_run(&input), run, "the same run, continued");
    assert!(
        !run.join("errors.csv").exists(),
        "every row is imported: no errors file of rows 'not sent' is left"
    );
    let st = statuses(&run);
    assert_eq!(st.len(), 30);
    assert!(
        st.iter().all(|s| s == "updated" || s == "created"),
        "{st:?}"
    );
    for c in by_code(&t.sb).values() {
        assert_eq!(c.city.as_deref(), Some("Wageningen"), "{}", c.customer_code);
        assert_eq!(c.email, None, "--clear-empty cleared {}", c.customer_code);
    }
    let doc = read_json(&run.join("summary.json"));
    assert_valid_summary(&doc);
    assert!(doc["files"]["errors"].is_null());

    // The resumed run undone: Notify as it was, e-mail addresses included.
    let folder = run.to_str().unwrap();
    assert_exit(&t.run(&["undo", folder, "--profile", "test"]), 0);
    assert_eq!(by_code(&t.sb), before);
    undo_summary(&latest_run(&input));
}

#[test]
fn a_profile_with_an_unknown_mode_names_every_mode() {
    let s = Scratch::new();
    let config = s.file("notify-import.toml", "[profiles.x]\nmode = \"sync\"\n");
    let out = notify_import()
        .args(["config", "--profile", "x", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    for mode in ["create", "upsert", "update", "overwrite"] {
        assert!(err.contains(mode), "{err}");
    }
}
