//! Workbook input end to end: an Excel workbook with a zero-padded code
//! column, a date column, a phone stored as a number, formulas, an error
//! cell and other sheets; `--sheet`; the errors workbook and its round
//! trip; ODS and XLS saved by LibreOffice; files that are no customer list
//! refused; and no control character of an input on the terminal.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use notify_import::sandbox::{Faults, StoredCustomer};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

use crate::harness::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// A workbook as a bookkeeper saves it from Excel: an empty first sheet,
/// then "Klanten" with a title above the header, codes typed as numbers in
/// a column formatted `00000` (one typed as text), a contact column that
/// holds a formula, a date, a fraction and a boolean, a phone typed as a
/// number (twice), a city by formula, an `#N/A` country, a date column,
/// an empty row; and a third sheet of notes.
pub fn excel_workbook(path: &Path) {
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Leeg").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Klanten").unwrap();
    let code = Format::new().set_num_format("00000");
    let date = Format::new().set_num_format("dd-mm-yyyy");
    let bold = Format::new().set_bold();
    sheet.write_string(0, 0, "Klantenlijst").unwrap();
    let header = [
        "Klantnummer",
        "Bedrijfsnaam",
        "Contactpersoon",
        "Telefoon",
        "Postcode",
        "Plaats",
        "Land",
        "Klant sinds",
    ];
    for (c, name) in header.iter().enumerate() {
        sheet
            .write_string_with_format(2, c as u16, *name, &bold)
            .unwrap();
    }
    let since = |y, m, d| ExcelDateTime::from_ymd(y, m, d).unwrap();
    // Row 4.
    sheet.write_number_with_format(3, 0, 123, &code).unwrap();
    sheet.write_string(3, 1, "Bakkerij De Korenschoof").unwrap();
    sheet
        .write_formula(
            3,
            2,
            Formula::new("=\"Jan \"&\"Jansen\"").set_result("Jan Jansen"),
        )
        .unwrap();
    sheet.write_number(3, 3, 31612345678.0).unwrap();
    sheet.write_string(3, 4, "1012 AB").unwrap();
    sheet
        .write_formula(
            3,
            5,
            Formula::new("=UPPER(\"amsterdam\")").set_result("AMSTERDAM"),
        )
        .unwrap();
    sheet.write_string(3, 6, "NL").unwrap();
    sheet
        .write_datetime_with_format(3, 7, since(2019, 5, 17), &date)
        .unwrap();
    // Row 5.
    sheet.write_number_with_format(4, 0, 4567, &code).unwrap();
    sheet.write_string(4, 1, "Fietsenmaker Smit").unwrap();
    sheet
        .write_datetime_with_format(4, 2, since(2024, 3, 1), &date)
        .unwrap();
    sheet.write_string(4, 3, "020 5201234").unwrap();
    sheet.write_string(4, 4, "3511 NR").unwrap();
    sheet.write_string(4, 5, "Utrecht").unwrap();
    sheet
        .write_formula(4, 6, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    sheet
        .write_datetime_with_format(4, 7, since(2021, 11, 2), &date)
        .unwrap();
    // Row 6.
    sheet.write_number_with_format(5, 0, 89, &code).unwrap();
    sheet.write_string(5, 1, "Café Rosé").unwrap();
    sheet.write_number(5, 2, 12.5).unwrap();
    sheet.write_number(5, 3, 612345678).unwrap();
    sheet.write_string(5, 4, "5651 GK").unwrap();
    sheet.write_string(5, 5, "Eindhoven").unwrap();
    sheet.write_string(5, 6, "NL").unwrap();
    sheet
        .write_datetime_with_format(5, 7, since(2020, 1, 31), &date)
        .unwrap();
    // Row 7 is formatted but empty; row 8.
    sheet.write_blank(6, 1, &bold).unwrap();
    sheet.write_string(7, 0, "00042").unwrap();
    sheet.write_string(7, 1, "Drukkerij Hoek").unwrap();
    sheet.write_boolean(7, 2, true).unwrap();
    sheet.write_string(7, 4, "1000 AA").unwrap();
    sheet.write_string(7, 5, "Amsterdam").unwrap();
    sheet.write_string(7, 6, "NL").unwrap();
    sheet
        .write_datetime_with_format(7, 7, since(2023, 7, 4), &date)
        .unwrap();
    let notes = book.add_worksheet();
    notes.set_name("Notities").unwrap();
    notes.write_string(0, 0, "Bijgewerkt door").unwrap();
    notes.write_string(0, 1, "Petra").unwrap();
    book.save(path).unwrap();
}

