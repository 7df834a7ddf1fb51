//! The reminders and escalations a payload asks for (`Approval.Reminders`,
//! `Approval.Escalations`), checked against the stack and the request: at most 5 of each, each
//! before the request expires, escalated approvers among the stack's, never the requester nor
//! already asked. Without `Approval.Reminders`, the stack's `REMINDER_AFTER_SECONDS` (if set
//! and before the expiry) is the one reminder.

use approval_domain::{Address, NudgeKind, PlannedNudge, nudge::MAX_EACH};

use crate::{
    Config, SendEmailError,
    payload::{EscalationAsk, ReminderAsk},
};

fn invalid(message: impl Into<String>) -> SendEmailError {
    SendEmailError::InvalidInput(message.into())
}

/// What the request will be nudged with, in the order asked (reminders first).
pub fn plan(
    reminders: Option<&[ReminderAsk]>,
    escalations: Option<&[EscalationAsk]>,
    config: &Config,
    approvers: &[Address],
    requested_by: Option<&Address>,
    expires_in: u64,
) -> Result<Vec<PlannedNudge>, SendEmailError> {
    let mut planned = Vec::new();
    match reminders {
        Some(asked) => {
            limit("Approval.Reminders", asked.len())?;
            for (i, reminder) in asked.iter().enumerate() {
                let field = format!("Approval.Reminders[{i}].AfterSeconds");
                before_expiry(&field, reminder.after_seconds, expires_in)?;
                planned.push(PlannedNudge {
                    after_seconds: reminder.after_seconds,
                    kind: NudgeKind::Reminder,
                });
            }
        }
        // The stack's default only where it comes before the expiry: a request that expires
        // sooner simply gets none.
        None if config.reminder_after_seconds > 0 && config.reminder_after_seconds < expires_in => {
            planned.push(PlannedNudge {
                after_seconds: config.reminder_after_seconds,
                kind: NudgeKind::Reminder,
            });
        }
        None => {}
    }
    let escalations = escalations.unwrap_or_default();
    limit("Approval.Escalations", escalations.len())?;
    let mut added: Vec<Address> = Vec::new();
    for (i, escalation) in escalations.iter().enumerate() {
        let field = format!("Approval.Escalations[{i}]");
        before_expiry(
            &format!("{field}.AfterSeconds"),
            escalation.after_seconds,
            expires_in,
        )?;
        if escalation.add_approvers.is_empty() {
            return Err(invalid(format!("`{field}.AddApprovers` is empty")));
        }
        let mut add = Vec::new();
        for (j, raw) in escalation.add_approvers.iter().enumerate() {
            let field = format!("{field}.AddApprovers[{j}]");
            let address = Address::parse(raw).map_err(|e| invalid(format!("`{field}` {e}")))?;
            if !config.approvers.contains(&address) {
                return Err(invalid(format!(
                    "`{field}` `{address}` is not an approver of this stack (Email / AdditionalApprovers)"
                )));
            }
            if Some(&address) == requested_by {
                return Err(invalid(format!(
                    "`{field}` `{address}` is the requester, who may not approve their own request"
                )));
            }
            if approvers.contains(&address) || added.contains(&address) {
                return Err(invalid(format!(
                    "`{field}` `{address}` is already an approver of this request"
                )));
            }
            added.push(address.clone());
            add.push(address);
        }
        planned.push(PlannedNudge {
            after_seconds: escalation.after_seconds,
            kind: NudgeKind::Escalation { add },
        });
    }
    if !planned.is_empty() && config.nudges.is_none() {
        return Err(invalid(
            "this gate schedules no reminders or escalations (its SCHEDULE_GROUP is not set)",
        ));
    }
    Ok(planned)
}

fn limit(field: &str, count: usize) -> Result<(), SendEmailError> {
    if count > MAX_EACH {
        return Err(invalid(format!(
            "`{field}` has {count} entries; at most {MAX_EACH}"
        )));
    }
    Ok(())
}

