//! The words the header matcher knows: each role's names in Dutch (and
//! Flemish), English, German and French ([`SYNONYMS`]), the generic names
//! that name a field only when nothing more specific does ([`GENERIC`]),
//! and the prefix words that say which address a column belongs to.
//!
//! Names are written as exports spell them, not folded: the matcher
//! compares them through [`header_key`](super::header_key), so a name can
//! be copied from a file as it is.
//!
//! It must hold words only: how a cell is matched is `header.rs`'s. A key
//! must name one role only (a test checks it), or which role a cell names
//! would depend on the order of the tables.

use super::Role;
use crate::model::field::Field;

/// A role's names, per language.
pub struct Synonyms {
    /// The role named.
    pub role: Role,
    /// Dutch (and Flemish) names.
    pub nl: &'static [&'static str],
    /// English names, including common technical spellings.
    pub en: &'static [&'static str],
    /// German names.
    pub de: &'static [&'static str],
    /// French names.
    pub fr: &'static [&'static str],
}

const fn syn(
    role: Role,
    nl: &'static [&'static str],
    en: &'static [&'static str],
    de: &'static [&'static str],
    fr: &'static [&'static str],
) -> Synonyms {
    Synonyms {
        role,
        nl,
        en,
        de,
        fr,
    }
}

