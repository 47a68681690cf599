//! Key hygiene and file safety: the key never leaks into any output, files
//! are private, spreadsheet formulas are neutralized in results only.

use std::path::{Path, PathBuf};

use notify_import::sandbox::Faults;

use crate::fake::{FakeServer, Reply};
use crate::harness::*;

/// A fake API that answers every request `401` with a body echoing the
/// Authorization header, as some proxies do.
fn echoing_api() -> FakeServer {
    FakeServer::start(|req| {
        let auth = req.header("authorization").unwrap_or_default();
        Reply::json(
            401,
            &serde_json::json!({
                "status": 401,
                "title": "Unauthorized",
                "detail": format!("token rejected: {auth}"),
            }),
        )
    })
}

#[test]
fn the_key_never_appears_in_any_output_at_vv_on_success_auth_failure_or_echo() {
    // Success, text and JSON logs, with every output file there is.
    for format in ["text", "json"] {
        let s = Scratch::new();
        let sb = sandbox();
        let input = s.customers("in.csv", 4);
        let state = s.path("state.db");
        let summary = s.path("summary.json");
        let out = import(
            &sb,
            &input,
            &[
                "-vv",
                "--log-format",
                format,
                "--state",
                state.to_str().unwrap(),
                "--summary-json",
                summary.to_str().unwrap(),
            ],
        );
        assert_exit(&out, 0);
        assert!(summary.exists() && state.exists());
        assert_nowhere(TEST_KEY, &out, s.dir.path());
    }

    // The API rejects the key: the results, journal and summary are written.
    let s = Scratch::new();
    let sb = sandbox::spawn(SandboxOptions {
        required_key: Some("test_someOtherKeyThatIsNotOurs0123".into()),
        ..SandboxOptions::default()
    })
    .unwrap();
    let input = s.customers("in.csv", 4);
    let summary = s.path("summary.json");
    let out = import(
        &sb,
        &input,
        &["-vv", "--summary-json", summary.to_str().unwrap()],
    );
    assert_exit(&out, 3);
    assert!(s.path("in.runs/latest/journal").exists());
    assert_nowhere(TEST_KEY, &out, s.dir.path());
}

#[test]
fn a_key_echoed_by_the_server_is_redacted_everywhere_and_a_live_run_says_live() {
    let live = TEST_KEY.replace("test_", "live_");
    let api = echoing_api();
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let summary = s.path("summary.json");
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &api.base_url(), "--live", "-vv"])
        .args(["--summary-json", summary.to_str().unwrap()])
        .env("NOTIFY_API_KEY", &live)
        .output()
        .unwrap();
    assert_exit(&out, 3);
    assert_nowhere(&live, &out, s.dir.path());
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert!(
        rows.iter().any(
            |r| r.http_status == "401" && r.error.contains("token rejected: Bearer [REDACTED]")
        ),
        "the echo reached the results, scrubbed: {rows:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(doc["target"]["key_kind"], "live");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LIVE key (REAL customer data)"), "{stderr}");
}

/// A server that echoes only the secret part of the key, without its
/// public `test_` prefix (as the id of a create, in an error detail, in a
/// redirect's Location, with `--state` so the state database is written
/// too): that part is as secret as the whole key and reaches no output.
/// The id holding it is not plausible, so the code is looked up: the row
/// is `created` with the id the search gave.
#[test]
fn the_key_without_its_prefix_echoed_by_the_server_reaches_no_output() {
    let bare = TEST_KEY.strip_prefix("test_").unwrap().to_owned();
    let api = FakeServer::start(move |req| {
        let auth = req.header("authorization").unwrap_or_default();
        let bare = auth.rsplit('_').next().unwrap_or_default().to_owned();
        if let Some(code) = req.searched_code() {
            return Reply::json(
                200,
                &serde_json::json!({"id": format!("id-{code}"), "customerCode": code}),
            );
        }
        match req.customer_code().as_deref() {
            Some("C0001") => Reply::json(
                201,
                &serde_json::json!({"id": bare, "customerCode": "C0001"}),
            ),
            Some("C0002") => Reply::json(
                422,
                &serde_json::json!({"status": 422, "title": bare, "detail": format!("bad token {bare}")}),
            ),
            _ => Reply::json(307, &serde_json::json!({}))
                .header("Location", &format!("http://127.0.0.1:9/{bare}")),
        }
    });
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let state = s.path("state.db");
    let out = notify_import()
        .arg(&input)
        .args(["--api-url", &api.base_url(), "-vv", "--concurrency", "1"])
        .args(["--rate", "1000", "--state", state.to_str().unwrap()])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 3);
    assert!(state.exists());
    assert_nowhere(&bare, &out, s.dir.path());
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(rows[0].status, "created", "{rows:?}");
    assert_eq!(rows[0].customer_id, "id-C0001", "{rows:?}");
    assert!(rows[1].error.contains("[REDACTED]"), "{rows:?}");
    assert!(rows[2].error.contains("[REDACTED]"), "{rows:?}");
}

