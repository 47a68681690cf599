//! The TLS crypto provider: rustls with `ring`.
//!
//! reqwest is built without a provider (its default, aws-lc-rs, compiles C
//! and dominated the cold build), so one must be installed for the process
//! before any `reqwest::Client` is built, or building it panics. This module
//! owns that one step; it must not configure anything else about TLS.

use std::sync::Once;

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
