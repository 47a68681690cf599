//! Pacing shared by every worker: one request schedule, the adaptive rate
//! and the pool-wide pauses.
//!
//! Owns "when may the next request go". There is one schedule on tokio's
//! clock, built once and never rebuilt (GCRA: a theoretical arrival time
//! that every [`Pacer::acquire`] advances by one period to reserve its own
//! slot). A rate change only changes the period. A pause (after a 429, or
//! when an advertised quota is spent) moves the schedule to the end of the
//! pause with no burst credit, and bumps an epoch: a worker whose slot was
//! reserved before the pause re-reserves after it, so requests re-enter one
//! by one at the reduced rate. A last gate at send time runs the same
//! schedule on the instants requests actually leave, so workers that woke
//! late together leave at most `burst` at once. Both keep absolute
//! deadlines: a late wake-up does not move the next request's slot, so
//! timer lateness never adds up.
//!
//! A second gate keeps the rate's worth of requests or fewer in any
//! second (plus 10 ms of slack for arrival jitter): window limiters count
//! per second, and a catch-up burst after a stall must not add up to more.
//!
//! The rate follows AIMD with a learned ceiling: what the server was seen
//! to admit, never more. A 429 on a request sent after the latest pause
//! starts an episode, which sets the ceiling from what the server let
//! through, then holds the rate a hair under it (the second gate's slack
//! is the real margin):
//! - after a second or more of sending: the admitted rate over the last
//!   seconds (less `--burst`, the burst the user says the server allows);
//! - after a few requests (a bucket's small burst): halve, with a ceiling
//!   from what got through beyond `--burst`, at least half the rate, at
//!   most what got through at all (nothing got through: nothing learned);
//! - after many requests within a second (a window's count, or a bucket's
//!   larger burst, which look alike): that count per second, *tentative*.
//!
//! The pool pauses for `Retry-After`, or without one until the next slot
//! at the decreased rate, doubling while 429s follow each other with
//! nothing admitted between them.
//!
//! A probe paces a step above the ceiling; when it holds, the ceiling
//! rises to what was admitted meanwhile, not to the probe's level. A
//! tentative ceiling (also slow start's) is probed every few seconds by a
//! step that doubles each time it holds, and a 429 then keeps at least the
//! level that held; a measured ceiling is probed after thirty seconds by a
//! small step, and each probe that brings a 429 doubles that wait. Answers
//! that are not 429 and not 5xx raise the rate additively towards the hold
//! level (the target, or the margin under the ceiling), never on the first
//! answers after a pause. `--rate auto` starts with slow start: each
//! second, the rate admitted over the last one times 1.3.
//! Limits advertised by the server cap the rate; the first request goes
//! alone so they are known in time.
//!
//! It must not send requests, parse headers or decide about rows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Held this close under the learned ceiling. The ceiling is what the
/// server admitted, so it is safe to use whole; the second gate's slack
/// already keeps the pace about 1% under it, and arrival jitter needs no
/// more (at 0.97 the final rate ended 5% under the ceiling).
pub const MARGIN: f64 = 0.995;
/// Share of an advertised limit used: the server said what it allows, so
/// only a little room is kept for jitter at its window edges.
pub const ADVERTISED_SHARE: f64 = 0.98;
/// The rate never drops below this share of the target (so a run recovers).
const MIN_RATE_SHARE: f64 = 0.02;
/// Rate rises at most this often, and not within this long after a pause.
const ADJUST_EVERY: Duration = Duration::from_secs(1);
/// After this long at the hold level without a 429 the ceiling is probed;
/// each probe that brings a 429 doubles the wait, up to the longest. A
/// probe of a measured ceiling usually costs a 429 and its pause (a whole
/// second when the server rounds Retry-After up), so it is rare: the limit
/// is probed for a passing squeeze, not for every run.
const PROBE_EVERY: Duration = Duration::from_secs(30);
const PROBE_EVERY_LONGEST: Duration = Duration::from_secs(240);
/// Each probe raises the ceiling by this factor.
const PROBE_STEP: f64 = 1.02;
/// While the ceiling is only an estimate from less than a second of
/// sending (a window's count, or a bucket's burst: the two look alike),
/// it is probed this often, first by this factor, each step that held
/// twice as far as the last, so an estimate too low does not hold the run
/// back for long.
const TENTATIVE_PROBE_EVERY: Duration = Duration::from_secs(3);
const TENTATIVE_PROBE_STEP: f64 = 1.05;
/// No more than the rate's worth of requests leave in any second and this
/// much (the rate's worth rounded up, over the time they take at the rate,
/// and this slack for the jitter between sending and arriving).
const SECOND_SLACK: Duration = Duration::from_millis(10);
/// How early against the send gate's own schedule a request may leave:
/// timer wake-ups come late by up to a tick (1 ms) and more on a busy
/// machine, and a request that woke late must not hold back the next, or
/// the lateness adds up (at most a period: no more than one extra request).
const WAKE_JITTER: Duration = Duration::from_millis(2);
/// Bound of the send log the gates read (memory stays flat at any rate).
const SENT_LOG_MAX: usize = 100_000;
/// Below this share of the hold level the rate climbs fast (a tenth of the
/// target per step); above it slowly (2% of the hold level per step).
const FAST_BELOW: f64 = 0.8;
/// Before any ceiling is known (`--rate auto`), each step sets the rate
/// to what the server admitted over the last second times this (its probe
/// step): slow start, so an unknown limit is found in seconds and never
/// overshot by more than the step.
const SLOW_START: f64 = 1.3;
/// A 429 that comes back before this much sending after a pause means the
/// previous decrease was far too small: halve instead of stepping down.
const QUICK: Duration = Duration::from_millis(250);
/// Admitted answers are measured over this window to estimate the
/// server's limit when a 429 arrives: long, so a bucket's burst (taken
/// off) and a window's edges weigh little in it.
const ADMIT_WINDOW: Duration = Duration::from_secs(10);
/// The estimate needs at least this much sending since the last pause.
const ADMIT_MIN: Duration = Duration::from_secs(1);
/// Bound of the admitted-answer log (memory stays flat at any rate).
const ADMIT_LOG_MAX: usize = 100_000;
/// Pause after a 429 without `Retry-After`, in periods of the rate after
/// the decrease: until the next slot the server's answer implies (its
/// limit is the new rate), doubling while episodes follow each other with
/// no admitted answer between them.
const BACKOFF_PERIODS: u32 = 1;
/// Longest pause after a 429 without `Retry-After`.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How the pacer starts and where it may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceSettings {
    /// Rate at start, requests/s.
    pub start: f64,
    /// Highest rate it may use: `--rate`, or `--max-rate` with `auto`.
    pub target: f64,
    /// Requests allowed in any one period (`--burst`, at least 1).
    pub burst: u32,
    /// `--rate auto`: the limit is unknown, so look for it.
    pub auto: bool,
    /// Send the first request alone and wait for its answer before any
    /// other: it may advertise the server's limit, which must be known
    /// before the pool starts (or a slow first answer lets the whole pool
    /// go at `--rate`, above an advertised limit).
    pub probe_first: bool,
}