/// Panic paths: a panic message is whatever some `Debug`/`Display` made
/// of the values at hand, so every type that holds or reports on a key
/// must render without it, and the panic hook's line is scrubbed.
#[test]
fn debug_and_error_text_of_every_type_holding_a_key_never_show_it() {
    use notify_import::config::{ApiKey, Config};
    let key = TEST_KEY;
    let cli =
        notify_import::cli::parse_from(["notify-import", "in.csv", "--state", "s.db"]).unwrap();
    let config = Config::from_cli_with_env(cli, |name| {
        (name == "NOTIFY_API_KEY").then(|| key.to_owned())
    })
    .unwrap();
    let api_key = ApiKey::parse(key, "test").unwrap();
    let url: reqwest::Url = "http://127.0.0.1:9/v2".parse().unwrap();
    let client = notify_import::upload::api::ApiClient::new(
        &url,
        &api_key,
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    let echoed = notify_import::upload::api::ApiError::from_response(
        reqwest::StatusCode::UNAUTHORIZED,
        None,
        format!(r#"{{"detail":"bad token Bearer {key}"}}"#).as_bytes(),
    );
    let stop = notify_import::upload::StopReason::Auth(echoed.clone());
    let setup = notify_import::SetupError::from(
        ApiKey::parse(&format!("{key}!"), "NOTIFY_API_KEY").unwrap_err(),
    );
    let rendered = [
        format!("{config:?}"),
        format!("{api_key:?}"),
        format!("{client:?}"),
        format!("{echoed:?}"),
        format!("{echoed}"),
        format!("{stop:?}"),
        format!("{stop}"),
        format!("{setup:?}"),
        format!("{setup}"),
        notify_import::util::redact::panic_line(&format!("oops {}", api_key.expose()), None),
    ];
    for text in rendered {
        assert!(!text.contains(key), "key shown in: {text}");
    }
}

#[cfg(unix)]
#[test]
fn every_file_a_run_creates_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    // One rejected row stops the run (--max-errors 1), which keeps the
    // journal for --resume, and makes an errors file.
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["C0002".into()],
        ..Faults::default()
    });
    let input = s.customers("in.csv", 3);
    let out = import(
        &sb,
        &input,
        &[
            "--concurrency",
            "1",
            "--max-errors",
            "1",
            "--state",
            s.path("state.db").to_str().unwrap(),
            "--summary-json",
            s.path("summary.json").to_str().unwrap(),
        ],
    );
    assert_exit(&out, 3);
    let created: Vec<PathBuf> = files_under(s.dir.path())
        .into_iter()
        .filter(|p| p != &input)
        .collect();
    let names: Vec<String> = created
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "results.csv",
        "errors.csv",
        "journal",
        "lock",
        "state.db",
        "state.db.lock",
        "summary.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for path in created {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 1);
    let key = s.file("key.txt", &format!("{TEST_KEY}\n"));
    let run = |extra: &[&str]| {
        notify_import()
            .arg(&input)
            .args(["--api-url", &sb.base_url(), "--api-key-file"])
            .arg(&key)
            .args(extra)
            .output()
            .unwrap()
    };
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&[]);
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("can be read by other users (mode 644)"),
        "{stderr}"
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&[]);
    assert_exit(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("other users"));
}

