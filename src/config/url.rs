//! The API URL's hygiene: what `--api-url` / `NOTIFY_API_URL` may hold.
//!
//! Owns [`check`], the one gate every target URL passes before anything
//! else happens: no user name or password, no query, no fragment, and
//! `https://` unless the host is loopback. Its errors ([`UrlError`]) show
//! the URL with any credentials, query and fragment replaced by `…`, so a
//! password or a `?token=` never reaches the terminal or cron's mail. It
//! must not read files or touch the network.

/// Why a target URL is refused. Every variant's text is safe to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("{origin} {shown} is not a valid URL ({reason}); give the API's base URL, e.g. {example}", example = super::DEFAULT_API_URL)]
    Invalid {
        /// `--api-url` or `NOTIFY_API_URL`.
        origin: &'static str,
        /// The value as safe to show.
        shown: String,
        /// The parser's reason.
        reason: String,
    },
    /// `user:pass@` in the URL.
    #[error(
        "{origin} {shown} contains a user name or password; remove them: the API key goes in NOTIFY_API_KEY or --api-key-file, never in the URL"
    )]
    Credentials {
        /// `--api-url` or `NOTIFY_API_URL`.
        origin: &'static str,
        /// The URL with the credentials replaced by `…`.
        shown: String,
    },
    /// A `?query` or `#fragment`: the tool appends paths to the base URL,
    /// which would end up inside them.
    #[error("{origin} {shown} has a {part}; give the API's base URL alone, e.g. {example}", example = super::DEFAULT_API_URL)]
    QueryOrFragment {
        /// `--api-url` or `NOTIFY_API_URL`.
        origin: &'static str,
        /// The URL with the query and fragment replaced by `…`.
        shown: String,
        /// `query (?…)` or `fragment (#…)`.
        part: &'static str,
    },
    /// Plain http to a host that is not this machine.
    #[error(
        "{origin} {shown} uses plain http to a host other than this machine; the API key would travel unencrypted: use https://"
    )]
    PlainHttp {
        /// `--api-url` or `NOTIFY_API_URL`.
        origin: &'static str,
        /// The URL.
        shown: String,
    },
    /// Neither http nor https.
    #[error("{origin} {shown} does not start with https:// (or http:// to this machine); give the API's base URL, e.g. {example}", example = super::DEFAULT_API_URL)]
    Scheme {
        /// `--api-url` or `NOTIFY_API_URL`.
        origin: &'static str,
        /// The URL.
        shown: String,
        /// The scheme given.
        scheme: String,
    },
}

/// Parses and checks a target URL given by `origin` (`--api-url` or
/// `NOTIFY_API_URL`); a trailing `/` is dropped.
pub fn check(raw: &str, origin: &'static str) -> Result<reqwest::Url, UrlError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|e| UrlError::Invalid {
        origin,
        shown: mask_raw(trimmed),
        reason: e.to_string(),
    })?;
    let shown = shown(&url);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials { origin, shown });
    }
    if url.query().is_some() || url.fragment().is_some() {
        let part = if url.query().is_some() {
            "query (?…)"
        } else {
            "fragment (#…)"
        };
        return Err(UrlError::QueryOrFragment {
            origin,
            shown,
            part,
        });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(UrlError::PlainHttp { origin, shown }),
        // `user:pass@host` parses as the scheme `user`: show none of it.
        other => Err(UrlError::Scheme {
            origin,
            shown: mask_raw(trimmed),
            scheme: other.to_owned(),
        }),
    }
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `raw` as safe to print, valid or not: credentials, a query and a
/// fragment replaced by `…` (for `config`, which shows the URL given
/// without refusing it).
pub fn safe_to_show(raw: &str) -> String {
    let trimmed = raw.trim();
    match reqwest::Url::parse(trimmed) {
        // `user:pass@host` parses as the scheme `user`: show none of it.
        Ok(url) if matches!(url.scheme(), "http" | "https") => shown(&url),
        _ => mask_raw(trimmed),
    }
}

