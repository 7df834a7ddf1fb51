"""What the functions are invoked with. send-email: the seed's payload (events/send-email.json,
without an `Approval` block: the stack's approvers decide), each invocation with a task token and
an execution of its own, registered with the stub as scheduled. approval-callback: API Gateway
proxy GET and POST events carrying a link that send-email really mailed, and Slack's signed
`POST /slack/interactions` (a button's click, the vote modal's submission); send-email again: the
table's stream handing it a request's change. And the links of an email: each approver gets two,
Approve and Reject, each with a credential of its own."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import os
import re
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .names import (
    ACCOUNT,
    API_URL,
    REGION,
    SLACK_CHANNEL,
    SLACK_SIGNING_SECRET,
    SLACK_TEAM,
    SLACK_USER,
    STATE_MACHINE_ARN,
    STATE_MACHINE_NAME,
    TABLE,
    execution_arn,
)

REPO = Path(__file__).resolve().parents[2]
# The text part's link lines (send-email's email/text.rs): "Approve: <link>", "Reject: <link>".
_LINES = {"approve": re.compile(r"^Approve: (\S+)$", re.MULTILINE),
          "reject": re.compile(r"^Reject: (\S+)$", re.MULTILINE)}
# A credential: 33 bytes, request id (16) | approver slot (1) | secret (16), as 44 base64url
# characters (crates/approval-domain/src/credential.rs).
CREDENTIAL_LEN = 44
# The stream's sequence numbers: increasing, as a shard's are.
_SEQUENCE_NUMBERS = itertools.count(4_000_000_000_000_000_000_001)
# Slack's trigger ids (one per click: what views.open must name): unique is all they need to be.
_TRIGGERS = itertools.count(1)
SLACK_PATH = "/slack/interactions"


def seed_payload() -> dict:
    payload = json.loads((REPO / "events/send-email.json").read_text())
    payload.pop("Approval", None)
    return payload


def request_id(token: str) -> str:
    """RequestId of a task's request (docs/architecture.md, "The record")."""
    digest = hashlib.sha256(b"approval-gate/request/v2\0" + token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


class Payloads:
    """Fresh send-email payloads; `register` tells the stub each one was scheduled."""

    def __init__(self, register):
        self.seed = seed_payload()
        self.register = register
        self.count = 0

    def fresh(self, n: int) -> list[dict]:
        out = []
        for _ in range(n):
            self.count += 1
            payload = copy.deepcopy(self.seed)
            context = payload["ExecutionContext"]
            name = f"bench-{self.count:06d}"
            context["Execution"]["Id"] = execution_arn(name)
            context["Execution"]["Name"] = name
            context["StateMachine"] = {"Id": STATE_MACHINE_ARN, "Name": STATE_MACHINE_NAME}
            # As long as a real token (the seed's: 684 characters), and as random.
            token_len = len(self.seed["ExecutionContext"]["Task"]["Token"])
            context["Task"]["Token"] = base64.b64encode(os.urandom(token_len * 3 // 4)).decode()[:token_len]
            if "APIGatewayEndpoint" in payload:
                payload["APIGatewayEndpoint"] = API_URL
            self.register(payload)
            out.append(payload)
        return out


@dataclass(frozen=True)
class Links:
    """The two links of one approver's email: a credential for each action, both naming the same
    request and approver slot, each with its own secret."""

    approve: str
    reject: str
    request_id: str
    slot: int

    def of(self, action: str) -> str:
        """The credential to send with `action` (a link's credential works for its action only)."""
        return {"approve": self.approve, "reject": self.reject}[action]


def decode_credential(credential: str) -> tuple[str, int]:
    """(request id, approver slot) a credential names."""
    raw = base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4))
    return base64.urlsafe_b64encode(raw[:16]).rstrip(b"=").decode(), raw[16]


def _credential(link: str, action: str) -> str:
    split = urllib.parse.urlsplit(link)
    query = urllib.parse.parse_qs(split.query)
    if f"{split.scheme}://{split.netloc}{split.path}" != f"{API_URL}/execution" \
            or query.get("action") != [action] or len(query.get("c", [""])[0]) != CREDENTIAL_LEN:
        raise ValueError(f"not a{'n' if action == 'approve' else ''} {action} link of the documented form: {link}")
    return query["c"][0]


def links(message: str) -> Links:
    """The Approve and Reject links of one email's text, checked: one line each, of the documented
    form, two different credentials for the same request and approver."""
    found = {}
    for action, line in _LINES.items():
        hits = line.findall(message)
        if len(hits) != 1:
            raise ValueError(f"{len(hits)} {action.capitalize()} links in one email, not 1: {message[:300]!r}")
        found[action] = _credential(hits[0], action)
    if found["approve"] == found["reject"]:
        raise ValueError(f"the Approve and Reject links carry the same credential {found['approve']}")
    named = {action: decode_credential(c) for action, c in found.items()}
    if named["approve"] != named["reject"]:
        raise ValueError(f"the Approve and Reject links name different requests or approvers: {named}")
    request, slot = named["approve"]
    return Links(found["approve"], found["reject"], request, slot)


def _proxy_event(method: str, path: str = "/execution", headers: dict | None = None) -> dict:
    """An API Gateway REST proxy event, as the stack's API sends it (to `path`, under the stage
    `states`)."""
    headers = headers or {"Accept": "text/html", "Host": "abc123defg.execute-api.us-east-1.amazonaws.com",
                          "User-Agent": "Mozilla/5.0", "X-Forwarded-Proto": "https"}
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123defg", "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "Mozilla/5.0"},
            "path": f"/states{path}", "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "requestTimeEpoch": 1795683600000,
            "resourceId": "r3s0rc", "resourcePath": path, "stage": "states"},
        "body": None, "isBase64Encoded": False,
    }


