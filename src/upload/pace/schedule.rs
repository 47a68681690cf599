//! When the next request may leave: the schedule, the send gates, pauses.
//!
//! There is one schedule on tokio's
//! clock, built once and never rebuilt (GCRA: a theoretical arrival time
//! that every [`Pacer::acquire`] advances by one period to reserve its own
//! slot, no more than a period ahead, so a rate change applies from the
//! next slot). A rate change only changes the period, which is the second
//! gate's pace (below), so requests leave evenly. A pause (after a 429, or
//! when an advertised quota is spent) moves the schedule to the end of the
//! pause with no burst credit, and bumps an epoch: a worker whose slot was
//! reserved before the pause re-reserves after it, so requests re-enter one
//! by one at the reduced rate. A last gate at send time runs the same
//! schedule on the instants requests actually leave. Both keep absolute
//! deadlines: a late wake-up does not move the next request's slot, and
//! up to 20 ms of lateness (five requests' worth at most) is made up at no
//! more than twice the rate (`burst` in any half period), so timer
//! lateness never adds up and a long stall is never made up in a burst.
//!
//! A second gate keeps the rate's worth of requests or fewer in any
//! second (plus 10 ms of slack for arrival jitter): window limiters count
//! per second, and a catch-up burst after a stall must not add up to more.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Pacer, State};

/// No more than the rate's worth of requests leave in any second and this
/// much (the rate's worth rounded up, over the time they take at the rate,
/// and this slack for the jitter between sending and arriving).
pub(super) const SECOND_SLACK: Duration = Duration::from_millis(10);

/// How much lateness the send gate lets requests catch up: timer wake-ups
/// come late by up to a tick (1 ms), and by several on a busy machine; a
/// request that woke late must not hold back the next, or the lateness
/// adds up (it cost 8% at 1 000/s on a loaded machine with 2 ms). Lateness
/// beyond it is dropped, so a long stall is never made up in a burst; and
/// never more than CATCH_UP_MOST requests' worth.
const CATCH_UP: Duration = Duration::from_millis(20);
const CATCH_UP_MOST: u32 = 5;
/// The timer's resolution: requests are not spaced closer than this (a
/// sleep shorter than a tick wakes a tick late, so at high rates the
/// requests due at one wake-up leave together, within CATCH_UP).
const TICK: Duration = Duration::from_millis(1);

/// Bound of the send log the gates read (memory stays flat at any rate).
const SENT_LOG_MAX: usize = 100_000;

/// Longest period (and burst window) the schedule uses, so instant
/// arithmetic cannot overflow whatever the flags say.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// What a worker whose slot has come does next.
pub(super) enum Leave {
    Go,
    Paused,
    WaitUntil(Instant),
}

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

/// The schedule's period at `rate`: the second gate's pace (the rate's
/// worth in a second and the slack), so requests leave evenly and the
/// gate only stops a catch-up. Paced at the bare rate, the schedule ran
/// ahead of the gate, which held requests back at each second's end, and
/// the catch-up that followed put 54/s into part of a second paced at
/// 46/s: haproxy, whose rate weighs the previous second by the share of
/// the current one still to come, refused.
pub(super) fn paced_period(rate: f64) -> Duration {
    let (n, span) = second_gate(rate, period_of(rate));
    let even = span / u32::try_from(n).unwrap_or(u32::MAX);
    // A hair slower than the gate, or jitter makes the gate hold one
    // request until its second is over, and it leaves with the next one
    // (haproxy refused the pair when it opened a second).
    even + even / 1000
}

pub(super) fn period_of(rate: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rate)
        .unwrap_or(LONGEST)
        .clamp(Duration::from_nanos(1), LONGEST)
}

impl Pacer {
    /// A slot and its epoch, or when to ask again (the end of a pause, or
    /// a period before the next slot).
    pub(super) fn reserve(&self) -> Result<(Instant, u64), Instant> {
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
        // A slot is handed out no more than a period ahead: a worker that
        // would wait longer waits first and asks again. Otherwise every
        // idle worker holds a slot at the old period and a new rate
        // applies only after them all (16 workers at 10/s: 1.6 s, and
        // auto's slow start climbed every other second).
        if earliest > now + s.period {
            return Err(earliest - s.period);
        }
        let slot = earliest.max(now);
        // Absolute deadlines here too: a slot taken late (the worker's
        // wake-up came after it) does not move the next one, up to the
        // catch-up; a schedule that fell further behind (nobody asked)
        // starts again from now, with no credit beyond the burst.
        let behind = now.saturating_duration_since(s.tat);
        s.tat = if behind <= self.catch_up(&s) {
            s.tat
        } else {
            now
        } + s.period;
        Ok((slot, s.epoch))
    }

