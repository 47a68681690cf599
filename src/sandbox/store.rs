//! The in-memory customer table of the sandbox.
//!
//! Owns [`StoredCustomer`] and the store: creation order, lookup by code and
//! by id, the create/overwrite/duplicate decision, PATCH semantics, server
//! defaults and cursor pages. It must not know about HTTP, faults or stats;
//! the routes lock it and translate its outcomes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::options::DuplicateMode;
use super::payload::Payload;
use crate::model::field::Field;

/// Country the docs' example answers with when none was sent.
pub(crate) const DEFAULT_COUNTRY: &str = "NL";
/// Language the docs' example answers with when none was sent.
pub(crate) const DEFAULT_LANGUAGE: &str = "dutch";

/// One customer as the sandbox holds it: what a later read would return.
/// `None` is a field never set (answered as `""`); country and language hold
/// their server defaults when not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCustomer {
    /// Notify's id (UUID v4).
    pub id: String,
    /// The caller's own unique code.
    pub customer_code: String,
    /// Name.
    pub name: Option<String>,
    /// Street and house number.
    pub address: Option<String>,
    /// Postal code.
    pub postalcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Two-letter country code (default `NL`).
    pub country: Option<String>,
    /// Contact person.
    pub contact: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Mobile number.
    pub mobile: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Invoice e-mail address.
    pub invoice_email: Option<String>,
    /// Chamber of Commerce number.
    pub registration_number: Option<String>,
    /// Language (default `dutch`).
    pub language: Option<String>,
    /// Marked as having invoices (a `--customers` file's `HasInvoices`
    /// column): a delete is refused with `Customer is not empty`.
    #[serde(default)]
    pub has_invoices: bool,
}

impl StoredCustomer {
    fn new(id: String, code: String) -> Self {
        Self {
            id,
            customer_code: code,
            name: None,
            address: None,
            postalcode: None,
            city: None,
            country: None,
            contact: None,
            phone: None,
            mobile: None,
            email: None,
            invoice_email: None,
            registration_number: None,
            language: None,
            has_invoices: false,
        }
    }

    /// The value of `field`, `None` when unset.
    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::CustomerCode => Some(&self.customer_code),
            Field::Name => self.name.as_deref(),
            Field::Address => self.address.as_deref(),
            Field::Postalcode => self.postalcode.as_deref(),
            Field::City => self.city.as_deref(),
            Field::Country => self.country.as_deref(),
            Field::Contact => self.contact.as_deref(),
            Field::Phone => self.phone.as_deref(),
            Field::Mobile => self.mobile.as_deref(),
            Field::Email => self.email.as_deref(),
            Field::InvoiceEmail => self.invoice_email.as_deref(),
            Field::RegistrationNumber => self.registration_number.as_deref(),
            Field::Language => self.language.as_deref(),
        }
    }

    /// Sets a non-code field; an empty value unsets it (and so brings back
    /// the default for country and language).
    fn set(&mut self, field: Field, value: Option<&str>) {
        let value = value.filter(|v| !v.is_empty()).map(str::to_owned);
        let value = match field {
            Field::Country => value.or_else(|| Some(DEFAULT_COUNTRY.to_owned())),
            Field::Language => value.or_else(|| Some(DEFAULT_LANGUAGE.to_owned())),
            _ => value,
        };
        let slot = match field {
            // The code is the key of the table; only `create` sets it.
            Field::CustomerCode => return,
            Field::Name => &mut self.name,
            Field::Address => &mut self.address,
            Field::Postalcode => &mut self.postalcode,
            Field::City => &mut self.city,
            Field::Country => &mut self.country,
            Field::Contact => &mut self.contact,
            Field::Phone => &mut self.phone,
            Field::Mobile => &mut self.mobile,
            Field::Email => &mut self.email,
            Field::InvoiceEmail => &mut self.invoice_email,
            Field::RegistrationNumber => &mut self.registration_number,
            Field::Language => &mut self.language,
        };
        *slot = value;
    }

    /// Every non-code field taken from `payload`; fields it lacks are unset.
    fn replace_all(&mut self, payload: &Payload) {
        for field in Field::ALL {
            self.set(field, payload.get(field));
        }
    }
}

/// Result of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreateOutcome {
    /// New code: stored under a fresh id.
    Created(StoredCustomer),
    /// Existing code with `Overwrite`: every field replaced, id kept.
    Overwritten(StoredCustomer),
    /// Existing code without `Overwrite`, [`DuplicateMode::Existing`].
    Existing(StoredCustomer),
    /// Existing code without `Overwrite`, [`DuplicateMode::Conflict`].
    Conflict,
}

