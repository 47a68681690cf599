//! Column mapping: which column (or columns, or fixed value) feeds which
//! API field.
//!
//! Owns the decision, made once per file from the header row, of where
//! each [`Field`] comes from, and copying a record's raw cells into a
//! [`Customer`]. Three sources, strongest first:
//!
//! 1. `--map Field=Column` on the command line;
//! 2. a mapping file (`--mapping FILE`, TOML, see [`MappingFile`]): a
//!    column, a list of columns joined with a space, or a fixed value;
//! 3. built-in header aliases ([`ALIASES`]) for Dutch and English exports,
//!    matched case-, accent- and punctuation-insensitively
//!    (`E-mail facturen` = `e_mail_facturen` = `EMAIL FACTUREN`).
//!
//! A column named by 1 or 2 is taken: aliases do not also map it to another
//! field. Two columns matching aliases of one field is an error naming
//! both, never a guess; so is a named column or field that does not exist.
//! Every decision is kept ([`Origin`]) and can be printed as a mapping file
//! the user can edit and pass back ([`Mapping::describe`]).
//!
//! One inference beyond plain aliases, because the alternative is silent
//! data loss: when Address comes from a street column (`Straat`, AFAS and
//! others split the address) and the file also has house number / suffix
//! columns (`Huisnummer`, `Toevoeging`), Address joins them.
//!
//! It must not trim, normalize or judge values (that is `validate.rs`,
//! except that joined parts are trimmed so the join has single spaces), and
//! must not read the CSV (that is `reader.rs`).

use std::fmt::{self, Write as _};
use std::path::Path;

use csv::StringRecord;

use super::InputError;
use crate::check::customer::Customer;
use crate::check::fields::Field;
use crate::check::validate::{Problem, comparison_key};

/// Accepted header names per field, compared through [`header_key`].
///
/// A name may appear under one field only (a test checks it); a header
/// cell matching two fields would be resolved by table order, which nobody
/// expects. Sources: `accounting-exports.md` in the shared docs.
pub const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::CustomerCode,
        &[
            "CustomerCode",
            "Code",
            "Klantcode",
            "Klantnummer",
            "Klantnr",
            "Debiteurnummer",
            "Debiteurnr",
            "Debiteurcode",
            "Relatiecode",
            "Relatienummer",
            "Customer number",
            "Customer ID",
            "Customer no",
            "Contact code",
            "Debtor code",
            "fldRelatiecode",
        ],
    ),
    (
        Field::Name,
        &[
            "Name",
            "Naam",
            "Bedrijfsnaam",
            "Bedrijf",
            "Company",
            "Company name",
            "Klantnaam",
            "Relatienaam",
            "Debiteurnaam",
            "fldNaam",
        ],
    ),
    (
        Field::Address,
        &[
            "Address",
            "Adres",
            "Straat",
            "Straatnaam",
            "Street",
            "Address 1",
            "Address line 1",
            "Adres 1",
            "Adresregel 1",
            "Straat en huisnummer",
            "Straatnaam en huisnummer",
            "Straatnaam + huisnummer",
            "fldAdres",
        ],
    ),
    (
        Field::Postalcode,
        &["Postalcode", "Postcode", "Zip", "Zipcode", "fldPostcode"],
    ),
    (
        Field::City,
        &[
            "City",
            "Plaats",
            "Woonplaats",
            "Vestigingsplaats",
            "Stad",
            "Town",
            "fldPlaats",
        ],
    ),
    (
        Field::Country,
        &[
            "Country",
            "Land",
            "Landcode",
            "Country code",
            "LandID",
            "fldLandID",
        ],
    ),
    (
        Field::Contact,
        &[
            "Contact",
            "Contactpersoon",
            "Contact person",
            "Contactnaam",
            "T.a.v.",
            "Attention",
            "fldContactpersoon",
        ],
    ),
    (
        Field::Phone,
        &[
            "Phone",
            "Telefoon",
            "Tel",
            "Tel.nr.",
            "Telefoonnummer",
            "Telephone",
            "Phone number",
            "fldTelefoon",
        ],
    ),
    (
        Field::Mobile,
        &[
            "Mobile",
            "Mobiel",
            "Mobielnummer",
            "Mobiele telefoon",
            "Mobile phone",
            "GSM",
            "fldMobieleTelefoon",
        ],
    ),
    (
        Field::Email,
        &["Email", "E-mailadres", "Email address", "Mail", "fldEmail"],
    ),
    (
        Field::InvoiceEmail,
        &[
            "InvoiceEmail",
            "E-mail facturen",
            "E-mailadres facturen",
            "E-mail factuur",
            "Factuur e-mail",
            "Factuur e-mailadres",
            "Facturatie e-mail",
            "Billing email",
            "fldFactuurEmailAdres",
        ],
    ),
    (
        Field::RegistrationNumber,
        &[
            "RegistrationNumber",
            "KvK",
            "KvK-nummer",
            "Nummer KvK",
            "Chamber of commerce",
            "Chamber of commerce number",
            "KBO",
            "KBO-nummer",
            "Ondernemingsnummer",
            "fldKvkNummer",
        ],
    ),
    (
        Field::Language,
        &["Language", "Taal", "Language code", "Taalcode"],
    ),
];

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

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One column (0-based).
    Column(usize),
    /// Several columns (0-based), their non-empty values joined with a space.
    Join(Vec<usize>),
    /// The same text for every row.
    Constant(String),
}

