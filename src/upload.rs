//! The upload stage: valid rows in, one outcome per row out.
//!
//! Owns concurrency (at most `concurrency` rows in flight), the shared rate
//! limiter (governor, one cell per request, searches included), turning API
//! answers into row outcomes, and stopping: after an auth failure or a stop
//! request no new request starts and every remaining row comes out
//! `skipped`. It must not read files, parse arguments or write results.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiClient, ApiError, CreateOutcome};
use crate::outcome::{Outcome, Status};
use crate::preflight::Planned;

/// Upload settings that change behaviour.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// Send `Overwrite=true`.
    pub overwrite: bool,
    /// Requests per second.
    pub rate: f64,
    /// Requests allowed at once above the steady rate.
    pub burst: u32,
    /// Rows in flight.
    pub concurrency: usize,
}

/// Why the uploader stopped sending before the end of the file.
#[derive(Debug, Clone)]
pub enum StopReason {
    /// The API rejected the key.
    Auth(ApiError),
    /// The user interrupted the run.
    Interrupted,
}

/// Stops the uploader from outside (signal handlers) or inside (auth failure).
#[derive(Clone, Default)]
pub struct StopHandle {
    token: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl StopHandle {
    /// Marks the run as interrupted by the user and stops new sends.
    pub fn interrupt(&self) {
        self.stop(StopReason::Interrupted);
    }

    /// Stops new sends; the first reason given is kept.
    pub fn stop(&self, reason: StopReason) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(reason);
        }
        self.token.cancel();
    }

    /// Why sending stopped, if it did.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// Sends rows and reports outcomes.
pub struct Uploader {
    client: Arc<ApiClient>,
    limiter: DefaultDirectRateLimiter,
    settings: UploadSettings,
    stop: StopHandle,
}

/// A GCRA quota of `rate`/s with `burst` cells: with burst 1 requests are
/// evenly spaced, never bunched (`Quota::per_second` would allow a burst of
/// a full second's worth).
fn quota(rate: f64, burst: u32) -> Quota {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}

impl Uploader {
    /// An uploader over `client`.
    pub fn new(client: Arc<ApiClient>, settings: UploadSettings) -> Uploader {
        Uploader {
            limiter: RateLimiter::direct(quota(settings.rate, settings.burst)),
            client,
            settings,
            stop: StopHandle::default(),
        }
    }

    /// A handle that stops this uploader.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Why sending stopped early, if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop.reason()
    }

    /// Consumes `rows` until the channel closes; sends exactly one outcome
    /// per row to `outcomes`, in completion order.
    pub async fn run(&self, rows: mpsc::Receiver<Planned>, outcomes: mpsc::Sender<Outcome>) {
        let items = futures::stream::unfold(rows, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        // The consumer only forwards outcomes, so buffer_unordered keeps
        // polling in-flight requests (futures-rs#2387).
        let done = items
            .map(|item| self.handle(item))
            .buffer_unordered(self.settings.concurrency.max(1));
        let mut done = std::pin::pin!(done);
        while let Some(outcome) = done.next().await {
            if outcomes.send(outcome).await.is_err() {
                break;
            }
        }
    }

    async fn handle(&self, item: Planned) -> Outcome {
        let (row, line, code, body) = match item {
            Planned::Done(outcome) => return outcome,
            Planned::Send {
                row,
                line,
                code,
                body,
            } => (row, line, code, body),
        };
        let mut out = Outcome::local(row, line, code, Status::Skipped, String::new());
        if !self.acquire().await {
            out.error = "not sent: the run stopped before this row".into();
            return out;
        }
        out.attempts = 1;
        match self.client.create(body, self.settings.overwrite).await {
            Ok(CreateOutcome::Created { id }) => {
                out.status = Status::Created;
                out.http_status = Some(201);
                out.customer_id = Some(id);
            }
            Ok(CreateOutcome::Existing { id }) => {
                out.status = if self.settings.overwrite {
                    Status::Overwritten
                } else {
                    Status::Exists
                };
                out.http_status = Some(200);
                out.customer_id = Some(id);
            }
            Err(ApiError::Duplicate { status, detail }) => {
                out.http_status = Some(status);
                self.resolve_duplicate(&mut out, &detail).await;
            }
            Err(err) => self.fail(&mut out, err),
        }
        out
    }

    /// Waits for a rate-limiter cell; false when the run stopped meanwhile.
    async fn acquire(&self) -> bool {
        tokio::select! {
            biased;
            _ = self.stop.token.cancelled() => false,
            _ = self.limiter.until_ready() => !self.stop.is_stopped(),
        }
    }

    /// The API said the code exists: look its id up so the results file
    /// can name the customer.
    async fn resolve_duplicate(&self, out: &mut Outcome, detail: &str) {
        if !self.acquire().await {
            out.status = Status::Failed;
            out.error = format!(
                "API says the code exists ({detail}); the run stopped before its id was looked up"
            );
            return;
        }
        out.attempts += 1;
        match self.client.search(&out.code).await {
            Ok(Some(id)) => {
                out.status = Status::Exists;
                out.customer_id = Some(id);
            }
            Ok(None) => {
                out.status = Status::Failed;
                out.error = format!(
                    "API says the code exists ({detail}) but searching for it found nothing"
                );
            }
            Err(err) => {
                let msg =
                    format!("API says the code exists ({detail}); looking up its id failed: {err}");
                self.fail(out, err);
                out.error = msg;
            }
        }
    }

    fn fail(&self, out: &mut Outcome, err: ApiError) {
        out.status = Status::Failed;
        out.http_status = err.http_status().or(out.http_status);
        out.error = err.to_string();
        if let ApiError::Auth { .. } = err {
            self.stop.stop(StopReason::Auth(err));
        }
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
}
