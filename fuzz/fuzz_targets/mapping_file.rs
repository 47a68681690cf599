//! Arbitrary mapping-file text against an arbitrary header: errors are
//! fine, panics are not.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use notify_import::input::{Mapping, MappingFile};

fuzz_target!(|data: (&str, Vec<String>)| {
    let (text, header) = data;
    let Ok(file) = MappingFile::parse(Path::new("m.toml"), text) else {
        return;
    };
    let headers = csv::StringRecord::from(header);
    if let Ok(mapping) = Mapping::resolve(Path::new("c.csv"), &headers, file.entries(), &[]) {
        let _ = mapping.describe();
    }
});