/// A workbook of `rows` (strings; a cell `=N` is the number N) on one
/// sheet named `sheet`.
fn simple_workbook(path: &Path, sheet: &str, rows: &[&[&str]]) {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.strip_prefix('=') {
                Some(n) => ws
                    .write_number(r as u32, c as u16, n.parse::<f64>().unwrap())
                    .unwrap(),
                None => ws.write_string(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    book.save(path).unwrap();
}

fn get(c: &StoredCustomer, f: fn(&StoredCustomer) -> &Option<String>) -> &str {
    f(c).as_deref().unwrap_or("")
}

/// Every cell of the first sheet of the workbook at `path`, as text.
fn sheet_cells(path: &Path) -> (String, Vec<Vec<String>>) {
    let mut book = calamine::open_workbook_auto(path).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    let rows = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => panic!("not a text cell: {other:?}"),
                })
                .collect()
        })
        .collect();
    (name, rows)
}

#[test]
fn an_excel_workbook_imports_with_every_cell_as_the_user_sees_it() {
    let s = Scratch::new();
    let input = s.path("klanten.xlsx");
    excel_workbook(&input);
    let sb = sandbox();
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(
            "workbook: XLSX workbook, sheet \"Klanten\" (the first with data); other sheets: \"Leeg\", \"Notities\""
        ),
        "{err}"
    );
    // The rows' lines are the sheet's row numbers; row 7 has no value.
    let rows = results(&latest_run(&input).join("results.csv"));
    let lines: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r.line, r.customer_code.as_str()))
        .collect();
    assert_eq!(
        lines,
        [(4, "00123"), (5, "04567"), (6, "00089"), (8, "00042")]
    );

    let got = by_code(&sb);
    assert_eq!(got.len(), 4, "{:?}", got.keys());
    // Formulas by their saved value; a date, a fraction, a boolean as
    // shown; whole numbers without ".0" or an exponent.
    assert_eq!(get(&got["00123"], |c| &c.contact), "Jan Jansen");
    assert_eq!(get(&got["00123"], |c| &c.city), "AMSTERDAM");
    assert_eq!(get(&got["00123"], |c| &c.phone), "31612345678");
    assert_eq!(get(&got["04567"], |c| &c.contact), "2024-03-01");
    assert_eq!(get(&got["00089"], |c| &c.contact), "12.5");
    assert_eq!(get(&got["00089"], |c| &c.phone), "612345678");
    assert_eq!(get(&got["00042"], |c| &c.contact), "TRUE");
    assert_eq!(get(&got["00089"], |c| &c.name), "Café Rosé");
    assert_eq!(get(&got["04567"], |c| &c.postalcode), "3511 NR");
    // The #N/A country was read as empty: Notify's default applies.
    assert_eq!(get(&got["00042"], |c| &c.country), "NL");

    // Warned per row, counted in the header.
    assert!(
        err.contains(
            "warning: 2 rows with a code or phone number stored as a number in the sheet (\"Telefoon\"; lines 4, 6)"
        ),
        "{err}"
    );
    assert!(
        err.contains("warning: 1 row with an error cell (\"#N/A\"; line 5) in an imported column, read as empty"),
        "{err}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(latest_run(&input).join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["input"]["sheet"], "Klanten");
    assert_eq!(summary["input"]["encoding"], serde_json::Value::Null);
}

