//! Generates a large, realistic, valid customer file for benchmarks.
//!
//! `cargo run --release --example gen -- ROWS OUT.csv [--seed N]` writes ROWS
//! data rows (plus the canonical header) to OUT.csv (`-` for stdout). The
//! output depends only on ROWS and the seed (default 42), so two machines
//! benchmark the same bytes; 1 000 000 rows (~150 MB) take about a second in
//! release. Generated files are inputs, never fixtures: do not commit them.
//!
//! Rows look like a Dutch accounting export: names with diacritics
//! (`Noëlle`, `Çelik`), company names that need quoting because they hold a
//! comma or a quote, phone numbers and KvK numbers with leading zeros,
//! optional mobile and invoice e-mail, a few Belgian and German addresses.
//! Every row is valid and every CustomerCode unique, so upload measurements
//! are not skewed by rows that are never sent; values are already in their
//! normal form, as a well-kept export is.
//!
//! No dependencies: a xorshift64* generator, not `rand`, so the output can
//! never change with a crate update.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

const HEADER: &str = "CustomerCode,Name,Address,Postalcode,City,Country,Contact,\
Phone,Mobile,Email,InvoiceEmail,RegistrationNumber,Language";

const FIRST: &[&str] = &[
    "Daan", "Sem", "Lucas", "Noëlle", "Zoë", "Anaïs", "Chloé", "Renée", "Maël", "Inès", "Thijs",
    "Sanne", "Femke", "Bram", "Jörg", "Hélène", "Joëlle", "Sören", "Ruud", "Marieke", "Ilse",
    "Gijs", "Fleur", "Léon", "Eline", "Jeroen", "Mirjam", "Kees", "Annelies", "Björn", "Emre",
    "Fatma",
];

const LAST: &[&str] = &[
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Dijk",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "van der Meer",
    "Kuipers",
    "Çelik",
    "Yılmaz",
    "Öztürk",
    "van 't Hof",
    "Schröder",
    "Müller",
    "Lefèvre",
    "D'Hondt",
    "Vermeulen",
    "Wijnands",
    "IJzerman",
];

/// ASCII forms of `LAST`, for e-mail addresses and domains (same order).
const LAST_ASCII: &[&str] = &[
    "devries",
    "jansen",
    "vandenberg",
    "bakker",
    "visser",
    "smit",
    "meijer",
    "deboer",
    "mulder",
    "degroot",
    "bos",
    "vos",
    "peters",
    "hendriks",
    "vandijk",
    "dekker",
    "brouwer",
    "dewit",
    "dijkstra",
    "vandermeer",
    "kuipers",
    "celik",
    "yilmaz",
    "ozturk",
    "vanthof",
    "schroder",
    "muller",
    "lefevre",
    "dhondt",
    "vermeulen",
    "wijnands",
    "ijzerman",
];

const TRADE: &[&str] = &[
    "Bakkerij",
    "Installatietechniek",
    "Schildersbedrijf",
    "Hoveniers",
    "Loodgieters",
    "Administratiekantoor",
    "Brasserie",
    "Café",
    "Fietsenmaker",
    "Bouwbedrijf",
    "Tandartspraktijk",
    "Kapsalon",
];

const STREET: &[&str] = &[
    "Kerkstraat",
    "Dorpsstraat",
    "Hoofdstraat",
    "Molenweg",
    "Stationsweg",
    "Schoolstraat",
    "Julianastraat",
    "Beatrixlaan",
    "Wilhelminastraat",
    "Oudegracht",
    "Nieuwstraat",
    "Prins Hendrikkade",
    "Rue de l'Église",
    "Brinklaan",
    "Coöperatieweg",
    "Bèthlehemplein",
];

const CITY_NL: &[&str] = &[
    "Amsterdam",
    "Rotterdam",
    "'s-Hertogenbosch",
    "Den Haag",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Leeuwarden",
    "Zwolle",
    "Maastricht",
    "Enschede",
    "Haarlem",
];

const CITY_BE: &[&str] = &["Liège", "Brussel", "Gent", "Antwerpen"];
const CITY_DE: &[&str] = &["Köln", "Düsseldorf", "Münster", "Aachen"];
const LANGUAGE: &[&str] = &["dutch", "dutch", "dutch", "english", "french", "german"];

/// xorshift64* (Vigna): tiny, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for test data (n is tiny next to 2^64).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn digits(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push(char::from(b'0' + (self.next() % 10) as u8));
        }
    }
}

