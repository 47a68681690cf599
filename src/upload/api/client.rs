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
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::remote::Existing;

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

/// A customer object as Notify answers it: everything optional and any
/// scalar accepted, because the docs show two different shapes (see
/// [`CustomerBody::shape`]) and never say which fields are always there.
#[derive(Deserialize, Default)]
struct CustomerBody {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(rename = "customerCode", default, deserialize_with = "lenient")]
    customer_code: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    number: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    /// Nested in every documented answer; a flat string is accepted too.
    #[serde(default)]
    address: Option<AddressBody>,
    #[serde(default, deserialize_with = "lenient")]
    postalcode: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    city: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    country: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    contact: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    phone: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    mobile: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    email: Option<String>,
    #[serde(rename = "invoiceEmail", default, deserialize_with = "lenient")]
    invoice_email: Option<String>,
    #[serde(rename = "registrationNumber", default, deserialize_with = "lenient")]
    registration_number: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    language: Option<String>,
}

/// The `address` member: the documented object, or a plain string.
#[derive(Deserialize)]
#[serde(untagged)]
enum AddressBody {
    Nested {
        #[serde(default, deserialize_with = "lenient")]
        address: Option<String>,
        #[serde(default, deserialize_with = "lenient")]
        postalcode: Option<String>,
        #[serde(default, deserialize_with = "lenient")]
        city: Option<String>,
        #[serde(default, deserialize_with = "lenient")]
        country: Option<String>,
    },
    Flat(#[serde(deserialize_with = "lenient")] Option<String>),
}

/// Any JSON scalar as text (a code may come as the number `10001`);
/// `null`, objects and arrays as absent.
fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Which of the documented item shapes an object has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `id` is Notify's id, `customerCode` the caller's code (create,
    /// update, search, and the list's curl example).
    IdAndCode,
    /// `customerCode` holds Notify's UUID and `number` the caller's code
    /// (the list page's response table).
    NumberAndUuid,
}

impl CustomerBody {
    /// An item whose `customerCode` looks like a UUID and that has a
    /// `number` is the list table's shape; anything else the common one.
    fn shape(&self) -> Shape {
        let uuid_code = self.customer_code.as_deref().is_some_and(looks_like_uuid);
        let number = self.number.as_deref().is_some_and(|n| !n.is_empty());
        if uuid_code && number {
            Shape::NumberAndUuid
        } else {
            Shape::IdAndCode
        }
    }

    /// Notify's id: `id`, else (in the list table's shape, or when `id`
    /// is missing) a UUID-looking `customerCode`.
    fn notify_id(&self) -> Option<String> {
        self.id
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.customer_code.clone().filter(|c| looks_like_uuid(c)))
    }

    /// The caller's own code: `number` in the list table's shape, else
    /// `customerCode` (or `number` when that is missing).
    fn own_code(&self) -> Option<&str> {
        let code = match self.shape() {
            Shape::NumberAndUuid => self.number.as_deref(),
            Shape::IdAndCode => self
                .customer_code
                .as_deref()
                .filter(|c| {
                    // Without an `id`, a UUID in `customerCode` is the id.
                    let is_the_id = self.id.is_none() && looks_like_uuid(c);
                    !c.is_empty() && !is_the_id
                })
                .or(self.number.as_deref()),
        };
        code.filter(|c| !c.is_empty())
    }

    /// Whether the answer carries any field besides the id and the code
    /// (the documented search answer does not).
    fn has_fields(&self) -> bool {
        self.name.is_some()
            || self.address.is_some()
            || self.postalcode.is_some()
            || self.city.is_some()
            || self.country.is_some()
            || self.contact.is_some()
            || self.phone.is_some()
            || self.mobile.is_some()
            || self.email.is_some()
            || self.invoice_email.is_some()
            || self.registration_number.is_some()
            || self.language.is_some()
    }

