//! A link's credential: one approver's right to vote on one request.
//!
//! 33 bytes, `request id (16) ‖ approver slot (1) ‖ secret (16)`, written as 44 base64url
//! characters. The secret is 128 bits from the operating system's CSPRNG; the record keeps only
//! its SHA-256 ([`CredentialHash`]), compared in constant time. The request id and the slot only
//! say where to look: without the secret they are worth nothing.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::RequestId;

pub const SECRET_BYTES: usize = 16;
const RAW_BYTES: usize = RequestId::BYTES + 1 + SECRET_BYTES;
/// Length of an encoded credential.
pub const ENCODED_LEN: usize = 44;

/// Never printed: `Debug` shows only where it points.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    request_id: RequestId,
    slot: u8,
    secret: [u8; SECRET_BYTES],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("is not {ENCODED_LEN} characters long")]
    WrongLength,
    #[error("is not base64url")]
    NotBase64Url,
}

/// SHA-256 of a secret, base64url: what the record keeps instead of the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialHash(String);

impl Credential {
    /// A new credential for `slot` of `request_id`, with a fresh secret.
    pub fn issue(request_id: &RequestId, slot: u8) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        // The OS CSPRNG failing is not something to go on from: no credential can be made.
        getrandom::fill(&mut secret)
            .expect("the operating system's random number generator failed");
        Self {
            request_id: request_id.clone(),
            slot,
            secret,
        }
    }

    pub fn parse(encoded: &str) -> Result<Self, CredentialError> {
        if encoded.len() != ENCODED_LEN {
            return Err(CredentialError::WrongLength);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CredentialError::NotBase64Url)?;
        // 44 base64url characters decode to exactly 33 bytes.
        let raw: [u8; RAW_BYTES] = raw.try_into().map_err(|_| CredentialError::NotBase64Url)?;
        let mut id = [0u8; RequestId::BYTES];
        id.copy_from_slice(&raw[..RequestId::BYTES]);
        let mut secret = [0u8; SECRET_BYTES];
        secret.copy_from_slice(&raw[RequestId::BYTES + 1..]);
        Ok(Self {
            request_id: RequestId::from_bytes(id),
            slot: raw[RequestId::BYTES],
            secret,
        })
    }

    pub fn encode(&self) -> String {
        let mut raw = [0u8; RAW_BYTES];
        raw[..RequestId::BYTES].copy_from_slice(&self.request_id.to_bytes());
        raw[RequestId::BYTES] = self.slot;
        raw[RequestId::BYTES + 1..].copy_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    pub fn slot(&self) -> usize {
        usize::from(self.slot)
    }

    pub fn hash(&self) -> CredentialHash {
        CredentialHash(URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret)))
    }

    /// Whether this credential's secret is the one `stored` was made from, in constant time.
    pub fn matches(&self, stored: &CredentialHash) -> bool {
        let Ok(stored) = URL_SAFE_NO_PAD.decode(&stored.0) else {
            return false;
        };
        let ours = Sha256::digest(self.secret);
        stored.len() == ours.len() && bool::from(ours.as_slice().ct_eq(&stored))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("request_id", &self.request_id)
            .field("slot", &self.slot)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_id() -> RequestId {
        RequestId::from_bytes([7; RequestId::BYTES])
    }

    #[test]
    fn round_trips_and_matches_only_its_own_hash() {
        let credential = Credential::issue(&request_id(), 2);
        let encoded = credential.encode();
        assert_eq!(encoded.len(), ENCODED_LEN);
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let parsed = Credential::parse(&encoded).unwrap();
        assert_eq!(parsed, credential);
        assert_eq!(parsed.slot(), 2);
        assert_eq!(parsed.request_id(), &request_id());
        assert!(parsed.matches(&credential.hash()));
        let other = Credential::issue(&request_id(), 2);
        assert!(
            !other.matches(&credential.hash()),
            "two issues never share a secret"
        );
        assert!(!parsed.matches(&CredentialHash("not base64!".into())));
        assert!(!parsed.matches(&CredentialHash("AAAA".into())));
    }

    #[test]
    fn every_altered_character_fails_parse_or_match() {
        let credential = Credential::issue(&request_id(), 0);
        let hash = credential.hash();
        let encoded = credential.encode();
        for i in 0..encoded.len() {
            let mut bytes = encoded.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            // 33 bytes are exactly 44 characters: no padding bits, every character counts.
            let c = Credential::parse(&altered).unwrap();
            assert!(
                c.request_id() != credential.request_id()
                    || c.slot() != credential.slot()
                    || !c.matches(&hash),
                "position {i}"
            );
        }
    }

    #[test]
    fn wrong_shapes_are_named() {
        let encoded = Credential::issue(&request_id(), 0).encode();
        assert_eq!(
            Credential::parse(&encoded[1..]),
            Err(CredentialError::WrongLength)
        );
        assert_eq!(
            Credential::parse(&format!("{encoded}A")),
            Err(CredentialError::WrongLength)
        );
        assert_eq!(
            Credential::parse(&format!("{}!", &encoded[1..])),
            Err(CredentialError::NotBase64Url)
        );
        assert_eq!(Credential::parse(""), Err(CredentialError::WrongLength));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let credential = Credential::issue(&request_id(), 1);
        let shown = format!("{credential:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&credential.encode()[23..]));
    }
}
