//! What the rate is: the learned ceiling, probes, slow start, advertised
//! limits, and the pause after a 429.
//!
//! The rate follows AIMD with a learned ceiling: what the server was seen
//! to admit, never more. A 429 on a request sent after the latest pause
//! starts an episode, which sets the ceiling from what the server let
//! through, then holds the rate at it (the ceiling is a lower bound, and
//! the second gate's slack keeps the pace about 1% under it):
//! - after a second or more of sending: the best lower bound over the
//!   windows of 1 to 10 s before the 429 of what got through less
//!   `--burst` and one (a bucket admits at most its rate times a window
//!   and its burst; nginx lets `burst` + 1 through at once), never above
//!   the rate that was refused, nor, at the end of slow start, above the
//!   pace that held for its last second (a fixed window lets twice its
//!   count through across its edge);
//! - after a few requests (a bucket's small burst): halve, with a ceiling
//!   from what got through beyond `--burst` and one, at least half the
//!   rate, at most what got through at all (nothing got through: nothing
//!   learned);
//! - after many requests within a second (a window's count, or a bucket's
//!   larger burst, which look alike): that count per second, *tentative*;
//!   near the ceiling within a second of the last pause it is the same
//!   overshoot still counted (haproxy weighs the last second, refused
//!   requests too): a small step down.
//!
//! A 429 at the hold level after ten clean seconds is arrival jitter: a
//! pause only. After any 429, requests leave one by one whatever
//! `--burst` says (a catch-up of a few tipped haproxy at 46/s). When a
//! refusal costs only a slot (no `Retry-After`), slow start's ceiling is
//! climbed in small steps and the step that held before the refused one
//! is held as a *level* above the ceiling; a 429 at that level goes back
//! to the ceiling (see [`RISE_EVERY`]). A ceiling measured over five
//! seconds or more (and not capped under the measure), behind a
//! `Retry-After`, is probed no sooner than 60 times that pause (a probe
//! costs its 429's pause).
//!
//! A refused probe keeps the ceiling that held before it (it lowered a
//! measured ceiling by 2% each time). The pool pauses for `Retry-After`,
//! or without one until the next slot at the decreased rate, doubling
//! while 429s follow each other with nothing admitted between them. Such
//! a 429 does not lower the rate again: the pause was too short (a window
//! that has not drained), not the rate too high.
//!
//! A probe paces a step above the ceiling; when it holds, the ceiling
//! rises to the lower bound of what was admitted meanwhile, not to the
//! probe's level. Slow start's ceiling is climbed from at once: from the
//! end of its pause (a second after a shorter one), 10% of it higher each
//! second, until a 429 measures the limit over seconds at or above it. A
//! window's count is probed every three seconds by a step that doubles
//! each time it holds; a measured ceiling after thirty seconds by a small
//! step, and each probe that brings a 429 doubles that wait. Answers that
//! are not 429 and not 5xx raise the rate additively towards the hold
//! level (the target, or the ceiling), never on the first answers after a
//! pause. `--rate auto` starts with slow start: each second, the rate
//! admitted over the last one times 1.5.
//! Limits advertised by the server cap the rate; the first request goes
//! alone so they are known in time.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::schedule::{SECOND_SLACK, paced_period, period_of};
use super::{Advertised, Pacer, State, Ticket};

/// Held this close under the learned ceiling. The ceiling is a lower
/// bound of what the server admits, so it is safe to use whole; the
/// second gate's slack already keeps the pace about 1% under it, and
/// arrival jitter needs no more (at 0.97 the final rate ended 5% under
/// the ceiling; at 1.005 twice the count of a sliding window was refused).
pub const MARGIN: f64 = 1.0;

/// Share of an advertised limit used: the server said what it allows, so
/// only a little room is kept for jitter at its window edges.
pub const ADVERTISED_SHARE: f64 = 0.98;

/// The rate never drops below this share of the target (so a run recovers).
pub(super) const MIN_RATE_SHARE: f64 = 0.02;

/// Rate rises at most this often, and not within this long after a pause.
const ADJUST_EVERY: Duration = Duration::from_secs(1);

/// After this long at the hold level without a 429 the ceiling is probed;
/// each probe that brings a 429 doubles the wait, up to the longest. A
/// probe of a measured ceiling usually costs a 429 and its pause (a whole
/// second when the server rounds Retry-After up), so it is rare: the limit
/// is probed for a passing squeeze, not for every run.
pub(super) const PROBE_EVERY: Duration = Duration::from_secs(30);

