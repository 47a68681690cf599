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
//! field. When several columns claim one field, the preferred claim wins
//! among the columns with values in the sample (`header::Claim::preference`:
//! shipping columns last, specific names before generic ones, then the
//! level: the billing column before the account's for the address and
//! the company name, the account's own for its phone, e-mail and code,
//! the account's person for the contact); where the chosen column is
//! empty, the next level's fills in (DATEV's `Straße (Rechnungsadresse)`,
//! else `Straße`), also when the preferred one is empty in the sample. Between equal claims:
//!
//! - Name: the company-like column filled in the most sampled rows, never
//!   refused (a display name beside a legal name is a choice), and the
//!   run header says so;
//! - any other field: refused only when two of them hold different values
//!   on one sampled row ([`Mapping::require_complete`] names both, the
//!   line and the `--map` that picks each); otherwise the fuller one, the
//!   other where it is empty, and a later row where they differ is that
//!   row's problem.
//!
//! The sample is the preview's ([`ColumnStats`]: the rows in the first
//! 64 KiB), the same in every command, so `mapping` prints exactly the
//! decision `validate` and `import` act on; `mapping` shows a refused
//! field as a choice to make instead of failing. A named column or field
//! that does not exist is an error.
//!
//! Name parts: First + (infix +) Last name columns feed Contact when the
//! file has no contact column, or its contact column belongs to a less
//! preferred address (`ship-to_contact`), is empty, or repeats the Name
//! (Zoho's `Contact Name`); they feed Name where the company cell of a
//! row is empty (private customers in a shop export), or Name when there
//! is no company column at all. A mapping file can do the same
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

