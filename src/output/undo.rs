//! An undo's outputs: its results file, `summary.json` and
//! `report.html` (the undo section: restored, deleted, kept with the
//! API's reason, conflicts with both values, failed).
//!
//! Owns the results contract of an undo (`row,line,customer_code,
//! action,customer_id,detail`, one row per row the undone run changed,
//! in its input order, CSV-injection safe and scrubbed of the key like
//! every output), the summary document of an undo and its page. Every
//! file is written whole (atomic), mode 0600. It must not decide
//! outcomes or exit codes: it shows the ones the undo hands it.

use std::io;
use std::path::{Path, PathBuf};

use maud::{DOCTYPE, Markup, html};
use serde::Serialize;

use crate::model::undo::{UndoAction, UndoCounts, UndoOutcome};
use crate::output::results::neutralize;
use crate::output::summary::result_word;
use crate::util::{atomic, redact};

/// The results file's header.
pub const HEADER: [&str; 6] = [
    "row",
    "line",
    "customer_code",
    "action",
    "customer_id",
    "detail",
];

/// Rows listed per section of the page; the rest are in the results.
pub const ROWS_SHOWN: usize = 1000;

/// A cell as every output writes it: scrubbed of the key, and never read
/// as a formula by a spreadsheet.
fn cell(text: &str) -> String {
    neutralize(&redact::scrub(text)).into_owned()
}

/// The results file being written, one row at a time (in row order),
/// put in place whole by [`ResultsWriter::finish`].
pub struct ResultsWriter {
    file: atomic::AtomicFile,
    csv: csv::Writer<io::BufWriter<std::fs::File>>,
}

impl ResultsWriter {
    /// Starts the results file at `path`, header first.
    pub fn create(path: &Path) -> io::Result<ResultsWriter> {
        let file = atomic::AtomicFile::create(path)?;
        let mut csv = csv::Writer::from_writer(io::BufWriter::new(file.file().try_clone()?));
        csv.write_record(HEADER)?;
        Ok(ResultsWriter { file, csv })
    }

    /// Where it goes.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Writes one row.
    pub fn push(&mut self, o: &UndoOutcome) -> io::Result<()> {
        self.csv.write_record([
            o.row.to_string(),
            if o.line == 0 {
                String::new()
            } else {
                o.line.to_string()
            },
            cell(&o.code),
            o.action.as_str().to_owned(),
            cell(&o.customer_id),
            cell(&o.detail),
        ])?;
        Ok(())
    }

    /// Flushes and puts the file in place.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.csv.flush()?;
        drop(self.csv);
        self.file.commit()
    }
}

/// What the page lists: the first [`ROWS_SHOWN`] rows of each action,
/// and how many more there are. Bounded whatever the number of rows.
#[derive(Debug, Default)]
pub struct PageRows {
    rows: [Vec<UndoOutcome>; 6],
    more: [u64; 6],
}

impl PageRows {
    /// Notes one row.
    pub fn push(&mut self, o: &UndoOutcome) {
        let i = o.action as usize;
        if self.rows[i].len() < ROWS_SHOWN {
            self.rows[i].push(o.clone());
        } else {
            self.more[i] += 1;
        }
    }

    fn of(&self, action: UndoAction) -> (&[UndoOutcome], u64) {
        (&self.rows[action as usize], self.more[action as usize])
    }
}

/// What an undo did, as `summary.json` and the page tell it.
#[derive(Debug, Serialize)]
pub struct UndoFacts {
    /// `schema/undo-summary.schema.json`'s version.
    pub schema_version: u32,
    /// `notify-import`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// `undo`.
    pub command: &'static str,
    /// The undone run's folder.
    pub undone_run: String,
    /// The API.
    pub api_url: String,
    /// `test` or `live`.
    pub key: &'static str,
    /// `--force`.
    pub force: bool,
    /// Whether it continued a stopped undo.
    pub resumed: bool,
    /// Start, RFC 3339.
    pub started: String,
    /// Seconds it took.
    pub duration_seconds: f64,
    /// The exit code.
    pub exit_code: u8,
    /// Its meaning (`ok`, `rows_failed`, `aborted`, `interrupted`).
    pub result: &'static str,
    /// Why it stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Rows per action.
    pub actions: ActionCounts,
    /// Requests sent (reads included).
    pub requests: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// What to do next.
    pub next: String,
    /// The undo's files.
    pub files: UndoFiles,
}

