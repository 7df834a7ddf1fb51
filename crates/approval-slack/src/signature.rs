//! Slack's request signature, checked on the raw body before any of it is parsed:
//! `X-Slack-Signature` = `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{body}`), with
//! `X-Slack-Request-Timestamp` at most [`MAX_SKEW_SECONDS`] from now (a replay of an old, signed
//! request is refused). The comparison is the MAC's own, in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far the request's timestamp may be from now, either way (Slack's own SDKs: 5 minutes).
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Why a request is not Slack's: every case is a 401, nothing read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no {0} header")]
    Missing(&'static str),
    #[error("the X-Slack-Request-Timestamp is not a number of seconds")]
    BadTimestamp,
    #[error(
        "the request is {0} s from now (at most {MAX_SKEW_SECONDS} s): a replay or a wrong clock"
    )]
    Stale(i64),
    #[error("the X-Slack-Signature is not v0= and 64 hex digits")]
    BadSignature,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks that `body` was signed by Slack with `signing_secret` at `timestamp` (the header's
/// text), `now_unix` being the time now.
pub fn verify(
    signing_secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing("X-Slack-Request-Timestamp"))?;
    let signature = signature.ok_or(SignatureError::Missing("X-Slack-Signature"))?;
    let seconds: i64 = (!timestamp.is_empty() && timestamp.bytes().all(|b| b.is_ascii_digit()))
        .then(|| timestamp.parse().ok())
        .flatten()
        .ok_or(SignatureError::BadTimestamp)?;
    let skew = now_unix.saturating_sub(seconds);
    if skew.unsigned_abs() > MAX_SKEW_SECONDS as u64 {
        return Err(SignatureError::Stale(skew));
    }
    let claimed = signature
        .strip_prefix("v0=")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(SignatureError::BadSignature)?;
    signed(signing_secret, timestamp, body)
        .verify_slice(&claimed)
        .map_err(|_| SignatureError::Mismatch)
}

/// What Slack signs a request with; [`sign`] for tests and the benchmark.
fn signed(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret)
        .expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` Slack sends with `body` at `timestamp`.
pub fn sign(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(
            signed(signing_secret, timestamp, body)
                .finalize()
                .into_bytes()
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Slack's "Verifying requests from Slack" page.
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const TS: &str = "1531420618";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_own_example_verifies() {
        assert_eq!(sign(SECRET, TS, BODY), SIGNATURE);
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIGNATURE), BODY, 1_531_420_618 + 299),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let now = 1_531_420_618;
        let refused = |ts: Option<&str>, sig: Option<&str>, body: &[u8], now: i64| {
            verify(SECRET, ts, sig, body, now).unwrap_err()
        };
        assert_eq!(
            refused(None, Some(SIGNATURE), BODY, now),
            SignatureError::Missing("X-Slack-Request-Timestamp")
        );
        assert_eq!(
            refused(Some(TS), None, BODY, now),
            SignatureError::Missing("X-Slack-Signature")
        );
        assert_eq!(
            refused(Some(TS), Some(SIGNATURE), b"token=altered", now),
            SignatureError::Mismatch
        );
        assert_eq!(
            refused(Some(TS), Some(SIGNATURE), BODY, now + 301),
            SignatureError::Stale(301)
        );
        assert_eq!(
            refused(Some(TS), Some(SIGNATURE), BODY, now - 301),
            SignatureError::Stale(-301)
        );
        assert_eq!(
            refused(Some("+1531420618"), Some(SIGNATURE), BODY, now),
            SignatureError::BadTimestamp
        );
        assert_eq!(
            refused(Some("1e9"), Some(SIGNATURE), BODY, now),
            SignatureError::BadTimestamp
        );
        assert_eq!(
            refused(Some(TS), Some(&SIGNATURE[3..]), BODY, now),
            SignatureError::BadSignature
        );
        assert_eq!(
            refused(Some(TS), Some("v0=zz"), BODY, now),
            SignatureError::BadSignature
        );
        assert_eq!(
            verify(b"another secret", Some(TS), Some(SIGNATURE), BODY, now),
            Err(SignatureError::Mismatch)
        );
        let upper = format!("v0={}", SIGNATURE[3..].to_uppercase());
        assert_eq!(
            verify(SECRET, Some(TS), Some(&upper), BODY, now),
            Ok(()),
            "hex in either case"
        );
    }
}
