//! The id of an approval request, derived from its task token.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::TaskToken;

/// The id of a request: base64url of 16 bytes derived from the task token, so the same task
/// (an invocation retried by the state machine) always finds the same request.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId([u8; RequestId::BYTES]);

impl RequestId {
    pub const BYTES: usize = 16;

    pub fn for_task(token: &TaskToken) -> Self {
        let digest = Sha256::new()
            .chain_update(b"approval-gate/request/v2\0")
            .chain_update(token.expose().as_bytes())
            .finalize();
        let mut id = [0u8; Self::BYTES];
        id.copy_from_slice(&digest[..Self::BYTES]);
        Self(id)
    }

    pub fn from_bytes(bytes: [u8; Self::BYTES]) -> Self {
        Self(bytes)
    }

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

impl TryFrom<String> for RequestId {
    type Error = String;
    fn try_from(encoded: String) -> Result<Self, Self::Error> {
        URL_SAFE_NO_PAD
            .decode(&encoded)
            .ok()
            .and_then(|raw| <[u8; Self::BYTES]>::try_from(raw).ok())
            .map(Self)
            .ok_or_else(|| format!("`{encoded}` is not a request id"))
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> Self {
        id.to_string()
    }
}
