//! A customer as Notify holds it.
//!
//! Owns [`Existing`]: Notify's id and the customer's fields as Notify
//! returned them (code included), so that later stages can compare a
//! file's row with what is there and know which id to address. It must
//! not fetch, compare or decide anything: `upload::snapshot` learns these,
//! the planner compares.

use crate::model::customer::Customer;

/// One customer Notify holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Notify's customer id (checked plausible; a UUID for Notify).
    pub id: String,
    /// The fields as Notify returned them; `CustomerCode` is the code.
    /// A field Notify answered with `""` (or not at all) is unset.
    pub customer: Customer,
}

impl Existing {
    /// The customer's code (`""` when Notify sent none).
    pub fn code(&self) -> &str {
        self.customer.code()
    }
}