/// Appends `value` as one CSV cell, quoted only when it must be.
fn cell(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// One data row (without line end) for data row `row` (1-based).
fn row(rng: &mut Rng, row: u64, line: &mut String, scratch: &mut String) {
    line.clear();
    // Codes keep a leading zero, as codes exported from Exact do.
    let _ = write!(line, "{row:08},");

    let last = rng.below(LAST.len());
    let (surname, ascii) = (LAST[last], LAST_ASCII[last]);
    let first = rng.pick(FIRST);
    scratch.clear();
    match rng.below(10) {
        // "Jansen & Zonen, Installatietechniek" must be quoted.
        0 | 1 => {
            let _ = write!(scratch, "{surname} & Zonen, {}", rng.pick(TRADE));
        }
        // A quote inside a quoted cell.
        2 => {
            let _ = write!(scratch, "{} \"De {}\" B.V.", rng.pick(TRADE), surname);
        }
        3..=5 => {
            let _ = write!(scratch, "{} {surname}", rng.pick(TRADE));
        }
        _ => {
            let _ = write!(scratch, "{surname} B.V.");
        }
    }
    cell(line, scratch);
    line.push(',');

    scratch.clear();
    let _ = write!(scratch, "{} {}", rng.pick(STREET), 1 + rng.below(250));
    if rng.percent(10) {
        scratch.push_str(["a", "-2", " bis", "B"][rng.below(4)]);
    }
    cell(line, scratch);
    line.push(',');

    let country = match rng.below(20) {
        0 => "BE",
        1 => "DE",
        _ => "NL",
    };
    match country {
        "NL" => {
            line.push(char::from(b'1' + rng.below(9) as u8));
            rng.digits(line, 3);
            line.push(' ');
            line.push(char::from(b'A' + rng.below(26) as u8));
            line.push(char::from(b'A' + rng.below(26) as u8));
            line.push(',');
            line.push_str(rng.pick(CITY_NL));
        }
        "BE" => {
            line.push(char::from(b'1' + rng.below(9) as u8));
            rng.digits(line, 3);
            line.push(',');
            line.push_str(rng.pick(CITY_BE));
        }
        _ => {
            // German postcodes may start with 0 (Dresden 01067).
            rng.digits(line, 5);
            line.push(',');
            line.push_str(rng.pick(CITY_DE));
        }
    }
    let _ = write!(line, ",{country},{first} {surname},");

    // Phone: the national 0 must survive.
    match rng.below(4) {
        0 => {
            line.push_str("+31 ");
            rng.digits(line, 2);
            line.push(' ');
            rng.digits(line, 7);
        }
        1 => {
            line.push_str("020-");
            rng.digits(line, 7);
        }
        _ => {
            line.push('0');
            rng.digits(line, 9);
        }
    }
    line.push(',');
    if rng.percent(60) {
        line.push_str("06");
        rng.digits(line, 8);
    }
    line.push(',');

    let mailbox: String = first
        .chars()
        .filter_map(|c| match c {
            'ë' | 'é' | 'è' => Some('e'),
            'ï' => Some('i'),
            'ö' => Some('o'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let _ = write!(line, "{mailbox}.{ascii}@{ascii}.nl,");
    if rng.percent(40) {
        let _ = write!(line, "facturen@{ascii}.nl");
    }
    line.push(',');
    // KvK numbers are 8 digits and often start with 0.
    rng.digits(line, 8);
    line.push(',');
    line.push_str(rng.pick(LANGUAGE));
}

/// Writes the header and `rows` data rows made from `seed` to `out`;
/// returns the bytes of the data rows. Also used by `benches/pipeline.rs`.
pub fn write_rows(rows: u64, out: &mut dyn Write, seed: u64) -> io::Result<u64> {
    // A zero state would stay zero forever.
    let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut bytes = 0u64;
    let (mut line, mut scratch) = (String::new(), String::new());
    writeln!(out, "{HEADER}")?;
    for n in 1..=rows {
        row(&mut rng, n, &mut line, &mut scratch);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(bytes)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || {
        eprintln!("usage: gen ROWS OUT.csv|- [--seed N]");
        ExitCode::from(2)
    };
    let (Some(rows), Some(path)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let Ok(rows) = rows.replace('_', "").parse::<u64>() else {
        return usage();
    };
    let seed = match args.get(2).map(String::as_str) {
        None => 42,
        Some("--seed") => match args.get(3).and_then(|s| s.parse().ok()) {
            Some(seed) => seed,
            None => return usage(),
        },
        Some(_) => return usage(),
    };
    let result = if path == "-" {
        write_rows(rows, &mut BufWriter::new(io::stdout().lock()), seed)
    } else {
        std::fs::File::create(path)
            .and_then(|f| write_rows(rows, &mut BufWriter::with_capacity(1 << 16, f), seed))
    };
    match result {
        Ok(bytes) => {
            eprintln!(
                "gen: {rows} rows, {:.1} bytes/row, seed {seed} -> {path}",
                bytes as f64 / rows.max(1) as f64
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
