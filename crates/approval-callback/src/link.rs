//! A link's fields, from the query (GET) or the form (POST), read with serde: `action`, `c`
//! and, in the form, `comment`. Each field at most once; other fields (a mail gateway's
//! tracking parameters) are ignored.

use approval_domain::{Choice, Credential, credential::ENCODED_LEN};
use percent_encoding::percent_decode;
use serde::{Deserialize, de::value::MapDeserializer};

pub use approval_domain::vote::MAX_COMMENT_CHARS;

#[derive(Deserialize)]
struct Fields {
    action: String,
    c: String,
    /// A plain `String`: the pairs' deserializer has no notion of an optional value.
    #[serde(default)]
    comment: String,
}

/// What a link (and its page's form) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFields {
    pub choice: Choice,
    pub credential: Credential,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// serde's own words: "missing field `c`", "duplicate field `action`".
    #[error("the link is not complete or not as it was sent: {0}")]
    Fields(String),
    #[error("`action` must be `approve` or `reject`")]
    UnknownAction,
    #[error("`c` (the link's credential) {0}; copy the whole link from the email")]
    Credential(String),
    #[error("the comment is longer than {MAX_COMMENT_CHARS} characters")]
    CommentTooLong,
    #[error("the form is not UTF-8 text")]
    NotUtf8,
}

impl LinkFields {
    /// The vote this link casts.
    pub fn ballot(&self) -> crate::vote::Ballot {
        crate::vote::Ballot {
            request_id: self.credential.request_id().clone(),
            voter: crate::vote::Voter::Link(self.credential.clone()),
            choice: self.choice,
            comment: self.comment.clone(),
        }
    }

    /// From name/value pairs, already decoded once (lambda_http decodes the query; the form is
    /// decoded by `serde_urlencoded`): never decode again.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, LinkError> {
        let fields = Fields::deserialize(MapDeserializer::<_, serde::de::value::Error>::new(
            pairs.into_iter(),
        ))
        .map_err(|err| LinkError::Fields(err.to_string()))?;
        let choice = Choice::from_action(&fields.action).ok_or(LinkError::UnknownAction)?;
        let credential = Credential::parse(&fields.c).map_err(|err| {
            LinkError::Credential(format!(
                "{err} (it has {} characters, a whole one {ENCODED_LEN})",
                fields.c.chars().count()
            ))
        })?;
        let comment = fields.comment.trim().to_owned();
        if comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(LinkError::CommentTooLong);
        }
        Ok(Self {
            choice,
            credential,
            comment,
        })
    }

    /// From an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<Self, LinkError> {
        // The form decoder replaces bytes that are not UTF-8 with U+FFFD; a vote's comment must
        // not be silently changed, so such a form is refused instead.
        let utf8 = body
            .split(|b| *b == b'&')
            .all(|part| percent_decode(part).decode_utf8().is_ok());
        if !utf8 {
            return Err(LinkError::NotUtf8);
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|err| LinkError::Fields(err.to_string()))?;
        Self::from_pairs(pairs)
    }
}

#[cfg(test)]
mod tests {
    use approval_domain::RequestId;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn credential() -> String {
        Credential::issue(&RequestId::from_bytes([1; 16]), 0).encode()
    }

    #[test]
    fn reads_action_credential_and_comment_and_ignores_tracking_fields() {
        let c = credential();
        let link = LinkFields::from_pairs(pairs(&[
            ("action", "reject"),
            ("c", &c),
            ("utm_source", "mail"),
            ("comment", " no "),
        ]))
        .unwrap();
        assert_eq!(link.choice, Choice::Rejected);
        assert_eq!(link.credential.encode(), c);
        assert_eq!(link.comment, "no");
    }

    #[test]
    fn every_problem_is_named() {
        let c = credential();
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (pairs(&[("c", &c)]), "missing field `action`"),
            (pairs(&[("action", "approve")]), "missing field `c`"),
            (
                pairs(&[("action", "approve"), ("action", "reject"), ("c", &c)]),
                "duplicate field `action`",
            ),
            (
                pairs(&[("action", "approve"), ("c", &c), ("c", &c)]),
                "duplicate field `c`",
            ),
            (
                pairs(&[("action", "Approve"), ("c", &c)]),
                "`action` must be",
            ),
            (
                pairs(&[("action", "approve"), ("c", &c[1..])]),
                "it has 43 characters",
            ),
            (
                pairs(&[("action", "approve"), ("c", &format!("{}+", &c[1..]))]),
                "is not base64url",
            ),
            (
                pairs(&[
                    ("action", "approve"),
                    ("c", &c),
                    ("comment", &"x".repeat(2001)),
                ]),
                "longer than 2000",
            ),
        ];
        for (input, says) in cases {
            let err = LinkFields::from_pairs(input.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{input:?}: {err}");
        }
    }

    #[test]
    fn forms_that_are_not_utf8_are_refused_not_mangled() {
        let c = credential();
        for body in [
            format!("action=approve&c={c}&comment=%FF"),
            format!("action=approve&c={c}&comment=%C3"),
        ] {
            assert_eq!(
                LinkFields::from_form(body.as_bytes()),
                Err(LinkError::NotUtf8),
                "{body}"
            );
        }
        let mut raw = format!("action=approve&c={c}&comment=").into_bytes();
        raw.push(0xE9);
        assert_eq!(LinkFields::from_form(&raw), Err(LinkError::NotUtf8));
    }

    #[test]
    fn forms_are_decoded_once() {
        let c = credential();
        let body = format!("action=approve&c={c}&comment=50%25+%2B+%C3%A9%26");
        let link = LinkFields::from_form(body.as_bytes()).unwrap();
        assert_eq!(link.comment, "50% + é&");
    }
}