const PROBE_EVERY_LONGEST: Duration = Duration::from_secs(240);

/// A probe of a tight ceiling is due no sooner than this many times the
/// server's latest `Retry-After` (a probe at 30 s that brought a 1 s
/// pause cost 2% of a minute's run). A loose one (measured over under
/// [`LOOSE_WINDOW`], so the burst taken off is 2% of it or more, or capped
/// under what was measured) is probed after [`PROBE_EVERY`] still: that
/// probe lifted a token bucket's ceiling from 48.8 to 49.5, and a fixed
/// window's slow start left 48 (its step before the overshoot).
const PROBE_COST: u32 = 60;
const LOOSE_WINDOW: Duration = Duration::from_secs(5);

/// Each probe raises the ceiling by this factor.
const PROBE_STEP: f64 = 1.02;

/// While the ceiling is only an estimate from less than a second of
/// sending (a window's count, or a bucket's burst: the two look alike),
/// it is probed this often, first by this factor, each step that held
/// twice as far as the last, so an estimate too low does not hold the run
/// back for long.
const TENTATIVE_PROBE_EVERY: Duration = Duration::from_secs(3);

/// Slow start's ceiling (what got through in its last seconds, while it
/// climbed) is probed from the end of the pause its 429 began, a step
/// higher every so often. How depends on what a refusal costs:
/// - a whole `Retry-After` (a second or more, 2% of the run after its
///   first 10 s): few big steps, a second apart, and the climb ends at
///   what got through when one is refused. A bucket refuses a pace a few
///   percent over its rate only once its burst is spent, seconds later,
///   so the steps go well over it (then the episode is seconds long, and
///   what got through in it says the rate to a percent), and the climb is
///   over within the first 10 s (`--rate auto` found 46/s against 50 when
///   each step waited three seconds and held longer);
/// - a slot (no `Retry-After`, as nginx and haproxy): small steps, each
///   held long enough for haproxy's weighted second to count it whole,
///   and the climb ends at the step that held before the one refused (a
///   window let that much through; the ceiling, which takes a burst off
///   what got through, sat 6% under haproxy's limit). A bucket whose
///   burst that was refuses it again, and the pace goes back to the
///   ceiling: one more 429, which costs a slot.
const RISE_EVERY: Duration = Duration::from_secs(1);
const RISE_STEP: f64 = 0.10;
const FINE_RISE_EVERY: Duration = Duration::from_secs(2);
const FINE_RISE_STEP: f64 = 0.04;

/// A refusal whose pause is this short or shorter is cheap (see
/// [`RISE_EVERY`]).
const CHEAP: Duration = Duration::from_millis(100);

/// A 429 at the hold level after this long without one is arrival jitter
/// (haproxy weighs the last second's count, so a few requests a little
/// bunched tip it over), not a rate too high: the pool pauses, the rate
/// stays. Stepping down for each one lowered haproxy's pace by 2% every
/// twenty seconds; a level that is too high is refused again within it.
const LONE: Duration = Duration::from_secs(10);

pub(super) const TENTATIVE_PROBE_STEP: f64 = 1.05;

/// Below this share of the hold level the rate climbs fast (a tenth of the
/// target per step); above it slowly (2% of the hold level per step).
const FAST_BELOW: f64 = 0.8;

/// Before any ceiling is known (`--rate auto`), each step sets the rate
/// to what the server admitted over the last second times this (its probe
/// step): slow start, so an unknown limit is found in seconds and never
/// overshot by more than the step. At 1.3 (and the slots queued at the
/// old rate) 50/s was found after 13 s: the climb from its ceiling must
/// be over within the first 10 s.
const SLOW_START: f64 = 1.5;

/// A 429 that comes back before this much sending after a pause means the
/// previous decrease was far too small: halve instead of stepping down.
const QUICK: Duration = Duration::from_millis(250);

/// A 429 whose measure is within this share of the ceiling lowers the
/// ceiling by STEP_DOWN at most (a measure further below: the limit fell).
const NEAR: f64 = 0.9;
const STEP_DOWN: f64 = 0.98;
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

