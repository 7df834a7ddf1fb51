"""The functions under test, as Lambda would run them: command, environment, the events each
invocation gets, what each answer must be, the AWS calls each invocation must make, and what the
run must have sent (emails, events) and left in the table."""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import payloads
from .aws_stub import AwsStub, decode_message
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
    SLACK_TEAM,
    SLACK_USER,
    STATE_MACHINE_ARN,
    TABLE,
    TASK_TIMEOUT_SECONDS,
    TOPIC_ARN,
    approvers,
)
from .payloads import REPO, Links, request_id
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
# The events of a request decided by its first vote, in the order they are put.
DECIDED_EVENTS = ["Approval Requested", "Approval Vote Recorded", "Approval Decided"]


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


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def check_send_email(emailed: int) -> Callable[[bytes, bytes], str | None]:
    """send-email's answer: the request id derived from the event's token, and `emailed` emails."""
    def check(body: bytes, event: bytes) -> str | None:
        value = _json(body)
        token = json.loads(event)["ExecutionContext"]["Task"]["Token"]
        if isinstance(value, dict) and value.get("RequestId") == request_id(token) and value.get("Emailed") == emailed:
            return None
        return f'expected {{"RequestId": "{request_id(token)}", "Emailed": {emailed}}}, got {body[:300]!r}'
    return check


def _page(value: dict) -> str:
    body = value.get("body") or ""
    if value.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return body


def _says(value: Any) -> str:
    """An answer's status and, for a page, its text: what to show when it is not the expected one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", _page(value), flags=re.S)
    return f"{value.get('statusCode')}: {' '.join(text.split())[:300]!r}"


def check_get(body: bytes, event: bytes) -> str | None:
    value = _json(body)
    credential = json.loads(event)["queryStringParameters"]["c"]
    if isinstance(value, dict) and value.get("statusCode") == 200:
        page = _page(value)
        if '<form method="post"' in page and credential in page:
            return None
    return f"expected the 200 confirmation page with this link's form, got {_says(value)}"


def _header(value: dict, name: str) -> Any:
    for key, v in (value.get("headers") or {}).items():
        if key.lower() == name:
            return v
    for key, v in (value.get("multiValueHeaders") or {}).items():
        if key.lower() == name and v:
            return v[0]
    return None


def check_post(body: bytes, event: bytes) -> str | None:
    value = _json(body)
    if isinstance(value, dict) and value.get("statusCode") == 303 and _header(value, "location") == REDIRECT_URL:
        return None
    return f"expected a 303 to {REDIRECT_URL} after SendTaskSuccess, got {_says(value)}"


def one_each(session: Session, mailed: list[tuple[str | None, Links]], addresses: list[str]) -> str | None:
    """Each invocation's request mailed each approver exactly once, each in their own slot (the
    request and the slot are what the credentials name); keeps the links for the callback rows."""
    by_request: dict[str, list[tuple[str | None, int]]] = {}
    for address, found in mailed:
        by_request.setdefault(found.request_id, []).append((address, found.slot))
    if len(by_request) != len(session.latencies_ns):
        return f"{len(session.latencies_ns)} invocations, but emails for {len(by_request)} requests"
    for request, got in by_request.items():
        to, slots = sorted(a or "" for a, _ in got), sorted(n for _, n in got)
        if to != sorted(addresses) or slots != list(range(len(addresses))):
            return (f"request {request}: emails (to, slot) {sorted((a or '', n) for a, n in got)[:5]}..., "
                    f"not one to each of the {len(addresses)} approvers in a slot of their own")
    session.links = [found for _, found in mailed]
    return None


def published_by_rust(session: Session) -> str | None:
    """send-email through SNS: each approver's email published with their `approver` attribute,
    its text holding their two links."""
    try:
        mailed = [(a, payloads.links(decode_message(m))) for m, a in session.published]
    except ValueError as err:
        return str(err)
    return one_each(session, mailed, [APPROVER])


def _utf8(part: Any, where: str) -> str:
    if not isinstance(part, dict) or part.get("Charset") != "UTF-8" or not isinstance(part.get("Data"), str) \
            or not part["Data"]:
        raise ValueError(f"SendEmail's {where} is not UTF-8 text: {str(part)[:200]}")
    return part["Data"]


def ses_mail(body: bytes) -> tuple[str, Links]:
    """One SendEmail request, checked (ValueError says what is wrong): from SENDER to one approver
    alone, a subject, a text part with the two links and an HTML part holding the same two; its
    recipient and links."""
    mail = _json(body)
    if not isinstance(mail, dict):
        raise ValueError(f"SendEmail's body is not a JSON object: {body[:200]!r}")
    if mail.get("FromEmailAddress") != SENDER:
        raise ValueError(f"SendEmail from {mail.get('FromEmailAddress')!r}, not SENDER_ADDRESS {SENDER!r}")
    destination = mail.get("Destination") or {}
    to = destination.get("ToAddresses")
    if not isinstance(to, list) or len(to) != 1 or destination.get("CcAddresses") or destination.get("BccAddresses"):
        raise ValueError(f"SendEmail not to one approver alone: {destination}")
    simple = (mail.get("Content") or {}).get("Simple") or {}
    _utf8(simple.get("Subject"), "subject")
    body_parts = simple.get("Body") or {}
    text, html = _utf8(body_parts.get("Text"), "text part"), _utf8(body_parts.get("Html"), "HTML part")
    found = payloads.links(text)
    if found.approve not in html or found.reject not in html:
        raise ValueError("the HTML part lacks the text part's Approve or Reject link")
    return to[0], found


def mailed_by_ses(session: Session, addresses: list[str]) -> str | None:
    """send-email through SES: each approver's own email, from SENDER_ADDRESS."""
    try:
        mailed: list[tuple[str | None, Links]] = [ses_mail(body) for body in session.mailed]
    except ValueError as err:
        return str(err)
    return one_each(session, mailed, addresses)


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


