//! What `SendTaskSuccess` carries: the decision, who made it, and every vote.

use serde::Serialize;

use crate::{Address, ApprovalRequest, Choice, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskOutput {
    /// The seed's wording: `Approved! Task approved by a, b` / `Rejected! Task rejected by c`.
    pub status: String,
    /// What the state machine's Choice routes on: "approved" or "rejected".
    pub decision: Choice,
    /// Whose vote decided.
    pub approver: String,
    /// That vote's comment (empty when none).
    pub comment: String,
    pub decided_at: Timestamp,
    pub request_id: String,
    pub approvals: Vec<OutputVote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputVote {
    pub approver: String,
    pub decision: Choice,
    pub comment: String,
    pub decided_at: Timestamp,
    /// How the vote came: "email" (a link) or "slack".
    pub via: &'static str,
}

impl TaskOutput {
    /// The output of `request` decided as `decision` by `decided_by`'s vote at `decided_at`.
    pub fn new(
        request: &ApprovalRequest,
        decision: Choice,
        decided_by: &Address,
        decided_at: Timestamp,
    ) -> Self {
        let deciding_vote = request.vote_of(decided_by);
        let by: Vec<&str> = match decision {
            Choice::Approved => request
                .votes
                .iter()
                .filter(|v| v.choice == Choice::Approved)
                .map(|v| v.approver.as_str())
                .collect(),
            Choice::Rejected => vec![decided_by.as_str()],
        };
        let status = match decision {
            Choice::Approved => format!("Approved! Task approved by {}", by.join(", ")),
            Choice::Rejected => format!("Rejected! Task rejected by {}", by.join(", ")),
        };
        Self {
            status,
            decision,
            approver: decided_by.to_string(),
            comment: deciding_vote.map(|v| v.comment.clone()).unwrap_or_default(),
            decided_at,
            request_id: request.request_id.to_string(),
            approvals: request
                .votes
                .iter()
                .map(|v| OutputVote {
                    approver: v.approver.to_string(),
                    decision: v.choice,
                    comment: v.comment.clone(),
                    decided_at: v.voted_at,
                    via: v.via.as_str(),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and a list of them always serializes.
        serde_json::to_string(self).expect("task output serializes")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{ApprovalRequest, Choice, Timestamp, Via, memory::fixtures};

    #[test]
    fn the_whole_output_of_a_two_of_three_approval() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        let t1 = Timestamp::from_unix(1_800_000_001).unwrap();
        let t2 = Timestamp::from_unix(1_800_000_002).unwrap();
        request
            .cast(0, Choice::Approved, "lgtm".into(), t1)
            .unwrap();
        request
            .cast_via(2, Choice::Approved, "ship it".into(), Via::Slack, t2)
            .unwrap();
        let output: serde_json::Value =
            serde_json::from_str(&request.decided().unwrap().output).unwrap();
        assert_eq!(
            output,
            json!({
                "Status": "Approved! Task approved by approver0@example.com, approver2@example.com",
                "Decision": "approved",
                "Approver": "approver2@example.com",
                "Comment": "ship it",
                "DecidedAt": "2027-01-15T08:00:02Z",
                "RequestId": request.request_id.to_string(),
                "Approvals": [
                    {"Approver": "approver0@example.com", "Decision": "approved", "Comment": "lgtm", "DecidedAt": "2027-01-15T08:00:01Z", "Via": "email"},
                    {"Approver": "approver2@example.com", "Decision": "approved", "Comment": "ship it", "DecidedAt": "2027-01-15T08:00:02Z", "Via": "slack"},
                ]
            })
        );
    }

    #[test]
    fn a_veto_names_only_the_rejecter_in_the_status() {
        let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
        let t = Timestamp::from_unix(1_800_000_001).unwrap();
        request.cast(0, Choice::Approved, String::new(), t).unwrap();
        request
            .cast(1, Choice::Rejected, "not now".into(), t)
            .unwrap();
        let output: serde_json::Value =
            serde_json::from_str(&request.decided().unwrap().output).unwrap();
        assert_eq!(
            output["Status"],
            "Rejected! Task rejected by approver1@example.com"
        );
        assert_eq!(output["Decision"], "rejected");
        assert_eq!(output["Comment"], "not now");
        assert_eq!(output["Approvals"].as_array().unwrap().len(), 2);
    }
}