/// Specific names per role and language, compared through [`header_key`](super::header_key).
/// A key appears under one role only (a test checks it). Sources:
/// `accounting-exports.md` in the shared docs, and the export styles of
/// issue 13.
pub const SYNONYMS: &[Synonyms] = &[
    syn(
        Role::Field(Field::CustomerCode),
        &[
            "Code",
            "Klantcode",
            "Klantnummer",
            "Klantnr",
            "Klant-ID",
            "Debiteurnummer",
            "Debiteurnr",
            "Debiteurcode",
            "Debiteur",
            "Relatiecode",
            "Relatienummer",
            "Relatienr",
            "Referentie",
            "fldRelatiecode",
        ],
        &[
            "CustomerCode",
            "Customer ID",
            "Customer number",
            "Customer no",
            "Customer nr",
            "Customer reference",
            "Client ID",
            "Client code",
            "Client number",
            "Account number",
            "Account code",
            "Contact code",
            "Debtor code",
            "Debtor number",
            "DebtorCode",
            "Reference",
        ],
        &[
            "Kundennummer",
            "Kundennr",
            "Kunden-Nr.",
            "Kundencode",
            "Kunden-ID",
            "Konto",
            "Kontonummer",
            "Debitorennummer",
            "Debitorenkonto",
            "Debitor",
        ],
        &[
            "Code client",
            "Numéro client",
            "Numéro de client",
            "N° client",
            "No client",
            "Référence client",
            "Réf client",
            "Identifiant client",
            "Numéro de compte",
            "Compte client",
        ],
    ),
    syn(
        Role::Field(Field::Name),
        &[
            "Bedrijfsnaam",
            "Bedrijf",
            "Naam bedrijf",
            "Klantnaam",
            "Relatienaam",
            "Debiteurnaam",
            "Organisatie",
            "Organisatienaam",
            "Handelsnaam",
            "fldNaam",
        ],
        &[
            "Company",
            "Company name",
            "CompanyName",
            "Organization",
            "Organisation",
            "Organization name",
            "Organisation name",
            "Customer name",
            "Client name",
            "Business name",
            "Account name",
            "Display name",
        ],
        &[
            "Firma",
            "Firmenname",
            "Unternehmen",
            "Unternehmensname",
            "Kundenname",
            "Firmierung",
            // DATEV Debitoren/Kreditoren: the company's name, and the name
            // of an account of unknown type (the person's is a last name).
            "Name (Adressatentyp Unternehmen)",
            "Name (Adressattyp Unternehmen)",
            "Name (Adressatentyp keine Angabe)",
        ],
        &[
            "Raison sociale",
            "Société",
            "Entreprise",
            "Nom de l'entreprise",
            "Nom de la société",
            "Nom du client",
            "Nom client",
            "Nom de l'organisation",
        ],
    ),
    syn(
        Role::Field(Field::Address),
        &[
            "Adres",
            "Straat",
            "Straatnaam",
            "Adres 1",
            "Adresregel 1",
            "Straat en huisnummer",
            "Straatnaam en huisnummer",
            "Straatnaam + huisnummer",
            "Straat en nummer",
            "fldAdres",
        ],
        &[
            "Address",
            "Street",
            "Street address",
            "Address 1",
            "Address1",
            "Address line 1",
            "AddressLine1",
            "Street 1",
            "Street name",
        ],
        &[
            "Straße",
            "Adresse",
            "Anschrift",
            "Straße und Hausnummer",
            "Straße/Hausnummer",
            "Strasse Hausnummer",
            "Adresszeile 1",
        ],
        &[
            "Rue",
            "Adresse 1",
            "Adresse ligne 1",
            "Ligne d'adresse 1",
            "Voie",
            "Numéro et rue",
        ],
    ),
    syn(
        Role::Field(Field::Postalcode),
        &["Postcode", "fldPostcode", "PC"],
        &[
            "Postalcode",
            "Postal code",
            "Post code",
            "Zip",
            "Zipcode",
            "Zip code",
            "Zip/Postal code",
            "Postal code/Zip code",
            "Postal/Zip code",
            "Postcode/Zip",
        ],
        &["PLZ", "Postleitzahl"],
        &["Code postal", "CP"],
    ),
    syn(
        Role::Field(Field::City),
        &[
            "Plaats",
            "Plaatsnaam",
            "Woonplaats",
            "Vestigingsplaats",
            "Stad",
            "Gemeente",
            "fldPlaats",
        ],
        &["City", "Town", "Town/City", "City/Town", "Locality"],
        &["Ort", "Stadt", "Wohnort"],
        &["Ville", "Localité", "Commune"],
    ),
    syn(
        Role::Field(Field::Country),
        &["Land", "Landcode", "LandID", "fldLandID"],
        &[
            "Country",
            "Country code",
            "CountryCode",
            "Country/Region",
            "Country name",
            "country_id",
            "Country/Country Code",
            "Country ISO",
            "country_iso",
        ],
        &["Ländercode", "Landeskennzeichen", "Staat"],
        &["Pays", "Code pays"],
    ),
    syn(
        Role::Field(Field::Contact),
        &[
            "Contactpersoon",
            "Contactnaam",
            "Naam contactpersoon",
            "T.a.v.",
            "Ter attentie van",
            "fldContactpersoon",
        ],
        &[
            "Contact",
            "Contact person",
            "Contact name",
            "Attention",
            "Attn",
            "Primary contact",
        ],
        &["Ansprechpartner", "Kontaktperson", "Kontakt", "Zu Händen"],
        &[
            "Interlocuteur",
            "Personne de contact",
            "À l'attention de",
            "Nom du contact",
        ],
    ),
    syn(
        Role::Field(Field::Phone),
        &[
            "Telefoon",
            "Tel",
            "Tel.nr.",
            "Telefoonnummer",
            "Telefoon werk",
            "fldTelefoon",
        ],
        &[
            "Phone",
            "Telephone",
            "Phone number",
            "Telephone number",
            "Work phone",
            "Business phone",
            "Office phone",
            "Landline",
            "Phone (work)",
            "BusPhone",
        ],
        &["Telefon", "Telefonnummer", "Telefon geschäftlich"],
        &["Téléphone", "Tél", "Numéro de téléphone", "Téléphone fixe"],
    ),
    syn(
        Role::Field(Field::Mobile),
        &[
            "Mobiel",
            "Mobielnummer",
            "Mobiel nummer",
            "Mobiele telefoon",
            "Telefoonnummer mobiel",
            "GSM",
            "fldMobieleTelefoon",
        ],
        &[
            "Mobile",
            "Mobile phone",
            "MobilePhone",
            "Mobile number",
            "Cell",
            "Cell phone",
            "Cellphone",
            "Mobile telephone",
            "MobPhone",
            "phone_mobile",
        ],
        &[
            "Mobil",
            "Mobiltelefon",
            "Mobilnummer",
            "Handy",
            "Telefon mobil",
        ],
        &[
            "Portable",
            "Téléphone portable",
            "Tél portable",
            "Téléphone mobile",
        ],
    ),
    syn(
        Role::Field(Field::Email),
        &["E-mailadres", "Emailadres", "fldEmail"],
        &[
            "Email",
            "Email address",
            "Mail",
            "EmailID",
            "Email ID",
            "Customer e-mail",
            "E-mail address",
        ],
        &["E-Mail-Adresse", "Mailadresse"],
        &[
            "Courriel",
            "Adresse e-mail",
            "Adresse électronique",
            "Mél",
            "Adresse mail",
        ],
    ),
    syn(
        Role::Field(Field::InvoiceEmail),
        &[
            "E-mail facturen",
            "E-mailadres facturen",
            "E-mail factuur",
            "Factuur e-mail",
            "Factuur e-mailadres",
            "Facturatie e-mail",
            "FactuurEmailadres",
            "fldFactuurEmailAdres",
        ],
        &[
            "InvoiceEmail",
            "Invoice e-mail address",
            "Accounts email",
            "Send invoices to email",
        ],
        &[
            "Rechnungs-E-Mail",
            "E-Mail Rechnung",
            "E-Mail für Rechnungen",
        ],
        &[
            "E-mail de facturation",
            "Courriel de facturation",
            "Email facturation",
            "Adresse e-mail de facturation",
        ],
    ),
    syn(
        Role::Field(Field::RegistrationNumber),
        &[
            "KvK",
            "KvK-nummer",
            "Nummer KvK",
            "Kamer van Koophandel",
            "KBO",
            "KBO-nummer",
            "Ondernemingsnummer",
            "fldKvkNummer",
        ],
        &[
            "RegistrationNumber",
            "Registration number",
            "Company registration number",
            "Chamber of commerce",
            "Chamber of commerce number",
            "CoC number",
            "company_registry",
        ],
        &[
            "Handelsregisternummer",
            "Handelsregister",
            "Registernummer",
            "HRB",
        ],
        &[
            "SIRET",
            "SIREN",
            "Numéro SIRET",
            "RCS",
            "Numéro d'entreprise",
            "Numéro BCE",
        ],
    ),
    syn(
        Role::Field(Field::Language),
        &["Taal", "Taalcode", "Voorkeurstaal"],
        &[
            "Language",
            "Language code",
            "Lang",
            "Locale",
            "Preferred language",
            "Default language",
            "DefaultLanguage",
            "default_lang",
        ],
        &["Sprache", "Sprachcode", "Korrespondenzsprache"],
        &["Langue", "Code langue"],
    ),
    syn(
        Role::FirstName,
        &["Voornaam", "Roepnaam"],
        &["First name", "Firstname", "Given name", "Forename"],
        &["Vorname"],
        &["Prénom"],
    ),
    syn(
        Role::Infix,
        &["Tussenvoegsel", "Voorvoegsel", "Tussenvoegsels"],
        &["Infix", "Middle name"],
        &["Namenszusatz", "Namensvorsatz"],
        &["Particule"],
    ),
    syn(
        Role::LastName,
        &["Achternaam", "Familienaam"],
        &["Last name", "Lastname", "Surname", "Family name"],
        &[
            "Nachname",
            "Familienname",
            "Name (Adressatentyp natürl. Person)",
            "Name (Adressattyp natürl. Person)",
        ],
        &["Nom de famille"],
    ),
];

