//! `notify-import undo RUN_FOLDER`: one undo from start to finish.
//!
//! Owns the wiring and the checks of an undo: the folder must be an
//! import run's (not a check's, a plan's or an undo's), the undo goes to
//! the API that run sent to with a key of the same kind, a run undone
//! before is undone again only with `--force` (its folder keeps an
//! `undone` mark; its results are never rewritten), and a stopped undo
//! is continued with `--resume` (never started over beside it). Then:
//! what the run changed (its journal), what Notify holds now for the
//! customers it updated (the snapshot, as an import learns it, or one
//! read by id), each row's step ([`crate::plan::undo`]), journaled before
//! its request, sent through the uploader's pace, and the outputs of the
//! undo's own run folder (`<UTC start>-undo`, `latest` pointing at it).
//! Exit 0 only when every change was undone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;

use crate::config::{Endpoint, KeyKind, UndoConfig, UsageError};
use crate::model::failure::WriteFailure;
use crate::model::remote::Existing;
use crate::model::undo::{ChangeKind, RunChange, UndoAction, UndoCounts, UndoOutcome};
use crate::output::report::{self, Reporter};
use crate::output::undo::{self as out, ActionCounts, PageRows, UndoFacts, UndoFiles};
use crate::plan::undo::{Now, Step, decide, restore_body, restored_detail};
use crate::run::folder::{FINISHED_JOURNAL, RunKind, UNDONE};
use crate::run::pipeline::{upload_settings, watch_signals};
use crate::run::{RunError, RunFolder, Runs};
use crate::store::journal::undo::{ChangeReader, Pending, UndoHeader, UndoJournal, UndoResume};
use crate::store::lock::RunLock;
use crate::upload::api::{ApiClient, DeleteOutcome, ErrorKind};
use crate::upload::snapshot::{self, FileCodes, Snapshot, SnapshotError};
use crate::upload::{Attempted, StopReason, Uploader};
use crate::util::spill::Scratch;
use crate::util::{nofollow, redact};
use crate::{SetupError, exit, runtime};

fn refuse(msg: impl Into<String>) -> RunError {
    RunError::Setup(SetupError::Usage(UsageError(msg.into())))
}

