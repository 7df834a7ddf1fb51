//! The Step Functions console page of an execution: where approvers land after the deciding
//! vote when no `RedirectUrl` is set, as in the seed.

use approval_domain::ExecutionArn;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

/// The console host of each partition that has a public console.
fn console_host(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("console.aws.amazon.com"),
        "aws-cn" => Some("console.amazonaws.cn"),
        "aws-us-gov" => Some("console.amazonaws-us-gov.com"),
        _ => None,
    }
}

/// What an ARN part keeps as it is in the console link's fragment: letters, digits and `-_.~`
/// (RFC 3986's unreserved characters). Anything else a name may hold (non-ASCII letters, any
/// other punctuation) is percent-encoded, so it can never end the fragment or add a path.
const FRAGMENT_PART: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `https://{console}/states/home?region={region}#/v2/executions/details/{execution_arn}`, from
/// the partition and region of the execution's own ARN; each part of the ARN percent-encoded.
pub fn execution_page(arn: &ExecutionArn) -> Option<Url> {
    let region_like = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !region_like(arn.region())
        || arn.account().len() != 12
        || !arn.account().bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut url = Url::parse(&format!(
        "https://{}/states/home",
        console_host(arn.partition())?
    ))
    .ok()?;
    url.query_pairs_mut().append_pair("region", arn.region());
    let encode = |part: &str| utf8_percent_encode(part, FRAGMENT_PART).to_string();
    url.set_fragment(Some(&format!(
        "/v2/executions/details/arn:{}:states:{}:{}:execution:{}:{}",
        arn.partition(),
        arn.region(),
        arn.account(),
        encode(arn.state_machine()),
        encode(arn.name())
    )));
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console_page(arn: &str) -> Option<Url> {
        ExecutionArn::parse(arn).and_then(|arn| execution_page(&arn))
    }

    #[test]
    fn each_partition_has_its_console() {
        let page =
            console_page("arn:aws:states:eu-west-1:123456789012:execution:Gate:run-1").unwrap();
        assert_eq!(
            page.as_str(),
            "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:Gate:run-1"
        );
        let cn =
            console_page("arn:aws-cn:states:cn-north-1:123456789012:execution:Gate:run-1").unwrap();
        assert_eq!(cn.host_str(), Some("console.amazonaws.cn"));
        let gov = console_page("arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:Gate:r")
            .unwrap();
        assert_eq!(gov.host_str(), Some("console.amazonaws-us-gov.com"));
    }

    #[test]
    fn every_name_step_functions_accepts_has_its_page_and_none_can_leave_the_fragment() {
        for (name, shown) in [
            ("release-1.2.3", "release-1.2.3"),
            ("a~b", "a~b"),
            ("déploiement-ü", "d%C3%A9ploiement-%C3%BC"),
            ("run#/evil?x=1", "run%23%2Fevil%3Fx%3D1"),
        ] {
            let page = console_page(&format!(
                "arn:aws:states:eu-west-1:123456789012:execution:Gate:{name}"
            ))
            .unwrap();
            assert_eq!(
                page.as_str(),
                format!(
                    "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:Gate:{shown}"
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn anything_else_has_none() {
        for arn in [
            "arn:aws-iso:states:us-iso-east-1:123456789012:execution:Gate:run",
            "arn:aws:states:us-east-1:1234:execution:Gate:run",
            "arn:aws:lambda:us-east-1:123456789012:function:x",
            "",
        ] {
            assert_eq!(console_page(arn), None, "{arn}");
        }
    }
}
