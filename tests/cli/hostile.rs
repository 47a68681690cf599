//! Issue 23: servers that misbehave on purpose (redirects, echoed keys,
//! endless bodies, proxies, untrusted certificates), each a [`FakeServer`]
//! written apart from the sandbox. What is asserted is what a user or the
//! server would notice: exit codes, files, and what each server received.

use serde_json::json;

use crate::fake::{FakeServer, Reply, Request, posts_by_code};
use crate::harness::*;

/// `notify-import import FILE --api-url URL` with the test key.
fn import_command(url: &str, file: &std::path::Path) -> std::process::Command {
    let mut cmd = notify_import();
    cmd.arg("import")
        .arg(file)
        .args(["--api-url", url])
        .env("NOTIFY_API_KEY", TEST_KEY);
    cmd
}

/// [`import_command`] run to its end, one row in flight at a time.
fn import_to(url: &str, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    import_command(url, file)
        .args(["--rate", "1000", "--concurrency", "1"])
        .args(extra)
        .output()
        .unwrap()
}

/// A redirect is never followed, whatever its kind (301/302/303 used to
/// turn the POST into a GET, 307/308 re-posted the data elsewhere): the
/// run stops at the first one (every row would get it), the row names
/// where it pointed, with the key scrubbed from it, and the other server
/// receives nothing.
#[test]
fn a_redirect_is_not_followed_and_the_row_names_where_it_pointed() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = FakeServer::start(|_| Reply::json(201, &json!({"id": "x"})));
        let target = format!("{}/v2/customers", elsewhere.origin());
        let api = {
            let target = target.clone();
            FakeServer::start(move |req| {
                // As a hostile gateway might: the key in the Location.
                let auth = req.header("authorization").unwrap_or_default();
                let location = format!("{target}?echo={}", auth.replace(' ', "+"));
                Reply {
                    status,
                    ..Reply::default()
                }
                .header("Location", &location)
            })
        };
        let s = Scratch::new();
        let input = s.customers("in.csv", 5);
        let out = import_to(&api.base_url(), &input, &[]);

        assert_exit(&out, 3);
        assert!(
            elsewhere.requests().is_empty(),
            "HTTP {status} was followed"
        );
        let got = api.requests();
        assert_eq!(got.len(), 1, "the run stopped at the first one");
        assert_eq!(
            (got[0].method.as_str(), got[0].target.as_str()),
            ("POST", "/v2/customers")
        );
        assert_eq!(got[0].customer_code().as_deref(), Some("C0001"));
        let rows = results(&s.path("in.runs/latest/results.csv"));
        assert_eq!(rows[0].status, "failed");
        assert_eq!(rows[0].http_status, status.to_string());
        assert!(
            rows[0]
                .error
                .contains(&format!("redirected to {target}?echo=Bearer+[REDACTED]")),
            "{:?}",
            rows[0]
        );
        assert!(rows[1..].iter().all(|r| r.status == "skipped"), "{rows:?}");
        let err = stderr(&out);
        assert!(err.contains("redirects are not followed"), "{err}");
        assert!(err.contains("--resume"), "{err}");
        assert_nowhere(TEST_KEY, &out, s.dir.path());
    }
}

/// A minimal API that creates what is posted and finds what it created,
/// but answers with `hostile_id(request, code)` as the customer's id where
/// that gives one (else `id-CODE`).
fn api_with_ids(
    hostile_id: impl Fn(&Request, &str) -> Option<String> + Send + Sync + 'static,
) -> FakeServer {
    FakeServer::start(minimal_api(hostile_id))
}

/// The handler of [`api_with_ids`].
fn minimal_api(
    hostile_id: impl Fn(&Request, &str) -> Option<String> + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let created = std::sync::Mutex::new(std::collections::BTreeSet::new());
    move |req| {
        let code = match (
            req.method.as_str(),
            req.customer_code(),
            req.searched_code(),
        ) {
            ("POST", Some(code), _) => {
                created.lock().unwrap().insert(code.clone());
                code
            }
            ("GET", _, Some(code)) if created.lock().unwrap().contains(&code) => code,
            _ => return Reply::json(404, &json!({"status": 404, "title": "Not Found"})),
        };
        let id = hostile_id(req, &code).unwrap_or_else(|| format!("id-{code}"));
        let status = if req.method == "POST" { 201 } else { 200 };
        Reply::json(status, &json!({"id": id, "customerCode": code}))
    }
}

