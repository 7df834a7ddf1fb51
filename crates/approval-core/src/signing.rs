//! Signed, expiring links.
//!
//! Each link carries an expiry (`exp`, Unix seconds) and a MAC (`sig`) over everything the
//! callback trusts from it: action, execution, state machine, expiry and task token. The MAC is
//! an HMAC-SHA-256 made and checked by a KMS key that never leaves KMS (`send-email` may only
//! `GenerateMac`, `approval-callback` may only `VerifyMac`); this module only builds the exact
//! bytes both sides MAC and reads the two link parameters.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use time::OffsetDateTime;

use crate::{Action, ApprovalRequest};

/// Link parameter holding the expiry, in Unix seconds.
pub const EXPIRES_PARAM: &str = "exp";
/// Link parameter holding the MAC, base64url without padding.
pub const SIGNATURE_PARAM: &str = "sig";
/// HMAC-SHA-256 MACs are 32 bytes.
pub const MAC_BYTES: usize = 32;
/// Versioned domain tag, so a MAC made for a link can never be reused for anything else.
const MESSAGE_TAG: &str = "human-approval-link/v1";

/// The bytes the MAC covers. A JSON array: unambiguous whatever the names contain.
pub fn signed_message(action: Action, request: &ApprovalRequest, expires_at: i64) -> Vec<u8> {
    let fields = (
        MESSAGE_TAG,
        action.as_str(),
        request.execution_name.as_str(),
        request.state_machine_name.as_str(),
        expires_at,
        request.task_token.expose(),
    );
    // Serialising strings and an integer cannot fail.
    serde_json::to_vec(&fields).unwrap_or_default()
}

/// The signature parts of a link, as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkSignature {
    pub expires_at: i64,
    pub mac: Vec<u8>,
}

impl std::fmt::Debug for LinkSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSignature")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a link's signature is not even worth asking KMS about, or why KMS refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("the link is not signed")]
    Unsigned,
    #[error("the link's signature is malformed")]
    Malformed,
    #[error("the link's signature does not match this approval gate's key")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

impl LinkSignature {
    /// The value of the `sig` parameter.
    pub fn encode_mac(mac: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(mac)
    }

    /// Reads `exp` and `sig` as they arrived (decoded once). Checks shape only; whether the
    /// MAC is right is KMS's call.
    pub fn parse(expires: Option<&str>, signature: Option<&str>) -> Result<Self, SignatureProblem> {
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Err(SignatureProblem::Unsigned);
        };
        let digits_ok =
            (1..=12).contains(&expires.len()) && expires.bytes().all(|b| b.is_ascii_digit());
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .filter(|_| digits_ok)
            .ok_or(SignatureProblem::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SignatureProblem::Malformed)?;
        if mac.len() != MAC_BYTES {
            return Err(SignatureProblem::Malformed);
        }
        Ok(Self { expires_at, mac })
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now.unix_timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskToken;
    use time::macros::datetime;

    fn request(ex: &str, sm: &str, token: &str) -> ApprovalRequest {
        ApprovalRequest {
            execution_name: ex.into(),
            state_machine_name: sm.into(),
            task_token: TaskToken::parse("t", token).unwrap(),
        }
    }

    #[test]
    fn the_message_covers_every_trusted_field() {
        let base = request("ex", "sm", "tok");
        let message = signed_message(Action::Approve, &base, 1_800_000_000);
        assert_eq!(
            String::from_utf8(message.clone()).unwrap(),
            r#"["human-approval-link/v1","approve","ex","sm",1800000000,"tok"]"#
        );
        let variants = [
            signed_message(Action::Reject, &base, 1_800_000_000),
            signed_message(Action::Approve, &request("ex2", "sm", "tok"), 1_800_000_000),
            signed_message(Action::Approve, &request("ex", "sm2", "tok"), 1_800_000_000),
            signed_message(Action::Approve, &request("ex", "sm", "tok2"), 1_800_000_000),
            signed_message(Action::Approve, &base, 1_800_000_001),
        ];
        for variant in variants {
            assert_ne!(variant, message);
        }
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        // With naive concatenation these two would MAC the same bytes.
        let a = signed_message(Action::Approve, &request("a\",\"b", "c", "t"), 1);
        let b = signed_message(Action::Approve, &request("a", "b\",\"c", "t"), 1);
        assert_ne!(a, b);
    }

    #[test]
    fn parses_well_formed_signatures_only() {
        let mac = vec![7_u8; MAC_BYTES];
        let sig = LinkSignature::encode_mac(&mac);
        assert_eq!(
            LinkSignature::parse(Some("1800000000"), Some(&sig)),
            Ok(LinkSignature {
                expires_at: 1_800_000_000,
                mac
            })
        );
        assert_eq!(
            LinkSignature::parse(None, Some(&sig)),
            Err(SignatureProblem::Unsigned)
        );
        assert_eq!(
            LinkSignature::parse(Some("1"), None),
            Err(SignatureProblem::Unsigned)
        );
        for exp in ["", "-1", "+5", "1e9", "0x10", "1234567890123", " 1"] {
            assert_eq!(
                LinkSignature::parse(Some(exp), Some(&sig)),
                Err(SignatureProblem::Malformed),
                "{exp:?}"
            );
        }
        let short = LinkSignature::encode_mac(&[1; 31]);
        for bad in [
            "",
            "!!!!",
            &short,
            &format!("{sig}="),
            &format!("+{}", &sig[1..]),
        ] {
            assert_eq!(
                LinkSignature::parse(Some("1"), Some(bad)),
                Err(SignatureProblem::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let now = datetime!(2026-11-26 10:00 UTC);
        let at = |expires_at| LinkSignature {
            expires_at,
            mac: vec![],
        };
        assert!(at(now.unix_timestamp()).is_expired(now));
        assert!(!at(now.unix_timestamp() + 1).is_expired(now));
    }

    #[test]
    fn debug_output_hides_the_mac() {
        let shown = format!(
            "{:?}",
            LinkSignature {
                expires_at: 5,
                mac: vec![0xAB; 32]
            }
        );
        assert_eq!(shown, "LinkSignature { expires_at: 5, .. }");
    }
}
