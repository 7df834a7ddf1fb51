//! Recording a vote, and for the vote that decides, completing the task exactly once.
//!
//! Each attempt reads the record, lets the domain apply the vote, and writes it back only if
//! nobody wrote in between (compare-and-swap); a lost race is read and judged again. Only the
//! write that records the decision (or takes over a failed delivery) may call SendTaskSuccess,
//! and it sends the output fixed in the record, so a retry sends the very same bytes.
//!
//! Once Step Functions has the decision the approver is answered; recording that it was sent is
//! a [`Followups`] entry, done after the answer is posted ([`approval_aws::after_answer`]). That
//! write is what has send-email tell every approver how it ended (the table's stream): the
//! callback sends no email.

use approval_domain::{
    ApprovalRequest, Cast, Choice, ClosedTask, Credential, Delivery, RequestId, SlackUser,
    Standing, Timestamp, Via, Vote,
    ports::{PortError, Replaced, RequestStore, SendError, Tasks},
};
use tracing::{debug, info, warn};

use crate::LAMBDA_TIMEOUT;

/// A vote as it arrives: on which request, by whom, what.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub request_id: RequestId,
    pub voter: Voter,
    pub choice: Choice,
    pub comment: String,
}

/// Who casts a ballot, as the gate knows them.
#[derive(Debug, Clone)]
pub enum Voter {
    /// Whoever holds an approver's link for the ballot's action (a bearer credential).
    Link(Credential),
    /// The Slack user Slack signed the request for.
    Slack(SlackUser),
}

impl Ballot {
    fn via(&self) -> Via {
        match self.voter {
            Voter::Link(_) => Via::Email,
            Voter::Slack(_) => Via::Slack,
        }
    }
}

/// How often a lost race is retried before the approver is asked to try again.
pub const MAX_ATTEMPTS: usize = 5;

/// How a vote went.
#[derive(Debug)]
pub enum Voted {
    /// Recorded; the request waits for `still_needed` more approvals.
    Recorded {
        request: Box<ApprovalRequest>,
        vote: Vote,
        still_needed: usize,
    },
    /// This approver's vote decided the request and Step Functions has the decision (recording
    /// that follows the answer: [`Followups`]).
    Decided { request: Box<ApprovalRequest> },
    /// Not taken: the approver's standing forbids it (409 / 410).
    Refused {
        request: Box<ApprovalRequest>,
        standing: Standing,
    },
}

/// Why a vote could not be judged at all.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// No such request, slot or secret, or no approver is this Slack user (404).
    #[error("no request opens with this link")]
    NotFound,
    /// A store or Step Functions failure; `Unavailable` is worth trying again (503), `Failed` is
    /// not (500). A recorded vote or decision stays recorded.
    #[error(transparent)]
    Port(#[from] PortError),
    /// The request kept changing under this vote (503).
    #[error("the request kept changing under this vote")]
    Contended,
}

/// The vote use case: records a vote through the store and, for the deciding one, completes the
/// task; what follows its answer is left in `followups`.
pub struct Voting<'a, S, T> {
    pub store: &'a S,
    pub tasks: &'a T,
    pub followups: &'a Followups,
}

/// Decisions Step Functions has and whose approver has been (or is being) answered: each still to
/// be recorded as sent. Filled while answering, emptied after.
pub type Followups = approval_aws::after_answer::Followups<ApprovalRequest>;

