//! Real-world input end to end: a Windows-1252 `;` CRLF export, wrong
//! delimiters and broken quotes refused, mapping files, the errors file
//! round trip and the template.

use std::path::PathBuf;

use notify_import::sandbox::{Faults, StoredCustomer};

use crate::harness::*;

const DUTCH_EXPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/dutch-export.csv");
const DUTCH_MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/samples/dutch-export.mapping.toml"
);
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The sample as exported (Windows-1252, `;`, CRLF, no BOM) under `name`.
fn dutch_export(s: &Scratch, name: &str) -> PathBuf {
    let path = s.path(name);
    std::fs::copy(DUTCH_EXPORT, &path).unwrap();
    path
}

/// The same export saved as "CSV UTF-8" by Excel: UTF-8 with a BOM.
fn dutch_export_utf8_bom(s: &Scratch, name: &str) -> PathBuf {
    let raw = std::fs::read(DUTCH_EXPORT).unwrap();
    let (text, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&raw);
    assert!(!had_errors);
    let mut bytes = BOM.to_vec();
    bytes.extend_from_slice(text.as_bytes());
    let path = s.path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn field(c: &StoredCustomer, f: fn(&StoredCustomer) -> &Option<String>) -> &str {
    f(c).as_deref().unwrap_or("")
}

/// The three rows of the sample that break a rule, as `(row, line, code)`.
const DUTCH_INVALID: [(u64, u64, &str); 3] = [(15, 17, "1015"), (16, 18, "1016"), (17, 19, "1017")];

#[test]
fn a_windows_1252_semicolon_crlf_export_imports_with_no_flags_with_and_without_bom() {
    let s = Scratch::new();
    for input in [
        dutch_export(&s, "export.csv"),
        dutch_export_utf8_bom(&s, "export-utf8.csv"),
    ] {
        let sb = sandbox();
        let out = import(&sb, &input, &[]);
        assert_exit(&out, 1);

        let results_path = latest_run(&input).join("results.csv");
        let rows = assert_universal(&results_path, 20, &sb);
        // Row 10 has a quoted note over two lines: later rows start one
        // line further down.
        for r in &rows {
            let want = if r.row <= 10 { r.row + 1 } else { r.row + 2 };
            assert_eq!(r.line, want, "row {}", r.row);
        }
        let invalid: Vec<(u64, u64, &str)> = rows
            .iter()
            .filter(|r| r.status == "invalid")
            .map(|r| (r.row, r.line, r.customer_code.as_str()))
            .collect();
        assert_eq!(invalid, DUTCH_INVALID, "{}", input.display());

        let got = by_code(&sb);
        assert_eq!(got.len(), 17);
        let name = |code: &str| field(&got[code], |c| &c.name).to_owned();
        assert_eq!(name("1002"), "Café Rosé");
        assert_eq!(name("1003"), "Brüder Müller GmbH");
        assert_eq!(name("1004"), "Boulangerie Noël");
        assert_eq!(name("1008"), "Tandartspraktijk Öztürk");
        assert_eq!(field(&got["1003"], |c| &c.address), "Hauptstraße 5");
        assert_eq!(field(&got["1003"], |c| &c.city), "Düsseldorf");
        assert_eq!(field(&got["1004"], |c| &c.contact), "Zoë Lefèvre");
        assert_eq!(field(&got["1002"], |c| &c.contact), "José Martínez");
        // Spelled-out and three-letter countries become ISO codes.
        for (code, country) in [
            ("1001", "NL"),
            ("1002", "NL"),
            ("1003", "DE"),
            ("1004", "BE"),
            ("1009", "BE"),
            ("1020", "DE"),
        ] {
            assert_eq!(field(&got[code], |c| &c.country), country, "{code}");
        }
        // Dutch postcodes formatted; foreign ones left alone.
        for (code, postcode) in [
            ("1001", "1012 AB"),
            ("1002", "3511 NR"),
            ("01006", "5651 GK"),
            ("1003", "40213"),
        ] {
            assert_eq!(field(&got[code], |c| &c.postalcode), postcode, "{code}");
        }
        // Codes and phones stay text: leading zeros kept.
        assert!(got.contains_key("01006"), "{:?}", got.keys());
        assert_eq!(field(&got["1018"], |c| &c.phone), "020 5201234");
    }
}

#[test]
fn the_wrong_delimiter_is_refused_before_anything_is_sent() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = dutch_export(&s, "export.csv");
    let out = import(&sb, &input, &["--delimiter", ","]);
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, 0);
    assert!(!s.path("export.runs/latest/results.csv").exists());
    assert!(!s.path("export.runs/latest/errors.csv").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--delimiter ';'"), "{stderr}");
}