    /// The customer as Notify holds it, every text scrubbed; an error
    /// when the object has no plausible id or no code.
    fn into_existing(self, status: StatusCode) -> Result<Existing, ApiError> {
        let id = self
            .notify_id()
            .ok_or_else(|| ApiError::bad_response(status, "no customer id in the response"))?;
        let id = checked_id(status, &id)?;
        let code = self
            .own_code()
            .ok_or_else(|| ApiError::bad_response(status, "no customer code in the response"))?
            .to_owned();
        let mut customer = Customer::default();
        customer.set(Field::CustomerCode, untrusted::text(&code));
        let (mut address, mut postalcode, mut city, mut country) =
            (None, self.postalcode, self.city, self.country);
        match self.address {
            Some(AddressBody::Nested {
                address: a,
                postalcode: p,
                city: c,
                country: n,
            }) => {
                address = a;
                postalcode = p.or(postalcode);
                city = c.or(city);
                country = n.or(country);
            }
            Some(AddressBody::Flat(a)) => address = a,
            None => {}
        }
        for (field, value) in [
            (Field::Name, self.name),
            (Field::Address, address),
            (Field::Postalcode, postalcode),
            (Field::City, city),
            (Field::Country, country),
            (Field::Contact, self.contact),
            (Field::Phone, self.phone),
            (Field::Mobile, self.mobile),
            (Field::Email, self.email),
            (Field::InvoiceEmail, self.invoice_email),
            (Field::RegistrationNumber, self.registration_number),
            (Field::Language, self.language),
        ] {
            if let Some(v) = value {
                customer.set(field, untrusted::text(&v));
            }
        }
        Ok(Existing { id, customer })
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn looks_like_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A search answer: the customer and whether the answer carried its
/// fields (the documented one carries only `id` and `customerCode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The customer as the answer gave it.
    pub existing: Existing,
    /// False when the answer had only the id and the code: its other
    /// fields are unknown, not blank.
    pub has_fields: bool,
}

/// One page of `GET /v2/customers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The customers of the page, in the order Notify sent them.
    pub items: Vec<Existing>,
    /// `links.next.href`, checked to point at the API's own scheme, host
    /// and port; `None` on the last page.
    pub next: Option<Url>,
}

/// How a `DELETE /v2/customers/{id}` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// 204 (or another 2xx): the customer is gone.
    Deleted,
    /// 404: no customer has that id (perhaps a lost 204 before).
    NotFound,
    /// 400/409/422: Notify keeps the customer, for this reason (e.g.
    /// `Customer is not empty`: it has invoices).
    Refused(String),
}

#[derive(Deserialize)]
struct ListBody {
    customers: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    links: Option<LinksBody>,
}

#[derive(Deserialize)]
struct LinksBody {
    #[serde(default)]
    next: Option<LinkBody>,
}

#[derive(Deserialize)]
struct LinkBody {
    #[serde(default)]
    href: Option<String>,
}

/// Most bytes of a list page read: 250 customers of up to 13 fields of
/// 250 characters each, escaped, fit; a larger page is an error.
pub const MAX_PAGE_BODY: usize = 8 << 20;

