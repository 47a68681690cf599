//! Classification of API failures.
//!
//! Owns [`ApiError`], built from an HTTP status plus the problem JSON
//! (`{status,title,detail}`) or from a transport error. The uploader decides
//! what to do from the variant, never from message text. Must not contain
//! the API key: messages are built from statuses, bodies and URLs only,
//! and every text from an answer passes through `untrusted::text`.

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::untrusted;

/// Longest piece of a non-JSON body kept in a message.
const MAX_BODY_SNIPPET: usize = 200;

/// Why a request did not give the expected answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 401/403: the key was rejected. The whole run must stop.
    #[error(
        "HTTP {status}: the API rejected the key ({detail}); check NOTIFY_API_KEY / --api-key-file and that the key was not regenerated"
    )]
    Auth {
        /// HTTP status.
        status: u16,
        /// The API's detail text.
        detail: String,
    },
    /// The CustomerCode already exists (409, or 400/422 saying so).
    #[error("HTTP {status}: {detail}")]
    Duplicate {
        /// HTTP status.
        status: u16,
        /// The API's detail text.
        detail: String,
    },
    /// Any other 4xx: this row was rejected and must change before a retry.
    #[error("HTTP {status}: {detail}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API's detail text.
        detail: String,
    },
    /// 429: too many requests.
    #[error("HTTP 429: rate limited by the API ({detail})")]
    RateLimited {
        /// The raw Retry-After header, if any.
        retry_after: Option<String>,
        /// The API's detail text.
        detail: String,
    },
    /// 5xx: a fault on the server side.
    #[error("HTTP {status}: server error ({detail})")]
    Server {
        /// HTTP status.
        status: u16,
        /// The API's detail text or a snippet of the body.
        detail: String,
        /// True when the body was the API's own problem JSON; false for an
        /// HTML or empty page, typically from a proxy in front of the API,
        /// which cannot tell whether the API processed the request.
        from_api: bool,
    },
    /// The request could not be sent or the response not read.
    #[error("{message}")]
    Transport {
        /// What happened, without the key.
        message: String,
        /// True when the connection was never made, so nothing reached the server.
        nothing_sent: bool,
    },
    /// 3xx: the server pointed elsewhere. Redirects are never followed:
    /// the customers' data (and, for some clients, the key) would go to an
    /// address `--api-url` did not name, perhaps over plain http.
    #[error(
        "HTTP {status}: the API redirected to {location}; redirects are not followed (the customers' data would go to another address)"
    )]
    Redirected {
        /// HTTP status.
        status: u16,
        /// Where it pointed, resolved against the request's URL and
        /// scrubbed; `(no Location header)` when there was none.
        location: String,
    },
    /// A list page's `links.next.href` names another scheme, host or
    /// port than `--api-url`: it is not followed, since the bearer key
    /// would go with the request to an address the user did not name.
    #[error(
        "HTTP {status}: the API's next-page link points to {link}, another address than --api-url; it is not followed (the API key would be sent there)"
    )]
    ForeignLink {
        /// HTTP status of the page that carried the link.
        status: u16,
        /// The link, scrubbed and without credentials.
        link: String,
    },
    /// The run stopped while the request was in flight.
    #[error("stopped while the request was in flight")]
    Aborted,
    /// A 2xx answer we cannot use (no JSON, no id).
    #[error("HTTP {status}: unusable response: {message}")]
    BadResponse {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
}

/// What a failure means for the row, and whether a retry may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 4xx other than the cases below: the row must change; never retried.
    Invalid,
    /// The CustomerCode already exists.
    Duplicate,
    /// 401/403: the key was rejected; the run must stop.
    Auth,
    /// 3xx, or a next-page link to another address: the URL points
    /// elsewhere; the run must stop. The row stays in doubt (a `303` may
    /// follow a create that worked).
    Redirected,
    /// 429: the whole pool must slow down and wait.
    RateLimited,
    /// The request provably did not change anything (connection refused;
    /// a 5xx problem JSON to a search): retry as is. A 5xx to a create is
    /// in doubt all the same ([`ApiError::leaves_create_in_doubt`]).
    Transient,
    /// The request may have reached the server and created the customer
    /// (read timeout, connection dropped after sending, unusable 2xx,
    /// proxy error page): look the code up before sending it again.
    InDoubt,
}

