//! `report.html` (issue 22): parsed with an HTML5 parser, its counts are
//! summary.json's, every row to fix is listed with its line, nothing loads
//! from anywhere or runs, and hostile cells are shown as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use scraper::{Html, Selector};

use crate::cron::{assert_valid_summary, read_json};
use crate::harness::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

fn select(html: &Html, css: &str) -> Vec<String> {
    let selector = Selector::parse(css).unwrap();
    html.select(&selector)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// Parses the report of the run in `folder`, checking that it is private,
/// self-contained and script-free.
fn report(folder: &Path) -> (Html, String) {
    let path = folder.join("report.html");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "report.html is private");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let html = Html::parse_document(&text);
    assert!(
        html.errors.is_empty(),
        "HTML5 parse errors: {:?}",
        html.errors
    );
    let everything = Selector::parse("*").unwrap();
    for element in html.select(&everything) {
        let name = element.value().name();
        assert!(
            !["script", "img", "iframe", "link", "object", "embed", "base"].contains(&name),
            "a <{name}> element"
        );
        for (attr, value) in element.value().attrs() {
            assert!(!attr.starts_with("on"), "an event handler {attr}={value:?}");
            let lower = value.to_ascii_lowercase();
            assert!(
                !lower.contains("http:") && !lower.contains("https:") && !lower.contains("//"),
                "<{name} {attr}={value:?}> could load from elsewhere"
            );
        }
    }
    for style in select(&html, "style") {
        assert!(
            !style.contains("url(") && !style.contains("@import"),
            "{style}"
        );
    }
    (html, text)
}

/// The counts per status as the page shows them.
fn shown_counts(html: &Html) -> BTreeMap<String, u64> {
    let rows = Selector::parse("table.counts tr[data-status]").unwrap();
    let n = Selector::parse("td.n").unwrap();
    html.select(&rows)
        .map(|tr| {
            let status = tr.value().attr("data-status").unwrap().to_owned();
            let count = tr.select(&n).next().unwrap().text().collect::<String>();
            (status, count.trim().parse().unwrap())
        })
        .collect()
}

/// One row listed under a kind: its line, field, value and problem.
#[derive(Debug)]
struct Listed {
    line: u64,
    field: String,
    value: String,
    error: String,
}

/// The groups of rows to fix: per table, its status, its kind, the rows
/// the page says it has and the rows listed.
fn groups(html: &Html) -> Vec<(String, String, u64, Vec<Listed>)> {
    let tables = Selector::parse("#rows table.rows").unwrap();
    let tr = Selector::parse("tbody tr").unwrap();
    let cell = |row: scraper::ElementRef<'_>, class: &str| {
        let s = Selector::parse(&format!("td.{class}")).unwrap();
        row.select(&s).next().unwrap().text().collect::<String>()
    };
    html.select(&tables)
        .map(|t| {
            let attr = |a: &str| t.value().attr(a).unwrap().to_owned();
            let listed = t
                .select(&tr)
                .map(|r| Listed {
                    line: cell(r, "line").parse().unwrap(),
                    field: cell(r, "field"),
                    value: cell(r, "value"),
                    error: cell(r, "error"),
                })
                .collect();
            (
                attr("data-status"),
                attr("data-kind"),
                attr("data-rows").parse().unwrap(),
                listed,
            )
        })
        .collect()
}

/// The lines listed among the rows to fix, each once.
fn listed_lines(html: &Html) -> BTreeSet<u64> {
    groups(html)
        .into_iter()
        .flat_map(|g| g.3.into_iter().map(|l| l.line))
        .collect()
}

/// The run header's problems per kind (`  n × kind (line …)`), as printed.
fn header_kinds(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("problems (rows not sent):"))
        .skip(1)
        .map_while(|l| {
            let (n, rest) = l.trim_start().split_once(" \u{d7} ")?;
            let kind = &rest[..rest.rfind(" (line")?];
            Some((kind.to_owned(), n.parse().ok()?))
        })
        .collect()
}

