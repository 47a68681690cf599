//! Streaming CSV reader with physical line numbers.
//!
//! STUB: to be implemented.
