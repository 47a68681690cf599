//! Issue 20: a run records how it was started (`run.toml`), `--resume`
//! continues it as it was (refusing a flag that would change what is
//! sent), and profiles of a config file with flag > env > profile.

use std::path::Path;
use std::process::Output;

use notify_import::sandbox::Faults;

use crate::harness::*;

/// Writes a key file (mode 0600) and returns its path.
fn key_file(s: &Scratch) -> std::path::PathBuf {
    let path = s.file("notify.key", &format!("{TEST_KEY}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// `notify-import ARGS` in `cwd`, with no key in the environment.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    notify_import()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run notify-import")
}

/// A run stopped with exit 3 (every create fails, the first failure
/// stops it): `notify-import import FILE --api-url SB` plus `extra`, the
/// key from a key file.
fn stopped_run(s: &Scratch, sb: &SandboxHandle, input: &Path, extra: &[&str]) -> Output {
    let key = key_file(s);
    let out = run_in(
        s.dir.path(),
        &[
            &[
                "import",
                input.to_str().unwrap(),
                "--api-url",
                &sb.base_url(),
                "--api-key-file",
                key.to_str().unwrap(),
            ][..],
            &STOP_AT_FIRST_FAILURE,
            extra,
        ]
        .concat(),
    );
    assert_exit(&out, 3);
    out
}

fn failing() -> SandboxHandle {
    sandbox_with_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    })
}

/// `Name;Code` rows, `;`-separated, with a mapping file naming them.
fn odd_input(s: &Scratch, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut text = String::from("Firma;Nummer;Plaats\n");
    for i in 1..=n {
        text.push_str(&format!("Firma {i};K{i:03};Ede\n"));
    }
    let input = s.file("odd.csv", &text);
    let mapping = s.file(
        "odd.mapping.toml",
        "CustomerCode = \"Nummer\"\nName = \"Firma\"\n",
    );
    (input, mapping)
}

