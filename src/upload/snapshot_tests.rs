//! Tests of learning Notify's state: the selection rule and the spill in
//! isolation, then `learn` against the embedded sandbox over real HTTP
//! (what it sent is read from the sandbox's counters and log).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::ApiKey;
#[cfg(feature = "sandbox")]
use crate::sandbox::{self, ListShape, SandboxHandle, SandboxOptions};
use crate::upload::UploadSettings;
use crate::upload::api::ApiClient;

const KEY: &str = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM";

fn existing(id: &str, code: &str, name: &str) -> Existing {
    let mut customer = Customer::default();
    customer.set(Field::CustomerCode, code);
    customer.set(Field::Name, name);
    Existing {
        id: id.into(),
        customer,
    }
}

#[test]
fn the_rule_lists_while_pages_cost_less_than_searching_the_rest() {
    // Notify about the file's size: every page resolves codes, listing goes on.
    assert!(keep_listing(1, 9_950, SEARCH_COST));
    assert!(keep_listing(39, 200, SEARCH_COST));
    // One code left, two pages read: searching it (2 requests) is no dearer.
    assert!(keep_listing(1, 1, SEARCH_COST));
    assert!(!keep_listing(2, 1, SEARCH_COST));
    // Every code resolved but pages remain: stop at once.
    assert!(!keep_listing(1, 0, SEARCH_COST));
    assert!(!keep_listing(7, 3, SEARCH_COST));
    assert!(!keep_listing(u64::MAX, u64::MAX, SEARCH_COST));
}

/// Costs of the rule against a model of Notify: `n` customers, `m` codes
/// of which the first `hits` are held and spread evenly over the list.
fn cost(n: u64, m: u64, hits: u64) -> u64 {
    let pages_total = n.div_ceil(250).max(1);
    let mut pages = 0;
    loop {
        pages += 1;
        let found = (hits * pages / pages_total).min(hits);
        if pages == pages_total {
            return pages;
        }
        if !keep_listing(pages, m - found, SEARCH_COST) {
            return pages + (m - found) * SEARCH_COST;
        }
    }
}

#[test]
fn the_rule_meets_the_issues_bound_and_stays_within_twice_the_best() {
    // The bench: Notify holds 10 000, the file has 10 200 codes.
    assert_eq!(cost(10_000, 10_200, 10_000), 40);
    // A small account: one page, whatever the file.
    assert_eq!(cost(120, 3, 1), 1);
    assert_eq!(cost(0, 3, 0), 1);
    for (n, m, hits) in [
        (1_000_000u64, 100, 100),
        (50_000, 5, 0),
        (50_000, 2_000, 2_000),
    ] {
        let best = n.div_ceil(250).min(m * SEARCH_COST);
        assert!(cost(n, m, hits) <= 2 * best + 1, "{n} {m} {hits}");
    }
}

#[test]
fn held_customers_survive_the_disk_and_codes_are_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch {
        dir: dir.path().to_owned(),
        // A record or two per run: the sort and the table go to disk.
        budget: 16,
    };
    let mut codes = FileCodes::new(&scratch);
    for code in ["b", "a", "b", "", "c", "a"] {
        codes.push(code).unwrap();
    }
    let table = codes.into_table().unwrap();
    assert!(table.on_disk());
    let mut all = Vec::new();
    table
        .for_each(|c| {
            all.push(c.code);
            Ok(true)
        })
        .unwrap();
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);

    let mut e = existing("id-1", "K1", "Caf\u{e9} \"Ann\"");
    e.customer.set(Field::City, "Ede");
    let mut found = Spill::new(&scratch);
    found.push(Held::new(&e, 1)).unwrap();
    found
        .push(Held::new(&existing("id-0", "K1", "newer"), 0))
        .unwrap();
    found
        .push(Held::new(&existing("id-2", "K2", "Bob"), 2))
        .unwrap();
    let snapshot = finish(found, Learned::default(), &scratch).unwrap();
    assert_eq!(snapshot.len(), 2);
    // The first seen of a code (the newest in the list) wins.
    assert_eq!(
        snapshot.get("K1").unwrap(),
        Some(existing("id-0", "K1", "newer"))
    );
    assert_eq!(
        snapshot.get("K2").unwrap().map(|e| e.id),
        Some("id-2".into())
    );
    assert_eq!(snapshot.get("K3").unwrap(), None);
    let roundtrip = Snapshot::from_existing([e.clone()]);
    assert_eq!(roundtrip.get("K1").unwrap(), Some(e));
}

