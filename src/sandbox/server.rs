//! The accept loop: one hyper HTTP/1 connection per TCP stream.
//!
//! Owns connections, not requests. `axum::serve` gives no handle on a single
//! connection, and the drop fault needs one: a handler that has stored a
//! customer must be able to make its connection vanish without a response.
//! So each connection gets a [`DropConnection`] in its request extensions;
//! firing it drops the hyper connection (and with it the socket and the
//! pending handler). This module must not know about customers or faults
//! beyond honouring that signal.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for requests in flight before cutting them off;
/// short because tests join the sandbox thread on drop.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// Request extension: closes the request's connection without an answer.
#[derive(Clone, Debug)]
pub(crate) struct DropConnection(Arc<Notify>);

impl DropConnection {
    /// Asks the connection task to drop the connection. `notify_one` keeps a
    /// permit, so the signal is not lost if the task is not yet waiting.
    pub fn fire(&self) {
        self.0.notify_one();
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets
/// connections finish for at most [`SHUTDOWN_GRACE`].
pub(crate) async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, app.clone(), shutdown.clone()));
                }
                // Typically out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, drain).await;
    connections.abort_all();
}

async fn serve_connection(stream: TcpStream, app: Router, shutdown: CancellationToken) {
    // Small JSON answers: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let kill = DropConnection(Arc::new(Notify::new()));
    let service = TowerToHyperService::new(app);
    let handler_kill = kill.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(handler_kill.clone());
        service.call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Returning drops `conn`: socket closed, nothing written.
        () = kill.0.notified() => {}
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                () = kill.0.notified() => {}
            }
        }
    }
}
