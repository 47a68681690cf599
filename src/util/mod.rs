//! Util: helpers with no knowledge of customers or the API.
//!
//! Owns [`spill`] (per-row facts sorted on disk so memory stays flat) and
//! [`redact`] (the API key never reaches an output). It must not import
//! any stage.

pub mod redact;
pub mod spill;