#[test]
fn an_unclosed_quote_is_refused_naming_the_line_it_opens_on() {
    let s = Scratch::new();
    let sb = sandbox();
    // A quoted line break (lines 2-3) before the broken quote on line 5.
    let input = s.file(
        "in.csv",
        "CustomerCode;Name;Address\r\n\
         A1;One;\"Kerkstraat 1\r\nachterom\"\r\n\
         A2;Two;Dorpsstraat 2\r\n\
         A3;\"Three;Markt 3\r\n\
         A4;Four;Plein 4\r\n",
    );
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    assert_eq!(sb.stats().requests, 0);
    assert!(!s.path("in.runs/latest/results.csv").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 5:") && stderr.contains("closing quote"),
        "{stderr}"
    );
}

#[test]
fn a_mapping_file_joins_columns_and_sets_constants() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.file(
        "afas.csv",
        "Klantnr;Bedrijf;Straat;Huisnummer;Toevoeging;Postcode;Woonplaats\r\n\
         K1;Smit Installatie;Kerkstraat;12;a;1012ab;Amsterdam\r\n\
         K2;Bakker De Korf;Dorpsstraat;7;;7316 BX;Apeldoorn\r\n",
    );
    let mapping = s.file(
        "afas.mapping.toml",
        "CustomerCode = \"Klantnr\"\n\
         Name = \"Bedrijf\"\n\
         Address = [\"Straat\", \"Huisnummer\", \"Toevoeging\"]\n\
         Country = { value = \"NL\" }\n\
         Language = { value = \"dutch\" }\n",
    );
    let out = import(&sb, &input, &["--mapping", mapping.to_str().unwrap()]);
    assert_exit(&out, 0);
    let got = by_code(&sb);
    assert_eq!(got.len(), 2);
    assert_eq!(field(&got["K1"], |c| &c.address), "Kerkstraat 12 a");
    assert_eq!(field(&got["K2"], |c| &c.address), "Dorpsstraat 7");
    assert_eq!(field(&got["K1"], |c| &c.postalcode), "1012 AB");
    assert_eq!(field(&got["K2"], |c| &c.city), "Apeldoorn");
    for c in got.values() {
        assert_eq!(field(c, |c| &c.country), "NL");
        assert_eq!(field(c, |c| &c.language), "dutch");
    }
}

#[test]
fn the_sample_mapping_file_sends_one_fixed_language() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = dutch_export(&s, "export.csv");
    let out = import(&sb, &input, &["--mapping", DUTCH_MAPPING]);
    assert_exit(&out, 1);
    let got = by_code(&sb);
    assert_eq!(got.len(), 17);
    assert!(got.values().all(|c| field(c, |c| &c.language) == "dutch"));
}

#[test]
fn the_mapping_command_prints_a_mapping_file_that_reads_back() {
    let s = Scratch::new();
    let input = dutch_export(&s, "export.csv");
    let out = notify_import().arg("mapping").arg(&input).output().unwrap();
    assert_exit(&out, 0);
    let mapping = s.path("export.mapping.toml");
    std::fs::write(&mapping, &out.stdout).unwrap();
    let out = validate(&input, &["--mapping", mapping.to_str().unwrap()]);
    assert_exit(&out, 1);
    let rows = results(&s.path("export.runs/latest/results.csv"));
    let invalid: Vec<u64> = rows
        .iter()
        .filter(|r| r.status == "invalid")
        .map(|r| r.row)
        .collect();
    assert_eq!(invalid, [15, 16, 17]);
}

/// Replaces `from` by `to` in the text, which must contain it.
#[track_caller]
fn fix(text: &mut String, from: &str, to: &str) {
    assert!(text.contains(from), "{from:?} not in:\n{text}");
    *text = text.replacen(from, to, 1);
}

