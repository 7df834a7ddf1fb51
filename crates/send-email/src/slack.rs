//! Slack, as send-email tells it: who each approver is in the workspace (looked up by address
//! when the request opens, kept in the record), the request's messages (a DM to each approver
//! found, or one in the stack's channel), their updates whenever the record's view changes
//! ([`approval_domain::slack`]), and reminders in their threads.
//!
//! A Slack failure worth retrying fails the invocation the same way as an email that did not go
//! out (`SendEmail.PublishFailed`: the state machine's Retry posts only what is not posted yet);
//! a refused bot token is `SendEmail.Misconfigured`. An approver the workspace does not know is
//! reached by email when email is on; otherwise the request is refused naming them.

use approval_aws::{EmailDelivery, settings::ConfigError};
use approval_domain::{
    Address, ApprovalRequest, Measure, SlackPost, SlackUser,
    ports::{
        EventBus, Meter, Notifier, PortError, RequestStore, Scheduler, SlackPosts, SlackTarget,
        Tasks,
    },
};
use approval_slack::{SlackDelivery, blocks};
use futures_util::{StreamExt as _, stream};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::{SendEmail, SendEmailError, error::Unpublished, handler::within};

/// How many lookups or posts are in flight at once (Slack's rate tiers allow about one a
/// second per method, with bursts; the client honours `Retry-After`).
pub const MAX_CONCURRENT_SLACK_CALLS: usize = 4;