use super::{Conflict, FieldSource, Mapping, MappingFile, Origin, Source, Target, header_key};
use crate::input::header::{self, Claim, Rank, Role};
use crate::input::preview::ColumnStats;
use crate::input::{ColumnConflict, InputError};
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
        mapping.require_complete(path)?;
        Ok(mapping)
    }

    /// [`Mapping::resolve`] with value maps and what the previewed rows
    /// say per column (`stats`, see the module doc). Does not require a
    /// CustomerCode column and does not refuse two columns with different
    /// values: see [`Mapping::require_complete`].
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
            conflicts: Vec::new(),
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
        // took: per role, the preferred claims (see `Claim::preference`)
        // among the columns with values in the sample, then the rules of
        // `choose` and `choose_name`.
        let mut claims: Vec<(Claim, usize)> = Vec::new();
        for (column, name) in mapping.headers.iter().enumerate() {
            if taken[column] || name.trim().is_empty() {
                continue;
            }
            if let Some(claim) = header::classify(name) {
                // An ERP's `id` (`__export__.res_partner_42`) is its own
                // record id: the customer's code is elsewhere (`ref`).
                if claim.role == Role::Field(Field::CustomerCode) && stats.has_record_ids(column) {
                    mapping.notes.push(format!(
                        "CustomerCode: column #{} {name:?} not used: it holds the exporting program's record ids (__export__...)",
                        column + 1
                    ));
                    continue;
                }
                claims.push((claim, column));
            }
        }
        let mut roles: Vec<Role> = Vec::new();
        for (claim, _) in &claims {
            if !roles.contains(&claim.role) {
                roles.push(claim.role);
            }
        }
        let mut parts: [Option<(usize, Claim)>; 3] = [None; 3];
        let mut contact_claim = None;
        let mut name_else = None;
        for role in roles {
            if let Role::Field(field) = role
                && mapping.fields[field.index()].is_some()
            {
                // Chosen explicitly: these columns are simply not used.
                continue;
            }
            let all: Vec<(Claim, usize)> = claims
                .iter()
                .copied()
                .filter(|(claim, _)| claim.role == role)
                .collect();
            // An empty billing column does not hide a filled account one.
            let filled: Vec<(Claim, usize)> = all
                .iter()
                .copied()
                .filter(|&(_, c)| stats.has_values(c))
                .collect();
            let pool = if filled.is_empty() { &all } else { &filled };
            let best = pool
                .iter()
                .map(|(claim, _)| claim.preference())
                .min()
                .unwrap_or((false, Rank::Specific, 0));
            let equal: Vec<usize> = pool
                .iter()
                .filter(|(claim, _)| claim.preference() == best)
                .map(|&(_, c)| c)
                .collect();
            // As good or better, but empty in the sample.
            let empty: Vec<usize> = all
                .iter()
                .filter(|&&(claim, c)| claim.preference() <= best && !equal.contains(&c))
                .filter(|&&(_, c)| !pool.iter().any(|&(_, p)| p == c))
                .map(|&(_, c)| c)
                .collect();
            let choice = if role == Role::Field(Field::Name) {
                // A weaker name column (`name` beside Odoo's
                // `company_name`) may still fill the rows without one.
                let mut weaker: Vec<(Claim, usize)> = pool
                    .iter()
                    .copied()
                    .filter(|(claim, c)| {
                        !equal.contains(c) && claim.level != header::Level::Shipping
                    })
                    .collect();
                weaker.sort_by_key(|&(claim, c)| (claim.preference(), c));
                let weaker: Vec<usize> = weaker.into_iter().map(|(_, c)| c).collect();
                mapping.choose_name(&equal, &weaker, stats)
            } else {
                match mapping.choose(role, &equal, &empty, stats) {
                    // The best level where it has values, the next level
                    // where it is empty (DATEV's `Straße (Rechnungsadresse)`
                    // is filled only where it differs from `Straße`).
                    Choice::Column(c) if role != Role::Field(Field::CustomerCode) => {
                        let weaker = pool
                            .iter()
                            .filter(|(claim, w)| {
                                !equal.contains(w)
                                    && (claim.level != header::Level::Shipping || best.0)
                                    && stats.gaps_filled(c, *w) > 0
                            })
                            .min_by_key(|&&(claim, w)| (claim.preference(), w))
                            .map(|&(_, w)| w);
                        // The run header's field line says so.
                        match weaker {
                            Some(w) => Choice::Coalesce(c, w),
                            None => Choice::Column(c),
                        }
                    }
                    other => other,
                }
            };
            let preference_of = |column: usize| {
                all.iter()
                    .find(|&&(_, c)| c == column)
                    .map(|(claim, _)| claim.preference())
            };
            let (column, coalesced) = match choice {
                // A preferred level empty in the sample still comes first
                // where a later row fills it: a DATEV file's
                // `(Rechnungsadresse)` set is empty for most accounts.
                Choice::Column(c) if improvable(role) => {
                    let chosen = preference_of(c);
                    let better = all
                        .iter()
                        .filter(|&&(claim, w)| {
                            stats.rows > 0
                                && stats.filled_rows(w) == 0
                                && claim.level != header::Level::Shipping
                                && chosen.is_some_and(|p| {
                                    claim.preference() < p && claim.preference().1 == p.1
                                })
                        })
                        .min_by_key(|&&(claim, w)| (claim.preference(), w))
                        .map(|&(_, w)| w);
                    match better {
                        Some(b) => (b, Some(c)),
                        None => (c, None),
                    }
                }
                Choice::Column(c) => (c, None),
                Choice::Coalesce(c, other) => (c, Some(other)),
                Choice::Undecided => continue,
            };
            taken[column] = true;
            // A column passed over that was as good or better, had it
            // held values, is checked on every row: a value there that the
            // chosen column lacks would otherwise be dropped unseen. A
            // column of the same level that fills the chosen one's gaps
            // counts only where both hold different values; one of
            // another level (billing, else the account's) never does.
            if matches!(role, Role::Field(f) if f != Field::Name) {
                let chosen = preference_of(column);
                for &(claim, c) in &all {
                    if c == column {
                        continue;
                    }
                    let fills = coalesced == Some(c);
                    if fills && Some(claim.preference()) != chosen {
                        continue;
                    }
                    if fills || claim.preference() <= best {
                        mapping.set_aside.push((role, c, column, fills));
                    }
                }
            }
            let claim = all
                .iter()
                .find(|&&(_, c)| c == column)
                .map(|&(claim, _)| claim);
            match role {
                Role::Field(field) => {
                    let source = match coalesced {
                        Some(other) => {
                            taken[other] = true;
                            Source::Fallback(column, vec![other])
                        }
                        None => Source::Column(column),
                    };
                    if field == Field::Name {
                        name_else = coalesced;
                    }
                    if field == Field::Contact {
                        contact_claim = claim;
                    }
                    mapping.fields[field.index()] = Some(FieldSource::new(source, Origin::Alias));
                }
                Role::FirstName => parts[0] = claim.map(|cl| (column, cl)),
                Role::Infix => parts[1] = claim.map(|cl| (column, cl)),
                Role::LastName => parts[2] = claim.map(|cl| (column, cl)),
            }
        }
        mapping.compose_names(parts, contact_claim, name_else, stats, &mut taken);
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
        // A column known to hold another field (a city, a first name) is
        // no code, even when its first rows happen to be distinct; an
        // e-mail address may be.
        mapping.code_candidates = (0..mapping.headers.len())
            .filter(|&c| stats.is_key_like(c) && !mapping.headers[c].trim().is_empty())
            .filter(|&c| {
                header::classify(&mapping.headers[c]).is_none_or(|claim| {
                    matches!(claim.role, Role::Field(Field::CustomerCode | Field::Email))
                })
            })
            .collect();
        Ok(mapping)
    }

    /// One of `equal` columns that claim `role` equally well (those with
    /// values in the sample, or all when none has): the only one; else,
    /// when no two hold different values on one sampled row, the one
    /// filled in the most rows (the leftmost of equals), with the next
    /// where it is empty (`Coalesce`; a row where they differ is that
    /// row's problem); else none: the conflict is kept
    /// for [`Mapping::require_complete`] and the run header.
    ///
    /// `empty` are as good or better, but empty in the sample: passed
    /// over, and said so.
    fn choose(
        &mut self,
        role: Role,
        equal: &[usize],
        empty: &[usize],
        stats: &ColumnStats,
    ) -> Choice {
        let Some(&first) = equal.first() else {
            return Choice::Undecided;
        };
        let label = role_label(role);
        if equal.len() == 1 {
            if !empty.is_empty() {
                let others: Vec<String> = empty.iter().map(|c| format!("#{}", c + 1)).collect();
                self.notes.push(format!(
                    "{label}: column #{} {:?} chosen over {} (the others are empty in the first {} rows)",
                    first + 1,
                    self.headers[first],
                    others.join(", "),
                    stats.rows
                ));
            }
            return Choice::Column(first);
        }
        if !equal.iter().any(|&c| stats.filled_rows(c) > 0) {
            let others = self.column_list(equal.iter().copied().filter(|&c| c != first));
            let why = match stats.rows {
                0 => "the file has no rows to compare them by".to_string(),
                n => format!("all are empty in the first {n} rows"),
            };
            self.notes.push(format!(
                "{label}: column #{} {:?} chosen over {others} ({why})",
                first + 1,
                self.headers[first],
            ));
            return Choice::Column(first);
        }
        if let Role::Field(field) = role {
            for (i, &a) in equal.iter().enumerate() {
                for &b in &equal[i + 1..] {
                    if let Some((line, x, y)) = stats.conflict(a, b) {
                        self.conflicts.push(Conflict {
                            field,
                            first: a,
                            second: b,
                            line,
                            values: (x.to_string(), y.to_string()),
                        });
                        return Choice::Undecided;
                    }
                }
            }
        }
        let ranked = by_filled(equal, stats);
        let chosen = ranked[0];
        // They agree: the next fills the chosen one's empty cells, in
        // the sample and after it.
        let next = Some(ranked[1]).filter(|_| matches!(role, Role::Field(_)));
        let others = self.column_list(ranked[1..].iter().copied());
        let mut why = format!(
            "filled in {} rows, {} in {}; they agree where both are filled",
            stats.filled_rows(chosen),
            self.column_list([ranked[1]]),
            stats.filled_rows(ranked[1])
        );
        if let Some(next) = next {
            why.push_str(&format!(
                "; #{} is used where #{} is empty",
                next + 1,
                chosen + 1
            ));
        }
        self.notes.push(format!(
            "{label}: column #{} {:?} chosen over {others} ({why} in the first {} rows)",
            chosen + 1,
            self.headers[chosen],
            stats.rows
        ));
        match next {
            Some(next) => Choice::Coalesce(chosen, next),
            None => Choice::Column(chosen),
        }
    }

    /// Name among `equal` company-like columns: the one filled in the most
    /// sampled rows (the leftmost of equals), never refused: a display
    /// name beside a legal one is a choice, not a contradiction. The next
    /// one (or the first of the `weaker` name columns) that has values
    /// where it is empty fills those rows, unless the person's name does
    /// (see `compose_names`).
    fn choose_name(&mut self, equal: &[usize], weaker: &[usize], stats: &ColumnStats) -> Choice {
        let ranked = by_filled(equal, stats);
        let Some(&chosen) = ranked.first() else {
            return Choice::Undecided;
        };
        let next = ranked[1..]
            .iter()
            .chain(weaker)
            .copied()
            .find(|&c| stats.gaps_filled(chosen, c) > 0);
        if ranked.len() == 1 {
            return match next {
                Some(next) => Choice::Coalesce(chosen, next),
                None => Choice::Column(chosen),
            };
        }
        let counts: Vec<String> = ranked[1..]
            .iter()
            .map(|&c| format!("#{} in {}", c + 1, stats.filled_rows(c)))
            .collect();
        self.notes.push(format!(
            "Name: column #{} {:?} chosen over {}: the company-like column filled in the most rows ({} of the first {}; {})",
            chosen + 1,
            self.headers[chosen],
            self.column_list(ranked[1..].iter().copied()),
            stats.filled_rows(chosen),
            stats.rows,
            counts.join(", ")
        ));
        match next {
            Some(next) => Choice::Coalesce(chosen, next),
            None => Choice::Column(chosen),
        }
    }

    /// `#3 "Phone", #5 "Tel"`.
    fn column_list(&self, columns: impl IntoIterator<Item = usize>) -> String {
        let names: Vec<String> = columns
            .into_iter()
            .map(|c| format!("#{} {:?}", c + 1, self.headers[c]))
            .collect();
        names.join(", ")
    }

    /// First (+ infix) + last name columns feed Contact when no column
    /// does, or when the contact column belongs to a less preferred
    /// address (a shipping `ship-to_contact` beside the account's
    /// `contact_first_name`, see `Claim::preference`) or is empty in the
    /// sample; and Name where its cell is empty (or Name when no column
    /// does). See the module doc.
    fn compose_names(
        &mut self,
        parts: [Option<(usize, Claim)>; 3],
        contact_claim: Option<Claim>,
        name_else: Option<usize>,
        stats: &ColumnStats,
        taken: &mut [bool],
    ) {
        let person: Option<Claim> = parts[2].or(parts[0]).map(|(_, claim)| claim);
        let parts: Vec<usize> = parts.into_iter().flatten().map(|(c, _)| c).collect();
        if parts.is_empty() {
            return;
        }
        for &c in &parts {
            taken[c] = true;
        }
        let parts_filled = parts.iter().any(|&c| stats.has_values(c));
        // Zoho's `Contact Name` is the customer's display name: a contact
        // column that repeats Name is no contact person.
        let name_column = match self.fields[Field::Name.index()] {
            Some(FieldSource {
                source: Source::Column(n) | Source::Fallback(n, _),
                ..
            }) => Some(n),
            _ => None,
        };
        let contact = &mut self.fields[Field::Contact.index()];
        match contact {
            None => *contact = Some(FieldSource::new(Source::Join(parts.clone()), Origin::Alias)),
            Some(FieldSource {
                source: Source::Column(column),
                origin: Origin::Alias,
                ..
            }) => {
                let column = *column;
                let better = match (person, contact_claim) {
                    (Some(p), Some(c)) => p.preference() < c.preference(),
                    _ => false,
                };
                let empty = !stats.has_values(column) && parts_filled;
                let repeats = parts_filled
                    && name_column.is_some_and(|n| {
                        stats.filled_rows(column) > 0
                            && stats.conflict(n, column).is_none()
                            && stats.gaps_filled(n, column) == 0
                    });
                if better || empty || repeats {
                    *contact = Some(FieldSource::new(Source::Join(parts.clone()), Origin::Alias));
                    taken[column] = false;
                    self.set_aside
                        .retain(|s| s.0 != Role::Field(Field::Contact));
                    let names = self.column_list(parts.iter().copied()).replace(", ", " + ");
                    let level = contact_claim.map_or("", |c| c.level.name());
                    self.notes.push(if better {
                        format!(
                            "Contact: {names} (the account's person) chosen over #{} {:?} ({level} address)",
                            column + 1,
                            self.headers[column]
                        )
                    } else if repeats {
                        format!(
                            "Contact: {names} chosen over #{} {:?} (it repeats the Name in the first {} rows)",
                            column + 1,
                            self.headers[column],
                            stats.rows
                        )
                    } else {
                        format!(
                            "Contact: {names} chosen over #{} {:?} (empty in the first {} rows)",
                            column + 1,
                            self.headers[column],
                            stats.rows
                        )
                    });
                }
            }
            Some(_) => {}
        }
        let name = &mut self.fields[Field::Name.index()];
        match name {
            None => *name = Some(FieldSource::new(Source::Join(parts), Origin::Alias)),
            Some(FieldSource {
                source: source @ (Source::Column(_) | Source::Fallback(..)),
                origin: Origin::Alias,
                ..
            }) => {
                let company = match *source {
                    Source::Column(c) | Source::Fallback(c, _) => c,
                    _ => return,
                };
                // The person, not a second company-like column, fills
                // the rows without a company.
                if let Some(other) = name_else {
                    taken[other] = false;
                }
                *source = Source::Fallback(company, parts);
            }
            Some(_) => {}
        }
    }

    /// Refuses a mapping that cannot be imported as it is: two columns
    /// that hold different values for one field (naming both and the
    /// `--map` that picks each), or no CustomerCode column (naming the
    /// columns that could be the code). `validate`, `plan` and `import`
    /// call it; `mapping` prints the same decision instead.
    pub fn require_complete(&self, path: &Path) -> Result<(), InputError> {
        if let Some(conflict) = self.conflicts.first() {
            return Err(InputError::ConflictingColumns {
                path: path.to_path_buf(),
                conflict: Box::new(ColumnConflict {
                    field: conflict.field,
                    first: conflict.first + 1,
                    first_column: self.headers[conflict.first].clone(),
                    second: conflict.second + 1,
                    second_column: self.headers[conflict.second].clone(),
                    line: conflict.line,
                    values: conflict.values.clone(),
                }),
            });
        }
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

/// What [`Mapping::choose`] decided for one role.
enum Choice {
    /// This column.
    Column(usize),
    /// The first column, else the second where the first is empty.
    Coalesce(usize, usize),
    /// Two columns hold different values: not mapped, refused by
    /// [`Mapping::require_complete`].
    Undecided,
}

/// Roles whose column a preferred level empty in the sample still comes
/// before: not the code (one column), not Name and Contact (their own
/// rules, `choose_name` and `compose_names`).
fn improvable(role: Role) -> bool {
    matches!(role, Role::Field(f)
        if !matches!(f, Field::CustomerCode | Field::Name | Field::Contact))
}

/// How notes name a role.
fn role_label(role: Role) -> &'static str {
    match role {
        Role::Field(f) => f.api_name(),
        Role::FirstName => "first name",
        Role::Infix => "name infix",
        Role::LastName => "last name",
    }
}

