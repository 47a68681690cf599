//! Store: what outlives the process.
//!
//! Owns [`journal`] (each sent row, so a stopped run can resume), [`doubt`]
//! (codes a later run looks up before sending them), [`state`]
//! (delta mode's SQLite record of what was imported) and [`lock`] (one run
//! per results or state file). It must not decide what to send.

pub mod doubt;
pub mod journal;
pub mod lock;
pub mod state;
