//! `report.html`: a run as one page a person reads, prints or sends on
//! (issue 22), written into the run folder of every `import` and
//! `validate` unless `--no-report`.
//!
//! Owns the page and its words: what happened and what to do next (the
//! `Next:` line's own words, from [`crate::run::next_step`] through the
//! summary's facts, never a copy), how the input was read and mapped, the
//! target, the counts per status (as a bar) and per problem kind, the rows
//! to fix (the first [`ROWS_SHOWN`]; the rest are in the errors file), and
//! for an import the pace, with requests and 429 answers per second over
//! time as an inline SVG chart (the pace and any learned ceiling drawn on
//! it). Its facts are the ones `summary.json` has
//! ([`RunDone`]), so the two never disagree.
//!
//! The page is one self-contained file: CSS inline, no script, no font,
//! image or style loaded from anywhere (a Content-Security-Policy says so
//! to the browser as well), readable in light and dark mode and on A4
//! paper. It is built with `maud`, which escapes every value by
//! construction: a cell `<script>` is shown as text. Every text that may
//! come from a server is scrubbed of the API key ([`redact::scrub`]).
//!
//! Bounded: it keeps at most [`ROWS_SHOWN`] rows, and counts come
//! aggregated, so a million-row file gives a page of a few hundred KB; the
//! rows cost nothing per row beyond a count, and the results file is read
//! again only when a check's repeated codes changed outcomes after the
//! rows came, and then only up to the last row shown.
//!
//! A plan and an undo add a section of their own after the rows to fix: a
//! field of the page's view and one `section` in its template. It must
//! not decide outcomes or exit codes: it shows the ones the run hands it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::check::tally::{self, RowProblems};
use crate::config::{Endpoint, KeyKind};
use crate::exit;
use crate::model::field::Field;
use crate::model::outcome::{Counts, Outcome, Status};
use crate::model::timeline::Timeline;
use crate::output::errors_file;
use crate::output::plan_file::{Action, Listed, PlanFacts};
use crate::output::report::{PaceFacts, TotalsOwned};
use crate::output::set::{Failure, Output, RowsDone, RunDone};
use crate::run::next_step::grouped;
use crate::util::text::printable;
use crate::util::{atomic, redact};

/// Its name among the outputs ([`Output::name`]).
pub const NAME: &str = "report";

/// Rows to fix listed on the page; the rest are in the errors file.
pub const ROWS_SHOWN: usize = tally::ROWS_DETAILED;

/// The page as an output of a run.
pub(crate) struct HtmlReport {
    /// Per status as the rows came (in a check, a repeated code still
    /// reads `valid` here).
    seen: Counts,
    /// The first rows not imported, in input order.
    rows: Vec<RowToFix>,
    /// Failed rows per HTTP status (`None`: no answer), all of them.
    failed: BTreeMap<Option<u16>, u64>,
}

/// One row not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowToFix {
    row: u64,
    line: u64,
    code: String,
    status: Status,
    /// The last answer's HTTP status, if one came.
    http_status: Option<u16>,
    /// The results file's error.
    error: String,
}

impl HtmlReport {
    /// Writes `report.html` into the run folder.
    pub fn new() -> HtmlReport {
        HtmlReport {
            seen: Counts::default(),
            rows: Vec::new(),
            failed: BTreeMap::new(),
        }
    }
}

impl Output for HtmlReport {
    fn name(&self) -> &'static str {
        NAME
    }

    fn row(&mut self, outcome: &Outcome) {
        self.seen.add(outcome.status);
        if outcome.status == Status::Failed {
            *self.failed.entry(outcome.http_status).or_default() += 1;
        }
        if errors_file::includes(outcome.status) && self.rows.len() < ROWS_SHOWN {
            self.rows.push(RowToFix {
                row: outcome.row,
                line: outcome.line,
                code: outcome.code.clone(),
                status: outcome.status,
                http_status: outcome.http_status,
                error: outcome.error.clone(),
            });
        }
    }

    fn restart_rows(&mut self) {
        *self = HtmlReport::new();
    }

    /// The rows as they came are final unless a check's repeated codes were
    /// patched in after them: then the first rows to fix are read from the
    /// finished results file.
    fn rows_done(&mut self, done: &RowsDone<'_>) -> Result<Option<PathBuf>, Failure> {
        if self.seen != *done.counts {
            let started = Instant::now();
            self.rows = first_rows_to_fix(done.results)?;
            tracing::debug!(
                "report: the first rows to fix read back from the results file in {:?}",
                started.elapsed()
            );
        }
        Ok(None)
    }

    fn run_done(&mut self, done: &RunDone<'_>) -> Result<(), Failure> {
        let Some(path) = &done.files.report else {
            return Ok(());
        };
        let started = Instant::now();
        let page = page(&View::of(done, &self.rows, &self.failed)).into_string();
        atomic::write(path, page.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        tracing::debug!(
            "report: {} ({} bytes) written in {:?}",
            path.display(),
            page.len(),
            started.elapsed()
        );
        Ok(())
    }
}

/// The first [`ROWS_SHOWN`] rows of the results file whose status puts
/// them in the errors file.
fn first_rows_to_fix(results: &Path) -> Result<Vec<RowToFix>, Failure> {
    let mut reader = csv::Reader::from_path(results)?;
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    while rows.len() < ROWS_SHOWN && reader.read_record(&mut record)? {
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let Some(status) = Status::ALL.into_iter().find(|s| s.as_str() == cell(3)) else {
            continue;
        };
        if errors_file::includes(status) {
            rows.push(RowToFix {
                row: cell(0).parse().unwrap_or_default(),
                line: cell(1).parse().unwrap_or_default(),
                code: cell(2).to_owned(),
                status,
                http_status: cell(5).parse().ok(),
                error: cell(7).to_owned(),
            });
        }
    }
    Ok(rows)
}

