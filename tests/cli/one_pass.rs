//! The one pass: `validate` and `import` agree on every row's local
//! outcome, the input is read once (a FIFO works), and a file changed
//! while an import runs cannot change what it sends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;

const EVERY_LOCAL_OUTCOME: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/every-local-outcome.csv"
);

fn fixture(s: &Scratch, from: &str, name: &str) -> PathBuf {
    let path = s.path(name);
    std::fs::copy(from, &path).unwrap();
    path
}

/// The guard of the one-pass design: a row's local outcome (invalid and
/// why, or fit to send) does not depend on the command that found it.
#[test]
fn validate_and_import_agree_on_every_rows_local_outcome() {
    let s = Scratch::new();
    for (from, name) in [
        (EVERY_LOCAL_OUTCOME, "every.csv"),
        (
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/dutch-trailing-semicolon.csv"
            ),
            "trailing.csv",
        ),
        (
            concat!(env!("CARGO_MANIFEST_DIR"), "/samples/customers.csv"),
            "sample.csv",
        ),
    ] {
        let sb = sandbox();
        let input = fixture(&s, from, name);
        let checked = validate(&input, &[]);
        let check_rows = results(&latest_run(&input).join("results.csv"));
        let imported = import(&sb, &input, &[]);
        assert_eq!(checked.status.code(), imported.status.code(), "{name}");
        let import_rows = results(&latest_run(&input).join("results.csv"));
        assert_eq!(check_rows.len(), import_rows.len(), "{name}");
        assert!(check_rows.iter().any(|r| r.status == "invalid"), "{name}");
        for (c, i) in check_rows.iter().zip(&import_rows) {
            assert_eq!(
                (c.row, c.line, &c.customer_code),
                (i.row, i.line, &i.customer_code)
            );
            match c.status.as_str() {
                "invalid" => assert_eq!((&i.status, &i.error), (&c.status, &c.error), "{name}"),
                "valid" => assert_eq!(i.status, "created", "{name} row {}", c.row),
                other => panic!("a check wrote {other}"),
            }
        }
        // The errors files of both hold the same rows.
        let import_errors = std::fs::read(latest_run(&input).join("errors.csv")).unwrap();
        let check_dir = run_folders(&input.with_extension("runs"))
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with("-check"))
            .unwrap();
        assert_eq!(
            std::fs::read(check_dir.join("errors.csv")).unwrap(),
            import_errors,
            "{name}"
        );
    }
}

/// Appends rows with new codes and a repeat of a sent code.
fn append_rows(path: &Path) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for i in 0..50 {
        writeln!(f, "X{i:03},Late {i},,,,NL,,,,,,,").unwrap();
    }
    writeln!(f, "C0300,Repeat of an early code,,,,NL,,,,,,,").unwrap();
}

#[cfg(unix)]
#[test]
fn an_input_changed_while_an_import_runs_changes_nothing_it_sends() {
    let s = Scratch::new();
    let rows = 300;
    let appended = s.customers("appended.csv", rows);
    let replaced = s.customers("replaced.csv", rows);
    let original = std::fs::read(&replaced).unwrap();
    for input in [&appended, &replaced] {
        let sb = sandbox();
        let child = spawn_import(&sb, input, &["--rate", "200", "--burst", "1"]);
        wait_until(Duration::from_secs(60), "the first creates", || {
            sb.stats().creates >= 10
        });
        if input == &appended {
            append_rows(input);
        } else {
            // Rewritten in place: other codes, same length.
            let text = String::from_utf8(original.clone())
                .unwrap()
                .replace("C0", "Z0");
            std::fs::write(input, text).unwrap();
        }
        let out = wait_bounded(child, Duration::from_secs(60));
        assert_exit(&out, 0);
        let got = assert_universal(&latest_run(input).join("results.csv"), rows as u64, &sb);
        assert!(got.iter().all(|r| r.status == "created"));
        assert_eq!(sb.stats().creates, rows as u64);
        let codes: Vec<String> = sb
            .customers()
            .into_iter()
            .map(|c| c.customer_code)
            .collect();
        assert!(
            codes.iter().all(|c| c.starts_with('C')),
            "nothing appended or rewritten was sent"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_once_by_validate_and_import() {
    let s = Scratch::new();
    let sb = sandbox();
    let source = s.customers("source.csv", 40);
    let text = std::fs::read(&source).unwrap();
    for command in ["validate", "import"] {
        let fifo = s.path(&format!("{command}.csv"));
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let writer = {
            let (fifo, text) = (fifo.clone(), text.clone());
            // Blocks until the tool opens the FIFO; one writer, one open.
            std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
        };
        let out = if command == "validate" {
            validate(&fifo, &[])
        } else {
            import(&sb, &fifo, &[])
        };
        writer.join().unwrap();
        assert_exit(&out, 0);
        let got = results(&latest_run(&fifo).join("results.csv"));
        assert_eq!(got.len(), 40, "{command}");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(latest_run(&fifo).join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(
            summary["input"]["fingerprint"],
            format!("xxh3-128:{:032x}", xxhash_rust::xxh3::xxh3_128(&text)),
            "{command}"
        );
    }
    assert_eq!(sb.stats().creates, 40);
}
