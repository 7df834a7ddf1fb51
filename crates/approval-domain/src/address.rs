//! An approver's (or requester's) email address.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest address accepted (RFC 5321's limit for a path).
pub const MAX_ADDRESS_LEN: usize = 254;

/// An email address of the seed's shape, `^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$` (the
/// template's `Email` pattern). Two addresses are the same approver when they are equal ignoring
/// ASCII case; the stack's spelling is kept.
#[derive(Clone, Debug, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_ADDRESS_LEN} characters")]
    TooLong,
    #[error(
        "`{0}` is not an email address of the form name@domain.tld (letters, digits, _ . + - before the @)"
    )]
    Malformed(String),
}

impl Address {
    pub fn parse(raw: &str) -> Result<Self, AddressError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(AddressError::Empty);
        }
        if raw.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::TooLong);
        }
        let malformed = || AddressError::Malformed(crate::text::quote_for_error(raw));
        let (local, domain) = raw.split_once('@').ok_or_else(malformed)?;
        let local_ok = !local.is_empty()
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b));
        let (label, rest) = domain.split_once('.').ok_or_else(malformed)?;
        let label_ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let rest_ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
        if local_ok && label_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(malformed())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Address {
    type Error = AddressError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Address> for String {
    fn from(address: Address) -> Self {
        address.0
    }
}

/// A comma-separated list of addresses (the stack's approvers), in order, without repeats.
pub fn parse_list(raw: &str) -> Result<Vec<Address>, AddressError> {
    let mut addresses: Vec<Address> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let address = Address::parse(part)?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seed_pattern_and_compares_ignoring_case() {
        let a = Address::parse(" Alice.B+gate@Example-1.co.uk ").unwrap();
        assert_eq!(a.as_str(), "Alice.B+gate@Example-1.co.uk");
        assert_eq!(a, Address::parse("alice.b+gate@example-1.CO.UK").unwrap());
    }

    #[test]
    fn refuses_what_the_seed_pattern_refuses() {
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "al ice@example.com",
            "alice@exa_mple.com",
            "alice@@example.com",
            "alice@.com",
            "älice@example.com",
            "alice@example.com\u{202e}",
            "alice@example.com,bob@example.com",
        ] {
            assert!(
                matches!(Address::parse(bad), Err(AddressError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(Address::parse("  "), Err(AddressError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Address::parse(&long), Err(AddressError::TooLong));
    }

    #[test]
    fn lists_keep_order_and_drop_repeats_and_blanks() {
        let list = parse_list("a@example.com, b@example.com,,A@example.com ,").unwrap();
        let names: Vec<_> = list.iter().map(Address::as_str).collect();
        assert_eq!(names, ["a@example.com", "b@example.com"]);
        assert!(parse_list("a@example.com,nope").is_err());
        assert!(parse_list("").unwrap().is_empty());
    }
}
