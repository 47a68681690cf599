//! Header matcher: which field (or name part) one header cell names.
//!
//! Owns matching a cell against the synonym tables (`header/synonyms.rs`:
//! per field and language, NL, EN, DE, FR) and the normalisation that
//! makes `Zipcode*`, `Town (s.ville)`, `billing_street`, `Billing City`,
//! `_address_postcode`, `ship-to_contact`, `Ort (Rechnungsadresse)` and
//! `E-Mail` match. [`classify`] looks at one cell and says what it names,
//! how strongly ([`Rank`]) and which address of the record it belongs to
//! ([`Level`]); choosing between columns of one header is
//! `mapping/resolve.rs`'s job, finding the header row is `preview.rs`'s.
//!
//! It must not look at values or at other cells: one cell in, one answer
//! out, so the run header can explain every decision by the cell alone.
//!
//! Matching, in order, stopping at the first hit:
//!
//! 1. the whole cell's key ([`header_key`]: letters and digits only,
//!    lower-cased, accents folded), so a table entry can name a column
//!    with its qualifier (`Name (Adressatentyp natürl. Person)`);
//! 2. the key after dropping `*` markers and a trailing `(…)`;
//! 3. the same key without leading level words (`billing`, `invoice`,
//!    `address`, `customer`, `shipping`, `ship to`, `delivery`,
//!    `Lieferadresse`, `afleveradres`, `bezorg…`) and trailing ones
//!    (`Postcode bezorgadres`), in any separator style (`_`, `-`, space,
//!    camelCase, `.`); a level word glued to the name is split off too
//!    (`Lieferort`, `Factuuradres`, `Bezoekadres`). After an address's
//!    level word a bare `Code` is its postcode (`Billing Code`);
//! 4. the text inside a trailing `(…)` (a technical name such as
//!    `s.code_client`), without a `x.` qualifier.
//!
//! A trailing `(…)` of level words only (`City (Shipping)`,
//! `Straße (Rechnungsadresse)`) sets the level of what the label names.

mod synonyms;

use std::sync::LazyLock;

use crate::model::field::Field;
use crate::util::text::comparison_key;
use synonyms::{ACCOUNT_WORDS, BILLING_WORDS, CONTACT_WORDS, SHIPPING_WORDS};

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

impl Role {
    /// Which level of a record a role is read from first (see
    /// [`Claim::preference`]).
    fn order(self) -> Order {
        match self {
            Role::FirstName | Role::Infix | Role::LastName | Role::Field(Field::Contact) => {
                Order::Person
            }
            Role::Field(
                Field::Name | Field::Address | Field::Postalcode | Field::City | Field::Country,
            ) => Order::Address,
            Role::Field(_) => Order::Account,
        }
    }
}

/// How a role ranks the levels ([`Claim::preference`]).
enum Order {
    /// The address on the invoice: billing, account, contact person.
    Address,
    /// The account's own phone, e-mail, code, ...: account, billing,
    /// contact person.
    Account,
    /// The person: the account's own (or its contact person), billing.
    Person,
}

/// How strongly a cell names its role; lower is stronger. When several
/// columns name one role, the strongest wins (ties are for `mapping/resolve.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// A specific synonym (`Klantnummer`, `Company`), maybe prefixed.
    Specific,
    /// A generic word (`ID`, `Nummer`, `Name` next to `Company`).
    Generic,
}

/// Which of a record's addresses (or persons) a column belongs to, from
/// its level words (`billing_`, `Shipping`, `(Lieferadresse)`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The billing / invoice address (`billing_city`, `Rechnungsadresse`,
    /// Magento's `_address_city`).
    Billing,
    /// The account itself: no level word, or `customer`, `default`, ...
    Account,
    /// The account's contact person: `contact_first_name`, `Contact Phone`.
    Contact,
    /// A shipping / delivery / visiting / postal address (`ship-to_`,
    /// `Lieferadresse`, `afleveradres`, `bezoekadres`).
    Shipping,
}

impl Level {
    /// Two level words together: shipping over billing over account
    /// (`customer_shipping_city` is a shipping column).
    fn and(self, other: Level) -> Level {
        match (self, other) {
            (Level::Shipping, _) | (_, Level::Shipping) => Level::Shipping,
            (Level::Billing, _) | (_, Level::Billing) => Level::Billing,
            (Level::Contact, _) | (_, Level::Contact) => Level::Contact,
            _ => Level::Account,
        }
    }

