//! One invocation, told apart by its shape: a batch of the table's changes ([`crate::changes`]:
//! tell approvers what each change left untold, put its events), an expiry notice
//! ([`crate::expiry`]), an execution's status change ([`crate::execution_ended`]), or, here,
//! a waiting task from Step Functions: verify with Step Functions, store the request, email each
//! approver, record who was emailed, answer.
//!
//! For a task: nothing is stored unless Step Functions vouches for the payload, and
//! nothing is sent unless the request is stored. Every call takes its share of one deadline for
//! the whole invocation ([`crate::INVOCATION_DEADLINE`]): past it, the call is abandoned as
//! worth retrying, and the state machine's Retry comes before Lambda would kill the function.

use approval_aws::{EmailDelivery, settings::ConfigError};
use approval_domain::{
    ApprovalRequest, ExecutionArn, GateEvent, LinkCredentials, Measure, Reached, Timestamp,
    nudge::schedule_name,
    ports::{
        Created, EventBus, Message, Meter, Notifier, PortError, Replaced, RequestStore, Scheduler,
        SlackPosts, Tasks,
    },
    scheduled::{self, Untrusted},
    text::{quote_for_error, quote_up_to},
};
use futures_util::{StreamExt as _, stream};
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::{
    Config, INVOCATION_DEADLINE, SendEmailError, approval, email,
    error::Unpublished,
    invocation::{Invoked, nudge_input},
    payload::Invocation,
};

/// How many emails are on their way at once: enough that 50 approvers take a few round trips,
/// not 50 connections at once; SES's send rate (14 a second by default, 1 in the sandbox) is
/// met by the SDK's retries of a throttled send, and a send still throttled after them is
/// retried by the state machine (only the approvers not yet mailed).
pub const MAX_CONCURRENT_SENDS: usize = 10;

/// How often a write (told, expired) is tried when the record changed meanwhile.
pub(crate) const MAX_WRITE_ATTEMPTS: usize = 3;

/// The function as it started: ready, or misconfigured, in which case every invocation fails with
/// `SendEmail.Misconfigured` naming the setting (no adapters are built for settings that are not
/// there).
pub enum Function<S, N, T, E, M, C, K> {
    /// Boxed: the ready function is large, the misconfigured one a message; built once.
    Ready(Box<SendEmail<S, N, T, E, M, C, K>>),
    Misconfigured(ConfigError),
}

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    Function<S, N, T, E, M, C, K>
{
    pub async fn handle(&self, payload: Value) -> Result<Value, SendEmailError> {
        match self {
            Function::Ready(function) => function.handle(payload).await,
            Function::Misconfigured(err) => {
                error!(%err, "send-email is misconfigured: nothing is read, stored or sent");
                Err(SendEmailError::Misconfigured(err.clone()))
            }
        }
    }
}

/// The ready function: its ports and its settings, read once.
pub struct SendEmail<S, N, T, E, M, C, K> {
    pub store: S,
    pub notifier: N,
    pub tasks: T,
    /// Where the gate's events go (`None`: no bus configured, none are put).
    pub events: Option<E>,
    pub meter: M,
    /// Where reminders' and escalations' schedules go (`None`: nudges are off).
    pub scheduler: Option<C>,
    /// Slack's Web API, with the app's bot token (`None`: Slack is off; `config.slack` says how
    /// approvers are reached there).
    pub slack: Option<K>,
    pub config: Config,
    pub clock: fn() -> Timestamp,
}

