//! Check: turns records into customers and decides, offline, which rows
//! can be sent.
//!
//! Owns [`validate`] (per-row rules) and
//! `preflight` (the whole-file pass: repeated codes, the plan handed to
//! the upload stage). It must not touch the network or write outputs.

pub(crate) mod preflight;
pub mod validate;