/// Runs the undo `cfg` asks for and returns the exit code.
pub(crate) fn run(cfg: &UndoConfig) -> Result<u8, RunError> {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let Endpoint::Remote { url, key } = &cfg.upload.target else {
        return Err(refuse(report::undo_needs_api_url()));
    };
    let path = std::fs::canonicalize(&cfg.folder)
        .map_err(|e| refuse(report::undo_cannot_open(&cfg.folder, &e)))?;
    // `latest` where the file system has no links: a file naming the run.
    let path = match std::fs::read_to_string(&path) {
        Ok(name)
            if path
                .file_name()
                .is_some_and(|n| n == crate::run::folder::LATEST) =>
        {
            path.with_file_name(name.trim())
                .canonicalize()
                .unwrap_or(path)
        }
        _ => path,
    };
    let Some((runs, undone)) = RunFolder::at(&path) else {
        return Err(refuse(report::undo_not_a_run_folder(&cfg.folder)));
    };
    match undone.kind() {
        RunKind::Import => {}
        RunKind::Check => {
            return Err(refuse(report::undo_not_an_import(
                &path,
                "a check's folder (validate or --dry-run)",
            )));
        }
        RunKind::Plan => return Err(refuse(report::undo_not_an_import(&path, "a plan's folder"))),
        RunKind::Undo => {
            return Err(refuse(report::undo_of_an_undo(&path)));
        }
    }
    // Held from here on: a path swapped mid-run cannot redirect the undo's
    // files, nor the marks it leaves in the run it takes back.
    let open_err = |action, path: &Path| {
        let path = path.to_owned();
        move |source| SetupError::RunFolder {
            action,
            path,
            source,
        }
    };
    runs.hold()
        .map_err(open_err("open the runs folder", runs.dir()))?;
    let undone = undone
        .hold()
        .map_err(open_err("open the run folder", &path))?;
    // One run of an input at a time: the import, its resume, its undo.
    let _lock = RunLock::acquire_at(runs.lock_path(), &path).map_err(SetupError::from)?;
    let journal_path = [undone.finished_journal(), undone.journal()]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| refuse(report::undo_no_journal(&path)))?;
    let unreadable =
        |e: &dyn std::fmt::Display| refuse(report::undo_unreadable_journal(&e.to_string()));
    let reader =
        ChangeReader::open(&journal_path, &undone.results()).map_err(|e| unreadable(&e))?;
    let header = reader.header().clone();
    let lands_by = reader.lands_by();
    if header.sandbox {
        return Err(refuse(report::undo_of_a_sandbox_run()));
    }
    let key_kind = match key.kind() {
        KeyKind::Test => "test",
        KeyKind::Live => "live",
    };
    let same_url = header.api_url.trim_end_matches('/') == url.as_str().trim_end_matches('/');
    if !same_url {
        return Err(refuse(report::undo_other_api(
            &header.api_url,
            url.as_str(),
        )));
    }
    if header.key_kind != key_kind {
        return Err(refuse(report::undo_other_key(&header.key_kind, key_kind)));
    }
    let mark = undone.path().join(UNDONE);
    let earlier = unfinished_undo(&runs, &path);
    let (folder, resumed) = match (cfg.upload.resume, earlier) {
        (true, Some(folder)) => {
            let held = folder.clone().hold();
            (
                held.map_err(open_err("open the run folder", folder.path()))?,
                true,
            )
        }
        (true, None) => {
            return Err(refuse(report::undo_nothing_to_resume(&path)));
        }
        (false, Some(folder)) => {
            return Err(refuse(report::undo_resume_first(folder.path())));
        }
        (false, None) => {
            if !cfg.force
                && let Ok(text) = std::fs::read_to_string(&mark)
            {
                return Err(refuse(report::undo_already_undone(&path, &text)));
            }
            let (folder, foreign) = runs.new_run(started_at, RunKind::Undo).map_err(|source| {
                SetupError::RunFolder {
                    action: "create the undo's run folder in",
                    path: runs.dir().to_owned(),
                    source,
                }
            })?;
            if let Some(foreign) = foreign {
                tracing::warn!("{foreign}");
            }
            (folder, false)
        }
    };
    let dir = folder.path().to_owned();
    let journal_file = folder.journal();
    let mut codes = FileCodes::new(&Scratch::in_dir(&dir));
    let (undo_journal, state) = if resumed {
        let (j, _, state) = UndoJournal::resume(&journal_file).map_err(|e| unreadable(&e))?;
        if let Err(e) = runs.point_latest(&folder) {
            tracing::warn!("cannot point latest at {}: {e}", dir.display());
        }
        (Some(j), state)
    } else {
        (None, UndoResume::default())
    };
    // What the run changed, counted, and the codes whose state to learn.
    let (total, wanted) = first_pass(reader, &state, &mut codes).map_err(|e| unreadable(&e))?;
    let undo_journal = match undo_journal {
        Some(j) => j,
        None => {
            let h = UndoHeader::new(&path, &header.api_url, key_kind, cfg.force, total);
            UndoJournal::create(&journal_file, &h).map_err(SetupError::Journal)?
        }
    };
    let force = cfg.force;
    let reporter = Reporter::new(total, &cfg.output);
    let target = if key.kind() == KeyKind::Live {
        report::Target::Live(url.as_str())
    } else {
        report::Target::Test(url.as_str())
    };
    reporter.info(&report::undo_header(&path, total, target, force, &dir));
    if resumed {
        reporter.info(&report::undo_resuming_line(
            &dir,
            state.done.len() as u64,
            state.pending.len() as u64,
        ));
    }
    let results = folder.results();
    let mut sink = Sink {
        results: out::ResultsWriter::create(&results)
            .map_err(|e| RunError::writing(&results, &e, false, String::new()))?,
        page: PageRows::default(),
        counts: UndoCounts::default(),
        failed: None,
    };
    let reader =
        ChangeReader::open(&journal_path, &undone.results()).map_err(|e| unreadable(&e))?;
    let upload = &cfg.upload;
    let client = Arc::new(ApiClient::new(url, key, upload.timeout).map_err(SetupError::Client)?);
    crate::upload::api::tls::check(url, upload.timeout).map_err(SetupError::from)?;
    let uploader = Uploader::new(client.clone(), upload_settings(upload, &reporter), None);
    let rt = runtime()?;
    let signals = rt.spawn(watch_signals(uploader.stop_handle(), upload.grace_period));
    let ctx = Ctx {
        uploader: &uploader,
        journal: &undo_journal,
        force,
    };
    if let Some(at) = lands_by
        && let Ok(wait) = at.duration_since(SystemTime::now())
    {
        reporter.info(&report::undo_waiting_line(wait));
        rt.block_on(wait_unless_stopped(&uploader, wait));
    }
    let ended = rt.block_on(undo_all(
        &ctx,
        Rows {
            reader,
            state,
            codes,
            wanted,
        },
        &cfg.output,
        &reporter,
        &mut sink,
    ));
    signals.abort();
    drop(rt);
    let resume_cmd = resume_command(cfg, &path, url.as_str(), key.kind());
    ended.map_err(|failure| RunError::AfterSending {
        failure,
        remedy: "free space in the run folder and check that it can be read",
        resume: resume_cmd.clone(),
    })?;
    // A resumed undo continues a journal that records earlier sends.
    let sent = client.requests_sent() > 0 || resumed;
    let Sink {
        results: writer,
        page,
        counts,
        failed,
    } = sink;
    if let Some((file, e)) = failed {
        return Err(RunError::writing(&file, &e, sent, resume_cmd));
    }
    writer
        .finish()
        .map_err(|e| RunError::writing(&results, &e, sent, resume_cmd.clone()))?;
    let stop = uploader.stop_reason();
    let code = match &stop {
        Some(StopReason::Interrupted) => exit::INTERRUPTED,
        Some(_) => exit::ABORTED,
        None if counts.all_undone() => exit::OK,
        None => exit::ROWS_FAILED,
    };
    let stopped = stop
        .as_ref()
        .map(|s| redact::scrub(&s.to_string()).into_owned());
    let next = report::undo_next_step(&counts, stopped.as_deref(), &resume_cmd);
    let report_path = cfg.report.then(|| dir.join(crate::run::folder::REPORT));
    let facts = UndoFacts {
        schema_version: 1,
        tool: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        command: "undo",
        undone_run: path.display().to_string(),
        api_url: url.to_string(),
        key: key_kind,
        force,
        resumed,
        started: humantime::format_rfc3339_seconds(started_at).to_string(),
        duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        exit_code: code,
        result: UndoFacts::result_of(code),
        stopped: stopped.clone(),
        actions: ActionCounts::of(&counts),
        requests: client.requests_sent(),
        rate_limited: uploader.rate_limited(),
        next: next.clone(),
        files: UndoFiles {
            folder: dir.display().to_string(),
            results: results.display().to_string(),
            report: report_path.as_ref().map(|p| p.display().to_string()),
        },
    };
    drop(uploader);
    let written = write_outputs(cfg, &folder, &facts, &page, report_path.as_deref());
    if let Err((file, e)) = written {
        return Err(RunError::writing(&file, &e, sent, resume_cmd));
    }
    if let Err(e) = undo_journal.close() {
        tracing::warn!("{e}");
    }
    if stop.is_none() {
        // Finished: no longer resumable, kept for the record.
        let done = dir.join(FINISHED_JOURNAL);
        if let Err(e) = crate::util::run_dir::rename(undo_journal.path(), &done) {
            tracing::warn!("cannot rename {}: {e}", undo_journal.path().display());
        }
        if let Err(e) = mark_undone(&mark, &dir, &counts) {
            tracing::warn!("cannot mark {} as undone: {e}", path.display());
        }
        // A stopped import taken back is not to be continued: `import
        // --resume` would make again what was just deleted.
        if journal_path == undone.journal()
            && let Err(e) = abandon(&undone, &dir)
        {
            tracing::warn!("cannot mark {} as abandoned: {e}", path.display());
        }
    }
    reporter.finish();
    reporter.print(&report::undo_summary(
        &counts,
        &results,
        report_path.as_deref(),
        &next,
    ));
    Ok(code)
}

