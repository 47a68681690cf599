//! Resolving a mapping: which column (or columns, or fixed value) feeds
//! which field, decided once per file from the header row. Three sources,
//! strongest first:
//!
//! 1. `--map Field=Column` on the command line;
//! 2. a mapping file (`--mapping FILE`, TOML, see [`MappingFile`]): a
//!    column, a list of columns joined with a space, or a fixed value;
//! 3. header names, through the matcher of `header.rs` (synonyms in NL,
//!    EN, DE and FR; case, accents, separators, `*`, a trailing `(…)` and
//!    `billing_`-style prefixes do not matter).
//!
//! A column named by 1 or 2 is taken: aliases do not also map it to another
//! field. When several columns match one field, the strongest match wins
//! (a specific name over a generic one, billing over shipping); between
//! equals, the one with values in the previewed rows wins and the run
//! header says so. Two equal columns that both hold values is an error
//! naming both, never a guess; so is a named column or field that does not
//! exist.
//!
//! Name parts: First + (infix +) Last name columns feed Contact when the
//! file has no contact column, and Name where the company cell of a row is
//! empty (private customers in a shop export), or Name when there is no
//! company column at all. A mapping file can do the same
//! (`Name = { column = "Company", else = ["First", "Last"] }`). Every
//! decision is kept ([`Origin`]) and can be printed as a mapping file the
//! user can edit and pass back ([`Mapping::describe`]).
//!
//! One inference beyond plain aliases, because the alternative is silent
//! data loss: when Address comes from a street column (`Straat`, AFAS and
//! others split the address) and the file also has house number / suffix
//! columns (`Huisnummer`, `Toevoeging`), Address joins them.
//!
//! It must not read records: what the first rows hold comes in as
//! [`ColumnStats`], so the same header and preview always resolve alike.

use std::path::Path;

use csv::StringRecord;

use super::{FieldSource, Mapping, MappingFile, Origin, Source, Target, header_key};
use crate::input::InputError;
use crate::input::header::{self, Rank, Role};
use crate::input::preview::ColumnStats;
use crate::model::field::Field;

/// Address aliases that name only the street, so a house number column
/// may need to be joined on.
const STREET_ONLY: &[&str] = &["Straat", "Straatnaam", "Street"];

/// House number, then suffix: joined after a street column, in this order.
const HOUSE_NUMBER_PARTS: &[&[&str]] = &[
    &["Huisnummer", "Huisnr", "House number", "HmNr"],
    &[
        "Toevoeging",
        "Huisnummertoevoeging",
        "Toev",
        "Toev. aan huisnr.",
        "House number suffix",
        "House number addition",
    ],
];

impl Mapping {
    /// Matches the header row against the built-in aliases only.
    ///
    /// Errors when no column maps to CustomerCode, or when two columns map
    /// to the same field (guessing which one is meant could send the wrong
    /// data).
    pub fn from_headers(path: &Path, headers: &StringRecord) -> Result<Mapping, InputError> {
        Mapping::resolve(path, headers, &[], &[])
    }

    /// Resolves the mapping for `headers`: `options` (from `--map`) over
    /// `file` (from `--mapping`) over aliases. See the module doc.
    pub fn resolve(
        path: &Path,
        headers: &StringRecord,
        file: &[(Field, Target)],
        options: &[(Field, String)],
    ) -> Result<Mapping, InputError> {
        let file = MappingFile::from_entries(file.to_vec());
        let mapping =
            Mapping::resolve_with(path, headers, &file, options, &ColumnStats::default())?;
        mapping.require_code(path)?;
        Ok(mapping)
    }