#[test]
fn the_errors_file_imports_cleanly_once_its_rows_are_fixed() {
    let s = Scratch::new();
    // 1005 passes every local rule but the server rejects it this time.
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["1005".into()],
        ..Faults::default()
    });
    let input = dutch_export(&s, "export.csv");
    assert_exit(&import(&sb, &input, &[]), 1);
    assert_eq!(sb.customers().len(), 16);

    let errors = s.path("export.runs/latest/errors.csv");
    let bytes = std::fs::read(&errors).unwrap();
    assert!(bytes.starts_with(BOM), "UTF-8 with a byte-order mark");
    let mut text = String::from_utf8(bytes[BOM.len()..].to_vec()).unwrap();
    let original_header = std::fs::read(DUTCH_EXPORT).unwrap();
    let original_header = String::from_utf8_lossy(&original_header);
    // The export ends every line with `;`: that empty last cell is not
    // copied, so `error` sits right after the last named column.
    let original_header = original_header
        .lines()
        .next()
        .unwrap()
        .trim_end()
        .trim_end_matches(';');
    assert_eq!(
        text.lines().next().unwrap(),
        format!("{original_header};error"),
        "the input's header and delimiter, plus error"
    );
    let mut errors_csv = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let listed: Vec<(String, String)> = errors_csv
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[r.len() - 1].to_owned())
        })
        .collect();
    let codes: Vec<&str> = listed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["1005", "1015", "1016", "1017"]);
    assert!(listed[0].1.contains("rejected"), "{:?}", listed[0]);
    assert!(listed[2].1.contains("Name"), "{:?}", listed[2]);
    // Original values, not the normalized ones: the user fixes what they wrote.
    assert!(text.contains(";Dorpsstraat  7;7316bx;"), "{text}");

    // What a user would do in an editor: fix the flagged cells, save.
    fix(&mut text, "info@etenendrinken;", "info@etenendrinken.nl;");
    fix(&mut text, "1016;;", "1016;Vishandel Arnhem;");
    fix(&mut text, ";n.v.t.;", ";;");
    let mut fixed = BOM.to_vec();
    fixed.extend_from_slice(text.as_bytes());
    std::fs::write(&errors, fixed).unwrap();
    sb.set_faults(Faults::default());

    let out = import(
        &sb,
        &errors,
        &["--results", s.path("retry.results.csv").to_str().unwrap()],
    );
    assert_exit(&out, 0);
    let rows = results(&s.path("retry.results.csv"));
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.status == "created"), "{rows:?}");
    let got = by_code(&sb);
    assert_eq!(got.len(), 20);
    assert_eq!(field(&got["1016"], |c| &c.name), "Vishandel Arnhem");
    assert_eq!(
        field(&got["1005"], |c| &c.name),
        "Coöperatie Eendracht U.A."
    );
    assert_eq!(field(&got["1005"], |c| &c.postalcode), "7316 BX");
    assert_eq!(field(&got["1015"], |c| &c.email), "info@etenendrinken.nl");
    assert!(
        !latest_run(&errors).join("errors.csv").exists(),
        "nothing left"
    );
    assert_eq!(sb.stats().duplicate_create_attempts, 0);
}

#[test]
fn formula_looking_values_are_neutralized_in_the_errors_file_and_reimport_exactly() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        &format!("{HEADER}\nC1,,,,,NL,,+31 20 123 4567,-5,,,,\n"),
    );
    let out = validate(&input, &[]);
    assert_exit(&out, 1);
    let errors = s.path("in.runs/latest/errors.csv");
    let text = std::fs::read_to_string(&errors).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("C1,,,,,NL,,'+31 20 123 4567,'-5,,,,,"),
        "{row}"
    );

    // Fix the row (give it a name and a real mobile) and import the errors file.
    let fixed = text.replacen(
        "C1,,,,,NL,,'+31 20 123 4567,'-5",
        "C1,Fixed B.V.,,,,NL,,'+31 20 123 4567,'-0612345678",
        1,
    );
    std::fs::write(&errors, fixed).unwrap();
    let sb = sandbox();
    let out = import(
        &sb,
        &errors,
        &["--results", s.path("again.csv").to_str().unwrap()],
    );
    assert_exit(&out, 0);
    let stored = sb.customers();
    assert_eq!(
        stored[0].phone.as_deref(),
        Some("+31 20 123 4567"),
        "exact value, no apostrophe"
    );
    assert_eq!(stored[0].mobile.as_deref(), Some("-0612345678"));
}

