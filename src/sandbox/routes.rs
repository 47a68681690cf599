//! HTTP routes of the sandbox and the order in which a request meets them.
//!
//! Owns the router, the shared state, the gate every API request passes
//! (count, in-flight gauge, auth, rate limit, latency) and the handlers. For
//! a create the order is: fault dice → 503 / HTML 502 (nothing stored) →
//! decode + check → store → drop / junk / slow body (already stored); a
//! PATCH or DELETE meets the same dice (503 / HTML 502 before any change,
//! drop after it), a list page only the first two. It must
//! not hold field rules (`payload.rs`), table logic (`store.rs`) or the
//! random choices (`faults.rs`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Serialize;

use super::faults::{FaultState, JunkMode};
use super::options::{DuplicateMode, ListShape, SandboxOptions};
use super::payload::{self, PayloadError, Purpose};
use super::server::DropConnection;
use super::stats::{self, InFlight, InFlightTicket, Stats};
use super::store::{CreateOutcome, DeleteOutcome, Store, StoredCustomer};
use super::wire::{self, CustomerBody, Link, Links, ListBody, SearchHit};
use crate::model::field::Field;

/// Larger than any valid customer (13 fields of at most a few KiB), small
/// enough that a runaway client cannot exhaust memory.
const MAX_BODY: usize = 1 << 20;
/// Documented page size limit of list endpoints.
const MAX_PAGE: usize = 250;
/// Bytes per chunk when trickling a body, so even a short answer spans many
/// pauses.
const SLOW_CHUNK: usize = 16;

/// The table and the counters under one lock, so a snapshot never shows a
/// customer without its create counted.
#[derive(Default)]
pub(crate) struct Data {
    pub store: Store,
    pub stats: Stats,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    data: Mutex<Data>,
    log: Mutex<Vec<LoggedRequest>>,
    started: std::time::Instant,
    pub faults: FaultState,
    in_flight: Arc<InFlight>,
    duplicate: DuplicateMode,
    required_key: Option<String>,
    base_url: String,
    list_shape: ListShape,
}

pub(crate) type AppState = Arc<Shared>;

impl Shared {
    pub fn new(opts: &SandboxOptions, base_url: String) -> AppState {
        Arc::new(Self {
            data: Mutex::new(Data::default()),
            log: Mutex::new(Vec::new()),
            started: std::time::Instant::now(),
            faults: FaultState::new(opts.faults.clone()),
            in_flight: Arc::default(),
            duplicate: opts.duplicate,
            required_key: opts.required_key.clone(),
            base_url,
            list_shape: opts.list_shape,
        })
    }

    /// Adds the customers of a `--customers` file; how many.
    pub fn preload(&self, path: &std::path::Path) -> std::io::Result<u64> {
        super::preload::load(path, &mut self.data().store)
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        // A panicking handler must not take the whole sandbox down with it.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.data().stats);
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.data().stats.clone();
        (stats.in_flight, stats.max_in_flight) = self.in_flight.read();
        stats
    }

    pub fn customers(&self) -> Vec<StoredCustomer> {
        self.data().store.all()
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One API request as the sandbox saw it, for tests that check timing
/// (e.g. that nobody sent during a Retry-After window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// Arrival, since the sandbox started.
    pub at: std::time::Duration,
    /// When the answer (or the decision to drop it) was ready.
    pub answered: std::time::Duration,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Status of the answer.
    pub status: u16,
    /// The Retry-After header sent, if any.
    pub retry_after: Option<String>,
    /// The query string, if any (a list page's `limit` and `from`).
    pub query: Option<String>,
    /// The fields a create or update body carried, by API name, as
    /// decoded (`""` for a field sent empty); `None` for other requests
    /// and for bodies that could not be decoded.
    pub fields: Option<BTreeMap<String, String>>,
}

/// The decoded fields of a create or update, handed from the handler to
/// the log in the answer's extensions.
#[derive(Clone)]
struct SentFields(BTreeMap<String, String>);

impl SentFields {
    fn of(payload: &payload::Payload) -> SentFields {
        SentFields(
            payload
                .values
                .iter()
                .map(|(f, v)| (f.api_name().to_owned(), v.clone()))
                .collect(),
        )
    }
}

/// Attaches a request's decoded fields to its answer, for the log.
fn with_fields(mut resp: Response, fields: SentFields) -> Response {
    resp.extensions_mut().insert(fields);
    resp
}

/// The whole app: `/v2/...` behind the gate, `/__stats` open.
pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/search", get(search))
        .route("/customers/{id}", get(get_one).patch(update).delete(delete))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state.clone());
    Router::new()
        .nest("/v2", api)
        .route("/__stats", get(stats))
        .route("/__log", get(log))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

