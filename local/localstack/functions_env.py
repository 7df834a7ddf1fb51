"""The environment of `cargo lambda watch`, which both functions inherit: every variable
template.yaml gives them, with the local stack's values (an unknown one stops the stack), the
channel's, events' and Slack's settings whatever the template declares, the SDK's endpoints (every
AWS call goes to the moto server) and the log levels."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import moto_server, schedule_firer, template
from .common import REGION, REPO_ROOT, StackError
from .gate_events import EVENT_BUS_NAME
from .stack_config import StackConfig

# Set for both functions whatever template.yaml declares (see environment).
CHANNEL_VARIABLES = ("EMAIL_DELIVERY", "SENDER_ADDRESS", "TOPIC_ARN")
EVENT_VARIABLES = ("EVENT_BUS_NAME", "GATE_NAME")
SLACK_VARIABLES = ("SLACK_DELIVERY", "SLACK_CHANNEL_ID", "SLACK_SECRET_ARN", "SLACK_API_URL")
GATE_NAME = "local-gate"  # GATE_NAME: the stack's name (deployed: AWS::StackName), the metrics' Gate dimension


def environment(
    cfg: StackConfig, template_doc: dict[str, Any], progress: Callable[[str], None], *, table_name: str,
    topic_arn: str, api_url: str, state_machine_arn: str, redirect_url: str, slack_secret_arn: str,
    slack_api_url: str, moto_url: str,
) -> dict[str, str]:
    """The environment of cargo lambda watch, inherited by both functions: every variable the
    template gives them, with local values, plus the SDK's endpoints and the log levels."""
    local_values = {
        "REQUESTS_TABLE": table_name,
        "TOPIC_ARN": topic_arn,
        "EMAIL_DELIVERY": cfg.email_delivery,
        "SENDER_ADDRESS": cfg.sender_address if cfg.email_delivery == "ses" else "",
        "LINK_MODE": cfg.link_mode,
        "API_URL": api_url,
        "APPROVERS": ",".join(cfg.approvers),
        "STATE_MACHINE_ARN": state_machine_arn,
        "TRUSTED_STATE_MACHINE_ARNS": ",".join(s.arn for s in cfg.extra_state_machines if s.trusted),
        "DEFAULT_EXPIRY_SECONDS": str(cfg.default_expiry_seconds),
        "RETENTION_DAYS": str(cfg.retention_days),
        "REDIRECT_URL": redirect_url,
        "EVENT_BUS_NAME": EVENT_BUS_NAME,
        "GATE_NAME": GATE_NAME,
        "SCHEDULE_GROUP": schedule_firer.GROUP_NAME,
        "SCHEDULER_ROLE_ARN": schedule_firer.ROLE_ARN,
        "REMINDER_AFTER_SECONDS": str(cfg.reminder_after_seconds),
        "MIN_REQUIRED_APPROVALS": "1",
        "SLACK_DELIVERY": cfg.slack_delivery,
        "SLACK_CHANNEL_ID": cfg.slack_channel_id if cfg.slack_delivery == "channel" else "",
        "SLACK_SECRET_ARN": slack_secret_arn,
        "SLACK_API_URL": slack_api_url,
    }
    names = template.function_variables(template_doc)
    unknown = [name for name in names if name not in local_values]
    if unknown:
        raise StackError(f"template.yaml gives the functions {', '.join(unknown)}: the local stack has no value "
                         f"for it (add one in local/localstack/functions_env.py)")
    progress(f"function settings from template.yaml: {', '.join(names)}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.setdefault("CARGO_TARGET_DIR", str(REPO_ROOT / "target"))  # this checkout's own build
    env.update({name: local_values[name] for name in names})
    # The channel's settings whether or not template.yaml declares them yet: the functions read
    # them (EMAIL_DELIVERY defaults to sns), and the stack's mode must not depend on that.
    env.update({name: local_values[name] for name in CHANNEL_VARIABLES})
    # The same for the events' settings: the stack reads the bus it names.
    env.update({name: local_values[name] for name in EVENT_VARIABLES})
    # And Slack's: SLACK_API_URL is the emulator's (template.yaml leaves it to its default, Slack).
    env.update({name: local_values[name] for name in SLACK_VARIABLES})
    env.update({
        **moto_server.FAKE_CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        # aws-config honours these: every SDK call of both binaries goes to the moto server.
        "AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_SFN": moto_url,
        "AWS_ENDPOINT_URL_SNS": moto_url, "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
        "AWS_ENDPOINT_URL_SESV2": moto_url, "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_url,
        "AWS_ENDPOINT_URL_SCHEDULER": moto_url, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
        "RUST_LOG": cfg.rust_log, "AWS_LAMBDA_LOG_LEVEL": cfg.function_log_level,
    })
    return env
