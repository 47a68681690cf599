//! Tests of [`open`](super::open): encoding, delimiter, hazards and mapping
//! together, on whole files as users have them.

use std::path::Path;

use encoding_rs::{UTF_8, UTF_16LE, WINDOWS_1252};
use proptest::prelude::*;

use super::*;
use crate::check::validate::{self, ChangeKind, ChangeTally, Validation};
use crate::model::customer::Customer;

fn opened(data: &[u8]) -> OpenedInput {
    open_bytes(Path::new("t.csv"), data.to_vec(), &InputOptions::default()).unwrap()
}

fn open_err(data: &[u8], options: &InputOptions) -> InputError {
    match open_bytes(Path::new("t.csv"), data.to_vec(), options) {
        Err(e) => e,
        Ok(mut input) => {
            let mut rec = Record::default();
            loop {
                match input.reader.read(&mut rec) {
                    Err(e) => return e,
                    Ok(true) => {}
                    Ok(false) => panic!("no error"),
                }
            }
        }
    }
}

/// Header and (line, fields) of every record.
fn records(input: &mut OpenedInput) -> Vec<(u64, Vec<String>)> {
    let mut rec = Record::default();
    let mut out = Vec::new();
    while input.reader.read(&mut rec).unwrap() {
        out.push((rec.line, rec.fields.iter().map(str::to_string).collect()));
    }
    out
}