#[test]
fn unresolved_are_the_codes_no_customer_found_has() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch {
        dir: dir.path().to_owned(),
        budget: 128,
    };
    let mut codes = FileCodes::new(&scratch);
    for i in 0..200 {
        codes.push(&format!("C{i}")).unwrap();
    }
    let table = codes.into_table().unwrap();
    let mut found = Spill::new(&scratch);
    for i in (0..200).step_by(3) {
        found
            .push(Held::new(
                &existing(&format!("id{i}"), &format!("C{i}"), "x"),
                i,
            ))
            .unwrap();
    }
    let (again, unresolved) = split_unresolved(found, &table, &scratch).unwrap();
    let mut unresolved: Vec<String> = unresolved
        .sorted()
        .unwrap()
        .map(|c| c.unwrap().code)
        .collect();
    unresolved.sort();
    let mut want: Vec<String> = (0..200)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("C{i}"))
        .collect();
    want.sort();
    assert_eq!(unresolved, want);
    assert_eq!(again.sorted().unwrap().count(), 67);
}

#[cfg(feature = "sandbox")]
/// A `--customers` file of `n` customers `K0..`, `K0` the oldest.
fn held_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut text = String::from("Klantnummer;Naam;Plaats\n");
    for i in 0..n {
        text.push_str(&format!("K{i};Name {i};City {}\n", i % 7));
    }
    let path = dir.join("held.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(feature = "sandbox")]
fn sandbox_holding(dir: &Path, n: usize, shape: ListShape) -> SandboxHandle {
    sandbox::spawn(SandboxOptions {
        customers: Some(held_file(dir, n)),
        list_shape: shape,
        ..SandboxOptions::default()
    })
    .expect("sandbox starts")
}

fn uploader_for(base: &str) -> Uploader {
    let url = reqwest::Url::parse(base).unwrap();
    let key = ApiKey::parse(KEY, "test").unwrap();
    let client = ApiClient::new(&url, &key, std::time::Duration::from_secs(5)).unwrap();
    let mut settings = UploadSettings::new(1000.0, 10, 4);
    settings.max_attempts = 2;
    settings.backoff_base = std::time::Duration::from_millis(1);
    Uploader::new(Arc::new(client), settings, None)
}

async fn learn_codes(
    uploader: &Uploader,
    dir: &Path,
    codes: impl IntoIterator<Item = String>,
) -> (Result<Snapshot, SnapshotError>, Vec<Learned>) {
    let scratch = Scratch {
        dir: dir.to_owned(),
        budget: 4 << 10,
    };
    let mut file = FileCodes::new(&scratch);
    for code in codes {
        file.push(&code).unwrap();
    }
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |l: &Learned| seen.lock().unwrap().push(l.clone());
    let result = learn(uploader, file, &progress).await;
    (result, seen.into_inner().unwrap())
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn both_list_shapes_give_the_same_customers() {
    for shape in [ListShape::Id, ListShape::Number] {
        let dir = tempfile::tempdir().unwrap();
        let sb = sandbox_holding(dir.path(), 5, shape);
        let uploader = uploader_for(&sb.base_url());
        let codes = ["K1", "K3", "NEW"].map(String::from);
        let (snapshot, _) = learn_codes(&uploader, dir.path(), codes).await;
        let snapshot = snapshot.unwrap();
        let k1 = snapshot.get("K1").unwrap().expect("held");
        let stored = sb
            .customers()
            .into_iter()
            .find(|c| c.customer_code == "K1")
            .unwrap();
        assert_eq!(k1.id, stored.id, "{shape:?}");
        assert_eq!(k1.customer.get(Field::Name), Some("Name 1"));
        assert_eq!(k1.customer.get(Field::City), Some("City 1"));
        assert_eq!(k1.customer.get(Field::Country), Some("NL"));
        assert!(snapshot.get("K3").unwrap().is_some());
        // Held by Notify but not in the file: not kept.
        assert!(snapshot.get("K2").unwrap().is_none());
        assert!(snapshot.get("NEW").unwrap().is_none());
        let l = snapshot.learned();
        assert_eq!(
            (l.codes, l.pages, l.found, l.searches, l.listed_all),
            (3, 1, 2, 0, true)
        );
        let stats = sb.stats();
        assert_eq!(stats.lists, 1);
        assert_eq!(stats.requests_by_method.get("GET"), Some(&1));
        assert_eq!(stats.requests, 1);
    }
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn more_than_a_page_is_followed_to_the_end_with_one_get_per_page() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_holding(dir.path(), 620, ListShape::Id);
    let uploader = uploader_for(&sb.base_url());
    // Every held code and 15 new ones: the sync case in small.
    let codes = (0..620)
        .map(|i| format!("K{i}"))
        .chain((0..15).map(|i| format!("N{i}")));
    let (snapshot, progress) = learn_codes(&uploader, dir.path(), codes).await;
    let snapshot = snapshot.unwrap();
    assert_eq!(snapshot.len(), 620);
    for i in [0, 249, 250, 499, 500, 619] {
        let e = snapshot.get(&format!("K{i}")).unwrap().expect("held");
        assert_eq!(
            e.customer.get(Field::Name),
            Some(format!("Name {i}").as_str())
        );
    }
    assert!(snapshot.get("N3").unwrap().is_none());
    let stats = sb.stats();
    // ceil(620 / 250) pages and nothing else.
    assert_eq!((stats.lists, stats.searches, stats.requests), (3, 0, 3));
    assert_eq!(stats.listed, 620);
    let queries: Vec<String> = sb
        .request_log()
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert_eq!(queries[0], "limit=250");
    assert!(queries[1].starts_with("from=") && queries[1].ends_with("&limit=250"));
    let pages: Vec<u64> = progress.iter().map(|l| l.pages).collect();
    assert_eq!(pages, [1, 2, 3]);
    assert_eq!(uploader.client.requests_sent(), 3);
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn a_long_list_and_a_short_file_switch_to_searching() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_holding(dir.path(), 2_000, ListShape::Number);
    let uploader = uploader_for(&sb.base_url());
    // The oldest customer (on the last page) and one Notify does not hold.
    let codes = ["K0", "GONE"].map(String::from);
    let (snapshot, _) = learn_codes(&uploader, dir.path(), codes).await;
    let snapshot = snapshot.unwrap();
    let k0 = snapshot.get("K0").unwrap().expect("found by search");
    assert_eq!(k0.customer.get(Field::Name), Some("Name 0"));
    assert!(snapshot.get("GONE").unwrap().is_none());
    let l = snapshot.learned().clone();
    // Eight pages would list everything; after four, the two codes left
    // cost no more to search.
    assert!(!l.listed_all);
    assert_eq!((l.pages, l.searches, l.lookups, l.found), (4, 2, 1, 1));
    let stats = sb.stats();
    assert_eq!(stats.searches, 2);
    // The pages, and the one-item page that read K0's fields.
    assert_eq!(stats.lists, 5);
    assert_eq!(stats.requests, l.requests());
    assert!(stats.requests_by_method.keys().all(|m| m == "GET"));
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn nothing_to_learn_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_holding(dir.path(), 3, ListShape::Id);
    let uploader = uploader_for(&sb.base_url());
    let (snapshot, _) = learn_codes(&uploader, dir.path(), Vec::new()).await;
    assert!(snapshot.unwrap().is_empty());
    assert_eq!(sb.stats().requests, 0);
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn a_429_is_waited_out_and_a_failing_list_gives_up_after_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_holding(dir.path(), 300, ListShape::Id);
    // One request a second: the second page comes too soon.
    sb.set_faults(sandbox::Faults {
        rate: Some(1.0),
        burst: 1,
        retry_after: sandbox::RetryAfterStyle::Fractional,
        ..sandbox::Faults::default()
    });
    let uploader = uploader_for(&sb.base_url());
    let codes = (0..300).map(|i| format!("K{i}"));
    let (snapshot, _) = learn_codes(&uploader, dir.path(), codes.clone()).await;
    assert_eq!(snapshot.unwrap().len(), 300);
    let stats = sb.stats();
    assert_eq!(stats.lists, 2);
    assert!(stats.rate_limited_429 > 0, "{stats:?}");
    assert_eq!(uploader.rate_limited(), stats.rate_limited_429);

    sb.set_faults(sandbox::Faults {
        fail_rate: 1.0,
        ..sandbox::Faults::default()
    });
    let before = sb.stats().requests;
    let (failed, _) = learn_codes(&uploader, dir.path(), codes).await;
    assert!(
        matches!(
            failed,
            Err(SnapshotError::Api(ApiError::Server { status: 503, .. }))
        ),
        "{:?}",
        failed.map(|s| s.len())
    );
    // max_attempts (2) tries of the first page, no more.
    assert_eq!(sb.stats().requests - before, 2);
}

/// A one-shot HTTP server on 127.0.0.1 answering one list page whose next
/// link names `next`; the request it read.
fn one_page_server(next: String) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v2", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = format!(
            r#"{{"customers":[{{"id":"a0f0660d-6c8d-422b-8114-e363b260521e","customerCode":"K1","name":"Ann"}}],"count":1,"links":{{"previous":null,"next":{{"href":"{next}","type":"application/hal+json"}}}}}}"#
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/hal+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (base, thread)
}

#[tokio::test]
async fn a_next_link_to_another_address_is_refused_and_not_followed() {
    // Another port of the same host is another address: the key stays home.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let next = format!(
        "http://{}/v2/customers?from=b&limit=250",
        elsewhere.local_addr().unwrap()
    );
    let (base, server) = one_page_server(next.clone());
    let uploader = uploader_for(&base);
    let dir = tempfile::tempdir().unwrap();
    let codes = ["K1", "K2", "K3"].map(String::from);
    let (result, _) = learn_codes(&uploader, dir.path(), codes).await;
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /v2/customers?limit=250 "),
        "{request}"
    );
    match result {
        Err(SnapshotError::Api(e @ ApiError::ForeignLink { .. })) => {
            assert_eq!(e.kind(), ErrorKind::Redirected);
            assert!(e.to_string().contains(&next), "{e}");
        }
        other => panic!("expected a refused link, got {:?}", other.map(|s| s.len())),
    }
    assert!(
        elsewhere.accept().is_err(),
        "nothing may connect to the other address"
    );
    assert_eq!(uploader.client.requests_sent(), 1);
}

