"""The stub AWS endpoint the functions reach through AWS_ENDPOINT_URL: DynamoDB (dynamodb.py),
Step Functions (GetExecutionHistory, SendTaskSuccess; awsJson1_0), SNS Publish (awsQuery, or JSON
if an SDK speaks it), SESv2 SendEmail (restJson1, `POST /v2/email/outbound-emails`) and EventBridge
PutEvents (awsJson1_1, `AWSEvents.PutEvents`), Secrets Manager GetSecretValue (awsJson1_1, the
Slack app's secret), and, under `/api/`, Slack's Web API (`views.open`: the callback's Slack rows
reach it through SLACK_API_URL). Every call is checked against what the function was
supposed to send; a wrong one is a problem of the session, which fails the run. (SendEmail's body is
kept as sent and checked after the run, as SNS messages are decoded after it, and each event's
`Detail` is parsed only after it (`check_events`), and each Slack call's body: parsing them inside the
measured time would be the stub's cost, not the function's.)"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.parse
from typing import Any

from . import dynamodb
from .http_server import Answer
from .names import (
    DETAIL_TYPES,
    EVENT_BUS,
    EVENT_SOURCE,
    SLACK_API_PATH,
    SLACK_BOT_TOKEN,
    SLACK_SECRET_ARN,
    SLACK_SECRET_NAME,
    SLACK_SIGNING_SECRET,
    STATE_MACHINE_ARN,
    TABLE,
    TASK_TIMEOUT_SECONDS,
    TOPIC_ARN,
)
from .payloads import request_id
from .session import Session

_JSON_1_0 = "application/x-amz-json-1.0"
_JSON_1_1 = "application/x-amz-json-1.1"
# EventBridge takes at most 10 entries per PutEvents.
MAX_EVENT_ENTRIES = 10
# A run of base64 characters this long in an event's detail could be a task token (684
# characters here) or a credential's secret: none may be there.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9+/=_-]{64,}")
SES_SEND_EMAIL = "/v2/email/outbound-emails"
# The Slack app's secret, as Secrets Manager answers GetSecretValue (prepared once).
_SLACK_SECRET = json.dumps({
    "ARN": SLACK_SECRET_ARN, "Name": SLACK_SECRET_NAME, "VersionId": "00000000-bench-4000-8000-000000000001",
    "SecretString": json.dumps({"botToken": SLACK_BOT_TOKEN, "signingSecret": SLACK_SIGNING_SECRET}),
    "VersionStages": ["AWSCURRENT"], "CreatedDate": 1795683600.0}).encode()
# Slack's answers, by Web API method: what the gate's calls get (prepared once).
SLACK_ANSWERS = {"views.open": b'{"ok":true,"view":{"id":"V1"}}'}
# Request and message ids: unique is all they need to be (uuid4 costs a getrandom call each).
_ids = itertools.count(1)


def _id() -> str:
    return f"00000000-bench-4000-8000-{next(_ids):012d}"


class AwsStub:
    def __init__(self) -> None:
        self.table = dynamodb.Table(TABLE)
        # Executions the driver registered (one per send-email payload): ARN -> the prepared
        # GetExecutionHistory answer, so answering costs no encoding.
        self.executions: dict[str, bytes] = {}
        self.tokens: set[str] = set()  # every task token handed out in a payload
        # Every request a payload opens: its id (derived from the token) -> (token, execution name).
        self.requests: dict[str, tuple[str, str]] = {}
        self.completed: set[str] = set()  # tokens SendTaskSuccess was called with
        # How long each SendEmail answer is held back (0: at once), as a stand-in for SES's round
        # trip; set by the driver for a run.
        self.ses_delay_ns = 0

    def register(self, payload: dict) -> None:
        """The task Step Functions scheduled with `payload`: its execution (named after this
        stack's state machine) is RUNNING, its newest event not an ending one, and its history's
        newest TaskScheduled event carries `payload` as the task's `Payload` (what send-email
        checks before anything else)."""
        context = payload["ExecutionContext"]
        arn = context["Execution"]["Id"]
        if not arn.startswith(STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + ":"):
            raise ValueError(f"{arn} is no execution of {STATE_MACHINE_ARN}")
        started = time.time() - 1
        parameters = json.dumps({"FunctionName": "send-email", "Payload": payload})
        history = {"events": [
            {"timestamp": started + 0.2, "type": "TaskStarted", "id": 4, "previousEventId": 3,
             "taskStartedEventDetails": {"resourceType": "lambda", "resource": "invoke.waitForTaskToken"}},
            {"timestamp": started + 0.1, "type": "TaskScheduled", "id": 3, "previousEventId": 2,
             "taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke.waitForTaskToken",
                                           "region": "us-east-1", "parameters": parameters,
                                           "timeoutInSeconds": TASK_TIMEOUT_SECONDS}},
            {"timestamp": started + 0.1, "type": "TaskStateEntered", "id": 2, "previousEventId": 0,
             "stateEnteredEventDetails": {"name": context.get("State", {}).get("Name", "Lambda Callback")}},
        ]}
        self.executions[arn] = json.dumps(history).encode()
        token = context["Task"]["Token"]
        self.tokens.add(token)
        self.requests[request_id(token)] = (token, context["Execution"]["Name"])

    def answer(self, s: Session | None, method: str, path: str, headers: dict, body: bytes,
               received_ns: int) -> Answer:
        target = headers.get("x-amz-target", "")
        op = target.rsplit(".", 1)[-1]  # an awsQuery call (no target) names it in its form below
        if path.split("?", 1)[0] == SES_SEND_EMAIL:
            op = "SendEmail"
            problem = self._ses(s, method, headers, body)
            reply = Answer(200, {"Content-Type": "application/json"},
                           json.dumps({"MessageId": _id()}).encode(), delay_ns=self.ses_delay_ns)
        elif target.startswith("DynamoDB_20120810."):
            status, payload, problem, op = self.table.call(op, body)
            reply = Answer(status, dynamodb.headers(payload), payload)
        elif target.startswith("AWSEvents."):
            status, payload, problem = self._events(s, op, headers, body)
            reply = Answer(status, {"Content-Type": _JSON_1_1}, payload)
        elif path.startswith(SLACK_API_PATH + "/"):
            op = path.split("?", 1)[0][len(SLACK_API_PATH) + 1:]
            payload, problem = self._slack(s, op, method, headers, body)
            reply = Answer(200, {"Content-Type": "application/json; charset=utf-8"}, payload)
        elif target.startswith("secretsmanager."):
            status, payload, problem = self._secrets(op, headers, body)
            reply = Answer(status, {"Content-Type": _JSON_1_1}, payload)
        elif target.startswith("AWSStepFunctions."):
            status, payload, problem = self._sfn(op, json.loads(body))
            reply = Answer(status, {"Content-Type": _JSON_1_0}, payload)
        elif target.endswith(".Publish"):  # SNS over JSON, should an SDK speak it
            request = json.loads(body)
            attribute = (request.get("MessageAttributes") or {}).get("approver", {}).get("StringValue")
            problem = self._published(s, request.get("TopicArn"), request.get("Message"), attribute)
            reply = Answer(200, {"Content-Type": _JSON_1_0},
                           json.dumps({"MessageId": _id()}).encode())
        else:
            form = query_fields(body)
            op = form.get("Action")
            if op == "Publish":
                problem = self._published(s, form.get("TopicArn"), form.get("Message"), approver_attribute(form))
                xml = ('<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                       f"<PublishResult><MessageId>{_id()}</MessageId></PublishResult>"
                       f"<ResponseMetadata><RequestId>{_id()}</RequestId></ResponseMetadata>"
                       "</PublishResponse>").encode()
                reply = Answer(200, {"Content-Type": "text/xml"}, xml)
            else:
                problem = f"unexpected AWS call: {target or op} {body[:200]!r}"
                reply = Answer(400, {"Content-Type": "text/plain"}, b"unexpected call")
        reply.headers["x-amzn-RequestId"] = _id()
        if s is not None:
            with s.lock:
                s.aws_calls[op] = s.aws_calls.get(op, 0) + 1
                if problem:
                    s.problems.append(problem)

            def spent(now_ns):
                s.aws_stub_ns += now_ns - received_ns

            reply.after_send = spent
        return reply

    def _sfn(self, op: str, request: dict[str, Any]) -> tuple[int, bytes, str | None]:
        if op == "GetExecutionHistory":
            arn = request.get("executionArn")
            known = self.executions.get(arn) if arn is not None else None
            if known is None:
                return 400, json.dumps({"__type": "ExecutionDoesNotExist", "message": arn}).encode(), \
                    f"{op} of an execution never scheduled: {arn!r}"
            problem = None
            if request.get("reverseOrder") is not True or not 1 <= request.get("maxResults", 100) <= 1000:
                problem = f"GetExecutionHistory not newest-first in pages <= 1000: {request!r}"
            return 200, known, problem
        if op == "SendTaskSuccess":
            token = request.get("taskToken", "")
            problem = None
            try:
                output = json.loads(request.get("output", ""))
            except ValueError:
                output = None
            if token not in self.tokens:
                problem = "SendTaskSuccess with a task token never handed out"
            elif token in self.completed:
                problem = "SendTaskSuccess twice for one task"
            elif not isinstance(output, dict) or "Status" not in output:
                problem = f"SendTaskSuccess without the Status output: {request.get('output', '')[:300]!r}"
            self.completed.add(token)
            return 200, b"{}", problem
        return 400, json.dumps({"__type": "UnknownOperationException"}).encode(), f"unexpected Step Functions call {op}"

    @staticmethod
    def _secrets(op: str, headers: dict, body: bytes) -> tuple[int, bytes, str | None]:
        """Secrets Manager GetSecretValue (awsJson1_1, signed for `secretsmanager`) of the Slack
        app's secret, SLACK_SECRET_ARN: its string `{"botToken", "signingSecret"}`."""
        if op != "GetSecretValue":
            return 400, json.dumps({"__type": "UnknownOperationException"}).encode(), \
                f"unexpected Secrets Manager call {op}"
        problem = None
        if headers.get("content-type") != _JSON_1_1 \
                or "/secretsmanager/aws4_request" not in headers.get("authorization", ""):
            problem = (f"GetSecretValue not awsJson1_1 signed for secretsmanager: {headers.get('content-type')!r} "
                       f"{headers.get('authorization', '')[:200]!r}")
        try:
            secret = json.loads(body).get("SecretId")
        except (ValueError, AttributeError):
            secret = None
        if secret != SLACK_SECRET_ARN:
            return 400, json.dumps({"__type": "ResourceNotFoundException",
                                    "Message": "Secrets Manager can't find the specified secret."}).encode(), \
                f"GetSecretValue of {secret!r}, not SLACK_SECRET_ARN {SLACK_SECRET_ARN!r}"
        return 200, _SLACK_SECRET, problem

    @staticmethod
    def _slack(s: Session | None, method_name: str, method: str, headers: dict,
               body: bytes) -> tuple[bytes, str | None]:
        """Slack's Web API (`POST /api/<method>`, the bot token, a JSON body): the methods in
        SLACK_ANSWERS answered `ok`, each body kept as sent (seeded_rows.py checks it after the
        run). Any other method (a private answer to a refused click, say) is a problem of the run."""
        answer = SLACK_ANSWERS.get(method_name)
        if answer is None:
            return b'{"ok":false,"error":"unknown_method"}', \
                f"unexpected Slack call {method_name}: {body[:300]!r}"
        problem = None
        if method != "POST" or headers.get("authorization") != f"Bearer {SLACK_BOT_TOKEN}" \
                or not headers.get("content-type", "").startswith("application/json"):
            problem = (f"Slack {method_name} not a JSON POST with the bot token: {method} "
                       f"{headers.get('content-type')!r} {headers.get('authorization', '')[:20]!r}")
        if s is not None:
            s.slack_calls.append((method_name, body))
        return answer, problem

    @staticmethod
    def _events(s: Session | None, op: str, headers: dict, body: bytes) -> tuple[int, bytes, str | None]:
        """EventBridge PutEvents (awsJson1_1, signed for `events`): 1 to 10 entries, each from
        `approval-gate`, on the stack's bus, with one of the gate's detail-types and a `Detail`
        string. The entries are kept (one list per call) for `check_events` after the run; each
        gets an EventId, none is refused."""
        if op != "PutEvents":
            return 400, json.dumps({"__type": "UnknownOperationException"}).encode(), \
                f"unexpected EventBridge call {op}"
        problem = None
        if headers.get("content-type") != _JSON_1_1 or "/events/aws4_request" not in headers.get("authorization", ""):
            problem = (f"PutEvents not awsJson1_1 signed for events: {headers.get('content-type')!r} "
                       f"{headers.get('authorization', '')[:200]!r}")
        try:
            entries = json.loads(body).get("Entries")
        except (ValueError, AttributeError):
            entries = None
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_EVENT_ENTRIES:
            return 400, json.dumps({"__type": "ValidationException"}).encode(), \
                f"PutEvents without 1 to {MAX_EVENT_ENTRIES} entries: {body[:300]!r}"
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("Source") != EVENT_SOURCE \
                    or entry.get("EventBusName") != EVENT_BUS or entry.get("DetailType") not in DETAIL_TYPES \
                    or not isinstance(entry.get("Detail"), str):
                problem = (f"a PutEvents entry not from {EVENT_SOURCE!r} on the bus {EVENT_BUS!r} with a gate "
                           f"detail-type and a Detail: {str(entry)[:300]}")
                break
        if s is not None:
            s.put_events.append(entries)
        answer = {"FailedEntryCount": 0, "Entries": [{"EventId": _id()} for _ in entries]}
        return 200, json.dumps(answer).encode(), problem

    def check_events(self, s: Session) -> str | None:
        """After the run: each event's Detail parses as a JSON object naming a request a payload
        opened, holds no link ("http") and no task token (its request's or any token-like run of
        base64), and the entry's resources are the request's state machine and execution."""
        for entries in s.put_events:
            for entry in entries:
                text = entry["Detail"]
                try:
                    detail = json.loads(text)
                except ValueError:
                    return f"an event's Detail is not JSON: {text[:300]!r}"
                if not isinstance(detail, dict):
                    return f"an event's Detail is not a JSON object: {text[:300]!r}"
                known = self.requests.get(detail.get("requestId", ""))
                if known is None:
                    return f"an event of a request no payload opened: {text[:300]!r}"
                if "http" in text:
                    return f"{entry['DetailType']} of {detail['requestId']}: its Detail holds a link (http)"
                if known[0] in text or _TOKEN_LIKE.search(text):
                    return f"{entry['DetailType']} of {detail['requestId']}: its Detail holds a task token"
                if entry.get("Resources") != [detail.get("stateMachineArn"), detail.get("executionArn")] \
                        or detail.get("stateMachineArn") != STATE_MACHINE_ARN:
                    return (f"{entry['DetailType']} of {detail['requestId']}: resources {entry.get('Resources')}, "
                            "not the request's state machine and execution")
        return None

    @staticmethod
    def _ses(s: Session | None, method: str, headers: dict, body: bytes) -> str | None:
        """SESv2 SendEmail: signed for `ses`, a JSON body (kept as sent; emails.py checks it after
        the run: sender, one recipient, subject, text and HTML parts, the links)."""
        if method != "POST" or "/ses/aws4_request" not in headers.get("authorization", ""):
            return f"SendEmail not a POST signed for ses: {method} {headers.get('authorization', '')[:200]!r}"
        if not body.startswith(b"{"):
            return f"SendEmail without a JSON body: {body[:200]!r}"
        if s is not None:
            s.mailed.append(body)
        return None

    @staticmethod
    def _published(s: Session | None, topic: str | None, message: bytes | str | None,
                   approver: str | None) -> str | None:
        if topic != TOPIC_ARN or not message:
            return f"Publish without topic or message: topic {topic!r}"
        if s is not None:
            s.published.append((message, approver))
        return None


def query_fields(body: bytes) -> dict[str, Any]:
    """An awsQuery form's fields; every value decoded except Message, left as sent (bytes)."""
    fields: dict[str, Any] = {}
    for part in body.split(b"&"):
        name, _, value = part.partition(b"=")
        key = _unquote(name)
        fields[key] = value if key == "Message" else _unquote(value)
    return fields


def _unquote(raw: bytes) -> str:
    """Form decoding, skipped for the plain ASCII most fields are (it costs µs in the measured time)."""
    text = raw.decode("ascii")
    return urllib.parse.unquote_plus(text) if b"%" in raw or b"+" in raw else text


def approver_attribute(form: dict) -> str | None:
    """The `approver` message attribute of an awsQuery Publish (MessageAttributes.entry.N.*)."""
    for n in range(1, 11):
        name = form.get(f"MessageAttributes.entry.{n}.Name")
        if name is None:
            return None
        if name == "approver" and form.get(f"MessageAttributes.entry.{n}.Value.DataType") == "String":
            return form.get(f"MessageAttributes.entry.{n}.Value.StringValue")
    return None


def decode_message(message: bytes | str) -> str:
    return urllib.parse.unquote_plus(message.decode("ascii")) if isinstance(message, bytes) else message