def _decided_state(item: dict | None) -> dict | None:
    """The `State` of a stored item (serde_dynamo's map of the record), if it is `decided`."""
    state = ((item or {}).get("State") or {}).get("M") or {}
    return state if state.get("Name") == {"S": "decided"} else None


def _events_put(item: dict) -> int:
    return int((item.get("EventsPut") or {}).get("N", "0"))


def ready_to_tell(item: dict | None) -> str | None:
    """A record as the change row needs it: decided, Step Functions told (delivery `sent`), the
    approvers not told yet (`ToldAt` null) and no event put (`EventsPut` 0)."""
    decided = _decided_state(item)
    if item is None or decided is None:
        return "not decided"
    delivery = ((decided.get("Delivery") or {}).get("M") or {}).get("Name", {}).get("S")
    if delivery != "sent" or decided.get("ToldAt") != {"NULL": True} or _events_put(item) != 0:
        return (f"not decided, sent and untold with no event put: delivery {delivery!r}, ToldAt "
                f"{decided.get('ToldAt')}, EventsPut {_events_put(item)}")
    return None


def check_batch(body: bytes, event: bytes) -> str | None:
    """A stream batch's answer: the partial batch response naming no change to hand over again."""
    if _json(body) == {"batchItemFailures": []}:
        return None
    return f'expected {{"batchItemFailures": []}}, got {body[:300]!r}'


_EXECUTION_LINE = re.compile(r"^Execution:\s+(\S+)$", re.MULTILINE)


def decided_notice(body: bytes) -> str:
    """One SendEmail of a decided notice, checked (ValueError says what is wrong): from SENDER to
    the one approver alone, "Decided: …", a text part saying it was approved and an HTML part; the
    execution its text names."""
    mail = _json(body)
    if not isinstance(mail, dict) or mail.get("FromEmailAddress") != SENDER:
        raise ValueError(f"a decided notice not a JSON SendEmail from SENDER_ADDRESS: {body[:200]!r}")
    destination = mail.get("Destination") or {}
    if destination != {"ToAddresses": [APPROVER]}:
        raise ValueError(f"a decided notice not to the approver alone: {destination}")
    simple = (mail.get("Content") or {}).get("Simple") or {}
    subject = _utf8(simple.get("Subject"), "subject")
    parts = simple.get("Body") or {}
    text = _utf8(parts.get("Text"), "text part")
    _utf8(parts.get("Html"), "HTML part")
    named = _EXECUTION_LINE.findall(text)
    if not subject.startswith("Decided: ") or " was approved." not in text or len(named) != 1:
        raise ValueError(f"not a notice that the request was approved: {subject!r} {text[:300]!r}")
    return named[0]