impl PaceSettings {
    /// A fixed `--rate` with `--burst`.
    pub fn fixed(rate: f64, burst: u32) -> PaceSettings {
        PaceSettings {
            start: rate,
            target: rate,
            burst,
            auto: false,
            probe_first: true,
        }
    }
}

/// Proof that a request may go, tied to the schedule it was taken from.
/// Hand it back with the request's answer.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
}

/// What the server advertised about its limit in one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Advertised {
    /// Requests per second its policy allows.
    pub rate: Option<f64>,
    /// The window that policy counts over.
    pub window: Option<Duration>,
    /// A limit per window of unknown length (`X-RateLimit-Limit`).
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Until the window resets.
    pub reset: Option<Duration>,
}

/// What the pacer settled on, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PaceReport {
    /// The rate achieved at the end of the run, requests/s: admitted
    /// answers per second over its last seconds (the pace in force until
    /// an answer came, the whole run when it was short).
    pub final_rate: f64,
    /// The learned ceiling: what the server admitted, if a 429 taught it.
    pub ceiling: Option<f64>,
    /// The rate allowed by an advertised policy, if one was seen.
    pub advertised: Option<f64>,
    /// 429 answers.
    pub rate_limited: u64,
    /// Decreases (429 episodes).
    pub episodes: u64,
    /// Pool-wide pauses because the advertised quota was spent.
    pub quota_waits: u64,
}

struct State {
    rate: f64,
    period: Duration,
    /// Theoretical arrival time: the schedule.
    tat: Instant,
    /// No request leaves before this (end of the latest pause).
    not_before: Instant,
    /// Bumped by every pause; tickets from older epochs are stale.
    epoch: u64,
    /// Whether the first slot was reserved (credit from set-up is dropped).
    started: bool,
    /// The send gate's theoretical arrival time: like `tat`, but advanced
    /// by the requests that actually left.
    gate_tat: Instant,
    /// Send instants of the last requests (as many as the second gate reads).
    sent: VecDeque<Instant>,
    /// What the server was seen to admit, requests/s: never above it.
    ceiling: Option<f64>,
    /// The ceiling is an estimate from a short episode (or slow start),
    /// not a measure of a second or more of sending: probed sooner.
    tentative: bool,
    /// While probing, the rate is held this far above the ceiling (1.0
    /// otherwise); a probe that holds raises the ceiling only to what the
    /// server admitted meanwhile.
    probe: f64,
    /// The next probe's factor while the ceiling is tentative.
    tentative_step: f64,
    /// When sending began (the first slot), for the achieved rate.
    began: Option<Instant>,
    /// Admitted answers in all, and when the last came.
    admitted_total: u64,
    last_admitted: Option<Instant>,
    advertised: Option<f64>,
    /// The rate used under the advertised policy.
    advertised_cap: Option<f64>,
    /// Longest reset seen: a lower bound of the window of a bare limit.
    longest_reset: Duration,
    last_adjust: Instant,
    /// Since when the rate has been at the hold level without a 429.
    probe_from: Instant,
    /// When the ceiling was last raised by a probe.
    probed_at: Option<Instant>,
    /// Current wait between probes of a measured ceiling.
    probe_every: Duration,
    /// Admitted answers to requests sent after the latest pause.
    admitted_since_pause: u64,
    /// When admitted answers arrived, within [`ADMIT_WINDOW`].
    admitted: VecDeque<Instant>,
    backoff_level: u32,
    rng: fastrand::Rng,
    report: PaceReport,
}

impl State {
    /// Admitted answers that arrived within `window` before `now` (the log
    /// keeps [`ADMIT_WINDOW`]).
    fn admitted_within(&self, now: Instant, window: Duration) -> usize {
        match now.checked_sub(window) {
            Some(from) => self.admitted.iter().filter(|t| **t >= from).count(),
            None => self.admitted.len(),
        }
    }
}

/// What a worker whose slot has come does next.
enum Leave {
    Go,
    Paused,
    WaitUntil(Instant),
}

/// The shared pacer.
pub struct Pacer {
    settings: PaceSettings,
    min_rate: f64,
    state: Mutex<State>,
    gauge: Arc<AtomicU64>,
    /// Tickets handed out whose request has not finished.
    in_flight: AtomicU64,
    /// True once the first request has its answer (see `probe_first`).
    probed: tokio::sync::watch::Sender<bool>,
    /// Set by the worker that sends the first request.
    probe_claimed: std::sync::atomic::AtomicBool,
    /// Tests only: wake-ups come late as a real timer's do.
    #[cfg(test)]
    late: Mutex<Option<tests::Late>>,
}

/// Longest period (and burst window) the schedule uses, so instant
/// arithmetic cannot overflow whatever the flags say.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// The second gate at `rate`: `n` requests (the rate's worth in a second,
/// rounded up) must span at least `span` (their time at the rate, and the
/// slack), so no second and slack ever sees more than the rate's worth.
fn second_gate(rate: f64, period: Duration) -> (usize, Duration) {
    // Saturating float-to-int cast: at least one, at most the log's bound.
    let n = (rate.ceil() as usize).clamp(1, SENT_LOG_MAX);
    let span = period
        .saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
        .min(LONGEST)
        + SECOND_SLACK;
    (n, span)
}

