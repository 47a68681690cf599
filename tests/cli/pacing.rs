//! Pacing against rate-limited servers: each sandbox limiter (token
//! bucket, nginx-like leaky bucket, fixed window, sliding window) at the
//! client's `--rate`, re-entry after a pause, advertised limits, `--rate
//! auto`, and searches under the same pacer. Every test asserts counts
//! (rows created once, 429s received, requests per window of the sandbox's
//! log), never how long the run took; every run is bounded.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::harness::*;
use notify_import::sandbox::{DuplicateMode, Faults, Limiter, RateHeaders, RetryAfterStyle};

const LIMIT: Duration = Duration::from_secs(90);

fn limited(limiter: Limiter, rate: f64, burst: u32, retry_after: RetryAfterStyle) -> Faults {
    Faults {
        rate: Some(rate),
        burst,
        limiter,
        retry_after,
        ..Faults::default()
    }
}

fn run(sb: &SandboxHandle, input: &Path, args: &[&str]) -> Output {
    wait_bounded(spawn_import(sb, input, args), LIMIT)
}

/// Every row `created` once; returns (requests, 429s) as the server counted.
#[track_caller]
fn all_created_once(s: &Scratch, rows: u64, sb: &SandboxHandle) -> (u64, u64) {
    let got = assert_universal(&latest_run(&s.path("in.csv")).join("results.csv"), rows, sb);
    let bad: Vec<_> = got.iter().filter(|r| r.status != "created").collect();
    assert!(bad.is_empty(), "rows not created: {bad:#?}");
    assert_ids_match_server(&got, sb);
    let stats = sb.stats();
    assert_eq!(stats.creates, rows);
    (stats.requests, stats.rate_limited_429)
}

/// `--rate` equal to the server's limit: under 1% of requests answered 429.
fn at_the_limit(limiter: Limiter) {
    let s = Scratch::new();
    let sb = sandbox_with_faults(limited(limiter, 200.0, 5, RetryAfterStyle::Seconds));
    let input = s.customers("in.csv", 500);
    let out = run(
        &sb,
        &input,
        &["--rate", "200", "--burst", "5", "--concurrency", "16"],
    );
    assert_exit(&out, 0);
    let (requests, rejected) = all_created_once(&s, 500, &sb);
    assert!(
        rejected * 100 <= requests,
        "{limiter:?}: {rejected} of {requests} requests answered 429"
    );
}

#[test]
fn token_bucket_at_its_rate_answers_under_one_percent_429() {
    at_the_limit(Limiter::TokenBucket);
}

#[test]
fn nginx_leaky_bucket_at_its_rate_answers_under_one_percent_429() {
    at_the_limit(Limiter::LeakyBucket);
}

#[test]
fn fixed_window_at_its_rate_answers_under_one_percent_429() {
    at_the_limit(Limiter::FixedWindow);
}

#[test]
fn sliding_window_at_its_rate_answers_under_one_percent_429() {
    at_the_limit(Limiter::SlidingWindow);
}

/// The most requests the sandbox received in any window of `width`.
fn most_in_any_window(sb: &SandboxHandle, width: Duration) -> usize {
    let at: Vec<Duration> = sb.request_log().iter().map(|r| r.at).collect();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t < at[i] + width).count())
        .max()
        .unwrap_or(0)
}

/// A client twice as fast as the server collects 429s and pauses; when a
/// pause ends the pool re-enters one by one, with or without Retry-After.
fn no_burst_after_a_pause(style: RetryAfterStyle) {
    let s = Scratch::new();
    let sb = sandbox_with_faults(limited(Limiter::TokenBucket, 50.0, 2, style));
    let input = s.customers("in.csv", 150);
    let out = run(
        &sb,
        &input,
        &["--rate", "100", "--burst", "2", "--concurrency", "16"],
    );
    assert_exit(&out, 0);
    let (requests, rejected) = all_created_once(&s, 150, &sb);
    assert!(rejected > 0, "no 429: the test proves nothing");
    // Not a retry storm: a few 429s per pause, not one per worker and try.
    assert!(
        rejected * 20 < requests,
        "{style:?}: {rejected} of {requests} answered 429"
    );
    // At most --burst per 1/--rate at the client; one more for arrival jitter.
    let most = most_in_any_window(&sb, Duration::from_millis(10));
    assert!(most <= 3, "{style:?}: {most} requests within 10 ms");
}

#[test]
fn after_a_pause_with_fractional_retry_after_requests_reenter_one_by_one() {
    no_burst_after_a_pause(RetryAfterStyle::Fractional);
}

#[test]
fn a_429_without_retry_after_pauses_the_pool_and_reenters_one_by_one() {
    no_burst_after_a_pause(RetryAfterStyle::None);
}

