//! Embedded Notify emulator: the customers API in memory, on loopback only.
//!
//! The sandbox implements the public docs (`notify-api.md`) on its own: it
//! shares only [`crate::fields::Field`] with the client and must never use
//! `validate.rs` or `api/`, so a client bug cannot hide behind an emulator
//! that shares it. It never binds anything but 127.0.0.1.
//!
//! Files: `options.rs` (start-up settings, CLI flags), `faults.rs` (fault
//! knobs and dice), `payload.rs` (request decoding and field rules),
//! `store.rs` (the customer table), `wire.rs` (response shapes),
//! `stats.rs` (counters).

mod faults;
mod options;
mod payload;
mod stats;
mod store;
mod wire;

pub use faults::{Faults, JunkMode, RetryAfterStyle};
pub use options::{DuplicateMode, SandboxArgs, SandboxOptions};
pub use stats::Stats;
pub use store::StoredCustomer;
