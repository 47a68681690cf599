//! Pacing shared by every worker: one request schedule, the adaptive rate
//! and the pool-wide pauses.
//!
//! Owns "when may the next request go". [`Pacer`] is what the uploader
//! holds: a worker takes a [`Ticket`] from [`Pacer::acquire`] before each
//! request and hands the answer back (`on_admitted`, `on_rate_limited`,
//! `on_advertised`, `finished`). Its two halves share one state under one
//! lock:
//! - `schedule`: when the next request may leave at the current rate
//!   (the GCRA schedule, the send gates, pauses);
//! - `control`: what the rate is (the learned ceiling, probes, slow
//!   start, advertised limits, the pause after a 429).
//!
//! It must not send requests, parse headers or decide about rows.

mod control;
mod schedule;
#[cfg(test)]
mod sim;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use control::{MIN_RATE_SHARE, PROBE_EVERY, TENTATIVE_PROBE_STEP};
use schedule::{Leave, paced_period};

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
    /// How long the pool was paused in all (429 answers, a spent quota):
    /// overlapping pauses count once.
    pub paused: Duration,
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
    /// The tentative ceiling is slow start's: probed a step higher every
    /// second from the end of the pause (see `control::RISE_EVERY`).
    rising: bool,
    /// The next probe's factor while the ceiling is tentative.
    tentative_step: f64,
    /// A rate that held with no 429 while rising, above the ceiling (which
    /// takes a bucket's burst off what got through, so it sits under what
    /// a window limiter let through): the hold level's base, until a 429
    /// at it.
    level: Option<f64>,
    /// While rising: the rate in force before the latest step.
    rise_held: f64,
    /// Whether the latest 429 cost a slot, not a whole `Retry-After`.
    cheap: bool,
    /// The ceiling was measured over a short window (see
    /// `control::LOOSE_WINDOW`).
    loose: bool,
    /// When the latest 429 episode began.
    last_episode: Option<Instant>,
    /// Requests that may leave at once: `--burst`, until the server
    /// refuses one (then 1, see `control::decrease`).
    burst: u32,
    /// Slow start: the rate before its last step, which held a second.
    held_rate: f64,
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
                period: paced_period(start),
                tat: now,
                gate_tat: now,
                not_before: now,
                epoch: 0,
                started: false,
                sent: VecDeque::new(),
                ceiling: None,
                tentative: false,
                rising: false,
                probe: 1.0,
                held_rate: start,
                burst: settings.burst,
                level: None,
                rise_held: 0.0,
                last_episode: None,
                cheap: false,
                loose: false,
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
}

#[cfg(test)]
mod tests {
    use super::schedule::period_of;
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
    pub(super) fn late_pacer(rate: f64, burst: u32, extra: Duration) -> Pacer {
        made_late(pacer(rate, burst), extra)
    }

    /// `p`, with wake-ups late as a real timer's (up to `extra` more), and
    /// no randomness left.
    pub(super) fn made_late(p: Pacer, extra: Duration) -> Pacer {
        made_late_at(p, extra, Duration::from_micros(300))
    }

    /// [`made_late`] with the timer's millisecond grid `phase` off the
    /// start (tokio's paused clock keeps its own grid, whose phase varies
    /// from run to run, so one phase alone is not repeatable).
    pub(super) fn made_late_at(p: Pacer, extra: Duration, phase: Duration) -> Pacer {
        // The backoff's jitter too is the same in every run.
        p.lock().rng = fastrand::Rng::with_seed(11);
        *p.late.lock().expect("lock") = Some(Late {
            // Off the millisecond grid, as a real start is.
            origin: Instant::now() - phase,
            extra,
            rng: fastrand::Rng::with_seed(7),
        });
        p
    }

    /// Requests that leave within `secs` seconds with 8 workers.
    pub(super) async fn sent_within(p: &Arc<Pacer>, secs: u64) -> usize {
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

    pub(super) fn pacer(rate: f64, burst: u32) -> Pacer {
        let settings = PaceSettings {
            probe_first: false,
            ..PaceSettings::fixed(rate, burst)
        };
        Pacer::new(settings, Arc::default())
    }

    /// Paced time advances only when every task waits, so instants are exact.
    pub(super) async fn acquire_all(p: &Arc<Pacer>, workers: usize, each: usize) -> Vec<Instant> {
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

    /// Answers `t`'s request as admitted every 100 ms for `secs` seconds.
    pub(super) async fn answer_for(p: &Pacer, t: Ticket, secs: u64) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.on_admitted(t, true);
        }
    }

    /// Two seconds of clean sending at 60/s, then a 429: a measured ceiling.
    pub(super) async fn learn_60(p: &Pacer) -> Ticket {
        learn_60_over(p, 2, Duration::ZERO).await
    }

    /// `secs` seconds of clean sending at 60/s, then a 429 asking for
    /// `retry_after`: a ceiling measured over `secs` seconds.
    pub(super) async fn learn_60_over(p: &Pacer, secs: u64, retry_after: Duration) -> Ticket {
        let stop = CancellationToken::new();
        let mut t = p.acquire(&stop).await.expect("t");
        for _ in 0..60 * secs {
            tokio::time::sleep(Duration::from_micros(16_667)).await;
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(retry_after));
        t
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
