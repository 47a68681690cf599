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
    fn long_values_are_cut_and_escaped() {
        assert_eq!(quoted("Ann"), "\"Ann\"");
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(quoted(&"x".repeat(41)), format!("\"{}…\"", "x".repeat(40)));
    }
}
