//! Property-based tests of the domain: credentials and the quorum rules, over random input.
//! 2,000 cases per property per run; `PROPTEST_CASES=1000000` for a long run.

use approval_domain::{
    ApprovalRequest, Cast, Choice, Credential, Refusal, RequestId, Standing, memory::fixtures,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: fixtures::proptest_cases(),
        ..ProptestConfig::default()
    }
}

fn refused_as_voted(result: &Result<Cast, Refusal>) -> bool {
    matches!(result, Err(Refusal(Standing::Voted(_))))
}

fn refused_as_decided(result: &Result<Cast, Refusal>) -> bool {
    matches!(result, Err(Refusal(Standing::Decided { .. })))
}

proptest! {
    #![proptest_config(config())]

    /// Any string: parsing never panics, and whatever parses encodes back to the same string.
    #[test]
    fn credential_parsing_is_total_and_canonical(text in ".{0,60}") {
        if let Ok(credential) = Credential::parse(&text) {
            prop_assert_eq!(credential.encode(), text);
        }
    }

    /// Any 33 bytes make a credential; only the secret it was issued with matches its hash.
    #[test]
    fn only_the_issued_secret_matches(id in any::<[u8; 16]>(), slot in any::<u8>(), flip in 0usize..33, bit in 0u8..8) {
        let issued = Credential::issue(&RequestId::from_bytes(id), slot);
        let hash = issued.hash();
        let encoded = issued.encode();
        let parsed = Credential::parse(&encoded).unwrap();
        prop_assert!(parsed.matches(&hash));
        // Flip one bit anywhere: a different request, a different slot or a secret that fails.
        use base64::Engine as _;
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&encoded).unwrap();
        raw[flip] ^= 1 << bit;
        let altered = Credential::parse(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw)).unwrap();
        prop_assert!(altered.request_id() != issued.request_id() || altered.slot() != issued.slot() || !altered.matches(&hash));
    }

    /// Any sequence of votes by any approvers, for any quorum: the decision is the first rejection
    /// or the `required`-th approval, it is made by exactly one vote, nothing is recorded after it,
    /// and every approver votes at most once.
    #[test]
    fn quorum_rules_hold_for_any_sequence(
        approvers in 1usize..=6,
        required_seed in 0usize..6,
        votes in proptest::collection::vec((0usize..6, any::<bool>()), 0..12),
    ) {
        let required = required_seed % approvers + 1;
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(approvers, required));
        let mut decided_by_votes = 0;
        let mut voted = std::collections::HashSet::new();
        let mut approvals = 0;
        let mut expected = None;
        for (slot, reject) in votes {
            let slot = slot % approvers;
            let choice = if reject { Choice::Rejected } else { Choice::Approved };
            let result = request.cast(slot, choice, String::new(), fixtures::now());
            match (expected, voted.contains(&slot)) {
                (_, true) => prop_assert!(refused_as_voted(&result)),
                (Some(_), false) => prop_assert!(refused_as_decided(&result)),
                (None, false) => {
                    voted.insert(slot);
                    if reject { expected = Some(Choice::Rejected) } else {
                        approvals += 1;
                        if approvals == required { expected = Some(Choice::Approved) }
                    }
                    match result {
                        Ok(Cast::Decided(d)) => { decided_by_votes += 1; prop_assert_eq!(Some(d), expected) }
                        Ok(Cast::Recorded { still_needed, .. }) => {
                            prop_assert!(expected.is_none());
                            prop_assert_eq!(still_needed, required - approvals);
                        }
                        Err(refusal) => prop_assert!(false, "refused a first vote: {:?}", refusal),
                    }
                }
            }
        }
        prop_assert_eq!(decided_by_votes, usize::from(expected.is_some()));
        prop_assert_eq!(request.votes.len(), voted.len());
        prop_assert_eq!(request.decided().is_some(), expected.is_some());
    }
}
