//! `validate` and `--dry-run`: offline by construction.

use std::net::TcpListener;

use crate::harness::*;

/// A listener nobody serves: if anything connects, the test sees it.
fn silent_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}/v2", l.local_addr().unwrap());
    (l, url)
}

fn assert_no_connection(l: &TcpListener) {
    assert!(
        l.accept().is_err(),
        "something connected to the API address"
    );
}

#[test]
fn validate_sends_nothing_and_writes_valid_and_invalid() {
    let s = Scratch::new();
    let (listener, url) = silent_listener();
    let input = s.path("customers.csv");
    copy_sample("customers.csv", &input);
    let out = notify_import()
        .arg("validate")
        .arg(&input)
        .env("NOTIFY_API_URL", &url)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert_no_connection(&listener);
    let rows = results(&s.path("customers.runs/latest/results.csv"));
    assert_eq!(rows.len(), 31);
    assert_eq!(rows.iter().filter(|r| r.status == "valid").count(), 26);
    assert_eq!(rows.iter().filter(|r| r.status == "invalid").count(), 5);
    assert!(
        rows.iter()
            .all(|r| r.attempts == 0 && r.customer_id.is_empty())
    );
}

#[test]
fn dry_run_needs_no_key_and_sends_nothing() {
    let s = Scratch::new();
    let (listener, url) = silent_listener();
    let input = s.customers("in.csv", 3);
    let out = notify_import()
        .arg(&input)
        .args(["--dry-run", "--api-url", &url])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_no_connection(&listener);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert!(rows.iter().all(|r| r.status == "valid"));
}

#[test]
fn every_problem_of_a_row_is_listed() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        &format!("{HEADER}\nX1,,,12345678901,,ZZ,,abc,,not-an-email,,,\n"),
    );
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    let err = &rows[0].error;
    for field in ["Name", "Postalcode", "Country", "Phone", "Email"] {
        assert!(err.contains(field), "{field} missing from {err}");
    }
}

#[test]
fn line_numbers_count_crlf_and_quoted_newlines() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        "CustomerCode,Name,Address\r\nA1,One,\"multi\r\nline\"\r\n\r\nA2,Two,x\r\nA3,,y\r\n",
    );
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    let lines: Vec<(u64, u64)> = rows.iter().map(|r| (r.row, r.line)).collect();
    assert_eq!(lines, [(1, 2), (2, 5), (3, 6)]);
}

#[test]
fn help_documents_exit_codes() {
    let out = notify_import().arg("--help").output().unwrap();
    assert_exit(&out, 0);
    let help = String::from_utf8_lossy(&out.stdout);
    for code in ["130", "Exit codes"] {
        assert!(help.contains(code));
    }
}

#[test]
fn repeated_codes_are_reported_alike_by_validate_and_import() {
    let s = Scratch::new();
    // Row 3 repeats row 1; row 5 repeats row 4, which lacks a name (so C
    // is never sent); row 6 repeats row 2 and has a bad e-mail too.
    let input = s.file(
        "in.csv",
        "CustomerCode,Name,Email\nA,Ann,\nB,Bob,\nA,Ann again,\nC,,\nC,Cas,\nB,Bob,not-an-email\n",
    );
    let summary = s.path("validate.json");
    let out = validate(&input, &["--summary-json", summary.to_str().unwrap()]);
    assert_exit(&out, 1);
    let checked = results(&s.path("in.runs/latest/results.csv"));
    let statuses: Vec<&str> = checked.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["valid", "valid", "invalid", "invalid", "invalid", "invalid"]
    );
    assert!(
        checked[2].error.contains("duplicate of line 2"),
        "{checked:?}"
    );
    assert!(
        checked[4].error.contains("duplicate of line 5"),
        "{checked:?}"
    );
    assert!(
        checked[5].error.starts_with("Email:") && checked[5].error.contains("duplicate of line 3"),
        "every problem of the row: {checked:?}"
    );
    crate::cron::assert_counts_match(&crate::cron::read_json(&summary), &checked);
    let errors = std::fs::read_to_string(s.path("in.runs/latest/errors.csv")).unwrap();
    assert_eq!(
        errors.lines().count(),
        5,
        "header and the four rows: {errors}"
    );

    // The import reads the file twice; its verdicts on every row agree.
    let sb = sandbox();
    let out = import(
        &sb,
        &input,
        &["--results", s.path("import.csv").to_str().unwrap()],
    );
    assert_exit(&out, 1);
    let imported = results(&s.path("import.csv"));
    for (v, i) in checked.iter().zip(&imported) {
        assert_eq!(v.error, i.error, "row {}", v.row);
        let expected = if v.status == "valid" {
            "created"
        } else {
            "invalid"
        };
        assert_eq!(i.status, expected, "row {}", v.row);
    }
    assert_eq!(sb.stats().creates, 2, "A and B once each");
}