fn fields(input: &mut OpenedInput) -> Vec<Vec<String>> {
    records(input).into_iter().map(|(_, f)| f).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A named CSV text and the data rows it must read as.
type Case = (
    &'static str,
    &'static [u8],
    &'static [&'static [&'static str]],
);

/// The csv-spectrum cases (github.com/maxogden/csv-spectrum), inline.
#[test]
fn csv_spectrum() {
    let cases: &[Case] = &[
        (
            "comma_in_quotes",
            b"first,last,address,city,zip\nJohn,Doe,120 any st.,\"Anytown, WW\",08123\n",
            &[&["John", "Doe", "120 any st.", "Anytown, WW", "08123"]],
        ),
        (
            "empty",
            b"a,b,c\n1,\"\",\"\"\n2,3,4\n",
            &[&["1", "", ""], &["2", "3", "4"]],
        ),
        (
            "empty_crlf",
            b"a,b,c\r\n1,\"\",\"\"\r\n2,3,4\r\n",
            &[&["1", "", ""], &["2", "3", "4"]],
        ),
        (
            "escaped_quotes",
            b"a,b\n1,\"ha \"\"ha\"\" ha\"\n3,4\n",
            &[&["1", "ha \"ha\" ha"], &["3", "4"]],
        ),
        (
            "json",
            b"key,val\n1,\"{\"\"type\"\": \"\"Point\"\", \"\"coordinates\"\": [102.0, 0.5]}\"\n",
            &[&["1", "{\"type\": \"Point\", \"coordinates\": [102.0, 0.5]}"]],
        ),
        (
            "newlines",
            b"a,b,c\n1,2,3\n\"Once upon \na time\",5,6\n7,8,9\n",
            &[
                &["1", "2", "3"],
                &["Once upon \na time", "5", "6"],
                &["7", "8", "9"],
            ],
        ),
        (
            "newlines_crlf",
            b"a,b,c\r\n1,2,3\r\n\"Once upon \r\na time\",5,6\r\n7,8,9\r\n",
            &[
                &["1", "2", "3"],
                &["Once upon \r\na time", "5", "6"],
                &["7", "8", "9"],
            ],
        ),
        (
            "quotes_and_newlines",
            b"a,b\n1,\"ha \n\"\"ha\"\" \nha\"\n3,4\n",
            &[&["1", "ha \n\"ha\" \nha"], &["3", "4"]],
        ),
        ("simple", b"a,b,c\n1,2,3\n", &[&["1", "2", "3"]]),
        ("simple_crlf", b"a,b,c\r\n1,2,3\r\n", &[&["1", "2", "3"]]),
        (
            "utf8",
            "a,b,c\n1,2,3\n4,5,ʤ\n".as_bytes(),
            &[&["1", "2", "3"], &["4", "5", "ʤ"]],
        ),
    ];
    for (name, data, expected) in cases {
        // Prefix a code column so the mapping has its required field.
        let text = String::from_utf8(data.to_vec()).unwrap();
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let (header, rest) = text.split_once(eol).unwrap();
        let mut with_code = format!("CustomerCode,{header}{eol}");
        let mut lines = rest.split(eol).peekable();
        let mut in_quotes = false;
        while let Some(line) = lines.next() {
            if line.is_empty() && lines.peek().is_none() {
                break;
            }
            if !in_quotes {
                with_code.push_str("x,");
            }
            with_code.push_str(line);
            with_code.push_str(eol);
            if line.matches('"').count() % 2 == 1 {
                in_quotes = !in_quotes;
            }
        }
        let mut input = opened(with_code.as_bytes());
        assert_eq!(input.info.delimiter.delimiter, b',', "{name}");
        let got: Vec<Vec<String>> = fields(&mut input)
            .into_iter()
            .map(|f| f[1..].to_vec())
            .collect();
        let want: Vec<Vec<String>> = expected.iter().map(|r| strings(r)).collect();
        assert_eq!(got, want, "{name}");
    }
}

const DUTCH_HEADER: &str = "Code;Naam;Adres;Postcode;Plaats;Land;Contactpersoon;Telefoon;Mobiel;E-mail;E-mail facturen;KvK-nummer;Taal;";

fn dutch_text() -> String {
    format!(
        "{DUTCH_HEADER}\r\n\
         1001;Café Noël;Kerkstraat 1;1012ab;Amsterdam;Nederland;Zoë;020 1234567;;a@b.nl;;;Nederlands;\r\n\
         \r\n\
         1002;\"Brüder Müller; GmbH\";Hauptstraße 5;40213;Düsseldorf;Duitsland;Jürgen Weiß;;;;;;;\r\n\
         1003;\"Multi\r\nline\";x;1000;Brussel;België;;;;;;;;\r\n\
         1004;Ann;y;9711 lc;Groningen;NLD;;;;;;;;\r\n"
    )
}

fn check_dutch(mut input: OpenedInput) {
    let m = &input.mapping;
    for field in Field::ALL {
        assert!(m.source(field).is_some(), "{field} unmapped");
    }
    assert!(m.unknown_columns().is_empty(), "{:?}", m.unknown_columns());
    assert_eq!(input.info.delimiter.delimiter, b';');
    let rows = records(&mut input);
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, [2, 4, 5, 7]);
    assert_eq!(rows[0].1[1], "Café Noël");
    assert_eq!(rows[0].1[6], "Zoë");
    assert_eq!(rows[1].1[1], "Brüder Müller; GmbH");
    assert_eq!(rows[1].1[2], "Hauptstraße 5");
    assert_eq!(rows[1].1[6], "Jürgen Weiß");
    assert_eq!(rows[2].1[1], "Multi\r\nline");
    let mut tally = ChangeTally::default();
    let mut customer = Customer::default();
    let mut validation = Validation::default();
    let mut countries = Vec::new();
    for (_, fields) in &rows {
        let rec = csv::StringRecord::from(fields.clone());
        assert!(input.mapping.width_problem(&rec).is_none());
        input.mapping.customer_into(&rec, &mut customer);
        validate::validate_into(&mut customer, &mut validation);
        assert!(validation.is_valid(), "{:?}", validation.problems);
        tally.add(&validation.changes);
        countries.push(customer.get(Field::Country).unwrap().to_string());
    }
    assert_eq!(countries, ["NL", "DE", "BE", "NL"]);
    assert_eq!(tally.count(ChangeKind::CountryConverted), 4);
    assert_eq!(tally.count(ChangeKind::PostcodeFormatted), 2);
}

#[test]
fn dutch_export_in_windows_1252() {
    let bytes = encode(&dutch_text(), "windows-1252");
    let input = opened(&bytes);
    assert_eq!(input.info.encoding.encoding, WINDOWS_1252);
    assert_eq!(
        input.info.encoding.source,
        EncodingSource::DetectedNotUtf8 { line: 2 }
    );
    check_dutch(input);
}

#[test]
fn dutch_export_in_utf8_with_and_without_bom() {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(dutch_text().as_bytes());
    let input = opened(&bom);
    assert_eq!(
        (input.info.encoding.encoding, input.info.encoding.source),
        (UTF_8, EncodingSource::Bom)
    );
    check_dutch(input);
    let input = opened(dutch_text().as_bytes());
    assert_eq!(input.info.encoding.source, EncodingSource::DetectedUtf8);
    check_dutch(input);
}

#[test]
fn dutch_export_in_utf16_with_bom() {
    let mut le = vec![0xFF, 0xFE];
    for u in dutch_text().encode_utf16() {
        le.extend_from_slice(&u.to_le_bytes());
    }
    let input = opened(&le);
    assert_eq!(input.info.encoding.encoding, UTF_16LE);
    check_dutch(input);
}

#[test]
fn wrong_delimiter_is_refused_naming_the_likely_one() {
    let data = dutch_text();
    let options = InputOptions {
        delimiter: Some(b','),
        ..InputOptions::default()
    };
    let err = open_err(data.as_bytes(), &options);
    assert!(
        matches!(err, InputError::WrongDelimiter { likely: b';', .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("--delimiter ';'"), "{text}");
    assert!(text.contains("14 columns"), "{text}");
    // The right override is fine, and says so.
    let options = InputOptions {
        delimiter: Some(b';'),
        ..InputOptions::default()
    };
    let input = open_bytes(Path::new("t.csv"), data.into_bytes(), &options).unwrap();
    assert_eq!(input.info.delimiter.source, DelimiterSource::Override);
}

#[test]
fn tab_and_pipe_files_need_no_flag() {
    for d in ["\t", "|"] {
        let text = format!("Code{d}Naam\n1{d}Ann, B.V.\n");
        let mut input = opened(text.as_bytes());
        assert_eq!(fields(&mut input), [strings(&["1", "Ann, B.V."])]);
    }
}

#[test]
fn unclosed_quote_at_the_end_names_its_line() {
    let data = b"Code;Naam\r\n1;Ann\r\n2;\"Bob\r\n3;Cy\r\n4;Di\r\n";
    let err = open_err(data, &InputOptions::default());
    match &err {
        InputError::UnclosedQuote { line, limit, .. } => assert_eq!((*line, *limit), (3, None)),
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(text.starts_with("t.csv: line 3: a quoted field"), "{text}");
    // In a later field of a record that started on an earlier line.
    let data = b"Code;Naam;Notitie\n1;\"A\nB\";\"open\n2;x;y\n";
    match open_err(data, &InputOptions::default()) {
        InputError::UnclosedQuote { line, .. } => assert_eq!(line, 3),
        other => panic!("unexpected {other:?}"),
    }
    // In the header.
    match open_err(b"Code;\"Naam\n1;2\n", &InputOptions::default()) {
        InputError::UnclosedQuote { line, .. } => assert_eq!(line, 1),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unclosed_quote_is_caught_by_the_record_cap() {
    let mut data = b"Code;Naam\r\n1;Ann\r\n\r\n2;\"Bob\r\n".to_vec();
    for i in 0..200_000 {
        data.extend_from_slice(format!("{i};Customer {i}\r\n").as_bytes());
    }
    let err = open_err(&data, &InputOptions::default());
    match &err {
        InputError::UnclosedQuote { line, limit, .. } => {
            assert_eq!((*line, *limit), (4, Some(DEFAULT_MAX_RECORD_BYTES)));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("--max-record-bytes"), "{err}");
}

#[test]
fn long_records_are_refused_over_the_cap_only() {
    let options = InputOptions {
        max_record_bytes: 10,
        ..InputOptions::default()
    };
    let ok = b"Code;Naam\n1;12345678\n";
    let mut input = open_bytes(Path::new("t.csv"), ok.to_vec(), &options).unwrap();
    assert_eq!(fields(&mut input).len(), 1);
    let long = b"Code;Naam\n1;12345678\n2;123456789\n";
    match open_err(long, &options) {
        InputError::RecordTooLong { line, limit, .. } => assert_eq!((line, limit), (3, 10)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn field_count_mismatch_is_a_row_problem() {
    let mut input = opened(b"Code;Naam\n1;Ann\n2\n3;Bob;x\n4;Cy;\n");
    let rows = fields(&mut input);
    let problems: Vec<Option<String>> = rows
        .iter()
        .map(|f| {
            let rec = csv::StringRecord::from(f.clone());
            input.mapping.width_problem(&rec).map(|p| p.to_string())
        })
        .collect();
    assert_eq!(
        problems,
        [
            None,
            Some("has 1 fields, the header has 2".to_string()),
            Some("has 3 fields, the header has 2".to_string()),
            None,
        ]
    );
}

#[test]
fn empty_records_are_skipped_and_counted() {
    let mut input = opened(b"Code;Naam;\r\n1;Ann;\r\n;;\r\n \r\n2;Bob;\r\n;;;\r\n");
    let rows = records(&mut input);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 5]);
    assert_eq!(input.reader.skipped_empty_records(), 3);
}

#[test]
fn explicit_utf8_refuses_windows_1252_naming_the_line() {
    let bytes = encode(&dutch_text(), "windows-1252");
    let options = InputOptions {
        encoding: Some("utf-8".to_string()),
        ..InputOptions::default()
    };
    match open_err(&bytes, &options) {
        InputError::NotUtf8 { line, .. } => assert_eq!(line, 2),
        other => panic!("unexpected {other:?}"),
    }
    let options = InputOptions {
        encoding: Some("latin1".to_string()),
        ..InputOptions::default()
    };
    let input = open_bytes(Path::new("t.csv"), bytes.to_vec(), &options).unwrap();
    assert_eq!(input.info.encoding.source, EncodingSource::Override);
    check_dutch(input);
}

#[test]
fn mapping_file_with_joins_and_constants() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("afas.csv");
    let map_path = dir.path().join("afas.mapping.toml");
    let (bytes, _, _) = WINDOWS_1252.encode(
        "Relatie;Naam;Straat;Huisnummer;Toev.;Woonplaats;Land\r\n\
         R1;Café;Dorpsstraat;12;a;Ede;B\r\n\
         R2;Bäcker;Hauptstraße;7;;Köln;D\r\n",
    );
    std::fs::write(&csv_path, &bytes).unwrap();
    std::fs::write(
        &map_path,
        "CustomerCode = \"Relatie\"\n\
         Address = [\"Straat\", \"Huisnummer\", \"Toev.\"]\n\
         Language = { value = \"dutch\" }\n",
    )
    .unwrap();
    let options = InputOptions {
        mapping_file: Some(map_path.clone()),
        map: vec![parse_map_arg("City=woonplaats").unwrap()],
        ..InputOptions::default()
    };
    let mut input = open(&csv_path, &options).unwrap();
    let rows = fields(&mut input);
    let mut customers = Vec::new();
    for row in &rows {
        let mut c = input
            .mapping
            .customer(&csv::StringRecord::from(row.clone()));
        assert!(validate::validate(&mut c).is_empty());
        customers.push(c);
    }
    assert_eq!(customers[0].get(Field::Address), Some("Dorpsstraat 12 a"));
    assert_eq!(customers[1].get(Field::Address), Some("Hauptstraße 7"));
    assert_eq!(customers[1].get(Field::Country), Some("DE"));
    assert_eq!(customers[0].get(Field::Language), Some("dutch"));
    assert_eq!(customers[1].get(Field::City), Some("Köln"));
    let described = input.info.describe(&input.mapping);
    assert!(
        described.contains("encoding: windows-1252 (detected"),
        "{described}"
    );
    assert!(
        described.contains(
            "columns #3 \"Straat\" + #4 \"Huisnummer\" + #5 \"Toev.\" joined (from mapping file)"
        ),
        "{described}"
    );
    assert!(
        described.contains("fixed value \"dutch\" (from mapping file)"),
        "{described}"
    );
    assert!(
        described.contains("\"Woonplaats\" (from --map)"),
        "{described}"
    );

    // A column the file lacks is named, with where it was asked for.
    std::fs::write(&map_path, "Address = [\"Straat\", \"Nummer\"]\n").unwrap();
    let err = open(&csv_path, &options).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no column \"Nummer\""), "{text}");
    assert!(text.contains("mapping file"), "{text}");
    // A broken mapping file names itself.
    std::fs::write(&map_path, "Address = [\"Straat\"\n").unwrap();
    let err = open(&csv_path, &options).unwrap_err();
    assert!(err.to_string().contains("afas.mapping.toml"), "{err}");
}

#[test]
fn open_twice_decides_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    let bytes = encode(&dutch_text(), "windows-1252");
    std::fs::write(&path, &bytes).unwrap();
    let mut first = open(&path, &InputOptions::default()).unwrap();
    let mut second = open(&path, &InputOptions::default()).unwrap();
    assert_eq!(first.info, second.info);
    assert_eq!(first.mapping, second.mapping);
    assert_eq!(records(&mut first), records(&mut second));
    let missing = dir.path().join("missing.csv");
    assert!(matches!(
        open(&missing, &InputOptions::default()),
        Err(InputError::Io { .. })
    ));
}

#[test]
fn the_sample_imports_with_no_flags() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/dutch-export.csv");
    let mut input = open(&path, &InputOptions::default()).unwrap();
    assert_eq!(input.info.encoding.encoding, WINDOWS_1252);
    assert_eq!(input.info.delimiter.delimiter, b';');
    assert_eq!(input.mapping.unknown_columns(), ["Notitie"]);
    let mut rec = Record::default();
    let mut customer = Customer::default();
    let mut validation = Validation::default();
    let mut tally = ChangeTally::default();
    let mut invalid = Vec::new();
    let mut rows = 0;
    while input.reader.read(&mut rec).unwrap() {
        rows += 1;
        assert!(
            input.mapping.width_problem(&rec.fields).is_none(),
            "row {}",
            rec.row
        );
        input.mapping.customer_into(&rec.fields, &mut customer);
        validate::validate_into(&mut customer, &mut validation);
        tally.add(&validation.changes);
        if !validation.is_valid() {
            invalid.push((rec.row, rec.line, validate::describe(&validation.problems)));
        }
        if customer.code() == "1003" {
            assert_eq!(customer.get(Field::Name), Some("Brüder Müller GmbH"));
            assert_eq!(customer.get(Field::Address), Some("Hauptstraße 5"));
            assert_eq!(customer.get(Field::Country), Some("DE"));
        }
        if customer.code() == "01006" {
            assert_eq!(customer.get(Field::Phone), Some("040 2512345"));
        }
    }
    assert_eq!(rows, 20);
    let lines: Vec<(u64, u64)> = invalid.iter().map(|i| (i.0, i.1)).collect();
    assert_eq!(lines, [(15, 17), (16, 18), (17, 19)], "{invalid:?}");
    assert!(
        invalid[0].2.contains("\"info@etenendrinken\""),
        "{invalid:?}"
    );
    assert!(invalid[1].2.contains("Name: is required"), "{invalid:?}");
    assert!(invalid[2].2.contains("Mobile: contains 'n'"), "{invalid:?}");
    assert!(tally.count(ChangeKind::CountryConverted) >= 15, "{tally}");
    assert!(tally.count(ChangeKind::PostcodeFormatted) >= 10, "{tally}");
    assert_eq!(tally.count(ChangeKind::EmailDomainLowercased), 1, "{tally}");
    assert_eq!(tally.count(ChangeKind::SpacesCollapsed), 2, "{tally}");

    // The shipped mapping example resolves against it.
    let options = InputOptions {
        mapping_file: Some(path.with_file_name("dutch-export.mapping.toml")),
        ..InputOptions::default()
    };
    let input = open(&path, &options).unwrap();
    let language = input.mapping.source(Field::Language).unwrap();
    assert_eq!(language.source, Source::Constant("dutch".to_string()));
    assert_eq!(input.mapping.unknown_columns(), ["Taal", "Notitie"]);
}

/// Encodes `text` as a file in `encoding` (with a BOM where named).
fn encode(text: &str, encoding: &str) -> Vec<u8> {
    match encoding {
        "utf-8" => text.as_bytes().to_vec(),
        "utf-8-bom" => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        "utf-16le" => {
            let mut out = vec![0xFF, 0xFE];
            text.encode_utf16()
                .for_each(|u| out.extend(u.to_le_bytes()));
            out
        }
        "utf-16be" => {
            let mut out = vec![0xFE, 0xFF];
            text.encode_utf16()
                .for_each(|u| out.extend(u.to_be_bytes()));
            out
        }
        _ => {
            let (bytes, _, unmappable) = WINDOWS_1252.encode(text);
            assert!(!unmappable, "{text:?}");
            bytes.into_owned()
        }
    }
}

const HEADER_NAMES: [&str; 13] = [
    "Klantnummer",
    "Bedrijfsnaam",
    "Adres",
    "Postcode",
    "Woonplaats",
    "Land",
    "Contactpersoon",
    "Telefoon",
    "Mobiel",
    "E-mailadres",
    "Factuur e-mail",
    "KvK",
    "Taal",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any table of strings, written as CSV with any supported delimiter
    /// and encoding, reads back (no flags) to the same customers.
    #[test]
    fn any_table_round_trips(
        delimiter in prop::sample::select(vec![b',', b';', b'\t', b'|']),
        encoding in prop::sample::select(vec!["utf-8", "utf-8-bom", "utf-16le", "utf-16be", "windows-1252"]),
        crlf in any::<bool>(),
        rows in prop::collection::vec(
            prop::collection::vec("[a-zA-Z0-9 ,;|\t\"\n\r'éëüßö-]{0,8}", 13),
            0..12,
        ),
    ) {
        let mut rows = rows;
        for row in &mut rows {
            // A row of only blanks is skipped by design.
            row[0].insert(0, 'C');
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(HEADER_NAMES).unwrap();
        for row in &rows {
            writer.write_record(row).unwrap();
        }
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let bytes = encode(&text, encoding);
        let mut input = open_bytes(Path::new("t.csv"), bytes, &InputOptions::default()).unwrap();
        prop_assert_eq!(input.info.delimiter.delimiter, delimiter);
        prop_assert!(input.mapping.unknown_columns().is_empty());
        let read = fields(&mut input);
        prop_assert_eq!(read.len(), rows.len());
        for (got, want) in read.iter().zip(&rows) {
            let got = input.mapping.customer(&csv::StringRecord::from(got.clone()));
            let mut expected = Customer::default();
            for (field, value) in Field::ALL.into_iter().zip(want) {
                expected.set_str(field, value);
            }
            prop_assert_eq!(got, expected);
        }
    }
}

/// `rows` rows like the sample's, with unique codes, in `encoding`.
fn big_file(rows: usize, encoding: &str) -> Vec<u8> {
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/dutch-export.csv"))
            .unwrap();
    let (text, _, _) = WINDOWS_1252.decode(&sample);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    // Single-line records only, so each can be repeated on its own.
    // Valid rows only: invalid rows are rare in real files, and their
    // messages (formatting, the full e-mail parser) would dominate.
    let invalid = ["1015;", "1016;", "1017;"];
    let body: Vec<&str> = lines
        .filter(|l| l.matches('"').count() == 0 && !invalid.iter().any(|p| l.starts_with(p)))
        .collect();
    let mut out = String::with_capacity(rows * 160);
    out.push_str(header);
    out.push_str("\r\n");
    // "clean": values as validate leaves them, so nothing changes per row.
    let clean = encoding.ends_with("-clean");
    let encoding = encoding.trim_end_matches("-clean");
    let mapping = Mapping::from_headers(
        Path::new("x"),
        &csv::StringRecord::from(header.split(';').collect::<Vec<_>>()),
    )
    .unwrap();
    for i in 0..rows {
        let line = body[i % body.len()];
        let (_, rest) = line.split_once(';').unwrap();
        let line = format!("{i:08};{rest}");
        if clean {
            let fields: Vec<&str> = line.split(';').collect();
            let mut c = mapping.customer(&csv::StringRecord::from(fields.clone()));
            validate::validate(&mut c);
            for field in Field::ALL {
                out.push_str(c.get(field).unwrap_or(""));
                out.push(';');
            }
            out.push_str(";\r\n");
        } else {
            out.push_str(&line);
            out.push_str("\r\n");
        }
    }
    encode(&out, encoding)
}

/// Time of a bare `csv::Reader` walk vs. open + read + map + validate.
/// Run with `cargo test --release --lib -- --ignored --nocapture validate_vs_bare_csv`.
#[test]
#[ignore = "benchmark; run in release"]
fn validate_vs_bare_csv() {
    use std::time::Instant;
    let rows = 1_000_000;
    // "-clean": values already normal, so validation changes nothing.
    for encoding in ["utf-8-clean", "utf-8", "windows-1252"] {
        let data: Arc<[u8]> = big_file(rows, encoding).into();
        let best_of = |f: &dyn Fn() -> usize| {
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    assert_eq!(f(), rows);
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        let bare = best_of(&|| {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(b';')
                .flexible(true)
                .from_reader(&data[..]);
            let mut rec = csv::ByteRecord::new();
            let mut n = 0;
            while r.read_byte_record(&mut rec).unwrap() {
                n += 1;
            }
            n
        });
        let full = best_of(&|| {
            let mut input = open_bytes(
                Path::new("big.csv"),
                Arc::clone(&data),
                &InputOptions::default(),
            )
            .unwrap();
            let mut rec = Record::default();
            let mut customer = Customer::default();
            let mut validation = Validation::default();
            let mut tally = ChangeTally::default();
            let mut n = 0;
            while input.reader.read(&mut rec).unwrap() {
                let _ = input.mapping.width_problem(&rec.fields);
                input.mapping.customer_into(&rec.fields, &mut customer);
                validate::validate_into(&mut customer, &mut validation);
                tally.add(&validation.changes);
                n += 1;
            }
            n
        });
        // Windows-1252 bytes are not UTF-8, so only bytes can be walked bare.
        let bare_strings = best_of(&|| {
            if encoding == "windows-1252" {
                return rows;
            }
            let mut r = csv::ReaderBuilder::new()
                .delimiter(b';')
                .flexible(true)
                .from_reader(&data[..]);
            let mut rec = csv::StringRecord::new();
            let mut n = 0;
            while r.read_record(&mut rec).unwrap() {
                n += 1;
            }
            n
        });
        let stage = |level: u8| {
            best_of(&|| {
                let mut input = open_bytes(
                    Path::new("big.csv"),
                    Arc::clone(&data),
                    &InputOptions::default(),
                )
                .unwrap();
                let mut rec = Record::default();
                let mut customer = Customer::default();
                let mut validation = Validation::default();
                let mut n = 0;
                while input.reader.read(&mut rec).unwrap() {
                    if level >= 1 {
                        input.mapping.customer_into(&rec.fields, &mut customer);
                    }
                    if level >= 2 {
                        validate::validate_into(&mut customer, &mut validation);
                    }
                    n += 1;
                }
                n
            })
        };
        println!(
            "{encoding}: bare csv with StringRecord {bare_strings:?}; open+read {:?}, +map {:?}, +validate {:?}",
            stage(0),
            stage(1),
            stage(2)
        );
        println!(
            "{encoding}: {} MB, bare csv {bare:?}, open+read+map+validate {full:?}, ratio {:.2}",
            data.len() / 1_000_000,
            full.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

/// A fixture of `tests/data/` (each imitates one product's export style).
fn fixture(name: &str, options: &InputOptions) -> Result<OpenedInput, InputError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    open(&path, options)
}

/// The customers of a fixture, mapped (raw values).
fn fixture_customers(input: &mut OpenedInput) -> Vec<Customer> {
    let mut rec = Record::default();
    let mut out = Vec::new();
    while input.reader.read(&mut rec).unwrap() {
        out.push(input.mapping.customer(&rec.fields));
    }
    out
}

/// The fields a fixture maps with no flags, by header text.
fn mapped(input: &OpenedInput) -> Vec<(Field, String)> {
    let headers = input.mapping.headers();
    Field::ALL
        .into_iter()
        .filter_map(|f| {
            let source = input.mapping.source(f)?;
            let names: Vec<&str> = source
                .source
                .columns()
                .into_iter()
                .map(|c| headers[c].as_str())
                .collect();
            Some((f, names.join(" + ")))
        })
        .collect()
}

fn pairs(items: &[(Field, &str)]) -> Vec<(Field, String)> {
    items.iter().map(|(f, s)| (*f, s.to_string())).collect()
}

#[test]
fn german_accounting_export_below_its_format_line() {
    let mut input = fixture("german-accounting-extf.csv", &InputOptions::default()).unwrap();
    assert_eq!(input.info.header.line, 2);
    assert_eq!(input.info.delimiter.delimiter, b';');
    assert_eq!(
        mapped(&input),
        pairs(&[
            (Field::CustomerCode, "Konto"),
            (Field::Name, "Name (Adressattyp Unternehmen)"),
            (Field::Address, "Straße"),
            (Field::Postalcode, "Postleitzahl"),
            (Field::City, "Ort"),
            (Field::Country, "Land"),
            (Field::Phone, "Telefon"),
            (Field::Email, "E-Mail"),
            (Field::Language, "Sprache"),
        ])
    );
    assert_eq!(
        input.mapping.unknown_columns(),
        ["Kurzbezeichnung", "Internet"]
    );
    let customers = fixture_customers(&mut input);
    assert_eq!(customers.len(), 3);
    assert_eq!(customers[0].code(), "10001");
    assert_eq!(customers[0].get(Field::City), Some("Köln"));
    let header = input.info.describe(&input.mapping);
    assert!(
        header.contains("header: line 2; line 1 skipped (not column names)"),
        "{header}"
    );
}

#[test]
fn invoicing_app_export_below_its_title_lines() {
    let mut input = fixture("invoicing-app-clients.csv", &InputOptions::default()).unwrap();
    assert_eq!(input.info.header.line, 4);
    assert_eq!(
        input.info.header.to_string(),
        "line 4; lines 1\u{2013}3 skipped (a title)"
    );
    assert_eq!(
        mapped(&input),
        pairs(&[
            (Field::CustomerCode, "Client ID"),
            (Field::Name, "Organization + First Name + Last Name"),
            (Field::Address, "Address 1"),
            (Field::Postalcode, "ZIP"),
            (Field::City, "City"),
            (Field::Country, "Country"),
            (Field::Contact, "First Name + Last Name"),
            (Field::Phone, "Phone"),
            (Field::Mobile, "Mobile Phone"),
            (Field::Email, "EmailID"),
        ])
    );
    let customers = fixture_customers(&mut input);
    // Name: the organization, else the person (a private customer).
    assert_eq!(customers[0].get(Field::Name), Some("Harbour Supplies Ltd"));
    assert_eq!(customers[1].get(Field::Name), Some("Wendy Darling"));
    assert_eq!(customers[0].get(Field::Contact), Some("James Hook"));
    // Data rows keep their physical lines.
    let mut again = fixture("invoicing-app-clients.csv", &InputOptions::default()).unwrap();
    let lines: Vec<u64> = records(&mut again).iter().map(|r| r.0).collect();
    assert_eq!(lines, [5, 6, 7]);
}

#[test]
fn shop_export_prefers_billing_and_composes_names() {
    let mut input = fixture("shop-billing-addresses.csv", &InputOptions::default()).unwrap();
    assert_eq!(
        mapped(&input),
        pairs(&[
            (Field::CustomerCode, "customer_id"),
            (
                Field::Name,
                "billing_company + billing_first_name + billing_last_name"
            ),
            (Field::Address, "billing_address_1"),
            (Field::Postalcode, "billing_postcode"),
            (Field::City, "billing_city"),
            (Field::Country, "billing_country"),
            (Field::Contact, "billing_first_name + billing_last_name"),
            (Field::Phone, "billing_phone"),
            (Field::Email, "email"),
        ])
    );
    let customers = fixture_customers(&mut input);
    assert_eq!(customers[0].get(Field::Name), Some("Räuber Schätze GmbH"));
    assert_eq!(customers[0].get(Field::Contact), Some("James Hook"));
    assert_eq!(customers[1].get(Field::Name), Some("Tinker Bell"));
    assert_eq!(customers[2].get(Field::City), Some("Lyon"));
}

#[test]
fn erp_labels_with_technical_names_and_required_markers() {
    let input = fixture("erp-labels-technical.csv", &InputOptions::default()).unwrap();
    assert_eq!(
        mapped(&input),
        pairs(&[
            (Field::CustomerCode, "CustomerCode (s.code_client)"),
            (Field::Name, "Company (s.nom)"),
            (Field::Address, "Street (s.adresse)"),
            (Field::Postalcode, "Zipcode*"),
            (Field::City, "Town (s.ville)"),
            (Field::Country, "Country (s.pays)"),
            (Field::Phone, "Phone (s.tel)"),
            (Field::Email, "Email (s.email)"),
            (Field::Language, "Language (s.langue)"),
        ])
    );
    assert_eq!(input.mapping.unknown_columns(), ["VAT (s.tva)"]);
}

#[test]
fn duplicate_columns_prefer_the_one_with_values_and_say_so() {
    let mut input = fixture("crm-duplicate-phone.csv", &InputOptions::default()).unwrap();
    assert_eq!(input.mapping.column(Field::Phone), Some(6));
    let header = input.info.describe(&input.mapping);
    assert!(
        header.contains("Phone: column #7 \"Phone\" chosen over #4 (the others are empty"),
        "{header}"
    );
    assert_eq!(
        fixture_customers(&mut input)[0].get(Field::Phone),
        Some("075-1234567")
    );
    // `#N` chooses either one, on the command line and in a mapping file.
    let options = InputOptions {
        map: vec![(Field::Phone, "#4".into())],
        ..InputOptions::default()
    };
    let input = fixture("crm-duplicate-phone.csv", &options).unwrap();
    assert_eq!(input.mapping.column(Field::Phone), Some(3));
    let options = InputOptions {
        map: vec![(Field::Phone, "#9".into())],
        ..InputOptions::default()
    };
    let err = fixture("crm-duplicate-phone.csv", &options).unwrap_err();
    assert!(err.to_string().contains("no column #9"), "{err}");
    assert!(err.to_string().contains("has 8 columns"), "{err}");
    // Both filled: refused, naming both positions.
    let both = b"Code,Phone,Phone\n1,020-1234567,06-12345678\n";
    let err = open_err(both, &InputOptions::default());
    let text = err.to_string();
    assert!(text.contains("--map Phone=#2"), "{text}");
    assert!(text.contains("#3"), "{text}");
    // The mapping file written for the file names the duplicates by position.
    let input = fixture("crm-duplicate-phone.csv", &InputOptions::default()).unwrap();
    let text = input.mapping.describe();
    assert!(text.contains("Phone = \"#7\""), "{text}");
}

#[test]
fn excel_sep_line_sets_the_delimiter_with_or_without_bom() {
    for name in ["excel-sep-line.csv", "excel-sep-line-bom.csv"] {
        let mut input = fixture(name, &InputOptions::default()).unwrap();
        assert_eq!(
            input.info.delimiter.source,
            DelimiterSource::SepLine,
            "{name}"
        );
        assert_eq!(input.info.header.line, 2, "{name}");
        assert_eq!(input.mapping.column(Field::CustomerCode), Some(0), "{name}");
        let customers = fixture_customers(&mut input);
        assert_eq!(customers.len(), 2, "{name}");
        assert_eq!(customers[1].get(Field::Name), Some("Café Het Hoekje"));
    }
}

#[test]
fn header_line_option_forces_the_header() {
    let data = b"Report\nCode,Naam\n1,A\n";
    let options = InputOptions {
        header_line: Some(2),
        ..InputOptions::default()
    };
    let mut input = open_bytes(Path::new("t.csv"), data.to_vec(), &options).unwrap();
    assert!(input.info.header.forced);
    assert_eq!(fields(&mut input), [strings(&["1", "A"])]);
    let options = InputOptions {
        header_line: Some(9),
        ..InputOptions::default()
    };
    let err = open_err(data, &options);
    assert!(err.to_string().contains("--header-line 9"), "{err}");
}

#[test]
fn no_code_column_names_the_candidates() {
    let data = b"Kennung,Firma,Ort\nA1,X,Ede\nA2,X,Ede\n";
    let err = open_err(data, &InputOptions::default());
    let text = err.to_string();
    assert!(text.contains("#1 \"Kennung\""), "{text}");
    assert!(!text.contains("#2 \"Firma\""), "{text}");
    assert!(text.contains("notify-import mapping"), "{text}");
}

#[test]
fn a_value_in_a_column_set_aside_as_empty_is_a_row_problem() {
    // The second Phone is empty in the previewed rows, then filled: that
    // row says so instead of losing the value.
    let mut text = String::from("Code,Phone,Phone\n");
    for i in 0..5000 {
        text.push_str(&format!("{i},020-1234567,\n"));
    }
    text.push_str("9999,020-1234567,06-12345678\n");
    let mut input = opened(text.as_bytes());
    assert_eq!(input.mapping.column(Field::Phone), Some(1));
    let mut rec = Record::default();
    let mut problems = Vec::new();
    while input.reader.read(&mut rec).unwrap() {
        if let Some(p) = input.mapping.set_aside_problem(&rec.fields) {
            problems.push((rec.line, p.to_string()));
        }
    }
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, 5002);
    assert!(problems[0].1.contains("--map Phone=#3"), "{problems:?}");
}

#[test]
fn an_erp_record_id_is_never_the_customer_code() {
    let data = b"\"id\",\"Reference\",\"Name\",\"City\"\n\"__export__.res_partner_42_ab12\",\"K-1\",\"A\",\"Ede\"\n";
    let input = opened(data);
    assert_eq!(input.mapping.column(Field::CustomerCode), Some(1));
    let data = b"\"id\",\"Name\",\"City\",\"Email\"\n\"__export__.res_partner_42_ab12\",\"A\",\"Ede\",\"a@b.nl\"\n";
    let err = open_err(data, &InputOptions::default());
    assert!(matches!(err, InputError::NoCustomerCode { .. }), "{err}");
    let input = open_for_mapping_bytes(data);
    let header = input.info.describe(&input.mapping);
    assert!(header.contains("record ids"), "{header}");
}

fn open_for_mapping_bytes(data: &[u8]) -> OpenedInput {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, data).unwrap();
    open_for_mapping(&path, &InputOptions::default()).unwrap()
}
