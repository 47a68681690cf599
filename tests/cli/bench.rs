//! `scripts/bench.sh --tiny`: the benchmark script still runs end to end.
//!
//! It measures nothing here (a few hundred rows, debug binaries, no timing
//! is asserted); it only proves that the script, the generator, the bare
//! walk and the sandbox hooks it relies on still fit together, so the
//! benchmark cannot rot between the times someone runs it for real.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `program` can be started (`program --version` runs).
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The example binaries built next to the test's own binary: plain `cargo
/// test` builds every example, so they are there in CI.
fn example(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_notify-import"));
    let dir = bin.parent().expect("the binary is in a directory");
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn bench_script_runs_in_tiny_mode() {
    for tool in ["bash", "python3"] {
        if !available(tool) {
            eprintln!("SKIPPED bench_script_runs_in_tiny_mode: `{tool}` is not installed");
            return;
        }
    }
    let (gen_bin, walk) = (example("gen"), example("csv_walk"));
    if !gen_bin.exists() || !walk.exists() {
        let why = format!(
            "the gen and csv_walk examples are not built next to {}; plain `cargo test` builds them \
             (a filtered run like `cargo test --test cli` does not)",
            env!("CARGO_BIN_EXE_notify-import")
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED bench_script_runs_in_tiny_mode: {why}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--tiny")
        .env("NOTIFY_IMPORT_BIN", env!("CARGO_BIN_EXE_notify-import"))
        .env("BENCH_GEN_BIN", &gen_bin)
        .env("BENCH_WALK_BIN", &walk)
        .env_remove("NOTIFY_API_KEY")
        .env_remove("NOTIFY_API_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench.sh --tiny failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for n in 1..=5 {
        let tag = format!("({n})");
        assert!(
            stdout.lines().any(|l| l.starts_with(&tag)),
            "no line {tag} in the table:\n{stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains("tiny mode"), "{stdout}");
    // The sync table (issue 19): upsert spends its list pages and one
    // write per changed or new customer; overwrite one request a row.
    assert!(stdout.contains("Sync: 200 customers in Notify"), "{stdout}");
    assert!(
        stdout.contains("| upsert | 1000 | 21 | 1 | 0 | 10 | 10 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| overwrite | 1000 | 210 | 0 | 0 | 210 | 0 |"),
        "{stdout}"
    );
}
