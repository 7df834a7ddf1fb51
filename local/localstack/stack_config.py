"""What a local stack is asked to be: ports, approvers, the email and Slack channels, timeouts,
extra state machines, log levels (`LocalStack(StackConfig(...))`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .common import REPO_ROOT
from .slack_emulator import CHANNEL_ID
from .workflow import StateMachineSpec

# The first `cargo lambda watch` request compiles the workspace: minutes on a cold 2-core machine.
DEFAULT_BUILD_TIMEOUT_S = 45 * 60
DEFAULT_SENDER = "approvals@example.com"


@dataclasses.dataclass
class StackConfig:
    moto_port: int = 5005
    # The functions' port (the links, the Invoke API): the front; watch itself listens on a free port.
    lambda_port: int = 9000
    page_port: int = 9001
    approvers: tuple[str, ...] = ("approver@example.com",)  # APPROVERS: the stack's approvers, in order
    link_mode: str = "confirm"
    # EMAIL_DELIVERY: "sns" (the topic, one filtered SQS inbox per approver), "ses" (SESv2
    # SendEmail from `sender_address`, verified in moto at start; no topic) or "none".
    email_delivery: str = "sns"
    sender_address: str = DEFAULT_SENDER  # SENDER_ADDRESS with "ses"
    approval_timeout_seconds: int = 3600  # the main state machine's task TimeoutSeconds
    default_expiry_seconds: int = 3600  # DEFAULT_EXPIRY_SECONDS (the template's ApprovalTimeoutSeconds)
    retention_days: int = 30  # RETENTION_DAYS
    # More state machines from the same ASL file (a short timeout, a caller's); the trusted ones go
    # into TRUSTED_STATE_MACHINE_ARNS. All are created before the functions start.
    extra_state_machines: tuple[StateMachineSpec, ...] = ()
    work_dir: Path = REPO_ROOT / ".local-stack"
    build_timeout_s: float = DEFAULT_BUILD_TIMEOUT_S
    # RUST_LOG of cargo lambda watch itself: at debug it logs every request URI, links included.
    rust_log: str = "info"
    function_log_level: str = "info"  # AWS_LAMBDA_LOG_LEVEL of both functions (read before RUST_LOG)
    # REMINDER_AFTER_SECONDS (template.yaml's ReminderAfterSeconds): a reminder for every request
    # whose payload names none; 0: none.
    reminder_after_seconds: int = 0
    # SLACK_DELIVERY: "none", "dm" (a DM to each approver Slack knows) or "channel" (one message in
    # `slack_channel_id`). With dm or channel, Slack's Web API is emulated (`stack.slack`); the
    # approvers in `slack_missing` are not users of its workspace (users_not_found).
    slack_delivery: str = "none"
    slack_channel_id: str = CHANNEL_ID
    slack_missing: tuple[str, ...] = ()
