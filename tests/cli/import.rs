//! `import` against the sandbox: outcomes, what the server received, exit codes.

use crate::harness::*;

#[test]
fn happy_path_creates_every_row_and_results_match_the_contract_byte_for_byte() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 5);
    let out = import(&sb, &input, &["--concurrency", "3"]);
    assert_exit(&out, 0);

    let stats = sb.stats();
    assert_eq!(stats.creates, 5);
    assert!(stats.creates_by_code.values().all(|n| *n == 1));
    assert!(
        stats.max_in_flight <= 3,
        "max in flight {}",
        stats.max_in_flight
    );

    let ids: std::collections::BTreeMap<String, String> = sb
        .customers()
        .into_iter()
        .map(|c| (c.customer_code.clone(), c.id.clone()))
        .collect();
    let mut expected =
        String::from("row,line,customer_code,status,customer_id,http_status,attempts,error\n");
    for i in 1..=5 {
        let code = format!("C{i:04}");
        expected.push_str(&format!(
            "{i},{},{code},created,{},201,1,\n",
            i + 1,
            ids[&code]
        ));
    }
    let written = std::fs::read_to_string(s.path("in.runs/latest/results.csv")).unwrap();
    assert_eq!(written, expected);
}

#[test]
fn rerun_without_overwrite_reports_exists_with_the_same_ids_and_creates_nothing() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 4);
    assert_exit(&import(&sb, &input, &[]), 0);
    let first = results(&s.path("in.runs/latest/results.csv"));

    assert_exit(&import(&sb, &input, &[]), 0);
    let second = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(sb.stats().creates, 4, "no new creates");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(b.status, "exists");
        assert_eq!(a.customer_id, b.customer_id);
    }
}

#[test]
fn rerun_with_overwrite_updates_in_place() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 3);
    assert_exit(&import(&sb, &input, &[]), 0);
    let first = results(&s.path("in.runs/latest/results.csv"));

    let changed = std::fs::read_to_string(&input)
        .unwrap()
        .replace("Utrecht", "Zwolle");
    std::fs::write(&input, changed).unwrap();
    assert_exit(&import(&sb, &input, &["--overwrite"]), 0);
    let second = results(&s.path("in.runs/latest/results.csv"));
    let stats = sb.stats();
    assert_eq!(stats.creates, 3);
    assert_eq!(stats.overwrites, 3);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(b.status, "overwritten");
        assert_eq!(a.customer_id, b.customer_id);
    }
    assert!(
        sb.customers()
            .iter()
            .all(|c| c.city.as_deref() == Some("Zwolle"))
    );
}

#[test]
fn duplicate_as_409_is_reported_as_exists_with_the_id_from_search() {
    let s = Scratch::new();
    let sb = sandbox::spawn(SandboxOptions {
        duplicate: sandbox::DuplicateMode::Conflict,
        ..SandboxOptions::default()
    })
    .unwrap();
    let input = s.customers("in.csv", 2);
    assert_exit(&import(&sb, &input, &[]), 0);
    assert_exit(&import(&sb, &input, &[]), 0);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    let ids: std::collections::BTreeMap<String, String> = sb
        .customers()
        .into_iter()
        .map(|c| (c.customer_code.clone(), c.id.clone()))
        .collect();
    for r in &rows {
        assert_eq!(r.status, "exists");
        assert_eq!(r.http_status, "409");
        assert_eq!(r.attempts, 2, "create + search");
        assert_eq!(r.customer_id, ids[&r.customer_code]);
    }
    assert_eq!(sb.stats().creates, 2);
}

