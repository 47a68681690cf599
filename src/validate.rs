//! Field rules of the create-customer docs, applied locally before any request.
//!
//! STUB: to be implemented.
