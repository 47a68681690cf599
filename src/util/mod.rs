//! Util: helpers with no knowledge of customers or the API.
//!
//! Owns [`atomic`] (private files written whole or not at all),
//! [`background`] (a writer whose writes happen on a thread of its own), [`spill`]
//! (per-row facts sorted on disk so memory stays flat), [`lookup`]
//! (sorted records found by key from disk), [`redact`] (the API
//! key never reaches an output), [`nofollow`] (the files the tool makes for
//! itself are never reached through a planted link), [`run_dir`] (the
//! folders a run writes in, held open so a swapped path cannot redirect
//! its files) and [`text`] (names
//! compared and values quoted alike everywhere). It must not import any
//! stage.

pub mod atomic;
pub mod background;
pub mod lookup;
pub mod nofollow;
pub mod redact;
pub mod run_dir;
pub mod spill;
pub mod text;
