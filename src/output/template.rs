//! `notify-import template`: a customer file to start from.
//!
//! Owns the example customer. Its values must pass every rule of
//! [`crate::check::validate`] without being changed by normalization (a
//! test checks both), so the template never shows a format the import
//! would rewrite or refuse. It must not hold rules of its own: the header
//! is [`Field::ALL`] in API names, which the mapping recognizes as they
//! are.
//!
//! The example can never be imported by mistake: it is the *first* line,
//! above the header, where the header detection skips it as a line that
//! names no columns (as it skips an export's title line), and its code
//! cell says so. A reserved code rejected by the rules would do the same,
//! but only by adding a rule to the check for one file's sake, and a
//! forgotten example would still count as an invalid row in every run;
//! above the header it is simply not data, and the user's first customer
//! goes on line 3 with nothing to delete. The file a user fills in holds
//! no row they did not write.

use std::io::{self, Write};
use std::path::Path;

use crate::model::field::Field;

/// What the example line's code cell says before the code.
pub const EXAMPLE_MARK: &str = "Example above the header (never imported)";

/// One realistic customer, in [`Field::ALL`] order.
const EXAMPLE: [(Field, &str); 13] = [
    (Field::CustomerCode, "10001"),
    (Field::Name, "Bakkerij De Zwaan B.V."),
    (Field::Address, "Kerkstraat 12"),
    (Field::Postalcode, "1012 AB"),
    (Field::City, "Amsterdam"),
    (Field::Country, "NL"),
    (Field::Contact, "Anneke de Vries"),
    (Field::Phone, "020 6234567"),
    (Field::Mobile, "06 12345678"),
    (Field::Email, "info@dezwaan.nl"),
    (Field::InvoiceEmail, "facturen@dezwaan.nl"),
    (Field::RegistrationNumber, "34123456"),
    (Field::Language, "dutch"),
];

/// Where the template goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Standard output: plain LF lines, for pipes and terminals.
    Stdout,
    /// A file to open in a spreadsheet: a UTF-8 byte-order mark (so Excel
    /// reads, and saves back, accented names as UTF-8) and CRLF line ends.
    File,
}

/// The template: an example line, then the canonical header.
pub fn text(delimiter: u8, flavour: Flavour) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if flavour == Flavour::File {
        buf.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let mut out = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(match flavour {
            Flavour::Stdout => csv::Terminator::Any(b'\n'),
            Flavour::File => csv::Terminator::CRLF,
        })
        .from_writer(buf);
    let mut example = EXAMPLE.map(|(_, v)| v.to_owned());
    example[0] = format!("{EXAMPLE_MARK}: {}", example[0]);
    out.write_record(&example)?;
    out.write_record(Field::ALL.map(Field::api_name))?;
    out.into_inner().map_err(|e| e.into_error())
}

/// Writes the template to `path` (refusing to replace a file unless
/// `force`), or to standard output. The caller says what was written.
pub fn write(path: Option<&Path>, force: bool, delimiter: u8) -> io::Result<()> {
    let Some(path) = path else {
        return io::stdout().write_all(&text(delimiter, Flavour::Stdout)?);
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        // Checked by the open itself, so nothing can appear in between.
        opts.create_new(true);
    }
    let mut file = opts.open(path).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::AlreadyExists {
            "; pass --force to replace it"
        } else {
            ""
        };
        io::Error::new(e.kind(), format!("{}: {e}{hint}", path.display()))
    })?;
    file.write_all(&text(delimiter, Flavour::File)?)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::validate::{self, Validation};
    use crate::input::{self, InputOptions, Record};
    use crate::model::customer::Customer;

    #[test]
    fn the_example_is_in_field_order() {
        assert_eq!(EXAMPLE.map(|(f, _)| f), Field::ALL);
    }

    #[test]
    fn the_example_is_valid_and_unchanged_but_above_the_header() {
        let (mut customer, mut checked) = (Customer::default(), Validation::default());
        for (field, value) in EXAMPLE {
            customer.set_str(field, value);
        }
        validate::validate_into(&mut customer, &mut checked);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        assert!(checked.changes.is_empty(), "{:?}", checked.changes);
        for (delimiter, flavour) in [(b',', Flavour::Stdout), (b';', Flavour::File)] {
            let bytes = text(delimiter, flavour).unwrap();
            let mut opened =
                input::open_bytes(Path::new("t.csv"), bytes, &InputOptions::default()).unwrap();
            assert_eq!(opened.info.delimiter.delimiter, delimiter);
            assert!(opened.mapping.unknown_columns().is_empty());
            let mut rec = Record::default();
            assert!(!opened.reader.read(&mut rec).unwrap(), "no data row");
        }
    }

    #[test]
    fn an_existing_file_is_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "mine").unwrap();
        let err = write(Some(&path), false, b',').unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        write(Some(&path), true, b',').unwrap();
        assert!(
            std::fs::read(&path)
                .unwrap()
                .starts_with(b"\xEF\xBB\xBFExample above the header")
        );
    }
}