/// What the page shows, gathered from the run's facts.
struct View<'a> {
    check: bool,
    /// The input's file name, for the title.
    name: String,
    counts: Counts,
    totals: Option<&'a TotalsOwned>,
    rows: &'a [RowToFix],
    /// The first invalid rows with their problems, as the check found them.
    detailed: &'a [RowProblems],
    /// How the run header shows repeated codes, if some repeated.
    repeated: Option<&'a str>,
    /// Failed rows per HTTP status.
    failed: &'a BTreeMap<Option<u16>, u64>,
    /// What happened, in a sentence.
    happened: String,
    /// What to do next (the `Next:` line's words), if anything.
    next: Option<String>,
    /// Where the rows went; `None` for a check.
    target: Option<(String, &'static str)>,
    facts: Vec<(&'static str, String)>,
    reading: Rows,
    mapping: Rows,
    problems: &'a [(String, u64, Vec<u64>)],
    pace: Option<Vec<(&'static str, String)>>,
    /// Requests and 429s over time, for an import that sent any.
    chart: Option<Markup>,
    /// What a plan found (`plan` only).
    plan: Option<&'a PlanFacts>,
}

/// Scrubbed of the key: for every text that may hold a server's words.
fn clean(text: &str) -> String {
    redact::scrub(text).into_owned()
}

impl<'a> View<'a> {
    fn of(
        done: &'a RunDone<'a>,
        rows: &'a [RowToFix],
        failed: &'a BTreeMap<Option<u16>, u64>,
    ) -> View<'a> {
        let (run, facts, result) = (done.run, done.facts, done.result);
        let totals = facts.totals.as_ref();
        let counts = totals.map(|t| t.counts.clone()).unwrap_or_default();
        let plan = facts.plan.as_ref();
        // A plan sends nothing: its page reads as a check's, plus the plan.
        let check = run.upload.is_none() || run.upload.as_ref().is_some_and(|u| u.plan_only);
        let input = run.input.display().to_string();
        let name = run
            .input
            .file_name()
            .map_or_else(|| input.clone(), |n| n.to_string_lossy().into_owned());
        let happened = match result {
            Ok(code) => {
                let said = happened(check, plan.is_some(), &name, &counts, *code, totals);
                match plan {
                    Some(p) => format!("{said} {}", planned(p)),
                    None => said,
                }
            }
            Err(e) => format!(
                "The run of {name} ended with an error: {}",
                clean(&e.to_string())
            ),
        };
        let next = match result {
            Ok(_) => totals.and_then(|t| t.next.as_deref()).map(clean),
            Err(_) => None,
        };
        let target = run.upload.as_ref().map(|u| match &u.target {
            Endpoint::Sandbox => (
                "the embedded sandbox (--sandbox): nothing reached Notify".to_owned(),
                "test",
            ),
            Endpoint::Remote { url, key } => (
                clean(url.as_str()),
                match key.kind() {
                    KeyKind::Test => "test",
                    KeyKind::Live => "live: real customer data",
                },
            ),
        });
        let secs = done.elapsed.as_secs_f64();
        let mut run_facts = vec![
            (
                "Started",
                humantime::format_rfc3339_seconds(facts.started_at).to_string(),
            ),
            ("Duration", format!("{secs:.1} s")),
            (
                "Tool",
                format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            ),
            ("Run folder", done.files.folder.path().display().to_string()),
        ];
        if let Some(t) = totals {
            run_facts.push(("Results", t.results.display().to_string()));
            if let Some(e) = &t.errors {
                run_facts.push(("Errors file", e.display().to_string()));
            }
        }
        let (mut reading, mapping) = facts
            .input
            .as_ref()
            .map(|i| described(&i.description, &i.header))
            .unwrap_or_default();
        reading.insert(0, ("File".to_owned(), input.clone()));
        if let Some((name, file)) = run.provenance.profile_used() {
            reading.insert(
                1,
                ("Profile".to_owned(), format!("{name} ({})", file.display())),
            );
        }
        let problems = facts.input.as_ref().map_or(&[][..], |i| &i.problems[..]);
        let detailed = facts.input.as_ref().map_or(&[][..], |i| &i.detailed[..]);
        let repeated = facts.input.as_ref().and_then(|i| i.repeated.as_deref());
        let pace = totals
            .filter(|_| run.upload.is_some())
            .map(|t| pace_facts(t, &counts, secs));
        let chart = totals.and_then(|t| chart(t.timeline.as_ref()?, t.pace.as_ref()));
        View {
            chart,
            check,
            name,
            counts,
            totals,
            rows,
            detailed,
            repeated,
            failed,
            happened,
            next,
            target,
            facts: run_facts,
            reading,
            mapping,
            problems,
            pace,
            plan,
        }
    }
}

/// What happened, in one sentence: the counts and the exit code's meaning.
fn happened(
    check: bool,
    plan: bool,
    input: &str,
    counts: &Counts,
    code: u8,
    totals: Option<&TotalsOwned>,
) -> String {
    let parts: Vec<String> = Status::ALL
        .iter()
        .filter(|s| counts.get(**s) > 0)
        .map(|s| format!("{} {s}", grouped(counts.get(*s))))
        .collect();
    let rows = match counts.total() {
        1 => "1 row".to_owned(),
        n => format!("{} rows", grouped(n)),
    };
    let what = if plan {
        format!("Planned an import of {input}: {rows}")
    } else if check {
        format!("Checked {input}: {rows}")
    } else {
        format!("Imported {input}: {rows}")
    };
    let counted = if parts.is_empty() {
        what
    } else {
        format!("{what}, {}", parts.join(", "))
    };
    let meaning = match code {
        exit::OK if check => "every row is valid, and nothing was sent".to_owned(),
        exit::OK => "every row ended as asked".to_owned(),
        exit::ROWS_FAILED if check => {
            "some rows are invalid and would not be sent; nothing was sent".to_owned()
        }
        exit::ROWS_FAILED => "the run finished, but some rows were not imported".to_owned(),
        exit::INTERRUPTED => "the run was interrupted before the end".to_owned(),
        _ => match totals.and_then(|t| t.stopped.as_deref()) {
            Some(why) => format!("the run stopped before the end: {}", clean(why)),
            None => "the run stopped before the end".to_owned(),
        },
    };
    format!("{counted}. {}.", capitalized(&meaning))
}

/// What a plan would do, in a sentence: the rows per action.
fn planned(p: &PlanFacts) -> String {
    let parts: Vec<String> = Action::ALL
        .iter()
        .filter(|a| p.count(**a) > 0)
        .map(|a| format!("{} {}", grouped(p.count(*a)), action_words(*a)))
        .collect();
    match parts.len() {
        0 => format!("The import (--mode {}) would change nothing.", p.mode),
        _ => format!("The import (--mode {}): {}.", p.mode, parts.join(", ")),
    }
}

/// An action as the plan's sentence says it.
fn action_words(action: Action) -> &'static str {
    match action {
        Action::Create => "to create",
        Action::Update => "to update",
        Action::Overwrite => "to overwrite",
        Action::Unchanged => "unchanged",
        Action::Exists => "already in Notify (left alone)",
        Action::NotFound => "not in Notify (not created)",
        Action::Invalid => "invalid",
    }
}