impl<S: RequestStore, N: Notifier, T: Tasks, E: EventBus, M: Meter, C: Scheduler, K: SlackPosts>
    SendEmail<S, N, T, E, M, C, K>
{
    pub async fn handle(&self, payload: Value) -> Result<Value, SendEmailError> {
        let deadline = Instant::now() + INVOCATION_DEADLINE;
        // Boxed: the two paths' futures nested in one are deeper than the compiler's limit.
        let handled = match Invoked::of(&payload) {
            Invoked::TableChanges => Box::pin(self.tell_changes(payload, deadline)).await,
            Invoked::ExpiryNotice => Box::pin(self.record_expiry(payload, deadline)).await,
            Invoked::StatusChange => Box::pin(self.end_with_execution(payload, deadline)).await,
            Invoked::Nudge => Box::pin(self.nudge(payload, deadline)).await,
            Invoked::Verification => Box::pin(self.verify_decision(payload, deadline)).await,
            Invoked::Task => self.open_request(payload, deadline).await,
        };
        handled.inspect_err(|err| {
            if err.is_retryable() {
                warn!(error_type = err.error_type(), %err, "failed; the state machine's Retry tries again")
            } else {
                error!(error_type = err.error_type(), %err, "refused; the same payload fails the same way again")
            }
        })
    }

    async fn open_request(
        &self,
        payload: Value,
        deadline: Instant,
    ) -> Result<Value, SendEmailError> {
        let config = &self.config;
        let invocation = Invocation::parse(&payload).map_err(SendEmailError::InvalidInput)?;
        if let Some(endpoint) = &invocation.api_gateway_endpoint
            && endpoint.trim_end_matches('/') != config.api_url
        {
            return Err(Untrusted::Endpoint(quote_for_error(endpoint)).into());
        }
        // Anything but a standard execution's ARN names no execution: not looked up. An
        // execution ARN is at most 2,048 characters: named whole, its controls escaped.
        let id = &invocation.execution_context.execution.id;
        let no_such_execution = || Untrusted::NoSuchExecution(quote_up_to(id, 2048));
        let execution_arn = ExecutionArn::parse(id).ok_or_else(no_such_execution)?;
        let execution = within(deadline, self.tasks.execution(&execution_arn))
            .await
            .map_err(SendEmailError::VerifyFailed)?
            .ok_or_else(no_such_execution)?;
        let task = scheduled::verify(&payload, &execution, &config.trusted_state_machines)?;

        let now = (self.clock)();
        let asked = approval::new_request(
            &invocation,
            config,
            execution_arn,
            &execution.state_machine_arn,
            task,
            now,
        )?;
        let approvers = asked.approvers.clone();
        let (request, credentials) = ApprovalRequest::open(asked);
        let slack_users = self.find_in_slack(&approvers, deadline).await?;
        let mut request = request.with_slack_users(slack_users);
        let created = within(deadline, self.store.create(&request)).await;
        let to_notify = match created.map_err(SendEmailError::StoreFailed)? {
            Created::New => credentials.into_iter().enumerate().collect(),
            Created::Exists(existing) => {
                // A retry of this very task: its approvers already mailed keep their links.
                request = *existing;
                let reissued = request.reissue_unnotified();
                if !reissued.is_empty() {
                    self.write(&request, deadline).await?;
                }
                reissued
            }
        };
        let notified = if config.email == EmailDelivery::Off {
            Vec::new()
        } else {
            self.notify(&request, &to_notify, config, deadline).await
        };
        let sent: Vec<usize> = notified
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(slot, _)| *slot)
            .collect();
        let (posted, unposted) = self.post_to_slack(&request, deadline).await;
        let reached = Reached {
            emailed: sent.clone(),
            found: Vec::new(),
            posted,
        };
        request.record_reached(&reached, (self.clock)());
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
            // The state machine's Retry comes next: it must find who already has their email
            // and which messages are posted.
            if !reached.is_empty() {
                self.record_notified(&request, &reached, deadline).await?;
            }
            return Err(SendEmailError::PublishFailed(failed));
        }
        self.schedule_nudges(&request, deadline).await;
        info!(
            request_id = %request.request_id,
            execution = request.execution_name(),
            approvers = request.approvers.len(),
            required = request.required_approvals,
            emailed = sent.len(),
            slack_messages = reached.posted.len(),
            expires_at = %request.expires_at,
            "approval request open"
        );
        // Only a retry of this task reads who was emailed (to email just the others); the links
        // work without it, so a failed write is logged, not failed: failing would have the Retry
        // mail everyone fresh links and kill the ones they hold. The Slack messages are recorded
        // by the same write; without it they are not updated as the request changes.
        if !reached.is_empty()
            && let Err(err) = self.record_notified(&request, &reached, deadline).await
        {
            warn!(request_id = %request.request_id, %err, "who was reached is not recorded; their links and buttons work, but a retry of this task would reach them again, and the Slack messages will not follow the request");
        }
        let mut answer =
            json!({ "RequestId": request.request_id.to_string(), "Emailed": sent.len() });
        if self.config.slack.is_some() {
            answer["SlackMessages"] = json!(reached.posted.len());
        }
        Ok(answer)
    }

    /// Sends each approver's email, [`MAX_CONCURRENT_SENDS`] at a time; the result of each, by
    /// slot. With SES the email has an HTML part beside the text.
    pub(crate) async fn notify(
        &self,
        request: &ApprovalRequest,
        to_notify: &[(usize, LinkCredentials)],
        config: &Config,
        deadline: Instant,
    ) -> Vec<(usize, Result<(), PortError>)> {
        let html = matches!(config.email, EmailDelivery::Ses { .. });
        let messages = to_notify.iter().map(|(slot, credentials)| {
            let message = email::approval_email(
                request,
                *slot,
                credentials,
                &config.api_url,
                config.link_mode,
                html,
            );
            (*slot, message)
        });
        self.send_all(messages, deadline).await
    }

    /// Sends each message, [`MAX_CONCURRENT_SENDS`] at a time; the result of each, by its key.
    pub(crate) async fn send_all<Key>(
        &self,
        messages: impl IntoIterator<Item = (Key, Message)>,
        deadline: Instant,
    ) -> Vec<(Key, Result<(), PortError>)> {
        let sends = messages.into_iter().map(|(key, message)| async move {
            (key, within(deadline, self.notifier.send(&message)).await)
        });
        stream::iter(sends)
            .buffer_unordered(MAX_CONCURRENT_SENDS)
            .collect()
            .await
    }

    /// Creates the schedule of each nudge of `request` not fired yet (a retried invocation asks
    /// for the same names again: none is created twice). One that cannot be created is logged,
    /// counted and put as an `Approval Delivery Failed`; the request stays open without it.
    async fn schedule_nudges(&self, request: &ApprovalRequest, deadline: Instant) {
        let Some(scheduler) = &self.scheduler else {
            return;
        };
        let mut failed = Vec::new();
        for (index, nudge) in request.nudges.iter().enumerate() {
            if nudge.fired_at.is_some() {
                continue;
            }
            let name = schedule_name(&request.request_id, index);
            let input = nudge_input(&request.request_id, index);
            if let Err(err) = within(deadline, scheduler.schedule(&name, nudge.at, &input)).await {
                error!(request_id = %request.request_id, schedule = name, %err, "a nudge's schedule was not created; the request is open without it");
                self.meter.count(Measure::DeliveryFailed {
                    state_machine: Some(request.state_machine_name().to_owned()),
                    channel: "schedule",
                });
                let reason = format!("the schedule of nudge {index} (due {}): {err}", nudge.at);
                failed.push(GateEvent::delivery_failed(
                    request,
                    "schedule",
                    reason,
                    (self.clock)(),
                ));
            }
        }
        if let Err(err) = self.put_events(request, &failed, deadline).await {
            warn!(request_id = %request.request_id, %err, "the schedules' failures were not put");
        }
    }

    /// The same for the approvers Slack messages did not reach.
    pub(crate) async fn slack_failed(
        &self,
        request: &ApprovalRequest,
        failed: &[Unpublished],
        deadline: Instant,
    ) {
        self.failed_on("slack", request, failed, deadline).await;
    }

    /// Counts each approver `failed` did not reach and puts an `Approval Delivery Failed` for
    /// each (best effort: a bus that fails too is logged and counted, nothing more).
    pub(crate) async fn delivery_failed(
        &self,
        request: &ApprovalRequest,
        failed: &[Unpublished],
        deadline: Instant,
    ) {
        self.failed_on("email", request, failed, deadline).await;
    }

    async fn failed_on(
        &self,
        channel: &'static str,
        request: &ApprovalRequest,
        failed: &[Unpublished],
        deadline: Instant,
    ) {
        if failed.is_empty() {
            return;
        }
        let now = (self.clock)();
        let events: Vec<GateEvent> = failed
            .iter()
            .map(|unsent| {
                self.meter.count(Measure::DeliveryFailed {
                    state_machine: Some(request.state_machine_name().to_owned()),
                    channel,
                });
                let reason = format!("{channel} to {}: {}", unsent.approver, unsent.error);
                GateEvent::delivery_failed(request, channel, reason, now)
            })
            .collect();
        if let Err(err) = self.put_events(request, &events, deadline).await {
            warn!(request_id = %request.request_id, %err, "the delivery failures' events were not put");
        }
    }

    /// Puts `events` of `request` on the bus, if there is one; a failure is logged and counted
    /// here, and returned.
    pub(crate) async fn put_events(
        &self,
        request: &ApprovalRequest,
        events: &[GateEvent],
        deadline: Instant,
    ) -> Result<(), PortError> {
        let Some(bus) = &self.events else {
            return Ok(());
        };
        if events.is_empty() {
            return Ok(());
        }
        let put = within(deadline, bus.put(events)).await;
        if let Err(err) = &put {
            error!(request_id = %request.request_id, %err, events = events.len(), "the gate's events were not put");
            self.meter.count(Measure::DeliveryFailed {
                state_machine: Some(request.state_machine_name().to_owned()),
                channel: "events",
            });
        }
        put
    }

    /// Writes `request`, in which `reached` was just recorded. The table's stream has
    /// send-email record the events it put on every change, so the record may be one version on:
    /// then `reached` is recorded again on it, as long as the approvers emailed still hold the
    /// links they were sent (a concurrent retry of the task may have issued others).
    pub(crate) async fn record_notified(
        &self,
        request: &ApprovalRequest,
        reached: &Reached,
        deadline: Instant,
    ) -> Result<(), SendEmailError> {
        let sent = &reached.emailed;
        let mut writing = request.clone();
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let replaced = within(deadline, self.store.replace(&writing)).await;
            match replaced.map_err(SendEmailError::StoreFailed)? {
                Replaced::Written => return Ok(()),
                Replaced::Conflict => {}
            }
            let read = within(deadline, self.store.get(&request.request_id)).await;
            let Some(mut fresh) = read.map_err(SendEmailError::StoreFailed)? else {
                break;
            };
            let same_links = sent.iter().all(|&slot| {
                fresh.approvers.get(slot).map(|e| &e.link_hashes)
                    == request.approvers.get(slot).map(|e| &e.link_hashes)
            });
            if !same_links {
                break;
            }
            fresh.record_reached(reached, (self.clock)());
            writing = fresh;
        }
        Err(SendEmailError::StoreFailed(PortError::Unavailable(
            "another invocation changed the request at the same moment".into(),
        )))
    }

    pub(crate) async fn write(
        &self,
        request: &ApprovalRequest,
        deadline: Instant,
    ) -> Result<(), SendEmailError> {
        let replaced = within(deadline, self.store.replace(request)).await;
        match replaced.map_err(SendEmailError::StoreFailed)? {
            Replaced::Written => Ok(()),
            Replaced::Conflict => Err(SendEmailError::StoreFailed(PortError::Unavailable(
                "another invocation changed the request at the same moment".into(),
            ))),
        }
    }
}

/// `call`, abandoned at `deadline` as worth retrying.
pub(crate) async fn within<T>(
    deadline: Instant,
    call: impl Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or_else(|_| {
            Err(PortError::Unavailable(
                "no answer before the invocation's deadline".into(),
            ))
        })
}