impl State {
    /// What the server's limit is proven to be at least, by what it
    /// admitted: over each window from [`ADMIT_MIN`] to [`ADMIT_WINDOW`]
    /// ending at `now`, the answers admitted in it less `beyond` (the
    /// most a limiter lets through at once above its rate), per second of
    /// the window; the best of these. A bucket never admits more than its
    /// rate times the window and its burst, so each is a lower bound of
    /// its rate, whatever was sent before or between (slower seconds and
    /// pauses only lower a window's figure, and a longer window is taken
    /// where the bucket was full at its start). None when sending lasted
    /// under [`ADMIT_MIN`].
    fn admitted_bound(&self, now: Instant, beyond: f64) -> Option<f64> {
        self.admitted_bound_over(now, beyond)
            .map(|(bound, _)| bound)
    }

    /// [`State::admitted_bound`] and the window it was measured over.
    fn admitted_bound_over(&self, now: Instant, beyond: f64) -> Option<(f64, Duration)> {
        let mut best: Option<(f64, Duration)> = None;
        for (k, t) in self.admitted.iter().rev().enumerate() {
            let w = now.saturating_duration_since(*t);
            if w > ADMIT_WINDOW {
                break;
            }
            if w >= ADMIT_MIN {
                let bound = ((k + 1) as f64 - beyond).max(0.0) / w.as_secs_f64();
                if best.is_none_or(|(b, _)| bound > b) {
                    best = Some((bound, w));
                }
            }
        }
        best
    }

    /// Admitted answers that arrived within `window` before `now` (the log
    /// keeps [`ADMIT_WINDOW`]).
    fn admitted_within(&self, now: Instant, window: Duration) -> usize {
        match now.checked_sub(window) {
            Some(from) => self.admitted.iter().filter(|t| **t >= from).count(),
            None => self.admitted.len(),
        }
    }
}

