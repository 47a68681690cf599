//! Issue 21: exports of other products, as their users hand them over,
//! mapped with no flags. For each fixture of `tests/data/` in a product's
//! style, the table below says what a person would map (field -> column,
//! in mapping-file syntax) and whether the tool maps exactly that; the
//! test asserts the mapping the tool prints, field by field, and measures
//! the share of a person's fields mapped (the goal: 90% or more, and no
//! file with a customer-code column refused). A few fixtures are then
//! imported and the values the sandbox received are checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use notify_import::sandbox::StoredCustomer;

use crate::harness::*;

/// One field a person would map: the field, the mapping-file value a
/// person would write, and whether the tool maps exactly that.
type Expected = (&'static str, &'static str, bool);

/// The fixtures and what a person would map in each. `false` marks a
/// field the tool does not map as a person would (the misses counted).
const FIXTURES: &[(&str, &[Expected])] = &[
    (
        "shopware-customers.csv",
        &[
            ("CustomerCode", r#""customerNumber""#, true),
            (
                "Name",
                r#"{ column = "defaultBillingAddress.company", else = ["firstName", "lastName"] }"#,
                true,
            ),
            ("Address", r#""defaultBillingAddress.street""#, true),
            ("Postalcode", r#""defaultBillingAddress.zipcode""#, true),
            ("City", r#""defaultBillingAddress.city""#, true),
            ("Country", r#""defaultBillingAddress.country.iso""#, true),
            ("Contact", r#"["firstName", "lastName"]"#, true),
            ("Phone", r#""defaultBillingAddress.phoneNumber""#, true),
            ("Email", r#""email""#, true),
        ],
    ),
    (
        "magento-customer-composite.csv",
        &[
            // No customer number in the export: a person would take the
            // e-mail (unique per website); the tool lists it as a
            // candidate but does not choose a code by itself.
            ("CustomerCode", r#""email""#, false),
            (
                "Name",
                r#"{ column = "_address_company", else = ["firstname", "middlename", "lastname"] }"#,
                true,
            ),
            ("Address", r#""_address_street""#, true),
            ("Postalcode", r#""_address_postcode""#, true),
            ("City", r#""_address_city""#, true),
            ("Country", r#""_address_country_id""#, true),
            (
                "Contact",
                r#"["firstname", "middlename", "lastname"]"#,
                true,
            ),
            ("Phone", r#""_address_telephone""#, true),
            ("Email", r#""email""#, true),
        ],
    ),
    (
        "datev-debitoren-extf.csv",
        &[
            ("CustomerCode", r#""Konto""#, true),
            (
                "Name",
                r#"{ column = "Name (Adressatentyp Unternehmen)", else = ["Vorname (Adressatentyp natürl. Person)", "Namensvorsatz", "Name (Adressatentyp natürl. Person)"] }"#,
                true,
            ),
            (
                "Address",
                r#"{ column = "Straße (Rechnungsadresse)", else = ["Straße"] }"#,
                true,
            ),
            (
                "Postalcode",
                r#"{ column = "Postleitzahl (Rechnungsadresse)", else = ["Postleitzahl"] }"#,
                true,
            ),
            (
                "City",
                r#"{ column = "Ort (Rechnungsadresse)", else = ["Ort"] }"#,
                true,
            ),
            (
                "Country",
                r#"{ column = "Land (Rechnungsadresse)", else = ["Land"] }"#,
                true,
            ),
            ("Contact", r#""Ansprechpartner""#, true),
            ("Phone", r#""Telefon""#, true),
            ("Email", r#""E-Mail""#, true),
            ("Language", r#""Sprache""#, true),
        ],
    ),
    (
        "zoho-books-contacts.csv",
        &[
            ("CustomerCode", r#""Customer Number""#, true),
            (
                "Name",
                r#"{ column = "Display Name", else = ["First Name", "Last Name"] }"#,
                true,
            ),
            ("Address", r#""Billing Address""#, true),
            ("Postalcode", r#""Billing Code""#, true),
            ("City", r#""Billing City""#, true),
            ("Country", r#""Billing Country""#, true),
            ("Contact", r#"["First Name", "Last Name"]"#, true),
            ("Phone", r#""Phone""#, true),
            ("Mobile", r#""MobilePhone""#, true),
            ("Email", r#""EmailID""#, true),
            ("Language", r#""Language""#, true),
        ],
    ),
    (
        "wave-customers.csv",
        &[
            ("CustomerCode", r#""account_number""#, true),
            (
                "Name",
                r#"{ column = "customer_name", else = ["contact_first_name", "contact_last_name"] }"#,
                true,
            ),
            ("Address", r#""address_line_1""#, true),
            ("Postalcode", r#""postal_zip_code""#, true),
            ("City", r#""city""#, true),
            ("Country", r#""country""#, true),
            (
                "Contact",
                r#"["contact_first_name", "contact_last_name"]"#,
                true,
            ),
            ("Phone", r#""phone""#, true),
            ("Mobile", r#""mobile""#, true),
            ("Email", r#""email""#, true),
        ],
    ),
    (
        "freshbooks-clients.csv",
        &[
            ("CustomerCode", r#""ClientID""#, true),
            (
                "Name",
                r#"{ column = "Organization", else = ["FirstName", "LastName"] }"#,
                true,
            ),
            ("Address", r#""Street""#, true),
            ("Postalcode", r#""PostalCode""#, true),
            ("City", r#""City""#, true),
            ("Country", r#""Country""#, true),
            ("Contact", r#"["FirstName", "LastName"]"#, true),
            ("Phone", r#""BusPhone""#, true),
            ("Mobile", r#""MobPhone""#, true),
            ("Email", r#""Email""#, true),
            ("Language", r#""Language""#, true),
        ],
    ),
    (
        "invoice-ninja-clients.csv",
        &[
            ("CustomerCode", r#""Number""#, true),
            (
                "Name",
                r#"{ column = "Name", else = ["First Name", "Last Name"] }"#,
                true,
            ),
            ("Address", r#""Street""#, true),
            ("Postalcode", r#""Postal Code""#, true),
            ("City", r#""City""#, true),
            ("Country", r#""Country""#, true),
            ("Contact", r#"["First Name", "Last Name"]"#, true),
            ("Phone", r#""Phone""#, true),
            ("Email", r#""Email""#, true),
            // Invoice Ninja's "ID Number" is the company's registration
            // number; elsewhere an "ID number" is anything, so it is not
            // a known name.
            ("RegistrationNumber", r#""ID Number""#, false),
        ],
    ),
    (
        "odoo-res-partner.csv",
        &[
            ("CustomerCode", r#""ref""#, true),
            (
                "Name",
                r#"{ column = "company_name", else = ["name"] }"#,
                true,
            ),
            ("Address", r#""street""#, true),
            ("Postalcode", r#""zip""#, true),
            ("City", r#""city""#, true),
            ("Country", r#""country_id""#, true),
            ("Phone", r#""phone""#, true),
            ("Mobile", r#""mobile""#, true),
            ("Email", r#""email""#, true),
            ("RegistrationNumber", r#""company_registry""#, true),
            ("Language", r#""lang""#, true),
        ],
    ),
    (
        "dolibarr-thirdparties.csv",
        &[
            ("CustomerCode", r#""CustomerCode (s.code_client)""#, true),
            ("Name", r#""ThirdPartyName (s.nom)""#, true),
            ("Address", r#""Address (s.address)""#, true),
            ("Postalcode", r#""Zip (s.zip)""#, true),
            ("City", r#""Town (s.town)""#, true),
            ("Country", r#""CountryCode (c.code)""#, true),
            ("Phone", r#""Phone (s.phone)""#, true),
            ("Email", r#""Email (s.email)""#, true),
            ("RegistrationNumber", r#""ProfId1 (s.siren)""#, true),
            ("Language", r#""DefaultLanguage (s.default_lang)""#, true),
        ],
    ),
    (
        "prestashop-addresses.csv",
        &[
            ("CustomerCode", r#""Customer ID""#, true),
            (
                "Name",
                r#"{ column = "Company", else = ["First name*", "Last name*"] }"#,
                true,
            ),
            ("Address", r#""Address 1*""#, true),
            ("Postalcode", r#""Zip/postal code*""#, true),
            ("City", r#""City*""#, true),
            ("Country", r#""Country*""#, true),
            ("Contact", r#"["First name*", "Last name*"]"#, true),
            ("Phone", r#""Phone""#, true),
            ("Mobile", r#""Mobile phone""#, true),
            ("Email", r#""Customer e-mail*""#, true),
        ],
    ),
    (
        "exact-online-relaties.csv",
        &[
            ("CustomerCode", r#""Code""#, true),
            ("Name", r#""Naam""#, true),
            ("Address", r#""Adres""#, true),
            ("Postalcode", r#""Postcode""#, true),
            ("City", r#""Plaats""#, true),
            ("Country", r#""Land""#, true),
            ("Contact", r#""Contactpersoon""#, true),
            ("Phone", r#""Telefoon""#, true),
            ("Email", r#""E-mail""#, true),
            ("RegistrationNumber", r#""KvK-nummer""#, true),
            ("Language", r#""Taal""#, true),
        ],
    ),
];

/// A fixture of `tests/data/` copied to the scratch directory.
fn data(s: &Scratch, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let to = s.path(name);
    std::fs::copy(from, &to).unwrap();
    to
}

/// The mapping `notify-import mapping FILE` prints: field -> value, the
/// mapped lines of the mapping file (comments left out).
fn printed_mapping(file: &Path) -> BTreeMap<String, String> {
    let out = notify_import().arg("mapping").arg(file).output().unwrap();
    assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (field, rest) = l.split_once(" = ").unwrap();
            let value = rest.rsplit_once("  # from ").map_or(rest, |(v, _)| v);
            (field.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn exports_of_other_products_map_as_a_person_would() {
    let s = Scratch::new();
    let (mut expected_total, mut mapped_total) = (0, 0);
    let mut figures = Vec::new();
    for (name, expected) in FIXTURES {
        let input = data(&s, name);
        let printed = printed_mapping(&input);
        let mut mapped = 0;
        for &(field, value, tool_maps) in *expected {
            let got = printed.get(field).map(String::as_str);
            if tool_maps {
                assert_eq!(got, Some(value), "{name}: {field}\n{printed:#?}");
                mapped += 1;
            } else {
                assert_ne!(got, Some(value), "{name}: {field} is mapped now: mark it");
            }
        }
        // Nothing mapped beyond what a person would map.
        for field in printed.keys() {
            assert!(
                expected.iter().any(|(f, _, _)| f == field),
                "{name}: {field} = {} is not what a person would map",
                printed[field]
            );
        }
        // A file with a code column imports (no file-level refusal).
        let has_code = expected
            .iter()
            .any(|&(f, _, maps)| f == "CustomerCode" && maps);
        let results_path = s.path(&format!("{name}.results.csv"));
        let out = validate(
            &input,
            &[
                "--results",
                results_path.to_str().unwrap(),
                "--errors",
                s.path(&format!("{name}.errors.csv")).to_str().unwrap(),
            ],
        );
        if has_code {
            assert_exit(&out, 0);
        } else {
            assert_exit(&out, 2);
        }
        figures.push(format!("{name}: {mapped}/{}", expected.len()));
        expected_total += expected.len();
        mapped_total += mapped;
    }
    let share = mapped_total as f64 / expected_total as f64;
    eprintln!(
        "mapped with no flags: {mapped_total}/{expected_total} ({:.1}%)\n{}",
        share * 100.0,
        figures.join("\n")
    );
    assert!(share >= 0.9, "{mapped_total}/{expected_total}");
}

/// Imports fixture `name` with no flags; the customers the sandbox holds.
fn imported(s: &Scratch, name: &str, rows: usize) -> BTreeMap<String, StoredCustomer> {
    let sb = sandbox();
    let input = data(s, name);
    let results_path = s.path(&format!("{name}.import.csv"));
    let out = import(
        &sb,
        &input,
        &[
            "--results",
            results_path.to_str().unwrap(),
            "--errors",
            s.path(&format!("{name}.import-errors.csv"))
                .to_str()
                .unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let got = by_code(&sb);
    assert_eq!(got.len(), rows, "{name}");
    got
}

fn get(c: &StoredCustomer, f: fn(&StoredCustomer) -> &Option<String>) -> &str {
    f(c).as_deref().unwrap_or("")
}

#[test]
fn a_datev_file_sends_the_billing_address_where_filled_and_the_person_as_name() {
    let s = Scratch::new();
    let got = imported(&s, "datev-debitoren-extf.csv", 4);
    let company = &got["10001"];
    assert_eq!(get(company, |c| &c.name), "Metzgerei Hoffmann GmbH");
    assert_eq!(get(company, |c| &c.address), "Marktplatz 3");
    assert_eq!(get(company, |c| &c.city), "München");
    assert_eq!(get(company, |c| &c.contact), "Frau Hoffmann");
    // A private person: first name, name prefix and last name.
    assert_eq!(get(&got["10002"], |c| &c.name), "Eva von Lang");
    // The Rechnungsadresse where it is filled.
    let billed = &got["10003"];
    assert_eq!(get(billed, |c| &c.address), "Avenue Louise 200");
    assert_eq!(get(billed, |c| &c.postalcode), "1050");
    assert_eq!(get(billed, |c| &c.country), "BE");
}

#[test]
fn the_account_person_is_the_contact_not_the_shipping_one() {
    let s = Scratch::new();
    let got = imported(&s, "wave-customers.csv", 3);
    assert_eq!(get(&got["W-1001"], |c| &c.contact), "Henk Dekker");
    assert_eq!(get(&got["W-1001"], |c| &c.address), "Hoofdstraat 33");
    assert_eq!(get(&got["W-1003"], |c| &c.contact), "Jef Claes");
    assert_eq!(get(&got["W-1003"], |c| &c.country), "BE");

    // Zoho: the display name, the person as contact (not `Contact Name`,
    // which repeats the display name), the billing postcode `Billing Code`.
    let got = imported(&s, "zoho-books-contacts.csv", 3);
    let smit = &got["CUS-00001"];
    assert_eq!(get(smit, |c| &c.name), "Koffiebranderij Smit");
    assert_eq!(get(smit, |c| &c.contact), "Bram Smit");
    assert_eq!(get(smit, |c| &c.postalcode), "1016 HG");
    assert_eq!(get(smit, |c| &c.country), "NL");
    assert_eq!(get(&got["CUS-00002"], |c| &c.name), "Anna Verbeek");
    assert_eq!(get(&got["CUS-00003"], |c| &c.address), "Langestraat 77");
    assert_eq!(get(&got["CUS-00003"], |c| &c.language), "dutch");
}

#[test]
fn shop_and_erp_exports_send_company_or_person_and_clean_values() {
    let s = Scratch::new();
    // PrestaShop: the person where the company is empty.
    let got = imported(&s, "prestashop-addresses.csv", 3);
    assert_eq!(get(&got["1501"], |c| &c.name), "Keramiekatelier De Wit");
    assert_eq!(get(&got["1501"], |c| &c.contact), "Joris de Wit");
    assert_eq!(get(&got["1502"], |c| &c.name), "Ilse Jacobs");
    assert_eq!(get(&got["1502"], |c| &c.country), "BE");

    // Odoo: `ref`, not the record id; the spreadsheet apostrophe before
    // `+` dropped; `name` where `company_name` is empty.
    let got = imported(&s, "odoo-res-partner.csv", 4);
    let peters = &got["D1041"];
    assert_eq!(get(peters, |c| &c.name), "Installatiebedrijf Peters B.V.");
    assert_eq!(get(peters, |c| &c.phone), "+31 181 612 345");
    assert_eq!(get(&got["D1042"], |c| &c.name), "Bloemsierkunst Fleur");
    assert_eq!(get(&got["D1043"], |c| &c.language), "french");

    // Exact Online: codes right-aligned in 18 characters arrive trimmed.
    let got = imported(&s, "exact-online-relaties.csv", 3);
    let leeuwen = &got["3001"];
    assert_eq!(get(leeuwen, |c| &c.address), "Havenweg 40");
    assert_eq!(get(leeuwen, |c| &c.contact), "M. van Leeuwen");
    assert_eq!(get(leeuwen, |c| &c.registration_number), "11012345");

    // Shopware: the billing address, the account's person as contact.
    let got = imported(&s, "shopware-customers.csv", 3);
    assert_eq!(get(&got["10002"], |c| &c.name), "Sabine Krüger");
    assert_eq!(get(&got["10002"], |c| &c.address), "Lindenallee 5");
    assert_eq!(get(&got["10003"], |c| &c.address), "Kerkstraat 40");
    assert_eq!(get(&got["10003"], |c| &c.contact), "Pieter Janssens");
}

/// Magento's composite export has no customer number: `mapping` still
/// prints everything it maps, with the likely codes (e-mail first, not
/// the city or a name that happen to differ in the first rows); named in
/// the printed file, the export imports.
#[test]
fn a_webshop_export_without_a_code_gets_its_mapping_and_the_code_candidates() {
    let s = Scratch::new();
    let input = data(&s, "magento-customer-composite.csv");
    let out = notify_import().arg("mapping").arg(&input).output().unwrap();
    assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let candidates = text
        .lines()
        .find(|l| l.starts_with("#   candidates"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(candidates.contains("#1 \"email\""), "{candidates}");
    for known in ["_address_city", "firstname", "_address_street"] {
        assert!(!candidates.contains(known), "{candidates}");
    }
    assert!(text.contains("\nAddress = \"_address_street\""), "{text}");
    let out = validate(&input, &[]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("#1 \"email\""), "{}", stderr(&out));

    let edited = text.replace("# CustomerCode = \"\"", "CustomerCode = \"email\"");
    let mapping = s.file("magento.mapping.toml", &edited);
    let sb = sandbox();
    let out = import(
        &sb,
        &input,
        &[
            "--mapping",
            mapping.to_str().unwrap(),
            "--results",
            s.path("magento.results.csv").to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let got = by_code(&sb);
    assert_eq!(got.len(), 3);
    let bakker = &got["m.bakker@example.nl"];
    assert_eq!(get(bakker, |c| &c.name), "Bloemenwinkel Bakker");
    assert_eq!(get(bakker, |c| &c.contact), "Marieke Bakker");
    assert_eq!(get(bakker, |c| &c.address), "Grote Houtstraat 88");
    assert_eq!(
        get(&got["t.peeters@example.be"], |c| &c.name),
        "Tom Peeters"
    );
}

/// The decision is made on the rows in the first 64 KiB, the same for
/// every command; a billing address that first appears after them is
/// still used, and a Rechnungsadresse that differs from the Straße is no
/// row's problem.
#[test]
fn a_billing_address_first_filled_after_the_sample_is_still_used() {
    let s = Scratch::new();
    let mut text = String::from(
        "Konto;Name (Adressatentyp Unternehmen);Straße;Ort;Straße (Rechnungsadresse);Ort (Rechnungsadresse)\n",
    );
    for i in 0..1500 {
        text.push_str(&format!(
            "{};Firma Nummer {i} GmbH;Hauptstraße {i};Köln;;\n",
            10000 + i
        ));
    }
    text.push_str("11500;Letzte GmbH;Hauptstraße 1;Köln;Postfach 12;Bonn\n");
    assert!(text.len() > 64 * 1024);
    let input = s.file("late-billing.csv", &text);
    let printed = printed_mapping(&input);
    assert_eq!(
        printed["Address"],
        r#"{ column = "Straße (Rechnungsadresse)", else = ["Straße"] }"#
    );
    assert_eq!(
        printed["City"],
        r#"{ column = "Ort (Rechnungsadresse)", else = ["Ort"] }"#
    );
    let out = validate(
        &input,
        &["--results", s.path("late.results.csv").to_str().unwrap()],
    );
    assert_exit(&out, 0);
}
