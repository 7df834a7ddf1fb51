"""The functions under test, as Lambda would run them: command, environment, the events each
invocation gets, what each answer must be, the AWS calls each invocation must make, and what the
run must have sent (emails, events) and left in the table. The checks themselves: answers.py (each
answer), emails.py (what was emailed), seeded_rows.py (the change and Slack rows)."""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import payloads
from .answers import check_batch, check_get, check_post, check_send_email, check_slack_ack, json_or_none
from .aws_stub import AwsStub
from .emails import mailed_by_ses, published_by_rust
from .names import (
    API_URL,
    APPROVER,
    EVENT_BUS,
    GATE_NAME,
    REDIRECT_URL,
    REGION,
    SENDER,
    SLACK_API_PATH,
    SLACK_SECRET_ARN,
    STATE_MACHINE_ARN,
    TABLE,
    TASK_TIMEOUT_SECONDS,
    TOPIC_ARN,
    approvers,
)
from .payloads import REPO, Links
from .seeded_rows import Changes, SlackClicks, SlackVotes
from .session import Session

# The SES row of the main table, and the rows of the table of send-email by number of approvers.
SES_ROW = "send-email (ses)"
SCALE_APPROVERS = (1, 10, 50)
# send-email told by the table's stream that a request was decided; the callback's POST (which
# decides the requests that row is told of).
CHANGE_ROW = "send-email (change: decided)"
POST_ROW = "approval-callback POST (Rust)"
# approval-callback's Slack route, POST /slack/interactions: an approver's click on their direct
# message (the vote modal opens), and the modal's submission (the vote).
CLICK_ROW = "approval-callback Slack click (ack)"
VOTE_ROW = "approval-callback Slack vote (modal submit)"


@dataclass
class Arm:
    name: str
    argv: list[str]
    env: dict[str, str]
    lang: str  # "rust" | "node"
    # events(n): the n events of a warm run, one per invocation (fresh tasks, fresh requests)
    events: Callable[[int], list[bytes]]
    # check(response body, its event) -> a problem or None
    check: Callable[[bytes, bytes], str | None]
    # The AWS calls each invocation must make, exactly (counted by the stub).
    calls: dict[str, int]
    # after(session): checks of what the run published; a problem or None
    after: Callable[[Session], str | None] | None = None
    zip_bytes: int | None = None
    zip_note: str = ""
    # The AWS calls a process makes once, on its first invocation (the Slack rows' secret).
    per_process: dict[str, int] = field(default_factory=dict)


