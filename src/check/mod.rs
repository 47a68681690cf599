//! Check: turns records into customers and decides, offline, which rows
//! can be sent.
//!
//! Owns [`validate`] (per-row rules: `normalize`, `rules`, and the
//! `country` and `language` tables behind them) and `preflight` (the
//! whole-file pass: repeated codes, the plan handed to the upload stage).
//! It must not touch the network or write outputs.

mod country;
mod language;
mod normalize;
pub(crate) mod preflight;
mod rules;
pub mod validate;
