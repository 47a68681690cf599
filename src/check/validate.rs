//! Field rules of the create-customer docs, applied locally before any request.
//!
//! Owns normalizing one [`Customer`] and listing every rule it breaks, so a
//! row is either sent or reported with all its problems at once, and every
//! change made to a value is reported too ([`Change`]): nothing is altered
//! silently. Normalization:
//!
//! - every value is trimmed, and inner runs of whitespace (tabs, line
//!   breaks, non-breaking spaces) become one space, except in
//!   `CustomerCode`: a code is a key the user looks customers up by, so
//!   only its ends are trimmed (Exact pads codes with leading spaces);
//! - `Country`: names and codes become the ISO 3166-1 alpha-2 code: a
//!   two-letter code in any case, an alpha-3 code or English name (celes),
//!   a Dutch, French or German name ([`COUNTRY_NAMES`], e.g. `Nederland`,
//!   `België`, `Duitsland`), or a one-letter international vehicle sign as
//!   AFAS writes them (`B` = BE, `D` = DE; a single letter is never an ISO
//!   code, so this cannot misread one). Numeric codes are not accepted:
//!   SnelStart's CBS numbers are not ISO numbers;
//! - `Postalcode`: a Dutch postcode (`1234ab`, `1234 ab`) becomes `1234 AB`
//!   when Country is NL or empty;
//! - `Email`/`InvoiceEmail`: the domain is lower-cased (the part before `@`
//!   is the mailbox owner's business and is left alone).
//!
//! Rules (`notify-api.md` §2.2, §4.5–4.8):
//!
//! - `CustomerCode` and `Name` are required; a value empty after trimming
//!   is left out of the payload;
//! - lengths are counted in Unicode characters, not bytes: `Postalcode` 10,
//!   `Phone`/`Mobile` 20, `RegistrationNumber` and `Language` unlimited
//!   (none documented), everything else 250;
//! - `Country` is an ISO 3166-1 alpha-2 code (celes' list, which includes
//!   `XK` for Kosovo);
//! - `Email`/`InvoiceEmail` is one bare address with a dotted domain (no
//!   display name, no IP literal);
//! - `Phone`/`Mobile` holds only digits, spaces and `+ - ( ) / .`, with `+`
//!   once and before the first digit, and at least [`MIN_PHONE_DIGITS`]
//!   digits, then optionally an extension (`x89`, `ext. 12`, `toestel 3`,
//!   `tst. 3`: the API only limits the length); other letters (`n.v.t.`)
//!   are rejected;
//! - `Language` becomes the API's word when it is a known code or name
//!   ([`language_word`]: `nl_NL`, `Nederlands` → `dutch`); anything else
//!   passes through (the run header counts it).
//!
//! A message about a value quotes it as it was in the file, before
//! normalization, so the user can find it. Values stay text: nothing is
//! parsed into numbers, so leading zeros in codes, postal codes and phone
//! numbers survive.
//!
//! It must not read files, know about columns or touch the network, and it
//! must not truncate or guess beyond the conversions above: a value that
//! breaks a rule is reported, not repaired. Validation runs once per row of
//! files with a million rows, so a row that needs no change allocates
//! nothing (with [`validate_into`] and reused buffers, not even its result).

use std::fmt;
use std::sync::LazyLock;

use email_address::{EmailAddress, Options};

use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::problem::Problem;

/// Fewest digits a phone number may have. A national number with its area
/// code has well over 6 digits in the countries our users invoice (NL and
/// BE: 9–10 with the leading 0); fewer is a placeholder such as `0`, `-`
/// or `112`, not a number the customer can be reached on.
pub const MIN_PHONE_DIGITS: usize = 6;

/// Longest value that is quoted in full in a message; longer ones are cut so
/// one bad cell cannot flood the results file.
const QUOTE_MAX_CHARS: usize = 40;

/// One kind of normalization, for counting in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Whitespace removed from the ends.
    Trimmed,
    /// Inner whitespace runs, tabs or line breaks became one space.
    SpacesCollapsed,
    /// A two-letter country code upper-cased (`nl` → `NL`).
    CountryCase,
    /// A country name, alpha-3 code or vehicle sign converted (`Nederland`
    /// → `NL`).
    CountryConverted,
    /// A Dutch postcode formatted (`1234ab` → `1234 AB`).
    PostcodeFormatted,
    /// An e-mail domain lower-cased.
    EmailDomainLowercased,
    /// The apostrophe a spreadsheet (or our own results and errors files)
    /// puts before text that would otherwise run as a formula was removed
    /// (`'+31 20` → `+31 20`); it is a marker, not part of the value.
    FormulaMarkerRemoved,
    /// A language code or name became the API's word (`nl_NL`,
    /// `Nederlands` → `dutch`).
    LanguageConverted,
}

impl ChangeKind {
    /// Every kind, in summary order.
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::FormulaMarkerRemoved,
        ChangeKind::Trimmed,
        ChangeKind::SpacesCollapsed,
        ChangeKind::CountryCase,
        ChangeKind::CountryConverted,
        ChangeKind::PostcodeFormatted,
        ChangeKind::EmailDomainLowercased,
        ChangeKind::LanguageConverted,
    ];

    /// A summary label: "country names converted: 12".
    pub const fn label(self) -> &'static str {
        match self {
            ChangeKind::Trimmed => "values trimmed",
            ChangeKind::SpacesCollapsed => "inner whitespace collapsed",
            ChangeKind::CountryCase => "country codes upper-cased",
            ChangeKind::CountryConverted => "country names converted",
            ChangeKind::PostcodeFormatted => "Dutch postcodes formatted",
            ChangeKind::EmailDomainLowercased => "e-mail domains lower-cased",
            ChangeKind::FormulaMarkerRemoved => "spreadsheet formula markers (') removed",
            ChangeKind::LanguageConverted => "languages converted to dutch/english/german/french",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`ChangeKind`]s (one value can be trimmed *and* converted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChangeKinds(u8);

impl ChangeKinds {
    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: ChangeKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Adds `kind`.
    pub fn insert(&mut self, kind: ChangeKind) {
        self.0 |= kind.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in [`ChangeKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

impl From<ChangeKind> for ChangeKinds {
    fn from(kind: ChangeKind) -> Self {
        ChangeKinds(kind.bit())
    }
}

/// What normalization did to one value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The field.
    pub field: Field,
    /// What was done.
    pub kinds: ChangeKinds,
    /// The value as read.
    pub from: String,
    /// The value as sent (empty: left out of the payload).
    pub to: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.field,
            quoted(&self.from),
            quoted(&self.to)
        )
    }
}

/// The outcome of validating one row: the rules it breaks and the changes
/// normalization made. Reuse one across rows with [`validate_into`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Every broken rule, in field order; empty means the row can be sent.
    pub problems: Vec<Problem>,
    /// Every changed value, in field order.
    pub changes: Vec<Change>,
}

impl Validation {
    /// No rule broken.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Counts of changes per kind over many rows, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeTally {
    counts: [u64; ChangeKind::ALL.len()],
}

impl ChangeTally {
    /// Counts each kind of each change once.
    pub fn add(&mut self, changes: &[Change]) {
        for change in changes {
            for kind in change.kinds.iter() {
                self.counts[kind as usize] += 1;
            }
        }
    }

    /// How many values had `kind` applied.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.counts[kind as usize]
    }

    /// The non-zero counts, in [`ChangeKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (ChangeKind, u64)> + '_ {
        ChangeKind::ALL
            .into_iter()
            .map(|k| (k, self.count(k)))
            .filter(|&(_, n)| n > 0)
    }
}

impl fmt::Display for ChangeTally {
    /// One line per kind: `country names converted: 12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, n) in self.iter() {
            writeln!(f, "{}: {n}", kind.label())?;
        }
        Ok(())
    }
}

