//! Fault knobs of the sandbox and the decisions drawn from them.
//!
//! Owns [`Faults`] (public, settable at runtime), the seeded random generator
//! and the token bucket behind the rate limit. It decides *whether* a request
//! is limited, delayed or sabotaged; it must not build HTTP responses or touch
//! the customer store (the routes do both, in the order the decision says).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// How a `429` tells the client when to come back (RFC 9110 allows both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
pub enum RetryAfterStyle {
    /// Whole seconds, rounded up, at least 1.
    #[default]
    Seconds,
    /// An IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
    HttpDate,
}

/// A malformed answer to `POST /v2/customers`, as a proxy or a buggy server
/// might send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum JunkMode {
    /// `200 OK` with an empty body; the customer is stored.
    EmptyOk,
    /// `502 Bad Gateway` HTML page; nothing is stored.
    #[value(name = "html502")]
    Html502,
    /// The usual status and JSON but without `id`; the customer is stored.
    CreatedNoId,
}

/// Fault knobs. All rates are probabilities in `0..=1` (values outside are
/// clamped, NaN counts as 0); every random choice comes from one generator
/// seeded with [`Faults::seed`], so a sequential run repeats exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Requests per second over all API routes; `None`, zero, negative or
    /// non-finite means unlimited. Past it: `429` with `Retry-After`.
    pub rate: Option<f64>,
    /// Token bucket size: requests allowed back to back (0 counts as 1).
    pub burst: u32,
    /// Form of the `Retry-After` header.
    pub retry_after: RetryAfterStyle,
    /// Delay before each API request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Draw each delay uniformly from `0..=latency_ms` instead.
    pub latency_random: bool,
    /// Share of creates answered `503` before anything is stored.
    pub fail_rate: f64,
    /// Share of successful creates that are stored and then have their
    /// connection closed without a response.
    pub drop_rate: f64,
    /// Trickle the body of each successful create answer: wait this long
    /// before every small chunk (0 = off). Headers go out at once.
    pub slow_body_ms: u64,
    /// Kind of junk answer, if any.
    pub junk: Option<JunkMode>,
    /// Share of creates that get the junk answer.
    pub junk_rate: f64,
    /// Seed of the generator; [`set_faults`](super::SandboxHandle::set_faults)
    /// reseeds it.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate: None,
            burst: 1,
            retry_after: RetryAfterStyle::Seconds,
            latency_ms: 0,
            latency_random: false,
            fail_rate: 0.0,
            drop_rate: 0.0,
            slow_body_ms: 0,
            junk: None,
            // Choosing a junk mode should be enough to see it.
            junk_rate: 1.0,
            seed: 0,
        }
    }
}

/// What to do to one `POST /v2/customers`, decided before it is handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PostPlan {
    /// Answer 503 without storing.
    pub fail: bool,
    /// Answer with this junk; pre- or post-commit depends on the mode.
    pub junk: Option<JunkMode>,
    /// Store, then close the connection without a response.
    pub drop: bool,
    /// Trickle the body with this pause per chunk.
    pub slow_body: Option<Duration>,
}

/// A refused request: when the client may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limited {
    pub wait: Duration,
    pub style: RetryAfterStyle,
}

impl Limited {
    /// The `Retry-After` header value. Rounds up so a client that obeys it
    /// exactly finds a token waiting.
    pub fn retry_after(&self) -> String {
        let secs = self.wait.as_secs_f64().ceil().max(1.0) as u64;
        match self.style {
            RetryAfterStyle::Seconds => secs.to_string(),
            RetryAfterStyle::HttpDate => {
                // The date has whole-second resolution; add one more second
                // so truncation of "now" cannot make it too early.
                let when = SystemTime::now() + Duration::from_secs(secs + 1);
                httpdate::fmt_http_date(when)
            }
        }
    }
}

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(faults: &Faults) -> Option<Bucket> {
        let rate = faults.rate.filter(|r| r.is_finite() && *r > 0.0)?;
        let burst = f64::from(faults.burst.max(1));
        Some(Bucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        })
    }

    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        // The epsilon absorbs float drift for a client pacing exactly at rate.
        if self.tokens + 1e-9 >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