/// Result of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeleteOutcome {
    /// Removed.
    Deleted,
    /// The customer has invoices: kept.
    NotEmpty,
    /// No customer has that id.
    Unknown,
}

/// One page of the newest-first list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub items: Vec<StoredCustomer>,
    /// Id that starts the previous page, if this is not the first.
    pub previous: Option<String>,
    /// Id that starts the next page, if there is one.
    pub next: Option<String>,
}

/// Customers in creation order plus indexes by code and id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    customers: Vec<StoredCustomer>,
    by_code: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

impl Store {
    /// Creates, overwrites or refuses per the docs and `mode`. `payload` must
    /// come from a create (so it carries a checked `CustomerCode`).
    pub fn create(
        &mut self,
        payload: &Payload,
        overwrite: bool,
        mode: DuplicateMode,
    ) -> CreateOutcome {
        let code = payload.get(Field::CustomerCode).unwrap_or_default();
        if let Some(&i) = self.by_code.get(code) {
            let existing = &mut self.customers[i];
            return match (overwrite, mode) {
                (true, _) => {
                    existing.replace_all(payload);
                    CreateOutcome::Overwritten(existing.clone())
                }
                (false, DuplicateMode::Existing) => CreateOutcome::Existing(existing.clone()),
                (false, DuplicateMode::Conflict) => CreateOutcome::Conflict,
            };
        }
        let mut customer = StoredCustomer::new(Uuid::new_v4().to_string(), code.to_owned());
        customer.replace_all(payload);
        let i = self.customers.len();
        self.by_code.insert(customer.customer_code.clone(), i);
        self.by_id.insert(customer.id.clone(), i);
        self.customers.push(customer.clone());
        CreateOutcome::Created(customer)
    }

    /// Changes only the fields `payload` carries; `None` for an unknown id.
    pub fn update(&mut self, id: &str, payload: &Payload) -> Option<StoredCustomer> {
        let &i = self.by_id.get(id)?;
        let customer = &mut self.customers[i];
        for (field, value) in &payload.values {
            customer.set(*field, Some(value));
        }
        Some(customer.clone())
    }

    /// Adds a customer as it is (a `--customers` file's row): `id` fresh
    /// when `None`. Refuses a code or id already held.
    pub fn preload(
        &mut self,
        payload: &Payload,
        id: Option<String>,
        has_invoices: bool,
    ) -> Result<StoredCustomer, String> {
        let code = payload.get(Field::CustomerCode).unwrap_or_default();
        if self.by_code.contains_key(code) {
            return Err(format!("the code {code:?} is given twice"));
        }
        let id = id.unwrap_or_else(|| Uuid::new_v4().to_string());
        if self.by_id.contains_key(&id) {
            return Err(format!("the id {id:?} is given twice"));
        }
        let mut customer = StoredCustomer::new(id, code.to_owned());
        customer.replace_all(payload);
        customer.has_invoices = has_invoices;
        let i = self.customers.len();
        self.by_code.insert(customer.customer_code.clone(), i);
        self.by_id.insert(customer.id.clone(), i);
        self.customers.push(customer.clone());
        Ok(customer)
    }

    /// Deletes the customer `id` unless it has invoices.
    pub fn delete(&mut self, id: &str) -> DeleteOutcome {
        let Some(&i) = self.by_id.get(id) else {
            return DeleteOutcome::Unknown;
        };
        if self.customers[i].has_invoices {
            return DeleteOutcome::NotEmpty;
        }
        let gone = self.customers.remove(i);
        self.by_id.remove(&gone.id);
        self.by_code.remove(&gone.customer_code);
        // Later customers moved down one place.
        for (j, c) in self.customers.iter().enumerate().skip(i) {
            self.by_id.insert(c.id.clone(), j);
            self.by_code.insert(c.customer_code.clone(), j);
        }
        DeleteOutcome::Deleted
    }

    pub fn get(&self, id: &str) -> Option<&StoredCustomer> {
        self.by_id.get(id).map(|&i| &self.customers[i])
    }

    /// Exact, case-sensitive match on the code.
    pub fn find_code(&self, code: &str) -> Option<&StoredCustomer> {
        self.by_code.get(code).map(|&i| &self.customers[i])
    }

    pub fn all(&self) -> Vec<StoredCustomer> {
        self.customers.clone()
    }

