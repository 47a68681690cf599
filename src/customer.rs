//! The customer payload sent to `POST /v2/customers`.
//!
//! Owns the in-memory shape of one customer (text values per [`Field`]) and
//! its JSON encoding: documented PascalCase names, empty fields omitted,
//! every value a string (a phone `0201234567` keeps its leading zero). It
//! must not validate or normalize; that is `validate.rs`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::fields::Field;

/// One customer: an optional text value per API field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    values: [Option<String>; 13],
}

impl Customer {
    /// The value of `field`, if set and not empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field.index()].as_deref()
    }

    /// Sets `field`; an empty string clears it so it is left out of the payload.
    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        let value = value.into();
        self.values[field.index()] = if value.is_empty() { None } else { Some(value) };
    }

    /// Removes `field` from the payload.
    pub fn clear(&mut self, field: Field) {
        self.values[field.index()] = None;
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
        // Serializing a map of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

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
}