impl ApiError {
    /// The classification the uploader acts on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Auth { .. } => ErrorKind::Auth,
            ApiError::Redirected { .. } | ApiError::ForeignLink { .. } => ErrorKind::Redirected,
            ApiError::Duplicate { .. } => ErrorKind::Duplicate,
            ApiError::Rejected { .. } => ErrorKind::Invalid,
            ApiError::RateLimited { .. } => ErrorKind::RateLimited,
            ApiError::Server { from_api: true, .. } => ErrorKind::Transient,
            ApiError::Server {
                from_api: false, ..
            } => ErrorKind::InDoubt,
            ApiError::Transport {
                nothing_sent: true, ..
            } => ErrorKind::Transient,
            ApiError::Transport {
                nothing_sent: false,
                ..
            } => ErrorKind::InDoubt,
            ApiError::BadResponse { .. } | ApiError::Aborted => ErrorKind::InDoubt,
        }
    }

    /// Whether this answer to a create leaves its row in doubt, not proving
    /// that nothing was created: the [`ErrorKind::InDoubt`] answers and
    /// any 5xx (the API's own 500 may follow a create that went through; a
    /// gateway's 502/504 may come while the API is still at work on it).
    pub fn leaves_create_in_doubt(&self) -> bool {
        self.kind() == ErrorKind::InDoubt || matches!(self, ApiError::Server { .. })
    }

    /// Whether the API finished handling the request, though what it did
    /// is unknown: a 2xx with an unusable body (too large, not JSON, no
    /// usable id), or a 5xx in the API's own problem JSON other than the
    /// gateway statuses 502 and 504. Such a request cannot land later. Any
    /// other answer in doubt (no answer, a proxy's page, a gateway's
    /// timeout) may come while the API is still at work on it.
    pub fn was_handled(&self) -> bool {
        match self {
            ApiError::BadResponse { .. } => true,
            ApiError::Server {
                status, from_api, ..
            } => *from_api && !matches!(status, 502 | 504),
            _ => false,
        }
    }

    /// True when no HTTP response at all came back (for "API unreachable").
    pub fn no_response(&self) -> bool {
        matches!(self, ApiError::Transport { .. })
    }

    /// The HTTP status, when there was a response.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Auth { status, .. }
            | ApiError::Duplicate { status, .. }
            | ApiError::Rejected { status, .. }
            | ApiError::Server { status, .. }
            | ApiError::Redirected { status, .. }
            | ApiError::ForeignLink { status, .. }
            | ApiError::BadResponse { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Transport { .. } | ApiError::Aborted => None,
        }
    }

    /// Builds the error for a non-success response.
    pub fn from_response(status: StatusCode, retry_after: Option<String>, body: &[u8]) -> ApiError {
        let code = status.as_u16();
        let (detail, from_api) = problem_detail(status, body);
        // A server or proxy may echo the Authorization header back.
        let detail = untrusted::text(&detail);
        match code {
            401 | 403 => ApiError::Auth {
                status: code,
                detail,
            },
            409 => ApiError::Duplicate {
                status: code,
                detail,
            },
            400 | 422 if says_code_exists(&detail) => ApiError::Duplicate {
                status: code,
                detail,
            },
            429 => ApiError::RateLimited {
                retry_after,
                detail,
            },
            400..=499 => ApiError::Rejected {
                status: code,
                detail,
            },
            _ => ApiError::Server {
                status: code,
                detail,
                from_api,
            },
        }
    }

    /// Builds the error for a 3xx answer to a request for `url`, from its
    /// `Location` header (relative ones resolved against `url`).
    pub fn redirected(status: StatusCode, location: Option<&[u8]>, url: &Url) -> ApiError {
        let location = match location {
            None => "(no Location header)".to_owned(),
            Some(raw) => {
                let raw = String::from_utf8_lossy(raw);
                let target = url.join(raw.trim()).map_or_else(
                    |_| raw.into_owned(),
                    |mut u| {
                        // Credentials in it are not ours to print.
                        let _ = u.set_password(None);
                        u.to_string()
                    },
                );
                untrusted::text(&target)
            }
        };
        ApiError::Redirected {
            status: status.as_u16(),
            location,
        }
    }

    /// Builds the error for a failed send or read.
    pub fn from_transport(err: &reqwest::Error) -> ApiError {
        // reqwest's Display includes the URL, never headers, so the key cannot leak.
        let nothing_sent = err.is_connect();
        let what = if err.is_timeout() {
            "request timed out"
        } else if err.is_connect() {
            "could not connect to the API"
        } else {
            "connection failed"
        };
        let mut message = format!("{what}: {err}");
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        ApiError::Transport {
            // TLS errors quote the server's certificate names.
            message: untrusted::text(&message),
            nothing_sent,
        }
    }

    /// A next-page link to another address than the API's, from a page
    /// answered with `status`.
    pub fn foreign_link(status: StatusCode, link: &Url) -> ApiError {
        let mut shown = link.clone();
        // Credentials in it are not ours to print.
        let _ = shown.set_password(None);
        ApiError::ForeignLink {
            status: status.as_u16(),
            link: untrusted::text(shown.as_str()),
        }
    }

    /// A 2xx answer that cannot be used; `message` may quote the server.
    pub fn bad_response(status: StatusCode, message: &str) -> ApiError {
        ApiError::BadResponse {
            status: status.as_u16(),
            message: untrusted::text(message),
        }
    }
}

