//! Approve and reject links: built by `send-email`, read back by `approval-callback`.
//!
//! Query values go through `url`'s form encoder exactly once on the way out and are decoded
//! exactly once on the way in (by API Gateway / `lambda_http`, or by [`crate::callback`] for
//! form bodies). Task tokens are base64 with `+ / =`, so any double decoding would turn `+`
//! into a space; [`crate::request::TaskToken::parse`] refuses that with a clear message.

use url::Url;

use crate::{
    Action, ApprovalRequest,
    signing::{EXPIRES_PARAM, LinkSignature, SIGNATURE_PARAM},
};

/// Query parameter names, shared by the link builder, the parser and the confirmation form.
pub mod param {
    pub const ACTION: &str = "action";
    pub const EXECUTION: &str = "ex";
    pub const STATE_MACHINE: &str = "sm";
    pub const TASK_TOKEN: &str = "taskToken";
    pub const COMMENT: &str = "comment";
}

/// The path below the API endpoint that the callback serves (the seed's `/execution`).
pub const CALLBACK_PATH_SEGMENT: &str = "execution";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("`APIGatewayEndpoint` is not a URL: {0}")]
    NotAUrl(url::ParseError),
    #[error("`APIGatewayEndpoint` must be an http or https URL, not `{0}:`")]
    NotHttp(String),
    #[error("`APIGatewayEndpoint` must not carry a query or fragment")]
    HasQuery,
}

/// A validated callback base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/states`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(Url);

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Self, EndpointError> {
        let url = Url::parse(raw).map_err(EndpointError::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(EndpointError::NotHttp(url.scheme().to_owned()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(EndpointError::HasQuery);
        }
        Ok(Self(url))
    }

    /// `{endpoint}/execution?action=…&ex=…&sm=…&taskToken=…&exp=…&sig=…`, every value
    /// percent-encoded; `signature` is the MAC of [`crate::signing::signed_message`] for it.
    pub fn link(
        &self,
        action: Action,
        request: &ApprovalRequest,
        signature: &LinkSignature,
    ) -> Url {
        let mut url = self.0.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(CALLBACK_PATH_SEGMENT);
        }
        url.query_pairs_mut()
            .append_pair(param::ACTION, action.as_str())
            .append_pair(param::EXECUTION, &request.execution_name)
            .append_pair(param::STATE_MACHINE, &request.state_machine_name)
            .append_pair(param::TASK_TOKEN, request.task_token.expose())
            .append_pair(EXPIRES_PARAM, &signature.expires_at.to_string())
            .append_pair(SIGNATURE_PARAM, &LinkSignature::encode_mac(&signature.mac));
        url
    }
}

/// The approve and reject links of one email, signed, with their common expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLinks {
    pub expires_at: i64,
    pub approve: Url,
    pub reject: Url,
}

impl SignedLinks {
    pub fn get(&self, action: Action) -> &Url {
        match action {
            Action::Approve => &self.approve,
            Action::Reject => &self.reject,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskToken;

    fn signature() -> LinkSignature {
        LinkSignature {
            expires_at: 1_800_000_000,
            mac: vec![0xFB; 32],
        }
    }

    fn request(token: &str) -> ApprovalRequest {
        ApprovalRequest {
            execution_name: "exec 1".into(),
            state_machine_name: "HumanApproval".into(),
            task_token: TaskToken::parse("taskToken", token).unwrap(),
        }
    }

    #[test]
    fn link_has_the_seed_shape_and_encodes_every_value() {
        let endpoint =
            Endpoint::parse("https://abc.execute-api.eu-west-1.amazonaws.com/states").unwrap();
        let link = endpoint.link(Action::Approve, &request("a+b/c=="), &signature());
        assert_eq!(
            link.as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/states/execution\
             ?action=approve&ex=exec+1&sm=HumanApproval&taskToken=a%2Bb%2Fc%3D%3D\
             &exp=1800000000&sig=-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s"
        );
    }

    #[test]
    fn trailing_slash_on_the_endpoint_makes_no_double_slash() {
        let endpoint =
            Endpoint::parse("http://127.0.0.1:9000/lambda-url/approval-callback/").unwrap();
        let link = endpoint.link(Action::Reject, &request("t"), &signature());
        assert_eq!(link.path(), "/lambda-url/approval-callback/execution");
    }

    #[test]
    fn endpoint_must_be_an_absolute_http_url_without_query() {
        assert!(matches!(
            Endpoint::parse("states/execution"),
            Err(EndpointError::NotAUrl(_))
        ));
        assert!(
            matches!(Endpoint::parse("ftp://example.com/x"), Err(EndpointError::NotHttp(s)) if s == "ftp")
        );
        assert!(matches!(
            Endpoint::parse("mailto:a@b.c"),
            Err(EndpointError::NotHttp(_))
        ));
        assert_eq!(
            Endpoint::parse("https://example.com/s?x=1"),
            Err(EndpointError::HasQuery)
        );
        assert_eq!(
            Endpoint::parse("https://example.com/s#top"),
            Err(EndpointError::HasQuery)
        );
    }
}