    /// The level's name in notes.
    pub fn name(self) -> &'static str {
        match self {
            Level::Billing => "billing",
            Level::Account => "account",
            Level::Contact => "contact person",
            Level::Shipping => "shipping",
        }
    }
}

/// What one header cell names ([`classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The field or name part.
    pub role: Role,
    /// A specific or a generic name.
    pub rank: Rank,
    /// Which address or person of the record.
    pub level: Level,
}

impl Claim {
    /// The order of preference between claims of one role, lower first:
    /// shipping columns last (even after generic names), then specific
    /// names before generic ones, then the level. For the address and
    /// the company name (what the invoice shows) the billing column, then
    /// the account's, then its contact person's; for the account's phone,
    /// e-mail, language, ... the account's, then billing, then contact
    /// person; for the person (first, last name, contact) the account's
    /// own or its contact person before the billing address's.
    pub fn preference(&self) -> (bool, Rank, u8) {
        let level = match (self.role.order(), self.level) {
            (_, Level::Shipping) => 3,
            (Order::Address, Level::Billing) => 0,
            (Order::Address, Level::Account) => 1,
            (Order::Address | Order::Account, Level::Contact) => 2,
            (Order::Account, Level::Account) => 0,
            (Order::Account, Level::Billing) => 1,
            (Order::Person, Level::Account | Level::Contact) => 0,
            (Order::Person, Level::Billing) => 1,
        };
        (self.level == Level::Shipping, self.rank, level)
    }
}

/// The comparison key of a header name: letters and digits only,
/// lowercased, accents folded, so case, accents, spaces, `_`, `-`, `.` and
/// other punctuation do not matter (`Invoice e-mail` and `InvoiceEmail`
/// share the key `invoiceemail`, `Télefoon` matches `Telefoon`).
pub fn header_key(s: &str) -> String {
    comparison_key(s)
}

/// What `cell` names, how strongly and at which level; `None` for
/// anything else. See the module doc for the order of matching.
pub fn classify(cell: &str) -> Option<Claim> {
    let whole = cell.trim().trim_start_matches('\u{feff}');
    if let Some((role, rank)) = lookup_key(&header_key(whole)) {
        return Some(Claim {
            role,
            rank,
            level: Level::Account,
        });
    }
    let (label, inner) = split_label(cell);
    // `Address (2)` is the second address line, not the address.
    if inner.is_some_and(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit())) {
        return lookup_words(&words(whole));
    }
    // `City (Shipping)`, `Straße (Rechnungsadresse)`: the parentheses
    // say which address.
    let inner_level = inner.and_then(|text| level_of_words(&words(text)));
    if let Some(mut claim) = lookup_words(&words(label)) {
        if let Some(level) = inner_level {
            claim.level = claim.level.and(level);
        }
        return Some(claim);
    }
    // `s.code_client`, `partner.zip`: the technical name after the dot.
    // Words in parentheses are a remark (`Bemerkung (Telefon)`), not a name.
    let inner = inner.filter(|i| i.contains(['.', '_']))?;
    let technical = inner.rsplit_once('.').map_or(inner, |(_, name)| name);
    lookup_words(&words(technical))
}

/// The level of a word, if it is a level word.
fn level_word(word: &str) -> Option<Level> {
    if SHIPPING_WORDS.contains(&word) {
        Some(Level::Shipping)
    } else if BILLING_WORDS.contains(&word) {
        Some(Level::Billing)
    } else if CONTACT_WORDS.contains(&word) {
        Some(Level::Contact)
    } else if ACCOUNT_WORDS.contains(&word) {
        Some(Level::Account)
    } else {
        None
    }
}

/// The level named by `words` when every one is a level word (shipping
/// over billing over account), else `None`.
fn level_of_words(words: &[String]) -> Option<Level> {
    if words.is_empty() {
        return None;
    }
    let mut level = Level::Account;
    for word in words {
        level = level.and(level_word(word)?);
    }
    Some(level)
}

