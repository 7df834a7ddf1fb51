//! Log set-up shared by both functions.
//!
//! Like `lambda_runtime::tracing::init_default_subscriber` (honours `AWS_LAMBDA_LOG_LEVEL`,
//! `RUST_LOG` as a level, and `AWS_LAMBDA_LOG_FORMAT=JSON`), with one difference that matters
//! here: the runtime and the SDK log whole events and HTTP bodies at TRACE, and those carry
//! task tokens. So their level is capped at INFO and ours at DEBUG, whatever is asked for.

use tracing_subscriber::{EnvFilter, filter::LevelFilter};

/// Crates that would log raw events or request bodies (task tokens) below INFO.
const CHATTY_CRATES: [&str; 10] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
];

/// The filter for a requested level, with the caps applied.
pub fn filter(requested: Option<&str>) -> EnvFilter {
    let level = requested
        .and_then(|l| l.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let ours = level.min(LevelFilter::DEBUG);
    let theirs = level.min(LevelFilter::INFO);
    let directives: Vec<String> = std::iter::once(ours.to_string())
        .chain(
            CHATTY_CRATES
                .iter()
                .map(|krate| format!("{krate}={theirs}")),
        )
        .collect();
    EnvFilter::new(directives.join(","))
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // Lambda stamps every line itself; no ANSI colours in CloudWatch.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(requested.as_deref()))
        .with_target(false)
        .with_ansi(false)
        .without_time();
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_capped_so_raw_events_and_bodies_are_never_logged() {
        let f = filter(Some("trace")).to_string();
        assert!(f.contains("lambda_runtime=info"), "{f}");
        assert!(f.contains("aws_smithy_runtime=info"), "{f}");
        assert!(f.starts_with("debug"), "{f}");
        assert!(!f.contains("trace"), "{f}");
    }

    #[test]
    fn quieter_levels_apply_to_everyone() {
        let f = filter(Some("WARN")).to_string();
        assert!(
            f.starts_with("warn") && f.contains("lambda_runtime=warn"),
            "{f}"
        );
        assert!(filter(Some("nonsense")).to_string().starts_with("info"));
        assert!(filter(None).to_string().starts_with("info"));
    }
}