/// Normalizes `c` in place and returns every rule it breaks, in field
/// order. An empty result means the customer can be sent.
///
/// This drops the list of changes; the pipeline should use
/// [`validate_into`] (or [`validate_with_changes`]) so they can be reported.
pub fn validate(c: &mut Customer) -> Vec<Problem> {
    validate_with_changes(c).problems
}

/// Normalizes `c` in place and returns every rule it breaks and every
/// change made, in field order.
pub fn validate_with_changes(c: &mut Customer) -> Validation {
    let mut out = Validation::default();
    validate_into(c, &mut out);
    out
}

/// [`validate_with_changes`] into `out` (cleared first), reusing its
/// vectors: the per-row call of a long file.
pub fn validate_into(c: &mut Customer, out: &mut Validation) {
    let Validation { problems, changes } = out;
    problems.clear();
    changes.clear();
    // Country first: whether a postcode is Dutch depends on it.
    for field in NORMALIZE_ORDER {
        if let Some((value, kinds)) = normalized(c, field) {
            let to = value.clone();
            let from = c.replace(field, value);
            changes.push(Change {
                field,
                kinds,
                from,
                to,
            });
        }
    }
    if changes.len() > 1 {
        changes.sort_by_key(|ch| ch.field);
    }
    for field in Field::ALL {
        let Some(value) = c.get(field) else {
            if matches!(field, Field::CustomerCode | Field::Name) {
                problems.push(Problem::new(field, "is required"));
            }
            continue;
        };
        if let Some(max) = max_chars(field)
            && let Some(message) = too_long(value, max)
        {
            let kind = format!("is longer than {max} characters");
            problems.push(Problem::new(field, message).with_kind(kind));
        }
        // Messages quote the value as read.
        let shown = || {
            changes
                .iter()
                .find(|ch| ch.field == field)
                .map_or(value, |ch| ch.from.as_str())
        };
        let format_problem = match field {
            Field::Country => country_problem(value, shown),
            Field::Email | Field::InvoiceEmail => email_problem(value, shown),
            Field::Phone | Field::Mobile => phone_problem(value),
            _ => None,
        };
        if let Some(message) = format_problem {
            problems.push(Problem::new(field, message));
        }
    }
}

/// The problems as one line for the results file's `error` cell.
pub fn describe(problems: &[Problem]) -> String {
    let mut line = String::new();
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        line.push_str(&problem.to_string());
    }
    line
}

/// Field order for normalizing: Country before Postalcode.
const NORMALIZE_ORDER: [Field; 13] = [
    Field::CustomerCode,
    Field::Name,
    Field::Address,
    Field::Country,
    Field::Postalcode,
    Field::City,
    Field::Contact,
    Field::Phone,
    Field::Mobile,
    Field::Email,
    Field::InvoiceEmail,
    Field::RegistrationNumber,
    Field::Language,
];

/// The normalized value of `field` and what was done, or `None` when it
/// is already normal (the common case, which allocates nothing).
fn normalized(c: &Customer, field: Field) -> Option<(String, ChangeKinds)> {
    let raw = c.get(field)?;
    let mut kinds = ChangeKinds::default();
    let value = match strip_formula_marker(raw) {
        Some(v) => {
            kinds.insert(ChangeKind::FormulaMarkerRemoved);
            v
        }
        None => raw,
    };
    let spaced = clean_whitespace(value, field != Field::CustomerCode, &mut kinds)
        .or_else(|| (value.len() != raw.len()).then(|| value.to_owned()));
    let clean: &str = spaced.as_deref().unwrap_or(value);
    let converted = match field {
        Field::Country => country_code(clean).map(|(code, kind)| {
            kinds.insert(kind);
            code.to_string()
        }),
        Field::Postalcode if matches!(c.get(Field::Country), None | Some("NL")) => {
            dutch_postcode(clean).inspect(|_| kinds.insert(ChangeKind::PostcodeFormatted))
        }
        Field::Email | Field::InvoiceEmail => {
            lowercase_domain(clean).inspect(|_| kinds.insert(ChangeKind::EmailDomainLowercased))
        }
        // The API's own words (the common case) need no lookup.
        Field::Language if LANGUAGES.contains(&clean) => None,
        Field::Language => language_word(clean)
            .filter(|word| *word != clean)
            .map(|word| {
                kinds.insert(ChangeKind::LanguageConverted);
                word.to_string()
            }),
        _ => None,
    };
    converted.or(spaced).map(|new| (new, kinds))
}

/// `'=...`, `'+...`, `'-...`, `'@...` (also before a tab or CR): the text
/// after the apostrophe that spreadsheets and [`crate::output::results::neutralize`]
/// add so the cell is not run as a formula. Such an apostrophe is never part
/// of a real customer value, so it is dropped on input; this is what makes
/// an errors file import exactly.
fn strip_formula_marker(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('\'')?;
    matches!(
        rest.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
    .then_some(rest)
}

/// Trims `value` and, if `collapse`, turns inner whitespace runs into one
/// space; `None` if nothing changes.
fn clean_whitespace(value: &str, collapse: bool, kinds: &mut ChangeKinds) -> Option<String> {
    if plainly_spaced(value.as_bytes(), collapse) {
        return None;
    }
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        kinds.insert(ChangeKind::Trimmed);
    }
    if collapse && needs_collapse(trimmed) {
        kinds.insert(ChangeKind::SpacesCollapsed);
        let mut out = String::with_capacity(trimmed.len());
        for (i, word) in trimmed.split_whitespace().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        return Some(out);
    }
    (trimmed.len() != value.len()).then(|| trimmed.to_string())
}

