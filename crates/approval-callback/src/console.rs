//! The Step Functions console page of an execution: where approvers land after the deciding
//! vote when no `RedirectUrl` is set, as in the seed.

use approval_domain::ExecutionArn;
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

/// `https://{console}/states/home?region={region}#/v2/executions/details/{execution_arn}`, from
/// the partition and region of the execution's own ARN.
pub fn execution_page(execution_arn: &str) -> Option<Url> {
    let arn = ExecutionArn::parse(execution_arn)?;
    let fine = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    };
    if !fine(arn.region) || arn.account.len() != 12 || !fine(arn.state_machine) || !fine(arn.name) {
        return None;
    }
    let mut url = Url::parse(&format!(
        "https://{}/states/home",
        console_host(arn.partition)?
    ))
    .ok()?;
    url.query_pairs_mut().append_pair("region", arn.region);
    url.set_fragment(Some(&format!("/v2/executions/details/{execution_arn}")));
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partition_has_its_console() {
        let page =
            execution_page("arn:aws:states:eu-west-1:123456789012:execution:Gate:run-1").unwrap();
        assert_eq!(
            page.as_str(),
            "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:Gate:run-1"
        );
        let cn = execution_page("arn:aws-cn:states:cn-north-1:123456789012:execution:Gate:run-1")
            .unwrap();
        assert_eq!(cn.host_str(), Some("console.amazonaws.cn"));
        let gov =
            execution_page("arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:Gate:r")
                .unwrap();
        assert_eq!(gov.host_str(), Some("console.amazonaws-us-gov.com"));
    }

    #[test]
    fn anything_else_has_none() {
        for arn in [
            "arn:aws-iso:states:us-iso-east-1:123456789012:execution:Gate:run",
            "arn:aws:states:us-east-1:1234:execution:Gate:run",
            "arn:aws:lambda:us-east-1:123456789012:function:x",
            "arn:aws:states:us-east-1:123456789012:execution:Gate:run#/evil",
            "",
        ] {
            assert_eq!(execution_page(arn), None, "{arn}");
        }
    }
}