// `OriginalUri`: inside the nest, `Uri` has lost its `/v2` prefix.
async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    wire::problem(
        StatusCode::NOT_FOUND,
        format!("No route for {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    wire::problem(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {}", uri.path()),
    )
}

async fn stats(State(app): State<AppState>) -> Response {
    (StatusCode::OK, axum::Json(app.stats())).into_response()
}

/// One line of `/__log`: arrival in microseconds since the sandbox
/// started, and the status answered.
#[derive(Serialize)]
struct LogLine {
    at_us: u64,
    status: u16,
    method: String,
    path: String,
}

/// The time-stamped request log, so benchmarks in another process can
/// look at spacing (tests in process use `request_log`).
async fn log(State(app): State<AppState>) -> Response {
    let lines: Vec<LogLine> = app
        .request_log()
        .into_iter()
        .map(|r| LogLine {
            at_us: u64::try_from(r.at.as_micros()).unwrap_or(u64::MAX),
            status: r.status,
            method: r.method,
            path: r.path,
        })
        .collect();
    (StatusCode::OK, axum::Json(lines)).into_response()
}

fn authorize(headers: &HeaderMap, required: Option<&str>) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("Missing Authorization header; send Authorization: Bearer <api key>")?;
    let value = value
        .to_str()
        .map_err(|_| "Authorization header is not readable text")?;
    let (scheme, key) = value
        .trim()
        .split_once(' ')
        .ok_or("Authorization must be of the form Bearer <api key>")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization must be of the form Bearer <api key>");
    }
    let key = key.trim();
    if key.starts_with("live_") {
        return Err("Live API keys are not accepted by the sandbox; use a test_ key");
    }
    if !key.starts_with("test_") || required.is_some_and(|r| r != key) {
        return Err("Invalid API key");
    }
    Ok(())
}

/// Logs every API request with its arrival time and answer.
async fn gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let at = app.started.elapsed();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let mut resp = checks(app.clone(), req, next).await;
    let entry = LoggedRequest {
        at,
        answered: app.started.elapsed(),
        method,
        path,
        query,
        fields: resp.extensions_mut().remove::<SentFields>().map(|f| f.0),
        status: resp.status().as_u16(),
        retry_after: resp
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    app.log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(entry);
    resp
}

/// What every API request passes, in this order, before its handler.
async fn checks(app: AppState, mut req: Request, next: Next) -> Response {
    let now = stats::unix_micros();
    let method = req.method().to_string();
    app.count(|s| {
        s.requests += 1;
        *s.requests_by_method.entry(method).or_default() += 1;
        if s.first_request_unix_us == 0 {
            s.first_request_unix_us = now;
        }
        s.last_request_unix_us = now;
    });
    // Held across the handler; released even if the connection is torn down.
    let in_flight = InFlightTicket::new(app.in_flight.enter());
    req.extensions_mut().insert(in_flight.clone());
    if let Err(detail) = authorize(req.headers(), app.required_key.as_deref()) {
        app.count(|s| s.unauthorized += 1);
        return wire::problem(StatusCode::UNAUTHORIZED, detail);
    }
    let admission = app.faults.admit();
    let advertise = |mut resp: Response| {
        if let Some(advert) = &admission.advert {
            for (name, value) in advert.header_pairs() {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(name, v);
                }
            }
        }
        resp
    };
    if let Some(limited) = admission.limited {
        app.count(|s| s.rate_limited_429 += 1);
        return advertise(wire::too_many_requests(
            limited.retry_after().as_deref(),
            "Too many requests; slow down",
        ));
    }
    let delay = app.faults.latency();
    if !delay.is_zero() {
        // tokio's timer rounds a sleep up to its next 1 ms tick, which made
        // "20 ms" about 21.2 ms and cost throughput benchmarks 6%; a thread
        // sleep is exact to tens of microseconds.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
    }
    let resp = next.run(req).await;
    in_flight.release();
    if resp.status() == StatusCode::BAD_REQUEST {
        app.count(|s| s.rejected_400 += 1);
    }
    advertise(resp)
}