/// Who decided a field's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A header name matched a built-in alias.
    Alias,
    /// A mapping file (`--mapping`).
    File,
    /// `--map Field=Column`.
    Option,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Alias => "header name",
            Origin::File => "mapping file",
            Origin::Option => "--map",
        })
    }
}

/// A field's source and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSource {
    /// Where the value comes from.
    pub source: Source,
    /// Who decided.
    pub origin: Origin,
}

/// What the user asked for one field, by column name, before it is
/// checked against a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A column name.
    Column(String),
    /// Column names to join with a space.
    Join(Vec<String>),
    /// A fixed value.
    Constant(String),
}

/// Explicit field → column choices, from `--map` and a mapping file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingFile {
    entries: Vec<(Field, Target)>,
}

impl MappingFile {
    /// Reads and parses a mapping file (see [`MappingFile::parse`]).
    pub fn load(path: &Path) -> Result<MappingFile, InputError> {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        MappingFile::parse(path, &text)
    }

    /// Parses mapping-file TOML: one key per field (API name, any case),
    /// whose value is a column name, a list of column names to join with a
    /// space, or `{ value = "text" }` for a fixed value:
    ///
    /// ```toml
    /// CustomerCode = "Relatiecode"
    /// Address = ["Straat", "Huisnummer", "Toevoeging"]
    /// Language = { value = "dutch" }
    /// ```
    ///
    /// A bare string is always a column, never a fixed value: a typo in a
    /// column name must be an error, not a constant sent to every customer.
    pub fn parse(path: &Path, text: &str) -> Result<MappingFile, InputError> {
        let err = |message: String| InputError::MappingFile {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut entries = Vec::new();
        for (key, value) in table {
            let field = field_by_name(&key).ok_or_else(|| err(unknown_field(&key)))?;
            if entries.iter().any(|(f, _)| *f == field) {
                return Err(err(format!("{key} names {field}, which is mapped twice")));
            }
            let target = match value {
                toml::Value::String(column) if !column.is_empty() => Target::Column(column),
                toml::Value::Array(items) if !items.is_empty() => {
                    let columns = items
                        .into_iter()
                        .map(|item| match item {
                            toml::Value::String(s) if !s.is_empty() => Ok(s),
                            other => Err(err(format!(
                                "{key}: every item of the list must be a column name, found {other}"
                            ))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Target::Join(columns)
                }
                toml::Value::Table(t) if t.len() == 1 && t.contains_key("value") => {
                    match t.get("value") {
                        Some(toml::Value::String(s)) => Target::Constant(s.clone()),
                        _ => {
                            return Err(err(format!(
                                "{key}: value must be text, e.g. {key} = {{ value = \"dutch\" }}"
                            )));
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "{key} = {other}: give a column name (\"Naam\"), a list of columns to \
                         join ([\"Straat\", \"Huisnummer\"]) or a fixed value ({{ value = \"dutch\" }})"
                    )));
                }
            };
            if field == Field::CustomerCode && matches!(target, Target::Constant(_)) {
                return Err(err(format!(
                    "{key} cannot be a fixed value: every customer needs its own code"
                )));
            }
            entries.push((field, target));
        }
        Ok(MappingFile { entries })
    }

    /// The explicit choices, one per field.
    pub fn entries(&self) -> &[(Field, Target)] {
        &self.entries
    }
}

/// Parses one `--map Field=Column` value (for the command-line parser):
/// the field by API name in any case, the column as written.
pub fn parse_map_arg(s: &str) -> Result<(Field, String), String> {
    let Some((field, column)) = s.split_once('=') else {
        return Err(format!(
            "{s:?}: write --map Field=Column, e.g. --map CustomerCode=Relatiecode"
        ));
    };
    let field = field_by_name(field).ok_or_else(|| unknown_field(field))?;
    if column.is_empty() {
        return Err(format!("{s:?}: the column name after = is empty"));
    }
    Ok((field, column.to_string()))
}

/// A field by its API name, compared through [`header_key`].
pub fn field_by_name(name: &str) -> Option<Field> {
    let key = header_key(name);
    Field::ALL
        .into_iter()
        .find(|f| header_key(f.api_name()) == key)
}

fn unknown_field(name: &str) -> String {
    let names: Vec<&str> = Field::ALL.iter().map(|f| f.api_name()).collect();
    format!(
        "{name:?} is not a field; the fields are {}",
        names.join(", ")
    )
}

/// Where each field's value comes from, for one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    fields: [Option<FieldSource>; Field::ALL.len()],
    headers: Vec<String>,
    /// The header ends in an empty cell (a trailing delimiter).
    trailing_empty: bool,
    unknown: Vec<String>,
}

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
        let names: Vec<String> = headers.iter().map(str::to_string).collect();
        let mut mapping = Mapping {
            fields: Default::default(),
            trailing_empty: names.len() > 1 && names.last().is_some_and(|n| n.trim().is_empty()),
            headers: names,
            unknown: Vec::new(),
        };
        let mut taken = vec![false; mapping.headers.len()];

        // Explicit choices first; a later `--map` replaces a file entry.
        let explicit = file
            .iter()
            .map(|(f, t)| (*f, t.clone(), Origin::File))
            .chain(
                options
                    .iter()
                    .map(|(f, c)| (*f, Target::Column(c.clone()), Origin::Option)),
            );
        for (field, target, origin) in explicit {
            let column = |name: &str| mapping.find_column(path, field, name, origin);
            let source = match &target {
                Target::Column(name) => Source::Column(column(name)?),
                Target::Join(names) => {
                    Source::Join(names.iter().map(|n| column(n)).collect::<Result<_, _>>()?)
                }
                Target::Constant(value) => Source::Constant(value.clone()),
            };
            mapping.fields[field.index()] = Some(FieldSource { source, origin });
        }
        for fs in mapping.fields.iter().flatten() {
            for &c in fs.source.columns() {
                taken[c] = true;
            }
        }

        // Then aliases, for fields nobody chose, from columns nobody took.
        let keys = alias_keys(ALIASES);
        for (column, name) in mapping.headers.iter().enumerate() {
            if taken[column] || name.trim().is_empty() {
                continue;
            }
            let key = header_key(name);
            let Some(&(field, _)) = keys.iter().find(|(_, k)| *k == key) else {
                continue;
            };
            match &mapping.fields[field.index()] {
                Some(FieldSource {
                    origin: Origin::Alias,
                    source,
                }) => {
                    let first = source.columns().first().copied().unwrap_or_default();
                    return Err(InputError::AmbiguousColumn {
                        path: path.to_path_buf(),
                        field,
                        first: first + 1,
                        first_column: mapping.headers[first].clone(),
                        second: column + 1,
                        second_column: name.clone(),
                    });
                }
                // Chosen explicitly: this column is simply not used.
                Some(_) => {}
                None => {
                    mapping.fields[field.index()] = Some(FieldSource {
                        source: Source::Column(column),
                        origin: Origin::Alias,
                    });
                }
            }
        }
        for fs in mapping.fields.iter().flatten() {
            for &c in fs.source.columns() {
                taken[c] = true;
            }
        }
        mapping.join_house_number(&mut taken);

        for (column, name) in mapping.headers.iter().enumerate() {
            if !taken[column] && !name.trim().is_empty() && !mapping.unknown.contains(name) {
                mapping.unknown.push(name.clone());
            }
        }
        if mapping.fields[Field::CustomerCode.index()].is_none() {
            return Err(InputError::NoCustomerCode {
                path: path.to_path_buf(),
                found: mapping.headers.join(", "),
            });
        }
        Ok(mapping)
    }

