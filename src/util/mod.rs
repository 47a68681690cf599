//! Util: helpers with no knowledge of customers or the API.
//!
//! Owns [`spill`] (per-row facts sorted on disk so memory stays flat),
//! [`redact`] (the API key never reaches an output) and [`nofollow`] (the
//! files the tool makes for itself are never reached through a planted
//! link). It must not import any stage.

pub mod nofollow;
pub mod redact;
pub mod spill;