fn before_expiry(field: &str, after_seconds: u64, expires_in: u64) -> Result<(), SendEmailError> {
    if after_seconds == 0 || after_seconds >= expires_in {
        return Err(invalid(format!(
            "`{field}` is {after_seconds}, but must be 1 to {} (before the request expires, {expires_in} s after it opens)",
            expires_in.saturating_sub(1)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use approval_domain::memory::fixtures;

    use super::*;
    use crate::config::tests::config;

    fn reminder(after_seconds: u64) -> ReminderAsk {
        ReminderAsk { after_seconds }
    }

    fn escalation(after_seconds: u64, add: &[&str]) -> EscalationAsk {
        EscalationAsk {
            after_seconds,
            add_approvers: add.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    fn err(result: Result<Vec<PlannedNudge>, SendEmailError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn reminders_and_escalations_are_planned_in_order() {
        let config = config();
        let asked = [fixtures::approver(0)];
        let planned = plan(
            Some(&[reminder(600), reminder(1200)]),
            Some(&[escalation(1800, &["approver2@example.com"])]),
            &config,
            &asked,
            Some(&fixtures::approver(1)),
            3600,
        )
        .unwrap();
        assert_eq!(planned.len(), 3);
        assert_eq!(planned[1].after_seconds, 1200);
        assert_eq!(
            planned[2].kind,
            NudgeKind::Escalation {
                add: vec![fixtures::approver(2)]
            }
        );
    }

    #[test]
    fn each_wrong_nudge_is_named() {
        let config = config();
        let asked = [fixtures::approver(0)];
        let requester = fixtures::approver(1);
        let check = |r: Option<&[ReminderAsk]>, e: Option<&[EscalationAsk]>| {
            err(plan(r, e, &config, &asked, Some(&requester), 3600))
        };
        let six: Vec<ReminderAsk> = (1..=6).map(|n| reminder(n * 60)).collect();
        for (got, says) in [
            (
                check(Some(&six), None),
                "`Approval.Reminders` has 6 entries; at most 5",
            ),
            (
                check(Some(&[reminder(3600)]), None),
                "`Approval.Reminders[0].AfterSeconds` is 3600, but must be 1 to 3599",
            ),
            (
                check(Some(&[reminder(0)]), None),
                "`Approval.Reminders[0].AfterSeconds` is 0",
            ),
            (
                check(None, Some(&[escalation(60, &[])])),
                "`Approval.Escalations[0].AddApprovers` is empty",
            ),
            (
                check(None, Some(&[escalation(60, &["mallory@example.com"])])),
                "`Approval.Escalations[0].AddApprovers[0]` `mallory@example.com` is not an approver of this stack",
            ),
            (
                check(None, Some(&[escalation(60, &["approver1@example.com"])])),
                "is the requester",
            ),
            (
                check(None, Some(&[escalation(60, &["approver0@example.com"])])),
                "is already an approver of this request",
            ),
            (
                check(None, Some(&[escalation(60, &["not an address"])])),
                "`Approval.Escalations[0].AddApprovers[0]`",
            ),
        ] {
            assert!(got.contains(says), "{got}\nwanted: {says}");
        }
    }

    #[test]
    fn the_stacks_default_reminder_comes_only_before_the_expiry_and_nudges_need_a_group() {
        let mut config = config();
        config.reminder_after_seconds = 900;
        let asked = [fixtures::approver(0)];
        let planned = plan(None, None, &config, &asked, None, 3600).unwrap();
        assert_eq!(planned[0].after_seconds, 900);
        assert!(
            plan(None, None, &config, &asked, None, 600)
                .unwrap()
                .is_empty()
        );
        assert!(
            plan(Some(&[]), None, &config, &asked, None, 3600)
                .unwrap()
                .is_empty(),
            "an empty list asks for none"
        );
        config.nudges = None;
        assert!(
            err(plan(
                Some(&[reminder(60)]),
                None,
                &config,
                &asked,
                None,
                3600
            ))
            .contains("schedules no reminders")
        );
    }
}
