//! Per-row cost of each preflight stage, and of the results writer.
//!
//! `cargo bench --bench pipeline` (add `-- per_row`, `-- results` or
//! `-- duplicates` to run one group). Inputs come from the benchmark generator (`examples/gen.rs`,
//! fixed seed), in memory, so disk speed does not enter. Each stage is
//! measured cumulatively over the same rows (read, then read + map, then
//! read + map + validate), so the cost of a stage is the difference between
//! two lines; `bare_csv` is the `csv` crate alone (`ByteRecord`, no UTF-8
//! check), the floor every other line is compared with. Throughput is in
//! rows, so criterion prints rows/s.
//!
//! These are for finding where time goes; the end-to-end targets are
//! measured by `scripts/bench.sh`.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use notify_import::check::validate::{self, Validation};
use notify_import::input::mapping::Mapping;
use notify_import::input::reader::{CsvReader, Record};
use notify_import::input::{self, InputOptions};
use notify_import::model::customer::Customer;
use notify_import::model::outcome::{Outcome, Status};
use notify_import::output::results::{InputOrder, ResultsWriter};
use notify_import::util::spill;

// The generator is an example binary; its row code is reused as a module
// (its `main` is not called here).
#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod generator;

/// Rows per iteration: enough that per-file setup (header, mapping, buffer
/// allocation) is noise, few enough that an iteration takes milliseconds.
const ROWS: u64 = 20_000;

fn generated(rows: u64) -> Vec<u8> {
    let mut data = Vec::new();
    generator::write_rows(rows, &mut data, 42).expect("writing to memory cannot fail");
    data
}

fn bare_csv(data: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).expect("valid CSV") {
        rows += 1;
    }
    rows
}

/// What the loop does per row, cumulatively.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Read,
    Map,
    Validate,
    /// Also the JSON request body, as the upload plan builds it.
    Json,
}

fn stages(data: &[u8], upto: Stage) -> u64 {
    let mut reader = CsvReader::from_reader(Path::new("bench.csv"), Cursor::new(data.to_vec()))
        .expect("header parses");
    let mapping =
        Mapping::from_headers(Path::new("bench.csv"), reader.headers()).expect("header maps");
    let mut record = Record::default();
    let mut customer = Customer::default();
    let mut checked = Validation::default();
    let mut rows = 0;
    while reader.read(&mut record).expect("valid CSV") {
        if upto >= Stage::Map {
            mapping.customer_into(&record.fields, &mut customer);
        }
        if upto >= Stage::Validate {
            validate::validate_into(&mut customer, &mut checked);
            black_box(checked.is_valid());
        }
        if upto >= Stage::Json {
            black_box(customer.to_json());
        }
        rows += 1;
    }
    black_box(&customer);
    rows
}

/// The whole input path as the tool opens a file: encoding and delimiter
/// detection, decoding, then read + map + validate.
fn opened(data: &std::sync::Arc<[u8]>) -> u64 {
    let mut input = input::open_bytes(
        Path::new("bench.csv"),
        std::sync::Arc::clone(data),
        &InputOptions::default(),
    )
    .expect("file opens");
    let mut record = Record::default();
    let mut customer = Customer::default();
    let mut checked = Validation::default();
    let mut rows = 0;
    while input.reader.read(&mut record).expect("valid CSV") {
        black_box(input.mapping.width_problem(&record.fields));
        input.mapping.customer_into(&record.fields, &mut customer);
        validate::validate_into(&mut customer, &mut checked);
        black_box(checked.is_valid());
        rows += 1;
    }
    rows
}

fn per_row(c: &mut Criterion) {
    let data = generated(ROWS);
    let mut group = c.benchmark_group("per_row");
    group.throughput(Throughput::Elements(ROWS));
    group.bench_function("bare_csv", |b| b.iter(|| bare_csv(black_box(&data))));
    for (name, stage) in [
        ("read", Stage::Read),
        ("read_map", Stage::Map),
        ("read_map_validate", Stage::Validate),
        ("read_map_validate_json", Stage::Json),
    ] {
        group.bench_function(name, |b| b.iter(|| stages(black_box(&data), stage)));
    }
    let utf8: std::sync::Arc<[u8]> = data.clone().into();
    group.bench_function("decode_read_map_validate/utf-8", |b| {
        b.iter(|| opened(&utf8))
    });
    // The same text as a Windows-1252 export, so the transcoder is in the
    // loop. The one character 1252 lacks (the Turkish dotless i) becomes
    // `&#305;`, as encoders write it; the row stays valid.
    let text = String::from_utf8(data).expect("generator writes UTF-8");
    let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let latin: std::sync::Arc<[u8]> = latin.into_owned().into();
    group.bench_function("decode_read_map_validate/windows-1252", |b| {
        b.iter(|| opened(&latin))
    });
    group.finish();
}