/// Customers per list page asked for: the documented maximum.
pub const PAGE_LIMIT: u32 = 250;

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
        let (status, bytes) = self.send(req, MAX_BODY).await?;
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

    /// `GET /customers/search` for an exact code: Notify's id, `Ok(None)`
    /// when not found.
    pub async fn search(&self, code: &str) -> Result<Option<String>, ApiError> {
        Ok(self.search_hit(code).await?.map(|hit| hit.existing.id))
    }

    /// `GET /customers/search` for an exact code: the customer with the
    /// fields the answer carried (the documented answer has only the id
    /// and the code), `Ok(None)` when not found.
    pub async fn search_customer(&self, code: &str) -> Result<Option<Existing>, ApiError> {
        Ok(self.search_hit(code).await?.map(|hit| hit.existing))
    }

    /// As [`ApiClient::search_customer`], saying whether the answer
    /// carried the customer's fields.
    pub async fn search_hit(&self, code: &str) -> Result<Option<SearchHit>, ApiError> {
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
        match self.send(req, MAX_BODY).await {
            Ok((status, bytes)) => {
                let found = parse_customer(status, &bytes)?;
                // Trust the answer only when the server confirms the exact code.
                if found.own_code() != Some(code) {
                    return Ok(None);
                }
                let has_fields = found.has_fields();
                let existing = found.into_existing(status)?;
                Ok(Some(SearchHit {
                    existing,
                    has_fields,
                }))
            }
            Err(ApiError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first page of the customer list: `GET /customers?limit=250`.
    pub fn first_page(&self) -> Url {
        let mut url = self.customers.clone();
        url.query_pairs_mut()
            .append_pair("limit", &PAGE_LIMIT.to_string());
        url
    }

    /// One page of the customer list at `url` (the [`ApiClient::first_page`]
    /// or a page's `next`, followed verbatim). Both documented item shapes
    /// are read, item by item. A `next` link to another scheme, host or
    /// port than the API's is an error ([`ApiError::ForeignLink`]), as is
    /// an item without a plausible id or a code.
    pub async fn list_page(&self, url: &Url) -> Result<ListPage, ApiError> {
        if !same_origin(url, &self.customers) {
            return Err(ApiError::foreign_link(StatusCode::OK, url));
        }
        let req = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/hal+json, application/json");
        let (status, bytes) = self.send(req, MAX_PAGE_BODY).await?;
        let body: ListBody = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_response(status, &format!("body is not a customer list ({e})"))
        })?;
        let raw = body
            .customers
            .ok_or_else(|| ApiError::bad_response(status, "no `customers` in the list answer"))?;
        let mut items = Vec::with_capacity(raw.len());
        for (i, value) in raw.into_iter().enumerate() {
            let item: CustomerBody = serde_json::from_value(value).map_err(|e| {
                ApiError::bad_response(
                    status,
                    &format!("list item {} is not a customer ({e})", i + 1),
                )
            })?;
            let existing = item.into_existing(status).map_err(|e| match e {
                ApiError::BadResponse { status, message } => ApiError::BadResponse {
                    status,
                    message: format!("list item {}: {message}", i + 1),
                },
                other => other,
            })?;
            items.push(existing);
        }
        let next = match body.links.and_then(|l| l.next).and_then(|n| n.href) {
            None => None,
            Some(href) if href.trim().is_empty() => None,
            Some(href) => {
                // Relative links are resolved against the page's own URL.
                let next = url.join(href.trim()).map_err(|e| {
                    ApiError::bad_response(
                        status,
                        &format!("the next-page link is not a URL ({e})"),
                    )
                })?;
                if !same_origin(&next, &self.customers) {
                    return Err(ApiError::foreign_link(status, &next));
                }
                Some(next)
            }
        };
        Ok(ListPage { items, next })
    }

    /// The customer with Notify id `id`, read as the one-item list page
    /// that starts at it (`GET /customers?limit=1&from=<id>`: `From` is
    /// inclusive). There is no documented get-by-id for customers.
    /// `Ok(None)` when the page does not start with that id.
    pub async fn customer_at(&self, id: &str) -> Result<Option<Existing>, ApiError> {
        let mut url = self.customers.clone();
        url.query_pairs_mut()
            .append_pair("limit", "1")
            .append_pair("from", id);
        let page = match self.list_page(&url).await {
            Ok(page) => page,
            Err(ApiError::Rejected { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(page.items.into_iter().next().filter(|c| c.id == id))
    }

    /// `PATCH /customers/{id}` with a JSON `body` (only the fields to
    /// change; `""` clears one). The customer as Notify answered it.
    pub async fn patch(&self, id: &str, body: Vec<u8>) -> Result<Existing, ApiError> {
        let url = self.customer_url(id)?;
        let req = self
            .http
            .patch(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/hal+json, application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let (status, bytes) = self.send(req, MAX_BODY).await?;
        parse_customer(status, &bytes)?.into_existing(status)
    }

    /// `DELETE /customers/{id}`: deleted, not found, or refused (with
    /// Notify's reason, e.g. the customer has invoices).
    pub async fn delete(&self, id: &str) -> Result<DeleteOutcome, ApiError> {
        let url = self.customer_url(id)?;
        let req = self
            .http
            .delete(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/hal+json, application/json");
        match self.send(req, MAX_BODY).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(ApiError::Rejected { status: 404, .. }) => Ok(DeleteOutcome::NotFound),
            Err(
                ApiError::Rejected {
                    status: 400 | 409 | 422,
                    detail,
                }
                | ApiError::Duplicate { detail, .. },
            ) => Ok(DeleteOutcome::Refused(detail)),
            Err(e) => Err(e),
        }
    }

    /// `{base}/customers/{id}`, the id percent-encoded as one segment.
    fn customer_url(&self, id: &str) -> Result<Url, ApiError> {
        let unusable = |why: &str| ApiError::Transport {
            message: format!("not sent: the customer id is unusable ({why})"),
            nothing_sent: true,
        };
        untrusted::id(id).map_err(unusable)?;
        let mut url = self.customers.clone();
        url.path_segments_mut()
            .map_err(|()| unusable("the API URL cannot take a path"))?
            .push(id);
        Ok(url)
    }

    /// Sends, reads the body (at most `cap` bytes), and turns non-2xx
    /// answers into errors.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        cap: usize,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
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
        let (bytes, whole) = read_capped(resp, cap).await?;
        if status.is_success() && !whole {
            // It may well have created the customer: in doubt.
            return Err(ApiError::bad_response(
                status,
                &format!(
                    "the answer is larger than {} MiB; it was not read to the end",
                    cap >> 20
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

/// Whether `url` goes to the same scheme, host and port as `api`: the
/// only address the bearer key may be sent to.
fn same_origin(url: &Url, api: &Url) -> bool {
    url.scheme() == api.scheme()
        && url.host_str() == api.host_str()
        && url.port_or_known_default() == api.port_or_known_default()
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
    fn the_list_tables_shape_is_told_apart_per_item() {
        let uuid = "a0f0660d-6c8d-422b-8114-e363b260521e";
        let parse = |json: &str| -> Existing {
            serde_json::from_str::<CustomerBody>(json)
                .unwrap()
                .into_existing(StatusCode::OK)
                .unwrap()
        };
        // The table's shape, with a numeric code and the nested address.
        let b = parse(&format!(
            r#"{{"resource":"customer","customerCode":"{uuid}","number":10001,"name":"Creditpartners B.V.","address":{{"address":"Canadalaan 4","postalcode":"7316 BX","city":"Apeldoorn","country":"NL"}},"email":null}}"#
        ));
        assert_eq!((b.id.as_str(), b.code()), (uuid, "10001"));
        assert_eq!(b.customer.get(Field::Postalcode), Some("7316 BX"));
        assert_eq!(b.customer.get(Field::Email), None);
        // A code that merely looks like a UUID, with an id: the common shape.
        let other = "b1f0660d-6c8d-422b-8114-e363b260521e";
        let a = parse(&format!(r#"{{"id":"{other}","customerCode":"{uuid}"}}"#));
        assert_eq!((a.id.as_str(), a.code()), (other, uuid));
        // Not a UUID (wrong digits): never taken for an id.
        let no_id = serde_json::from_str::<CustomerBody>(
            r#"{"customerCode":"a0f0660d-6c8d-422b-8114-e363b260521z","number":"1"}"#,
        )
        .unwrap()
        .into_existing(StatusCode::OK);
        assert!(matches!(no_id, Err(ApiError::BadResponse { .. })));
    }

    #[test]
    fn implausible_ids_and_missing_codes_are_errors_and_text_is_scrubbed() {
        let bad = |json: &str| {
            serde_json::from_str::<CustomerBody>(json)
                .unwrap()
                .into_existing(StatusCode::OK)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(r#"{"id":"has space","customerCode":"1"}"#).contains("unusable"));
        assert!(bad(r#"{"id":"x1"}"#).contains("no customer code"));
        let e = serde_json::from_str::<CustomerBody>(
            r#"{"id":"x1","customerCode":"1","name":"a\u001b[31mb\nc"}"#,
        )
        .unwrap()
        .into_existing(StatusCode::OK)
        .unwrap();
        assert_eq!(e.customer.get(Field::Name), Some("a [31mb c"));
    }

    #[test]
    fn only_the_apis_own_scheme_host_and_port_are_followed() {
        let api = Url::parse("https://api.notify.cm/v2/customers").unwrap();
        let ok = |u: &str| same_origin(&Url::parse(u).unwrap(), &api);
        assert!(ok("https://api.notify.cm/v2/customers?from=x&limit=250"));
        assert!(ok("https://API.notify.cm:443/elsewhere"));
        assert!(!ok("http://api.notify.cm/v2/customers"));
        assert!(!ok("https://api.notify.cm:8443/v2/customers"));
        assert!(!ok("https://api.notify.cm.evil.example/v2/customers"));
    }

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
