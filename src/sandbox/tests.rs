//! In-process tests of the sandbox over real HTTP (reqwest against `spawn`).
//!
//! Every test starts its own sandbox on a free port and stays well under a
//! second; timing-based checks use generous bounds.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

const KEY: &str = "test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug";

fn start(opts: SandboxOptions) -> SandboxHandle {
    spawn(opts).expect("sandbox starts")
}

fn client() -> reqwest::Client {
    crate::upload::api::tls::install_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client builds")
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("JSON body")
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

async fn create(sb: &SandboxHandle, body: Value) -> Answer {
    create_q(sb, "", body).await
}

async fn create_q(sb: &SandboxHandle, query: &str, body: Value) -> Answer {
    let url = format!("{}/customers{query}", sb.base_url());
    send(client().post(url).bearer_auth(KEY).json(&body)).await
}

#[tokio::test]
async fn create_returns_201_with_documented_shape() {
    let sb = start(SandboxOptions::default());
    let a = create(
        &sb,
        json!({"CustomerCode": "10001", "Name": "Creditpartners B.V.", "City": "Apeldoorn"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.content_type(), "application/hal+json");
    let v = a.json();
    let id = v["id"].as_str().expect("id");
    assert_eq!(
        uuid::Uuid::parse_str(id).expect("uuid").get_version_num(),
        4
    );
    assert_eq!(v["resource"], "customer");
    assert_eq!(v["customerCode"], "10001");
    assert_eq!(v["name"], "Creditpartners B.V.");
    assert_eq!(
        v["address"],
        json!({"address": "", "postalcode": "", "city": "Apeldoorn", "country": "NL"})
    );
    assert_eq!(v["language"], "dutch");
    assert_eq!(v["invoiceEmail"], "");
    assert_eq!(v["registrationNumber"], "");

    let stored = sb.customers();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].city.as_deref(), Some("Apeldoorn"));
    assert_eq!(stored[0].name.as_deref(), Some("Creditpartners B.V."));
    let stats = sb.stats();
    assert_eq!((stats.requests, stats.creates), (1, 1));
    assert_eq!(stats.creates_by_code.get("10001"), Some(&1));
}

#[tokio::test]
async fn form_body_with_lowercase_names_is_accepted() {
    let sb = start(SandboxOptions::default());
    let url = format!("{}/customers", sb.base_url());
    let a = send(client().post(url).bearer_auth(KEY).form(&[
        ("customercode", "F1"),
        ("name", "Form B.V."),
        ("Country", "BE"),
    ]))
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["address"]["country"], "BE");
    assert_eq!(a.json()["name"], "Form B.V.");
}

#[tokio::test]
async fn duplicate_returns_existing_unchanged() {
    let sb = start(SandboxOptions::default());
    let first = create(&sb, json!({"CustomerCode": "D1", "Name": "First"}))
        .await
        .json();
    let again = create(&sb, json!({"CustomerCode": "D1", "Name": "Second"})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first["id"]);
    assert_eq!(again.json()["name"], "First");
    let stats = sb.stats();
    assert_eq!((stats.creates, stats.duplicate_create_attempts), (1, 1));
    assert_eq!(stats.creates_by_code.get("D1"), Some(&1));
    assert_eq!(sb.customers().len(), 1);
}

#[tokio::test]
async fn duplicate_in_conflict_mode_is_409() {
    let sb = start(SandboxOptions {
        duplicate: DuplicateMode::Conflict,
        ..SandboxOptions::default()
    });
    create(&sb, json!({"CustomerCode": "D2"})).await;
    let a = create(&sb, json!({"CustomerCode": "D2"})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.content_type(), "application/json");
    assert_eq!(
        a.json(),
        json!({"status": 409, "title": "Conflict", "detail": "Customer with code D2 already exists"})
    );
    assert_eq!(sb.stats().duplicate_create_attempts, 1);
}