fn period_of(rate: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rate)
        .unwrap_or(LONGEST)
        .clamp(Duration::from_nanos(1), LONGEST)
}

impl Pacer {
    /// A pacer; `gauge` receives the current rate (`f64` bits) for the
    /// progress line.
    pub fn new(settings: PaceSettings, gauge: Arc<AtomicU64>) -> Pacer {
        let target = if settings.target.is_finite() && settings.target > 0.0 {
            settings.target
        } else {
            1.0
        };
        let start = settings.start.clamp(f64::MIN_POSITIVE, target);
        let settings = PaceSettings {
            start,
            target,
            burst: settings.burst.max(1),
            ..settings
        };
        let now = Instant::now();
        gauge.store(start.to_bits(), Ordering::Relaxed);
        Pacer {
            min_rate: target * MIN_RATE_SHARE,
            settings,
            gauge,
            in_flight: AtomicU64::new(0),
            probed: tokio::sync::watch::Sender::new(!settings.probe_first),
            probe_claimed: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            late: Mutex::new(None),
            state: Mutex::new(State {
                rate: start,
                period: period_of(start),
                tat: now,
                gate_tat: now,
                not_before: now,
                epoch: 0,
                started: false,
                sent: VecDeque::new(),
                ceiling: None,
                tentative: false,
                probe: 1.0,
                began: None,
                admitted_total: 0,
                last_admitted: None,
                tentative_step: TENTATIVE_PROBE_STEP,
                advertised: None,
                advertised_cap: None,
                longest_reset: Duration::ZERO,
                last_adjust: now,
                probe_from: now,
                probed_at: None,
                probe_every: PROBE_EVERY,
                admitted_since_pause: 0,
                admitted: VecDeque::new(),
                backoff_level: 0,
                rng: fastrand::Rng::new(),
                report: PaceReport::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements; a panic elsewhere
        // must not stop every worker.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current rate, requests per second.
    #[cfg(test)]
    pub fn current_rate(&self) -> f64 {
        self.lock().rate
    }

    /// What the pacer learned and where it ended.
    pub fn report(&self) -> PaceReport {
        let s = self.lock();
        PaceReport {
            final_rate: self.achieved(&s),
            ceiling: s.ceiling,
            advertised: s.advertised,
            ..s.report
        }
    }

    /// 429 answers seen so far.
    pub fn rate_limited_count(&self) -> u64 {
        self.lock().report.rate_limited
    }

    /// Waits until a request may go; `None` when `stop` fires first.
    pub async fn acquire(&self, stop: &CancellationToken) -> Option<Ticket> {
        if !*self.probed.borrow() && self.probe_claimed.swap(true, Ordering::AcqRel) {
            // The first request is out: wait for its answer.
            let mut rx = self.probed.subscribe();
            tokio::select! {
                _ = stop.cancelled() => return None,
                r = rx.wait_for(|done| *done) => if r.is_err() { return None },
            }
        }
        'reserve: loop {
            // 1. Wait out any pause, then reserve this request's own slot.
            let (slot, epoch) = match self.reserve() {
                Ok(reserved) => reserved,
                Err(pause_end) => {
                    if !self.sleep_until(pause_end, stop).await {
                        return None;
                    }
                    continue 'reserve;
                }
            };
            if !self.sleep_until(slot, stop).await {
                return None;
            }
            // 2. Leave, unless a pause began meanwhile (re-reserve after
            // it) or the last `burst` requests all left within one period
            // (late wake-ups: wait for the oldest to age out).
            loop {
                match self.leave(epoch) {
                    Leave::Go if stop.is_cancelled() => return None,
                    Leave::Go => {
                        self.in_flight.fetch_add(1, Ordering::Relaxed);
                        return Some(Ticket { epoch });
                    }
                    Leave::Paused => continue 'reserve,
                    Leave::WaitUntil(t) => {
                        if !self.sleep_until(t, stop).await {
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// A slot and its epoch, or the end of the pause to wait out first.
    fn reserve(&self) -> Result<(Instant, u64), Instant> {
        let mut s = self.lock();
        let now = Instant::now();
        if s.not_before > now {
            return Err(s.not_before);
        }
        if !s.started {
            // Credit that built up while the input was read is dropped, and
            // sending starts now: the admitted rate is measured from here.
            s.started = true;
            s.tat = now + self.tau(&s);
            s.not_before = now;
            s.last_adjust = now;
        }
        s.began.get_or_insert(now);
        let earliest = s.tat.checked_sub(self.tau(&s)).unwrap_or(now);
        let slot = earliest.max(now);
        s.tat = s.tat.max(slot) + s.period;
        Ok((slot, s.epoch))
    }

    fn leave(&self, epoch: u64) -> Leave {
        let mut s = self.lock();
        if s.epoch != epoch {
            return Leave::Paused;
        }
        let now = Instant::now();
        // The send gate: the schedule again, on the instants requests
        // actually leave, so workers that woke late together leave at most
        // `burst` at once and then a period apart. Its deadlines are
        // absolute: a request that left late does not move the next one's,
        // and a late wake-up up to WAKE_JITTER is caught up, so lateness
        // never adds up (it did when each request had to wait a whole
        // period after the previous one's actual send).
        let allowance = self.tau(&s) + WAKE_JITTER.min(s.period);
        let earliest = s.gate_tat.checked_sub(allowance).unwrap_or(now);
        if now < earliest {
            return Leave::WaitUntil(earliest);
        }
        // At most the rate's worth in any second (and slack): a worker that
        // woke late may catch up, but never so much that a one-second
        // window sees more than the rate.
        let (n, span) = second_gate(s.rate, s.period);
        if let Some(oldest) = s.sent.len().checked_sub(n).and_then(|i| s.sent.get(i))
            && now < *oldest + span
        {
            return Leave::WaitUntil(*oldest + span);
        }
        s.gate_tat = s.gate_tat.max(now) + s.period;
        s.sent.push_back(now);
        while s.sent.len() > n {
            s.sent.pop_front();
        }
        Leave::Go
    }

    /// Whether no pause began since `ticket` was handed out; a request
    /// not yet sent should take a new ticket otherwise.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.lock().epoch == ticket.epoch
    }

    /// `ticket`'s request is over (answered, failed or never sent). Call
    /// once per ticket, after the other `on_*` calls for it.
    pub fn finished(&self, _ticket: Ticket) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        // The first request is over: the pool may start.
        self.probed
            .send_if_modified(|done| !std::mem::replace(done, true));
    }

    /// A 429 came back for the request sent with `ticket`. Slows down
    /// once per episode and pauses the pool for `retry_after` or, without
    /// one, until the next slot at the decreased rate (doubling, jittered,
    /// while 429s follow each other with nothing admitted between them).
    /// Returns the pause it set.
    pub fn on_rate_limited(&self, ticket: Ticket, retry_after: Option<Duration>) -> Duration {
        let mut s = self.lock();
        let now = Instant::now();
        s.report.rate_limited += 1;
        // Sent after the latest pause began: the rate in force is too high.
        let new_episode = ticket.epoch == s.epoch;
        if new_episode {
            self.decrease(&mut s, now);
        }
        let wait = match retry_after {
            Some(d) => d,
            None if new_episode => {
                let level = s.backoff_level.min(16);
                let ceiling = s
                    .period
                    .saturating_mul(BACKOFF_PERIODS << level)
                    .min(BACKOFF_MAX);
                s.backoff_level = s.backoff_level.saturating_add(1);
                if level == 0 {
                    ceiling
                } else {
                    // Equal jitter: at least half the ceiling, so the pause
                    // grows, and spread, so several runs do not return
                    // together.
                    let half = ceiling / 2;
                    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
                    half + Duration::from_nanos(s.rng.u64(0..=nanos))
                }
            }
            // Already in flight when the pause began: that pause covers it.
            None => Duration::ZERO,
        };
        let until = now + wait;
        if new_episode || until > s.not_before {
            self.pause(&mut s, until);
        }
        wait
    }

    /// An answer other than 429 came back for `ticket`'s request: it passed
    /// the server's limiter. `healthy` is false for 5xx answers, which do
    /// not count as recovery.
    pub fn on_admitted(&self, ticket: Ticket, healthy: bool) {
        let mut s = self.lock();
        let now = Instant::now();
        if s.admitted.len() >= ADMIT_LOG_MAX {
            s.admitted.pop_front();
        }
        s.admitted.push_back(now);
        while s
            .admitted
            .front()
            .is_some_and(|t| now.duration_since(*t) > ADMIT_WINDOW)
        {
            s.admitted.pop_front();
        }
        if ticket.epoch == s.epoch {
            s.admitted_since_pause += 1;
        }
        s.admitted_total += 1;
        s.last_admitted = Some(now);
        if !healthy {
            return;
        }
        s.backoff_level = 0;
        // Never on the first answers after a pause: they say nothing yet
        // about the rate the pool re-entered at.
        if now < s.not_before + ADJUST_EVERY || now.duration_since(s.last_adjust) < ADJUST_EVERY {
            return;
        }
        s.last_adjust = now;
        let hold = self.hold(&s);
        if s.rate < hold {
            let rate = if s.ceiling.is_none() && self.settings.auto {
                // Never more than a step above what the server admitted
                // over the last second.
                let admitted =
                    s.admitted_within(now, ADJUST_EVERY) as f64 / ADJUST_EVERY.as_secs_f64();
                (s.rate * SLOW_START).min(admitted * SLOW_START).max(s.rate)
            } else if s.rate < hold * FAST_BELOW {
                s.rate + self.settings.target / 10.0
            } else {
                s.rate + hold * (PROBE_STEP - 1.0)
            };
            self.set_rate(&mut s, rate.min(hold));
            s.probe_from = now;
        } else if let Some(c) = s.ceiling {
            // Slow re-probe: the limit may have been a passing squeeze.
            // A tentative ceiling is probed sooner.
            let every = if s.tentative {
                TENTATIVE_PROBE_EVERY
            } else {
                s.probe_every
            };
            if now.duration_since(s.probe_from) >= every {
                // What got through meanwhile held: the ceiling is at least
                // that (beyond the burst), never more.
                let window = every.min(ADMIT_WINDOW);
                let n = s.admitted_within(now, window);
                let beyond = n.saturating_sub(self.settings.burst as usize);
                let held = beyond as f64 / window.as_secs_f64();
                s.ceiling = Some(c.max(held));
                s.probe = if s.tentative {
                    let step = s.tentative_step;
                    s.tentative_step = 1.0 + 2.0 * (step - 1.0);
                    step
                } else {
                    PROBE_STEP
                };
                s.probe_from = now;
                s.probed_at = Some(now);
            }
        }
    }

    /// The server advertised its limit in the answer to a request still
    /// counted in flight. When nothing remains (or, with no policy known,
    /// no more than the other requests in flight need), the pool waits for
    /// the reset instead of collecting 429s.
    pub fn on_advertised(&self, adv: Advertised) {
        let others = self.in_flight.load(Ordering::Relaxed).saturating_sub(1);
        let mut s = self.lock();
        let now = Instant::now();
        let mut adv = adv;
        if let Some(reset) = adv.reset {
            s.longest_reset = s.longest_reset.max(reset);
        }
        if adv.rate.is_none()
            && let Some(limit) = adv.limit
        {
            // A bare limit per window: the window is at least the longest
            // reset seen (and taken as 1 s at least), so this rate is an
            // upper bound that tightens as resets are seen.
            let window = s.longest_reset.max(Duration::from_secs(1));
            adv.rate = Some(limit as f64 / window.as_secs_f64());
            adv.window = Some(window);
        }
        if let Some(policy) = adv.rate.filter(|r| r.is_finite() && *r > 0.0) {
            let first = s.advertised.is_none();
            s.advertised = Some(policy);
            // A window limit counts bursts too: GCRA may send `burst` more
            // than rate × window in one window, so that much is kept free,
            // unless the one-second gate already keeps the window's count.
            let burst = f64::from(self.settings.burst);
            let room = adv
                .window
                .filter(|w| *w > Duration::from_secs(1) + SECOND_SLACK)
                .map_or(policy, |w| policy - burst / w.as_secs_f64());
            s.advertised_cap = Some((policy * ADVERTISED_SHARE).min(room).max(policy * 0.5));
            let cap = self.top(&s);
            // The server said what it allows: go there unless 429s taught
            // a lower ceiling; never above it.
            if s.rate > cap {
                self.set_rate(&mut s, cap);
                // Slots already reserved at the old, faster period are
                // given back: every worker re-reserves at the new one.
                self.pause(&mut s, now);
            } else if first && s.ceiling.is_none() {
                self.set_rate(&mut s, cap);
            }
        }
        // Without a known policy the pool may be far above the limit, so
        // it stops as soon as the requests in flight could use up the rest;
        // under a policy it is paced to it, and stops only at zero.
        let unpaced = s.advertised.is_none();
        if adv
            .remaining
            .is_some_and(|r| r == 0 || (unpaced && r <= others))
            && let Some(reset) = adv.reset
        {
            let until = now + reset;
            if until > s.not_before {
                s.report.quota_waits += 1;
                self.pause(&mut s, until);
            }
        }
    }

    /// How far ahead of the schedule a burst may go.
    fn tau(&self, s: &State) -> Duration {
        s.period
            .saturating_mul(self.settings.burst - 1)
            .min(LONGEST)
    }

    /// The highest rate allowed: the target, capped by an advertised policy.
    fn top(&self, s: &State) -> f64 {
        let t = self.settings.target;
        s.advertised_cap.map_or(t, |a| t.min(a))
    }

    /// Where the rate settles: the top, or a margin under the ceiling
    /// (above it by the probe's step while probing).
    fn hold(&self, s: &State) -> f64 {
        let top = self.top(s);
        s.ceiling.map_or(top, |c| top.min(c * s.probe * MARGIN))
    }

    /// Admitted answers per second over the last seconds of sending (the
    /// whole run when shorter): the rate achieved, as the server saw it.
    fn achieved(&self, s: &State) -> f64 {
        let (Some(began), Some(last)) = (s.began, s.last_admitted) else {
            return 0.0;
        };
        let span = last.saturating_duration_since(began);
        if span < ADMIT_MIN {
            return s
                .rate
                .min(s.admitted_total as f64 / ADMIT_MIN.as_secs_f64());
        }
        if span <= ADMIT_WINDOW {
            return s.admitted_total as f64 / span.as_secs_f64();
        }
        s.admitted_within(last, ADMIT_WINDOW) as f64 / ADMIT_WINDOW.as_secs_f64()
    }

    fn decrease(&self, s: &mut State, now: Instant) {
        let r = s.rate;
        s.report.episodes += 1;
        // A 429 soon after a probe raised the ceiling: the old ceiling was
        // right, so probe less often from now on.
        if let Some(at) = s.probed_at.take()
            && !s.tentative
            && now.duration_since(at) < s.probe_every
        {
            s.probe_every = (s.probe_every * 2).min(PROBE_EVERY_LONGEST);
        }
        // A probe is over: back to the ceiling. A tentative ceiling held
        // until the probe, so it is kept at least.
        let probing = std::mem::replace(&mut s.probe, 1.0) > 1.0;
        let held = s.ceiling.filter(|_| probing && s.tentative);
        let since_pause = now.saturating_duration_since(s.not_before);
        let admitted = s.admitted_since_pause as f64;
        let burst = f64::from(self.settings.burst);
        // Slow start (auto, no ceiling yet) raised the rate during the
        // measure, so what got through is a lower bound only.
        let slow_start = self.settings.auto && s.ceiling.is_none();
        // Every ceiling is what the server admitted, never more.
        let (ceiling, rate, tentative) = if since_pause >= ADMIT_MIN {
            // A second or more of sending: what the server let through
            // over it is its limit. A window limiter lets no more than its
            // count through in any second; a bucket lets its burst more
            // through, taken as `--burst` (what the user says it allows).
            // Slow start raised the rate every second: only the last one
            // says much about the rate that was refused.
            let longest = if slow_start { ADMIT_MIN } else { ADMIT_WINDOW };
            let window = since_pause.min(longest);
            let n = s.admitted_within(now, window) as f64;
            let mut measured = ((n - burst).max(0.0) / window.as_secs_f64()).min(r);
            if let Some(held) = held {
                // The climb lowers the measure; the estimate held.
                measured = measured.max(held).min(r);
            }
            (Some(measured), measured * MARGIN, slow_start)
        } else if admitted < r * QUICK.as_secs_f64() {
            // Refused after a few requests: a bucket's small burst. What
            // got through beyond `--burst` over the episode bounds its
            // limit from below (taken as at least half the rate), what got
            // through at all from above. Halve, and climb back no higher
            // than a margin under that. Nothing got through: nothing
            // learned.
            let t = since_pause.as_secs_f64();
            let beyond = admitted - burst;
            let ceiling = (beyond > 0.0 && t > 0.0)
                .then(|| (beyond / t).max(r / 2.0).min(admitted / t).min(r))
                .or(s.ceiling);
            (ceiling, r / 2.0, false)
        } else {
            // Refused after many requests within a second: that many per
            // second is a window limiter's count, or a bucket's burst
            // (then the limit is higher). Taken, and probed soon.
            let count = admitted.min(r);
            (Some(count), count * MARGIN, true)
        };
        s.ceiling = ceiling.map(|c| c.max(self.min_rate));
        s.tentative = tentative;
        s.tentative_step = TENTATIVE_PROBE_STEP;
        self.set_rate(s, rate.min(self.hold(s)));
        s.last_adjust = now;
        s.probe_from = now;
    }

    fn pause(&self, s: &mut State, until: Instant) {
        s.not_before = s.not_before.max(until);
        s.epoch += 1;
        // Re-enter one by one: the first slot is the end of the pause, and
        // no burst credit is carried across it.
        s.tat = s.not_before + self.tau(s);
        s.started = true;
        s.admitted_since_pause = 0;
    }

    fn set_rate(&self, s: &mut State, rate: f64) {
        let rate = rate.clamp(self.min_rate, self.settings.target);
        if rate != s.rate {
            tracing::debug!("request rate now {rate:.2}/s");
        }
        s.rate = rate;
        s.period = period_of(rate);
        self.gauge.store(rate.to_bits(), Ordering::Relaxed);
    }
}

impl Pacer {
    /// Sleeps until `t` (in tests, as late as a real timer); false when
    /// `stop` fires first.
    async fn sleep_until(&self, t: Instant, stop: &CancellationToken) -> bool {
        #[cfg(test)]
        let t = match self
            .late
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(late) => late.wake(t),
            None => t,
        };
        if t <= Instant::now() {
            return !stop.is_cancelled();
        }
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep_until(t) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wake-ups as tokio's timer gives them outside a paused clock: at the
    /// next whole millisecond after the deadline, and a little later still
    /// on a busy machine (up to `extra`).
    pub(super) struct Late {
        origin: Instant,
        extra: Duration,
        rng: fastrand::Rng,
    }

    impl Late {
        pub(super) fn wake(&mut self, t: Instant) -> Instant {
            let tick = Duration::from_millis(1).as_nanos();
            let since = t.saturating_duration_since(self.origin).as_nanos();
            let rounded = since.div_ceil(tick) * tick;
            let extra = self
                .rng
                .u64(0..=u64::try_from(self.extra.as_nanos()).unwrap_or(0));
            self.origin
                + Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
                + Duration::from_nanos(extra)
        }
    }

    /// A pacer whose wake-ups come late as a real timer's.
    fn late_pacer(rate: f64, burst: u32, extra: Duration) -> Pacer {
        let p = pacer(rate, burst);
        *p.late.lock().expect("lock") = Some(Late {
            // Off the millisecond grid, as a real start is.
            origin: Instant::now() - Duration::from_micros(300),
            extra,
            rng: fastrand::Rng::with_seed(7),
        });
        p
    }

    /// Requests that leave within `secs` seconds with 8 workers.
    async fn sent_within(p: &Arc<Pacer>, secs: u64) -> usize {
        let stop = CancellationToken::new();
        let end = Instant::now() + Duration::from_secs(secs);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (p, stop) = (p.clone(), stop.clone());
            tasks.spawn(async move {
                let mut n = 0;
                while p.acquire(&stop).await.is_some() && Instant::now() < end {
                    n += 1;
                }
                n
            });
        }
        tasks.join_all().await.into_iter().sum()
    }

    #[tokio::test(start_paused = true)]
    async fn late_wake_ups_do_not_add_up_at_burst_1() {
        // The figures (against an unlimited server, --burst 1):
        // 95% of 50/s, 82% of 200/s, 69% of 400/s, when each request
        // waited a whole period after the previous one's late send.
        for rate in [10.0, 50.0, 200.0, 400.0, 1000.0] {
            let p = Arc::new(late_pacer(rate, 1, Duration::from_micros(300)));
            let n = sent_within(&p, 10).await as f64;
            assert!(n >= 0.98 * rate * 10.0, "{n} in 10 s at {rate}/s");
            assert!(n <= rate * 10.0 + 1.0, "{n} in 10 s at {rate}/s");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fractional_rate_is_not_rounded_down_by_the_second_gate() {
        // A rate held under a ceiling is rarely whole: 48.5/s was paced at
        // 48 in every 1.01 s (47.5/s) when the gate rounded it down.
        let p = Arc::new(pacer(48.5, 1));
        let n = sent_within(&p, 20).await as f64;
        assert!(n >= 0.985 * 48.5 * 20.0, "{n} in 20 s at 48.5/s");
    }

    fn pacer(rate: f64, burst: u32) -> Pacer {
        let settings = PaceSettings {
            probe_first: false,
            ..PaceSettings::fixed(rate, burst)
        };
        Pacer::new(settings, Arc::default())
    }

    /// Paced time advances only when every task waits, so instants are exact.
    async fn acquire_all(p: &Arc<Pacer>, workers: usize, each: usize) -> Vec<Instant> {
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (p, stop) = (p.clone(), stop.clone());
            tasks.spawn(async move {
                let mut at = Vec::new();
                for _ in 0..each {
                    p.acquire(&stop).await.expect("not stopped");
                    at.push(Instant::now());
                }
                at
            });
        }
        let mut all: Vec<Instant> = tasks.join_all().await.into_iter().flatten().collect();
        all.sort();
        all
    }

    #[tokio::test(start_paused = true)]
    async fn sixteen_workers_cross_a_pause_one_slot_each() {
        let p = Arc::new(pacer(100.0, 1));
        let stop = CancellationToken::new();
        // Run a while, then a 429 on a fresh request pauses everyone.
        let before = acquire_all(&p, 16, 2).await;
        assert_eq!(before.len(), 32);
        let t = p.acquire(&stop).await.expect("ticket");
        let pause_start = Instant::now();
        p.on_rate_limited(t, Some(Duration::from_secs(1)));
        let rate = p.current_rate();
        assert!(rate < 100.0, "slowed down: {rate}");
        let after = acquire_all(&p, 16, 3).await;
        let period = period_of(rate);
        assert!(after[0] >= pause_start + Duration::from_secs(1));
        for w in after.windows(2) {
            // No two share a slot: the pool re-enters one by one.
            assert!(w[1] - w[0] >= period, "{:?} apart", w[1] - w[0]);
        }
        for w in before.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(10));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn workers_waiting_for_a_slot_when_the_pause_begins_wait_it_out() {
        let p = Arc::new(pacer(10.0, 1));
        let stop = CancellationToken::new();
        let first = p.acquire(&stop).await.expect("ticket");
        // 8 workers reserve slots 100 ms apart; a 429 arrives meanwhile.
        let q = p.clone();
        let waiters = tokio::spawn(async move { acquire_all(&q, 8, 1).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let paused_at = Instant::now();
        p.on_rate_limited(first, Some(Duration::from_secs(2)));
        let at = waiters.await.expect("joined");
        let during: Vec<_> = at
            .iter()
            .filter(|t| **t > paused_at && **t < paused_at + Duration::from_secs(2))
            .collect();
        assert!(during.is_empty(), "sent during the pause: {during:?}");
        let period = period_of(p.current_rate());
        let after: Vec<_> = at.iter().filter(|t| **t > paused_at).collect();
        for w in after.windows(2) {
            assert!(*w[1] - *w[0] >= period);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_is_never_exceeded_in_any_period() {
        let p = Arc::new(pacer(50.0, 3));
        let at = acquire_all(&p, 16, 10).await;
        let period = Duration::from_millis(20);
        for (i, t) in at.iter().enumerate() {
            let n = at[i..].iter().take_while(|u| **u < *t + period).count();
            assert!(n <= 3, "{n} within one period from {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn catching_up_after_a_stall_never_puts_more_than_the_rate_in_a_second() {
        let p = Arc::new(pacer(50.0, 5));
        let mut at = acquire_all(&p, 16, 4).await;
        // Every worker stalls (a slow answer): the schedule's burst credit
        // builds up, and is spent at once when they come back.
        tokio::time::sleep(Duration::from_millis(300)).await;
        at.extend(acquire_all(&p, 16, 8).await);
        let period = Duration::from_millis(20);
        let bunched = at.windows(3).any(|w| w[2] - w[0] < period);
        assert!(bunched, "the burst was used after the stall");
        for (i, t) in at.iter().enumerate() {
            let n = at[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1) + SECOND_SLACK)
                .count();
            assert!(n <= 50, "{n} requests within a second from {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_count_refused_within_a_second_is_the_ceiling_and_holds_a_probe() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        // A fixed window of 40: 40 answers in 0.4 s, then a 429.
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..40 {
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(Duration::from_secs(1)));
        assert_eq!(p.report().ceiling, Some(40.0));
        assert_eq!(p.current_rate(), 40.0 * MARGIN);
        // A probe above it, then a 429 after two seconds during which
        // the climb let fewer through: the count is kept.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(6) {
            let t = p.acquire(&stop).await.expect("t");
            p.on_admitted(t, true);
        }
        let probing = p.current_rate();
        assert!(probing > 40.0, "probed above the count: {probing}");
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::from_secs(1)));
        let ceiling = p.report().ceiling.expect("ceiling");
        assert!((40.0..=probing).contains(&ceiling), "{ceiling}");
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_429s_of_one_episode_decrease_once() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        let a = p.acquire(&stop).await.expect("a");
        let b = p.acquire(&stop).await.expect("b");
        p.on_rate_limited(a, Some(Duration::from_millis(100)));
        let once = p.current_rate();
        p.on_rate_limited(b, Some(Duration::from_millis(100)));
        assert_eq!(p.current_rate(), once);
        assert_eq!(p.report().episodes, 1);
        assert_eq!(p.rate_limited_count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn five_xx_is_not_recovery_and_the_first_answers_after_a_pause_do_not_raise() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::from_secs(1)));
        let low = p.current_rate();
        let t = p.acquire(&stop).await.expect("t");
        p.on_admitted(t, true);
        assert_eq!(p.current_rate(), low, "no rise right after the pause");
        tokio::time::sleep(Duration::from_secs(3)).await;
        p.on_admitted(t, false);
        assert_eq!(p.current_rate(), low, "a 5xx is not recovery");
        p.on_admitted(t, true);
        assert!(p.current_rate() > low);
    }

    /// Answers `t`'s request as admitted every 100 ms for `secs` seconds.
    async fn answer_for(p: &Pacer, t: Ticket, secs: u64) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.on_admitted(t, true);
        }
    }

    /// Two seconds of clean sending at 60/s, then a 429: a measured ceiling.
    async fn learn_60(p: &Pacer) -> Ticket {
        let stop = CancellationToken::new();
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..120 {
            tokio::time::sleep(Duration::from_micros(16_667)).await;
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(Duration::ZERO));
        t
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_brings_a_429_doubles_the_wait_for_the_next() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        learn_60(&p).await;
        // Thirty seconds at the hold level: one probe.
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 31).await;
        assert!(p.lock().probe > 1.0, "probed after 30 s");
        // The probe brings a 429: the next one waits sixty seconds.
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::ZERO));
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 45).await;
        assert_eq!(p.lock().probe, 1.0, "no probe within 45 s");
        answer_for(&p, t, 16).await;
        assert!(p.lock().probe > 1.0, "probed after 60 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_raises_the_ceiling_only_to_what_was_admitted() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        learn_60(&p).await;
        let learned = p.report().ceiling.expect("learned");
        // Probes that hold while the server admits 10/s: the pace goes
        // above the hold level, the ceiling stays what was admitted (a
        // probe raised it 2% each time: 52 learned against 50).
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 100).await;
        assert!(p.current_rate() > learned * MARGIN, "probing");
        assert_eq!(p.report().ceiling, Some(learned));
    }

    #[tokio::test(start_paused = true)]
    async fn aimd_holds_under_the_learned_ceiling_and_reprobes_slowly() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        // Two seconds of clean sending at 60/s, then a 429.
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..120 {
            tokio::time::sleep(Duration::from_micros(16_667)).await;
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(Duration::ZERO));
        let r = p.report();
        let ceiling = r.ceiling.expect("learned");
        // What got through (60/s, less the one request of --burst), not
        // the rate in force (100/s).
        assert!((58.0..=60.0).contains(&ceiling), "{ceiling}");
        assert!((p.current_rate() - ceiling * MARGIN).abs() < 1e-9);
        // Clean answers for a long while: stays at the hold level, then
        // probes in small steps only.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.on_admitted(t, true);
        }
        let now = p.current_rate();
        assert!(
            now <= ceiling * MARGIN * PROBE_STEP * PROBE_STEP + 1e-9,
            "{now}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_start_leaves_no_burst_credit_and_no_false_measure() {
        let p = pacer(100.0, 5);
        // The input took a minute to check before the first request.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let stop = CancellationToken::new();
        let mut at = Vec::new();
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..10 {
            at.push(Instant::now());
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        // Evenly spaced from the first request: no catch-up burst.
        for w in at.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(10));
        }
        // 0.1 s of sending is too short to measure: the rate halves, and
        // the 5 answers beyond --burst in 0.1 s bound the limit (50/s).
        p.on_rate_limited(t, Some(Duration::ZERO));
        assert_eq!(p.report().ceiling, Some(50.0));
        assert_eq!(p.current_rate(), 50.0 * MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_429_after_a_pause_halves_the_rate() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::ZERO));
        assert_eq!(p.current_rate(), 50.0);
    }

    #[tokio::test(start_paused = true)]
    async fn auto_climbs_no_more_than_a_step_above_what_was_admitted() {
        let p = Arc::new(Pacer::new(
            PaceSettings {
                start: 10.0,
                target: 100.0,
                burst: 1,
                auto: true,
                probe_first: false,
            },
            Arc::default(),
        ));
        // A server that answers 30 requests a second, however many come.
        let stop = CancellationToken::new();
        let free = Arc::new(Mutex::new(Instant::now()));
        let end = Instant::now() + Duration::from_secs(15);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (p, stop, free) = (p.clone(), stop.clone(), free.clone());
            tasks.spawn(async move {
                let mut highest = 0.0f64;
                while Instant::now() < end {
                    let t = p.acquire(&stop).await.expect("t");
                    let at = {
                        let mut f = free.lock().expect("lock");
                        *f = (*f).max(Instant::now()) + Duration::from_micros(33_334);
                        *f
                    };
                    tokio::time::sleep_until(at).await;
                    p.on_admitted(t, true);
                    p.finished(t);
                    highest = highest.max(p.current_rate());
                }
                highest
            });
        }
        let highest = tasks.join_all().await.into_iter().fold(0.0, f64::max);
        // It climbed from 10/s, but never far past the 30/s admitted (it
        // went ×1.5 a second to the 100/s --max-rate).
        assert!(highest > 25.0, "{highest}");
        // (A second holds 31 answers 33.3 ms apart.)
        assert!(highest <= 31.0 * SLOW_START + 1e-9, "{highest}");
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_learned_ceiling_the_pace_stays_within_3_percent_of_it() {
        let p = Arc::new(pacer(100.0, 1));
        // A window of 50: 50 answers in 0.5 s, then a 429.
        let stop = CancellationToken::new();
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..50 {
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(Duration::ZERO));
        let ceiling = p.report().ceiling.expect("ceiling");
        assert_eq!(ceiling, 50.0);
        // The window that counted those 50 passes; then, over 20 s at the
        // hold level, at least 97% of the ceiling leaves (it was held at
        // 97% and paced 48 in every 1.01 s: 95%).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = sent_within(&p, 20).await as f64;
        assert!(n >= 0.97 * ceiling * 20.0, "{n} in 20 s under {ceiling}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_report_gives_the_rate_achieved_not_the_rate_in_force() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        // Paced at 100/s, answered 20 a second (a slow server).
        let t = p.acquire(&stop).await.expect("t");
        for _ in 0..300 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            p.on_admitted(t, true);
        }
        assert_eq!(p.current_rate(), 100.0);
        let achieved = p.report().final_rate;
        assert!((19.0..=21.0).contains(&achieved), "{achieved}");
    }

    #[tokio::test(start_paused = true)]
    async fn advertised_policy_caps_the_rate_and_a_spent_quota_pauses() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        p.on_advertised(Advertised {
            rate: Some(20.0),
            window: Some(Duration::from_secs(10)),
            limit: None,
            remaining: Some(0),
            reset: Some(Duration::from_secs(2)),
        });
        assert!((p.current_rate() - 20.0 * ADVERTISED_SHARE).abs() < 1e-9);
        let start = Instant::now();
        p.acquire(&stop).await.expect("t");
        assert!(start.elapsed() >= Duration::from_secs(2));
        assert_eq!(p.report().quota_waits, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_retry_after_a_429_pauses_one_slot_then_doubles() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        // Until the next slot at the decreased rate, not a second (25 to
        // 50 slots lost to every 429 that nginx or haproxy sends).
        let t = p.acquire(&stop).await.expect("t");
        let wait = p.on_rate_limited(t, None);
        assert_eq!(wait, period_of(p.current_rate()));
        // 429 after 429 with nothing admitted between: doubling, jittered.
        for n in 1..4u32 {
            let t = p.acquire(&stop).await.expect("t");
            let wait = p.on_rate_limited(t, None);
            let ceiling = period_of(p.current_rate()) * (1 << n);
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?}");
        }
        // An admitted answer ends the series: one slot again.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = p.acquire(&stop).await.expect("t");
        p.on_admitted(t, true);
        let t = p.acquire(&stop).await.expect("t");
        assert_eq!(p.on_rate_limited(t, None), period_of(p.current_rate()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_pool_waits_for_the_first_answer() {
        let p = Arc::new(Pacer::new(PaceSettings::fixed(1000.0, 5), Arc::default()));
        let stop = CancellationToken::new();
        let first = p.acquire(&stop).await.expect("first");
        let q = p.clone();
        let others = tokio::spawn(async move { acquire_all(&q, 4, 1).await });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !others.is_finished(),
            "nobody may go before the first answer"
        );
        // The answer advertises 10/s: the pool starts at that pace.
        p.on_advertised(Advertised {
            rate: Some(10.0),
            window: Some(Duration::from_secs(1)),
            ..Advertised::default()
        });
        let answered = Instant::now();
        p.finished(first);
        let at = others.await.expect("joined");
        assert!(at[0] >= answered);
        for w in at.windows(2) {
            assert!(w[1] - w[0] >= period_of(p.current_rate()));
        }
    }

    #[tokio::test]
    async fn stop_ends_a_wait() {
        let p = pacer(1.0, 1);
        let stop = CancellationToken::new();
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::from_secs(3600)));
        stop.cancel();
        assert!(p.acquire(&stop).await.is_none());
    }
}
