//! The difference between a row of the file and the customer Notify holds
//! for its code: which fields an update would change, from what to what.
//!
//! Owns [`changes`], a pure function: both sides are compared after the
//! normalization the tool applies before sending (Notify's `nl` is the
//! file's `NL`; `1234ab` is `1234 AB`), a blank cell keeps Notify's value
//! unless its field is one `--clear-empty` may clear (a mapped column),
//! and the code itself is never a change (it is how the two were paired).
//! The old value is kept as Notify returned it, so that a before-image
//! restores exactly what was there. It must not fetch, send or decide a
//! row's fate: [`super::Planner`] does, with the result.

use crate::check::validate;
use crate::model::customer::Customer;
use crate::model::field::Field;
use crate::model::plan::FieldChange;

/// The fields a blank cell clears (`--clear-empty`: the mapped ones), as
/// a bit per [`Field::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clearable(u16);

impl Clearable {
    /// No field: a blank cell always keeps Notify's value.
    pub const NONE: Clearable = Clearable(0);

    /// These fields (the code is never cleared).
    pub fn of(fields: impl IntoIterator<Item = Field>) -> Clearable {
        Clearable(
            fields
                .into_iter()
                .filter(|f| *f != Field::CustomerCode)
                .fold(0, |bits, f| bits | 1 << f.index()),
        )
    }

    /// Whether a blank cell of `field` clears it.
    pub fn contains(self, field: Field) -> bool {
        self.0 & (1 << field.index()) != 0
    }
}

/// The fields whose value in `file` (a checked row, normalized) differs
/// from Notify's (`notify`, as Notify returned it), in field order.
/// Empty when an update would change nothing.
pub fn changes(file: &Customer, notify: &Customer, clear: Clearable) -> Vec<FieldChange> {
    let mut normal = notify.clone();
    // Notify's values in the form the file's were sent in; what rules
    // they break is no concern here.
    validate::validate_with_changes(&mut normal);
    let mut out = Vec::new();
    for field in Field::ALL {
        if field == Field::CustomerCode {
            continue;
        }
        let old = notify.get(field).unwrap_or("");
        let new = match file.get(field) {
            Some(new) if normal.get(field) == Some(new) => continue,
            Some(new) => new,
            None if clear.contains(field) && !old.is_empty() => "",
            None => continue,
        };
        out.push(FieldChange {
            field,
            old: old.to_owned(),
            new: new.to_owned(),
        });
    }
    out
}

/// The customer a checked row's JSON body holds; `None` if it is not
/// such a body (which the pass never writes).
pub fn customer_of_body(body: &[u8]) -> Option<Customer> {
    let map: std::collections::BTreeMap<String, String> = serde_json::from_slice(body).ok()?;
    let mut customer = Customer::default();
    for (name, value) in map {
        customer.set(Field::from_api_name(&name)?, value);
    }
    Some(customer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(values: &[(Field, &str)]) -> Customer {
        let mut c = Customer::default();
        for (f, v) in values {
            c.set(*f, *v);
        }
        c
    }

    fn shown(changes: &[FieldChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}: {} -> {}", c.field, c.old, c.new))
            .collect()
    }

    #[test]
    fn only_fields_that_differ_after_normalization_are_changes() {
        let file = customer(&[
            (Field::CustomerCode, "C1"),
            (Field::Name, "Ann B.V."),
            (Field::Country, "NL"),
            (Field::Postalcode, "1234 AB"),
            (Field::Email, "ann@example.com"),
            (Field::City, "Delft"),
        ]);
        let notify = customer(&[
            (Field::CustomerCode, "C1"),
            (Field::Name, "Ann  B.V. "),
            (Field::Country, "nl"),
            (Field::Postalcode, "1234ab"),
            (Field::Email, "ann@EXAMPLE.com"),
            (Field::City, "Ede"),
            (Field::Phone, "0201234567"),
        ]);
        assert_eq!(
            shown(&changes(&file, &notify, Clearable::NONE)),
            ["City: Ede -> Delft"]
        );
    }

    #[test]
    fn a_blank_cell_keeps_notifys_value_unless_its_column_may_clear_it() {
        let file = customer(&[(Field::CustomerCode, "C1"), (Field::Name, "Ann")]);
        let notify = customer(&[
            (Field::CustomerCode, "C1"),
            (Field::Name, "Ann"),
            (Field::Phone, "020"),
            (Field::City, "Ede"),
        ]);
        assert!(changes(&file, &notify, Clearable::NONE).is_empty());
        let clear = Clearable::of([Field::CustomerCode, Field::Name, Field::Phone]);
        assert_eq!(
            shown(&changes(&file, &notify, clear)),
            ["Phone: 020 -> "],
            "only a mapped column clears; City is not mapped"
        );
        let empty = customer(&[(Field::CustomerCode, "C1"), (Field::Name, "Ann")]);
        assert!(changes(&file, &empty, clear).is_empty(), "nothing to clear");
    }

    #[test]
    fn a_body_reads_back_as_its_customer() {
        let c = customer(&[(Field::CustomerCode, "007"), (Field::Phone, "0201")]);
        assert_eq!(customer_of_body(&c.to_json()), Some(c));
        assert_eq!(customer_of_body(b"{\"Nope\":\"x\"}"), None);
    }
}