class Changes:
    """The change row: each invocation the stream's change of a request decided for it (decided(n):
    by the callback's POST, unmeasured); after the run, what it must have done for each."""

    def __init__(self, decided: Callable[[int], list[str]], aws: AwsStub):
        self.decided = decided
        self.aws = aws
        self.requests: list[str] = []  # those of the latest run

    def events(self, n: int) -> list[bytes]:
        self.requests = self.decided(n)
        return [payloads.stream_event(request) for request in self.requests]

    def after(self, s: Session) -> str | None:
        """Each request's three events in one PutEvents, in order, once; its approver told once
        (the decided notice, by SES); its record marked told with the three events put."""
        put: dict[str, list[str]] = {}
        for entries in s.put_events:
            details = [json.loads(entry["Detail"]) for entry in entries]
            named = {detail.get("requestId") for detail in details}
            kinds = [entry["DetailType"] for entry in entries]
            request = details[0].get("requestId")
            if len(named) != 1 or request in put:
                return f"events of {sorted(map(str, named))} put again or together: {kinds}"
            if kinds != DECIDED_EVENTS or [len(d.get("votes", ())) for d in details] != [0, 1, 1] \
                    or details[-1].get("decision") != "approved" or details[-1].get("decidedBy") != APPROVER:
                return (f"request {request}: events {kinds} with {[len(d.get('votes', ())) for d in details]} votes, "
                        f"not {DECIDED_EVENTS} with 0, 1, 1 and approved by {APPROVER}")
            put[str(request)] = kinds
        if sorted(put) != sorted(self.requests):
            return f"events put for {len(put)} requests, of the {len(self.requests)} changed"
        by_execution = {self.aws.requests[r][1]: r for r in self.requests}
        told: list[str] = []
        try:
            for body in s.mailed:
                told.append(by_execution.get(decided_notice(body), "?"))
        except ValueError as err:
            return str(err)
        if sorted(told) != sorted(self.requests):
            return f"{len(told)} decided notices, not one for each of the {len(self.requests)} requests"
        for request in self.requests:
            item = self.aws.table.items.get(request) or {}
            told_at = (_decided_state(item) or {}).get("ToldAt")
            if not told_at or told_at == {"NULL": True} or _events_put(item) != len(DECIDED_EVENTS):
                return f"request {request} not marked told with its events put: ToldAt {told_at}, " \
                       f"EventsPut {_events_put(item)}"
        return None


def check_slack_ack(body: bytes, event: bytes) -> str | None:
    """Slack's acknowledgement: 200 with an empty body (the modal opened; the vote taken and the
    modal closed). A refusal in the modal would be a 200 with `response_action: errors`."""
    value = _json(body)
    if isinstance(value, dict) and value.get("statusCode") == 200 and not _page(value):
        return None
    return f"expected 200 with an empty body, got {_says(value)}"


def with_slack_user(aws: AwsStub, request: str) -> str:
    """The stored record of `request`, its approver (slot 0) given their Slack identity, as
    send-email records it with Slack on (`Approvers[0].Slack`: {TeamId, UserId}); `request`."""
    item = aws.table.items.get(request)
    approvers = ((item or {}).get("Approvers") or {}).get("L") or []
    if not approvers or "M" not in approvers[0]:
        raise ValueError(f"request {request}: no stored record with an approver in slot 0")
    approvers[0]["M"]["Slack"] = {"M": {"TeamId": {"S": SLACK_TEAM}, "UserId": {"S": SLACK_USER}}}
    return request