fn content_type(req: &Request) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(req: Request) -> Result<Bytes, Response> {
    axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            wire::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is larger than 1 MiB or could not be read",
            )
        })
}

fn payload_error(e: PayloadError) -> Response {
    match e {
        PayloadError::UnsupportedMediaType(d) => {
            wire::problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, d)
        }
        PayloadError::Invalid(d) => wire::problem(StatusCode::BAD_REQUEST, d),
    }
}

/// First value of any of `names` in a query string.
fn query_value(query: Option<&str>, names: &[&str]) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| names.contains(&k.as_ref()))
        .map(|(_, v)| v.into_owned())
}

/// `Overwrite` as the docs name it, or lower-case like their other examples.
fn overwrite_flag(query: Option<&str>) -> Result<bool, String> {
    match query_value(query, &["Overwrite", "overwrite"]).as_deref() {
        None => Ok(false),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(format!(
            "Field Overwrite must be true or false, got {other:?}"
        )),
    }
}

async fn create(State(app): State<AppState>, req: Request) -> Response {
    let mut sent = None;
    let resp = create_answer(app, req, &mut sent).await;
    match sent {
        Some(fields) => with_fields(resp, fields),
        None => resp,
    }
}

/// The answer to a create; `sent` gets the decoded fields.
async fn create_answer(app: AppState, req: Request, sent: &mut Option<SentFields>) -> Response {
    let plan = app.faults.plan_post();
    if plan.fail {
        app.count(|s| s.faults_injected += 1);
        return wire::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable, try again later",
        );
    }
    if plan.junk == Some(JunkMode::Html502) {
        app.count(|s| s.faults_injected += 1);
        return wire::html_502();
    }
    let killer = req.extensions().get::<DropConnection>().cloned();
    let in_flight = req.extensions().get::<InFlightTicket>().cloned();
    let overwrite = match overwrite_flag(req.uri().query()) {
        Ok(o) => o,
        Err(detail) => return wire::problem(StatusCode::BAD_REQUEST, detail),
    };
    let ct = content_type(&req);
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let payload = match payload::parse(ct.as_deref(), &body, Purpose::Create) {
        Ok(p) => p,
        Err(e) => return payload_error(e),
    };
    *sent = Some(SentFields::of(&payload));
    let code = payload.get(Field::CustomerCode).unwrap_or_default();
    if app.faults.rejects(code) {
        app.count(|s| s.faults_injected += 1);
        return wire::problem(
            StatusCode::BAD_REQUEST,
            format!("Field CustomerCode {code:?} is rejected by this sandbox (reject_codes)"),
        );
    }

    let (status, customer) = {
        let mut data = app.data();
        match data.store.create(&payload, overwrite, app.duplicate) {
            CreateOutcome::Created(c) => {
                data.stats.creates += 1;
                *data
                    .stats
                    .creates_by_code
                    .entry(c.customer_code.clone())
                    .or_default() += 1;
                (StatusCode::CREATED, c)
            }
            CreateOutcome::Overwritten(c) => {
                data.stats.overwrites += 1;
                (StatusCode::OK, c)
            }
            CreateOutcome::Existing(c) => {
                data.stats.duplicate_create_attempts += 1;
                (StatusCode::OK, c)
            }
            CreateOutcome::Conflict => {
                data.stats.duplicate_create_attempts += 1;
                return wire::problem(
                    StatusCode::CONFLICT,
                    format!("Customer with code {code} already exists"),
                );
            }
        }
    };

    // From here on the customer is stored; faults only spoil the answer.
    if plan.drop
        && let Some(killer) = killer
    {
        app.count(|s| s.faults_injected += 1);
        if let Some(t) = in_flight {
            t.release();
        }
        killer.fire();
        // The connection task drops this future together with the socket.
        return std::future::pending().await;
    }
    let resp = match plan.junk {
        Some(JunkMode::EmptyOk) => {
            app.count(|s| s.faults_injected += 1);
            wire::empty_ok()
        }
        Some(JunkMode::CreatedNoId) => {
            app.count(|s| s.faults_injected += 1);
            wire::hal(status, &CustomerBody::new(&customer).without_id())
        }
        Some(JunkMode::Html502) | None => wire::hal(status, &CustomerBody::new(&customer)),
    };
    match plan.slow_body {
        Some(pause) => {
            app.count(|s| s.faults_injected += 1);
            trickle(resp, pause).await
        }
        None => resp,
    }
}