fn outcomes(rows: u64) -> Vec<Outcome> {
    (1..=rows)
        .map(|row| Outcome {
            row,
            line: row + 1,
            code: format!("{row:08}"),
            status: Status::Created,
            customer_id: Some(format!("3f0c1a52-7d4e-4b8a-9c1e-{row:012}")),
            http_status: Some(201),
            attempts: 1,
            error: String::new(),
        })
        .collect()
}

fn results(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.results.csv");
    let in_order = outcomes(ROWS);
    // Completion order of an upload with 32 requests in flight: each block
    // of 32 rows arrives reversed, so the writer buffers up to 31 rows.
    let mut shuffled = in_order.clone();
    for block in shuffled.chunks_mut(32) {
        block.reverse();
    }
    let mut group = c.benchmark_group("results");
    group.throughput(Throughput::Elements(ROWS));
    for (name, rows) in [("in_order", &in_order), ("out_of_order_32", &shuffled)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || rows.clone(),
                |rows| {
                    let mut writer = ResultsWriter::create(&path).expect("create");
                    let mut order = InputOrder::default();
                    for outcome in rows {
                        order.push(outcome, |o| writer.write(o)).expect("write");
                    }
                    // Not `finish`: its fsync would measure the disk.
                    // Dropping removes the temporary file.
                    black_box(order.delivered())
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// The shape of the duplicate check's record (`preflight::CodeSeen`): a
/// 128-bit code hash, the row and the line; 32 bytes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct CodeLike(u128, u64, u64);

impl spill::Record for CodeLike {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
        out.extend_from_slice(&self.2.to_le_bytes());
    }

    fn decode(input: &mut impl std::io::BufRead) -> std::io::Result<Option<Self>> {
        let Some(b) = spill::read_array::<32>(input)? else {
            return Ok(None);
        };
        let [lo, hi, row, line] = spill::u64s::<4>(&b);
        Ok(Some(CodeLike(
            u128::from(lo) | u128::from(hi) << 64,
            row,
            line,
        )))
    }
}

/// The duplicate check per row: hash the code, collect, sort, walk the
/// sorted codes. `in_memory` fits the budget (files up to ~130k rows);
/// `spilled` writes runs of 1/8 of the rows to temporary files and merges
/// them, as a million-row file does.
fn duplicates(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let codes: Vec<String> = (0..ROWS)
        .map(|i| format!("{:08}", i * 7919 % ROWS))
        .collect();
    let mut group = c.benchmark_group("duplicates");
    group.throughput(Throughput::Elements(ROWS));
    let budgets = [
        ("in_memory", spill::DEFAULT_BUDGET),
        ("spilled", ROWS as usize * 32 / 8),
    ];
    for (name, budget) in budgets {
        let scratch = spill::Scratch {
            dir: dir.path().to_owned(),
            budget,
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut sorter = spill::Spill::new(&scratch);
                for (row, code) in (1..).zip(&codes) {
                    let hash = xxhash_rust::xxh3::xxh3_128(code.as_bytes());
                    sorter.push(CodeLike(hash, row, row + 1)).expect("push");
                }
                let mut repeats = 0;
                let mut last = None;
                for seen in sorter.sorted().expect("sort") {
                    let seen = seen.expect("read back");
                    repeats += u64::from(last == Some(seen.0));
                    last = Some(seen.0);
                }
                black_box(repeats)
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: these show where time goes, they do not gate anything.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

// By hand rather than `criterion_group!`, whose generated `pub fn` has no
// doc comment and would trip the crate's `missing_docs` lint.
fn main() {
    let mut c = config().configure_from_args();
    per_row(&mut c);
    results(&mut c);
    duplicates(&mut c);
    c.final_summary();
}
