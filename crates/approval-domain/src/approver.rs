//! One approver of a request: who they are and the two links they hold, one per action.
//!
//! Each link carries its own [`Credential`]; the record keeps only the hash of each
//! ([`LinkHashes`]). A credential votes only the action it was issued for: a forwarded Reject
//! link can never approve, because the Approve hash is not made from its secret.

use serde::{Deserialize, Serialize};

use crate::{Address, Choice, Credential, CredentialHash, RequestId, SlackUser, Timestamp};

/// One approver of a request, in the slot their credentials name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApproverEntry {
    pub address: Address,
    pub link_hashes: LinkHashes,
    /// When their approval email was sent; `None` until then (and with email off). Their
    /// Slack message is in the record's `SlackPosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<Timestamp>,
    /// Who they are in Slack (their address looked up when the request opened); `None` with
    /// Slack off, or when the workspace has no user of that address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackUser>,
}

/// What the record keeps of an approver's two credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LinkHashes {
    pub approve: CredentialHash,
    pub reject: CredentialHash,
}

impl LinkHashes {
    pub fn of(&self, choice: Choice) -> &CredentialHash {
        match choice {
            Choice::Approved => &self.approve,
            Choice::Rejected => &self.reject,
        }
    }
}

/// An approver's two credentials, as issued: they exist only until they are mailed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCredentials {
    pub approve: Credential,
    pub reject: Credential,
}

impl LinkCredentials {
    /// Two fresh credentials for `slot` of `request_id`, each with its own secret.
    pub fn issue(request_id: &RequestId, slot: u8) -> Self {
        Self {
            approve: Credential::issue(request_id, slot),
            reject: Credential::issue(request_id, slot),
        }
    }

    pub fn of(&self, choice: Choice) -> &Credential {
        match choice {
            Choice::Approved => &self.approve,
            Choice::Rejected => &self.reject,
        }
    }

    pub fn hashes(&self) -> LinkHashes {
        LinkHashes {
            approve: self.approve.hash(),
            reject: self.reject.hash(),
        }
    }
}

impl ApproverEntry {
    pub fn new(address: Address, credentials: &LinkCredentials) -> Self {
        Self {
            address,
            link_hashes: credentials.hashes(),
            notified_at: None,
            slack: None,
        }
    }

    /// Whether `credential` is this approver's link for `choice`.
    pub fn holds(&self, credential: &Credential, choice: Choice) -> bool {
        credential.matches(self.link_hashes.of(choice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::fixtures;

    #[test]
    fn each_credential_votes_only_its_own_action() {
        let id = RequestId::from_bytes([3; RequestId::BYTES]);
        let credentials = LinkCredentials::issue(&id, 1);
        assert_ne!(
            credentials.approve.encode(),
            credentials.reject.encode(),
            "two links, two secrets"
        );
        let entry = ApproverEntry::new(fixtures::approver(1), &credentials);
        assert!(entry.holds(&credentials.approve, Choice::Approved));
        assert!(entry.holds(&credentials.reject, Choice::Rejected));
        assert!(!entry.holds(&credentials.reject, Choice::Approved));
        assert!(!entry.holds(&credentials.approve, Choice::Rejected));
        for choice in Choice::ALL {
            assert!(entry.holds(credentials.of(choice), choice));
        }
    }
}