#[cfg(feature = "sandbox")]
#[tokio::test]
async fn the_client_patches_and_deletes_as_the_docs_say() {
    let dir = tempfile::tempdir().unwrap();
    let held = dir.path().join("held.csv");
    std::fs::write(
        &held,
        "Code,Name,City,HasInvoices\nA,Ann,Ede,\nB,Bob,Delft,yes\n",
    )
    .unwrap();
    let sb = sandbox::spawn(SandboxOptions {
        customers: Some(held),
        ..SandboxOptions::default()
    })
    .unwrap();
    let uploader = uploader_for(&sb.base_url());
    let client = &uploader.client;
    let a = client.search_customer("A").await.unwrap().expect("held");
    // The documented search answer: the id and the code, no fields.
    assert_eq!(a.customer.get(Field::Name), None);
    let full = client.customer_at(&a.id).await.unwrap().expect("held");
    assert_eq!(full.customer.get(Field::City), Some("Ede"));
    let patched = client
        .patch(&a.id, br#"{"City":"","Name":"Anna"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(
        (
            patched.customer.get(Field::Name),
            patched.customer.get(Field::City)
        ),
        (Some("Anna"), None)
    );
    assert!(matches!(
        client.patch("unknown-id", b"{}".to_vec()).await,
        Err(ApiError::Rejected { status: 404, .. })
    ));
    let b = client.search("B").await.unwrap().expect("held");
    assert_eq!(
        client.delete(&b).await.unwrap(),
        crate::upload::api::DeleteOutcome::Refused("Customer is not empty".into())
    );
    assert_eq!(
        client.delete(&a.id).await.unwrap(),
        crate::upload::api::DeleteOutcome::Deleted
    );
    assert_eq!(
        client.delete(&a.id).await.unwrap(),
        crate::upload::api::DeleteOutcome::NotFound
    );
    assert!(client.customer_at(&a.id).await.unwrap().is_none());
    let stats = sb.stats();
    assert_eq!(
        (stats.updates, stats.deletes, stats.deletes_refused),
        (1, 1, 1)
    );
}