/// Fast path over bytes: true if `bytes` certainly needs no trimming and
/// (if `collapse`) no collapsing. That holds for visible ASCII with single
/// inner spaces, plus non-ASCII characters that cannot be whitespace:
/// every Unicode whitespace character above ASCII is encoded with a lead
/// byte C2 (U+0085, U+00A0), E1 (U+1680), E2 (U+2000–U+205F) or E3
/// (U+3000), so `é` (C3 A9) stays on the fast path and NBSP does not.
/// Anything else, including ASCII control characters, takes the exact
/// char-wise path.
fn plainly_spaced(bytes: &[u8], collapse: bool) -> bool {
    /// Per byte: 1 = space, 2 = needs the slow path, 0 = plain.
    static CLASS: [u8; 256] = {
        let mut class = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            class[b] = match b as u8 {
                b' ' => 1,
                0x00..=0x1F | 0x7F | 0xC2 | 0xE1 | 0xE2 | 0xE3 => 2,
                _ => 0,
            };
            b += 1;
        }
        class
    };
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    if CLASS[usize::from(first)] | CLASS[usize::from(last)] != 0 {
        return false;
    }
    // Branch-free: this runs over every byte of every value.
    let (mut bad, mut prev_space) = (0u8, 0u8);
    let double_space = u8::from(collapse);
    for &b in bytes {
        let class = CLASS[usize::from(b)];
        let space = class & 1;
        bad |= (class & 2) | (space & prev_space & double_space);
        prev_space = space;
    }
    bad == 0
}

/// Whether trimmed `s` has whitespace other than single spaces.
fn needs_collapse(s: &str) -> bool {
    let mut prev_space = false;
    for ch in s.chars() {
        if ch.is_whitespace() {
            if ch != ' ' || prev_space {
                return true;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    false
}

/// `1234ab`, `1234 ab`, `1234AB` → `1234 AB`; `None` if already so or not
/// a Dutch postcode (four digits, the first not 0, then two letters).
fn dutch_postcode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let (digits, rest) = b.split_at_checked(4)?;
    let letters = rest.strip_prefix(b" ").unwrap_or(rest);
    let is_postcode = matches!(digits[0], b'1'..=b'9')
        && digits.iter().all(u8::is_ascii_digit)
        && letters.len() == 2
        && letters.iter().all(u8::is_ascii_alphabetic);
    if !is_postcode || (rest.len() == 3 && letters.iter().all(u8::is_ascii_uppercase)) {
        return None;
    }
    let mut out = String::with_capacity(7);
    out.push_str(&s[..4]);
    out.push(' ');
    out.push_str(&s[s.len() - 2..].to_ascii_uppercase());
    Some(out)
}

/// The address with its domain lower-cased; `None` if it already is.
fn lowercase_domain(s: &str) -> Option<String> {
    let at = s.rfind('@')?;
    let domain = &s[at + 1..];
    if domain.is_ascii() {
        return domain
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| format!("{}@{}", &s[..at], domain.to_ascii_lowercase()));
    }
    // Some upper-case letters have no lower case (𝕆): compare, not guess.
    let lower = domain.to_lowercase();
    (lower != domain).then(|| format!("{}@{lower}", &s[..at]))
}

/// Country names in Dutch (and the French and German names Belgian and
/// German-border exports use) that celes does not know, by
/// [`comparison_key`]. English names and alpha-3 codes come from celes.
pub const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("nederland", "NL"),
    ("paysbas", "NL"),
    ("niederlande", "NL"),
    ("belgie", "BE"),
    ("belgique", "BE"),
    ("belgien", "BE"),
    ("duitsland", "DE"),
    ("allemagne", "DE"),
    ("deutschland", "DE"),
    ("frankrijk", "FR"),
    ("frankreich", "FR"),
    ("verenigdkoninkrijk", "GB"),
    ("grootbrittannie", "GB"),
    ("engeland", "GB"),
    ("royaumeuni", "GB"),
    ("luxemburg", "LU"),
    ("spanje", "ES"),
    ("espagne", "ES"),
    ("italie", "IT"),
    ("oostenrijk", "AT"),
    ("autriche", "AT"),
    ("osterreich", "AT"),
    ("oesterreich", "AT"),
    ("zwitserland", "CH"),
    ("suisse", "CH"),
    ("schweiz", "CH"),
    ("denemarken", "DK"),
    ("zweden", "SE"),
    ("noorwegen", "NO"),
    ("polen", "PL"),
    ("ierland", "IE"),
    ("verenigdestaten", "US"),
    ("verenigdestatenvanamerika", "US"),
    ("amerika", "US"),
    ("etatsunis", "US"),
    ("griekenland", "GR"),
    ("tsjechie", "CZ"),
    ("tsjechischerepubliek", "CZ"),
    ("hongarije", "HU"),
    ("roemenie", "RO"),
    ("bulgarije", "BG"),
    ("kroatie", "HR"),
    ("slovenie", "SI"),
    ("slowakije", "SK"),
    ("estland", "EE"),
    ("letland", "LV"),
    ("litouwen", "LT"),
    ("turkije", "TR"),
    ("marokko", "MA"),
    ("australie", "AU"),
    ("nieuwzeeland", "NZ"),
    ("zuidafrika", "ZA"),
    ("brazilie", "BR"),
    ("rusland", "RU"),
    ("oekraine", "UA"),
    ("ijsland", "IS"),
    ("indonesie", "ID"),
    ("sintmaarten", "SX"),
];

/// One-letter international vehicle signs, as AFAS writes countries
/// (`accounting-exports.md` §6). Longer AFAS codes are left to celes
/// (`FIN`, `USA` are also alpha-3) or rejected: `CL` is Sri Lanka in AFAS
/// and Chile in ISO, so it cannot be converted safely.
const VEHICLE_SIGNS: &[(&str, &str)] = &[
    ("a", "AT"),
    ("b", "BE"),
    ("d", "DE"),
    ("e", "ES"),
    ("f", "FR"),
    ("h", "HU"),
    ("i", "IT"),
    ("l", "LU"),
    ("n", "NO"),
    ("p", "PT"),
    ("s", "SE"),
];