/// `notify-import undo FOLDER --resume` with what chose this undo's
/// target: the profile, `--api-url`, `--api-key-file`, `--live` (a resume
/// without them goes to the default API, and is refused as another one).
/// FOLDER as given, but `latest` as the run it named (`undone`): it names
/// the undo's own folder now.
fn resume_command(cfg: &UndoConfig, undone: &Path, url: &str, kind: KeyKind) -> String {
    use crate::run::next_step::{Flags, shell_word};
    let folder = match undone.file_name() {
        Some(name)
            if cfg
                .folder
                .file_name()
                .is_some_and(|n| n == crate::run::folder::LATEST) =>
        {
            cfg.folder.with_file_name(name)
        }
        _ => cfg.folder.clone(),
    };
    let mut words = vec![format!(
        "notify-import undo {} --resume",
        shell_word(&folder)
    )];
    if let Some(profile) = &cfg.profile {
        words.extend(profile.words());
    }
    if url.trim_end_matches('/') != crate::config::DEFAULT_API_URL {
        Flags::push(&mut words, "--api-url", url);
    }
    if let Some(file) = &cfg.upload.key_file {
        Flags::push(&mut words, "--api-key-file", &file.display().to_string());
    }
    if kind == KeyKind::Live {
        words.push("--live".to_owned());
    }
    words.join(" ")
}

