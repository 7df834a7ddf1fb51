//! The Step Functions console page of an execution, where the seed redirects after a decision.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleUrlError {
    #[error("`{0}` is not a Lambda function ARN")]
    NotAFunctionArn(String),
    #[error("no known console for partition `{0}`")]
    UnknownPartition(String),
}

/// The console host of each partition that has a public console.
fn console_host(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("console.aws.amazon.com"),
        "aws-cn" => Some("console.amazonaws.cn"),
        "aws-us-gov" => Some("console.amazonaws-us-gov.com"),
        _ => None,
    }
}

/// Builds the console URL of `execution` of `state_machine`, in the partition, region and
/// account of the calling function (as the seed does: the state machine lives beside it).
pub fn execution_console_url(
    function_arn: &str,
    state_machine: &str,
    execution: &str,
) -> Result<Url, ConsoleUrlError> {
    let not_arn = || ConsoleUrlError::NotAFunctionArn(function_arn.to_owned());
    // arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}]
    let mut parts = function_arn.splitn(7, ':');
    let (
        Some("arn"),
        Some(partition),
        Some("lambda"),
        Some(region),
        Some(account),
        Some("function"),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return Err(not_arn());
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_arn());
    }
    let host = console_host(partition)
        .ok_or_else(|| ConsoleUrlError::UnknownPartition(partition.to_owned()))?;
    let execution_arn =
        format!("arn:{partition}:states:{region}:{account}:execution:{state_machine}:{execution}");
    let mut url = Url::parse(&format!("https://{host}/states/home")).map_err(|_| not_arn())?;
    url.query_pairs_mut().append_pair("region", region);
    url.set_fragment(Some(&format!("/executions/details/{execution_arn}")));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_console_url_per_partition() {
        let cases = [
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:cb",
                "https://console.aws.amazon.com/states/home?region=eu-west-1#/executions/details/arn:aws:states:eu-west-1:123456789012:execution:SM:ex1",
            ),
            (
                "arn:aws-cn:lambda:cn-north-1:123456789012:function:cb",
                "https://console.amazonaws.cn/states/home?region=cn-north-1#/executions/details/arn:aws-cn:states:cn-north-1:123456789012:execution:SM:ex1",
            ),
            (
                "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:cb:live",
                "https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#/executions/details/arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:SM:ex1",
            ),
        ];
        for (arn, expected) in cases {
            assert_eq!(
                execution_console_url(arn, "SM", "ex1").unwrap().as_str(),
                expected
            );
        }
    }

    #[test]
    fn names_with_spaces_and_non_ascii_are_encoded() {
        let url = execution_console_url(
            "arn:aws:lambda:us-east-1:123456789012:function:cb",
            "Human Approval",
            "Zoë's run",
        )
        .unwrap();
        let fragment = url.fragment().unwrap();
        assert!(
            fragment.ends_with("execution:Human%20Approval:Zo%C3%AB's%20run"),
            "{fragment}"
        );
    }

    #[test]
    fn refuses_what_is_not_a_function_arn() {
        for arn in [
            "",
            "arn:aws:lambda:us-east-1:123456789012",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:12345:function:cb",
            "arn:aws:lambda:US_EAST:123456789012:function:cb",
        ] {
            assert!(
                matches!(
                    execution_console_url(arn, "SM", "ex"),
                    Err(ConsoleUrlError::NotAFunctionArn(_))
                ),
                "{arn}"
            );
        }
        assert_eq!(
            execution_console_url(
                "arn:aws-iso:lambda:us-iso-east-1:123456789012:function:cb",
                "SM",
                "ex"
            ),
            Err(ConsoleUrlError::UnknownPartition("aws-iso".into()))
        );
    }
}
