//! One invocation: verify with Step Functions, store the request, email each approver, answer;
//! then, after the answer, record who was emailed. Nothing is stored unless Step Functions vouches
//! for the payload, and nothing is sent unless the request is stored.

use approval_aws::after_answer::Followups;
use approval_domain::{
    ApprovalRequest, Credential, Timestamp,
    ports::{Created, Notifier, PortError, Replaced, RequestStore, Tasks},
    scheduled::{self, Untrusted},
};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tracing::{error, info, warn};

use crate::{Config, SendEmailError, approval, email, payload::Invocation};

/// The function: its ports and its settings, read once.
pub struct SendEmail<S, N, T> {
    pub store: S,
    pub notifier: N,
    pub tasks: T,
    pub config: Result<Config, String>,
    pub clock: fn() -> Timestamp,
    /// Requests whose approvers were all emailed, to be recorded so by [`SendEmail::after_answer`].
    pub followups: Followups<ApprovalRequest>,
}

impl<S: RequestStore, N: Notifier, T: Tasks> SendEmail<S, N, T> {
    /// Records who was emailed, once the answer is posted (the runtime calls this before it
    /// takes the next event: [`approval_aws::after_answer`]). Step Functions waits for neither
    /// this write nor its outcome: the links work without it; only a retry of the same task reads
    /// it (to email just the approvers not yet emailed).
    pub async fn after_answer(&self) {
        for request in self.followups.take() {
            if let Err(err) = self.write(&request).await {
                warn!(request_id = %request.request_id, %err, "who was emailed is not recorded; their links work, but a retry of this task would email them again with new links");
            }
        }
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, SendEmailError> {
        self.handle_inner(payload).await.inspect_err(|err| match err {
            SendEmailError::InvalidInput(_) | SendEmailError::Untrusted(_) | SendEmailError::Misconfigured(_) => {
                error!(error_type = err.error_type(), %err, "refused; nothing stored or sent")
            }
            _ => warn!(error_type = err.error_type(), %err, "failed; the state machine's Retry tries again"),
        })
    }

    async fn handle_inner(&self, payload: Value) -> Result<Value, SendEmailError> {
        let config = self
            .config
            .as_ref()
            .map_err(|err| SendEmailError::Misconfigured(err.clone()))?;
        let invocation = Invocation::parse(&payload).map_err(SendEmailError::InvalidInput)?;
        if let Some(endpoint) = &invocation.api_gateway_endpoint
            && endpoint.trim_end_matches('/') != config.api_url
        {
            return Err(Untrusted::Endpoint(endpoint.clone()).into());
        }
        let execution_arn = &invocation.execution_context.execution.id;
        let execution = self
            .tasks
            .execution(execution_arn)
            .await
            .map_err(|err| SendEmailError::VerifyFailed(err.to_string()))?
            .ok_or_else(|| Untrusted::NoSuchExecution(execution_arn.clone()))?;
        let task = scheduled::verify(&payload, &execution, &config.trusted_state_machines)?;

        let now = (self.clock)();
        let asked = approval::new_request(
            &invocation,
            config,
            &execution.state_machine_arn,
            task.timeout_seconds,
            now,
        )?;
        let (mut request, credentials) = ApprovalRequest::open(asked);
        let to_notify = match self.store.create(&request).await.map_err(store_failed)? {
            Created::New => credentials.into_iter().enumerate().collect(),
            Created::Exists(existing) => {
                // A retry of this very task: its approvers already mailed keep their links.
                request = *existing;
                let reissued = request.reissue_unnotified();
                if !reissued.is_empty() {
                    self.write(&request).await?;
                }
                reissued
            }
        };
        let notified = self.notify(&request, &to_notify, config).await;
        let sent: Vec<usize> = notified
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(slot, _)| *slot)
            .collect();
        if !sent.is_empty() {
            request.mark_notified(&sent, (self.clock)());
        }
        let failed: Vec<String> = notified
            .into_iter()
            .filter_map(|(slot, r)| {
                r.err()
                    .map(|e| format!("{}: {e}", request.approvers[slot].address))
            })
            .collect();
        if !failed.is_empty() {
            // The state machine's Retry comes next: it must find who already has their email.
            if !sent.is_empty() {
                self.write(&request).await?;
            }
            return Err(SendEmailError::PublishFailed(failed.join("; ")));
        }
        info!(
            request_id = %request.request_id,
            execution = request.execution_name(),
            approvers = request.approvers.len(),
            required = request.required_approvals,
            emailed = sent.len(),
            expires_at = %request.expires_at,
            "approval request open"
        );
        let answer = json!({ "RequestId": request.request_id.to_string(), "Emailed": sent.len() });
        if !sent.is_empty() {
            self.followups.push(request);
        }
        Ok(answer)
    }

    /// Publishes each approver's email at once; the result of each, by slot.
    async fn notify(
        &self,
        request: &ApprovalRequest,
        to_notify: &[(usize, Credential)],
        config: &Config,
    ) -> Vec<(usize, Result<(), PortError>)> {
        let sends = to_notify.iter().map(|(slot, credential)| {
            let message = email::approval_email(
                request,
                *slot,
                credential,
                &config.api_url,
                config.link_mode,
            );
            async move { (*slot, self.notifier.send(&message).await) }
        });
        join_all(sends).await
    }

    async fn write(&self, request: &ApprovalRequest) -> Result<(), SendEmailError> {
        match self.store.replace(request).await.map_err(store_failed)? {
            Replaced::Written => Ok(()),
            Replaced::Conflict => Err(SendEmailError::StoreFailed(
                "another invocation changed the request at the same moment".into(),
            )),
        }
    }
}

fn store_failed(err: PortError) -> SendEmailError {
    SendEmailError::StoreFailed(err.to_string())
}