/// The newest undo of the run in `undone` that stopped unfinished.
fn unfinished_undo(runs: &Runs, undone: &Path) -> Option<RunFolder> {
    runs.folders()
        .ok()?
        .into_iter()
        .rev()
        .filter(|f| f.kind() == RunKind::Undo)
        .find(|f| UndoHeader::read(&f.journal()).is_some_and(|h| h.of == undone))
}

/// Writes results, summary, report and `--summary-json`; the file that
/// failed and why.
fn write_outputs(
    cfg: &UndoConfig,
    folder: &RunFolder,
    facts: &UndoFacts,
    page: &PageRows,
    report: Option<&Path>,
) -> Result<(), (PathBuf, std::io::Error)> {
    let json = facts.to_json().map_err(|e| (folder.summary(), e))?;
    crate::util::atomic::write(&folder.summary(), json.as_bytes())
        .map_err(|e| (folder.summary(), e))?;
    if let Some(path) = report {
        out::write_page(path, facts, page).map_err(|e| (path.to_owned(), e))?;
    }
    match &cfg.summary_json {
        None => {}
        Some(crate::config::SummaryTarget::Stdout) => print!("{json}"),
        Some(crate::config::SummaryTarget::File(p)) => {
            crate::util::atomic::write(p, json.as_bytes()).map_err(|e| (p.clone(), e))?;
        }
    }
    Ok(())
}

/// Notes in the undone run's folder that it was undone (added to, never
/// replaced; its results stay as they are).
fn mark_undone(mark: &Path, by: &Path, counts: &UndoCounts) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    let mut file = match nofollow::create_new(mark) {
        Ok(f) => f,
        Err(_) => nofollow::open(mark, false).map_err(std::io::Error::from)?,
    };
    file.seek(std::io::SeekFrom::End(0))?;
    let a = ActionCounts::of(counts);
    writeln!(
        file,
        "undone by {} at {}: {} restored, {} deleted, {} kept, {} conflict, {} failed",
        by.display(),
        humantime::format_rfc3339_seconds(SystemTime::now()),
        a.restored,
        a.deleted,
        a.kept,
        a.conflict,
        a.failed
    )
}

/// Marks the stopped run in `undone` abandoned (never resumed), as
/// taken back by the undo in `by`; an existing mark is left as it is.
fn abandon(undone: &RunFolder, by: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = undone.path().join(crate::run::folder::ABANDONED);
    if path.exists() {
        return Ok(());
    }
    writeln!(
        nofollow::create_new(&path)?,
        "abandoned: taken back by the undo in {} at {}; this run is never resumed",
        by.display(),
        humantime::format_rfc3339_seconds(SystemTime::now())
    )
}

/// Waits `wait`, unless the undo is stopped meanwhile (a signal).
async fn wait_unless_stopped(uploader: &Uploader, wait: std::time::Duration) {
    let until = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < until && uploader.stop_reason().is_none() {
        let step = until.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(step.min(std::time::Duration::from_millis(100))).await;
    }
}

/// What every row's undo shares.
struct Ctx<'a> {
    uploader: &'a Uploader,
    journal: &'a UndoJournal,
    force: bool,
}

/// Counts what the run changed and notes the codes whose current state
/// is needed (updates and creates in doubt not finished or sent before).
fn first_pass(
    mut reader: ChangeReader,
    state: &UndoResume,
    codes: &mut FileCodes,
) -> Result<(u64, u64), String> {
    let (mut total, mut wanted) = (0, 0);
    while let Some(change) = reader.next_change().map_err(|e| e.to_string())? {
        total += 1;
        let open =
            !state.done.contains_key(&change.row) && !state.pending.contains_key(&change.row);
        if open && needs_now(&change) && !change.code.is_empty() {
            codes.push(&change.code).map_err(|e| e.to_string())?;
            wanted += 1;
        }
    }
    Ok((total, wanted))
}