/// The issue's benchmark case: Notify holds 10 000, the file has those
/// codes plus 200 new ones (out of order, repeats included): 40 pages.
#[cfg(feature = "sandbox")]
#[tokio::test]
async fn the_bench_case_costs_ceil_m_over_250_pages() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_holding(dir.path(), 10_000, ListShape::Id);
    let uploader = uploader_for(&sb.base_url());
    let codes = (0..10_000)
        .rev()
        .map(|i| format!("K{i}"))
        .chain((0..200).map(|i| format!("NEW{i}")))
        .chain(["K5".to_owned(), "K5".to_owned()]);
    let (snapshot, progress) = learn_codes(&uploader, dir.path(), codes).await;
    let snapshot = snapshot.unwrap();
    let l = snapshot.learned().clone();
    assert_eq!(
        (l.codes, l.found, l.pages, l.searches),
        (10_200, 10_000, 40, 0)
    );
    assert!(l.requests() <= 10_200u64.div_ceil(250) + 5);
    assert_eq!(sb.stats().requests, 40);
    assert_eq!(progress.len(), 40);
    let k = snapshot.get("K9999").unwrap().expect("held");
    assert_eq!(k.customer.get(Field::Name), Some("Name 9999"));
    assert!(snapshot.get("NEW7").unwrap().is_none());
}
