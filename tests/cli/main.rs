//! Integration tests: the real binary against the embedded sandbox on
//! 127.0.0.1:0. One binary; topic modules; `harness` holds the helpers.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod advice;
mod bench;
mod conventions;
mod cron;
mod doubt;
mod exports;
mod fake;
mod faults;
mod harness;
mod held;
mod help;
mod hostile;
mod import;
mod input;
mod one_pass;
mod pacing;
mod recovery;
mod report;
mod runs;
mod security;
mod settings;
mod sync;
mod together;
mod undo;
mod validate;
mod workbook;