/// The colour key of an action: the status its rows would end in.
fn action_key(action: Action) -> &'static str {
    match action {
        Action::Create => "s-created",
        Action::Update | Action::Overwrite => "s-updated",
        Action::Unchanged | Action::Exists | Action::NotFound => "s-exists",
        Action::Invalid => "s-invalid",
    }
}

/// The pace facts of an import, as label and value.
fn pace_facts(t: &TotalsOwned, counts: &Counts, secs: f64) -> Vec<(&'static str, String)> {
    let per_sec = |n: u64| {
        if secs > 0.0 {
            format!("{:.1}", n as f64 / secs)
        } else {
            "-".to_owned()
        }
    };
    let requests = t.requests.unwrap_or(0);
    let mut out = vec![
        ("Requests", grouped(requests)),
        ("Requests per second", per_sec(requests)),
        ("Rows per second", per_sec(counts.total())),
        ("429 answers (too many requests)", grouped(t.rate_limited)),
        ("Retries", grouped(t.retries)),
    ];
    if let Some(p) = &t.pace {
        out.extend(pace_lines(p));
    }
    out
}

fn pace_lines(p: &PaceFacts) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Pace", p.chosen()),
        ("Pace at the end", format!("{:.1} req/s", p.final_rate)),
        (
            "Learned ceiling",
            match p.ceiling {
                Some(c) => format!("{c:.1} req/s (where 429 answers began)"),
                None => "none: no 429 answer came".to_owned(),
            },
        ),
    ];
    if let Some(a) = p.advertised {
        out.push(("Advertised by the API", format!("{a:.1} req/s")));
    }
    out.push((
        "Time spent paused",
        if p.paused.is_zero() {
            "none".to_owned()
        } else {
            format!(
                "{:.1} s (after 429 answers or a spent quota)",
                p.paused.as_secs_f64()
            )
        },
    ));
    out
}

/// The chart's drawing area, in the SVG's units.
const CHART: (f64, f64, f64, f64) = (52.0, 990.0, 14.0, 196.0);

/// Requests per second over time as a line, 429 answers per second as
/// bars, the pace and the learned ceiling as dashed lines; `None` when no
/// request was sent.
fn chart(timeline: &Timeline, pace: Option<&PaceFacts>) -> Option<Markup> {
    let points = timeline.points();
    if points.iter().all(|p| p.0 == 0) {
        return None;
    }
    let step = timeline.step().as_secs_f64();
    let per_sec = |n: u64| n as f64 / step;
    let seen = points
        .iter()
        .map(|p| per_sec(p.0))
        .chain(pace.and_then(|p| p.ceiling))
        .fold(1.0_f64, f64::max);
    // `--rate auto`'s rate is only a bound (`--max-rate`): drawn far above
    // what was sent, it would flatten the line the reader came for.
    let drawn = pace.filter(|p| !p.auto || p.rate <= seen * 1.5);
    let highest = drawn.map_or(seen, |p| p.rate.max(seen)) * 1.1;
    let (left, right, top, bottom) = CHART;
    let width = (right - left) / points.len() as f64;
    let x = |i: usize| left + i as f64 * width;
    let y = |rate: f64| bottom - rate / highest * (bottom - top);
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let at = y(per_sec(p.0));
            [
                format!("{:.1},{at:.1}", x(i)),
                format!("{:.1},{at:.1}", x(i + 1)),
            ]
        })
        .collect();
    let seconds = points.len() as f64 * step;
    let level = |rate: f64, class: &'static str, label: String| {
        html! {
            line class=(class) x1=(left) x2=(right) y1=(format!("{:.1}", y(rate))) y2=(format!("{:.1}", y(rate))) {}
            text class="label" x=(right - 4.0) y=(format!("{:.1}", y(rate) - 4.0)) text-anchor="end" { (label) }
        }
    };
    Some(html! {
        svg class="chart" viewBox="0 0 1000 222" role="img"
            aria-label="requests and 429 answers per second over time" {
            line class="axis" x1=(left) x2=(right) y1=(bottom) y2=(bottom) {}
            line class="axis" x1=(left) x2=(left) y1=(top) y2=(bottom) {}
            text x=(left - 6.0) y=(top + 10.0) text-anchor="end" { (format!("{highest:.0}")) }
            text x=(left - 6.0) y=(bottom) text-anchor="end" { "0" }
            text x=(left) y="216" { "0 s" }
            line class="grid" x1=(left) x2=(right) y1=(format!("{:.1}", y(highest / 2.0))) y2=(format!("{:.1}", y(highest / 2.0))) {}
            text x=(left - 6.0) y=(format!("{:.1}", y(highest / 2.0) + 4.0)) text-anchor="end" { (format!("{:.0}", highest / 2.0)) }
            text x=(right) y="216" text-anchor="end" { (format!("{seconds:.0} s")) }
            @for (i, p) in points.iter().enumerate() {
                @if p.1 > 0 {
                    rect class="r429" x=(format!("{:.1}", x(i))) y=(format!("{:.1}", y(per_sec(p.1))))
                        width=(format!("{:.1}", width.max(1.5)))
                        height=(format!("{:.1}", bottom - y(per_sec(p.1)))) {}
                }
            }
            polyline class="req" points=(line.join(" ")) {}
            @if let Some(p) = drawn {
                (level(p.rate, "pace", p.chosen()))
            }
            @if let Some(p) = pace {
                @if let Some(c) = p.ceiling {
                    (level(c, "ceiling", format!("learned ceiling {c:.1}/s")))
                }
            }
        }
        p class="legend" {
            span class="key s-valid" {} "requests per second "
            @if points.iter().any(|p| p.1 > 0) { span class="key s-failed" {} "429 answers per second " }
            @match (pace, drawn) {
                (Some(_), Some(_)) => { span class="key s-created" {} "pace " }
                (Some(p), None) => { span class="key s-created" {} "pace " (p.chosen()) ", above the chart " }
                (None, _) => {}
            }
            @if pace.is_some_and(|p| p.ceiling.is_some()) { span class="key s-invalid" {} "learned ceiling" }
            @if step > 1.0 { " (each point " (format!("{step:.0}")) " s)" }
        }
    })
}