#[test]
fn sample_file_invalid_rows_never_reach_the_server_and_exit_is_1() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.path("customers.csv");
    copy_sample("customers.csv", &input);
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 1);

    let rows = results(&s.path("customers.runs/latest/results.csv"));
    assert_eq!(rows.len(), 31, "one results row per input row");
    assert_eq!(
        rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        (1..=31).collect::<Vec<_>>()
    );
    let invalid: Vec<u64> = rows
        .iter()
        .filter(|r| r.status == "invalid")
        .map(|r| r.row)
        .collect();
    assert_eq!(invalid, [21, 22, 23, 24, 25]);
    assert!(
        rows.iter()
            .filter(|r| r.status != "invalid")
            .all(|r| r.status == "created")
    );
    // Row 22 lists both of its problems.
    assert!(
        rows[21].error.contains("Postalcode") && rows[21].error.contains("Email"),
        "{}",
        rows[21].error
    );
    assert!(
        rows[24].error.contains("duplicate of line 8"),
        "{}",
        rows[24].error
    );
    // The quoted line break in row 26 moves the following rows down a line.
    assert_eq!((rows[25].line, rows[26].line), (27, 29));

    let stats = sb.stats();
    assert_eq!(stats.creates, 26);
    for code in ["10021", "10022", "10023", "10024"] {
        assert!(!stats.creates_by_code.contains_key(code), "{code} was sent");
    }
    assert_eq!(
        stats.creates_by_code["10007"], 1,
        "in-file duplicate sent once"
    );
    assert_eq!(stats.requests, 26, "nothing but the valid rows was sent");

    let stored = sb.customers();
    let creditpartners = stored.iter().find(|c| c.customer_code == "10001").unwrap();
    assert_eq!(
        creditpartners.phone.as_deref(),
        Some("0882441100"),
        "leading zero kept"
    );
    assert_eq!(
        creditpartners.registration_number.as_deref(),
        Some("08123456")
    );
    let pleintje = stored.iter().find(|c| c.customer_code == "10004").unwrap();
    assert_eq!(
        pleintje.country.as_deref(),
        Some("NL"),
        "country case-normalized"
    );
}

#[test]
fn rejected_key_aborts_within_concurrency_requests_and_skips_the_rest() {
    let s = Scratch::new();
    let sb = sandbox::spawn(SandboxOptions {
        required_key: Some("test_someOtherKeyThatIsNotOurs0123".into()),
        ..SandboxOptions::default()
    })
    .unwrap();
    let input = s.customers("in.csv", 60);
    let out = import(&sb, &input, &["--concurrency", "4"]);
    assert_exit(&out, 3);
    let stats = sb.stats();
    assert!(
        stats.requests >= 1 && stats.requests <= 4,
        "requests: {}",
        stats.requests
    );
    assert_eq!(stats.creates, 0);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(rows.len(), 60);
    let failed = rows.iter().filter(|r| r.status == "failed").count() as u64;
    assert_eq!(failed, stats.requests);
    assert!(
        rows.iter()
            .all(|r| r.status == "failed" || r.status == "skipped")
    );
    assert!(
        rows.iter()
            .filter(|r| r.status == "failed")
            .all(|r| r.http_status == "401")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(TEST_KEY), "key leaked on stderr");
}

#[test]
fn an_existing_results_file_named_by_the_user_is_refused_unless_overwrite_outputs() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    let results_path = s.file("out.csv", "keep me\n");
    let named = ["--results", results_path.to_str().unwrap()];
    let out = import(&sb, &input, &named);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read_to_string(&results_path).unwrap(), "keep me\n");
    assert_eq!(sb.stats().requests, 0);
    assert!(
        !s.path("in.runs/latest").exists(),
        "a refused run leaves no run folder"
    );

    let out = import(
        &sb,
        &input,
        &[&named[..], &["--overwrite-outputs"]].concat(),
    );
    assert_exit(&out, 0);
    assert_eq!(results(&results_path).len(), 2);
}

#[test]
fn file_without_customer_code_column_exits_2_before_sending() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.file("in.csv", "Name,City\nACME,Utrecht\n");
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, 0);
    assert!(!s.path("in.runs/latest/results.csv").exists());
}

#[test]
fn live_key_without_live_flag_is_refused_before_any_request() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &sb.base_url()])
        .env("NOTIFY_API_KEY", TEST_KEY.replace("test_", "live_"))
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let s = Scratch::new();
    let input = s.customers("in.csv", 1);
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", "http://api.notify.cm/v2"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(!s.path("in.runs/latest/results.csv").exists());
}

#[test]
fn key_file_is_read_and_results_path_honoured() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    let key = s.file("key.txt", &format!("{TEST_KEY}\n"));
    let results_path = s.path("out/custom.csv");
    std::fs::create_dir(s.path("out")).unwrap();
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &sb.base_url()])
        .arg("--api-key-file")
        .arg(&key)
        .arg("--results")
        .arg(&results_path)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(results(&results_path).len(), 2);
    assert_eq!(sb.stats().creates, 2);
}

#[test]
fn embedded_sandbox_flag_runs_end_to_end() {
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let out = notify_import()
        .arg(&input)
        .arg("--sandbox")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert!(
        rows.iter()
            .all(|r| r.status == "created" && !r.customer_id.is_empty())
    );
}

#[cfg(unix)]
#[test]
fn results_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 1);
    assert_exit(&import(&sb, &input, &[]), 0);
    let mode = std::fs::metadata(s.path("in.runs/latest/results.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
