//! Text: how names are compared and values quoted, the same way wherever
//! the crate does it.
//!
//! Owns [`comparison_key`] (the folded form under which names are looked
//! up: countries, languages, header cells, so every table folds alike)
//! and [`quoted`] (a value in a message, cut so one cell cannot flood a
//! file). It must not know what the text is (a field, a column, a country):
//! callers decide that.

/// Longest value that is quoted in full in a message; longer ones are cut so
/// one bad cell cannot flood the results file.
const QUOTE_MAX_CHARS: usize = 40;

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

/// `text` safe to print on a terminal: control characters (C0 but line
/// feed and tab, DEL, C1) and the bidirectional overrides that can make
/// text read differently from what it is are written as `\u{1b}`, so a
/// file's bytes can neither move the cursor, ring the bell, rewrite the
/// line (`\r`) nor send escape sequences.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `value` in double quotes for a message, escaped, and cut after
/// `QUOTE_MAX_CHARS` characters.
pub fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("\"{}…\"", value[..cut].escape_debug()),
        None => format!("\"{}\"", value.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_key_folds() {
        assert_eq!(comparison_key("België"), "belgie");
        assert_eq!(comparison_key("Curaçao"), "curacao");
        assert_eq!(comparison_key("Straße"), "strasse");
        assert_eq!(comparison_key("Ver. Koninkrijk!"), "verkoninkrijk");
        assert_eq!(comparison_key("Ελλάδα"), "ελλάδα");
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(printable("Code\tName\n"), "Code\tName\n");
        assert_eq!(printable("a\x1b[31mb\x07\rc"), "a\\u{1b}[31mb\\u{7}\\u{d}c");
        assert_eq!(
            printable("x\u{9b}y\u{202e}z\x7f"),
            "x\\u{9b}y\\u{202e}z\\u{7f}"
        );
        assert!(matches!(printable("Café"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn long_values_are_cut_and_escaped() {
        assert_eq!(quoted("Ann"), "\"Ann\"");
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(quoted(&"x".repeat(41)), format!("\"{}…\"", "x".repeat(40)));
    }
}