    /// [`Mapping::resolve`] with value maps and what the previewed rows
    /// say per column (`stats`, see the module doc). Does not require a
    /// CustomerCode column: see [`Mapping::require_code`].
    pub fn resolve_with(
        path: &Path,
        headers: &StringRecord,
        file: &MappingFile,
        options: &[(Field, String)],
        stats: &ColumnStats,
    ) -> Result<Mapping, InputError> {
        let names: Vec<String> = headers.iter().map(str::to_string).collect();
        let mut mapping = Mapping {
            fields: Default::default(),
            headers: names,
            unknown: Vec::new(),
            notes: Vec::new(),
            set_aside: Vec::new(),
            code_candidates: Vec::new(),
            previewed: stats.rows,
        };
        let mut taken = vec![false; mapping.headers.len()];

        // Explicit choices first; a later `--map` replaces a file entry.
        let explicit = file
            .entries()
            .iter()
            .map(|(f, t)| (*f, t.clone(), Origin::File))
            .chain(
                options
                    .iter()
                    .map(|(f, c)| (*f, Target::Column(c.clone()), Origin::Option)),
            );
        for (field, target, origin) in explicit {
            let column = |name: &str| mapping.find_column(path, field, name, origin);
            let columns = |names: &[String]| -> Result<Vec<usize>, InputError> {
                names.iter().map(|n| column(n)).collect()
            };
            let source = match &target {
                Target::Column(name) => Source::Column(column(name)?),
                Target::Join(names) => Source::Join(columns(names)?),
                Target::Constant(value) => Source::Constant(value.clone()),
                Target::Fallback(name, rest) => Source::Fallback(column(name)?, columns(rest)?),
            };
            mapping.fields[field.index()] = Some(FieldSource::new(source, origin));
        }
        for (field, values) in file.values() {
            if let Some(fs) = mapping.fields[field.index()].as_mut() {
                fs.values = values.clone();
            }
        }
        for fs in mapping.fields.iter().flatten() {
            for c in fs.source.columns() {
                taken[c] = true;
            }
        }

        // Then header names, for fields nobody chose, from columns nobody
        // took: per role, the strongest matches, then the one with values.
        let mut matches: Vec<(Role, Rank, usize)> = Vec::new();
        for (column, name) in mapping.headers.iter().enumerate() {
            if taken[column] || name.trim().is_empty() {
                continue;
            }
            if let Some((role, rank)) = header::classify(name) {
                // An ERP's `id` (`__export__.res_partner_42`) is its own
                // record id: the customer's code is elsewhere (`ref`).
                if role == Role::Field(Field::CustomerCode) && stats.has_record_ids(column) {
                    mapping.notes.push(format!(
                        "CustomerCode: column #{} {name:?} not used: it holds the exporting program's record ids (__export__...)",
                        column + 1
                    ));
                    continue;
                }
                matches.push((role, rank, column));
            }
        }
        let mut parts: [Option<usize>; 3] = [None; 3];
        let mut roles: Vec<Role> = matches.iter().map(|m| m.0).collect();
        roles.dedup();
        let mut seen_roles = Vec::new();
        for role in roles {
            if seen_roles.contains(&role) {
                continue;
            }
            seen_roles.push(role);
            if let Role::Field(field) = role
                && mapping.fields[field.index()].is_some()
            {
                // Chosen explicitly: these columns are simply not used.
                continue;
            }
            let best = matches
                .iter()
                .filter(|m| m.0 == role)
                .map(|m| m.1)
                .min()
                .unwrap_or(Rank::Specific);
            let equal: Vec<usize> = matches
                .iter()
                .filter(|m| m.0 == role && m.1 == best)
                .map(|m| m.2)
                .collect();
            let column = mapping.choose(path, role, &equal, stats)?;
            taken[column] = true;
            match role {
                Role::Field(field) => {
                    mapping.fields[field.index()] =
                        Some(FieldSource::new(Source::Column(column), Origin::Alias));
                }
                Role::FirstName => parts[0] = Some(column),
                Role::Infix => parts[1] = Some(column),
                Role::LastName => parts[2] = Some(column),
            }
        }
        mapping.compose_names(parts, &mut taken);
        for fs in mapping.fields.iter().flatten() {
            for c in fs.source.columns() {
                taken[c] = true;
            }
        }
        mapping.join_house_number(&mut taken);

        for (column, name) in mapping.headers.iter().enumerate() {
            if !taken[column] && !name.trim().is_empty() && !mapping.unknown.contains(name) {
                mapping.unknown.push(name.clone());
            }
        }
        mapping.code_candidates = (0..mapping.headers.len())
            .filter(|&c| stats.is_key_like(c) && !mapping.headers[c].trim().is_empty())
            .collect();
        Ok(mapping)
    }