/// A server that echoes the key as the customer id (whole header, bare,
/// or inside a longer id): the key reaches no file, stdout or stderr (the
/// state database included), those rows are answers in doubt (looked up,
/// never recorded with that id, never created twice), and the honest
/// answers are imported as usual.
#[test]
fn a_key_echoed_as_the_customer_id_reaches_no_file_and_leaves_the_row_in_doubt() {
    let api = api_with_ids(|req, code| {
        let auth = req.header("authorization").unwrap_or_default().to_owned();
        let bare = auth.trim_start_matches("Bearer ").to_owned();
        match code {
            "C0001" => Some(auth),
            "C0002" => Some(bare),
            "C0003" => Some(format!("id-{bare}-x")),
            "C0004" => Some("id\u{1b}[2J".into()),
            _ => None,
        }
    });
    let s = Scratch::new();
    let input = s.customers("in.csv", 6);
    let state = s.path("state.db");
    let out = import_to(
        &api.base_url(),
        &input,
        &[
            "-vv",
            "--max-attempts",
            "3",
            "--state",
            state.to_str().unwrap(),
        ],
    );

    assert_exit(&out, 1);
    assert_nowhere(TEST_KEY, &out, s.dir.path());
    let rows = results(&s.path("in.runs/latest/results.csv"));
    for row in &rows[..4] {
        assert_eq!(
            (row.status.as_str(), row.customer_id.as_str()),
            ("failed", "")
        );
        assert!(row.error.contains("unusable"), "{row:?}");
        assert!(row.error.contains("the customer may exist"), "{row:?}");
    }
    for row in &rows[4..] {
        assert_eq!(row.status, "created");
        assert_eq!(row.customer_id, format!("id-{}", row.customer_code));
    }
    let ledger = posts_by_code(&api);
    assert_eq!(ledger.len(), 6);
    assert!(
        ledger.values().all(|n| *n == 1),
        "created twice: {ledger:?}"
    );
}

/// Bodies are read in chunks up to 1 MiB, never whole: a 50 MB answer to
/// a create (which did create the customer) leaves the row in doubt, so
/// the code is looked up and found, and reported `created` with its id;
/// no code is posted twice, and the server could hand out only a small
/// part of each body before the client hung up.
#[test]
fn a_50_mb_answer_is_cut_at_1_mib_and_the_row_is_looked_up_not_created_twice() {
    const HUGE: u64 = 50 << 20;
    let created = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let api = FakeServer::start(move |req| {
        let found = |code: &str| json!({"id": format!("id-{code}"), "customerCode": code});
        match (req.customer_code(), req.searched_code()) {
            (Some(code), _) => {
                created.lock().unwrap().insert(code.clone());
                let mut reply = Reply::json(201, &found(&code));
                // {"id":...,"customerCode":...,"pad":"xxx...x"}
                reply.body.pop();
                reply.body.extend_from_slice(br#","pad":""#);
                reply.padding = HUGE;
                reply.tail = br#""}"#.to_vec();
                reply
            }
            (None, Some(code)) if created.lock().unwrap().contains(&code) => {
                Reply::json(200, &found(&code))
            }
            _ => Reply::json(404, &json!({"status": 404, "title": "Not Found"})),
        }
    });
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let started = std::time::Instant::now();
    let out = import_to(&api.base_url(), &input, &[]);

    assert_exit(&out, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let rows = results(&s.path("in.runs/latest/results.csv"));
    for row in &rows {
        assert_eq!(row.status, "created", "{row:?}");
        assert_eq!(row.customer_id, format!("id-{}", row.customer_code));
    }
    let ledger = posts_by_code(&api);
    assert_eq!(ledger.len(), 3);
    assert!(ledger.values().all(|n| *n == 1), "posted twice: {ledger:?}");
    let searches = api.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(searches, 3, "each row in doubt is looked up once");
    // Three bodies of 50 MB; what left the server beyond the client's 1 MiB
    // each is what the sockets' buffers took before it hung up.
    assert!(api.bytes_sent() < HUGE, "{} bytes taken", api.bytes_sent());
}

/// Every spelling of the proxy variables, pointing at `proxy`.
fn proxy_env(cmd: &mut std::process::Command, proxy: &FakeServer) {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(name, proxy.origin());
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
}

/// Plain http goes only to loopback (the sandbox), and never through a
/// proxy, which would see the bearer key in clear text: every proxy
/// variable set, the import succeeds and the proxy sees nothing. An https
/// target still goes through the proxy (CONNECT), as the README says.
#[test]
fn a_proxy_is_never_used_for_plain_http_to_loopback_but_is_for_https() {
    let proxy = FakeServer::start(|_| Reply {
        status: 502,
        ..Reply::default()
    });
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 3);
    let mut cmd = import_command(&sb.base_url(), &input);
    proxy_env(&mut cmd, &proxy);
    let out = cmd.output().unwrap();

    assert_exit(&out, 0);
    assert_eq!(sb.stats().creates_by_code.len(), 3);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    // https: the proxy is asked to CONNECT (and refuses here).
    let target = "127.0.0.1:9";
    let mut cmd = import_command(&format!("https://{target}/v2"), &input);
    cmd.args(["--restart", "--max-attempts", "1"]);
    proxy_env(&mut cmd, &proxy);
    let out = cmd.output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let asked = proxy.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.method == "CONNECT" && r.target == target),
        "{asked:?}"
    );
    assert!(asked.iter().all(|r| r.header("authorization").is_none()));
}

