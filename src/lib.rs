//! notify-import: bulk-import customers from CSV files into the Notify API.
//!
//! Pipeline: file → records → customers → outcomes → results. Each stage
//! lives in its own module; see `DESIGN.md` in the shared docs.

pub mod customer;
pub mod fields;
pub mod input;
pub mod sandbox;
pub mod validate;
