//! Pacing shared by every worker: the rate limiter, the adaptive rate and
//! the pool-wide pause after a 429.
//!
//! Owns "when may the next request go". One GCRA limiter (governor) spaces
//! requests at the current rate; after a 429 the whole pool waits until a
//! shared not-before instant (from `Retry-After`) and the rate is halved;
//! after each second without a 429 it grows back by a tenth of `--rate`,
//! never above it. The limiter keeps at most `--burst` cells, so after a
//! stall the pool never bursts to catch up. It must not send requests.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The rate never drops below this share of `--rate` (so a run recovers).
const MIN_RATE_SHARE: f64 = 0.05;
/// Rate changes at most this often, so one burst of 429s from requests
/// already in flight halves the rate once, not eight times.
const ADJUST_EVERY: Duration = Duration::from_secs(1);

/// A GCRA quota of `rate`/s with `burst` cells: with burst 1 requests are
/// evenly spaced, never bunched (`Quota::per_second` would allow a burst of
/// a full second's worth).
pub fn quota(rate: f64, burst: u32) -> Quota {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}

struct State {
    rate: f64,
    limiter: std::sync::Arc<DefaultDirectRateLimiter>,
    not_before: Option<Instant>,
    last_adjust: Instant,
}

/// The shared pacer.
pub struct Pacer {
    max_rate: f64,
    burst: u32,
    state: Mutex<State>,
    rate_limited: AtomicU64,
}

impl Pacer {
    /// A pacer at `rate` requests/s with `burst` cells.
    pub fn new(rate: f64, burst: u32) -> Pacer {
        Pacer {
            max_rate: rate,
            burst,
            state: Mutex::new(State {
                rate,
                limiter: std::sync::Arc::new(RateLimiter::direct(quota(rate, burst))),
                not_before: None,
                last_adjust: Instant::now(),
            }),
            rate_limited: AtomicU64::new(0),
        }
    }

    /// 429 answers seen so far.
    pub fn rate_limited_count(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// The current rate, requests per second.
    pub fn current_rate(&self) -> f64 {
        self.state.lock().map(|s| s.rate).unwrap_or(self.max_rate)
    }

    /// Waits until a request may go; false when `stop` fires first.
    pub async fn acquire(&self, stop: &CancellationToken) -> bool {
        loop {
            let (not_before, limiter) = match self.state.lock() {
                Ok(s) => (s.not_before, s.limiter.clone()),
                Err(_) => return false,
            };
            if let Some(t) = not_before.filter(|t| *t > Instant::now()) {
                tokio::select! {
                    _ = stop.cancelled() => return false,
                    _ = tokio::time::sleep_until(t) => {}
                }
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = limiter.until_ready() => {}
            }
            // A 429 may have arrived while this worker waited for its cell:
            // then it waits for the pause like everyone else.
            let paused = self
                .state
                .lock()
                .map(|s| s.not_before.is_some_and(|t| t > Instant::now()))
                .unwrap_or(true);
            if !paused {
                return !stop.is_cancelled();
            }
        }
    }

    /// A 429 came back: pause the whole pool for `wait` and slow down.
    pub fn on_rate_limited(&self, wait: Duration) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else { return };
        let until = now + wait;
        s.not_before = Some(s.not_before.map_or(until, |t| t.max(until)));
        if now.duration_since(s.last_adjust) >= ADJUST_EVERY || s.rate >= self.max_rate {
            let rate = (s.rate / 2.0).max(self.max_rate * MIN_RATE_SHARE);
            self.set_rate(&mut s, rate, now);
        }
    }

    /// A request got an answer that was not a 429: recover the rate.
    pub fn on_answer(&self) {
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else { return };
        if s.rate < self.max_rate && now.duration_since(s.last_adjust) >= ADJUST_EVERY {
            let rate = (s.rate + self.max_rate / 10.0).min(self.max_rate);
            self.set_rate(&mut s, rate, now);
        }
    }

    fn set_rate(&self, s: &mut State, rate: f64, now: Instant) {
        s.rate = rate;
        s.last_adjust = now;
        // A fresh limiter holds `burst` cells at most: no catch-up burst.
        s.limiter = std::sync::Arc::new(RateLimiter::direct(quota(rate, self.burst)));
        tracing::debug!("request rate now {rate:.2}/s");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_spaces_requests_evenly() {
        let q = quota(10.0, 1);
        assert_eq!(q.replenish_interval(), Duration::from_millis(100));
        assert_eq!(q.burst_size().get(), 1);
        let q = quota(0.5, 3);
        assert_eq!(q.replenish_interval(), Duration::from_secs(2));
        assert_eq!(q.burst_size().get(), 3);
    }

    #[tokio::test]
    async fn rate_halves_on_429_and_never_passes_the_maximum() {
        let p = Pacer::new(100.0, 1);
        p.on_rate_limited(Duration::ZERO);
        assert_eq!(p.current_rate(), 50.0);
        // More 429s from the same moment do not collapse the rate further.
        p.on_rate_limited(Duration::ZERO);
        assert_eq!(p.current_rate(), 50.0);
        assert_eq!(p.rate_limited_count(), 2);
        p.on_answer();
        assert!(p.current_rate() <= 100.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_worker_until_the_not_before_instant() {
        let p = Pacer::new(1000.0, 10);
        let stop = CancellationToken::new();
        let start = Instant::now();
        p.on_rate_limited(Duration::from_secs(3));
        assert!(p.acquire(&stop).await);
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    #[tokio::test]
    async fn stop_ends_a_wait() {
        let p = Pacer::new(1.0, 1);
        let stop = CancellationToken::new();
        p.on_rate_limited(Duration::from_secs(3600));
        stop.cancel();
        assert!(!p.acquire(&stop).await);
    }
}
