//! Check: turns records into customers and decides, offline, which rows
//! can be sent.
//!
//! Owns [`validate`] (per-row rules), [`pass`] (the one walk over the
//! input for every command), [`duplicates`] (the repeated-code index) and
//! [`tally`] (counts for the run header). It must not touch the network,
//! decide a row's fate (the planner does) or write outputs.

pub mod duplicates;
pub mod pass;
pub mod tally;
pub mod validate;