    /// If Address is a street-only column found by alias, joins the house
    /// number and suffix columns onto it (see the module doc).
    fn join_house_number(&mut self, taken: &mut [bool]) {
        let slot = &mut self.fields[Field::Address.index()];
        let Some(FieldSource {
            source: Source::Column(street),
            origin: Origin::Alias,
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
            *slot = Some(FieldSource {
                source: Source::Join(columns),
                origin: Origin::Alias,
            });
        }
    }

    /// The 0-based column `name` refers to: an exact match, else the one
    /// column with the same [`header_key`].
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
            [first, second, ..] => Err(InputError::AmbiguousColumn {
                path: path.to_path_buf(),
                field,
                first: first + 1,
                first_column: self.headers[first].clone(),
                second: second + 1,
                second_column: self.headers[second].clone(),
            }),
        }
    }

    /// The 0-based column that feeds `f`, if it comes from exactly one.
    pub fn column(&self, f: Field) -> Option<usize> {
        match self.source(f) {
            Some(FieldSource {
                source: Source::Column(c),
                ..
            }) => Some(*c),
            _ => None,
        }
    }

    /// Where `f` comes from, if anywhere.
    pub fn source(&self, f: Field) -> Option<&FieldSource> {
        self.fields[f.index()].as_ref()
    }

    /// The header names, as read.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Header names that feed no field, each once, in header order.
    /// Empty header cells are not listed.
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown
    }

    /// The record's raw cells as a customer (untrimmed; a missing or empty
    /// cell leaves the field unset).
    pub fn customer(&self, rec: &StringRecord) -> Customer {
        let mut customer = Customer::default();
        self.customer_into(rec, &mut customer);
        customer
    }

    /// Like [`Mapping::customer`], overwriting every field of `out` and
    /// reusing its buffers (no allocation once they have grown).
    pub fn customer_into(&self, rec: &StringRecord, out: &mut Customer) {
        for field in Field::ALL {
            // A short record (fewer fields than the header) simply lacks the
            // cell; `width_problem` reports the field count.
            match &self.fields[field.index()] {
                None => out.clear(field),
                Some(fs) => match &fs.source {
                    Source::Column(i) => out.set_str(field, rec.get(*i).unwrap_or("")),
                    Source::Constant(value) => out.set_str(field, value),
                    Source::Join(columns) => {
                        let buf = out.buffer_mut(field);
                        buf.clear();
                        for part in columns.iter().filter_map(|&i| rec.get(i)) {
                            let part = part.trim();
                            if part.is_empty() {
                                continue;
                            }
                            if !buf.is_empty() {
                                buf.push(' ');
                            }
                            buf.push_str(part);
                        }
                    }
                },
            }
        }
    }

    /// A problem if the record's field count does not match the header's.
    /// One extra empty last field, or one missing field where the header's
    /// last cell is empty, is a trailing delimiter, not a mismatch.
    pub fn width_problem(&self, rec: &StringRecord) -> Option<Problem> {
        let (found, width) = (rec.len(), self.headers.len());
        let ok = found == width
            || (found == width + 1 && rec.get(width).is_some_and(str::is_empty))
            || (found + 1 == width && self.trailing_empty);
        (!ok).then(|| Problem::field_count(found, width))
    }

    /// The mapping as a mapping file: comments explain it, each mapped
    /// field is a line, unmapped fields and unused columns are comments.
    /// Passing the text back with `--mapping` gives the same sources.
    pub fn describe(&self) -> String {
        let mut out = String::from(
            "# Column mapping: Notify field = column in the CSV file.\n\
             # A list joins columns with a space; { value = \"...\" } is a fixed value.\n\
             # Edit and pass back with --mapping FILE.\n",
        );
        for field in Field::ALL {
            let Some(fs) = self.source(field) else {
                let _ = writeln!(out, "# {field} = \"\"  # no column");
                continue;
            };
            let value = match &fs.source {
                Source::Column(c) => toml_string(&self.headers[*c]),
                Source::Join(columns) => {
                    let names: Vec<String> = columns
                        .iter()
                        .map(|&c| toml_string(&self.headers[c]))
                        .collect();
                    format!("[{}]", names.join(", "))
                }
                Source::Constant(v) => format!("{{ value = {} }}", toml_string(v)),
            };
            let _ = writeln!(out, "{field} = {value}  # from {}", fs.origin);
        }
        if !self.unknown.is_empty() {
            let names: Vec<String> = self
                .unknown
                .iter()
                .map(|n| format!("\"{}\"", n.escape_debug()))
                .collect();
            let _ = writeln!(out, "# Not imported: {}", names.join(", "));
        }
        out
    }
}