#[test]
fn an_edited_errors_file_is_never_replaced_and_errors_goes_where_asked() {
    let s = Scratch::new();
    let input = s.file("in.csv", &format!("{HEADER}\nC1,,,,,,,,,,,,\n"));
    let validate = |extra: &[&str]| {
        notify_import()
            .arg("validate")
            .arg(&input)
            .args(extra)
            .output()
            .unwrap()
    };
    assert_exit(&validate(&[]), 1);
    let errors = latest_run(&input).join("errors.csv");
    std::fs::write(&errors, "mine").unwrap();
    // Later runs get folders of their own, whatever the flags.
    for flags in [&[][..], &["--overwrite-outputs"], &["--force"]] {
        assert_exit(&validate(flags), 1);
    }
    assert_eq!(std::fs::read_to_string(&errors).unwrap(), "mine");

    // A file the user names is refused when it exists...
    let custom = s.file("fix-me.csv", "being fixed");
    let out = validate(&["--errors", custom.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read_to_string(&custom).unwrap(), "being fixed");
    // ...unless the user says it may be replaced.
    let out = validate(&["--overwrite-outputs", "--errors", custom.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert!(
        std::fs::read_to_string(&custom)
            .unwrap()
            .contains("Name: is required")
    );
    assert_eq!(std::fs::read_to_string(&errors).unwrap(), "mine");
}

#[test]
fn no_errors_file_when_every_row_is_imported() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 3);
    assert_exit(&import(&sb, &input, &[]), 0);
    assert!(!s.path("in.runs/latest/errors.csv").exists());
}

#[test]
fn the_template_validates_cleanly_and_is_not_overwritten() {
    let s = Scratch::new();
    let path = s.path("template.csv");
    let template = |extra: &[&str]| {
        notify_import()
            .arg("template")
            .arg(&path)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = template(&["--delimiter", ";"]);
    assert_exit(&out, 0);
    // It says what it wrote and the command to run next.
    let told = stderr(&out);
    assert!(
        told.starts_with(&format!(
            "wrote {}: an example customer on line 1",
            path.display()
        )) && told.trim_end().ends_with(&format!(
            "then check them: notify-import validate {}",
            path.display()
        )),
        "{told}"
    );
    // The example is above the header: never a row, valid or not.
    let out = validate(&path, &[]);
    assert_exit(&out, 0);
    assert!(results(&s.path("template.runs/latest/results.csv")).is_empty());
    // The user's first customer, on line 3, is the only row.
    let mut text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("Language\r\n"), "{text:?}");
    text.push_str("K1;Mijn Klant B.V.;;;;;;;;;;;\r\n");
    std::fs::write(&path, text).unwrap();
    assert_exit(&validate(&path, &[]), 0);
    let rows = results(&s.path("template.runs/latest/results.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].line, rows[0].customer_code.as_str()), (3, "K1"));
    assert_eq!(rows[0].status, "valid");

    std::fs::write(&path, "mine").unwrap();
    assert_exit(&template(&[]), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    assert_exit(&template(&["--force"]), 0);

    let out = notify_import().arg("template").output().unwrap();
    assert_exit(&out, 0);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        stdout.starts_with("Example above the header (never imported): 10001,")
            && stdout.ends_with(&format!("\n{HEADER}\n")),
        "{stdout}"
    );
    assert!(
        stderr(&out).is_empty(),
        "standard output holds the template alone"
    );
}

/// A fixture of `tests/data/` copied to the scratch directory.
fn data(s: &Scratch, name: &str) -> PathBuf {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let to = s.path(name);
    std::fs::copy(from, &to).unwrap();
    to
}

#[test]
fn a_shifted_row_under_a_trailing_semicolon_is_invalid_and_its_errors_file_round_trips() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = data(&s, "dutch-trailing-semicolon.csv");
    let (results_path, errors) = (s.path("out.results.csv"), s.path("out.errors.csv"));
    let out = import(
        &sb,
        &input,
        &[
            "--results",
            results_path.to_str().unwrap(),
            "--errors",
            errors.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 1);
    let rows = results(&results_path);
    let statuses: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.customer_code.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("1001", "created"),
            ("1002", "invalid"),
            ("1003", "created")
        ]
    );
    // Only the width: no field message caused by the shift.
    assert_eq!(rows[1].error, "has 7 fields, the header has 6");
    let got = by_code(&sb);
    assert!(!got.contains_key("1002"), "the shifted row was sent");
    assert_eq!(got.len(), 2);

    // The errors file has `error` right after the data columns; validated
    // unchanged, its row is still the same one problem and nothing else.
    let text = std::fs::read_to_string(&errors).unwrap();
    assert!(
        text.starts_with("\u{feff}Code;Naam;Plaats;KvK-nummer;Taal;error\r\n"),
        "{text}"
    );
    let again = s.path("again.results.csv");
    let out = validate(&errors, &["--results", again.to_str().unwrap()]);
    assert_exit(&out, 1);
    let rows = results(&again);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].error, "has 7 fields, the header has 6");
}

