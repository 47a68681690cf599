//! Fault knobs of the sandbox and the decisions drawn from them.
//!
//! Owns [`Faults`] (public, settable at runtime), the seeded random generator
//! and the rate limiter's state (the algorithms live in `limit.rs`). It
//! decides *whether* a request is limited, delayed or sabotaged; it must not
//! build HTTP responses or touch the customer store (the routes do both, in
//! the order the decision says).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::limit::{Limiter, Quota, RateHeaders, RateLimiter, Verdict};

/// How a `429` tells the client when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
pub enum RetryAfterStyle {
    /// Whole seconds, rounded up, at least 1.
    #[default]
    Seconds,
    /// Seconds with milliseconds, e.g. `0.137` (not valid RFC 9110, but
    /// some servers send it).
    Fractional,
    /// An IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
    HttpDate,
    /// No `Retry-After` at all (as nginx `limit_req`).
    None,
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
    /// Token bucket size: requests allowed back to back (0 counts as 1);
    /// for the leaky bucket nginx's `burst`; unused by the windows.
    pub burst: u32,
    /// The algorithm enforcing `rate`.
    #[serde(default)]
    pub limiter: Limiter,
    /// Rate-limit headers sent with every API answer.
    #[serde(default)]
    pub rate_headers: RateHeaders,
    /// Form of the `Retry-After` header.
    pub retry_after: RetryAfterStyle,
    /// Delay before each API request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Draw each delay uniformly from `0..=latency_ms` instead.
    pub latency_random: bool,
    /// Share of creates answered `503` before anything is stored; updates,
    /// deletes and list pages take the same dice.
    pub fail_rate: f64,
    /// Share of successful creates that are stored and then have their
    /// connection closed without a response; updates and deletes too.
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
    /// Customer codes whose creates are rejected with `400` (nothing stored),
    /// standing in for server-side rules the client cannot know.
    #[serde(default)]
    pub reject_codes: Vec<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate: None,
            burst: 1,
            limiter: Limiter::TokenBucket,
            rate_headers: RateHeaders::Off,
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
            reject_codes: Vec::new(),
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
    /// The `Retry-After` header value, if the style sends one. Whole
    /// seconds round up so a client that obeys exactly finds room waiting.
    pub fn retry_after(&self) -> Option<String> {
        let secs = self.wait.as_secs_f64().ceil().max(1.0) as u64;
        match self.style {
            RetryAfterStyle::Seconds => Some(secs.to_string()),
            RetryAfterStyle::Fractional => {
                // Rounded up to the millisecond, never 0.000.
                let ms = (self.wait.as_secs_f64() * 1000.0).ceil().max(1.0) as u64;
                Some(format!("{}.{:03}", ms / 1000, ms % 1000))
            }
            RetryAfterStyle::HttpDate => {
                // The date has whole-second resolution; add one more second
                // so truncation of "now" cannot make it too early.
                let when = SystemTime::now() + Duration::from_secs(secs + 1);
                Some(httpdate::fmt_http_date(when))
            }
            RetryAfterStyle::None => None,
        }
    }
}

/// What the sandbox advertises with an answer, when headers are on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Advert {
    pub headers: RateHeaders,
    pub quota: Quota,
    pub remaining: u64,
    pub reset: Duration,
}

impl Advert {
    /// Header names and values, in the form chosen. Resets are whole
    /// seconds rounded up, as the draft and most servers send them.
    pub fn header_pairs(&self) -> Vec<(&'static str, String)> {
        let reset = self.reset.as_secs_f64().ceil() as u64;
        let Quota { quota, window_secs } = self.quota;
        match self.headers {
            RateHeaders::Off => Vec::new(),
            RateHeaders::Draft => vec![
                (
                    "ratelimit-policy",
                    format!("\"sandbox\";q={quota};w={window_secs}"),
                ),
                (
                    "ratelimit",
                    format!("\"sandbox\";r={};t={reset}", self.remaining),
                ),
            ],
            RateHeaders::X => {
                // A Unix time in whole seconds, rounded up so a client
                // waiting for it never comes back before the reset.
                let at = (SystemTime::now() + self.reset)
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
                    .ceil() as u64;
                vec![
                    ("x-ratelimit-limit", quota.to_string()),
                    ("x-ratelimit-remaining", self.remaining.to_string()),
                    ("x-ratelimit-reset", at.to_string()),
                ]
            }
        }
    }
}