impl Pacer {
    /// A 429 came back for the request sent with `ticket`. Slows down
    /// once per episode and pauses the pool for `retry_after` or, without
    /// one, until the next slot at the decreased rate (doubling, jittered,
    /// while 429s follow each other with nothing admitted between them).
    /// Returns the pause it set.
    pub fn on_rate_limited(&self, ticket: Ticket, retry_after: Option<Duration>) -> Duration {
        let mut s = self.lock();
        let now = Instant::now();
        s.report.rate_limited += 1;
        // Sent after the latest pause began: the rate in force is too high,
        // unless nothing at all got through since that pause: then the
        // pause was too short (a window that has not drained), not the
        // rate too high, and only the next pause grows.
        let new_episode = ticket.epoch == s.epoch;
        let refused_again = s.admitted_since_pause == 0 && s.report.episodes > 0;
        if new_episode && !refused_again {
            s.cheap = retry_after.is_none_or(|d| d <= CHEAP);
            self.decrease(&mut s, now);
            if let Some(d) = retry_after.filter(|_| !s.loose) {
                // A probe costs a 429 and this pause: when the ceiling is
                // tight, probe seldom enough that it costs under 2% of
                // the time.
                let seldom = d.saturating_mul(PROBE_COST).min(PROBE_EVERY_LONGEST);
                s.probe_every = s.probe_every.max(seldom);
            }
        }
        let wait = match retry_after {
            Some(d) => d,
            None if new_episode => {
                let level = s.backoff_level.min(16);
                let ceiling = period_of(s.rate)
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
        // Slow start's ceiling is climbed from the end of a pause of a
        // second or more (the limiter has forgotten the overshoot by then);
        // after a shorter one, a second later (haproxy still counted the
        // overshoot, refused requests too, and refused the first step).
        let drained = s.not_before.saturating_duration_since(s.last_adjust) >= ADJUST_EVERY;
        let settle = if s.rising && drained {
            Duration::ZERO
        } else {
            ADJUST_EVERY
        };
        if now < s.not_before + settle || now.duration_since(s.last_adjust) < ADJUST_EVERY {
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
                s.held_rate = s.rate;
                (s.rate * SLOW_START).min(admitted * SLOW_START).max(s.rate)
            } else if s.rising {
                hold
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
            let every = if s.rising && s.cheap {
                FINE_RISE_EVERY
            } else if s.rising {
                RISE_EVERY
            } else if s.tentative {
                TENTATIVE_PROBE_EVERY
            } else {
                s.probe_every
            };
            if now.duration_since(s.probe_from) >= every {
                // What got through meanwhile held: the ceiling is at least
                // that (beyond the burst), never more.
                let held = s.admitted_bound(now, self.beyond()).unwrap_or(c);
                s.ceiling = Some(c.max(held));
                s.probe = if s.rising {
                    s.probe + if s.cheap { FINE_RISE_STEP } else { RISE_STEP }
                } else if s.tentative {
                    let step = s.tentative_step;
                    s.tentative_step = 1.0 + 2.0 * (step - 1.0);
                    step
                } else {
                    PROBE_STEP
                };
                s.probe_from = now;
                s.probed_at = Some(now);
                if s.rising {
                    // No climb to the step: it starts now.
                    s.rise_held = s.rate;
                    let hold = self.hold(&s);
                    self.set_rate(&mut s, hold);
                }
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

    /// What a limiter may let through at once beyond its rate, to take
    /// off a count before it says anything about the rate: `--burst` (the
    /// burst the user says the server allows), one more (nginx's
    /// `burst=5` lets six through at once), and one for the request at a
    /// window's edge.
    fn beyond(&self) -> f64 {
        f64::from(self.settings.burst) + 1.0
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
        s.ceiling.map_or(top, |c| {
            top.min(c.max(s.level.unwrap_or(0.0)) * s.probe * MARGIN)
        })
    }

    /// Admitted answers per second over the last seconds of sending (the
    /// whole run when shorter): the rate achieved, as the server saw it.
    pub(super) fn achieved(&self, s: &State) -> f64 {
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
        // The server refused: whatever `--burst` says, requests leave one
        // by one from now on. A catch-up of a few requests after a stall
        // tips a window limiter that weighs the last second (haproxy
        // refused at 46/s with --burst 5, 8% under its limit).
        s.burst = 1;
        // A 429 soon after a probe raised the ceiling: the old ceiling was
        // right, so probe less often from now on.
        if let Some(at) = s.probed_at.take()
            && !s.tentative
            && now.duration_since(at) < s.probe_every
        {
            s.probe_every = (s.probe_every * 2).min(PROBE_EVERY_LONGEST);
        }
        // A probe is over: back to the ceiling, which held until the
        // probe, so it is kept at least (a failed probe lowered a measured
        // ceiling by up to 2% each time).
        let probing = std::mem::replace(&mut s.probe, 1.0) > 1.0;
        let since_pause = now.saturating_duration_since(s.not_before);
        let last_episode = s.last_episode.replace(now);
        // At the hold level after a long clean stretch: jitter, not a
        // rate too high. Pause only.
        let lone = last_episode.is_none_or(|t| now.duration_since(t) >= LONE);
        if !probing && lone && since_pause >= LONE && s.ceiling.is_some() && r >= self.hold(s) {
            s.last_adjust = now;
            s.probe_from = now;
            return;
        }
        // The climb from slow start is over: the rate before its last
        // step held, so it is held (a window let that much through; a
        // bucket whose burst it was refuses it again, and then it goes).
        let climbed = (s.rising && probing && s.cheap).then_some(s.rise_held);
        if !probing
            && !s.rising
            && let Some(level) = s.level.take()
            && r >= level
        {
            // The level held above the ceiling is refused: it was a
            // bucket's burst (or, within a second or so, haproxy still
            // counting the climb). Back to the ceiling, raised to what got
            // through if that can be measured.
            let measured = (since_pause >= ADMIT_MIN)
                .then(|| s.admitted_bound(now, self.beyond()))
                .flatten()
                .unwrap_or(0.0);
            let ceiling = s
                .ceiling
                .unwrap_or(0.0)
                .max(measured)
                .min(r)
                .max(self.min_rate);
            s.ceiling = Some(ceiling);
            s.tentative = false;
            self.set_rate(s, (ceiling * MARGIN).min(self.hold(s)));
            s.last_adjust = now;
            s.probe_from = now;
            return;
        }
        if s.rising {
            s.level = None;
        }
        let held = s.ceiling.filter(|_| probing);
        let admitted = s.admitted_since_pause as f64;
        // Only a measure over seconds (below) may find the ceiling tight.
        s.loose = true;
        // Slow start (auto, no ceiling yet) raised the rate during the
        // measure, so what got through is a lower bound only.
        let slow_start = self.settings.auto && s.ceiling.is_none();
        // Slow start's first ceiling is climbed from at once.
        let mut rising = slow_start;
        // Every ceiling is what the server admitted, never more.
        let (ceiling, rate, tentative) = if since_pause >= ADMIT_MIN {
            // A second or more of sending: the best lower bound of the
            // limit from what the server let through over the last
            // seconds (see `admitted_bound`), never above the rate that
            // was refused.
            let bound = s.admitted_bound_over(now, self.beyond());
            let mut measured = bound.map_or(0.0, |(b, _)| b).min(r);
            if slow_start {
                // Not above the pace that held for a second before the
                // last step: a fixed window lets twice its count through
                // across its edge, which a second's count takes for a
                // rate (55/s learned against 50).
                measured = measured.min(s.held_rate);
            }
            if let Some(held) = held {
                measured = measured.max(held).min(r);
            } else if let Some(c) = s.ceiling.filter(|c| measured > *c * NEAR) {
                // Refused at about the ceiling: arrival jitter, or a
                // ceiling a little high. Step down a little; the measure
                // is a lower bound, and took 50/s windows to 46/s.
                measured = measured.max((c * STEP_DOWN).min(r));
            }
            // Over a short window the burst taken off is a large share,
            // and a ceiling capped under the measure (the pace that held
            // before slow start's last step) says only "not above": either
            // may sit well under the limit.
            s.loose = bound.is_none_or(|(b, w)| w < LOOSE_WINDOW || measured < b);
            (Some(measured), measured * MARGIN, slow_start)
        } else if let Some(held) = held {
            // A probe refused within a second of its start: too short to
            // measure, and the ceiling held until it.
            (Some(held), held * MARGIN, false)
        } else if admitted < r * QUICK.as_secs_f64() {
            // Refused after a few requests: a bucket's small burst. What
            // got through beyond `--burst` over the episode bounds its
            // limit from below (taken as at least half the rate), what got
            // through at all from above. Halve, and climb back no higher
            // than a margin under that. Nothing got through: nothing
            // learned.
            let t = since_pause.as_secs_f64();
            let beyond = admitted - self.beyond();
            let ceiling = (beyond > 0.0 && t > 0.0)
                .then(|| (beyond / t).max(r / 2.0).min(admitted / t).min(r))
                .or(s.ceiling);
            (ceiling, r / 2.0, false)
        } else {
            // Refused after many requests within a second: that many per
            // second is a window limiter's count, or a bucket's burst
            // (then the limit is higher). Taken, and probed soon.
            let count = admitted.min(r);
            match s.ceiling.filter(|c| count > *c * NEAR) {
                // About the ceiling, within a second of the last pause: the
                // same overshoot still counted (haproxy's rate weighs the
                // last second, refused requests too), not a new measure.
                // Step down a little and go on as before.
                Some(c) => {
                    let count = count.max((c * STEP_DOWN).min(r));
                    rising = s.rising;
                    (Some(count), count * MARGIN, s.tentative)
                }
                None => (Some(count), count * MARGIN, true),
            }
        };
        s.ceiling = ceiling.map(|c| c.max(self.min_rate));
        s.tentative = tentative;
        s.rising = rising;
        let rate = match climbed.filter(|l| s.ceiling.is_some_and(|c| *l > c) && *l < r) {
            Some(l) => {
                s.level = Some(l);
                l
            }
            None => rate,
        };
        s.tentative_step = TENTATIVE_PROBE_STEP;
        self.set_rate(s, rate.min(self.hold(s)));
        s.last_adjust = now;
        s.probe_from = now;
    }

    fn set_rate(&self, s: &mut State, rate: f64) {
        let rate = rate.clamp(self.min_rate, self.settings.target);
        if rate != s.rate {
            tracing::debug!("request rate now {rate:.2}/s");
        }
        s.rate = rate;
        s.period = paced_period(rate);
        self.gauge.store(rate.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::PaceSettings;
    use super::super::tests::*;
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio_util::sync::CancellationToken;

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
    async fn the_report_counts_each_second_paused_once() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        let a = p.acquire(&stop).await.expect("a");
        let b = p.acquire(&stop).await.expect("b");
        p.on_rate_limited(a, Some(Duration::from_secs(2)));
        // Another 429 of the same flight a second later asks for two
        // more: the pauses overlap by a second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        p.on_rate_limited(b, Some(Duration::from_secs(2)));
        assert_eq!(p.report().paused, Duration::from_secs(3));
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
        let t = learn_60(&p).await;
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
    async fn the_time_paused_adds_what_each_pause_adds_overlaps_once() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        assert_eq!(p.report().paused, Duration::ZERO);
        let (a, b) = (
            p.acquire(&stop).await.expect("a"),
            p.acquire(&stop).await.expect("b"),
        );
        p.on_rate_limited(a, Some(Duration::from_secs(2)));
        // In flight when the first began; asks for 3 s from now: 1 s more.
        p.on_rate_limited(b, Some(Duration::from_secs(3)));
        assert_eq!(p.report().paused, Duration::from_secs(3));
        // After the pause: another 2 s.
        let c = p.acquire(&stop).await.expect("c");
        p.on_rate_limited(c, Some(Duration::from_secs(2)));
        assert_eq!(p.report().paused, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_before_anything_got_through_after_a_pause_only_lengthens_it() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        let t = learn_60(&p).await;
        p.on_admitted(t, true);
        let rate = p.current_rate();
        // A window that has not drained (haproxy counts the refused too):
        // 429 after 429 with nothing admitted. The rate stays (it was
        // halved each time: 58 to 7/s in three short pauses), the pause
        // grows.
        let mut last = Duration::ZERO;
        for _ in 0..3 {
            let t = p.acquire(&stop).await.expect("t");
            let wait = p.on_rate_limited(t, None);
            assert!(wait >= last, "{wait:?} after {last:?}");
            last = wait;
        }
        assert_eq!(p.current_rate(), rate);
        assert_eq!(p.report().episodes, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_at_about_the_ceiling_steps_it_down_a_little() {
        let p = pacer(100.0, 5);
        let stop = CancellationToken::new();
        let t = learn_60(&p).await;
        let learned = p.report().ceiling.expect("learned");
        // Two seconds at the hold level, then a 429 (arrival jitter): the
        // measure less --burst is 2.5/s under what got through.
        p.on_admitted(t, true);
        let mut t = p.acquire(&stop).await.expect("t");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            p.on_admitted(t, true);
            t = p.acquire(&stop).await.expect("t");
        }
        p.on_rate_limited(t, Some(Duration::ZERO));
        let now = p.report().ceiling.expect("ceiling");
        assert!(now >= learned * STEP_DOWN - 1e-9, "{learned} -> {now}");
        assert!(now <= learned, "{learned} -> {now}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_429_after_a_long_clean_stretch_keeps_the_rate_a_second_lowers_it() {
        let p = pacer(100.0, 1);
        let stop = CancellationToken::new();
        learn_60(&p).await;
        let (rate, ceiling) = (p.current_rate(), p.report().ceiling);
        // Eleven clean seconds at the hold level, then one 429 (haproxy's
        // weighted second tipped by arrival jitter): a pause, no step
        // down (each one took 2% off haproxy's pace).
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 11).await;
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, None);
        assert_eq!(p.current_rate(), rate);
        assert_eq!(p.report().ceiling, ceiling);
        // Another within the next seconds: the rate was too high after all.
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 2).await;
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, None);
        assert!(p.current_rate() < rate, "{} after {rate}", p.current_rate());
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_429_requests_leave_one_by_one_whatever_the_burst() {
        let p = Arc::new(pacer(50.0, 5));
        let stop = CancellationToken::new();
        let t = p.acquire(&stop).await.expect("t");
        p.on_rate_limited(t, Some(Duration::from_secs(1)));
        let rate = p.current_rate();
        // Idle a while (a stall, or rows that needed no request): the
        // schedule's credit would let `--burst` leave at once.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let at = acquire_all(&p, 8, 10).await;
        let period = super::super::schedule::period_of(rate);
        for w in at.windows(2) {
            assert!(w[1] - w[0] >= period / 2, "{:?} apart", w[1] - w[0]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_tight_ceiling_behind_a_costly_retry_after_is_probed_seldom() {
        let stop = CancellationToken::new();
        // Measured over 8 s: the burst taken off is 1% of it. A probe
        // would cost a 429 and its second: not within a minute.
        let p = pacer(100.0, 1);
        learn_60_over(&p, 8, Duration::from_secs(1)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 45).await;
        assert_eq!(p.lock().probe, 1.0, "no probe within 45 s");
        // Measured over 2 s: loose (the burst is 2.5% of it), so probed
        // after 30 s as before.
        let p = pacer(100.0, 1);
        learn_60_over(&p, 2, Duration::from_secs(1)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = p.acquire(&stop).await.expect("t");
        answer_for(&p, t, 31).await;
        assert!(p.lock().probe > 1.0, "probed after 30 s");
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
}