/// Label and value, for a table of facts.
type Rows = Vec<(String, String)>;

/// The run header's description of the input, split into how it was read
/// (`encoding`, `delimiter`, ...) and each field's source.
fn described(description: &str, header: &str) -> (Rows, Rows) {
    let mut reading = Vec::new();
    let mut mapping = Vec::new();
    for line in description.lines() {
        if let Some(rest) = line.strip_prefix("  ") {
            let rest = rest.trim();
            let (name, source) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if Field::ALL.iter().any(|f| f.api_name() == name) {
                mapping.push((name.to_owned(), source.trim().to_owned()));
            } else {
                mapping.push((String::new(), rest.to_owned()));
            }
        } else if let Some((key, value)) = line.split_once(": ") {
            reading.push((capitalized(key), value.to_owned()));
        } else if !line.trim().is_empty() {
            reading.push((String::new(), line.to_owned()));
        }
    }
    if !reading.iter().any(|(k, _)| k == "Header") {
        let at = reading.len().min(2);
        reading.insert(at, ("Header".to_owned(), header.to_owned()));
    }
    (reading, mapping)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The widths of the bar's parts, out of 1000: proportional, but a status
/// with any row stays visible.
fn bar_widths(counts: &Counts) -> Vec<(Status, f64)> {
    let total = counts.total();
    if total == 0 {
        return Vec::new();
    }
    let raw: Vec<(Status, f64)> = Status::ALL
        .iter()
        .filter(|s| counts.get(**s) > 0)
        .map(|s| (*s, (counts.get(*s) as f64 * 1000.0 / total as f64).max(6.0)))
        .collect();
    let sum: f64 = raw.iter().map(|(_, w)| w).sum();
    raw.into_iter()
        .map(|(s, w)| (s, w * 1000.0 / sum))
        .collect()
}

fn status_bar(counts: &Counts) -> Markup {
    let mut x = 0.0;
    let parts: Vec<(Status, f64, f64)> = bar_widths(counts)
        .into_iter()
        .map(|(s, w)| {
            let at = x;
            x += w;
            (s, at, w)
        })
        .collect();
    html! {
        svg class="bar" viewBox="0 0 1000 28" preserveAspectRatio="none" role="img"
            aria-label="rows per status" {
            @for (status, at, w) in parts {
                rect class={ "s-" (status.as_str()) } x=(format!("{at:.2}")) y="0"
                    width=(format!("{w:.2}")) height="28" {
                    title { (status.as_str()) ": " (grouped(counts.get(status))) }
                }
            }
        }
    }
}

fn table_of(rows: &[(impl AsRef<str>, String)]) -> Markup {
    html! {
        table class="facts" {
            @for (key, value) in rows {
                tr { th scope="row" { (key.as_ref()) } td { (value) } }
            }
        }
    }
}

/// One group of the rows to fix: a problem kind as the run header counts
/// it, failed rows with one HTTP status, or the skipped rows.
struct Group<'a> {
    /// `invalid`, `failed` or `skipped`.
    status: Status,
    title: String,
    /// Rows of the group in the whole run.
    rows: u64,
    listed: Vec<FixRow<'a>>,
}

/// One row of a group: line, code, field, value, problem.
struct FixRow<'a> {
    line: u64,
    code: &'a str,
    field: Option<Field>,
    value: &'a str,
    message: &'a str,
}

