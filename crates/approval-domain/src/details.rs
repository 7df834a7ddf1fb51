//! The details shown to approvers: pretty JSON, invisible characters made visible, cut with a
//! note saying how much was left out.

use serde_json::Value;

use crate::text::reveal_deceptive;

/// How much of the details is shown (email and page alike). An approver reads a screenful; the
/// whole input stays one click away in the console.
pub const MAX_DETAILS_BYTES: usize = 8 * 1024;

pub fn render(details: &Value) -> String {
    let pretty = serde_json::to_string_pretty(details).unwrap_or_else(|_| details.to_string());
    let shown = reveal_deceptive(&pretty);
    if shown.len() <= MAX_DETAILS_BYTES {
        return shown;
    }
    let cut = (0..=MAX_DETAILS_BYTES)
        .rev()
        .find(|&i| shown.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "{}\n… (cut here: {} of {} bytes shown, {} left out; the whole input is on the execution's page in the Step Functions console)",
        &shown[..cut],
        cut,
        shown.len(),
        shown.len() - cut
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn small_details_are_pretty_and_whole() {
        assert_eq!(render(&json!({"a": 1})), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn separators_and_bidi_controls_are_shown_escaped() {
        let shown = render(&json!({"note": "a\u{2028}b\u{2029}c\u{202E}d"}));
        assert!(shown.contains("a\\u{2028}b\\u{2029}c\\u{202E}d"), "{shown}");
        assert!(!shown.contains('\u{2028}') && !shown.contains('\u{202E}'));
    }

    #[test]
    fn long_details_are_cut_on_a_character_boundary_with_how_much_was_left_out() {
        let shown = render(&json!({"text": "é".repeat(10_000)}));
        assert!(shown.len() < MAX_DETAILS_BYTES + 200);
        let note = shown.lines().last().unwrap();
        assert!(note.starts_with("… (cut here: "), "{note}");
        let total = serde_json::to_string_pretty(&json!({"text": "é".repeat(10_000)}))
            .unwrap()
            .len();
        assert!(note.contains(&format!("of {total} bytes shown")), "{note}");
    }
}