/// The alpha-2 code `s` stands for and how it was found, or `None` when
/// `s` already is an upper-case code, or is no country we know.
fn country_code(s: &str) -> Option<(String, ChangeKind)> {
    if is_country(s) {
        return None;
    }
    if let &[a, b] = s.as_bytes() {
        let upper =
            String::from_utf8_lossy(&[a.to_ascii_uppercase(), b.to_ascii_uppercase()]).into_owned();
        // An invalid two-letter code stays as typed; messages quote it.
        return is_country(&upper).then_some((upper, ChangeKind::CountryCase));
    }
    let key = comparison_key(s);
    let table = if key.len() == 1 {
        VEHICLE_SIGNS
    } else {
        COUNTRY_NAMES
    };
    if let Some((_, code)) = table.iter().find(|(name, _)| *name == key) {
        return Some((code.to_string(), ChangeKind::CountryConverted));
    }
    // celes' FromStr also takes numeric codes; those are not accepted.
    if key.len() < 2 || !key.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let country: celes::Country = key.parse().ok()?;
    Some((country.alpha2.to_string(), ChangeKind::CountryConverted))
}

/// The comparison key of a name: letters and digits only, lower-cased,
/// accents folded (`België` → `belgie`, `Straße` → `strasse`), so case,
/// accents, spaces and punctuation do not matter.
pub fn comparison_key(s: &str) -> String {
    let mut key = String::with_capacity(s.len());
    for ch in s.chars().flat_map(char::to_lowercase) {
        let folded: &str = match ch {
            'a'..='z' | '0'..='9' => {
                key.push(ch);
                continue;
            }
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' | 'ð' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            'ß' => "ss",
            'æ' => "ae",
            'œ' => "oe",
            'ĳ' => "ij",
            'þ' => "th",
            // Other letters and digits (Greek, Cyrillic, ...) as they are;
            // punctuation, spaces and combining accents drop out.
            ch if ch.is_alphanumeric() => {
                key.push(ch);
                continue;
            }
            _ => continue,
        };
        key.push_str(folded);
    }
    key
}

/// The documented maximum length in characters, if any.
fn max_chars(field: Field) -> Option<usize> {
    match field {
        Field::Postalcode => Some(10),
        Field::Phone | Field::Mobile => Some(20),
        // No limit documented; the server decides.
        Field::RegistrationNumber | Field::Language => None,
        // Checked as a two-letter code instead.
        Field::Country => None,
        Field::CustomerCode
        | Field::Name
        | Field::Address
        | Field::City
        | Field::Contact
        | Field::Email
        | Field::InvoiceEmail => Some(250),
    }
}

fn too_long(value: &str, max: usize) -> Option<String> {
    // A UTF-8 character is at least one byte, so a short value needs no count.
    if value.len() <= max {
        return None;
    }
    let chars = value.chars().count();
    (chars > max).then(|| format!("is longer than {max} characters ({chars})"))
}

/// The languages the API knows, by the word it takes.
pub const LANGUAGES: [&str; 4] = ["dutch", "english", "german", "french"];

/// Names and codes per API word, as [`comparison_key`]s: ISO 639-1 and -2
/// codes, and the language's name in NL, EN, DE and FR.
const LANGUAGE_NAMES: [(&str, &[&str]); 4] = [
    (
        "dutch",
        &[
            "nl",
            "nld",
            "dut",
            "dutch",
            "nederlands",
            "hollands",
            "vlaams",
            "flemish",
            "niederlandisch",
            "neerlandais",
            "flamand",
        ],
    ),
    (
        "english",
        &["en", "eng", "english", "engels", "englisch", "anglais"],
    ),
    (
        "german",
        &["de", "deu", "ger", "german", "duits", "deutsch", "allemand"],
    ),
    (
        "french",
        &[
            "fr",
            "fra",
            "fre",
            "french",
            "frans",
            "franzosisch",
            "francais",
        ],
    ),
];

/// The API's word for a language value (`nl_NL`, `en-GB`, `NL`,
/// `Nederlands`, `Dutch / Nederlands` → `dutch`), or `None` when it is not
/// recognised (it is then sent as is, and counted in the run header).
pub fn language_word(value: &str) -> Option<&'static str> {
    let value = value.trim();
    // `Dutch / Nederlands`: either half.
    let halves = value.split('/').map(str::trim);
    for half in halves {
        // `nl_NL`, `en-GB`, `fr BE`: the language before the region.
        let base = half.split(['_', '-', ' ']).next().unwrap_or(half);
        for candidate in [half, base] {
            let key = comparison_key(candidate);
            if let Some((word, _)) = LANGUAGE_NAMES
                .iter()
                .find(|(_, names)| names.contains(&key.as_str()))
            {
                return Some(word);
            }
        }
    }
    None
}

/// Parses `--default-country`: an ISO alpha-2 code in any case, or a
/// country name or alpha-3 code the importer converts (`Germany`, `DEU`).
pub fn parse_country_arg(s: &str) -> Result<String, String> {
    let s = s.trim();
    if is_country(s) {
        return Ok(s.to_string());
    }
    country_code(s).map(|(code, _)| code).ok_or_else(|| {
        format!("{s:?} is not a country; give an ISO code such as NL, BE, DE, FR or US")
    })
}

fn is_country(code: &str) -> bool {
    // celes looks codes up in a hashed map, a measurable cost per row; its
    // answers for all 676 pairs of letters fit in one small bit table.
    static ALPHA2: LazyLock<[u32; 26]> = LazyLock::new(|| {
        let mut table = [0u32; 26];
        for (first, row) in (b'A'..=b'Z').zip(table.iter_mut()) {
            for second in b'A'..=b'Z' {
                let code = [first, second];
                let known = std::str::from_utf8(&code)
                    .is_ok_and(|code| celes::Country::from_alpha2(code).is_ok());
                if known {
                    *row |= 1 << (second - b'A');
                }
            }
        }
        table
    });
    match code.as_bytes() {
        &[first @ b'A'..=b'Z', second @ b'A'..=b'Z'] => {
            ALPHA2[usize::from(first - b'A')] & (1 << (second - b'A')) != 0
        }
        _ => false,
    }
}

fn country_problem<'a>(value: &str, shown: impl FnOnce() -> &'a str) -> Option<String> {
    if is_country(value) {
        return None;
    }
    // Codes people use that ISO assigns differently.
    let hint = match value.to_ascii_uppercase().as_str() {
        "UK" => "GB for the United Kingdom",
        "EL" => "GR for Greece",
        _ => "NL",
    };
    Some(format!(
        "{} is not a known country: give a two-letter ISO country code (e.g. {hint}) or a country name",
        quoted(shown())
    ))
}