/// Rows per action.
#[derive(Debug, Serialize)]
pub struct ActionCounts {
    /// Rows the undone run changed.
    pub total: u64,
    /// Updated customers restored.
    pub restored: u64,
    /// Created customers deleted.
    pub deleted: u64,
    /// Created customers Notify kept (invoices).
    pub kept: u64,
    /// Customers changed since: left alone.
    pub conflict: u64,
    /// Not undone.
    pub failed: u64,
    /// Not attempted (stopped).
    pub skipped: u64,
}

impl ActionCounts {
    /// The counts of `c`.
    pub fn of(c: &UndoCounts) -> ActionCounts {
        ActionCounts {
            total: c.total(),
            restored: c.get(UndoAction::Restored),
            deleted: c.get(UndoAction::Deleted),
            kept: c.get(UndoAction::Kept),
            conflict: c.get(UndoAction::Conflict),
            failed: c.get(UndoAction::Failed),
            skipped: c.get(UndoAction::Skipped),
        }
    }
}

/// Where an undo's files are.
#[derive(Debug, Serialize)]
pub struct UndoFiles {
    /// The undo's run folder.
    pub folder: String,
    /// `results.csv`.
    pub results: String,
    /// `report.html`, unless `--no-report`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

impl UndoFacts {
    /// The exit code's word.
    pub fn result_of(code: u8) -> &'static str {
        result_word(code)
    }

    /// The summary as JSON (scrubbed of the key).
    pub fn to_json(&self) -> io::Result<String> {
        let text = serde_json::to_string_pretty(self)?;
        Ok(redact::scrub(&text).into_owned() + "\n")
    }
}

/// Writes the page to `path`.
pub fn write_page(path: &Path, facts: &UndoFacts, rows: &PageRows) -> io::Result<PathBuf> {
    atomic::write(path, page(facts, rows).into_string().as_bytes())
}

/// Scrubbed of the key: every text that may hold a server's words.
fn clean(text: &str) -> String {
    redact::scrub(text).into_owned()
}

