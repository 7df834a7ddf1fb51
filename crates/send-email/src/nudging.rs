//! A nudge's schedule firing: `{"Nudge": {"RequestId": "…", "Index": n}}`, as the schedule
//! created when the request opened delivers it ([`crate::handler`]). The record is read first and
//! the nudge fired by conditional write ([`approval_domain::nudge`]): an ended request, a nudge
//! fired already, or one not due does nothing, so a schedule that fires twice or late tells
//! nobody twice. Then a reminder is mailed to each approver who has not voted; an escalation's
//! added approvers get their approval email with their own links. Each puts its event.

use approval_aws::EmailDelivery;
use approval_domain::{
    ApprovalRequest, Fired, GateEvent, NudgeKind, Reached, RequestId,
    ports::{
        EventBus, Meter, Notifier, PortError, Replaced, RequestStore, Scheduler, SlackPosts, Tasks,
    },
    text::quote_up_to,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::{
    SendEmail, SendEmailError, email,
    error::Unpublished,
    handler::{MAX_WRITE_ATTEMPTS, within},
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NudgeNotice {
    #[serde(rename = "Nudge")]
    nudge: NudgeRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NudgeRef {
    request_id: String,
    index: usize,
}

fn parse(payload: Value) -> Result<(RequestId, usize), String> {
    let notice: NudgeNotice = serde_path_to_error::deserialize(payload)
        .map_err(|err| format!("a nudge: {}: {}", err.path(), err.inner()))?;
    let id = RequestId::try_from(notice.nudge.request_id.clone()).map_err(|_| {
        format!(
            "`Nudge.RequestId` `{}` is not a request id",
            quote_up_to(&notice.nudge.request_id, 64)
        )
    })?;
    Ok((id, notice.nudge.index))
}

/// What firing found to do, once recorded.
enum Outcome {
    Fired(ApprovalRequest, Fired),
    /// An escalation fired before, some of whose approvers' mail did not go out: theirs, now.
    Unmailed(
        ApprovalRequest,
        Vec<(usize, approval_domain::LinkCredentials)>,
    ),
    Nothing,
}

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    /// Fires the nudge the payload names, if it is still to fire; what it did.
    pub(crate) async fn nudge(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let (id, index) = parse(payload).map_err(SendEmailError::InvalidInput)?;
        match self.fire(&id, index, deadline).await? {
            Outcome::Nothing => {
                info!(request_id = %id, index, "nothing to nudge: ended, fired already, or not due");
                Ok(json!({ "Nudged": null }))
            }
            Outcome::Fired(request, Fired::Remind { slots }) => {
                let told = self.remind(&request, &slots, deadline).await
                    + self.remind_in_slack(&request, deadline).await;
                self.put_nudged(&request, &Fired::Remind { slots }, deadline)
                    .await;
                Ok(json!({ "Nudged": "reminder", "Told": told }))
            }
            Outcome::Fired(request, Fired::Escalate { added }) => {
                let event = GateEvent::nudged(
                    &request,
                    &Fired::Escalate {
                        added: added.clone(),
                    },
                    (self.clock)(),
                );
                if let Err(err) = self.put_events(&request, &[event], deadline).await {
                    warn!(request_id = %id, %err, "the escalation's event was not put");
                }
                let mailed = self.mail_added(request, &added, deadline).await?;
                Ok(json!({ "Nudged": "escalation", "Added": mailed }))
            }
            Outcome::Unmailed(request, reissued) => {
                let mailed = self.mail_added(request, &reissued, deadline).await?;
                Ok(json!({ "Nudged": "escalation", "Added": mailed }))
            }
        }
    }

    /// Fires the nudge on the record, by conditional write.
    async fn fire(
        &self,
        id: &RequestId,
        index: usize,
        deadline: Instant,
    ) -> Result<Outcome, SendEmailError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let read = within(deadline, self.store.get(id)).await;
            let Some(mut request) = read.map_err(SendEmailError::StoreFailed)? else {
                return Ok(Outcome::Nothing); // gone (its TTL)
            };
            let now = (self.clock)();
            let outcome = match request.fire_nudge(index, now) {
                Some(fired) => Outcome::Fired(request.clone(), fired),
                None => {
                    let escalated = request.nudges.get(index).is_some_and(|nudge| {
                        nudge.fired_at.is_some()
                            && matches!(nudge.kind, NudgeKind::Escalation { .. })
                    });
                    if !escalated || request.ending(now).is_some() {
                        return Ok(Outcome::Nothing);
                    }
                    let reissued = request.reissue_unnotified();
                    if reissued.is_empty() {
                        return Ok(Outcome::Nothing);
                    }
                    Outcome::Unmailed(request.clone(), reissued)
                }
            };
            match within(deadline, self.store.replace(&request)).await {
                Ok(Replaced::Written) => return Ok(outcome),
                Ok(Replaced::Conflict) => continue,
                Err(err) => return Err(SendEmailError::StoreFailed(err)),
            }
        }
        Err(SendEmailError::StoreFailed(PortError::Unavailable(
            "the request kept changing while it was nudged".into(),
        )))
    }

    /// Mails the reminder to `slots` (the Slack reminder: [`Self::remind_in_slack`]); how many
    /// it reached. A reminder is not sent again: one
    /// that did not go out is logged, counted and put as a delivery failure.
    async fn remind(&self, request: &ApprovalRequest, slots: &[usize], deadline: Instant) -> usize {
        if self.config.email == EmailDelivery::Off {
            return 0;
        }
        let html = matches!(self.config.email, EmailDelivery::Ses { .. });
        let messages = email::reminders(request, slots, html);
        let results = self
            .send_all(messages.into_iter().map(|m| (m.to.clone(), m)), deadline)
            .await;
        let told = results.iter().filter(|(_, r)| r.is_ok()).count();
        let failed: Vec<Unpublished> = results
            .into_iter()
            .filter_map(|(approver, r)| r.err().map(|error| Unpublished { approver, error }))
            .collect();
        if !failed.is_empty() {
            warn!(request_id = %request.request_id, failed = failed.len(), "some reminders did not go out");
            self.delivery_failed(request, &failed, deadline).await;
        }
        info!(request_id = %request.request_id, told, "reminded");
        told
    }

    /// Tells the added approvers of the request: their approval email, and with Slack their
    /// DM (each looked up first); records who was reached. Fails, worth retrying, if some were
    /// not (the schedule's retry mails those, with fresh links, and posts what is missing).
    async fn mail_added(
        &self,
        mut request: ApprovalRequest,
        added: &[(usize, approval_domain::LinkCredentials)],
        deadline: Instant,
    ) -> Result<usize, SendEmailError> {
        let notified = if self.config.email == EmailDelivery::Off {
            Vec::new()
        } else {
            self.notify(&request, added, &self.config, deadline).await
        };
        let sent: Vec<usize> = notified
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(slot, _)| *slot)
            .collect();
        let slots: Vec<usize> = added.iter().map(|(slot, _)| *slot).collect();
        let found = self.find_added_in_slack(&request, &slots, deadline).await;
        let mut in_slack = request.clone();
        for (slot, user) in &found {
            in_slack.approvers[*slot].slack = Some(user.clone());
        }
        let (posted, unposted) = self.post_to_slack(&in_slack, deadline).await;
        let reached = Reached {
            emailed: sent,
            found,
            posted,
        };
        if !reached.is_empty() {
            request.record_reached(&reached, (self.clock)());
            if let Err(err) = self.record_notified(&request, &reached, deadline).await {
                warn!(request_id = %request.request_id, %err, "who was reached is not recorded; their links work");
            }
        }
        let mut failed: Vec<Unpublished> = notified
            .into_iter()
            .filter_map(|(slot, r)| {
                r.err().map(|error| Unpublished {
                    approver: request.approvers[slot].address.clone(),
                    error,
                })
            })
            .collect();
        let email_failures = failed.len();
        failed.extend(unposted);
        if !failed.is_empty() {
            self.delivery_failed(&request, &failed[..email_failures], deadline)
                .await;
            self.slack_failed(&request, &failed[email_failures..], deadline)
                .await;
            return Err(SendEmailError::PublishFailed(failed));
        }
        let added = reached.emailed.len().max(reached.posted.len());
        info!(request_id = %request.request_id, added, "escalated");
        Ok(added)
    }

    /// The Slack users of the approvers in `slots` not known yet. One that cannot be looked
    /// up is reached by email only (logged and counted; with email off, by nobody).
    async fn find_added_in_slack(
        &self,
        request: &ApprovalRequest,
        slots: &[usize],
        deadline: Instant,
    ) -> Vec<(usize, approval_domain::SlackUser)> {
        let Some(slack) = &self.slack else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for &slot in slots {
            let entry = &request.approvers[slot];
            if entry.slack.is_some() {
                continue;
            }
            match within(deadline, slack.find_user(&entry.address)).await {
                Ok(Some(user)) => found.push((slot, user)),
                Ok(None) if self.config.email != EmailDelivery::Off => {}
                outcome => {
                    warn!(request_id = %request.request_id, approver = %entry.address, ?outcome, "an added approver is not reached in Slack");
                    self.meter.count(approval_domain::Measure::DeliveryFailed {
                        state_machine: Some(request.state_machine_name().to_owned()),
                        channel: "slack",
                    });
                }
            }
        }
        found
    }

    async fn put_nudged(&self, request: &ApprovalRequest, fired: &Fired, deadline: Instant) {
        let event = GateEvent::nudged(request, fired, (self.clock)());
        if let Err(err) = self.put_events(request, &[event], deadline).await {
            warn!(request_id = %request.request_id, %err, "the nudge's event was not put");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_schedule_delivers_and_names_anything_else() {
        let id = RequestId::from_bytes([7; RequestId::BYTES]);
        let payload = crate::invocation::nudge_input(&id, 3);
        assert_eq!(parse(payload).unwrap(), (id, 3));
        let err = parse(json!({"Nudge": {"RequestId": "x", "Index": 0}})).unwrap_err();
        assert!(err.contains("`Nudge.RequestId` `x`"), "{err}");
        let err = parse(json!({"Nudge": {"RequestId": "x"}})).unwrap_err();
        assert!(err.contains("Index"), "{err}");
    }
}
