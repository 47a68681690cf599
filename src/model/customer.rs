//! The customer payload sent to `POST /v2/customers`.
//!
//! Owns the in-memory shape of one customer (text values per [`Field`]) and
//! its JSON encoding: documented PascalCase names, empty fields omitted,
//! every value a string (a phone `0201234567` keeps its leading zero). It
//! must not validate or normalize; that is `validate.rs`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::field::Field;

/// One customer: a text value per API field, where empty means unset.
///
/// Values are kept as `String`s even when unset, so that a customer reused
/// across rows (see [`Customer::set_str`]) keeps its buffers and reading a
/// million-row file does not allocate per cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    values: [String; 13],
}

impl Customer {
    /// The value of `field`, if set and not empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        let value = &self.values[field.index()];
        (!value.is_empty()).then_some(value.as_str())
    }

    /// Sets `field`; an empty string clears it so it is left out of the payload.
    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        self.values[field.index()] = value.into();
    }

    /// Sets `field` to a copy of `value`, reusing the field's buffer.
    pub fn set_str(&mut self, field: Field, value: &str) {
        let slot = &mut self.values[field.index()];
        slot.clear();
        slot.push_str(value);
    }

    /// The field's buffer, for building a value in place (e.g. joining
    /// columns). Leaving it empty leaves the field unset.
    pub fn buffer_mut(&mut self, field: Field) -> &mut String {
        &mut self.values[field.index()]
    }

    /// Removes `field` from the payload (keeping the buffer for reuse).
    pub fn clear(&mut self, field: Field) {
        self.values[field.index()].clear();
    }

    /// Replaces the value of `field` and returns the old one.
    pub fn replace(&mut self, field: Field, value: String) -> String {
        std::mem::replace(&mut self.values[field.index()], value)
    }

    /// The customer code, or `""` when missing.
    pub fn code(&self) -> &str {
        self.get(Field::CustomerCode).unwrap_or("")
    }

    /// The set fields with their values, in documentation order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        Field::ALL
            .into_iter()
            .filter_map(|f| self.get(f).map(|v| (f, v)))
    }

    /// The JSON request body.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the JSON request body to `out`: byte for byte what
    /// `serde_json` writes for [`Serialize`] (delta mode hashes bodies, so
    /// the encoding must never drift), without its per-byte writer calls:
    /// the one pass of an import encodes every row.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (field, value) in self.iter() {
            if !first {
                out.push(b',');
            }
            first = false;
            write_json_str(out, field.api_name());
            out.push(b':');
            write_json_str(out, value);
        }
        out.push(b'}');
    }
}

/// A JSON string as `serde_json` escapes it: `"` and `\\` with a
/// backslash, the control characters with their short escape or
/// `\\u00xx`, everything else (non-ASCII included) as it is. Runs of bytes
/// that need no escape (nearly every value) are copied whole.
fn write_json_str(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let mut rest = value.as_bytes();
    while let Some(at) = rest.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]) {
        out.extend_from_slice(&rest[..at]);
        let b = rest[at];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// The bytes a JSON string cannot hold as they are.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

impl Serialize for Customer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (field, value) in self.iter() {
            map.serialize_entry(field.api_name(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_omitted_and_values_stay_text() {
        let mut c = Customer::default();
        c.set(Field::CustomerCode, "007");
        c.set(Field::Phone, "0201234567");
        c.set(Field::Email, "");
        let json: serde_json::Value = serde_json::from_slice(&c.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"CustomerCode": "007", "Phone": "0201234567"})
        );
    }

    proptest::proptest! {
        /// Delta mode hashes the body: the hand encoder must write exactly
        /// what serde_json writes, for any text.
        #[test]
        fn the_body_is_byte_for_byte_serde_jsons(
            values in proptest::collection::vec(proptest::option::of("(?s).{0,12}|[\\x00-\\x20\"\\\\é€]{0,6}"), 13)
        ) {
            let mut c = Customer::default();
            for (field, value) in Field::ALL.into_iter().zip(values) {
                if let Some(v) = value {
                    c.set(field, v);
                }
            }
            proptest::prop_assert_eq!(c.to_json(), serde_json::to_vec(&c).unwrap());
        }
    }

    #[test]
    fn set_str_reuses_and_empty_means_unset() {
        let mut c = Customer::default();
        c.set_str(Field::Name, "Ann");
        assert_eq!(c.get(Field::Name), Some("Ann"));
        c.set_str(Field::Name, "");
        assert_eq!(c.get(Field::Name), None);
        assert_eq!(c, Customer::default());
        c.buffer_mut(Field::City).push_str("Ede");
        assert_eq!(c.replace(Field::City, "Delft".into()), "Ede");
        assert_eq!(c.iter().collect::<Vec<_>>(), [(Field::City, "Delft")]);
    }
}
