//! The sandbox started with customers Notify already holds (issue 19):
//! `--customers FILE` in the import format, either list item shape, and
//! a bad file refused with its line.

use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

const LIMIT: Duration = Duration::from_secs(60);

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/held-by-notify.csv")
}

/// `GET path` on `addr` with the test key; the body.
fn get(addr: &str, path: &str) -> serde_json::Value {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TEST_KEY}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

#[cfg(unix)]
#[test]
fn the_sandbox_starts_with_held_customers_in_the_tables_list_shape() {
    let mut sandbox = notify_import()
        .args([
            "sandbox",
            "--port",
            "0",
            "--list-shape",
            "number",
            "--customers",
        ])
        .arg(fixture())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let mut shown = Vec::new();
    for line in lines {
        let line = line.unwrap();
        let last = line.starts_with("stop it with Ctrl-C");
        shown.push(line);
        if last {
            break;
        }
    }
    let text = shown.join("\n");
    assert!(text.contains("sandbox holds 4 customers from"), "{text}");
    let url = shown
        .iter()
        .find_map(|l| l.strip_prefix("sandbox listening on http://"))
        .unwrap_or_else(|| panic!("no address in\n{text}"));
    let (addr, base) = url.split_once('/').unwrap();
    let page = get(addr, &format!("/{base}/customers?limit=3"));
    let items = page["customers"].as_array().unwrap();
    // Newest first: the file's last row is the newest customer.
    let numbers: Vec<&str> = items
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1004", "1003", "1002"]);
    assert_eq!(
        items[0]["customerCode"],
        "5d1f2e3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    );
    assert_eq!(items[0]["name"], "Caf\u{e9} Het Hoekje");
    assert_eq!(items[0]["address"]["postalcode"], "9711 AA");
    assert!(items.iter().all(|c| c.get("id").is_none()));
    let next = page["links"]["next"]["href"].as_str().unwrap();
    let rest = get(addr, next.strip_prefix(&format!("http://{addr}")).unwrap());
    let last = &rest["customers"][0];
    assert_eq!(
        (last["number"].as_str(), last["customerCode"].as_str()),
        (Some("1001"), Some("0b7e6c52-3f0a-4c1e-9a44-1f2d3c4b5a61"))
    );
    assert!(rest["links"]["next"].is_null());
    let stopped = interrupt(sandbox, LIMIT);
    assert_exit(&stopped, 0);
}

#[test]
fn a_bad_customers_file_stops_the_sandbox_naming_its_line() {
    let s = Scratch::new();
    let held = s.file(
        "held.csv",
        "Klantnummer;Naam;Postcode\n1;Ann;1234 AB\n2;Bob;12345 678 90 AB\n",
    );
    let out = notify_import()
        .args(["sandbox", "--port", "0", "--customers"])
        .arg(&held)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("held.csv") && err.contains("line 3"), "{err}");
    assert!(err.contains("Postalcode"), "{err}");
    assert!(!err.contains("--port"), "{err}");
    assert!(out.stdout.is_empty(), "it never listened");
}