    pub(super) fn leave(&self, epoch: u64) -> Leave {
        let mut s = self.lock();
        if s.epoch != epoch {
            return Leave::Paused;
        }
        let now = Instant::now();
        // The send gate: the schedule again, on the instants requests
        // actually leave. Its deadlines are absolute: a request that left
        // late does not move the next one's, and up to CATCH_UP of
        // lateness is made up (it added up when each request had to wait a
        // whole period after the previous one's actual send), at no more
        // than twice the rate: workers that woke late together leave at
        // most `burst` in any half period.
        let burst = s.burst as usize;
        let allowance = self.tau(&s) + self.catch_up(&s);
        let earliest = s.gate_tat.checked_sub(allowance).unwrap_or(now);
        let half = Some(s.period / 2)
            .filter(|h| *h >= TICK)
            .unwrap_or(Duration::ZERO);
        let spaced = s.sent.len().checked_sub(burst).and_then(|i| s.sent.get(i));
        if let Some(t) = [Some(earliest), spaced.map(|t| *t + half)]
            .into_iter()
            .flatten()
            .find(|t| now < *t)
        {
            return Leave::WaitUntil(t);
        }
        // At most the rate's worth in any second (and slack): a worker that
        // woke late may catch up, but never so much that a one-second
        // window sees more than the rate.
        let (n, span) = second_gate(s.rate, period_of(s.rate));
        if let Some(oldest) = s.sent.len().checked_sub(n).and_then(|i| s.sent.get(i))
            && now < *oldest + span
        {
            return Leave::WaitUntil(*oldest + span);
        }
        s.gate_tat = s.gate_tat.max(now) + s.period;
        s.sent.push_back(now);
        while s.sent.len() > n.max(burst) {
            s.sent.pop_front();
        }
        Leave::Go
    }

    /// How much lateness is made up: CATCH_UP, at least a period, at most
    /// CATCH_UP_MOST periods.
    fn catch_up(&self, s: &State) -> Duration {
        CATCH_UP
            .max(s.period)
            .min(s.period.saturating_mul(CATCH_UP_MOST))
    }

    /// How far ahead of the schedule a burst may go.
    fn tau(&self, s: &State) -> Duration {
        s.period
            .saturating_mul(s.burst.saturating_sub(1))
            .min(LONGEST)
    }

    pub(super) fn pause(&self, s: &mut State, until: Instant) {
        // Only what this pause adds to the one in force, if any.
        let from = s.not_before.max(Instant::now());
        s.report.paused += until.saturating_duration_since(from);
        s.not_before = s.not_before.max(until);
        s.epoch += 1;
        // Re-enter one by one: the first slot is the end of the pause, and
        // no burst credit is carried across it.
        s.tat = s.not_before + self.tau(s);
        s.started = true;
        s.admitted_since_pause = 0;
    }

    /// Sleeps until `t` (in tests, as late as a real timer); false when
    /// `stop` fires first.
    pub(super) async fn sleep_until(&self, t: Instant, stop: &CancellationToken) -> bool {
        #[cfg(test)]
        let t = match self
            .late
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
    use super::super::control::MARGIN;
    use super::super::tests::*;
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn late_wake_ups_do_not_add_up_at_burst_1() {
        // The figures (against an unlimited server, --burst 1):
        // 95% of 50/s, 82% of 200/s, 69% of 400/s, when each request
        // waited a whole period after the previous one's late send.
        // A busy machine wakes them later still (up to 5 ms here): that
        // too is made up.
        for extra in [300, 5000] {
            for rate in [10.0, 50.0, 200.0, 400.0, 1000.0] {
                let p = Arc::new(late_pacer(rate, 1, Duration::from_micros(extra)));
                let n = sent_within(&p, 10).await as f64;
                assert!(
                    n >= 0.98 * rate * 10.0,
                    "{n} in 10 s at {rate}/s, {extra} µs"
                );
                assert!(
                    n <= rate * 10.0 + 1.0,
                    "{n} in 10 s at {rate}/s, {extra} µs"
                );
            }
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
        // Evenly spaced from the first request: no catch-up burst (the
        // paused clock wakes on whole milliseconds).
        for w in at.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= period_of(100.0), "{gap:?}");
            assert!(
                gap <= paced_period(100.0) + Duration::from_millis(1),
                "{gap:?}"
            );
        }
        // 0.1 s of sending is too short to measure: the rate halves, and
        // what got through beyond --burst in 0.1 s bounds the limit (at
        // least half the rate: 50/s).
        p.on_rate_limited(t, Some(Duration::ZERO));
        assert_eq!(p.report().ceiling, Some(50.0));
        assert_eq!(p.current_rate(), 50.0 * MARGIN);
    }
}
