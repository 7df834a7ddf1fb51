//! Requests Slack did not sign (or signed for another body, secret or time), too big, of the
//! wrong method or content type: refused before anything is read.

use lambda_http::http::Method;

use crate::{cases::*, support::*};

pub fn unsigned_cases(f: &Fixture) -> Vec<Case> {
    let open = &f.open.request_id;
    let good = click(TEAM, "U1", open, "approve");
    let body = form(&good);
    let mut cases = Vec::new();
    use Then::*;

    // ---- not signed by Slack: 401, nothing read
    cases.push(case(
        "no signature headers",
        request(
            Method::POST,
            body.clone(),
            &[("content-type", "application/x-www-form-urlencoded".into())],
        ),
        401,
        Untouched,
    ));
    cases.push(case(
        "no timestamp",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "x-slack-request-timestamp")
        }),
        401,
        Untouched,
    ));
    cases.push(case(
        "no signature",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "x-slack-signature")
        }),
        401,
        Untouched,
    ));
    cases.push(case(
        "signed with another secret",
        with_headers(body.clone(), b"another-apps-signing-secret", now(), |_| {}),
        401,
        Untouched,
    ));
    cases.push(case(
        "signed with an empty secret",
        with_headers(body.clone(), b"", now(), |_| {}),
        401,
        Untouched,
    ));
    let altered = |edit: &dyn Fn(&mut Vec<u8>)| {
        let headers = signed_headers(SECRET, &body, now());
        let mut changed = body.clone();
        edit(&mut changed);
        request(Method::POST, changed, &headers)
    };
    cases.push(case(
        "body: a byte appended after signing",
        altered(&|b| b.push(b'x')),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: a byte flipped after signing",
        altered(&|b| b[20] ^= 1),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: truncated after signing",
        altered(&|b| b.truncate(b.len() - 1)),
        401,
        Untouched,
    ));
    cases.push(case(
        "body: another user put in after signing",
        {
            let headers = signed_headers(SECRET, &body, now());
            request(
                Method::POST,
                form(&click(TEAM, "U2", open, "approve")),
                &headers,
            )
        },
        401,
        Untouched,
    ));
    cases.push(case(
        "body: approve turned into reject after signing",
        {
            let headers = signed_headers(SECRET, &body, now());
            request(
                Method::POST,
                form(&click(TEAM, "U1", open, "reject")),
                &headers,
            )
        },
        401,
        Untouched,
    ));
    for (name, ts) in [
        ("timestamp 301 s old", now() - 301),
        ("timestamp 301 s in the future", now() + 301),
        ("timestamp an hour old (a replay)", now() - 3600),
        ("timestamp 0", 0),
    ] {
        cases.push(case(
            name,
            with_headers(body.clone(), SECRET, ts, |_| {}),
            401,
            Untouched,
        ));
    }
    for (name, ts) in [
        ("timestamp negative", "-5"),
        ("timestamp not a number", "abc"),
        ("timestamp in exponent form", "1e9"),
        ("timestamp with a space", " 1800000000"),
        ("timestamp empty", ""),
        ("timestamp with a plus", "+1800000000"),
    ] {
        // Signed over that very timestamp text, so only the timestamp is wrong.
        let sig = approval_slack::signature::sign(SECRET, ts, &body);
        cases.push(case(
            name,
            request(
                Method::POST,
                body.clone(),
                &[
                    ("content-type", "application/x-www-form-urlencoded".into()),
                    ("x-slack-request-timestamp", ts.into()),
                    ("x-slack-signature", sig),
                ],
            ),
            401,
            Untouched,
        ));
    }
    let good_sig = signed_headers(SECRET, &body, now())[2].1.clone();
    for (name, signature) in [
        ("signature without v0=", good_sig[3..].to_owned()),
        ("signature of version v1", format!("v1={}", &good_sig[3..])),
        (
            "signature one digit short",
            good_sig[..good_sig.len() - 1].to_owned(),
        ),
        ("signature not hex", format!("v0={}", "zz".repeat(32))),
        ("signature empty", String::new()),
        ("signature twice", format!("{good_sig},{good_sig}")),
    ] {
        cases.push(case(
            name,
            with_headers(body.clone(), SECRET, now(), |h| {
                set(h, "x-slack-signature", &signature)
            }),
            401,
            Untouched,
        ));
    }
    cases.push(case(
        "a replay of a signed click 301 s later",
        {
            let headers = signed_headers(SECRET, &body, now() - 301);
            request(Method::POST, body.clone(), &headers)
        },
        401,
        Untouched,
    ));

    // ---- too big, wrong method: refused before the signature is read
    let big = [b"payload=".as_slice(), &vec![b'a'; 16 * 1024]].concat();
    cases.push(case(
        "a body over 16 KiB, signed",
        signed_raw(&big),
        413,
        Untouched,
    ));
    cases.push(case(
        "GET on the route",
        request(Method::GET, Vec::new(), &[]),
        405,
        Untouched,
    ));

    // ---- signed, but not a form
    cases.push(case(
        "signed JSON body",
        with_headers(good.to_string().into_bytes(), SECRET, now(), |h| {
            set(h, "content-type", "application/json")
        }),
        415,
        Untouched,
    ));
    cases.push(case(
        "signed text/plain",
        with_headers(body.clone(), SECRET, now(), |h| {
            set(h, "content-type", "text/plain")
        }),
        415,
        Untouched,
    ));
    cases.push(case(
        "signed, no content type",
        with_headers(body.clone(), SECRET, now(), |h| {
            h.retain(|(n, _)| *n != "content-type")
        }),
        415,
        Untouched,
    ));
    cases
}
