//! What one run leaves behind and how it ends: its folder among the runs
//! of an input ([`folder`]), the error that ends it and the exit code that
//! error means ([`error`]), how an import's end becomes its exit code and
//! whether its journal stays ([`finish`]), the one line telling the user
//! what to do next ([`next_step`]), and the checks that may refuse a run
//! before it starts ([`start`]).
//!
//! The wiring of the stages stays in [`crate::pipeline`]; this module must
//! not read the input or talk to the network.

pub mod error;
pub mod finish;
pub mod folder;
pub mod next_step;
pub mod start;

pub use error::RunError;
pub use folder::{RunFiles, RunFolder, Runs};
pub use start::Start;
