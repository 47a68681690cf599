//! Request bodies of create and update, decoded and checked against the docs.
//!
//! Owns the wire decoding (JSON with PascalCase names; form bodies with
//! PascalCase or lower-case names, as the docs' curl examples send) and the
//! documented field rules, written from `notify-api.md` alone. It must not use
//! the client's `validate.rs`: a rule the client gets wrong has to show up as
//! a 400 here, not be shared. It does not touch the store.

use std::collections::BTreeMap;

use crate::model::field::Field;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayloadError {
    /// 415: neither JSON nor a form.
    UnsupportedMediaType(String),
    /// 400 with this detail.
    Invalid(String),
}

/// Which endpoint the body is for; update may not carry `CustomerCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Create,
    Update,
}

/// The fields a request sent, each checked. An empty string is kept: for an
/// update it means "clear this field".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Payload {
    pub values: BTreeMap<Field, String>,
}

impl Payload {
    pub fn get(&self, field: Field) -> Option<&str> {
        self.values.get(&field).map(String::as_str)
    }
}

enum Encoding {
    Json,
    Form,
}

/// The media type without parameters, lower-cased.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn encoding(content_type: Option<&str>, body: &[u8]) -> Result<Encoding, PayloadError> {
    match content_type.map(essence).as_deref() {
        Some("application/json") => Ok(Encoding::Json),
        Some(t) if t.ends_with("+json") => Ok(Encoding::Json),
        Some("application/x-www-form-urlencoded") => Ok(Encoding::Form),
        // No declared type (e.g. a bare `curl -d` through some proxies): go by
        // the first byte, since a form never starts with `{`.
        None | Some("") => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            Ok(if first == Some(&b'{') {
                Encoding::Json
            } else {
                Encoding::Form
            })
        }
        Some(other) => Err(PayloadError::UnsupportedMediaType(format!(
            "Content-Type {other} is not supported; send application/json or application/x-www-form-urlencoded"
        ))),
    }
}

fn invalid(detail: impl Into<String>) -> PayloadError {
    PayloadError::Invalid(detail.into())
}

fn form_field(name: &str) -> Option<Field> {
    Field::ALL
        .into_iter()
        .find(|f| f.api_name() == name || f.api_name().to_ascii_lowercase() == name)
}

fn decode(enc: Encoding, body: &[u8]) -> Result<BTreeMap<Field, String>, PayloadError> {
    let mut values = BTreeMap::new();
    match enc {
        Encoding::Json => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| invalid(format!("Body is not valid JSON: {e}")))?;
            let serde_json::Value::Object(map) = value else {
                return Err(invalid("Body must be a JSON object"));
            };
            for (name, value) in map {
                let field = Field::from_api_name(&name)
                    .ok_or_else(|| invalid(format!("Field {name} is unknown")))?;
                let serde_json::Value::String(text) = value else {
                    return Err(invalid(format!("Field {name} must be a string")));
                };
                values.insert(field, text);
            }
        }
        Encoding::Form => {
            for (name, text) in form_urlencoded::parse(body) {
                let field =
                    form_field(&name).ok_or_else(|| invalid(format!("Field {name} is unknown")))?;
                if values.insert(field, text.into_owned()).is_some() {
                    return Err(invalid(format!("Field {field} is given more than once")));
                }
            }
        }
    }
    Ok(values)
}

/// Documented maximum length in characters; `None` where the docs give none.
pub(crate) fn max_chars(field: Field) -> Option<usize> {
    match field {
        Field::CustomerCode
        | Field::Name
        | Field::Address
        | Field::City
        | Field::Contact
        | Field::Email
        | Field::InvoiceEmail => Some(250),
        Field::Postalcode => Some(10),
        Field::Phone | Field::Mobile => Some(20),
        Field::Country | Field::RegistrationNumber | Field::Language => None,
    }
}

fn check(field: Field, value: &str, purpose: Purpose) -> Result<(), PayloadError> {
    if field == Field::CustomerCode {
        if purpose == Purpose::Update {
            return Err(invalid(
                "Field CustomerCode cannot be changed; it is not an update field",
            ));
        }
        if value.trim().is_empty() {
            return Err(invalid("Field CustomerCode is required"));
        }
    }
    if let Some(max) = max_chars(field) {
        // The docs count characters, so count Unicode scalar values, not bytes.
        let n = value.chars().count();
        if n > max {
            return Err(invalid(format!(
                "Field {field} is too long: {n} characters, at most {max} allowed"
            )));
        }
    }
    if field == Field::Country
        && !value.is_empty()
        && !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(invalid(format!(
            "Field Country must be a two-letter upper-case country code such as NL, got {value:?}"
        )));
    }
    Ok(())
}

