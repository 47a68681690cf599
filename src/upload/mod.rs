//! The upload stage: valid rows in, exactly one outcome per row out.
//!
//! Owns the per-row request plan: concurrency (at most `concurrency` rows
//! in flight), retries by error kind with backoff, the no-duplicate rule
//! (a create whose answer does not prove that nothing was created, in this
//! run or a killed one, is never repeated before a search for its code
//! says the customer does not exist, and that search waits until the
//! create can no longer land), journaling each send and its time before
//! it happens, updates (`PATCH` of the changed fields, their before-image
//! journaled first; an update whose answer was lost is simply sent again,
//! as a `PATCH` is idempotent), and stopping: on an auth failure, a redirect, too many
//! failed rows, an unreachable API, no success for `--stall-timeout`, a
//! too-long Retry-After, or a signal, no new request starts and every
//! remaining row comes out `skipped`. Pacing lives in `pace`. It must not read the input, parse arguments or write results.

pub mod api;
pub(crate) mod pace;
pub mod snapshot;
mod undo;
pub(crate) use undo::Attempted;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::model::failure::WriteFailure;
use crate::model::outcome::{Outcome, Status};
use crate::model::plan::{Planned, Update, Write};
use crate::store::journal::{Journal, JournalError};
use crate::upload::api::retry::{Backoff, parse_retry_after};
use crate::upload::api::{ApiClient, ApiError, CreateOutcome, ErrorKind};
use pace::{Advertised, PaceReport, PaceSettings, Pacer, Ticket};

/// Upload settings that change behaviour.
#[derive(Debug, Clone)]
pub(crate) struct UploadSettings {
    /// Request rate: start, top, burst, and whether the limit is unknown.
    pub pace: PaceSettings,
    /// Where the pacer publishes its current rate (`f64` bits), for the
    /// progress line.
    pub rate_gauge: Arc<AtomicU64>,
    /// Requests that got an HTTP answer so far, for the progress line's
    /// achieved rate.
    pub answered: Arc<AtomicU64>,
    /// Rows in flight.
    pub concurrency: usize,
    /// Failed attempts per row before it is `failed` (429s not counted:
    /// they are the server pacing us, bounded by the row deadline).
    pub max_attempts: u32,
    /// Longest `Retry-After` honoured; a longer one stops the run.
    pub max_retry_after: Duration,
    /// Stop after this many `failed` rows.
    pub max_errors: Option<u64>,
    /// Longest time one row may take, all attempts and waits included.
    pub row_deadline: Duration,
    /// First backoff ceiling; doubles per failed attempt.
    pub backoff_base: Duration,
    /// Backoff ceiling cap.
    pub backoff_max: Duration,
    /// Consecutive requests without any HTTP answer before the API is
    /// declared unreachable.
    pub unreachable_after: u32,
    /// The per-request timeout (`--timeout`): also how long a server is
    /// given to act on a create after its connection closed, before the
    /// code is looked up.
    pub timeout: Duration,
    /// No successful answer for this long stops the run (`--stall-timeout`).
    pub stall_timeout: Duration,
}

impl UploadSettings {
    /// Defaults for everything but the user-facing flags.
    pub fn new(rate: f64, burst: u32, concurrency: usize) -> UploadSettings {
        UploadSettings {
            pace: PaceSettings::fixed(rate, burst),
            rate_gauge: Arc::default(),
            answered: Arc::default(),
            concurrency,
            max_attempts: 5,
            max_retry_after: Duration::from_secs(60),
            max_errors: None,
            row_deadline: Duration::from_secs(300),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            unreachable_after: 10,
            timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(600),
        }
    }
}

