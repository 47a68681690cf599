//! Start-up settings of the sandbox and their command-line form.
//!
//! Owns [`SandboxOptions`] (what `spawn` takes), [`DuplicateMode`] and the
//! clap arguments of `notify-import sandbox` ([`SandboxArgs`]). It must not
//! hold behaviour: the routes read these values, this module only carries
//! and documents them.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::faults::{Faults, JunkMode, RetryAfterStyle};
use super::limit::{Limiter, RateHeaders};

/// What `POST /v2/customers` does for a `CustomerCode` that already exists
/// when `Overwrite` is not set. The real API does not document this, so the
/// sandbox lets tests exercise both plausible answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
pub enum DuplicateMode {
    /// `200 OK` with the stored customer, unchanged.
    #[default]
    Existing,
    /// `409 Conflict` problem JSON: `Customer with code X already exists`.
    Conflict,
}

/// The shape of the items of `GET /v2/customers`: the docs' list page
/// shows two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
pub enum ListShape {
    /// `id` (Notify's id) and `customerCode` (the caller's code), as the
    /// page's curl example and every single-customer answer.
    #[default]
    Id,
    /// `customerCode` holding Notify's id and `number` the caller's code,
    /// as the page's response table.
    Number,
}

/// Everything [`spawn`](super::spawn) needs to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// TCP port on 127.0.0.1; `0` lets the OS pick a free one.
    pub port: u16,
    /// If set, the only accepted API key (it must still start with `test_`).
    pub required_key: Option<String>,
    /// Answer to a create for an existing code without `Overwrite`.
    pub duplicate: DuplicateMode,
    /// Initial fault knobs; change them later with
    /// [`SandboxHandle::set_faults`](super::SandboxHandle::set_faults).
    pub faults: Faults,
    /// Item shape of the customer list.
    pub list_shape: ListShape,
    /// A CSV in the import format whose rows the sandbox starts with
    /// (see [`SandboxArgs::customers`]).
    pub customers: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            port: 0,
            required_key: None,
            duplicate: DuplicateMode::Existing,
            faults: Faults::default(),
            list_shape: ListShape::Id,
            customers: None,
        }
    }
}

/// Flags of `notify-import sandbox`: run the emulator on 127.0.0.1 for manual
/// tests and benchmarks.
#[derive(Args, Debug, Clone)]
pub struct SandboxArgs {
    /// TCP port to listen on (127.0.0.1 only; 0 picks a free port).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Accept only this API key (must start with `test_`); by default any
    /// `test_` key is accepted.
    #[arg(long, env = "NOTIFY_SANDBOX_KEY", hide_env_values = true)]
    pub required_key: Option<String>,

    /// Answer to a create for an existing CustomerCode without Overwrite:
    /// `existing` (200 with the stored customer) or `conflict` (409).
    #[arg(long, value_enum, default_value_t = DuplicateMode::Existing)]
    pub duplicate: DuplicateMode,

    /// Server-side rate limit in requests per second over all API routes;
    /// past it the sandbox answers 429 with Retry-After. Unlimited if absent.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Requests allowed back to back before --rate applies (token bucket
    /// size; 0 counts as 1).
    #[arg(long, default_value_t = 1)]
    pub burst: u32,

    /// Algorithm enforcing --rate: `token-bucket` (--burst tokens),
    /// `leaky-bucket` (nginx limit_req burst=--burst nodelay),
    /// `fixed-window` (--rate per whole second) or `sliding-window`
    /// (--rate in any second).
    #[arg(long, value_enum, default_value_t = Limiter::TokenBucket)]
    pub limiter: Limiter,

    /// Rate-limit headers on every API answer: `off`, `draft`
    /// (RateLimit-Policy and RateLimit) or `x` (X-RateLimit-*).
    #[arg(long, value_enum, default_value_t = RateHeaders::Off)]
    pub rate_headers: RateHeaders,

    /// Form of the Retry-After header on 429: `seconds`, `fractional`,
    /// `http-date` or `none` (left out).
    #[arg(long, value_enum, default_value_t = RetryAfterStyle::Seconds)]
    pub retry_after: RetryAfterStyle,

    /// Delay before answering each API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Make the delay uniform in 0..=--latency-ms instead of fixed.
    #[arg(long)]
    pub latency_random: bool,

    /// Share of creates (and updates, deletes, list pages) answered 503
    /// before anything is stored (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub fail_rate: f64,