/// Headers now, then the body in small chunks with `pause` before each, so
/// a client's read or total timeout fires mid-body.
async fn trickle(resp: Response, pause: Duration) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return wire::problem(StatusCode::INTERNAL_SERVER_ERROR, "cannot buffer body");
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let chunks: Vec<Bytes> = bytes
        .chunks(SLOW_CHUNK)
        .map(Bytes::copy_from_slice)
        .collect();
    let stream = futures::stream::iter(chunks).then(move |chunk| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, Infallible>(chunk)
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The search term from a form (or JSON) body as documented, else the query.
fn search_term(
    query: Option<&str>,
    ct: Option<&str>,
    body: &[u8],
) -> Result<Option<String>, String> {
    const NAMES: [&str; 2] = ["customer", "Customer"];
    let is_json = ct
        .map(payload::essence)
        .is_some_and(|t| t.ends_with("json"));
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else if is_json {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("Body is not valid JSON: {e}"))?;
        NAMES
            .iter()
            .find_map(|n| value.get(n).and_then(|v| v.as_str()).map(str::to_owned))
    } else {
        query_value(std::str::from_utf8(body).ok(), &NAMES)
    };
    Ok(from_body.or_else(|| query_value(query, &NAMES)))
}

async fn search(State(app): State<AppState>, req: Request) -> Response {
    app.count(|s| s.searches += 1);
    let query = req.uri().query().map(str::to_owned);
    let ct = content_type(&req);
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let term = match search_term(query.as_deref(), ct.as_deref(), &body) {
        Ok(Some(t)) if !t.is_empty() => t,
        Ok(_) => return wire::problem(StatusCode::BAD_REQUEST, "Field customer is required"),
        Err(detail) => return wire::problem(StatusCode::BAD_REQUEST, detail),
    };
    let data = app.data();
    match data.store.find_code(&term) {
        Some(c) => wire::hal(StatusCode::OK, &SearchHit::new(c)),
        None => wire::problem(
            StatusCode::NOT_FOUND,
            format!("No customer exists with code {term}."),
        ),
    }
}

async fn list(State(app): State<AppState>, uri: Uri) -> Response {
    let plan = app.faults.plan_post();
    if let Some(resp) = failed_before(&app, &plan) {
        return resp;
    }
    let query = uri.query();
    let limit = match query_value(query, &["limit", "Limit"]) {
        None => MAX_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            // Above the documented maximum: serve the maximum rather than fail.
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => {
                return wire::problem(
                    StatusCode::BAD_REQUEST,
                    format!("Field limit must be a number from 1 to {MAX_PAGE}, got {raw:?}"),
                );
            }
        },
    };
    let from = query_value(query, &["from", "From"]);
    let mut data = app.data();
    data.stats.lists += 1;
    let Ok(page) = data.store.page(from.as_deref(), limit) else {
        return wire::problem(
            StatusCode::NOT_FOUND,
            format!("No customer exists with id {}.", from.unwrap_or_default()),
        );
    };
    data.stats.listed += page.items.len() as u64;
    drop(data);
    let link = |id: String| {
        Link::new(format!(
            "{}/customers?from={id}&limit={limit}",
            app.base_url
        ))
    };
    let shape = app.list_shape;
    let body = ListBody {
        count: page.items.len(),
        customers: page
            .items
            .iter()
            .map(|c| match shape {
                ListShape::Id => CustomerBody::new(c),
                ListShape::Number => CustomerBody::new(c).number_shape(),
            })
            .collect(),
        links: Links {
            previous: page.previous.map(link),
            next: page.next.map(link),
        },
    };
    wire::hal(StatusCode::OK, &body)
}

/// The faults that strike before anything changes: a 503 (`fail_rate`)
/// or a proxy's HTML 502 (`--junk html502`).
fn failed_before(app: &AppState, plan: &super::faults::PostPlan) -> Option<Response> {
    if plan.fail {
        app.count(|s| s.faults_injected += 1);
        return Some(wire::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable, try again later",
        ));
    }
    if plan.junk == Some(JunkMode::Html502) {
        app.count(|s| s.faults_injected += 1);
        return Some(wire::html_502());
    }
    None
}

