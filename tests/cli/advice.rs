//! Advice that works when typed (issue 20): every `Next:` command is split
//! as a shell would split it and run verbatim, and then does what the
//! advice said: the exit code, the files, what the server received.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use notify_import::sandbox::Faults;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

/// The commands in an advice line, in order: each starts at
/// `notify-import ` and runs to `, then: ` or the end of the line.
pub(crate) fn commands_in(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("notify-import ") {
        let tail = &rest[at..];
        let end = tail.find(", then: ").unwrap_or(tail.len());
        found.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    assert!(!found.is_empty(), "no command in {line:?}");
    found
}

/// The last command of the advice (the one it ends with).
fn last_command(out: &Output) -> String {
    commands_in(&next_line(out)).pop().unwrap()
}

/// Splits `cmd` into words as a POSIX shell does (quotes and backslashes;
/// no expansions, which the advice never relies on).
pub(crate) fn shell_split(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            // The shell would take these as operators: advice must quote them.
            ';' | '&' | '|' | '<' | '>' | '(' | ')' | '`' | '$' | '#' if !in_word || c != '#' => {
                panic!("unquoted {c:?} in {cmd:?}")
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs a printed command as typed, in `cwd`, with the key in the
/// environment (where the user keeps it) and, when given, the API URL
/// there too (a check cannot know where an import will go).
fn run_typed(cmd: &str, cwd: &Path, env_url: Option<&str>) -> Output {
    let words = shell_split(cmd);
    assert_eq!(words[0], "notify-import", "{cmd}");
    let mut c = notify_import();
    c.args(&words[1..])
        .current_dir(cwd)
        .env("NOTIFY_API_KEY", TEST_KEY);
    if let Some(url) = env_url {
        c.env("NOTIFY_API_URL", url);
    }
    c.output().expect("run the typed command")
}

/// A Dutch export whose name column (`Firma naam`) no built-in name
/// matches, `;`-separated; `bad` rows (1-based) get an invalid e-mail.
fn dutch(n: usize, bad: &[usize]) -> String {
    let mut text = String::from("Klantnummer;Firma naam;Plaats;E-mail\n");
    for i in 1..=n {
        let email = if bad.contains(&i) {
            "geen-adres".to_owned()
        } else {
            format!("info{i}@example.nl")
        };
        text.push_str(&format!("K{i:04};Firma {i} B.V.;Ede;{email}\n"));
    }
    text
}

#[test]
fn shell_split_follows_the_shell() {
    assert_eq!(
        shell_split(r#"notify-import import 'my file'\''s.csv' --map Name='Firma naam' "a b""#),
        [
            "notify-import",
            "import",
            "my file's.csv",
            "--map",
            "Name=Firma naam",
            "a b"
        ]
    );
    assert_eq!(
        commands_in(
            "fix x, check again with notify-import validate a, then: notify-import import a"
        ),
        ["notify-import validate a", "notify-import import a"]
    );
}

#[test]
fn a_check_with_a_mapping_file_or_map_advises_an_import_that_keeps_them() {
    let s = Scratch::new();
    let input = s.file("klanten.csv", &dutch(3, &[]));
    let mapping = s.file("klanten.mapping.toml", "Name = \"Firma naam\"\n");
    let sb = sandbox();

    let out = validate(&input, &["--mapping", mapping.to_str().unwrap()]);
    assert_exit(&out, 0);
    let cmd = last_command(&out);
    assert_eq!(
        cmd,
        format!(
            "notify-import import {} --mapping {}",
            input.display(),
            mapping.display()
        )
    );
    let typed = run_typed(&cmd, s.dir.path(), Some(&sb.base_url()));
    assert_exit(&typed, 0);
    let mut names: Vec<_> = sb.customers().into_iter().filter_map(|c| c.name).collect();
    names.sort();
    assert_eq!(names, ["Firma 1 B.V.", "Firma 2 B.V.", "Firma 3 B.V."]);

    // The same with --map (a column name with a space: quoted for the shell).
    let other = s.file("ander.csv", &dutch(2, &[]));
    let out = validate(&other, &["--map", "Name=Firma naam", "--delimiter", ";"]);
    assert_exit(&out, 0);
    let cmd = last_command(&out);
    assert!(
        cmd.ends_with(" --delimiter ';' --map Name='Firma naam'"),
        "{cmd}"
    );
    let fresh = sandbox();
    let typed = run_typed(&cmd, s.dir.path(), Some(&fresh.base_url()));
    assert_exit(&typed, 0);
    assert_eq!(fresh.stats().creates, 2);
    assert!(fresh.customers().iter().all(|c| c.name.is_some()));
}

#[test]
fn invalid_rows_advice_keeps_every_reading_flag_and_the_fixed_files_import() {
    let s = Scratch::new();
    // A title line above the header, Windows-1252, a default country.
    let mut bytes = b"Export klanten\r\n".to_vec();
    bytes.extend(
        dutch(3, &[2])
            .replace("Firma 1", "Caf\u{e9} 1")
            .chars()
            .map(|c| if c == '\u{e9}' { 0xE9 } else { c as u8 }),
    );
    let input = s.path("klanten.csv");
    std::fs::write(&input, &bytes).unwrap();
    let runs_dir = s.path("runs");
    let flags = [
        "--encoding",
        "windows-1252",
        "--header-line",
        "2",
        "--map",
        "Name=Firma naam",
        "--default-country",
        "BE",
        "--runs-dir",
        runs_dir.to_str().unwrap(),
    ];

    // A check: fix the input, check again, then import, all with the flags.
    let out = validate(&input, &flags);
    assert_exit(&out, 1);
    let cmds = commands_in(&next_line(&out));
    let carried = format!(
        "--encoding windows-1252 --header-line 2 --map Name='Firma naam' --default-country BE --runs-dir {}",
        runs_dir.display()
    );
    assert_eq!(
        cmds,
        [
            format!("notify-import validate {} {carried}", input.display()),
            format!("notify-import import {} {carried}", input.display()),
        ]
    );
    let fixed: Vec<u8> = String::from_utf8_lossy(&bytes)
        .replace("geen-adres", "info2@example.nl")
        .chars()
        .map(|c| if c == '\u{fffd}' { 0xE9 } else { c as u8 })
        .collect();
    std::fs::write(&input, &fixed).unwrap();
    let typed = run_typed(&cmds[0], s.dir.path(), None);
    assert_exit(&typed, 0);
    assert!(!s.path("klanten.runs").exists(), "--runs-dir was kept");
    std::fs::write(&input, &bytes).unwrap(); // broken again, for the import

    // An import: fix the errors file, then import it as advised.
    let sb = sandbox();
    let out = import(&sb, &input, &flags);
    assert_exit(&out, 1);
    assert_eq!(sb.stats().creates, 2);
    let cmd = last_command(&out);
    let errors = runs_dir.join("klanten.runs/latest/errors.csv");
    assert!(
        cmd.contains(" --map Name='Firma naam' --default-country BE --api-url ")
            && !cmd.contains("--encoding")
            && !cmd.contains("--header-line"),
        "the errors file is UTF-8 with its header first: {cmd}"
    );
    let text = std::fs::read_to_string(&errors).unwrap();
    assert!(text.contains("geen-adres"), "{text}");
    std::fs::write(&errors, text.replace("geen-adres", "info2@example.nl")).unwrap();
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    let stored = sb.customers();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .any(|c| c.name.as_deref() == Some("Café 1 B.V."))
    );
    assert!(
        stored.iter().all(|c| c.country.as_deref() == Some("BE")),
        "{stored:?}"
    );
}

#[test]
fn a_missing_name_column_is_advised_as_a_map_naming_the_likeliest_column() {
    let s = Scratch::new();
    let input = s.file("odd.csv", &dutch(2, &[]));
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let line = next_line(&out);
    assert!(
        line.contains(r#"the likeliest is "Firma naam""#) && !line.contains("fix the"),
        "{line}"
    );
    let cmd = last_command(&out);
    assert_eq!(
        cmd,
        format!(
            "notify-import validate {} --map Name='Firma naam'",
            input.display()
        )
    );
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    let check = results(&latest_run(&input).join("results.csv"));
    assert!(check.iter().all(|r| r.status == "valid"), "{check:?}");

    // An import that sent nothing for the same reason: import again with it.
    let sb = sandbox();
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 1);
    assert_eq!(sb.stats().creates, 0);
    let cmd = last_command(&out);
    assert!(
        cmd.starts_with(&format!(
            "notify-import import {} --map Name='Firma naam' --api-url ",
            input.display()
        )),
        "{cmd}"
    );
    assert_exit(&run_typed(&cmd, s.dir.path(), None), 0);
    assert_eq!(sb.stats().creates, 2);
}

#[cfg(unix)]
#[test]
fn after_ctrl_c_against_an_api_url_the_resume_command_finishes_the_run() {
    let s = Scratch::new();
    let slow = sandbox_with_faults(Faults {
        latency_ms: 40,
        ..Faults::default()
    });
    let input = s.file("nacht.csv", &dutch(60, &[]));
    let child = spawn_import(
        &slow,
        &input,
        &[
            "--map",
            "Name=Firma naam",
            "--rate",
            "50",
            "--concurrency",
            "2",
        ],
    );
    wait_until(LIMIT, "some creates", || slow.stats().creates >= 3);
    let out = interrupt(child, LIMIT);
    assert_exit(&out, 130);
    let stopped = latest_run(&input);
    let cmd = last_command(&out);
    // Everything else comes from the run's run.toml.
    assert_eq!(
        cmd,
        format!("notify-import import {} --resume", input.display())
    );
    // A plain run pointed elsewhere is refused with the same command: the
    // stopped run's own URL, not this one's.
    let elsewhere = sandbox();
    let refused = import(&elsewhere, &input, &["--map", "Name=Firma naam"]);
    assert_exit(&refused, 2);
    let err = stderr(&refused);
    let told = err
        .split_once("continue it: ")
        .and_then(|(_, rest)| rest.split_once("; or start a new run"))
        .map(|(cmd, _)| cmd)
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(told, cmd);
    assert_eq!(elsewhere.stats().requests, 0);
    slow.set_faults(Faults::default());
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    assert_eq!(latest_run(&input), stopped, "continued in the same folder");
    assert_universal(&stopped.join("results.csv"), 60, &slow);
    assert_eq!(slow.stats().creates, 60);
    assert_eq!(slow.stats().duplicate_create_attempts, 0);
}

#[test]
fn after_exit_3_the_resume_command_finishes_the_run() {
    let s = Scratch::new();
    let (sb, stop) = stopping_sandbox();
    let input = s.customers("klanten.csv", 4);
    let out = import(&sb, &input, &[&stop[..], &["--overwrite"]].concat());
    assert_exit(&out, 3);
    let cmd = last_command(&out);
    assert_eq!(
        cmd,
        format!("notify-import import {} --resume", input.display())
    );
    sb.set_faults(Faults::default());
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    let got = assert_universal(&latest_run(&input).join("results.csv"), 4, &sb);
    assert!(
        got.iter()
            .all(|r| r.status == "overwritten" || r.status == "created")
    );
}

#[test]
fn a_dry_run_against_an_api_url_advises_an_import_to_the_same_place() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("klanten.csv", 3);
    let out = notify_import()
        .arg("import")
        .arg(&input)
        .args(["--dry-run", "--overwrite", "--api-url", &sb.base_url()])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(sb.stats().requests, 0, "a dry run sends nothing");
    let cmd = last_command(&out);
    assert_eq!(
        cmd,
        format!(
            "notify-import import {} --api-url {} --overwrite",
            input.display(),
            sb.base_url()
        )
    );
    assert_exit(&run_typed(&cmd, s.dir.path(), None), 0);
    assert_eq!(sb.customers().len(), 3);
    assert_eq!(sb.stats().overwrites + sb.stats().creates, 3);
}

/// Customers Notify holds: K0001 and K0002 of [`dutch`], K0002 in
/// another city.
const HELD: &str = "\
CustomerCode,Name,City,Email
K0001,Firma 1 B.V.,Ede,info1@example.nl
K0002,Firma 2 B.V.,Rhenen,info2@example.nl
";

/// A sandbox holding [`HELD`], with `faults`.
fn holding(s: &Scratch, faults: Faults) -> SandboxHandle {
    let held = s.file("notify-now.csv", HELD);
    notify_import::sandbox::spawn(notify_import::sandbox::SandboxOptions {
        customers: Some(held),
        faults,
        ..Default::default()
    })
    .expect("start sandbox")
}

fn writes(sb: &SandboxHandle) -> usize {
    sb.request_log()
        .iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .count()
}

#[test]
fn a_plan_advises_the_import_that_makes_its_changes_even_past_an_unfinished_run() {
    let s = Scratch::new();
    // The third row is refused: a failed row, no doubt about it.
    let sb = holding(
        &s,
        Faults {
            reject_codes: vec!["K0003".to_owned()],
            ..Faults::default()
        },
    );
    // A space in the name, a column only `--map` names.
    let input = s.file("klant lijst.csv", &dutch(4, &[]));
    let url = sb.base_url();
    let f = input.to_str().unwrap();
    let mapped = ["--map", "Name=Firma naam"];
    // An import that stopped (exit 3): a plain import is now refused.
    let out = import(&sb, &input, &[&mapped[..], &STOP_AT_FIRST_FAILURE].concat());
    assert_exit(&out, 3);
    let stopped = latest_run(&input);
    sb.set_faults(Faults::default());
    let before = writes(&sb);
    let plan = |extra: &[&str]| {
        notify_import()
            .args([
                "plan",
                f,
                "--api-url",
                &url,
                "--rate",
                "1000",
                "--burst",
                "10",
            ])
            .args(mapped)
            .args(extra)
            .env("NOTIFY_API_KEY", TEST_KEY)
            .current_dir(s.dir.path())
            .output()
            .unwrap()
    };
    let out = plan(&["--mode", "upsert"]);
    assert_exit(&out, 0);
    assert_eq!(writes(&sb), before, "a plan writes nothing");
    let line = next_line(&out);
    assert!(
        line.contains("stopped unfinished") && line.contains(&stopped.display().to_string()),
        "{line}"
    );
    let cmd = last_command(&out);
    assert!(cmd.ends_with("--restart"), "{cmd}");
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    let folder = latest_run(&input);
    assert_ne!(folder, stopped, "a new run");
    let rows = assert_universal(&folder.join("results.csv"), 4, &sb);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    // As planned: K0001 as held, K0002 moved, K0003 and K0004 new.
    assert_eq!(statuses, ["unchanged", "updated", "created", "created"]);
    // Nothing unfinished now: the advice is the plain import, and it works.
    let out = plan(&["--mode", "upsert"]);
    assert_exit(&out, 0);
    let cmd = last_command(&out);
    assert!(!cmd.contains("--restart"), "{cmd}");
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    let rows = results(&latest_run(&input).join("results.csv"));
    assert!(rows.iter().all(|r| r.status == "unchanged"), "{rows:?}");
}

#[test]
fn after_an_upsert_with_failed_rows_the_typed_advice_imports_just_those() {
    let s = Scratch::new();
    let sb = holding(
        &s,
        Faults {
            reject_codes: vec!["K0004".to_owned()],
            ..Faults::default()
        },
    );
    let input = s.file("klant lijst.csv", &dutch(4, &[]));
    let out = import(
        &sb,
        &input,
        &[
            "--map",
            "Name=Firma naam",
            "--mode",
            "upsert",
            "--clear-empty",
        ],
    );
    assert_exit(&out, 1);
    let rows = results(&latest_run(&input).join("results.csv"));
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["unchanged", "updated", "created", "failed"]);
    let cmd = last_command(&out);
    assert!(
        cmd.contains("--mode upsert") && cmd.contains("--clear-empty"),
        "{cmd}"
    );
    sb.set_faults(Faults::default());
    let before = writes(&sb);
    let typed = run_typed(&cmd, s.dir.path(), None);
    assert_exit(&typed, 0);
    assert_eq!(writes(&sb), before + 1, "only the failed row is sent again");
    assert!(sb.customers().iter().any(|c| c.customer_code == "K0004"));
}