fn email_problem<'a>(value: &str, shown: impl FnOnce() -> &'a str) -> Option<String> {
    if is_plain_email(value) {
        return None;
    }
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let err = EmailAddress::parse_with_options(value, options).err()?;
    use email_address::Error as E;
    let why = match err {
        E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
            "give only the address, without a name or < >"
        }
        E::MissingSeparator => "the @ is missing",
        E::LocalPartEmpty => "nothing before the @",
        E::DomainEmpty => "nothing after the @",
        E::DomainTooFew => "the domain needs an ending such as .nl",
        E::LocalPartTooLong => "the part before the @ is longer than 64 characters",
        E::DomainTooLong | E::SubDomainTooLong => "the domain is too long",
        E::SubDomainEmpty | E::DomainInvalidSeparator => {
            "the domain has an empty part (two dots in a row, or a dot at the start or end)"
        }
        E::UnsupportedDomainLiteral | E::InvalidIPAddress => {
            "an IP address is not accepted as the domain"
        }
        _ if value.contains([';', ',']) => "put only one address in the cell",
        _ if value.contains(char::is_whitespace) => "it contains a space",
        _ => "it contains a character that is not allowed in an address",
    };
    Some(format!(
        "{} is not a valid e-mail address: {why}",
        quoted(shown())
    ))
}

/// Allocation-free check for the shape nearly every address has: ASCII
/// `local@label.label` with plain characters. It accepts a strict subset of
/// what `email_address` accepts with our options (dot-atom local part of at
/// most 64 bytes; at least two labels of at most 63 bytes that start and end
/// with a letter or digit; domain of at most 254 bytes), so it only skips
/// work: whatever it does not accept goes to the full parser.
fn is_plain_email(s: &str) -> bool {
    // One pass over the bytes; `split` and friends cost more than the check.
    let bytes = s.as_bytes();
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    if local.len() > 64 || domain.len() > 254 {
        return false;
    }
    // Local part: atoms separated by single dots.
    let mut after_dot = true;
    for &b in local {
        match b {
            b'.' if after_dot => return false,
            b'.' => after_dot = true,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'+' | b'%' => {
                after_dot = false;
            }
            _ => return false,
        }
    }
    if after_dot {
        return false;
    }
    // Domain: labels of letters, digits and inner hyphens.
    let (mut labels, mut label_len, mut last_alnum) = (1, 0, false);
    for &b in domain {
        match b {
            b'.' if label_len == 0 || !last_alnum => return false,
            b'.' => {
                labels += 1;
                label_len = 0;
                last_alnum = false;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                label_len += 1;
                last_alnum = true;
            }
            b'-' if label_len > 0 => {
                label_len += 1;
                last_alnum = false;
            }
            _ => return false,
        }
        if label_len > 63 {
            return false;
        }
    }
    label_len > 0 && last_alnum && labels >= 2
}

/// `value` without a trailing extension (`x89`, `ext. 12`, `toestel 3`,
/// `tst. 3`), which the API accepts within its length limit.
fn without_extension(value: &str) -> &str {
    // Every marker has a letter; most numbers have none (this runs per row).
    if !value.bytes().any(|b| b.is_ascii_alphabetic()) {
        return value;
    }
    let lower = value.to_ascii_lowercase();
    for marker in ["extension", "toestel", "ext", "tst", "x"] {
        let Some(at) = lower.rfind(marker) else {
            continue;
        };
        // Same byte offsets: ASCII lower-casing keeps every length.
        let ext = value[at + marker.len()..].trim_start_matches(['.', ':', ' ']);
        let main = value[..at].trim_end();
        if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) && !main.is_empty() {
            return main;
        }
    }
    value
}

fn phone_problem(value: &str) -> Option<String> {
    // No "; " in messages: `describe` joins problems with it.
    const ALLOWED: &str = "only digits, spaces and + - ( ) / . are allowed, and an extension such as x12 or toestel 12";
    let value = without_extension(value);
    let mut digits = 0;
    let mut plus_seen = false;
    for ch in value.chars() {
        match ch {
            '0'..='9' => digits += 1,
            ' ' | '-' | '(' | ')' | '/' | '.' => {}
            // `+31 20 …` and `(+31) 20 …`, but not `020+123` or `++31`.
            '+' if digits == 0 && !plus_seen => plus_seen = true,
            '+' => return Some("has a + that is not at the start".to_string()),
            other => return Some(format!("contains {other:?} ({ALLOWED})")),
        }
    }
    (digits < MIN_PHONE_DIGITS)
        .then(|| format!("has {digits} digits, a phone number needs at least {MIN_PHONE_DIGITS}"))
}