    /// Newest first, starting at `from` (inclusive) or the newest; `Err` when
    /// `from` names no customer.
    pub fn page(&self, from: Option<&str>, limit: usize) -> Result<Page, ()> {
        let n = self.customers.len();
        // Position in newest-first order.
        let start = match from {
            None => 0,
            Some(id) => n - 1 - *self.by_id.get(id).ok_or(())?,
        };
        let limit = limit.max(1);
        let newest_first = |pos: usize| &self.customers[n - 1 - pos];
        let end = (start + limit).min(n);
        Ok(Page {
            items: (start..end).map(|p| newest_first(p).clone()).collect(),
            previous: (start > 0).then(|| newest_first(start.saturating_sub(limit)).id.clone()),
            next: (end < n).then(|| newest_first(end).id.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(pairs: &[(Field, &str)]) -> Payload {
        Payload {
            values: pairs.iter().map(|(f, v)| (*f, (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn create_duplicate_overwrite_update() {
        let mut s = Store::default();
        let p = payload(&[
            (Field::CustomerCode, "A"),
            (Field::Name, "Ann"),
            (Field::City, "X"),
        ]);
        let CreateOutcome::Created(a) = s.create(&p, false, DuplicateMode::Existing) else {
            panic!("not created");
        };
        assert_eq!(a.country.as_deref(), Some("NL"));
        assert_eq!(a.language.as_deref(), Some("dutch"));
        let other = payload(&[(Field::CustomerCode, "A"), (Field::Name, "Bob")]);
        assert_eq!(
            s.create(&other, false, DuplicateMode::Existing),
            CreateOutcome::Existing(a.clone())
        );
        assert_eq!(
            s.create(&other, false, DuplicateMode::Conflict),
            CreateOutcome::Conflict
        );
        let CreateOutcome::Overwritten(b) = s.create(&other, true, DuplicateMode::Existing) else {
            panic!("not overwritten");
        };
        assert_eq!(
            (b.id.as_str(), b.name.as_deref(), b.city.as_deref()),
            (a.id.as_str(), Some("Bob"), None)
        );
        let u = s
            .update(
                &a.id,
                &payload(&[(Field::Phone, "1"), (Field::Country, "")]),
            )
            .expect("known id");
        assert_eq!(
            (u.name.as_deref(), u.phone.as_deref(), u.country.as_deref()),
            (Some("Bob"), Some("1"), Some("NL"))
        );
        assert!(s.update("nope", &Payload::default()).is_none());
        assert_eq!(s.find_code("A").map(|c| c.id.clone()), Some(a.id));
        assert!(s.find_code("a").is_none());
    }

    #[test]
    fn delete_keeps_customers_with_invoices_and_the_pages_whole() {
        let mut s = Store::default();
        let mut ids = Vec::new();
        for (i, invoices) in [false, true, false, false].into_iter().enumerate() {
            let p = payload(&[(Field::CustomerCode, &format!("C{i}"))]);
            ids.push(s.preload(&p, None, invoices).expect("new code").id);
        }
        let dup = payload(&[(Field::CustomerCode, "C0")]);
        assert!(s.preload(&dup, None, false).is_err());
        assert_eq!(s.delete(&ids[1]), DeleteOutcome::NotEmpty);
        assert_eq!(s.delete(&ids[0]), DeleteOutcome::Deleted);
        assert_eq!(s.delete(&ids[0]), DeleteOutcome::Unknown);
        assert!(s.find_code("C0").is_none());
        assert_eq!(
            s.find_code("C3").map(|c| c.id.clone()),
            Some(ids[3].clone())
        );
        assert_eq!(s.get(&ids[2]).map(|c| c.customer_code.as_str()), Some("C2"));
        let page = s.page(Some(&ids[2]), 5).expect("known id");
        let codes: Vec<_> = page
            .items
            .iter()
            .map(|c| c.customer_code.as_str())
            .collect();
        assert_eq!(codes, ["C2", "C1"]);
    }

    #[test]
    fn pages_newest_first_with_inclusive_cursor() {
        let mut s = Store::default();
        for i in 0..5 {
            let code = format!("C{i}");
            s.create(
                &payload(&[(Field::CustomerCode, &code)]),
                false,
                DuplicateMode::Existing,
            );
        }
        let codes = |p: &Page| {
            p.items
                .iter()
                .map(|c| c.customer_code.clone())
                .collect::<Vec<_>>()
        };
        let first = s.page(None, 2).expect("page");
        assert_eq!(codes(&first), ["C4", "C3"]);
        assert!(first.previous.is_none());
        let second = s.page(first.next.as_deref(), 2).expect("page");
        assert_eq!(codes(&second), ["C2", "C1"]);
        assert_eq!(second.previous, Some(first.items[0].id.clone()));
        let third = s.page(second.next.as_deref(), 2).expect("page");
        assert_eq!(codes(&third), ["C0"]);
        assert!(third.next.is_none());
        assert!(s.page(Some("unknown"), 2).is_err());
        assert!(
            Store::default()
                .page(None, 250)
                .expect("empty")
                .items
                .is_empty()
        );
    }
}
