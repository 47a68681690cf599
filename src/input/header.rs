//! Header matcher: which field (or name part) one header cell names.
//!
//! Owns matching a cell against the synonym tables (`header/synonyms.rs`:
//! per field and language, NL, EN, DE, FR) and the normalisation that
//! makes `Zipcode*`, `Town (s.ville)`, `billing_street`, `Billing City`,
//! `_address_postcode` and `E-Mail` match. [`classify`] looks at one cell
//! and says what it names and how strongly ([`Rank`]); choosing between
//! columns of one header is `mapping/resolve.rs`'s job, finding the header
//! row is `preview.rs`'s.
//!
//! It must not look at values or at other cells: one cell in, one answer
//! out, so the run header can explain every decision by the cell alone.
//!
//! Matching, in order, stopping at the first hit:
//!
//! 1. the cell's key ([`header_key`]: letters and digits only, lower-cased,
//!    accents folded), after dropping `*` markers and a trailing `(…)`;
//! 2. the same key without leading prefix words: `billing`, `invoice`,
//!    `address`, `customer`, … (rank unchanged), or `shipping`,
//!    `delivery`, … (ranked below, so a billing column wins);
//! 3. the text inside a trailing `(…)` (a technical name such as
//!    `s.code_client`), without a `x.` qualifier.

mod synonyms;

use std::sync::LazyLock;

use crate::model::field::Field;
use crate::util::text::comparison_key;
use synonyms::{PREFIXES, SECONDARY_PREFIXES};

pub use synonyms::{GENERIC, SYNONYMS, Synonyms};

/// What a header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An API field.
    Field(Field),
    /// A first (given) name, for Contact and a Name fallback.
    FirstName,
    /// A name infix (`van der`), joined between first and last name.
    Infix,
    /// A last (family) name.
    LastName,
}

/// How strongly a cell names its role; lower is stronger. When several
/// columns name one role, the strongest wins (ties are for `mapping/resolve.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// A specific synonym (`Klantnummer`, `Company`), maybe billing-prefixed.
    Specific,
    /// A generic word (`ID`, `Nummer`, `Name` next to `Company`).
    Generic,
    /// A shipping / delivery / visiting address column.
    Secondary,
}

/// The comparison key of a header name: letters and digits only,
/// lowercased, accents folded, so case, accents, spaces, `_`, `-`, `.` and
/// other punctuation do not matter (`Invoice e-mail` and `InvoiceEmail`
/// share the key `invoiceemail`, `Télefoon` matches `Telefoon`).
pub fn header_key(s: &str) -> String {
    comparison_key(s)
}

/// What `cell` names, and how strongly; `None` for anything else.
pub fn classify(cell: &str) -> Option<(Role, Rank)> {
    let (label, inner) = split_label(cell);
    if let Some(found) = lookup_words(&words(label)) {
        return Some(found);
    }
    let inner = inner?;
    // `s.code_client`, `partner.zip`: the technical name after the dot.
    let technical = inner.rsplit_once('.').map_or(inner, |(_, name)| name);
    lookup_words(&words(technical))
}

/// Matches the whole key, then without prefix words.
fn lookup_words(words: &[String]) -> Option<(Role, Rank)> {
    let mut secondary = false;
    for start in 0..words.len() {
        if start > 0 {
            let prefix = words[start - 1].as_str();
            if SECONDARY_PREFIXES.contains(&prefix) {
                secondary = true;
            } else if !PREFIXES.contains(&prefix) {
                return None;
            }
        }
        let key: String = words[start..].concat();
        if let Some((role, rank)) = lookup_key(&key) {
            let rank = if secondary { Rank::Secondary } else { rank };
            return Some((role, rank));
        }
    }
    None
}

fn lookup_key(key: &str) -> Option<(Role, Rank)> {
    // Built once: header detection classifies every cell of 20 lines
    // under four delimiters, and every run opens a file more than once.
    static TABLE: LazyLock<Vec<(String, Role, Rank)>> = LazyLock::new(|| {
        let mut table: Vec<(String, Role, Rank)> = Vec::new();
        for s in SYNONYMS {
            for names in [s.nl, s.en, s.de, s.fr] {
                table.extend(
                    names
                        .iter()
                        .map(|n| (header_key(n), s.role, Rank::Specific)),
                );
            }
        }
        for (field, names) in GENERIC {
            table.extend(
                names
                    .iter()
                    .map(|n| (header_key(n), Role::Field(*field), Rank::Generic)),
            );
        }
        // The API names themselves, in any spelling, after the generic
        // names: `Name` next to `Company` is the weaker of the two.
        for field in Field::ALL {
            table.push((
                header_key(field.api_name()),
                Role::Field(field),
                Rank::Specific,
            ));
        }
        table
    });
    if key.is_empty() {
        return None;
    }
    TABLE
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|&(_, role, rank)| (role, rank))
}