impl<S: RequestStore, T: Tasks> Voting<'_, S, T> {
    /// The request `ballot` names and its voter's slot: for a link, if the credential is
    /// genuine and is that approver's link for the ballot's action (a Reject link never opens
    /// an approval); for Slack, if the user is the one the record holds for a slot.
    pub async fn open(&self, ballot: &Ballot) -> Result<(ApprovalRequest, usize), VoteError> {
        let request = self
            .store
            .get(&ballot.request_id)
            .await?
            .ok_or(VoteError::NotFound)?;
        let slot = match &ballot.voter {
            Voter::Link(credential) => request.authenticate(credential, ballot.choice),
            Voter::Slack(user) => request.slack_slot(user),
        }
        .ok_or(VoteError::NotFound)?;
        Ok((request, slot))
    }

    pub async fn vote(&self, ballot: &Ballot, now: Timestamp) -> Result<Voted, VoteError> {
        for _ in 0..MAX_ATTEMPTS {
            let (mut request, slot) = self.open(ballot).await?;
            let cast = request.cast_via(
                slot,
                ballot.choice,
                ballot.comment.clone(),
                ballot.via(),
                now,
            );
            let must_deliver = match &cast {
                Ok(Cast::Decided(_)) => true,
                Ok(Cast::Recorded { .. }) => false,
                // A decision whose delivery failed (or whose sender died) is sent by the next
                // vote of any of its approvers.
                Err(_) => request.claim_delivery(now, LAMBDA_TIMEOUT.as_secs() as i64),
            };
            if let (Err(refusal), false) = (&cast, must_deliver) {
                return Ok(Voted::Refused {
                    standing: refusal.0.clone(),
                    request: Box::new(request),
                });
            }
            match self.store.replace(&request).await {
                Ok(Replaced::Written) => {}
                Ok(Replaced::Conflict) => {
                    debug!(request_id = %request.request_id, "another vote changed the request since it was read; reading it again");
                    continue;
                }
                Err(err) => {
                    warn!(request_id = %request.request_id, %err, "vote not recorded");
                    return Err(err.into());
                }
            }
            if let Ok(Cast::Recorded { still_needed, .. }) = cast {
                let vote = request.votes.last().cloned().expect("the vote just cast");
                return Ok(Voted::Recorded {
                    request: Box::new(request),
                    vote,
                    still_needed,
                });
            }
            let delivered = self.deliver(request, now).await?;
            return Ok(match (cast, delivered) {
                // Someone else's decision that this click happened to send: the approver still
                // learns it was not theirs (410). Their own earlier vote, completed now: decided.
                (Err(refusal), Voted::Decided { request })
                    if !matches!(refusal.0, Standing::Voted(_)) =>
                {
                    Voted::Refused {
                        request,
                        standing: refusal.0,
                    }
                }
                (_, delivered) => delivered,
            });
        }
        warn!("the request kept changing under this vote; asking the approver to try again");
        Err(VoteError::Contended)
    }

    /// Sends the decided `request`'s task output. Sent: the rest is a followup. Not sent: how
    /// that went is recorded before the approver is answered, so their retry finds it.
    async fn deliver(
        &self,
        mut request: ApprovalRequest,
        now: Timestamp,
    ) -> Result<Voted, VoteError> {
        let output = request
            .decided()
            .map(|decided| decided.output.clone())
            .expect("only a decided request is delivered");
        let voted = match self.tasks.send_success(&request.task_token, &output).await {
            Ok(()) => {
                request.delivered(now);
                info!(request_id = %request.request_id, execution = request.execution_name(), "decision sent to Step Functions");
                let voted = Voted::Decided {
                    request: Box::new(request.clone()),
                };
                self.followups.push(request);
                return Ok(voted);
            }
            Err(SendError::TaskClosed(reason)) => {
                let closed = request.task_closed(&reason, now);
                match closed {
                    ClosedTask::BeforeTheDecision => {
                        warn!(request_id = %request.request_id, reason, "the task was closed before the decision reached it: the request is closed, undecided")
                    }
                    ClosedTask::Unconfirmed => {
                        warn!(request_id = %request.request_id, reason, "the task is closed; an earlier attempt may have delivered the decision")
                    }
                }
                let standing = request.ending(now).expect("a closed task ends the request");
                Ok(Voted::Refused {
                    request: Box::new(request.clone()),
                    standing,
                })
            }
            Err(SendError::Refused(err)) => {
                request.not_delivered(true);
                warn!(request_id = %request.request_id, %err, "decision recorded, not taken by Step Functions; the next vote sends it");
                Err(VoteError::Port(err))
            }
            Err(SendError::NoAnswer(err)) => {
                request.not_delivered(false);
                warn!(request_id = %request.request_id, %err, "decision recorded, not confirmed by Step Functions; the next vote sends it");
                Err(VoteError::Port(err))
            }
        };
        self.record_delivery(&request, now).await;
        voted
    }

    /// What follows a delivered decision: the record says it was sent (send-email then tells
    /// the approvers, on that change of the record).
    pub(crate) async fn follow_up(&self, delivered: &ApprovalRequest) {
        // The claim was taken at the moment Step Functions took the decision (`deliver`'s now).
        let claimed_at = match delivered.decided().map(|d| &d.delivery) {
            Some(Delivery::Sent { at }) => *at,
            _ => return,
        };
        let recorded = self.record_delivery(delivered, claimed_at).await;
        info!(
            request_id = %delivered.request_id,
            recorded,
            "decision followed up: send-email tells the approvers once this change is recorded"
        );
    }

    /// Records how the delivery of the claim taken at `claimed_at` went. Only the caller holds
    /// the delivery; the one other writer meanwhile is send-email recording the events it put (a
    /// change of bookkeeping only), over which the outcome is redone
    /// ([`ApprovalRequest::delivery_on`]). Any other change stands, and the record's delivery is
    /// then left for the stale-claim rule. Whether it was written.
    async fn record_delivery(&self, request: &ApprovalRequest, claimed_at: Timestamp) -> bool {
        let mut writing = request.clone();
        for _ in 0..MAX_ATTEMPTS {
            match self.store.replace(&writing).await {
                Ok(Replaced::Written) => return true,
                Ok(Replaced::Conflict) => {
                    let fresh = match self.store.get(&request.request_id).await {
                        Ok(Some(fresh)) => fresh,
                        Ok(None) => return false,
                        Err(err) => {
                            warn!(request_id = %request.request_id, %err, "how the delivery went is not recorded");
                            return false;
                        }
                    };
                    match request.delivery_on(&fresh, claimed_at) {
                        Some(rebased) => writing = rebased,
                        None => {
                            warn!(request_id = %request.request_id, "how the delivery went is not recorded: the request changed while this call held its delivery");
                            return false;
                        }
                    }
                }
                Err(err) => {
                    warn!(request_id = %request.request_id, %err, "how the delivery went is not recorded");
                    return false;
                }
            }
        }
        warn!(request_id = %request.request_id, "how the delivery went is not recorded: the request kept changing");
        false
    }
}
