//! The physical limit for preflight: walk a CSV file with the bare `csv`
//! crate and nothing else.
//!
//! `cargo run --release --example csv_walk -- FILE` reads every record into
//! one reused `ByteRecord` (no UTF-8 check, no mapping, no validation, no
//! line counting of our own) and prints the number of data rows.
//! `scripts/bench.sh` divides the time of `notify-import validate` by the
//! time of this walk: everything above 1x is the cost of our own work.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: csv_walk FILE");
        return ExitCode::from(2);
    };
    let walk = || -> csv::Result<u64> {
        // `flexible`: count rows, do not judge them (validate does that).
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(&path)?;
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        while reader.read_byte_record(&mut record)? {
            rows += 1;
        }
        Ok(rows)
    };
    match walk() {
        Ok(rows) => {
            println!("{rows}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("csv_walk: {e}");
            ExitCode::FAILURE
        }
    }
}
