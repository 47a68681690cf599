//! Util: helpers with no knowledge of customers or the API.
//!
//! Owns [`atomic`] (private files written whole or not at all), [`spill`]
//! (per-row facts sorted on disk so memory stays flat) and [`redact`] (the
//! API key never reaches an output). It must not import any stage.

pub mod atomic;
pub mod redact;
pub mod spill;
