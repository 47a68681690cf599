//! Response bodies of the sandbox, in the shapes `notify-api.md` shows.
//!
//! Owns the customer object (flat request fields nested under `address` in
//! the answer, unset strings as `""`), the search hit, the list page and the
//! problem JSON, plus their content types. It must not decide statuses for
//! business reasons; the routes pick the status, this module only renders.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::store::{DEFAULT_COUNTRY, DEFAULT_LANGUAGE, StoredCustomer};

/// Success bodies are documented as HAL although they carry no `_links`.
pub(crate) const HAL_JSON: &str = "application/hal+json";

#[derive(Serialize)]
struct Address<'a> {
    address: &'a str,
    postalcode: &'a str,
    city: &'a str,
    country: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerBody<'a> {
    resource: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    customer_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<&'a str>,
    name: &'a str,
    address: Address<'a>,
    contact: &'a str,
    phone: &'a str,
    mobile: &'a str,
    email: &'a str,
    invoice_email: &'a str,
    registration_number: &'a str,
    language: &'a str,
}

impl<'a> CustomerBody<'a> {
    /// The documented customer object.
    pub fn new(c: &'a StoredCustomer) -> Self {
        let s = |v: &'a Option<String>| v.as_deref().unwrap_or("");
        Self {
            resource: "customer",
            id: Some(&c.id),
            customer_code: &c.customer_code,
            number: None,
            name: s(&c.name),
            address: Address {
                address: s(&c.address),
                postalcode: s(&c.postalcode),
                city: s(&c.city),
                country: c.country.as_deref().unwrap_or(DEFAULT_COUNTRY),
            },
            contact: s(&c.contact),
            phone: s(&c.phone),
            mobile: s(&c.mobile),
            email: s(&c.email),
            invoice_email: s(&c.invoice_email),
            registration_number: s(&c.registration_number),
            language: c.language.as_deref().unwrap_or(DEFAULT_LANGUAGE),
        }
    }

    /// The list table's shape: Notify's id under `customerCode`, the
    /// caller's code under `number`, no `id`.
    pub fn number_shape(mut self) -> Self {
        if let Some(id) = self.id.take() {
            self.number = Some(self.customer_code);
            self.customer_code = id;
        }
        self
    }

    /// The same object with `id` left out (a junk fault).
    pub fn without_id(mut self) -> Self {
        self.id = None;
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchHit<'a> {
    resource: &'static str,
    id: &'a str,
    customer_code: &'a str,
}

impl<'a> SearchHit<'a> {
    pub fn new(c: &'a StoredCustomer) -> Self {
        Self {
            resource: "customer",
            id: &c.id,
            customer_code: &c.customer_code,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Link {
    href: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Link {
    pub fn new(href: String) -> Self {
        Self {
            href,
            kind: HAL_JSON,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Links {
    pub previous: Option<Link>,
    pub next: Option<Link>,
}

#[derive(Serialize)]
pub(crate) struct ListBody<'a> {
    pub customers: Vec<CustomerBody<'a>>,
    pub count: usize,
    pub links: Links,
}

/// A success answer: `status` with a HAL JSON body.
pub(crate) fn hal(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, HAL_JSON)], bytes).into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode body: {e}"),
        ),
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// The documented error shape: `status`, `title` (reason phrase), `detail`.
pub(crate) fn problem(status: StatusCode, detail: impl AsRef<str>) -> Response {
    let body = Problem {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        detail: detail.as_ref(),
    };
    // Three string fields always encode; the fallback only keeps this total.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// `429` with `Retry-After`.
pub(crate) fn too_many_requests(retry_after: Option<&str>, detail: impl AsRef<str>) -> Response {
    let mut resp = problem(StatusCode::TOO_MANY_REQUESTS, detail);
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// What a misbehaving proxy in front of the API answers.
pub(crate) fn html_502() -> Response {
    const PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
        </body>\r\n</html>\r\n";
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        PAGE,
    )
        .into_response()
}

/// `200` with a success content type but no body at all.
pub(crate) fn empty_ok() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HAL_JSON)]).into_response()
}