/// The rows to undo: read again from the run's journal, with what a
/// stopped undo did and the codes to learn.
struct Rows {
    reader: ChangeReader,
    state: UndoResume,
    codes: FileCodes,
    wanted: u64,
}

/// Where each outcome goes, in row order: the results file (streamed),
/// the page's rows (bounded), the counts.
struct Sink {
    results: out::ResultsWriter,
    page: PageRows,
    counts: UndoCounts,
    /// The first write that failed.
    failed: Option<(PathBuf, std::io::Error)>,
}

impl Sink {
    /// Takes one outcome; the failure of the results file's write, the
    /// first time it fails (sending must stop: outcomes would be lost).
    fn push(&mut self, o: &UndoOutcome) -> Option<WriteFailure> {
        self.counts.add(o.action);
        self.page.push(o);
        match o.action {
            UndoAction::Conflict => tracing::warn!("{}", report::undo_conflict_line(o)),
            UndoAction::Kept => tracing::warn!("{}", report::undo_kept_line(o)),
            _ => {}
        }
        if self.failed.is_none()
            && let Err(e) = self.results.push(o)
        {
            let path = self.results.path().to_owned();
            let failure = WriteFailure::new(&path, &e);
            self.failed = Some((path, e));
            return Some(failure);
        }
        None
    }
}

