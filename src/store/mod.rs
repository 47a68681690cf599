//! Store: what outlives the process.
//!
//! Owns [`journal`] (each sent row, so a stopped run can resume), [`state`]
//! (delta mode's SQLite record of what was imported) and [`lock`] (one run
//! per results or state file). It must not decide what to send.

pub mod journal;
pub mod lock;
pub mod state;
