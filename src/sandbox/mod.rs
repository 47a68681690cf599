//! Embedded Notify emulator (axum, in memory, loopback only).
//!
//! STUB: to be implemented.
