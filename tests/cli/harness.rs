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

/// A sandbox with default options.
pub fn sandbox() -> SandboxHandle {
    sandbox::spawn(SandboxOptions::default()).expect("start sandbox")
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
