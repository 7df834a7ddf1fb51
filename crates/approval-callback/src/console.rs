//! The Step Functions console page of an execution: where approvers land after the deciding
//! vote when no `RedirectUrl` is set, as in the seed.

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
    // arn:{partition}:states:{region}:{account}:execution:{state machine}:{name}
    let parts: Vec<&str> = execution_arn.split(':').collect();
    let [
        "arn",
        partition,
        "states",
        region,
        account,
        "execution",
        state_machine,
        name,
    ] = parts[..]
    else {
        return None;
    };
    let fine = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    };
    if !fine(region) || account.len() != 12 || !fine(state_machine) || !fine(name) {
        return None;
    }
    let mut url = Url::parse(&format!("https://{}/states/home", console_host(partition)?)).ok()?;
    url.query_pairs_mut().append_pair("region", region);
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