/// Why the uploader stopped sending before the end of the file. Each
/// kind keeps its cause whole, for what the run does next (a journal that
/// cannot be written ends the run with the failed write's remedy).
#[derive(Debug, Clone)]
pub enum StopReason {
    /// The API rejected the key.
    Auth(ApiError),
    /// The API answered with a redirect, which is not followed.
    Redirected(ApiError),
    /// The user interrupted the run.
    Interrupted,
    /// `--max-errors` rows failed.
    TooManyErrors(u64),
    /// Many requests in a row got no answer at all; the last one's error.
    Unreachable(ApiError),
    /// The API asked to wait longer than `--max-retry-after`.
    RetryAfterTooLong(Duration),
    /// No request succeeded for `--stall-timeout`; the last failure.
    Stalled {
        /// `--stall-timeout`.
        after: Duration,
        /// The last failed answer, if any came.
        last: Option<ApiError>,
    },
    /// The journal could not be written, so sending is no longer safe.
    Journal(Arc<JournalError>),
    /// An output of the run (the results file) could not be written, so
    /// further outcomes would be lost: stop sending at once.
    Output(WriteFailure),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Auth(e) => write!(f, "{e}"),
            StopReason::Redirected(e) => write!(
                f,
                "{e}: when the API answers again, continue with --resume; if that address is the API's new one, start over there (--api-url set to it, and --restart)"
            ),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::TooManyErrors(n) => write!(
                f,
                "{n} rows failed (--max-errors); fix the cause and continue with --resume"
            ),
            StopReason::Unreachable(last) => write!(
                f,
                "API unreachable: {last}; continue with --resume when it is back"
            ),
            StopReason::RetryAfterTooLong(d) => write!(
                f,
                "the API asked to wait {} s, more than --max-retry-after; continue later with --resume",
                d.as_secs()
            ),
            StopReason::Stalled { after, last } => {
                write!(
                    f,
                    "no request has succeeded for {} (--stall-timeout)",
                    humantime::format_duration(*after)
                )?;
                if let Some(last) = last {
                    write!(f, "; the last answer: {last}")?;
                }
                f.write_str(
                    "; the API is not taking requests, nothing is wrong with the rows: continue with --resume when it is back (or a lower --rate if it keeps answering 429)",
                )
            }
            StopReason::Journal(e) => write!(
                f,
                "cannot write the journal ({e}); stopped so nothing is sent unrecorded"
            ),
            StopReason::Output(e) => write!(f, "{}; stopped sending", e.failure()),
        }
    }
}

/// Stops the uploader from outside (signals) or inside (auth failure...).
#[derive(Clone, Default)]
pub(crate) struct StopHandle {
    token: CancellationToken,
    hard: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl StopHandle {
    /// Marks the run as interrupted by the user and stops new sends.
    pub fn interrupt(&self) {
        self.stop(StopReason::Interrupted);
    }

    /// Stops new sends; the first reason given is kept.
    pub fn stop(&self, reason: StopReason) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(reason);
        }
        self.token.cancel();
    }

    /// Also abandons requests in flight (grace period over, second signal).
    pub fn abandon_in_flight(&self) {
        self.hard.cancel();
    }

    /// Why sending stopped, if it did.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// Counters for the summary.
#[derive(Debug, Default)]
pub(crate) struct UploadCounters {
    /// Requests repeated after a failed attempt.
    pub retries: AtomicU64,
}

/// Sends rows and reports outcomes.
pub(crate) struct Uploader {
    client: Arc<ApiClient>,
    pacer: Arc<Pacer>,
    settings: UploadSettings,
    stop: StopHandle,
    journal: Option<Arc<Journal>>,
    failed_rows: AtomicU64,
    without_answer: AtomicU64,
    /// The last successful answer (or the start), and the last failure
    /// since: for `--stall-timeout`.
    progress: Mutex<Progress>,
    counters: UploadCounters,
}

/// What the stall watchdog reads.
struct Progress {
    /// The last answer that was not a failure (429, 5xx, no answer), or
    /// the start of the upload.
    last_success: Instant,
    /// The last failure after it.
    last_failure: Option<ApiError>,
}

/// The instant of the runtime's clock at wall-clock time `at` (now if past).
fn instant_of(at: SystemTime) -> Instant {
    Instant::now()
        + at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
}

/// The wall-clock time of the runtime's instant `at`.
fn system_time_of(at: Instant) -> SystemTime {
    SystemTime::now() + at.saturating_duration_since(Instant::now())
}

/// How a row's attempts ended.
enum End {
    Created(String),
    Updated(String),
    Existing(String),
    /// Found by search after an attempt whose answer was lost.
    FoundAfterDoubt(String),
    Failed(ApiError),
    GaveUp(String),
    Stopped,
}