impl<S, N, T, E, M, C, K> SendEmail<S, N, T, E, M, C, K>
where
    S: RequestStore,
    N: Notifier,
    T: Tasks,
    E: EventBus,
    M: Meter,
    C: Scheduler,
    K: SlackPosts,
{
    /// Who each of `approvers` is in Slack, in order (`None`: not in the workspace, or Slack
    /// off). With email off, an approver Slack does not know is reached by nobody: refused.
    pub(crate) async fn find_in_slack(
        &self,
        approvers: &[Address],
        deadline: Instant,
    ) -> Result<Vec<Option<SlackUser>>, SendEmailError> {
        let Some(slack) = &self.slack else {
            return Ok(vec![None; approvers.len()]);
        };
        let lookups = approvers.iter().map(|address| async move {
            (address, within(deadline, slack.find_user(address)).await)
        });
        let found: Vec<_> = stream::iter(lookups)
            .buffered(MAX_CONCURRENT_SLACK_CALLS)
            .collect()
            .await;
        let mut users = Vec::with_capacity(found.len());
        let mut unavailable = Vec::new();
        for (address, result) in found {
            match result {
                Ok(user) => users.push(user),
                Err(PortError::Failed(why)) => {
                    return Err(SendEmailError::Misconfigured(ConfigError::new(format!(
                        "Slack refused to look up approvers ({why}): check the bot token in SLACK_SECRET_ARN and its scopes users:read and users:read.email"
                    ))));
                }
                Err(error @ PortError::Unavailable(_)) => {
                    unavailable.push(Unpublished {
                        approver: address.clone(),
                        error,
                    });
                    users.push(None);
                }
            }
        }
        if !unavailable.is_empty() {
            return Err(SendEmailError::PublishFailed(unavailable));
        }
        let unknown: Vec<String> = approvers
            .iter()
            .zip(&users)
            .filter(|(_, user)| user.is_none())
            .map(|(address, _)| format!("`{address}`"))
            .collect();
        if self.config.email == EmailDelivery::Off && !unknown.is_empty() {
            return Err(SendEmailError::InvalidInput(format!(
                "no channel reaches approver {}: email is off (EmailDelivery `none`) and Slack has no user with that address (users_not_found)",
                unknown.join(", ")
            )));
        }
        if !unknown.is_empty() {
            info!(
                approvers = unknown.join(", "),
                "not in Slack: reached by email only"
            );
        }
        Ok(users)
    }

    /// Posts `request`'s messages not posted yet: a DM to each approver found in Slack, or the
    /// one message in the channel. The messages posted, and who was not reached.
    pub(crate) async fn post_to_slack(
        &self,
        request: &ApprovalRequest,
        deadline: Instant,
    ) -> (Vec<SlackPost>, Vec<Unpublished>) {
        let (Some(slack), Some(settings)) = (&self.slack, &self.config.slack) else {
            return (Vec::new(), Vec::new());
        };
        let in_slack = request
            .approvers
            .iter()
            .enumerate()
            .filter_map(|(slot, entry)| entry.slack.clone().map(|user| (slot, user)));
        let targets: Vec<(Vec<usize>, SlackTarget)> = match &settings.delivery {
            SlackDelivery::Direct => in_slack
                .filter(|(slot, _)| !request.has_direct_post(*slot))
                .map(|(slot, user)| (vec![slot], SlackTarget::Direct { slot, user }))
                .collect(),
            SlackDelivery::Channel(channel) if !request.has_channel_post() => {
                vec![(
                    in_slack.map(|(slot, _)| slot).collect(),
                    SlackTarget::Channel(channel.clone()),
                )]
            }
            SlackDelivery::Channel(_) => Vec::new(),
        };
        let posts = targets.into_iter().map(|(slots, target)| async move {
            (slots, within(deadline, slack.post(&target, request)).await)
        });
        let results: Vec<_> = stream::iter(posts)
            .buffer_unordered(MAX_CONCURRENT_SLACK_CALLS)
            .collect()
            .await;
        let mut posted = Vec::new();
        let mut failed = Vec::new();
        for (slots, result) in results {
            match result {
                Ok(post) => posted.push(post),
                Err(error) => failed.extend(slots.into_iter().map(|slot| Unpublished {
                    approver: request.approvers[slot].address.clone(),
                    error: error.clone(),
                })),
            }
        }
        (posted, failed)
    }

    /// Has every message of `request` that does not show its view yet show it. The messages
    /// now showing it (by index), and an error worth retrying, if one was left. A message Slack
    /// refuses to update (deleted, the app removed from the channel) is logged, counted and
    /// counted as shown: trying again would not help.
    pub(crate) async fn update_slack(
        &self,
        request: &ApprovalRequest,
        deadline: Instant,
    ) -> (Vec<usize>, Option<PortError>) {
        let stale = request.stale_slack_posts();
        let Some(slack) = &self.slack else {
            return (Vec::new(), None);
        };
        if stale.is_empty() {
            return (Vec::new(), None);
        }
        let updates = stale.into_iter().map(|index| async move {
            let post = &request.slack_posts[index];
            (index, within(deadline, slack.update(post, request)).await)
        });
        let results: Vec<_> = stream::iter(updates)
            .buffer_unordered(MAX_CONCURRENT_SLACK_CALLS)
            .collect()
            .await;
        let mut shown = Vec::new();
        let mut retry = None;
        for (index, result) in results {
            match result {
                Ok(()) => shown.push(index),
                Err(err @ PortError::Unavailable(_)) => {
                    warn!(request_id = %request.request_id, %err, "a Slack message was not updated; the change is handed over again");
                    retry = Some(err);
                }
                Err(err @ PortError::Failed(_)) => {
                    error!(request_id = %request.request_id, %err, "Slack refused to update a message; it keeps what it showed");
                    self.meter.count(Measure::DeliveryFailed {
                        state_machine: Some(request.state_machine_name().to_owned()),
                        channel: "slack",
                    });
                    shown.push(index);
                }
            }
        }
        (shown, retry)
    }

    /// Posts a reminder in the thread of each message that an approver who has not voted can
    /// see: their DM, or the channel's message if any of them is in Slack. How many it reached.
    pub(crate) async fn remind_in_slack(
        &self,
        request: &ApprovalRequest,
        deadline: Instant,
    ) -> usize {
        let Some(slack) = &self.slack else {
            return 0;
        };
        let unvoted = |slot: usize| {
            request
                .approver(slot)
                .is_some_and(|address| request.vote_of(address).is_none())
        };
        let anyone_unvoted_in_slack = request
            .approvers
            .iter()
            .enumerate()
            .any(|(slot, entry)| entry.slack.is_some() && unvoted(slot));
        let text = blocks::reminder_text(request);
        let mut told = 0;
        for post in &request.slack_posts {
            let due = match post.slot {
                Some(slot) => unvoted(slot),
                None => anyone_unvoted_in_slack,
            };
            if !due {
                continue;
            }
            match within(deadline, slack.reply(post, &text)).await {
                Ok(()) => told += 1,
                Err(err) => {
                    warn!(request_id = %request.request_id, %err, "a Slack reminder did not go out");
                    self.meter.count(Measure::DeliveryFailed {
                        state_machine: Some(request.state_machine_name().to_owned()),
                        channel: "slack",
                    });
                }
            }
        }
        told
    }
}
