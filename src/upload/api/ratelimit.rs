//! Rate limits a server advertises in its answers.
//!
//! Owns the parsing of `RateLimit-Policy` + `RateLimit`
//! (draft-ietf-httpapi-ratelimit-headers: structured-field lists such as
//! `"default";q=100;w=60` and `"default";r=50;t=30`, and the older
//! drafts' `100;w=60` and `limit=100, remaining=50, reset=30`), the
//! draft's early separate `RateLimit-Limit/-Remaining/-Reset` fields and
//! the common `X-RateLimit-Limit/-Remaining/-Reset` (reset as
//! delta-seconds or as a Unix time). Pure functions over a header map:
//! what to do with the figures is the uploader's pacer's business.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// Limit facts from one answer; all `None` when nothing was advertised.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimitInfo {
    /// Requests per second the policy allows (quota / window), the
    /// strictest of several policies.
    pub rate: Option<f64>,
    /// The window of that policy.
    pub window: Option<Duration>,
    /// A request limit per window of unknown length (`X-RateLimit-Limit`,
    /// `RateLimit-Limit`, or `limit=` of draft 07).
    pub limit: Option<u64>,
    /// Requests left in the current window (the smallest if several).
    pub remaining: Option<u64>,
    /// Until the window with the fewest remaining requests resets.
    pub reset: Option<Duration>,
}

impl RateLimitInfo {
    /// Whether the answer said anything about limits.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitInfo::default()
    }
}

/// Resets at or above this are Unix times, not delta-seconds (2001-09-09;
/// no window lasts 30 years).
const UNIX_TIME_FROM: f64 = 1_000_000_000.0;

/// Reads every supported form from `headers`; `now` turns Unix-time resets
/// into waits.
pub fn parse(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    let get = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut info = RateLimitInfo::default();
    for policy in members(&get("ratelimit-policy")) {
        if let Some((rate, window)) = policy_rate(&policy)
            && info.rate.is_none_or(|r| rate < r)
        {
            info.rate = Some(rate);
            info.window = Duration::try_from_secs_f64(window).ok();
        }
    }
    for member in members(&get("ratelimit")) {
        let (remaining, reset) = if member.item.contains('=') {
            // Draft 07 and earlier: a dictionary `limit=.., remaining=.., reset=..`.
            if let Some(limit) = param(&member, "limit").filter(|l| *l >= 1.0) {
                info.limit = Some(limit as u64);
            }
            (param(&member, "remaining"), param(&member, "reset"))
        } else {
            (param(&member, "r"), param(&member, "t"))
        };
        merge(&mut info, remaining, reset.map(|t| delta(t, now)));
    }
    for prefix in ["ratelimit-", "x-ratelimit-"] {
        if let Some(limit) = number(&get(&format!("{prefix}limit"))).filter(|l| *l >= 1.0) {
            info.limit = Some(info.limit.map_or(limit as u64, |l| l.min(limit as u64)));
        }
        let remaining = number(&get(&format!("{prefix}remaining")));
        let reset = number(&get(&format!("{prefix}reset"))).map(|t| delta(t, now));
        merge(&mut info, remaining, reset);
    }
    info
}

fn merge(info: &mut RateLimitInfo, remaining: Option<f64>, reset: Option<Duration>) {
    let Some(remaining) = remaining.filter(|r| *r >= 0.0) else {
        if info.reset.is_none() {
            info.reset = reset;
        }
        return;
    };
    let remaining = remaining as u64;
    if info.remaining.is_none_or(|r| remaining < r) {
        info.remaining = Some(remaining);
        info.reset = reset.or(info.reset);
    }
}