/// `value` in double quotes for a message, cut after [`QUOTE_MAX_CHARS`].
fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("\"{}…\"", value[..cut].escape_debug()),
        None => format!("\"{}\"", value.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn customer(values: &[(Field, &str)]) -> Customer {
        let mut c = Customer::default();
        c.set(Field::CustomerCode, "C1");
        c.set(Field::Name, "Ann");
        for &(field, value) in values {
            c.set(field, value);
        }
        c
    }

    /// The problems of a customer with `values` on top of a valid code and name.
    fn problems(values: &[(Field, &str)]) -> Vec<String> {
        validate(&mut customer(values))
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    fn ok(field: Field, value: &str) {
        assert_eq!(
            problems(&[(field, value)]),
            Vec::<String>::new(),
            "{value:?}"
        );
    }

    fn bad(field: Field, value: &str, expected: &str) {
        let found = problems(&[(field, value)]);
        assert_eq!(found.len(), 1, "{value:?}: {found:?}");
        assert!(found[0].starts_with(&format!("{field}: ")), "{found:?}");
        assert!(found[0].contains(expected), "{value:?}: {found:?}");
    }

    #[test]
    fn values_are_trimmed_and_blank_ones_dropped() {
        let mut c = customer(&[
            (Field::CustomerCode, "  007\t"),
            (Field::City, " \u{a0}"),
            (Field::Language, " dutch "),
        ]);
        assert!(validate(&mut c).is_empty());
        assert_eq!(c.code(), "007");
        assert_eq!(c.get(Field::City), None);
        assert_eq!(c.get(Field::Language), Some("dutch"));
    }

    #[test]
    fn code_and_name_are_required() {
        let mut c = Customer::default();
        c.set(Field::Name, "   ");
        let found: Vec<String> = validate(&mut c).iter().map(Problem::to_string).collect();
        assert_eq!(found, ["CustomerCode: is required", "Name: is required"]);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        ok(Field::Postalcode, &"é".repeat(10));
        bad(
            Field::Postalcode,
            &"é".repeat(11),
            "is longer than 10 characters (11)",
        );
        ok(Field::Name, &"ü".repeat(250));
        bad(
            Field::Name,
            &"x".repeat(251),
            "is longer than 250 characters (251)",
        );
        bad(
            Field::Phone,
            "+31 20 123 4567 89 012",
            "is longer than 20 characters (22)",
        );
        // Trimmed before counting.
        ok(Field::Postalcode, "  1234 AB   ");
    }

    #[test]
    fn registration_number_and_language_have_no_limit() {
        ok(Field::RegistrationNumber, &"1".repeat(300));
        ok(Field::Language, &"x".repeat(300));
    }

    #[test]
    fn country_is_an_upper_case_alpha2_code() {
        let mut c = customer(&[(Field::Country, " nl ")]);
        assert!(validate(&mut c).is_empty());
        assert_eq!(c.get(Field::Country), Some("NL"));
        ok(Field::Country, "Be");
        ok(Field::Country, "XK");
        bad(
            Field::Country,
            "Nederlnd",
            "\"Nederlnd\" is not a known country: give a two-letter ISO country code (e.g. NL)",
        );
        bad(Field::Country, "uk", "(e.g. GB for the United Kingdom)");
        bad(Field::Country, "ZZ", "\"ZZ\" is not");
        bad(Field::Country, "n1", "is not a known country");
        // Numeric codes are not taken (CBS numbers are not ISO numbers).
        bad(Field::Country, "528", "is not a known country");
        bad(Field::Country, "6030", "is not a known country");
        // An invalid code is reported as typed, not upper-cased.
        let mut c = customer(&[(Field::Country, "xx")]);
        validate(&mut c);
        assert_eq!(c.get(Field::Country), Some("xx"));
    }

    /// The country code `value` normalizes to, and the change kinds.
    fn country(value: &str) -> (Option<String>, Vec<ChangeKind>) {
        let mut c = customer(&[(Field::Country, value)]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid(), "{value}: {:?}", v.problems);
        let kinds = v.changes.iter().flat_map(|ch| ch.kinds.iter()).collect();
        (c.get(Field::Country).map(str::to_string), kinds)
    }

    #[test]
    fn country_names_and_codes_become_alpha2() {
        for (value, code) in [
            ("Nederland", "NL"),
            ("nederland", "NL"),
            ("NEDERLAND", "NL"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("Holland", "NL"),
            ("NLD", "NL"),
            ("nld", "NL"),
            ("België", "BE"),
            ("Belgie", "BE"),
            ("Belgium", "BE"),
            ("Belgique", "BE"),
            ("BEL", "BE"),
            ("Duitsland", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("Frankrijk", "FR"),
            ("Verenigd Koninkrijk", "GB"),
            ("United Kingdom", "GB"),
            ("Luxemburg", "LU"),
            ("Luxembourg", "LU"),
            ("Spanje", "ES"),
            ("Italië", "IT"),
            ("Oostenrijk", "AT"),
            ("Zwitserland", "CH"),
            ("Denemarken", "DK"),
            ("Zweden", "SE"),
            ("Noorwegen", "NO"),
            ("Polen", "PL"),
            ("Portugal", "PT"),
            ("Ierland", "IE"),
            ("Verenigde Staten", "US"),
            ("USA", "US"),
            ("Curaçao", "CW"),
            // AFAS / vehicle signs.
            ("B", "BE"),
            ("d", "DE"),
            ("FIN", "FI"),
        ] {
            let (found, kinds) = country(value);
            assert_eq!(found.as_deref(), Some(code), "{value}");
            assert_eq!(kinds, [ChangeKind::CountryConverted], "{value}");
        }
        assert_eq!(
            country(" nl ").1,
            [ChangeKind::Trimmed, ChangeKind::CountryCase]
        );
        assert_eq!(country("NL"), (Some("NL".to_string()), vec![]));
    }

    #[test]
    fn dutch_country_names_are_not_celes_names_for_other_countries() {
        for (name, code) in COUNTRY_NAMES {
            assert_eq!(comparison_key(name), *name, "keys are written folded");
            assert!(is_country(code), "{name}: {code}");
            if let Ok(c) = name.parse::<celes::Country>() {
                assert_eq!(c.alpha2, *code, "{name}");
            }
        }
        for (sign, code) in VEHICLE_SIGNS {
            assert!(is_country(code), "{sign}: {code}");
        }
    }

    #[test]
    fn invalid_values_are_quoted_as_read() {
        let found = problems(&[(Field::Country, "  Nedrland ")]);
        assert!(found[0].contains("\"  Nedrland \""), "{found:?}");
        let found = problems(&[(Field::Email, " Ann @Example.NL")]);
        assert!(found[0].contains("\" Ann @Example.NL\""), "{found:?}");
    }

    #[test]
    fn dutch_postcodes_are_formatted_for_nl_or_no_country() {
        let check = |postcode: &str, country: Option<&str>, expected: &str| {
            let mut c = customer(&[(Field::Postalcode, postcode)]);
            if let Some(country) = country {
                c.set(Field::Country, country);
            }
            assert!(validate(&mut c).is_empty());
            assert_eq!(
                c.get(Field::Postalcode),
                Some(expected),
                "{postcode} {country:?}"
            );
        };
        check("1234ab", None, "1234 AB");
        check("1234 ab", Some("NL"), "1234 AB");
        check(" 1234AB", Some("Nederland"), "1234 AB");
        check("1234  ab", Some("nl"), "1234 AB");
        check("1234 AB", None, "1234 AB");
        check("1234ab", Some("BE"), "1234ab");
        check("1000", Some("BE"), "1000");
        check("0123ab", None, "0123ab");
        check("12345", Some("DE"), "12345");
        check("1234abc", None, "1234abc");
        check("SW1A 1AA", Some("GB"), "SW1A 1AA");
    }

    #[test]
    fn email_domains_are_lower_cased() {
        let mut c = customer(&[(Field::Email, "Ann.Smit@Example.NL")]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid());
        assert_eq!(c.get(Field::Email), Some("Ann.Smit@example.nl"));
        assert_eq!(v.changes.len(), 1);
        assert_eq!(
            v.changes[0].to_string(),
            "Email: \"Ann.Smit@Example.NL\" → \"Ann.Smit@example.nl\""
        );
        let mut c = customer(&[(Field::InvoiceEmail, "x@ÉXAMPLE.nl")]);
        validate(&mut c);
        assert_eq!(c.get(Field::InvoiceEmail), Some("x@éxample.nl"));
    }

    #[test]
    fn inner_whitespace_is_collapsed_except_in_codes() {
        let mut c = customer(&[
            (Field::CustomerCode, "  AB  12 "),
            (Field::Name, "Jansen\t & \u{a0}Zn.\r\nB.V."),
            (Field::Address, "Dorpsstraat  1"),
            (Field::City, "Den Haag"),
        ]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(c.code(), "AB  12");
        assert_eq!(c.get(Field::Name), Some("Jansen & Zn. B.V."));
        assert_eq!(c.get(Field::Address), Some("Dorpsstraat 1"));
        let changed: Vec<(Field, Vec<ChangeKind>)> = v
            .changes
            .iter()
            .map(|ch| (ch.field, ch.kinds.iter().collect()))
            .collect();
        assert_eq!(
            changed,
            [
                (Field::CustomerCode, vec![ChangeKind::Trimmed]),
                (Field::Name, vec![ChangeKind::SpacesCollapsed]),
                (Field::Address, vec![ChangeKind::SpacesCollapsed]),
            ]
        );
        assert_eq!(v.changes[0].from, "  AB  12 ");
    }

    #[test]
    fn nothing_changed_means_no_changes() {
        let mut c = customer(&[
            (Field::Country, "NL"),
            (Field::Postalcode, "1234 AB"),
            (Field::Email, "Ann@example.nl"),
            (Field::City, "’s-Hertogenbosch"),
            (Field::Name, "José Müller"),
        ]);
        let v = validate_with_changes(&mut c);
        assert!(v.is_valid() && v.changes.is_empty(), "{v:?}");
        assert_eq!(v.changes.capacity(), 0, "no allocation");
    }

    #[test]
    fn tally_counts_kinds() {
        let mut tally = ChangeTally::default();
        for country in ["Nederland", "NLD", " België", "NL"] {
            let mut c = customer(&[(Field::Country, country)]);
            tally.add(&validate_with_changes(&mut c).changes);
        }
        assert_eq!(tally.count(ChangeKind::CountryConverted), 3);
        assert_eq!(tally.count(ChangeKind::Trimmed), 1);
        assert_eq!(
            tally.to_string(),
            "values trimmed: 1\ncountry names converted: 3\n"
        );
    }

    proptest! {
        #[test]
        fn whitespace_fast_path_agrees_with_the_slow_path(
            s in "[ a\t\u{a0}\u{2003}\u{3000}\u{85}é©ü\r\n\u{1}]{0,8}",
            collapse in any::<bool>(),
        ) {
            if plainly_spaced(s.as_bytes(), collapse) {
                prop_assert_eq!(s.trim(), s.as_str());
                if collapse {
                    prop_assert!(!needs_collapse(&s), "{:?}", s);
                }
            }
        }
    }

    #[test]
    fn comparison_key_folds() {
        assert_eq!(comparison_key("België"), "belgie");
        assert_eq!(comparison_key("Curaçao"), "curacao");
        assert_eq!(comparison_key("Straße"), "strasse");
        assert_eq!(comparison_key("Ver. Koninkrijk!"), "verkoninkrijk");
        assert_eq!(comparison_key("Ελλάδα"), "ελλάδα");
    }

    #[test]
    fn emails_must_be_bare_addresses_with_a_tld() {
        ok(Field::Email, "ann@example.nl");
        ok(Field::InvoiceEmail, " invoices+2024@sub.example.co.uk ");
        bad(
            Field::Email,
            "ann@example",
            "the domain needs an ending such as .nl",
        );
        bad(Field::Email, "ann.example.nl", "the @ is missing");
        bad(Field::Email, "Ann <ann@example.nl>", "without a name");
        bad(Field::Email, "ann@[127.0.0.1]", "IP address");
        bad(Field::InvoiceEmail, "a@x.nl; b@x.nl", "only one address");
        bad(Field::InvoiceEmail, "a@x.nl,b@x.nl", "only one address");
        bad(Field::Email, "ann @example.nl", "space");
        bad(Field::Email, "@example.nl", "nothing before the @");
        bad(Field::Email, "ann@example..nl", "empty part");
        bad(
            Field::Email,
            "ann@example",
            "Email: \"ann@example\" is not a valid e-mail address",
        );
    }

    #[test]
    fn phones_hold_plausible_characters() {
        for phone in [
            "0201234567",
            "+31 20 123 4567",
            "(+31) 6-12345678",
            "020/123.45.67",
            "+31 (0)20 123 45 67",
        ] {
            ok(Field::Phone, phone);
            ok(Field::Mobile, phone);
        }
        bad(
            Field::Phone,
            "020 123 4567 ask Jan",
            "contains 'a' (only digits",
        );
        bad(Field::Mobile, "n.v.t.", "contains 'n'");
        bad(Field::Phone, "020+1234567", "+ that is not at the start");
        bad(Field::Phone, "++31201234567", "+ that is not at the start");
        bad(
            Field::Phone,
            "-",
            "has 0 digits, a phone number needs at least 6",
        );
        bad(Field::Phone, "112", "has 3 digits");
        // A tab is whitespace: collapsed to a space, then fine.
        ok(Field::Phone, "020\t1234567");
    }

    #[test]
    fn phone_extensions_are_accepted() {
        for phone in [
            "555-867-5309 x89",
            "(776) 821-0650 x839",
            "020 1234567 ext. 12",
            "020 1234567 ext 12",
            "020 123456 toestel 3",
            "020 1234567 tst. 3",
            "0201234567x5",
        ] {
            ok(Field::Phone, phone);
        }
        // An extension alone, or letters after it, is still no number.
        assert!(
            !problems(&[
                (Field::CustomerCode, "1"),
                (Field::Name, "A"),
                (Field::Phone, "x89")
            ])
            .is_empty()
        );
        assert!(
            !problems(&[
                (Field::CustomerCode, "1"),
                (Field::Name, "A"),
                (Field::Phone, "020 1234567 x1a")
            ])
            .is_empty()
        );
    }

    #[test]
    fn languages_become_the_api_words() {
        for (value, word) in [
            ("nl_NL", Some("dutch")),
            ("nl-BE", Some("dutch")),
            ("NL", Some("dutch")),
            ("Nederlands", Some("dutch")),
            ("Dutch / Nederlands", Some("dutch")),
            ("en_US", Some("english")),
            ("en-GB", Some("english")),
            ("Engels", Some("english")),
            ("Deutsch", Some("german")),
            ("de", Some("german")),
            ("Français", Some("french")),
            ("fr_BE", Some("french")),
            ("dutch", Some("dutch")),
            ("x", None),
            ("Klingon", None),
            ("1", None),
        ] {
            assert_eq!(language_word(value), word, "{value}");
        }
        let mut c = customer(&[
            (Field::CustomerCode, "1"),
            (Field::Name, "A"),
            (Field::Language, "en_US"),
        ]);
        let v = validate_with_changes(&mut c);
        assert_eq!(c.get(Field::Language), Some("english"));
        assert_eq!(
            v.changes[0].kinds.iter().collect::<Vec<_>>(),
            [ChangeKind::LanguageConverted]
        );
        let mut c = customer(&[
            (Field::CustomerCode, "1"),
            (Field::Name, "A"),
            (Field::Language, "dutch"),
        ]);
        assert!(validate_with_changes(&mut c).changes.is_empty());
    }

    #[test]
    fn leading_zeros_are_kept() {
        let mut c = customer(&[
            (Field::CustomerCode, "000123"),
            (Field::Phone, "0031201234567"),
            (Field::Postalcode, "0123"),
        ]);
        assert!(validate(&mut c).is_empty());
        let json: serde_json::Value = serde_json::from_slice(&c.to_json()).unwrap();
        assert_eq!(json["CustomerCode"], "000123");
        assert_eq!(json["Phone"], "0031201234567");
        assert_eq!(json["Postalcode"], "0123");
    }

    #[test]
    fn every_problem_of_a_row_is_reported_once_in_field_order() {
        let mut c = Customer::default();
        c.set(Field::Postalcode, "1234 AB 5678");
        c.set(Field::Country, "Hollandia");
        c.set(Field::Phone, "call me please, thanks!!");
        c.set(Field::Email, "nope");
        c.set(Field::InvoiceEmail, "nope");
        let found = validate(&mut c);
        let fields: Vec<Option<Field>> = found.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                Some(Field::CustomerCode),
                Some(Field::Name),
                Some(Field::Postalcode),
                Some(Field::Country),
                Some(Field::Phone),
                Some(Field::Phone),
                Some(Field::Email),
                Some(Field::InvoiceEmail),
            ]
        );
        for (i, p) in found.iter().enumerate() {
            assert!(!found[i + 1..].contains(p), "{p} reported twice");
        }
        let line = describe(&found);
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(
                "CustomerCode: is required; Name: is required; Postalcode: is longer than 10 characters (12)"
            ),
            "{line}"
        );
        assert_eq!(line.matches("; ").count(), found.len() - 1, "{line}");
    }

    #[test]
    fn describe_and_display() {
        assert_eq!(describe(&[]), "");
        let p = [
            Problem::field_count(3, 2),
            Problem::new(Field::Name, "is required"),
        ];
        assert_eq!(
            describe(&p),
            "has 3 fields, the header has 2; Name: is required"
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let found = problems(&[(Field::Country, &"x".repeat(300))]);
        assert!(
            found[0].contains(&format!("\"{}…\"", "x".repeat(40))),
            "{found:?}"
        );
    }

    fn full_parser_accepts(s: &str) -> bool {
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(s, options).is_ok()
    }

    #[test]
    fn plain_email_fast_path_only_accepts_what_the_parser_accepts() {
        for s in [
            "a@b.nl",
            "first.last+tag@mail-1.example.co.uk",
            "x_%-@a1.b2",
        ] {
            assert!(is_plain_email(s), "{s}");
            assert!(full_parser_accepts(s), "{s}");
        }
        for s in [
            "a@b",
            ".a@b.nl",
            "a.@b.nl",
            "a..b@c.nl",
            "a@-b.nl",
            "a@b-.nl",
            "a@b..nl",
            "a@b.nl.",
            "a@@b.nl",
            "a@b@c.nl",
            "@b.nl",
            "a@",
            "é@b.nl",
            "\"a\"@b.nl",
        ] {
            assert!(!is_plain_email(s), "{s}");
        }
        let long_local = format!("{}@b.nl", "a".repeat(65));
        assert!(!is_plain_email(&long_local));
        assert!(!full_parser_accepts(&long_local));
        let long_label = format!("a@{}.nl", "b".repeat(64));
        assert!(!is_plain_email(&long_label));
    }

    #[test]
    fn country_table_agrees_with_celes() {
        for a in 'A'..='Z' {
            for b in 'A'..='Z' {
                let code = format!("{a}{b}");
                assert_eq!(
                    is_country(&code),
                    celes::Country::from_alpha2(&code).is_ok(),
                    "{code}"
                );
            }
        }
        assert!(!is_country("nl"));
        assert!(!is_country("N"));
        assert!(!is_country("NLD"));
    }

    fn field_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "\\s{0,2}[a-zA-Z]{1,3}\\s{0,2}",
            "\\s?[a-zé.+]{0,6}@[a-z.\\[\\]0-9]{0,8}\\s?",
            "[a-zA-Z0-9._%+-]{0,8}@[a-zA-Z0-9.-]{0,12}",
            "\\s?[+0-9 ()./a-]{0,24}\\s?",
            "[é€ x]{0,260}",
        ]
    }

    proptest! {
        #[test]
        fn plain_email_fast_path_is_a_subset(s in "[a-zA-Z0-9._%+@-]{0,10}@[a-zA-Z0-9.@_-]{0,12}") {
            prop_assert!(!is_plain_email(&s) || full_parser_accepts(&s), "{}", s);
        }

        #[test]
        fn validate_never_panics_and_is_idempotent(
            values in proptest::collection::vec(proptest::option::of(field_value()), 13)
        ) {
            let mut c = Customer::default();
            for (field, value) in Field::ALL.into_iter().zip(values) {
                if let Some(value) = value {
                    c.set(field, value);
                }
            }
            for field in [Field::Email, Field::InvoiceEmail] {
                if let Some(value) = c.get(field) {
                    let value = value.trim();
                    prop_assert!(!is_plain_email(value) || full_parser_accepts(value), "{}", value);
                }
            }
            let before = c.clone();
            let first = validate_with_changes(&mut c);
            let normalized = c.clone();
            let second = validate_with_changes(&mut c);
            prop_assert_eq!(&c, &normalized);
            // A second pass changes nothing; problems do not depend on
            // whether the value was already normal, except in the quoted
            // original, so compare the fields only.
            prop_assert!(second.changes.is_empty(), "{:?}", second.changes);
            let fields = |v: &Validation| v.problems.iter().map(|p| p.field).collect::<Vec<_>>();
            prop_assert_eq!(fields(&first), fields(&second));
            // Every change is reported, and only changes.
            for field in Field::ALL {
                let change = first.changes.iter().find(|ch| ch.field == field);
                match change {
                    Some(ch) => {
                        prop_assert_eq!(Some(ch.from.as_str()), before.get(field));
                        prop_assert_eq!(ch.to.as_str(), c.get(field).unwrap_or(""));
                        prop_assert!(ch.from != ch.to);
                        prop_assert!(!ch.kinds.is_empty());
                    }
                    None => prop_assert_eq!(before.get(field), c.get(field)),
                }
            }
            for (_, value) in c.iter() {
                prop_assert_eq!(value, value.trim());
                prop_assert!(!value.is_empty());
            }
        }
    }
}
