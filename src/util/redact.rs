//! Secret redaction: the last line of defence that keeps the API key out of
//! everything the tool prints or writes.
//!
//! Owns the process-wide list of secrets (every [`ApiKey`](crate::config::ApiKey)
//! registers itself when parsed), [`scrub`] for text that may carry one (API
//! answers that echo the token, log lines, panic messages, result cells),
//! and the panic hook. The first line of defence stays where it is: the key
//! has a redacting `Debug`, is sent only in a header marked sensitive, and
//! is never formatted into a message. This module exists for what those
//! cannot control, such as a proxy that echoes the Authorization header in
//! an error page. It must not log or print anything itself, except from the
//! panic hook.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not registered: replacing a short string
/// everywhere would mangle ordinary text, and no valid key is that short.
const MIN_SECRET_LEN: usize = 12;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` to the strings [`scrub`] removes.
pub fn register(secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut list = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|s| s == secret) {
        list.push(secret.to_owned());
    }
}

/// `text` with every registered secret replaced by [`REDACTED`]; borrowed
/// (no allocation) in the usual case where there is nothing to replace.
pub fn scrub(text: &str) -> Cow<'_, str> {
    // Most results rows have no error text: no lock to take per row.
    if text.is_empty() {
        return Cow::Borrowed(text);
    }
    let list = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// Whether `text` holds a registered secret.
pub fn contains_secret(text: &str) -> bool {
    let list = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    list.iter().any(|secret| text.contains(secret.as_str()))
}

/// As [`scrub`], for bytes that may not be UTF-8 (a log writer's buffer).
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let list = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(bytes);
    for secret in list.iter() {
        let needle = secret.as_bytes();
        if find(&out, needle).is_none() {
            continue;
        }
        let mut replaced = Vec::with_capacity(out.len());
        let mut rest: &[u8] = &out;
        while let Some(at) = find(rest, needle) {
            replaced.extend_from_slice(&rest[..at]);
            replaced.extend_from_slice(REDACTED.as_bytes());
            rest = &rest[at + needle.len()..];
        }
        replaced.extend_from_slice(rest);
        out = Cow::Owned(replaced);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The line the panic hook prints for a panic with `message` at `location`.
pub fn panic_line(message: &str, location: Option<&str>) -> String {
    format!(
        "notify-import: internal error (a bug; please report it): {}{}",
        scrub(message),
        location.map(|l| format!(" at {l}")).unwrap_or_default()
    )
}

/// Replaces the default panic output with one scrubbed line on stderr, so
/// a panic whose message formats a value holding the key cannot print it.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        let line = panic_line(message, location.as_deref());
        eprintln!("{}", crate::util::text::printable(&line));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Registration is process-wide; each test uses its own secret.
    const SECRET: &str = "test_scrubScrubScrubScrub0123456789";

    #[test]
    fn registered_secrets_are_replaced_everywhere() {
        register(SECRET);
        let text = format!("Bearer {SECRET} was rejected; token={SECRET}.");
        assert_eq!(
            scrub(&text),
            "Bearer [REDACTED] was rejected; token=[REDACTED]."
        );
        let bytes = scrub_bytes(text.as_bytes());
        assert_eq!(
            bytes.as_ref(),
            b"Bearer [REDACTED] was rejected; token=[REDACTED].".as_slice()
        );
        assert!(matches!(scrub("nothing to see"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_panic_line_never_holds_a_registered_secret() {
        let secret = "live_panicPanicPanicPanic0123456789";
        register(secret);
        let line = panic_line(&format!("bad key {secret}"), Some("src/x.rs:1"));
        assert!(!line.contains(secret), "{line}");
        assert!(line.contains("[REDACTED]") && line.ends_with("at src/x.rs:1"));
    }

    #[test]
    fn short_strings_are_not_registered() {
        register("test_");
        assert_eq!(scrub("test_ key"), "test_ key");
    }
}