#[test]
fn formula_cells_are_neutralized_in_results_but_sent_exactly() {
    let s = Scratch::new();
    let sb = sandbox();
    let codes = ["=1+2", "+31", "-7", "@SUM(A1)", "PLAIN"];
    let mut text = String::from("CustomerCode,Name\n");
    for (i, code) in codes.iter().enumerate() {
        text.push_str(&format!("{code},Klant {i}\n"));
    }
    let input = s.file("in.csv", &text);
    assert_exit(&import(&sb, &input, &[]), 0);

    let rows = results(&s.path("in.runs/latest/results.csv"));
    let written: Vec<&str> = rows.iter().map(|r| r.customer_code.as_str()).collect();
    assert_eq!(written, ["'=1+2", "'+31", "'-7", "'@SUM(A1)", "PLAIN"]);
    let mut stored: Vec<String> = sb
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    stored.sort();
    let mut sent: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    sent.sort();
    assert_eq!(stored, sent, "the API got the exact values");
}

/// Issue 23: credentials, a query or a fragment in the API URL are refused
/// before anything else, from the flag or the environment (cron's mail
/// shows stderr), without ever repeating the secret part.
#[test]
fn a_url_with_credentials_a_query_or_a_fragment_is_refused_before_anything_else() {
    let s = Scratch::new();
    let input = s.customers("in.csv", 1);
    for url in [
        "http://user:hunter2pass@127.0.0.1:9/v2",
        "https://user:hunter2pass@api.notify.cm/v2",
        "https://api.notify.cm/v2?token=hunter2pass",
        "https://api.notify.cm/v2#hunter2pass",
    ] {
        let by_flag = notify_import()
            .arg(&input)
            .args(["--api-url", url])
            .env("NOTIFY_API_KEY", TEST_KEY)
            .output()
            .unwrap();
        // No key either: the URL is what gets refused, first.
        let by_env = notify_import()
            .arg(&input)
            .env("NOTIFY_API_URL", url)
            .output()
            .unwrap();
        for (out, origin) in [(by_flag, "--api-url"), (by_env, "NOTIFY_API_URL")] {
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(!err.contains("hunter2pass"), "{url}: {err}");
            assert!(err.contains(origin), "{url}: {err}");
            assert!(
                err.contains("user name or password") || err.contains("give the API's base URL"),
                "{url}: {err}"
            );
        }
    }
    assert!(
        !s.path("in.runs").exists(),
        "a refused URL leaves nothing behind"
    );
}

/// `config` shows the API URL it would use without the secret parts an
/// import refuses: from `NOTIFY_API_URL`, a flag after `--` or a profile,
/// a password or a `?token=` never reaches the terminal (cron's mail).
#[test]
fn config_never_prints_a_password_or_query_of_the_api_url() {
    let s = Scratch::new();
    s.file(
        "notify-import.toml",
        "[profiles.x]\napi_url = \"https://u:hunter2pass@api.notify.cm/v2?t=hunter2pass\"\n",
    );
    let url = "https://user:hunter2pass@api.notify.cm/v2?token=hunter2pass#hunter2pass";
    let runs = [
        notify_import()
            .arg("config")
            .env("NOTIFY_API_URL", url)
            .current_dir(s.dir.path())
            .output()
            .unwrap(),
        notify_import()
            .args(["config", "--", "--api-url", url])
            .current_dir(s.dir.path())
            .output()
            .unwrap(),
        notify_import()
            .args(["config", "--profile", "x"])
            .current_dir(s.dir.path())
            .output()
            .unwrap(),
    ];
    for out in runs {
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!shown.contains("hunter2pass"), "{shown}");
        assert!(shown.contains("https://…@api.notify.cm/v2?…"), "{shown}");
    }
}

/// Issue 23: a key file is read with a small cap (an endless device is
/// refused at once, memory untouched) and a UTF-8 byte-order mark, as
/// Windows editors write, is no part of the key.
#[test]
fn a_key_file_is_read_with_a_cap_and_its_byte_order_mark_ignored() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    let key = s.path("key.txt");
    std::fs::write(&key, format!("\u{feff}{TEST_KEY}\r\n")).unwrap();
    let with_key_file = |path: &Path| {
        notify_import()
            .arg(&input)
            .args(["--api-url", &sb.base_url(), "--api-key-file"])
            .arg(path)
            .output()
            .unwrap()
    };
    let out = with_key_file(&key);
    assert_exit(&out, 0);
    assert_eq!(sb.stats().creates_by_code.len(), 2);

    #[cfg(unix)]
    {
        let started = std::time::Instant::now();
        let out = with_key_file(Path::new("/dev/zero"));
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("the API key file /dev/zero is larger than 4096 bytes"),
            "{}",
            stderr(&out)
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
    let big = s.file("big.txt", &format!("{TEST_KEY}\n{}", "#\n".repeat(4096)));
    let out = with_key_file(&big);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("big.txt is larger than"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(TEST_KEY));
}