#[test]
fn run_toml_records_how_the_run_started_and_never_the_key() {
    let s = Scratch::new();
    let sb = failing();
    let (input, mapping) = odd_input(&s, 3);
    let results = s.path("out.csv");
    let out = stopped_run(
        &s,
        &sb,
        &input,
        &[
            "--mapping",
            mapping.to_str().unwrap(),
            "--map",
            "City=Plaats",
            "--default-country",
            "BE",
            "--delimiter",
            ";",
            "--overwrite",
            "--rate",
            "7",
            "--results",
            results.to_str().unwrap(),
        ],
    );
    let folder = latest_run(&input);
    let path = folder.join("run.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&TEST_KEY[5..]), "the key is never recorded");
    assert_nowhere(TEST_KEY, &out, &s.path("odd.runs"));
    assert!(
        !std::fs::read_to_string(&results)
            .unwrap()
            .contains(&TEST_KEY[5..])
    );
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let get = |section: &str, key: &str| doc[section][key].clone();
    let abs = |p: &Path| std::path::absolute(p).unwrap().display().to_string();
    assert_eq!(doc["command"].as_str(), Some("import"));
    assert_eq!(doc["input"].as_str(), Some(abs(&input).as_str()));
    assert_eq!(get("input_options", "delimiter").as_str(), Some(";"));
    assert_eq!(
        get("input_options", "mapping").as_str(),
        Some(abs(&mapping).as_str())
    );
    let hash = get("input_options", "mapping_hash");
    assert!(hash.as_str().unwrap().starts_with("xxh3-128:"), "{hash}");
    assert_eq!(
        get("input_options", "map").as_array().unwrap()[0].as_str(),
        Some("City=Plaats")
    );
    assert_eq!(get("input_options", "default_country").as_str(), Some("BE"));
    let url = sb.base_url();
    assert_eq!(
        get("target", "api_url")
            .as_str()
            .map(|u| u.trim_end_matches('/')),
        Some(url.trim_end_matches('/'))
    );
    assert_eq!(
        get("target", "api_key_file").as_str(),
        Some(abs(&s.path("notify.key")).as_str())
    );
    assert!(doc["target"].get("key_env").is_none());
    assert_eq!(get("target", "live").as_bool(), Some(false));
    assert_eq!(get("target", "mode").as_str(), Some("overwrite"));
    assert_eq!(get("pace", "rate").as_str(), Some("7"));
    assert_eq!(get("pace", "concurrency").as_integer(), Some(1));
    assert_eq!(get("pace", "max_errors").as_integer(), Some(1));
    assert_eq!(
        get("outputs", "results").as_str(),
        Some(abs(&results).as_str())
    );
}

#[test]
fn a_key_from_the_environment_is_recorded_by_its_name() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("klanten.csv", 2);
    assert_exit(&import(&sb, &input, &[]), 0);
    let text = std::fs::read_to_string(latest_run(&input).join("run.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(doc["target"]["key_env"].as_str(), Some("NOTIFY_API_KEY"));
    assert!(!text.contains(&TEST_KEY[5..]));
    // A check records how it read the file, and no target.
    assert_exit(&validate(&input, &["--default-country", "DE"]), 0);
    let text = std::fs::read_to_string(latest_run(&input).join("run.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(doc["command"].as_str(), Some("validate"));
    assert_eq!(doc["input_options"]["default_country"].as_str(), Some("DE"));
    assert!(doc.get("target").is_none());
}

#[test]
fn a_resume_that_would_change_what_is_sent_is_refused_naming_the_difference() {
    let s = Scratch::new();
    let sb = failing();
    let (input, mapping) = odd_input(&s, 3);
    let m = mapping.to_str().unwrap();
    stopped_run(&s, &sb, &input, &["--mapping", m]);
    let sent = sb.stats().requests;
    let elsewhere = sandbox();
    let other_mapping = s.file(
        "other.toml",
        "CustomerCode = \"Nummer\"\nName = \"Plaats\"\n",
    );
    let url = sb.base_url();
    let other_url = elsewhere.base_url();
    let f = input.to_str().unwrap();
    let key = s.path("notify.key");
    let k = key.to_str().unwrap();
    for (extra, flag, given) in [
        (
            vec!["--api-url", other_url.as_str()],
            "--api-url",
            other_url.clone(),
        ),
        (
            vec!["--mapping", other_mapping.to_str().unwrap()],
            "--mapping",
            std::path::absolute(&other_mapping)
                .unwrap()
                .display()
                .to_string(),
        ),
        (
            vec!["--map", "City=Plaats"],
            "--map",
            "City=Plaats".to_owned(),
        ),
        (vec!["--overwrite"], "mode", "overwrite".to_owned()),
    ] {
        let out = run_in(
            s.dir.path(),
            &[&["import", f, "--resume", "--api-key-file", k][..], &extra].concat(),
        );
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("--resume continues the run in ")
                && err.contains(&format!("but {flag} {given} was given"))
                && err.contains("--restart"),
            "{flag}: {err}"
        );
    }
    // The recorded value is named too.
    let out = run_in(
        s.dir.path(),
        &["import", f, "--resume", "--api-url", &other_url],
    );
    assert!(
        stderr(&out).contains(&format!("with --api-url {}", url.trim_end_matches('/'))),
        "{}",
        stderr(&out)
    );
    // The mapping file's content changed: refused, whoever names it.
    std::fs::write(&mapping, "CustomerCode = \"Nummer\"\nName = \"Plaats\"\n").unwrap();
    let out = run_in(s.dir.path(), &["import", f, "--resume"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(&format!(
            "its mapping file {} changed",
            std::path::absolute(&mapping).unwrap().display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(elsewhere.stats().requests, 0);
    assert_eq!(
        sb.stats().requests,
        sent,
        "nothing sent by a refused resume"
    );
}

#[test]
fn a_resume_continues_its_own_named_outputs_and_may_change_the_pace() {
    let s = Scratch::new();
    let sb = failing();
    let input = s.customers("in.csv", 5);
    let named = ["--results", "i.csv", "--errors", "i.errors.csv"];
    let out = stopped_run(&s, &sb, &input, &named);
    assert!(s.path("i.csv").exists());
    sb.set_faults(Faults::default());
    // The same command with --resume: its own outputs, not "already exists".
    let k = s.path("notify.key");
    let out2 = run_in(
        s.dir.path(),
        &[
            &[
                "import",
                "in.csv",
                "--resume",
                "--api-key-file",
                k.to_str().unwrap(),
                "--rate",
                "500",
                "--concurrency",
                "4",
            ][..],
            &named,
        ]
        .concat(),
    );
    assert_exit(&out2, 0);
    assert_universal(&s.path("i.csv"), 5, &sb);
    assert_eq!(sb.customers().len(), 5);
    assert!(stderr(&out).contains("--resume"));
}

#[test]
fn the_printed_resume_command_works_typed_with_the_key_file_it_recorded() {
    let s = Scratch::new();
    let sb = failing();
    let (input, mapping) = odd_input(&s, 4);
    let out = stopped_run(
        &s,
        &sb,
        &input,
        &["--mapping", mapping.to_str().unwrap(), "--results", "r.csv"],
    );
    let next = next_line(&out);
    let cmd = next[next.find("notify-import ").unwrap()..].to_owned();
    assert_eq!(
        cmd,
        format!("notify-import import {} --resume", input.display())
    );
    sb.set_faults(Faults::default());
    let words: Vec<&str> = cmd.split(' ').collect();
    // No key in the environment: run.toml names the key file.
    let typed = run_in(s.dir.path(), &words[1..]);
    assert_exit(&typed, 0);
    assert_universal(&s.path("r.csv"), 4, &sb);
    assert_eq!(sb.customers().len(), 4);
}

/// A config file in `dir` with a profile `nightly` pointing at `url`.
fn profile_file(s: &Scratch, url: &str, extra: &str) -> std::path::PathBuf {
    key_file(s);
    s.file(
        "notify-import.toml",
        &format!(
            "# nightly import\n[profiles.nightly]\napi_url = \"{url}\"\napi_key_file = \"notify.key\"\nrate = 500\nburst = 5\n{extra}\n[profiles.other]\nlive = false\n"
        ),
    )
}

#[test]
fn a_profile_supplies_settings_and_a_flag_beats_the_environment_which_beats_the_profile() {
    let s = Scratch::new();
    let (by_profile, by_env, by_flag) = (sandbox(), sandbox(), sandbox());
    profile_file(&s, &by_profile.base_url(), "");
    let input = s.customers("klanten.csv", 2);
    // The cron recipe: the profile alone (found in the current folder).
    let out = run_in(
        s.dir.path(),
        &["import", "klanten.csv", "--profile", "nightly", "--quiet"],
    );
    assert_exit(&out, 0);
    assert_eq!(by_profile.customers().len(), 2);
    assert!(!stderr(&out).contains("can be changed by other users"));
    // A config file others may change is worth a warning, even --quiet.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = s.path("notify-import.toml");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let out = run_in(
            s.dir.path(),
            &["import", "klanten.csv", "--profile", "nightly", "--quiet"],
        );
        assert_exit(&out, 0);
        assert!(
            stderr(&out)
                .contains("the config file notify-import.toml can be changed by other users"),
            "{}",
            stderr(&out)
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // The environment beats the profile.
    let out = notify_import()
        .args(["import", "klanten.csv", "--profile", "nightly"])
        .current_dir(s.dir.path())
        .env("NOTIFY_API_URL", by_env.base_url())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(by_env.customers().len(), 2);
    // A flag beats both; the profile also comes from the environment.
    let out = notify_import()
        .args(["import", "klanten.csv", "--api-url", &by_flag.base_url()])
        .current_dir(s.dir.path())
        .env("NOTIFY_API_URL", by_env.base_url())
        .env("NOTIFY_IMPORT_PROFILE", "nightly")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(by_flag.customers().len(), 2);
    assert!(
        stderr(&out).contains("(profile nightly from notify-import.toml)"),
        "the header names the profile: {}",
        stderr(&out)
    );
    assert_eq!(by_env.customers().len(), 2);
    assert!(input.exists());
}

#[test]
fn config_prints_each_setting_and_where_it_came_from() {
    let s = Scratch::new();
    let file = profile_file(&s, "http://127.0.0.1:9/v2", "");
    let out = notify_import()
        .args(["config", "--profile", "nightly", "--config"])
        .arg(&file)
        .args(["--", "--burst", "9"])
        .env("NOTIFY_API_URL", "http://127.0.0.1:8/v2")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .to_owned()
    };
    assert!(
        line("api_url").contains("http://127.0.0.1:8/v2")
            && line("api_url").ends_with("(env NOTIFY_API_URL)"),
        "{text}"
    );
    assert!(
        line("burst").contains(" 9 ") && line("burst").ends_with("(flag)"),
        "{text}"
    );
    let from_profile = |n: usize| format!("(profile nightly in {} line {n})", file.display());
    assert!(
        line("rate").contains("500") && line("rate").ends_with(&from_profile(5)),
        "{text}"
    );
    assert!(
        line("api_key").contains("notify.key") && line("api_key").ends_with(&from_profile(4)),
        "{text}"
    );
    assert!(line("concurrency").ends_with("(default)"), "{text}");
    assert!(text.contains("profiles: nightly, other"), "{text}");
}

#[test]
fn a_mistake_in_the_config_file_names_file_and_line_and_sends_nothing() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("klanten.csv", 2);
    let file = s.file("n.toml", "[profiles.nightly]\nrate = 5\nburts = 2\n");
    let out = import(
        &sb,
        &input,
        &["--config", file.to_str().unwrap(), "--profile", "nightly"],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(&format!("{} line 3: unknown key `burts`", file.display())),
        "{}",
        stderr(&out)
    );
    // Every profile of the file is checked; then the name.
    std::fs::write(&file, "[profiles.nightly]\nrate = 5\n").unwrap();
    let out = import(
        &sb,
        &input,
        &["--config", file.to_str().unwrap(), "--profile", "nigthly"],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("there is no profile \"nigthly\""),
        "{}",
        stderr(&out)
    );
    s.file(
        "k.toml",
        "[profiles.nightly]\napi_key = \"test_abcdefghijklmnopqrstuvwxyz\"\n",
    );
    let out = import(
        &sb,
        &input,
        &[
            "--config",
            s.path("k.toml").to_str().unwrap(),
            "--profile",
            "nightly",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("never holds the API key"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("abcdefghijklmn"));
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn a_stopped_cron_run_of_a_profile_resumes_with_the_profile_or_the_printed_command() {
    let s = Scratch::new();
    let sb = failing();
    profile_file(
        &s,
        &sb.base_url(),
        "max_attempts = 1\nmax_errors = 1\nconcurrency = 1\nruns_dir = \"runs\"",
    );
    s.customers("klanten.csv", 3);
    let cron = ["import", "klanten.csv", "--profile", "nightly", "--quiet"];
    let out = run_in(s.dir.path(), &cron);
    assert_exit(&out, 3);
    // --quiet: the advice ends the one summary line.
    let err = stderr(&out);
    let at = err.find("notify-import import ").expect("a resume command");
    let cmd = err[at..].lines().next().unwrap();
    // The runs are elsewhere (the profile's runs_dir): the command finds
    // them; everything else comes from run.toml.
    assert_eq!(
        cmd,
        "notify-import import klanten.csv --resume --runs-dir runs"
    );
    // The printed command finishes the run (key file and all from run.toml).
    sb.set_faults(Faults::default());
    let words: Vec<&str> = cmd.split(' ').collect();
    let out = run_in(s.dir.path(), &words[1..]);
    assert_exit(&out, 0);
    // Without --profile, the resumed run still names the profile it took
    // its settings from (run.toml), in its header and its summary.
    let config = std::path::absolute(s.path("notify-import.toml")).unwrap();
    assert!(
        stderr(&out).contains(&format!("(profile nightly from {})", config.display())),
        "{}",
        stderr(&out)
    );
    let run = |s: &Scratch| {
        latest_run(
            &std::path::absolute(s.path("runs"))
                .unwrap()
                .join("klanten.csv"),
        )
    };
    let results = |s: &Scratch| run(s).join("results.csv");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run(&s).join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["profile"]["name"], "nightly");
    assert_eq!(
        summary["profile"]["file"].as_str().map(Path::new),
        Some(config.as_path())
    );
    // Paths as the run names its folder (here relative to its cwd).
    let folder = Path::new(summary["files"]["run_folder"].as_str().unwrap());
    assert_eq!(
        summary["files"]["run_settings"].as_str().map(Path::new),
        Some(folder.join("run.toml").as_path())
    );
    assert!(s.dir.path().join(folder).join("run.toml").is_file());
    let page = std::fs::read_to_string(run(&s).join("report.html")).unwrap();
    assert!(page.contains("nightly ("), "the report names the profile");
    assert_universal(&results(&s), 3, &sb);
    assert_eq!(sb.customers().len(), 3);
    // Another stop; the cron line with --resume is accepted too: the
    // profile's values are the run's own.
    sb.set_faults(Faults {
        fail_rate: 1.0,
        ..Faults::default()
    });
    assert_exit(&run_in(s.dir.path(), &cron), 3);
    sb.set_faults(Faults::default());
    let mut resumed = cron.to_vec();
    resumed.push("--resume");
    assert_exit(&run_in(s.dir.path(), &resumed), 0);
    assert_universal(&results(&s), 3, &sb);
}

#[test]
fn a_resume_against_another_url_from_the_environment_is_refused() {
    let s = Scratch::new();
    let sb = failing();
    let input = s.customers("klanten.csv", 2);
    stopped_run(&s, &sb, &input, &[]);
    let other = sandbox();
    let out = notify_import()
        .args(["import", input.to_str().unwrap(), "--resume"])
        .env("NOTIFY_API_URL", other.base_url())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(&format!(
            "but --api-url {} was from NOTIFY_API_URL",
            other.base_url()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(other.stats().requests, 0);
}

#[test]
fn a_stopped_run_without_run_toml_is_continued_with_the_flags_it_was_given() {
    // A run of an earlier version recorded nothing: its advice carries the
    // flags again, and the journal checks them.
    let s = Scratch::new();
    let sb = failing();
    let input = s.customers("klanten.csv", 3);
    stopped_run(&s, &sb, &input, &[]);
    std::fs::remove_file(latest_run(&input).join("run.toml")).unwrap();
    let elsewhere = sandbox();
    let out = import(&elsewhere, &input, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    let cmd = err
        .split_once("continue it: ")
        .and_then(|(_, rest)| rest.split_once("; or start a new run"))
        .map(|(cmd, _)| cmd.to_owned())
        .unwrap_or_else(|| panic!("{err}"));
    // Where the stopped run sent (its journal says), with this run's key.
    assert_eq!(
        cmd,
        format!(
            "notify-import import {} --resume --api-url {}",
            input.display(),
            sb.base_url(),
        )
    );
    sb.set_faults(Faults::default());
    let words: Vec<&str> = cmd.split(' ').collect();
    let typed = notify_import()
        .args(&words[1..])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&typed, 0);
    assert_universal(&latest_run(&input).join("results.csv"), 3, &sb);
    assert_eq!(elsewhere.stats().requests, 0);
}

#[test]
fn a_resume_of_a_workbook_with_another_sheet_is_refused_naming_it() {
    let s = Scratch::new();
    let sb = failing();
    let input = s.path("klanten.xlsx");
    crate::workbook::excel_workbook(&input);
    stopped_run(&s, &sb, &input, &["--sheet", "Klanten"]);
    let folder = latest_run(&input);
    let doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(folder.join("run.toml")).unwrap()).unwrap();
    assert_eq!(doc["input_options"]["sheet"].as_str(), Some("Klanten"));
    let sent = sb.stats().requests;
    let f = input.to_str().unwrap();
    let out = run_in(
        s.dir.path(),
        &["import", f, "--resume", "--sheet", "Notities"],
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("with --sheet Klanten (its run.toml), but --sheet Notities was given")
            && err.contains("--restart"),
        "{err}"
    );
    assert_eq!(
        sb.stats().requests,
        sent,
        "nothing sent by a refused resume"
    );
    // Without --sheet the resume reads the recorded sheet: the same rows
    // are continued (and the sandbox, now healthy, takes them).
    sb.set_faults(Faults::default());
    let out = run_in(s.dir.path(), &["import", f, "--resume"]);
    assert_exit(&out, 0);
    let codes: Vec<String> = sb
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    assert!(codes.iter().any(|c| c == "00042"), "{codes:?}");
}