def slack_env(env: dict[str, str], runtime_api: str) -> dict[str, str]:
    """approval-callback with Slack on (as template.yaml sets it for SlackDelivery=dm): the
    secret's ARN, Secrets Manager at the stub (as every other service, named for clarity), and
    the Web API on the stub's /api (plain http: loopback only)."""
    return {**env, "SLACK_DELIVERY": "dm", "SLACK_SECRET_ARN": SLACK_SECRET_ARN,
            "SLACK_API_URL": f"http://{runtime_api}{SLACK_API_PATH}",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://{runtime_api}"}


class SlackClicks:
    """The click row: each invocation an approver's click on a pending request of its own (its
    record given the approver's Slack identity); after the run, one views.open for each click."""

    def __init__(self, seed: Callable[[int], list[Links]], aws: AwsStub):
        self.seed = seed
        self.aws = aws
        self.opened: dict[str, str] = {}  # the latest run's: trigger id -> request

    def events(self, n: int) -> list[bytes]:
        self.opened = {}
        out = []
        for mailed in self.seed(n):
            event, trigger = payloads.slack_click(with_slack_user(self.aws, mailed.request_id))
            self.opened[trigger] = mailed.request_id
            out.append(event)
        return out

    def after(self, s: Session) -> str | None:
        """Each click's views.open: its trigger id, the vote modal (`approval_vote`) of its request
        and action (`private_metadata`); each request's record still pending, with no vote."""
        seen: dict[str, str] = {}
        for method, body in s.slack_calls:
            call = _json(body)
            view = call.get("view") if isinstance(call, dict) else None
            trigger = call.get("trigger_id") if isinstance(call, dict) else None
            request = self.opened.get(str(trigger))
            if method != "views.open" or not isinstance(view, dict) or request is None or trigger in seen:
                return f"Slack {method} not a views.open of one click's trigger id: {body[:300]!r}"
            if view.get("type") != "modal" or view.get("callback_id") != "approval_vote" \
                    or view.get("private_metadata") != f"{request}:approve":
                return (f"views.open of request {request}'s click not its approve modal: type {view.get('type')!r}, "
                        f"callback_id {view.get('callback_id')!r}, private_metadata {view.get('private_metadata')!r}")
            seen[str(trigger)] = request
        if len(seen) != len(self.opened):
            return f"{len(seen)} modals opened for {len(self.opened)} clicks"
        for request in self.opened.values():
            item = self.aws.table.items.get(request) or {}
            if (item.get("Votes") or {}).get("L") or ((item.get("State") or {}).get("M") or {}).get("Name") \
                    != {"S": "pending"}:
                return f"request {request} not left pending without a vote by a click"
        return None


class SlackVotes:
    """The vote row: each invocation the approver's submission of the vote modal for a pending
    request of its own (one approver, one approval needed: every vote decides); after the run,
    each record decided by that one vote, via Slack, and delivered."""

    def __init__(self, seed: Callable[[int], list[Links]], aws: AwsStub):
        self.seed = seed
        self.aws = aws
        self.requests: list[str] = []  # those of the latest run

    def events(self, n: int) -> list[bytes]:
        self.requests = [with_slack_user(self.aws, mailed.request_id) for mailed in self.seed(n)]
        return [payloads.slack_submit(request) for request in self.requests]

    def after(self, s: Session) -> str | None:
        for request in self.requests:
            item = self.aws.table.items.get(request) or {}
            votes = (item.get("Votes") or {}).get("L") or []
            decided = _decided_state(item) or {}
            delivery = ((decided.get("Delivery") or {}).get("M") or {}).get("Name", {}).get("S")
            vote = votes[0].get("M", {}) if len(votes) == 1 else {}
            if vote.get("Via") != {"S": "slack"} or vote.get("Approver") != {"S": APPROVER} \
                    or vote.get("Choice") != {"S": "approved"} or vote.get("Comment") != {"S": "ok"} \
                    or decided.get("Decision") != {"S": "approved"} \
                    or delivery != "sent":
                return (f"request {request} not decided by its approver's one Slack approval and delivered: "
                        f"votes {str(votes)[:300]}, state {str(decided)[:300]}")
        if any(self.aws.requests[r][0] not in self.aws.completed for r in self.requests):
            return "SendTaskSuccess not called with every voted request's task token"
        return None


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
            lambda body, event: (None if _json(body) == json.loads(event)
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
            lambda body, event: (None if (_json(body) or {}).get("statusCode") == 302
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
