//! Header matching: which column feeds which API field.
//!
//! STUB: to be implemented.