    /// One of `equal` columns that match `role` equally well: the only
    /// one, else the only one with values (noted), else an error.
    fn choose(
        &mut self,
        path: &Path,
        role: Role,
        equal: &[usize],
        stats: &ColumnStats,
    ) -> Result<usize, InputError> {
        let (first, rest) = match equal {
            [] | [_] => return Ok(equal.first().copied().unwrap_or_default()),
            [first, rest @ ..] => (*first, rest),
        };
        let filled: Vec<usize> = equal
            .iter()
            .copied()
            .filter(|&c| stats.has_values(c))
            .collect();
        let label = match role {
            Role::Field(f) => f.api_name(),
            Role::FirstName => "first name",
            Role::Infix => "name infix",
            Role::LastName => "last name",
        };
        let (chosen, why) = match filled[..] {
            [one] => (one, "the others are empty"),
            [] => (first, "all are empty"),
            [a, b, ..] => {
                let field = match role {
                    Role::Field(f) => f,
                    _ => Field::Name,
                };
                return Err(self.ambiguous(path, field, a, b));
            }
        };
        let others: Vec<usize> = std::iter::once(first)
            .chain(rest.iter().copied())
            .filter(|&c| c != chosen)
            .collect();
        self.set_aside
            .extend(others.iter().map(|&c| (role, c, chosen)));
        let others: Vec<String> = others.iter().map(|c| format!("#{}", c + 1)).collect();
        self.notes.push(format!(
            "{label}: column #{} {:?} chosen over {} ({why} in the first {} rows)",
            chosen + 1,
            self.headers[chosen],
            others.join(", "),
            stats.rows
        ));
        Ok(chosen)
    }

    /// First (+ infix) + last name columns feed Contact when no column
    /// does, and Name where its cell is empty (or Name when no column
    /// does). See the module doc.
    fn compose_names(&mut self, parts: [Option<usize>; 3], taken: &mut [bool]) {
        let parts: Vec<usize> = parts.into_iter().flatten().collect();
        if parts.is_empty() {
            return;
        }
        for &c in &parts {
            taken[c] = true;
        }
        let contact = &mut self.fields[Field::Contact.index()];
        if contact.is_none() {
            *contact = Some(FieldSource::new(Source::Join(parts.clone()), Origin::Alias));
        }
        let name = &mut self.fields[Field::Name.index()];
        match name {
            None => *name = Some(FieldSource::new(Source::Join(parts), Origin::Alias)),
            Some(FieldSource {
                source: source @ Source::Column(_),
                origin: Origin::Alias,
                ..
            }) => {
                if let Source::Column(company) = *source {
                    *source = Source::Fallback(company, parts);
                }
            }
            Some(_) => {}
        }
    }

    /// The refusal of a mapping without a CustomerCode column, naming the
    /// columns that could be the code.
    pub fn require_code(&self, path: &Path) -> Result<(), InputError> {
        if self.fields[Field::CustomerCode.index()].is_some() {
            return Ok(());
        }
        Err(InputError::NoCustomerCode {
            path: path.to_path_buf(),
            found: self.headers.join(", "),
            candidates: self.candidates_text(),
        })
    }

    /// The code candidates for messages: columns filled with distinct
    /// values first, then the others.
    pub(super) fn candidates_text(&self) -> String {
        if self.code_candidates.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self
            .code_candidates
            .iter()
            .map(|&c| format!("#{} {:?}", c + 1, self.headers[c]))
            .collect();
        format!(
            "columns filled with distinct values in the first {} rows: {}",
            self.previewed,
            names.join(", ")
        )
    }

    /// Sets `--default-country`: the country of rows whose Country cell
    /// is empty, or of every row when no column feeds Country.
    pub fn set_default_country(&mut self, code: &str) {
        let slot = &mut self.fields[Field::Country.index()];
        match slot {
            Some(fs) if !matches!(fs.source, Source::Constant(_)) => {
                fs.default = Some(code.to_string());
            }
            Some(_) => {}
            None => {
                *slot = Some(FieldSource::new(
                    Source::Constant(code.to_string()),
                    Origin::DefaultCountry,
                ));
            }
        }
    }

