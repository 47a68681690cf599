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
//! 3. header names, through the matcher of `header.rs` (synonyms in NL,
//!    EN, DE and FR; case, accents, separators, `*`, a trailing `(…)` and
//!    `billing_`-style prefixes do not matter).
//!
//! A column is named by its header text or by its position, `#26`
//! (1-based, as the run header numbers them): the only way to choose one
//! of two columns with the same name.
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
//! (`Name = { column = "Company", else = ["First", "Last"] }`) and map
//! values (`Language = { column = "Taal", values = { NL = "dutch" } }`).
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
use super::header::{self, Rank, Role};
use super::preview::ColumnStats;
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::problem::Problem;

pub use super::header::header_key;

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
    /// The first column where its cell is filled, else the other columns
    /// joined (Name = company, else First + Last).
    Fallback(usize, Vec<usize>),
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
    /// `--default-country`.
    DefaultCountry,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Alias => "header name",
            Origin::File => "mapping file",
            Origin::Option => "--map",
            Origin::DefaultCountry => "--default-country",
        })
    }
}

/// Values of a column replaced before checking: `(from, to)` pairs, `from`
/// compared trimmed and case-insensitively.
pub type ValueMap = Vec<(String, String)>;

/// A field's source and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSource {
    /// Where the value comes from.
    pub source: Source,
    /// Who decided.
    pub origin: Origin,
    /// Values replaced (from a mapping file); empty for none.
    pub values: ValueMap,
    /// The value of an empty cell (`--default-country`).
    pub default: Option<String>,
}

impl FieldSource {
    fn new(source: Source, origin: Origin) -> FieldSource {
        FieldSource {
            source,
            origin,
            values: ValueMap::new(),
            default: None,
        }
    }
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
    /// A column, else other columns joined where its cell is empty.
    Fallback(String, Vec<String>),
}