/// The rows to fix in groups: each problem kind in the run header's order
/// (a row with two problems is listed under both), then failed rows per
/// HTTP status, then the skipped rows.
fn groups<'a>(v: &View<'a>) -> Vec<Group<'a>> {
    let mut kinds: Vec<Group<'a>> = v
        .problems
        .iter()
        .map(|(kind, rows, _)| Group {
            status: Status::Invalid,
            title: kind.clone(),
            rows: *rows,
            listed: Vec::new(),
        })
        .collect();
    let mut failed: Vec<Group<'a>> = v
        .failed
        .iter()
        .map(|(http, rows)| Group {
            status: Status::Failed,
            title: match http {
                Some(code) => format!("Failed with HTTP {code}"),
                None => "Failed without an answer from the API".to_owned(),
            },
            rows: *rows,
            listed: Vec::new(),
        })
        .collect();
    let mut skipped = Group {
        status: Status::Skipped,
        title: status_heading(Status::Skipped).to_owned(),
        rows: v.counts.get(Status::Skipped),
        listed: Vec::new(),
    };
    let detailed: BTreeMap<u64, &RowProblems> = v.detailed.iter().map(|d| (d.row, d)).collect();
    let into =
        |groups: &mut Vec<Group<'a>>, status: Status, title: &str, row: FixRow<'a>| match groups
            .iter_mut()
            .find(|g| g.title == title)
        {
            Some(g) => g.listed.push(row),
            None => groups.push(Group {
                status,
                title: title.to_owned(),
                rows: 0,
                listed: vec![row],
            }),
        };
    for r in v.rows {
        let listed = |field, value, message| FixRow {
            line: r.line,
            code: &r.code,
            field,
            value,
            message,
        };
        match r.status {
            Status::Invalid => match detailed.get(&r.row) {
                Some(d) => {
                    for p in &d.problems {
                        into(
                            &mut kinds,
                            Status::Invalid,
                            &p.kind,
                            listed(p.field, &p.value, &p.message),
                        );
                    }
                }
                // Invalid only as a repeat, known after the check.
                None => into(
                    &mut kinds,
                    Status::Invalid,
                    v.repeated.unwrap_or("repeated codes"),
                    listed(
                        Some(Field::CustomerCode),
                        &r.code,
                        r.error.strip_prefix("CustomerCode: ").unwrap_or(&r.error),
                    ),
                ),
            },
            Status::Failed => {
                let title = match r.http_status {
                    Some(code) => format!("Failed with HTTP {code}"),
                    None => "Failed without an answer from the API".to_owned(),
                };
                into(
                    &mut failed,
                    Status::Failed,
                    &title,
                    listed(None, "", &r.error),
                );
            }
            _ => skipped.listed.push(listed(None, "", &r.error)),
        }
    }
    kinds.extend(failed);
    if skipped.rows > 0 {
        kinds.push(skipped);
    }
    kinds.retain(|g| g.rows > 0 || !g.listed.is_empty());
    kinds
}

/// The rows to fix, grouped by problem kind (then failed rows per HTTP
/// status, then skipped rows); at most [`ROWS_SHOWN`] rows in all.
fn rows_to_fix(v: &View<'_>) -> Markup {
    let shown = v.rows.len() as u64;
    let to_fix = errors_file::count(&v.counts);
    let rest = to_fix.saturating_sub(shown);
    let errors = v.totals.and_then(|t| t.errors.as_deref());
    let groups = groups(v);
    html! {
        @if to_fix == 0 {
            p { @if v.check { "None: every row is valid." } @else { "None: every row ended as asked." } }
        } @else if v.counts.get(Status::Invalid) > 0 {
            p class="note" { "A row with several problems is listed under each of its kinds." }
        }
        @for g in &groups {
            h3 { (clean(&g.title)) " (" (grouped(g.rows)) " " (if g.rows == 1 { "row" } else { "rows" })
                @if (g.listed.len() as u64) < g.rows { ", " (grouped(g.listed.len() as u64)) " listed" }
                ")" }
            table class="rows" data-status=(g.status.as_str()) data-kind=(clean(&g.title)) data-rows=(g.rows) {
                thead { tr { th { "Line" } th { "Code" } th { "Field" } th { "Value" } th { "Problem" } } }
                tbody {
                    @for r in &g.listed {
                        tr {
                            td class="line" { (r.line) }
                            td class="code" { (printable(&clean(r.code))) }
                            td class="field" { @if let Some(f) = r.field { (f) } }
                            td class="value" { (printable(&clean(r.value))) }
                            td class="error" { (printable(&clean(r.message))) }
                        }
                    }
                }
            }
        }
        @if rest > 0 {
            p class="rest" {
                "The first " (grouped(shown)) " are listed; the rest ("
                (grouped(rest)) " more) are in "
                @match errors {
                    Some(e) => { "the errors file, " code { (e.display()) } }
                    None => { "the results file" }
                }
                "."
            }
        }
    }
}

fn status_heading(status: Status) -> &'static str {
    match status {
        Status::Invalid => "Invalid: fix them in the file",
        Status::Failed => "Failed: the API refused them or did not answer",
        _ => "Skipped: not attempted, the run stopped",
    }
}

/// Characters of a value a plan's update lists; the page stays a few MB
/// even when each of its [`crate::output::plan_file::SHOWN`] updates
/// changes every field to a value of the longest kind Notify keeps.
const VALUE_SHOWN: usize = 80;

/// Field rows the plan's update table lists at most (whole customers: the
/// last may add up to 12 more), so that a thousand customers each changing
/// every field to a long value still make a page of a few MB.
const FIELD_ROWS_SHOWN: usize = 3000;

/// A value as the plan's update table shows it: scrubbed, and cut at
/// [`VALUE_SHOWN`] characters (`plan.csv` has it whole).
fn cut(value: &str) -> String {
    let value = clean(value);
    match value.char_indices().nth(VALUE_SHOWN) {
        Some((at, _)) => format!("{}\u{2026}", &value[..at]),
        None => value,
    }
}

