//! What the server says, made safe to keep: every text and id an answer
//! carries passes through here before it leaves `api/`.
//!
//! Owns the two gates. [`text`] scrubs a registered secret (a server or
//! proxy may echo the Authorization header), turns control characters
//! (terminal escapes, line breaks that would split a log line) into
//! spaces and caps the length. [`id`] accepts only what can plausibly be
//! a customer id: short, printable ASCII without spaces, and no secret in
//! it; anything else is refused, so the caller treats the answer as one
//! in doubt instead of writing it to the results, the journal or the
//! delta state. It must not log or print anything.

use crate::util::redact;

/// Longest text from the server kept (characters); more is cut with `…`.
pub const MAX_TEXT_CHARS: usize = 500;

/// Longest customer id accepted (Notify's are 36-character UUIDs).
pub const MAX_ID_CHARS: usize = 100;

/// `raw` scrubbed of secrets, without control characters, at most
/// [`MAX_TEXT_CHARS`] characters.
pub fn text(raw: &str) -> String {
    let scrubbed = redact::scrub(raw);
    let mut out = String::with_capacity(scrubbed.len().min(MAX_TEXT_CHARS));
    for (i, c) in scrubbed.chars().enumerate() {
        if i == MAX_TEXT_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// `raw` if it is a plausible customer id, else why not (without the id).
pub fn id(raw: &str) -> Result<String, &'static str> {
    if raw.is_empty() {
        return Err("it is empty");
    }
    if raw.len() > MAX_ID_CHARS {
        return Err("it is longer than any customer id");
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("it holds spaces, control or non-ASCII characters");
    }
    if redact::contains_secret(raw) {
        return Err("it contains the API key");
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test_untrustedUntrusted0123456789";

    #[test]
    fn texts_lose_secrets_control_characters_and_excess() {
        redact::register(SECRET);
        assert_eq!(
            text(&format!("bad\x1b[31m token\r\nBearer {SECRET}")),
            "bad [31m token  Bearer [REDACTED]"
        );
        let long = text(&"é".repeat(MAX_TEXT_CHARS + 10));
        assert_eq!(long.chars().count(), MAX_TEXT_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn only_plausible_ids_pass() {
        redact::register(SECRET);
        let uuid = "a0f0660d-6c8d-422b-8114-e363b260521e";
        assert_eq!(id(uuid).as_deref(), Ok(uuid));
        assert_eq!(id("12345").as_deref(), Ok("12345"));
        for bad in [
            String::new(),
            format!("Bearer {SECRET}"),
            SECRET.to_owned(),
            format!("x{SECRET}x"),
            "a\nb".to_owned(),
            "ü".to_owned(),
            "9".repeat(MAX_ID_CHARS + 1),
        ] {
            let why = id(&bad).expect_err(&bad);
            assert!(!why.contains(SECRET));
        }
    }
}
