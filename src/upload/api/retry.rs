//! Retry timing: `Retry-After` parsing and capped exponential backoff with
//! full jitter.
//!
//! Owns how long to wait, never whether to retry (that is the uploader's
//! decision from the error kind). Pure functions and iterators: no sleeping
//! here, so the bounds can be unit-tested.

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds or an
/// HTTP-date in any of the three accepted formats. A date in the past
/// means "now" (zero). Fractional seconds such as `1.5` are not valid
/// RFC 9110 but some servers send them: they are honoured as seconds,
/// since ignoring them would mean retrying at once. Garbage gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long digit strings saturate instead of failing.
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    if let Some((whole, frac)) = v.split_once('.')
        && !whole.is_empty()
        && !frac.is_empty()
        && whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        let secs: f64 = v.parse().ok()?;
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Capped exponential backoff with full jitter: attempt n waits a uniform
/// random time in `0..=min(max, base * 2^n)`. Full jitter spreads retries
/// of many workers that failed together, so they do not return together.
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A schedule starting at `base`, doubling, capped at `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff::with_rng(base, max, fastrand::Rng::new())
    }

    /// As [`Backoff::new`] with a seeded generator (tests).
    pub fn with_rng(base: Duration, max: Duration, rng: fastrand::Rng) -> Backoff {
        Backoff {
            base,
            max,
            attempt: 0,
            rng,
        }
    }

    /// The wait before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        // Saturating: however many retries, the ceiling stays at `max`
        // instead of overflowing.
        let factor = 1u32.checked_shl(self.attempt).unwrap_or(u32::MAX);
        let ceiling = self.base.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    // 1994-11-06 08:49:37 UTC, the RFC's example instant.
    const RFC_EXAMPLE: u64 = 784_111_777;

    #[test]
    fn delta_seconds() {
        assert_eq!(
            parse_retry_after("120", at(0)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", at(0)), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", at(0)),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn fractional_seconds_are_honoured() {
        assert_eq!(
            parse_retry_after("1.5", at(0)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(" 0.250 ", at(0)),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn all_three_http_date_forms() {
        let now = at(RFC_EXAMPLE - 30);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:49:37 GMT", // obsolete RFC 850
            "Sun Nov  6 08:49:37 1994",       // obsolete asctime
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(30)),
                "{form}"
            );
        }
    }

    #[test]
    fn past_dates_mean_now() {
        let now = at(RFC_EXAMPLE + 3600);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_ignored() {
        for bad in [
            "",
            "soon",
            "-5",
            "-1.5",
            "1.",
            ".5",
            "1.5.2",
            "12 s",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            "0x10",
        ] {
            assert_eq!(parse_retry_after(bad, at(0)), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_stays_within_the_exponential_ceiling_and_the_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for seed in 0..50 {
            let mut b = Backoff::with_rng(base, max, fastrand::Rng::with_seed(seed));
            for n in 0..20u32 {
                let d = b.next_delay();
                let ceiling = (base * 2u32.saturating_pow(n.min(20))).min(max);
                assert!(d <= ceiling, "attempt {n}: {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn backoff_is_jittered_not_constant() {
        let mut b = Backoff::with_rng(
            Duration::from_secs(1),
            Duration::from_secs(1),
            fastrand::Rng::with_seed(7),
        );
        let delays: Vec<Duration> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.windows(2).any(|w| w[0] != w[1]));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(500)));
    }
}
