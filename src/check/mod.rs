//! Check: turns records into customers and decides, offline, which rows
//! can be sent.
//!
//! Owns [`validate`] (per-row rules: `normalize`, `rules`, and the
//! `country` and `language` tables behind them), [`pass`] (the one walk
//! over the input for every command), [`duplicates`] (the repeated-code
//! index) and [`tally`] (counts for the run header). It must not touch the
//! network, decide a row's fate (the planner does) or write outputs.

mod country;
pub mod duplicates;
mod language;
mod normalize;
pub mod pass;
mod rules;
pub mod tally;
pub mod validate;
