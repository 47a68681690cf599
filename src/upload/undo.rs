//! `undo`'s requests: a read of one customer, a `PATCH` restoring fields
//! and a `DELETE`, each through the uploader's pace (the same pacer,
//! 429 pauses, retry policy, row deadline, stall watchdog and stop handle
//! as an import's rows).
//!
//! Owns [`Attempted`], how one such request ended after its attempts.
//! Both writes are idempotent (a lost `PATCH` answer is sent again; a
//! lost `DELETE` answer then a 404 is a deleted customer), so retrying
//! needs no look-up first. It must not decide what to send or journal
//! it: the undo's run does, before each request.

use std::future::Future;

use super::{Tries, Uploader};
use crate::model::remote::Existing;
use crate::upload::api::{ApiError, DeleteOutcome, ErrorKind};

/// How one request of an undo ended.
#[derive(Debug)]
pub(crate) enum Attempted<T> {
    /// Answered.
    Done(T),
    /// Refused, or kept failing: the last error.
    Failed(String),
    /// The run stopped first (signal, key rejected, unreachable API).
    Stopped,
}

impl Uploader {
    /// Requests in flight at most (`--concurrency`).
    pub(crate) fn concurrency(&self) -> usize {
        self.settings.concurrency.max(1)
    }

    /// Reads customer `id` (`None`: no such customer).
    pub(crate) async fn undo_read(&self, id: &str) -> Attempted<Option<Existing>> {
        self.undo_request(|| self.client.customer_at(id)).await
    }

    /// `PATCH` customer `id` with `body`.
    pub(crate) async fn undo_patch(&self, id: &str, body: &[u8]) -> Attempted<Existing> {
        self.undo_request(|| self.client.patch(id, body.to_vec()))
            .await
    }

    /// `DELETE` customer `id`.
    pub(crate) async fn undo_delete(&self, id: &str) -> Attempted<DeleteOutcome> {
        self.undo_request(|| self.client.delete(id)).await
    }

    /// One request with the import's retry policy: 429s pause the pool
    /// and do not use up attempts, 5xx and lost answers are tried again
    /// with backoff up to `--max-attempts`, a rejected key or a redirect
    /// stops the run.
    async fn undo_request<T, F, Fut>(&self, mut request: F) -> Attempted<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut tries = Tries::new(&self.settings);
        loop {
            if let Some(why) = tries.spent() {
                return Attempted::Failed(why);
            }
            let Some(mut ticket) = self.pacer.acquire(&self.stop.token).await else {
                return Attempted::Stopped;
            };
            if tries.failures > 0 {
                self.counters
                    .retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let err = match self.guarded(&mut ticket, request()).await {
                Ok(value) => return Attempted::Done(value),
                Err(ApiError::Aborted) => return Attempted::Stopped,
                Err(e) => e,
            };
            tries.last = err.to_string();
            match err.kind() {
                ErrorKind::Auth | ErrorKind::Redirected => {
                    self.stop_for(&err);
                    return Attempted::Stopped;
                }
                ErrorKind::Invalid | ErrorKind::Duplicate => return Attempted::Failed(tries.last),
                ErrorKind::RateLimited => {
                    if !self.rate_limited_pause(ticket, &err) {
                        return Attempted::Stopped;
                    }
                }
                ErrorKind::Transient | ErrorKind::InDoubt => {
                    if let Some(delay) = tries.failed()
                        && !self.sleep(delay).await
                    {
                        return Attempted::Stopped;
                    }
                }
            }
        }
    }
}
