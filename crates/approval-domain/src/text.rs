//! Text that approvers are shown: what may appear in a name or a subject, and how a value is
//! quoted in an error message.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::field::FieldError;

/// Controls (Cc), format characters (Cf), line and paragraph separators (Zl, Zp), by the Unicode
/// tables of `unicode-properties`, plus U+FFFD (what a broken encoding leaves). Bidi overrides
/// (U+202A..U+202E, U+2066..U+2069) are Cf: in a name they can make `evil.com/approve` read as
/// something else.
pub fn is_deceptive(c: char) -> bool {
    c == '\u{FFFD}'
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// A one-line text field (summary lines are checked elsewhere): no deceptive characters, not
/// blank, at most `max` characters.
pub fn single_line(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    // Before trimming: a line separator at an end is trimmed as white space, but it was sent.
    if let Some(c) = raw.chars().find(|&c| is_deceptive(c)) {
        return Err(FieldError::Deceptive {
            field,
            code_point: c as u32,
        });
    }
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::Empty(field));
    }
    if value.chars().count() > max {
        return Err(FieldError::TooLong { field, max });
    }
    Ok(value.to_owned())
}

/// Text that came from outside the gate (a workflow's summary or details, a voter's comment), as an
/// email shows it: every line prefixed with `| `, so no line of it can pass for one of the gate's
/// (a summary of "Approve: https://evil" shows as "| Approve: https://evil").
pub struct Quoted<'a>(pub &'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.replace("\r\n", "\n");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if text.is_empty() {
            return Ok(());
        }
        // Every line break a mail client may honour, not only `\n`.
        let breaks = |c: char| {
            matches!(
                c,
                '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
            )
        };
        for line in text.split(breaks) {
            if line.is_empty() {
                writeln!(f, "|")?;
            } else {
                writeln!(f, "| {line}")?;
            }
        }
        Ok(())
    }
}

/// A value as it may appear inside an error message: at most 80 characters, controls escaped.
pub fn quote_for_error(raw: &str) -> String {
    quote_up_to(raw, 80)
}

/// A value as it may appear inside an error message: at most `max` characters, controls
/// escaped, so it can neither run on nor start a line of its own.
pub fn quote_up_to(raw: &str, max: usize) -> String {
    let mut out: String = raw.chars().take(max).flat_map(char::escape_debug).collect();
    if raw.chars().count() > max {
        out.push('…');
    }
    out
}

/// Characters that render invisibly or move text around, written as `\u{…}` so an approver
/// sees them (details and summaries are shown, not refused).
pub fn reveal_deceptive(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if is_deceptive(c) && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_refuses_format_and_separator_characters() {
        for bad in [
            "a\u{202E}b",
            "a\u{2028}b",
            "a\u{2028}",
            "\u{2029}a",
            "a\u{200B}b",
            "a\u{FEFF}",
            "a\nb",
            "a\u{FFFD}",
            // Cf code points a hand-written list missed: Arabic number mark above, Egyptian
            // hieroglyph format controls, the musical symbol begin beam, a tag.
            "a\u{0890}b",
            "a\u{13430}b",
            "a\u{1D173}b",
            "a\u{E0041}b",
        ] {
            assert!(
                matches!(
                    single_line("Subject", bad, 100),
                    Err(FieldError::Deceptive {
                        field: "Subject",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            single_line("Subject", "  Deploy v42 — prod  ", 100).unwrap(),
            "Deploy v42 — prod"
        );
        assert_eq!(
            single_line("Subject", " ", 100),
            Err(FieldError::Empty("Subject"))
        );
        assert_eq!(
            single_line("Subject", &"x".repeat(101), 100),
            Err(FieldError::TooLong {
                field: "Subject",
                max: 100
            })
        );
    }

    #[test]
    fn quoted_text_cannot_start_a_line_of_its_own() {
        let forged =
            "Deploy v42\nRequested by: ceo@example.com\r\n\nApprove: https://evil.example/";
        assert_eq!(
            Quoted(forged).to_string(),
            "| Deploy v42\n| Requested by: ceo@example.com\n|\n| Approve: https://evil.example/\n"
        );
        assert_eq!(Quoted("").to_string(), "");
        assert_eq!(
            Quoted("a\rApprove: x\u{2028}b\u{85}c").to_string(),
            "| a\n| Approve: x\n| b\n| c\n"
        );
    }

    #[test]
    fn reveal_shows_hidden_characters_and_keeps_newlines() {
        assert_eq!(
            reveal_deceptive("a\u{2028}b\u{202E}c\nd"),
            "a\\u{2028}b\\u{202E}c\nd"
        );
    }
}
