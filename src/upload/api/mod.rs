//! Client for the Notify customers API.
//!
//! Owns the HTTP details: one `reqwest` client, authentication, one function
//! per endpoint, and turning responses into typed results. It knows nothing
//! of CSV, clap or the results file. Every text and id an answer carries
//! leaves it through `untrusted` (scrubbed, checked).

mod client;
mod error;
pub(crate) mod ratelimit;
pub(crate) mod retry;
pub(crate) mod tls;
pub(crate) mod untrusted;

pub use client::{
    ApiClient, CreateOutcome, DeleteOutcome, ListPage, MAX_BODY, MAX_PAGE_BODY, PAGE_LIMIT,
    SearchHit,
};
pub use error::{ApiError, ErrorKind};
pub use ratelimit::RateLimitInfo;
pub use tls::TlsError;