/// A wait from a reset value: delta-seconds, or a Unix time.
fn delta(t: f64, now: SystemTime) -> Duration {
    let secs = if t >= UNIX_TIME_FROM {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        t - now
    } else {
        t
    };
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// Requests per second of one policy member and its window in seconds:
/// `q` (or, in older drafts, the bare integer) over `w` (1 when absent).
fn policy_rate(m: &Member) -> Option<(f64, f64)> {
    let quota = param(m, "q").or_else(|| number(&m.item))?;
    let window = param(m, "w").unwrap_or(1.0);
    (quota > 0.0 && window > 0.0).then(|| (quota / window, window))
}

/// One list member: the bare item and its `;key=value` parameters.
#[derive(Debug)]
struct Member {
    item: String,
    params: Vec<(String, String)>,
}

fn param(m: &Member, key: &str) -> Option<f64> {
    if let Some((_, v)) = m.params.iter().find(|(k, _)| k == key) {
        return number(v);
    }
    // A dictionary member `key=value` (draft 07 form).
    m.item
        .split_once('=')
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .and_then(|(_, v)| number(v))
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim().trim_matches('"');
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Splits a structured-field list (or dictionary) into members, keeping
/// commas and semicolons inside quoted strings.
fn members(field: &str) -> Vec<Member> {
    split_outside_quotes(field, ',')
        .into_iter()
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            let mut parts = split_outside_quotes(&m, ';').into_iter();
            let item = parts.next().unwrap_or_default().trim().to_owned();
            let params = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                })
                .collect();
            Member { item, params }
        })
        .collect()
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn current_draft_structured_fields() {
        let h = headers(&[
            (
                "RateLimit-Policy",
                "\"burst\";q=100;w=60, \"daily\";q=1000;w=86400",
            ),
            ("RateLimit", "\"burst\";r=0;t=7, \"daily\";r=900;t=3600"),
        ]);
        let i = parse(&h, at(0));
        assert!((i.rate.unwrap() - 1000.0 / 86400.0).abs() < 1e-9);
        assert_eq!(i.window, Some(Duration::from_secs(86400)));
        assert_eq!(i.remaining, Some(0));
        assert_eq!(i.reset, Some(Duration::from_secs(7)));
    }

    #[test]
    fn older_draft_forms() {
        let h = headers(&[
            ("RateLimit-Policy", "50;w=1, 1000;w=3600;comment=\"a, b\""),
            ("RateLimit", "limit=50, remaining=3, reset=1"),
        ]);
        let i = parse(&h, at(0));
        assert!((i.rate.unwrap() - 1000.0 / 3600.0).abs() < 1e-9);
        assert_eq!(i.remaining, Some(3));
        assert_eq!(i.reset, Some(Duration::from_secs(1)));
        let h = headers(&[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "2")]);
        let i = parse(&h, at(0));
        assert_eq!(
            (i.remaining, i.reset),
            (Some(0), Some(Duration::from_secs(2)))
        );
    }

    #[test]
    fn x_ratelimit_with_delta_or_unix_reset() {
        let h = headers(&[
            ("X-RateLimit-Limit", "60"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1700000030"),
        ]);
        let i = parse(&h, at(1_700_000_000));
        assert_eq!(i.rate, None, "a limit without a window is not a rate");
        assert_eq!(i.limit, Some(60));
        assert_eq!(i.remaining, Some(0));
        assert_eq!(i.reset, Some(Duration::from_secs(30)));
        let h = headers(&[("X-RateLimit-Remaining", "5"), ("X-RateLimit-Reset", "1.5")]);
        let i = parse(&h, at(0));
        assert_eq!(i.reset, Some(Duration::from_millis(1500)));
        // A reset in the past means now.
        let h = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1600000000"),
        ]);
        assert_eq!(parse(&h, at(1_700_000_000)).reset, Some(Duration::ZERO));
    }

    #[test]
    fn nothing_or_garbage_is_empty() {
        assert!(parse(&HeaderMap::new(), at(0)).is_empty());
        let h = headers(&[
            ("RateLimit-Policy", "\"x\";q=abc"),
            ("RateLimit", "??"),
            ("X-RateLimit-Remaining", "-3"),
        ]);
        let i = parse(&h, at(0));
        assert_eq!(i.rate, None);
        assert_eq!(i.remaining, None);
    }
}