/// Undoes every change in row order (rows a stopped undo finished kept
/// as they are, its requests without an answer sent again first), at
/// most `--concurrency` at a time; each outcome into `sink` as it comes.
/// `Err`: the journal or temporary files failed midway.
async fn undo_all(
    ctx: &Ctx<'_>,
    rows: Rows,
    output: &crate::config::OutputConfig,
    reporter: &Reporter,
    sink: &mut Sink,
) -> Result<(), String> {
    let Rows {
        mut reader,
        mut state,
        codes,
        wanted,
    } = rows;
    // What Notify holds now, for updates and creates in doubt that are
    // not simply sent again.
    let snapshot = if wanted == 0 {
        None
    } else {
        // One bar at a time on a terminal line.
        reporter.hide_bar();
        let progress = report::LearnProgress::new(output);
        let show = |l: &snapshot::Learned| progress.update(&crate::run::learn::facts(l));
        let learned = snapshot::learn(ctx.uploader, codes, &show).await;
        progress.finish();
        reporter.show_bar();
        match learned {
            Ok(s) => {
                reporter.info(&report::learned_line(&crate::run::learn::facts(
                    s.learned(),
                )));
                Some(s)
            }
            Err(SnapshotError::Stopped(reason)) => {
                ctx.uploader.stop_handle().stop(reason);
                None
            }
            Err(SnapshotError::Api(e)) => {
                let stop = match e.kind() {
                    ErrorKind::Auth => StopReason::Auth(e),
                    ErrorKind::Redirected => StopReason::Redirected(e),
                    _ => StopReason::Unreachable(e),
                };
                ctx.uploader.stop_handle().stop(stop);
                None
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let snapshot = snapshot.as_ref();
    let read_failed = std::cell::RefCell::new(None);
    let changes = std::iter::from_fn(|| match reader.next_change() {
        Ok(change) => change,
        Err(e) => {
            *read_failed.borrow_mut() = Some(e.to_string());
            None
        }
    });
    let mut done = futures::stream::iter(changes)
        .map(|change| {
            let finished = state.done.remove(&change.row);
            let pending = state.pending.remove(&change.row);
            undo_row(ctx, change, finished, pending, snapshot, wanted > 0)
        })
        .buffered(ctx.uploader.concurrency());
    while let Some(o) = done.next().await {
        reporter.row_done();
        if let Some(failure) = sink.push(&o) {
            ctx.uploader.stop_handle().stop(StopReason::Output(failure));
        }
    }
    drop(done);
    match read_failed.into_inner() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Undoes one row.
async fn undo_row(
    ctx: &Ctx<'_>,
    change: RunChange,
    finished: Option<UndoOutcome>,
    pending: Option<Pending>,
    snapshot: Option<&Snapshot>,
    learnt: bool,
) -> UndoOutcome {
    if let Some(o) = finished {
        return o;
    }
    let skipped = |change: &RunChange| {
        UndoOutcome::of(
            change,
            UndoAction::Skipped,
            "not undone: the undo stopped first; --resume continues",
        )
    };
    if ctx.uploader.stop_reason().is_some()
        || (learnt && snapshot.is_none() && pending.is_none() && needs_now(&change))
    {
        return skipped(&change);
    }
    let step = match pending {
        // Sent before without an answer: the same request again, never
        // compared anew (Notify may hold the old values already).
        Some(Pending::Restore { id, fields }) => Step::Restore { id, fields },
        Some(Pending::Delete { id }) => Step::Delete { id },
        None => {
            let now = match now(ctx, &change, snapshot).await {
                Ok(now) => now,
                Err(o) => return o,
            };
            let held = now.as_ref().map_or(Now::Gone, Now::Holds);
            let step = decide(&change, held, ctx.force);
            match &step {
                Step::Restore { id, fields } => {
                    if let Err(e) = ctx.journal.restoring(change.row, id, fields) {
                        ctx.uploader
                            .stop_handle()
                            .stop(StopReason::Journal(Arc::new(e)));
                        return skipped(&change);
                    }
                }
                Step::Delete { id } => {
                    if let Err(e) = ctx.journal.deleting(change.row, id) {
                        ctx.uploader
                            .stop_handle()
                            .stop(StopReason::Journal(Arc::new(e)));
                        return skipped(&change);
                    }
                }
                Step::Done(_) => {}
            }
            step
        }
    };
    let outcome = match step {
        Step::Done(o) => o,
        Step::Restore { id, fields } => {
            match ctx.uploader.undo_patch(&id, &restore_body(&fields)).await {
                Attempted::Done(_) => UndoOutcome::of(
                    &change,
                    UndoAction::Restored,
                    restored_detail(&change, &fields),
                ),
                Attempted::Failed(e) => UndoOutcome::of(&change, UndoAction::Failed, e),
                Attempted::Stopped => skipped(&change),
            }
        }
        Step::Delete { id } => {
            let mut o = match ctx.uploader.undo_delete(&id).await {
                Attempted::Done(DeleteOutcome::Deleted) => {
                    UndoOutcome::of(&change, UndoAction::Deleted, "")
                }
                Attempted::Done(DeleteOutcome::NotFound) => {
                    UndoOutcome::of(&change, UndoAction::Deleted, "already gone from Notify")
                }
                Attempted::Done(DeleteOutcome::Refused(reason)) => {
                    UndoOutcome::of(&change, UndoAction::Kept, reason)
                }
                Attempted::Failed(e) => UndoOutcome::of(&change, UndoAction::Failed, e),
                Attempted::Stopped => skipped(&change),
            };
            o.customer_id = id;
            o
        }
    };
    if let Err(e) = ctx.journal.outcome(&outcome) {
        ctx.uploader
            .stop_handle()
            .stop(StopReason::Journal(Arc::new(e)));
    }
    outcome
}

/// Whether deciding `change` needs what Notify holds now.
fn needs_now(change: &RunChange) -> bool {
    matches!(
        change.kind,
        ChangeKind::Updated { .. } | ChangeKind::CreateInDoubt { .. }
    )
}

/// What Notify holds now for `change`'s customer: from the snapshot by
/// code when it has the same id, else read by id (a code changed in
/// Notify since). `Err`: the row's outcome (the read failed or the run
/// stopped).
async fn now(
    ctx: &Ctx<'_>,
    change: &RunChange,
    snapshot: Option<&Snapshot>,
) -> Result<Option<Existing>, UndoOutcome> {
    if !needs_now(change) {
        return Ok(None);
    }
    let by_code = match snapshot {
        Some(s) if !change.code.is_empty() => s.get(&change.code).map_err(|e| {
            UndoOutcome::of(
                change,
                UndoAction::Failed,
                format!("cannot read what Notify holds: {e}"),
            )
        })?,
        _ => None,
    };
    let Some(id) = change.kind.id() else {
        // A create in doubt: the code is all there is.
        return Ok(by_code);
    };
    if let Some(c) = by_code.filter(|c| c.id == id) {
        return Ok(Some(c));
    }
    match ctx.uploader.undo_read(id).await {
        Attempted::Done(found) => Ok(found),
        Attempted::Failed(e) => Err(UndoOutcome::of(
            change,
            UndoAction::Failed,
            format!("cannot read the customer from Notify: {e}"),
        )),
        Attempted::Stopped => Err(UndoOutcome::of(
            change,
            UndoAction::Skipped,
            "not undone: the undo stopped first; --resume continues",
        )),
    }
}