#[tokio::test]
async fn overwrite_replaces_fields_and_keeps_id() {
    let sb = start(SandboxOptions::default());
    let first = create(
        &sb,
        json!({"CustomerCode": "O1", "Name": "Old", "City": "Gouda"}),
    )
    .await
    .json();
    let a = create_q(
        &sb,
        "?Overwrite=true",
        json!({"CustomerCode": "O1", "Name": "New"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["id"], first["id"]);
    assert_eq!(v["name"], "New");
    // Overwrite replaces the record: a field not sent is gone.
    assert_eq!(v["address"]["city"], "");
    let b = create_q(
        &sb,
        "?overwrite=1",
        json!({"CustomerCode": "O1", "Name": "Newer"}),
    )
    .await;
    assert_eq!(b.json()["name"], "Newer");
    let c = create_q(&sb, "?Overwrite=yes", json!({"CustomerCode": "O1"})).await;
    assert_eq!(c.status, StatusCode::BAD_REQUEST);
    let stats = sb.stats();
    assert_eq!((stats.creates, stats.overwrites), (1, 2));
    assert_eq!(sb.customers()[0].name.as_deref(), Some("Newer"));
}

#[tokio::test]
async fn field_rules_give_400_problem_json() {
    let sb = start(SandboxOptions::default());
    let a = create(
        &sb,
        json!({"CustomerCode": "V1", "Postalcode": "12345678901"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.content_type(), "application/json");
    let v = a.json();
    assert_eq!(
        (v["status"].as_u64(), v["title"].as_str()),
        (Some(400), Some("Bad Request"))
    );
    assert!(
        v["detail"]
            .as_str()
            .expect("detail")
            .starts_with("Field Postalcode")
    );

    let a = create(&sb, json!({"CustomerCode": "V1", "Country": "Netherlands"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["detail"]
            .as_str()
            .expect("detail")
            .starts_with("Field Country")
    );
    let a = create(&sb, json!({"Name": "no code"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = create(&sb, json!({"CustomerCode": "V1", "Nickname": "x"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    assert!(sb.customers().is_empty());
    assert_eq!(sb.stats().rejected_400, 4);
}

#[tokio::test]
async fn unauthorized_without_test_key() {
    let sb = start(SandboxOptions {
        required_key: Some(KEY.to_owned()),
        ..SandboxOptions::default()
    });
    let url = format!("{}/customers", sb.base_url());
    let body = json!({"CustomerCode": "A1"});
    let live = send(client().post(&url).bearer_auth("live_abc").json(&body)).await;
    assert_eq!(live.status, StatusCode::UNAUTHORIZED);
    assert_eq!(live.json()["title"], "Unauthorized");
    let none = send(client().post(&url).json(&body)).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let other = send(client().post(&url).bearer_auth("test_other").json(&body)).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    let ok = send(client().post(&url).bearer_auth(KEY).json(&body)).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let stats = sb.stats();
    assert_eq!(
        (stats.requests, stats.unauthorized, stats.creates),
        (4, 3, 1)
    );
}

#[tokio::test]
async fn search_by_body_or_query() {
    let sb = start(SandboxOptions::default());
    let id = create(&sb, json!({"CustomerCode": "S 1&2"})).await.json()["id"].clone();
    let url = format!("{}/customers/search", sb.base_url());

    // As documented: a GET carrying a form body.
    let hit = send(
        client()
            .get(&url)
            .bearer_auth(KEY)
            .form(&[("customer", "S 1&2")]),
    )
    .await;
    assert_eq!(hit.status, StatusCode::OK, "{}", hit.text);
    assert_eq!(
        hit.json(),
        json!({"resource": "customer", "id": id, "customerCode": "S 1&2"})
    );
    let hit = send(
        client()
            .get(&url)
            .bearer_auth(KEY)
            .query(&[("Customer", "S 1&2")]),
    )
    .await;
    assert_eq!(hit.json()["id"], id);

    let miss = send(
        client()
            .get(&url)
            .bearer_auth(KEY)
            .query(&[("customer", "s 1&2")]),
    )
    .await;
    assert_eq!(miss.status, StatusCode::NOT_FOUND);
    assert_eq!(miss.json()["detail"], "No customer exists with code s 1&2.");
    let missing = send(client().get(&url).bearer_auth(KEY)).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(sb.stats().searches, 4);
}

#[tokio::test]
async fn list_pages_newest_first_following_next() {
    let sb = start(SandboxOptions::default());
    for i in 0..5 {
        create(&sb, json!({"CustomerCode": format!("L{i}")})).await;
    }
    let mut url = format!("{}/customers?limit=2", sb.base_url());
    let mut codes = Vec::new();
    let mut pages = 0;
    loop {
        let v = send(client().get(&url).bearer_auth(KEY)).await.json();
        if pages == 0 {
            assert_eq!(v["links"]["previous"], Value::Null);
        } else {
            assert!(v["links"]["previous"]["href"].is_string());
        }
        let items = v["customers"].as_array().expect("customers");
        assert_eq!(v["count"].as_u64(), Some(items.len() as u64));
        codes.extend(
            items
                .iter()
                .map(|c| c["customerCode"].as_str().unwrap_or("").to_owned()),
        );
        pages += 1;
        match v["links"]["next"]["href"].as_str() {
            Some(next) => {
                assert_eq!(v["links"]["next"]["type"], "application/hal+json");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(codes, ["L4", "L3", "L2", "L1", "L0"]);

    let bad = send(
        client()
            .get(format!("{}/customers?limit=0", sb.base_url()))
            .bearer_auth(KEY),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unknown = send(
        client()
            .get(format!("{}/customers?from=nope", sb.base_url()))
            .bearer_auth(KEY),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_and_patch_by_id() {
    let sb = start(SandboxOptions::default());
    let v = create(
        &sb,
        json!({"CustomerCode": "P1", "Name": "Keep", "Phone": "010"}),
    )
    .await
    .json();
    let url = format!(
        "{}/customers/{}",
        sb.base_url(),
        v["id"].as_str().expect("id")
    );
    let got = send(client().get(&url).bearer_auth(KEY)).await;
    assert_eq!(got.json(), v);

    let patched = send(
        client()
            .patch(&url)
            .bearer_auth(KEY)
            .form(&[("email", "a@b.nl"), ("Phone", "")]),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let p = patched.json();
    assert_eq!(
        (p["name"].as_str(), p["email"].as_str(), p["phone"].as_str()),
        (Some("Keep"), Some("a@b.nl"), Some(""))
    );
    let code = send(
        client()
            .patch(&url)
            .bearer_auth(KEY)
            .json(&json!({"CustomerCode": "X"})),
    )
    .await;
    assert_eq!(code.status, StatusCode::BAD_REQUEST);

    let missing = format!("{}/customers/I_dont_exist", sb.base_url());
    let a = send(
        client()
            .patch(&missing)
            .bearer_auth(KEY)
            .json(&json!({"Name": "x"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.json()["detail"],
        "No customer exists with id I_dont_exist."
    );
    assert_eq!(sb.stats().updates, 1);
}

#[tokio::test]
async fn drop_rate_stores_then_closes_without_answer() {
    let sb = start(SandboxOptions {
        faults: Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    });
    let url = format!("{}/customers", sb.base_url());
    let err = client()
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({"CustomerCode": "X1"}))
        .send()
        .await
        .expect_err("no response expected");
    assert!(
        !err.is_timeout(),
        "connection should close at once: {err:?}"
    );
    assert_eq!(sb.customers().len(), 1);
    assert_eq!(sb.customers()[0].customer_code, "X1");
    let stats = sb.stats();
    assert_eq!(
        (stats.creates, stats.faults_injected, stats.in_flight),
        (1, 1, 0)
    );

    // Knobs change at runtime: the next create answers normally.
    sb.set_faults(Faults::default());
    let a = create(&sb, json!({"CustomerCode": "X2"})).await;
    assert_eq!(a.status, StatusCode::CREATED);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_in_every_style() {
    for style in [
        RetryAfterStyle::Seconds,
        RetryAfterStyle::Fractional,
        RetryAfterStyle::HttpDate,
        RetryAfterStyle::None,
    ] {
        let sb = start(SandboxOptions {
            faults: Faults {
                rate: Some(0.5),
                burst: 1,
                retry_after: style,
                ..Faults::default()
            },
            ..SandboxOptions::default()
        });
        assert_eq!(
            create(&sb, json!({"CustomerCode": "R1"})).await.status,
            StatusCode::CREATED
        );
        let a = create(&sb, json!({"CustomerCode": "R2"})).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(a.json()["status"], 429);
        let retry = a
            .headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match (style, retry) {
            (RetryAfterStyle::Seconds, Some(retry)) => {
                let secs: u64 = retry.parse().expect("integer seconds");
                assert!((1..=2).contains(&secs), "{retry}");
            }
            (RetryAfterStyle::Fractional, Some(retry)) => {
                let secs: f64 = retry.parse().expect("seconds");
                assert!(retry.contains('.') && secs > 0.0 && secs <= 2.0, "{retry}");
            }
            (RetryAfterStyle::HttpDate, Some(retry)) => {
                let when = httpdate::parse_http_date(&retry).expect("IMF-fixdate");
                assert!(when > std::time::SystemTime::now(), "{retry}");
            }
            (RetryAfterStyle::None, None) => {}
            (style, retry) => panic!("{style:?}: Retry-After {retry:?}"),
        }
        // The limited request was not committed; searches are limited too.
        assert_eq!(sb.customers().len(), 1);
        let search = format!("{}/customers/search?customer=R1", sb.base_url());
        assert_eq!(
            send(client().get(search).bearer_auth(KEY)).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(sb.stats().rate_limited_429, 2);
    }
}

#[tokio::test]
async fn fail_and_junk_modes() {
    let sb = start(SandboxOptions {
        faults: Faults {
            fail_rate: 1.0,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    });
    let a = create(&sb, json!({"CustomerCode": "J1"})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["status"], 503);
    assert!(sb.customers().is_empty());

    let junk = |mode| Faults {
        junk: Some(mode),
        ..Faults::default()
    };
    sb.set_faults(junk(JunkMode::Html502));
    let a = create(&sb, json!({"CustomerCode": "J1"})).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    assert!(a.content_type().starts_with("text/html"));
    assert!(a.text.contains("502 Bad Gateway"));
    assert!(sb.customers().is_empty());

    sb.set_faults(junk(JunkMode::EmptyOk));
    let a = create(&sb, json!({"CustomerCode": "J1"})).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, ""));
    assert_eq!(sb.customers().len(), 1);

    sb.set_faults(junk(JunkMode::CreatedNoId));
    let a = create(&sb, json!({"CustomerCode": "J2"})).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.json().get("id").is_none());
    assert_eq!(a.json()["customerCode"], "J2");
    assert_eq!(sb.customers().len(), 2);
    assert_eq!(sb.stats().faults_injected, 4);

    sb.set_faults(Faults {
        junk: Some(JunkMode::EmptyOk),
        junk_rate: 0.0,
        ..Faults::default()
    });
    assert_eq!(
        create(&sb, json!({"CustomerCode": "J3"})).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn slow_body_trips_client_timeout_after_commit() {
    let sb = start(SandboxOptions {
        faults: Faults {
            slow_body_ms: 50,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    });
    crate::upload::api::tls::install_provider();
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let resp = quick
        .post(format!("{}/customers", sb.base_url()))
        .bearer_auth(KEY)
        .json(&json!({"CustomerCode": "T1"}))
        .send()
        .await
        .expect("headers arrive at once");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let err = resp.text().await.expect_err("body too slow");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(sb.customers().len(), 1);
}

#[tokio::test]
async fn latency_and_max_in_flight() {
    let sb = start(SandboxOptions {
        faults: Faults {
            latency_ms: 100,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    });
    let started = std::time::Instant::now();
    let calls = (0..4).map(|i| create(&sb, json!({"CustomerCode": format!("M{i}")})));
    let answers = futures::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::CREATED));
    assert!(started.elapsed() >= Duration::from_millis(100));
    let stats = sb.stats();
    assert!((2..=4).contains(&stats.max_in_flight), "{stats:?}");
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test]
async fn first_and_last_request_times_are_wall_clock() {
    let sb = start(SandboxOptions::default());
    assert_eq!(sb.stats().first_request_unix_us, 0);
    let before = super::stats::unix_micros();
    create(&sb, json!({"CustomerCode": "T1"})).await;
    create(&sb, json!({"CustomerCode": "T2"})).await;
    let after = super::stats::unix_micros();
    let s = sb.stats();
    assert!(before <= s.first_request_unix_us, "{s:?}");
    assert!(s.first_request_unix_us <= s.last_request_unix_us, "{s:?}");
    assert!(s.last_request_unix_us <= after, "{s:?}");
}

#[tokio::test]
async fn stats_endpoint_needs_no_key() {
    let sb = start(SandboxOptions::default());
    create(&sb, json!({"CustomerCode": "ST1"})).await;
    let a = send(client().get(format!("http://{}/__stats", sb.addr()))).await;
    assert_eq!(a.status, StatusCode::OK);
    let stats: Stats = serde_json::from_str(&a.text).expect("Stats JSON");
    assert_eq!(stats, sb.stats());
    assert_eq!((stats.requests, stats.creates), (1, 1));
    let unknown = send(
        client()
            .get(format!("{}/nothing", sb.base_url()))
            .bearer_auth(KEY),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["status"], 404);
    assert!(
        unknown.json()["detail"]
            .as_str()
            .expect("detail")
            .ends_with("/v2/nothing")
    );
}

/// `spawn` from plain sync code, spoken to with a bare HTTP/1.1 request.
#[test]
fn spawn_works_without_a_runtime() {
    let sb = start(SandboxOptions::default());
    assert!(sb.base_url().starts_with("http://127.0.0.1:"));
    assert!(sb.base_url().ends_with("/v2"));
    let mut stream = std::net::TcpStream::connect(sb.addr()).expect("connect");
    stream
        .write_all(b"GET /__stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"creates_by_code\":{}"), "{reply}");
    let addr = sb.addr();
    sb.shutdown();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "port still open after shutdown"
    );
}

#[tokio::test]
async fn every_limiter_refuses_past_its_rate_and_advertises_when_asked() {
    for (limiter, headers) in [
        (Limiter::TokenBucket, RateHeaders::Draft),
        (Limiter::LeakyBucket, RateHeaders::X),
        (Limiter::FixedWindow, RateHeaders::Draft),
        (Limiter::SlidingWindow, RateHeaders::Off),
    ] {
        let sb = start(SandboxOptions {
            faults: Faults {
                rate: Some(0.5),
                burst: 1,
                limiter,
                rate_headers: headers,
                ..Faults::default()
            },
            ..SandboxOptions::default()
        });
        // nginx's burst=1 lets two through at once; the others one.
        let mut statuses = Vec::new();
        for code in ["L1", "L2", "L3"] {
            let a = create(&sb, json!({ "CustomerCode": code })).await;
            let policy = a
                .headers
                .get("ratelimit-policy")
                .map(|v| v.to_str().unwrap().to_owned());
            let x_limit = a
                .headers
                .get("x-ratelimit-limit")
                .map(|v| v.to_str().unwrap().to_owned());
            match headers {
                RateHeaders::Draft => {
                    assert_eq!(policy.as_deref(), Some("\"sandbox\";q=1;w=2"));
                    assert!(a.headers.get("ratelimit").is_some());
                }
                RateHeaders::X => {
                    assert_eq!(x_limit.as_deref(), Some("1"));
                    assert!(a.headers.get("x-ratelimit-reset").is_some());
                }
                RateHeaders::Off => assert!(policy.is_none() && x_limit.is_none()),
            }
            statuses.push(a.status.as_u16());
        }
        let passed = if limiter == Limiter::LeakyBucket {
            2
        } else {
            1
        };
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            passed,
            "{limiter:?}: {statuses:?}"
        );
        assert_eq!(sb.stats().rate_limited_429, 3 - passed as u64);
        // The time-stamped log is served for benchmarks in another process.
        let log = send(client().get(format!("http://{}/__log", sb.addr()))).await;
        assert_eq!(log.status, StatusCode::OK);
        assert_eq!(log.json().as_array().map(Vec::len), Some(3));
    }
}

#[tokio::test]
async fn preloaded_customers_delete_and_the_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let held = dir.path().join("held.csv");
    std::fs::write(
        &held,
        "Debiteurnummer,Naam,Plaats,HasInvoices\nD1,Ann,Ede,no\nD2,Bob,Delft,yes\n",
    )
    .expect("write");
    let sb = start(SandboxOptions {
        customers: Some(held),
        ..SandboxOptions::default()
    });
    let id_of = |code: &str| {
        sb.customers()
            .into_iter()
            .find(|c| c.customer_code == code)
            .map(|c| c.id)
            .expect("preloaded")
    };
    let (d1, d2) = (id_of("D1"), id_of("D2"));
    let url = |id: &str| format!("{}/customers/{id}", sb.base_url());

    let patched = send(
        client()
            .patch(url(&d1))
            .bearer_auth(KEY)
            .json(&json!({"City": "", "Name": "Anna"})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let p = patched.json();
    assert_eq!(
        (p["name"].as_str(), p["address"]["city"].as_str()),
        (Some("Anna"), Some(""))
    );

    let refused = send(client().delete(url(&d2)).bearer_auth(KEY)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["detail"], "Customer is not empty");
    let gone = send(client().delete(url(&d1)).bearer_auth(KEY)).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(gone.text.is_empty());
    let again = send(client().delete(url(&d1)).bearer_auth(KEY)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        again.json()["detail"],
        format!("No customer exists with id {d1}.")
    );
    let codes: Vec<String> = sb
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    assert_eq!(codes, ["D2"]);

    let stats = sb.stats();
    assert_eq!(
        (stats.deletes, stats.deletes_refused, stats.updates),
        (1, 1, 1)
    );
    assert_eq!(stats.requests_by_method.get("DELETE"), Some(&3));
    assert_eq!(stats.requests_by_method.get("PATCH"), Some(&1));
    let log = sb.request_log();
    let patch = log.iter().find(|r| r.method == "PATCH").expect("logged");
    let sent: Vec<(&str, &str)> = patch
        .fields
        .as_ref()
        .expect("fields logged")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(sent, [("City", ""), ("Name", "Anna")]);
    assert!(
        log.iter()
            .filter(|r| r.method == "DELETE")
            .all(|r| r.fields.is_none())
    );
}

#[tokio::test]
async fn the_list_speaks_either_documented_item_shape() {
    for shape in [ListShape::Id, ListShape::Number] {
        let sb = start(SandboxOptions {
            list_shape: shape,
            ..SandboxOptions::default()
        });
        let created = create(&sb, json!({"CustomerCode": "10001", "Name": "Ann"})).await;
        let id = created.json()["id"].as_str().expect("id").to_owned();
        let page = send(
            client()
                .get(format!("{}/customers?Limit=1", sb.base_url()))
                .bearer_auth(KEY),
        )
        .await
        .json();
        let item = &page["customers"][0];
        match shape {
            ListShape::Id => {
                assert_eq!(
                    (item["id"].as_str(), item["customerCode"].as_str()),
                    (Some(id.as_str()), Some("10001"))
                );
                assert!(item.get("number").is_none());
            }
            ListShape::Number => {
                assert_eq!(
                    (item["customerCode"].as_str(), item["number"].as_str()),
                    (Some(id.as_str()), Some("10001"))
                );
                assert!(item.get("id").is_none());
            }
        }
        assert_eq!(item["name"], "Ann");
        assert!(page["links"]["next"].is_null() && page.get("_links").is_none());
        assert_eq!(sb.stats().lists, 1);
    }
}
