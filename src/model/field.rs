//! The 13 customer fields of the Notify create-customer endpoint.
//!
//! Owns the field list and the documented PascalCase wire names. This is the
//! only module the sandbox shares with the client: it must not hold any
//! validation rule, so a client bug cannot hide behind an emulator that
//! shares it.

use std::fmt;

/// One field of `POST /v2/customers`, in the order of the API docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The caller's own unique customer code.
    CustomerCode,
    /// Company or person name.
    Name,
    /// Street and house number.
    Address,
    /// Postal code.
    Postalcode,
    /// City.
    City,
    /// ISO 3166-1 alpha-2 country code.
    Country,
    /// Full name of the contact person.
    Contact,
    /// Phone number.
    Phone,
    /// Mobile number.
    Mobile,
    /// E-mail address.
    Email,
    /// E-mail address used for invoices only.
    InvoiceEmail,
    /// Chamber of Commerce (KvK) number.
    RegistrationNumber,
    /// Language code (the docs show `dutch`).
    Language,
}

impl Field {
    /// Every field, in documentation order.
    pub const ALL: [Field; 13] = [
        Field::CustomerCode,
        Field::Name,
        Field::Address,
        Field::Postalcode,
        Field::City,
        Field::Country,
        Field::Contact,
        Field::Phone,
        Field::Mobile,
        Field::Email,
        Field::InvoiceEmail,
        Field::RegistrationNumber,
        Field::Language,
    ];

    /// The documented PascalCase name used in request bodies.
    pub const fn api_name(self) -> &'static str {
        match self {
            Field::CustomerCode => "CustomerCode",
            Field::Name => "Name",
            Field::Address => "Address",
            Field::Postalcode => "Postalcode",
            Field::City => "City",
            Field::Country => "Country",
            Field::Contact => "Contact",
            Field::Phone => "Phone",
            Field::Mobile => "Mobile",
            Field::Email => "Email",
            Field::InvoiceEmail => "InvoiceEmail",
            Field::RegistrationNumber => "RegistrationNumber",
            Field::Language => "Language",
        }
    }

    /// Position of the field in [`Field::ALL`]; handy for fixed-size arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Looks a field up by its exact API name.
    pub fn from_api_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.api_name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}
