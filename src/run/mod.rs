//! What one run leaves behind and how it ends: its folder among the runs
//! of an input ([`folder`]), the error that ends it and the exit code that
//! error means ([`error`]), how a run's end (check or import) becomes its
//! exit code and printed summary, when its outputs made from the rows are
//! written, and whether its journal stays ([`finish`]), the one line
//! telling the user what to do next ([`next_step`]), and the checks that
//! may refuse a run before it starts ([`start`]), what a run takes over
//! from the runs before it and hands on ([`recovery`]). Which outputs a run has
//! may refuse a run before it starts ([`start`]), and learning what
//! Notify holds with its progress line (`learn`). Which outputs a run has
//! is [`crate::output::set`]'s.
//!
//! The wiring of the stages for one run is [`pipeline`]; it holds no rules.
//! `undo` (taking an import run back) is wired in [`undo`].
//! The files holding the rules never talk to the network, and only
//! [`finish`] has the input's rows read again (by the errors file, to copy
//! the rows not imported).

pub mod error;
pub mod finish;
pub mod folder;
pub(crate) mod learn;
pub mod next_step;
pub(crate) mod pipeline;
pub mod recovery;
pub mod settings;
pub mod start;
pub(crate) mod undo;

pub use error::RunError;
pub use folder::{RunFiles, RunFolder, RunKind, Runs};
pub use start::Start;