/// Matches the whole key, then without leading and trailing level words.
fn lookup_words(words: &[String]) -> Option<Claim> {
    for start in 0..words.len() {
        let prefix = level_of_words(&words[..start]);
        if start > 0 && prefix.is_none() {
            return None;
        }
        for end in (start + 1..=words.len()).rev() {
            // Trailing level words name an address (`Postcode
            // bezorgadres`), and only after a name that is no level word
            // itself (Magento's `_address_default_billing_` is a flag).
            let suffix = level_of_words(&words[end..]);
            if end < words.len()
                && (suffix.is_none() || level_word(&words[start..end].concat()).is_some())
            {
                continue;
            }
            let level = prefix
                .unwrap_or(Level::Account)
                .and(suffix.unwrap_or(Level::Account));
            let key: String = words[start..end].concat();
            // `Billing Code`, `Shipping Code`: an address's code is its
            // postcode, not the customer's.
            let address_level = words[..start]
                .iter()
                .chain(&words[end..])
                .any(|w| matches!(level_word(w), Some(Level::Billing | Level::Shipping)));
            if address_level && key == "code" {
                return Some(Claim {
                    role: Role::Field(Field::Postalcode),
                    rank: Rank::Specific,
                    level,
                });
            }
            if let Some((role, rank)) = lookup_key(&key) {
                // `defaultBillingAddress.id`, `id_address`, `Invoice
                // number`: an address's or invoice's number, not the
                // customer's code.
                if role == Role::Field(Field::CustomerCode)
                    && matches!(level, Level::Billing | Level::Shipping)
                {
                    return None;
                }
                return Some(Claim { role, rank, level });
            }
            if start == 0 && end == 1 && words.len() == 1 {
                return glued(&key);
            }
        }
    }
    None
}