def callback_get(mailed: Links, action: str = "approve") -> bytes:
    """The approver opening the link of `action` in their email (confirm mode: the page, no vote):
    that link's own credential."""
    credential = mailed.of(action)
    event = _proxy_event("GET")
    event["queryStringParameters"] = {"action": action, "c": credential}
    event["multiValueQueryStringParameters"] = {"action": [action], "c": [credential]}
    return json.dumps(event).encode()


def callback_post(mailed: Links, action: str = "approve") -> bytes:
    """The approver submitting that page's form: its hidden inputs (the action and its link's
    credential) and a comment."""
    event = _proxy_event("POST")
    event["body"] = urllib.parse.urlencode({"action": action, "c": mailed.of(action), "comment": "Looks good to me."})
    return json.dumps(event).encode()


def slack_click(request: str, action: str = "approve") -> tuple[bytes, str]:
    """The approver (Slack user SLACK_USER of team SLACK_TEAM) clicking `action`'s button on
    their direct message about `request`: Slack's signed `block_actions`. The event, and the
    click's trigger id (views.open must name it)."""
    trigger = f"1.2.{next(_TRIGGERS)}"
    payload = {"type": "block_actions", "team": {"id": SLACK_TEAM},
               "user": {"id": SLACK_USER, "team_id": SLACK_TEAM}, "trigger_id": trigger,
               "channel": {"id": SLACK_CHANNEL},
               "actions": [{"action_id": action, "value": f"{request}:{action}", "type": "button"}]}
    return slack_interaction(payload), trigger


def slack_submit(request: str, action: str = "approve", comment: str = "ok") -> bytes:
    """The approver submitting the vote modal that click opened: Slack's signed `view_submission`
    (the modal's `private_metadata` names the request and the action; its one input, the comment)."""
    payload = {"type": "view_submission", "team": {"id": SLACK_TEAM},
               "user": {"id": SLACK_USER, "team_id": SLACK_TEAM},
               "view": {"callback_id": "approval_vote", "private_metadata": f"{request}:{action}",
                        "state": {"values": {"comment": {"comment": {"type": "plain_text_input",
                                                                     "value": comment}}}}}}
    return slack_interaction(payload)


def slack_interaction(payload: dict) -> bytes:
    """The stack's API handing the callback Slack's `POST /slack/interactions` of `payload`: the
    form `payload=<JSON>`, signed as Slack signs (`X-Slack-Signature: v0=` + hex HMAC-SHA256 of
    `v0:<timestamp>:<body>` under the app's signing secret), stamped now (the function takes five
    minutes either way)."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    stamp = str(int(time.time()))
    signature = hmac.new(SLACK_SIGNING_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    event = _proxy_event("POST", SLACK_PATH, {
        "Accept": "application/json,*/*", "Accept-Encoding": "gzip,deflate",
        "Host": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", "X-Forwarded-Proto": "https",
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={signature}"})
    event["requestContext"]["identity"] = {"sourceIp": "54.209.0.10", "userAgent": event["headers"]["User-Agent"]}
    event["body"] = body
    return json.dumps(event).encode()


def tutorial_callback(payload: dict) -> bytes:
    """The tutorial's API Gateway mapping-template event ({body, headers, method, params, query})
    for the approve link of its own email: the task token itself in the query."""
    context = payload["ExecutionContext"]
    event = {"body": {}, "headers": {"Accept": "text/html", "User-Agent": "Mozilla/5.0"}, "method": "GET",
             "params": {}, "query": {"action": "approve", "ex": context["Execution"]["Name"],
                                     "sm": context["StateMachine"]["Name"], "taskToken": context["Task"]["Token"]}}
    return json.dumps(event).encode()


def stream_event(request: str) -> bytes:
    """The table's stream handing send-email one change of `request`, as Lambda's DynamoDB event
    source does (the table's stream is KEYS_ONLY: the key alone; one record a batch)."""
    sequence = next(_SEQUENCE_NUMBERS)
    record = {
        "eventID": f"{sequence:032x}", "eventName": "MODIFY", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": REGION,
        "dynamodb": {"ApproximateCreationDateTime": 1795683600, "Keys": {"RequestId": {"S": request}},
                     "SequenceNumber": str(sequence), "SizeBytes": 26,
                     "StreamViewType": "KEYS_ONLY"},
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}/stream/2026-12-04T00:00:00.000",
    }
    return json.dumps({"Records": [record]}).encode()