/// Generic names: a field's when no specific synonym of it is in the
/// header (`Name` is the customer's name unless there is a `Company`).
pub const GENERIC: &[(Field, &[&str])] = &[
    (
        Field::CustomerCode,
        // `Contact ID`, `Account ID`: often the exporting program's own
        // record number, weaker than a `Customer number` beside it.
        &[
            "ID",
            "Nummer",
            "Number",
            "Nr",
            "No",
            "Numéro",
            "Ref",
            "Contact ID",
            "Account ID",
        ],
    ),
    (Field::Name, &["Name", "Naam", "Nom"]),
];

/// Level words of the billing / invoice address: `billing_city`,
/// `Ort (Rechnungsadresse)`, Magento's `_address_city`.
pub(super) const BILLING_WORDS: &[&str] = &[
    "billing",
    "bill",
    "invoice",
    "invoicing",
    "factuur",
    "facturatie",
    "factuuradres",
    "facturation",
    "rechnung",
    "rechnungs",
    "rechnungsadresse",
    "address",
    "adres",
    "adresse",
    "addr",
];
/// Level words of the account itself (no different rank than none):
/// `customer_email`, `DefaultLanguage`.
pub(super) const ACCOUNT_WORDS: &[&str] = &[
    "customer", "client", "klant", "kunde", "kunden", "primary", "main", "default", "account",
];
/// Level words of the account's contact person: `contact_first_name`,
/// `Contact Phone` (the person's phone comes after the company's).
pub(super) const CONTACT_WORDS: &[&str] = &["contact", "contactperson", "contactpersoon"];
/// Level words of a shipping, delivery, visiting or postal address.
pub(super) const SHIPPING_WORDS: &[&str] = &[
    "shipping",
    "ship",
    "shipto",
    "delivery",
    "deliver",
    "lever",
    "aflever",
    "afleveradres",
    "bezorg",
    "bezorgadres",
    "bezorging",
    "bezoek",
    "bezoekadres",
    "post",
    "postal",
    "postadres",
    "liefer",
    "lieferadresse",
    "livraison",
    "visit",
    "visiting",
    "secondary",
    "to",
];

#[cfg(test)]
mod tests {
    use super::{GENERIC, SYNONYMS};
    use crate::input::header::all_keys;

    #[test]
    fn a_key_names_one_role_only() {
        let keys = all_keys();
        for (i, (role, key)) in keys.iter().enumerate() {
            for (other, k) in &keys[i + 1..] {
                assert!(
                    k != key || other == role,
                    "{key} names {role:?} and {other:?}"
                );
            }
        }
    }

    #[test]
    fn no_list_names_a_name_twice() {
        let lists = SYNONYMS
            .iter()
            .flat_map(|s| [s.nl, s.en, s.de, s.fr])
            .chain(GENERIC.iter().map(|(_, names)| *names));
        for names in lists {
            for (i, name) in names.iter().enumerate() {
                assert!(!names[i + 1..].contains(name), "{name} twice");
            }
        }
    }
}
