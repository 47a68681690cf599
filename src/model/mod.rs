//! Model: the types every stage shares, so that data flows one way
//! (source → pass → plan → upload → outputs) without a later stage reaching
//! back into an earlier one's folder for its vocabulary.
//!
//! Owns [`field`] (the API's field names, the only module the sandbox
//! shares), [`customer`] (the payload), [`problem`] (a broken rule, and
//! which rule it is), [`remote`] (a customer as Notify holds it), [`checked`] (a row as the pass leaves it),
//! [`outcome`] (statuses, a row's outcome, counts), [`plan`] (a row's fate
//! as the planner decides it, and the write mode) [`failure`] (a failed
//! write of a run's file, which stops the sending or ends the run) and
//! [`timeline`] (an import's requests and 429s over time) and [`undo`] (what
//! a run changed, and what taking it back came to). It imports nothing
//! else from the crate and holds no behaviour beyond encoding these types.

pub mod checked;
pub mod customer;
pub mod failure;
pub mod field;
pub mod outcome;
pub mod plan;
pub mod problem;
pub mod remote;
pub mod timeline;
pub mod undo;