/// Imports `name` with no flags (results and errors beside it) and returns
/// the stored customers by code, checking the exit code and row count.
fn import_fixture(s: &Scratch, name: &str, rows: usize) -> BTreeMapOf {
    let sb = sandbox();
    let input = data(s, name);
    let results_path = s.path(&format!("{name}.results.csv"));
    let errors = s.path(&format!("{name}.errors.csv"));
    let out = import(
        &sb,
        &input,
        &[
            "--results",
            results_path.to_str().unwrap(),
            "--errors",
            errors.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let got = by_code(&sb);
    assert_eq!(got.len(), rows, "{name}");
    assert_eq!(results(&results_path).len(), rows, "{name}");
    got
}

type BTreeMapOf = std::collections::BTreeMap<String, StoredCustomer>;

#[test]
fn exports_from_other_products_import_with_no_flags() {
    let s = Scratch::new();

    // German accounting: EXTF format line above the header, Windows-1252.
    let got = import_fixture(&s, "german-accounting-extf.csv", 3);
    let c = &got["10001"];
    assert_eq!(field(c, |c| &c.name), "Bäckerei Müller GmbH");
    assert_eq!(field(c, |c| &c.address), "Hauptstraße 7");
    assert_eq!(field(c, |c| &c.postalcode), "50667");
    assert_eq!(field(c, |c| &c.city), "Köln");
    assert_eq!(field(c, |c| &c.country), "DE");
    assert_eq!(field(c, |c| &c.email), "info@mueller-baeckerei.de");
    assert_eq!(field(c, |c| &c.language), "german");
    assert_eq!(field(&got["10002"], |c| &c.language), "german");
    assert_eq!(field(&got["10003"], |c| &c.language), "french");

    // Invoicing app: title lines; Name falls back to the person; phone
    // extensions accepted.
    let got = import_fixture(&s, "invoicing-app-clients.csv", 3);
    assert_eq!(field(&got["C-001"], |c| &c.name), "Harbour Supplies Ltd");
    assert_eq!(field(&got["C-001"], |c| &c.contact), "James Hook");
    assert_eq!(field(&got["C-001"], |c| &c.phone), "555-867-5309 x89");
    assert_eq!(field(&got["C-002"], |c| &c.name), "Wendy Darling");
    assert_eq!(field(&got["C-002"], |c| &c.country), "GB");
    assert_eq!(field(&got["C-002"], |c| &c.email), "wendy@darling.example");
    assert_eq!(field(&got["C-003"], |c| &c.mobile), "06 12345678");

    // Shop: billing_ columns, not shipping_; private customers named.
    let got = import_fixture(&s, "shop-billing-addresses.csv", 3);
    assert_eq!(field(&got["501"], |c| &c.name), "Räuber Schätze GmbH");
    assert_eq!(field(&got["501"], |c| &c.contact), "James Hook");
    assert_eq!(field(&got["502"], |c| &c.name), "Tinker Bell");
    assert_eq!(field(&got["502"], |c| &c.postalcode), "3511 AB");
    assert_eq!(field(&got["503"], |c| &c.city), "Lyon");
    assert_eq!(field(&got["503"], |c| &c.email), "smee@jollyroger.example");

    // ERP labels with technical names; country names and locales converted.
    let got = import_fixture(&s, "erp-labels-technical.csv", 3);
    assert_eq!(field(&got["CL0001"], |c| &c.country), "FR");
    assert_eq!(field(&got["CL0001"], |c| &c.language), "french");
    assert_eq!(field(&got["CL0002"], |c| &c.country), "BE");
    assert_eq!(field(&got["CL0002"], |c| &c.language), "dutch");
    assert_eq!(field(&got["CL0003"], |c| &c.language), "english");
    assert_eq!(field(&got["CL0003"], |c| &c.city), "Edinburgh");

    // Two Phone columns: the filled one is used.
    let got = import_fixture(&s, "crm-duplicate-phone.csv", 2);
    assert_eq!(field(&got["K1"], |c| &c.phone), "075-1234567");
    assert_eq!(field(&got["K1"], |c| &c.contact), "Anna de Vries");

    // Excel's sep=; line, with and without a BOM.
    for name in ["excel-sep-line.csv", "excel-sep-line-bom.csv"] {
        let got = import_fixture(&s, name, 2);
        assert_eq!(field(&got["2001"], |c| &c.postalcode), "1234 AB", "{name}");
        assert_eq!(field(&got["2001"], |c| &c.language), "dutch", "{name}");
        assert_eq!(
            field(&got["2002"], |c| &c.name),
            "Café Het Hoekje",
            "{name}"
        );
        assert_eq!(field(&got["2002"], |c| &c.country), "BE", "{name}");
    }
}

#[test]
fn default_country_fills_rows_without_one() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.file("in.csv", "Code,Name,Country\n1,A,\n2,B,FR\n");
    let results_path = s.path("in.out.csv");
    let out = import(
        &sb,
        &input,
        &[
            "--default-country",
            "de",
            "--results",
            results_path.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let got = by_code(&sb);
    assert_eq!(field(&got["1"], |c| &c.country), "DE");
    assert_eq!(field(&got["2"], |c| &c.country), "FR");
    let out = validate(&input, &["--default-country", "Atlantis"]);
    assert_exit(&out, 2);
}

#[test]
fn mapping_prints_a_starting_point_for_a_file_without_a_code_column() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        "Kennung;Firma;Ort;Telefon\nA-1;Alpha GmbH;Köln;0221 123456\nA-2;Beta AG;Köln;0221 654321\n",
    );
    let out = notify_import().arg("mapping").arg(&input).output().unwrap();
    assert_exit(&out, 0);
    let mapping = String::from_utf8(out.stdout).unwrap();
    assert!(mapping.contains("# CustomerCode = \"\""), "{mapping}");
    assert!(mapping.contains("#1 \"Kennung\""), "{mapping}");
    assert!(mapping.contains("Name = \"Firma\""), "{mapping}");
    assert!(mapping.contains("City = \"Ort\""), "{mapping}");
    // Edited (the code named) and passed back, the file imports.
    let edited = mapping.replace("# CustomerCode = \"\"", "CustomerCode = \"Kennung\"");
    let mapping_path = s.file("in.mapping.toml", &edited);
    let out = validate(
        &input,
        &[
            "--mapping",
            mapping_path.to_str().unwrap(),
            "--results",
            s.path("v.csv").to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    // Without a mapping the refusal names the candidate too.
    let out = validate(&input, &[]);
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("#1 \"Kennung\""), "{stderr}");
}

/// Issue 21: `mapping` and `validate` make one decision. Two columns that
/// hold different values for one field used to be "taken" by `mapping`
/// (the first one) and refused by `validate`: the commands disagreed.
/// Now `mapping` prints the field undecided, with the `--map` for each
/// column, and `validate` refuses with the same two columns; the rest of
/// the mapping is printed either way.
#[test]
fn mapping_and_validate_agree_when_two_columns_hold_a_field_differently() {
    let s = Scratch::new();
    let input = s.file(
        "in.csv",
        "Code,Naam,Phone,Phone\n1,Smit BV,020-1234567,06-12345678\n",
    );
    let out = notify_import().arg("mapping").arg(&input).output().unwrap();
    assert_exit(&out, 0);
    let mapping = String::from_utf8(out.stdout).unwrap();
    assert!(
        mapping.contains("# Phone = \"#3\"  # or \"#4\": both hold Phone, with different values (line 2: \"020-1234567\" and \"06-12345678\")"),
        "{mapping}"
    );
    assert!(mapping.contains("\nName = \"Naam\""), "{mapping}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--map Phone=#3 or --map Phone=#4"),
        "{stderr}"
    );
    // validate refuses, naming the same two and the line.
    let out = validate(&input, &[]);
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(#3 and #4)"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    // The printed mapping with the choice made imports.
    let chosen = mapping.replace("# Phone = \"#3\"", "Phone = \"#3\"");
    let mapping_path = s.file("in.mapping.toml", &chosen);
    let out = validate(
        &input,
        &[
            "--mapping",
            mapping_path.to_str().unwrap(),
            "--results",
            s.path("v.csv").to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    // Two columns that agree are no reason to refuse.
    let same = s.file(
        "same.csv",
        "Code,Naam,Phone,Phone\n1,Smit BV,020-1234567,020-1234567\n2,Bos BV,,030-7654321\n",
    );
    let out = validate(
        &same,
        &["--results", s.path("same.out.csv").to_str().unwrap()],
    );
    assert_exit(&out, 0);
}

#[test]
fn the_printed_mapping_of_every_fixture_imports_the_same_when_passed_back() {
    let s = Scratch::new();
    for name in [
        "german-accounting-extf.csv",
        "invoicing-app-clients.csv",
        "shop-billing-addresses.csv",
        "erp-labels-technical.csv",
        "crm-duplicate-phone.csv",
        "dutch-trailing-semicolon.csv",
        "excel-sep-line.csv",
        "shopware-customers.csv",
        "datev-debitoren-extf.csv",
        "zoho-books-contacts.csv",
        "wave-customers.csv",
        "freshbooks-clients.csv",
        "invoice-ninja-clients.csv",
        "odoo-res-partner.csv",
        "dolibarr-thirdparties.csv",
        "prestashop-addresses.csv",
        "exact-online-relaties.csv",
    ] {
        let input = data(&s, name);
        let out = notify_import().arg("mapping").arg(&input).output().unwrap();
        assert_exit(&out, 0);
        let mapping = s.file(
            &format!("{name}.toml"),
            &String::from_utf8(out.stdout).unwrap(),
        );
        let (plain, mapped) = (
            s.path(&format!("{name}.a.csv")),
            s.path(&format!("{name}.b.csv")),
        );
        let a = validate(
            &input,
            &[
                "--results",
                plain.to_str().unwrap(),
                "--errors",
                s.path(&format!("{name}.a.errors.csv")).to_str().unwrap(),
            ],
        );
        let b = validate(
            &input,
            &[
                "--results",
                mapped.to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
                "--errors",
                s.path(&format!("{name}.b.errors.csv")).to_str().unwrap(),
            ],
        );
        assert_eq!(a.status.code(), b.status.code(), "{name}");
        assert_eq!(results(&plain), results(&mapped), "{name}");
    }
}

/// Issue 23: a lone UTF-16 surrogate (decoded as U+FFFD from a UTF-16
/// file) and a NUL byte in a value make the row `invalid` with a clear
/// problem, instead of being sent silently as `"�x"` / `\u0000`: the
/// sandbox receives only the clean rows.
#[test]
fn a_lone_surrogate_or_a_nul_in_a_value_makes_the_row_invalid_and_unsent() {
    let s = Scratch::new();
    let nul = s.path("nul.csv");
    std::fs::write(
        &nul,
        b"CustomerCode,Name,Country\nA,Ann\x00x,NL\nB,Bob,NL\n".as_slice(),
    )
    .unwrap();
    let utf16 = s.path("utf16.csv");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "CustomerCode,Name,Country\nC,\u{1}x,NL\nD,Dirk,NL\n".encode_utf16() {
        // The placeholder becomes a lone high surrogate.
        let unit = if unit == 1 { 0xD800 } else { unit };
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(&utf16, bytes).unwrap();

    for (input, bad, good, expected) in [
        (
            &nul,
            "A",
            "B",
            "Name: holds a NUL character (byte 0) at character 4; remove it",
        ),
        (
            &utf16,
            "C",
            "D",
            "Name: holds a character that could not be decoded (shown as \u{FFFD}) at character 1; a lone UTF-16 surrogate",
        ),
    ] {
        let sb = sandbox();
        let out = import(&sb, input, &[]);
        assert_exit(&out, 1);
        let rows = results(&latest_run(input).join("results.csv"));
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].customer_code.as_str(), rows[0].status.as_str()),
            (bad, "invalid")
        );
        assert!(rows[0].error.starts_with(expected), "{:?}", rows[0]);
        assert_eq!(
            (rows[1].customer_code.as_str(), rows[1].status.as_str()),
            (good, "created")
        );
        let sent: Vec<String> = sb
            .customers()
            .into_iter()
            .map(|c| c.customer_code)
            .collect();
        assert_eq!(sent, [good]);
    }
}

/// Issue 23: `--resume --dry-run` is refused (it used to ignore
/// `--resume`), and `--results` in a missing folder says so (it used to
/// say "its folder was removed"); both exit 2 and make nothing.
#[test]
fn resume_with_dry_run_and_results_in_a_missing_folder_are_refused_clearly() {
    let s = Scratch::new();
    let input = s.customers("in.csv", 2);
    let out = notify_import()
        .arg("import")
        .arg(&input)
        .args(["--dry-run", "--resume"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("--resume continues an import that stopped after sending, and --dry-run sends nothing: leave out one of them"),
        "{err}"
    );
    assert!(!s.path("in.runs").exists());

    let missing = s.path("nodir/x.csv");
    let out = validate(&input, &["--results", missing.to_str().unwrap()]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "--results {}: the folder {} does not exist; create it first",
            missing.display(),
            s.path("nodir").display()
        )),
        "{err}"
    );
    assert!(!err.contains("removed"), "{err}");
    assert!(!s.path("nodir").exists());
}

/// A named output that is a folder (`--results somedir`, even with
/// `--overwrite-outputs`), or whose folder is a file (`--errors
/// in.csv/x.csv`), is refused before anything is sent (exit 2): it used
/// to be taken, every row sent, and the run to fail at its end (exit 3)
/// because nothing can replace a folder.
#[test]
fn a_named_output_that_is_a_folder_or_inside_a_file_is_refused_before_sending() {
    let s = Scratch::new();
    let sb = sandbox();
    let input = s.customers("in.csv", 2);
    std::fs::create_dir(s.path("somedir")).unwrap();
    let inside_file = s.path("in.csv/x.csv");
    for (flag, path) in [
        ("--results", s.path("somedir")),
        ("--errors", s.path("somedir")),
        ("--summary-json", s.path("somedir")),
        ("--errors", inside_file.clone()),
        ("--summary-json", inside_file.clone()),
    ] {
        let out = import(
            &sb,
            &input,
            &[flag, path.to_str().unwrap(), "--overwrite-outputs"],
        );
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{flag} {}: ", path.display()))
                && (err.contains("is a folder, not a file")
                    || err.contains("is a file, not a folder")),
            "{err}"
        );
        assert_eq!(
            sb.stats().requests,
            0,
            "{flag} {}: nothing sent",
            path.display()
        );
    }
    assert_eq!(
        files_under(&s.path("in.runs")),
        [s.path("in.runs/lock")],
        "a refused run leaves no run folder"
    );
}