#[derive(Deserialize)]
struct Problem {
    detail: Option<String>,
    title: Option<String>,
}

/// The `detail` of a problem JSON body; falls back to the title, then to the
/// status line plus a snippet of the raw body (a proxy's HTML page, say).
/// The flag tells whether the body was JSON from the API.
fn problem_detail(status: StatusCode, body: &[u8]) -> (String, bool) {
    if let Ok(p) = serde_json::from_slice::<Problem>(body) {
        if let Some(d) = p.detail.filter(|d| !d.trim().is_empty()) {
            return (d, true);
        }
        if let Some(t) = p.title.filter(|t| !t.trim().is_empty()) {
            return (t, true);
        }
        return (
            status
                .canonical_reason()
                .unwrap_or("unknown status")
                .to_owned(),
            true,
        );
    }
    let reason = status.canonical_reason().unwrap_or("unknown status");
    let text = String::from_utf8_lossy(body);
    // Scrubbed before it is cut, so no part of an echoed key survives.
    let text = crate::util::redact::scrub(&text);
    let snippet: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if snippet.is_empty() {
        (reason.to_owned(), false)
    } else {
        let cut: String = snippet.chars().take(MAX_BODY_SNIPPET).collect();
        (format!("{reason}; body: {cut}"), false)
    }
}