/// An untrusted certificate (self-signed, an in-test TLS server) is a
/// setup error: exit 2, a message naming the certificate problem and
/// SSL_CERT_FILE, no request reaches the server, and nothing is left to
/// resume: the next run is not blocked, and with SSL_CERT_FILE naming the
/// certificate it imports everything.
#[test]
fn an_untrusted_certificate_is_a_setup_error_with_nothing_to_resume() {
    let api = FakeServer::start_tls(minimal_api(|_, _| None));
    let s = Scratch::new();
    let input = s.customers("in.csv", 3);
    let run = |cert_file: Option<&std::path::Path>| {
        let mut cmd = import_command(&api.base_url(), &input);
        cmd.env_remove("SSL_CERT_DIR");
        match cert_file {
            Some(path) => cmd.env("SSL_CERT_FILE", path),
            None => cmd.env_remove("SSL_CERT_FILE"),
        };
        cmd.output().unwrap()
    };

    let out = run(None);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("TLS certificate is not trusted"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(err.contains("SSL_CERT_FILE"), "{err}");
    assert!(!err.contains("--resume"), "{err}");
    assert!(api.requests().is_empty(), "{:?}", api.requests());
    let folder = latest_run(&input);
    assert!(!folder.join("journal").exists(), "nothing to resume");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["exit_code"], 2);
    assert!(summary["error"].as_str().unwrap().contains("SSL_CERT_FILE"));

    let trusted =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/server.pem");
    let out = run(Some(&trusted));
    assert_exit(&out, 0);
    let ledger = posts_by_code(&api);
    assert_eq!(ledger.len(), 3);
    assert!(ledger.values().all(|n| *n == 1), "{ledger:?}");
    // The preflight carries no key.
    let requests = api.requests();
    assert_eq!(requests[0].method, "HEAD");
    assert_eq!(requests[0].header("authorization"), None);
}

/// A server that answers every request 429, `Retry-After: 1`.
fn storm_429() -> FakeServer {
    FakeServer::start(|_| {
        Reply::json(
            429,
            &json!({"status": 429, "title": "Too Many Requests", "detail": "slow down"}),
        )
        .header("Retry-After", "1")
    })
}

/// A permanent 429 storm (issue 23 case 6: each row used to get its own
/// 300 s deadline, then exit 1 with "fix the rows"): with
/// `--stall-timeout 2s` the run stops with exit 3 within seconds, says why
/// without blaming the rows, leaves every row `skipped` (none `failed`),
/// and offers `--resume`; the server saw a bounded number of requests.
#[test]
fn a_permanent_429_storm_stops_at_the_stall_timeout_resumable_and_blames_no_row() {
    let api = storm_429();
    let s = Scratch::new();
    let input = s.customers("in.csv", 20);
    let started = std::time::Instant::now();
    let child = import_command(&api.base_url(), &input)
        .args(["--stall-timeout", "2s", "--concurrency", "4"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, std::time::Duration::from_secs(60));

    assert_exit(&out, 3);
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    let err = stderr(&out);
    assert!(
        err.contains(
            "no request has succeeded for 2s (--stall-timeout); the last answer: HTTP 429"
        ),
        "{err}"
    );
    assert!(err.contains("nothing is wrong with the rows"), "{err}");
    assert!(!err.contains("fix the rows"), "{err}");
    assert!(
        err.contains("notify-import import ") && err.contains(" --resume"),
        "{err}"
    );
    let rows = results(&s.path("in.runs/latest/results.csv"));
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r.status == "skipped"), "{rows:?}");
    assert!(latest_run(&input).join("journal").exists(), "resumable");
    let requests = api.requests().len();
    assert!((1..100).contains(&requests), "{requests} requests");
}

/// The same storm while Notify's state is read, before anything is
/// written (`--mode upsert`/`update` and `plan` read the customer list
/// first): the stall watchdog runs then too. Each read used to retry its
/// 429s until its own 300 s deadline, whatever `--stall-timeout` said.
/// Now each command stops at the stall timeout with exit 3, naming it,
/// and nothing but reads reached the server.
#[test]
fn a_429_storm_while_reading_notify_stops_at_the_stall_timeout() {
    let api = storm_429();
    let s = Scratch::new();
    let input = s.customers("in.csv", 20);
    for command in [
        &["import", "--mode", "upsert"][..],
        &["import", "--mode", "update", "--restart"],
        &["plan", "--mode", "upsert"],
    ] {
        let child = notify_import()
            .args(command)
            .arg(&input)
            .args(["--api-url", &api.base_url(), "--stall-timeout", "2s"])
            .env("NOTIFY_API_KEY", TEST_KEY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, std::time::Duration::from_secs(60));
        assert_exit(&out, 3);
        let err = stderr(&out);
        assert!(
            err.contains(
                "no request has succeeded for 2s (--stall-timeout); the last answer: HTTP 429"
            ),
            "{command:?}: {err}"
        );
    }
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "only reads were sent"
    );
    assert!(
        (1..100).contains(&requests.len()),
        "{} requests",
        requests.len()
    );
}