/// Writes `line` to `to` again and again (an endless line when it holds no
/// line break) until the reader goes away or `bound` bytes were written;
/// the bytes it wrote. The bound only keeps a broken build from filling
/// the disk.
#[cfg(unix)]
fn write_until_closed(mut to: impl std::io::Write, prefix: &[u8], bound: usize) -> usize {
    let chunk = vec![b'y'; 64 * 1024];
    let mut written = 0;
    if to.write_all(prefix).is_err() {
        return written;
    }
    written += prefix.len();
    while written < bound {
        match to.write(&chunk) {
            Ok(n) => written += n,
            Err(_) => break,
        }
    }
    written
}

/// Issue 23: an endless line through a pipe (`yes | tr -d '\n' |
/// notify-import import /dev/stdin`) used to be copied to a temporary
/// file until the disk filled. It is refused as soon as the line passes
/// --max-record-bytes, naming line 1 (exit 2, nothing sent): the writer is
/// cut off after a few chunks, not after the bound.
#[cfg(unix)]
#[test]
fn an_endless_line_through_a_pipe_is_refused_once_past_the_cap() {
    let s = Scratch::new();
    let tmp = s.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let sb = sandbox();
    let bound = 512 << 20;
    for (prefix, line) in [(&b""[..], 1), (&b"CustomerCode,Name\nC1,Ann\n\n"[..], 4)] {
        let mut child = notify_import()
            .args(["import", "/dev/stdin", "--api-url", &sb.base_url()])
            .arg("--runs-dir")
            .arg(s.path("runs"))
            .env("NOTIFY_API_KEY", TEST_KEY)
            // Where a copy would go: the scratch folder, not the host's /tmp.
            .env("TMPDIR", &tmp)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let prefix = prefix.to_vec();
        let writer = std::thread::spawn(move || write_until_closed(stdin, &prefix, bound));
        let out = wait_bounded(child, std::time::Duration::from_secs(60));
        let written = writer.join().unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "/dev/stdin: line {line}: the record starting here is longer than 65536 bytes (--max-record-bytes)"
            )),
            "{err}"
        );
        assert!(
            written < 16 << 20,
            "{written} bytes were taken before the refusal"
        );
        assert!(sb.request_log().is_empty(), "{:?}", sb.request_log());
        assert!(!s.path("runs").exists());
    }
}