/// The counts per status of summary.json, those above zero.
fn summary_counts(doc: &serde_json::Value) -> BTreeMap<String, u64> {
    doc["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn a_check_report_has_the_summary_counts_every_invalid_row_and_hostile_cells_as_text() {
    let s = Scratch::new();
    let input = s.file(
        "klanten.csv",
        &format!(
            "{HEADER}\n\
             C001,Good B.V.,Straat 1,1234 AB,Utrecht,NL,,,,a@example.nl,,,dutch\n\
             {SCRIPT},,Straat 2,1234 AB,Utrecht,NL,,,,b@example.nl,,,dutch\n\
             C003,\"{}\",Straat 3,1234 AB,Utrecht,NL,,,,\"{}\",,,dutch\n\
             C001,Again B.V.,Straat 4,1234 AB,Utrecht,NL,,,,d@example.nl,,,dutch\n\
             C005,Fine B.V.,Straat 5,1234 AB,Utrecht,NL,,,,e@example.nl,,,dutch\n\
             C006,Short B.V.\n",
            IMG.replace('"', "\"\""),
            IMG.replace('"', "\"\"")
        ),
    );
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    let report_path = folder.join("report.html");
    assert!(
        stderr(&out).contains(&format!("Report:  {}", report_path.display())),
        "{}",
        stderr(&out)
    );
    let doc = read_json(&folder.join("summary.json"));
    assert_valid_summary(&doc);
    assert_eq!(doc["files"]["report"], report_path.display().to_string());

    let (html, text) = report(&folder);
    assert_eq!(shown_counts(&html), summary_counts(&doc));
    let total = select(&html, "table.counts tr.total td.n");
    assert_eq!(total, [doc["rows"].to_string()]);

    // Every invalid row of the results file is listed with its line under
    // its kind (the repeated code too, which a check learns only at the
    // end), and each kind's count is the run header's.
    let results = results(&folder.join("results.csv"));
    let invalid: BTreeSet<u64> = results
        .iter()
        .filter(|r| r.status == "invalid")
        .map(|r| r.line)
        .collect();
    assert_eq!(invalid.len(), 4, "{results:?}");
    assert_eq!(doc["counts"]["invalid"], 4);
    let groups = groups(&html);
    let kinds: BTreeMap<String, u64> = groups
        .iter()
        .filter(|g| g.0 == "invalid")
        .map(|g| (g.1.clone(), g.2))
        .collect();
    let printed = header_kinds(&stderr(&out));
    assert!(!printed.is_empty(), "{}", stderr(&out));
    assert_eq!(kinds, printed);
    for g in &groups {
        assert_eq!(g.0, "invalid", "a check has invalid rows only");
        assert_eq!(g.2, g.3.len() as u64, "every row of {} is listed", g.1);
        assert!(g.3.iter().all(|l| !l.error.is_empty()), "{g:?}");
    }
    assert_eq!(listed_lines(&html), invalid);
    let under = |kind: &str| -> Vec<&Listed> {
        groups
            .iter()
            .filter(|g| g.1.contains(kind))
            .flat_map(|g| g.3.iter())
            .collect()
    };
    let name = under("Name: is required");
    assert!(
        name.iter()
            .any(|l| l.line == 3 && l.field == "Name" && l.value.is_empty()),
        "{name:?}"
    );
    let repeated = under("repeats the code");
    assert_eq!(repeated.len(), 1, "{groups:?}");
    assert_eq!(
        (
            repeated[0].line,
            repeated[0].field.as_str(),
            repeated[0].value.as_str()
        ),
        (5, "CustomerCode", "C001")
    );
    let fields = under("more or fewer fields");
    assert_eq!(fields.iter().map(|l| l.line).collect::<Vec<_>>(), [7]);
    // The hostile e-mail address: listed under its kind with its value as
    // the file has it, shown as text, never markup.
    let email: Vec<&Listed> = groups
        .iter()
        .filter(|g| g.1.starts_with("Email"))
        .flat_map(|g| g.3.iter())
        .collect();
    assert!(
        email
            .iter()
            .any(|l| l.line == 4 && l.field == "Email" && l.value == IMG),
        "{groups:?}"
    );
    assert!(!text.contains("<script>alert") && !text.contains("<img"));
    assert!(
        select(&html, "table.rows td.code")
            .iter()
            .any(|c| c == SCRIPT)
    );
    assert!(
        select(&html, "table.rows td.error")
            .iter()
            .chain(&select(&html, "table.rows td.value"))
            .any(|c| c.contains(IMG))
    );

    // The next step in the terminal's words.
    let next = stderr(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Next:    ").map(str::to_owned))
        .unwrap();
    assert_eq!(select(&html, "p.next"), [format!("Next: {next}")]);
}

#[test]
fn the_rows_listed_stop_at_a_thousand_and_point_to_the_errors_file() {
    let s = Scratch::new();
    let mut text = format!("{HEADER}\n");
    for i in 1..=1003 {
        text.push_str(&format!("C{i:05},,Straat,1234 AB,Utrecht,NL,,,,,,,\n"));
    }
    let input = s.file("many.csv", &text);
    assert_exit(&validate(&input, &[]), 1);
    let folder = latest_run(&input);
    let (html, _) = report(&folder);
    assert_eq!(select(&html, "table.rows td.line").len(), 1000);
    let rest = select(&html, "p.rest").join(" ");
    assert!(
        rest.contains("3 more") && rest.contains(&folder.join("errors.csv").display().to_string()),
        "{rest}"
    );
}

#[test]
fn an_import_report_has_the_summary_counts_and_the_pace() {
    let sandbox = sandbox();
    let s = Scratch::new();
    let input = s.path("customers.csv");
    copy_sample("customers.csv", &input);
    let out = import(&sandbox, &input, &[]);
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    let doc = read_json(&folder.join("summary.json"));
    let (html, text) = report(&folder);
    assert_eq!(shown_counts(&html), summary_counts(&doc));
    let results = results(&folder.join("results.csv"));
    let to_fix: BTreeSet<u64> = results
        .iter()
        .filter(|r| r.status != "created")
        .map(|r| r.line)
        .collect();
    assert_eq!(listed_lines(&html), to_fix);
    // Failed rows are grouped by HTTP status, every one counted.
    let failed: u64 = groups(&html)
        .iter()
        .filter(|g| g.0 == "failed")
        .map(|g| g.2)
        .sum();
    assert_eq!(failed, doc["counts"]["failed"].as_u64().unwrap_or(0));
    let pace = select(&html, "#pace td").join(" | ");
    assert!(
        pace.starts_with(&format!("{} |", doc["requests"])),
        "{pace}"
    );
    assert!(select(&html, "#target td").join(" ").contains("test"));
    // Requests over time, drawn from what was sent.
    assert_eq!(select(&html, "#pace svg.chart polyline").len(), 1);
    assert!(!text.contains(TEST_KEY), "the key never reaches the report");
}

#[test]
fn no_report_writes_none_and_says_none() {
    let s = Scratch::new();
    let input = s.customers("k.csv", 3);
    let out = validate(&input, &["--no-report"]);
    assert_exit(&out, 0);
    let folder = latest_run(&input);
    assert!(!folder.join("report.html").exists());
    assert!(!stderr(&out).contains("Report:"), "{}", stderr(&out));
    let doc = read_json(&folder.join("summary.json"));
    assert!(doc["files"]["report"].is_null());
}

/// `notify-import plan FILE --mode upsert` against `sb`.
fn plan_upsert(sb: &SandboxHandle, file: &Path) -> std::process::Output {
    notify_import()
        .arg("plan")
        .arg(file)
        .args(["--mode", "upsert", "--api-url", &sb.base_url()])
        .args(["--rate", "1000", "--burst", "10"])
        .env("NOTIFY_API_KEY", TEST_KEY)
        .output()
        .expect("run notify-import")
}

#[test]
fn a_plan_report_has_the_summary_actions_every_update_old_to_new_and_hostile_values_as_text() {
    let s = Scratch::new();
    // Notify holds a contact that is markup (an earlier import let it in).
    let held = s.file(
        "notify-now.csv",
        &format!(
            "{HEADER}\n\
             H001,Bakkerij Jansen,Molenstraat 1,1234 AB,Ede,NL,Jan Jansen,0318123456,,info@jansen.nl,,,dutch\n\
             H002,Fietsen Post,Stationsweg 4,6711 PL,Ede,NL,{SCRIPT},0318654321,,post@example.nl,,,dutch\n\
             H003,Schilder Kok,Dorpsstraat 9,3911 CA,Rhenen,NL,Ria Kok,0317123456,,kok@example.nl,,,dutch\n"
        ),
    );
    let sb = sandbox::spawn(SandboxOptions {
        customers: Some(held),
        ..SandboxOptions::default()
    })
    .expect("start sandbox");
    // H001 as held, H002 a new contact and city, H003 a name that is
    // markup and a new address, H004 new, H005 invalid.
    let input = s.file(
        "klanten.csv",
        &format!(
            "{HEADER}\n\
             H001,Bakkerij Jansen,Molenstraat 1,1234ab,Ede,nl,Jan Jansen,0318123456,,info@jansen.nl,,,dutch\n\
             H002,Fietsen Post,Stationsweg 4,6711 PL,Wageningen,NL,Piet Post,0318654321,,post@example.nl,,,dutch\n\
             H003,\"{}\",Arnhemseweg 12 (achteringang),3911 CA,Rhenen,NL,Ria Kok,0317123456,,kok@example.nl,,,dutch\n\
             H004,Hovenier Groen,Parklaan 2,6716 AA,Ede,NL,,,,groen@example.nl,,,dutch\n\
             H005,,Nergens 1,1234 AB,Ede,NL,,,,,,,dutch\n",
            IMG.replace('"', "\"\"")
        ),
    );
    let out = plan_upsert(&sb, &input);
    assert_exit(&out, 1);
    let folder = latest_run(&input);
    let doc = read_json(&folder.join("summary.json"));
    assert_valid_summary(&doc);
    let (html, text) = report(&folder);

    // Rows per action: summary.json's, those above zero.
    let action_rows = Selector::parse("#plan table.counts tr[data-action]").unwrap();
    let n = Selector::parse("td.n").unwrap();
    let shown: BTreeMap<String, u64> = html
        .select(&action_rows)
        .map(|tr| {
            let action = tr.value().attr("data-action").unwrap().to_owned();
            let count = tr.select(&n).next().unwrap().text().collect::<String>();
            (action, count.trim().parse().unwrap())
        })
        .collect();
    let planned: BTreeMap<String, u64> = doc["plan"]["actions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(shown, planned);
    assert_eq!(planned.get("update"), Some(&2), "{planned:?}");
    // The rows per status are the check's, as summary.json has them.
    assert_eq!(shown_counts(&html), summary_counts(&doc));

    // Every update's fields, old → new, as plan.csv has them.
    let mut in_file = Vec::new();
    let mut rdr = csv::Reader::from_path(folder.join("plan.csv")).unwrap();
    for row in rdr.records() {
        let row = row.unwrap();
        if &row[3] != "update" {
            continue;
        }
        for change in row[4].split("; ") {
            let (field, rest) = change.split_once(": ").unwrap();
            let (old, new) = rest.split_once(" → ").unwrap();
            in_file.push([row[2].to_owned(), field.into(), old.into(), new.into()]);
        }
    }
    assert_eq!(in_file.len(), 4, "{in_file:?}");
    let update_rows = Selector::parse("#plan table[data-action=update] tbody tr").unwrap();
    let cell = |css: &str| Selector::parse(css).unwrap();
    let (code, field, old, new) = (
        cell("td.code"),
        cell("td.field"),
        cell("td.old"),
        cell("td.new"),
    );
    let text_of = |tr: &scraper::ElementRef<'_>, sel: &Selector| {
        tr.select(sel)
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default()
    };
    let mut on_page = Vec::new();
    let mut current = String::new();
    for tr in html.select(&update_rows) {
        let c = text_of(&tr, &code);
        if !c.is_empty() {
            current = c;
        }
        on_page.push([
            current.clone(),
            text_of(&tr, &field),
            text_of(&tr, &old),
            text_of(&tr, &new),
        ]);
    }
    assert_eq!(on_page, in_file);
    let created = select(&html, "#plan table[data-action=create] td.code");
    assert_eq!(created, ["H004"]);

    // Markup in a value, Notify's or the file's, is text.
    assert!(on_page.iter().any(|r| r[2] == SCRIPT), "{on_page:?}");
    assert!(on_page.iter().any(|r| r[3] == IMG), "{on_page:?}");
    assert!(!text.contains("<script>alert") && !text.contains("<img"));
    assert!(!text.contains(TEST_KEY));
}

/// The README's walk-through as samples/README.md describes it: against
/// the sandbox holding samples/held.csv, samples/customers-changed.csv
/// plans 3 creates, 4 updates (with the fields listed) and 8 unchanged,
/// and its page says so.
#[test]
fn the_sample_pair_plans_three_creates_four_updates_and_eight_unchanged() {
    let s = Scratch::new();
    let held = s.path("held.csv");
    copy_sample("held.csv", &held);
    let sb = sandbox::spawn(SandboxOptions {
        customers: Some(held),
        ..SandboxOptions::default()
    })
    .expect("start sandbox");
    let input = s.path("customers-changed.csv");
    copy_sample("customers-changed.csv", &input);
    assert_exit(&plan_upsert(&sb, &input), 0);
    let folder = latest_run(&input);
    let doc = read_json(&folder.join("summary.json"));
    let actions = &doc["plan"]["actions"];
    assert_eq!(
        (
            &actions["create"],
            &actions["update"],
            &actions["unchanged"]
        ),
        (&3.into(), &4.into(), &8.into())
    );
    let (html, _) = report(&folder);
    let fields = select(&html, "#plan table[data-action=update] td.field");
    assert_eq!(
        fields,
        [
            "Address",
            "Postalcode",
            "InvoiceEmail",
            "Phone",
            "Email",
            "Contact"
        ]
    );
    assert_eq!(
        select(&html, "#plan table[data-action=create] td.code"),
        ["10031", "10032", "10033"]
    );
}