// ---- planted links (issue 23, part 3) ----

#[cfg(unix)]
#[test]
fn a_planted_lock_link_leaves_its_target_intact_and_the_run_refuses() {
    // Where the link is planted, what it points at, and the extra flags.
    let cases: [(&str, &str, &[&str]); 2] = [
        ("in.runs/lock", "../victim", &[]),
        ("state.db.lock", "victim", &["--state", "state.db"]),
    ];
    for (lock, target, flags) in cases {
        let s = Scratch::new();
        let sb = sandbox();
        s.customers("in.csv", 3);
        let victim = s.file("victim", "precious, byte for byte\n");
        std::fs::create_dir(s.path("in.runs")).unwrap();
        std::os::unix::fs::symlink(target, s.path(lock)).unwrap();
        let out = notify_import()
            .current_dir(s.dir.path())
            .args(["import", "in.csv", "--api-url", &sb.base_url()])
            .args(flags)
            .env("NOTIFY_API_KEY", TEST_KEY)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{lock} is a symbolic link, not a lock file of notify-import"
            )) && err.contains("Remove it"),
            "{lock}: {err}"
        );
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"precious, byte for byte\n",
            "{lock}"
        );
        assert_eq!(sb.stats().requests, 0, "{lock}: nothing sent");
        assert!(
            run_folders(&s.path("in.runs")).is_empty(),
            "{lock}: no run folder"
        );
        assert!(!s.path("state.db").exists(), "{lock}: no state");
    }
}

/// Someone who can write only to the input's folder renames `in.runs`
/// away mid-run and puts a link in its place, through a folder of theirs
/// whose entry of the run's name leads to a folder they chose (a root cron
/// job would write customer data, or replace files, there). The run
/// holds its folders open: it goes on, and every file it writes after the
/// swap lands in its own folder, now under the moved name; nothing
/// reaches the link's target. Stopping would be worse for the user: the
/// rows already sent would have no results, and the attacker could stop
/// any run at will.
#[cfg(unix)]
#[test]
fn a_runs_folder_swapped_for_a_link_mid_run_redirects_no_file() {
    const ROWS: usize = 40;
    let limit = std::time::Duration::from_secs(60);
    let s = Scratch::new();
    // 40 creates one after another at 50 ms each: the run is still
    // sending long after its journal appears.
    let sb = sandbox_with_faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    });
    let input = s.customers("in.csv", ROWS);
    let child = spawn_import(&sb, &input, &["--rate", "1000", "--concurrency", "1"]);
    let runs = s.path("in.runs");
    let mut journal = PathBuf::new();
    wait_until(limit, "the run's journal", || {
        let found = run_folders(&runs)
            .into_iter()
            .map(|f| f.join("journal"))
            .find(|j| j.exists());
        found.map(|j| journal = j).is_some()
    });
    let run_name = journal.parent().unwrap().file_name().unwrap().to_owned();

    let moved = s.path("moved.runs");
    std::fs::rename(&runs, &moved).unwrap();
    let attacker = s.path("atk");
    let target = s.path("target");
    std::fs::create_dir(&attacker).unwrap();
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&target, attacker.join(&run_name)).unwrap();
    std::os::unix::fs::symlink(&attacker, &runs).unwrap();
    // The swap came before the end: what follows is written after it.
    assert!(
        sb.stats().creates < ROWS as u64,
        "the run finished before the swap; the test proves nothing"
    );

    let out = wait_bounded(child, limit);
    assert_exit(&out, 0);
    assert_eq!(
        files_under(&target),
        Vec::<PathBuf>::new(),
        "nothing in the target"
    );
    assert_eq!(
        std::fs::read_dir(&attacker).unwrap().count(),
        1,
        "nothing added beside the attacker's link"
    );
    let own = moved.join(&run_name);
    let rows = assert_universal(&own.join("results.csv"), ROWS as u64, &sb);
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
    for name in ["summary.json", "report.html", "journal.done"] {
        assert!(own.join(name).is_file(), "{name} in the run's own folder");
    }
    assert!(
        !own.join("journal").exists(),
        "the journal was renamed in place"
    );
}