/// A server that advertises its limit never has to refuse a request, even
/// when `--rate` is twice that limit. The server's burst of 10 is its
/// buffer for arrival jitter: on a loaded two-core runner the in-process
/// sandbox can stall for tens of milliseconds and then see the requests
/// that queued meanwhile at once, which no client can prevent.
fn advertised(limiter: Limiter, headers: RateHeaders) -> u64 {
    let s = Scratch::new();
    let sb = sandbox_with_faults(Faults {
        rate_headers: headers,
        ..limited(limiter, 200.0, 10, RetryAfterStyle::Seconds)
    });
    let input = s.customers("in.csv", 300);
    let out = run(
        &sb,
        &input,
        &["--rate", "400", "--burst", "5", "--concurrency", "16"],
    );
    assert_exit(&out, 0);
    let rejected = all_created_once(&s, 300, &sb).1;
    if rejected > 0 {
        // What the server saw around each 429, for the failure message.
        let log = sb.request_log();
        for (i, r) in log.iter().enumerate().filter(|(_, r)| r.status == 429) {
            let around: Vec<_> = log[i.saturating_sub(8)..(i + 2).min(log.len())]
                .iter()
                .map(|q| (q.at.as_micros(), q.status))
                .collect();
            eprintln!("{limiter:?} 429 at {:?}: {around:?}", r.at);
        }
    }
    rejected
}

#[test]
fn draft_ratelimit_headers_mean_zero_429_on_every_limiter() {
    let rejected: Vec<_> = [
        Limiter::TokenBucket,
        Limiter::LeakyBucket,
        Limiter::FixedWindow,
        Limiter::SlidingWindow,
    ]
    .into_iter()
    .map(|limiter| (limiter, advertised(limiter, RateHeaders::Draft)))
    .collect();
    assert!(rejected.iter().all(|(_, n)| *n == 0), "429s: {rejected:?}");
}

#[test]
fn x_ratelimit_headers_mean_zero_429() {
    assert_eq!(advertised(Limiter::FixedWindow, RateHeaders::X), 0);
}

#[test]
fn rate_auto_learns_a_50_per_second_limit() {
    let s = Scratch::new();
    let sb = sandbox_with_faults(limited(
        Limiter::TokenBucket,
        50.0,
        5,
        RetryAfterStyle::Seconds,
    ));
    let input = s.customers("in.csv", 300);
    let summary = s.path("summary.json");
    let out = run(
        &sb,
        &input,
        &[
            "--rate",
            "auto",
            "--concurrency",
            "16",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pace --rate auto"), "{stderr}");
    assert!(stderr.contains("learned ceiling"), "{stderr}");
    all_created_once(&s, 300, &sb);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let pace = &doc["pace"];
    assert_eq!(pace["mode"], "auto");
    assert_eq!(pace["max_rate"], 100.0);
    let ceiling = pace["learned_ceiling"].as_f64().expect("a ceiling");
    assert!((40.0..=55.0).contains(&ceiling), "learned {ceiling}");
    // The rate achieved over the run's last 10 s, measured: it may land a
    // hair above the ceiling it was paced under, never far.
    let effective = pace["effective_rate"].as_f64().unwrap();
    assert!(
        effective <= ceiling * 1.05,
        "{effective} well above {ceiling}"
    );
}

#[test]
fn searches_take_the_same_pacer_and_pause_on_429() {
    let s = Scratch::new();
    let sb = sandbox::spawn(SandboxOptions {
        duplicate: DuplicateMode::Conflict,
        ..SandboxOptions::default()
    })
    .unwrap();
    let input = s.customers("in.csv", 60);
    assert_exit(&run(&sb, &input, &["--rate", "1000"]), 0);
    // Every create now answers 409 and needs a search for the id. A bucket
    // with no burst at a quarter of --rate refuses several times a run;
    // whether a 429 lands on a create or a search depends on timing, so
    // the run is repeated (at most four times) until a search got one.
    let mut searched_into_a_429 = false;
    for _ in 0..4 {
        sb.set_faults(limited(
            Limiter::TokenBucket,
            20.0,
            1,
            RetryAfterStyle::Seconds,
        ));
        let skip = sb.request_log().len();
        let out = run(&sb, &input, &["--rate", "80", "--concurrency", "8"]);
        assert_exit(&out, 0);
        let rows = assert_universal(&latest_run(&s.path("in.csv")).join("results.csv"), 60, &sb);
        assert!(rows.iter().all(|r| r.status == "exists"), "{rows:#?}");
        assert_ids_match_server(&rows, &sb);
        let log = &sb.request_log()[skip..];
        let limited: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
        // A 429 pauses the pool, searches included.
        assert_quiet_during_pauses(log);
        if limited.iter().any(|r| r.path.ends_with("/search")) {
            searched_into_a_429 = true;
            break;
        }
    }
    assert!(
        searched_into_a_429,
        "no search was answered 429 in four runs; the test proves nothing"
    );
}