struct Inner {
    faults: Faults,
    rng: fastrand::Rng,
    bucket: Option<Bucket>,
}

/// Shared, lockable fault state of one sandbox.
pub(crate) struct FaultState {
    inner: Mutex<Inner>,
}

fn probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        Self {
            inner: Mutex::new(Self::fresh(faults)),
        }
    }

    fn fresh(faults: Faults) -> Inner {
        Inner {
            rng: fastrand::Rng::with_seed(faults.seed),
            bucket: Bucket::new(&faults),
            faults,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not wedge every later request.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the knobs; reseeds the generator and refills the bucket so the
    /// run from here on depends only on the new knobs.
    pub fn set(&self, faults: Faults) {
        *self.lock() = Self::fresh(faults);
    }

    /// Takes one rate-limit token, or says how long until one is free.
    pub fn admit(&self) -> Result<(), Limited> {
        let mut inner = self.lock();
        let style = inner.faults.retry_after;
        match inner.bucket.as_mut() {
            None => Ok(()),
            Some(b) => b
                .take(Instant::now())
                .map_err(|wait| Limited { wait, style }),
        }
    }

    /// The delay to apply before handling one API request.
    pub fn latency(&self) -> Duration {
        let mut inner = self.lock();
        let ms = inner.faults.latency_ms;
        let ms = if inner.faults.latency_random && ms > 0 {
            inner.rng.u64(0..=ms)
        } else {
            ms
        };
        Duration::from_millis(ms)
    }

    /// Rolls the dice for one create. Always draws the same number of values
    /// so that one knob's setting does not shift the others' sequence.
    pub fn plan_post(&self) -> PostPlan {
        let mut inner = self.lock();
        let (fail_roll, junk_roll, drop_roll) = (inner.rng.f64(), inner.rng.f64(), inner.rng.f64());
        let f = &inner.faults;
        PostPlan {
            fail: fail_roll < probability(f.fail_rate),
            junk: f.junk.filter(|_| junk_roll < probability(f.junk_rate)),
            drop: drop_roll < probability(f.drop_rate),
            slow_body: (f.slow_body_ms > 0).then(|| Duration::from_millis(f.slow_body_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_limits() {
        let faults = Faults {
            rate: Some(2.0),
            burst: 3,
            ..Faults::default()
        };
        let mut b = Bucket::new(&faults).expect("bucket");
        let t0 = b.last;
        for _ in 0..3 {
            assert!(b.take(t0).is_ok());
        }
        let wait = b.take(t0).expect_err("limited");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6);
        assert!(b.take(t0 + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn no_bucket_without_positive_rate() {
        for rate in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            let faults = Faults {
                rate,
                ..Faults::default()
            };
            assert!(Bucket::new(&faults).is_none());
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let l = Limited {
            wait: Duration::from_millis(100),
            style: RetryAfterStyle::Seconds,
        };
        assert_eq!(l.retry_after(), "1");
        let l = Limited {
            wait: Duration::from_millis(2100),
            style: RetryAfterStyle::Seconds,
        };
        assert_eq!(l.retry_after(), "3");
        let l = Limited {
            wait: Duration::from_millis(100),
            style: RetryAfterStyle::HttpDate,
        };
        let when = httpdate::parse_http_date(&l.retry_after()).expect("http date");
        assert!(when > SystemTime::now());
    }

    #[test]
    fn same_seed_same_plans() {
        let faults = Faults {
            fail_rate: 0.3,
            drop_rate: 0.3,
            seed: 42,
            ..Faults::default()
        };
        let a = FaultState::new(faults.clone());
        let b = FaultState::new(faults);
        for _ in 0..50 {
            assert_eq!(a.plan_post(), b.plan_post());
        }
    }

    #[test]
    fn extreme_rates() {
        let s = FaultState::new(Faults {
            fail_rate: 1.0,
            drop_rate: 2.0,
            junk: Some(JunkMode::EmptyOk),
            junk_rate: f64::NAN,
            ..Faults::default()
        });
        for _ in 0..20 {
            let p = s.plan_post();
            assert!(p.fail && p.drop && p.junk.is_none());
        }
    }
}