#[test]
fn the_date_column_and_codes_read_as_text_in_the_errors_workbook() {
    // A check writes every invalid row back: here all of them, as Email
    // is mapped to the (date) column "Klant sinds" by --map; the dates and
    // zero-padded codes must read as the sheet shows them.
    let s = Scratch::new();
    let input = s.path("klanten.xlsx");
    excel_workbook(&input);
    let out = validate(&input, &["--map", "Email=Klant sinds"]);
    assert_exit(&out, 1);
    let errors = latest_run(&input).join("errors.xlsx");
    let (sheet, cells) = sheet_cells(&errors);
    assert_eq!(sheet, "not imported");
    assert_eq!(
        cells[0],
        [
            "Klantnummer",
            "Bedrijfsnaam",
            "Contactpersoon",
            "Telefoon",
            "Postcode",
            "Plaats",
            "Land",
            "Klant sinds",
            "error"
        ]
    );
    let column = |c: usize| -> Vec<&str> { cells[1..].iter().map(|r| r[c].as_str()).collect() };
    assert_eq!(column(0), ["00123", "04567", "00089", "00042"]);
    assert_eq!(
        column(7),
        ["2019-05-17", "2021-11-02", "2020-01-31", "2023-07-04"]
    );
    assert_eq!(column(6), ["NL", "", "NL", "NL"]);
    assert!(column(8).iter().all(|e| e.contains("Email")), "{cells:?}");
}

