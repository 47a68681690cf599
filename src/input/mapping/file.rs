//! The user's explicit choices: the mapping file (`--mapping FILE`, TOML,
//! [`MappingFile`]) and `--map Field=Column`.
//!
//! Reading a mapping file ([`MappingFile::parse`]) and writing one
//! ([`Mapping::describe`]) live together so they stay one format: what
//! `notify-import mapping` prints, passed back with `--mapping`, gives the
//! same sources.
//!
//! Parsing must not look at a header: a choice is checked here for its
//! own shape only, and against the file's columns by `resolve.rs`.

use std::fmt::Write as _;
use std::path::Path;

use super::{Mapping, Source, ValueMap, header_key};
use crate::input::InputError;
use crate::model::field::Field;

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

impl Mapping {
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
                match self.conflicts.iter().find(|c| c.field == field) {
                    Some(c) => {
                        let _ = writeln!(
                            out,
                            "# {field} = {}  # or {}: both hold {field}, with different values (line {}: {} and {}); choose one",
                            column(c.first),
                            column(c.second),
                            c.line,
                            toml_string(&c.values.0),
                            toml_string(&c.values.1)
                        );
                    }
                    None => {
                        let _ = writeln!(out, "# {field} = \"\"  # no column");
                    }
                }
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
        for note in &self.notes {
            let _ = writeln!(out, "# Note: {note}");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::mapping::tests::{headers, map_with};
    use crate::input::preview::ColumnStats;

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
    fn without_a_code_column_the_mapping_still_describes_itself() {
        let file = MappingFile::default();
        let stats = ColumnStats::from_rows([
            (2, vec!["A-1".into(), "Alpha".into(), "Köln".into()]),
            (3, vec!["A-2".into(), "Alpha".into(), String::new()]),
        ]);
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
        let err = m.require_complete(Path::new("c.csv")).unwrap_err();
        assert!(err.to_string().contains("#1 \"Kennung\""), "{err}");
    }
}
