//! Property-based tests of Slack's inbound side: the signature check and the interaction
//! parser. `PROPTEST_CASES` cases per property (2,000 by default; docs/testing.md records a run
//! of 1,000,000).

use approval_domain::{ApprovalRequest, Choice, memory::fixtures};
use approval_slack::{
    Interaction,
    signature::{MAX_SKEW_SECONDS, SignatureError, sign, verify},
};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: fixtures::proptest_cases(),
        ..ProptestConfig::default()
    }
}

fn form(payload: &Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

proptest! {
    #![proptest_config(config())]

    /// Exactly what Slack signed verifies: the same body, secret and timestamp within 300 s;
    /// any change of one byte, another secret or an older timestamp does not.
    #[test]
    fn only_the_signed_body_verifies(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        skew in -MAX_SKEW_SECONDS..=MAX_SKEW_SECONDS,
        flip in any::<prop::sample::Index>(),
        other_secret in proptest::collection::vec(any::<u8>(), 1..64),
        late in 1i64..1_000_000,
    ) {
        let ts = (NOW + skew).to_string();
        let signature = sign(&secret, &ts, &body);
        prop_assert_eq!(verify(&secret, Some(&ts), Some(&signature), &body, NOW), Ok(()));
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip.index(changed.len());
            changed[i] ^= 0x01;
            prop_assert_eq!(verify(&secret, Some(&ts), Some(&signature), &changed, NOW), Err(SignatureError::Mismatch));
        }
        if other_secret != secret {
            prop_assert_eq!(verify(&other_secret, Some(&ts), Some(&signature), &body, NOW), Err(SignatureError::Mismatch));
        }
        let old = (NOW - MAX_SKEW_SECONDS - late).to_string();
        let resigned = sign(&secret, &old, &body);
        prop_assert!(matches!(verify(&secret, Some(&old), Some(&resigned), &body, NOW), Err(SignatureError::Stale(_))));
    }

    /// Any headers and body: an answer, never a panic; never Ok without the secret's signature.
    #[test]
    fn arbitrary_headers_never_pass(
        ts in proptest::option::of("\\PC{0,24}"),
        signature in proptest::option::of("\\PC{0,80}"),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let verified = verify(b"secret", ts.as_deref(), signature.as_deref(), &body, NOW);
        if verified.is_ok() {
            let ts = ts.unwrap();
            prop_assert_eq!(signature.unwrap().to_ascii_lowercase(), sign(b"secret", &ts, &body));
        }
    }

    /// Any bytes as a body: parsed or refused by name, never a panic.
    #[test]
    fn any_body_is_parsed_or_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Interaction::parse(&body);
    }

    /// A click with random users, teams, triggers and channels: read back exactly; a value
    /// that is not `<request id>:<action>` of the same action is refused.
    #[test]
    fn a_click_is_read_back_exactly_and_a_foreign_value_is_refused(
        team in "\\PC{0,20}",
        user in "\\PC{0,20}",
        trigger in "\\PC{0,40}",
        approve in any::<bool>(),
        junk in "\\PC{0,60}",
    ) {
        let request_id = ApprovalRequest::open(fixtures::new_request(1, 1)).0.request_id;
        let choice = if approve { Choice::Approved } else { Choice::Rejected };
        let payload = |value: &str| json!({
            "type": "block_actions", "team": {"id": team}, "user": {"id": user},
            "trigger_id": trigger, "channel": {"id": "D1"},
            "actions": [{"action_id": choice.action(), "value": value, "type": "button"}]
        });
        let parsed = Interaction::parse(&form(&payload(&format!("{request_id}:{}", choice.action())))).unwrap();
        match parsed {
            Interaction::Click { user: who, trigger_id, request_id: id, choice: c, .. } => {
                prop_assert_eq!((who.team_id, who.user_id), (team.clone(), user.clone()));
                prop_assert_eq!(trigger_id, trigger.clone());
                prop_assert_eq!(id, request_id.clone());
                prop_assert_eq!(c, choice);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        if junk != format!("{request_id}:{}", choice.action()) {
            prop_assert!(Interaction::parse(&form(&payload(&junk))).is_err());
        }
    }
}