/// A single word that starts with a level word glued to a known name:
/// `Lieferort`, `Rechnungsstraße`, `Factuuradres`, `Bezoekadres`. Only
/// billing and shipping words, and only a specific name after them (a
/// generic `nummer` after `factuur` is an invoice number, not a code).
fn glued(key: &str) -> Option<Claim> {
    for (words, level) in [
        (BILLING_WORDS, Level::Billing),
        (SHIPPING_WORDS, Level::Shipping),
    ] {
        for word in words.iter().filter(|w| w.len() >= 4) {
            let Some(rest) = key.strip_prefix(word) else {
                continue;
            };
            if rest.len() < 3 {
                continue;
            }
            if let Some((role, Rank::Specific)) = lookup_key(rest) {
                if role == Role::Field(Field::CustomerCode) {
                    continue;
                }
                return Some(Claim {
                    role,
                    rank: Rank::Specific,
                    level,
                });
            }
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
            Some(Claim {
                role: Role::Field(f),
                ..
            }) => Some(f),
            _ => None,
        }
    }

    /// The field and level `cell` names.
    fn level(cell: &str) -> Option<(Field, Level)> {
        classify(cell).and_then(|c| match c.role {
            Role::Field(f) => Some((f, c.level)),
            _ => None,
        })
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
            Some(Claim {
                role: Role::Field(Field::Address),
                rank: Rank::Specific,
                level: Level::Billing
            })
        );
        assert_eq!(field("Billing City"), Some(Field::City));
        assert_eq!(field("BillingCity"), Some(Field::City));
        assert_eq!(field("_address_postcode"), Some(Field::Postalcode));
        assert_eq!(field("billing_address_1"), Some(Field::Address));
        assert_eq!(field("billing_email"), Some(Field::Email));
        assert_eq!(field("Invoice email"), Some(Field::InvoiceEmail));
        assert_eq!(field("Customer e-mail"), Some(Field::Email));
        assert_eq!(level("shipping_city"), Some((Field::City, Level::Shipping)));
        assert_eq!(
            level("Delivery Postcode"),
            Some((Field::Postalcode, Level::Shipping))
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
        assert_eq!(classify("ID").map(|c| c.rank), Some(Rank::Generic));
        assert_eq!(classify("Vorname").map(|c| c.role), Some(Role::FirstName));
        assert_eq!(classify("last_name").map(|c| c.role), Some(Role::LastName));
        assert_eq!(
            classify("billing_first_name").map(|c| c.role),
            Some(Role::FirstName)
        );
        assert_eq!(classify("Tussenvoegsel").map(|c| c.role), Some(Role::Infix));
        // VAT numbers are not registration numbers.
        for vat in ["Btw-nummer", "VAT number", "USt-IdNr.", "Tax ID", "N° TVA"] {
            assert_eq!(field(vat), None, "{vat}");
        }
    }

    #[test]
    fn level_words_in_any_separator_style() {
        use Field::{Address, City, Contact, CustomerCode, Email, Postalcode};
        use Level::{Account, Billing, Shipping};
        let cases: &[(&str, Field, Level)] = &[
            ("ship-to_contact", Contact, Shipping),
            ("Ship To City", City, Shipping),
            ("shipToPostcode", Postalcode, Shipping),
            ("ShippingStreet", Address, Shipping),
            ("Shipping Address", Address, Shipping),
            ("delivery_zip", Postalcode, Shipping),
            ("Lieferadresse Ort", City, Shipping),
            ("Lieferort", City, Shipping),
            ("Straße (Lieferadresse)", Address, Shipping),
            ("Ort (Rechnungsadresse)", City, Billing),
            ("Rechnungsstraße", Address, Billing),
            ("Afleveradres", Address, Shipping),
            ("afleveradres_plaats", City, Shipping),
            ("Postcode bezorgadres", Postalcode, Shipping),
            ("bezorg_plaats", City, Shipping),
            ("Bezoekadres", Address, Shipping),
            ("Factuuradres", Address, Billing),
            ("City (Shipping)", City, Shipping),
            ("Billing City", City, Billing),
            ("billingCity", City, Billing),
            ("defaultBillingAddress.zipcode", Postalcode, Billing),
            ("defaultShippingAddress.city", City, Shipping),
            ("_address_city", City, Billing),
            ("customer_email", Email, Account),
            ("City", City, Account),
            ("Billing Code", Postalcode, Billing),
            ("Shipping Code", Postalcode, Shipping),
            ("billing_code", Postalcode, Billing),
            ("Billing Attention", Contact, Billing),
            ("Shipping Attention", Contact, Shipping),
        ];
        for (cell, f, l) in cases {
            assert_eq!(level(cell), Some((*f, *l)), "{cell}");
        }
        // A code of the customer stays one.
        assert_eq!(level("Customer Code"), Some((CustomerCode, Account)));
        assert_eq!(level("Code"), Some((CustomerCode, Account)));
        // An address's or invoice's number is not the customer's code.
        assert_eq!(field("defaultBillingAddress.id"), None);
        assert_eq!(field("id_address"), None);
        assert_eq!(field("Invoice Number"), None);
        assert_eq!(level("id_customer"), Some((CustomerCode, Account)));
        // Words in parentheses are a remark, not a name.
        assert_eq!(field("Bemerkung (Telefon)"), None);
        assert_eq!(field("Kreditlimit (Debitor)"), None);
        assert_eq!(field("Address (2)"), None);
        assert_eq!(field("_address_default_billing_"), None);
        // A generic name glued to a level word is not taken.
        assert_eq!(field("Factuurnummer"), None);
        assert_eq!(field("Invoicenumber"), None);
    }

    #[test]
    fn issue_21_names_are_known() {
        assert_eq!(field("Display Name"), Some(Field::Name));
        assert_eq!(field("DefaultLanguage"), Some(Field::Language));
        assert_eq!(field("default_lang"), Some(Field::Language));
        assert_eq!(
            field("DefaultLanguage (s.default_lang)"),
            Some(Field::Language)
        );
        assert_eq!(
            classify("Name (Adressatentyp natürl. Person)").map(|c| c.role),
            Some(Role::LastName)
        );
        assert_eq!(
            classify("Vorname (Adressatentyp natürl. Person)").map(|c| c.role),
            Some(Role::FirstName)
        );
        assert_eq!(
            classify("Name (Adressatentyp Unternehmen)").map(|c| (c.role, c.rank)),
            Some((Role::Field(Field::Name), Rank::Specific))
        );
    }

    #[test]
    fn the_account_person_comes_before_the_billing_one_and_addresses_the_other_way() {
        let pref = |cell: &str| classify(cell).unwrap().preference();
        assert!(pref("first_name") < pref("billing_first_name"));
        assert!(pref("Phone") < pref("Billing Phone"));
        assert!(pref("Phone") < pref("Contact Phone"));
        assert!(pref("Email") < pref("billing_email"));
        assert!(pref("billing_company") < pref("company"));
        assert!(pref("billing_first_name") < pref("shipping_first_name"));
        assert!(pref("Contact") < pref("Billing Attention"));
        assert!(pref("billing_city") < pref("city"));
        assert!(pref("city") < pref("shipping_city"));
        // A shipping column comes after even a generic name.
        assert!(pref("Name") < pref("Shipping Company"));
        assert!(pref("Company") < pref("Name"));
    }
}