/// The API does not document its duplicate-code answer; a 400/422 whose
/// detail says the code already exists is treated as one.
fn says_code_exists(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    (d.contains("already exist") || d.contains("already in use") || d.contains("duplicate"))
        || (d.contains("exists") && (d.contains("code") || d.contains("customer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> ApiError {
        ApiError::from_response(StatusCode::from_u16(status).unwrap(), None, body.as_bytes())
    }

    #[test]
    fn classifies_by_status_and_detail() {
        assert!(matches!(err(401, ""), ApiError::Auth { .. }));
        assert!(matches!(err(403, ""), ApiError::Auth { .. }));
        assert!(matches!(err(409, "{}"), ApiError::Duplicate { .. }));
        let dup = r#"{"status":400,"title":"Bad Request","detail":"Customer with code 7 already exists"}"#;
        assert!(matches!(err(400, dup), ApiError::Duplicate { .. }));
        let bad = r#"{"status":400,"title":"Bad Request","detail":"Field postalcode too long"}"#;
        assert!(
            matches!(err(400, bad), ApiError::Rejected { ref detail, .. } if detail == "Field postalcode too long")
        );
        assert!(matches!(err(422, "{}"), ApiError::Rejected { .. }));
        assert!(matches!(err(503, ""), ApiError::Server { .. }));
        assert!(matches!(err(429, ""), ApiError::RateLimited { .. }));
    }

    #[test]
    fn proxy_pages_and_lost_responses_are_in_doubt() {
        let problem = r#"{"status":503,"title":"Service Unavailable","detail":"try later"}"#;
        assert_eq!(err(503, problem).kind(), ErrorKind::Transient);
        assert_eq!(
            err(502, "<html>Bad Gateway</html>").kind(),
            ErrorKind::InDoubt
        );
        assert_eq!(err(500, "").kind(), ErrorKind::InDoubt);
        let refused = ApiError::Transport {
            message: "refused".into(),
            nothing_sent: true,
        };
        assert_eq!(refused.kind(), ErrorKind::Transient);
        let dropped = ApiError::Transport {
            message: "closed".into(),
            nothing_sent: false,
        };
        assert_eq!(dropped.kind(), ErrorKind::InDoubt);
        let junk = ApiError::BadResponse {
            status: 201,
            message: "no id".into(),
        };
        assert_eq!(junk.kind(), ErrorKind::InDoubt);
        assert_eq!(err(429, "").kind(), ErrorKind::RateLimited);
        assert_eq!(err(400, "{}").kind(), ErrorKind::Invalid);
    }

    #[test]
    fn any_5xx_to_a_create_leaves_it_in_doubt_and_only_a_2xx_was_handled() {
        let problem = r#"{"status":500,"title":"Internal Server Error","detail":"oops"}"#;
        let gateway = r#"{"status":504,"title":"Gateway Timeout"}"#;
        for (e, handled) in [
            (err(500, problem), true),
            (err(503, problem), true),
            (err(504, gateway), false),
            (err(502, "<html>"), false),
            (err(500, ""), false),
        ] {
            assert!(e.leaves_create_in_doubt(), "{e}");
            assert_eq!(e.was_handled(), handled, "{e}");
        }
        for e in [err(429, ""), err(422, "{}"), err(409, "{}")] {
            assert!(!e.leaves_create_in_doubt(), "{e}");
        }
        let refused = ApiError::Transport {
            message: "refused".into(),
            nothing_sent: true,
        };
        assert!(!refused.leaves_create_in_doubt());
        let timed_out = ApiError::Transport {
            message: "request timed out".into(),
            nothing_sent: false,
        };
        assert!(timed_out.leaves_create_in_doubt() && !timed_out.was_handled());
        let junk = ApiError::bad_response(StatusCode::CREATED, "no id");
        assert!(junk.leaves_create_in_doubt() && junk.was_handled());
    }

    #[test]
    fn a_redirect_names_its_target_resolved_and_without_a_password() {
        let url = Url::parse("https://api.example/v2/customers").unwrap();
        let found = StatusCode::FOUND;
        let e = ApiError::redirected(found, Some(b"/maintenance"), &url);
        assert_eq!(e.kind(), ErrorKind::Redirected);
        assert_eq!(e.http_status(), Some(302));
        assert!(
            e.to_string()
                .contains("redirected to https://api.example/maintenance;"),
            "{e}"
        );
        let e = ApiError::redirected(found, Some(b"http://u:pw1234@other.example/x"), &url);
        assert!(
            e.to_string().contains("to http://u@other.example/x;"),
            "{e}"
        );
        let e = ApiError::redirected(found, None, &url);
        assert!(e.to_string().contains("(no Location header)"), "{e}");
    }

    #[test]
    fn status_line_wins_over_body_status() {
        let body = r#"{"status":405,"title":"Bad Request","detail":"Field x wrong"}"#;
        assert_eq!(err(400, body).http_status(), Some(400));
    }

    #[test]
    fn html_body_is_summarised() {
        let e = err(502, "<html><body>\n<h1>502 Bad Gateway</h1></body></html>");
        let text = e.to_string();
        assert!(text.contains("Bad Gateway"), "{text}");
        assert!(!text.contains('\n'));
    }
}