/// `url` with credentials, query and fragment replaced by `…`.
fn shown(url: &reqwest::Url) -> String {
    let mut safe = url.clone();
    // Both only fail for URLs that cannot have credentials at all.
    let _ = safe.set_username("");
    let _ = safe.set_password(None);
    safe.set_query(None);
    safe.set_fragment(None);
    let mut text = safe.to_string();
    if !url.username().is_empty() || url.password().is_some() {
        text = text.replacen("://", "://…@", 1);
    }
    if url.query().is_some() {
        text.push_str("?…");
    }
    if url.fragment().is_some() {
        text.push_str("#…");
    }
    text
}

/// A string that did not parse as a URL, with whatever looks like
/// credentials, a query or a fragment replaced by `…`.
fn mask_raw(raw: &str) -> String {
    let (head, suffix) = match raw.find(['?', '#']) {
        Some(at) => (&raw[..at], "?…"),
        None => (raw, ""),
    };
    let (scheme, rest) = head.split_once("://").unwrap_or(("", head));
    // The authority ends at the first `/`; without a scheme the parser's
    // idea of it is unknown, so any `@` may follow a password.
    let authority_end = match scheme {
        "" => rest.len(),
        _ => rest.find('/').unwrap_or(rest.len()),
    };
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("…@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let scheme = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    format!("{scheme}{authority}{path}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAG: &str = "--api-url";

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check("http://127.0.0.1:8080/v2", FLAG).is_ok());
        assert!(check("http://127.3.2.1:8080/v2", FLAG).is_ok());
        assert!(check("http://localhost/v2/", FLAG).is_ok());
        assert!(check("http://[::1]:9/v2", FLAG).is_ok());
        assert!(matches!(
            check("http://api.notify.cm/v2", FLAG),
            Err(UrlError::PlainHttp { .. })
        ));
        assert!(check("https://api.notify.cm/v2", FLAG).is_ok());
        assert!(matches!(
            check("ftp://api.notify.cm/v2", FLAG),
            Err(UrlError::Scheme { .. })
        ));
    }

    #[test]
    fn credentials_query_and_fragment_are_refused_and_never_shown() {
        for (raw, secret) in [
            ("http://user:hunter2pass@api.notify.cm/v2", "hunter2pass"),
            ("https://user:hunter2pass@api.notify.cm/v2", "hunter2pass"),
            ("https://hunter2pass@api.notify.cm/v2", "hunter2pass"),
            ("https://api.notify.cm/v2?token=hunter2pass", "hunter2pass"),
            ("https://api.notify.cm/v2#hunter2pass", "hunter2pass"),
            (
                "https://user:hunter2pass@api.notify.cm:99999/v2",
                "hunter2pass",
            ),
            ("user:hunter2pass@api.notify.cm/v2", "hunter2pass"),
            ("https://api.notify.cm:x/v2?k=hunter2pass", "hunter2pass"),
        ] {
            let err = check(raw, "NOTIFY_API_URL").expect_err(raw);
            let text = err.to_string();
            assert!(!text.contains(secret), "{raw}: {text}");
            assert!(text.starts_with("NOTIFY_API_URL "), "{text}");
        }
        let err = check("https://u:hunter2pass@api.notify.cm/v2", FLAG).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--api-url https://…@api.notify.cm/v2 contains a user name or password; remove them: the API key goes in NOTIFY_API_KEY or --api-key-file, never in the URL"
        );
        let err = check("https://api.notify.cm/v2?x=1", FLAG).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--api-url https://api.notify.cm/v2?… has a query (?…)"),
            "{err}"
        );
    }

    #[test]
    fn what_config_shows_has_no_secret_part() {
        for raw in [
            "https://user:hunter2pass@api.notify.cm/v2",
            "https://api.notify.cm/v2?token=hunter2pass",
            "https://api.notify.cm/v2#hunter2pass",
            "https://u:hunter2pass@api.notify.cm:99999/v2",
            "user:hunter2pass@api.notify.cm/v2",
            "not a url?hunter2pass",
        ] {
            let shown = safe_to_show(raw);
            assert!(!shown.contains("hunter2pass"), "{raw}: {shown}");
        }
        assert_eq!(
            safe_to_show("https://api.notify.cm/v2"),
            "https://api.notify.cm/v2"
        );
    }
}