    /// If Address is a street-only column found by alias, joins the house
    /// number and suffix columns onto it (see the module doc).
    fn join_house_number(&mut self, taken: &mut [bool]) {
        let slot = &mut self.fields[Field::Address.index()];
        let Some(FieldSource {
            source: Source::Column(street),
            origin: Origin::Alias,
            ..
        }) = *slot
        else {
            return;
        };
        let street_keys: Vec<String> = STREET_ONLY.iter().map(|n| header_key(n)).collect();
        if !street_keys.contains(&header_key(&self.headers[street])) {
            return;
        }
        let mut columns = vec![street];
        for names in HOUSE_NUMBER_PARTS {
            let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
            let found = self
                .headers
                .iter()
                .enumerate()
                .find(|(i, h)| !taken[*i] && keys.contains(&header_key(h)));
            if let Some((i, _)) = found {
                columns.push(i);
                taken[i] = true;
            }
        }
        if columns.len() > 1 {
            *slot = Some(FieldSource::new(Source::Join(columns), Origin::Alias));
        }
    }

    /// The 0-based column `name` refers to: an exact match, else `#N`
    /// (1-based position), else the one column with the same [`header_key`].
    fn find_column(
        &self,
        path: &Path,
        field: Field,
        name: &str,
        origin: Origin,
    ) -> Result<usize, InputError> {
        let exact: Vec<usize> = (0..self.headers.len())
            .filter(|&i| self.headers[i] == name)
            .collect();
        let position = name
            .strip_prefix('#')
            .and_then(|n| n.trim().parse::<usize>().ok());
        if exact.is_empty()
            && let Some(n) = position
        {
            return match n.checked_sub(1).filter(|&c| c < self.headers.len()) {
                Some(c) => Ok(c),
                None => Err(InputError::NoSuchPosition {
                    path: path.to_path_buf(),
                    field,
                    column: name.to_string(),
                    origin,
                    columns: self.headers.len(),
                }),
            };
        }
        let candidates = if exact.is_empty() {
            let key = header_key(name);
            (0..self.headers.len())
                .filter(|&i| !key.is_empty() && header_key(&self.headers[i]) == key)
                .collect()
        } else {
            exact
        };
        match candidates[..] {
            [one] => Ok(one),
            [] => Err(InputError::UnknownColumn {
                path: path.to_path_buf(),
                field,
                column: name.to_string(),
                origin,
                found: self.headers.join(", "),
            }),
            [first, second, ..] => Err(self.ambiguous(path, field, first, second)),
        }
    }