fn page(f: &UndoFacts, rows: &PageRows) -> Markup {
    let a = &f.actions;
    let happened = format!(
        "Of the {} customers the run created or updated, {} were restored and {} deleted; {} kept by Notify, {} changed since (conflict), {} failed, {} not attempted.",
        a.total, a.restored, a.deleted, a.kept, a.conflict, a.failed, a.skipped
    );
    let of = |action: UndoAction| rows.of(action);
    let title = format!("Undo of {}", f.undone_run);
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::page::head(&title, CSS))
            body {
                header {
                    h1 { (title) }
                    p class="happened" { (happened) }
                    p class="next" { strong { "Next: " } (clean(&f.next)) }
                }
                section id="counts" {
                    h2 { "Rows per action" }
                    table class="counts" {
                        @for action in UndoAction::ALL {
                            tr data-action=(action.as_str()) {
                                td { span class={ "key u-" (action.as_str()) } {} (action.as_str()) }
                                td class="n" { (count(a, action)) }
                            }
                        }
                        tr class="total" { td { "rows" } td class="n" { (a.total) } }
                    }
                }
                section id="undo" {
                    h2 { "Undo" }
                    (rows_table("Restored", "restored", of(UndoAction::Restored), "What was restored (now → before the run)"))
                    (rows_table("Deleted", "deleted", of(UndoAction::Deleted), "Detail"))
                    (rows_table("Kept", "kept", of(UndoAction::Kept), "Notify's reason"))
                    h3 { "Conflicts" }
                    @let (conflicts, more) = of(UndoAction::Conflict);
                    @if conflicts.is_empty() {
                        p class="rest" { "None." }
                    } @else {
                        table class="rows conflicts" {
                            thead { tr { th { "Line" } th { "Code" } th { "Customer" } th { "Field" } th { "The run sent" } th { "Notify holds now" } } }
                            tbody {
                                @for o in conflicts {
                                    @for (field, sent, now) in &o.conflicts {
                                        tr data-row=(o.row) {
                                            td class="line" { (line(o.line)) }
                                            td class="code" { (clean(&o.code)) }
                                            td { code { (clean(&o.customer_id)) } }
                                            td { (field) }
                                            td { (clean(sent)) }
                                            td { (clean(now)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if more > 0 {
                        p class="rest" { (more) " more in results.csv" }
                    }
                    (rows_table("Failed", "failed", of(UndoAction::Failed), "Why"))
                    (rows_table("Not attempted", "skipped", of(UndoAction::Skipped), "Why"))
                }
                section id="run" {
                    h2 { "Run" }
                    table class="facts" {
                        tr { th { "Undone run" } td { code { (f.undone_run) } } }
                        tr { th { "API" } td { (clean(&f.api_url)) } }
                        tr { th { "Key" } td { (f.key) } }
                        tr { th { "--force" } td { (if f.force { "yes" } else { "no" }) } }
                        tr { th { "Resumed" } td { (if f.resumed { "yes" } else { "no" }) } }
                        tr { th { "Started" } td { (f.started) } }
                        tr { th { "Duration" } td { (format!("{:.1} s", f.duration_seconds)) } }
                        tr { th { "Requests" } td { (f.requests) " (" (f.rate_limited) " answered 429)" } }
                        tr { th { "Exit code" } td { (f.exit_code) " (" (f.result) ")" } }
                        @if let Some(stopped) = &f.stopped {
                            tr { th { "Stopped" } td { (clean(stopped)) } }
                        }
                        tr { th { "Tool" } td { (f.tool) " " (f.version) } }
                    }
                }
            }
        }
    }
}

fn count(a: &ActionCounts, action: UndoAction) -> u64 {
    match action {
        UndoAction::Restored => a.restored,
        UndoAction::Deleted => a.deleted,
        UndoAction::Kept => a.kept,
        UndoAction::Conflict => a.conflict,
        UndoAction::Failed => a.failed,
        UndoAction::Skipped => a.skipped,
    }
}

fn line(n: u64) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

/// One action's rows (the first [`ROWS_SHOWN`]), with their detail.
fn rows_table(
    heading: &str,
    id: &str,
    (shown, rest): (&[UndoOutcome], u64),
    detail: &str,
) -> Markup {
    html! {
        h3 { (heading) }
        @if shown.is_empty() {
            p class="rest" { "None." }
        } @else {
            table class={ "rows " (id) } {
                thead { tr { th { "Line" } th { "Code" } th { "Customer" } th { (detail) } } }
                tbody {
                    @for o in shown {
                        tr data-row=(o.row) {
                            td class="line" { (line(o.line)) }
                            td class="code" { (clean(&o.code)) }
                            td { code { (clean(&o.customer_id)) } }
                            td { (clean(&o.detail)) }
                        }
                    }
                }
            }
            @if rest > 0 {
                p class="rest" { (rest) " more in results.csv" }
            }
        }
    }
}

/// The undo's colours, on top of the report's style.
const CSS: &str = r"
.u-restored,.u-deleted{background:var(--ok)}
.u-kept{background:var(--exists)}
.u-conflict{background:var(--invalid)}
.u-failed{background:var(--failed)}
.u-skipped{background:var(--skipped)}
";

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(row: u64, action: UndoAction, code: &str, detail: &str) -> UndoOutcome {
        UndoOutcome {
            row,
            line: row + 1,
            code: code.into(),
            action,
            customer_id: format!("id-{row}"),
            detail: detail.into(),
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn results_are_injection_safe_and_the_page_escapes_every_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        let rows = [
            outcome(1, UndoAction::Deleted, "=HYPERLINK(1)", ""),
            outcome(
                2,
                UndoAction::Kept,
                "<script>x</script>",
                "Customer is not empty",
            ),
        ];
        let mut w = ResultsWriter::create(&path).unwrap();
        let mut shown = PageRows::default();
        for o in &rows {
            w.push(o).unwrap();
            shown.push(o);
        }
        w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("row,line,customer_code,action,customer_id,detail\n"),
            "{text}"
        );
        assert!(text.contains("'=HYPERLINK(1)"), "{text}");
        let mut counts = UndoCounts::default();
        rows.iter().for_each(|o| counts.add(o.action));
        let facts = UndoFacts {
            schema_version: 1,
            tool: "notify-import",
            version: "0",
            command: "undo",
            undone_run: "k.runs/x".into(),
            api_url: "http://127.0.0.1:1/v2".into(),
            key: "test",
            force: false,
            resumed: false,
            started: "2026-12-06T19:00:00Z".into(),
            duration_seconds: 1.0,
            exit_code: 1,
            result: "rows_failed",
            stopped: None,
            actions: ActionCounts::of(&counts),
            requests: 2,
            rate_limited: 0,
            next: "n".into(),
            files: UndoFiles {
                folder: "f".into(),
                results: "r".into(),
                report: None,
            },
        };
        let html = page(&facts, &shown).into_string();
        assert!(!html.contains("<script>x"), "a cell is shown as text");
        assert!(html.contains("&lt;script&gt;x"));
        assert!(html.contains("Customer is not empty"));
    }
}
