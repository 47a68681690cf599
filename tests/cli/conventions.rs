//! Conventions of the CLIs people like (issue 20): completions, a manual
//! page, `--color`, a `--version` that names the build, the licence.

use std::process::{Command, Stdio};

use crate::harness::*;

/// `notify-import ARGS`, its exit code checked, its stdout.
fn stdout_of(args: &[&str]) -> String {
    let out = notify_import().args(args).output().unwrap();
    assert_exit(&out, 0);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_are_printed_for_every_shell_and_bash_parses_them() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["validate", "api-url", "mapping"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let s = Scratch::new();
    let bash = s.file("notify-import.bash", &stdout_of(&["completions", "bash"]));
    let parsed = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(
        parsed.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let out = notify_import()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
}

#[test]
fn the_man_page_renders_with_man_when_it_is_installed() {
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g") || page.contains(".TH notify-import"),
        "{page:.200}"
    );
    let s = Scratch::new();
    let path = s.file("notify-import.1", &page);
    let rendered = match Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("man is not installed: rendering not checked");
            return;
        }
        Err(e) => panic!("man: {e}"),
    };
    assert!(
        rendered.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    for part in [
        "NAME",
        "notify-import",
        "COMMAND: IMPORT",
        "--api-url",
        "COMMAND: VALIDATE",
    ] {
        assert!(
            text.contains(part),
            "{part} not in the rendered page:\n{text}"
        );
    }
}

#[test]
fn version_names_the_features_and_the_commit_of_a_checkout() {
    let version = stdout_of(&["--version"]);
    assert!(
        version.starts_with(&format!(
            "notify-import {} (with the sandbox",
            env!("CARGO_PKG_VERSION")
        )),
        "{version}"
    );
    let checkout = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .and_then(|top| std::fs::canonicalize(top).ok())
        .is_some_and(|top| {
            std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).is_ok_and(|dir| dir == top)
        });
    let commit = version
        .split_once(", commit ")
        .map(|(_, c)| c.trim_end().trim_end_matches(')'));
    match commit {
        Some(c) => assert!(
            c.len() == 12 && c.bytes().all(|b| b.is_ascii_hexdigit()),
            "{version}"
        ),
        None => assert!(!checkout, "built from a checkout, no commit: {version}"),
    }
}

#[test]
fn color_always_and_never_beat_no_color_and_auto_follows_it() {
    let s = Scratch::new();
    // A column no field takes: one warning line to colour.
    let input = s.file("in.csv", "CustomerCode,Name,Kleur\nA1,Acme B.V.,rood\n");
    let run = |color: &str| {
        let out = validate(&input, &["--color", color]);
        assert_exit(&out, 0);
        stderr(&out)
    };
    // The harness sets NO_COLOR and stderr is a pipe.
    assert!(run("always").contains("\u{1b}["), "always colours");
    assert!(!run("never").contains("\u{1b}["));
    assert!(!run("auto").contains("\u{1b}["));
    let out = validate(&input, &["--color", "sometimes"]);
    assert_exit(&out, 2);
}

#[test]
fn the_licence_file_matches_the_manifest_and_the_changelog_keeps_its_format() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("\nlicense = \"MIT\"\n"));
    let licence = std::fs::read_to_string(root.join("LICENSE")).unwrap();
    assert!(licence.starts_with("MIT License\n"), "{licence:.40}");
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap();
    assert!(changelog.starts_with("# Changelog\n"));
    assert!(changelog.contains("[Keep a Changelog](https://keepachangelog.com/"));
    assert!(changelog.contains("\n## [Unreleased]\n"));
}
