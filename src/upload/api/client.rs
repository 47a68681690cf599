//! HTTP calls to the customers endpoints.
//!
//! Owns the single `reqwest::Client` (rustls, explicit timeouts, shared
//! pool, redirects never followed, no proxy for plain http), the
//! Authorization header (marked sensitive so it is redacted from debug
//! output), reading bodies in chunks up to [`MAX_BODY`] and lenient
//! parsing of success bodies (see notify-api.md §4.9). Advertised rate
//! limits in any answer are handed to the watcher set with
//! [`ApiClient::watch_limits`]. It must not retry or sleep: policy lives
//! in the uploader.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::error::ApiError;
use super::ratelimit::{self, RateLimitInfo};
use super::untrusted;
use crate::config::ApiKey;

/// Most bytes of an answer's body read: a customer is a few hundred bytes,
/// and a larger body is never held whole.
pub const MAX_BODY: usize = 1 << 20;

/// What a successful create call reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// 201: a new customer.
    Created {
        /// Notify's customer id.
        id: String,
    },
    /// 200: the code existed; the customer was left alone or overwritten.
    Existing {
        /// Notify's customer id.
        id: String,
    },
}

/// A client for one API base URL and key.
pub struct ApiClient {
    http: reqwest::Client,
    customers: Url,
    search: Url,
    auth: HeaderValue,
    requests: AtomicU64,
    limits: OnceLock<LimitWatcher>,
}

/// Receives the rate-limit facts of every answer that has any.
pub type LimitWatcher = Box<dyn Fn(RateLimitInfo) + Send + Sync>;

/// The fields we read from a customer object; everything is optional
/// because the docs show two different shapes.
#[derive(Deserialize)]
struct CustomerBody {
    id: Option<String>,
    #[serde(rename = "customerCode")]
    customer_code: Option<String>,
    number: Option<String>,
}

impl CustomerBody {
    /// Notify's id: `id`, or a UUID-looking `customerCode` (the list page's
    /// other shape).
    fn notify_id(&self) -> Option<String> {
        self.id
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.customer_code.clone().filter(|c| looks_like_uuid(c)))
    }

    /// The caller's own code: `customerCode` unless that is the UUID, then `number`.
    fn own_code(&self) -> Option<&str> {
        match &self.customer_code {
            Some(c) if !(self.id.is_none() && looks_like_uuid(c)) => Some(c),
            _ => self.number.as_deref(),
        }
    }
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.bytes().filter(|b| *b == b'-').count() == 4
}