    /// Share of successful creates (and updates, deletes) that are stored
    /// and then have their connection closed without any response (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub drop_rate: f64,

    /// Send successful create answers slowly: headers at once, then wait this
    /// many milliseconds before each small chunk of the body (0 = off).
    #[arg(long, default_value_t = 0)]
    pub slow_body_ms: u64,

    /// Answer creates with junk: `empty-ok` (200, empty body, stored),
    /// `html502` (502 HTML page, not stored) or `created-no-id` (201 JSON
    /// without id, stored).
    #[arg(long, value_enum)]
    pub junk: Option<JunkMode>,

    /// Share of creates that get the --junk answer (0..1).
    #[arg(long, default_value_t = 1.0, value_parser = parse_probability)]
    pub junk_rate: f64,

    /// Seed of the random generator behind every fault decision, so a run
    /// can be repeated.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Answer creates for this CustomerCode with 400 (repeatable), to try server-side rejections.
    #[arg(long = "reject-code", value_name = "CODE")]
    pub reject_codes: Vec<String>,

    /// Item shape of GET /v2/customers: `id` (id + customerCode, as the
    /// docs' curl example) or `number` (Notify's id under customerCode,
    /// the code under number, as the docs' response table).
    #[arg(long, value_enum, default_value_t = ListShape::Id)]
    pub list_shape: ListShape,

    /// Start with these customers: a CSV in the import format (any
    /// encoding, delimiter and header names the import reads). Optional
    /// columns: `NotifyId` (keep this id instead of a new one) and
    /// `HasInvoices` (yes/true/1/x: a delete is refused with `Customer
    /// is not empty`). The last row is the newest.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
}

impl SandboxArgs {
    /// The options these flags describe.
    pub fn into_options(self) -> SandboxOptions {
        SandboxOptions {
            port: self.port,
            required_key: self.required_key,
            duplicate: self.duplicate,
            faults: Faults {
                rate: self.rate,
                burst: self.burst,
                limiter: self.limiter,
                rate_headers: self.rate_headers,
                retry_after: self.retry_after,
                latency_ms: self.latency_ms,
                latency_random: self.latency_random,
                fail_rate: self.fail_rate,
                drop_rate: self.drop_rate,
                slow_body_ms: self.slow_body_ms,
                junk: self.junk,
                junk_rate: self.junk_rate,
                seed: self.seed,
                reject_codes: self.reject_codes,
            },
            list_shape: self.list_shape,
            customers: self.customers,
        }
    }
}

fn parse_probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("`{s}` is not between 0 and 1"))
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if r.is_finite() && r > 0.0 {
        Ok(r)
    } else {
        Err(format!("`{s}` is not a positive number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_map_to_options() {
        let cli = Cli::try_parse_from([
            "x",
            "--port",
            "0",
            "--rate",
            "5",
            "--burst",
            "3",
            "--retry-after",
            "http-date",
            "--duplicate",
            "conflict",
            "--drop-rate",
            "0.5",
            "--junk",
            "created-no-id",
            "--seed",
            "7",
            "--limiter",
            "sliding-window",
            "--rate-headers",
            "draft",
            "--list-shape",
            "number",
            "--customers",
            "held.csv",
        ])
        .expect("flags parse");
        let o = cli.args.into_options();
        assert_eq!(o.port, 0);
        assert_eq!(o.duplicate, DuplicateMode::Conflict);
        assert_eq!(o.faults.rate, Some(5.0));
        assert_eq!(o.faults.burst, 3);
        assert_eq!(o.faults.retry_after, RetryAfterStyle::HttpDate);
        assert_eq!(o.faults.drop_rate, 0.5);
        assert_eq!(o.faults.junk, Some(JunkMode::CreatedNoId));
        assert_eq!(o.faults.junk_rate, 1.0);
        assert_eq!(o.faults.seed, 7);
        assert_eq!(o.faults.limiter, Limiter::SlidingWindow);
        assert_eq!(o.faults.rate_headers, RateHeaders::Draft);
        assert_eq!(o.list_shape, ListShape::Number);
        assert_eq!(
            o.customers.as_deref(),
            Some(std::path::Path::new("held.csv"))
        );
    }

    #[test]
    fn defaults_and_bad_values() {
        let cli = Cli::try_parse_from(["x"]).expect("no flags parse");
        assert_eq!(cli.args.port, 8787);
        assert!(Cli::try_parse_from(["x", "--fail-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["x", "--rate", "0"]).is_err());
    }
}
