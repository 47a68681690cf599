//! The customers a sandbox starts with (`--customers FILE`).
//!
//! Owns reading that file: a CSV in the import format, read with the
//! tool's own input reading (encoding, delimiter, header names and
//! `sep=` lines as an import reads them), plus two columns only the
//! sandbox knows: `NotifyId` (the id to keep) and `HasInvoices` (deletes
//! are refused). Values are trimmed and checked by the sandbox's own
//! create rules (`payload.rs`), never by the client's `validate.rs`. A
//! bad row stops the start with its line and what is wrong.

use std::collections::BTreeMap;
use std::path::Path;

use super::payload::{self, PayloadError};
use super::store::Store;
use crate::input::{self, InputOptions, Record};
use crate::model::customer::Customer;
use crate::model::field::Field;

/// Header names (compared without case, spaces, `_` or `-`) of the id column.
const ID_COLUMNS: [&str; 3] = ["notifyid", "customerid", "uuid"];
/// Header names of the has-invoices column.
const INVOICE_COLUMNS: [&str; 4] = ["hasinvoices", "invoices", "hasinvoice", "invoiced"];

/// Reads `path` into `store`; the number of customers added.
pub(crate) fn load(path: &Path, store: &mut Store) -> std::io::Result<u64> {
    let fail = |line: Option<u64>, what: String| {
        let at = line.map_or_else(String::new, |l| format!(" line {l}:"));
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "--customers {}:{at} {what}; fix the file and start the sandbox again",
                path.display()
            ),
        )
    };
    let mut opened =
        input::open(path, &InputOptions::default()).map_err(|e| fail(None, e.to_string()))?;
    let key = |h: &str| {
        h.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let headers: Vec<String> = opened.reader.headers().iter().map(key).collect();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (id_col, invoice_col) = (find(&ID_COLUMNS), find(&INVOICE_COLUMNS));
    if opened.mapping.column(Field::CustomerCode).is_none() {
        return Err(fail(None, "no column holds the customer code".into()));
    }
    let (mut rec, mut customer) = (Record::default(), Customer::default());
    let mut added = 0;
    while opened
        .reader
        .read(&mut rec)
        .map_err(|e| fail(None, e.to_string()))?
    {
        let line = Some(rec.line);
        opened.mapping.customer_into(&rec.fields, &mut customer);
        let values: BTreeMap<Field, String> = customer
            .iter()
            .map(|(f, v)| (f, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if values.is_empty() {
            continue;
        }
        let payload = payload::checked(values).map_err(|e| match e {
            PayloadError::Invalid(d) | PayloadError::UnsupportedMediaType(d) => fail(line, d),
        })?;
        let cell = |col: Option<usize>| {
            col.and_then(|i| rec.fields.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let id = cell(id_col).map(str::to_owned);
        if let Some(id) = &id
            && (id.len() > 100 || !id.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(fail(
                line,
                format!("NotifyId {id:?} is not a usable id (printable ASCII, no spaces)"),
            ));
        }
        let invoices = match cell(invoice_col).map(str::to_lowercase).as_deref() {
            None | Some("no" | "false" | "0" | "n" | "nee" | "-") => false,
            Some("yes" | "true" | "1" | "x" | "y" | "ja" | "j") => true,
            Some(n) if n.parse::<u64>().is_ok() => true,
            Some(other) => {
                return Err(fail(
                    line,
                    format!("HasInvoices {other:?} is not yes/no, true/false, 1/0 or a count"),
                ));
            }
        };
        store
            .preload(&payload, id, invoices)
            .map_err(|e| fail(line, e))?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_import_format_with_ids_and_invoices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.csv");
        std::fs::write(
            &path,
            "Klantnummer;Naam;Plaats;NotifyId;HasInvoices\n\
             K1; Ann ;Ede;a0f0660d-6c8d-422b-8114-e363b260521e;no\n\
             K2;Bob;;;yes\n\
             K3;Cas;Delft;;\n",
        )
        .unwrap();
        let mut store = Store::default();
        assert_eq!(load(&path, &mut store).unwrap(), 3);
        let k1 = store.find_code("K1").unwrap();
        assert_eq!(k1.id, "a0f0660d-6c8d-422b-8114-e363b260521e");
        assert_eq!(k1.name.as_deref(), Some("Ann"));
        assert!(!k1.has_invoices);
        assert!(store.find_code("K2").unwrap().has_invoices);
        assert_eq!(
            store.find_code("K3").unwrap().city.as_deref(),
            Some("Delft")
        );
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.csv");
        std::fs::write(&path, "Code,Name,Postcode\nA,Ann,1234\nB,Bob,12345678901\n").unwrap();
        let err = load(&path, &mut Store::default()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("Postalcode"), "{err}");
        std::fs::write(&path, "Code,Name\nA,Ann\nA,Bob\n").unwrap();
        let err = load(&path, &mut Store::default()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("twice"), "{err}");
    }
}