/// One request's retry budget under the import's policy: up to
/// `--max-attempts` failed attempts, with backoff between them, within
/// the row deadline; 429s are not counted here (the deadline bounds them).
struct Tries {
    deadline: Instant,
    row_deadline: Duration,
    max_attempts: u32,
    backoff: Backoff,
    failures: u32,
    /// The last error, for the message that ends the request.
    last: String,
}

impl Tries {
    fn new(s: &UploadSettings) -> Self {
        Tries {
            deadline: Instant::now() + s.row_deadline,
            row_deadline: s.row_deadline,
            max_attempts: s.max_attempts,
            backoff: Backoff::new(s.backoff_base, s.backoff_max),
            failures: 0,
            last: String::new(),
        }
    }

    /// Why no further attempt may be made, if none may.
    fn spent(&self) -> Option<String> {
        let (failures, last) = (self.failures, &self.last);
        if failures >= self.max_attempts {
            return Some(format!(
                "gave up after {failures} failed attempts; last: {last}"
            ));
        }
        if Instant::now() >= self.deadline {
            return Some(format!(
                "no answer within the row deadline of {} s; last: {last}",
                self.row_deadline.as_secs()
            ));
        }
        None
    }

    /// Counts a failed attempt: the wait before the next one, or `None`
    /// when that was the last attempt allowed.
    fn failed(&mut self) -> Option<Duration> {
        self.failures += 1;
        (self.failures < self.max_attempts).then(|| self.backoff.next_delay())
    }
}

impl Uploader {
    /// An uploader over `client`, journaling to `journal` when given.
    pub fn new(
        client: Arc<ApiClient>,
        settings: UploadSettings,
        journal: Option<Arc<Journal>>,
    ) -> Uploader {
        let pacer = Arc::new(Pacer::new(settings.pace, settings.rate_gauge.clone()));
        let watcher = pacer.clone();
        // Advertised limits reach the pacer from every answer, searches too.
        client.watch_limits(Box::new(move |info| {
            watcher.on_advertised(Advertised {
                rate: info.rate,
                window: info.window,
                limit: info.limit,
                remaining: info.remaining,
                reset: info.reset,
            });
        }));
        Uploader {
            pacer,
            client,
            settings,
            stop: StopHandle::default(),
            journal,
            failed_rows: AtomicU64::new(0),
            without_answer: AtomicU64::new(0),
            progress: Mutex::new(Progress {
                last_success: Instant::now(),
                last_failure: None,
            }),
            counters: UploadCounters::default(),
        }
    }

