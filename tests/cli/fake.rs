//! A misbehaving HTTP/1.1 server for tests, written apart from the sandbox:
//! each test gives it a handler that answers as a broken API, a redirecting
//! gateway or a proxy would. It records every request it read before
//! answering it, so a client that got an answer was recorded. Bounded: it
//! serves at most [`MAX_CONNECTIONS`] connections, one request each
//! (`Connection: close`), and stops when dropped. [`FakeServer::start_tls`]
//! serves https with the self-signed certificate in `tests/data/tls`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served at most, so a runaway client cannot keep a test alive.
pub const MAX_CONNECTIONS: usize = 2000;

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `CONNECT`...
    pub method: String,
    /// The request target as sent (a path, or a whole URL through a proxy).
    pub target: String,
    /// Header names in lower case, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body's JSON `CustomerCode`, if it has one.
    pub fn customer_code(&self) -> Option<String> {
        let doc: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        doc["CustomerCode"].as_str().map(str::to_owned)
    }

    /// The `customer` query parameter of a search.
    pub fn searched_code(&self) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "customer")
            .map(|(_, v)| v.into_owned())
    }
}

/// An answer: status, headers, and a body that may be far larger than
/// memory should hold (`padding` bytes of `x` are streamed after `body`).
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Bytes of filler streamed after `body`, in 64 KiB writes.
    pub padding: u64,
    /// Bytes streamed after the filler.
    pub tail: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, doc: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: doc.to_string().into_bytes(),
            ..Reply::default()
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running fake server on 127.0.0.1.
pub struct FakeServer {
    addr: SocketAddr,
    scheme: &'static str,
    log: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts a server answering every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeServer {
        FakeServer::spawn(None, Arc::new(handler))
    }

    /// The same over TLS, with the certificate of `tests/data/tls`
    /// (trusted only where `SSL_CERT_FILE` names `server.pem`).
    pub fn start_tls(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
        let certs = CertificateDer::pem_file_iter(dir.join("server.pem"))
            .expect("server.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate");
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("server.key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        FakeServer::spawn(Some(Arc::new(config)), Arc::new(handler))
    }

    fn spawn(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let log = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (log, sent, stop) = (log.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().take(MAX_CONNECTIONS) {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                    let (log, sent, handler) = (log.clone(), sent.clone(), handler.clone());
                    let tls = tls.clone();
                    std::thread::spawn(move || match tls {
                        None => serve(stream, &log, &sent, &*handler),
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let tls = rustls::StreamOwned::new(conn, stream);
                            serve(tls, &log, &sent, &*handler);
                        }
                    });
                }
            })
        };
        FakeServer {
            addr,
            scheme,
            log,
            sent,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS server).
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http://127.0.0.1:PORT/v2`, as `--api-url` takes it.
    pub fn base_url(&self) -> String {
        format!("{}/v2", self.origin())
    }

    /// Bytes of answers the clients took (written without an error).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Every request read so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Reads one request, records it, writes the handler's reply, closes.
fn serve(
    stream: impl Read + Write,
    log: &Mutex<Vec<Request>>,
    sent: &AtomicU64,
    handler: &Handler,
) {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    log.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let _ = write_reply(reader.get_mut(), &reply, sent);
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    // A request has a few dozen header lines at most.
    for _ in 0..200 {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn write_reply(stream: &mut impl Write, reply: &Reply, sent: &AtomicU64) -> std::io::Result<()> {
    let length = reply.body.len() as u64 + reply.padding + reply.tail.len() as u64;
    let mut head = format!("HTTP/1.1 {} Fake\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    let mut write = |bytes: &[u8]| {
        // Fails as soon as the client stops reading and closes.
        stream.write_all(bytes)?;
        sent.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(())
    };
    write(head.as_bytes())?;
    write(&reply.body)?;
    let filler = [b'x'; 64 * 1024];
    let mut left = reply.padding;
    while left > 0 {
        let n = left.min(filler.len() as u64) as usize;
        write(&filler[..n])?;
        left -= n as u64;
    }
    write(&reply.tail)?;
    stream.flush()
}

/// Creates per code in what `server` received (the ledger of POSTs).
pub fn posts_by_code(server: &FakeServer) -> std::collections::BTreeMap<String, usize> {
    let mut ledger = std::collections::BTreeMap::new();
    for code in server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(Request::customer_code)
    {
        *ledger.entry(code).or_insert(0) += 1;
    }
    ledger
}