/// A plan's section: rows per action, the fields that change most, the
/// customers to create and, for each to update, its fields old → new
/// (each list capped at [`crate::output::plan_file::SHOWN`]; `plan.csv`
/// has them all).
fn plan_section(p: &PlanFacts) -> Markup {
    let creates = p.count(Action::Create);
    let updates = p.count(Action::Update) + p.count(Action::Overwrite);
    let file = p.file.as_ref().map(|f| f.display().to_string());
    let rest = |listed: usize, all: u64| all.saturating_sub(listed as u64);
    // Whole customers, until the field rows reach their cap.
    let mut field_rows = 0;
    let listed: Vec<&Listed> = p
        .updates
        .iter()
        .take_while(|u| {
            let more = field_rows < FIELD_ROWS_SHOWN;
            field_rows += u.changes.len().max(1);
            more
        })
        .collect();
    let long = listed.iter().flat_map(|u| &u.changes).any(|(_, old, new)| {
        old.chars().nth(VALUE_SHOWN).is_some() || new.chars().nth(VALUE_SHOWN).is_some()
    });
    html! {
        p { "What " code { "import --mode " (p.mode) } " would do; nothing was written to Notify." }
        table class="counts" {
            @for action in Action::ALL {
                @if p.count(action) > 0 {
                    tr data-action=(action.as_str()) {
                        td { span class={ "key " (action_key(action)) } {} (action.as_str()) }
                        td class="n" { (grouped(p.count(action))) }
                    }
                }
            }
        }
        @if !p.fields.is_empty() {
            h3 { "Fields that change most" }
            table class="counts fields" {
                thead { tr { th { "Field" } th class="n" { "Rows" } } }
                tbody {
                    @for (field, n) in &p.fields {
                        tr { td { (field.api_name()) } td class="n" { (grouped(*n)) } }
                    }
                }
            }
        }
        @if !p.updates.is_empty() {
            h3 { "To update (" (grouped(updates)) ")" }
            table class="rows changes" data-action="update" {
                thead { tr { th class="line" { "Line" } th class="code" { "Code" } th class="field" { "Field" } th { "Now in Notify" } th { "From the file" } } }
                tbody {
                    @for u in &listed {
                        @if u.changes.is_empty() {
                            tr {
                                td class="line" { (u.line) }
                                td class="code" { (clean(&u.code)) }
                                td class="field" colspan="3" { em { "every field sent again (Overwrite)" } }
                            }
                        }
                        @for (i, (field, old, new)) in u.changes.iter().enumerate() {
                            tr {
                                td class="line" { @if i == 0 { (u.line) } }
                                td class="code" { @if i == 0 { (clean(&u.code)) } }
                                td class="field" { (field.api_name()) }
                                td class="old" { (cut(old)) }
                                td class="new" { @if new.is_empty() { em { "(cleared)" } } @else { (cut(new)) } }
                            }
                        }
                    }
                }
            }
            @if long {
                p class="rest" { "Values over " (VALUE_SHOWN) " characters are cut (ending in \u{2026}); " code { (file.clone().unwrap_or_default()) } " has them whole." }
            }
            @if rest(listed.len(), updates) > 0 {
                p class="rest" { "The first " (grouped(listed.len() as u64)) " are listed; all are in " code { (file.clone().unwrap_or_default()) } "." }
            }
        }
        @if !p.creates.is_empty() {
            h3 { "To create (" (grouped(creates)) ")" }
            table class="rows list" data-action="create" {
                thead { tr { th { "Line" } th { "Code" } } }
                tbody {
                    @for c in &p.creates {
                        tr { td class="line" { (c.line) } td class="code" { (clean(&c.code)) } }
                    }
                }
            }
            @if rest(p.creates.len(), creates) > 0 {
                p class="rest" { "The first " (grouped(p.creates.len() as u64)) " are listed; all are in " code { (file.unwrap_or_default()) } "." }
            }
        }
    }
}

/// The `<head>` every report page shares: no script, nothing loaded from
/// anywhere (the Content-Security-Policy says so to the browser), light
/// and dark, this module's CSS followed by `extra_css`.
pub(super) fn head(title: &str, extra_css: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta http-equiv="Content-Security-Policy"
                content="default-src 'none'; style-src 'unsafe-inline'";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " \u{2013} notify-import" }
            style { (PreEscaped(CSS)) (PreEscaped(extra_css)) }
        }
    }
}

fn page(v: &View<'_>) -> Markup {
    let kind = match (v.plan, v.check) {
        (Some(_), _) => "Plan",
        (None, true) => "Check",
        (None, false) => "Import",
    };
    let title = format!("{kind} of {}", v.name);
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title, ""))
            body {
                header {
                    h1 { (title) }
                    p class="happened" { (v.happened) }
                    @if let Some(next) = &v.next {
                        p class="next" { strong { "Next: " } (next) }
                    }
                }
                section id="counts" {
                    h2 { "Rows per status" }
                    (status_bar(&v.counts))
                    table class="counts" {
                        @for status in Status::ALL {
                            @if v.counts.get(status) > 0 {
                                tr data-status=(status.as_str()) {
                                    td { span class={ "key s-" (status.as_str()) } {} (status.as_str()) }
                                    td class="n" { (v.counts.get(status)) }
                                }
                            }
                        }
                        tr class="total" { td { "rows" } td class="n" { (v.counts.total()) } }
                    }
                    @if !v.problems.is_empty() {
                        h2 { "Problems per kind" }
                        table class="kinds" {
                            thead { tr { th { "Problem" } th class="n" { "Rows" } th { "First lines" } } }
                            tbody {
                                @for (kind, rows, lines) in v.problems {
                                    tr {
                                        td { (kind) }
                                        td class="n" { (rows) }
                                        td { (lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) }
                                    }
                                }
                            }
                        }
                    }
                }
                // A plan is what its reader came for: before the rows to fix.
                @if let Some(plan) = v.plan {
                    section id="plan" {
                        h2 { "Plan" }
                        (plan_section(plan))
                    }
                }
                section id="rows" {
                    h2 { "Rows to fix" }
                    (rows_to_fix(v))
                }
                // An undo's restores go here too: a field of `View`, and
                // one `section` (issue 19).
                @if let Some(pace) = &v.pace {
                    section id="pace" {
                        h2 { "Pace" }
                        @if let Some(chart) = &v.chart {
                            (chart)
                        }
                        (table_of(pace))
                    }
                }
                section id="input" {
                    h2 { "Input" }
                    (table_of(&v.reading))
                    @if !v.mapping.is_empty() {
                        h3 { "How each field was mapped" }
                        table class="mapping" {
                            thead { tr { th { "Notify field" } th { "From" } } }
                            tbody {
                                @for (field, source) in &v.mapping {
                                    tr { td { (field) } td { (source) } }
                                }
                            }
                        }
                    }
                }
                @if let Some((url, key)) = &v.target {
                    section id="target" {
                        h2 { "Target" }
                        (table_of(&[("API", url.clone()), ("Key", (*key).to_owned())]))
                    }
                }
                section id="run" {
                    h2 { "Run" }
                    (table_of(&v.facts))
                }
            }
        }
    }
}

