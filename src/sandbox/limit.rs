//! The sandbox's rate limiters, modelled on what real servers run.
//!
//! Owns four algorithms behind one [`RateLimiter`]: token bucket (GCRA's
//! equivalent), a leaky bucket with nginx `limit_req ... nodelay`
//! semantics, a fixed window (at most N per whole second) and a sliding
//! window log (at most N in any second), plus the quota each advertises.
//! They are written from the servers' documented behaviour, never from the
//! client's pacer, so a client bug cannot hide behind a limiter that shares
//! its arithmetic. It decides and counts; it must not build responses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Which algorithm enforces the sandbox's `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limiter {
    /// Token bucket: `burst` tokens, refilled at `rate`/s.
    #[default]
    TokenBucket,
    /// nginx `limit_req rate=R burst=B nodelay`: an excess counter drained
    /// at `rate`/s in whole milliseconds; a request is refused when the
    /// excess would pass `burst` (so `burst` + 1 may come at once).
    LeakyBucket,
    /// At most `rate` requests per whole second of the sandbox's clock.
    FixedWindow,
    /// At most `rate` requests in any one second (a log of accepted ones).
    SlidingWindow,
}

/// Which rate-limit headers the sandbox sends with every API answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RateHeaders {
    /// None.
    #[default]
    Off,
    /// `RateLimit-Policy: "sandbox";q=Q;w=W` and `RateLimit:
    /// "sandbox";r=R;t=T` (draft-ietf-httpapi-ratelimit-headers).
    Draft,
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (a Unix time).
    X,
}

/// The decision about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict {
    /// Whether the request may pass.
    pub allowed: bool,
    /// For a refused request: until one would pass.
    pub wait: Duration,
    /// Requests left in the current window after this one.
    pub remaining: u64,
    /// Until the quota is back (or, with nothing left, until one is).
    pub reset: Duration,
}

/// The quota a limiter advertises: `quota` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub quota: u64,
    pub window_secs: u64,
}

enum Algo {
    Token {
        tokens: f64,
        last: Instant,
    },
    /// nginx keeps the excess in thousandths of a request and the last
    /// accepted request's time in milliseconds.
    Leaky {
        excess: i64,
        last_ms: Option<i64>,
    },
    Fixed {
        window: u64,
        count: u64,
    },
    Sliding {
        log: VecDeque<Instant>,
    },
}

/// One limiter over all API requests.
pub(crate) struct RateLimiter {
    rate: f64,
    burst: u32,
    started: Instant,
    algo: Algo,
}

impl RateLimiter {
    /// `rate` requests/s (positive and finite, else `None`), `burst` at once.
    pub fn new(kind: Limiter, rate: Option<f64>, burst: u32, now: Instant) -> Option<Self> {
        let rate = rate.filter(|r| r.is_finite() && *r > 0.0)?;
        let burst = burst.max(1);
        let algo = match kind {
            Limiter::TokenBucket => Algo::Token {
                tokens: f64::from(burst),
                last: now,
            },
            Limiter::LeakyBucket => Algo::Leaky {
                excess: 0,
                last_ms: None,
            },
            Limiter::FixedWindow => Algo::Fixed {
                window: 0,
                count: 0,
            },
            Limiter::SlidingWindow => Algo::Sliding {
                log: VecDeque::new(),
            },
        };
        Some(RateLimiter {
            rate,
            burst,
            started: now,
            algo,
        })
    }

