//! TLS: the crypto provider, and finding a TLS failure before a run sends.
//!
//! reqwest is built without a provider (its default, aws-lc-rs, compiles C
//! and dominated the cold build), so [`install_provider`] must run before
//! any `reqwest::Client` is built, or building it panics. [`check`] is the
//! preflight of an https run: one request without the key (`HEAD` of the
//! base URL) before anything is journaled or sent, so an untrusted
//! certificate is a setup error (exit 2, nothing to resume) that names the
//! certificate's problem and `SSL_CERT_FILE`, instead of every row failing
//! until the run stops as "API unreachable". Any other failure of that
//! request is left to the uploader, as if there had been no preflight. It
//! must not configure the client: that is `client::http_client`'s.

use std::sync::Once;
use std::time::Duration;

use reqwest::Url;

/// Longest wait for the preflight's answer; it only needs the handshake.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs `ring` as the process-wide rustls provider; later calls do
/// nothing. Every place that builds a `reqwest::Client` calls it first.
pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means another provider was installed first (by an
        // embedding program); that one is as good for our requests.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The API cannot be reached securely: its certificate is not trusted, or
/// the TLS handshake failed. Found before anything was sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{problem} ({origin}); nothing was sent. If the API is reached through a gateway or proxy with a certificate authority of its own, point SSL_CERT_FILE at a PEM file that holds it (the file replaces the system's list, so append it to a copy of /etc/ssl/certs/ca-certificates.crt); else check --api-url"
)]
pub struct TlsError {
    /// `scheme://host:port` of the API.
    origin: String,
    /// What went wrong, in rustls's words (scrubbed: it quotes the server).
    problem: String,
}

/// For an https `base`: connects once, without the key, and fails only if
/// TLS did. Plain http (the sandbox, loopback) has nothing to check.
pub fn check(base: &Url, timeout: Duration) -> Result<(), TlsError> {
    if base.scheme() != "https" {
        return Ok(());
    }
    let fail = |problem: String| TlsError {
        origin: base.origin().ascii_serialization(),
        problem: super::untrusted::text(&problem),
    };
    // Without a runtime nothing can be sent at all; the run's own runtime
    // reports that as the setup error it is.
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Ok(());
    };
    // The client and its connection live and end inside the runtime.
    let sent = rt.block_on(async {
        let client = super::client::http_client(base, timeout.min(PREFLIGHT_TIMEOUT))?;
        client.head(base.clone()).send().await.map(drop)
    });
    match sent {
        Ok(()) => Ok(()),
        Err(e) => match tls_problem(&e) {
            Some(problem) => Err(fail(problem)),
            // Anything else is the uploader's to meet, as without a preflight.
            None => Ok(()),
        },
    }
}

/// The TLS failure behind `err`, described, if there is one.
pub fn tls_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    // A chain is a handful of errors; the bound only guards against a cycle.
    for _ in 0..32 {
        let e = next?;
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        // An io::Error's `source()` skips the error it wraps: step into it.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(_) => {
            format!("the API's TLS certificate is not trusted: {err}")
        }
        _ => format!("the TLS handshake with the API failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rustls_error_is_found_inside_io_errors_and_named() {
        let cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::other(std::io::Error::other(cert));
        let problem = tls_problem(&wrapped).expect("found");
        assert!(
            problem
                .starts_with("the API's TLS certificate is not trusted: invalid peer certificate"),
            "{problem}"
        );
        let plain = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(tls_problem(&plain), None);
        let err = TlsError {
            origin: "https://api.example".into(),
            problem,
        };
        let text = err.to_string();
        assert!(
            text.contains("(https://api.example); nothing was sent"),
            "{text}"
        );
        assert!(text.contains("SSL_CERT_FILE"), "{text}");
    }

    #[test]
    fn plain_http_is_not_checked() {
        let url = Url::parse("http://127.0.0.1:9/v2").unwrap();
        assert!(check(&url, Duration::from_secs(1)).is_ok());
    }
}