def lambda_env(function_name: str, runtime_api: str, home: Path) -> dict[str, str]:
    """What Lambda sets for every function, plus the loopback endpoint. A clean environment:
    nothing of the caller's (no ~/.aws, no proxies) reaches the functions."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC", "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_LAMBDA_RUNTIME_API": runtime_api, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0", "AWS_SECRET_ACCESS_KEY": "bench/secret/key/not/a/real/one/0000000",
        "AWS_SESSION_TOKEN": "bench-session-token", "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/26/[$LATEST]bench", "AWS_ENDPOINT_URL": f"http://{runtime_api}",
    }


def send_email_env(runtime_api: str, home: Path, n_approvers: int = 1, ses: bool = False) -> dict[str, str]:
    """send-email's environment as template.yaml sets it: through SNS (the default) or SES; the
    gate's events on EVENT_BUS (only the stream's changes put any)."""
    delivery = (dict(EMAIL_DELIVERY="ses", SENDER_ADDRESS=SENDER, TOPIC_ARN="") if ses
                else dict(EMAIL_DELIVERY="sns", SENDER_ADDRESS="", TOPIC_ARN=TOPIC_ARN))
    return {**lambda_env("send-email", runtime_api, home), "REQUESTS_TABLE": TABLE, "LINK_MODE": "confirm",
            **delivery, "API_URL": API_URL, "APPROVERS": ",".join(approvers(n_approvers)),
            "STATE_MACHINE_ARN": STATE_MACHINE_ARN, "DEFAULT_EXPIRY_SECONDS": str(TASK_TIMEOUT_SECONDS),
            "EVENT_BUS_NAME": EVENT_BUS, "GATE_NAME": GATE_NAME}


def send_email_ses(args: argparse.Namespace, runtime_api: str, home: Path, fresh: Callable[[int], list[dict]],
                   n_approvers: int, name: str = SES_ROW) -> Arm:
    """send-email mailing n approvers through SES: one SendEmail each, at most 10 at a time."""
    addresses = approvers(n_approvers)
    return Arm(name, [str(args.bin_dir / "send-email")], send_email_env(runtime_api, home, n_approvers, ses=True),
               "rust", lambda n: [json.dumps(p).encode() for p in fresh(n)], check_send_email(n_approvers),
               {"GetExecutionHistory": 1, "PutItem": 2, "SendEmail": n_approvers},
               lambda s: mailed_by_ses(s, addresses))


def slack_env(env: dict[str, str], runtime_api: str) -> dict[str, str]:
    """approval-callback with Slack on (as template.yaml sets it for SlackDelivery=dm): the
    secret's ARN, Secrets Manager at the stub (as every other service, named for clarity), and
    the Web API on the stub's /api (plain http: loopback only)."""
    return {**env, "SLACK_DELIVERY": "dm", "SLACK_SECRET_ARN": SLACK_SECRET_ARN,
            "SLACK_API_URL": f"http://{runtime_api}{SLACK_API_PATH}",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://{runtime_api}"}


def build(args: argparse.Namespace, runtime_api: str, home: Path, fresh: Callable[[int], list[dict]],
          seed: Callable[[int], list[Links]], decided: Callable[[int], list[str]], aws: AwsStub) -> list[Arm]:
    node_dir = REPO / "bench/node"
    # The flags the managed nodejs runtime's bootstrap derives from the memory size (128 MB:
    # new space 128/25 = 5 MB, semi space 2 MB, old space 123 MB).
    memory = 128
    node = [args.node, "--expose-gc", "--max-http-header-size=81920",
            f"--max-semi-space-size={memory // 25 // 2}", f"--max-old-space-size={memory - memory // 25}",
            str(node_dir / "runtime.js")]

    def env(name, **extra):
        return {**lambda_env(name, runtime_api, home), **extra}

    callback_env = env("approval-callback", REQUESTS_TABLE=TABLE, LINK_MODE="confirm", REDIRECT_URL=REDIRECT_URL,
                       GATE_NAME=GATE_NAME)
    as_bytes = lambda n: [json.dumps(p).encode() for p in fresh(n)]  # noqa: E731
    changes = Changes(decided, aws)
    clicks, slack_votes = SlackClicks(seed, aws), SlackVotes(seed, aws)
    callback = [str(args.bin_dir / "approval-callback")]
    # The Slack rows: the same binary with Slack on; its secret read once per process.
    slack_callback_env = slack_env(callback_env, runtime_api)
    arms = [
        Arm("send-email (Rust)", [str(args.bin_dir / "send-email")], send_email_env(runtime_api, home), "rust",
            as_bytes, check_send_email(1), {"GetExecutionHistory": 1, "PutItem": 2, "Publish": 1},
            published_by_rust),
        send_email_ses(args, runtime_api, home, fresh, 1),
        # The table's stream telling send-email (through SES, one approver) of a request decided by
        # the callback's POST: the notice, the request's three events, the record marked told.
        Arm(CHANGE_ROW, [str(args.bin_dir / "send-email")], send_email_env(runtime_api, home, ses=True), "rust",
            changes.events, check_batch, {"GetItem": 1, "SendEmail": 1, "PutEvents": 1, "PutItem": 1},
            changes.after),
        # The callback rows open and submit the Approve link: its own credential (the Reject
        # link's would be refused for action=approve).
        Arm("approval-callback GET (Rust)", callback, callback_env, "rust",
            lambda n: [payloads.callback_get(mailed, "approve") for mailed in seed(n)], check_get, {"GetItem": 1}),
        Arm(POST_ROW, callback, dict(callback_env), "rust",
            lambda n: [payloads.callback_post(mailed, "approve") for mailed in seed(n)], check_post,
            {"GetItem": 1, "PutItem": 2, "SendTaskSuccess": 1}),
        # The critical path of a click: one read of the record, one Slack call (the modal), all
        # within Slack's 3 s; then 200, empty. Nothing is written, nothing is voted.
        Arm(CLICK_ROW, callback, slack_callback_env, "rust", clicks.events, check_slack_ack,
            {"GetItem": 1, "views.open": 1}, clicks.after, per_process={"GetSecretValue": 1}),
        # The modal submitted: the vote, as the POST's (and the delivered mark after the answer).
        Arm(VOTE_ROW, callback, dict(slack_callback_env), "rust", slack_votes.events, check_slack_ack,
            {"GetItem": 1, "PutItem": 2, "SendTaskSuccess": 1}, slack_votes.after,
            per_process={"GetSecretValue": 1}),
        Arm("bare lambda_runtime echo (floor)", [str(args.floor_bin)], env("bench-floor"), "rust",
            lambda n: [json.dumps(payloads.seed_payload()).encode()] * n,
            lambda body, event: (None if json_or_none(body) == json.loads(event)
                                 else f"expected the event echoed, got {body[:200]!r}"),
            {}),
        Arm("send-email (tutorial, Node.js)", node,
            env("send-email-node", LAMBDA_TASK_ROOT=str(node_dir / "send-email"), _HANDLER="index.lambda_handler",
                AWS_EXECUTION_ENV="AWS_Lambda_nodejs20.x", TOPIC_ARN=TOPIC_ARN),
            "node", as_bytes,
            lambda body, event: (None if body.strip() == b"null"
                                 else f"expected null (callback(null)), got {body[:200]!r}"),
            {"Publish": 1}),
        Arm("approval-callback (tutorial, Node.js)", node,
            env("approval-callback-node", LAMBDA_TASK_ROOT=str(node_dir / "approval-callback"),
                _HANDLER="index.handler", AWS_EXECUTION_ENV="AWS_Lambda_nodejs20.x", APPROVER_EMAIL=APPROVER),
            "node", lambda n: [payloads.tutorial_callback(p) for p in fresh(n)],
            lambda body, event: (None if (json_or_none(body) or {}).get("statusCode") == 302
                                 else f"expected a 302, got {body[:200]!r}"),
            {"SendTaskSuccess": 1}),
    ]
    for spec in args.zip:
        key, _, path = spec.partition("=")
        size = Path(path).stat().st_size
        for arm in arms:
            if arm.lang == "rust" and arm.name.startswith(key):
                arm.zip_bytes = size
    # Node: the tutorial deploys index.js alone (inline ZipFile) and takes the SDK from the
    # managed runtime; pinning the SDK means shipping node_modules too. Both are reported.
    for arm in arms:
        if arm.lang == "node" and (node_dir / "node_modules").is_dir():
            root = Path(arm.env["LAMBDA_TASK_ROOT"])
            modules = [(p, "node_modules/" + str(p.relative_to(node_dir / "node_modules")))
                       for p in sorted((node_dir / "node_modules").rglob("*")) if p.is_file()]
            arm.zip_bytes = zip_size([(root / "index.js", "index.js")])
            arm.zip_note = f" (+SDK {zip_size([(root / 'index.js', 'index.js'), *modules]) / 1e6:.2f} MB)"
    return arms


def zip_size(files: list[tuple[Path, str]]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in files:
            z.write(path, name)
    return buffer.tell()