    /// The quota in whole requests per whole seconds: `rate` per second,
    /// or 1 per `1/rate` seconds for rates under one.
    pub fn quota(&self) -> Quota {
        let window_secs = (1.0 / self.rate).ceil().max(1.0) as u64;
        let quota = (self.rate * window_secs as f64).floor().max(1.0) as u64;
        Quota { quota, window_secs }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.quota().window_secs)
    }

    /// Decides about a request arriving at `now`; only accepted requests
    /// use up the limit.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let Quota { quota, .. } = self.quota();
        let window = self.window();
        let (rate, burst) = (self.rate, self.burst);
        let since_start = now.saturating_duration_since(self.started);
        match &mut self.algo {
            Algo::Token { tokens, last } => {
                let elapsed = now.saturating_duration_since(*last).as_secs_f64();
                *tokens = (*tokens + elapsed * rate).min(f64::from(burst));
                *last = now;
                // Float drift must not refuse a client exactly on time.
                let allowed = *tokens + 1e-9 >= 1.0;
                if allowed {
                    *tokens = (*tokens - 1.0).max(0.0);
                }
                let wait = secs((1.0 - *tokens).max(0.0) / rate);
                let remaining = (*tokens + 1e-9).floor() as u64;
                let reset = if remaining == 0 {
                    wait
                } else {
                    secs((f64::from(burst) - *tokens) / rate)
                };
                Verdict {
                    allowed,
                    wait,
                    remaining,
                    reset,
                }
            }
            Algo::Leaky { excess, last_ms } => {
                let ms = i64::try_from(since_start.as_millis()).unwrap_or(i64::MAX);
                let rate_milli = (rate * 1000.0) as i64;
                let burst_milli = i64::from(burst) * 1000;
                // As ngx_http_limit_req_lookup: the excess drains at the
                // rate over whole milliseconds, each request adds 1000, a
                // new client starts at 0.
                let (drained, new_excess) = match *last_ms {
                    None => (0, 0),
                    Some(last) => {
                        let drain = rate_milli.saturating_mul((ms - last).max(0)) / 1000;
                        ((*excess - drain).max(0), (*excess - drain + 1000).max(0))
                    }
                };
                let allowed = new_excess <= burst_milli;
                let current = if allowed {
                    *excess = new_excess;
                    *last_ms = Some(ms);
                    new_excess
                } else {
                    drained
                };
                let until_one = secs((current + 1000 - burst_milli).max(0) as f64 / 1000.0 / rate);
                let remaining = u64::try_from((burst_milli - current).max(0) / 1000).unwrap_or(0);
                Verdict {
                    allowed,
                    wait: until_one,
                    remaining,
                    reset: if remaining == 0 {
                        until_one
                    } else {
                        secs(current as f64 / 1000.0 / rate)
                    },
                }
            }
            Algo::Fixed {
                window: current,
                count,
            } => {
                let w = window.as_nanos().max(1);
                let index = u64::try_from(since_start.as_nanos() / w).unwrap_or(u64::MAX);
                if index != *current {
                    *current = index;
                    *count = 0;
                }
                let allowed = *count < quota;
                if allowed {
                    *count += 1;
                }
                let end = window.saturating_mul(u32::try_from(index + 1).unwrap_or(u32::MAX));
                let to_end = end.saturating_sub(since_start);
                Verdict {
                    allowed,
                    wait: to_end,
                    remaining: quota - *count,
                    reset: to_end,
                }
            }
            Algo::Sliding { log } => {
                while log
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) >= window)
                {
                    log.pop_front();
                }
                let allowed = (log.len() as u64) < quota;
                if allowed {
                    log.push_back(now);
                }
                let remaining = quota.saturating_sub(log.len() as u64);
                let until_oldest = log.front().map_or(Duration::ZERO, |t| {
                    (*t + window).saturating_duration_since(now)
                });
                let until_all = log.back().map_or(Duration::ZERO, |t| {
                    (*t + window).saturating_duration_since(now)
                });
                Verdict {
                    allowed,
                    wait: until_oldest,
                    remaining,
                    reset: if remaining == 0 {
                        until_oldest
                    } else {
                        until_all
                    },
                }
            }
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(kind: Limiter, rate: f64, burst: u32) -> (RateLimiter, Instant) {
        let now = Instant::now();
        (
            RateLimiter::new(kind, Some(rate), burst, now).expect("limiter"),
            now,
        )
    }

    fn allowed_at(l: &mut RateLimiter, t0: Instant, offsets_ms: &[u64]) -> usize {
        offsets_ms
            .iter()
            .filter(|ms| l.check(t0 + Duration::from_millis(**ms)).allowed)
            .count()
    }

    #[test]
    fn token_bucket_allows_burst_then_limits() {
        let (mut l, t0) = limiter(Limiter::TokenBucket, 2.0, 3);
        assert_eq!(allowed_at(&mut l, t0, &[0, 0, 0, 0]), 3);
        let v = l.check(t0);
        assert!(!v.allowed);
        assert!((v.wait.as_secs_f64() - 0.5).abs() < 1e-6);
        assert_eq!(v.remaining, 0);
        assert!(l.check(t0 + Duration::from_millis(500)).allowed);
    }

    #[test]
    fn leaky_bucket_nodelay_lets_burst_plus_one_through_like_nginx() {
        let (mut l, t0) = limiter(Limiter::LeakyBucket, 10.0, 5);
        assert_eq!(allowed_at(&mut l, t0, &[0; 8]), 6);
        // 100 ms drains one request's worth of excess.
        assert_eq!(allowed_at(&mut l, t0, &[100, 100]), 1);
        // Refused requests do not add to the excess.
        assert_eq!(allowed_at(&mut l, t0, &[200]), 1);
    }

    #[test]
    fn fixed_window_counts_per_whole_second() {
        let (mut l, t0) = limiter(Limiter::FixedWindow, 3.0, 1);
        assert_eq!(allowed_at(&mut l, t0, &[900, 950, 990, 999]), 3);
        // A new second, a new count: 6 within 110 ms across the edge.
        assert_eq!(allowed_at(&mut l, t0, &[1000, 1001, 1002, 1003]), 3);
        let v = l.check(t0 + Duration::from_millis(1500));
        assert!(!v.allowed);
        assert_eq!(v.wait, Duration::from_millis(500));
    }

    #[test]
    fn sliding_window_counts_any_second() {
        let (mut l, t0) = limiter(Limiter::SlidingWindow, 3.0, 1);
        assert_eq!(allowed_at(&mut l, t0, &[900, 950, 990]), 3);
        assert_eq!(allowed_at(&mut l, t0, &[1000, 1800, 1899]), 0);
        assert_eq!(allowed_at(&mut l, t0, &[1900]), 1);
        let v = l.check(t0 + Duration::from_millis(1920));
        assert!(!v.allowed);
        assert_eq!(v.wait, Duration::from_millis(30));
    }

    #[test]
    fn quota_is_whole_requests_per_whole_seconds() {
        let (l, _) = limiter(Limiter::TokenBucket, 50.0, 5);
        assert_eq!(
            l.quota(),
            Quota {
                quota: 50,
                window_secs: 1
            }
        );
        let (l, _) = limiter(Limiter::FixedWindow, 0.5, 1);
        assert_eq!(
            l.quota(),
            Quota {
                quota: 1,
                window_secs: 2
            }
        );
    }

    #[test]
    fn no_limiter_without_a_positive_rate() {
        for rate in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            assert!(RateLimiter::new(Limiter::TokenBucket, rate, 1, Instant::now()).is_none());
        }
    }
}