    /// A handle that stops this uploader.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Why sending stopped early, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop.reason()
    }

    /// Retry and reconciliation counts.
    pub fn counters(&self) -> &UploadCounters {
        &self.counters
    }

    /// 429 answers received.
    pub fn rate_limited(&self) -> u64 {
        self.pacer.rate_limited_count()
    }

    /// What pacing settled on and learned.
    pub fn pace_report(&self) -> PaceReport {
        self.pacer.report()
    }

    /// Consumes `rows` until the channel closes; sends exactly one outcome
    /// per row to `outcomes`, in completion order.
    pub async fn run(&self, rows: mpsc::Receiver<Planned>, outcomes: mpsc::Sender<Outcome>) {
        let items = futures::stream::unfold(rows, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        // The consumer only forwards outcomes, so buffer_unordered keeps
        // polling in-flight requests (futures-rs#2387).
        if let Ok(mut p) = self.progress.lock() {
            p.last_success = Instant::now();
        }
        let done = items
            .map(|item| self.handle(item))
            .buffer_unordered(self.settings.concurrency.max(1));
        let drain = async {
            let mut done = std::pin::pin!(done);
            while let Some(outcome) = done.next().await {
                if outcomes.send(outcome).await.is_err() {
                    break;
                }
            }
        };
        // The watchdog never ends: the rows do.
        tokio::select! {
            () = drain => {}
            () = self.watch_stall() => {}
        }
    }

    /// Stops the run once no request has succeeded for `--stall-timeout`
    /// (every row's 429s or 5xx would otherwise run into its own deadline,
    /// one after the other); then waits forever.
    async fn watch_stall(&self) {
        let after = self.settings.stall_timeout;
        loop {
            let (since, last) = match self.progress.lock() {
                Ok(p) => (p.last_success, p.last_failure.clone()),
                Err(_) => return std::future::pending().await,
            };
            if Instant::now() >= since + after {
                self.stop.stop(StopReason::Stalled { after, last });
                return std::future::pending().await;
            }
            tokio::select! {
                () = tokio::time::sleep_until(since + after) => {}
                () = self.stop.token.cancelled() => return std::future::pending().await,
            }
        }
    }

    /// Notes an answer for the stall watchdog: a success moves its
    /// deadline, a failure is what it reports.
    fn note_answer<T>(&self, result: &Result<T, ApiError>) {
        let Ok(mut p) = self.progress.lock() else {
            return;
        };
        match result {
            Err(ApiError::Aborted) => {}
            Err(
                e @ (ApiError::RateLimited { .. }
                | ApiError::Server { .. }
                | ApiError::Transport { .. }),
            ) => p.last_failure = Some(e.clone()),
            // An answer the API gave on purpose, a rejection too: it works.
            _ => {
                p.last_success = Instant::now();
                p.last_failure = None;
            }
        }
    }

    async fn handle(&self, item: Planned) -> Outcome {
        let request = match item {
            Planned::Done(outcome) => return outcome,
            Planned::Send(request) => request,
        };
        let (row, line) = (request.row, request.line);
        let mut out = Outcome::local(row, line, request.code, Status::Skipped, String::new());
        let mut doubt = request.in_doubt.map(instant_of);
        // So that a run stopped before its look-up passes the doubt on.
        if let (Some(by), Some(journal)) = (request.in_doubt, &self.journal)
            && let Err(e) = journal.in_doubt(row, &out.code, by)
        {
            self.stop.stop(StopReason::Journal(Arc::new(e)));
        }
        let mut overwrite = false;
        let end = match &request.write {
            Write::Create {
                body, overwrite: o, ..
            } => {
                overwrite = *o;
                self.attempt_row(&mut out, body, &mut doubt, overwrite)
                    .await
            }
            Write::Update(update) => self.attempt_update(&mut out, update).await,
        };
        self.finish_row(&mut out, end, doubt.is_some(), overwrite);
        if let Some(journal) = &self.journal {
            let mut recorded = Ok(());
            if out.status != Status::Skipped {
                recorded = journal.outcome(&out);
            }
            if recorded.is_ok()
                && doubt.is_none()
                && out.attempts > 0
                && matches!(out.status, Status::Skipped | Status::Failed)
            {
                // Sent, but nothing can have gone through: a resumed run
                // sends it again without waiting to look it up.
                recorded = journal.cleared(out.row);
            }
            if let Err(e) = recorded {
                self.stop.stop(StopReason::Journal(Arc::new(e)));
            }
        }
        out
    }

    /// When a create of this run whose answer `err` proved nothing can no
    /// longer land. A 2xx with an unusable body was handled to its end
    /// already: now. Otherwise the server (or the API behind a gateway)
    /// may still be at work on it after the connection closed (now): it
    /// is given `--timeout`, as long as this client gives it to answer.
    fn landing_horizon(&self, err: &ApiError) -> Instant {
        if err.was_handled() {
            Instant::now()
        } else {
            Instant::now() + self.settings.timeout
        }
    }

    /// Runs the attempts for one row until it has an end. `doubt`, while
    /// set, says a create of this row may have gone through, and from
    /// when it can no longer land: the code is looked up (from then on)
    /// before anything is sent again.
    async fn attempt_row(
        &self,
        out: &mut Outcome,
        body: &[u8],
        doubt: &mut Option<Instant>,
        overwrite: bool,
    ) -> End {
        let mut tries = Tries::new(&self.settings);
        loop {
            if let Some(why) = tries.spent() {
                return End::GaveUp(why);
            }
            // A look-up before the doubtful create has landed could miss
            // it, and the create sent next would make the customer twice.
            if let Some(lands_by) = *doubt
                && !self.sleep_until(lands_by).await
            {
                return End::Stopped;
            }
            let Some(mut ticket) = self.pacer.acquire(&self.stop.token).await else {
                return End::Stopped;
            };
            if out.attempts > 0 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            out.attempts += 1;
            let searched = doubt.is_some();
            let result = if searched {
                // An earlier create may have gone through: look before sending again.
                match self
                    .guarded(&mut ticket, self.client.search(&out.code))
                    .await
                {
                    // Finding the code does not prove a lost overwrite was
                    // applied; repeating an overwrite is harmless, so send it
                    // again and report (and record in the delta state) only
                    // what the server confirmed.
                    Ok(Some(_)) if overwrite => {
                        *doubt = None;
                        continue;
                    }
                    Ok(Some(id)) => return End::FoundAfterDoubt(id),
                    Ok(None) => {
                        *doubt = None;
                        continue;
                    }
                    Err(e) => Err(e),
                }
            } else {
                match self
                    .send_create(&mut ticket, out.row, &out.code, body, overwrite)
                    .await
                {
                    Some(result) => result,
                    None => return End::Stopped,
                }
            };
            let err = match result {
                Ok(CreateOutcome::Created { id }) => return End::Created(id),
                Ok(CreateOutcome::Existing { id }) => return End::Existing(id),
                Err(e) => e,
            };
            out.http_status = err.http_status().or(out.http_status);
            tries.last = err.to_string();
            if !searched && err.leaves_create_in_doubt() {
                let lands_by = self.landing_horizon(&err);
                *doubt = Some(lands_by);
                // So a resumed run waits as long, and no longer.
                if let Some(journal) = &self.journal
                    && let Err(e) = journal.lands_by(out.row, system_time_of(lands_by))
                {
                    self.stop.stop(StopReason::Journal(Arc::new(e)));
                    return End::Stopped;
                }
            }
            match err.kind() {
                ErrorKind::Duplicate => return self.resolve_duplicate(out, &err).await,
                ErrorKind::Auth | ErrorKind::Redirected => {
                    self.stop_for(&err);
                    return End::Failed(err);
                }
                ErrorKind::Invalid => return End::Failed(err),
                ErrorKind::RateLimited => {
                    if !self.rate_limited_pause(ticket, &err) {
                        return End::Stopped;
                    }
                }
                ErrorKind::Transient | ErrorKind::InDoubt => {
                    if let Some(delay) = tries.failed()
                        && !self.sleep(delay).await
                    {
                        return End::Stopped;
                    }
                }
            }
        }
    }

    /// Runs the attempts of one update (`PATCH` of the changed fields)
    /// until it has an end. Its before-image is journaled before the first
    /// request goes out. An answer that was lost is not in doubt the way a
    /// create's is: sending the same `PATCH` again leaves the customer as
    /// one would, so it is simply retried.
    async fn attempt_update(&self, out: &mut Outcome, update: &Update) -> End {
        let mut tries = Tries::new(&self.settings);
        let body = update.body();
        let mut journaled = false;
        loop {
            if let Some(why) = tries.spent() {
                return End::GaveUp(why);
            }
            let Some(mut ticket) = self.pacer.acquire(&self.stop.token).await else {
                return End::Stopped;
            };
            if !self.ready(&mut ticket).await {
                return End::Stopped;
            }
            if !journaled {
                if let Some(journal) = &self.journal
                    && let Err(e) = journal.patching(out.row, &out.code, update)
                {
                    self.pacer.finished(ticket);
                    self.stop.stop(StopReason::Journal(Arc::new(e)));
                    return End::Stopped;
                }
                journaled = true;
            }
            if out.attempts > 0 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            out.attempts += 1;
            let err = match self
                .guarded(&mut ticket, self.client.patch(&update.id, body.clone()))
                .await
            {
                Ok(_) => return End::Updated(update.id.clone()),
                Err(ApiError::Aborted) => return End::Stopped,
                Err(e) => e,
            };
            out.http_status = err.http_status().or(out.http_status);
            tries.last = err.to_string();
            match err.kind() {
                ErrorKind::Auth | ErrorKind::Redirected => {
                    self.stop_for(&err);
                    return End::Failed(err);
                }
                // A 404: the customer was deleted since the run read it.
                ErrorKind::Invalid | ErrorKind::Duplicate => return End::Failed(err),
                ErrorKind::RateLimited => {
                    if !self.rate_limited_pause(ticket, &err) {
                        return End::Stopped;
                    }
                }
                ErrorKind::Transient | ErrorKind::InDoubt => {
                    if let Some(delay) = tries.failed()
                        && !self.sleep(delay).await
                    {
                        return End::Stopped;
                    }
                }
            }
        }
    }

    /// Sends a create for `row` with `ticket`: journaled first, with its
    /// time, and journaled again if a pause made it wait after that, so
    /// the journal's last send time is never earlier than the request.
    /// `None` when the run stopped before it went out.
    async fn send_create(
        &self,
        ticket: &mut Ticket,
        row: u64,
        code: &str,
        body: &[u8],
        overwrite: bool,
    ) -> Option<Result<CreateOutcome, ApiError>> {
        loop {
            if !self.ready(ticket).await {
                return None;
            }
            if let Some(journal) = &self.journal
                && let Err(e) = journal.sending(row, code)
            {
                self.pacer.finished(*ticket);
                self.stop.stop(StopReason::Journal(Arc::new(e)));
                return None;
            }
            // A pause may have begun during the journal write.
            if self.pacer.is_current(*ticket) {
                break;
            }
        }
        Some(
            self.answered(ticket, self.client.create(body.to_vec(), overwrite))
                .await,
        )
    }

    /// Stops the run for an answer that no other row can get past: a
    /// rejected key, or a redirect (the URL points elsewhere).
    fn stop_for(&self, err: &ApiError) {
        match err.kind() {
            ErrorKind::Auth => self.stop.stop(StopReason::Auth(err.clone())),
            ErrorKind::Redirected => self.stop.stop(StopReason::Redirected(err.clone())),
            _ => {}
        }
    }

    /// A 429 for `ticket`'s request: pauses the pool (for `Retry-After`,
    /// or the pacer's jittered backoff without one) and slows down. False
    /// when the API asked for a wait longer than `--max-retry-after`, which
    /// stops the run.
    fn rate_limited_pause(&self, ticket: Ticket, err: &ApiError) -> bool {
        let retry_after = match err {
            ApiError::RateLimited {
                retry_after: Some(v),
                ..
            } => parse_retry_after(v, SystemTime::now()),
            _ => None,
        };
        if let Some(wait) = retry_after
            && wait > self.settings.max_retry_after
        {
            self.stop.stop(StopReason::RetryAfterTooLong(wait));
            return false;
        }
        self.pacer.on_rate_limited(ticket, retry_after);
        true
    }

    /// Awaits a request once its ticket may go ([`Uploader::ready`]);
    /// see [`Uploader::answered`].
    async fn guarded<T>(
        &self,
        ticket: &mut Ticket,
        request: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if !self.ready(ticket).await {
            return Err(ApiError::Aborted);
        }
        self.answered(ticket, request).await
    }

    /// Waits until `ticket` may go: a pause may have begun since it was
    /// taken, and then the request re-enters after it too. False when the
    /// run stopped meanwhile (the ticket is then finished).
    async fn ready(&self, ticket: &mut Ticket) -> bool {
        while !self.pacer.is_current(*ticket) {
            self.pacer.finished(*ticket);
            match self.pacer.acquire(&self.stop.token).await {
                Some(t) => *ticket = t,
                None => return false,
            }
        }
        true
    }

    /// Awaits a request, unless the run abandons requests in flight; also
    /// tracks whether the API answers at all, and tells the pacer which
    /// answers passed the server's limiter (5xx do, but are no recovery).
    async fn answered<T>(
        &self,
        ticket: &mut Ticket,
        request: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let result = tokio::select! {
            r = request => r,
            _ = self.stop.hard.cancelled() => Err(ApiError::Aborted),
        };
        self.note_answer(&result);
        if !matches!(&result, Err(e) if matches!(e, ApiError::Aborted) || e.no_response()) {
            self.settings.answered.fetch_add(1, Ordering::Relaxed);
        }
        match &result {
            Err(e) if e.no_response() => {
                let n = self.without_answer.fetch_add(1, Ordering::Relaxed) + 1;
                if n >= u64::from(self.settings.unreachable_after) {
                    self.stop.stop(StopReason::Unreachable(e.clone()));
                }
            }
            Err(ApiError::Aborted) => {}
            Err(ApiError::RateLimited { .. }) => self.without_answer.store(0, Ordering::Relaxed),
            Err(ApiError::Server { .. }) => {
                self.without_answer.store(0, Ordering::Relaxed);
                self.pacer.on_admitted(*ticket, false);
            }
            _ => {
                self.without_answer.store(0, Ordering::Relaxed);
                self.pacer.on_admitted(*ticket, true);
            }
        }
        self.pacer.finished(*ticket);
        result
    }

    /// Sleeps until `at`, unless the run stops meanwhile (then false).
    async fn sleep_until(&self, at: Instant) -> bool {
        if at <= Instant::now() {
            return true;
        }
        tokio::select! {
            _ = self.stop.token.cancelled() => false,
            _ = tokio::time::sleep_until(at) => true,
        }
    }

    /// Sleeps, unless the run stops meanwhile (then false).
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.stop.token.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// The API said the code exists: look its id up so the results file
    /// can name the customer. Searches take the same pacer slots and the
    /// same 429 handling as creates; 429s do not use up attempts (the row
    /// deadline bounds them).
    async fn resolve_duplicate(&self, out: &mut Outcome, err: &ApiError) -> End {
        let deadline = Instant::now() + self.settings.row_deadline;
        let mut failures = 0;
        while failures < self.settings.max_attempts && Instant::now() < deadline {
            let Some(mut ticket) = self.pacer.acquire(&self.stop.token).await else {
                return End::Stopped;
            };
            out.attempts += 1;
            match self
                .guarded(&mut ticket, self.client.search(&out.code))
                .await
            {
                Ok(Some(id)) => return End::Existing(id),
                Ok(None) => {
                    return End::GaveUp(format!("{err}; but searching for the code found nothing"));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Auth | ErrorKind::Redirected | ErrorKind::Invalid
                    ) =>
                {
                    self.stop_for(&e);
                    return End::GaveUp(format!("{err}; looking up its id failed: {e}"));
                }
                Err(e) if e.kind() == ErrorKind::RateLimited => {
                    if !self.rate_limited_pause(ticket, &e) {
                        return End::Stopped;
                    }
                }
                Err(_) => failures += 1,
            }
        }
        End::GaveUp(format!("{err}; looking up its id kept failing"))
    }

    fn finish_row(&self, out: &mut Outcome, end: End, in_doubt: bool, overwrite: bool) {
        let existing = if overwrite {
            Status::Overwritten
        } else {
            Status::Exists
        };
        match end {
            End::Created(id) => {
                out.status = Status::Created;
                out.http_status = Some(201);
                out.customer_id = Some(id);
            }
            End::Updated(id) => {
                out.status = Status::Updated;
                out.http_status = Some(200);
                out.customer_id = Some(id);
                out.error.clear();
            }
            End::Existing(id) => {
                out.status = existing;
                out.customer_id = Some(id);
                out.http_status = Some(out.http_status.filter(|s| *s != 201).unwrap_or(200));
            }
            End::FoundAfterDoubt(id) => {
                // Our own lost create made it (or, with overwrite, updated it).
                out.status = if overwrite {
                    Status::Overwritten
                } else {
                    Status::Created
                };
                out.customer_id = Some(id);
                out.http_status = Some(200);
                out.error.clear();
            }
            End::Failed(err) => {
                out.status = Status::Failed;
                out.http_status = err.http_status().or(out.http_status);
                out.error = err.to_string();
            }
            End::GaveUp(msg) => {
                out.status = Status::Failed;
                out.error = if in_doubt {
                    format!(
                        "{msg} (the customer may exist: the next import of this input looks it up before sending it again)"
                    )
                } else {
                    msg
                };
            }
            End::Stopped => {
                out.status = Status::Skipped;
                out.error = if in_doubt {
                    "not finished: the run stopped after a send whose answer was lost; the next import of this input looks the code up before sending it again".into()
                } else if out.attempts > 0 {
                    "not finished: the run stopped between attempts; --resume continues".into()
                } else {
                    "not sent: the run stopped before this row".into()
                };
            }
        }
        if out.status == Status::Failed {
            let n = self.failed_rows.fetch_add(1, Ordering::Relaxed) + 1;
            if self.settings.max_errors.is_some_and(|max| n >= max) {
                self.stop.stop(StopReason::TooManyErrors(n));
            }
        }
    }
}