/// Explicit field → column choices, from `--map` and a mapping file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingFile {
    entries: Vec<(Field, Target)>,
    values: Vec<(Field, ValueMap)>,
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
    /// whose value is a column name (or `#N`, its 1-based position), a
    /// list of column names to join with a space, `{ value = "text" }` for
    /// a fixed value, or a table with `column` (or `columns`), an optional
    /// `else` list of columns for rows where the column is empty, and
    /// optional `values` to replace:
    ///
    /// ```toml
    /// CustomerCode = "Relatiecode"
    /// Address = ["Straat", "Huisnummer", "Toevoeging"]
    /// Phone = "#26"
    /// Name = { column = "Company", else = ["First name", "Last name"] }
    /// Language = { column = "Taal", values = { NL = "dutch", EN = "english" } }
    /// Country = { value = "NL" }
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
        let mut file = MappingFile::default();
        let columns = |key: &str, items: Vec<toml::Value>| {
            items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) if !s.is_empty() => Ok(s),
                    other => Err(err(format!(
                        "{key}: every item of the list must be a column name, found {other}"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
        };
        for (key, value) in table {
            let field = field_by_name(&key).ok_or_else(|| err(unknown_field(&key)))?;
            if file.entries.iter().any(|(f, _)| *f == field) {
                return Err(err(format!("{key} names {field}, which is mapped twice")));
            }
            let shapes = "give a column name (\"Naam\"), a list of columns to join \
                 ([\"Straat\", \"Huisnummer\"]), a fixed value ({ value = \"dutch\" }) or \
                 { column = \"Taal\", values = { NL = \"dutch\" } }";
            let target = match value {
                toml::Value::String(column) if !column.is_empty() => Target::Column(column),
                toml::Value::Array(items) if !items.is_empty() => {
                    Target::Join(columns(&key, items)?)
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
                toml::Value::Table(mut t) => {
                    if let Some(unknown) = t
                        .keys()
                        .find(|k| !["column", "columns", "else", "values"].contains(&k.as_str()))
                    {
                        return Err(err(format!(
                            "{key}: {unknown:?} is not a mapping key; use column, columns, else or values"
                        )));
                    }
                    if let Some(values) = t.remove("values") {
                        let toml::Value::Table(values) = values else {
                            return Err(err(format!(
                                "{key}: values must be a table, e.g. values = {{ NL = \"dutch\" }}"
                            )));
                        };
                        let mut map = ValueMap::new();
                        for (from, to) in values {
                            let toml::Value::String(to) = to else {
                                return Err(err(format!(
                                    "{key}: values: {from:?} must map to text, found {to}"
                                )));
                            };
                            map.push((from, to));
                        }
                        file.values.push((field, map));
                    }
                    let main = match (t.remove("column"), t.remove("columns")) {
                        (Some(toml::Value::String(c)), None) if !c.is_empty() => Target::Column(c),
                        (None, Some(toml::Value::Array(items))) if !items.is_empty() => {
                            Target::Join(columns(&key, items)?)
                        }
                        _ => {
                            return Err(err(format!(
                                "{key}: a table needs column = \"Name\" or columns = [\"A\", \"B\"]"
                            )));
                        }
                    };
                    match (t.remove("else"), main) {
                        (None, main) => main,
                        (Some(toml::Value::Array(items)), Target::Column(c))
                            if !items.is_empty() =>
                        {
                            Target::Fallback(c, columns(&key, items)?)
                        }
                        _ => {
                            return Err(err(format!(
                                "{key}: else needs column = \"Name\" and a list, e.g. else = [\"First name\", \"Last name\"]"
                            )));
                        }
                    }
                }
                other => return Err(err(format!("{key} = {other}: {shapes}"))),
            };
            if field == Field::CustomerCode && matches!(target, Target::Constant(_)) {
                return Err(err(format!(
                    "{key} cannot be a fixed value: every customer needs its own code"
                )));
            }
            file.entries.push((field, target));
        }
        Ok(file)
    }

    /// A mapping file with these explicit choices and no value maps.
    pub fn from_entries(entries: Vec<(Field, Target)>) -> MappingFile {
        MappingFile {
            entries,
            values: Vec::new(),
        }
    }

    /// The explicit choices, one per field.
    pub fn entries(&self) -> &[(Field, Target)] {
        &self.entries
    }

    /// The value maps, one per field at most.
    pub fn values(&self) -> &[(Field, ValueMap)] {
        &self.values
    }
}

/// Parses one `--map Field=Column` value (for the command-line parser):
/// the field by API name in any case, the column as written (`#N` for the
/// N-th column).
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
    unknown: Vec<String>,
    /// Choices between equal columns, for the run header.
    notes: Vec<String>,
    /// Columns passed over for an equal one because they were empty in
    /// the preview: (what they match, the column, the chosen column).
    set_aside: Vec<(Role, usize, usize)>,
    /// Columns filled with distinct values in the previewed rows.
    code_candidates: Vec<usize>,
    /// Previewed data rows behind `code_candidates`.
    previewed: usize,
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
                return Err(InputError::AmbiguousColumn {
                    path: path.to_path_buf(),
                    field,
                    first: a + 1,
                    first_column: self.headers[a].clone(),
                    second: b + 1,
                    second_column: self.headers[b].clone(),
                });
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

    /// A problem when `rec` has a value in a column that was passed over
    /// for an equal one because it was empty in the previewed rows: that
    /// value would otherwise be dropped without a word.
    pub fn set_aside_problem(&self, rec: &StringRecord) -> Option<Problem> {
        let &(role, column, chosen) = self
            .set_aside
            .iter()
            .find(|(_, c, _)| rec.get(*c).is_some_and(|v| !v.trim().is_empty()))?;
        let name = &self.headers[column];
        let message = format!(
            "column #{} {name:?} has a value here, but #{} was chosen because #{} was empty in the first rows",
            column + 1,
            chosen + 1,
            column + 1
        );
        Some(match role {
            Role::Field(field) => Problem::new(
                field,
                format!("{message}; choose one with --map {field}=#{}", column + 1),
            ),
            _ => Problem::row(format!("{message}; choose one in a mapping file")),
        })
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
    fn candidates_text(&self) -> String {
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

    /// How a mapping file names column `c`: its header text, or `#N`
    /// when another column has the same text.
    fn column_ref(&self, c: usize) -> String {
        let name = &self.headers[c];
        if self.headers.iter().filter(|h| *h == name).count() > 1 {
            toml_string(&format!("#{}", c + 1))
        } else {
            toml_string(name)
        }
    }

    /// Adds a line to [`Mapping::notes`].
    pub fn add_note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Decisions between equal columns, one line each, for the run header.
    pub fn notes(&self) -> &[String] {
        &self.notes
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
            let Some(fs) = &self.fields[field.index()] else {
                out.clear(field);
                continue;
            };
            match &fs.source {
                Source::Column(i) => out.set_str(field, rec.get(*i).unwrap_or("")),
                Source::Constant(value) => out.set_str(field, value),
                Source::Join(columns) => join_into(out.buffer_mut(field), rec, columns),
                Source::Fallback(first, rest) => match rec.get(*first) {
                    Some(cell) if !cell.trim().is_empty() => out.set_str(field, cell),
                    _ => join_into(out.buffer_mut(field), rec, rest),
                },
            }
            if fs.values.is_empty() && fs.default.is_none() {
                continue;
            }
            let current = out.get(field).unwrap_or("").trim();
            let replacement = if current.is_empty() {
                fs.default.as_deref()
            } else {
                fs.values
                    .iter()
                    .find(|(from, _)| same_value(from, current))
                    .map(|(_, to)| to.as_str())
            };
            if let Some(value) = replacement {
                // Owned: `value` borrows `self`, `out` is written.
                out.set_str(field, value);
            }
        }
    }

    /// A problem if the record's cells do not line up with the header's:
    /// a value past the last named column (a shifted row, even when the
    /// header ends in a delimiter), or fewer cells than named columns.
    /// Empty cells past the header (trailing delimiters) are tolerated.
    pub fn width_problem(&self, rec: &StringRecord) -> Option<Problem> {
        let named = self
            .headers
            .iter()
            .rposition(|h| !h.trim().is_empty())
            .map_or(0, |i| i + 1);
        let used = used_width(rec, rec.len());
        if rec.len() > self.headers.len() && used > named || rec.len() < named {
            return Some(Problem::field_count(rec.len(), self.headers.len()));
        }
        // As wide as the header, with a value under its unnamed last cell.
        (used > named).then(|| {
            Problem::row(format!(
                "has a value in column #{used}, which has no name in the header (is the row shifted?)"
            ))
        })
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
        let column = |c: usize| self.column_ref(c);
        let list = |columns: &[usize]| {
            let names: Vec<String> = columns.iter().map(|&c| column(c)).collect();
            format!("[{}]", names.join(", "))
        };
        for field in Field::ALL {
            let Some(fs) = self.source(field) else {
                if field == Field::CustomerCode {
                    let _ = writeln!(
                        out,
                        "# CustomerCode = \"\"  # no column found: name the column with each customer's own code"
                    );
                    let candidates = self.candidates_text();
                    if !candidates.is_empty() {
                        let _ = writeln!(out, "#   candidates ({candidates})");
                    }
                    let others: Vec<String> = self
                        .unknown
                        .iter()
                        .filter(|n| !self.code_candidates.iter().any(|&c| &self.headers[c] == *n))
                        .map(|n| format!("{n:?}"))
                        .collect();
                    if !others.is_empty() {
                        let _ =
                            writeln!(out, "#   other columns not imported: {}", others.join(", "));
                    }
                    continue;
                }
                let _ = writeln!(out, "# {field} = \"\"  # no column");
                continue;
            };
            let mut value = match &fs.source {
                Source::Column(c) => column(*c),
                Source::Join(columns) => list(columns),
                Source::Constant(v) => format!("{{ value = {} }}", toml_string(v)),
                Source::Fallback(first, rest) => {
                    format!("{{ column = {}, else = {} }}", column(*first), list(rest))
                }
            };
            if !fs.values.is_empty() {
                let pairs: Vec<String> = fs
                    .values
                    .iter()
                    .map(|(from, to)| format!("{} = {}", toml_key(from), toml_string(to)))
                    .collect();
                let values = format!("values = {{ {} }}", pairs.join(", "));
                value = match &fs.source {
                    Source::Column(c) => format!("{{ column = {}, {values} }}", column(*c)),
                    Source::Join(columns) => format!("{{ columns = {}, {values} }}", list(columns)),
                    Source::Fallback(first, rest) => format!(
                        "{{ column = {}, else = {}, {values} }}",
                        column(*first),
                        list(rest)
                    ),
                    Source::Constant(_) => value,
                };
            }
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
    pub fn columns(&self) -> Vec<usize> {
        match self {
            Source::Column(c) => vec![*c],
            Source::Join(columns) => columns.clone(),
            Source::Constant(_) => Vec::new(),
            Source::Fallback(first, rest) => std::iter::once(*first)
                .chain(rest.iter().copied())
                .collect(),
        }
    }
}

/// The cells of `rec` before `end` up to the last non-blank one: the
/// width without trailing empty cells (trailing delimiters).
pub fn used_width(rec: &StringRecord, end: usize) -> usize {
    (0..end.min(rec.len()))
        .rev()
        .find(|&i| !rec[i].trim().is_empty())
        .map_or(0, |i| i + 1)
}

/// The non-empty cells of `columns`, trimmed and joined with a space.
fn join_into(buf: &mut String, rec: &StringRecord, columns: &[usize]) {
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

/// A value-map key matches a cell: trimmed, case-insensitive, without
/// allocating.
fn same_value(key: &str, cell: &str) -> bool {
    key.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .eq(cell.chars().flat_map(char::to_lowercase))
}

/// `s` as a TOML key (bare when it can be).
fn toml_key(s: &str) -> String {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { s.to_string() } else { toml_string(s) }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Shown after a mapping error: where the file's mapping came from.
pub(crate) fn describe_origin(origin: Origin, field: Field, column: &str) -> String {
    match origin {
        Origin::Option => format!("--map {field}={column}"),
        Origin::File => format!("the mapping file's {field} = \"{column}\""),
        Origin::Alias => format!("the header name {column:?}"),
        Origin::DefaultCountry => format!("--default-country {column}"),
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
        let path = Path::new("c.csv");
        let m = Mapping::resolve_with(
            path,
            &headers(names),
            &file,
            &options,
            &ColumnStats::default(),
        )?;
        m.require_code(path)?;
        Ok(m)
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
        // Several trailing delimiters are tolerated too.
        assert!(
            m.width_problem(&headers(&["1", "A", "", " ", ""]))
                .is_none()
        );
        // Issue 13: a shifted row under a header that ends in `;`.
        let m = map(&["Code", "Naam", "Plaats", "KvK-nummer", "Taal", ""]).unwrap();
        let shifted = headers(&["1002", "Smit BV", "Delft", "34120011", "x", "dutch", ""]);
        let p = m.width_problem(&shifted).unwrap();
        assert_eq!(p.to_string(), "has 7 fields, the header has 6");
        let p = m
            .width_problem(&headers(&["1", "A", "B", "C", "D", "E"]))
            .unwrap();
        assert!(p.to_string().contains("column #6"), "{p}");
        assert!(
            m.width_problem(&headers(&["1", "A", "B", "C", "D", ""]))
                .is_none()
        );
        assert!(
            m.width_problem(&headers(&["1", "A", "B", "C", "D"]))
                .is_none()
        );
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
    fn value_maps_replace_values_of_any_field() {
        let file = r#"
            Language = { column = "Taal", values = { NL = "dutch", EN = "english" } }
            Country = { column = "Land", values = { "Holland" = "NL" } }
        "#;
        let m = map_with(&["Code", "Naam", "Taal", "Land"], file, &[]).unwrap();
        let c = m.customer(&headers(&["1", "A", " nl ", "holland"]));
        assert_eq!(c.get(Field::Language), Some("dutch"));
        assert_eq!(c.get(Field::Country), Some("NL"));
        // Values without an entry pass through.
        let c = m.customer(&headers(&["1", "A", "fr", "BE"]));
        assert_eq!(c.get(Field::Language), Some("fr"));
        assert_eq!(c.get(Field::Country), Some("BE"));
        // Printed back, the maps survive.
        let again = map_with(&["Code", "Naam", "Taal", "Land"], &m.describe(), &[]).unwrap();
        assert_eq!(again.source(Field::Language), m.source(Field::Language));
        assert_eq!(again.source(Field::Country), m.source(Field::Country));
        // Mistakes are named.
        let err = map_with(
            &["Code", "Taal"],
            "Language = { column = \"Taal\", values = { NL = 1 } }",
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("must map to text"), "{err}");
        let err = map_with(&["Code", "Taal"], "Language = { colum = \"Taal\" }", &[]).unwrap_err();
        assert!(
            err.to_string().contains("\"colum\" is not a mapping key"),
            "{err}"
        );
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

    #[test]
    fn without_a_code_column_the_mapping_still_describes_itself() {
        let file = MappingFile::default();
        let stats = ColumnStats {
            rows: 2,
            filled: vec![2, 2, 1],
            unique: vec![true, false, true],
            record_ids: vec![false; 3],
        };
        let m = Mapping::resolve_with(
            Path::new("c.csv"),
            &headers(&["Kennung", "Firma", "Ort"]),
            &file,
            &[],
            &stats,
        )
        .unwrap();
        let text = m.describe();
        assert!(
            text.contains("# CustomerCode = \"\"  # no column found"),
            "{text}"
        );
        assert!(text.contains("#1 \"Kennung\""), "{text}");
        assert!(
            !text.contains("#3 \"Ort\""),
            "not filled in every row: {text}"
        );
        assert!(text.contains("Name = \"Firma\""), "{text}");
        let err = m.require_code(Path::new("c.csv")).unwrap_err();
        assert!(err.to_string().contains("#1 \"Kennung\""), "{err}");
    }
}