impl ApiClient {
    /// Builds the client. `base` is e.g. `https://api.notify.cm/v2`.
    pub fn new(base: &Url, key: &ApiKey, timeout: Duration) -> Result<ApiClient, ApiError> {
        let build_err = |e: reqwest::Error| ApiError::Transport {
            message: format!("cannot set up the HTTP client: {e}"),
            nothing_sent: true,
        };
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                ApiError::Transport {
                    message: "the API key contains characters not allowed in a header".into(),
                    nothing_sent: true,
                }
            })?;
        auth.set_sensitive(true);
        let http = http_client(base, timeout).map_err(build_err)?;
        let base = base.as_str().trim_end_matches('/');
        let parse = |path: &str| {
            Url::parse(&format!("{base}{path}")).map_err(|e| ApiError::Transport {
                message: format!("bad API URL {base}{path}: {e}"),
                nothing_sent: true,
            })
        };
        Ok(ApiClient {
            http,
            customers: parse("/customers")?,
            search: parse("/customers/search")?,
            auth,
            requests: AtomicU64::new(0),
            limits: OnceLock::new(),
        })
    }

    /// Hands the advertised limits of every later answer to `watcher`;
    /// only the first watcher set is kept (false if one was already set).
    pub fn watch_limits(&self, watcher: LimitWatcher) -> bool {
        self.limits.set(watcher).is_ok()
    }

    /// Number of HTTP requests started so far.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `POST /customers` with a JSON body.
    pub async fn create(&self, body: Vec<u8>, overwrite: bool) -> Result<CreateOutcome, ApiError> {
        let mut req = self
            .http
            .post(self.customers.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/hal+json, application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if overwrite {
            req = req.query(&[("Overwrite", "true")]);
        }
        let (status, bytes) = self.send(req).await?;
        let created = status == StatusCode::CREATED;
        let id = parse_customer(status, &bytes)?
            .notify_id()
            .ok_or_else(|| ApiError::bad_response(status, "no customer id in the response"))?;
        let id = checked_id(status, &id)?;
        Ok(if created {
            CreateOutcome::Created { id }
        } else {
            CreateOutcome::Existing { id }
        })
    }

    /// `GET /customers/search` for an exact code. `Ok(None)` when not found.
    pub async fn search(&self, code: &str) -> Result<Option<String>, ApiError> {
        // The docs send the term as a form body on a GET; proxies may drop
        // such bodies, so the same term also goes in the query string.
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("customer", code)
            .finish();
        let req = self
            .http
            .get(self.search.clone())
            .query(&[("customer", code)])
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/hal+json, application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        match self.send(req).await {
            Ok((status, bytes)) => {
                let found = parse_customer(status, &bytes)?;
                // Trust the id only when the server confirms the exact code.
                if found.own_code() == Some(code) {
                    found
                        .notify_id()
                        .map(|id| checked_id(status, &id))
                        .transpose()
                } else {
                    Ok(None)
                }
            }
            Err(ApiError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends, reads the body (at most [`MAX_BODY`]), and turns non-2xx
    /// answers into errors.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), ApiError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| ApiError::from_transport(&e))?;
        let status = resp.status();
        if let Some(watch) = self.limits.get() {
            let info = ratelimit::parse(resp.headers(), SystemTime::now());
            if !info.is_empty() {
                watch(info);
            }
        }
        if status.is_redirection() {
            let location = resp.headers().get(LOCATION).map(HeaderValue::as_bytes);
            return Err(ApiError::redirected(status, location, resp.url()));
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (bytes, whole) = read_capped(resp, MAX_BODY).await?;
        if status.is_success() && !whole {
            // It may well have created the customer: in doubt.
            return Err(ApiError::bad_response(
                status,
                &format!(
                    "the answer is larger than {} MiB; it was not read to the end",
                    MAX_BODY >> 20
                ),
            ));
        }
        if status.is_success() {
            Ok((status, bytes))
        } else {
            // Its status says what happened; the start of the body, why.
            Err(ApiError::from_response(status, retry_after, &bytes))
        }
    }
}

/// Reads `resp`'s body in chunks, keeping at most `cap` bytes: a larger
/// body is not read further (the connection is dropped, not reused).
/// True when the body was read whole.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<(Vec<u8>, bool), ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ApiError::from_transport(&e))?
    {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// The HTTP client for `base`: rustls, timeouts, no redirects, and no
/// proxy for plain http (only ever to loopback: a proxy would see the
/// bearer key in clear text); https keeps the proxy variables.
pub(super) fn http_client(base: &Url, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    super::tls::install_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("notify-import/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        // Shorter than common server keep-alives, so a pooled connection
        // is not reused just as the server closes it.
        .pool_idle_timeout(Duration::from_secs(20))
        // A 3xx is answered, never followed: see ApiError::Redirected.
        .redirect(reqwest::redirect::Policy::none());
    if base.scheme() == "http" {
        builder = builder.no_proxy();
    }
    builder.build()
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Authorization value is left out altogether, not just masked.
        f.debug_struct("ApiClient")
            .field("customers", &self.customers.as_str())
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

fn parse_customer(status: StatusCode, bytes: &[u8]) -> Result<CustomerBody, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if bytes.is_empty() {
            ApiError::bad_response(status, "empty body")
        } else {
            // serde's message may quote the body.
            ApiError::bad_response(status, &format!("body is not customer JSON ({e})"))
        }
    })
}

/// The id if it is plausible; else the answer is unusable (so in doubt:
/// the row is looked up, never recorded with this id).
fn checked_id(status: StatusCode, raw: &str) -> Result<String, ApiError> {
    untrusted::id(raw).map_err(|why| {
        ApiError::bad_response(
            status,
            &format!("the customer id in the answer is unusable: {why}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_either_documented_shape() {
        let a: CustomerBody = serde_json::from_str(
            r#"{"id":"a0f0660d-6c8d-422b-8114-e363b260521e","customerCode":"10001"}"#,
        )
        .unwrap();
        assert_eq!(
            a.notify_id().as_deref(),
            Some("a0f0660d-6c8d-422b-8114-e363b260521e")
        );
        assert_eq!(a.own_code(), Some("10001"));
        let b: CustomerBody = serde_json::from_str(
            r#"{"customerCode":"a0f0660d-6c8d-422b-8114-e363b260521e","number":"10001"}"#,
        )
        .unwrap();
        assert_eq!(
            b.notify_id().as_deref(),
            Some("a0f0660d-6c8d-422b-8114-e363b260521e")
        );
        assert_eq!(b.own_code(), Some("10001"));
    }
}