impl Source {
    /// The columns this source reads.
    pub fn columns(&self) -> &[usize] {
        match self {
            Source::Column(c) => std::slice::from_ref(c),
            Source::Join(columns) => columns,
            Source::Constant(_) => &[],
        }
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn alias_keys(aliases: &[(Field, &[&str])]) -> Vec<(Field, String)> {
    aliases
        .iter()
        .flat_map(|&(field, names)| names.iter().map(move |n| (field, header_key(n))))
        .collect()
}

/// The comparison key of a header name: letters and digits only,
/// lowercased, accents folded, so case, accents, spaces, `_`, `-`, `.` and
/// other punctuation do not matter (`Invoice e-mail` and `InvoiceEmail`
/// share the key `invoiceemail`, `Télefoon` matches `Telefoon`).
pub fn header_key(s: &str) -> String {
    comparison_key(s)
}

/// Shown after a mapping error: where the file's mapping came from.
pub(crate) fn describe_origin(origin: Origin, field: Field, column: &str) -> String {
    match origin {
        Origin::Option => format!("--map {field}={column}"),
        Origin::File => format!("the mapping file's {field} = \"{column}\""),
        Origin::Alias => format!("the header name {column:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> StringRecord {
        StringRecord::from(names.to_vec())
    }

    fn map(names: &[&str]) -> Result<Mapping, InputError> {
        Mapping::from_headers(Path::new("c.csv"), &headers(names))
    }

    fn map_with(names: &[&str], file: &str, options: &[&str]) -> Result<Mapping, InputError> {
        let file = MappingFile::parse(Path::new("m.toml"), file)?;
        let options: Vec<(Field, String)> =
            options.iter().map(|o| parse_map_arg(o).unwrap()).collect();
        Mapping::resolve(
            Path::new("c.csv"),
            &headers(names),
            file.entries(),
            &options,
        )
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
        let err = map(&["Code", "Naam", "Bedrijfsnaam"]).unwrap_err();
        assert!(err.to_string().contains("Naam and Bedrijfsnaam"), "{err}");
        // --map resolves it; the other column is then not imported.
        let m = map_with(
            &["Code", "Naam", "Bedrijfsnaam"],
            "",
            &["Name=Bedrijfsnaam"],
        )
        .unwrap();
        assert_eq!(m.column(Field::Name), Some(2));
        assert_eq!(m.source(Field::Name).unwrap().origin, Origin::Option);
        assert_eq!(m.unknown_columns(), ["Naam"]);
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
    fn joins_and_constants() {
        let file = r#"
            CustomerCode = "Relatiecode"
            Address = ["Straat", "Huisnummer", "Toevoeging"]
            Language = { value = "dutch" }
        "#;
        let names = ["Relatiecode", "Naam", "Straat", "Huisnummer", "Toevoeging"];
        let m = map_with(&names, file, &[]).unwrap();
        let c = m.customer(&headers(&["1", "Ann", " Dorpsstraat ", "12", ""]));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 12"));
        assert_eq!(c.get(Field::Language), Some("dutch"));
        let c = m.customer(&headers(&["1", "Ann", "Dorpsstraat", "12", "a"]));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 12 a"));
        let c = m.customer(&headers(&["1", "Ann", "", "", ""]));
        assert_eq!(c.get(Field::Address), None);
        assert!(m.unknown_columns().is_empty());
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
    fn mapping_errors_name_what_is_wrong() {
        let names = ["Code", "Naam"];
        let err = map_with(&names, "Nmae = \"Naam\"", &[]).unwrap_err();
        assert!(err.to_string().contains("\"Nmae\" is not a field"), "{err}");
        assert!(err.to_string().starts_with("m.toml: "), "{err}");
        let err = map_with(&names, "Name = \"Bedrijfsnaam\"", &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"Bedrijfsnaam\""), "{text}");
        assert!(text.contains("Code, Naam"), "{text}");
        assert!(text.contains("mapping file"), "{text}");
        let err = map_with(&names, "Address = [\"Straat\", 3]", &[]).unwrap_err();
        assert!(err.to_string().contains("column name"), "{err}");
        let err = map_with(&names, "Name = 3", &[]).unwrap_err();
        assert!(err.to_string().contains("fixed value"), "{err}");
        let err = map_with(&names, "CustomerCode = { value = \"x\" }", &[]).unwrap_err();
        assert!(err.to_string().contains("cannot be a fixed value"), "{err}");
        let err = map_with(&names, "Name = \"Naam\"\nname = \"Code\"", &[]).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let err = map_with(&names, "Name = ", &[]).unwrap_err();
        assert!(matches!(err, InputError::MappingFile { .. }), "{err}");
        let err = map_with(&names, "", &["Phone=Tel"]).unwrap_err();
        assert!(err.to_string().contains("--map Phone=Tel"), "{err}");

        assert!(parse_map_arg("Phone").is_err());
        assert!(parse_map_arg("Phone=").is_err());
        assert!(
            parse_map_arg("Fone=Tel")
                .unwrap_err()
                .contains("the fields are")
        );
        assert_eq!(
            parse_map_arg("invoice_email=E-mail facturen"),
            Ok((Field::InvoiceEmail, "E-mail facturen".to_string()))
        );
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
    fn describe_round_trips() {
        let file = r#"
            Address = ["Straat", "Huisnummer"]
            Language = { value = "du\"tch" }
        "#;
        let names = ["Code", "Naam \"x\"", "Straat", "Huisnummer", "Notitie", ""];
        let m = map_with(&names, file, &["Name=Naam \"x\""]).unwrap();
        let text = m.describe();
        assert!(text.contains("# Not imported: \"Notitie\""), "{text}");
        assert!(text.contains("# Phone = \"\"  # no column"), "{text}");
        assert!(
            text.contains("CustomerCode = \"Code\"  # from header name"),
            "{text}"
        );
        let again = map_with(&names, &text, &[]).unwrap();
        for field in Field::ALL {
            assert_eq!(
                again.source(field).map(|s| &s.source),
                m.source(field).map(|s| &s.source),
                "{field}\n{text}"
            );
        }
        assert_eq!(again.unknown_columns(), m.unknown_columns());
    }

    #[test]
    fn width_allows_one_trailing_delimiter() {
        let m = map(&["Code", "Naam", ""]).unwrap();
        assert!(m.width_problem(&headers(&["1", "A", ""])).is_none());
        assert!(m.width_problem(&headers(&["1", "A"])).is_none());
        assert!(m.width_problem(&headers(&["1"])).is_some());
        let m = map(&["Code", "Naam"]).unwrap();
        assert!(m.width_problem(&headers(&["1", "A", ""])).is_none());
        let p = m.width_problem(&headers(&["1", "A", "x"])).unwrap();
        assert_eq!(p.to_string(), "has 3 fields, the header has 2");
        assert!(m.width_problem(&headers(&["1"])).is_some());
    }

    #[test]
    fn customer_takes_raw_values() {
        let m = map(&["Name", "CustomerCode", "Phone", "Notes"]).unwrap();
        let c = m.customer(&headers(&["  Ann  ", "007", "", "x"]));
        assert_eq!(c.get(Field::Name), Some("  Ann  "));
        assert_eq!(c.code(), "007");
        assert_eq!(c.get(Field::Phone), None);
        assert_eq!(c.iter().count(), 2);
    }

    #[test]
    fn customer_into_overwrites_and_tolerates_short_records() {
        let m = map(&["CustomerCode", "Name", "City"]).unwrap();
        let mut c = m.customer(&headers(&["1", "Ann", "Delft"]));
        m.customer_into(&headers(&["2"]), &mut c);
        assert_eq!(c.code(), "2");
        assert_eq!(c.get(Field::Name), None);
        assert_eq!(c.get(Field::City), None);
        m.customer_into(&headers(&["3", "Bob", "Ede", "extra"]), &mut c);
        assert_eq!(c.get(Field::City), Some("Ede"));
    }

    #[test]
    fn alias_table_is_unambiguous() {
        let mut keys: Vec<String> = alias_keys(ALIASES).into_iter().map(|(_, k)| k).collect();
        for names in HOUSE_NUMBER_PARTS {
            keys.extend(names.iter().map(|n| header_key(n)));
        }
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "alias key {k} appears twice");
        }
        for field in Field::ALL {
            assert!(
                ALIASES.iter().any(|(f, _)| *f == field),
                "{field} has no names"
            );
        }
        let address = alias_keys(ALIASES);
        for street in STREET_ONLY {
            assert!(
                address.contains(&(Field::Address, header_key(street))),
                "{street}"
            );
        }
    }
}