/// The limiter's decision about one request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Admission {
    /// Refused: answer 429.
    pub limited: Option<Limited>,
    /// Headers to send with the answer, either way.
    pub advert: Option<Advert>,
}

struct Inner {
    faults: Faults,
    rng: fastrand::Rng,
    limiter: Option<RateLimiter>,
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
            limiter: RateLimiter::new(faults.limiter, faults.rate, faults.burst, Instant::now()),
            faults,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not wedge every later request.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the knobs; reseeds the generator and restarts the limiter so
    /// the run from here on depends only on the new knobs.
    pub fn set(&self, faults: Faults) {
        *self.lock() = Self::fresh(faults);
    }

    /// Asks the limiter about one request arriving now.
    pub fn admit(&self) -> Admission {
        let mut inner = self.lock();
        let (style, headers) = (inner.faults.retry_after, inner.faults.rate_headers);
        let Some(limiter) = inner.limiter.as_mut() else {
            return Admission::default();
        };
        let Verdict {
            allowed,
            wait,
            remaining,
            reset,
        } = limiter.check(Instant::now());
        Admission {
            limited: (!allowed).then_some(Limited { wait, style }),
            advert: (headers != RateHeaders::Off).then(|| Advert {
                headers,
                quota: limiter.quota(),
                remaining,
                reset,
            }),
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
    /// Whether creates for `code` are to be rejected.
    pub fn rejects(&self, code: &str) -> bool {
        self.lock().faults.reject_codes.iter().any(|c| c == code)
    }

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
    fn retry_after_rounds_up_to_whole_seconds() {
        let l = Limited {
            wait: Duration::from_millis(100),
            style: RetryAfterStyle::Seconds,
        };
        assert_eq!(l.retry_after().as_deref(), Some("1"));
        let l = Limited {
            wait: Duration::from_millis(2100),
            style: RetryAfterStyle::Seconds,
        };
        assert_eq!(l.retry_after().as_deref(), Some("3"));
        let l = Limited {
            wait: Duration::from_micros(2_100_400),
            style: RetryAfterStyle::Fractional,
        };
        assert_eq!(l.retry_after().as_deref(), Some("2.101"));
        let l = Limited {
            wait: Duration::from_millis(100),
            style: RetryAfterStyle::None,
        };
        assert_eq!(l.retry_after(), None);
        let l = Limited {
            wait: Duration::from_millis(100),
            style: RetryAfterStyle::HttpDate,
        };
        let when = httpdate::parse_http_date(&l.retry_after().expect("a date")).expect("http date");
        assert!(when > SystemTime::now());
    }

    #[test]
    fn headers_in_both_forms() {
        let a = Advert {
            headers: RateHeaders::Draft,
            quota: Quota {
                quota: 50,
                window_secs: 1,
            },
            remaining: 0,
            reset: Duration::from_millis(300),
        };
        assert_eq!(
            a.header_pairs(),
            vec![
                ("ratelimit-policy", "\"sandbox\";q=50;w=1".to_owned()),
                ("ratelimit", "\"sandbox\";r=0;t=1".to_owned()),
            ]
        );
        let x = Advert {
            headers: RateHeaders::X,
            ..a
        };
        let pairs = x.header_pairs();
        assert_eq!(pairs[0], ("x-ratelimit-limit", "50".to_owned()));
        assert_eq!(pairs[1], ("x-ratelimit-remaining", "0".to_owned()));
        let reset: u64 = pairs[2].1.parse().expect("a Unix time");
        assert!(reset > 1_700_000_000);
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
