//! Test harness: a temp dir with input files, the real binary, the sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use notify_import::sandbox::{self, SandboxHandle, SandboxOptions};

/// A key the sandbox accepts (any `test_` key of a plausible format).
pub const TEST_KEY: &str = "test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug";

/// The canonical header of the API fields.
pub const HEADER: &str = "CustomerCode,Name,Address,Postalcode,City,Country,Contact,Phone,Mobile,Email,InvoiceEmail,RegistrationNumber,Language";

/// A scratch directory for one test.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name` with `text` and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write input");
        p
    }

    /// A CSV in canonical headers with `n` valid customers, codes C0001...
    pub fn customers(&self, name: &str, n: usize) -> PathBuf {
        let mut text = format!("{HEADER}\n");
        for i in 1..=n {
            text.push_str(&format!(
                "C{i:04},Klant {i} B.V.,Straat {i},1234 AB,Utrecht,NL,Jan {i},0301234{i:03},,klant{i}@example.nl,,,dutch\n"
            ));
        }
        self.file(name, &text)
    }
}

/// The real binary with a clean environment: no key or URL from the host.
pub fn notify_import() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notify-import"));
    cmd.env_remove("NOTIFY_API_KEY")
        .env_remove("NOTIFY_API_URL")
        .env_remove("NOTIFY_IMPORT_PROFILE")
        .env_remove("NOTIFY_IMPORT_CONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs `notify-import import FILE --api-url <sandbox>` with a test key plus `extra`.
pub fn import(sandbox: &SandboxHandle, file: &Path, extra: &[&str]) -> Output {
    notify_import()
        .arg("import")
        .arg(file)
        .args(["--api-url", &sandbox.base_url()])
        .args(["--rate", "1000", "--burst", "10"])
        .args(extra)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .expect("run notify-import")
}

/// Runs `notify-import validate FILE` plus `extra` (offline: no key, no URL).
pub fn validate(file: &Path, extra: &[&str]) -> Output {
    notify_import()
        .arg("validate")
        .arg(file)
        .args(extra)
        .output()
        .expect("run notify-import")
}

/// A sandbox with default options.
pub fn sandbox() -> SandboxHandle {
    sandbox::spawn(SandboxOptions::default()).expect("start sandbox")
}

/// A sandbox with these fault knobs.
pub fn sandbox_with_faults(faults: sandbox::Faults) -> SandboxHandle {
    sandbox::spawn(SandboxOptions {
        faults,
        ..SandboxOptions::default()
    })
    .expect("start sandbox")
}

/// The customers `sb` holds, by customer code.
pub fn by_code(sb: &SandboxHandle) -> std::collections::BTreeMap<String, sandbox::StoredCustomer> {
    sb.customers()
        .into_iter()
        .map(|c| (c.customer_code.clone(), c))
        .collect()
}

/// Copies `samples/<name>` to `to`.
pub fn copy_sample(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    std::fs::copy(from, to).expect("copy sample");
}

/// The exit code, with stderr in the panic message when it is not `want`.
#[track_caller]
pub fn assert_exit(out: &Output, want: i32) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "exit code; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One row of a results file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ResultRow {
    pub row: u64,
    pub line: u64,
    pub customer_code: String,
    pub status: String,
    pub customer_id: String,
    pub http_status: String,
    pub attempts: u32,
    pub error: String,
}

/// Reads a results file, checking its header against the contract.
pub fn results(path: &Path) -> Vec<ResultRow> {
    let mut rdr = csv::Reader::from_path(path).expect("results file exists");
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "row",
            "line",
            "customer_code",
            "status",
            "customer_id",
            "http_status",
            "attempts",
            "error"
        ]
    );
    rdr.deserialize().map(|r| r.expect("results row")).collect()
}