/// The page's style: system fonts only, light and dark, A4 print.
const CSS: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--line:#d0d7de;--head:#f6f8fa;
--ok:#2da44e;--valid:#218bff;--exists:#8c959f;--invalid:#d4a72c;--failed:#cf222e;--skipped:#6e7781}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#30363d;--head:#161b22;
--ok:#3fb950;--valid:#4493f8;--exists:#8b949e;--invalid:#d29922;--failed:#f85149;--skipped:#6e7681}}
html{background:var(--bg);color:var(--fg)}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1.25rem}
h1{font-size:1.5rem;margin:0 0 .5rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
h3{font-size:1rem;margin:1.25rem 0 .4rem}
.happened{font-size:1.1rem;margin:.25rem 0}
.next{margin:.5rem 0;padding:.6rem .8rem;border-left:4px solid var(--valid);background:var(--head);overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.25rem 0 .75rem;width:100%}
th,td{text-align:left;vertical-align:top;padding:.25rem .6rem .25rem 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
thead th{background:var(--head);padding-left:.3rem}
table.facts th{width:14rem;font-weight:600;color:var(--muted)}
table.counts{width:auto;min-width:18rem}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;padding-right:1rem}
table.kinds td:last-child{width:7rem}
table.mapping td:first-child{width:12rem}
tr.total td{font-weight:600}
table.rows td.line{width:4.5rem;font-variant-numeric:tabular-nums}
table.rows td.code{width:9rem;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
@media (min-width:40rem){table.changes{table-layout:fixed}
table.changes th.line{width:4.5rem}table.changes th.code{width:8rem}table.changes th.field{width:9.5rem}}
table.changes td.old{color:var(--muted)}
table.changes td.field,table.changes td.line,table.changes th{overflow-wrap:normal}
@media (max-width:40rem){body{padding:0 .6rem}
table.rows td.line,table.rows td.code{width:auto}
th,td{padding-right:.35rem}table.facts th{width:auto}}
table.list{width:auto;min-width:18rem}
:root{--updated:#8250df}@media (prefers-color-scheme:dark){:root{--updated:#a371f7}}
.s-updated{fill:var(--updated);background:var(--updated)}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
svg.bar{display:block;width:100%;height:28px;margin:.5rem 0;border-radius:4px}
.key{display:inline-block;width:.8em;height:.8em;margin-right:.45em;border-radius:2px;vertical-align:-1px}
.s-created,.s-overwritten{fill:var(--ok);background:var(--ok)}
.s-exists,.s-unchanged,.s-not_found{fill:var(--exists);background:var(--exists)}
.s-valid{fill:var(--valid);background:var(--valid)}
.s-invalid{fill:var(--invalid);background:var(--invalid)}
.s-failed{fill:var(--failed);background:var(--failed)}
.s-skipped{fill:var(--skipped);background:var(--skipped)}
.rest{color:var(--muted)}
svg.chart{display:block;width:100%;height:auto;margin:.5rem 0 0}
svg.chart text{fill:var(--muted);font-size:13px}
svg.chart .axis{stroke:var(--line);stroke-width:1}
svg.chart .grid{stroke:var(--line);stroke-width:1;stroke-dasharray:2 4}
svg.chart .req{fill:none;stroke:var(--valid);stroke-width:2}
svg.chart .r429{fill:var(--failed);opacity:.85}
svg.chart .pace{stroke:var(--ok);stroke-width:1.5;stroke-dasharray:8 5}
svg.chart .ceiling{stroke:var(--invalid);stroke-width:1.5;stroke-dasharray:3 3}
.legend{color:var(--muted);font-size:.9em;margin:.25rem 0 .75rem}
@page{size:A4;margin:15mm}
@media print{:root{--fg:#000;--muted:#444;--bg:#fff;--line:#bbb;--head:#f0f0f0}
body{margin:0;max-width:none;padding:0;font-size:10.5pt}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
thead{display:table-header-group}tr,svg{break-inside:avoid}h2,h3{break-after:avoid}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_with_rows_stays_visible_on_the_bar() {
        let mut counts = Counts::default();
        counts.add_rows(Status::Valid, 999_999);
        counts.add_rows(Status::Invalid, 1);
        let widths = bar_widths(&counts);
        assert_eq!(widths.len(), 2);
        let sum: f64 = widths.iter().map(|(_, w)| w).sum();
        assert!((sum - 1000.0).abs() < 1e-6, "{sum}");
        assert!(widths[1].1 > 5.0, "{widths:?}");
        assert!(bar_widths(&Counts::default()).is_empty());
    }

    #[test]
    fn the_description_splits_into_reading_and_mapping() {
        let text = "encoding: UTF-8 (detected)\ndelimiter: ','\n  CustomerCode       column #1 \"Nr\" (from header name)\n  Contact            (no column)\nnot imported: \"X\"\n";
        let (reading, mapping) = described(text, "line 1");
        assert_eq!(reading[0], ("Encoding".into(), "UTF-8 (detected)".into()));
        assert_eq!(reading[2], ("Header".into(), "line 1".into()));
        assert_eq!(reading[3].0, "Not imported");
        assert_eq!(
            mapping[0],
            (
                "CustomerCode".into(),
                "column #1 \"Nr\" (from header name)".into()
            )
        );
        assert_eq!(mapping[1], ("Contact".into(), "(no column)".into()));
    }

    #[test]
    fn the_sentence_says_the_counts_and_what_the_exit_code_means() {
        let mut counts = Counts::default();
        counts.add_rows(Status::Valid, 1200);
        counts.add_rows(Status::Invalid, 3);
        let text = happened(true, false, "k.csv", &counts, exit::ROWS_FAILED, None);
        assert_eq!(
            text,
            "Checked k.csv: 1 203 rows, 1 200 valid, 3 invalid. Some rows are invalid and would not be sent; nothing was sent."
        );
    }

    /// A plan of a million rows, every listed update changing every field
    /// from a long value Notify holds (Notify sets no limit on some) to
    /// the longest the file may send, every listed code and problem of the
    /// longest kind: the page keeps its caps and stays a few MB.
    #[test]
    fn a_million_row_plan_gives_a_page_of_a_few_mb() {
        use crate::output::plan_file::SHOWN;
        let long = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
        let code = |i: usize| format!("{i:06}{}", long('C', 244));
        let updates: Vec<Listed> = (0..SHOWN)
            .map(|i| Listed {
                line: i as u64 + 2,
                code: code(i),
                changes: Field::ALL
                    .into_iter()
                    .map(|f| (f, long('<', 1000), long('<', 250)))
                    .collect(),
            })
            .collect();
        let creates: Vec<Listed> = (0..SHOWN)
            .map(|i| Listed {
                line: i as u64 + 500_002,
                code: code(i),
                changes: Vec::new(),
            })
            .collect();
        let plan = PlanFacts {
            mode: "upsert",
            actions: vec![
                (Action::Create, 400_000),
                (Action::Update, 500_000),
                (Action::Unchanged, 99_000),
                (Action::Invalid, 1_000),
            ],
            fields: Field::ALL.into_iter().map(|f| (f, 500_000)).collect(),
            creates,
            updates,
            file: Some(PathBuf::from("k.runs/x-plan/plan.csv")),
        };
        let rows: Vec<RowToFix> = (0..ROWS_SHOWN)
            .map(|i| RowToFix {
                row: i as u64 + 1,
                line: i as u64 + 2,
                code: code(i),
                status: Status::Invalid,
                http_status: None,
                error: long('e', 500),
            })
            .collect();
        let mut counts = Counts::default();
        counts.add_rows(Status::Valid, 999_000);
        counts.add_rows(Status::Invalid, 1_000);
        let failed = BTreeMap::new();
        let view = View {
            check: true,
            name: "k.csv".into(),
            counts,
            totals: None,
            rows: &rows,
            detailed: &[],
            repeated: None,
            failed: &failed,
            happened: planned(&plan),
            next: None,
            target: None,
            facts: Vec::new(),
            reading: Vec::new(),
            mapping: Vec::new(),
            problems: &[],
            pace: None,
            chart: None,
            plan: Some(&plan),
        };
        let html = page(&view).into_string();
        assert!(html.len() < 4_000_000, "{} bytes", html.len());
        let fields = html.matches("<td class=\"new\">").count();
        assert!(
            (FIELD_ROWS_SHOWN..FIELD_ROWS_SHOWN + Field::ALL.len()).contains(&fields),
            "{fields}"
        );
        assert_eq!(fields % Field::ALL.len(), 0, "whole customers");
        assert!(!html.contains(&"&lt;".repeat(VALUE_SHOWN + 1)));
        assert!(html.contains("has them whole"));
        assert_eq!(html.matches("are listed; all are in").count(), 2);
        assert!(
            view.happened.contains("500 000 to update"),
            "{}",
            view.happened
        );
    }

    #[test]
    fn a_long_value_is_cut_on_a_character_boundary() {
        let value = "\u{e9}".repeat(VALUE_SHOWN + 5);
        let shown = cut(&value);
        assert_eq!(shown.chars().count(), VALUE_SHOWN + 1);
        assert!(shown.ends_with('\u{2026}'));
        assert_eq!(cut("Ede"), "Ede");
    }

    #[test]
    fn values_are_escaped_by_construction() {
        let rows = [RowToFix {
            row: 1,
            line: 2,
            code: "<script>alert(1)</script>".into(),
            status: Status::Invalid,
            http_status: None,
            error: "\"><img src=x onerror=alert(1)>".into(),
        }];
        let detailed = [RowProblems {
            row: 1,
            line: 2,
            problems: vec![tally::ShownProblem {
                kind: "Email: <b>kind</b>".into(),
                field: Some(Field::Email),
                value: "\"><img src=x onerror=alert(2)>\u{1b}[31m".into(),
                message: "is not an address".into(),
            }],
        }];
        let problems = [("Email: <b>kind</b>".to_owned(), 1, vec![2])];
        let failed = BTreeMap::new();
        let mut counts = Counts::default();
        counts.add(Status::Invalid);
        let plan = PlanFacts {
            mode: "upsert",
            actions: vec![(Action::Update, 1)],
            fields: vec![(Field::City, 1)],
            creates: Vec::new(),
            updates: vec![crate::output::plan_file::Listed {
                line: 3,
                code: "<i>C1</i>".into(),
                changes: vec![(Field::City, "<u>Ede</u>".into(), "Delft".into())],
            }],
            file: None,
        };
        let view = View {
            check: true,
            name: "<b>.csv".into(),
            counts,
            totals: None,
            rows: &rows,
            detailed: &detailed,
            repeated: None,
            failed: &failed,
            happened: String::new(),
            next: None,
            target: None,
            facts: Vec::new(),
            reading: Vec::new(),
            mapping: Vec::new(),
            problems: &problems,
            pace: None,
            chart: None,
            plan: Some(&plan),
        };
        let html = page(&view).into_string();
        assert!(html.contains("&lt;u&gt;Ede&lt;/u&gt;") && !html.contains("<u>Ede"));
        assert!(
            html.contains("&lt;i&gt;C1&lt;/i&gt;"),
            "the plan's cells too"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("onerror=alert(2)&gt;\\u{1b}[31m"), "{html}");
        assert!(
            !html.contains('\u{1b}'),
            "control characters are shown escaped"
        );
    }
}