/// Issue 23: a regular file with one over-long line in the middle is
/// refused naming that line (exit 2, nothing sent), however long the line;
/// a pipe of many ordinary lines, far longer in all than the cap, is read
/// whole.
#[test]
fn one_over_long_line_in_a_file_is_refused_by_its_line_and_many_lines_are_not() {
    let s = Scratch::new();
    let mut text =
        String::from("Relatienummer;Naam;Plaats\r\n1001;Smit BV;Delft\r\n1002;Jansen;Utrecht\r\n");
    text.push_str("1003;");
    text.push_str(&"Lange naam ".repeat(300_000));
    text.push_str(";Gouda\r\n1004;De Vries;Breda\r\n");
    let input = s.file("relaties.csv", &text);
    let sb = sandbox();
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: line 4: the record starting here is longer than 65536 bytes (--max-record-bytes)",
            input.display()
        )),
        "{err}"
    );
    assert!(sb.request_log().is_empty(), "{:?}", sb.request_log());
    assert!(sb.customers().is_empty());

    // The same cap on a pipe measures each line, not the whole input.
    let rows = 30_000;
    let mut many = String::from("Relatienummer;Naam;Plaats\n");
    for i in 0..rows {
        many.push_str(&format!("{i};Klant {i} B.V.;Utrecht\n"));
    }
    assert!(many.len() > 10 * 65536);
    let out = validate_piped(
        &s.path("runs"),
        many.into_bytes(),
        std::time::Duration::from_secs(120),
    );
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "checked /dev/stdin ({rows} rows: {rows} valid, 0 invalid)"
        )),
        "{err}"
    );
}