/// `columns` by the rows of the sample they fill, most first; the
/// leftmost first among equals (deterministic whatever the order given).
fn by_filled(columns: &[usize], stats: &ColumnStats) -> Vec<usize> {
    let mut ranked = columns.to_vec();
    ranked.sort_by(|&a, &b| {
        stats
            .filled_rows(b)
            .cmp(&stats.filled_rows(a))
            .then(a.cmp(&b))
    });
    ranked
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

    /// The mapping of a header over sampled `rows` (CSV lines, `,`),
    /// refused as `validate` would.
    fn map_rows(names: &[&str], rows: &[&str]) -> Result<Mapping, InputError> {
        let m = resolve_rows(names, rows);
        m.require_complete(Path::new("c.csv"))?;
        Ok(m)
    }

    /// The mapping of a header over sampled `rows`, as `mapping` prints it.
    fn resolve_rows(names: &[&str], rows: &[&str]) -> Mapping {
        let stats = ColumnStats::from_rows(
            rows.iter()
                .enumerate()
                .map(|(i, r)| (i as u64 + 2, r.split(',').map(String::from).collect())),
        );
        Mapping::resolve_with(
            Path::new("c.csv"),
            &headers(names),
            &MappingFile::default(),
            &[],
            &stats,
        )
        .unwrap()
    }

    #[test]
    fn two_columns_with_different_values_are_refused_naming_both() {
        let names = ["CustomerCode", "Email", "Name", "E-mail"];
        let err = map_rows(&names, &["1,a@x.nl,A,a@x.nl", "2,b@x.nl,B,c@x.nl"]).unwrap_err();
        match &err {
            InputError::ConflictingColumns { conflict, .. } => {
                assert_eq!(
                    **conflict,
                    ColumnConflict {
                        field: Field::Email,
                        first: 2,
                        first_column: "Email".into(),
                        second: 4,
                        second_column: "E-mail".into(),
                        line: 3,
                        values: ("b@x.nl".into(), "c@x.nl".into()),
                    }
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("--map Email=#2 or --map Email=#4"), "{text}");
        // `mapping` shows the same decision: Email not mapped, the rest is.
        let m = resolve_rows(&names, &["1,a@x.nl,A,a@x.nl", "2,b@x.nl,B,c@x.nl"]);
        assert_eq!(m.source(Field::Email), None);
        assert_eq!(m.column(Field::Name), Some(2));
        assert_eq!(m.conflicts().len(), 1);
        let text = m.describe();
        assert!(
            text.contains(
                "# Email = \"Email\"  # or \"E-mail\": both hold Email, with different values"
            ),
            "{text}"
        );
        // Equal values where both are filled: the fuller one, the other
        // where it is empty, and said so.
        let m = map_rows(&names, &["1,a@x.nl,A,a@x.nl", "2,,B,b@x.nl", "3,c@x.nl,C,"]).unwrap();
        assert_eq!(
            m.source(Field::Email).unwrap().source,
            Source::Fallback(1, vec![3])
        );
        assert!(
            m.notes()[0].contains("they agree where both are filled"),
            "{:?}",
            m.notes()
        );
        let m = map_rows(&names, &["1,a@x.nl,A,a@x.nl", "2,,B,b@x.nl", "3,,C,c@x.nl"]).unwrap();
        assert_eq!(
            m.source(Field::Email).unwrap().source,
            Source::Fallback(3, vec![1])
        );
        // A later row where they differ is that row's problem, not a
        // silent choice.
        let p = m
            .set_aside_problem(&headers(&["4", "d@x.nl", "D", "e@x.nl"]))
            .unwrap();
        assert!(p.to_string().contains("--map Email=#2"), "{p}");
        assert!(
            m.set_aside_problem(&headers(&["4", "d@x.nl", "D", ""]))
                .is_none()
        );
        let c = m.customer(&headers(&["4", "d@x.nl", "D", ""]));
        assert_eq!(c.get(Field::Email), Some("d@x.nl"));
        assert!(
            m.set_aside_problem(&headers(&["4", "d@x.nl", "D", "d@x.nl"]))
                .is_none()
        );
        // No rows to compare: the first, and said so.
        let m = map(&names).unwrap();
        assert_eq!(m.column(Field::Email), Some(1));
        assert!(
            m.notes()[0].contains("no rows to compare"),
            "{:?}",
            m.notes()
        );
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
    fn billing_over_account_over_shipping_where_filled() {
        let names = [
            "customer_id",
            "city",
            "billing_city",
            "shipping_city",
            "Ort (Rechnungsadresse)",
        ];
        // The billing city where it is filled, else the account's.
        let m = map_rows(&names, &["1,Ede,Delft,Gouda,", "2,Ede,,Gouda,"]).unwrap();
        assert_eq!(
            m.source(Field::City).unwrap().source,
            Source::Fallback(2, vec![1])
        );
        let c = m.customer(&headers(&["2", "Ede", "", "Gouda", ""]));
        assert_eq!(c.get(Field::City), Some("Ede"));
        // Different cities at different levels are no conflict.
        assert!(
            m.set_aside_problem(&headers(&["1", "Ede", "Delft", "Gouda", ""]))
                .is_none()
        );
        // An empty billing column does not hide a filled account one, but
        // still comes first where a later row fills it.
        let m = map_rows(&names, &["1,Ede,,Gouda,", "2,Ede,,Gouda,"]).unwrap();
        assert_eq!(
            m.source(Field::City).unwrap().source,
            Source::Fallback(2, vec![1])
        );
        let c = m.customer(&headers(&["3", "Ede", "Delft", "", ""]));
        assert_eq!(c.get(Field::City), Some("Delft"));
        assert!(
            m.set_aside_problem(&headers(&["3", "Ede", "Delft", "", ""]))
                .is_none()
        );
        // ... while the other, equal billing column set aside is checked.
        assert!(
            m.set_aside_problem(&headers(&["3", "Ede", "", "", "Köln"]))
                .is_some()
        );
        // Only the shipping city in the first rows: it, unless a later
        // row has a billing one.
        let m = map_rows(&names, &["1,,,Gouda,", "2,,,Gouda,"]).unwrap();
        assert_eq!(
            m.source(Field::City).unwrap().source,
            Source::Fallback(2, vec![3])
        );
        // Two billing columns that differ are refused.
        let err = map_rows(&names, &["1,Ede,Delft,Gouda,Köln"]).unwrap_err();
        assert!(
            matches!(err, InputError::ConflictingColumns { .. }),
            "{err}"
        );
    }

    #[test]
    fn the_account_person_is_the_contact_before_a_shipping_one() {
        let names = [
            "account_number",
            "customer_name",
            "contact_first_name",
            "contact_last_name",
            "ship-to_contact",
            "Billing Attention",
        ];
        let m = map_rows(&names, &["1,Jansen BV,Piet,Jansen,Kees Smit,"]).unwrap();
        assert_eq!(
            m.source(Field::Contact).unwrap().source,
            Source::Join(vec![2, 3])
        );
        assert_eq!(
            m.unknown_columns(),
            ["ship-to_contact", "Billing Attention"]
        );
        assert!(
            m.notes().iter().any(|n| n.contains("the account's person")),
            "{:?}",
            m.notes()
        );
        // A billing attention line beats a shipping one; the account's
        // own contact column beats both.
        let m = map_rows(
            &names[..=1]
                .iter()
                .chain(&names[4..])
                .copied()
                .collect::<Vec<_>>(),
            &["1,A,Kees,Ann"],
        )
        .unwrap();
        assert_eq!(m.column(Field::Contact), Some(3));
        let m = map_rows(&["Code", "Contact", "Billing Attention"], &["1,Ann,Bob"]).unwrap();
        assert_eq!(m.column(Field::Contact), Some(1));
        // The billing address's person feeds the name of private
        // customers, the account's person the contact.
        let m = map_rows(
            &[
                "id",
                "first_name",
                "last_name",
                "billing_first_name",
                "billing_last_name",
                "billing_company",
            ],
            &["1,Jan,Smit,Jan,Smit,", "2,Ann,Bos,Piet,Bos,Bos BV"],
        )
        .unwrap();
        assert_eq!(
            m.source(Field::Contact).unwrap().source,
            Source::Join(vec![1, 2])
        );
        assert_eq!(
            m.source(Field::Name).unwrap().source,
            Source::Fallback(5, vec![1, 2])
        );
    }

    #[test]
    fn name_is_the_fullest_company_like_column_never_refused() {
        let names = ["Code", "Company Name", "Display Name", "Customer Name"];
        let m = map_rows(
            &names,
            &[
                "1,Smit BV,Smit,Smit BV",
                "2,,Jan Bos,",
                "3,De Vries,De Vries VOF,",
            ],
        )
        .unwrap();
        assert_eq!(m.column(Field::Name), Some(2));
        assert!(
            m.notes()[0].starts_with("Name: column #3 \"Display Name\" chosen over #2"),
            "{:?}",
            m.notes()
        );
        assert!(
            m.describe().contains("# Note: Name: column #3"),
            "{}",
            m.describe()
        );
        // Where the fullest is empty, the next fills in.
        let names = [
            "Konto",
            "Name (Adressatentyp Unternehmen)",
            "Name (Adressatentyp keine Angabe)",
        ];
        let m = map_rows(&names, &["1,Smit GmbH,", "2,Bos AG,", "3,,Jan Bos"]).unwrap();
        assert_eq!(
            m.source(Field::Name).unwrap().source,
            Source::Fallback(1, vec![2])
        );
        // With a person's name, the person does.
        let names = [
            "Konto",
            "Name (Adressatentyp Unternehmen)",
            "Name (Adressatentyp keine Angabe)",
            "Vorname (Adressatentyp natürl. Person)",
            "Name (Adressatentyp natürl. Person)",
        ];
        let m = map_rows(
            &names,
            &[
                "1,Smit GmbH,,,",
                "2,Bos AG,,,",
                "3,,Jan Bos,,",
                "4,,,Eva,Lang",
            ],
        )
        .unwrap();
        assert_eq!(
            m.source(Field::Name).unwrap().source,
            Source::Fallback(1, vec![3, 4])
        );
        assert_eq!(m.unknown_columns(), ["Name (Adressatentyp keine Angabe)"]);
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
                header::classify(street).map(|c| c.role),
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