/// The label without `*` markers, and the text of a trailing `(…)` or
/// `[…]`, if any: `Town (s.ville)` → (`Town`, `s.ville`).
fn split_label(cell: &str) -> (&str, Option<&str>) {
    let cell = cell.trim().trim_start_matches('\u{feff}');
    let cell = cell.trim_matches(|c: char| c == '*' || c.is_whitespace());
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(body) = cell.strip_suffix(close)
            && let Some(at) = body.rfind(open)
            && at > 0
        {
            let label = body[..at].trim_end_matches(|c: char| c == '*' || c.is_whitespace());
            return (label, Some(body[at + open.len_utf8()..].trim()));
        }
    }
    (cell, None)
}

/// The words of a label: split at spaces, punctuation and camelCase
/// boundaries, each as a [`header_key`].
fn words(label: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in label.chars() {
        if !ch.is_alphanumeric() {
            // `E-mail`, `T.a.v.`: a one-letter piece belongs with the next.
            if current.chars().count() > 1 {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && current.chars().count() > 1 {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = ch.is_lowercase();
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.iter()
        .map(|w| header_key(w))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every (role, key) of the tables, for checks.
pub fn all_keys() -> Vec<(Role, String)> {
    let mut keys = Vec::new();
    for s in SYNONYMS {
        for names in [s.nl, s.en, s.de, s.fr] {
            keys.extend(names.iter().map(|n| (s.role, header_key(n))));
        }
    }
    for (field, names) in GENERIC {
        keys.extend(names.iter().map(|n| (Role::Field(*field), header_key(n))));
    }
    keys
}

/// The columns most likely to hold `field` among `columns` (header
/// names that feed no field), best first, at most `max`: those whose name
/// contains a name known for it (`Firma naam` holds `naam`), the longer
/// the known name the likelier; when none does, the first columns.
pub fn likeliest_columns(field: Field, columns: &[String], max: usize) -> Vec<String> {
    let known: Vec<String> = all_keys()
        .into_iter()
        .filter(|(role, key)| *role == Role::Field(field) && key.len() >= 3)
        .map(|(_, key)| key)
        .collect();
    let mut scored: Vec<(usize, usize, &String)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, column)| {
            let key = header_key(column);
            let best = known
                .iter()
                .filter(|k| key.contains(k.as_str()))
                .map(String::len)
                .max()?;
            Some((best, i, column))
        })
        .collect();
    if scored.is_empty() {
        return columns
            .iter()
            .filter(|c| !c.trim().is_empty())
            .take(max)
            .cloned()
            .collect();
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(max)
        .map(|(_, _, c)| c.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(cell: &str) -> Option<Field> {
        match classify(cell) {
            Some((Role::Field(f), _)) => Some(f),
            _ => None,
        }
    }

    #[test]
    fn likeliest_columns_contain_a_known_name() {
        let columns: Vec<String> = ["Omschrijving", "Firma naam", "Klantnaam extra", "Stad"]
            .map(String::from)
            .into();
        let got = likeliest_columns(Field::Name, &columns, 3);
        assert_eq!(got, ["Klantnaam extra", "Firma naam"]);
        let plain: Vec<String> = ["X", "Y"].map(String::from).into();
        assert_eq!(likeliest_columns(Field::Name, &plain, 1), ["X"]);
    }

    #[test]
    fn header_key_ignores_case_accents_and_separators() {
        for name in [
            "CustomerCode",
            "customer_code",
            "Customer code",
            "CUSTOMER-CODE",
            " customer.code ",
        ] {
            assert_eq!(header_key(name), "customercode", "{name}");
        }
        assert_eq!(header_key("Invoice e-mail"), header_key("InvoiceEmail"));
        assert_eq!(header_key("KLANTNAAM"), "klantnaam");
        assert_eq!(header_key("Télé-phône"), "telephone");
        assert_eq!(header_key("Straße"), "strasse");
        // Decomposed accents (e + combining acute) fold too.
        assert_eq!(header_key("Te\u{301}lefoon"), "telefoon");
    }

    #[test]
    fn normalisation_drops_markers_and_technical_names() {
        assert_eq!(field("Zipcode*"), Some(Field::Postalcode));
        assert_eq!(field("City*"), Some(Field::City));
        assert_eq!(field("Town (s.ville)"), Some(Field::City));
        assert_eq!(
            field("CustomerCode (s.code_client)"),
            Some(Field::CustomerCode)
        );
        // The label says nothing; the technical name does.
        assert_eq!(
            field("Ref. interne (s.code_client)"),
            Some(Field::CustomerCode)
        );
        assert_eq!(field("  E-MAIL "), Some(Field::Email));
        assert_eq!(field("\u{feff}Kundennummer"), Some(Field::CustomerCode));
        assert_eq!(field("Straße"), Some(Field::Address));
        assert_eq!(field("Télé-phone"), Some(Field::Phone));
        assert_eq!(field("Phone (private)"), Some(Field::Phone));
        assert_eq!(field("Notes"), None);
        assert_eq!(field(""), None);
        assert_eq!(field("(x)"), None);
    }

    #[test]
    fn prefixes_are_stripped_and_delivery_ranks_below_billing() {
        assert_eq!(
            classify("billing_street"),
            Some((Role::Field(Field::Address), Rank::Specific))
        );
        assert_eq!(field("Billing City"), Some(Field::City));
        assert_eq!(field("BillingCity"), Some(Field::City));
        assert_eq!(field("_address_postcode"), Some(Field::Postalcode));
        assert_eq!(field("billing_address_1"), Some(Field::Address));
        assert_eq!(field("billing_email"), Some(Field::Email));
        assert_eq!(field("Invoice email"), Some(Field::InvoiceEmail));
        assert_eq!(field("Customer e-mail"), Some(Field::Email));
        assert_eq!(
            classify("shipping_city"),
            Some((Role::Field(Field::City), Rank::Secondary))
        );
        assert_eq!(
            classify("Delivery Postcode"),
            Some((Role::Field(Field::Postalcode), Rank::Secondary))
        );
        // A prefix word only counts in front of a known name.
        assert_eq!(field("billing_cycle"), None);
        assert_eq!(field("Postal code"), Some(Field::Postalcode));
        assert_eq!(field("notes_city"), None);
    }

    #[test]
    fn issue_names_are_known() {
        let expected: &[(Field, &[&str])] = &[
            (
                Field::CustomerCode,
                &[
                    "Konto",
                    "Kundennummer",
                    "ID",
                    "Customer ID",
                    "customer_number",
                    "account_number",
                    "Code client",
                    "Klantnummer",
                    "ref",
                ],
            ),
            (
                Field::Name,
                &[
                    "Firma",
                    "Organization",
                    "Company Name",
                    "customer_name",
                    "Company",
                    "Raison sociale",
                    "Bedrijfsnaam",
                    "Name",
                ],
            ),
            (
                Field::Address,
                &[
                    "Straße",
                    "Street",
                    "Address 1",
                    "address_line_1",
                    "Adresse",
                    "Rue",
                ],
            ),
            (
                Field::Postalcode,
                &[
                    "PLZ",
                    "Postleitzahl",
                    "ZIP",
                    "Postal Code",
                    "postal_code",
                    "zip_code",
                    "postal_code/zip_code",
                    "Code postal",
                ],
            ),
            (Field::City, &["Ort", "Ville", "City", "Plaats"]),
            (Field::Country, &["Land", "Pays", "Country"]),
            (Field::Phone, &["Telefon", "Téléphone", "Phone"]),
            (
                Field::Mobile,
                &["MobilePhone", "Mobile Phone", "Handy", "Portable", "GSM"],
            ),
            (
                Field::Email,
                &[
                    "E-Mail",
                    "EmailID",
                    "Customer e-mail",
                    "Courriel",
                    "E-mailadres",
                ],
            ),
            (Field::Language, &["Sprache", "Langue", "Taal", "lang"]),
        ];
        for (f, names) in expected {
            for name in *names {
                assert_eq!(field(name), Some(*f), "{name}");
            }
        }
        assert_eq!(classify("ID").map(|c| c.1), Some(Rank::Generic));
        assert_eq!(classify("Vorname").map(|c| c.0), Some(Role::FirstName));
        assert_eq!(classify("last_name").map(|c| c.0), Some(Role::LastName));
        assert_eq!(
            classify("billing_first_name").map(|c| c.0),
            Some(Role::FirstName)
        );
        assert_eq!(classify("Tussenvoegsel").map(|c| c.0), Some(Role::Infix));
        // VAT numbers are not registration numbers.
        for vat in ["Btw-nummer", "VAT number", "USt-IdNr.", "Tax ID", "N° TVA"] {
            assert_eq!(field(vat), None, "{vat}");
        }
    }
}