    /// The error for two columns (0-based) that both claim `field`.
    fn ambiguous(&self, path: &Path, field: Field, first: usize, second: usize) -> InputError {
        InputError::AmbiguousColumn {
            path: path.to_path_buf(),
            field,
            first: first + 1,
            first_column: self.headers[first].clone(),
            second: second + 1,
            second_column: self.headers[second].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::mapping::tests::{headers, map, map_with};

    /// `RegistrationNumber` as `registration_number`, `Registration Number`
    /// and `REGISTRATION-NUMBER`.
    fn spellings(api_name: &str) -> [String; 4] {
        let mut words: Vec<String> = Vec::new();
        for c in api_name.chars() {
            match words.last_mut() {
                Some(word) if !c.is_uppercase() => word.push(c),
                _ => words.push(c.to_string()),
            }
        }
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        [
            api_name.to_string(),
            lower.join("_"),
            words.join(" "),
            lower.join("-").to_uppercase(),
        ]
    }

    #[test]
    fn every_field_matches_its_name_in_any_spelling() {
        assert_eq!(spellings("CustomerCode")[1], "customer_code");
        for field in Field::ALL {
            for spelling in spellings(field.api_name()) {
                let mut names = vec![spelling.as_str()];
                if field != Field::CustomerCode {
                    names.insert(0, "CustomerCode");
                }
                let m = map(&names).unwrap();
                assert_eq!(m.column(field), Some(names.len() - 1), "{spelling}");
                assert!(m.unknown_columns().is_empty(), "{spelling}");
            }
        }
    }

    #[test]
    fn the_dutch_export_header_maps_completely() {
        let names = [
            "Code",
            "Naam",
            "Adres",
            "Postcode",
            "Plaats",
            "Land",
            "Contactpersoon",
            "Telefoon",
            "Mobiel",
            "E-mail",
            "E-mail facturen",
            "KvK-nummer",
            "Taal",
            "Btw-nummer",
            "",
        ];
        let m = map(&names).unwrap();
        for (i, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(m.column(field), Some(i), "{field}");
            assert_eq!(m.source(field).unwrap().origin, Origin::Alias);
        }
        assert_eq!(m.unknown_columns(), ["Btw-nummer"]);
    }

    #[test]
    fn issue_aliases_are_all_known() {
        let expected: &[(Field, &[&str])] = &[
            (
                Field::CustomerCode,
                &[
                    "Code",
                    "Klantcode",
                    "Klantnummer",
                    "Debiteurnummer",
                    "Relatiecode",
                ],
            ),
            (Field::Name, &["Naam", "Bedrijfsnaam", "Company", "Name"]),
            (Field::Address, &["Adres", "Straat", "Address"]),
            (Field::Postalcode, &["Postcode", "Zip"]),
            (Field::City, &["Plaats", "Woonplaats", "City"]),
            (Field::Country, &["Land", "Country"]),
            (Field::Contact, &["Contactpersoon", "Contact"]),
            (Field::Phone, &["Telefoon", "Tel", "Phone"]),
            (Field::Mobile, &["Mobiel", "Mobile"]),
            (Field::Email, &["E-mail", "Email"]),
            (
                Field::InvoiceEmail,
                &["E-mail facturen", "Factuur e-mail", "Invoice email"],
            ),
            (
                Field::RegistrationNumber,
                &["KvK", "KvK-nummer", "Chamber of commerce"],
            ),
            (Field::Language, &["Taal", "Language"]),
        ];
        for (field, names) in expected {
            for name in *names {
                let mut cols = vec![*name];
                if *field != Field::CustomerCode {
                    cols.insert(0, "Klantcode");
                }
                let m = map(&cols).unwrap();
                assert_eq!(m.column(*field), Some(cols.len() - 1), "{name}");
            }
        }
    }

    #[test]
    fn columns_in_any_order() {
        let m = map(&["Invoice e-mail", "Name", "customer_code"]).unwrap();
        assert_eq!(m.column(Field::CustomerCode), Some(2));
        assert_eq!(m.column(Field::Name), Some(1));
        assert_eq!(m.column(Field::InvoiceEmail), Some(0));
        assert_eq!(m.column(Field::Email), None);
        assert!(m.unknown_columns().is_empty());
    }

    #[test]
    fn unknown_columns_are_listed_once_and_empty_cells_ignored() {
        let m = map(&["CustomerCode", "Notes", "", "Balance", "Notes", " "]).unwrap();
        assert_eq!(m.unknown_columns(), ["Notes", "Balance"]);
    }

    #[test]
    fn missing_customer_code_is_an_error() {
        let err = map(&["Klantnaam", "Name2"]).unwrap_err();
        match &err {
            InputError::NoCustomerCode { found, .. } => assert_eq!(found, "Klantnaam, Name2"),
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("no CustomerCode column"), "{text}");
        assert!(text.contains("--map CustomerCode="), "{text}");
    }

    #[test]
    fn two_columns_for_one_field_is_an_error() {
        let err = map(&["CustomerCode", "Email", "Name", "E-mail"]).unwrap_err();
        match &err {
            InputError::AmbiguousColumn {
                field,
                first,
                first_column,
                second,
                second_column,
                ..
            } => {
                assert_eq!(*field, Field::Email);
                assert_eq!((*first, first_column.as_str()), (2, "Email"));
                assert_eq!((*second, second_column.as_str()), (4, "E-mail"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("--map Email="), "{err}");
        assert!(err.to_string().contains("--map Email=#2"), "{err}");
        // A specific name beats a generic one: no error.
        let m = map(&["Code", "Naam", "Bedrijfsnaam"]).unwrap();
        assert_eq!(m.column(Field::Name), Some(2));
        assert_eq!(m.unknown_columns(), ["Naam"]);
        // --map resolves a tie; the other column is then not imported.
        let m = map_with(&["Code", "Email", "E-mail"], "", &["Email=E-mail"]).unwrap();
        assert_eq!(m.column(Field::Email), Some(2));
        assert_eq!(m.source(Field::Email).unwrap().origin, Origin::Option);
        assert_eq!(m.unknown_columns(), ["Email"]);
    }

    #[test]
    fn explicit_columns_are_taken_from_aliases() {
        // Naam would alias to Name; mapped to Contact it feeds only Contact.
        let m = map_with(&["Code", "Naam", "Bedrijf"], "", &["Contact=Naam"]).unwrap();
        assert_eq!(m.column(Field::Contact), Some(1));
        assert_eq!(m.column(Field::Name), Some(2));
    }

    #[test]
    fn option_beats_file_beats_alias() {
        let file = "Name = \"Klant\"\nCity = \"Stad\"\n";
        let m = map_with(
            &["Code", "Naam", "Klant", "Stad", "Plaats", "Other"],
            file,
            &["city=Other"],
        )
        .unwrap();
        assert_eq!(m.column(Field::Name), Some(2));
        assert_eq!(m.source(Field::Name).unwrap().origin, Origin::File);
        assert_eq!(m.column(Field::City), Some(5));
        assert_eq!(m.source(Field::City).unwrap().origin, Origin::Option);
        // Stad is taken by the file entry (even though --map replaced it).
        assert_eq!(m.unknown_columns(), ["Naam", "Stad", "Plaats"]);
    }

    #[test]
    fn street_and_house_number_are_joined_without_a_mapping() {
        let m = map(&["Code", "Naam", "Straat", "Huisnr", "Toev.", "Plaats"]).unwrap();
        assert_eq!(
            m.source(Field::Address).unwrap().source,
            Source::Join(vec![2, 3, 4])
        );
        assert!(m.unknown_columns().is_empty());
        // A full address column is left alone.
        let m = map(&["Code", "Adres", "Huisnummer"]).unwrap();
        assert_eq!(m.column(Field::Address), Some(1));
        assert_eq!(m.unknown_columns(), ["Huisnummer"]);
    }

    #[test]
    fn named_columns_match_loosely_but_not_ambiguously() {
        let m = map_with(
            &["Code", "E-mail Facturen"],
            "",
            &["InvoiceEmail=e-mail facturen"],
        )
        .unwrap();
        assert_eq!(m.column(Field::InvoiceEmail), Some(1));
        let err = map_with(&["Code", "Tel.", "Tel"], "", &["Phone=TEL"]).unwrap_err();
        assert!(matches!(err, InputError::AmbiguousColumn { .. }), "{err}");
        // An exact name wins over loose matches.
        let m = map_with(&["Code", "Tel.", "Tel"], "", &["Phone=Tel"]).unwrap();
        assert_eq!(m.column(Field::Phone), Some(2));
    }

    #[test]
    fn house_number_names_are_no_field_names() {
        let keys: Vec<String> = header::all_keys().into_iter().map(|(_, k)| k).collect();
        for names in HOUSE_NUMBER_PARTS {
            for name in *names {
                assert!(!keys.contains(&header_key(name)), "{name}");
            }
        }
        for street in STREET_ONLY {
            assert_eq!(
                header::classify(street).map(|c| c.0),
                Some(Role::Field(Field::Address)),
                "{street}"
            );
        }
    }

    #[test]
    fn first_and_last_name_feed_contact_and_a_name_fallback() {
        let m = map(&[
            "Code",
            "Company",
            "First name",
            "Tussenvoegsel",
            "Last name",
        ])
        .unwrap();
        assert_eq!(
            m.source(Field::Name).unwrap().source,
            Source::Fallback(1, vec![2, 3, 4])
        );
        assert_eq!(
            m.source(Field::Contact).unwrap().source,
            Source::Join(vec![2, 3, 4])
        );
        let c = m.customer(&headers(&["1", "", "Jan", "van der", "Berg"]));
        assert_eq!(c.get(Field::Name), Some("Jan van der Berg"));
        let c = m.customer(&headers(&["1", "Berg BV", "Jan", "", "Berg"]));
        assert_eq!(c.get(Field::Name), Some("Berg BV"));
        assert_eq!(c.get(Field::Contact), Some("Jan Berg"));
        // A contact column stays the contact; no company column: the
        // person is the name.
        let m = map(&["Code", "Voornaam", "Achternaam", "Contactpersoon"]).unwrap();
        assert_eq!(m.column(Field::Contact), Some(3));
        assert_eq!(
            m.source(Field::Name).unwrap().source,
            Source::Join(vec![1, 2])
        );
        // The mapping file form round-trips.
        let m = map(&["Code", "Company", "First name", "Last name"]).unwrap();
        let text = m.describe();
        assert!(
            text.contains(
                "Name = { column = \"Company\", else = [\"First name\", \"Last name\"] }"
            ),
            "{text}"
        );
        let again = map_with(&["Code", "Company", "First name", "Last name"], &text, &[]).unwrap();
        assert_eq!(
            again.source(Field::Name).unwrap().source,
            m.source(Field::Name).unwrap().source
        );
    }
}
