//! Log set-up shared by both functions.
//!
//! Like `lambda_runtime::tracing::init_default_subscriber` (honours `AWS_LAMBDA_LOG_LEVEL`,
//! `RUST_LOG` as a level, and `AWS_LAMBDA_LOG_FORMAT=JSON`), with one difference that matters
//! here: the runtime and the SDK log whole events and HTTP bodies below INFO, and those carry
//! task tokens. So only our own crates follow the requested level (at most DEBUG); every other
//! crate, including any a dependency update brings in, stays at INFO or quieter.

use std::fmt;

use tracing::field::Field;
use tracing_subscriber::{
    EnvFilter,
    field::MakeExt,
    filter::LevelFilter,
    fmt::{FormatFields, format::Writer},
};

/// The crates whose logs we write ourselves and know to be free of tokens.
const OUR_CRATES: [&str; 4] = [
    "approval_domain",
    "approval_aws",
    "approval_callback",
    "send_email",
];

/// The filter for a requested level, with the caps applied.
pub fn filter(requested: Option<&str>) -> EnvFilter {
    let level = requested
        .and_then(|l| l.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let ours = level.min(LevelFilter::DEBUG);
    let everyone_else = level.min(LevelFilter::INFO);
    let directives: Vec<String> = std::iter::once(everyone_else.to_string())
        .chain(OUR_CRATES.iter().map(|krate| format!("{krate}={ours}")))
        .collect();
    EnvFilter::new(directives.join(","))
}

/// Every control character of `value` (CR, LF, ESC, …) written as an escape (`\\r`, `\\n`,
/// `\\u{1b}`): a value from outside (a refused payload field, a user agent) can never end its
/// line and forge the next one. JSON lines are escaped by the JSON writer itself.
pub fn escape_controls(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// The text format's fields as the default writes them (the message bare, then `name=value`),
/// each value with its control characters escaped.
pub fn escaped_text_fields() -> impl for<'w> FormatFields<'w> + 'static {
    tracing_subscriber::fmt::format::debug_fn(
        |writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
            let shown = escape_controls(&format!("{value:?}"));
            if field.name() == "message" {
                write!(writer, "{shown}")
            } else {
                write!(writer, "{}={shown}", field.name())
            }
        },
    )
    .delimited(" ")
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
        builder.fmt_fields(escaped_text_fields()).init();
    }
}

/// What this thread logs under `filter`, from now until the guard drops, in the text format
/// `init` installs: for tests that assert a log line.
#[cfg(test)]
pub(crate) fn capture(
    filter: EnvFilter,
) -> (tracing::subscriber::DefaultGuard, impl Fn() -> String) {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .fmt_fields(escaped_text_fields())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (guard, move || {
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emits one event per (target, level) under `filter` and returns what was written.
    fn logged_under(requested: Option<&str>) -> String {
        let (_guard, logged) = capture(filter(requested));
        tracing::trace!(target: "lambda_runtime::layers::api_response", "runtime-trace");
        tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sdk-debug");
        tracing::info!(target: "aws_smithy_runtime", "sdk-info");
        tracing::debug!(target: "aws_sigv4::http_request", "unknown-crate-debug");
        tracing::trace!(target: "approval_callback", "ours-trace");
        tracing::debug!(target: "approval_callback", "ours-debug");
        tracing::info!(target: "approval_callback", "ours-info");
        logged()
    }

    #[test]
    fn trace_is_capped_so_raw_events_and_bodies_are_never_logged() {
        let out = logged_under(Some("TRACE"));
        assert!(!out.contains("runtime-trace"), "{out}");
        assert!(!out.contains("sdk-debug"), "{out}");
        assert!(!out.contains("ours-trace"), "{out}");
        assert!(
            !out.contains("unknown-crate-debug"),
            "crates not named stay at INFO: {out}"
        );
        assert!(
            out.contains("sdk-info") && out.contains("ours-debug"),
            "{out}"
        );
    }

    #[test]
    fn a_value_with_line_breaks_cannot_forge_a_log_line() {
        let (_guard, logged) = capture(filter(None));
        let forged = "https://x\r\nERROR send_email: approved by ceo\u{1b}[2K";
        tracing::error!(endpoint = forged, "refused {}", forged);
        tracing::warn!(err = %forged, "refused");
        let out = logged();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(!out.contains('\r') && !out.contains('\u{1b}'), "{out}");
        assert!(
            out.contains(r"refused https://x\r\nERROR send_email: approved by ceo\u{1b}[2K"),
            "{out}"
        );
        assert!(out.contains(r"err=https://x\r\nERROR"), "{out}");
    }

    #[test]
    fn quieter_levels_apply_to_everyone_and_info_is_the_default() {
        let out = logged_under(Some("warn"));
        assert!(out.is_empty(), "{out}");
        for requested in [None, Some("nonsense")] {
            let out = logged_under(requested);
            assert!(
                out.contains("ours-info") && out.contains("sdk-info"),
                "{out}"
            );
            assert!(!out.contains("ours-debug"), "{out}");
        }
    }
}