/// Checks values that did not come over the wire (a `--customers`
/// file's row) by the same rules as a create.
pub(crate) fn checked(values: BTreeMap<Field, String>) -> Result<Payload, PayloadError> {
    for (field, value) in &values {
        check(*field, value, Purpose::Create)?;
    }
    if !values.contains_key(&Field::CustomerCode) {
        return Err(invalid("Field CustomerCode is required"));
    }
    Ok(Payload { values })
}

/// Decodes and checks a create or update body.
pub(crate) fn parse(
    content_type: Option<&str>,
    body: &[u8],
    purpose: Purpose,
) -> Result<Payload, PayloadError> {
    let values = decode(encoding(content_type, body)?, body)?;
    for (field, value) in &values {
        check(*field, value, purpose)?;
    }
    if purpose == Purpose::Create && !values.contains_key(&Field::CustomerCode) {
        return Err(invalid("Field CustomerCode is required"));
    }
    Ok(Payload { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn detail(r: Result<Payload, PayloadError>) -> String {
        match r {
            Err(PayloadError::Invalid(d)) => d,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[test]
    fn json_and_form_decode_to_the_same_payload() {
        let a = parse(
            JSON,
            br#"{"CustomerCode":"C1","Name":"Caf\u00e9"}"#,
            Purpose::Create,
        );
        let b = parse(FORM, b"customercode=C1&Name=Caf%C3%A9", Purpose::Create);
        let c = parse(None, b"CustomerCode=C1&name=Caf%C3%A9", Purpose::Create);
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.expect("valid").get(Field::Name), Some("Café"));
    }

    #[test]
    fn rules() {
        let d = detail(parse(JSON, br#"{"Name":"x"}"#, Purpose::Create));
        assert!(d.contains("CustomerCode is required"), "{d}");
        let d = detail(parse(JSON, br#"{"CustomerCode":"  "}"#, Purpose::Create));
        assert!(d.contains("CustomerCode is required"), "{d}");
        let d = detail(parse(
            JSON,
            br#"{"CustomerCode":"C","Postalcode":"12345678901"}"#,
            Purpose::Create,
        ));
        assert!(d.starts_with("Field Postalcode"), "{d}");
        // Ten non-ASCII characters are ten characters, not twenty bytes.
        assert!(
            parse(
                JSON,
                r#"{"CustomerCode":"C","Postalcode":"éééééééééé"}"#.as_bytes(),
                Purpose::Create
            )
            .is_ok()
        );
        for bad in ["nl", "NLD", "N1", "ÑL"] {
            let body = format!(r#"{{"CustomerCode":"C","Country":"{bad}"}}"#);
            let d = detail(parse(JSON, body.as_bytes(), Purpose::Create));
            assert!(d.starts_with("Field Country"), "{d}");
        }
        let d = detail(parse(
            JSON,
            br#"{"CustomerCode":"C","Phone":123}"#,
            Purpose::Create,
        ));
        assert!(d.contains("must be a string"), "{d}");
        let d = detail(parse(
            JSON,
            br#"{"CustomerCode":"C","name":"x"}"#,
            Purpose::Create,
        ));
        assert!(d.contains("unknown"), "{d}");
        let d = detail(parse(FORM, b"number=10001", Purpose::Create));
        assert!(d.contains("number is unknown"), "{d}");
        let d = detail(parse(FORM, b"Name=a&name=b", Purpose::Update));
        assert!(d.contains("more than once"), "{d}");
        let d = detail(parse(JSON, br#"{"CustomerCode":"C"}"#, Purpose::Update));
        assert!(d.contains("cannot be changed"), "{d}");
        assert!(parse(JSON, b"{}", Purpose::Update).is_ok());
        assert!(matches!(
            parse(Some("text/plain"), b"x", Purpose::Create),
            Err(PayloadError::UnsupportedMediaType(_))
        ));
    }
}
