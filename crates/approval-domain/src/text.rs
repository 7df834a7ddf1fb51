//! Text that approvers are shown: what may appear in a name or a subject, and how a value is
//! quoted in an error message.

use crate::field::FieldError;

/// Unicode format (Cf) and line/paragraph separator (Zl, Zp) characters, plus the controls.
/// Bidi overrides (U+202A..U+202E, U+2066..U+2069) are Cf: in a name they can make
/// `evil.com/approve` read as something else.
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
            | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}' | '\u{FFFD}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
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

/// A value as it may appear inside an error message: at most 80 characters, controls escaped.
pub fn quote_for_error(raw: &str) -> String {
    let mut out: String = raw.chars().take(80).flat_map(char::escape_debug).collect();
    if raw.chars().count() > 80 {
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
    fn reveal_shows_hidden_characters_and_keeps_newlines() {
        assert_eq!(
            reveal_deceptive("a\u{2028}b\u{202E}c\nd"),
            "a\\u{2028}b\\u{202E}c\nd"
        );
    }
}
