//! Counters the sandbox keeps about the traffic it saw.
//!
//! Owns [`Stats`] (the snapshot served at `/__stats` and returned by
//! [`SandboxHandle::stats`](super::SandboxHandle::stats)) and the in-flight
//! gauge. It only counts: it must not decide anything about a request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Snapshot of the sandbox counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// API requests received (everything under `/v2`, rejected ones included).
    pub requests: u64,
    /// Customers created (new codes), including those whose answer was then
    /// dropped or garbled by a fault.
    pub creates: u64,
    /// Creates with `Overwrite` that replaced an existing customer.
    pub overwrites: u64,
    /// Successful `PATCH /v2/customers/{id}` calls.
    pub updates: u64,
    /// List pages served (`GET /v2/customers` that reached the list).
    pub lists: u64,
    /// Customers on the list pages served, all pages together.
    pub listed: u64,
    /// Customers deleted (`DELETE /v2/customers/{id}` answered 204).
    pub deletes: u64,
    /// Deletes refused because the customer has invoices (400).
    pub deletes_refused: u64,
    /// API requests received per HTTP method (`GET`, `POST`, `PATCH`,
    /// `DELETE`...), rejected ones included.
    pub requests_by_method: BTreeMap<String, u64>,
    /// Creates for an existing code without `Overwrite` (answered 200 or 409).
    pub duplicate_create_attempts: u64,
    /// Search requests that reached the search handler.
    pub searches: u64,
    /// Requests answered 401.
    pub unauthorized: u64,
    /// Requests answered 400.
    pub rejected_400: u64,
    /// Requests answered 429 by the rate limit.
    pub rate_limited_429: u64,
    /// Faults applied (503, junk, dropped connection, slow body).
    pub faults_injected: u64,
    /// Most API requests that were in flight at the same moment.
    pub max_in_flight: u64,
    /// API requests in flight when the snapshot was taken.
    pub in_flight: u64,
    /// When the first API request arrived, in microseconds since the Unix
    /// epoch (0 before any). Benchmarks compare it with the moment they
    /// started the client, to measure the time to the first request.
    pub first_request_unix_us: u64,
    /// When the latest API request arrived, in microseconds since the Unix
    /// epoch (0 before any).
    pub last_request_unix_us: u64,
    /// How often each code was created; any value above 1 means a customer
    /// was created twice.
    pub creates_by_code: BTreeMap<String, u32>,
}

/// Now, in microseconds since the Unix epoch: wall-clock time, so another
/// process on the machine can compare it with its own clock.
pub(crate) fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Lock-free gauge of concurrent API requests; the maximum is what load tests
/// check, so it is tracked at the moment of entry rather than sampled.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    now: AtomicU64,
    max: AtomicU64,
}

impl InFlight {
    /// Counts one request in; the guard counts it out when dropped, which also
    /// covers requests whose connection is torn down mid-handler.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    /// `(in_flight, max_in_flight)`.
    pub fn read(&self) -> (u64, u64) {
        (
            self.now.load(Ordering::SeqCst),
            self.max.load(Ordering::SeqCst),
        )
    }
}

/// Counts a request out of [`InFlight`] on drop.
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A shared [`InFlightGuard`] that travels in the request extensions, so a
/// handler can count its request out *before* it makes the connection
/// vanish; otherwise a client could see the close and still read the request
/// as in flight.
#[derive(Debug, Clone)]
pub(crate) struct InFlightTicket(Arc<Mutex<Option<InFlightGuard>>>);

impl InFlightTicket {
    pub fn new(guard: InFlightGuard) -> Self {
        Self(Arc::new(Mutex::new(Some(guard))))
    }

    /// Counts the request out now; later calls do nothing.
    pub fn release(&self) {
        let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_tracks_max() {
        let g = Arc::new(InFlight::default());
        let a = g.enter();
        let b = InFlightTicket::new(g.enter());
        drop(a);
        let _c = g.enter();
        b.clone().release();
        assert_eq!(g.read(), (1, 2));
        b.release();
        drop(b);
        assert_eq!(g.read(), (1, 2));
    }
}
