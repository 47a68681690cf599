//! Sets `NOTIFY_IMPORT_VERSION` for `--version`: the package version,
//! whether the build has the embedded sandbox, and the git commit when
//! built from a checkout of this repository. Without git, or outside a
//! checkout, the commit is left out; this script never fails the build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let features = if std::env::var_os("CARGO_FEATURE_SANDBOX").is_some() {
        "with the sandbox"
    } else {
        "without the sandbox"
    };
    let mut text = format!("{version} ({features}");
    if let Some(commit) = commit() {
        text.push_str(", commit ");
        text.push_str(&commit);
    }
    text.push(')');
    println!("cargo:rustc-env=NOTIFY_IMPORT_VERSION={text}");
}

/// The short commit of the checkout this package is the top of, if any;
/// asks to be run again when HEAD moves.
fn commit() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = git(&dir, &["rev-parse", "--show-toplevel"])?;
    // A copy of the package inside some other repository is no checkout
    // of its own.
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(&dir, &["rev-parse", "--short=12", "HEAD"])?;
    for path in ["HEAD", "packed-refs"] {
        watch(&dir, &["rev-parse", "--git-path", path]);
    }
    if let Some(head_ref) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&dir, &["rev-parse", "--git-path", &head_ref]);
    }
    Some(commit)
}

/// Reruns this script when the file git names changes (only files that
/// exist: a missing one would rerun it on every build).
fn watch(dir: &Path, args: &[&str]) {
    if let Some(path) = git(dir, args) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// `git ARGS` in `dir`, its first line of output when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}
