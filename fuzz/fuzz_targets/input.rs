//! Decode + read + map + validate arbitrary bytes: nothing may panic, and
//! the printed mapping must read back as the same mapping.
//!
//! The first byte picks the options, so the fuzzer explores overrides and
//! a tiny record cap as well as detection; the rest is the file.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use notify_import::model::customer::Customer;
use notify_import::input::{InputOptions, Mapping, MappingFile, Record, open_bytes};
use notify_import::check::validate::{self, ChangeTally, Validation};

/// Records read per input at most; enough to reach every state.
const MAX_RECORDS: usize = 1000;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else {
        return;
    };
    let options = InputOptions {
        encoding: match choice & 0b11 {
            0 => None,
            1 => Some("utf-8".to_string()),
            2 => Some("windows-1252".to_string()),
            _ => Some("utf-16le".to_string()),
        },
        delimiter: match (choice >> 2) & 0b111 {
            0 => Some(b','),
            1 => Some(b';'),
            2 => Some(b'\t'),
            _ => None,
        },
        max_record_bytes: if choice & 0b10_0000 != 0 {
            64
        } else {
            64 * 1024
        },
        ..InputOptions::default()
    };
    let path = Path::new("fuzz.csv");
    let Ok(mut input) = open_bytes(path, file.to_vec(), &options) else {
        return;
    };

    // The mapping as printed must resolve to the same sources.
    let text = input.mapping.describe();
    let reparsed = MappingFile::parse(Path::new("m.toml"), &text)
        .expect("describe() output must parse as a mapping file");
    let headers = csv::StringRecord::from(input.mapping.headers().to_vec());
    let again = Mapping::resolve(path, &headers, reparsed.entries(), &[])
        .expect("describe() output must resolve against its own header");
    for field in notify_import::model::field::Field::ALL {
        assert_eq!(
            again.source(field).map(|s| &s.source),
            input.mapping.source(field).map(|s| &s.source),
            "{field}: {text}"
        );
    }
    let _ = input.info.describe(&input.mapping);

    let mut rec = Record::default();
    let mut customer = Customer::default();
    let mut validation = Validation::default();
    let mut tally = ChangeTally::default();
    for _ in 0..MAX_RECORDS {
        match input.reader.read(&mut rec) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        let _ = input.mapping.width_problem(&rec.fields);
        input.mapping.customer_into(&rec.fields, &mut customer);
        validate::validate_into(&mut customer, &mut validation);
        tally.add(&validation.changes);
        let _ = validate::describe(&validation.problems);
        let _ = customer.to_json();
        // Normalizing is idempotent.
        let normalized = customer.clone();
        validate::validate_into(&mut customer, &mut validation);
        assert!(validation.changes.is_empty(), "{:?}", validation.changes);
        assert_eq!(customer, normalized);
    }
});