/// A `drop_rate` fault after the change was made: the connection closes
/// without an answer (this never returns then). Returns at once when the
/// dice said no.
async fn dropped_after(app: &AppState, plan: &super::faults::PostPlan, req_ext: &Extensions) {
    let (Some(killer), true) = (req_ext.killer.clone(), plan.drop) else {
        return;
    };
    app.count(|s| s.faults_injected += 1);
    if let Some(t) = &req_ext.in_flight {
        t.release();
    }
    killer.fire();
    // The connection task drops this future together with the socket.
    std::future::pending::<()>().await;
}

/// What a handler takes from the request before it consumes the body.
struct Extensions {
    killer: Option<DropConnection>,
    in_flight: Option<InFlightTicket>,
}

impl Extensions {
    fn of(req: &Request) -> Extensions {
        Extensions {
            killer: req.extensions().get::<DropConnection>().cloned(),
            in_flight: req.extensions().get::<InFlightTicket>().cloned(),
        }
    }
}

fn unknown_id(id: &str) -> Response {
    wire::problem(
        StatusCode::NOT_FOUND,
        format!("No customer exists with id {id}."),
    )
}

async fn get_one(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let data = app.data();
    match data.store.get(&id) {
        Some(c) => wire::hal(StatusCode::OK, &CustomerBody::new(c)),
        None => unknown_id(&id),
    }
}

async fn update(State(app): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let mut sent = None;
    let resp = update_answer(app, id, req, &mut sent).await;
    match sent {
        Some(fields) => with_fields(resp, fields),
        None => resp,
    }
}

/// The answer to a PATCH: only the fields sent change, `""` clears one,
/// the rules are those of a create; `sent` gets the decoded fields.
async fn update_answer(
    app: AppState,
    id: String,
    req: Request,
    sent: &mut Option<SentFields>,
) -> Response {
    let plan = app.faults.plan_post();
    if let Some(resp) = failed_before(&app, &plan) {
        return resp;
    }
    let ext = Extensions::of(&req);
    let ct = content_type(&req);
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let payload = match payload::parse(ct.as_deref(), &body, Purpose::Update) {
        Ok(p) => p,
        Err(e) => return payload_error(e),
    };
    *sent = Some(SentFields::of(&payload));
    let updated = {
        let mut data = app.data();
        let updated = data.store.update(&id, &payload);
        if updated.is_some() {
            data.stats.updates += 1;
        }
        updated
    };
    let Some(customer) = updated else {
        return unknown_id(&id);
    };
    dropped_after(&app, &plan, &ext).await;
    let resp = match plan.junk {
        Some(JunkMode::EmptyOk) => {
            app.count(|s| s.faults_injected += 1);
            wire::empty_ok()
        }
        _ => wire::hal(StatusCode::OK, &CustomerBody::new(&customer)),
    };
    match plan.slow_body {
        Some(pause) => {
            app.count(|s| s.faults_injected += 1);
            trickle(resp, pause).await
        }
        None => resp,
    }
}

/// `DELETE /customers/{id}`: 204; 400 `Customer is not empty` for a
/// customer with invoices; 404 for an unknown id.
async fn delete(State(app): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let plan = app.faults.plan_post();
    if let Some(resp) = failed_before(&app, &plan) {
        return resp;
    }
    let ext = Extensions::of(&req);
    let outcome = {
        let mut data = app.data();
        let outcome = data.store.delete(&id);
        match outcome {
            DeleteOutcome::Deleted => data.stats.deletes += 1,
            DeleteOutcome::NotEmpty => data.stats.deletes_refused += 1,
            DeleteOutcome::Unknown => {}
        }
        outcome
    };
    match outcome {
        DeleteOutcome::Deleted => {
            dropped_after(&app, &plan, &ext).await;
            StatusCode::NO_CONTENT.into_response()
        }
        DeleteOutcome::NotEmpty => wire::problem(StatusCode::BAD_REQUEST, "Customer is not empty"),
        DeleteOutcome::Unknown => unknown_id(&id),
    }
}