#[test]
fn sheet_chooses_by_name_or_position_and_names_the_sheets_when_wrong() {
    let s = Scratch::new();
    let input = s.path("klanten.xlsx");
    excel_workbook(&input);
    let out = validate(&input, &["--sheet", "2"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("sheet \"Klanten\" (--sheet); other sheets: \"Leeg\", \"Notities\""),
        "{}",
        stderr(&out)
    );
    let out = validate(&input, &["--sheet", "klanten", "--delimiter", ";"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("--delimiter does not apply to a workbook: ignored"),
        "{}",
        stderr(&out)
    );
    let out = validate(&input, &["--sheet", "Notities"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no CustomerCode column"),
        "{}",
        stderr(&out)
    );
    let out = validate(&input, &["--sheet", "Debiteuren"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains(
            "--sheet \"Debiteuren\": the workbook has no such sheet; its sheets are 1 \"Leeg\", 2 \"Klanten\", 3 \"Notities\""
        ),
        "{}",
        stderr(&out)
    );
    // A CSV has no sheets.
    let csv = s.file("k.csv", "CustomerCode,Name\n1,A\n");
    let out = validate(&csv, &["--sheet", "1"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("has no sheets"), "{}", stderr(&out));
    // `mapping` reads the sheet too.
    let out = notify_import()
        .args(["mapping"])
        .arg(&input)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CustomerCode = \"Klantnummer\""),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_errors_workbook_imports_again_with_its_leading_zeros() {
    let s = Scratch::new();
    let input = s.path("klanten.xlsx");
    simple_workbook(
        &input,
        "Debiteuren",
        &[
            &["Klantnummer", "Naam", "Telefoon", "Postcode", "Plaats"],
            &["00042", "Drukkerij Hoek", "0201234567", "01067", "Dresden"],
            &["00043", "Bakkerij Zoet", "0307654321", "1234 AB", "Utrecht"],
            &["00044", "", "0612345678", "1000 AA", "Amsterdam"],
        ],
    );
    // The server turns 00042 down; 00044 has no name.
    let sb = sandbox_with_faults(Faults {
        reject_codes: vec!["00042".into()],
        ..Faults::default()
    });
    let out = import(&sb, &input, &[]);
    assert_exit(&out, 1);
    let errors = latest_run(&input).join("errors.xlsx");
    assert!(
        stderr(&out).contains("errors.xlsx"),
        "the errors file is named: {}",
        stderr(&out)
    );
    let (_, cells) = sheet_cells(&errors);
    assert_eq!(cells.len(), 3, "{cells:?}");
    assert_eq!(
        cells[1][..5],
        ["00042", "Drukkerij Hoek", "0201234567", "01067", "Dresden"]
    );
    assert_eq!(cells[2][0], "00044");
    assert!(cells[2][5].contains("Name"), "{cells:?}");

    // Imported again elsewhere: the rejected row goes through as it was,
    // the unnamed one is still refused, with one error column.
    let again = sandbox();
    let out = import(&again, &errors, &[]);
    assert_exit(&out, 1);
    let got = by_code(&again);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["00042"]);
    assert_eq!(get(&got["00042"], |c| &c.phone), "0201234567");
    assert_eq!(get(&got["00042"], |c| &c.postalcode), "01067");
    let second = latest_run(&errors).join("errors.xlsx");
    let (_, cells) = sheet_cells(&second);
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[0].iter().filter(|h| *h == "error").count(), 1);
    assert_eq!(cells[1][0], "00044");
}

/// Bytes of the terminal output (stdout and stderr) that are control
/// characters other than line feed and tab.
fn controls(out: &std::process::Output) -> Vec<u8> {
    out.stdout
        .iter()
        .chain(&out.stderr)
        .copied()
        .filter(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7F)
        .collect()
}

#[test]
fn files_that_are_no_customer_list_are_refused_by_what_they_are() {
    let s = Scratch::new();
    let zip_without_sheet = {
        let path = s.path("photos.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        w.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, b"\x1b[2Jhello\x07").unwrap();
        w.finish().unwrap();
        path
    };
    let cases: [(PathBuf, &str); 5] = [
        (
            {
                let p = s.path("klanten.csv");
                std::fs::write(
                    &p,
                    b"%PDF-1.7\n\x1b[31m\x07\r\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
                )
                .unwrap();
                p
            },
            "this is a PDF document",
        ),
        (
            {
                let p = s.path("logo.csv");
                std::fs::write(&p, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x1b\x07").unwrap();
                p
            },
            "this is a PNG image",
        ),
        (
            zip_without_sheet,
            "a ZIP archive without a spreadsheet in it",
        ),
        (
            {
                let p = s.path("klanten.csv.gz");
                std::fs::write(&p, b"\x1f\x8b\x08\0\0\0\0\0\0\x03\x1b\x07\r").unwrap();
                p
            },
            "a gzip-compressed file",
        ),
        (
            {
                let p = s.path("noise.csv");
                let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 32) as u8).collect();
                std::fs::write(&p, bytes).unwrap();
                p
            },
            "binary data, not text",
        ),
    ];
    for (path, what) in cases {
        for command in ["validate", "mapping"] {
            let out = notify_import().arg(command).arg(&path).output().unwrap();
            assert_exit(&out, 2);
            let err = stderr(&out);
            assert!(err.contains(what), "{command} {}: {err}", path.display());
            assert!(
                err.contains("export the customer list") || err.contains("unpack it"),
                "says what to do instead: {err}"
            );
            assert_eq!(controls(&out), b"", "{command} {}: {err:?}", path.display());
        }
        let sb = sandbox();
        let out = import(&sb, &path, &[]);
        assert_exit(&out, 2);
        assert_eq!(controls(&out), b"");
        assert!(sb.customers().is_empty());
    }
}

#[test]
fn control_characters_in_a_header_never_reach_the_terminal() {
    let s = Scratch::new();
    // No code column: the refusal quotes the header.
    let no_code = s.file(
        "bell.csv",
        "Na\x1b[31mme\x07,\"Pla\rats\",E\x1b]0;pwned\x07mail\nAnn,Ede,a@x.nl\n",
    );
    for command in ["validate", "mapping"] {
        let out = notify_import().arg(command).arg(&no_code).output().unwrap();
        let err = stderr(&out);
        assert_eq!(controls(&out), b"", "{command}: {err:?}");
        if command == "validate" {
            assert_exit(&out, 2);
            assert!(err.contains("no CustomerCode column"), "{err}");
            // Still useful: the names are there, their controls visible.
            assert!(err.contains("Na\\u{1b}[31mme\\u{7}"), "{err}");
            assert!(err.contains("Pla\\u{d}ats"), "{err}");
        }
    }
    // With a code: the run header, warnings and problems quote names and
    // values.
    let mapped = s.file(
        "mapped.csv",
        "CustomerCode,Name,Pla\x1b[2Jats\x07,Land\r\n1,Ann\x1b[5m,Ede,Nether\x07lands\r\n2,,Ede,NL\r\n",
    );
    let out = validate(&mapped, &[]);
    assert_exit(&out, 1);
    assert_eq!(controls(&out), b"", "{:?}", stderr(&out));
    let sb = sandbox();
    let out = import(&sb, &mapped, &[]);
    assert_eq!(controls(&out), b"", "{:?}", stderr(&out));
}

/// The fixtures saved by LibreOffice from [`excel_workbook`]: the same
/// rows from an ODS file, an XLS (Excel 97-2003) file and an XLSX saved
/// again by LibreOffice (`tests/data/README.md`).
#[test]
fn ods_xls_and_xlsx_saved_by_libreoffice_import_alike() {
    // calamine tells the number format of an XLSX cell only: in ODS and
    // XLS the zero-padded codes arrive as plain numbers, warned about.
    // LibreOffice stores a boolean as the number 1 with a boolean format
    // in ODS, which calamine reads as the number.
    let padded = ["00123", "04567", "00089", "00042"];
    let plain = ["123", "4567", "89", "00042"];
    for (name, codes, boolean) in [
        ("excel-customers.ods", plain, "1"),
        ("excel-customers.xls", plain, "TRUE"),
        ("excel-customers.libreoffice.xlsx", padded, "TRUE"),
    ] {
        let s = Scratch::new();
        let input = s.path(name);
        std::fs::copy(Path::new(DATA).join(name), &input).unwrap();
        let sb = sandbox();
        let out = import(&sb, &input, &[]);
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert!(
            err.contains("sheet \"Klanten\" (the first with data)"),
            "{name}: {err}"
        );
        let rows = results(&latest_run(&input).join("results.csv"));
        let lines: Vec<(u64, &str)> = rows
            .iter()
            .map(|r| (r.line, r.customer_code.as_str()))
            .collect();
        assert_eq!(
            lines,
            [4, 5, 6, 8].into_iter().zip(codes).collect::<Vec<_>>(),
            "{name}"
        );
        let got = by_code(&sb);
        let contact = |i: usize| get(&got[codes[i]], |c| &c.contact).to_owned();
        // LibreOffice's XLS export saves no value for a formula whose
        // result is text (the file holds neither "Jan Jansen" nor
        // "AMSTERDAM"; LibreOffice recalculates on opening): nothing to
        // read there.
        if !name.ends_with(".xls") {
            assert_eq!(contact(0), "Jan Jansen", "{name}");
            assert_eq!(get(&got[codes[0]], |c| &c.city), "AMSTERDAM", "{name}");
        }
        assert_eq!(contact(1), "2024-03-01", "{name}");
        assert_eq!(contact(2), "12.5", "{name}");
        assert_eq!(contact(3), boolean, "{name}");
        assert_eq!(get(&got[codes[0]], |c| &c.phone), "31612345678", "{name}");
        // The #N/A country is empty, never "#N/A" (Namibia, once folded).
        assert_eq!(get(&got[codes[1]], |c| &c.country), "NL", "{name}");
        assert!(
            err.contains("stored as a number in the sheet"),
            "{name}: {err}"
        );
        assert!(err.contains("(\"#N/A\"; line 5)"), "{name}: {err}");
    }
}

/// An Excel binary workbook (XLSB, from calamine's own tests): the
/// visible sheet is read before hidden ones, which `--sheet` still
/// reaches; its lines are the sheet's rows.
#[test]
fn an_xlsb_workbook_reads_its_visible_sheet_first() {
    let s = Scratch::new();
    let input = s.path("any.xlsb");
    std::fs::copy(Path::new(DATA).join("calamine-any-sheets.xlsb"), &input).unwrap();
    let map = ["--map", "CustomerCode=#1", "--map", "Name=#2"];
    let out = validate(&input, &map);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("workbook: XLSB workbook, sheet \"Visible\" (the first with data); other sheets: \"Hidden\", \"VeryHidden\""),
        "{err}"
    );
    let rows = results(&latest_run(&input).join("results.csv"));
    let got: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| (r.line, r.customer_code.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(got[..2], [(2, "3", "valid"), (3, "5", "valid")]);
    assert_eq!((got[2].0, got[2].2), (5, "invalid"));
    let out = validate(&input, &[&map[..], &["--sheet", "Hidden"]].concat());
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("sheet \"Hidden\" holds no value; choose the sheet with the customers with --sheet (the others: \"Visible\", \"VeryHidden\")"),
        "{}",
        stderr(&out)
    );
}

/// A workbook piped in (`/dev/stdin`) is copied once and read like a file.
#[cfg(target_os = "linux")]
#[test]
fn a_workbook_through_a_pipe_is_read() {
    let s = Scratch::new();
    let input = s.path("klanten.xlsx");
    excel_workbook(&input);
    let bytes = std::fs::read(&input).unwrap();
    let out = validate_piped(&s.path("runs"), bytes, std::time::Duration::from_secs(60));
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("checked /dev/stdin (4 rows: 4 valid, 0 invalid)"),
        "{}",
        stderr(&out)
    );
}