/// Starts `notify-import import FILE` against the sandbox without waiting.
pub fn spawn_import(sandbox: &SandboxHandle, file: &Path, extra: &[&str]) -> std::process::Child {
    notify_import()
        .arg("import")
        .arg(file)
        .args(["--api-url", &sandbox.base_url()])
        .args(extra)
        .env("NOTIFY_API_KEY", TEST_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn notify-import")
}

/// Polls `cond` every 10 ms until it holds; panics after `limit`.
#[track_caller]
pub fn wait_until(limit: std::time::Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sends SIGINT (what Ctrl-C sends) to a running import and waits for it
/// to finish, within `limit`.
#[cfg(unix)]
#[track_caller]
pub fn interrupt(child: std::process::Child, limit: std::time::Duration) -> Output {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -INT");
    wait_bounded(child, limit)
}

/// `notify-import validate /dev/stdin` with `bytes` written to its stdin
/// by a thread (so a full pipe cannot block the test), waited on with a
/// bound; its own run folders go under `runs`.
#[track_caller]
pub fn validate_piped(runs: &Path, bytes: Vec<u8>, limit: std::time::Duration) -> Output {
    let mut child = notify_import()
        .args(["validate", "/dev/stdin", "--runs-dir"])
        .arg(runs)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn notify-import");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
    let out = wait_bounded(child, limit);
    writer.join().expect("writer").expect("write to stdin");
    out
}

/// Waits for a child with a bound, killing it if it overruns.
#[track_caller]
pub fn wait_bounded(mut child: std::process::Child, limit: std::time::Duration) -> Output {
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "notify-import did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The promises that hold after any fault: one results row per input row
/// in input order, and no code created twice on the server.
#[track_caller]
pub fn assert_universal(results_path: &Path, rows: u64, sandbox: &SandboxHandle) -> Vec<ResultRow> {
    let got = results(results_path);
    assert_eq!(
        got.iter().map(|r| r.row).collect::<Vec<_>>(),
        (1..=rows).collect::<Vec<_>>()
    );
    let stats = sandbox.stats();
    let twice: Vec<_> = stats
        .creates_by_code
        .iter()
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(twice.is_empty(), "created more than once: {twice:?}");
    got
}

/// Result ids must be the server's ids for the same codes.
#[track_caller]
pub fn assert_ids_match_server(rows: &[ResultRow], sandbox: &SandboxHandle) {
    let ids: std::collections::BTreeMap<String, String> = sandbox
        .customers()
        .into_iter()
        .map(|c| (c.customer_code, c.id))
        .collect();
    for r in rows
        .iter()
        .filter(|r| r.status == "created" || r.status == "exists")
    {
        assert_eq!(
            Some(&r.customer_id),
            ids.get(&r.customer_code),
            "row {}",
            r.row
        );
    }
}

/// The run folders in a runs folder (`NAME.runs`), oldest first.
pub fn run_folders(runs: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(runs) {
        Ok(entries) => entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| {
                std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
                    && p.file_name().is_some_and(|n| {
                        n.to_string_lossy().ends_with('Z') || n.to_string_lossy().contains("Z-")
                    })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    found
}

/// The newest run folder of `input` (`NAME.runs/latest`, resolved).
pub fn latest_run(input: &Path) -> PathBuf {
    let stem = input.file_stem().expect("file name").to_string_lossy();
    let runs = input.with_file_name(format!("{stem}.runs"));
    let latest = runs.join("latest");
    let name = match std::fs::read_link(&latest) {
        Ok(name) => name,
        // Where the OS has no symlinks: a text file with the name.
        Err(_) => PathBuf::from(
            std::fs::read_to_string(&latest)
                .expect("NAME.runs/latest")
                .trim(),
        ),
    };
    runs.join(name)
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that no request reached the sandbox while the pool should have
/// been paused after a 429: between its answer and the end of its whole-
/// seconds `Retry-After`. Requests already on the wire when the 429 left
/// may still arrive a moment later, hence the slack at both ends.
#[track_caller]
pub fn assert_quiet_during_pauses(log: &[notify_import::sandbox::LoggedRequest]) {
    let slack = std::time::Duration::from_millis(150);
    for r in log.iter().filter(|r| r.status == 429) {
        let secs: u64 = r
            .retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("a whole-seconds Retry-After");
        let (from, to) = (
            r.answered + slack,
            r.answered + std::time::Duration::from_secs(secs) - slack,
        );
        let inside: Vec<_> = log.iter().filter(|q| q.at > from && q.at < to).collect();
        assert!(
            inside.is_empty(),
            "requests inside the Retry-After window after {r:?}: {inside:#?}"
        );
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Panics if `secret` occurs in stdout, stderr or any file under `dir`.
#[track_caller]
pub fn assert_nowhere(secret: &str, out: &std::process::Output, dir: &Path) {
    let needle = secret.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&out.stdout), "key on stdout");
    assert!(
        !contains(&out.stderr),
        "key on stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = files_under(dir);
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes), "key in {}", file.display());
    }
}

/// The `Next:` line of a run's summary.
#[track_caller]
pub fn next_line(out: &Output) -> String {
    let err = stderr(out);
    err.lines()
        .find_map(|l| l.strip_prefix("Next:"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_else(|| panic!("no Next: line in\n{err}"))
}

/// A sandbox whose every create fails, and the flags that make the first
/// failure stop the run (exit 3), leaving it unfinished.
pub fn stopping_sandbox() -> (SandboxHandle, [&'static str; 6]) {
    let sb = sandbox_with_faults(sandbox::Faults {
        fail_rate: 1.0,
        ..sandbox::Faults::default()
    });
    (sb, STOP_AT_FIRST_FAILURE)
}

/// The flags that make a run's first failed row stop it (exit 3): one
/// attempt, one error allowed, one row at a time.
pub const STOP_AT_FIRST_FAILURE: [&str; 6] = [
    "--max-attempts",
    "1",
    "--max-errors",
    "1",
    "--concurrency",
    "1",
];
