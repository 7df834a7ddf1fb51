//! The first half of the battery: fields missing, empty or repeated; actions that are not
//! exactly approve or reject; credentials of the wrong shape.

use super::*;

pub(super) fn cases(f: &Fixture) -> Vec<Case> {
    let c = f.open.1[1].approve.encode();
    let mut cases = Vec::new();
    let bad = StatusCode::BAD_REQUEST;

    // Fields missing, empty or repeated: GET and POST alike.
    for (label, pairs, says) in [
        ("no fields", vec![], "missing field `action`"),
        (
            "no action",
            vec![("c", c.as_str())],
            "missing field `action`",
        ),
        (
            "no credential",
            vec![("action", "approve")],
            "missing field `c`",
        ),
        (
            "empty action",
            vec![("action", ""), ("c", c.as_str())],
            "`action` must be",
        ),
        (
            "empty credential",
            vec![("action", "approve"), ("c", "")],
            "`c`",
        ),
        (
            "action twice",
            vec![
                ("action", "approve"),
                ("action", "approve"),
                ("c", c.as_str()),
            ],
            "duplicate field `action`",
        ),
        (
            "action twice, differing",
            vec![
                ("action", "approve"),
                ("action", "reject"),
                ("c", c.as_str()),
            ],
            "duplicate field `action`",
        ),
        (
            "credential twice",
            vec![("action", "approve"), ("c", c.as_str()), ("c", c.as_str())],
            "duplicate field `c`",
        ),
        (
            "only tracking fields",
            vec![("utm_source", "mail")],
            "missing field `action`",
        ),
    ] {
        cases.push(case(format!("GET {label}"), get_query(&pairs), bad, says));
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        cases.push(case(
            format!("POST {label}"),
            post(&body.join("&")),
            bad,
            says,
        ));
    }
    // Actions that are not exactly approve or reject.
    for action in [
        "Approve",
        "APPROVE",
        "approve ",
        " approve",
        "approved",
        "reject!",
        "delete",
        "yes",
        "1",
        "true",
        "<script>alert(1)</script>",
        "approve\r\nSet-Cookie: x=1",
        "approve\0",
        "app%72ove",
        "✓",
    ] {
        cases.push(case(
            format!("GET action {action:?}"),
            get_query(&[("action", action), ("c", &c)]),
            bad,
            "`action` must be",
        ));
    }
    // Credentials of the wrong shape.
    let shapes: Vec<(String, String)> = vec![
        ("cut by one".into(), c[..43].to_owned()),
        ("cut by ten".into(), c[..34].to_owned()),
        ("only the request id".into(), c[..22].to_owned()),
        ("one too long".into(), format!("{c}A")),
        ("ten too long".into(), format!("{c}AAAAAAAAAA")),
        ("doubled".into(), format!("{c}{c}")),
        ("standard base64 +".into(), format!("{}+", &c[..43])),
        ("standard base64 /".into(), format!("{}/", &c[..43])),
        ("padded".into(), format!("{}=", &c[..43])),
        ("a percent sign".into(), format!("{}%", &c[..43])),
        ("a space".into(), format!("{} ", &c[..43])),
        ("a newline".into(), format!("{}\n", &c[..43])),
        ("non-ASCII".into(), format!("{}é", &c[..42])),
        ("punctuation".into(), "*".repeat(44)),
        ("2,000 characters".into(), "A".repeat(2000)),
        ("markup".into(), format!("<b>{}</b>", &c[..37])),
    ];
    for (label, value) in &shapes {
        cases.push(case(
            format!("GET credential {label}"),
            get_query(&[("action", "approve"), ("c", value)]),
            bad,
            "`c` (the link's credential)",
        ));
    }
    for (label, value) in shapes.iter().take(6) {
        cases.push(case(
            format!("POST credential {label}"),
            post(&format!("action=approve&c={value}")),
            bad,
            "`c` (the link's credential)",
        ));
    }
    cases
}
