//! Embedded Notify emulator: the customers API in memory, on loopback only.
//!
//! Owns the public face of the sandbox: [`spawn`] (own thread, own tokio
//! runtime, usable from sync code and from inside another runtime),
//! [`SandboxHandle`], and [`serve_until_ctrl_c`] for `notify-import sandbox`.
//! The sandbox implements the public docs (`notify-api.md`) on its own: it
//! shares only [`crate::model::field::Field`] with the client and must never use
//! `validate.rs` or `api/`, so a client bug cannot hide behind an emulator
//! that shares it. It never binds anything but 127.0.0.1.
//!
//! Files: `options.rs` (start-up settings, CLI flags), `faults.rs` (fault
//! knobs and dice), `limit.rs` (the rate-limit algorithms), `payload.rs` (request decoding and field rules),
//! `preload.rs` (the `--customers` file),
//! `store.rs` (the customer table), `wire.rs` (response shapes),
//! `stats.rs` (counters), `routes.rs` (handlers), `server.rs` (connections).

mod faults;
mod limit;
mod options;
mod payload;
mod preload;
mod routes;
mod server;
mod stats;
mod store;
mod wire;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

pub use faults::{Faults, JunkMode, RetryAfterStyle};
pub use limit::{Limiter, RateHeaders};
pub use options::{DuplicateMode, ListShape, SandboxArgs, SandboxOptions};
pub use routes::LoggedRequest;
pub use stats::Stats;
pub use store::StoredCustomer;

use routes::{AppState, Shared};

/// A running sandbox. Dropping it stops the server and joins its thread,
/// like [`SandboxHandle::shutdown`].
pub struct SandboxHandle {
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v2")
}

/// Binds `127.0.0.1:opts.port` now (so the port is taken and connections
/// queue before this returns), then serves on a dedicated OS thread with its
/// own tokio runtime, never the caller's.
pub fn spawn(opts: SandboxOptions) -> std::io::Result<SandboxHandle> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let state = Shared::new(&opts, base_url(addr));
    if let Some(path) = &opts.customers {
        state.preload(path)?;
    }
    let shutdown = CancellationToken::new();

    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    let app = routes::router(state.clone());
    let token = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name(format!("notify-sandbox-{}", addr.port()))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("notify-sandbox-worker")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                // `from_std` must run inside the runtime that will drive it.
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                server::serve(listener, app, token).await;
            });
        })?;

    match ready_rx.recv() {
        Ok(Ok(())) => Ok(SandboxHandle {
            addr,
            state,
            shutdown,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(std::io::Error::other(
                "sandbox thread exited before listening",
            ))
        }
    }
}

impl SandboxHandle {
    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// API base URL, e.g. `http://127.0.0.1:8787/v2`.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// A snapshot of the stored customers, in creation order.
    pub fn customers(&self) -> Vec<StoredCustomer> {
        self.state.customers()
    }

    /// Every API request so far, in the order answered.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.state.request_log()
    }

    /// Replaces the fault knobs from the next request on; reseeds the random
    /// generator from `f.seed` and restarts the rate limiter.
    pub fn set_faults(&self, f: Faults) {
        self.state.faults.set(f);
    }

    /// Stops accepting, gives requests in flight a short grace, then joins
    /// the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Runs the sandbox on the caller's runtime for `notify-import sandbox`:
/// prints `sandbox listening on http://127.0.0.1:PORT/v2` to stdout, calls
/// `ready` with that URL (the caller tells the user how to use it), then
/// serves until SIGINT (or SIGTERM on Unix).
pub async fn serve_until_ctrl_c(
    opts: SandboxOptions,
    ready: impl FnOnce(&str),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))
        .await
        .map_err(|e| context(e, &format!("cannot listen on 127.0.0.1:{}", opts.port)))?;
    let addr = listener.local_addr()?;
    let state = Shared::new(&opts, base_url(addr));
    let held = match &opts.customers {
        Some(path) => Some((path, state.preload(path)?)),
        None => None,
    };
    let app = routes::router(state);

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "sandbox listening on {}", base_url(addr))?;
    if let Some((path, n)) = held {
        writeln!(
            stdout,
            "sandbox holds {n} customers from {}",
            path.display()
        )?;
    }
    stdout.flush()?;
    drop(stdout);
    ready(&base_url(addr));

    let token = CancellationToken::new();
    let server = tokio::spawn(server::serve(listener, app, token.clone()));
    let signal = shutdown_signal().await;
    token.cancel();
    server
        .await
        .map_err(|e| std::io::Error::other(format!("sandbox server task failed: {e}")))?;
    signal
}

/// Keeps the kind and puts what was being done in front of the message.
fn context(e: std::io::Error, doing: &str) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{doing}: {e}"))
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| context(e, "cannot watch SIGTERM"))?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(|e| context(e, "cannot watch Ctrl-C")),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| context(e, "cannot watch Ctrl-C"))
    }
}
